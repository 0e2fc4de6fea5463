//! One scan: list the pipeline's copies, decide, act, report.

use std::collections::BTreeMap;
use std::future::Future;

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use futures_util::{StreamExt, stream};
use offsite_common::metrics::Metrics;
use offsite_common::notice::{NOTICE_VERSION, Notice};
use offsite_common::rds::{RdsError, RdsSnapshots};
use offsite_common::snapshot::{Snapshot, SnapshotArn, SnapshotKind};
use offsite_common::tags;
use serde::Serialize;

use crate::announce;
use crate::decide::{Action, Clock, decide, started};
use crate::settings::ScannerSettings;

/// What happened to one copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    pub copy_identifier: String,
    pub kind: SnapshotKind,
    pub source_arn: Option<String>,
    #[serde(flatten)]
    pub action: Action,
    /// `done` (the action happened or nothing was due), or why it did not happen.
    pub result: String,
    /// An operator must look (a failed or stuck copy, a copy not ours, a security finding).
    pub finding: bool,
    /// A security finding: the pipeline's copies are not as it left them (another key,
    /// copied tags, shared with another account, a notice it would not publish); counted by
    /// the `SecurityFindings` metric.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub security: bool,
}

/// The result of a scan, returned by the Lambda function and logged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub items: Vec<Item>,
    /// Copies newly announced by this scan.
    pub announced: Vec<String>,
    /// Copies deleted by this scan (expired or superseded).
    pub deleted: Vec<String>,
    /// Age of the oldest copy not yet announced, seconds.
    pub oldest_pending_seconds: Option<u64>,
    /// AWS calls that failed; the next scan repeats them.
    pub errors: Vec<String>,
}

impl Report {
    fn count(&self, predicate: impl Fn(&Action) -> bool) -> usize {
        self.items.iter().filter(|i| predicate(&i.action)).count()
    }

    /// What must fail the invocation (so the error alarm fires), or `None`.
    pub fn failure(&self) -> Option<ScanError> {
        (!self.errors.is_empty()).then(|| ScanError::Incomplete { errors: self.errors.clone() })
    }

    fn metrics(&self) -> Metrics {
        let mut m = Metrics::new("Function", "scanner");
        m.add("CopiesInFlight", self.count(|a| matches!(a, Action::InFlight { .. })) as f64);
        m.add("Announced", self.announced.len() as f64);
        m.add("FailedCopies", self.count(|a| matches!(a, Action::ReportFailed { .. })) as f64);
        m.add("StuckCopies", self.count(|a| matches!(a, Action::MarkStuck { .. })) as f64);
        m.add("Deleted", self.deleted.len() as f64);
        m.add("SecurityFindings", self.items.iter().filter(|i| i.security).count() as f64);
        m.add("ScanErrors", self.errors.len() as f64);
        m.add("OldestPendingCopyAgeSeconds", self.oldest_pending_seconds.unwrap_or(0) as f64);
        m
    }
}

/// Calls one step of a scan makes at once over its copies (the claims, the shares, one
/// batch's marks, the deletes). One after another, a burst of due copies waited 20 ms per
/// call and copy: 195 copies finished at once took 23 s to announce (the end-to-end
/// benchmark). The protocol's order holds: every claim before the settle, every share
/// before its publish, a batch's marks after its `PublishBatch`; within a step the copies
/// are independent. Ten stays far below RDS's API rate (the SDK retries throttling anyway).
pub const CALLS_AT_ONCE: usize = 10;

/// `call` over `items`, [`CALLS_AT_ONCE`] at a time, the results in the items' order.
async fn at_once<T, F, Fut>(items: impl IntoIterator<Item = T>, call: F) -> Vec<Fut::Output>
where
    F: FnMut(T) -> Fut,
    Fut: Future,
{
    stream::iter(items).map(call).buffered(CALLS_AT_ONCE).collect().await
}

