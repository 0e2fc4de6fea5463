//! One run of the RDS export function: list the vault's imports and the account's export
//! tasks, decide ([`crate::plan`]), start what is due, report.
//!
//! Calls (RDS API reference): DescribeDBSnapshots / DescribeDBClusterSnapshots (manual, paged,
//! tags included), DescribeExportTasks twice (the tasks into our bucket, filter `s3-bucket`,
//! for the history; every running task of the account, filter `status`, for the slots), and
//! one StartExportTask per export started; then, per database whose newest export completed,
//! that export's `export_tables_info` files from the auditor's bucket (ListObjectsV2 and
//! GetObject, a few at once), so tables RDS did not export are named. A rerun that meets `ExportTaskAlreadyExists`
//! describes that task: the same source is success, another source a collision (someone
//! else made a task under our name), reported as a security finding and never overwritten.

use aws_sdk_rds::Client;
use aws_sdk_rds::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_rds::types::Filter;
use aws_smithy_types::DateTime;
use offsite_common::metrics::Metrics;
use offsite_common::rds::{RdsError, RdsSnapshots};
use offsite_common::snapshot::SnapshotKind;
use offsite_common::tags;
use serde::Serialize;

use crate::plan::{self, DatabaseState, ExportTask, Outcome, PeriodVerdict, Start, TaskStatus};
use crate::settings::RdsExportSettings;
use crate::tables_info;

/// DescribeExportTasks' largest page (API reference: `MaxRecords`, 20 to 100).
const PAGE_SIZE: i32 = 100;

/// The newest exports whose `export_tables_info` are read at once.
const TABLES_INFO_READS: usize = 8;

/// The states that hold one of the account's export slots, as the `status` filter spells
/// them (DescribeExportTasks, Filters: lowercase).
const RUNNING_STATUSES: [&str; 3] = ["starting", "in_progress", "canceling"];

/// Failures that stop a run as a whole (nothing can be decided without the listings).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("listing the vault's copies: {0}")]
    Copies(#[from] RdsError),
    #[error("DescribeExportTasks ({what}): {message}")]
    Tasks { what: &'static str, message: String },
}

/// What became of one export the plan started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StartResult {
    /// RDS accepted the task.
    Started,
    /// A task of that name exporting that copy exists (a rerun, or a concurrent run).
    AlreadyStarted,
    /// A task of that name exports something else: never ours, reported as a finding.
    Collision,
    /// RDS refused the task; the reason says why and what to fix.
    Refused,
    /// RDS answered `ExportTaskAlreadyExists` and no task has that name: the account's limit
    /// of exports in progress, or an export of this snapshot in progress (RDS documents no
    /// code of their own for either; the operation's errors say "You can't start an export
    /// task that's already running"). Not a failure: the next run starts it.
    AtLimit,
    /// Not tried: an earlier start in this run hit a limit or a refusal every start would meet.
    NotTried,
}

/// One start, as the report shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StartReport {
    #[serde(flatten)]
    pub start: Start,
    pub result: StartResult,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The run's result: returned by the function and logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Per database and period: the decision.
    pub periods: Vec<PeriodVerdict>,
    /// What was started and how RDS answered.
    pub starts: Vec<StartReport>,
    /// Per database: the newest completed export, what runs, failures since, warnings.
    pub databases: Vec<DatabaseState>,
    /// Export tasks in progress in the account before the run.
    pub running_before: u32,
    /// Imports whose tags name no source database or time (cannot be placed in a period).
    pub unplaced: Vec<String>,
    /// Security findings (a task under our name exporting something else).
    pub security: Vec<String>,
    /// When the run decided (UNIX seconds).
    pub now: i64,
}

impl Report {
    pub fn count(&self, result: &StartResult) -> usize {
        self.starts.iter().filter(|s| s.result == *result).count()
    }

    /// The period a start was for now says what RDS answered.
    fn note_start(&mut self, start: &Start, result: &StartResult, reason: Option<&str>) {
        let outcome = match result {
            StartResult::Started => return,
            StartResult::AlreadyStarted => Outcome::Running { task: start.identifier.clone() },
            other => Outcome::NotStarted {
                task: start.identifier.clone(),
                reason: format!("{other:?}: {}", reason.unwrap_or_default()),
            },
        };
        let planned = |v: &&mut PeriodVerdict| {
            v.copy_arn == start.source_arn && matches!(&v.outcome, Outcome::Start { task } if *task == start.identifier)
        };
        if let Some(verdict) = self.periods.iter_mut().find(planned) {
            verdict.outcome = outcome;
        }
    }

