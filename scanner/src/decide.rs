//! What the scanner does with each of the pipeline's copies: a pure function of the copy,
//! its siblings (other copies of the same source) and the clock.

use std::time::Duration;

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use offsite_common::lineage::{attempt_of, is_genuine_copy, is_given_up};
use offsite_common::snapshot::{Snapshot, SnapshotStatus};
use offsite_common::tags;
use serde::Serialize;

/// A claim older than this belongs to a scan that died (Lambda runs 15 minutes at most).
pub const CLAIM_TTL: Duration = Duration::from_secs(15 * 60);

/// What to do with one copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum Action {
    /// Still copying; nothing to do.
    InFlight { progress: Option<i32>, age_seconds: u64 },
    /// Copying for longer than the stuck limit: mark it failed so the exporter retries.
    MarkStuck { age_seconds: u64 },
    /// Available and not announced (or its claim is stale): claim, share, announce, mark.
    Announce,
    /// Another scan claimed it moments ago.
    ClaimedElsewhere,
    /// Shared and announced; kept until retention.
    Announced,
    /// Announced and past the export retention: delete.
    Expire,
    /// Failed or given up and a newer attempt exists: delete.
    DeleteSuperseded,
    /// Failed or given up, and no newer attempt yet: report (the exporter retries it).
    ReportFailed { status: String },
    /// Not under the export key: never shared (a security finding); the exporter retries
    /// its source, and this copy is deleted once the retry is available.
    WrongKey { key: Option<String> },
    /// Marked stuck, but it finished after all and no newer attempt is under way: back to
    /// `exported`, so the next scan announces it.
    Revive,
    /// Carries the marker but is not one of the exporter's copies (its identifier does not
    /// match its tags): left alone, reported.
    NotOurs,
}

impl Action {
    /// Whether an operator should hear about it.
    pub fn is_finding(&self) -> bool {
        matches!(self, Self::MarkStuck { .. } | Self::ReportFailed { .. } | Self::WrongKey { .. } | Self::NotOurs)
    }
}

/// The inputs of a decision besides the copies.
#[derive(Debug, Clone)]
pub struct Clock<'a> {
    pub now: DateTime,
    pub stuck_after: Duration,
    pub export_retention: Duration,
    pub export_key: &'a str,
}

/// Seconds from an RFC 3339 tag value (or a snapshot time) to `now`, never negative.
fn age(now: DateTime, then: Option<DateTime>) -> Option<u64> {
    then.map(|t| u64::try_from(now.secs().saturating_sub(t.secs())).unwrap_or(0))
}

fn tag_time(copy: &Snapshot, key: &str) -> Option<DateTime> {
    copy.tag(key).and_then(|v| DateTime::from_str(v, Format::DateTime).ok())
}

/// When the copy started: RDS's creation time, else the exporter's tag (RDS reports no
/// `SnapshotCreateTime` while a copy is in progress).
pub fn started(copy: &Snapshot) -> Option<DateTime> {
    copy.created.or_else(|| tag_time(copy, tags::COPY_STARTED_AT))
}

