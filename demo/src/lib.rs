//! The demo: the whole pipeline on the local emulator, run as AWS would run it.
//!
//! Three accounts (workload, vault, auditor) with what `infra/*.yaml` creates; databases and
//! snapshots of every kind the exporter handles; each Lambda binary started as Lambda starts
//! it, with its template's environment (`offsite_tests::deployed`), fed the events AWS would
//! send: RDS and AWS Backup events, schedules, SQS batches of SNS envelopes. The databases
//! hold seeded rows; the vault exports its copies as Parquet into the auditor's bucket and the
//! auditor's Athena query (DuckDB over the files, `tests/athena/rds_athena_check.py`) returns
//! them. It prints its progress and a report, and ends with one summary line.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, Instant};

use aws_sdk_rds::types::Tag;
use offsite_common::snapshot::{SnapshotArn, SnapshotKind, SnapshotStatus};
use offsite_common::table::render;
use offsite_common::tags;
use offsite_dynamo::athena::{AthenaLayout, table_shape};
use offsite_tests::deployed::{AUDITOR_BUCKET, DeployedPair};
use offsite_tests::event_source::sqs_event_json;
use offsite_tests::events::{backup_job_completed, manual_snapshot_created, scheduled};
use offsite_tests::fixtures::{
    db_cluster, db_cluster_snapshot, db_instance, db_instance_default_key, db_snapshot, drain_queue, kms_key, tag,
};
use offsite_tests::lambda::{LambdaFunction, Outcome};
use offsite_tests::{AUDITOR, EmulatorOptions, REGION, VAULT, WORKLOAD};
use serde_json::{Value, json};

/// The tag that selects snapshots and tables (the templates' default).
pub const SELECTED: (&str, &str) = ("offsite-export", "true");
const INVOKE_TIMEOUT: Duration = Duration::from_secs(120);

/// How the demo runs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long snapshots, copies and exports stay in progress.
    pub copy_delay: Duration,
    /// Scheduler rounds before giving up on what has not arrived.
    pub max_rounds: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self { copy_delay: Duration::from_secs(3), max_rounds: 20 }
    }
}

/// Why the demo could not run at all (as opposed to a pipeline result it reports).
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Deploy(#[from] offsite_tests::deployed::DeployError),
    #[error("{0}")]
    Setup(String),
    #[error("cannot write the report: {0}")]
    Output(#[from] std::io::Error),
}

/// What arrived, for the summary line and the exit status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub selected: usize,
    pub in_vault: usize,
    pub tables: usize,
    pub tables_exported: usize,
    /// Source databases with vault copies, and those whose copy was exported as Parquet.
    pub databases: usize,
    pub databases_exported: usize,
    /// Restore tests that concluded in the demo, and those that passed.
    pub restore_tests: usize,
    pub restore_tests_passed: usize,
    pub errors: Vec<String>,
}

impl Summary {
    /// `demo: <i>/<n> selected snapshots in the vault, <t>/<m> tables exported, <x>/<d>
    /// snapshots exported for auditors, <p>/<r> restore tests passed, <e> errors`
    pub fn line(&self) -> String {
        format!(
            "demo: {}/{} selected snapshots in the vault, {}/{} tables exported, {}/{} snapshots exported for auditors, {}/{} restore tests passed, {} errors",
            self.in_vault,
            self.selected,
            self.tables_exported,
            self.tables,
            self.databases_exported,
            self.databases,
            self.restore_tests_passed,
            self.restore_tests,
            self.errors.len()
        )
    }

    /// Everything that should arrive arrived, and nothing failed.
    pub fn ok(&self) -> bool {
        self.in_vault == self.selected
            && self.tables_exported == self.tables
            && self.databases_exported == self.databases
            && self.restore_tests > 0
            && self.restore_tests_passed == self.restore_tests
            && self.errors.is_empty()
    }
}

/// The demo's world after a run, for the report and for tests.
#[derive(Debug)]
pub struct Demo {
    pub pair: DeployedPair,
    /// The selected source snapshots (ARNs).
    pub selected: Vec<String>,
    /// Snapshots that must not be exported, with why.
    pub not_selected: Vec<String>,
    /// DynamoDB tables that must be exported, and the one without PITR.
    pub tables: Vec<String>,
    pub table_without_pitr: String,
    /// The completed DynamoDB exports (`ExportDescription` as the job tracks it).
    pub exports: Vec<Value>,
    /// The RDS exports for auditors: every export task of the vault, as RDS describes it.
    pub rds_exports: Vec<Value>,
    /// The auditor's Athena query over them: the checker's rows per table.
    pub rds_rows: Value,
    /// The restore tests that concluded: the tester's report of each.
    pub restore_tests: Vec<Value>,
}

