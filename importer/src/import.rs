//! The vault's copy of a shared snapshot, made once whoever asks (importer or reconciler).

use std::collections::BTreeMap;

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use offsite_common::config::KmsKeyArn;
use offsite_common::lineage::{CopyOnce, Lineage, vault_identifier};
use offsite_common::notice::Notice;
use offsite_common::rds::{CopyRequest, RdsError, RdsSnapshots};
use offsite_common::snapshot::Snapshot;
use offsite_common::tags;

use crate::allow::AllowedSource;
use crate::verify::Rejection;

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
        // The workload's claims, checked for form by the notice's parser: for selection only.
        for (key, value) in &notice.source_tags {
            provenance.insert(offsite_common::source_tags::tag_key(key), value.clone());
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
    match rds.copy_once(&request, Lineage::VAULT_COPY).await.map_err(|e| ImportError::Rds(e.into_rds()))? {
        CopyOnce::Started => Ok(Imported::Started { target }),
        CopyOnce::AlreadyOurs => Ok(Imported::AlreadyImported { target }),
        CopyOnce::Collision { .. } => Err(Rejection::Collision { target, copy_arn: shared.arn.clone() }.into()),
    }
}
