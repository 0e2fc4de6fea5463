//! One exporter run: gather sources, plan, start copies, report.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use offsite_common::lineage::{CopyOnce, CopyOnceError, Lineage};
use offsite_common::metrics::Metrics;
use offsite_common::quota::SnapshotQuotas;
use offsite_common::rds::{RdsError, RdsSnapshots};
use offsite_common::rds_error::RdsErrorKind;
use offsite_common::snapshot::{Snapshot, SnapshotArn, SnapshotKind};
use offsite_common::tags;
use serde::Serialize;

use crate::plan::{Decision, PlanSettings, Planned, plan};
use crate::selection::Skip;
use crate::settings::ExporterSettings;

/// What happened to one source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// A copy was started.
    Copied,
    /// Its copy already exists (found, or made concurrently by another run).
    AlreadyExported,
    /// Not for export (now or ever); see the reason.
    Skipped,
    /// Copyable, but not in this run (limit, quota, not available yet): a later run does it.
    Deferred,
    /// The copy failed; see the reason.
    Failed,
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    pub source_arn: String,
    pub kind: SnapshotKind,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub copy_identifier: Option<String>,
    pub reason: String,
    /// An operator must look: selected but unsupported, a collision, a failure.
    pub finding: bool,
}

/// The result of a run, returned by the Lambda function and printed by `offsite plan`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub items: Vec<Item>,
    /// RDS refused a copy for the manual snapshot quota; no further copy was started.
    pub quota_exceeded: bool,
    /// The account's manual snapshot quotas after the run's copies (read by every sweep, by
    /// an event at most every [`QUOTA_READ_INTERVAL`] per warm container, never in a dry run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot_quotas: Option<SnapshotQuotas>,
}

impl Report {
    /// How many items had `outcome`.
    pub fn count(&self, outcome: &Outcome) -> usize {
        self.items.iter().filter(|i| &i.outcome == outcome).count()
    }

    /// What must fail the invocation (so alarms fire and AWS retries the event), or `None`
    /// when the run did its job.
    pub fn failure(&self) -> Option<ExportError> {
        let failures: Vec<String> =
            self.items.iter().filter(|i| i.outcome == Outcome::Failed).map(|i| i.reason.clone()).collect();
        (!failures.is_empty() || self.quota_exceeded)
            .then_some(ExportError::Incomplete { quota_exceeded: self.quota_exceeded, failures })
    }

    fn metrics(&self) -> Metrics {
        let mut metrics = Metrics::new("Function", "exporter");
        for (name, outcome) in [
            ("CopiesStarted", Outcome::Copied),
            ("AlreadyExported", Outcome::AlreadyExported),
            ("Deferred", Outcome::Deferred),
            ("CopyFailures", Outcome::Failed),
        ] {
            metrics.add(name, self.count(&outcome) as f64);
        }
        metrics.add("Findings", self.items.iter().filter(|i| i.finding).count() as f64);
        metrics.add("QuotaExceeded", if self.quota_exceeded { 1.0 } else { 0.0 });
        metrics
    }
}

/// The exporter: RDS access plus settings.
#[derive(Debug, Clone)]
pub struct Exporter {
    rds: RdsSnapshots,
    settings: ExporterSettings,
    /// When this warm container last read the manual snapshot quotas (see
    /// [`QUOTA_READ_INTERVAL`]); shared by its clones.
    quotas_read_at: Arc<Mutex<Option<Instant>>>,
}

/// How often the event path reads the manual snapshot quotas in one warm container. Every
/// event read them: one `DescribeAccountAttributes` per exported snapshot, a fifth of the
/// exporter's calls (the end-to-end benchmark). The figures feed a metric and its alarm, which
/// need a datapoint every few minutes, not one per snapshot; the scheduled sweep reads them on
/// every run.
pub const QUOTA_READ_INTERVAL: Duration = Duration::from_secs(300);