fn say(out: &mut dyn Write, line: &str) -> Result<(), DemoError> {
    writeln!(out, "{line}")?;
    out.flush()?;
    Ok(())
}

fn setup<E: std::fmt::Display>(what: &str) -> impl Fn(E) -> DemoError + '_ {
    move |e| DemoError::Setup(format!("{what}: {e}"))
}

/// Invokes a function; an error or a crash is recorded, not fatal.
fn invoke(function: &mut LambdaFunction, event: &Value, errors: &mut Vec<String>, what: &str) -> Option<Value> {
    match function.invoke(event, INVOKE_TIMEOUT) {
        Ok(Outcome::Response(response)) => Some(response),
        Ok(Outcome::Error { error_type, message }) => {
            errors.push(format!("{what}: {error_type}: {message}"));
            None
        }
        Err(e) => {
            errors.push(format!("{what}: {e}"));
            None
        }
    }
}

/// Databases and snapshots of every kind, and two DynamoDB tables.
async fn seed(pair: &DeployedPair, out: &mut dyn Write) -> Result<(Vec<String>, Vec<String>, Vec<Value>), DemoError> {
    let w = &pair.workload;
    let app_key = kms_key(w, "application database key").await;
    db_instance(w, "orders", Some(&app_key)).await;
    db_cluster(w, "ledger", Some(&app_key)).await;
    db_instance_default_key(w, "legacy").await;
    for (kind, database, content) in database_contents() {
        pair.emulator.seed_database(WORKLOAD, kind, database, content).map_err(setup("seed a database"))?;
    }
    say(
        out,
        "  databases: PostgreSQL `orders` and Aurora `ledger` (customer key), PostgreSQL `legacy` (default aws/rds key), each with a table of rows",
    )?;
    let selected_tag = || vec![tag(SELECTED.0, SELECTED.1)];
    let arn = |s: Option<String>| s.ok_or_else(|| DemoError::Setup("a snapshot without an ARN".into()));
    let mut selected = vec![
        arn(db_snapshot(w, "orders", "orders-before-migration", selected_tag()).await.db_snapshot_arn)?,
        arn(db_cluster_snapshot(w, "ledger", "ledger-month-end", selected_tag()).await.db_cluster_snapshot_arn)?,
        arn(db_snapshot(w, "legacy", "legacy-nightly", selected_tag()).await.db_snapshot_arn)?,
    ];
    // The automated snapshot RDS took when `orders` was created, tagged by its owner.
    let rds = aws_sdk_rds::Client::new(w);
    let automated = rds
        .describe_db_snapshots()
        .db_instance_identifier("orders")
        .snapshot_type("automated")
        .send()
        .await
        .map_err(setup("automated snapshots"))?
        .db_snapshots
        .unwrap_or_default()
        .into_iter()
        .next()
        .and_then(|s| s.db_snapshot_arn)
        .ok_or_else(|| DemoError::Setup("no automated snapshot of orders".into()))?;
    let selection: Tag = tag(SELECTED.0, SELECTED.1);
    rds.add_tags_to_resource().resource_name(&automated).tags(selection).send().await.map_err(setup("tag"))?;
    selected.push(automated);
    // AWS Backup jobs, whose plan tags its recovery points for export.
    let mut backup_events = Vec::new();
    for (kind, resource, resource_type) in
        [(SnapshotKind::Instance, "orders", "RDS"), (SnapshotKind::Cluster, "ledger", "Aurora")]
    {
        let point = pair
            .emulator
            .backup_recovery_point(WORKLOAD, kind, resource, &[SELECTED])
            .map_err(setup("AWS Backup recovery point"))?;
        let resource_arn = format!(
            "arn:aws:rds:{REGION}:{WORKLOAD}:{}:{resource}",
            if kind == SnapshotKind::Cluster { "cluster" } else { "db" }
        );
        backup_events.push(backup_job_completed(
            WORKLOAD,
            &point.arn,
            &resource_arn,
            resource_type,
            &point.backup_job_id,
        ));
        selected.push(point.arn);
    }
    let unselected = vec![arn(db_snapshot(w, "orders", "orders-scratch", vec![]).await.db_snapshot_arn)?];
    say(
        out,
        &format!(
            "  snapshots: {} selected (manual, automated `rds:`, AWS Backup `awsbackup:job-`, cluster, default key), 1 not selected",
            selected.len()
        ),
    )?;
    Ok((selected, unselected, backup_events))
}

