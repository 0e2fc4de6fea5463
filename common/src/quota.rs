//! RDS's manual snapshot quotas: every copy the pipeline makes is a manual snapshot of the
//! account it is made in, and RDS allows 100 of each kind per account and Region by default
//! ("Quotas in Amazon RDS"; AWS Backup's snapshots do not count). The functions read the
//! quotas once per run (`DescribeAccountAttributes`: `ManualSnapshots`,
//! `ManualClusterSnapshots`, each with `Used` and `Max`, "AccountQuota" in the RDS API
//! reference) and emit them as metrics, which the templates' alarms watch.

use aws_sdk_rds::error::{DisplayErrorContext, ProvideErrorMetadata};
use serde::Serialize;

use crate::metrics::Metrics;
use crate::rds::{RdsError, RdsSnapshots};
use crate::rds_error::RdsErrorKind;
use crate::snapshot::SnapshotKind;

/// The quota names in `DescribeAccountAttributes`, per kind.
pub const INSTANCE_QUOTA: &str = "ManualSnapshots";
pub const CLUSTER_QUOTA: &str = "ManualClusterSnapshots";

/// One quota: how much of it is used, and its maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Quota {
    pub used: i64,
    pub max: i64,
}

impl Quota {
    /// Snapshots that can still be made.
    pub fn free(self) -> i64 {
        self.max.saturating_sub(self.used).max(0)
    }

    /// The share used, in percent (100 for a quota of 0).
    pub fn percent_used(self) -> f64 {
        if self.max <= 0 { 100.0 } else { self.used as f64 * 100.0 / self.max as f64 }
    }
}

/// The manual snapshot quotas of one account in one Region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SnapshotQuotas {
    /// `ManualSnapshots` (DB instance snapshots).
    pub instance: Option<Quota>,
    /// `ManualClusterSnapshots` (DB cluster snapshots).
    pub cluster: Option<Quota>,
}

impl SnapshotQuotas {
    /// The quota of `kind`, if RDS reported it.
    pub fn of(&self, kind: SnapshotKind) -> Option<Quota> {
        match kind {
            SnapshotKind::Instance => self.instance,
            SnapshotKind::Cluster => self.cluster,
        }
    }

    /// One EMF document per kind, by function, kind and Region: `ManualSnapshotsUsed`,
    /// `ManualSnapshotQuota` and `ManualSnapshotQuotaUsedPercent` (what the alarms watch).
    pub fn metrics(&self, function: &str, region: &str) -> Vec<Metrics> {
        [SnapshotKind::Instance, SnapshotKind::Cluster]
            .into_iter()
            .filter_map(|kind| {
                let quota = self.of(kind)?;
                let mut metrics = Metrics::with_dimensions(&[
                    ("Function", function),
                    ("SnapshotKind", kind_name(kind)),
                    ("Region", region),
                ]);
                metrics.add("ManualSnapshotsUsed", quota.used as f64);
                metrics.add("ManualSnapshotQuota", quota.max as f64);
                metrics.add("ManualSnapshotQuotaUsedPercent", quota.percent_used());
                Some(metrics)
            })
            .collect()
    }
}

impl SnapshotQuotas {
    /// One line for the operator: used and maximum of each kind in `region`.
    pub fn summary(&self, region: &str) -> String {
        let show = |quota: Option<Quota>| {
            quota.map_or_else(
                || "not reported".to_owned(),
                |q| format!("{}/{} ({:.0} %)", q.used, q.max, q.percent_used()),
            )
        };
        format!("manual snapshots in {region}: DB {}, DB cluster {}", show(self.instance), show(self.cluster))
    }
}

/// The dimension value of a kind.
fn kind_name(kind: SnapshotKind) -> &'static str {
    match kind {
        SnapshotKind::Instance => "instance",
        SnapshotKind::Cluster => "cluster",
    }
}

/// The two quotas among `DescribeAccountAttributes`' answer (name, used, max).
pub fn snapshot_quotas<'a>(listed: impl IntoIterator<Item = (&'a str, Option<i64>, Option<i64>)>) -> SnapshotQuotas {
    let mut quotas = SnapshotQuotas { instance: None, cluster: None };
    for (name, used, max) in listed {
        let (Some(used), Some(max)) = (used, max) else { continue };
        match name {
            INSTANCE_QUOTA => quotas.instance = Some(Quota { used, max }),
            CLUSTER_QUOTA => quotas.cluster = Some(Quota { used, max }),
            _ => {}
        }
    }
    quotas
}

