//! The scanner against the emulator, with the exporter and the vault's queue.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use aws_sdk_rds::Client;
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use offsite_common::rds::RdsSnapshots;
use offsite_common::snapshot::SnapshotStatus;
use offsite_common::tags;
use offsite_exporter::export::Outcome;
use offsite_scanner::decide::Action;
use offsite_tests::fixtures::{db_snapshot, restore_accounts, wait_for};
use offsite_tests::pipeline::Pipeline;
use offsite_tests::{AUDITOR, SnapshotKind, VAULT, WORKLOAD};

fn now() -> DateTime {
    DateTime::from(SystemTime::now())
}

#[tokio::test]
async fn a_finished_copy_is_shared_and_announced_exactly_once() {
    let pipeline = Pipeline::start(Duration::from_secs(2)).await;
    let copy = pipeline.snapshot_and_export("orders-1").await;
    let source_arn = copy.tag(tags::SOURCE_ARN).expect("lineage").to_owned();
    assert_eq!(copy.status, SnapshotStatus::InProgress("creating".into()));

    // Still creating: not shared, not announced.
    let report = pipeline.scanner().scan(now(), "scan-1").await.expect("scan");
    assert!(matches!(report.items[0].action, Action::InFlight { .. }), "{report:#?}");
    assert!(restore_accounts(&pipeline.workload, SnapshotKind::Instance, &copy.identifier).await.is_empty());
    assert!(pipeline.notices().await.is_empty());

    pipeline.wait_available(&source_arn).await;
    let report = pipeline.scanner().scan(now(), "scan-2").await.expect("scan");
    assert_eq!(report.announced, std::slice::from_ref(&copy.identifier), "{report:#?}");
    assert_eq!(restore_accounts(&pipeline.workload, SnapshotKind::Instance, &copy.identifier).await, [VAULT]);
    let marked = pipeline.copy_of(&source_arn).await.expect("copy");
    assert_eq!(marked.tag(tags::STAGE), Some(tags::STAGE_ANNOUNCED));

    // Repeated and concurrent scans announce nothing more.
    let (a, b) = (pipeline.scanner(), pipeline.scanner());
    let (ra, rb) = tokio::join!(a.scan(now(), "scan-3a"), b.scan(now(), "scan-3b"));
    assert!(ra.expect("scan a").announced.is_empty() && rb.expect("scan b").announced.is_empty());
    pipeline.scanner().scan(now(), "scan-4").await.expect("scan");

    let notices = wait_for("the notice in the vault's queue", Duration::from_secs(60), || async {
        Some(pipeline.notices().await).filter(|n| !n.is_empty())
    })
    .await;
    assert_eq!(notices.len(), 1, "{notices:#?}");
    let notice = &notices[0];
    assert_eq!(notice.copy_arn, copy.arn);
    assert_eq!(notice.source_snapshot_arn, source_arn);
    assert_eq!(notice.source_account.as_str(), WORKLOAD);
    assert_eq!(notice.source_database.as_deref(), Some("orders"));
    assert_eq!(notice.export_key_arn, pipeline.export_key);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(pipeline.notices().await.is_empty(), "announced exactly once");
}

#[tokio::test]
async fn two_scans_racing_for_a_new_copy_announce_it_once() {
    let pipeline = Pipeline::start(Duration::ZERO).await;
    let copy = pipeline.snapshot_and_export("orders-race").await;
    let (a, b) = (pipeline.scanner(), pipeline.scanner());
    let (ra, rb) = tokio::join!(a.scan(now(), "race-a"), b.scan(now(), "race-b"));
    let (ra, rb) = (ra.expect("scan a"), rb.expect("scan b"));
    assert_eq!(ra.announced.len() + rb.announced.len(), 1, "{ra:#?}\n{rb:#?}");
    let notices = wait_for("the notice", Duration::from_secs(60), || async {
        Some(pipeline.notices().await).filter(|n| !n.is_empty())
    })
    .await;
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].copy_arn, copy.arn);
}

