//! One run of the export job: list the tables, check each one (selection, PITR, its recent
//! exports), then start the due exports with bounded concurrency under the account's
//! in-flight limit, oldest data first.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_dynamodb::types::{
    ExportDescription, ExportFormat, ExportStatus, ExportType, ExportViewType, IncrementalExportSpecification,
    PointInTimeRecoveryStatus, S3SseAlgorithm,
};
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use offsite_common::metrics::Metrics;
use serde::Serialize;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::plan::{
    Decision, ExportKind, ExportState, PastExport, PitrWindow, Window, client_token, decide, last_completed, prefix,
    slot_start, this_slots_export, unresolved_failures, worth_describing,
};
use crate::settings::{DynamoSettings, Encryption, MAX_IN_FLIGHT, TableSelection};

/// How many unresolved failures of one table are described (and reported) per run.
const MAX_FAILURES_DESCRIBED: usize = 3;

/// What happened to one table, as the report and the metrics name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TableResult {
    /// This slot's export was started.
    Started,
    /// This slot's export exists (a rerun): nothing new started.
    AlreadyStarted,
    /// Point-in-time recovery is off: the table cannot be exported (an operator must act).
    NoPitr,
    /// Not in this run (the in-flight limit, PITR not far enough yet): the next run does it.
    Deferred,
    /// The table check or the export start failed; see the reason.
    Failed,
}

impl TableResult {
    pub const ALL: [Self; 5] = [Self::Started, Self::AlreadyStarted, Self::NoPitr, Self::Deferred, Self::Failed];

    /// The name in reports and logs (the serialised form).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Started => "started",
            Self::AlreadyStarted => "already-started",
            Self::NoPitr => "no-pitr",
            Self::Deferred => "deferred",
            Self::Failed => "failed",
        }
    }

    /// The metric that counts it.
    pub fn metric(self) -> &'static str {
        match self {
            Self::Started => "ExportsStarted",
            Self::AlreadyStarted => "ExportsAlreadyStarted",
            Self::NoPitr => "TablesWithoutPitr",
            Self::Deferred => "ExportsDeferred",
            Self::Failed => "ExportStartFailures",
        }
    }
}

/// What happened to one table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TableOutcome {
    pub table: String,
    pub result: TableResult,
    pub kind: Option<ExportKind>,
    pub export_arn: Option<String>,
    pub s3_prefix: Option<String>,
    pub reason: String,
    /// The table's newest completed export (its data is in the auditor's bucket).
    pub last_completed: Option<CompletedExport>,
}

/// A completed export, for the tracking and the metrics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompletedExport {
    pub export_arn: String,
    pub kind: ExportKind,
    /// The moment its data reaches (RFC 3339).
    pub covers_until: String,
    /// Seconds between that moment and this run: the auditor's recovery point age.
    pub age_secs: i64,
    pub item_count: i64,
    pub billed_bytes: i64,
}

/// An export that failed and has not been followed by a completed one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailedExport {
    pub table: String,
    pub export_arn: String,
    pub failure_code: String,
    pub failure_message: String,
}

/// The result of a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    pub tables_listed: usize,
    pub tables: Vec<TableOutcome>,
    /// Exports of the selected tables running when the run began.
    pub in_flight_before: u32,
    pub failed: Vec<FailedExport>,
}

impl Report {
    pub fn count(&self, result: TableResult) -> usize {
        self.tables.iter().filter(|t| t.result == result).count()
    }

    /// Selected tables with a completed export.
    pub fn completed(&self) -> impl Iterator<Item = &CompletedExport> {
        self.tables.iter().filter_map(|t| t.last_completed.as_ref())
    }

    fn metrics(&self) -> Metrics {
        let mut m = Metrics::new("Function", "dynamodb-export");
        for result in TableResult::ALL {
            m.add(result.metric(), self.count(result) as f64);
        }
        m.add("ExportsFailed", self.failed.len() as f64);
        m.add("TablesWithCompletedExport", self.completed().count() as f64);
        // Selected tables with PITR but no completed export yet: the age metric cannot see
        // them, this one can (alarm when it stays above 0 past the first period).
        let never =
            self.tables.iter().filter(|t| t.result != TableResult::NoPitr && t.last_completed.is_none()).count();
        m.add("TablesWithoutCompletedExport", never as f64);
        m.add("ExportedItems", self.completed().map(|c| c.item_count as f64).sum());
        m.add("ExportedBytes", self.completed().map(|c| c.billed_bytes as f64).sum());
        // The alarm on the auditor's recovery point: the stalest table's last export.
        m.add("OldestExportAgeSeconds", self.completed().map(|c| c.age_secs).max().unwrap_or_default() as f64);
        m
    }
}

