//! `offsite`: the operator's command line.
//!
//! It uses the usual AWS credential and profile resolution (environment, `AWS_PROFILE`,
//! SSO, credential processes) and the same explicit endpoint setting as the functions
//! (`OFFSITE_AWS_ENDPOINT_URL`), so the same commands work against real accounts and the
//! local emulator. `explain-event` is the exception: it reads a file, needs no
//! configuration and makes no AWS call.

use std::collections::BTreeMap;
use std::io::Read;
use std::process::ExitCode;
use std::time::SystemTime;

use aws_smithy_types::DateTime;
use offsite_common::config::workload::{EXPORT_KEY_VAR, SWEEP_WINDOW_VAR};
use offsite_common::rds::RdsSnapshots;
use offsite_common::snapshot::{SnapshotArn, SnapshotKind};
use offsite_common::{table, tags};
use offsite_exporter::export::{Exporter, Outcome, Report};
use offsite_exporter::settings::{ExporterSettings, SELECTION_TAG_KEY_VAR, SELECTION_TAG_VALUE_VAR};
use offsite_importer::allow::AllowList;
use offsite_importer::health::{health, health_table};
use offsite_importer::register::{Register, RegisterPath};
use offsite_importer::settings::{ALLOWED_SOURCES_VAR, REGISTER_PATH_VAR};
use offsite_scanner::status::{status_rows, status_table};

use clap::{Parser, Subcommand};
use offsite_common::aws::{AwsSettings, load_sdk_config};
use offsite_exporter::trigger::{Home, MalformedEvent, classify_in};

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
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
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
        #[arg(long = "table", value_name = "NAME", required = true)]
        tables: Vec<String>,
        /// How many items to read for the columns beyond the key (0: keys only).
        #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(i32).range(0..=1000))]
        sample: i32,
        /// The Athena (Glue) database.
        #[arg(long, value_name = "NAME", default_value = "offsite_dynamodb")]
        database: String,
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

