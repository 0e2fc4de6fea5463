//! `offsite`: the operator's command line.
//!
//! It uses the usual AWS credential and profile resolution (environment, `AWS_PROFILE`,
//! SSO, credential processes) and the same explicit endpoint setting as the functions
//! (`OFFSITE_AWS_ENDPOINT_URL`), so the same commands work against real accounts and the
//! local emulator. `explain-event` is the exception: it reads a file, needs no
//! configuration and makes no AWS call.

mod commands;
mod error;

use std::collections::BTreeMap;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use offsite_exporter::trigger::Home;

use crate::commands::athena::AthenaRequest;
use crate::commands::explain::parse_function_arn;
use crate::commands::{athena, cancel, explain, plan, status, whoami};
use crate::error::{CliError, named_by_flag};

#[derive(Debug, Parser)]
#[command(name = "offsite", version, about = "Offsite: AWS database backups out of reach of the account they protect")]
struct Cli {
    /// Send every AWS call to this endpoint (the local emulator), like
    /// OFFSITE_AWS_ENDPOINT_URL; credentials and region resolve as usual.
    #[arg(long, global = true, value_name = "URL")]
    endpoint_url: Option<String>,
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
    /// Exits 0 for every event the exporter decides on, ignored ones included, and 2 when the
    /// input cannot be read, is not JSON, or can be no event the exporter knows (not a JSON
    /// object, or an envelope member such as `detail` or `Records` of the wrong JSON type):
    /// the inputs on which the function fails its invocation.
    ExplainEvent {
        /// The event as a JSON file; `-` reads standard input.
        #[arg(value_name = "FILE")]
        file: String,
        /// The exporter function's ARN, for its partition, Region and account: where a
        /// snapshot that an event names only by its identifier is looked for (the function
        /// reads them from its own ARN). Without it, such events are explained as ignored.
        #[arg(long, value_name = "ARN", value_parser = parse_function_arn)]
        function_arn: Option<Home>,
    },
    /// The pipeline's copies on one side of an account pair, with stage, progress and age.
    ///
    /// `--side workload` lists the exporter's copies in the current (workload) account.
    Status {
        /// Which side of the account pair the current credentials are in.
        #[arg(long, value_enum)]
        side: Side,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Checks the vault (run with vault credentials): exits 1 when a source database's newest
    /// vault copy is older than the RPO, or a snapshot shared with the vault is not imported.
    ///
    /// With OFFSITE_ALLOWED_SOURCES set, only shares from allowed accounts count.
    Verify {
        /// The recovery point objective, e.g. 26h.
        #[arg(long, value_name = "DURATION")]
        rpo: String,
        /// Also exit 1 when a source database's newest RDS export for auditors holds data
        /// older than this (or none was made although its vault copies are older), e.g. 8d.
        #[arg(long, value_name = "DURATION")]
        export_rpo: Option<String>,
        /// Also exit 1 when a source database has had no passed restore test in this time
        /// (none at all although its vault copies are older), e.g. 30d.
        #[arg(long, value_name = "DURATION")]
        restore_tested_within: Option<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Cancels an RDS export for auditors in progress (run with vault credentials; needs
    /// rds:CancelExportTask). The export function never cancels; files already written stay.
    CancelExport {
        /// The export task's identifier (`offsite status --side vault --json` lists them).
        #[arg(long = "task", value_name = "ID")]
        task: String,
    },
    /// Dry run of the exporter's sweep against the current account: what would be copied,
    /// and why each other snapshot is skipped. Changes nothing.
    ///
    /// Reads the exporter's settings (OFFSITE_EXPORT_KEY_ARN, OFFSITE_SELECTION_TAG_KEY, ...)
    /// from the environment like the function does; the flags override them.
    Plan {
        /// The export key's ARN (else OFFSITE_EXPORT_KEY_ARN).
        #[arg(long, value_name = "ARN")]
        export_key_arn: Option<String>,
        /// The selection tag as KEY=VALUE (else OFFSITE_SELECTION_TAG_KEY/_VALUE).
        #[arg(long, value_name = "KEY=VALUE")]
        selection_tag: Option<String>,
        /// How far back to look, e.g. 48h or 7d (else OFFSITE_SWEEP_WINDOW).
        #[arg(long, value_name = "DURATION")]
        window: Option<String>,
        /// Print the report as JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Prints the Athena `CREATE EXTERNAL TABLE` statement over the DynamoDB export job's
    /// layout, one per table, for the auditor to run in their account.
    ///
    /// Run with workload credentials: the columns come from each table's key schema and a
    /// sample of its items. Bucket and prefix are the job's (OFFSITE_EXPORT_BUCKET,
    /// OFFSITE_EXPORT_PREFIX) unless given.
    AthenaDdl {
        /// A DynamoDB table to describe (repeat for several).
        #[arg(long = "table", value_name = "NAME", required_unless_present = "rds")]
        tables: Vec<String>,
        /// The vault's RDS exports instead: one table per exported source table, typed from
        /// the exports' metadata in the auditor's bucket (run with the auditor's
        /// credentials; bucket and prefix: OFFSITE_RDS_EXPORT_BUCKET, OFFSITE_RDS_EXPORT_PREFIX).
        #[arg(long)]
        rds: bool,
        /// How many items to read for the columns beyond the key (0: keys only).
        #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(i32).range(0..=1000))]
        sample: i32,
        /// The Athena (Glue) database (default offsite_dynamodb, with --rds offsite_rds).
        #[arg(long, value_name = "NAME")]
        database: Option<String>,
        /// The auditor's bucket (else OFFSITE_EXPORT_BUCKET).
        #[arg(long, value_name = "NAME")]
        bucket: Option<String>,
        /// The job's key prefix (else OFFSITE_EXPORT_PREFIX, else `offsite`).
        #[arg(long, value_name = "PREFIX")]
        prefix: Option<String>,
        /// More workload accounts exporting the same table into the bucket.
        #[arg(long = "account", value_name = "ID")]
        accounts: Vec<String>,
        /// The first day the date projection covers.
        #[arg(long, value_name = "YYYY-MM-DD", default_value = "2020-01-01")]
        since: String,
    },
}

/// A side of an account pair.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Side {
    /// The workload account: the exporter's copies.
    Workload,
    /// The vault account: imported copies per source database, with the newest's age.
    Vault,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let env = environment(cli.endpoint_url.as_deref());
    let env = &env;
    // OFFSITE_LOG like the functions' (a misspelt level is refused, not silently off), `warn`
    // by default; malformed, it stops every command that reads settings (not explain-event).
    let (filter, malformed_filter) = match offsite_common::logging::filter_from_env(env, "warn") {
        Ok(filter) => (filter, None),
        Err(error) => (tracing_subscriber::EnvFilter::new("warn"), Some(error)),
    };
    tracing_subscriber::fmt().with_writer(std::io::stderr).with_env_filter(filter).init();
    if let Some(error) = malformed_filter.filter(|_| !matches!(cli.command, Command::ExplainEvent { .. })) {
        eprintln!("offsite: {error}");
        return ExitCode::FAILURE;
    }
    let result = match cli.command {
        // Before any settings are read: it needs none and must work without them.
        Command::ExplainEvent { file, function_arn } => return explain::explain_event(&file, function_arn.as_ref()),
        Command::Whoami => whoami::whoami(env).await,
        Command::CancelExport { task } => cancel::cancel_export(env, &task).await,
        Command::Status { side: Side::Workload, json } => status::status_workload(env, json).await,
        Command::Status { side: Side::Vault, json } => {
            status::vault_health(env, None, status::Limits::default(), json).await.map(drop)
        }
        Command::Verify { rpo, export_rpo, restore_tested_within, json } => {
            match status::vault_health(env, Some(rpo), status::Limits { export_rpo, restore_tested_within }, json).await
            {
                Ok(true) => Ok(()),
                Ok(false) => return ExitCode::FAILURE,
                Err(error) => Err(error),
            }
        }
        Command::Plan { export_key_arn, selection_tag, window, json } => {
            plan::plan(env, export_key_arn, selection_tag, window, json).await
        }
        Command::AthenaDdl { tables, rds, sample, database, bucket, prefix, accounts, since } => {
            let request = AthenaRequest { tables, sample, database, bucket, prefix, accounts, since };
            if rds { athena::athena_ddl_rds(env, request).await } else { athena::athena_ddl(env, request).await }
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::Config(error)) if cli.endpoint_url.is_some() => {
            let flag = [(offsite_common::aws::ENDPOINT_URL_VAR, "--endpoint-url")];
            eprintln!("offsite: {}", named_by_flag(error, &flag));
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("offsite: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The process environment, with `--endpoint-url` as OFFSITE_AWS_ENDPOINT_URL.
fn environment(endpoint_url: Option<&str>) -> BTreeMap<String, String> {
    let mut env: BTreeMap<String, String> = std::env::vars().collect();
    if let Some(url) = endpoint_url {
        env.insert(offsite_common::aws::ENDPOINT_URL_VAR.to_owned(), url.to_owned());
    }
    env
}
