//! `make demo`: the pipeline on the local emulator, with a report; exits 0 only if
//! everything that should arrive arrived.

use std::process::ExitCode;

use offsite_demo::{Settings, run};

#[tokio::main]
async fn main() -> ExitCode {
    let mut out = std::io::stdout();
    match run(&Settings::default(), &mut out).await {
        Ok((summary, _demo)) if summary.ok() => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("demo: cannot run: {error}");
            ExitCode::from(2)
        }
    }
}