impl RdsSnapshots {
    /// The account's manual snapshot quotas in this client's Region (one call).
    pub async fn snapshot_quotas(&self) -> Result<SnapshotQuotas, RdsError> {
        let answer = self.client().describe_account_attributes().send().await.map_err(|e| RdsError {
            operation: "DescribeAccountAttributes",
            target: "the account's quotas".to_owned(),
            kind: e.code().map_or_else(|| RdsErrorKind::Other("transport".to_owned()), RdsErrorKind::from_code),
            message: DisplayErrorContext(&e).to_string(),
        })?;
        let listed =
            answer.account_quotas().iter().map(|q| (q.account_quota_name().unwrap_or_default(), q.used(), q.max()));
        Ok(snapshot_quotas(listed))
    }

    /// Reads the quotas and emits their metrics for `function`; a failure is logged, never
    /// fatal (the quotas inform, the run's own calls decide).
    pub async fn report_snapshot_quotas(&self, function: &str) -> Option<SnapshotQuotas> {
        let region = self.region();
        match self.snapshot_quotas().await {
            Ok(quotas) => {
                for metrics in quotas.metrics(function, &region) {
                    metrics.flush();
                }
                for (kind, quota) in [("DB", quotas.instance), ("DB cluster", quotas.cluster)] {
                    if let Some(quota) = quota.filter(|q| q.percent_used() >= 80.0) {
                        tracing::warn!(region = %region, used = quota.used, max = quota.max, "{kind} manual snapshots at {:.0} % of the quota: retention or a quota increase (README, \"Capacity\")", quota.percent_used());
                    }
                }
                Some(quotas)
            }
            Err(error) => {
                tracing::warn!(error = %error, "cannot read the manual snapshot quotas; no quota metrics this run");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_rds::Client;
    use aws_sdk_rds::operation::describe_account_attributes::DescribeAccountAttributesOutput;
    use aws_sdk_rds::types::AccountQuota;
    use aws_smithy_mocks::{mock, mock_client};

    use super::*;

    #[test]
    fn the_two_snapshot_quotas_are_picked_from_the_answer() {
        let listed = [
            ("DBInstances", Some(3), Some(40)),
            (INSTANCE_QUOTA, Some(87), Some(100)),
            (CLUSTER_QUOTA, Some(12), Some(250)),
            ("ManualSnapshots-typo", Some(1), Some(1)),
        ];
        let quotas = snapshot_quotas(listed);
        assert_eq!(quotas.instance, Some(Quota { used: 87, max: 100 }));
        assert_eq!(quotas.cluster, Some(Quota { used: 12, max: 250 }));
        assert_eq!(
            snapshot_quotas([(INSTANCE_QUOTA, None, Some(100))]),
            SnapshotQuotas { instance: None, cluster: None }
        );
    }

    #[test]
    fn the_metrics_say_used_max_and_percent_per_kind_and_region() {
        let quotas =
            SnapshotQuotas { instance: Some(Quota { used: 87, max: 100 }), cluster: Some(Quota { used: 0, max: 0 }) };
        let metrics = quotas.metrics("importer", "eu-west-1");
        assert_eq!(metrics.len(), 2);
        let instance = metrics[0].to_emf();
        assert_eq!(
            (instance["SnapshotKind"].as_str(), instance["Region"].as_str()),
            (Some("instance"), Some("eu-west-1"))
        );
        assert_eq!(metrics[0].get("ManualSnapshotQuotaUsedPercent"), 87.0);
        assert_eq!(metrics[0].get("ManualSnapshotsUsed"), 87.0);
        // A quota of 0 is full.
        assert_eq!(metrics[1].get("ManualSnapshotQuotaUsedPercent"), 100.0);
        assert_eq!(Quota { used: 120, max: 100 }.free(), 0);
        assert_eq!(Quota { used: 87, max: 100 }.free(), 13);
        assert_eq!(
            quotas.summary("eu-west-1"),
            "manual snapshots in eu-west-1: DB 87/100 (87 %), DB cluster 0/0 (100 %)"
        );
    }

    #[tokio::test]
    async fn the_adapter_reads_describe_account_attributes() {
        let rule = mock!(Client::describe_account_attributes).then_output(|| {
            DescribeAccountAttributesOutput::builder()
                .account_quotas(AccountQuota::builder().account_quota_name(INSTANCE_QUOTA).used(5).max(100).build())
                .account_quotas(AccountQuota::builder().account_quota_name(CLUSTER_QUOTA).used(7).max(100).build())
                .build()
        });
        let rds = RdsSnapshots::new(mock_client!(aws_sdk_rds, [&rule]));
        let quotas = rds.snapshot_quotas().await.expect("read");
        assert_eq!(quotas.of(SnapshotKind::Cluster), Some(Quota { used: 7, max: 100 }));
        assert_eq!(rule.num_calls(), 1);
    }
}
