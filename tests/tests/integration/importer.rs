//! The vault side against the emulator: importer, reconciler and retention. The hostile
//! notices (every bad message rejected with its own reason, nothing copied, nothing deleted)
//! are in `tests/hostile.rs`, with the other entry points' hostile input.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use aws_sdk_rds::Client;
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use offsite_common::notice::Notice;
use offsite_common::rds::RdsSnapshots;
use offsite_common::tags;
use offsite_importer::outcome::{Outcome, Verdict};
use offsite_importer::retention::{Policy, apply};
use offsite_tests::deployed::DeployedPair;
use offsite_tests::event_source::sqs_event;
use offsite_tests::fixtures::{db_instance, db_snapshot, delete_db_snapshot, kms_key, share_snapshot};
use offsite_tests::pipeline::Pipeline;
use offsite_tests::{AUDITOR, EmulatorOptions, SnapshotKind, VAULT, WORKLOAD};

fn now() -> DateTime {
    DateTime::from(SystemTime::now())
}

fn rfc3339(t: DateTime) -> String {
    t.fmt(Format::DateTime).expect("time")
}

fn results(outcomes: &[Outcome]) -> Vec<Verdict> {
    outcomes.iter().map(|o| o.result).collect()
}

#[tokio::test]
async fn a_notice_becomes_a_vault_copy_under_the_vault_key_with_provenance() {
    let pipeline = Pipeline::start(Duration::ZERO).await;
    let (copy, bodies) = pipeline.announced("orders-1").await;

    let report = pipeline.vault_side().handle_batch(&sqs_event(&bodies), now()).await.expect("batch");
    assert_eq!(results(&report.outcomes), [Verdict::Imported], "{report:#?}");
    assert!(report.response.batch_item_failures.is_empty());

    let vault = pipeline.vault_copies().await;
    assert_eq!(vault.len(), 1);
    let imported = &vault[0];
    assert_eq!(imported.identifier, report.outcomes[0].vault_copy.clone().expect("target"));
    assert!(imported.identifier.starts_with("vault-"), "{}", imported.identifier);
    assert_eq!(imported.kms_key_id.as_deref(), Some(pipeline.import_key.as_str()));
    assert_eq!(imported.copied_from.as_deref(), Some(copy.arn.as_str()), "RDS records the lineage");
    assert_eq!(imported.tag(tags::COPY_ARN), Some(copy.arn.as_str()));
    assert_eq!(imported.tag(tags::SOURCE_ACCOUNT), Some(WORKLOAD));
    assert_eq!(imported.tag(tags::SOURCE_DATABASE), Some("orders"));
    assert_eq!(imported.tag(tags::SOURCE_ARN), copy.tag(tags::SOURCE_ARN));
    assert_eq!(imported.tag(tags::NOTICE_ID), Some(Notice::id_for(&copy.arn).as_str()));
    assert_eq!(imported.tag(tags::IMPORTED_BY), Some("importer"));
    assert!(imported.tag(tags::IMPORTED_AT).is_some());
    // When the data was taken (what `verify --rpo` and the freshness metric measure): the
    // source snapshot's creation time, carried by the workload's copy.
    let source = RdsSnapshots::new(Client::new(&pipeline.workload))
        .describe(SnapshotKind::Instance, "orders-1", None)
        .await
        .expect("describe")
        .expect("the source");
    let taken = source.created.map(rfc3339).expect("the source's creation time");
    assert_eq!(copy.tag(tags::SOURCE_CREATED), Some(taken.as_str()));
    assert_eq!(imported.tag(tags::SOURCE_CREATED), Some(taken.as_str()));
}

#[tokio::test]
async fn duplicates_and_redeliveries_give_one_copy() {
    let pipeline = Pipeline::start(Duration::ZERO).await;
    let (_copy, bodies) = pipeline.announced("orders-1").await;
    let twice = vec![bodies[0].clone(), bodies[0].clone()];
    let vault = pipeline.vault_side();

    let first = vault.handle_batch(&sqs_event(&twice), now()).await.expect("batch");
    assert_eq!(results(&first.outcomes), [Verdict::Imported, Verdict::AlreadyImported]);
    let again = vault.handle_batch(&sqs_event(&bodies), now()).await.expect("redelivery");
    assert_eq!(results(&again.outcomes), [Verdict::AlreadyImported]);
    // Two importers at once on the same notice.
    let (a, b) = (pipeline.vault_side(), pipeline.vault_side());
    let event = sqs_event(&bodies);
    let (ra, rb) = tokio::join!(a.handle_batch(&event, now()), b.handle_batch(&event, now()));
    assert!(
        ra.expect("a").response.batch_item_failures.is_empty()
            && rb.expect("b").response.batch_item_failures.is_empty()
    );
    assert_eq!(pipeline.vault_copies().await.len(), 1);
}

