//! Which vault copies are exported, under which identifier and prefix, and in which order.
//! Plain functions over plain data: `run` feeds them the vault's copies and RDS's export
//! tasks, and carries out what they decide.
//!
//! The rules:
//! - per source database (source account + DB identifier, from the import's tags), the
//!   newest genuine import of each export period is exported, once the period has closed
//!   and its grace has passed (a copy taken just before the period's end may still be on its
//!   way into the vault); periods older than the lookback are left alone;
//! - a period is covered by any export of one of its copies that has not failed or been
//!   cancelled, whatever its identifier (so changing the period's setting does not export
//!   the same data twice);
//! - an export that failed is started again under the next attempt's identifier, at most
//!   [`MAX_ATTEMPTS`] times per copy and period: then its failure stays reported until a later
//!   export of that database completes;
//! - at most `max_running` exports in progress in the account (RDS allows 5, every task of
//!   the account counts, not only ours), never two of one snapshot; the rest waits for the
//!   next run, the database whose newest export is the stalest first.

use std::collections::{BTreeMap, BTreeSet};

use offsite_common::calendar::{date_text, days_from_civil, year_month};
pub use offsite_common::lineage::DatabaseKey;
use offsite_common::lineage::database_of;
use offsite_common::lineage::import_taken_secs as taken_secs;
use offsite_common::snapshot::{Snapshot, SnapshotKind, SnapshotStatus};
use offsite_common::source_tags::SourceTag;
use offsite_common::tags;
use serde::Serialize;

/// "Exporting DB snapshot data to Amazon S3", Limitations: at most five concurrent export
/// tasks per AWS account (aws-facts.md, "RDS snapshot export to S3").
pub const MAX_RUNNING_PER_ACCOUNT: u32 = 5;

/// How many times one copy of one period is started before its failure is left to an operator.
pub const MAX_ATTEMPTS: u32 = 3;

/// The first letter of every export task identifier Offsite starts (then the source account).
pub const TASK_PREFIX: &str = "o";

/// The longest export task identifier the emulator accepts (AWS documents no limit; RDS's
/// console and the emulator take 60): longer names would be refused.
pub const MAX_TASK_IDENTIFIER_LEN: usize = 60;

/// How long an export period is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    /// Fixed periods of this many seconds, counted from the UNIX epoch (so `7d` periods
    /// start on Thursdays, `1d` periods at midnight UTC).
    Every { secs: i64 },
    /// Calendar months (UTC): the month-end copy of each month.
    CalendarMonth,
}

impl Period {
    /// The period a moment falls in, as a number that orders periods.
    pub fn key(self, secs: i64) -> i64 {
        match self {
            Self::Every { secs: length } => secs.div_euclid(length.max(1)),
            Self::CalendarMonth => {
                let (year, month) = year_month(secs.div_euclid(86_400));
                year * 12 + i64::from(month) - 1
            }
        }
    }

    /// The first second of period `key` and the first second after it.
    pub fn bounds(self, key: i64) -> (i64, i64) {
        match self {
            Self::Every { secs } => (key * secs.max(1), (key + 1) * secs.max(1)),
            Self::CalendarMonth => {
                let month_start = |key: i64| {
                    let month = u32::try_from(key.rem_euclid(12) + 1).unwrap_or(1);
                    days_from_civil(key.div_euclid(12), month, 1) * 86_400
                };
                (month_start(key), month_start(key + 1))
            }
        }
    }
}

/// The engines whose snapshots RDS can export, by the SQL dialect that shapes `ExportOnly`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EngineFamily {
    /// MySQL, MariaDB, Aurora MySQL: `database` or `database.table`.
    MySql,
    /// PostgreSQL, Aurora PostgreSQL: `database`, `database.schema` or `database.schema.table`.
    Postgres,
}

