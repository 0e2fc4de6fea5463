//! `offsite explain-event`: the exporter's decision for one event, offline.

use std::io::Read;
use std::process::ExitCode;

use offsite_exporter::trigger::{Home, MalformedEvent, classify_in};

/// Why `explain-event` could not explain; printed as one line, exit status 2.
#[derive(Debug, thiserror::Error)]
pub enum ExplainError {
    #[error("cannot read {file}: {source}")]
    Read { file: String, source: std::io::Error },
    #[error("{file} is not JSON: {source}")]
    NotJson { file: String, source: serde_json::Error },
    #[error(transparent)]
    Malformed(#[from] MalformedEvent),
}

/// The exit status of `explain-event` for input it cannot explain (clap uses 2 for usage
/// errors too).
const EXPLAIN_FAILURE: u8 = 2;

/// `--function-arn`: a Lambda function ARN, as the exporter's function reads its own.
pub fn parse_function_arn(raw: &str) -> Result<Home, String> {
    Home::from_function_arn(raw).ok_or_else(|| {
        format!(
            "{raw:?} is not a Lambda function ARN; expected arn:<partition>:lambda:<region>:<account>:function:<name>, \
             e.g. arn:aws:lambda:eu-west-1:111111111111:function:offsite-exporter"
        )
    })
}

/// `offsite explain-event FILE`: the exporter's decision for one event, as JSON on stdout.
pub fn explain_event(file: &str, home: Option<&Home>) -> ExitCode {
    match explain(file, home) {
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

fn explain(file: &str, home: Option<&Home>) -> Result<serde_json::Value, ExplainError> {
    let (name, bytes) = if file == "-" {
        let mut bytes = Vec::new();
        let read = std::io::stdin().read_to_end(&mut bytes);
        ("standard input".to_owned(), read.map(|_| bytes))
    } else {
        (file.to_owned(), std::fs::read(file))
    };
    let bytes = bytes.map_err(|source| ExplainError::Read { file: name.clone(), source })?;
    let event: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|source| ExplainError::NotJson { file: name, source })?;
    Ok(classify_in(&event, home)?.explain())
}