/// What the demo's databases hold (the emulator's content: snapshots capture it, copies carry
/// it, the RDS exports write it as Parquet).
pub fn database_contents() -> Vec<(SnapshotKind, &'static str, Value)> {
    let table = |database: &str, name: &str, columns: Value, rows: Value| json!([{"name": database, "tables": [{"schema": "public", "name": name, "columns": columns, "rows": rows}]}]);
    vec![
        (
            SnapshotKind::Instance,
            "orders",
            table(
                "shop",
                "orders",
                json!([{"name": "id", "type": "integer"}, {"name": "customer", "type": "text"},
                       {"name": "total", "type": "numeric(10,2)"}]),
                json!([[1, "Ada", "12.50"], [2, "Grace", "7.25"], [3, "Linus", "30.00"]]),
            ),
        ),
        (
            SnapshotKind::Cluster,
            "ledger",
            table(
                "ledger",
                "entries",
                json!([{"name": "entry", "type": "bigint"}, {"name": "amount", "type": "numeric(12,2)"}]),
                json!([[1, "100.00"], [2, "-40.00"]]),
            ),
        ),
        (
            SnapshotKind::Instance,
            "legacy",
            table("legacy", "notes", json!([{"name": "note", "type": "text"}]), json!([["kept for seven years"]])),
        ),
    ]
}

/// DynamoDB: `customers` (PITR, items) and `sessions` (no PITR), both selected.
async fn seed_tables(pair: &DeployedPair, out: &mut dyn Write) -> Result<(), DemoError> {
    use aws_sdk_dynamodb::types::AttributeValue;
    offsite_tests::fixtures::dynamo_table(&pair.workload, "sessions", false, true, 3).await;
    offsite_tests::fixtures::dynamo_table(&pair.workload, "customers", false, true, 0).await;
    let ddb = aws_sdk_dynamodb::Client::new(&pair.workload);
    for (i, (name, city)) in [("Ada", "London"), ("Grace", "Arlington"), ("Linus", "Helsinki")].iter().enumerate() {
        ddb.put_item()
            .table_name("customers")
            .item("pk", AttributeValue::S(format!("customer-{i}")))
            .item("name", AttributeValue::S((*name).to_owned()))
            .item("orders", AttributeValue::N(format!("{}", (i + 1) * 3)))
            .item("address", AttributeValue::M([("city".to_owned(), AttributeValue::S((*city).to_owned()))].into()))
            .send()
            .await
            .map_err(setup("put item"))?;
    }
    let pitr = aws_sdk_dynamodb::types::PointInTimeRecoverySpecification::builder()
        .point_in_time_recovery_enabled(true)
        .build()
        .map_err(setup("PITR"))?;
    ddb.update_continuous_backups()
        .table_name("customers")
        .point_in_time_recovery_specification(pitr)
        .send()
        .await
        .map_err(setup("enable PITR"))?;
    say(out, "  DynamoDB: `customers` (3 items, point-in-time recovery on), `sessions` (no point-in-time recovery)")?;
    Ok(())
}