/// Whether RDS can export a snapshot of `kind` made from `engine`: "Exporting DB snapshot
/// data to Amazon S3" (supported engines: MariaDB, MySQL, PostgreSQL; not RDS Custom, not
/// Db2, Oracle or SQL Server) and its Aurora counterpart (Aurora MySQL, Aurora PostgreSQL;
/// not Multi-AZ DB clusters, whose cluster snapshots carry the plain `mysql`/`postgres`
/// engine names). `aurora` is Aurora MySQL 5.6's engine name.
pub fn engine_family(kind: SnapshotKind, engine: Option<&str>) -> Result<EngineFamily, String> {
    let engine = engine.unwrap_or_default();
    match (kind, engine) {
        (SnapshotKind::Instance, "mysql" | "mariadb") => Ok(EngineFamily::MySql),
        (SnapshotKind::Instance, "postgres") => Ok(EngineFamily::Postgres),
        (SnapshotKind::Cluster, "aurora-mysql" | "aurora") => Ok(EngineFamily::MySql),
        (SnapshotKind::Cluster, "aurora-postgresql") => Ok(EngineFamily::Postgres),
        (SnapshotKind::Cluster, "mysql" | "postgres") => {
            Err(format!("a Multi-AZ DB cluster snapshot ({engine}): RDS cannot export those"))
        }
        (_, "") => Err("the snapshot names no engine".to_owned()),
        (_, other) => Err(format!("engine {other}: RDS exports only MySQL, MariaDB and PostgreSQL (and Aurora's)")),
    }
}

/// Checks one database's `ExportOnly` list against its engine's forms (StartExportTask,
/// `ExportOnly`): RDS refuses a wrong form with `InvalidExportOnlyFault`, so it is refused
/// here with the entry named, before any call.
pub fn check_export_only(family: EngineFamily, entries: &[String]) -> Result<(), String> {
    let (most, forms) = match family {
        EngineFamily::MySql => (2, "database or database.table"),
        EngineFamily::Postgres => (3, "database, database.schema or database.schema.table"),
    };
    for entry in entries {
        let parts: Vec<&str> = entry.split('.').collect();
        let well_formed = parts.len() <= most
            && parts.iter().all(|p| !p.is_empty() && p.len() <= 63 && !p.chars().any(char::is_whitespace));
        if !well_formed {
            return Err(format!("ExportOnly entry {entry:?} is not of the form {forms} for this engine"));
        }
    }
    Ok(())
}

/// A database as the settings name it: `db` (in any account) or `account/db`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct DatabasePattern {
    pub account: Option<String>,
    pub database: String,
}

impl DatabasePattern {
    pub fn matches(&self, key: &DatabaseKey) -> bool {
        self.database == key.database && self.account.as_ref().is_none_or(|a| *a == key.account)
    }
}

/// An export task's `Status` (a plain string in the SDK; DescribeExportTasks documents
/// `STARTING`, `IN_PROGRESS`, `COMPLETE`, `CANCELING`, `CANCELED`, `FAILED`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TaskStatus {
    Starting,
    InProgress,
    Complete,
    Canceling,
    Canceled,
    Failed,
    /// Anything else RDS may add: counted as running, so a slot is never overbooked.
    Other(String),
}

impl TaskStatus {
    /// Case-insensitive: moto answered lowercase, the filters take lowercase.
    pub fn parse(raw: &str) -> Self {
        match raw.to_ascii_uppercase().as_str() {
            "STARTING" => Self::Starting,
            "IN_PROGRESS" => Self::InProgress,
            "COMPLETE" => Self::Complete,
            "CANCELING" => Self::Canceling,
            "CANCELED" => Self::Canceled,
            "FAILED" => Self::Failed,
            _ => Self::Other(raw.to_owned()),
        }
    }

    /// Whether the task holds one of the account's export slots.
    pub fn is_running(&self) -> bool {
        !matches!(self, Self::Complete | Self::Canceled | Self::Failed)
    }

