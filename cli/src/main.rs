//! `offsite`: the operator's command line.
//!
//! It uses the usual AWS credential and profile resolution (environment, `AWS_PROFILE`,
//! SSO, credential processes) and the same explicit endpoint setting as the functions
//! (`OFFSITE_AWS_ENDPOINT_URL`), so the same commands work against real accounts and the
//! local emulator. `explain-event` is the exception: it reads a file, needs no
//! configuration and makes no AWS call.

use std::io::Read;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use offsite_common::aws::{AwsSettings, load_sdk_config};
use offsite_common::config::ProcessEnv;
use offsite_exporter::trigger::{MalformedEvent, classify};

#[derive(Debug, Parser)]
#[command(
    name = "offsite",
    version,
    about = "Offsite: AWS database backups out of reach of the account they protect"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Shows which account, identity, region and endpoint the current credentials reach.
    ///
    /// Run it first against a new account pair: every other command acts as this identity.
    Whoami,
    /// Shows what the exporter would do with an event, without configuration or AWS calls.
    ///
    /// Reads one event as JSON (an EventBridge event or a Lambda SNS event) and prints
    /// {"decision": "candidate"|"sweep"|"ignore", "snapshot_arn", "kind", "reason"}.
    /// Exits 0 for any well-formed event, ignored ones included, and 2 when the input cannot
    /// be read, is not JSON, or is an event with a missing or malformed field.
    ExplainEvent {
        /// The event as a JSON file; `-` reads standard input.
        #[arg(value_name = "FILE")]
        file: String,
    },
}

/// The CLI's errors; each is printed as one line on standard error.
#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error(transparent)]
    Config(#[from] offsite_common::ConfigError),
    #[error("cannot reach STS to identify the caller: {0}")]
    Identity(String),
}

/// Why `explain-event` could not explain; printed as one line, exit status 2.
#[derive(Debug, thiserror::Error)]
enum ExplainError {
    #[error("cannot read {file}: {source}")]
    Read {
        file: String,
        source: std::io::Error,
    },
    #[error("{file} is not JSON: {source}")]
    NotJson {
        file: String,
        source: serde_json::Error,
    },
    #[error(transparent)]
    Malformed(#[from] MalformedEvent),
}

/// The exit status of `explain-event` for input it cannot explain (clap uses 2 for usage
/// errors too).
const EXPLAIN_FAILURE: u8 = 2;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("OFFSITE_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        // Before any settings are read: it needs none and must work without them.
        Command::ExplainEvent { file } => return explain_event(&file),
        Command::Whoami => whoami().await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("offsite: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn whoami() -> Result<(), CliError> {
    let settings = AwsSettings::from_env(&ProcessEnv)?;
    let sdk_config = load_sdk_config(&settings).await;
    let identity = aws_sdk_sts::Client::new(&sdk_config)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| CliError::Identity(aws_sdk_sts::error::DisplayErrorContext(e).to_string()))?;
    let report = serde_json::json!({
        "account": identity.account(),
        "arn": identity.arn(),
        "user_id": identity.user_id(),
        "region": sdk_config.region().map(|r| r.as_ref()),
        "endpoint": settings.endpoint_url.as_deref().unwrap_or("AWS"),
    });
    println!("{report:#}");
    Ok(())
}

/// `offsite explain-event FILE`: the exporter's decision for one event, as JSON on stdout.
fn explain_event(file: &str) -> ExitCode {
    match explain(file) {
        Ok(report) => {
            println!("{report:#}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("offsite: {error}");
            ExitCode::from(EXPLAIN_FAILURE)
        }
    }
}

fn explain(file: &str) -> Result<serde_json::Value, ExplainError> {
    let (name, bytes) = if file == "-" {
        let mut bytes = Vec::new();
        let read = std::io::stdin().read_to_end(&mut bytes);
        ("standard input".to_owned(), read.map(|_| bytes))
    } else {
        (file.to_owned(), std::fs::read(file))
    };
    let bytes = bytes.map_err(|source| ExplainError::Read {
        file: name.clone(),
        source,
    })?;
    let event: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|source| ExplainError::NotJson { file: name, source })?;
    Ok(classify(&event)?.explain())
}