/// Failures that stop a run as a whole.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{operation}: {message}")]
    Aws { operation: &'static str, message: String },
}

/// A table checked and ready for its export.
struct Due {
    outcome: TableOutcome,
    table_arn: String,
    window: Window,
    token: String,
    /// The moment the table's data in the bucket reaches (`None`: never exported): the
    /// stalest tables go first when the in-flight limit leaves no room for all.
    covered_until: Option<f64>,
}

/// What the check of one table found.
enum Checked {
    NotSelected,
    Done(TableOutcome, Vec<FailedExport>, u32),
    Due(Box<Due>, Vec<FailedExport>, u32),
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
            let page =
                self.ddb.list_tables().limit(100).set_exclusive_start_table_name(start.take()).send().await.map_err(
                    |e| RunError::Aws { operation: "ListTables", message: DisplayErrorContext(e).to_string() },
                )?;
            names.extend(page.table_names().iter().cloned());
            match page.last_evaluated_table_name {
                Some(last) => start = Some(last),
                None => return Ok(names),
            }
        }
    }

    /// Runs once for the slot `now` falls in: checks every selected table, then starts
    /// the due exports.
    pub async fn run(&self, now: DateTime) -> Result<Report, RunError> {
        let names = self.table_names().await?;
        let mut report = Report { tables_listed: names.len(), ..Report::default() };
        let wanted: Option<BTreeSet<&str>> = match &self.settings.tables {
            TableSelection::Named(names) => Some(names.iter().map(String::as_str).collect()),
            TableSelection::Tagged { .. } => None,
        };
        if let Some(wanted) = &wanted {
            for missing in wanted.iter().filter(|w| !names.iter().any(|n| n == *w)) {
                report.tables.push(outcome(missing, TableResult::Failed, "named in OFFSITE_TABLES but does not exist"));
            }
        }
        let slot = slot_start(now.secs(), i64::try_from(self.settings.period.as_secs()).unwrap_or(86_400));
        let parallel = Arc::new(Semaphore::new(self.settings.concurrency));
        let mut checks = JoinSet::new();
        for name in names.into_iter().filter(|n| wanted.as_ref().is_none_or(|w| w.contains(n.as_str()))) {
            let (job, parallel) = (self.clone(), parallel.clone());
            checks.spawn(async move {
                let _permit = parallel.acquire_owned().await;
                job.check(&name, slot, now).await
            });
        }
        let mut due = Vec::new();
        while let Some(done) = checks.join_next().await {
            match done {
                Ok(Checked::NotSelected) => {}
                Ok(Checked::Done(outcome, failures, in_flight)) => {
                    report.tables.push(outcome);
                    report.failed.extend(failures);
                    report.in_flight_before += in_flight;
                }
                Ok(Checked::Due(ready, failures, in_flight)) => {
                    due.push(*ready);
                    report.failed.extend(failures);
                    report.in_flight_before += in_flight;
                }
                Err(e) => report.tables.push(outcome("?", TableResult::Failed, &format!("table check failed: {e}"))),
            }
        }
        report.tables.extend(self.start_all(due, report.in_flight_before).await);
        report.tables.sort_by(|a, b| a.table.cmp(&b.table));
        report.failed.sort_by(|a, b| (&a.table, &a.export_arn).cmp(&(&b.table, &b.export_arn)));
        log(&report);
        report.metrics().flush();
        Ok(report)
    }

    /// Starts the due exports, stalest first, as many as the in-flight limit and the run's
    /// maximum allow; the others are deferred to the next run (same slot, same moment).
    async fn start_all(&self, mut due: Vec<Due>, in_flight: u32) -> Vec<TableOutcome> {
        due.sort_by(|a, b| {
            let key = |d: &Due| d.covered_until.unwrap_or(f64::NEG_INFINITY);
            key(a).total_cmp(&key(b)).then_with(|| a.outcome.table.cmp(&b.outcome.table))
        });
        let room = self.settings.max_per_run.min(MAX_IN_FLIGHT.saturating_sub(in_flight));
        let room = usize::try_from(room).unwrap_or(usize::MAX);
        let mut outcomes = Vec::new();
        let parallel = Arc::new(Semaphore::new(self.settings.concurrency));
        // Exports of tables this job does not select count against the same limit: the
        // first LimitExceededException stops the starts of this run.
        let limit_hit = Arc::new(AtomicBool::new(false));
        let mut starts = JoinSet::new();
        for (index, ready) in due.into_iter().enumerate() {
            if index >= room {
                outcomes.push(TableOutcome {
                    result: TableResult::Deferred,
                    reason: format!(
                        "{in_flight} exports in flight before this run and at most {} per run: next run",
                        self.settings.max_per_run
                    ),
                    ..ready.outcome
                });
                continue;
            }
            let (job, parallel, limit_hit) = (self.clone(), parallel.clone(), limit_hit.clone());
            starts.spawn(async move {
                let _permit = parallel.acquire_owned().await;
                if limit_hit.load(Ordering::SeqCst) {
                    return TableOutcome {
                        result: TableResult::Deferred,
                        reason: "LimitExceededException earlier in this run: next run".to_owned(),
                        ..ready.outcome
                    };
                }
                job.start(ready, &limit_hit).await
            });
        }
        while let Some(done) = starts.join_next().await {
            match done {
                Ok(outcome) => outcomes.push(outcome),
                Err(e) => outcomes.push(outcome("?", TableResult::Failed, &format!("export start failed: {e}"))),
            }
        }
        outcomes
    }

    /// Selection, PITR, the table's recent exports, and the decision for this slot.
    async fn check(&self, name: &str, slot: i64, now: DateTime) -> Checked {
        let region = &self.settings.region;
        let arn = format!("arn:{}:dynamodb:{region}:{}:table/{name}", partition(region), self.account);
        if let TableSelection::Tagged { key, value } = &self.settings.tables {
            match self.ddb.list_tags_of_resource().resource_arn(&arn).send().await {
                Ok(tags) if tags.tags().iter().any(|t| t.key() == key && t.value() == value) => {}
                Ok(_) => return Checked::NotSelected,
                Err(e) => return failed_check(name, "ListTagsOfResource", &e),
            }
        }
        let history = match self.history(&arn).await {
            Ok(history) => history,
            Err(e) => return Checked::Done(outcome(name, TableResult::Failed, &e.to_string()), Vec::new(), 0),
        };
        let in_flight =
            u32::try_from(history.iter().filter(|e| e.state == ExportState::InProgress).count()).unwrap_or(u32::MAX);
        let failures: Vec<FailedExport> = unresolved_failures(&history)
            .filter(|f| f.failure_code.is_some() || f.failure_message.is_some())
            .map(|f| FailedExport {
                table: name.to_owned(),
                export_arn: f.arn.clone(),
                failure_code: f.failure_code.clone().unwrap_or_default(),
                failure_message: f.failure_message.clone().unwrap_or_default(),
            })
            .collect();
        let completed = last_completed(&history).and_then(|c| completed_export(c, now));
        let base = TableOutcome { last_completed: completed, ..outcome(name, TableResult::Failed, "") };
        let prefix_of = |kind| prefix(&self.settings.prefix, &self.account, &self.settings.region, name, kind, slot);
        let token_of = |kind| client_token(&arn, slot, &self.settings.bucket, &prefix_of(kind));
        let tokens = [token_of(ExportKind::Full), token_of(ExportKind::Incremental)];
        // The slot's export exists: nothing else to ask (reruns in a slot stay cheap).
        if let Some(ours) = this_slots_export(&history, &tokens) {
            let reason = "this slot's export exists: nothing new started".to_owned();
            let done = TableOutcome {
                result: TableResult::AlreadyStarted,
                export_arn: Some(ours.arn.clone()),
                reason,
                ..base
            };
            return Checked::Done(done, failures, in_flight);
        }
        let backups = match self.ddb.describe_continuous_backups().table_name(name).send().await {
            Ok(b) => b,
            Err(e) => return failed_check(name, "DescribeContinuousBackups", &e),
        };
        let pitr = backups.continuous_backups_description().and_then(|d| d.point_in_time_recovery_description());
        if pitr.and_then(|p| p.point_in_time_recovery_status()) != Some(&PointInTimeRecoveryStatus::Enabled) {
            let reason = "point-in-time recovery is off: enable it to export this table";
            return Checked::Done(
                TableOutcome { result: TableResult::NoPitr, reason: reason.to_owned(), ..base },
                failures,
                in_flight,
            );
        }
        let window = PitrWindow {
            earliest: pitr.and_then(|p| p.earliest_restorable_date_time()).map(DateTime::as_secs_f64),
            latest: pitr.and_then(|p| p.latest_restorable_date_time()).map(DateTime::as_secs_f64),
        };
        match decide(&history, slot, &tokens, window, &self.settings.mode) {
            Decision::AlreadyStarted { arn } => {
                let reason = "this slot's export exists: nothing new started".to_owned();
                let done = TableOutcome { result: TableResult::AlreadyStarted, export_arn: Some(arn), reason, ..base };
                Checked::Done(done, failures, in_flight)
            }
            Decision::Wait(reason) => {
                Checked::Done(TableOutcome { result: TableResult::Deferred, reason, ..base }, failures, in_flight)
            }
            Decision::Start { window, why } => {
                let kind = window.kind();
                let covered_until = last_completed(&history).and_then(|c| c.covers_until);
                let outcome =
                    TableOutcome { kind: Some(kind), s3_prefix: Some(prefix_of(kind)), reason: why.to_owned(), ..base };
                let token = token_of(kind);
                let due = Due { outcome, table_arn: arn, window, token, covered_until };
                Checked::Due(Box::new(due), failures, in_flight)
            }
        }
    }

    /// The table's recent exports, newest first: the first `ListExports` page (AWS lists
    /// them "in reverse alphanumeric order of ExportArn", API_ListExports, and an export id
    /// starts with its start time), with the few that matter described.
    async fn history(&self, table_arn: &str) -> Result<Vec<PastExport>, RunError> {
        let page = self
            .ddb
            .list_exports()
            .table_arn(table_arn)
            .max_results(25)
            .send()
            .await
            .map_err(|e| RunError::Aws { operation: "ListExports", message: DisplayErrorContext(e).to_string() })?;
        let mut history: Vec<PastExport> = page
            .export_summaries()
            .iter()
            .filter_map(|s| {
                let state = state_of(s.export_status()?)?;
                let kind = ExportKind::from_export_type(s.export_type().map_or("", ExportType::as_str));
                Some(PastExport::listed(s.export_arn()?, state, kind))
            })
            .collect();
        for index in worth_describing(&history, MAX_FAILURES_DESCRIBED) {
            let described = self.ddb.describe_export().export_arn(&history[index].arn).send().await.map_err(|e| {
                RunError::Aws { operation: "DescribeExport", message: DisplayErrorContext(e).to_string() }
            })?;
            if let Some(description) = described.export_description {
                history[index] = past_export(&description, &history[index]);
            }
        }
        Ok(history)
    }

    /// Starts one export.
    async fn start(&self, due: Due, limit_hit: &AtomicBool) -> TableOutcome {
        let settings = &self.settings;
        let prefix = due.outcome.s3_prefix.clone().unwrap_or_default();
        let mut request = self
            .ddb
            .export_table_to_point_in_time()
            .table_arn(&due.table_arn)
            .s3_bucket(&settings.bucket)
            .s3_bucket_owner(settings.bucket_owner.as_str())
            .s3_prefix(&prefix)
            .export_format(ExportFormat::from(settings.format.as_str()))
            .client_token(&due.token);
        request = match due.window {
            Window::At(at) => request.export_type(ExportType::FullExport).export_time(DateTime::from_secs_f64(at)),
            Window::Between { from, to } => {
                request.export_type(ExportType::IncrementalExport).incremental_export_specification(
                    IncrementalExportSpecification::builder()
                        .export_from_time(DateTime::from_secs_f64(from))
                        .export_to_time(DateTime::from_secs_f64(to))
                        .export_view_type(ExportViewType::from(settings.view_type.as_str()))
                        .build(),
                )
            }
        };
        request = match &settings.encryption {
            Encryption::Kms(key) => request.s3_sse_algorithm(S3SseAlgorithm::Kms).s3_sse_kms_key_id(key.as_str()),
            Encryption::Aes256 => request.s3_sse_algorithm(S3SseAlgorithm::Aes256),
        };
        let base = due.outcome;
        match request.send().await {
            Ok(out) => {
                let description = out.export_description.unwrap_or_else(|| ExportDescription::builder().build());
                let export_arn = description.export_arn.clone();
                // The same token gives back the export a previous run started.
                let (result, reason) = match description.export_status() {
                    Some(ExportStatus::Failed) => (
                        TableResult::Failed,
                        format!(
                            "this slot's export failed: {}: {} (the next slot tries again)",
                            description.failure_code().unwrap_or("no code"),
                            description.failure_message().unwrap_or("no message")
                        ),
                    ),
                    _ => (TableResult::Started, format!("export started: {}", base.reason)),
                };
                TableOutcome { result, export_arn, reason, ..base }
            }
            Err(e) => {
                let reason = match e.code() {
                    Some("ExportConflictException") => format!(
                        "ExportConflictException: this slot's export was started with other settings (or S3 refused a write): {}",
                        e.message().unwrap_or_default()
                    ),
                    Some("LimitExceededException") => {
                        limit_hit.store(true, Ordering::SeqCst);
                        return TableOutcome {
                            result: TableResult::Deferred,
                            reason: "LimitExceededException: too many exports in flight; next run".to_owned(),
                            ..base
                        };
                    }
                    _ => DisplayErrorContext(&e).to_string(),
                };
                TableOutcome { result: TableResult::Failed, reason, ..base }
            }
        }
    }
}

