//! One run of the export job: list tables, check each, start the due exports with bounded
//! concurrency, and track the recent ones.

use std::collections::BTreeSet;
use std::sync::Arc;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_dynamodb::types::{ExportFormat, ExportStatus, PointInTimeRecoveryStatus, S3SseAlgorithm};
use aws_smithy_types::DateTime;
use offsite_common::metrics::Metrics;
use serde::Serialize;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::plan::{client_token, export_time, prefix, slot_start};
use crate::settings::{DynamoSettings, Encryption, MAX_IN_FLIGHT, TableSelection};

/// What happened to one table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableOutcome {
    pub table: String,
    /// `started`, `already-started`, `no-pitr`, `deferred`, `failed`.
    pub result: &'static str,
    pub export_arn: Option<String>,
    pub s3_prefix: Option<String>,
    pub reason: String,
}

/// A recent export that failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailedExport {
    pub export_arn: String,
    pub failure_code: String,
    pub failure_message: String,
}

/// The result of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub tables_listed: usize,
    pub tables: Vec<TableOutcome>,
    pub in_flight_before: u32,
    pub completed: u32,
    pub failed: Vec<FailedExport>,
}

impl Report {
    pub fn count(&self, result: &str) -> usize {
        self.tables.iter().filter(|t| t.result == result).count()
    }

    fn metrics(&self) -> Metrics {
        let mut m = Metrics::new("Function", "dynamodb-export");
        for (name, result) in [
            ("ExportsStarted", "started"),
            ("ExportsAlreadyStarted", "already-started"),
            ("TablesWithoutPitr", "no-pitr"),
            ("ExportsDeferred", "deferred"),
            ("ExportStartFailures", "failed"),
        ] {
            m.add(name, self.count(result) as f64);
        }
        m.add("ExportsCompleted", f64::from(self.completed));
        m.add("ExportsFailed", self.failed.len() as f64);
        m
    }
}

/// Failures that stop a run as a whole.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{operation}: {message}")]
    Aws { operation: &'static str, message: String },
}

fn aws<E: std::error::Error + 'static, R: std::fmt::Debug>(
    operation: &'static str,
) -> impl Fn(aws_sdk_dynamodb::error::SdkError<E, R>) -> RunError {
    move |e| RunError::Aws { operation, message: DisplayErrorContext(e).to_string() }
}

/// The export job.
#[derive(Debug, Clone)]
pub struct DynamoExporter {
    ddb: Client,
    settings: Arc<DynamoSettings>,
    account: String,
}

impl DynamoExporter {
    /// `account` is the workload account (from STS at start).
    pub fn new(ddb: Client, settings: DynamoSettings, account: String) -> Self {
        Self { ddb, settings: Arc::new(settings), account }
    }

    /// Every table name, 100 per `ListTables` call.
    async fn table_names(&self) -> Result<Vec<String>, RunError> {
        let mut names = Vec::new();
        let mut start: Option<String> = None;
        loop {
            let page = self
                .ddb
                .list_tables()
                .limit(100)
                .set_exclusive_start_table_name(start.take())
                .send()
                .await
                .map_err(aws("ListTables"))?;
            names.extend(page.table_names().iter().cloned());
            match page.last_evaluated_table_name {
                Some(last) => start = Some(last),
                None => return Ok(names),
            }
        }
    }

    /// Exports in progress in the account (they count against the 300 limit), and the
    /// recent ones' outcome: completed count and the failed ones with their reason.
    async fn exports(&self) -> Result<(u32, u32, Vec<String>), RunError> {
        let (mut in_flight, mut completed, mut failed) = (0u32, 0u32, Vec::new());
        let mut next: Option<String> = None;
        loop {
            let page = self
                .ddb
                .list_exports()
                .max_results(25)
                .set_next_token(next.take())
                .send()
                .await
                .map_err(aws("ListExports"))?;
            for summary in page.export_summaries() {
                match summary.export_status() {
                    Some(ExportStatus::InProgress) => in_flight += 1,
                    Some(ExportStatus::Completed) => completed += 1,
                    Some(ExportStatus::Failed) => failed.extend(summary.export_arn().map(str::to_owned)),
                    _ => {}
                }
            }
            match page.next_token {
                Some(token) => next = Some(token),
                None => return Ok((in_flight, completed, failed)),
            }
        }
    }