/// Runs the demo, writing progress and the report to `out`.
pub async fn run(settings: &Settings, out: &mut dyn Write) -> Result<(Summary, Demo), DemoError> {
    let started = Instant::now();
    say(
        out,
        &format!("▸ Starting the emulator: workload ({WORKLOAD}), vault ({VAULT}) and auditor ({AUDITOR}) accounts"),
    )?;
    let options = EmulatorOptions { copy_delay: settings.copy_delay, ..EmulatorOptions::default() };
    // Short windows so that the demo's sweep sees everything and nothing expires.
    let pair = DeployedPair::start(&options, &[("ClaimSettle", "1s")], &[]).await?;
    say(
        out,
        "  stacks deployed from infra/*.yaml: roles and policies, export key, topic, vault queue and subscription, import key, auditor bucket",
    )?;
    say(out, "▸ Seeding the workload account")?;
    let (selected, not_selected, backup_events) = seed(&pair, out).await?;
    seed_tables(&pair, out).await?;

    let mut errors = Vec::new();
    say(out, "▸ Starting the six functions as Lambda would, each with its template's environment and role")?;
    let mut exporter = pair.function("offsite-exporter")?;
    let mut scanner = pair.function("offsite-scanner")?;
    let mut importer = pair.function("offsite-importer")?;
    let mut reconciler = pair.function("offsite-reconciler")?;
    let mut retention = pair.function("offsite-retention")?;
    let mut dynamo = pair.function("offsite-dynamo-export")?;

    say(out, "▸ Events: RDS snapshot events and AWS Backup job completions to the exporter")?;
    let mut decisions: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut record = |response: Option<Value>| {
        for item in response.as_ref().and_then(|r| r["items"].as_array()).into_iter().flatten() {
            let source = item["source_arn"].as_str().unwrap_or_default().to_owned();
            let outcome = item["outcome"].as_str().unwrap_or_default().to_owned();
            let reason = item["reason"].as_str().unwrap_or_default().to_owned();
            decisions.insert(source, (outcome, reason));
        }
    };
    let orders_manual = &selected[0];
    record(invoke(
        &mut exporter,
        &manual_snapshot_created(WORKLOAD, orders_manual, "orders-before-migration"),
        &mut errors,
        "exporter",
    ));
    for event in &backup_events {
        record(invoke(&mut exporter, event, &mut errors, "exporter"));
    }

    say(out, "▸ Schedules: exporter sweep, scanner, SNS → SQS → importer, until everything arrives")?;
    for round in 1..=settings.max_rounds {
        record(invoke(&mut exporter, &scheduled(WORKLOAD, "offsite-exporter-sweep"), &mut errors, "exporter sweep"));
        invoke(&mut scanner, &scheduled(WORKLOAD, "offsite-scanner"), &mut errors, "scanner");
        // Lambda's event source mapping receives with the importer's role.
        let bodies = drain_queue(&pair.importer_role, &pair.queue_url).await;
        for batch in bodies.chunks(10) {
            let response = invoke(&mut importer, &sqs_event_json(batch), &mut errors, "importer");
            let failures = response.as_ref().and_then(|r| r["batchItemFailures"].as_array()).filter(|f| !f.is_empty());
            if let Some(failures) = failures {
                errors.push(format!("importer: {} notices failed: {failures:?}", failures.len()));
            }
        }
        let copies = pair.workload_copies().await;
        let available = copies.iter().filter(|c| c.status == SnapshotStatus::Available).count();
        let announced = copies.iter().filter(|c| c.tag(tags::STAGE) == Some(tags::STAGE_ANNOUNCED)).count();
        let in_vault = pair.vault_copies().await;
        let vault_available = in_vault.iter().filter(|c| c.status == SnapshotStatus::Available).count();
        say(
            out,
            &format!(
                "  round {round}: {} copies ({available} available, {announced} announced); {} notices → importer; vault: {} copies ({vault_available} available)",
                copies.len(),
                bodies.len(),
                in_vault.len()
            ),
        )?;
        if vault_available >= selected.len() {
            break;
        }
        tokio::time::sleep(settings.copy_delay.max(Duration::from_millis(500))).await;
    }
    say(out, "▸ Vault schedules: reconciler (imports what was shared but not announced), retention")?;
    invoke(&mut reconciler, &scheduled(VAULT, "offsite-reconciler"), &mut errors, "reconciler");
    invoke(&mut retention, &scheduled(VAULT, "offsite-retention"), &mut errors, "retention");

    say(out, "▸ DynamoDB export job, on its schedule, into the auditor's bucket")?;
    let (tables, exports) = export_tables(&pair, &mut dynamo, settings, &mut errors, out).await?;

    say(
        out,
        "▸ A week later, the vault's RDS exports for auditors: the newest copy of each database's closed week, as Parquet",
    )?;
    let rds_exports = export_snapshots(&pair, settings, &mut errors, out).await?;
    let rds_rows = auditor_query(&pair, &mut errors).await;

    say(
        out,
        "▸ The vault's restore tests, on their schedule: per database a copy restored, checked, recorded, deleted",
    )?;
    let restore_tests = restore_test(&pair, settings, &mut errors, out).await?;

    let demo = Demo {
        pair,
        selected,
        not_selected,
        tables: vec!["customers".to_owned()],
        table_without_pitr: "sessions".to_owned(),
        exports,
        rds_exports,
        rds_rows,
        restore_tests,
    };
    let summary = report(&demo, &decisions, &tables, errors, out).await?;
    say(out, &format!("(ran in {:.0} s)", started.elapsed().as_secs_f64()))?;
    say(out, &summary.line())?;
    Ok((summary, demo))
}