/// The ARN partition of a region: China and GovCloud regions have their own.
fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

fn state_of(status: &ExportStatus) -> Option<ExportState> {
    match status {
        ExportStatus::InProgress => Some(ExportState::InProgress),
        ExportStatus::Completed => Some(ExportState::Completed),
        ExportStatus::Failed => Some(ExportState::Failed),
        _ => None,
    }
}

/// A described export, in the planner's terms.
fn past_export(d: &ExportDescription, listed: &PastExport) -> PastExport {
    let kind = d.export_type().map_or(listed.kind, |t| ExportKind::from_export_type(t.as_str()));
    let covers_until = match kind {
        ExportKind::Full => d.export_time(),
        ExportKind::Incremental => d.incremental_export_specification().and_then(|s| s.export_to_time()),
    };
    PastExport {
        arn: listed.arn.clone(),
        state: d.export_status().and_then(state_of).unwrap_or(listed.state),
        kind,
        client_token: d.client_token.clone(),
        covers_until: covers_until.map(DateTime::as_secs_f64),
        end_time: d.end_time().map(DateTime::as_secs_f64),
        item_count: d.item_count,
        billed_bytes: d.billed_size_bytes,
        failure_code: d.failure_code.clone(),
        failure_message: d.failure_message.clone(),
    }
}