    /// Whether the task's period still needs an export (it ended without data).
    pub fn is_lost(&self) -> bool {
        matches!(self, Self::Canceled | Self::Failed)
    }
}

/// What DescribeExportTasks says about one task, reduced to what the decisions need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportTask {
    pub identifier: String,
    pub source_arn: String,
    pub status: TaskStatus,
    pub s3_bucket: String,
    pub s3_prefix: String,
    /// UNIX seconds.
    pub started: Option<i64>,
    pub ended: Option<i64>,
    pub percent_progress: Option<i32>,
    pub failure_cause: Option<String>,
    pub warning_message: Option<String>,
}

/// The export-task identifier of attempt `attempt` at exporting a copy of `database` taken
/// on the day of `taken_secs`: `o<source account>-<yyyy-mm-dd>-<source database>-<attempt>`.
///
/// Made of the export's own partition values (account, date, database) and nothing else, so
/// Athena's partition projection can write the path RDS puts the files under
/// (`…/date=<d>/<export id>/…`, where the export id sits between the date and the table) from
/// the partition values alone: one Athena table per source table, every new export
/// queryable without a crawler (`athena`). Unique in the vault account as long as one copy
/// per database and day is exported (periods are whole days). A rerun derives the same name
/// and meets `ExportTaskAlreadyExists`. `None` when longer than [`MAX_TASK_IDENTIFIER_LEN`]
/// (a source database identifier of more than 33 characters).
pub fn task_identifier(database: &DatabaseKey, taken_secs: i64, attempt: u32) -> Option<String> {
    let identifier = format!("{}-{attempt}", task_base(database, taken_secs));
    (identifier.len() <= MAX_TASK_IDENTIFIER_LEN).then_some(identifier)
}

fn task_base(database: &DatabaseKey, taken_secs: i64) -> String {
    format!("{TASK_PREFIX}{}-{}-{}", database.account, date_text(taken_secs), database.database)
}

/// Whether an export task is one of Offsite's: `o<12 digits>-…`.
pub fn is_offsite_task(identifier: &str) -> bool {
    identifier.strip_prefix(TASK_PREFIX).is_some_and(|rest| {
        rest.len() > 13 && rest.as_bytes()[..12].iter().all(u8::is_ascii_digit) && rest.as_bytes()[12] == b'-'
    })
}

/// The attempt number of `identifier` if it is an attempt of `base`.
fn attempt_of(identifier: &str, base: &str) -> Option<u32> {
    identifier.strip_prefix(base)?.strip_prefix('-')?.parse().ok().filter(|n| (1..=MAX_ATTEMPTS).contains(n))
}

/// The S3 prefix of a copy's export (RDS adds `<export id>/<database>/<schema.table>/…`):
/// `<prefix>/rds/account=<source account>/database=<source database>/date=<yyyy-mm-dd>`, Hive
/// partition folders that Athena's partition projection reads without a crawler.
pub fn s3_prefix(prefix: &str, database: &DatabaseKey, taken_secs: i64) -> String {
    let base = prefix.trim_end_matches('/');
    let lead = if base.is_empty() { String::new() } else { format!("{base}/") };
    format!("{lead}rds/account={}/database={}/date={}", database.account, database.database, date_text(taken_secs))
}

/// What the export run is configured to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub period: Period,
    /// How long after a period's end its newest copy is waited for.
    pub grace_secs: i64,
    /// Periods that ended longer ago than this are not exported any more.
    pub lookback_secs: i64,
    /// Only these databases (all when `None`).
    pub databases: Option<Vec<DatabasePattern>>,
    /// Only the databases whose source carries this tag (all when `None`): the carried tags
    /// of each database's newest import that came with a notice decide
    /// ([`databases_tagged`]).
    pub source_tag: Option<SourceTag>,
    /// `ExportOnly` per database; the first pattern that matches applies.
    pub export_only: Vec<(DatabasePattern, Vec<String>)>,
    /// At most this many exports in progress in the account.
    pub max_running: u32,
    /// The auditor's bucket and the key prefix under it.
    pub bucket: String,
    pub prefix: String,
}

