//! Which snapshots the exporter copies: plain functions over plain data.

use offsite_common::snapshot::{Snapshot, SnapshotKind, SnapshotStatus};
use offsite_common::tags;
use serde::Serialize;

/// The tag that marks a snapshot for off-site keeping (key and value from configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectionTag {
    pub key: String,
    pub value: String,
}

/// Why a snapshot is not copied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "skip", rename_all = "kebab-case")]
pub enum Skip {
    /// One of the pipeline's own copies (carries the marker tag): never a source.
    OwnCopy,
    /// No selection tag, or another value.
    NotSelected,
    /// Shared with or public to this account: another account's snapshot, not ours to export.
    NotOwned { snapshot_type: String },
    /// Not `available` yet (or failed); the sweep or a later event will see it again.
    NotAvailable { status: String },
    /// Selected but cannot go through the pipeline; the reason says what to change.
    Unsupported { reason: String },
    /// Its copy already exists (any state); the scanner takes it from there.
    AlreadyExported { copy_identifier: String },
    /// Every attempt at copying it failed or got stuck; an operator must look (delete the
    /// failed copies to start over).
    GaveUp { attempts: u32 },
    /// The target identifier holds a copy of *another* source: never overwritten, reported
    /// as a security event (someone made a snapshot under our name).
    Collision { copy_identifier: String, other_source: String },
}

impl Skip {
    /// Whether an operator should hear about it (selected but not exportable).
    pub fn is_finding(&self) -> bool {
        matches!(self, Self::Unsupported { .. } | Self::Collision { .. } | Self::GaveUp { .. })
    }

    /// One line for logs and `offsite plan`.
    pub fn describe(&self) -> String {
        match self {
            Self::OwnCopy => "one of Offsite's own copies".to_owned(),
            Self::NotSelected => "no selection tag".to_owned(),
            Self::NotOwned { snapshot_type } => {
                format!("a {snapshot_type} snapshot of another account")
            }
            Self::NotAvailable { status } => format!("not available yet (status {status})"),
            Self::Unsupported { reason } => format!("selected but cannot be exported: {reason}"),
            Self::AlreadyExported { copy_identifier } => {
                format!("already exported as {copy_identifier}")
            }
            Self::GaveUp { attempts } => {
                format!("gave up after {attempts} failed or stuck copies; delete them to try again")
            }
            Self::Collision { copy_identifier, other_source } => format!(
                "SECURITY: {copy_identifier} already exists as a copy of {other_source}, not of this snapshot; left untouched"
            ),
        }
    }
}

/// Decides whether `snapshot` is a source to copy, before looking for an existing copy.
///
/// `persistent_options` lists the options of its option group that are permanent or
/// persistent (the adapter looks them up only for non-default option groups).
pub fn select(snapshot: &Snapshot, tag: &SelectionTag, persistent_options: &[String]) -> Result<(), Skip> {
    if snapshot.tag(tags::MARKER).is_some() {
        return Err(Skip::OwnCopy);
    }
    if snapshot.tag(&tag.key) != Some(tag.value.as_str()) {
        return Err(Skip::NotSelected);
    }
    if let Some(kind @ ("shared" | "public")) = snapshot.snapshot_type.as_deref() {
        return Err(Skip::NotOwned { snapshot_type: kind.to_owned() });
    }
    if let Some(reason) = unsupported_reason(snapshot, persistent_options) {
        return Err(Skip::Unsupported { reason });
    }
    match &snapshot.status {
        SnapshotStatus::Available => Ok(()),
        other => Err(Skip::NotAvailable { status: other.as_str().to_owned() }),
    }
}