#[tokio::test]
async fn the_reconciler_imports_what_was_shared_but_never_announced() {
    let pipeline = Pipeline::start(Duration::ZERO).await;
    let copy = pipeline.snapshot_and_export("orders-lost").await;
    // Shared by the scanner, whose notice was lost.
    share_snapshot(&pipeline.workload, SnapshotKind::Instance, &copy.identifier, VAULT).await;
    // An account that is not on the allow-list shares something too.
    let auditor = pipeline.emulator.account(AUDITOR).await.expect("auditor");
    let stranger_key = kms_key(&auditor, "stranger").await;
    db_instance(&auditor, "stranger", Some(&stranger_key)).await;
    db_snapshot(&auditor, "stranger", "stranger-1", vec![]).await;
    share_snapshot(&auditor, SnapshotKind::Instance, "stranger-1", VAULT).await;

    let report = pipeline.reconciler().reconcile(now()).await.expect("reconcile");
    let by_arn: BTreeMap<&str, &Outcome> = report.outcomes.iter().map(|o| (o.item.as_str(), o)).collect();
    assert_eq!(by_arn[copy.arn.as_str()].result, Verdict::Imported, "{report:#?}");
    let stranger = report.outcomes.iter().find(|o| o.item.contains(AUDITOR)).expect("the stranger's share is reported");
    assert_eq!(stranger.result, Verdict::Rejected);
    assert!(stranger.reason.contains("not on the allow-list"), "{}", stranger.reason);

    let vault = pipeline.vault_copies().await;
    assert_eq!(vault.len(), 1, "only the allowed share is imported");
    assert_eq!(vault[0].tag(tags::IMPORTED_BY), Some("reconciler"));
    assert!(report.freshness.is_empty(), "freshness covers the copies present when the run started");

    let again = pipeline.reconciler().reconcile(now()).await.expect("reconcile again");
    assert!(again.outcomes.iter().all(|o| o.result != Verdict::Imported), "{again:#?}");
    let orders = again.freshness.iter().find(|f| f.source_database == "orders").expect("freshness of orders");
    assert_eq!((orders.source_account.as_str(), orders.copies), (WORKLOAD, 1));
    assert!(orders.newest_age_seconds < 3600, "{orders:?}");
}

#[tokio::test]
async fn retention_keeps_what_the_policy_keeps_and_nothing_else_is_touched() {
    let pipeline = Pipeline::start(Duration::ZERO).await;
    for name in ["orders-a", "orders-b", "orders-c"] {
        let (_copy, bodies) = pipeline.announced(name).await;
        let report = pipeline.vault_side().handle_batch(&sqs_event(&bodies), now()).await.expect("batch");
        assert_eq!(results(&report.outcomes), [Verdict::Imported]);
    }
    // Backdate the data: 40, 20 and 2 days old (the vault's operators' hand; retention
    // runs under its own role).
    let operator = RdsSnapshots::new(Client::new(&pipeline.vault));
    let rds = RdsSnapshots::new(Client::new(&pipeline.retention_role));
    let mut vault = pipeline.vault_copies().await;
    vault.sort_by(|a, b| a.identifier.cmp(&b.identifier));
    for (copy, days) in vault.iter().zip([40, 20, 2]) {
        let taken = rfc3339(DateTime::from_secs(now().secs() - days * 86_400));
        operator
            .add_tags(&copy.arn, &BTreeMap::from([(tags::SOURCE_CREATED.to_owned(), taken)]))
            .await
            .expect("backdate");
    }
    // A snapshot the vault's operators made themselves.
    let own_key = kms_key(&pipeline.vault, "own").await;
    db_instance(&pipeline.vault, "scratch", Some(&own_key)).await;
    db_snapshot(&pipeline.vault, "scratch", "operator-manual", vec![]).await;
    // The data is old; the copies are young: the minimum age counts the copy's own age too,
    // so pretend a month has passed.
    let later = DateTime::from_secs(now().secs() + 30 * 86_400);
    let policy =
        Policy { keep_last: 1, daily: 0, weekly: 0, monthly: 0, min_age: Duration::from_secs(86_400), dry_run: true };

    let dry = apply(&rds, &policy, later, tags::MARKER_IMPORT).await.expect("dry run");
    assert!(dry.deleted.is_empty());
    assert_eq!(dry.verdicts.iter().filter(|v| v.delete).count(), 2, "{dry:#?}");
    assert_eq!(pipeline.vault_copies().await.len(), 3, "a dry run deletes nothing");

    let real = apply(&rds, &Policy { dry_run: false, ..policy }, later, tags::MARKER_IMPORT).await.expect("retention");
    assert_eq!(real.deleted.len(), 2, "{real:#?}");
    let left = pipeline.vault_copies().await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].identifier, vault[2].identifier, "the newest data stays");
    let all = Client::new(&pipeline.vault).describe_db_snapshots().snapshot_type("manual").send().await.expect("list");
    assert!(all.db_snapshots().iter().any(|s| s.db_snapshot_identifier() == Some("operator-manual")));
}