/// The CLI's errors; each is printed as one line on standard error.
#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error(transparent)]
    Config(#[from] offsite_common::ConfigError),
    #[error("cannot reach STS to identify the caller: {0}")]
    Identity(String),
    #[error("--selection-tag {0:?} is not KEY=VALUE")]
    SelectionTag(String),
    #[error(transparent)]
    Export(#[from] offsite_exporter::export::ExportError),
    #[error("cannot list the pipeline's copies: {0}")]
    Listing(#[from] offsite_common::rds::RdsError),
    #[error(transparent)]
    TableShape(#[from] offsite_dynamo::athena::ShapeError),
    #[error("{0}")]
    Athena(String),
    #[error("{0}; `offsite verify` needs ssm:GetParametersByPath on it (or set {REGISTER_PATH_VAR})")]
    Register(#[from] offsite_importer::register::RegisterError),
}

/// Why `explain-event` could not explain; printed as one line, exit status 2.
#[derive(Debug, thiserror::Error)]
enum ExplainError {
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
        Command::ExplainEvent { file, function_arn } => return explain_event(&file, function_arn.as_ref()),
        Command::Whoami => whoami(env).await,
        Command::Status { side: Side::Workload, json } => status_workload(env, json).await,
        Command::Status { side: Side::Vault, json } => vault_health(env, None, json).await.map(drop),
        Command::Verify { rpo, json } => match vault_health(env, Some(rpo), json).await {
            Ok(true) => Ok(()),
            Ok(false) => return ExitCode::FAILURE,
            Err(error) => Err(error),
        },
        Command::Plan { export_key_arn, selection_tag, window, json } => {
            plan(env, export_key_arn, selection_tag, window, json).await
        }
        Command::AthenaDdl { tables, sample, database, bucket, prefix, accounts, since } => {
            athena_ddl(env, AthenaRequest { tables, sample, database, bucket, prefix, accounts, since }).await
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

async fn whoami(env: &BTreeMap<String, String>) -> Result<(), CliError> {
    let settings = AwsSettings::from_env(env)?;
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

/// `--function-arn`: a Lambda function ARN, as the exporter's function reads its own.
fn parse_function_arn(raw: &str) -> Result<Home, String> {
    Home::from_function_arn(raw).ok_or_else(|| {
        format!(
            "{raw:?} is not a Lambda function ARN; expected arn:<partition>:lambda:<region>:<account>:function:<name>, \
             e.g. arn:aws:lambda:eu-west-1:111111111111:function:offsite-exporter"
        )
    })
}

/// `offsite explain-event FILE`: the exporter's decision for one event, as JSON on stdout.
fn explain_event(file: &str, home: Option<&Home>) -> ExitCode {
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

/// `offsite plan`: the sweep as a dry run.
async fn plan(
    env: &BTreeMap<String, String>,
    export_key_arn: Option<String>,
    selection_tag: Option<String>,
    window: Option<String>,
    json: bool,
) -> Result<(), CliError> {
    let mut env = env.clone();
    // The variables a flag replaced, so that an error names the flag the operator typed.
    let mut flags: Vec<(&str, &str)> = Vec::new();
    if let Some(arn) = export_key_arn {
        env.insert(EXPORT_KEY_VAR.to_owned(), arn);
        flags.push((EXPORT_KEY_VAR, "--export-key-arn"));
    }
    if let Some(tag) = selection_tag {
        let (key, value) = selection_tag_parts(&tag)?;
        env.insert(SELECTION_TAG_KEY_VAR.to_owned(), key.to_owned());
        env.insert(SELECTION_TAG_VALUE_VAR.to_owned(), value.to_owned());
        flags.extend([(SELECTION_TAG_KEY_VAR, "--selection-tag"), (SELECTION_TAG_VALUE_VAR, "--selection-tag")]);
    }
    if let Some(window) = window {
        env.insert(SWEEP_WINDOW_VAR.to_owned(), window);
        flags.push((SWEEP_WINDOW_VAR, "--window"));
    }
    let settings = ExporterSettings::from_env(&env).map_err(|error| named_by_flag(error, &flags))?;
    let sdk_config = load_sdk_config(&settings.aws).await;
    let exporter = Exporter::new(RdsSnapshots::new(aws_sdk_rds::Client::new(&sdk_config)), settings);
    let report = exporter.sweep(DateTime::from(SystemTime::now()), true).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
    } else {
        print!("{}", plan_table(&report));
    }
    Ok(())
}

/// `KEY=VALUE`, both parts non-empty: an empty part would count as unset and silently select
/// by the default tag instead.
fn selection_tag_parts(tag: &str) -> Result<(&str, &str), CliError> {
    tag.split_once('=')
        .filter(|(key, value)| !key.is_empty() && !value.is_empty())
        .ok_or_else(|| CliError::SelectionTag(tag.to_owned()))
}

/// A configuration error about a variable that a flag set names the flag too.
fn named_by_flag(mut error: offsite_common::ConfigError, flags: &[(&str, &str)]) -> offsite_common::ConfigError {
    if let Some((variable, flag)) = flags.iter().find(|(variable, _)| *variable == error.variable) {
        error.variable = format!("{flag} ({variable})");
    }
    error
}

/// The report as an aligned table, one snapshot a line, copies first.
fn plan_table(report: &Report) -> String {
    let label = |outcome: &Outcome| match outcome {
        Outcome::Copied => "copy",
        Outcome::AlreadyExported => "exported",
        Outcome::Skipped => "skip",
        Outcome::Deferred => "later",
        Outcome::Failed => "problem",
    };
    let mut rows: Vec<[String; 4]> = report
        .items
        .iter()
        .map(|item| {
            let name =
                item.source_arn.parse::<SnapshotArn>().map(|a| a.name).unwrap_or_else(|_| item.source_arn.clone());
            let detail = match (&item.outcome, &item.copy_identifier) {
                (Outcome::Copied, Some(copy)) => format!("as {copy}"),
                _ => item.reason.clone(),
            };
            [label(&item.outcome).to_owned(), item.kind.to_string(), name, detail]
        })
        .collect();
    rows.sort_by_key(|row| {
        (["copy", "problem", "later", "exported", "skip"].iter().position(|l| *l == row[0]), row[2].clone())
    });
    let mut out = table::render(["ACTION", "KIND", "SNAPSHOT", "DETAIL"], &rows);
    let copies = report.count(&Outcome::Copied);
    out.push_str(&format!(
        "plan: {copies} to copy, {} already exported, {} skipped, {} later, {} problems\n",
        report.count(&Outcome::AlreadyExported),
        report.count(&Outcome::Skipped),
        report.count(&Outcome::Deferred),
        report.count(&Outcome::Failed)
    ));
    out
}

/// `offsite status --side workload`: the exporter's copies in this account.
async fn status_workload(env: &BTreeMap<String, String>, json: bool) -> Result<(), CliError> {
    let settings = AwsSettings::from_env(env)?;
    let sdk_config = load_sdk_config(&settings).await;
    let rds = RdsSnapshots::new(aws_sdk_rds::Client::new(&sdk_config));
    let kinds = [SnapshotKind::Instance, SnapshotKind::Cluster];
    let copies = rds.list_marked(&kinds, tags::MARKER_EXPORT).await?;
    let rows = status_rows(&copies, DateTime::from(SystemTime::now()));
    if json {
        println!("{}", serde_json::to_string_pretty(&rows).unwrap_or_default());
    } else {
        print!("{}", status_table(&rows));
    }
    Ok(())
}

/// `offsite status --side vault` (no RPO) and `offsite verify --rpo` (returns whether the
/// vault is healthy).
async fn vault_health(env: &BTreeMap<String, String>, rpo: Option<String>, json: bool) -> Result<bool, CliError> {
    let mut env = env.clone();
    let rpo = match rpo {
        Some(rpo) => {
            env.insert("OFFSITE_RPO".to_owned(), rpo);
            Some(offsite_common::config::required::<std::time::Duration>(&env, "OFFSITE_RPO").map_err(|mut e| {
                e.variable = "--rpo".to_owned();
                e
            })?)
        }
        None => None,
    };
    let allow: Option<AllowList> = offsite_common::config::optional(&env, ALLOWED_SOURCES_VAR)?;
    let settings = AwsSettings::from_env(&env)?;
    let sdk_config = load_sdk_config(&settings).await;
    let rds = RdsSnapshots::new(aws_sdk_rds::Client::new(&sdk_config));
    let kinds = [SnapshotKind::Instance, SnapshotKind::Cluster];
    let copies = rds.list_marked(&kinds, tags::MARKER_IMPORT).await?;
    let mut shared = Vec::new();
    for kind in kinds {
        shared.extend(rds.list(kind, Some("shared")).await?);
    }
    // The databases the vault protects (the reconciler's register, importer/src/register.rs).
    let path: RegisterPath = offsite_common::config::or_default(&env, REGISTER_PATH_VAR, RegisterPath::default())?;
    let register = Register::new(aws_sdk_ssm::Client::new(&sdk_config), path);
    let remembered = register.remembered().await?;
    let health = health(&copies, &shared, allow.as_ref(), &remembered, rpo, DateTime::from(SystemTime::now()));
    if json {
        println!("{}", serde_json::to_string_pretty(&health).unwrap_or_default());
    } else {
        print!("{}", health_table(&health));
    }
    Ok(health.ok || rpo.is_none())
}

/// What `offsite athena-ddl` was asked for.
struct AthenaRequest {
    tables: Vec<String>,
    sample: i32,
    database: String,
    bucket: Option<String>,
    prefix: Option<String>,
    accounts: Vec<String>,
    since: String,
}

/// Everything that goes into the printed statement verbatim must fit where it goes (a
/// backtick-quoted name, a single-quoted location, a comma-separated projection), so that no
/// argument can end a quote and add SQL of its own. Checked before any AWS call.
fn check_statement_inputs(
    database: &str,
    tables: &[String],
    accounts: &[String],
    bucket: &str,
    prefix: &str,
) -> Result<(), CliError> {
    let refuse = |what: String| Err(CliError::Athena(what));
    if database.is_empty()
        || database.len() > 255
        || !database.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return refuse(format!(
            "--database {database:?} is not an Athena database name (1 to 255 lowercase letters, digits or _)"
        ));
    }
    for table in tables {
        if !(3..=255).contains(&table.len())
            || !table.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        {
            return refuse(format!(
                "--table {table:?} is not a DynamoDB table name (3 to 255 letters, digits, _, - or .)"
            ));
        }
    }
    for account in accounts {
        if account.parse::<offsite_common::AccountId>().is_err() {
            return refuse(format!("--account {account:?} is not a 12-digit AWS account id"));
        }
    }
    let bucket_ok = (3..=63).contains(&bucket.len())
        && bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && bucket.starts_with(|c: char| c.is_ascii_alphanumeric())
        && bucket.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !bucket_ok {
        return refuse(format!(
            "bucket {bucket:?} (--bucket or OFFSITE_EXPORT_BUCKET) is not an S3 bucket name (3 to 63 lowercase letters, digits, dots or hyphens)"
        ));
    }
    if prefix.len() > 200 || prefix.contains("//") || prefix.chars().any(|c| matches!(c, '\'' | '\\') || c.is_control())
    {
        return refuse(format!(
            "prefix {prefix:?} (--prefix or OFFSITE_EXPORT_PREFIX) is not a key prefix the statement can hold (at most 200 characters, no empty segment, quote, backslash or control character)"
        ));
    }
    Ok(())
}

/// `offsite athena-ddl`: the Athena statements for the export job's layout.
async fn athena_ddl(env: &BTreeMap<String, String>, request: AthenaRequest) -> Result<(), CliError> {
    use offsite_dynamo::athena::{AthenaLayout, check_unique_names, table_shape};
    use offsite_dynamo::settings::{BUCKET_VAR, PREFIX_VAR};

    let bucket = match request.bucket {
        Some(bucket) => bucket,
        None => offsite_common::config::required::<String>(env, BUCKET_VAR).map_err(|mut e| {
            e.expected = format!("{} (or --bucket)", e.expected);
            e
        })?,
    };
    let prefix = match request.prefix {
        Some(prefix) => prefix,
        None => offsite_common::config::or_default(env, PREFIX_VAR, "offsite".to_owned())?,
    };
    let valid_date = request.since.len() == 10
        && request
            .since
            .bytes()
            .enumerate()
            .all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
    if !valid_date {
        return Err(CliError::Athena(format!("--since {:?} is not a date such as 2024-01-01", request.since)));
    }
    check_statement_inputs(&request.database, &request.tables, &request.accounts, &bucket, &prefix)?;
    let settings = AwsSettings::from_env(env)?;
    let sdk_config = load_sdk_config(&settings).await;
    let region = sdk_config.region().map(ToString::to_string).ok_or_else(|| {
        CliError::Athena("no AWS region: set AWS_REGION (the export prefix names the region)".to_owned())
    })?;
    let identity = aws_sdk_sts::Client::new(&sdk_config)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| CliError::Identity(aws_sdk_sts::error::DisplayErrorContext(e).to_string()))?;
    let mut accounts = vec![identity.account().unwrap_or_default().to_owned()];
    for account in request.accounts {
        if !accounts.contains(&account) {
            accounts.push(account);
        }
    }
    let ddb = aws_sdk_dynamodb::Client::new(&sdk_config);
    let mut layouts = Vec::new();
    for table in request.tables {
        let (keys, attributes) = table_shape(&ddb, &table, request.sample).await?;
        layouts.push(AthenaLayout {
            database: request.database.clone(),
            table,
            bucket: bucket.clone(),
            prefix: prefix.clone(),
            accounts: accounts.clone(),
            regions: vec![region.clone()],
            since: request.since.clone(),
            keys,
            attributes,
        });
    }
    check_unique_names(&layouts).map_err(CliError::Athena)?;
    let today =
        DateTime::from(SystemTime::now()).fmt(aws_smithy_types::date_time::Format::DateTime).unwrap_or_default();
    println!("CREATE DATABASE IF NOT EXISTS `{}`;\n", request.database);
    for layout in &layouts {
        println!("{}", layout.create_table());
        println!("-- Example: the items of today's full export.\n-- {}\n", layout.full_export_query(&today[..10]));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `check_statement_inputs` over string slices.
    fn check(database: &str, tables: &[&str], accounts: &[&str], bucket: &str, prefix: &str) -> Result<(), CliError> {
        let owned = |items: &[&str]| items.iter().map(|i| (*i).to_owned()).collect::<Vec<String>>();
        check_statement_inputs(database, &owned(tables), &owned(accounts), bucket, prefix)
    }

    fn refusal(result: Result<(), CliError>) -> String {
        match result {
            Err(error) => error.to_string(),
            Ok(()) => panic!("accepted"),
        }
    }

    #[test]
    fn a_selection_tag_needs_both_parts() {
        assert_eq!(selection_tag_parts("backup=offsite").ok(), Some(("backup", "offsite")));
        assert_eq!(selection_tag_parts("k=a=b").ok(), Some(("k", "a=b")));
        for tag in ["backup", "=offsite", "backup=", "="] {
            assert_eq!(
                refusal(selection_tag_parts(tag).map(drop)),
                format!("--selection-tag {tag:?} is not KEY=VALUE")
            );
        }
    }

    #[test]
    fn an_error_about_a_variable_a_flag_set_names_the_flag() {
        let error = offsite_common::config::invalid(SWEEP_WINDOW_VAR, "100d", "out of range", "1h to 35d");
        let named = named_by_flag(error.clone(), &[(SWEEP_WINDOW_VAR, "--window")]);
        assert!(named.to_string().starts_with("configuration: --window (OFFSITE_SWEEP_WINDOW)=\"100d\""), "{named}");
        assert_eq!(named_by_flag(error.clone(), &[(EXPORT_KEY_VAR, "--export-key-arn")]), error);
    }

    #[test]
    fn the_statement_takes_only_names_that_fit_their_quotes() {
        let tables = ["orders-2024", "ledger.v2"];
        assert!(check("offsite_dynamodb", &tables, &["444444444444"], "auditor-exports", "offsite/dynamodb").is_ok());
        assert!(check("offsite_dynamodb", &tables, &[], "auditor-exports", "").is_ok());
        let refused: [(&str, &str, &str, &str, &str, &str); 10] = [
            ("x`; DROP DATABASE audit; --", "orders", "", "auditor-exports", "offsite", "--database"),
            ("Offsite", "orders", "", "auditor-exports", "offsite", "--database"),
            ("offsite", "orders'", "", "auditor-exports", "offsite", "--table"),
            ("offsite", "orders", "12", "auditor-exports", "offsite", "--account"),
            ("offsite", "orders", "1' OR '1", "auditor-exports", "offsite", "--account"),
            ("offsite", "orders", "", "evil' bucket", "offsite", "--bucket"),
            ("offsite", "orders", "", "Auditor_Exports", "offsite", "--bucket"),
            ("offsite", "orders", "", "auditor-exports", "x'; DROP TABLE t; --", "--prefix"),
            ("offsite", "orders", "", "auditor-exports", "a//b", "--prefix"),
            ("offsite", "orders", "", "auditor-exports", "a\nb", "--prefix"),
        ];
        for (database, table, account, bucket, prefix, flag) in refused {
            let accounts: &[&str] = if account.is_empty() { &[] } else { &[account] };
            let message = refusal(check(database, &[table], accounts, bucket, prefix));
            assert!(message.contains(flag), "{flag}: {message}");
        }
    }
}
