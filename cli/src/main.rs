//! `offsite`: the operator's command line.
//!
//! It uses the usual AWS credential and profile resolution (environment, `AWS_PROFILE`,
//! SSO, credential processes) and the same explicit endpoint setting as the functions
//! (`OFFSITE_AWS_ENDPOINT_URL`), so the same commands work against real accounts and the
//! local emulator.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use offsite_common::aws::{AwsSettings, load_sdk_config};
use offsite_common::config::ProcessEnv;

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
}

/// The CLI's errors; each is printed as one line on standard error.
#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error(transparent)]
    Config(#[from] offsite_common::ConfigError),
    #[error("cannot reach STS to identify the caller: {0}")]
    Identity(String),
}

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
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("offsite: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), CliError> {
    let settings = AwsSettings::from_env(&ProcessEnv)?;
    let sdk_config = load_sdk_config(&settings).await;
    match cli.command {
        Command::Whoami => {
            let identity = aws_sdk_sts::Client::new(&sdk_config)
                .get_caller_identity()
                .send()
                .await
                .map_err(|e| {
                    CliError::Identity(aws_sdk_sts::error::DisplayErrorContext(e).to_string())
                })?;
            let report = serde_json::json!({
                "account": identity.account(),
                "arn": identity.arn(),
                "user_id": identity.user_id(),
                "region": sdk_config.region().map(|r| r.as_ref()),
                "endpoint": settings.endpoint_url.as_deref().unwrap_or("AWS"),
            });
            println!("{report:#}");
        }
    }
    Ok(())
}
