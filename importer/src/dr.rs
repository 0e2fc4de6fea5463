//! The vault's optional second-region copy: every available import is copied once more,
//! under the vault account's key in the second region, with the same identifier.
//!
//! The copy is requested in the second region with the vault copy's ARN and the key there;
//! RDS reaches the source region itself (its service-linked role, `rds:CrossRegionCommunication`).
//! Only in AWS GovCloud (US) does an encrypted cross-region copy also carry a presigned
//! request for the source region: RDS ignores `PreSignedUrl` in other regions
//! (API_CopyDBSnapshot), so none is signed there (`offsite_common::presign`). The reconciler
//! runs it, after its imports: a copy must be `available` before it can be copied again, so
//! new imports follow on the next run.

use std::collections::{BTreeMap, BTreeSet};

use aws_config::SdkConfig;
use offsite_common::lineage::{CopyOnce, CopyOnceError, Lineage};
use offsite_common::presign::{presign_copy, presigned_url_applies};
use offsite_common::rds::{CopyRequest, RdsSnapshots};
use offsite_common::rds_error::RdsErrorKind;
use offsite_common::snapshot::{Snapshot, SnapshotKind, SnapshotStatus};
use offsite_common::tags;

use crate::outcome::{Outcome, Verdict};
use crate::settings::DrSettings;

/// The second region: its RDS client and settings, and the primary region's configuration
/// (whose credentials sign the presigned request, in AWS GovCloud (US)).
#[derive(Debug, Clone)]
pub struct SecondRegion {
    settings: DrSettings,
    primary: SdkConfig,
    rds: RdsSnapshots,
}

impl SecondRegion {
    /// `dr_config` must be configured for `settings.region`.
    pub fn new(settings: DrSettings, primary: SdkConfig, dr_config: &SdkConfig) -> Self {
        Self { settings, primary, rds: RdsSnapshots::new(aws_sdk_rds::Client::new(dr_config)) }
    }

    /// The second region's manual snapshot quotas, emitted as the reconciler's metrics.
    pub async fn report_snapshot_quotas(&self) -> Option<offsite_common::quota::SnapshotQuotas> {
        self.rds.report_snapshot_quotas("reconciler").await
    }

    /// The second region's name.
    pub fn region(&self) -> String {
        self.settings.region.clone()
    }

    /// The second-region copies (both kinds).
    pub async fn copies(&self) -> Result<Vec<Snapshot>, offsite_common::rds::RdsError> {
        self.rds.list_marked(&[SnapshotKind::Instance, SnapshotKind::Cluster], tags::MARKER_IMPORT_DR).await
    }

    /// Copies every available vault copy that has no second-region copy yet.
    pub async fn replicate(&self, vault_copies: &[Snapshot]) -> Vec<Outcome> {
        let existing: BTreeSet<String> = match self.copies().await {
            Ok(copies) => copies.iter().filter_map(|c| c.tag(tags::DR_OF).map(str::to_owned)).collect(),
            Err(e) => return vec![Outcome::error("second region", None, e)],
        };
        let mut outcomes = Vec::new();
        // The kinds at the second region's quota: the rest of that kind waits for the next run.
        let mut walls: BTreeSet<SnapshotKind> = BTreeSet::new();
        for copy in vault_copies.iter().filter(|c| c.status == SnapshotStatus::Available) {
            if existing.contains(&copy.arn) {
                continue;
            }
            let outcome = if walls.contains(&copy.kind) {
                Outcome::at_quota(&copy.arn, Some(copy.arn.clone()))
            } else {
                self.replicate_one(copy).await
            };
            if outcome.result == Verdict::AtQuota {
                walls.insert(copy.kind);
            }
            outcomes.push(outcome);
        }
        outcomes
    }