/// What becomes of one period of one database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum Outcome {
    /// Exported: the completed task.
    Exported { task: String },
    /// Its export is in progress.
    Running { task: String },
    /// Started in this run.
    Start { task: String },
    /// Due, but RDS did not start it in this run (refused, at the account's limit, a task of
    /// that name exporting something else, or not tried after such an answer): the run's
    /// `starts` say why; the next run tries again.
    NotStarted { task: String, reason: String },
    /// Waits for a slot, or for another export of the same snapshot to end.
    Deferred { task: String, reason: String },
    /// Failed [`MAX_ATTEMPTS`] times: left to an operator.
    GaveUp { task: String, failure_cause: String },
    /// Cannot be exported (engine, `ExportOnly` form): reported, never attempted.
    Unsupported { reason: String },
}

/// One period's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeriodVerdict {
    pub database: DatabaseKey,
    /// The period's first day.
    pub period: String,
    /// The newest copy of the period: the one exported.
    pub copy_identifier: String,
    pub copy_arn: String,
    pub kind: SnapshotKind,
    /// When the copy's data was taken (UNIX seconds).
    pub taken: i64,
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// An export to start: everything StartExportTask needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Start {
    pub database: DatabaseKey,
    pub identifier: String,
    pub source_arn: String,
    pub s3_prefix: String,
    pub export_only: Vec<String>,
}

/// How one database's exports stand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DatabaseState {
    pub database: DatabaseKey,
    /// When the data of its oldest vault copy was taken (UNIX seconds): how long it could
    /// have been exported.
    pub oldest_import_taken: Option<i64>,
    /// When the data of its newest completed export was taken (UNIX seconds).
    pub newest_exported_taken: Option<i64>,
    /// Its newest completed export task.
    pub newest_export: Option<String>,
    /// How many tables that export's own `export_tables_info` lists (read by the run:
    /// [`crate::tables_info`]; `None` until read).
    pub newest_export_tables: Option<usize>,
    /// Exports in progress.
    pub running: Vec<String>,
    /// Failures after the newest completed export: (task, cause).
    pub failures: Vec<(String, String)>,
    /// Warnings of completed exports (skipped tables): (task, message).
    pub warnings: Vec<(String, String)>,
    /// The tables (and `ExportOnly` entries) the newest completed export skipped, by name:
    /// AWS skips some tables without failing the export.
    pub skipped_tables: Vec<String>,
}

/// The whole decision of one run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub periods: Vec<PeriodVerdict>,
    pub starts: Vec<Start>,
    pub databases: Vec<DatabaseState>,
    /// Export tasks in progress in the account before this run.
    pub running: u32,
    /// Copies that could not be placed (no source database or time in their tags).
    pub unplaced: Vec<String>,
}

/// The databases whose source carries `tag`, as the vault knows it: the carried source tags
/// ([`offsite_common::source_tags`]) of each database's newest genuine import that came with
/// a notice. The reconciler's imports (no notice, so no carried tags) do not decide, but they
/// are exported with their database; a database only the reconciler imported is not selected.
pub fn databases_tagged(copies: &[Snapshot], tag: &SourceTag) -> BTreeSet<DatabaseKey> {
    let mut newest: BTreeMap<DatabaseKey, (i64, &Snapshot)> = BTreeMap::new();
    for copy in copies {
        let announced = copy.tag(tags::NOTICE_ID).is_some()
            && copy.tag(tags::MARKER) == Some(tags::MARKER_IMPORT)
            && offsite_common::lineage::is_genuine_import(copy)
            && copy.status == SnapshotStatus::Available;
        let (Some(database), Some(taken)) = (database_of(copy), taken_secs(copy)) else { continue };
        if announced && newest.get(&database).is_none_or(|(t, _)| taken > *t) {
            newest.insert(database, (taken, copy));
        }
    }
    newest
        .into_iter()
        .filter(|(_, (_, copy))| tag.matches(&offsite_common::source_tags::carried(&copy.tags)))
        .map(|(database, _)| database)
        .collect()
}

