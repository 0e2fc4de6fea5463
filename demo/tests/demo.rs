//! The demo scenario with short settings: what the demo claims is checked independently,
//! against the accounts themselves.

use std::time::Duration;

use offsite_common::snapshot::{SnapshotArn, SnapshotKind};
use offsite_common::tags;
use offsite_demo::{Settings, run};
use offsite_tests::WORKLOAD;
use offsite_tests::deployed::AUDITOR_BUCKET;
use offsite_tests::fixtures::export_output;

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_delivers_every_selected_snapshot_once_and_the_auditor_reads_the_items() {
    let mut out = Vec::new();
    let (summary, demo) =
        run(&Settings { copy_delay: Duration::from_secs(1), max_rounds: 20 }, &mut out).await.expect("the demo runs");
    let text = String::from_utf8_lossy(&out).into_owned();
    assert!(summary.ok(), "{text}");
    assert_eq!(text.lines().last(), Some(summary.line().as_str()));
    assert_eq!(
        summary.line(),
        "demo: 6/6 selected snapshots in the vault, 1/1 tables exported, 3/3 snapshots exported for auditors, 3/3 restore tests passed, 0 errors"
    );

    // Every selected snapshot in the vault exactly once, with its lineage; none other.
    let vault = demo.pair.vault_copies().await;
    assert_eq!(vault.len(), demo.selected.len(), "{text}");
    for source in &demo.selected {
        let copies: Vec<_> = vault.iter().filter(|c| c.tag(tags::SOURCE_ARN) == Some(source.as_str())).collect();
        assert_eq!(copies.len(), 1, "{source}");
        assert_eq!(copies[0].tag(tags::SOURCE_ACCOUNT), Some(WORKLOAD));
        assert_eq!(copies[0].kms_key_id.as_deref(), Some(demo.pair.import_key.as_str()), "under the vault's key");
    }
    for source in &demo.not_selected {
        assert!(vault.iter().all(|c| c.tag(tags::SOURCE_ARN) != Some(source.as_str())), "{source}");
    }

    // Each source database's restore test: the evidence on the copy it restored (one per
    // database), and nothing restored left.
    let tested: Vec<_> = vault.iter().filter(|c| c.tag(tags::RESTORE_TEST).is_some()).collect();
    assert_eq!(tested.len(), 3, "{text}");
    assert!(tested.iter().all(|c| c.tag(tags::RESTORE_TEST) == Some("passed")), "{tested:#?}");
    let restored =
        offsite_restore_test::run::restored(&aws_sdk_rds::Client::new(&demo.pair.vault)).await.expect("list");
    assert!(restored.iter().all(|r| !r.is_ours()), "nothing of the tester is left: {restored:#?}");

    // Nothing in the workload deleted: every source is still there.
    let rds = offsite_common::rds::RdsSnapshots::new(aws_sdk_rds::Client::new(&demo.pair.workload));
    for source in demo.selected.iter().chain(&demo.not_selected) {
        let arn: SnapshotArn = source.parse().expect("ARN");
        // AWS Backup's instance snapshots are listed only when asked for by type.
        let backup = arn.kind == SnapshotKind::Instance && arn.name.starts_with("awsbackup:");
        let found = rds.describe(arn.kind, &arn.name, backup.then_some("awsbackup")).await.expect("describe");
        assert!(found.is_some(), "{source} was deleted");
    }
    assert_eq!(demo.pair.workload_copies().await.len(), demo.selected.len(), "one copy per source, none expired yet");

    // The auditor reads the exported items in its own bucket.
    let ddb = aws_sdk_dynamodb::Client::new(&demo.pair.workload);
    let arn = demo.exports.iter().find_map(|e| e["arn"].as_str()).expect("an export");
    let description =
        ddb.describe_export().export_arn(arn).send().await.expect("describe").export_description.expect("d");
    let (_, keys, lines) = export_output(&demo.pair.auditor, AUDITOR_BUCKET, &description).await;
    assert!(keys.iter().all(|k| k.starts_with("offsite/account=")), "{keys:?}");
    let mut names: Vec<&str> = lines.iter().filter_map(|l| l["Item"]["name"]["S"].as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["Ada", "Grace", "Linus"]);

    // The RDS exports: one per source database, complete, and the auditor's query over the
    // Parquet files returns the rows each database was seeded with.
    assert_eq!(demo.rds_exports.len(), 3, "{text}");
    assert!(demo.rds_exports.iter().all(|t| t["status"] == "COMPLETE"), "{:#?}", demo.rds_exports);
    let tables = &demo.rds_rows["tables"];
    let mut customers: Vec<(i64, String, String)> = tables["offsite_rds.shop_public_orders"]["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            let text = |k: &str| r[k].as_str().unwrap_or_default().to_owned();
            (r["id"].as_i64().unwrap_or_default(), text("customer"), text("total"))
        })
        .collect();
    customers.sort();
    assert_eq!(
        customers,
        [(1, "Ada".into(), "12.50".into()), (2, "Grace".into(), "7.25".into()), (3, "Linus".into(), "30.00".into())]
    );
    assert_eq!(tables["offsite_rds.ledger_public_entries"]["rows"].as_array().map(Vec::len), Some(2), "{text}");
    assert_eq!(tables["offsite_rds.legacy_public_notes"]["rows"][0]["note"], "kept for seven years", "{text}");
    assert!(text.contains("1 | Ada | 12.50"), "the report shows the auditor's rows: {text}");
}