    fn count_periods(&self, matches: fn(&Outcome) -> bool) -> usize {
        self.periods.iter().filter(|v| matches(&v.outcome)).count()
    }

    /// How stale each database's exports are: the age of its newest exported data or, never
    /// exported, of its oldest vault copy (exportable that long), so the stale-export alarm
    /// also sees a database that never got an export. `None` for a database never exported
    /// whose every period is of an engine RDS cannot export (reported as unsupported, not
    /// stale).
    pub fn export_ages(&self) -> impl Iterator<Item = (&DatabaseState, Option<i64>)> {
        self.databases.iter().map(|d| {
            let unsupported_only = d.newest_exported_taken.is_none()
                && self
                    .periods
                    .iter()
                    .filter(|v| v.database == d.database)
                    .all(|v| matches!(v.outcome, Outcome::Unsupported { .. }));
            let since = if unsupported_only { None } else { d.newest_exported_taken.or(d.oldest_import_taken) };
            (d, since.map(|t| (self.now - t).max(0)))
        })
    }

    /// The run's metrics (EMF): counts for the function, and per database the age of its
    /// newest exported data, which the alarm on a stale export watches.
    pub fn metrics(&self) -> Vec<Metrics> {
        let mut m = Metrics::new("Function", "rds-export");
        m.add("ExportsStarted", self.count(&StartResult::Started) as f64);
        m.add("ExportsRefused", self.count(&StartResult::Refused) as f64);
        m.add("ExportsAtLimit", self.count(&StartResult::AtLimit) as f64);
        m.add("ExportsRunning", self.count_periods(|o| matches!(o, Outcome::Running { .. })) as f64);
        // Periods within the lookback whose export completed.
        m.add("ExportsCompleted", self.count_periods(|o| matches!(o, Outcome::Exported { .. })) as f64);
        m.add("ExportsDeferred", self.count_periods(|o| matches!(o, Outcome::Deferred { .. })) as f64);
        m.add("ExportsNotStarted", self.count_periods(|o| matches!(o, Outcome::NotStarted { .. })) as f64);
        m.add("ExportsGivenUp", self.count_periods(|o| matches!(o, Outcome::GaveUp { .. })) as f64);
        m.add("ExportsUnsupported", self.count_periods(|o| matches!(o, Outcome::Unsupported { .. })) as f64);
        m.add("ExportsFailed", self.databases.iter().map(|d| d.failures.len()).sum::<usize>() as f64);
        m.add("ExportWarnings", self.databases.iter().map(|d| d.warnings.len()).sum::<usize>() as f64);
        m.add("TablesSkipped", self.databases.iter().map(|d| d.skipped_tables.len()).sum::<usize>() as f64);
        m.add("SecurityFindings", self.security.len() as f64);
        let never = self.databases.iter().filter(|d| d.newest_exported_taken.is_none()).count();
        m.add("DatabasesWithoutExport", never as f64);
        let oldest = self.export_ages().filter_map(|(_, age)| age).max().unwrap_or_default();
        m.add("OldestNewestExportAgeSeconds", oldest as f64);
        let ages = self.export_ages().filter_map(|(state, age)| Some((&state.database, age? as f64)));
        let mut all = vec![m];
        all.extend(Metrics::per_database("NewestExportAgeSeconds", ages));
        all
    }
}

/// The export function: the vault's RDS client and its settings.
#[derive(Debug, Clone)]
pub struct RdsExporter {
    rds: RdsSnapshots,
    client: Client,
    /// Reads the exports' `export_tables_info` files in the auditor's bucket.
    s3: aws_sdk_s3::Client,
    settings: RdsExportSettings,
}

impl RdsExporter {
    pub fn new(client: Client, s3: aws_sdk_s3::Client, settings: RdsExportSettings) -> Self {
        Self { rds: RdsSnapshots::new(client.clone()), client, s3, settings }
    }