/// The vault's imports and our export tasks, grouped per source database.
struct Grouped<'a> {
    databases: BTreeMap<DatabaseKey, Vec<(&'a Snapshot, i64)>>,
    tasks_of: BTreeMap<&'a str, Vec<&'a ExportTask>>,
    unplaced: Vec<String>,
}

/// Groups the available genuine imports (the importer's marker) per source database, the
/// selected ones only, and Offsite's export tasks into `bucket` (every bucket: `None`) per
/// exported copy.
fn group<'a>(
    copies: &'a [Snapshot],
    tasks: &'a [ExportTask],
    bucket: Option<&str>,
    selected: impl Fn(&DatabaseKey) -> bool,
) -> Grouped<'a> {
    let mut tasks_of: BTreeMap<&str, Vec<&ExportTask>> = BTreeMap::new();
    let ours = |t: &&ExportTask| is_offsite_task(&t.identifier) && bucket.is_none_or(|b| t.s3_bucket == b);
    for task in tasks.iter().filter(ours) {
        tasks_of.entry(task.source_arn.as_str()).or_default().push(task);
    }
    let mut unplaced = Vec::new();
    let mut databases: BTreeMap<DatabaseKey, Vec<(&Snapshot, i64)>> = BTreeMap::new();
    for copy in copies {
        let genuine = copy.tag(tags::MARKER) == Some(tags::MARKER_IMPORT)
            && offsite_common::lineage::is_genuine_import(copy)
            && copy.status == SnapshotStatus::Available;
        if !genuine {
            continue;
        }
        match (database_of(copy), taken_secs(copy)) {
            (Some(database), Some(taken)) if selected(&database) => {
                databases.entry(database).or_default().push((copy, taken));
            }
            (Some(_), Some(_)) => {}
            _ => unplaced.push(copy.identifier.clone()),
        }
    }
    Grouped { databases, tasks_of, unplaced }
}

/// How each source database's exports stand (`offsite status --side vault`): the same view
/// the run reports, from the imports and the account's export tasks.
pub fn database_states(copies: &[Snapshot], tasks: &[ExportTask], bucket: Option<&str>) -> Vec<DatabaseState> {
    let grouped = group(copies, tasks, bucket, |_| true);
    grouped.databases.iter().map(|(database, copies)| database_state(database, copies, &grouped.tasks_of)).collect()
}

/// The names in an export's `WarningMessage`: RDS reports skipped tables there as JSON
/// (`{"skippedTables": [...], "skippedObjectives": [...], "general": [...]}`, "Monitoring
/// snapshot exports"); each entry's `target` (or `objective`) is named, a plain string as is.
/// A message that is not that JSON is kept whole, so nothing is lost.
pub fn skipped_tables(warning: &str) -> Vec<String> {
    let Ok(parsed) = serde_json::from_str::<serde_json::Value>(warning) else {
        return vec![warning.to_owned()];
    };
    let mut names = Vec::new();
    for (list, field) in [("skippedTables", "target"), ("skippedObjectives", "objective")] {
        for entry in parsed[list].as_array().into_iter().flatten() {
            match entry.as_str().or_else(|| entry[field].as_str()) {
                Some(name) => names.push(name.to_owned()),
                None => names.push(entry.to_string()),
            }
        }
    }
    names
}

