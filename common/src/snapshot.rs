//! One model for DB instance snapshots and Aurora cluster snapshots.
//!
//! RDS has two API families with different names for the same ideas
//! (`DBSnapshotIdentifier` / `DBClusterSnapshotIdentifier`, `Encrypted` / `StorageEncrypted`,
//! `SourceDBSnapshotIdentifier` / `SourceDBClusterSnapshotArn`, `DBSnapshotNotFound` /
//! `DBClusterSnapshotNotFoundFault`). Everything past the SDK adapters works on [`Snapshot`]
//! and branches on [`SnapshotKind`] only where AWS itself differs.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use aws_sdk_rds::types::{DbClusterSnapshot, DbSnapshot, Tag};
use aws_smithy_types::DateTime;
use serde::{Deserialize, Serialize};

use crate::account::AccountId;

/// Which RDS snapshot family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum SnapshotKind {
    /// A DB instance snapshot (RDS engines).
    #[serde(rename = "db-snapshot")]
    Instance,
    /// An Aurora DB cluster snapshot.
    #[serde(rename = "db-cluster-snapshot")]
    Cluster,
}

impl SnapshotKind {
    /// The longest identifier RDS accepts for this kind.
    pub const fn max_identifier_len(self) -> usize {
        match self {
            Self::Instance => 255,
            Self::Cluster => 63,
        }
    }

    /// The resource type in the snapshot's ARN.
    pub const fn arn_resource_type(self) -> &'static str {
        match self {
            Self::Instance => "snapshot",
            Self::Cluster => "cluster-snapshot",
        }
    }

    /// The name used in notices, logs and the CLI (`db-snapshot` / `db-cluster-snapshot`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Instance => "db-snapshot",
            Self::Cluster => "db-cluster-snapshot",
        }
    }
}

impl fmt::Display for SnapshotKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parsed RDS snapshot ARN:
/// `arn:<partition>:rds:<region>:<account>:snapshot|cluster-snapshot:<name>`.
///
/// Names may contain colons (`rds:db-2024-01-01-00-10`, `awsbackup:job-…`), so the name is
/// everything after the resource type.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SnapshotArn {
    pub partition: String,
    pub region: String,
    pub account: AccountId,
    pub kind: SnapshotKind,
    pub name: String,
    arn: String,
}

/// Why a string is not an RDS snapshot ARN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{arn:?} is not an RDS snapshot ARN ({problem}); expected arn:aws:rds:<region>:<account>:snapshot:<name> or …:cluster-snapshot:<name>"
)]
pub struct InvalidSnapshotArn {
    pub arn: String,
    pub problem: &'static str,
}

impl SnapshotArn {
    /// The ARN as AWS prints it.
    pub fn as_str(&self) -> &str {
        &self.arn
    }
}

impl FromStr for SnapshotArn {
    type Err = InvalidSnapshotArn;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let fail = |problem| InvalidSnapshotArn { arn: raw.to_owned(), problem };
        let parts: Vec<&str> = raw.splitn(7, ':').collect();
        let [prefix, partition, service, region, account, resource_type, name] = parts[..] else {
            return Err(fail("too few fields"));
        };
        if prefix != "arn" || !partition.starts_with("aws") {
            return Err(fail("not an ARN"));
        }
        if service != "rds" {
            return Err(fail("not an RDS ARN"));
        }
        if region.is_empty() {
            return Err(fail("no region"));
        }
        let account = account.parse().map_err(|_| fail("the account is not 12 digits"))?;
        let kind = match resource_type {
            "snapshot" => SnapshotKind::Instance,
            "cluster-snapshot" => SnapshotKind::Cluster,
            _ => return Err(fail("not a snapshot or cluster-snapshot resource")),
        };
        if name.is_empty() || name.len() > 255 || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(fail("empty or malformed snapshot name"));
        }
        Ok(Self {
            partition: partition.to_owned(),
            region: region.to_owned(),
            account,
            kind,
            name: name.to_owned(),
            arn: raw.to_owned(),
        })
    }
}

impl fmt::Display for SnapshotArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.arn)
    }
}

/// Where a snapshot is in its life, folded over both families' status strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", content = "status", rename_all = "kebab-case")]
pub enum SnapshotStatus {
    /// `creating`, `pending`, `copying`: not usable yet, not failed.
    InProgress(String),
    /// `available`: can be copied and shared.
    Available,
    /// `failed`, `deleted`, `deleting`, `incompatible-*`, `error`: will never become available.
    Failed(String),
    /// A status this version does not know; treated as not usable, reported as is.
    Unknown(String),
}