    /// One run at `now`.
    pub async fn run(&self, now: DateTime) -> Result<Report, RunError> {
        let kinds = [SnapshotKind::Instance, SnapshotKind::Cluster];
        let copies = self.rds.list_marked(&kinds, tags::MARKER_IMPORT).await?;
        let bucket = self.settings.policy.bucket.clone();
        let mut tasks = self.export_tasks("s3-bucket", vec![bucket], "the tasks into the bucket").await?;
        let statuses = RUNNING_STATUSES.iter().map(|s| (*s).to_owned()).collect();
        for task in self.export_tasks("status", statuses, "the running tasks").await? {
            if !tasks.iter().any(|t| t.identifier == task.identifier) {
                tasks.push(task);
            }
        }
        let decided = plan::plan(&copies, &tasks, &self.settings.policy, now.secs());
        let mut report = Report {
            periods: decided.periods,
            starts: Vec::new(),
            databases: decided.databases,
            running_before: decided.running,
            unplaced: decided.unplaced,
            security: Vec::new(),
            now: now.secs(),
        };
        let mut stop: Option<String> = None;
        for start in decided.starts {
            let (result, reason) = match &stop {
                Some(why) => (StartResult::NotTried, Some(why.clone())),
                None => self.start(&start).await,
            };
            if result == StartResult::Collision {
                report.security.push(format!(
                    "export task {} exists and does not export {}: {}",
                    start.identifier,
                    start.source_arn,
                    reason.clone().unwrap_or_default()
                ));
            }
            if stop.is_none() {
                stop = match result {
                    StartResult::Refused => reason.as_ref().filter(|r| refuses_every_start(r)).cloned(),
                    // Another start would meet the same limit (or a busy snapshot: a later run).
                    StartResult::AtLimit => reason.clone(),
                    _ => None,
                };
            }
            report.note_start(&start, &result, reason.as_deref());
            report.starts.push(StartReport { start, result, reason });
        }
        self.read_newest_tables_info(&mut report, &tasks).await;
        for line in report.metrics() {
            line.flush();
        }
        Ok(report)
    }

    /// Each database's newest completed export, as its own `export_tables_info` tells it
    /// ([`crate::tables_info`]). A file that cannot be read is a warning of that database
    /// (the fix named), never a failed run: the exports themselves stand.
    async fn read_newest_tables_info(&self, report: &mut Report, tasks: &[ExportTask]) {
        let newest: Vec<(usize, ExportTask)> = report
            .databases
            .iter()
            .enumerate()
            .filter_map(|(i, state)| {
                let id = state.newest_export.as_deref()?;
                tasks.iter().find(|t| t.identifier == id).map(|t| (i, t.clone()))
            })
            .collect();
        let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(TABLES_INFO_READS));
        let mut reads = tokio::task::JoinSet::new();
        for (index, task) in newest {
            let (s3, slots) = (self.s3.clone(), slots.clone());
            reads.spawn(async move {
                let _slot = slots.acquire_owned().await;
                let read = tables_info::read_tables_info(&s3, &task.s3_bucket, &task.s3_prefix, &task.identifier).await;
                (index, task.identifier, read)
            });
        }
        let mut results = Vec::new();
        while let Some(joined) = reads.join_next().await {
            match joined {
                Ok(result) => results.push(result),
                Err(e) => tracing::error!(error = %e, "reading an export's tables info stopped"),
            }
        }
        // In the databases' order, whatever order the reads finished in.
        results.sort_by_key(|(index, _, _)| *index);
        for (index, task, read) in results {
            let Some(state) = report.databases.get_mut(index) else { continue };
            match read {
                Ok(tables) => tables_info::note_tables(state, &task, &tables),
                Err(problem) => state.warnings.push((task, problem)),
            }
        }
    }

    async fn export_tasks(
        &self,
        name: &str,
        values: Vec<String>,
        what: &'static str,
    ) -> Result<Vec<ExportTask>, RunError> {
        export_tasks(&self.client, Some(Filter::builder().name(name).set_values(Some(values)).build()), what).await
    }

    /// Starts one export; an existing task of that name is checked, never replaced.
    async fn start(&self, start: &Start) -> (StartResult, Option<String>) {
        let answer = self
            .client
            .start_export_task()
            .export_task_identifier(&start.identifier)
            .source_arn(&start.source_arn)
            .s3_bucket_name(&self.settings.policy.bucket)
            .s3_prefix(&start.s3_prefix)
            .iam_role_arn(&self.settings.export_role.0)
            .kms_key_id(self.settings.export_key.as_str())
            .set_export_only((!start.export_only.is_empty()).then(|| start.export_only.clone()))
            .send()
            .await;
        let error = match answer {
            Ok(_) => return (StartResult::Started, None),
            Err(error) => error,
        };
        let code = error.code().unwrap_or("transport").to_owned();
        let rds_says = error.message().unwrap_or_default().to_owned();
        if !code.starts_with("ExportTaskAlreadyExists") {
            let message = DisplayErrorContext(&error).to_string();
            return (StartResult::Refused, Some(format!("{code}: {}", advice(&code, &message))));
        }
        let existing = self
            .client
            .describe_export_tasks()
            .export_task_identifier(&start.identifier)
            .send()
            .await
            .map(|out| out.export_tasks().iter().map(task_of).collect::<Vec<_>>());
        match existing {
            Ok(found) => match found.into_iter().find(|t| t.identifier == start.identifier) {
                Some(task) if task.source_arn == start.source_arn => (StartResult::AlreadyStarted, None),
                Some(task) => (StartResult::Collision, Some(format!("it exports {}", task.source_arn))),
                // No task of that name: a limit, not a name taken. The next run tries again.
                None => (StartResult::AtLimit, Some(format!("{code}: {rds_says} (started by a later run)"))),
            },
            Err(e) => (StartResult::Refused, Some(format!("checking the existing task: {}", DisplayErrorContext(&e)))),
        }
    }
}