/// Decides the run. `copies` are the vault's imports (any status; only available genuine
/// imports with the importer's marker count), `tasks` every export task RDS reported (ours
/// and the account's others: all running ones count against the slots).
pub fn plan(copies: &[Snapshot], tasks: &[ExportTask], policy: &Policy, now_secs: i64) -> Plan {
    let tagged = policy.source_tag.as_ref().map(|tag| databases_tagged(copies, tag));
    let selected = |database: &DatabaseKey| {
        policy.databases.as_ref().is_none_or(|list| list.iter().any(|p| p.matches(database)))
            && tagged.as_ref().is_none_or(|set| set.contains(database))
    };
    let Grouped { databases, tasks_of, unplaced } = group(copies, tasks, Some(&policy.bucket), selected);
    let busy: BTreeSet<&str> = tasks.iter().filter(|t| t.status.is_running()).map(|t| t.source_arn.as_str()).collect();
    let running = u32::try_from(tasks.iter().filter(|t| t.status.is_running()).count()).unwrap_or(u32::MAX);

    let mut verdicts = Vec::new();
    let mut states = Vec::new();
    // Per database, its periods still to start, newest first.
    let mut queues: Vec<(Option<i64>, DatabaseKey, Vec<usize>)> = Vec::new();
    for (database, copies) in &databases {
        let state = database_state(database, copies, &tasks_of);
        let mut by_period: BTreeMap<i64, Vec<(&Snapshot, i64)>> = BTreeMap::new();
        for (copy, taken) in copies {
            by_period.entry(policy.period.key(*taken)).or_default().push((copy, *taken));
        }
        let export_only = policy.export_only.iter().find(|(p, _)| p.matches(database)).map(|(_, e)| e.clone());
        let mut queue = Vec::new();
        for (key, members) in by_period.iter().rev() {
            let (start, end) = policy.period.bounds(*key);
            if end + policy.grace_secs > now_secs || end < now_secs - policy.lookback_secs {
                continue;
            }
            let Some(&(copy, taken)) =
                members.iter().max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.identifier.cmp(&a.0.identifier)))
            else {
                continue;
            };
            let verdict = |outcome| PeriodVerdict {
                database: database.clone(),
                period: date_text(start),
                copy_identifier: copy.identifier.clone(),
                copy_arn: copy.arn.clone(),
                kind: copy.kind,
                taken,
                outcome,
            };
            let period_tasks: Vec<&ExportTask> =
                members.iter().flat_map(|(c, _)| tasks_of.get(c.arn.as_str()).into_iter().flatten().copied()).collect();
            if let Some(done) = period_tasks.iter().find(|t| t.status == TaskStatus::Complete) {
                verdicts.push(verdict(Outcome::Exported { task: done.identifier.clone() }));
                continue;
            }
            if let Some(live) = period_tasks.iter().find(|t| !t.status.is_lost()) {
                verdicts.push(verdict(Outcome::Running { task: live.identifier.clone() }));
                continue;
            }
            let base = task_base(database, taken);
            let tried = period_tasks.iter().filter_map(|t| attempt_of(&t.identifier, &base)).max().unwrap_or(0);
            if tried >= MAX_ATTEMPTS {
                let last = period_tasks.iter().find(|t| attempt_of(&t.identifier, &base) == Some(tried));
                verdicts.push(verdict(Outcome::GaveUp {
                    task: last.map(|t| t.identifier.clone()).unwrap_or_default(),
                    failure_cause: last.and_then(|t| t.failure_cause.clone()).unwrap_or_else(|| "cancelled".to_owned()),
                }));
                continue;
            }
            let family = match engine_family(copy.kind, copy.engine.as_deref()) {
                Ok(family) => family,
                Err(reason) => {
                    verdicts.push(verdict(Outcome::Unsupported { reason }));
                    continue;
                }
            };
            let export_only = export_only.clone().unwrap_or_default();
            if let Err(reason) = check_export_only(family, &export_only) {
                verdicts.push(verdict(Outcome::Unsupported { reason }));
                continue;
            }
            let Some(identifier) = task_identifier(database, taken, tried + 1) else {
                let reason = format!(
                    "the export task identifier {base}-{} would be longer than {MAX_TASK_IDENTIFIER_LEN} characters \
                     (a source database identifier of at most 33 characters fits)",
                    tried + 1
                );
                verdicts.push(verdict(Outcome::Unsupported { reason }));
                continue;
            };
            queue.push(verdicts.len());
            verdicts.push(verdict(Outcome::Start { task: identifier }));
        }
        queues.push((state.newest_exported_taken, database.clone(), queue));
        states.push(state);
    }

    // The stalest database first (never exported before all), one period of each in turn.
    queues.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
    let mut free = policy.max_running.saturating_sub(running);
    let mut starts = Vec::new();
    let deepest = queues.iter().map(|q| q.2.len()).max().unwrap_or(0);
    for round in 0..deepest {
        for (_, database, queue) in &queues {
            let Some(&index) = queue.get(round) else { continue };
            let verdict = &mut verdicts[index];
            let Outcome::Start { task } = &verdict.outcome else { continue };
            let task = task.clone();
            let reason = if busy.contains(verdict.copy_arn.as_str()) {
                Some("another export of this snapshot is in progress (RDS runs one at a time)".to_owned())
            } else if free == 0 {
                Some(format!("{} exports in progress in the account: no slot free", policy.max_running))
            } else {
                None
            };
            if let Some(reason) = reason {
                verdict.outcome = Outcome::Deferred { task, reason };
                continue;
            }
            free -= 1;
            let export_only = policy
                .export_only
                .iter()
                .find(|(p, _)| p.matches(database))
                .map(|(_, e)| e.clone())
                .unwrap_or_default();
            starts.push(Start {
                database: database.clone(),
                identifier: task,
                source_arn: verdict.copy_arn.clone(),
                s3_prefix: s3_prefix(&policy.prefix, database, verdict.taken),
                export_only,
            });
        }
    }
    Plan { periods: verdicts, starts, databases: states, running, unplaced }
}

