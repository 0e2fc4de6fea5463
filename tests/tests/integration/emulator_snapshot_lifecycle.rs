//! Fidelity patch (c): snapshots and copies pass through `creating` (with PercentProgress)
//! before `available`, and a copy can be made to end `failed`.

use std::time::Duration;

use aws_sdk_rds::Client;
use offsite_tests::fixtures::{
    db_cluster, db_cluster_snapshot, db_instance, db_snapshot, describe_db_cluster_snapshot, describe_db_snapshot,
    error_code, kms_key, wait_for,
};
use offsite_tests::{Emulator, EmulatorOptions, REGION, SnapshotKind, VAULT, WORKLOAD};

const DELAY: Duration = Duration::from_secs(2);
const PATIENCE: Duration = Duration::from_secs(30);

fn slow_copies() -> EmulatorOptions {
    EmulatorOptions { copy_delay: DELAY, ..EmulatorOptions::default() }
}

#[tokio::test]
async fn instance_snapshot_is_creating_with_progress_then_available() {
    let emulator = Emulator::start_with(&slow_copies()).expect("emulator starts");
    let workload = emulator.account(WORKLOAD).await.expect("workload credentials");
    let key = kms_key(&workload, "export").await;
    db_instance(&workload, "orders", Some(&key)).await;

    let created = db_snapshot(&workload, "orders", "orders-1", vec![]).await;
    assert_eq!(created.status(), Some("creating"));
    let seen = describe_db_snapshot(&workload, "orders-1").await.expect("exists");
    assert_eq!(seen.status(), Some("creating"));
    assert!(seen.percent_progress().is_some_and(|p| (0..100).contains(&p)), "{:?}", seen.percent_progress());

    // Sharing needs an available snapshot.
    let early_share = Client::new(&workload)
        .modify_db_snapshot_attribute()
        .db_snapshot_identifier("orders-1")
        .attribute_name("restore")
        .values_to_add(VAULT)
        .send()
        .await;
    assert_eq!(error_code(&early_share).as_deref(), Some("InvalidDBSnapshotState"));

    let done = wait_for("orders-1 available", PATIENCE, || async {
        describe_db_snapshot(&workload, "orders-1").await.filter(|s| s.status() == Some("available"))
    })
    .await;
    assert_eq!(done.percent_progress(), Some(100));
}

#[tokio::test]
async fn copy_marked_as_failing_ends_failed_and_others_still_succeed() {
    let emulator = Emulator::start().expect("emulator starts");
    let workload = emulator.account(WORKLOAD).await.expect("workload credentials");
    let key = kms_key(&workload, "export").await;
    db_instance(&workload, "orders", Some(&key)).await;
    db_snapshot(&workload, "orders", "orders-1", vec![]).await;
    emulator.set_copy_delay(DELAY).expect("slow copies from now on");
    let rds = Client::new(&workload);
    for target in ["orders-1-copy-bad", "orders-1-copy-good"] {
        rds.copy_db_snapshot()
            .source_db_snapshot_identifier("orders-1")
            .target_db_snapshot_identifier(target)
            .kms_key_id(&key)
            .send()
            .await
            .expect("copy starts");
    }
    emulator.fail_snapshot(WORKLOAD, SnapshotKind::Instance, "orders-1-copy-bad").expect("mark");
    assert_eq!(
        describe_db_snapshot(&workload, "orders-1-copy-bad").await.and_then(|s| s.status),
        Some("creating".into())
    );

    wait_for("the marked copy to fail", PATIENCE, || async {
        describe_db_snapshot(&workload, "orders-1-copy-bad").await.filter(|s| s.status() == Some("failed"))
    })
    .await;
    wait_for("the other copy to finish", PATIENCE, || async {
        describe_db_snapshot(&workload, "orders-1-copy-good").await.filter(|s| s.status() == Some("available"))
    })
    .await;
    let unknown = emulator.fail_snapshot(WORKLOAD, SnapshotKind::Instance, "no-such-snapshot");
    assert!(unknown.is_err(), "marking an unknown snapshot is an error");
}

