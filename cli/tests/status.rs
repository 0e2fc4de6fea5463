//! `offsite status --side workload` against the emulator.

mod support;

use offsite_tests::fixtures::{db_instance, db_snapshot, kms_key, tag};
use offsite_tests::{Emulator, WORKLOAD};

#[tokio::test]
async fn status_lists_the_pipelines_copies_and_nothing_else() {
    let emulator = Emulator::start().expect("emulator starts");
    let workload = emulator.account(WORKLOAD).await.expect("workload credentials");
    let key = kms_key(&workload, "export").await;
    db_instance(&workload, "orders", None).await;
    let source = db_snapshot(&workload, "orders", "orders-1", vec![]).await;
    let source_arn = source.db_snapshot_arn.expect("ARN");
    // A copy as the exporter makes it, and an operator's snapshot that is not ours.
    aws_sdk_rds::Client::new(&workload)
        .copy_db_snapshot()
        .source_db_snapshot_identifier("orders-1")
        .target_db_snapshot_identifier("offsite-orders-1-0123456789abcdef")
        .kms_key_id(&key)
        .tags(tag("offsite:managed-by", "offsite-export"))
        .tags(tag("offsite:source-arn", &source_arn))
        .tags(tag("offsite:stage", "exported"))
        .send()
        .await
        .expect("copy");
    let env = emulator.process_env(&workload).await.expect("process environment");
    let run = |args: &[&str]| support::offsite(&env, args);

    let json = run(&["status", "--side", "workload", "--json"]);
    assert!(json.status.success(), "{}", String::from_utf8_lossy(&json.stderr));
    let rows: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    let rows = rows.as_array().expect("rows");
    assert_eq!(rows.len(), 1, "only the pipeline's copy: {rows:?}");
    assert_eq!(rows[0]["copy_identifier"], "offsite-orders-1-0123456789abcdef");
    assert_eq!(rows[0]["stage"], "exported");
    assert_eq!(rows[0]["source"], "orders-1");

    let table = run(&["status", "--side", "workload"]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.starts_with("COPY") && text.contains("offsite-orders-1-0123456789abcdef"), "{text}");
    assert!(text.contains("status: 1 copies\n"), "{text}");
    // The quota line: orders-1 and the copy are manual DB snapshots (RDS's default quota).
    assert!(
        text.trim_end().ends_with("manual snapshots in us-east-1: DB 2/100 (2 %), DB cluster 0/100 (0 %)"),
        "{text}"
    );

    let bad = run(&["status", "--side", "elsewhere"]);
    assert!(!bad.status.success());
}
