//! Where each of the pipeline's copies comes from, and how a copy is made once.
//!
//! Both sides recognise their own work by recomputing its name: a workload copy is named
//! after its source snapshot and attempt, a vault copy after the shared copy it imports, a
//! second-region copy after the vault copy. A snapshot that merely carries the pipeline's
//! tags (an operator's copy made with "copy tags", a restored database's snapshot) has
//! another name and is never shared, announced, counted as an import, or deleted.
//!
//! The names are persistent formats (ARCHITECTURE.md, "Persistent formats"): they are in AWS,
//! and changing a rule disowns every copy made under the old one.

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;

use crate::identifier::copy_identifier;
use crate::rds::{CopyRequest, RdsError, RdsSnapshots};
use crate::rds_error::RdsErrorKind;
use crate::snapshot::{Snapshot, SnapshotArn, SnapshotStatus};
use crate::tags;

/// A source database: the account it lives in and its DB instance or cluster identifier, as
/// the vault knows it from its imports' provenance tags.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct DatabaseKey {
    pub account: String,
    pub database: String,
}

impl std::fmt::Display for DatabaseKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.account, self.database)
    }
}

/// The source database of a vault import (`offsite:source-account`, `offsite:source-database`).
pub fn database_of(copy: &Snapshot) -> Option<DatabaseKey> {
    Some(DatabaseKey {
        account: copy.tag(tags::SOURCE_ACCOUNT)?.to_owned(),
        database: copy.tag(tags::SOURCE_DATABASE)?.to_owned(),
    })
}

/// The prefix of every copy the exporter makes; IAM policies scope on `offsite-*`.
pub const COPY_PREFIX: &str = "offsite";
/// The prefix of every vault copy.
pub const VAULT_PREFIX: &str = "vault";

/// The attempt number a workload copy records (1 when the tag is absent or unreadable).
pub fn attempt_of(copy: &Snapshot) -> u32 {
    copy.tag(tags::ATTEMPT).and_then(|a| a.parse().ok()).filter(|n| *n >= 1).unwrap_or(1)
}

/// The workload copy's identifier for attempt `attempt` at copying `source`: the first
/// attempt hashes the ARN alone, later ones the ARN and the attempt number, so a retry never
/// waits for a failed copy to be deleted, and every attempt's identifier is deterministic.
pub fn attempt_identifier(source: &Snapshot, attempt: u32) -> String {
    if attempt <= 1 {
        copy_identifier(COPY_PREFIX, source.kind, &source.arn, &source.identifier)
    } else {
        copy_identifier(COPY_PREFIX, source.kind, &format!("{}#attempt-{attempt}", source.arn), &source.identifier)
    }
}

/// Whether a snapshot with the exporter's marker really is one of the exporter's copies: its
/// identifier must be the one the exporter gives the source it names, at the attempt it
/// records.
pub fn is_genuine_copy(copy: &Snapshot) -> bool {
    let Some(source_arn) = copy.tag(tags::SOURCE_ARN) else { return false };
    let Ok(arn) = source_arn.parse::<SnapshotArn>() else { return false };
    let source = Snapshot::bare(copy.kind, source_arn, arn.name, SnapshotStatus::Available);
    attempt_identifier(&source, attempt_of(copy)) == copy.identifier
}

/// A workload copy that will never reach the vault: RDS says failed, the scanner gave up on
/// it (stuck too long), or it is under another key than the export key (a rotated key, a
/// misconfiguration), which the scanner never shares.
pub fn is_given_up(copy: &Snapshot, export_key: &str) -> bool {
    matches!(copy.status, SnapshotStatus::Failed(_))
        || copy.tag(tags::STAGE) == Some(tags::STAGE_FAILED)
        || copy.kms_key_id.as_deref().is_some_and(|key| key != export_key)
}

/// The vault's identifier for a copy of `shared`: deterministic in the shared copy's ARN, so
/// a redelivered notice, a replay and the reconciler all aim at the same target.
pub fn vault_identifier(shared: &Snapshot) -> String {
    let name = shared.arn.parse::<SnapshotArn>().map(|a| a.name).unwrap_or_else(|_| shared.identifier.clone());
    copy_identifier(VAULT_PREFIX, shared.kind, &shared.arn, &name)
}