/// One database's newest completed export, what runs, and the failures since.
fn database_state(
    database: &DatabaseKey,
    copies: &[(&Snapshot, i64)],
    tasks_of: &BTreeMap<&str, Vec<&ExportTask>>,
) -> DatabaseState {
    let mut tasks: Vec<(&ExportTask, i64)> = copies
        .iter()
        .flat_map(|(copy, taken)| tasks_of.get(copy.arn.as_str()).into_iter().flatten().map(move |t| (*t, *taken)))
        .collect();
    tasks.sort_by(|a, b| a.0.started.cmp(&b.0.started).then_with(|| a.0.identifier.cmp(&b.0.identifier)));
    let newest = tasks.iter().filter(|(t, _)| t.status == TaskStatus::Complete).max_by_key(|(_, taken)| *taken);
    let since = newest.and_then(|(t, _)| t.ended.or(t.started));
    DatabaseState {
        database: database.clone(),
        oldest_import_taken: copies.iter().map(|(_, taken)| *taken).min(),
        newest_exported_taken: newest.map(|(_, taken)| *taken),
        newest_export: newest.map(|(t, _)| t.identifier.clone()),
        newest_export_tables: None,
        running: tasks.iter().filter(|(t, _)| t.status.is_running()).map(|(t, _)| t.identifier.clone()).collect(),
        failures: tasks
            .iter()
            .filter(|(t, _)| t.status == TaskStatus::Failed && since.is_none_or(|s| t.started.is_some_and(|x| x > s)))
            .map(|(t, _)| {
                (t.identifier.clone(), t.failure_cause.clone().unwrap_or_else(|| "no cause given".to_owned()))
            })
            .collect(),
        warnings: tasks
            .iter()
            .filter(|(t, _)| t.status == TaskStatus::Complete)
            .filter_map(|(t, _)| t.warning_message.clone().map(|w| (t.identifier.clone(), w)))
            .collect(),
        skipped_tables: newest.and_then(|(t, _)| t.warning_message.as_deref()).map(skipped_tables).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests;