    async fn replicate_one(&self, copy: &Snapshot) -> Outcome {
        let arn = Some(copy.arn.clone());
        let key = self.settings.key.as_str();
        let pre_signed_url = if presigned_url_applies(&copy.arn) {
            let presigned =
                presign_copy(&self.primary, copy.kind, &copy.arn, &copy.identifier, &self.settings.region, key).await;
            match presigned {
                Ok(url) => Some(url),
                Err(e) => return Outcome::error(&copy.arn, arn, format!("presigning the copy: {e}")),
            }
        } else {
            None
        };
        let request = CopyRequest {
            kind: copy.kind,
            source: copy.arn.clone(),
            target_identifier: copy.identifier.clone(),
            kms_key_id: key.to_owned(),
            tags: second_region_tags(copy),
            pre_signed_url,
        };
        let target = Some(format!("{}:{}", self.settings.region, copy.identifier));
        match self.rds.copy_once(&request, Lineage::SECOND_REGION_COPY).await {
            Ok(CopyOnce::Started) => {
                Outcome::new(&copy.arn, arn, Verdict::Replicated, target, "second-region copy started".to_owned())
            }
            Ok(CopyOnce::AlreadyOurs) => {
                Outcome::new(&copy.arn, arn, Verdict::AlreadyReplicated, target, "made by another run".to_owned())
            }
            Ok(CopyOnce::Collision { .. }) => {
                let why =
                    "SECURITY: the second region holds another snapshot under this identifier; nothing overwritten";
                Outcome { security: true, ..Outcome::new(&copy.arn, arn, Verdict::Rejected, target, why.to_owned()) }
            }
            Err(CopyOnceError::Copy(e)) if e.kind == RdsErrorKind::QuotaExceeded => {
                Outcome::at_quota(&copy.arn, arn).with_vault_copy(target)
            }
            Err(e) => Outcome::error(&copy.arn, arn, e).with_vault_copy(target),
        }
    }
}

/// The tags of a vault copy's second-region copy: the copy's `offsite:*` tags (its lineage,
/// which retention and the restore tests read), the second region's marker, the copy it is
/// of. Not the restore tests' evidence (`offsite:restore-*`): a test of the vault copy proves
/// nothing of the second region's, whose own tests record their own.
pub fn second_region_tags(copy: &Snapshot) -> BTreeMap<String, String> {
    let mut carried: BTreeMap<String, String> = copy
        .tags
        .iter()
        .filter(|(k, _)| k.starts_with("offsite:") && !k.starts_with(tags::RESTORE_PREFIX))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    carried.insert(tags::MARKER.to_owned(), tags::MARKER_IMPORT_DR.to_owned());
    carried.insert(tags::DR_OF.to_owned(), copy.arn.clone());
    carried
}

#[cfg(test)]
mod tests {
    use offsite_common::snapshot::{SnapshotKind, SnapshotStatus};

    use super::*;

    #[test]
    fn the_second_region_copy_carries_the_lineage_not_the_restore_test_evidence() {
        let arn = "arn:aws:rds:eu-west-1:222222222222:snapshot:vault-orders-1";
        let mut copy =
            Snapshot::bare(SnapshotKind::Instance, arn.to_owned(), "vault-orders-1", SnapshotStatus::Available);
        for (k, v) in [
            (tags::MARKER, tags::MARKER_IMPORT),
            (tags::COPY_ARN, "arn:aws:rds:eu-west-1:111111111111:snapshot:offsite-orders-1"),
            (tags::SOURCE_CREATED, "2026-12-01T00:00:00Z"),
            (tags::RESTORE_TEST, "passed"),
            (tags::RESTORE_TESTED_AT, "2026-12-02T00:00:00Z"),
            (tags::RESTORE_TEST_LAST_PASSED, "2026-12-02T00:00:00Z"),
            ("team", "payments"),
        ] {
            copy.tags.insert(k.to_owned(), v.to_owned());
        }
        let carried = second_region_tags(&copy);
        assert_eq!(carried.get(tags::MARKER).map(String::as_str), Some(tags::MARKER_IMPORT_DR));
        assert_eq!(carried.get(tags::DR_OF).map(String::as_str), Some(arn));
        assert!(carried.contains_key(tags::COPY_ARN) && carried.contains_key(tags::SOURCE_CREATED));
        assert!(!carried.keys().any(|k| k.starts_with(tags::RESTORE_PREFIX)), "{carried:?}");
        assert!(!carried.contains_key("team"), "only offsite:* tags travel");
    }
}
