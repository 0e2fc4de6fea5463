//! The thin adapter over the RDS API for snapshots of both kinds.
//!
//! Each method is one RDS call (or one paged listing) and returns the plain
//! [`Snapshot`] model; the instance/cluster split happens here and nowhere else.
//! Listings use `MaxRecords = 100` (the maximum, DescribeDBSnapshots API reference) and
//! follow `Marker`; tags come in `TagList`, so no per-snapshot describe is ever needed.

use std::collections::BTreeMap;
use std::fmt;

use aws_sdk_rds::Client;
use aws_sdk_rds::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_rds::types::{Filter, Tag};

use crate::rds_error::RdsErrorKind;
use crate::snapshot::{Snapshot, SnapshotKind};

/// Page size of every listing: the API's maximum.
const PAGE_SIZE: i32 = 100;

/// A failed RDS call, with what was attempted on what.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{operation} {target}: {message}")]
pub struct RdsError {
    pub operation: &'static str,
    pub target: String,
    pub kind: RdsErrorKind,
    pub message: String,
}

impl RdsError {
    fn from_sdk<E, R>(operation: &'static str, target: &str, error: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: fmt::Debug,
    {
        let kind = error.code().map_or_else(|| RdsErrorKind::Other("transport".to_owned()), RdsErrorKind::from_code);
        Self { operation, target: target.to_owned(), kind, message: DisplayErrorContext(&error).to_string() }
    }
}

/// The values of the `restore` attribute among (name, values) pairs of either family.
fn restore_accounts(attributes: Vec<(Option<String>, Option<Vec<String>>)>) -> Vec<String> {
    attributes
        .into_iter()
        .filter(|(name, _)| name.as_deref() == Some("restore"))
        .flat_map(|(_, values)| values.unwrap_or_default())
        .collect()
}

/// A copy to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyRequest {
    pub kind: SnapshotKind,
    /// The source's identifier in this account, or its ARN (required for shared sources).
    pub source: String,
    pub target_identifier: String,
    pub kms_key_id: String,
    pub tags: BTreeMap<String, String>,
    /// For an encrypted source in another region of the AWS GovCloud (US) partition only (see
    /// `crate::presign`): RDS ignores `PreSignedUrl` in other regions, so it is `None` there.
    pub pre_signed_url: Option<String>,
}

/// RDS snapshots of both kinds.
#[derive(Debug, Clone)]
pub struct RdsSnapshots {
    client: Client,
}