#[tokio::test]
async fn cluster_snapshot_is_creating_then_available() {
    let emulator = Emulator::start_with(&slow_copies()).expect("emulator starts");
    let workload = emulator.account(WORKLOAD).await.expect("workload credentials");
    let key = kms_key(&workload, "export").await;
    db_cluster(&workload, "ledger", Some(&key)).await;

    db_cluster_snapshot(&workload, "ledger", "ledger-1", vec![]).await;
    let seen = describe_db_cluster_snapshot(&workload, "ledger-1").await.expect("exists");
    assert_eq!(seen.status(), Some("creating"));
    let early_copy = Client::new(&workload)
        .copy_db_cluster_snapshot()
        .source_db_cluster_snapshot_identifier("ledger-1")
        .target_db_cluster_snapshot_identifier("ledger-1-copy")
        .kms_key_id(&key)
        .send()
        .await;
    assert_eq!(error_code(&early_copy).as_deref(), Some("InvalidDBClusterSnapshotStateFault"));

    let done = wait_for("ledger-1 available", PATIENCE, || async {
        describe_db_cluster_snapshot(&workload, "ledger-1").await.filter(|s| s.status() == Some("available"))
    })
    .await;
    assert_eq!(done.percent_progress(), Some(100));
}

#[tokio::test]
async fn the_next_copy_of_a_doomed_source_fails_whenever_it_is_made_and_only_that_one() {
    let emulator = Emulator::start().expect("emulator starts");
    let workload = emulator.account(WORKLOAD).await.expect("workload credentials");
    let key = kms_key(&workload, "export").await;
    db_instance(&workload, "orders", Some(&key)).await;
    db_snapshot(&workload, "orders", "orders-1", vec![]).await;
    db_cluster(&workload, "ledger", Some(&key)).await;
    db_cluster_snapshot(&workload, "ledger", "ledger-1", vec![]).await;
    let instance_source = format!("arn:aws:rds:{REGION}:{WORKLOAD}:snapshot:orders-1");
    let cluster_source = format!("arn:aws:rds:{REGION}:{WORKLOAD}:cluster-snapshot:ledger-1");
    emulator.fail_next_copy(WORKLOAD, SnapshotKind::Instance, &instance_source).expect("doom");
    emulator.fail_next_copy(WORKLOAD, SnapshotKind::Cluster, &cluster_source).expect("doom");
    assert!(emulator.failed_snapshots().expect("failed").is_empty(), "nothing fails before a copy exists");

    let rds = Client::new(&workload);
    // The instance copy names its source by identifier, the cluster copy by ARN: both match.
    for target in ["orders-1-first", "orders-1-second"] {
        rds.copy_db_snapshot()
            .source_db_snapshot_identifier("orders-1")
            .target_db_snapshot_identifier(target)
            .kms_key_id(&key)
            .send()
            .await
            .expect("copy");
    }
    for target in ["ledger-1-first", "ledger-1-second"] {
        rds.copy_db_cluster_snapshot()
            .source_db_cluster_snapshot_identifier(&cluster_source)
            .target_db_cluster_snapshot_identifier(target)
            .kms_key_id(&key)
            .send()
            .await
            .expect("copy");
    }

    let status = |s: Option<String>| s.unwrap_or_default();
    assert_eq!(status(describe_db_snapshot(&workload, "orders-1-first").await.and_then(|s| s.status)), "failed");
    assert_eq!(status(describe_db_snapshot(&workload, "orders-1-second").await.and_then(|s| s.status)), "available");
    assert_eq!(
        status(describe_db_cluster_snapshot(&workload, "ledger-1-first").await.and_then(|s| s.status)),
        "failed"
    );
    assert_eq!(
        status(describe_db_cluster_snapshot(&workload, "ledger-1-second").await.and_then(|s| s.status)),
        "available"
    );
    let failed = emulator.failed_snapshots().expect("failed");
    let seen: Vec<(&str, Option<&str>)> =
        failed.iter().map(|f| (f.identifier.as_str(), f.source_arn.as_deref())).collect();
    assert_eq!(
        seen,
        vec![("orders-1-first", Some(instance_source.as_str())), ("ledger-1-first", Some(cluster_source.as_str()))]
    );
    assert_eq!(failed[0].arn, format!("arn:aws:rds:{REGION}:{WORKLOAD}:snapshot:orders-1-first"));

    // A reset forgets the marks.
    emulator.reset().expect("reset");
    assert!(emulator.failed_snapshots().expect("failed").is_empty());
}
