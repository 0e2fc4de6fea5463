//! RDS's manual snapshot quotas as the functions see them (issue 22, first slice): each
//! function reads `DescribeAccountAttributes` under its template role once per run, and its
//! report carries the figures the emulator counts; AWS Backup's and automated snapshots do
//! not count, a copy of either kind counts in its own quota.

use std::time::{Duration, SystemTime};

use aws_smithy_types::DateTime;
use offsite_common::quota::{Quota, SnapshotQuotas};
use offsite_common::rds::RdsSnapshots;
use offsite_common::tags;
use offsite_importer::retention::{Policy, apply};
use offsite_tests::event_source::sqs_event;
use offsite_tests::fixtures::{db_cluster, db_cluster_snapshot, db_snapshot, kms_key, tag};
use offsite_tests::pipeline::Pipeline;
use offsite_tests::{REGION, SnapshotKind, VAULT, WORKLOAD};

fn now() -> DateTime {
    DateTime::from(SystemTime::now())
}

fn quotas(instance: (i64, i64), cluster: (i64, i64)) -> SnapshotQuotas {
    SnapshotQuotas {
        instance: Some(Quota { used: instance.0, max: instance.1 }),
        cluster: Some(Quota { used: cluster.0, max: cluster.1 }),
    }
}

#[tokio::test]
async fn every_function_reports_the_quotas_rds_counts_in_its_account() {
    let pipeline = Pipeline::start(Duration::ZERO).await;
    pipeline.emulator.set_snapshot_quotas(WORKLOAD, 40, 30).unwrap_or_else(|e| panic!("{e}"));
    pipeline.emulator.set_snapshot_quotas(VAULT, 60, 50).unwrap_or_else(|e| panic!("{e}"));
    // The workload: the pipeline's `orders` database with its automated snapshot, a manual
    // snapshot nobody selected, an unselected AWS Backup recovery point, an Aurora cluster
    // snapshot.
    db_snapshot(&pipeline.workload, "orders", "orders-adhoc", vec![]).await;
    pipeline
        .emulator
        .backup_recovery_point(WORKLOAD, SnapshotKind::Instance, "orders", &[])
        .unwrap_or_else(|e| panic!("{e}"));
    let ledger_key = kms_key(&pipeline.workload, "ledger").await;
    db_cluster(&pipeline.workload, "ledger", Some(&ledger_key)).await;
    db_cluster_snapshot(&pipeline.workload, "ledger", "ledger-adhoc", vec![tag("team", "ledger")]).await;

    // The exporter's copy of one more manual snapshot: 3 manual DB snapshots (adhoc,
    // orders-1 and its copy), the AWS Backup one not counted; 1 cluster snapshot.
    let (copy, bodies) = pipeline.announced("orders-1").await;
    let exported = pipeline.exporter().sweep(now(), false).await.expect("sweep");
    assert_eq!(exported.snapshot_quotas, Some(quotas((3, 40), (1, 30))), "{exported:#?}");

    // The importer's batch: the vault's first copy.
    let batch = pipeline.vault_side().handle_batch(&sqs_event(&bodies), now()).await.expect("batch");
    assert_eq!(batch.snapshot_quotas, Some(quotas((1, 60), (0, 50))), "{batch:#?}");
    // The reconciler, in the vault's region (no second region here).
    let reconciled = pipeline.reconciler().reconcile(now()).await.expect("reconcile");
    let expected = std::collections::BTreeMap::from([(REGION.to_owned(), quotas((1, 60), (0, 50)))]);
    assert_eq!(reconciled.snapshot_quotas, expected, "{reconciled:#?}");
    // Retention under its role, a dry run (its copy is too young anyway).
    let rds = RdsSnapshots::new(aws_sdk_rds::Client::new(&pipeline.retention_role));
    let policy =
        Policy { dry_run: true, ..Policy::from_env(&std::collections::BTreeMap::new()).expect("the default policy") };
    let retained = apply(&rds, &policy, now(), tags::MARKER_IMPORT).await.expect("retention");
    assert_eq!(retained.snapshot_quotas, Some(quotas((1, 60), (0, 50))), "{retained:#?}");
    assert!(copy.identifier.starts_with("offsite-orders-1-"));
}