/// Why an invocation fails.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Listing failed, so nothing could be decided.
    #[error("cannot list snapshots: {0}")]
    Listing(#[source] RdsError),
    /// The run decided, but some copies failed or the quota stopped it (see the report).
    #[error("{}{} copy failure(s): {}", if *.quota_exceeded { "manual snapshot quota exceeded; " } else { "" }, .failures.len(), .failures.join("; "))]
    Incomplete { quota_exceeded: bool, failures: Vec<String> },
}

impl Exporter {
    pub fn new(rds: RdsSnapshots, settings: ExporterSettings) -> Self {
        Self { rds, settings, quotas_read_at: Arc::new(Mutex::new(None)) }
    }

    /// Whether this run reads the quotas: a sweep always, an event when this container has not
    /// read them for [`QUOTA_READ_INTERVAL`]; a read is recorded as it is decided, so events
    /// handled at once read them once.
    fn quotas_due(&self, sweep: bool) -> bool {
        let Ok(mut read_at) = self.quotas_read_at.lock() else { return true };
        let due = sweep || read_at.is_none_or(|at| at.elapsed() >= QUOTA_READ_INTERVAL);
        if due {
            *read_at = Some(Instant::now());
        }
        due
    }

    /// Handles an event about one snapshot.
    pub async fn export_one(&self, arn: &SnapshotArn, dry_run: bool) -> Result<Report, ExportError> {
        let snapshot_type = snapshot_type_of(arn.kind, &arn.name);
        let found = self.rds.describe(arn.kind, &arn.name, snapshot_type).await.map_err(ExportError::Listing)?;
        let source = match found {
            Some(snapshot) if snapshot.arn == arn.as_str() => snapshot,
            other => {
                let reason = match other {
                    Some(s) => {
                        let here = s.arn.parse::<SnapshotArn>().ok();
                        let other = match here {
                            Some(h) if h.partition != arn.partition => "partition",
                            Some(h) if h.account != arn.account => "account",
                            _ => "region",
                        };
                        format!(
                            "{arn} is a snapshot of another {other} than this function's (the snapshot of that name here is {})",
                            s.arn
                        )
                    }
                    None => format!("{arn} was not found: deleted, or not of the type its name suggests"),
                };
                tracing::warn!(snapshot_arn = %arn, %reason, "event for a snapshot that cannot be exported");
                let item = Item {
                    source_arn: arn.to_string(),
                    kind: arn.kind,
                    outcome: Outcome::Skipped,
                    copy_identifier: None,
                    reason,
                    // An event said it exists: an operator should know it was not exported.
                    finding: true,
                };
                return Ok(Report { items: vec![item], ..Report::default() });
            }
        };
        self.export(vec![source], &[arn.kind], dry_run, false).await
    }

    /// The scheduled sweep over snapshots taken within the sweep window before `now`.
    pub async fn sweep(&self, now: DateTime, dry_run: bool) -> Result<Report, ExportError> {
        let since = now.secs().saturating_sub(i64::try_from(self.settings.sweep_window.as_secs()).unwrap_or(i64::MAX));
        let mut sources = Vec::new();
        // The API's default lists automated and manual snapshots. AWS Backup's DB instance
        // snapshots need SnapshotType=awsbackup; "the awsbackup type does not apply to
        // Aurora" (DescribeDBSnapshots / DescribeDBClusterSnapshots API references): AWS
        // Backup's cluster snapshots are listed as manual ones.
        let listings = [
            (SnapshotKind::Instance, None),
            (SnapshotKind::Instance, Some("awsbackup")),
            (SnapshotKind::Cluster, None),
        ];
        for (kind, snapshot_type) in listings {
            let listed = self.rds.list(kind, snapshot_type).await.map_err(ExportError::Listing)?;
            // This snapshot's own creation time, not the data's: a fresh copy of old data
            // is new to the pipeline.
            sources.extend(listed.into_iter().filter(|s| s.created.is_none_or(|t| t.secs() >= since)));
        }
        self.export(sources, &[SnapshotKind::Instance, SnapshotKind::Cluster], dry_run, true).await
    }