/// Why a selected snapshot can never be exported, per the RDS documentation ("Sharing a DB
/// snapshot" and "Copying a DB cluster snapshot" in the RDS and Aurora user guides).
fn unsupported_reason(snapshot: &Snapshot, persistent_options: &[String]) -> Option<String> {
    if snapshot.kind == SnapshotKind::Cluster && !snapshot.encrypted {
        return Some(
            "an unencrypted Aurora cluster snapshot cannot be copied with a KMS key; restore it to an encrypted cluster and snapshot that"
                .to_owned(),
        );
    }
    if snapshot.tde_credential_arn.is_some() {
        return Some(
            "it uses transparent data encryption (Oracle/SQL Server TDE), and such snapshots cannot be shared"
                .to_owned(),
        );
    }
    if !persistent_options.is_empty() {
        return Some(format!(
            "its option group {} has permanent or persistent options ({}), and such snapshots cannot be shared",
            snapshot.option_group.as_deref().unwrap_or("?"),
            persistent_options.join(", ")
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn tag() -> SelectionTag {
        SelectionTag { key: "backup".into(), value: "offsite".into() }
    }

    fn snapshot(kind: SnapshotKind, tags: &[(&str, &str)]) -> Snapshot {
        Snapshot {
            percent_progress: Some(100),
            encrypted: true,
            kms_key_id: Some("arn:aws:kms:us-east-1:111111111111:key/k".into()),
            tags: tags.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect::<BTreeMap<_, _>>(),
            engine: Some("postgres".into()),
            source_database: Some("orders".into()),
            snapshot_type: Some("manual".into()),
            ..Snapshot::bare(kind, "arn:aws:rds:us-east-1:111111111111:snapshot:s", "s", SnapshotStatus::Available)
        }
    }

    #[test]
    fn selected_available_snapshot_is_copied() {
        for kind in [SnapshotKind::Instance, SnapshotKind::Cluster] {
            assert_eq!(select(&snapshot(kind, &[("backup", "offsite")]), &tag(), &[]), Ok(()));
        }
    }

    #[test]
    fn own_copies_are_never_sources_even_when_tagged() {
        let copy = snapshot(SnapshotKind::Instance, &[("backup", "offsite"), (tags::MARKER, tags::MARKER_EXPORT)]);
        assert_eq!(select(&copy, &tag(), &[]), Err(Skip::OwnCopy));
    }

    #[test]
    fn selection_needs_key_and_value() {
        for tags in [&[][..], &[("backup", "weekly")][..], &[("Backup", "offsite")][..]] {
            assert_eq!(select(&snapshot(SnapshotKind::Instance, tags), &tag(), &[]), Err(Skip::NotSelected));
        }
    }

    #[test]
    fn unavailable_snapshots_wait() {
        let mut s = snapshot(SnapshotKind::Instance, &[("backup", "offsite")]);
        s.status = SnapshotStatus::InProgress("creating".into());
        assert_eq!(select(&s, &tag(), &[]), Err(Skip::NotAvailable { status: "creating".into() }));
    }

    #[test]
    fn unencrypted_instance_is_fine_but_unencrypted_cluster_is_a_finding() {
        let mut instance = snapshot(SnapshotKind::Instance, &[("backup", "offsite")]);
        instance.encrypted = false;
        assert_eq!(select(&instance, &tag(), &[]), Ok(()));
        let mut cluster = snapshot(SnapshotKind::Cluster, &[("backup", "offsite")]);
        cluster.encrypted = false;
        let skip = select(&cluster, &tag(), &[]).expect_err("refused");
        assert!(skip.is_finding());
        assert!(skip.describe().contains("unencrypted Aurora cluster"), "{}", skip.describe());
    }

    #[test]
    fn unshareable_sources_are_findings_with_reasons() {
        let mut tde = snapshot(SnapshotKind::Instance, &[("backup", "offsite")]);
        tde.tde_credential_arn = Some("arn:aws:ssm:...".into());
        assert!(select(&tde, &tag(), &[]).expect_err("refused").describe().contains("TDE"));
        let mut options = snapshot(SnapshotKind::Instance, &[("backup", "offsite")]);
        options.option_group = Some("oracle-tz".into());
        let skip = select(&options, &tag(), &["Timezone".into()]).expect_err("refused");
        assert!(skip.describe().contains("oracle-tz") && skip.describe().contains("Timezone"), "{}", skip.describe());
    }

    #[test]
    fn shared_snapshots_of_other_accounts_are_not_sources() {
        let mut s = snapshot(SnapshotKind::Instance, &[("backup", "offsite")]);
        s.snapshot_type = Some("shared".into());
        assert_eq!(select(&s, &tag(), &[]), Err(Skip::NotOwned { snapshot_type: "shared".into() }));
    }
}