#[tokio::test]
async fn a_failed_copy_is_reported_retried_and_then_removed() {
    let pipeline = Pipeline::start(Duration::from_secs(2)).await;
    let first = pipeline.snapshot_and_export("orders-1").await;
    let source_arn = first.tag(tags::SOURCE_ARN).expect("lineage").to_owned();
    pipeline.emulator.fail_snapshot(WORKLOAD, SnapshotKind::Instance, &first.identifier).expect("mark failing");
    wait_for("the copy to fail", Duration::from_secs(30), || async {
        pipeline.copy_of(&source_arn).await.filter(|c| matches!(c.status, SnapshotStatus::Failed(_)))
    })
    .await;

    let report = pipeline.scanner().scan(now(), "scan-1").await.expect("scan");
    let item = report.items.iter().find(|i| i.copy_identifier == first.identifier).expect("reported");
    assert!(matches!(item.action, Action::ReportFailed { .. }) && item.finding, "{item:?}");

    // The exporter's next run retries under attempt 2; once that one is available, the
    // scanner announces it and removes attempt 1 (kept until then as the record).
    let retry = pipeline.exporter().export_one(&source_arn.parse().expect("ARN"), false).await.expect("retry");
    assert_eq!(retry.count(&Outcome::Copied), 1, "{retry:#?}");
    let second = pipeline.copy_of(&source_arn).await.expect("attempt 2");
    assert_eq!(second.tag(tags::ATTEMPT), Some("2"));
    assert_ne!(second.identifier, first.identifier);
    let report = pipeline.scanner().scan(now(), "scan-2").await.expect("scan");
    assert!(report.deleted.is_empty(), "attempt 2 is still copying: {report:#?}");

    pipeline.wait_available(&source_arn).await;
    let report = pipeline.scanner().scan(now(), "scan-3").await.expect("scan");
    assert_eq!(report.announced, std::slice::from_ref(&second.identifier));
    assert_eq!(report.deleted, std::slice::from_ref(&first.identifier), "{report:#?}");
}

#[tokio::test]
async fn retention_deletes_only_the_pipelines_expired_copies() {
    let pipeline = Pipeline::start(Duration::ZERO).await;
    let old = pipeline.snapshot_and_export("orders-old").await;
    let young = pipeline.snapshot_and_export("orders-young").await;
    // An operator's own manual snapshot, never touched.
    db_snapshot(&pipeline.workload, "orders", "operator-kept", vec![]).await;
    let report = pipeline.scanner().scan(now(), "scan-1").await.expect("scan");
    assert_eq!(report.announced.len(), 2);

    // `old` was announced eight days ago.
    let eight_days_ago = DateTime::from_secs(now().secs() - 8 * 86_400).fmt(Format::DateTime).expect("time");
    let backdate = BTreeMap::from([(tags::ANNOUNCED_AT.to_owned(), eight_days_ago)]);
    RdsSnapshots::new(Client::new(&pipeline.workload)).add_tags(&old.arn, &backdate).await.expect("backdate");

    let report = pipeline.scanner().scan(now(), "scan-2").await.expect("scan");
    assert_eq!(report.deleted, std::slice::from_ref(&old.identifier), "{report:#?}");
    let remaining: Vec<String> = Client::new(&pipeline.workload)
        .describe_db_snapshots()
        .db_instance_identifier("orders")
        .send()
        .await
        .expect("list")
        .db_snapshots
        .unwrap_or_default()
        .into_iter()
        .filter_map(|s| s.db_snapshot_identifier)
        .collect();
    for kept in [young.identifier.as_str(), "orders-old", "orders-young", "operator-kept"] {
        assert!(remaining.iter().any(|r| r == kept), "{kept} must stay: {remaining:?}");
    }
    assert!(!remaining.contains(&old.identifier));
}

#[tokio::test]
async fn a_crash_after_sharing_and_before_marking_is_repaired_by_the_next_scan() {
    let pipeline = Pipeline::start(Duration::ZERO).await;
    let copy = pipeline.snapshot_and_export("orders-1").await;
    // The state a scan leaves when it dies after claiming and sharing: claimed an hour ago,
    // shared, never published, never marked.
    let an_hour_ago = DateTime::from_secs(now().secs() - 3600).fmt(Format::DateTime).expect("time");
    let claim = BTreeMap::from([
        (tags::STAGE.to_owned(), tags::STAGE_ANNOUNCING.to_owned()),
        (tags::CLAIM.to_owned(), "dead-scan".to_owned()),
        (tags::CLAIMED_AT.to_owned(), an_hour_ago),
    ]);
    let rds = RdsSnapshots::new(Client::new(&pipeline.scanner_role));
    rds.add_tags(&copy.arn, &claim).await.expect("claim");
    rds.share(copy.kind, &copy.identifier, VAULT).await.expect("share");

    let report = pipeline.scanner().scan(now(), "scan-after-crash").await.expect("scan");
    assert_eq!(report.announced, std::slice::from_ref(&copy.identifier), "{report:#?}");
    assert_eq!(restore_accounts(&pipeline.workload, SnapshotKind::Instance, &copy.identifier).await, [VAULT]);
    let notices = wait_for("the notice", Duration::from_secs(60), || async {
        Some(pipeline.notices().await).filter(|n| !n.is_empty())
    })
    .await;
    assert_eq!(notices.len(), 1);
}