    async fn export(
        &self,
        sources: Vec<Snapshot>,
        kinds: &[SnapshotKind],
        dry_run: bool,
        sweep: bool,
    ) -> Result<Report, ExportError> {
        let copies = self.rds.list_marked(kinds, tags::MARKER_EXPORT).await.map_err(ExportError::Listing)?;
        let (options, unreadable) = self.persistent_options(&sources).await;
        // A source whose option group cannot be read is not planned: it is reported.
        let (sources, blocked): (Vec<Snapshot>, Vec<Snapshot>) =
            sources.into_iter().partition(|s| s.option_group.as_ref().is_none_or(|g| !unreadable.contains_key(g)));
        let started_at = DateTime::from(SystemTime::now()).fmt(Format::DateTime).unwrap_or_default();
        let settings = PlanSettings {
            selection: &self.settings.selection,
            export_key: self.settings.export_key.as_str(),
            max_copies_in_flight: self.settings.max_copies_in_flight,
            max_attempts: self.settings.max_copy_attempts,
            started_at: &started_at,
            carry_source_tags: &self.settings.carry_source_tags,
        };
        let planned = plan(&sources, &copies, &options, &settings);
        let mut report = if dry_run { Self::dry_run_report(planned) } else { self.execute(planned).await };
        if !dry_run && self.quotas_due(sweep) {
            report.snapshot_quotas = self.rds.report_snapshot_quotas("exporter").await;
        }
        for source in blocked {
            let group = source.option_group.clone().unwrap_or_default();
            let why = unreadable.get(&group).cloned().unwrap_or_default();
            let reason = format!("cannot check option group {group} for persistent options: {why}");
            report.items.push(item(&source, Outcome::Failed, None, reason, true));
        }
        if !dry_run {
            report.metrics().flush();
        }
        Ok(report)
    }

    /// Option groups are looked up once per run, only for non-default groups of selected
    /// sources. Returns the options found and, apart, the groups that could not be read.
    async fn persistent_options(
        &self,
        sources: &[Snapshot],
    ) -> (BTreeMap<String, Vec<String>>, BTreeMap<String, String>) {
        let mut options = BTreeMap::new();
        let mut unreadable = BTreeMap::new();
        for source in sources {
            let Some(group) = &source.option_group else {
                continue;
            };
            if options.contains_key(group)
                || unreadable.contains_key(group)
                || source.tag(&self.settings.selection.key) != Some(&self.settings.selection.value)
            {
                continue;
            }
            match self.rds.persistent_options(group).await {
                Ok(found) => {
                    options.insert(group.clone(), found);
                }
                Err(error) => {
                    unreadable.insert(group.clone(), error.to_string());
                }
            }
        }
        (options, unreadable)
    }

    fn dry_run_report(planned: Vec<Planned>) -> Report {
        let items = planned
            .into_iter()
            .map(|p| match p.decision {
                Decision::Copy(request) => {
                    item(&p.source, Outcome::Copied, Some(request.target_identifier), "would copy".to_owned(), false)
                }
                Decision::Defer { copy_identifier } => {
                    item(&p.source, Outcome::Deferred, Some(copy_identifier), "copy limit reached".to_owned(), false)
                }
                Decision::Skip(skip) => skip_item(&p.source, &skip),
            })
            .collect();
        Report { items, ..Report::default() }
    }