/// The pair deployed with a second region (us-west-2), and the reconciler as the template
/// runs it there: its role in both regions, the stack's second-region key.
async fn with_second_region() -> (Pipeline, offsite_importer::run::Vault, offsite_importer::dr::SecondRegion) {
    use offsite_importer::dr::SecondRegion;
    use offsite_importer::run::Vault;
    use offsite_importer::settings::{DR_KEY_VAR, DR_REGION_VAR, VaultSettings};

    let pair = DeployedPair::start_with_second_region(&EmulatorOptions::default(), &[], &[], "us-west-2")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let pipeline = Pipeline::on(pair).await;
    let dr_key = pipeline.dr_key.clone().expect("the second region's key");
    let role = &pipeline.reconciler_role;
    let west = role.clone().into_builder().region(aws_config::Region::new("us-west-2")).build();
    let mut env = pipeline.env.clone();
    env.insert(DR_REGION_VAR.to_owned(), "us-west-2".to_owned());
    env.insert(DR_KEY_VAR.to_owned(), dr_key);
    let settings = VaultSettings::from_env(&env).expect("settings with a second region");
    let second = SecondRegion::new(settings.dr.clone().expect("second region"), role.clone(), &west);
    let vault = Vault::new(RdsSnapshots::new(Client::new(role)), settings).with_second_region(second.clone());
    (pipeline, vault, second)
}

#[tokio::test]
async fn at_the_second_regions_quota_the_rest_waits_and_follows_once_there_is_room() {
    let (pipeline, vault, second) = with_second_region().await;
    let mut bodies = Vec::new();
    for name in ["orders-1", "orders-2"] {
        bodies.extend(pipeline.announced(name).await.1);
    }
    let imported = pipeline.vault_side().handle_batch(&sqs_event(&bodies), now()).await.expect("batch");
    assert_eq!(results(&imported.outcomes), [Verdict::Imported, Verdict::Imported]);
    pipeline.emulator.set_snapshot_quotas_in(VAULT, "us-west-2", 1, 100).unwrap_or_else(|e| panic!("{e}"));

    let full = vault.reconcile(now()).await.expect("reconcile");
    let mut verdicts = results(&full.outcomes);
    verdicts.sort();
    assert_eq!(verdicts, [Verdict::Replicated, Verdict::AtQuota], "{full:#?}");
    let west = full.snapshot_quotas.get("us-west-2").and_then(|q| q.instance);
    assert_eq!(west, Some(offsite_common::quota::Quota { used: 1, max: 1 }), "{full:#?}");
    assert_eq!(second.copies().await.expect("second-region copies").len(), 1);

    pipeline.emulator.set_snapshot_quotas_in(VAULT, "us-west-2", 100, 100).unwrap_or_else(|e| panic!("{e}"));
    let room = vault.reconcile(now()).await.expect("reconcile");
    assert_eq!(results(&room.outcomes), [Verdict::Replicated], "{room:#?}");
    assert_eq!(second.copies().await.expect("second-region copies").len(), 2);
}