#[tokio::test]
async fn a_share_with_a_foreign_account_is_a_security_finding() {
    let pipeline = Pipeline::start(Duration::ZERO).await;
    let copy = pipeline.snapshot_and_export("orders-1").await;
    RdsSnapshots::new(Client::new(&pipeline.workload))
        .share(copy.kind, &copy.identifier, AUDITOR)
        .await
        .expect("share");

    let report = pipeline.scanner().scan(now(), "scan").await.expect("scan");
    let finding = report.items.iter().find(|i| i.security).expect("a security finding");
    assert!(finding.finding && finding.result.contains(AUDITOR), "{finding:?}");
}

#[tokio::test]
async fn an_operators_copy_with_copied_tags_is_never_shared_or_deleted() {
    let pipeline = Pipeline::start(Duration::ZERO).await;
    let copy = pipeline.snapshot_and_export("orders-1").await;
    pipeline.scanner().scan(now(), "scan-1").await.expect("scan");
    // An operator copies the pipeline's copy and keeps its tags, announced-at included.
    Client::new(&pipeline.workload)
        .copy_db_snapshot()
        .source_db_snapshot_identifier(&copy.identifier)
        .target_db_snapshot_identifier("operators-copy")
        .kms_key_id(&pipeline.export_key)
        .copy_tags(true)
        .send()
        .await
        .expect("operator's copy");
    let a_month_ago = DateTime::from_secs(now().secs() - 30 * 86_400).fmt(Format::DateTime).expect("time");
    let arn = format!("arn:aws:rds:us-east-1:{WORKLOAD}:snapshot:operators-copy");
    let backdate = BTreeMap::from([(tags::ANNOUNCED_AT.to_owned(), a_month_ago)]);
    RdsSnapshots::new(Client::new(&pipeline.workload)).add_tags(&arn, &backdate).await.expect("tags");

    let report = pipeline.scanner().scan(now(), "scan-2").await.expect("scan");
    let item = report.items.iter().find(|i| i.copy_identifier == "operators-copy").expect("reported");
    assert_eq!(item.action, Action::NotOurs);
    assert!(item.security && item.finding, "{item:?}");
    assert!(report.deleted.is_empty(), "{report:#?}");
    assert!(restore_accounts(&pipeline.workload, SnapshotKind::Instance, "operators-copy").await.is_empty());
}

/// A crash between two `PublishBatch` calls repeats no notice: each batch's copies are marked
/// announced before the next batch is published. (When marking came after all publishing, a
/// crash there announced every copy of the scan again: the chaos run's duplicates.)
#[tokio::test]
async fn a_crash_between_two_publish_batches_repeats_no_notice() {
    use offsite_scanner::scan::Scanner;
    use offsite_scanner::settings::ScannerSettings;
    use offsite_tests::faults::{Crash, Invoked, Lane};

    let pipeline = Pipeline::start(Duration::ZERO).await;
    for i in 0..15 {
        pipeline.snapshot_and_export(&format!("orders-{i}")).await;
    }
    let lane = Lane::new("scanner", 1, 0.0);
    let config = lane.wrap(&pipeline.scanner_role);
    let settings = ScannerSettings::from_env(&pipeline.env).expect("settings");
    let scanner = Scanner::new(RdsSnapshots::new(Client::new(&config)), aws_sdk_sns::Client::new(&config), settings);

    let crash = Crash::At("rds:AddTagsToResource", "sns:PublishBatch");
    let first = lane.invoke(crash, scanner.scan(now(), "scan-1")).await;
    assert!(matches!(first, Invoked::Crashed(_)), "the scan dies before its second PublishBatch: {first:?}");
    let stages = |copies: &[offsite_common::snapshot::Snapshot], stage: &str| {
        copies.iter().filter(|c| c.tag(tags::STAGE) == Some(stage)).count()
    };
    let copies = pipeline.scanner().copies().await.expect("copies");
    assert_eq!((stages(&copies, tags::STAGE_ANNOUNCED), stages(&copies, tags::STAGE_ANNOUNCING)), (10, 5));
    let before_crash: Vec<String> = pipeline.notices().await.into_iter().map(|n| n.copy_arn).collect();
    assert_eq!(before_crash.len(), 10, "the first batch was published");

    // Its claim expired, the next scan announces the other five, and only those.
    let later = DateTime::from_secs(now().secs() + 16 * 60);
    let second = pipeline.scanner().scan(later, "scan-2").await.expect("scan");
    assert_eq!(second.announced.len(), 5, "{second:#?}");
    let after: Vec<String> = pipeline.notices().await.into_iter().map(|n| n.copy_arn).collect();
    assert_eq!(after.len(), 5);
    assert!(after.iter().all(|arn| !before_crash.contains(arn)), "no copy announced twice");
    let copies = pipeline.scanner().copies().await.expect("copies");
    assert_eq!(stages(&copies, tags::STAGE_ANNOUNCED), 15);
}