    async fn execute(&self, planned: Vec<Planned>) -> Report {
        let mut report = Report::default();
        let mut stop: Option<String> = None;
        for Planned { source, decision } in planned {
            let request = match decision {
                Decision::Skip(skip) => {
                    let entry = skip_item(&source, &skip);
                    log_item(&entry);
                    report.items.push(entry);
                    continue;
                }
                Decision::Defer { copy_identifier } => {
                    let entry =
                        item(&source, Outcome::Deferred, Some(copy_identifier), "copy limit reached".to_owned(), false);
                    log_item(&entry);
                    report.items.push(entry);
                    continue;
                }
                Decision::Copy(request) => request,
            };
            let target = Some(request.target_identifier.clone());
            if let Some(why) = &stop {
                report.items.push(item(&source, Outcome::Deferred, target, why.clone(), false));
                continue;
            }
            let entry = match self.rds.copy_once(&request, Lineage::WORKLOAD_COPY).await {
                Ok(CopyOnce::Started) => {
                    item(&source, Outcome::Copied, target, "copy started with the export key".to_owned(), false)
                }
                Ok(CopyOnce::AlreadyOurs) => item(
                    &source,
                    Outcome::AlreadyExported,
                    target,
                    "copied concurrently by another run".to_owned(),
                    false,
                ),
                Ok(CopyOnce::Collision { other }) => {
                    let other_source =
                        other.as_ref().and_then(|c| c.tag(tags::SOURCE_ARN)).unwrap_or("an unknown source").to_owned();
                    skip_item(&source, &Skip::Collision { copy_identifier: request.target_identifier, other_source })
                }
                Err(error @ CopyOnceError::Check(_)) => item(&source, Outcome::Failed, target, error.to_string(), true),
                Err(CopyOnceError::Copy(error)) => match error.kind {
                    RdsErrorKind::QuotaExceeded => {
                        report.quota_exceeded = true;
                        let why = "manual snapshot quota exceeded: delete old snapshots or raise the quota".to_owned();
                        tracing::error!(snapshot_arn = %source.arn, error = %error, "{why}");
                        stop = Some(why.clone());
                        item(&source, Outcome::Deferred, target, why, true)
                    }
                    RdsErrorKind::KmsKeyNotAccessible => {
                        let why = format!(
                            "the export key {} is not usable (disabled, deleted, or its policy does not let this role use it through RDS): {error}",
                            self.settings.export_key
                        );
                        stop = Some("export key not usable".to_owned());
                        item(&source, Outcome::Failed, target, why, true)
                    }
                    RdsErrorKind::InvalidState => {
                        item(&source, Outcome::Deferred, target, "source not available at copy time".to_owned(), false)
                    }
                    RdsErrorKind::NotFound => item(
                        &source,
                        Outcome::Skipped,
                        target,
                        "source deleted before the copy started".to_owned(),
                        false,
                    ),
                    _ => item(&source, Outcome::Failed, target, error.to_string(), true),
                },
            };
            log_item(&entry);
            report.items.push(entry);
        }
        report
    }
}

/// The `SnapshotType` RDS needs to describe a snapshot by name.
fn snapshot_type_of(kind: SnapshotKind, name: &str) -> Option<&'static str> {
    if name.starts_with("rds:") {
        Some("automated")
    } else if name.starts_with("awsbackup:") && kind == SnapshotKind::Instance {
        // Aurora has no awsbackup type: AWS Backup's cluster snapshots are manual ones.
        Some("awsbackup")
    } else {
        None
    }
}

fn item(source: &Snapshot, outcome: Outcome, copy_identifier: Option<String>, reason: String, finding: bool) -> Item {
    Item { source_arn: source.arn.clone(), kind: source.kind, outcome, copy_identifier, reason, finding }
}

fn skip_item(source: &Snapshot, skip: &Skip) -> Item {
    let (outcome, target) = match skip {
        Skip::AlreadyExported { copy_identifier } => (Outcome::AlreadyExported, Some(copy_identifier.clone())),
        Skip::Collision { copy_identifier, .. } => (Outcome::Failed, Some(copy_identifier.clone())),
        _ => (Outcome::Skipped, None),
    };
    item(source, outcome, target, skip.describe(), skip.is_finding())
}

fn log_item(entry: &Item) {
    let target = entry.copy_identifier.as_deref().unwrap_or("");
    if entry.finding {
        tracing::warn!(snapshot_arn = %entry.source_arn, kind = %entry.kind, copy = target, outcome = ?entry.outcome, reason = %entry.reason, "export finding");
    } else {
        tracing::info!(snapshot_arn = %entry.source_arn, kind = %entry.kind, copy = target, outcome = ?entry.outcome, reason = %entry.reason, "export decision");
    }
}