/// The scanner: RDS and SNS access plus settings.
#[derive(Debug, Clone)]
pub struct Scanner {
    rds: RdsSnapshots,
    sns: aws_sdk_sns::Client,
    settings: ScannerSettings,
}

/// Why an invocation fails.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// Listing failed: nothing could be decided.
    #[error("cannot list the pipeline's copies: {0}")]
    Listing(#[source] RdsError),
    /// The scan ran, but AWS calls failed; the next scan repeats them.
    #[error("{} scanner error(s): {}", .errors.len(), .errors.join("; "))]
    Incomplete { errors: Vec<String> },
}

impl Scanner {
    pub fn new(rds: RdsSnapshots, sns: aws_sdk_sns::Client, settings: ScannerSettings) -> Self {
        Self { rds, sns, settings }
    }

    /// The pipeline's copies (both kinds), listed with their tags, 100 per call.
    pub async fn copies(&self) -> Result<Vec<Snapshot>, RdsError> {
        let kinds = [SnapshotKind::Instance, SnapshotKind::Cluster];
        self.rds.list_marked(&kinds, tags::MARKER_EXPORT).await
    }

    /// Scans once. `scan_id` must be unique per scan (the Lambda request id): it is the
    /// claim that keeps two overlapping scans from announcing a copy twice.
    pub async fn scan(&self, now: DateTime, scan_id: &str) -> Result<Report, ScanError> {
        let copies = self.copies().await.map_err(ScanError::Listing)?;
        let mut siblings: BTreeMap<&str, Vec<&Snapshot>> = BTreeMap::new();
        for copy in &copies {
            siblings.entry(copy.tag(tags::SOURCE_ARN).unwrap_or(&copy.arn)).or_default().push(copy);
        }
        let clock = Clock {
            now,
            stuck_after: self.settings.stuck_after,
            export_retention: self.settings.export_retention,
            export_key: self.settings.export_key.as_str(),
        };
        let mut report = Report::default();
        let family_of = |copy: &Snapshot| -> Vec<&Snapshot> {
            siblings.get(copy.tag(tags::SOURCE_ARN).unwrap_or(&copy.arn)).cloned().unwrap_or_default()
        };
        // Tag writes (claim, stuck, revive) wait for a re-read of their copies, so that a
        // decision taken on a listing seconds old never overwrites another scan's work.
        let mut to_recheck: Vec<(&Snapshot, Action)> = Vec::new();
        let mut to_delete: Vec<(&Snapshot, Action)> = Vec::new();
        for copy in &copies {
            let action = decide(copy, &family_of(copy), &clock);
            if matches!(
                action,
                Action::InFlight { .. } | Action::Announce | Action::ClaimedElsewhere | Action::MarkStuck { .. }
            ) {
                let age = started(copy).map(|c| u64::try_from(now.secs().saturating_sub(c.secs())).unwrap_or(0));
                report.oldest_pending_seconds = report.oldest_pending_seconds.max(age);
            }
            let result = match &action {
                Action::Announce | Action::MarkStuck { .. } | Action::Revive => {
                    to_recheck.push((copy, action));
                    continue;
                }
                Action::Expire | Action::DeleteSuperseded => {
                    to_delete.push((copy, action));
                    continue;
                }
                Action::WrongKey { key } => {
                    let key = key.as_deref().unwrap_or("no key");
                    let why = format!(
                        "SECURITY: encrypted with {key} instead of the export key; never shared, the exporter retries its source"
                    );
                    report.items.push(security_finding(copy, action, why));
                    continue;
                }
                Action::NotOurs => {
                    let why = "SECURITY: carries Offsite's marker but its identifier does not match its tags (a copy made with copied tags?); left alone";
                    report.items.push(security_finding(copy, action, why.to_owned()));
                    continue;
                }
                _ => Ok("done".to_owned()),
            };
            report.items.push(item(copy, action, result, &mut report.errors));
        }
        let deleted = at_once(to_delete, |(copy, action)| async move { (copy, action, self.delete_copy(copy).await) });
        for (copy, action, result) in deleted.await {
            let result = result.map(|()| {
                report.deleted.push(copy.identifier.clone());
                "deleted".to_owned()
            });
            report.items.push(item(copy, action, result, &mut report.errors));
        }
        let fresh = match self.reread(to_recheck.iter().map(|(c, _)| *c)).await {
            Ok(fresh) => fresh,
            Err(e) => {
                report.errors.push(format!("re-reading copies before tagging: {e}"));
                BTreeMap::new()
            }
        };
        let mut due = Vec::new();
        for (listed, action) in to_recheck {
            let Some(copy) = fresh.get(&listed.identifier) else {
                report.items.push(item(
                    listed,
                    action,
                    Ok("gone or unreadable meanwhile; next scan".to_owned()),
                    &mut report.errors,
                ));
                continue;
            };
            let again = decide(copy, &family_of(copy), &clock);
            if again != action {
                report.items.push(item(
                    copy,
                    again,
                    Ok("changed meanwhile; next scan decides".to_owned()),
                    &mut report.errors,
                ));
                continue;
            }
            let result = match &action {
                Action::Announce => {
                    due.push(copy);
                    continue;
                }
                Action::MarkStuck { age_seconds } => {
                    let mark = BTreeMap::from([
                        (tags::STAGE.to_owned(), tags::STAGE_FAILED.to_owned()),
                        (tags::FAILURE.to_owned(), format!("stuck copying for {}h", age_seconds / 3600)),
                    ]);
                    self.rds.add_tags(&copy.arn, &mark).await.map(|()| "marked failed; the exporter retries".to_owned())
                }
                _ => {
                    let revive = BTreeMap::from([(tags::STAGE.to_owned(), tags::STAGE_EXPORTED.to_owned())]);
                    self.rds
                        .add_tags(&copy.arn, &revive)
                        .await
                        .map(|()| "finished after all: back to exported".to_owned())
                }
            };
            report.items.push(item(copy, action, result, &mut report.errors));
        }
        self.announce(due, now, scan_id, &mut report).await;
        for entry in &report.items {
            if entry.finding || entry.security {
                tracing::warn!(copy = %entry.copy_identifier, source_arn = ?entry.source_arn, action = ?entry.action, result = %entry.result, "scanner finding");
            } else {
                tracing::info!(copy = %entry.copy_identifier, action = ?entry.action, result = %entry.result, "scanner decision");
            }
        }
        report.metrics().flush();
        Ok(report)
    }