impl SnapshotStatus {
    /// Folds an RDS status string.
    pub fn from_rds(status: &str) -> Self {
        match status {
            "available" => Self::Available,
            "creating" | "pending" | "copying" | "modifying" | "backing-up" => Self::InProgress(status.to_owned()),
            "failed" | "deleted" | "deleting" | "error" => Self::Failed(status.to_owned()),
            s if s.starts_with("incompatible") => Self::Failed(status.to_owned()),
            _ => Self::Unknown(status.to_owned()),
        }
    }

    /// The status string as RDS gave it.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Available => "available",
            Self::InProgress(s) | Self::Failed(s) | Self::Unknown(s) => s,
        }
    }
}

/// A snapshot of either kind, as plain data.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub kind: SnapshotKind,
    pub arn: String,
    pub identifier: String,
    pub status: SnapshotStatus,
    pub percent_progress: Option<i32>,
    pub encrypted: bool,
    pub kms_key_id: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub created: Option<DateTime>,
    /// When the original snapshot was taken; survives copying (instances only in AWS).
    pub original_created: Option<DateTime>,
    pub engine: Option<String>,
    pub engine_version: Option<String>,
    /// In GiB; what a restore gets at least.
    pub allocated_storage: Option<i32>,
    /// The DB instance or cluster the snapshot was taken of.
    pub source_database: Option<String>,
    /// `manual`, `automated`, `awsbackup`, `shared`, `public`.
    pub snapshot_type: Option<String>,
    /// The snapshot this one was copied from, where RDS records it.
    pub copied_from: Option<String>,
    pub option_group: Option<String>,
    /// Set when the instance uses Oracle or SQL Server transparent data encryption.
    pub tde_credential_arn: Option<String>,
}

impl Snapshot {
    /// A snapshot with only kind, ARN, identifier and status set and everything else empty
    /// (unencrypted, no tags): a base for fixtures, completed with `..Snapshot::bare(..)`.
    pub fn bare(
        kind: SnapshotKind,
        arn: impl Into<String>,
        identifier: impl Into<String>,
        status: SnapshotStatus,
    ) -> Self {
        Self {
            kind,
            arn: arn.into(),
            identifier: identifier.into(),
            status,
            percent_progress: None,
            encrypted: false,
            kms_key_id: None,
            tags: BTreeMap::new(),
            created: None,
            original_created: None,
            engine: None,
            engine_version: None,
            allocated_storage: None,
            source_database: None,
            snapshot_type: None,
            copied_from: None,
            option_group: None,
            tde_credential_arn: None,
        }
    }

    /// The value of tag `key`, if present.
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags.get(key).map(String::as_str)
    }

    /// The best known creation time: original (survives copies) or this snapshot's own.
    pub fn taken_at(&self) -> Option<DateTime> {
        self.original_created.or(self.created)
    }
}

pub fn tag_map(tags: Option<&[Tag]>) -> BTreeMap<String, String> {
    tags.unwrap_or_default()
        .iter()
        .filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or_default().to_owned())))
        .collect()
}

impl From<&DbSnapshot> for Snapshot {
    fn from(s: &DbSnapshot) -> Self {
        Self {
            kind: SnapshotKind::Instance,
            arn: s.db_snapshot_arn().unwrap_or_default().to_owned(),
            identifier: s.db_snapshot_identifier().unwrap_or_default().to_owned(),
            status: SnapshotStatus::from_rds(s.status().unwrap_or_default()),
            percent_progress: s.percent_progress(),
            encrypted: s.encrypted().unwrap_or(false),
            kms_key_id: s.kms_key_id().map(str::to_owned),
            tags: tag_map(s.tag_list.as_deref()),
            created: s.snapshot_create_time().copied(),
            original_created: s.original_snapshot_create_time().copied(),
            engine: s.engine().map(str::to_owned),
            engine_version: s.engine_version().map(str::to_owned),
            allocated_storage: s.allocated_storage(),
            source_database: s.db_instance_identifier().map(str::to_owned),
            snapshot_type: s.snapshot_type().map(str::to_owned),
            copied_from: s.source_db_snapshot_identifier().map(str::to_owned),
            option_group: s.option_group_name().map(str::to_owned),
            tde_credential_arn: s.tde_credential_arn().map(str::to_owned),
        }
    }
}

