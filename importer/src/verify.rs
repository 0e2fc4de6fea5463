//! Is this notice, and the snapshot it points at, something the vault imports? Pure checks;
//! the RDS lookup happens in the caller, between [`check_notice`] and [`check_shared`].
//!
//! Every rejection has its own variant and message, so the log says exactly why a message
//! went to the dead-letter queue.

use std::time::Duration;

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use offsite_common::notice::{Notice, NoticeError};
use offsite_common::snapshot::{Snapshot, SnapshotKind, SnapshotStatus};
use serde::Serialize;

use crate::allow::{AllowList, AllowedSource};
use crate::envelope::{EnvelopeError, SnsEnvelope};

/// Why the vault refuses (or, for the retryable ones, postpones) a message or a share.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "rejection", content = "detail", rename_all = "kebab-case")]
pub enum Rejection {
    #[error("{0}")]
    Envelope(String),
    #[error("topic {0} is not an allowed source topic")]
    TopicNotAllowed(String),
    #[error("invalid notice: {0}")]
    Notice(String),
    #[error("account {0} is not on the allow-list")]
    AccountNotAllowed(String),
    #[error("notice for account {account} came through topic {topic}, which is not that account's topic")]
    TopicOfAnotherAccount { account: String, topic: String },
    #[error("snapshot is in region {actual}; this vault imports from {expected} only")]
    WrongRegion { actual: String, expected: String },
    #[error("notice names key {claimed}; the allow-list expects {expected} for this account")]
    KeyNotExpected { claimed: String, expected: String },
    #[error("notice announced at {0} is older than the accepted age: a replay or a very late delivery")]
    Stale(String),
    #[error("notice announced at {0} is in the future")]
    FromTheFuture(String),
    #[error("{0} is not shared with the vault (or was deleted)")]
    NotShared(String),
    #[error("{arn} is {status}, not available (retried later)")]
    NotAvailable { arn: String, status: String },
    #[error("{0} is not encrypted")]
    Unencrypted(String),
    #[error("{arn} is encrypted with {actual}, not with the expected export key {expected}")]
    WrongKey { arn: String, actual: String, expected: String },
    #[error("{arn} is a {actual}, not the {claimed} the notice claims")]
    WrongKind { arn: String, actual: SnapshotKind, claimed: SnapshotKind },
    #[error("{0} is not a snapshot shared by another account")]
    NotShareFromSource(String),
    #[error("SECURITY: vault snapshot {target} exists and is not a copy of {copy_arn}; nothing overwritten")]
    Collision { target: String, copy_arn: String },
    #[error("import quota reached ({0}); deferred")]
    Deferred(String),
}

impl Rejection {
    /// Retryable: the message should come back later rather than end in the DLQ.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::NotAvailable { .. } | Self::Deferred(_))
    }

    /// A security finding: another snapshot sits under the vault's own name for this copy.
    pub fn is_security_finding(&self) -> bool {
        matches!(self, Self::Collision { .. })
    }
}

impl From<EnvelopeError> for Rejection {
    fn from(e: EnvelopeError) -> Self {
        Self::Envelope(e.to_string())
    }
}

impl From<NoticeError> for Rejection {
    fn from(e: NoticeError) -> Self {
        Self::Notice(e.to_string())
    }
}

/// What the checks compare against.
#[derive(Debug, Clone)]
pub struct Expectations<'a> {
    pub allow: &'a AllowList,
    /// The vault's region: shared encrypted snapshots can only be copied within it.
    pub region: &'a str,
    pub now: DateTime,
    /// Notices older than this are refused as replays.
    pub max_notice_age: Duration,
}

/// Clock skew tolerated on `announce_time`.
const MAX_SKEW: Duration = Duration::from_secs(300);