    /// Runs once for the slot `now` falls in.
    pub async fn run(&self, now: DateTime) -> Result<Report, RunError> {
        // Exports that started before this run began were started by an earlier run.
        let run_started = DateTime::from(std::time::SystemTime::now());
        let names = self.table_names().await?;
        let (in_flight, completed, failed_arns) = self.exports().await?;
        let mut report =
            Report { tables_listed: names.len(), in_flight_before: in_flight, completed, ..Report::default() };
        for arn in failed_arns {
            let description =
                self.ddb.describe_export().export_arn(&arn).send().await.map_err(aws("DescribeExport"))?;
            let d = description.export_description;
            report.failed.push(FailedExport {
                export_arn: arn,
                failure_code: d.as_ref().and_then(|d| d.failure_code.clone()).unwrap_or_default(),
                failure_message: d.and_then(|d| d.failure_message).unwrap_or_default(),
            });
        }
        for failure in &report.failed {
            tracing::warn!(export_arn = %failure.export_arn, code = %failure.failure_code, message = %failure.failure_message, "export failed");
        }
        let wanted: Option<BTreeSet<&str>> = match &self.settings.tables {
            TableSelection::Named(names) => Some(names.iter().map(String::as_str).collect()),
            TableSelection::Tagged { .. } => None,
        };
        if let Some(wanted) = &wanted {
            for missing in wanted.iter().filter(|w| !names.iter().any(|n| n == *w)) {
                report.tables.push(outcome(
                    missing,
                    "failed",
                    None,
                    None,
                    "named in OFFSITE_TABLES but does not exist".to_owned(),
                ));
            }
        }
        let budget = Arc::new(Semaphore::new(
            usize::try_from(self.settings.max_per_run.min(MAX_IN_FLIGHT.saturating_sub(in_flight))).unwrap_or(0),
        ));
        let parallel = Arc::new(Semaphore::new(self.settings.concurrency));
        let slot = slot_start(now.secs(), i64::try_from(self.settings.period.as_secs()).unwrap_or(86_400));
        let mut tasks = JoinSet::new();
        for name in names.into_iter().filter(|n| wanted.as_ref().is_none_or(|w| w.contains(n.as_str()))) {
            let (job, budget, parallel) = (self.clone(), budget.clone(), parallel.clone());
            tasks.spawn(async move {
                let _permit = parallel.acquire_owned().await;
                job.table(&name, slot, run_started, &budget).await
            });
        }
        while let Some(done) = tasks.join_next().await {
            match done {
                Ok(Some(outcome)) => report.tables.push(outcome),
                Ok(None) => {}
                Err(e) => report.tables.push(outcome("?", "failed", None, None, format!("task failed: {e}"))),
            }
        }
        report.tables.sort_by(|a, b| a.table.cmp(&b.table));
        for t in &report.tables {
            match t.result {
                "no-pitr" | "failed" => {
                    tracing::warn!(table = %t.table, result = t.result, reason = %t.reason, "table not exported")
                }
                _ => {
                    tracing::info!(table = %t.table, result = t.result, export_arn = ?t.export_arn, prefix = ?t.s3_prefix, "table export")
                }
            }
        }
        report.metrics().flush();
        Ok(report)
    }