#[tokio::test]
async fn with_a_second_region_every_import_is_copied_there_once() {
    let (pipeline, vault, second) = with_second_region().await;
    let dr_key = pipeline.dr_key.clone().expect("the second region's key");
    let (_copy, bodies) = pipeline.announced("orders-1").await;
    let imported = pipeline.vault_side().handle_batch(&sqs_event(&bodies), now()).await.expect("batch");
    assert_eq!(results(&imported.outcomes), [Verdict::Imported]);

    let report = vault.reconcile(now()).await.expect("reconcile");
    let primary = pipeline.vault_copies().await;
    assert_eq!(primary.len(), 1);
    let replicated: Vec<&Outcome> = report.outcomes.iter().filter(|o| o.result == Verdict::Replicated).collect();
    assert_eq!(replicated.len(), 1, "{report:#?}");
    assert_eq!(replicated[0].copy_arn.as_deref(), Some(primary[0].arn.as_str()));

    let copies = second.copies().await.expect("second-region copies");
    assert_eq!(copies.len(), 1);
    let dr = &copies[0];
    assert_eq!(dr.identifier, primary[0].identifier);
    assert!(dr.arn.contains(":us-west-2:"), "{}", dr.arn);
    assert_eq!(dr.kms_key_id.as_deref(), Some(dr_key.as_str()));
    assert_eq!(dr.tag(tags::DR_OF), Some(primary[0].arn.as_str()));
    assert_eq!(dr.tag(tags::MARKER), Some(tags::MARKER_IMPORT_DR));
    assert_eq!(dr.tag(tags::SOURCE_DATABASE), Some("orders"));

    let again = vault.reconcile(now()).await.expect("reconcile again");
    assert!(again.outcomes.iter().all(|o| o.result != Verdict::Replicated), "{again:#?}");
    assert_eq!(second.copies().await.expect("list").len(), 1);
}

/// Retention in the second region, under the retention role the template gives it there:
/// the same policy over the second-region copies (their own marker), nothing else touched.
#[tokio::test]
async fn retention_in_the_second_region_deletes_only_its_own_expired_copies() {
    let (pipeline, vault, second) = with_second_region().await;
    for name in ["orders-a", "orders-b"] {
        let (_copy, bodies) = pipeline.announced(name).await;
        let report = pipeline.vault_side().handle_batch(&sqs_event(&bodies), now()).await.expect("batch");
        assert_eq!(results(&report.outcomes), [Verdict::Imported]);
    }
    let report = vault.reconcile(now()).await.expect("reconcile");
    assert_eq!(report.outcomes.iter().filter(|o| o.result == Verdict::Replicated).count(), 2, "{report:#?}");
    // The second region's data: 20 and 2 days old (the operator's hand).
    let mut copies = second.copies().await.expect("second-region copies");
    copies.sort_by(|a, b| a.identifier.cmp(&b.identifier));
    let west_operator = pipeline.vault.clone().into_builder().region(aws_config::Region::new("us-west-2")).build();
    let operator = RdsSnapshots::new(Client::new(&west_operator));
    for (copy, days) in copies.iter().zip([20, 2]) {
        let taken = rfc3339(DateTime::from_secs(now().secs() - days * 86_400));
        let tag = BTreeMap::from([(tags::SOURCE_CREATED.to_owned(), taken)]);
        operator.add_tags(&copy.arn, &tag).await.expect("backdate");
    }
    let retention_west =
        pipeline.retention_role.clone().into_builder().region(aws_config::Region::new("us-west-2")).build();
    let retention = RdsSnapshots::new(Client::new(&retention_west));
    let policy =
        Policy { keep_last: 1, daily: 0, weekly: 0, monthly: 0, min_age: Duration::from_secs(86_400), dry_run: false };
    let later = DateTime::from_secs(now().secs() + 30 * 86_400);

    let report = apply(&retention, &policy, later, tags::MARKER_IMPORT_DR).await.expect("retention");
    assert_eq!(report.deleted, [copies[0].identifier.clone()], "{report:#?}");
    assert!(report.errors.is_empty(), "{report:#?}");
    let left = second.copies().await.expect("second-region copies");
    assert_eq!(left.iter().map(|c| c.identifier.as_str()).collect::<Vec<_>>(), [copies[1].identifier.as_str()]);
    assert_eq!(pipeline.vault_copies().await.len(), 2, "the primary region's copies are not this run's");
}