impl RdsSnapshots {
    /// The SDK client (for the adapters of this crate).
    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    /// The Region this client calls.
    pub fn region(&self) -> String {
        self.client.config().region().map(ToString::to_string).unwrap_or_default()
    }

    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// Every snapshot of `kind` the filter selects: `snapshot_type` `None` lists automated
    /// and manual ones (the API's default), `Some("awsbackup")`, `Some("shared")`, ....
    pub async fn list(&self, kind: SnapshotKind, snapshot_type: Option<&str>) -> Result<Vec<Snapshot>, RdsError> {
        let include_shared = snapshot_type == Some("shared");
        let target = snapshot_type.unwrap_or("automated and manual");
        let mut snapshots = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let (page, next) = match kind {
                SnapshotKind::Instance => {
                    let out = self
                        .client
                        .describe_db_snapshots()
                        .set_snapshot_type(snapshot_type.map(str::to_owned))
                        .include_shared(include_shared)
                        .max_records(PAGE_SIZE)
                        .set_marker(marker.take())
                        .send()
                        .await
                        .map_err(|e| RdsError::from_sdk("DescribeDBSnapshots", target, e))?;
                    let page: Vec<Snapshot> = out.db_snapshots().iter().map(Snapshot::from).collect();
                    (page, out.marker)
                }
                SnapshotKind::Cluster => {
                    let out = self
                        .client
                        .describe_db_cluster_snapshots()
                        .set_snapshot_type(snapshot_type.map(str::to_owned))
                        .include_shared(include_shared)
                        .max_records(PAGE_SIZE)
                        .set_marker(marker.take())
                        .send()
                        .await
                        .map_err(|e| RdsError::from_sdk("DescribeDBClusterSnapshots", target, e))?;
                    let page: Vec<Snapshot> = out.db_cluster_snapshots().iter().map(Snapshot::from).collect();
                    (page, out.marker)
                }
            };
            snapshots.extend(page);
            match next.filter(|m| !m.is_empty()) {
                Some(next) => marker = Some(next),
                None => return Ok(snapshots),
            }
        }
    }

    /// The pipeline's own copies of `kinds`: manual snapshots whose marker tag has the
    /// value `marker` (one paged listing per kind, tags included).
    pub async fn list_marked(&self, kinds: &[SnapshotKind], marker: &str) -> Result<Vec<Snapshot>, RdsError> {
        let mut copies = Vec::new();
        for &kind in kinds {
            let manual = self.list(kind, Some("manual")).await?;
            copies.extend(manual.into_iter().filter(|s| s.tag(crate::tags::MARKER) == Some(marker)));
        }
        Ok(copies)
    }

    /// The snapshots of `kind` among `identifiers` that exist, with a filtered listing
    /// (`db-snapshot-id` / `db-cluster-snapshot-id`, DescribeDBSnapshots API reference),
    /// 20 identifiers a call: one call where a describe per snapshot would make twenty.
    pub async fn describe_many(&self, kind: SnapshotKind, identifiers: &[String]) -> Result<Vec<Snapshot>, RdsError> {
        const IDS_PER_CALL: usize = 20;
        let mut found = Vec::new();
        for chunk in identifiers.chunks(IDS_PER_CALL) {
            let target = format!("{} snapshots", chunk.len());
            match kind {
                SnapshotKind::Instance => {
                    let filter = Filter::builder().name("db-snapshot-id").set_values(Some(chunk.to_vec())).build();
                    let out = self
                        .client
                        .describe_db_snapshots()
                        .filters(filter)
                        .max_records(PAGE_SIZE)
                        .send()
                        .await
                        .map_err(|e| RdsError::from_sdk("DescribeDBSnapshots", &target, e))?;
                    found.extend(out.db_snapshots().iter().map(Snapshot::from));
                }
                SnapshotKind::Cluster => {
                    let filter =
                        Filter::builder().name("db-cluster-snapshot-id").set_values(Some(chunk.to_vec())).build();
                    let out = self
                        .client
                        .describe_db_cluster_snapshots()
                        .filters(filter)
                        .max_records(PAGE_SIZE)
                        .send()
                        .await
                        .map_err(|e| RdsError::from_sdk("DescribeDBClusterSnapshots", &target, e))?;
                    found.extend(out.db_cluster_snapshots().iter().map(Snapshot::from));
                }
            }
        }
        Ok(found)
    }

    /// One snapshot by identifier (or ARN), `None` when it does not exist. Automated and
    /// AWS Backup snapshots need their `snapshot_type` (DescribeDBSnapshots API reference).
    pub async fn describe(
        &self,
        kind: SnapshotKind,
        identifier: &str,
        snapshot_type: Option<&str>,
    ) -> Result<Option<Snapshot>, RdsError> {
        let result = match kind {
            SnapshotKind::Instance => self
                .client
                .describe_db_snapshots()
                .db_snapshot_identifier(identifier)
                .set_snapshot_type(snapshot_type.map(str::to_owned))
                .send()
                .await
                .map(|out| out.db_snapshots().first().map(Snapshot::from))
                .map_err(|e| RdsError::from_sdk("DescribeDBSnapshots", identifier, e)),
            SnapshotKind::Cluster => self
                .client
                .describe_db_cluster_snapshots()
                .db_cluster_snapshot_identifier(identifier)
                .set_snapshot_type(snapshot_type.map(str::to_owned))
                .send()
                .await
                .map(|out| out.db_cluster_snapshots().first().map(Snapshot::from))
                .map_err(|e| RdsError::from_sdk("DescribeDBClusterSnapshots", identifier, e)),
        };
        match result {
            Err(e) if e.kind == RdsErrorKind::NotFound => Ok(None),
            other => other,
        }
    }

    /// Starts a copy; returns the new snapshot as RDS reports it (usually `creating`).
    /// Source tags are not copied: the copy gets exactly `request.tags`.
    pub async fn copy(&self, request: &CopyRequest) -> Result<Snapshot, RdsError> {
        let tags: Vec<Tag> = request.tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect();
        let target = format!("{} -> {}", request.source, request.target_identifier);
        match request.kind {
            SnapshotKind::Instance => self
                .client
                .copy_db_snapshot()
                .source_db_snapshot_identifier(&request.source)
                .target_db_snapshot_identifier(&request.target_identifier)
                .kms_key_id(&request.kms_key_id)
                .copy_tags(false)
                .set_tags(Some(tags))
                .set_pre_signed_url(request.pre_signed_url.clone())
                .send()
                .await
                .map_err(|e| RdsError::from_sdk("CopyDBSnapshot", &target, e))?
                .db_snapshot()
                .map(Snapshot::from),
            SnapshotKind::Cluster => self
                .client
                .copy_db_cluster_snapshot()
                .source_db_cluster_snapshot_identifier(&request.source)
                .target_db_cluster_snapshot_identifier(&request.target_identifier)
                .kms_key_id(&request.kms_key_id)
                .copy_tags(false)
                .set_tags(Some(tags))
                .set_pre_signed_url(request.pre_signed_url.clone())
                .send()
                .await
                .map_err(|e| RdsError::from_sdk("CopyDBClusterSnapshot", &target, e))?
                .db_cluster_snapshot()
                .map(Snapshot::from),
        }
        .ok_or_else(|| RdsError {
            operation: match request.kind {
                SnapshotKind::Instance => "CopyDBSnapshot",
                SnapshotKind::Cluster => "CopyDBClusterSnapshot",
            },
            target,
            kind: RdsErrorKind::Other("EmptyResponse".to_owned()),
            message: "RDS answered without the new snapshot".to_owned(),
        })
    }

    /// Sets tags on a snapshot of either kind (one API for both, by ARN).
    pub async fn add_tags(&self, arn: &str, tags: &BTreeMap<String, String>) -> Result<(), RdsError> {
        let tags: Vec<Tag> = tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect();
        self.client
            .add_tags_to_resource()
            .resource_name(arn)
            .set_tags(Some(tags))
            .send()
            .await
            .map(drop)
            .map_err(|e| RdsError::from_sdk("AddTagsToResource", arn, e))
    }

    /// Adds `account` to the snapshot's `restore` attribute (shares it) and returns the
    /// accounts on that list afterwards, so the caller can spot foreign ones.
    pub async fn share(&self, kind: SnapshotKind, identifier: &str, account: &str) -> Result<Vec<String>, RdsError> {
        let attributes = match kind {
            SnapshotKind::Instance => self
                .client
                .modify_db_snapshot_attribute()
                .db_snapshot_identifier(identifier)
                .attribute_name("restore")
                .values_to_add(account)
                .send()
                .await
                .map_err(|e| RdsError::from_sdk("ModifyDBSnapshotAttribute", identifier, e))?
                .db_snapshot_attributes_result
                .map(|r| r.db_snapshot_attributes.unwrap_or_default())
                .unwrap_or_default()
                .into_iter()
                .map(|a| (a.attribute_name, a.attribute_values))
                .collect::<Vec<_>>(),
            SnapshotKind::Cluster => self
                .client
                .modify_db_cluster_snapshot_attribute()
                .db_cluster_snapshot_identifier(identifier)
                .attribute_name("restore")
                .values_to_add(account)
                .send()
                .await
                .map_err(|e| RdsError::from_sdk("ModifyDBClusterSnapshotAttribute", identifier, e))?
                .db_cluster_snapshot_attributes_result
                .map(|r| r.db_cluster_snapshot_attributes.unwrap_or_default())
                .unwrap_or_default()
                .into_iter()
                .map(|a| (a.attribute_name, a.attribute_values))
                .collect::<Vec<_>>(),
        };
        Ok(restore_accounts(attributes))
    }

    /// The accounts a snapshot is shared with (its `restore` attribute).
    pub async fn shared_with(&self, kind: SnapshotKind, identifier: &str) -> Result<Vec<String>, RdsError> {
        let attributes = match kind {
            SnapshotKind::Instance => self
                .client
                .describe_db_snapshot_attributes()
                .db_snapshot_identifier(identifier)
                .send()
                .await
                .map_err(|e| RdsError::from_sdk("DescribeDBSnapshotAttributes", identifier, e))?
                .db_snapshot_attributes_result
                .and_then(|r| r.db_snapshot_attributes)
                .unwrap_or_default()
                .into_iter()
                .map(|a| (a.attribute_name, a.attribute_values))
                .collect(),
            SnapshotKind::Cluster => self
                .client
                .describe_db_cluster_snapshot_attributes()
                .db_cluster_snapshot_identifier(identifier)
                .send()
                .await
                .map_err(|e| RdsError::from_sdk("DescribeDBClusterSnapshotAttributes", identifier, e))?
                .db_cluster_snapshot_attributes_result
                .and_then(|r| r.db_cluster_snapshot_attributes)
                .unwrap_or_default()
                .into_iter()
                .map(|a| (a.attribute_name, a.attribute_values))
                .collect(),
        };
        Ok(restore_accounts(attributes))
    }

    /// Deletes a snapshot; one that is already gone counts as deleted.
    pub async fn delete(&self, kind: SnapshotKind, identifier: &str) -> Result<(), RdsError> {
        let result = match kind {
            SnapshotKind::Instance => self
                .client
                .delete_db_snapshot()
                .db_snapshot_identifier(identifier)
                .send()
                .await
                .map(drop)
                .map_err(|e| RdsError::from_sdk("DeleteDBSnapshot", identifier, e)),
            SnapshotKind::Cluster => self
                .client
                .delete_db_cluster_snapshot()
                .db_cluster_snapshot_identifier(identifier)
                .send()
                .await
                .map(drop)
                .map_err(|e| RdsError::from_sdk("DeleteDBClusterSnapshot", identifier, e)),
        };
        match result {
            Err(e) if e.kind == RdsErrorKind::NotFound => Ok(()),
            other => other,
        }
    }

    /// The permanent or persistent options of an option group (such snapshots cannot be
    /// shared: "Sharing a DB snapshot", RDS User Guide). Default groups have none.
    pub async fn persistent_options(&self, option_group: &str) -> Result<Vec<String>, RdsError> {
        if option_group.starts_with("default:") {
            return Ok(Vec::new());
        }
        let out = self
            .client
            .describe_option_groups()
            .option_group_name(option_group)
            .send()
            .await
            .map_err(|e| RdsError::from_sdk("DescribeOptionGroups", option_group, e))?;
        Ok(out
            .option_groups_list()
            .iter()
            .flat_map(|group| group.options())
            .filter(|o| o.permanent().unwrap_or(false) || o.persistent().unwrap_or(false))
            .filter_map(|o| o.option_name().map(str::to_owned))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    //! The emulator (moto) does not model the permanent/persistent flags of options, so
    //! these adapter paths are tested with `aws-smithy-mocks`, below the SDK.

    use aws_sdk_rds::error::ErrorMetadata;
    use aws_sdk_rds::operation::copy_db_cluster_snapshot::CopyDBClusterSnapshotError;
    use aws_sdk_rds::operation::describe_option_groups::DescribeOptionGroupsOutput;
    use aws_sdk_rds::types::error::SnapshotQuotaExceededFault;
    use aws_sdk_rds::types::{Option as DbOption, OptionGroup};
    use aws_smithy_mocks::{mock, mock_client};

    use super::*;

    #[tokio::test]
    async fn persistent_and_permanent_options_are_found() {
        let rule = mock!(Client::describe_option_groups)
            .match_requests(|r| r.option_group_name() == Some("oracle-tde"))
            .then_output(|| {
                DescribeOptionGroupsOutput::builder()
                    .option_groups_list(
                        OptionGroup::builder()
                            .option_group_name("oracle-tde")
                            .options(DbOption::builder().option_name("TDE").persistent(true).permanent(true).build())
                            .options(DbOption::builder().option_name("Timezone").permanent(true).build())
                            .options(DbOption::builder().option_name("S3_INTEGRATION").build())
                            .build(),
                    )
                    .build()
            });
        let rds = RdsSnapshots::new(mock_client!(aws_sdk_rds, [&rule]));
        assert_eq!(rds.persistent_options("oracle-tde").await.expect("listed"), ["TDE", "Timezone"]);
        // Default option groups are never looked up (the rule would not match them).
        assert!(rds.persistent_options("default:oracle-ee-19").await.expect("no call").is_empty());
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn cluster_quota_error_folds_to_the_same_kind_as_for_instances() {
        let rule = mock!(Client::copy_db_cluster_snapshot).then_error(|| {
            CopyDBClusterSnapshotError::SnapshotQuotaExceededFault(
                // As the SDK parses it from the response: the code is in the metadata.
                SnapshotQuotaExceededFault::builder()
                    .message("quota")
                    .meta(ErrorMetadata::builder().code("SnapshotQuotaExceeded").build())
                    .build(),
            )
        });
        let rds = RdsSnapshots::new(mock_client!(aws_sdk_rds, [&rule]));
        let request = CopyRequest {
            kind: SnapshotKind::Cluster,
            source: "ledger-1".into(),
            target_identifier: "offsite-ledger-1-0123456789abcdef".into(),
            kms_key_id: "arn:aws:kms:us-east-1:111111111111:key/k".into(),
            tags: BTreeMap::new(),
            pre_signed_url: None,
        };
        let error = rds.copy(&request).await.expect_err("quota");
        assert_eq!(error.kind, RdsErrorKind::QuotaExceeded);
        assert_eq!(error.operation, "CopyDBClusterSnapshot");
    }
}