/// Whether a snapshot with the importer's marker really is one of its copies: its
/// identifier must be the one the vault gives the shared copy it names.
pub fn is_genuine_import(copy: &Snapshot) -> bool {
    let Some(copy_arn) = copy.tag(tags::COPY_ARN) else { return false };
    let shared = Snapshot::bare(copy.kind, copy_arn, "", SnapshotStatus::Available);
    vault_identifier(&shared) == copy.identifier
}

/// When the data of a vault copy was taken, in UNIX seconds: the source snapshot's creation
/// time the importer recorded (`offsite:source-created`), else the copy's original or own
/// creation time. Retention and the exports reason in this time, not the import's.
pub fn import_taken_secs(copy: &Snapshot) -> Option<i64> {
    copy.tag(tags::SOURCE_CREATED)
        .and_then(|t| DateTime::from_str(t, Format::DateTime).ok())
        .or(copy.original_created)
        .or(copy.created)
        .map(|t| t.secs())
}

/// The tags that say where a copy comes from. When a copy's target already exists, the
/// existing snapshot is the same copy (made by an earlier or a concurrent run) if it carries
/// each of these tags with the request's value; otherwise it is a collision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lineage(&'static [&'static str]);

impl Lineage {
    /// A workload copy: its source snapshot's ARN.
    pub const WORKLOAD_COPY: Self = Self(&[tags::SOURCE_ARN]);
    /// A vault copy: the importer's marker and the shared copy's ARN.
    pub const VAULT_COPY: Self = Self(&[tags::MARKER, tags::COPY_ARN]);
    /// A second-region copy: the vault copy's ARN.
    pub const SECOND_REGION_COPY: Self = Self(&[tags::DR_OF]);

    /// Whether `existing` is the copy `request` asks for.
    pub fn matches(self, request: &CopyRequest, existing: &Snapshot) -> bool {
        self.0.iter().all(|key| request.tags.get(*key).is_some_and(|value| existing.tag(key) == Some(value.as_str())))
    }
}

/// What became of a copy asked for once.
#[derive(Debug, Clone, PartialEq)]
pub enum CopyOnce {
    /// RDS started the copy.
    Started,
    /// The target exists with this request's lineage: an earlier or concurrent run made it.
    AlreadyOurs,
    /// The target exists with another lineage (or vanished while being checked): nothing was
    /// overwritten. A security finding.
    Collision { other: Option<Box<Snapshot>> },
}

/// A copy asked for once that failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CopyOnceError {
    /// RDS refused the copy (see the error's kind: quota, key, state, not found, ...).
    #[error(transparent)]
    Copy(RdsError),
    /// The target exists, but reading it to compare lineages failed.
    #[error("the target exists but cannot be checked: {0}")]
    Check(RdsError),
}

impl CopyOnceError {
    /// The RDS error underneath, whichever call failed.
    pub fn into_rds(self) -> RdsError {
        match self {
            Self::Copy(error) | Self::Check(error) => error,
        }
    }
}