#[tokio::test]
async fn a_flood_is_deferred_not_dropped() {
    use offsite_importer::settings::{MAX_PER_INVOCATION_VAR, MAX_PER_SOURCE_PER_DAY_VAR};

    let pipeline = Pipeline::start(Duration::ZERO).await;
    let mut bodies = Vec::new();
    for name in ["orders-1", "orders-2", "orders-3"] {
        bodies.extend(pipeline.announced(name).await.1);
    }
    let vault_with = |name: &str, value: &str| {
        let mut env = pipeline.env.clone();
        env.insert(name.to_owned(), value.to_owned());
        pipeline.vault_as(&pipeline.importer_role, &env)
    };

    let capped = vault_with(MAX_PER_INVOCATION_VAR, "1").handle_batch(&sqs_event(&bodies), now()).await.expect("batch");
    assert_eq!(results(&capped.outcomes), [Verdict::Imported, Verdict::Deferred, Verdict::Deferred]);
    let returned: Vec<&str> = capped.response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
    assert_eq!(returned, ["m-1", "m-2"], "deferred records go back to the queue");

    let daily =
        vault_with(MAX_PER_SOURCE_PER_DAY_VAR, "2").handle_batch(&sqs_event(&bodies), now()).await.expect("batch");
    assert_eq!(results(&daily.outcomes), [Verdict::AlreadyImported, Verdict::Imported, Verdict::Deferred]);
    assert!(daily.outcomes[2].reason.contains("2 imports from 111111111111"), "{:?}", daily.outcomes[2]);

    // The next day's run (or a raised limit) takes the rest.
    let rest = pipeline.vault_side().handle_batch(&sqs_event(&bodies), now()).await.expect("batch");
    assert_eq!(results(&rest.outcomes), [Verdict::AlreadyImported, Verdict::AlreadyImported, Verdict::Imported]);
    assert_eq!(pipeline.vault_copies().await.len(), 3);
}

/// The reconciler remembers every database it sees an import of (in the vault's SSM
/// Parameter Store, under the template's path), so a database whose vault copies all vanish
/// is reported lost and given the age of nothing: the freshness alarm fires, where before
/// the database just dropped out of the metric.
#[tokio::test]
async fn a_database_whose_vault_copies_all_vanish_is_reported_lost() {
    let pipeline = Pipeline::start(Duration::ZERO).await;
    let (copy, bodies) = pipeline.announced("orders-1").await;
    let report = pipeline.vault_side().handle_batch(&sqs_event(&bodies), now()).await.expect("batch");
    assert_eq!(results(&report.outcomes), [Verdict::Imported]);

    let first = pipeline.reconciler().reconcile(now()).await.expect("reconcile");
    assert!(first.lost_databases.is_empty() && first.register_error.is_none(), "{first:#?}");
    let register = aws_sdk_ssm::Client::new(&pipeline.vault)
        .get_parameters_by_path()
        .path("/offsite/protected-databases")
        .recursive(true)
        .send()
        .await
        .expect("the register");
    let names: Vec<&str> = register.parameters().iter().filter_map(|p| p.name()).collect();
    assert_eq!(names, [format!("/offsite/protected-databases/{WORKLOAD}/orders")]);

    // The workload's shared copy is gone (it would otherwise be imported again), and every
    // vault copy of `orders` is deleted (by hand, by a compromised principal).
    delete_db_snapshot(&pipeline.workload, &copy.identifier).await;
    for copy in pipeline.vault_copies().await {
        delete_db_snapshot(&pipeline.vault, &copy.identifier).await;
    }
    let at = now();
    let lost = pipeline.reconciler().reconcile(at).await.expect("reconcile");
    assert_eq!(lost.lost_databases, [format!("{WORKLOAD}/orders")], "{lost:#?}");
    let orders = lost.freshness.iter().find(|f| f.source_database == "orders").expect("orders still reported");
    assert_eq!((orders.copies, orders.newest_age_seconds), (0, u64::try_from(at.secs()).expect("now")));
    assert!(lost.register_error.is_none(), "{lost:#?}");
    assert!(lost.outcomes.is_empty(), "nothing left to import: {lost:#?}");
    // It stays lost, run after run: the register is never rewritten by the pipeline.
    let again = pipeline.reconciler().reconcile(now()).await.expect("reconcile");
    assert_eq!(again.lost_databases, [format!("{WORKLOAD}/orders")]);
}
