//! The vault's copy of a shared snapshot, made once whoever asks (importer or reconciler).

use std::collections::BTreeMap;

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use offsite_common::config::KmsKeyArn;
use offsite_common::identifier::copy_identifier;
use offsite_common::notice::Notice;
use offsite_common::rds::{CopyRequest, RdsError, RdsSnapshots};
use offsite_common::rds_error::RdsErrorKind;
use offsite_common::snapshot::{Snapshot, SnapshotArn};
use offsite_common::tags;

use crate::allow::AllowedSource;
use crate::verify::Rejection;

/// The prefix of every vault copy.
pub const VAULT_PREFIX: &str = "vault";

/// The vault's identifier for a copy of `shared`: deterministic in the shared copy's ARN, so
/// a redelivered notice, a replay and the reconciler all aim at the same target.
pub fn vault_identifier(shared: &Snapshot) -> String {
    let name = shared.arn.parse::<SnapshotArn>().map(|a| a.name).unwrap_or_else(|_| shared.identifier.clone());
    copy_identifier(VAULT_PREFIX, shared.kind, &shared.arn, &name)
}

/// Whether a snapshot with the importer's marker really is one of its copies: its
/// identifier must be the one the vault gives the shared copy it names. A snapshot that
/// merely carries the tags (an operator's copy with copied tags) is never counted as an
/// import nor deleted by retention.
pub fn is_genuine_import(copy: &Snapshot) -> bool {
    let Some(copy_arn) = copy.tag(tags::COPY_ARN) else { return false };
    let shared = Snapshot::bare(copy.kind, copy_arn, "", offsite_common::snapshot::SnapshotStatus::Available);
    vault_identifier(&shared) == copy.identifier
}

/// Who asked for the import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportedBy {
    Importer,
    Reconciler,
}

impl ImportedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Importer => "importer",
            Self::Reconciler => "reconciler",
        }
    }
}

/// A successful import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Imported {
    /// The vault's copy was started.
    Started { target: String },
    /// It existed already, with this lineage (a redelivery, a replay, a race).
    AlreadyImported { target: String },
}

/// A failed import.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Rejected(#[from] Rejection),
    #[error(transparent)]
    Rds(#[from] RdsError),
}

/// The provenance tags of the vault's copy. Values from RDS are verified; those from the
/// notice (original source ARN, notice id) are the workload's claims, recorded as such.
pub fn provenance(
    shared: &Snapshot,
    source: &AllowedSource,
    notice: Option<&Notice>,
    by: ImportedBy,
    now: DateTime,
) -> BTreeMap<String, String> {
    let mut provenance = BTreeMap::from([
        (tags::MARKER.to_owned(), tags::MARKER_IMPORT.to_owned()),
        (tags::SOURCE_ACCOUNT.to_owned(), source.account.to_string()),
        (tags::COPY_ARN.to_owned(), shared.arn.clone()),
        (tags::IMPORTED_BY.to_owned(), by.as_str().to_owned()),
        (tags::IMPORTED_AT.to_owned(), now.fmt(Format::DateTime).unwrap_or_default()),
    ]);
    if let Some(database) = shared.source_database.as_ref().filter(|d| !d.is_empty() && d.len() <= 256) {
        provenance.insert(tags::SOURCE_DATABASE.to_owned(), database.clone());
    }
    let verified_created = shared.original_created.or(shared.created).and_then(|t| t.fmt(Format::DateTime).ok());
    let created = verified_created.or_else(|| notice.and_then(|n| n.original_create_time.clone()));
    if let Some(created) = created {
        provenance.insert(tags::SOURCE_CREATED.to_owned(), created);
    }
    if let Some(notice) = notice {
        provenance.insert(tags::NOTICE_ID.to_owned(), notice.notice_id.clone());
        if notice.source_snapshot_arn.len() <= 256 {
            provenance.insert(tags::SOURCE_ARN.to_owned(), notice.source_snapshot_arn.clone());
        }
    }
    provenance
}

/// Copies `shared` (already verified) into the vault with `import_key`.
///
/// `AlreadyExists` is success when the existing copy's lineage is `shared`, and a
/// collision (a security finding, nothing overwritten) otherwise.
pub async fn import(
    rds: &RdsSnapshots,
    import_key: &KmsKeyArn,
    shared: &Snapshot,
    provenance: BTreeMap<String, String>,
) -> Result<Imported, ImportError> {
    let target = vault_identifier(shared);
    let request = CopyRequest {
        kind: shared.kind,
        source: shared.arn.clone(),
        target_identifier: target.clone(),
        kms_key_id: import_key.to_string(),
        tags: provenance,
        pre_signed_url: None,
    };
    match rds.copy(&request).await {
        Ok(_) => Ok(Imported::Started { target }),
        Err(error) if error.kind == RdsErrorKind::AlreadyExists => {
            let existing = rds.describe(shared.kind, &target, Some("manual")).await?;
            match existing {
                Some(copy)
                    if copy.tag(tags::COPY_ARN) == Some(shared.arn.as_str())
                        && copy.tag(tags::MARKER) == Some(tags::MARKER_IMPORT) =>
                {
                    Ok(Imported::AlreadyImported { target })
                }
                _ => Err(Rejection::Collision { target, copy_arn: shared.arn.clone() }.into()),
            }
        }
        Err(error) => Err(error.into()),
    }
}

#[cfg(test)]
mod tests {
    use offsite_common::snapshot::{SnapshotKind, SnapshotStatus};

    use super::*;

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
}