impl RdsSnapshots {
    /// Starts `request` unless its target exists: "already exists" is success when the
    /// existing snapshot's `lineage` tags equal the request's, and a collision otherwise. The
    /// one place where exporter, importer and the second-region copy decide it.
    pub async fn copy_once(&self, request: &CopyRequest, lineage: Lineage) -> Result<CopyOnce, CopyOnceError> {
        match self.copy(request).await {
            Ok(_) => Ok(CopyOnce::Started),
            Err(error) if error.kind == RdsErrorKind::AlreadyExists => {
                let existing = self
                    .describe(request.kind, &request.target_identifier, Some("manual"))
                    .await
                    .map_err(CopyOnceError::Check)?;
                Ok(match existing {
                    Some(copy) if lineage.matches(request, &copy) => CopyOnce::AlreadyOurs,
                    other => CopyOnce::Collision { other: other.map(Box::new) },
                })
            }
            Err(error) => Err(CopyOnceError::Copy(error)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use crate::snapshot::SnapshotKind;

    use super::*;

    #[test]
    fn attempt_identifiers_are_pinned() {
        // Persistent format (ARCHITECTURE.md, "Persistent formats"): the values below are
        // written out by hand, from the documented rule, never computed by the code under test.
        // If this test fails, the code now names things differently than every copy, notice or
        // export already in AWS: do not update the values; keep the old form recognised (a
        // migration) or revert.
        let arn = "arn:aws:rds:us-east-1:111111111111:snapshot:orders-nightly";
        let s = Snapshot::bare(SnapshotKind::Instance, arn, "orders-nightly", SnapshotStatus::Available);
        assert_eq!(attempt_identifier(&s, 1), "offsite-orders-nightly-0924fa2c75cf54b6");
        assert_eq!(attempt_identifier(&s, 2), "offsite-orders-nightly-9d9691f30fcfdf46");
    }

    #[test]
    fn vault_identifiers_are_pinned() {
        // Persistent format (ARCHITECTURE.md, "Persistent formats"): the values below are
        // written out by hand, from the documented rule, never computed by the code under
        // test. If this test fails, the vault now names its copies differently than every
        // copy it already holds (retention would no longer count them as imports): do not
        // update the values; keep the old form recognised (a migration) or revert.
        let shared = |kind, arn: &str| Snapshot::bare(kind, arn, "", SnapshotStatus::Available);
        let instance = "arn:aws:rds:us-east-1:111111111111:snapshot:offsite-orders-nightly-0924fa2c75cf54b6";
        assert_eq!(
            vault_identifier(&shared(SnapshotKind::Instance, instance)),
            "vault-offsite-orders-nightly-0924fa2c75cf54b6-3a1ca1b32dd741b3"
        );
        let cluster = "arn:aws:rds:us-east-1:111111111111:cluster-snapshot:\
                       offsite-rds-ledger-2026-12-01-04-00-with-a-rat-ce9292ad15e2074e";
        assert_eq!(
            vault_identifier(&shared(SnapshotKind::Cluster, cluster)),
            "vault-offsite-rds-ledger-2026-12-01-04-00-with-741d3739b6f88a46"
        );
    }

    fn tagged(identifier: &str, pairs: &[(&str, &str)]) -> Snapshot {
        let mut s = Snapshot::bare(
            SnapshotKind::Instance,
            format!("arn:aws:rds:us-east-1:111111111111:snapshot:{identifier}"),
            identifier,
            SnapshotStatus::Available,
        );
        s.tags = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        s
    }

    #[test]
    fn a_copy_is_genuine_only_under_the_name_its_lineage_gives() {
        let source_arn = "arn:aws:rds:us-east-1:111111111111:snapshot:orders-nightly";
        let genuine = tagged("offsite-orders-nightly-0924fa2c75cf54b6", &[(tags::SOURCE_ARN, source_arn)]);
        assert!(is_genuine_copy(&genuine));
        let second =
            tagged("offsite-orders-nightly-9d9691f30fcfdf46", &[(tags::SOURCE_ARN, source_arn), (tags::ATTEMPT, "2")]);
        assert!(is_genuine_copy(&second));
        // The same tags under another name: an operator's copy with copied tags.
        assert!(!is_genuine_copy(&tagged("my-copy", &[(tags::SOURCE_ARN, source_arn)])));
        // The attempt it records must be the one its name was made for.
        assert!(!is_genuine_copy(&tagged(
            "offsite-orders-nightly-0924fa2c75cf54b6",
            &[(tags::SOURCE_ARN, source_arn), (tags::ATTEMPT, "2")]
        )));
        assert!(!is_genuine_copy(&tagged("offsite-orders-nightly-0924fa2c75cf54b6", &[])));
        assert!(!is_genuine_copy(&tagged("offsite-x", &[(tags::SOURCE_ARN, "not-an-arn")])));
    }

    #[test]
    fn an_import_is_genuine_only_under_the_name_of_the_copy_it_names() {
        let copy_arn = "arn:aws:rds:us-east-1:111111111111:snapshot:offsite-orders-nightly-0924fa2c75cf54b6";
        let genuine =
            tagged("vault-offsite-orders-nightly-0924fa2c75cf54b6-3a1ca1b32dd741b3", &[(tags::COPY_ARN, copy_arn)]);
        assert!(is_genuine_import(&genuine));
        assert!(!is_genuine_import(&tagged("vault-something-else", &[(tags::COPY_ARN, copy_arn)])));
        assert!(!is_genuine_import(&tagged("vault-offsite-orders-nightly-0924fa2c75cf54b6-3a1ca1b32dd741b3", &[])));
    }

    #[test]
    fn attempts_read_from_the_tag_default_to_the_first() {
        assert_eq!(attempt_of(&tagged("c", &[])), 1);
        assert_eq!(attempt_of(&tagged("c", &[(tags::ATTEMPT, "3")])), 3);
        assert_eq!(attempt_of(&tagged("c", &[(tags::ATTEMPT, "0")])), 1);
        assert_eq!(attempt_of(&tagged("c", &[(tags::ATTEMPT, "three")])), 1);
    }

    #[test]
    fn a_copy_is_given_up_when_failed_marked_failed_or_under_another_key() {
        let key = "arn:aws:kms:us-east-1:111111111111:key/export";
        let mut copy = tagged("c", &[]);
        copy.kms_key_id = Some(key.to_owned());
        assert!(!is_given_up(&copy, key));
        let mut failed = copy.clone();
        failed.status = SnapshotStatus::Failed("failed".to_owned());
        assert!(is_given_up(&failed, key));
        let marked = tagged("c", &[(tags::STAGE, tags::STAGE_FAILED)]);
        assert!(is_given_up(&marked, key));
        assert!(is_given_up(&copy, "arn:aws:kms:us-east-1:111111111111:key/rotated"));
    }

    fn request(pairs: &[(&str, &str)]) -> CopyRequest {
        CopyRequest {
            kind: SnapshotKind::Instance,
            source: "source".to_owned(),
            target_identifier: "target".to_owned(),
            kms_key_id: "key".to_owned(),
            tags: pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect::<BTreeMap<_, _>>(),
            pre_signed_url: None,
        }
    }

    #[test]
    fn lineage_compares_every_tag_it_names_and_only_those() {
        let ours = request(&[(tags::MARKER, tags::MARKER_IMPORT), (tags::COPY_ARN, "arn:a"), (tags::NOTICE_ID, "n-1")]);
        // Another notice id (a redelivery with another envelope) is still the same copy.
        let existing = tagged(
            "target",
            &[(tags::MARKER, tags::MARKER_IMPORT), (tags::COPY_ARN, "arn:a"), (tags::NOTICE_ID, "n-2")],
        );
        assert!(Lineage::VAULT_COPY.matches(&ours, &existing));
        let other_copy = tagged("target", &[(tags::MARKER, tags::MARKER_IMPORT), (tags::COPY_ARN, "arn:b")]);
        assert!(!Lineage::VAULT_COPY.matches(&ours, &other_copy));
        let no_marker = tagged("target", &[(tags::COPY_ARN, "arn:a")]);
        assert!(!Lineage::VAULT_COPY.matches(&ours, &no_marker));
        // A request without the tag never matches: nothing to compare is not a match.
        assert!(!Lineage::WORKLOAD_COPY.matches(&request(&[]), &tagged("target", &[])));
        let workload = request(&[(tags::SOURCE_ARN, "arn:s")]);
        assert!(Lineage::WORKLOAD_COPY.matches(&workload, &tagged("target", &[(tags::SOURCE_ARN, "arn:s")])));
        assert!(!Lineage::SECOND_REGION_COPY.matches(&workload, &tagged("target", &[(tags::SOURCE_ARN, "arn:s")])));
    }

    /// `copy_once` below the SDK: what RDS answers a first, a repeated and a colliding copy.
    mod copy_once {
        use aws_sdk_rds::Client;
        use aws_sdk_rds::error::ErrorMetadata;
        use aws_sdk_rds::operation::copy_db_snapshot::{CopyDBSnapshotError, CopyDbSnapshotOutput};
        use aws_sdk_rds::operation::describe_db_snapshots::{DescribeDBSnapshotsError, DescribeDbSnapshotsOutput};
        use aws_sdk_rds::types::error::{DbSnapshotAlreadyExistsFault, SnapshotQuotaExceededFault};
        use aws_sdk_rds::types::{DbSnapshot, Tag};
        use aws_smithy_mocks::{Rule, mock, mock_client};

        use super::*;

        fn exists() -> Rule {
            mock!(Client::copy_db_snapshot).then_error(|| {
                CopyDBSnapshotError::DbSnapshotAlreadyExistsFault(
                    DbSnapshotAlreadyExistsFault::builder()
                        .meta(ErrorMetadata::builder().code("DBSnapshotAlreadyExists").build())
                        .build(),
                )
            })
        }

        fn existing_with_source(source: &'static str) -> Rule {
            mock!(Client::describe_db_snapshots)
                .match_requests(|r| r.db_snapshot_identifier() == Some("target") && r.snapshot_type() == Some("manual"))
                .then_output(move || {
                    DescribeDbSnapshotsOutput::builder()
                        .db_snapshots(
                            DbSnapshot::builder()
                                .db_snapshot_identifier("target")
                                .db_snapshot_arn("arn:aws:rds:us-east-1:111111111111:snapshot:target")
                                .status("available")
                                .tag_list(Tag::builder().key(tags::SOURCE_ARN).value(source).build())
                                .build(),
                        )
                        .build()
                })
        }

        async fn ask(rules: &[&Rule]) -> Result<CopyOnce, CopyOnceError> {
            let rds = RdsSnapshots::new(mock_client!(aws_sdk_rds, rules));
            rds.copy_once(&request(&[(tags::SOURCE_ARN, "arn:s")]), Lineage::WORKLOAD_COPY).await
        }

        #[tokio::test]
        async fn a_new_target_is_started() {
            let copy = mock!(Client::copy_db_snapshot).then_output(|| {
                let started = DbSnapshot::builder().db_snapshot_identifier("target").status("creating").build();
                CopyDbSnapshotOutput::builder().db_snapshot(started).build()
            });
            assert_eq!(ask(&[&copy]).await.expect("started"), CopyOnce::Started);
        }

        #[tokio::test]
        async fn an_existing_target_of_this_lineage_is_ours_and_of_another_a_collision() {
            let (copy, describe) = (exists(), existing_with_source("arn:s"));
            assert_eq!(ask(&[&copy, &describe]).await.expect("ours"), CopyOnce::AlreadyOurs);
            let (copy, describe) = (exists(), existing_with_source("arn:other"));
            let outcome = ask(&[&copy, &describe]).await.expect("decided");
            let CopyOnce::Collision { other: Some(other) } = outcome else { panic!("a collision: {outcome:?}") };
            assert_eq!(other.tag(tags::SOURCE_ARN), Some("arn:other"));
            // Gone between the copy and the describe: still not ours.
            let gone =
                mock!(Client::describe_db_snapshots).then_output(|| DescribeDbSnapshotsOutput::builder().build());
            let copy = exists();
            assert_eq!(ask(&[&copy, &gone]).await.expect("decided"), CopyOnce::Collision { other: None });
        }

        #[tokio::test]
        async fn errors_say_which_call_failed() {
            let quota = mock!(Client::copy_db_snapshot).then_error(|| {
                CopyDBSnapshotError::SnapshotQuotaExceededFault(
                    SnapshotQuotaExceededFault::builder()
                        .meta(ErrorMetadata::builder().code("SnapshotQuotaExceeded").build())
                        .build(),
                )
            });
            let error = ask(&[&quota]).await.expect_err("refused");
            assert!(matches!(&error, CopyOnceError::Copy(e) if e.kind == RdsErrorKind::QuotaExceeded), "{error:?}");
            let denied = mock!(Client::describe_db_snapshots).then_error(|| {
                DescribeDBSnapshotsError::generic(ErrorMetadata::builder().code("AccessDenied").build())
            });
            let copy = exists();
            let error = ask(&[&copy, &denied]).await.expect_err("unchecked");
            assert!(matches!(&error, CopyOnceError::Check(e) if e.operation == "DescribeDBSnapshots"), "{error:?}");
            assert!(error.to_string().starts_with("the target exists but cannot be checked"), "{error}");
        }
    }
}