    /// The current state of `copies`, read with filtered describes (20 identifiers a call).
    async fn reread<'a>(
        &self,
        copies: impl Iterator<Item = &'a Snapshot>,
    ) -> Result<BTreeMap<String, Snapshot>, RdsError> {
        let mut ids: BTreeMap<SnapshotKind, Vec<String>> = BTreeMap::new();
        for copy in copies {
            ids.entry(copy.kind).or_default().push(copy.identifier.clone());
        }
        let mut fresh = BTreeMap::new();
        for (kind, ids) in ids {
            fresh.extend(self.rds.describe_many(kind, &ids).await?.into_iter().map(|c| (c.identifier.clone(), c)));
        }
        Ok(fresh)
    }

    /// Deletes one of the pipeline's copies; anything without the marker is refused here
    /// too, whatever the caller decided.
    async fn delete_copy(&self, copy: &Snapshot) -> Result<(), RdsError> {
        if copy.tag(tags::MARKER) != Some(tags::MARKER_EXPORT) {
            return Err(RdsError {
                operation: "DeleteDBSnapshot",
                target: copy.identifier.clone(),
                kind: offsite_common::rds_error::RdsErrorKind::Other("NotOurs".to_owned()),
                message: "refused: not one of Offsite's copies".to_owned(),
            });
        }
        self.rds.delete(copy.kind, &copy.identifier).await
    }

    /// Claim, settle, confirm, share, publish, mark. A crash between any two steps leaves
    /// the copy `exported` or `announcing` (claim expires): a repeat, never a miss.
    async fn announce(&self, due: Vec<&Snapshot>, now: DateTime, scan_id: &str, report: &mut Report) {
        if due.is_empty() {
            return;
        }
        let now_text = now.fmt(Format::DateTime).unwrap_or_default();
        let claim = BTreeMap::from([
            (tags::STAGE.to_owned(), tags::STAGE_ANNOUNCING.to_owned()),
            (tags::CLAIM.to_owned(), scan_id.to_owned()),
            (tags::CLAIMED_AT.to_owned(), now_text.clone()),
        ]);
        let mut claimed = Vec::new();
        let claim = &claim;
        for (copy, result) in
            at_once(due, |copy| async move { (copy, self.rds.add_tags(&copy.arn, claim).await) }).await
        {
            match result {
                Ok(()) => claimed.push(copy),
                Err(e) => report.items.push(item(copy, Action::Announce, Err(e), &mut report.errors)),
            }
        }
        tokio::time::sleep(self.settings.claim_settle).await;
        // Whoever wrote the claim last owns the copy; the others step back. Only the
        // claimed copies are read again, 20 per call.
        let mut current: BTreeMap<String, Snapshot> = BTreeMap::new();
        for kind in [SnapshotKind::Instance, SnapshotKind::Cluster] {
            let ids: Vec<String> = claimed.iter().filter(|c| c.kind == kind).map(|c| c.identifier.clone()).collect();
            if ids.is_empty() {
                continue;
            }
            match self.rds.describe_many(kind, &ids).await {
                Ok(found) => current.extend(found.into_iter().map(|c| (c.identifier.clone(), c))),
                Err(e) => {
                    report.errors.push(format!("re-reading claimed copies: {e}"));
                    return;
                }
            }
        }
        let mut to_publish: Vec<(&Snapshot, Notice)> = Vec::new();
        let mut ours = Vec::new();
        for copy in claimed {
            let owned = current.get(&copy.identifier).is_some_and(|c| {
                c.tag(tags::CLAIM) == Some(scan_id) && c.tag(tags::STAGE) == Some(tags::STAGE_ANNOUNCING)
            });
            if owned {
                ours.push(copy);
            } else {
                report.items.push(item(
                    copy,
                    Action::ClaimedElsewhere,
                    Ok("claimed by another scan".to_owned()),
                    &mut report.errors,
                ));
            }
        }
        let vault = self.settings.vault_account.as_str();
        let shared = at_once(ours, |copy| async move {
            match self.rds.share(copy.kind, &copy.identifier, vault).await {
                Ok(accounts) => (copy, Ok(accounts), None),
                // Not shared, so nothing may be announced; the next scan retries at once.
                Err(e) => (copy, Err(e), self.release_claim(copy).await),
            }
        });
        for (copy, shared, release_error) in shared.await {
            report.errors.extend(release_error);
            match shared {
                Ok(accounts) => {
                    let foreign: Vec<&String> =
                        accounts.iter().filter(|a| a.as_str() != self.settings.vault_account.as_str()).collect();
                    if !foreign.is_empty() {
                        let finding = format!("SECURITY: also shared with {foreign:?}, not only with the vault");
                        tracing::warn!(copy = %copy.identifier, accounts = ?foreign, "{finding}");
                        report.items.push(security_finding(copy, Action::Announce, finding));
                    }
                }
                Err(e) => {
                    report.items.push(item(copy, Action::Announce, Err(e), &mut report.errors));
                    continue;
                }
            }
            match notice_for(copy, &self.settings, &now_text) {
                Ok(notice) => to_publish.push((copy, notice)),
                Err(why) => report.items.push(security_finding(copy, Action::Announce, format!("SECURITY: {why}"))),
            }
        }
        let announced = BTreeMap::from([
            (tags::STAGE.to_owned(), tags::STAGE_ANNOUNCED.to_owned()),
            (tags::ANNOUNCED_AT.to_owned(), now_text.clone()),
        ]);
        // One `PublishBatch` at a time, its copies marked before the next: a crash between
        // publishing and marking repeats at most one batch's notices, not the whole scan's
        // (the chaos run measured about two notices per copy when marking came last).
        for batch in to_publish.chunks(announce::BATCH_SIZE) {
            let notices: Vec<Notice> = batch.iter().map(|(_, n)| n.clone()).collect();
            let results = announce::publish(&self.sns, &self.settings.topic_arn, &notices).await;
            let announced = &announced;
            let marked = at_once(batch.iter().zip(results), |((copy, _), published)| async move {
                (*copy, self.mark_published(copy, published, announced).await)
            });
            for (copy, (result, errors)) in marked.await {
                if result.is_ok() && errors.is_empty() {
                    report.announced.push(copy.identifier.clone());
                }
                report.errors.extend(errors);
                report.items.push(item(copy, Action::Announce, result, &mut report.errors));
            }
        }
    }

    /// After one notice's `PublishBatch`: marks the copy announced, or releases its claim so
    /// that the next scan retries at once. The item's result, and the errors to report
    /// besides it (a failed publish, a failed release).
    async fn mark_published(
        &self,
        copy: &Snapshot,
        published: Result<(), String>,
        announced: &BTreeMap<String, String>,
    ) -> (Result<String, RdsError>, Vec<String>) {
        match published {
            Ok(()) => {
                (self.rds.add_tags(&copy.arn, announced).await.map(|()| "shared and announced".to_owned()), vec![])
            }
            Err(message) => {
                let mut errors = vec![format!("publishing {}: {message}", copy.identifier)];
                errors.extend(self.release_claim(copy).await);
                (Ok(format!("not announced: {message}")), errors)
            }
        }
    }

    /// Gives up this scan's claim on a copy it could not share or announce, so that the next
    /// scan retries at once instead of after `CLAIM_TTL`; the error to report when it cannot
    /// (the claim then expires after `CLAIM_TTL` instead).
    async fn release_claim(&self, copy: &Snapshot) -> Option<String> {
        let release = BTreeMap::from([(tags::STAGE.to_owned(), tags::STAGE_EXPORTED.to_owned())]);
        let released = self.rds.add_tags(&copy.arn, &release).await;
        released.err().map(|e| format!("releasing the claim on {}: {e}", copy.identifier))
    }
}