/// Runs the RDS export function under its template role as its schedule will a week from now
/// (the week of today's copies must have closed; the function's clock is the only thing
/// moved), then waits for RDS to finish; returns every export task of the vault.
async fn export_snapshots(
    pair: &DeployedPair,
    settings: &Settings,
    errors: &mut Vec<String>,
    out: &mut dyn Write,
) -> Result<Vec<Value>, DemoError> {
    use offsite_rds_export::run::{RdsExporter, StartResult};
    let env = pair.function_env("offsite-rds-export")?;
    let export_settings =
        offsite_rds_export::settings::RdsExportSettings::from_env(&env).map_err(setup("the RDS export settings"))?;
    let role = pair.role_config("offsite-rds-export").await?;
    let exporter = RdsExporter::new(aws_sdk_rds::Client::new(&role), aws_sdk_s3::Client::new(&role), export_settings);
    let later = aws_smithy_types::DateTime::from(std::time::SystemTime::now() + Duration::from_secs(8 * 86_400));
    let report = exporter.run(later).await.map_err(setup("the RDS export run"))?;
    for start in &report.starts {
        if start.result != StartResult::Started {
            errors.push(format!(
                "RDS export of {}: {:?} {}",
                start.start.database,
                start.result,
                start.reason.clone().unwrap_or_default()
            ));
        }
    }
    say(
        out,
        &format!(
            "  {} exports started (one per source database), {} running before",
            report.count(&StartResult::Started),
            report.running_before
        ),
    )?;
    let rds = aws_sdk_rds::Client::new(&pair.vault);
    let mut tasks = Vec::new();
    for _ in 0..settings.max_rounds * 4 {
        let described = rds.describe_export_tasks().send().await.map_err(setup("DescribeExportTasks"))?;
        tasks = described
            .export_tasks()
            .iter()
            .map(|t| {
                json!({
                    "identifier": t.export_task_identifier(),
                    "status": t.status(),
                    "prefix": t.s3_prefix(),
                    "progress": t.percent_progress(),
                    "failure": t.failure_cause(),
                })
            })
            .collect::<Vec<Value>>();
        if tasks.iter().all(|t| t["status"] == "COMPLETE" || t["status"] == "FAILED" || t["status"] == "CANCELED") {
            break;
        }
        tokio::time::sleep(settings.copy_delay.max(Duration::from_millis(500)) / 2).await;
    }
    for task in tasks.iter().filter(|t| t["status"] != "COMPLETE") {
        errors.push(format!("RDS export {} ended {}: {}", task["identifier"], task["status"], task["failure"]));
    }
    Ok(tasks)
}

/// Runs the restore tester under its template role, schedule after schedule (each run moves
/// each test one step: restore, check and record, delete; two at a time, the template's
/// default) until every source database's copy of this period is tested and nothing restored
/// is left; returns the concluded tests' reports.
async fn restore_test(
    pair: &DeployedPair,
    settings: &Settings,
    errors: &mut Vec<String>,
    out: &mut dyn Write,
) -> Result<Vec<Value>, DemoError> {
    use offsite_restore_test::run::RestoreTester;
    let env = pair.function_env("offsite-restore-test")?;
    let test_settings = offsite_restore_test::settings::RestoreTestSettings::from_env(&env)
        .map_err(setup("the restore test settings"))?;
    let role = pair.role_config("offsite-restore-test").await?;
    let tester = RestoreTester::from_config(&role, test_settings);
    let mut concluded: Vec<Value> = Vec::new();
    for _ in 0..settings.max_rounds * 4 {
        let report = tester
            .run(aws_smithy_types::DateTime::from(std::time::SystemTime::now()))
            .await
            .map_err(setup("the restore test run"))?;
        for test in &report.tests {
            errors.extend(test.errors.iter().map(|e| format!("restore test {}: {e}", test.restore)));
            if let Some(result) = &test.result {
                say(
                    out,
                    &format!(
                        "  {} of {} ({}): {} in {} s: {}",
                        test.restore,
                        test.database.as_deref().unwrap_or("?"),
                        result.copy_arn.as_deref().and_then(|a| a.rsplit(':').next()).unwrap_or("?"),
                        if result.passed { "passed" } else { "FAILED" },
                        result.seconds.unwrap_or_default(),
                        result.figures
                    ),
                )?;
                concluded.push(serde_json::to_value(test).unwrap_or_default());
            }
        }
        if !concluded.is_empty() && report.tests.is_empty() && report.starts.is_empty() {
            say(out, "  the restored databases are deleted; the evidence stays on the copies (offsite:restore-test*)")?;
            return Ok(concluded);
        }
        tokio::time::sleep(settings.copy_delay.max(Duration::from_millis(500)) / 2).await;
    }
    errors.push("the restore test did not conclude and clean up in time".to_owned());
    Ok(concluded)
}