/// Checks the envelope and the notice before any AWS call.
pub fn check_notice<'a>(
    envelope: &SnsEnvelope,
    expect: &Expectations<'a>,
) -> Result<(Notice, &'a AllowedSource), Rejection> {
    let by_topic = expect
        .allow
        .topic_account(&envelope.topic_arn)
        .ok_or_else(|| Rejection::TopicNotAllowed(envelope.topic_arn.clone()))?;
    let notice = Notice::parse(&envelope.message)?;
    let source = expect
        .allow
        .get(&notice.source_account)
        .ok_or_else(|| Rejection::AccountNotAllowed(notice.source_account.to_string()))?;
    if by_topic.account != source.account {
        return Err(Rejection::TopicOfAnotherAccount {
            account: source.account.to_string(),
            topic: envelope.topic_arn.clone(),
        });
    }
    if notice.source_region != expect.region {
        return Err(Rejection::WrongRegion {
            actual: notice.source_region.clone(),
            expected: expect.region.to_owned(),
        });
    }
    if notice.export_key_arn != source.export_key_arn.as_str() {
        return Err(Rejection::KeyNotExpected {
            claimed: notice.export_key_arn.clone(),
            expected: source.export_key_arn.to_string(),
        });
    }
    // Notice::parse checked the format.
    let announced =
        DateTime::from_str(&notice.announce_time, Format::DateTime).map_err(|e| Rejection::Notice(e.to_string()))?;
    let age = expect.now.secs() - announced.secs();
    if age > i64::try_from(expect.max_notice_age.as_secs()).unwrap_or(i64::MAX) {
        return Err(Rejection::Stale(notice.announce_time.clone()));
    }
    if -age > i64::try_from(MAX_SKEW.as_secs()).unwrap_or(i64::MAX) {
        return Err(Rejection::FromTheFuture(notice.announce_time.clone()));
    }
    Ok((notice, source))
}

/// Checks what RDS says about the shared snapshot (`found`, looked up by `arn` among the
/// snapshots shared with the vault) against what is expected of `source`.
pub fn check_shared(
    found: Option<&Snapshot>,
    arn: &str,
    kind: SnapshotKind,
    source: &AllowedSource,
) -> Result<(), Rejection> {
    let snapshot = found.ok_or_else(|| Rejection::NotShared(arn.to_owned()))?;
    if snapshot.arn != arn || snapshot.snapshot_type.as_deref() != Some("shared") {
        return Err(Rejection::NotShareFromSource(arn.to_owned()));
    }
    if snapshot.kind != kind {
        return Err(Rejection::WrongKind { arn: arn.to_owned(), actual: snapshot.kind, claimed: kind });
    }
    if !snapshot.encrypted {
        return Err(Rejection::Unencrypted(arn.to_owned()));
    }
    let key = snapshot.kms_key_id.as_deref().unwrap_or("no key");
    if key != source.export_key_arn.as_str() {
        return Err(Rejection::WrongKey {
            arn: arn.to_owned(),
            actual: key.to_owned(),
            expected: source.export_key_arn.to_string(),
        });
    }
    match &snapshot.status {
        SnapshotStatus::Available => Ok(()),
        other => Err(Rejection::NotAvailable { arn: arn.to_owned(), status: other.as_str().to_owned() }),
    }
}

#[cfg(test)]
mod tests {
    //! Every rejection `check_notice` and `check_shared` can give, each on a notice or a
    //! share that differs from a good one in that one respect. (The importer reaches each
    //! of them too; `tests/tests/integration/hostile/` sends them through it against the emulator.)

    use offsite_common::config::Setting;
    use offsite_common::notice::NOTICE_VERSION;

    use super::*;

    const W: &str = "111111111111";
    const OTHER: &str = "444444444444";
    const TOPIC: &str = "arn:aws:sns:us-east-1:111111111111:offsite-announcements";
    const OTHER_TOPIC: &str = "arn:aws:sns:us-east-1:444444444444:offsite-announcements";
    const KEY: &str = "arn:aws:kms:us-east-1:111111111111:key/export";
    const COPY: &str = "arn:aws:rds:us-east-1:111111111111:snapshot:offsite-orders-nightly-0924fa2c75cf54b6";