/// Every export task of the account in the client's Region that `filter` selects, paged.
pub async fn export_tasks(
    client: &Client,
    filter: Option<Filter>,
    what: &'static str,
) -> Result<Vec<ExportTask>, RunError> {
    let mut tasks = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let out = client
            .describe_export_tasks()
            .set_filters(filter.clone().map(|f| vec![f]))
            .max_records(PAGE_SIZE)
            .set_marker(marker.take())
            .send()
            .await
            .map_err(|e| RunError::Tasks { what, message: DisplayErrorContext(&e).to_string() })?;
        tasks.extend(out.export_tasks().iter().map(task_of));
        match out.marker.filter(|m| !m.is_empty()) {
            Some(next) => marker = Some(next),
            None => return Ok(tasks),
        }
    }
}

/// How each source database's exports stand, from the vault's imports and the account's
/// export tasks (into `bucket`, or any bucket): `offsite status --side vault`.
pub async fn database_states(client: &Client, bucket: Option<&str>) -> Result<Vec<DatabaseState>, RunError> {
    let kinds = [SnapshotKind::Instance, SnapshotKind::Cluster];
    let copies = RdsSnapshots::new(client.clone()).list_marked(&kinds, tags::MARKER_IMPORT).await?;
    let filter = bucket.map(|b| Filter::builder().name("s3-bucket").values(b).build());
    let tasks = export_tasks(client, filter, "the exports").await?;
    Ok(plan::database_states(&copies, &tasks, bucket))
}

/// Whether RDS's refusal concerns the run's shared setup (role, bucket, key, the account's
/// slots): every further start would meet it, so the run stops starting.
fn refuses_every_start(reason: &str) -> bool {
    ["IamRole", "InvalidS3Bucket", "KMSKeyNotAccessible", "AccessDenied"].iter().any(|code| reason.starts_with(code))
}

/// RDS's message with what the operator can do about it (StartExportTask API reference, Errors).
fn advice(code: &str, message: &str) -> String {
    let fix = match code {
        c if c.starts_with("IamRoleNotFound") => {
            "the export role does not exist or does not trust export.rds.amazonaws.com (vault stack: RdsExportRole)"
        }
        c if c.starts_with("IamRoleMissingPermissions") => {
            "the export role lacks s3:PutObject*, GetObject*, ListBucket, DeleteObject* or GetBucketLocation on the bucket and prefix"
        }
        c if c.starts_with("InvalidS3Bucket") => {
            "the bucket is missing, in another region, or its policy does not admit the export role under the prefix (auditor stack)"
        }
        c if c.starts_with("KMSKeyNotAccessible") => {
            "the function needs kms:CreateGrant and kms:DescribeKey on the export key, and the key policy must not deny export.rds.amazonaws.com"
        }
        c if c.starts_with("InvalidExportOnly") => "fix OFFSITE_RDS_EXPORT_ONLY for this database",
        c if c.starts_with("InvalidExportSourceState") => {
            "the snapshot is not available or is being exported: next run"
        }
        c if c.starts_with("AccessDenied") => {
            "the function's role lacks rds:StartExportTask or iam:PassRole on the export role"
        }
        _ => "",
    };
    if fix.is_empty() { message.to_owned() } else { format!("{message} ({fix})") }
}

fn secs(time: Option<&DateTime>) -> Option<i64> {
    time.map(DateTime::secs)
}

/// The SDK's task, reduced to what the decisions need.
fn task_of(task: &aws_sdk_rds::types::ExportTask) -> ExportTask {
    ExportTask {
        identifier: task.export_task_identifier().unwrap_or_default().to_owned(),
        source_arn: task.source_arn().unwrap_or_default().to_owned(),
        status: TaskStatus::parse(task.status().unwrap_or_default()),
        s3_bucket: task.s3_bucket().unwrap_or_default().to_owned(),
        s3_prefix: task.s3_prefix().unwrap_or_default().to_owned(),
        started: secs(task.task_start_time()),
        ended: secs(task.task_end_time()),
        percent_progress: task.percent_progress(),
        failure_cause: task.failure_cause().map(str::to_owned),
        warning_message: task.warning_message().map(str::to_owned),
    }
}

#[cfg(test)]
mod tests;
