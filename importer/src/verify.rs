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
