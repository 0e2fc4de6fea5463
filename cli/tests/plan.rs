//! `offsite plan` against the emulator: a dry run that explains and changes nothing.

use std::process::Command;

use offsite_tests::fixtures::{db_cluster, db_cluster_snapshot, db_instance, db_snapshot, kms_key, tag};
use offsite_tests::{Emulator, WORKLOAD};

#[tokio::test]
async fn plan_lists_what_would_be_copied_and_why_the_rest_is_skipped_without_copying() {
    let emulator = Emulator::start().expect("emulator starts");
    let workload = emulator.account(WORKLOAD).await.expect("workload credentials");
    let export_key = kms_key(&workload, "export").await;
    db_instance(&workload, "orders", None).await;
    db_cluster(&workload, "plainledger", None).await;
    db_snapshot(&workload, "orders", "orders-weekly", vec![tag("backup", "offsite")]).await;
    db_snapshot(&workload, "orders", "orders-scratch", vec![]).await;
    db_cluster_snapshot(&workload, "plainledger", "plainledger-weekly", vec![tag("backup", "offsite")]).await;
    let env = emulator.process_env(&workload).await.expect("process environment");

    let run = |json: bool| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_offsite"));
        command.env_clear().envs(env.iter().map(|(k, v)| (k, v))).args([
            "plan",
            "--export-key-arn",
            &export_key,
            "--selection-tag",
            "backup=offsite",
        ]);
        if json {
            command.arg("--json");
        }
        command.output().expect("offsite runs")
    };

    let output = run(true);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON report");
    let items = report["items"].as_array().expect("items");
    let outcome_of = |name: &str| {
        items
            .iter()
            .find(|i| i["source_arn"].as_str().is_some_and(|a| a.ends_with(&format!(":{name}"))))
            .map(|i| {
                (
                    i["outcome"].as_str().unwrap_or_default().to_owned(),
                    i["reason"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .unwrap_or_else(|| panic!("{name} not in the plan: {report:#}"))
    };
    assert_eq!(outcome_of("orders-weekly").0, "copied");
    assert_eq!(outcome_of("orders-scratch"), ("skipped".to_owned(), "no selection tag".to_owned()));
    let (outcome, reason) = outcome_of("plainledger-weekly");
    assert_eq!(outcome, "skipped");
    assert!(reason.contains("unencrypted Aurora cluster"), "{reason}");

    let table = run(false);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.lines().next().is_some_and(|l| l.starts_with("ACTION")), "{text}");
    assert!(text.contains("copy") && text.contains("orders-weekly"), "{text}");
    assert!(text.contains("\nplan: 1 to copy"), "{text}");
    // The quotas the copy would count against: orders-weekly and orders-scratch are manual.
    assert!(
        text.trim_end().ends_with("manual snapshots in us-east-1: DB 2/100 (2 %), DB cluster 1/100 (1 %)"),
        "{text}"
    );
    assert_eq!(report["snapshot_quotas"]["instance"], serde_json::json!({ "used": 2, "max": 100 }));
    // At the quota: a warning, and the plan still changes nothing.
    emulator.set_snapshot_quotas(WORKLOAD, 2, 100).expect("quota");
    let full = run(false);
    let text = String::from_utf8_lossy(&full.stdout);
    assert!(
        text.contains("warning: the sweep would start 1 DB snapshot copies and the quota has room for 0 (2/2 used)"),
        "{text}"
    );

    // A dry run: nothing was copied.
    let snapshots = aws_sdk_rds::Client::new(&workload)
        .describe_db_snapshots()
        .snapshot_type("manual")
        .send()
        .await
        .expect("list")
        .db_snapshots
        .unwrap_or_default();
    assert!(snapshots.iter().all(|s| { !s.db_snapshot_identifier().unwrap_or_default().starts_with("offsite-") }));
}

#[test]
fn plan_without_an_export_key_names_the_variable() {
    let output = Command::new(env!("CARGO_BIN_EXE_offsite")).env_clear().arg("plan").output().expect("offsite runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("OFFSITE_EXPORT_KEY_ARN is not set"), "{stderr}");
}