fn completed_export(export: &PastExport, now: DateTime) -> Option<CompletedExport> {
    let covers_until = export.covers_until?;
    #[allow(clippy::cast_possible_truncation)]
    let age_secs = (now.as_secs_f64() - covers_until).max(0.0) as i64;
    Some(CompletedExport {
        export_arn: export.arn.clone(),
        kind: export.kind,
        covers_until: DateTime::from_secs_f64(covers_until).fmt(Format::DateTime).unwrap_or_default(),
        age_secs,
        item_count: export.item_count.unwrap_or_default(),
        billed_bytes: export.billed_bytes.unwrap_or_default(),
    })
}

fn outcome(table: &str, result: TableResult, reason: &str) -> TableOutcome {
    TableOutcome {
        table: table.to_owned(),
        result,
        kind: None,
        export_arn: None,
        s3_prefix: None,
        reason: reason.to_owned(),
        last_completed: None,
    }
}

fn failed_check<E: std::error::Error + 'static, R: std::fmt::Debug>(
    name: &str,
    operation: &str,
    e: &aws_sdk_dynamodb::error::SdkError<E, R>,
) -> Checked {
    Checked::Done(
        outcome(name, TableResult::Failed, &format!("{operation}: {}", DisplayErrorContext(e))),
        Vec::new(),
        0,
    )
}