fn item(copy: &Snapshot, action: Action, result: Result<String, RdsError>, errors: &mut Vec<String>) -> Item {
    let result = result.unwrap_or_else(|e| {
        errors.push(e.to_string());
        format!("error: {e}")
    });
    Item {
        copy_identifier: copy.identifier.clone(),
        kind: copy.kind,
        source_arn: copy.tag(tags::SOURCE_ARN).map(str::to_owned),
        finding: action.is_finding(),
        action,
        result,
        security: false,
    }
}

/// An item that is a security finding (and so a finding).
fn security_finding(copy: &Snapshot, action: Action, why: String) -> Item {
    Item { finding: true, security: true, ..item(copy, action, Ok(why), &mut Vec::new()) }
}

/// The notice for a copy, from its own fields and the pipeline's tags.
pub fn notice_for(copy: &Snapshot, settings: &ScannerSettings, announce_time: &str) -> Result<Notice, String> {
    let arn: SnapshotArn = copy.arn.parse().map_err(|e| format!("{e}"))?;
    let source = copy.tag(tags::SOURCE_ARN).ok_or("no source ARN tag: not announced")?;
    let original = copy
        .tag(tags::SOURCE_CREATED)
        .map(str::to_owned)
        .or_else(|| copy.taken_at().and_then(|t| t.fmt(Format::DateTime).ok()));
    let notice = Notice {
        version: NOTICE_VERSION,
        notice_id: Notice::id_for(&copy.arn),
        kind: copy.kind,
        copy_arn: copy.arn.clone(),
        source_account: arn.account,
        source_region: arn.region,
        export_key_arn: settings.export_key.as_str().to_owned(),
        source_snapshot_arn: source.to_owned(),
        source_database: copy.source_database.clone().filter(|d| !d.is_empty()),
        engine: copy.engine.clone().filter(|e| !e.is_empty()),
        original_create_time: original,
        announce_time: announce_time.to_owned(),
        source_tags: offsite_common::source_tags::carried(&copy.tags),
    };
    // The importer checks exactly this; never publish what it would refuse.
    Notice::parse(&notice.to_json()).map_err(|e| format!("notice would be invalid: {e}"))
}

