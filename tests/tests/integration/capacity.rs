//! RDS's manual snapshot quotas as the functions see them: each function reads
//! `DescribeAccountAttributes` under its template role once per run, and its report carries
//! the figures the emulator counts (AWS Backup's and automated snapshots do not count); at the
//! vault's quota the importer and the reconciler stop starting copies, the importer sends the
//! deferred notices to its queue again (nothing dead-lettered), and the next run with room
//! imports the rest.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use aws_smithy_types::DateTime;
use offsite_common::quota::{Quota, SnapshotQuotas};
use offsite_common::rds::RdsSnapshots;
use offsite_common::tags;
use offsite_importer::outcome::Verdict;
use offsite_importer::retention::{Policy, apply};
use offsite_tests::event_source::{self, sqs_event};
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
    // Read with the vault's listing, before the batch's copy.
    assert_eq!(batch.snapshot_quotas, Some(quotas((0, 60), (0, 50))), "{batch:#?}");
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

/// Messages SQS holds back (`DelaySeconds`) in `queue_url`.
async fn delayed(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> u32 {
    let name = aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesDelayed;
    let answer = sqs.get_queue_attributes().queue_url(queue_url).attribute_names(name.clone()).send().await;
    let attributes = answer.expect("queue attributes").attributes.unwrap_or_default();
    attributes.get(&name).and_then(|v| v.parse().ok()).unwrap_or_default()
}

#[tokio::test]
async fn a_vault_at_its_quota_defers_every_notice_dead_letters_none_and_recovers_with_room() {
    let pipeline = Pipeline::start(Duration::ZERO).await;
    for name in ["orders-1", "orders-2", "orders-3"] {
        let copy = pipeline.snapshot_and_export(name).await;
        pipeline.wait_available(copy.tag(tags::SOURCE_ARN).expect("lineage")).await;
    }
    let scan = pipeline.scanner().scan(now(), "scan").await.expect("scan");
    assert_eq!(scan.announced.len(), 3, "{scan:#?}");
    // Room for one vault copy.
    pipeline.emulator.set_snapshot_quotas(VAULT, 1, 100).unwrap_or_else(|e| panic!("{e}"));

    // Lambda's event source mapping delivers the three notices in one batch.
    let mapping = aws_sdk_sqs::Client::new(&pipeline.importer_role);
    let world = aws_sdk_sqs::Client::new(&pipeline.vault);
    let received = offsite_tests::fixtures::wait_for("the three notices", Duration::from_secs(10), || async {
        let visible = event_source::receive_visible(&mapping, &pipeline.queue_url, 30).await;
        if visible.len() == 3 {
            Some(visible)
        } else {
            event_source::settle(&mapping, &world, &pipeline.queue_url, &visible, &BTreeSet::new()).await;
            None
        }
    })
    .await;
    let batch = pipeline.vault_side().handle_batch(&event_source::event_of(&received), now()).await.expect("batch");
    // The records are handled at once: whichever copy reaches RDS first takes the room, so
    // the verdicts are counted, not ordered.
    let count = |verdict: Verdict| batch.outcomes.iter().filter(|o| o.result == verdict).count();
    assert_eq!((count(Verdict::Imported), count(Verdict::AtQuota)), (1, 2), "{batch:#?}");
    assert!(
        batch.outcomes.iter().all(|o| o.requeued == (o.result == Verdict::AtQuota)),
        "the deferred ones, and only they, sent to the queue again: {batch:#?}"
    );
    assert!(batch.response.batch_item_failures.is_empty(), "nothing returned to count a receive: {batch:#?}");
    assert_eq!(batch.snapshot_quotas.and_then(|q| q.instance), Some(Quota { used: 0, max: 1 }), "before the batch");
    let succeeded = event_source::succeeded(&received, &batch.response);
    event_source::settle(&mapping, &world, &pipeline.queue_url, &received, &succeeded).await;
    // The two deferred notices wait in the queue, delayed; nothing went to the DLQ.
    assert_eq!(delayed(&world, &pipeline.queue_url).await, 2);
    assert_eq!(event_source::queue_depth(&world, &pipeline.dead_letter_queue_url).await, 0);
    assert_eq!(pipeline.vault_copies().await.len(), 1);

    // The reconciler meets the same wall: one state, nothing started.
    let stuck = pipeline.reconciler().reconcile(now()).await.expect("reconcile");
    let verdicts: Vec<Verdict> = stuck.outcomes.iter().map(|o| o.result).collect();
    assert_eq!(verdicts, [Verdict::AtQuota, Verdict::AtQuota], "{stuck:#?}");
    assert_eq!(pipeline.vault_copies().await.len(), 1);

    // A quota increase: the next run imports the rest, each once.
    pipeline.emulator.set_snapshot_quotas(VAULT, 100, 100).unwrap_or_else(|e| panic!("{e}"));
    let recovered = pipeline.reconciler().reconcile(now()).await.expect("reconcile");
    let verdicts: Vec<Verdict> = recovered.outcomes.iter().map(|o| o.result).collect();
    assert_eq!(verdicts, [Verdict::Imported, Verdict::Imported], "{recovered:#?}");
    let copies = pipeline.vault_copies().await;
    let imported: BTreeSet<&str> = copies.iter().filter_map(|c| c.tag(tags::COPY_ARN)).collect();
    assert_eq!((copies.len(), imported.len()), (3, 3), "each workload copy once: {copies:#?}");
}