    /// One table: selected? PITR on? then the export (or `None` when not selected).
    async fn table(&self, name: &str, slot: i64, run_started: DateTime, budget: &Semaphore) -> Option<TableOutcome> {
        let arn = format!("arn:aws:dynamodb:{}:{}:table/{name}", self.settings.region, self.account);
        if let TableSelection::Tagged { key, value } = &self.settings.tables {
            match self.ddb.list_tags_of_resource().resource_arn(&arn).send().await {
                Ok(tags) if tags.tags().iter().any(|t| t.key() == key && t.value() == value) => {}
                Ok(_) => return None,
                Err(e) => {
                    return Some(outcome(
                        name,
                        "failed",
                        None,
                        None,
                        format!("ListTagsOfResource: {}", DisplayErrorContext(e)),
                    ));
                }
            }
        }
        let backups = match self.ddb.describe_continuous_backups().table_name(name).send().await {
            Ok(b) => b,
            Err(e) => {
                return Some(outcome(
                    name,
                    "failed",
                    None,
                    None,
                    format!("DescribeContinuousBackups: {}", DisplayErrorContext(e)),
                ));
            }
        };
        let pitr = backups.continuous_backups_description().and_then(|d| d.point_in_time_recovery_description());
        if pitr.and_then(|p| p.point_in_time_recovery_status()) != Some(&PointInTimeRecoveryStatus::Enabled) {
            return Some(outcome(
                name,
                "no-pitr",
                None,
                None,
                "point-in-time recovery is off: enable it to export this table".to_owned(),
            ));
        }
        let earliest = pitr.and_then(|p| p.earliest_restorable_date_time()).map(DateTime::as_secs_f64);
        let latest = pitr.and_then(|p| p.latest_restorable_date_time()).map(DateTime::as_secs_f64);
        let s3_prefix = prefix(&self.settings.prefix, &self.account, &self.settings.region, name, slot);
        let Some(when) = export_time(slot, earliest, latest) else {
            return Some(outcome(
                name,
                "deferred",
                None,
                Some(s3_prefix),
                "point-in-time recovery was enabled moments ago; next run".to_owned(),
            ));
        };
        let Ok(permit) = budget.try_acquire() else {
            return Some(outcome(
                name,
                "deferred",
                None,
                Some(s3_prefix),
                "export limit reached (300 in flight, or this run's maximum)".to_owned(),
            ));
        };
        permit.forget();
        let token = client_token(&arn, slot, &self.settings.bucket, &s3_prefix);
        let mut request = self
            .ddb
            .export_table_to_point_in_time()
            .table_arn(&arn)
            .export_time(DateTime::from_secs_f64(when))
            .s3_bucket(&self.settings.bucket)
            .s3_bucket_owner(self.settings.bucket_owner.as_str())
            .s3_prefix(&s3_prefix)
            .export_format(ExportFormat::from(self.settings.format.as_str()))
            .client_token(token);
        request = match &self.settings.encryption {
            Encryption::Kms(key) => request.s3_sse_algorithm(S3SseAlgorithm::Kms).s3_sse_kms_key_id(key.as_str()),
            Encryption::Aes256 => request.s3_sse_algorithm(S3SseAlgorithm::Aes256),
        };
        match request.send().await {
            Ok(out) => {
                let description = out.export_description;
                let export_arn = description.as_ref().and_then(|d| d.export_arn.clone());
                // The same token gives back the export a previous run started.
                let started_earlier =
                    description.and_then(|d| d.start_time).is_some_and(|t| t.as_secs_f64() < run_started.as_secs_f64());
                let (result, reason) = if started_earlier {
                    ("already-started", "this slot's export exists: nothing new started")
                } else {
                    ("started", "export started")
                };
                Some(outcome(name, result, export_arn, Some(s3_prefix), reason.to_owned()))
            }
            Err(e) => {
                let reason = match e.code() {
                    Some("ExportConflictException") => format!(
                        "ExportConflictException: this slot's export was started with other settings (or S3 refused a write): {}",
                        e.message().unwrap_or_default()
                    ),
                    Some("LimitExceededException") => {
                        "LimitExceededException: too many exports in flight; next run".to_owned()
                    }
                    _ => DisplayErrorContext(&e).to_string(),
                };
                Some(outcome(name, "failed", None, Some(s3_prefix), reason))
            }
        }
    }
}

fn outcome(
    table: &str,
    result: &'static str,
    export_arn: Option<String>,
    s3_prefix: Option<String>,
    reason: String,
) -> TableOutcome {
    TableOutcome { table: table.to_owned(), result, export_arn, s3_prefix, reason }
}
