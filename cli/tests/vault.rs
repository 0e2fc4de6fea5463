//! `offsite status --side vault` and `offsite verify` against the emulator.

mod support;

use std::time::{Duration, SystemTime};

use aws_smithy_types::DateTime;
use offsite_tests::SnapshotKind;
use offsite_tests::VAULT;
use offsite_tests::event_source::sqs_event;
use offsite_tests::fixtures::{delete_db_snapshot, share_snapshot, wait_for};
use offsite_tests::pipeline::Pipeline;

#[tokio::test]
async fn verify_passes_when_fresh_and_fails_on_an_unimported_share_or_an_old_copy() {
    let pipeline = Pipeline::start(Duration::ZERO).await;
    let copy = pipeline.snapshot_and_export("orders-1").await;
    pipeline.wait_available(copy.tag("offsite:source-arn").expect("lineage")).await;
    pipeline.scanner().scan(DateTime::from(SystemTime::now()), "scan").await.expect("scan");
    let bodies = wait_for("the notice", Duration::from_secs(10), || async {
        Some(pipeline.queue_bodies().await).filter(|b| !b.is_empty())
    })
    .await;
    pipeline.vault_side().handle_batch(&sqs_event(&bodies), DateTime::from(SystemTime::now())).await.expect("import");
    let env = pipeline.emulator.process_env(&pipeline.vault).await.expect("vault environment");
    let run = |args: &[&str]| support::offsite(&env, args);

    let status = run(&["status", "--side", "vault", "--json"]);
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    let health: serde_json::Value = serde_json::from_slice(&status.stdout).expect("JSON");
    assert_eq!(health["databases"][0]["source_database"], "orders");
    assert_eq!(health["databases"][0]["copies"], 1);
    assert_eq!(health["snapshot_quotas"]["instance"], serde_json::json!({ "used": 1, "max": 100 }));
    assert_eq!(health["capacity"][0]["kind"], "db-snapshot");
    assert_eq!(health["capacity"][0]["wall"], serde_json::Value::Null, "fits: {health:#}");
    let exports = &health["rds_exports"]["rows"][0];
    assert_eq!(
        (&exports["database"]["database"], &exports["newest_export"]),
        (&"orders".into(), &serde_json::Value::Null)
    );
    assert_eq!(exports["verdict"], "ok", "no export RPO: a report only: {health:#}");

    let fresh = run(&["verify", "--rpo", "1h"]);
    let text = String::from_utf8_lossy(&fresh.stdout);
    assert!(fresh.status.success(), "{text}");
    assert!(
        text.contains(
            "vault: 1 databases, 0 older than the RPO, 0 shared snapshots not imported\n\
             manual snapshots in us-east-1: DB 1/100 (1 %), DB cluster 0/100 (0 %)\n"
        ),
        "{text}"
    );
    // The capacity plan: one database, daily at the default policy, fits the default quota.
    let plan: Vec<&str> = text.lines().skip_while(|l| !l.starts_with("SNAPSHOTS")).collect();
    assert_eq!(plan.len(), 3, "{text}");
    assert!(plan[1].starts_with("DB ") && plan[1].trim_end().ends_with("fits"), "{text}");
    assert!(plan[2].starts_with("DB cluster") && plan[2].contains(" 0 "), "{text}");

    // The RDS exports for auditors: the copy is younger than a 30-day export RPO (not due);
    // older than a 1-second one and never exported.
    let not_due = run(&["verify", "--rpo", "1h", "--export-rpo", "30d"]);
    let text = String::from_utf8_lossy(&not_due.stdout);
    assert!(not_due.status.success(), "{text}");
    assert!(text.contains("RDS exports for auditors") && text.contains("not due yet"), "{text}");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let never = run(&["verify", "--rpo", "1h", "--export-rpo", "1s"]);
    let text = String::from_utf8_lossy(&never.stdout);
    assert_eq!(never.status.code(), Some(1), "{text}");
    assert!(text.contains("111111111111/orders") && text.contains("never exported"), "{text}");
    let bad = run(&["verify", "--rpo", "1h", "--export-rpo", "weekly"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--export-rpo=\"weekly\" is invalid"));

    // A second copy shared but never imported.
    let second = pipeline.snapshot_and_export("orders-2").await;
    share_snapshot(&pipeline.workload, SnapshotKind::Instance, &second.identifier, VAULT).await;
    let missing = run(&["verify", "--rpo", "1h"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stdout).contains(&format!("not imported: {}", second.arn)));

    // An RPO the newest copy cannot meet.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let stale = run(&["verify", "--rpo", "1s", "--json"]);
    assert_eq!(stale.status.code(), Some(1));
    let health: serde_json::Value = serde_json::from_slice(&stale.stdout).expect("JSON");
    assert_eq!(health["databases"][0]["stale"], true);

    let bad = run(&["verify", "--rpo", "soon"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--rpo=\"soon\" is invalid"));

    // The reconciler remembers `orders`; then its only vault copy and the remaining share
    // are gone. Verify names it lost, whatever the RPO.
    let reconciled = pipeline.reconciler().reconcile(DateTime::from(SystemTime::now())).await.expect("reconcile");
    assert!(reconciled.register_error.is_none(), "{reconciled:#?}");
    for copy in pipeline.vault_copies().await {
        delete_db_snapshot(&pipeline.vault, &copy.identifier).await;
    }
    let lost = run(&["verify", "--rpo", "100d"]);
    let text = String::from_utf8_lossy(&lost.stdout);
    assert_eq!(lost.status.code(), Some(1), "{text}");
    assert!(text.contains("LOST: 111111111111/orders is protected and has no vault copy left"), "{text}");
}