/// The auditor's side: the Athena statements over the RDS exports (from their metadata in
/// the bucket, as `offsite athena-ddl --rds` prints them), and the equivalent of their query
/// run by DuckDB over the bucket's Parquet files (`tests/athena/rds_athena_check.py`, with the
/// emulator's virtualenv). Returns `{"ddl", "tables": {table: {"rows": [...]}}}`.
async fn auditor_query(pair: &DeployedPair, errors: &mut Vec<String>) -> Value {
    use offsite_rds_export::athena::{DdlTarget, read_exports, statements};
    let exports = match read_exports(&aws_sdk_s3::Client::new(&pair.auditor), AUDITOR_BUCKET, "offsite").await {
        Ok(exports) => exports,
        Err(e) => {
            errors.push(format!("the auditor cannot read the RDS exports' metadata: {e}"));
            return Value::Null;
        }
    };
    let target = DdlTarget {
        glue_database: "offsite_rds".into(),
        bucket: AUDITOR_BUCKET.into(),
        prefix: "offsite".into(),
        since: "2020-01-01".into(),
    };
    let ddl = statements(&exports, &target, &[]);
    // The bucket as the auditor sees it, on disk, for DuckDB.
    let dir = std::env::temp_dir().join(format!("offsite-demo-rds-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    offsite_tests::fixtures::download_bucket(&pair.auditor, AUDITOR_BUCKET, "offsite/rds/", &dir).await;
    let checked = offsite_tests::fixtures::athena_check("rds_athena_check.py", &ddl, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    let mut result = checked.unwrap_or_else(|e| {
        errors.push(format!("the Athena check failed: {e}"));
        Value::Null
    });
    if let Some(object) = result.as_object_mut() {
        object.insert("ddl".to_owned(), Value::from(ddl));
    }
    result
}

/// Runs the job until the table's export completed, and returns the last report's tables and
/// the completed exports.
async fn export_tables(
    pair: &DeployedPair,
    dynamo: &mut LambdaFunction,
    settings: &Settings,
    errors: &mut Vec<String>,
    out: &mut dyn Write,
) -> Result<(Vec<Value>, Vec<Value>), DemoError> {
    let ddb = aws_sdk_dynamodb::Client::new(&pair.workload);
    let mut last = Vec::new();
    for round in 1..=settings.max_rounds {
        let report = invoke(dynamo, &scheduled(WORKLOAD, "offsite-dynamo-export"), errors, "dynamodb export");
        last = report.as_ref().and_then(|r| r["tables"].as_array().cloned()).unwrap_or_default();
        let line: Vec<String> = last
            .iter()
            .map(|t| format!("{} {}", t["table"].as_str().unwrap_or("?"), t["result"].as_str().unwrap_or("?")))
            .collect();
        let done = last.iter().filter(|t| !t["last_completed"].is_null()).count();
        say(out, &format!("  run {round}: {}; {done} completed", line.join(", ")))?;
        if done >= 1 {
            break;
        }
        // DescribeExport lets the emulator finish exports whose time is up.
        for summary in ddb.list_exports().send().await.map_err(setup("ListExports"))?.export_summaries() {
            let _ = ddb.describe_export().export_arn(summary.export_arn().unwrap_or_default()).send().await;
        }
        tokio::time::sleep(settings.copy_delay.max(Duration::from_millis(500))).await;
    }
    let mut exports = Vec::new();
    for summary in ddb.list_exports().send().await.map_err(setup("ListExports"))?.export_summaries() {
        let described = ddb.describe_export().export_arn(summary.export_arn().unwrap_or_default()).send().await;
        if let Some(d) = described.ok().and_then(|d| d.export_description) {
            exports.push(json!({
                "arn": d.export_arn(), "status": d.export_status().map(|s| s.as_str()),
                "items": d.item_count(), "manifest": d.export_manifest(), "prefix": d.s3_prefix(),
            }));
        }
    }
    Ok((last, exports))
}

/// The readable report; returns the summary.
async fn report(
    demo: &Demo,
    decisions: &BTreeMap<String, (String, String)>,
    tables: &[Value],
    mut errors: Vec<String>,
    out: &mut dyn Write,
) -> Result<Summary, DemoError> {
    let name = |arn: &str| arn.parse::<SnapshotArn>().map(|a| a.name).unwrap_or_else(|_| arn.to_owned());
    let vault = demo.pair.vault_copies().await;
    let mut rows = Vec::new();
    let mut in_vault = 0;
    for source in &demo.selected {
        let copies: Vec<_> = vault.iter().filter(|c| c.tag(tags::SOURCE_ARN) == Some(source.as_str())).collect();
        let arrived = copies.iter().filter(|c| c.status == SnapshotStatus::Available).count();
        if arrived == 1 {
            in_vault += 1;
        } else {
            errors.push(format!("{}: {arrived} available copies in the vault (1 expected)", name(source)));
        }
        let kind = if source.contains(":cluster-snapshot:") { "cluster" } else { "instance" };
        let how = match name(source) {
            n if n.starts_with("rds:") => "automated",
            n if n.starts_with("awsbackup:") => "AWS Backup",
            _ => "manual",
        };
        let copy = copies.first().map_or("-".to_owned(), |c| c.identifier.clone());
        rows.push([name(source), kind.to_owned(), how.to_owned(), copy]);
    }
    say(out, "\n== In the vault (222222222222), copied under the vault's own key")?;
    write!(out, "{}", render(["SOURCE SNAPSHOT", "KIND", "TAKEN BY", "VAULT COPY"], &rows))?;
    let provenance = vault.first().map(|c| {
        [tags::SOURCE_ACCOUNT, tags::SOURCE_DATABASE, tags::SOURCE_ARN, tags::IMPORTED_AT]
            .iter()
            .map(|k| format!("{k}={}", c.tag(k).unwrap_or("?")))
            .collect::<Vec<_>>()
            .join(", ")
    });
    if let Some(provenance) = provenance {
        say(out, &format!("  provenance tags, e.g.: {provenance}"))?;
    }

    say(out, "\n== Not exported, and why (the exporter's own words)")?;
    let skipped: Vec<(&String, &String)> =
        decisions.iter().filter(|(_, (outcome, _))| outcome == "skipped").map(|(s, (_, r))| (s, r)).collect();
    // The pipeline's own copies are listed by the sweep too: counted, not listed.
    let own = skipped.iter().filter(|(_, reason)| reason.contains("Offsite's own copies")).count();
    let mut ignored: Vec<[String; 2]> = skipped
        .iter()
        .filter(|(_, reason)| !reason.contains("Offsite's own copies"))
        .map(|(source, reason)| [name(source), (*reason).clone()])
        .collect();
    ignored.sort();
    write!(out, "{}", render(["SNAPSHOT", "REASON"], &ignored))?;
    say(out, &format!("  (and {own} of Offsite's own copies: never a source)"))?;
    for source in &demo.not_selected {
        if vault.iter().any(|c| c.tag(tags::SOURCE_ARN) == Some(source.as_str())) {
            errors.push(format!("{}: not selected, yet in the vault", name(source)));
        }
    }

    say(out, &format!("\n== DynamoDB exports (auditor account {AUDITOR}, bucket {AUDITOR_BUCKET})"))?;
    let table_rows: Vec<[String; 4]> = tables
        .iter()
        .map(|t| {
            let completed = &t["last_completed"];
            let items = completed["item_count"].as_i64().map_or("-".to_owned(), |n| n.to_string());
            let detail = if completed.is_null() {
                t["reason"].as_str().unwrap_or_default().to_owned()
            } else {
                format!("as of {}", completed["covers_until"].as_str().unwrap_or("?"))
            };
            [
                t["table"].as_str().unwrap_or("?").to_owned(),
                t["result"].as_str().unwrap_or("?").to_owned(),
                items,
                detail,
            ]
        })
        .collect();
    write!(out, "{}", render(["TABLE", "THIS RUN", "ITEMS EXPORTED", "DETAIL"], &table_rows))?;
    let exported = tables
        .iter()
        .filter(|t| demo.tables.iter().any(|n| t["table"] == n.as_str()) && !t["last_completed"].is_null())
        .count();
    let no_pitr_reported =
        tables.iter().any(|t| t["table"] == demo.table_without_pitr.as_str() && t["result"] == "no-pitr");
    if !no_pitr_reported {
        errors.push(format!("{}: the table without point-in-time recovery was not reported", demo.table_without_pitr));
    }
    for export in &demo.exports {
        say(
            out,
            &format!(
                "  s3://{AUDITOR_BUCKET}/{}/… ({} items)",
                export["prefix"].as_str().unwrap_or("?"),
                export["items"]
            ),
        )?;
    }

    say(out, "\n== Athena: the auditor runs this in account 333333333333")?;
    let ddb = aws_sdk_dynamodb::Client::new(&demo.pair.workload);
    let (keys, attributes) = table_shape(&ddb, "customers", 100).await.map_err(setup("customers' shape"))?;
    let layout = AthenaLayout {
        database: "offsite_dynamodb".into(),
        table: "customers".into(),
        bucket: AUDITOR_BUCKET.into(),
        prefix: "offsite".into(),
        accounts: vec![WORKLOAD.into()],
        regions: vec![REGION.into()],
        since: "2020-01-01".into(),
        keys,
        attributes,
    };
    write!(out, "{}", layout.create_table())?;
    let today: String = aws_smithy_types::DateTime::from(std::time::SystemTime::now())
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_default()
        .chars()
        .take(10)
        .collect();
    say(out, &layout.full_export_query(&today))?;

    say(out, "\n== RDS exports for auditors (vault → auditor's bucket, Parquet)")?;
    let export_rows: Vec<[String; 3]> = demo
        .rds_exports
        .iter()
        .map(|t| {
            [
                t["identifier"].as_str().unwrap_or("?").to_owned(),
                t["status"].as_str().unwrap_or("?").to_owned(),
                format!("s3://{AUDITOR_BUCKET}/{}/…", t["prefix"].as_str().unwrap_or("?")),
            ]
        })
        .collect();
    write!(out, "{}", render(["EXPORT", "STATUS", "WHERE"], &export_rows))?;
    let exported_databases: std::collections::BTreeSet<String> = demo
        .rds_exports
        .iter()
        .filter(|t| t["status"] == "COMPLETE")
        .filter_map(|t| {
            t["prefix"]
                .as_str()
                .and_then(|p| p.split("database=").nth(1))
                .map(|d| d.split('/').next().unwrap_or(d).to_owned())
        })
        .collect();
    let databases: std::collections::BTreeSet<String> =
        vault.iter().filter_map(|c| c.tag(tags::SOURCE_DATABASE).map(str::to_owned)).collect();
    say(out, "\n== Athena over the RDS exports: the auditor runs `offsite athena-ddl --rds`, then")?;
    say(
        out,
        "SELECT id, customer, CAST(total AS decimal(10,2)) FROM offsite_rds.shop_public_orders WHERE source_database = 'orders';",
    )?;
    let mut seen_rows = 0;
    for row in demo.rds_rows["tables"]["offsite_rds.shop_public_orders"]["rows"].as_array().into_iter().flatten() {
        seen_rows += 1;
        say(
            out,
            &format!(
                "  {} | {} | {}   (export_date {})",
                row["id"],
                row["customer"].as_str().unwrap_or("?"),
                row["total"].as_str().unwrap_or("?"),
                row["export_date"].as_str().unwrap_or("?")
            ),
        )?;
    }
    if seen_rows == 0 {
        errors.push("the auditor's Athena query returned no row of shop.public.orders".to_owned());
    }

    if !errors.is_empty() {
        say(out, "\n== Errors")?;
        for e in &errors {
            say(out, &format!("  {e}"))?;
        }
    }
    say(out, "")?;
    Ok(Summary {
        selected: demo.selected.len(),
        in_vault,
        tables: demo.tables.len(),
        tables_exported: exported,
        databases: databases.len(),
        databases_exported: exported_databases.len(),
        restore_tests: demo.restore_tests.len(),
        restore_tests_passed: demo.restore_tests.iter().filter(|t| t["result"]["passed"] == true).count(),
        errors,
    })
}