#[cfg(test)]
mod tests {
    //! The last guard before a delete, below the decision: the listing only ever yields the
    //! pipeline's copies, so no scan reaches it; here it is called directly, over an RDS
    //! client mocked below the SDK that counts the deletes it receives.

    use aws_sdk_rds::operation::delete_db_snapshot::DeleteDbSnapshotOutput;
    use aws_smithy_mocks::{mock, mock_client};
    use offsite_common::snapshot::SnapshotStatus;

    use super::*;

    fn scanner(rds: aws_sdk_rds::Client) -> Scanner {
        let env: BTreeMap<String, String> = [
            ("OFFSITE_VAULT_ACCOUNT_ID", "222222222222"),
            ("OFFSITE_TOPIC_ARN", "arn:aws:sns:us-east-1:111111111111:offsite"),
            ("OFFSITE_EXPORT_KEY_ARN", "arn:aws:kms:us-east-1:111111111111:key/k"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        // Never called: an SNS client with no endpoint behind it.
        let sns = aws_sdk_sns::Client::from_conf(
            aws_sdk_sns::Config::builder()
                .behavior_version(aws_sdk_sns::config::BehaviorVersion::latest())
                .region(aws_sdk_sns::config::Region::new("us-east-1"))
                .build(),
        );
        Scanner::new(RdsSnapshots::new(rds), sns, ScannerSettings::from_env(&env).expect("settings"))
    }

    #[tokio::test]
    async fn a_copy_without_the_export_marker_is_never_deleted_whatever_was_decided() {
        let delete =
            mock!(aws_sdk_rds::Client::delete_db_snapshot).then_output(|| DeleteDbSnapshotOutput::builder().build());
        let scanner = scanner(mock_client!(aws_sdk_rds, [&delete]));
        let arn = "arn:aws:rds:us-east-1:111111111111:snapshot:offsite-orders-nightly-0924fa2c75cf54b6";
        let mut copy = Snapshot::bare(SnapshotKind::Instance, arn, "offsite-orders-nightly-0924fa2c75cf54b6", {
            SnapshotStatus::Available
        });
        for marker in [None, Some(tags::MARKER_IMPORT), Some("offsite-export-but-not-quite")] {
            copy.tags.clear();
            if let Some(marker) = marker {
                copy.tags.insert(tags::MARKER.to_owned(), marker.to_owned());
            }
            let refused = scanner.delete_copy(&copy).await.expect_err("refused");
            assert!(refused.message.contains("not one of Offsite's copies"), "{refused}");
        }
        assert_eq!(delete.num_calls(), 0, "no delete reached RDS");
        // The guard refuses only that: the pipeline's own copy is deleted.
        copy.tags.insert(tags::MARKER.to_owned(), tags::MARKER_EXPORT.to_owned());
        scanner.delete_copy(&copy).await.expect("deleted");
        assert_eq!(delete.num_calls(), 1);
    }
}