impl From<&DbClusterSnapshot> for Snapshot {
    fn from(s: &DbClusterSnapshot) -> Self {
        Self {
            kind: SnapshotKind::Cluster,
            arn: s.db_cluster_snapshot_arn().unwrap_or_default().to_owned(),
            identifier: s.db_cluster_snapshot_identifier().unwrap_or_default().to_owned(),
            status: SnapshotStatus::from_rds(s.status().unwrap_or_default()),
            percent_progress: s.percent_progress(),
            encrypted: s.storage_encrypted().unwrap_or(false),
            kms_key_id: s.kms_key_id().map(str::to_owned),
            tags: tag_map(s.tag_list.as_deref()),
            created: s.snapshot_create_time().copied(),
            original_created: None,
            engine: s.engine().map(str::to_owned),
            engine_version: s.engine_version().map(str::to_owned),
            allocated_storage: s.allocated_storage(),
            source_database: s.db_cluster_identifier().map(str::to_owned),
            snapshot_type: s.snapshot_type().map(str::to_owned),
            copied_from: s.source_db_cluster_snapshot_arn().map(str::to_owned),
            option_group: None,
            tde_credential_arn: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_with_colons() {
        let arn: SnapshotArn =
            "arn:aws:rds:eu-west-1:111111111111:snapshot:rds:orders-2024-01-01-00-10".parse().expect("valid ARN");
        assert_eq!(arn.kind, SnapshotKind::Instance);
        assert_eq!(arn.name, "rds:orders-2024-01-01-00-10");
        assert_eq!(arn.account.as_str(), "111111111111");
        assert_eq!(arn.region, "eu-west-1");
        let cluster: SnapshotArn =
            "arn:aws:rds:us-east-1:111111111111:cluster-snapshot:awsbackup:job-0f4c".parse().expect("valid ARN");
        assert_eq!(cluster.kind, SnapshotKind::Cluster);
        assert_eq!(cluster.name, "awsbackup:job-0f4c");
    }

    #[test]
    fn rejects_other_arns_with_a_reason() {
        for (raw, problem) in [
            ("arn:aws:rds:us-east-1:111111111111:db:orders", "not a snapshot or cluster-snapshot resource"),
            ("arn:aws:s3:::bucket", "too few fields"),
            ("arn:aws:ec2:us-east-1:111111111111:snapshot:snap-1", "not an RDS ARN"),
            ("arn:aws:rds:us-east-1:11111:snapshot:x", "the account is not 12 digits"),
            ("arn:aws:rds:us-east-1:111111111111:snapshot:", "empty or malformed snapshot name"),
            ("orders", "too few fields"),
        ] {
            assert_eq!(raw.parse::<SnapshotArn>().map_err(|e| e.problem), Err(problem), "{raw}");
        }
    }

    #[test]
    fn statuses_fold_to_four_states() {
        assert_eq!(SnapshotStatus::from_rds("available"), SnapshotStatus::Available);
        for s in ["creating", "pending", "copying"] {
            assert!(matches!(SnapshotStatus::from_rds(s), SnapshotStatus::InProgress(_)), "{s}");
        }
        for s in ["failed", "deleted", "deleting", "incompatible-restore"] {
            assert!(matches!(SnapshotStatus::from_rds(s), SnapshotStatus::Failed(_)), "{s}");
        }
        assert_eq!(SnapshotStatus::from_rds("frozen"), SnapshotStatus::Unknown("frozen".into()));
    }

    #[test]
    fn both_sdk_shapes_map_to_one_model() {
        let instance = DbSnapshot::builder()
            .db_snapshot_arn("arn:aws:rds:us-east-1:111111111111:snapshot:a")
            .db_snapshot_identifier("a")
            .status("available")
            .encrypted(true)
            .kms_key_id("k")
            .db_instance_identifier("orders")
            .tag_list(Tag::builder().key("backup").value("offsite").build())
            .build();
        let cluster = DbClusterSnapshot::builder()
            .db_cluster_snapshot_arn("arn:aws:rds:us-east-1:111111111111:cluster-snapshot:a")
            .db_cluster_snapshot_identifier("a")
            .status("available")
            .storage_encrypted(true)
            .kms_key_id("k")
            .db_cluster_identifier("orders")
            .tag_list(Tag::builder().key("backup").value("offsite").build())
            .build();
        let (i, c) = (Snapshot::from(&instance), Snapshot::from(&cluster));
        assert_eq!((i.kind, c.kind), (SnapshotKind::Instance, SnapshotKind::Cluster));
        for s in [&i, &c] {
            assert!(s.encrypted);
            assert_eq!(s.status, SnapshotStatus::Available);
            assert_eq!(s.tag("backup"), Some("offsite"));
            assert_eq!(s.source_database.as_deref(), Some("orders"));
        }
    }
}
