//! Fidelity patch: snapshot listings come in pages of at most MaxRecords (20–100).

use std::collections::BTreeSet;

use aws_sdk_rds::Client;
use offsite_common::rds::RdsSnapshots;
use offsite_common::snapshot::SnapshotKind;
use offsite_tests::fixtures::{db_instance, db_snapshot, error_code};
use offsite_tests::{Emulator, WORKLOAD};

#[tokio::test]
async fn listings_are_paged_and_the_adapter_follows_every_marker() {
    let emulator = Emulator::start().expect("emulator starts");
    let workload = emulator.account(WORKLOAD).await.expect("workload credentials");
    db_instance(&workload, "orders", None).await;
    for i in 0..44 {
        db_snapshot(&workload, "orders", &format!("orders-{i:02}"), vec![]).await;
    }
    let rds = Client::new(&workload);

    let mut seen = BTreeSet::new();
    let mut marker: Option<String> = None;
    let mut pages = Vec::new();
    loop {
        let page = rds
            .describe_db_snapshots()
            .snapshot_type("manual")
            .max_records(20)
            .set_marker(marker.take())
            .send()
            .await
            .expect("page");
        let ids: Vec<String> =
            page.db_snapshots().iter().filter_map(|s| s.db_snapshot_identifier().map(str::to_owned)).collect();
        pages.push(ids.len());
        seen.extend(ids);
        match page.marker {
            Some(next) => marker = Some(next),
            None => break,
        }
    }
    assert_eq!(pages, [20, 20, 4]);
    assert_eq!(seen.len(), 44, "every snapshot exactly once");

    let too_small = rds.describe_db_snapshots().max_records(10).send().await;
    assert_eq!(error_code(&too_small).as_deref(), Some("InvalidParameterValue"));

    emulator.reset_request_counts().expect("reset");
    let all = RdsSnapshots::new(rds.clone()).list(SnapshotKind::Instance, Some("manual")).await.expect("list");
    assert_eq!(all.len(), 44);
    let calls = emulator.request_counts().expect("counts").of(WORKLOAD, "rds", "DescribeDBSnapshots");
    assert_eq!(calls, 1, "44 snapshots fit in one page of 100");
}