    fn allow() -> AllowList {
        AllowList::parse_setting(&format!(
            r#"[{{"account":"{W}","export_key_arn":"{KEY}","topic_arn":"{TOPIC}"}},
                {{"account":"{OTHER}","export_key_arn":"arn:aws:kms:us-east-1:{OTHER}:key/export","topic_arn":"{OTHER_TOPIC}"}}]"#
        ))
        .expect("allow-list")
    }

    fn now() -> DateTime {
        DateTime::from_str("2026-12-06T12:00:00Z", Format::DateTime).expect("time")
    }

    fn notice() -> Notice {
        Notice {
            version: NOTICE_VERSION,
            notice_id: Notice::id_for(COPY),
            kind: SnapshotKind::Instance,
            copy_arn: COPY.into(),
            source_account: W.parse().expect("account"),
            source_region: "us-east-1".into(),
            export_key_arn: KEY.into(),
            source_snapshot_arn: "arn:aws:rds:us-east-1:111111111111:snapshot:orders-nightly".into(),
            source_database: Some("orders".into()),
            engine: Some("postgres".into()),
            original_create_time: Some("2026-12-06T03:00:00Z".into()),
            announce_time: "2026-12-06T11:00:00Z".into(),
            source_tags: std::collections::BTreeMap::new(),
        }
    }

    fn check(topic: &str, notice: &Notice) -> Result<String, Rejection> {
        let allow = allow();
        let expect = Expectations {
            allow: &allow,
            region: "us-east-1",
            now: now(),
            max_notice_age: Duration::from_secs(86_400),
        };
        let envelope = SnsEnvelope { topic_arn: topic.into(), message_id: "m".into(), message: notice.to_json() };
        check_notice(&envelope, &expect).map(|(n, source)| format!("{} from {}", n.copy_arn, source.account))
    }

    fn reissued(edit: impl Fn(&mut Notice)) -> Notice {
        let mut n = notice();
        edit(&mut n);
        n.notice_id = Notice::id_for(&n.copy_arn);
        n
    }

    #[test]
    fn a_good_notice_passes_with_its_source() {
        assert_eq!(check(TOPIC, &notice()), Ok(format!("{COPY} from {W}")));
    }

    #[test]
    fn each_wrong_claim_in_a_notice_has_its_own_rejection() {
        let other_account = reissued(|n| {
            n.source_account = OTHER.parse().expect("account");
            n.copy_arn = COPY.replace(W, OTHER);
            n.source_snapshot_arn = n.source_snapshot_arn.replace(W, OTHER);
            n.export_key_arn = format!("arn:aws:kms:us-east-1:{OTHER}:key/export");
        });
        // Allowed account, allowed topic, but the topic is the *other* allowed account's.
        assert_eq!(
            check(TOPIC, &other_account),
            Err(Rejection::TopicOfAnotherAccount { account: OTHER.into(), topic: TOPIC.into() })
        );
        assert_eq!(
            check(OTHER_TOPIC, &notice()),
            Err(Rejection::TopicOfAnotherAccount { account: W.into(), topic: OTHER_TOPIC.into() })
        );
        let stranger_topic = "arn:aws:sns:us-east-1:555555555555:offsite-announcements";
        assert_eq!(check(stranger_topic, &notice()), Err(Rejection::TopicNotAllowed(stranger_topic.into())));
        let stranger = reissued(|n| {
            n.source_account = "555555555555".parse().expect("account");
            n.copy_arn = COPY.replace(W, "555555555555");
            n.source_snapshot_arn = n.source_snapshot_arn.replace(W, "555555555555");
            n.export_key_arn = KEY.replace(W, "555555555555");
        });
        assert_eq!(check(TOPIC, &stranger), Err(Rejection::AccountNotAllowed("555555555555".into())));
        let west = reissued(|n| {
            n.source_region = "us-west-2".into();
            n.copy_arn = COPY.replace("us-east-1", "us-west-2");
            n.source_snapshot_arn = n.source_snapshot_arn.replace("us-east-1", "us-west-2");
        });
        assert_eq!(
            check(TOPIC, &west),
            Err(Rejection::WrongRegion { actual: "us-west-2".into(), expected: "us-east-1".into() })
        );
        let key = "arn:aws:kms:us-east-1:111111111111:key/other";
        assert_eq!(
            check(TOPIC, &reissued(|n| n.export_key_arn = key.into())),
            Err(Rejection::KeyNotExpected { claimed: key.into(), expected: KEY.into() })
        );
        let old = "2026-12-05T11:59:59Z";
        assert_eq!(check(TOPIC, &reissued(|n| n.announce_time = old.into())), Err(Rejection::Stale(old.into())));
        let exactly_a_day = "2026-12-05T12:00:00Z";
        assert!(check(TOPIC, &reissued(|n| n.announce_time = exactly_a_day.into())).is_ok(), "the bound is inclusive");
        let ahead = "2026-12-06T12:05:01Z";
        assert_eq!(
            check(TOPIC, &reissued(|n| n.announce_time = ahead.into())),
            Err(Rejection::FromTheFuture(ahead.into()))
        );
        let skew = "2026-12-06T12:05:00Z";
        assert!(check(TOPIC, &reissued(|n| n.announce_time = skew.into())).is_ok(), "five minutes of skew pass");
        let Err(Rejection::Notice(reason)) = check(TOPIC, &reissued(|n| n.version = 2)) else {
            panic!("a notice of another version is invalid")
        };
        assert!(reason.contains("version"), "{reason}");
    }

    fn shared(edit: impl Fn(&mut Snapshot)) -> Snapshot {
        let mut s = Snapshot::bare(SnapshotKind::Instance, COPY, "offsite-orders-nightly-0924fa2c75cf54b6", {
            SnapshotStatus::Available
        });
        s.snapshot_type = Some("shared".into());
        s.encrypted = true;
        s.kms_key_id = Some(KEY.into());
        edit(&mut s);
        s
    }

    fn check_share(found: Option<&Snapshot>, kind: SnapshotKind) -> Result<(), Rejection> {
        let allow = allow();
        let source = allow.get(&W.parse().expect("account")).expect("allowed");
        check_shared(found, COPY, kind, source)
    }

    #[test]
    fn each_wrong_fact_about_a_share_has_its_own_rejection() {
        assert_eq!(check_share(Some(&shared(|_| ())), SnapshotKind::Instance), Ok(()));
        assert_eq!(check_share(None, SnapshotKind::Instance), Err(Rejection::NotShared(COPY.into())));
        // The listing answered with another snapshot, or with one that is not a share.
        let elsewhere = shared(|s| s.arn = COPY.replace("nightly", "weekly"));
        assert_eq!(
            check_share(Some(&elsewhere), SnapshotKind::Instance),
            Err(Rejection::NotShareFromSource(COPY.into()))
        );
        let own = shared(|s| s.snapshot_type = Some("manual".into()));
        assert_eq!(check_share(Some(&own), SnapshotKind::Instance), Err(Rejection::NotShareFromSource(COPY.into())));
        // Reachable only here: the notice parser refuses a notice whose kind disagrees with
        // its copy ARN before the importer looks the share up.
        assert_eq!(
            check_share(Some(&shared(|_| ())), SnapshotKind::Cluster),
            Err(Rejection::WrongKind {
                arn: COPY.into(),
                actual: SnapshotKind::Instance,
                claimed: SnapshotKind::Cluster
            })
        );
        let plain = shared(|s| {
            s.encrypted = false;
            s.kms_key_id = None;
        });
        assert_eq!(check_share(Some(&plain), SnapshotKind::Instance), Err(Rejection::Unencrypted(COPY.into())));
        let other_key = "arn:aws:kms:us-east-1:111111111111:key/other";
        assert_eq!(
            check_share(Some(&shared(|s| s.kms_key_id = Some(other_key.into()))), SnapshotKind::Instance),
            Err(Rejection::WrongKey { arn: COPY.into(), actual: other_key.into(), expected: KEY.into() })
        );
        let copying = shared(|s| s.status = SnapshotStatus::InProgress("creating".into()));
        let not_yet = check_share(Some(&copying), SnapshotKind::Instance);
        assert_eq!(not_yet, Err(Rejection::NotAvailable { arn: COPY.into(), status: "creating".into() }));
        assert!(
            not_yet.is_err_and(|r| r.is_retryable()),
            "a share still copying comes back later, never dead-lettered"
        );
        assert!(!Rejection::NotShared(COPY.into()).is_retryable());
    }
}