/// Decides for `copy`; `siblings` are all the pipeline's copies of the same source
/// (`copy` included).
pub fn decide(copy: &Snapshot, siblings: &[&Snapshot], clock: &Clock<'_>) -> Action {
    if !is_genuine_copy(copy) {
        return Action::NotOurs;
    }
    let attempt = attempt_of(copy);
    let newer = |available: bool| {
        siblings.iter().any(|s| {
            attempt_of(s) > attempt
                && !is_given_up(s, clock.export_key)
                && (!available || s.status == SnapshotStatus::Available)
        })
    };
    if is_given_up(copy, clock.export_key) {
        let wrong_key = copy.kms_key_id.as_deref().is_some_and(|k| k != clock.export_key);
        return if newer(true) {
            Action::DeleteSuperseded
        } else if wrong_key {
            Action::WrongKey { key: copy.kms_key_id.clone() }
        } else if copy.status == SnapshotStatus::Available && !newer(false) {
            Action::Revive
        } else {
            Action::ReportFailed { status: copy.status.as_str().to_owned() }
        };
    }
    match &copy.status {
        SnapshotStatus::Available => match copy.tag(tags::STAGE) {
            Some(tags::STAGE_ANNOUNCED) => {
                let announced = tag_time(copy, tags::ANNOUNCED_AT).or(copy.created);
                match age(clock.now, announced) {
                    Some(seconds) if seconds > clock.export_retention.as_secs() => Action::Expire,
                    _ => Action::Announced,
                }
            }
            Some(tags::STAGE_ANNOUNCING) => {
                let claimed = age(clock.now, tag_time(copy, tags::CLAIMED_AT));
                match claimed {
                    Some(seconds) if seconds <= CLAIM_TTL.as_secs() => Action::ClaimedElsewhere,
                    _ => Action::Announce,
                }
            }
            _ => Action::Announce,
        },
        // In progress, or a status this version does not know: wait, up to the stuck limit.
        _ => {
            let age_seconds = age(clock.now, started(copy)).unwrap_or(0);
            if age_seconds > clock.stuck_after.as_secs() {
                Action::MarkStuck { age_seconds }
            } else {
                Action::InFlight { progress: copy.percent_progress, age_seconds }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use offsite_common::snapshot::SnapshotKind;

    use super::*;

    const KEY: &str = "arn:aws:kms:us-east-1:111111111111:key/export";
    const NOW: i64 = 1_800_000_000;
    const HOUR: i64 = 3600;

    fn clock() -> Clock<'static> {
        Clock {
            now: DateTime::from_secs(NOW),
            stuck_after: Duration::from_secs(24 * 3600),
            export_retention: Duration::from_secs(7 * 86_400),
            export_key: KEY,
        }
    }

    fn rfc3339(secs: i64) -> String {
        DateTime::from_secs(secs).fmt(Format::DateTime).expect("formats")
    }

    const SOURCE: &str = "arn:aws:rds:us-east-1:111111111111:snapshot:orders-1";

    /// A genuine copy of SOURCE: its identifier is the one the exporter gives its attempt.
    fn copy(status: SnapshotStatus, created_hours_ago: i64, tags: &[(&str, &str)]) -> Snapshot {
        let mut all = BTreeMap::from([
            (tags::MARKER.to_owned(), tags::MARKER_EXPORT.to_owned()),
            (tags::SOURCE_ARN.to_owned(), SOURCE.to_owned()),
        ]);
        all.extend(tags.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        let mut copy = Snapshot {
            percent_progress: Some(40),
            encrypted: true,
            kms_key_id: Some(KEY.into()),
            tags: all,
            created: Some(DateTime::from_secs(NOW - created_hours_ago * HOUR)),
            engine: Some("postgres".into()),
            source_database: Some("orders".into()),
            snapshot_type: Some("manual".into()),
            ..Snapshot::bare(
                SnapshotKind::Instance,
                "arn:aws:rds:us-east-1:111111111111:snapshot:offsite-x",
                "offsite-x",
                status,
            )
        };
        let source = Snapshot::bare(SnapshotKind::Instance, SOURCE, "orders-1", SnapshotStatus::Available);
        copy.identifier = offsite_common::lineage::attempt_identifier(&source, attempt_of(&copy));
        copy
    }

    fn alone(c: &Snapshot) -> Action {
        decide(c, &[c], &clock())
    }

    #[test]
    fn a_marked_snapshot_that_is_not_a_copy_is_left_alone() {
        let mut impostor = copy(SnapshotStatus::Available, 1, &[(tags::STAGE, tags::STAGE_ANNOUNCED)]);
        impostor.identifier = "operators-copy-of-a-copy".into();
        assert_eq!(alone(&impostor), Action::NotOurs);
        assert!(alone(&impostor).is_finding());
    }

    #[test]
    fn a_copy_without_a_creation_time_is_timed_from_the_exporters_tag() {
        let started = rfc3339(NOW - 30 * HOUR);
        let mut running = copy(SnapshotStatus::InProgress("copying".into()), 0, &[(tags::COPY_STARTED_AT, &started)]);
        running.created = None;
        assert_eq!(alone(&running), Action::MarkStuck { age_seconds: 30 * 3600 });
        let mut odd = copy(SnapshotStatus::Unknown("frozen".into()), 30, &[]);
        odd.created = Some(DateTime::from_secs(NOW - 30 * HOUR));
        assert!(matches!(alone(&odd), Action::MarkStuck { .. }), "unknown statuses time out too");
    }

    #[test]
    fn a_stuck_copy_that_finished_is_revived_unless_a_retry_is_under_way() {
        let late = copy(SnapshotStatus::Available, 30, &[(tags::STAGE, tags::STAGE_FAILED)]);
        assert_eq!(alone(&late), Action::Revive);
        let retry = copy(SnapshotStatus::InProgress("creating".into()), 1, &[(tags::ATTEMPT, "2")]);
        assert!(matches!(decide(&late, &[&late, &retry], &clock()), Action::ReportFailed { .. }));
        let done = copy(SnapshotStatus::Available, 1, &[(tags::ATTEMPT, "2")]);
        assert_eq!(decide(&late, &[&late, &done], &clock()), Action::DeleteSuperseded);
    }

    #[test]
    fn creating_copies_wait_until_stuck() {
        let young = copy(SnapshotStatus::InProgress("creating".into()), 2, &[]);
        assert_eq!(alone(&young), Action::InFlight { progress: Some(40), age_seconds: 7200 });
        let old = copy(SnapshotStatus::InProgress("creating".into()), 30, &[]);
        assert_eq!(alone(&old), Action::MarkStuck { age_seconds: 30 * 3600 });
        assert!(alone(&old).is_finding());
    }

    #[test]
    fn available_copies_are_announced_once() {
        let fresh = copy(SnapshotStatus::Available, 1, &[(tags::STAGE, tags::STAGE_EXPORTED)]);
        assert_eq!(alone(&fresh), Action::Announce);
        let claimed = rfc3339(NOW - 60);
        let busy =
            copy(SnapshotStatus::Available, 1, &[(tags::STAGE, tags::STAGE_ANNOUNCING), (tags::CLAIMED_AT, &claimed)]);
        assert_eq!(alone(&busy), Action::ClaimedElsewhere);
        let stale_at = rfc3339(NOW - 3600);
        let stale =
            copy(SnapshotStatus::Available, 2, &[(tags::STAGE, tags::STAGE_ANNOUNCING), (tags::CLAIMED_AT, &stale_at)]);
        assert_eq!(alone(&stale), Action::Announce, "a dead scan's claim is taken over: a repeat, never a miss");
        let announced_at = rfc3339(NOW - 3 * 86_400);
        let done = copy(
            SnapshotStatus::Available,
            80,
            &[(tags::STAGE, tags::STAGE_ANNOUNCED), (tags::ANNOUNCED_AT, &announced_at)],
        );
        assert_eq!(alone(&done), Action::Announced);
    }

    #[test]
    fn retention_counts_from_the_announcement() {
        let long_ago = rfc3339(NOW - 8 * 86_400);
        let expired = copy(
            SnapshotStatus::Available,
            9 * 24,
            &[(tags::STAGE, tags::STAGE_ANNOUNCED), (tags::ANNOUNCED_AT, &long_ago)],
        );
        assert_eq!(alone(&expired), Action::Expire);
        // Never expired before it was announced, however old.
        let unannounced = copy(SnapshotStatus::Available, 30 * 24, &[(tags::STAGE, tags::STAGE_EXPORTED)]);
        assert_eq!(alone(&unannounced), Action::Announce);
    }

    #[test]
    fn a_copy_under_another_key_is_never_shared() {
        let mut other = copy(SnapshotStatus::Available, 1, &[]);
        other.kms_key_id = Some("arn:aws:kms:us-east-1:111111111111:key/other".into());
        assert!(matches!(alone(&other), Action::WrongKey { .. }));
    }

    #[test]
    fn failed_copies_are_reported_until_a_retry_is_available_then_deleted() {
        let failed = copy(SnapshotStatus::Failed("failed".into()), 3, &[(tags::ATTEMPT, "1")]);
        assert_eq!(alone(&failed), Action::ReportFailed { status: "failed".into() });
        let retry = copy(SnapshotStatus::InProgress("creating".into()), 1, &[(tags::ATTEMPT, "2")]);
        assert!(matches!(decide(&failed, &[&failed, &retry], &clock()), Action::ReportFailed { .. }));
        let retried = copy(SnapshotStatus::Available, 1, &[(tags::ATTEMPT, "2")]);
        assert_eq!(decide(&failed, &[&failed, &retried], &clock()), Action::DeleteSuperseded);
        let given_up = copy(SnapshotStatus::InProgress("creating".into()), 30, &[(tags::STAGE, tags::STAGE_FAILED)]);
        assert!(matches!(alone(&given_up), Action::ReportFailed { .. }));
    }
}