/// One log line per table, and one per unresolved failure.
fn log(report: &Report) {
    for t in &report.tables {
        match t.result {
            TableResult::NoPitr | TableResult::Failed => {
                tracing::warn!(table = %t.table, result = t.result.as_str(), reason = %t.reason, "table not exported");
            }
            _ => tracing::info!(
                table = %t.table, result = t.result.as_str(), kind = ?t.kind, export_arn = ?t.export_arn, prefix = ?t.s3_prefix,
                reason = %t.reason, last_completed = ?t.last_completed, "table export"
            ),
        }
    }
    for failure in &report.failed {
        tracing::warn!(
            table = %failure.table, export_arn = %failure.export_arn, code = %failure.failure_code,
            message = %failure.failure_message, "export failed and no later export of the table completed"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::partition;

    #[test]
    fn results_serialise_as_the_report_names_them() {
        for result in super::TableResult::ALL {
            assert_eq!(serde_json::to_string(&result).expect("json"), format!("\"{}\"", result.as_str()));
        }
    }

    #[test]
    fn table_arns_use_the_regions_partition() {
        assert_eq!(partition("eu-west-1"), "aws");
        assert_eq!(partition("cn-north-1"), "aws-cn");
        assert_eq!(partition("us-gov-west-1"), "aws-us-gov");
    }
}
