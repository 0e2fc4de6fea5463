//! The vault's restore tests on the deployed pair, under the tester's template role: a vault
//! copy is restored into the vault's subnet group (not public, no deletion protection, the
//! configured class), checked against the copy, its evidence recorded on the copy (and in the
//! evidence bucket), and the restored database deleted; an Aurora copy's cluster gets its
//! primary instance and both are deleted; a restore not available in time is a failed test
//! and is deleted all the same; a crash at every step boundary and two testers at once still
//! make one restore per database and period, and leave nothing behind.

use std::time::{Duration, SystemTime};

use aws_smithy_types::DateTime;
use offsite_common::snapshot::{Snapshot, SnapshotKind};
use offsite_common::tags;
use offsite_restore_test::plan::{Outcome, ResourceKind, Restored, Step};
use offsite_restore_test::run::{Report, RestoreTester, StartResult, restored};
use offsite_tests::WORKLOAD;
use offsite_tests::fixtures::{db_cluster, vault_import_of};
use offsite_tests::pipeline::Pipeline;
use serde_json::json;

const EVIDENCE: &str = "offsite-vault-evidence";

/// The seeded database: what the restored PostgreSQL holds.
fn shop() -> serde_json::Value {
    json!([{
        "name": "shop",
        "tables": [{"schema": "public", "name": "orders",
            "columns": [{"name": "id", "type": "integer"}, {"name": "customer", "type": "text"}],
            "rows": [[1, "ada"], [2, "grace"]]}],
    }])
}

/// The most runs a test waits for RDS (the emulator) to move on: a bound on runs, not on
/// time, generous for a busy machine (a real database server starts behind a restore with
/// data checks: a few seconds idle, more under load).
const RUNS: usize = 600;

pub(crate) async fn run(tester: &RestoreTester, now: DateTime) -> Report {
    tester.run(now).await.expect("the listings succeed")
}

/// The tester's DB instances and clusters now in the vault.
pub(crate) async fn leftovers(p: &Pipeline) -> Vec<Restored> {
    let all = restored(&aws_sdk_rds::Client::new(&p.vault)).await.expect("list DB instances and clusters");
    all.into_iter().filter(Restored::is_ours).collect()
}

pub(crate) async fn copy_now(p: &Pipeline, arn: &str) -> Snapshot {
    p.vault_copies().await.into_iter().find(|c| c.arn == arn).expect("the vault copy")
}

/// The evidence record `key` in the evidence bucket, as JSON.
async fn evidence_record(p: &Pipeline, key: &str) -> serde_json::Value {
    let object = aws_sdk_s3::Client::new(&p.vault)
        .get_object()
        .bucket(EVIDENCE)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("the evidence record {key}: {e:?}"));
    serde_json::from_slice(&object.body.collect().await.expect("read").into_bytes()).expect("JSON")
}

/// Runs the tester (at `at`, else the real time) until nothing of it is left in the vault; a
/// bound on runs, not on time.
pub(crate) async fn run_until_gone(p: &Pipeline, tester: &RestoreTester, at: Option<DateTime>, what: &str) {
    for _ in 0..RUNS {
        let _ = run(tester, at.unwrap_or_else(|| DateTime::from(SystemTime::now()))).await;
        if leftovers(p).await.is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    panic!("{what}: not after {RUNS} runs");
}

/// Runs the tester (at the real time) until its report is what `done` waits for; a bound on
/// runs, with a pause between them for RDS (the emulator) to move on.
pub(crate) async fn run_until(tester: &RestoreTester, what: &str, mut done: impl FnMut(&Report) -> bool) -> Report {
    let mut last = None;
    for _ in 0..RUNS {
        let report = run(tester, DateTime::from(SystemTime::now())).await;
        if done(&report) {
            return report;
        }
        last = Some(report);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let tests = last.map(|r| r.tests).unwrap_or_default();
    panic!("{what}: not after {RUNS} runs; the last run's tests: {tests:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vault_copy_is_restored_checked_recorded_and_deleted() {
    // The vault's operator keeps the evidence records in a bucket of theirs.
    let options = offsite_tests::EmulatorOptions { copy_delay: Duration::from_secs(1), ..Default::default() };
    let pair = offsite_tests::deployed::DeployedPair::start(&options, &[], &[("RestoreTestEvidenceBucket", EVIDENCE)])
        .await
        .unwrap_or_else(|e| panic!("deploy the pair: {e}"));
    aws_sdk_s3::Client::new(&pair.vault).create_bucket().bucket(EVIDENCE).send().await.expect("the evidence bucket");
    let p = Pipeline::on(pair).await;
    let copy = p.seeded_vault_copy("orders-1", shop()).await;
    let tester = p.restore_tester().await;

    // Once the vault's copy is available (RDS copies for the emulator's copy time).
    let report = run_until(&tester, "the restore to start", |r| !r.starts.is_empty()).await;
    assert_eq!(report.count(&StartResult::Started), 1, "{report:#?}");
    let start = &report.starts[0].start;
    assert_eq!((start.kind, start.copy_arn.as_str()), (ResourceKind::Instance, copy.arn.as_str()));
    // As the test asked: in the vault's subnet group, never public, deletable, small.
    let rds = aws_sdk_rds::Client::new(&p.vault);
    let described =
        rds.describe_db_instances().db_instance_identifier(&start.identifier).send().await.expect("describe");
    let instance = described.db_instances().first().expect("the restore");
    assert_eq!(instance.publicly_accessible(), Some(false));
    assert_eq!(instance.deletion_protection(), Some(false));
    assert_eq!(instance.db_instance_class(), Some("db.t4g.micro"));
    assert_eq!(
        instance.db_subnet_group().and_then(|g| g.db_subnet_group_name()),
        Some(p.network.subnet_group.as_str())
    );
    let groups: Vec<&str> = instance.vpc_security_groups().iter().filter_map(|g| g.vpc_security_group_id()).collect();
    assert_eq!(groups, [p.network.security_group.as_str()]);
    assert_eq!(instance.kms_key_id(), copy.kms_key_id.as_deref(), "under the vault's key");

    let concluded = run_until(&tester, "the test to conclude", |r| r.tests.iter().any(|t| t.result.is_some())).await;
    let test = &concluded.tests[0];
    let result = test.result.as_ref().expect("a result");
    assert!(result.passed, "{result:#?}");
    assert!(test.errors.is_empty(), "{test:#?}");
    let metrics = concluded.metrics();
    assert_eq!((metrics[0].get("RestoreTestsPassed"), metrics[0].get("RestoreTestsFailed")), (1.0, 0.0));
    // The evidence: on the copy, and the record in the evidence bucket.
    let tested = copy_now(&p, &copy.arn).await;
    assert_eq!(tested.tag(tags::RESTORE_TEST), Some("passed"), "{tested:#?}");
    assert_eq!(tested.tag(tags::RESTORE_TEST_PERIOD), Some(start.period.as_str()));
    assert!(tested.tag(tags::RESTORE_TEST_FIGURES).is_some_and(|f| f.starts_with("postgres")), "{tested:#?}");
    assert!(tested.tag(tags::RESTORE_TESTED_AT).is_some());
    let key = format!(
        "offsite/restore-tests/account={WORKLOAD}/database=orders/period={}/{}.json",
        start.period, start.identifier
    );
    let record = evidence_record(&p, &key).await;
    assert_eq!(record["result"], "passed", "{record:#}");
    assert_eq!(record["copy_arn"], copy.arn.as_str());
    assert_eq!(record["checks"].as_array().map(Vec::len), Some(6), "{record:#}");

    // Deleted, whatever the result; nothing more this period.
    run_until_gone(&p, &tester, None, "the restore to be gone").await;
    let report = run(&tester, DateTime::from(SystemTime::now())).await;
    assert!(report.starts.is_empty() && report.tests.is_empty(), "{report:#?}");
    assert_eq!(report.databases[0].outcome, Outcome::Tested { result: "passed".into() });
    assert_eq!(report.metrics()[0].get("DatabasesWithoutPassedRestoreTest"), 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aurora_copy_gets_its_primary_instance_and_both_are_deleted() {
    let p = Pipeline::start(Duration::from_secs(1)).await;
    db_cluster(&p.vault, "ledger-source", Some(&p.import_key)).await;
    let taken = SystemTime::now() - Duration::from_secs(3_600);
    let identifier = vault_import_of(&p.vault, SnapshotKind::Cluster, "ledger-source", "ledger", 1, taken).await;
    let tester = p.restore_tester().await;
    let report = run_until(&tester, "the cluster's restore to start", |r| r.count(&StartResult::Started) == 1).await;
    assert_eq!(report.starts[0].start.copy_identifier, identifier);
    let created = run_until(&tester, "the primary instance", |r| {
        r.tests.iter().any(|t| matches!(t.step, Step::CreateInstance { .. }) && t.errors.is_empty())
    })
    .await;
    let cluster = created.tests[0].restore.clone();
    let concluded = run_until(&tester, "the test to conclude", |r| r.tests.iter().any(|t| t.result.is_some())).await;
    let result = concluded.tests[0].result.as_ref().expect("a result");
    assert!(result.passed, "{result:#?}");
    assert!(!result.findings.iter().any(|f| f.check == "storage"), "{result:#?}");
    let instance = format!("{cluster}-i");
    run_until_gone(&p, &tester, None, "the cluster and its instance to be gone").await;
    let rds = aws_sdk_rds::Client::new(&p.vault);
    assert!(rds.describe_db_instances().db_instance_identifier(&instance).send().await.is_err(), "{instance} is gone");
    let copy = p.vault_copies().await.into_iter().find(|c| c.identifier == identifier).expect("the copy");
    assert_eq!(copy.tag(tags::RESTORE_TEST), Some("passed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_not_available_in_time_is_a_failed_test_and_is_deleted_all_the_same() {
    let p = Pipeline::start(Duration::ZERO).await;
    let copy = p.seeded_vault_copy("orders-1", shop()).await;
    let tester = p.restore_tester().await;
    // RDS takes its time: the restore stays `creating` for an hour (the emulator times each
    // resource when the request arrives; later requests are fast again).
    p.emulator.set_copy_delay(Duration::from_secs(3_600)).expect("slow restores");
    let report = run(&tester, DateTime::from(SystemTime::now())).await;
    assert_eq!(report.count(&StartResult::Started), 1, "{report:#?}");
    p.emulator.set_copy_delay(Duration::ZERO).expect("fast again");
    let later = DateTime::from(SystemTime::now() + Duration::from_secs(4 * 3_600));
    let report = run(&tester, later).await;
    let test = &report.tests[0];
    assert!(matches!(&test.step, Step::Fail { reason } if reason.contains("limit 3h")), "{test:#?}");
    let result = test.result.as_ref().expect("a result");
    assert!(!result.passed);
    assert!(test.errors.is_empty(), "the delete of a creating restore is accepted: {test:#?}");
    assert_eq!(report.metrics()[0].get("RestoreTestsFailed"), 1.0);
    let tested = copy_now(&p, &copy.arn).await;
    assert_eq!(tested.tag(tags::RESTORE_TEST), Some("failed"));
    assert!(tested.tag(tags::RESTORE_TEST_FIGURES).is_some_and(|f| f.contains("not available")), "{tested:#?}");
    // Deleted; nothing is left and the period counts as tested (failed).
    run_until_gone(&p, &tester, Some(later), "the restore to be gone").await;
    let report = run(&tester, later).await;
    assert!(report.starts.is_empty(), "{report:#?}");
    assert_eq!(report.databases[0].outcome, Outcome::Tested { result: "failed".into() });
    assert_eq!(report.metrics()[0].get("DatabasesWithoutPassedRestoreTest"), 1.0);
}

/// A crash at every step boundary of the runs (listings, the restore, the checks' evidence,
/// the stage, the delete), faults on top, and two testers at once: one restore of the
/// database in the period, one result, nothing left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crashes_at_every_boundary_and_two_testers_at_once_make_one_restore_and_leave_nothing() {
    let p = Pipeline::start(Duration::from_secs(1)).await;
    let copy = p.seeded_vault_copy("orders-1", shop()).await;
    let _ = crash_and_race(&p, &copy.arn, 23, 5, Some(1)).await;
}

/// The same for an Aurora copy with data checks: the cluster's restore, its primary, the
/// password handed to RDS (ModifyDBCluster), the secret read, the CA bundle read, the check
/// over TLS against the emulator's real PostgreSQL, the evidence, the deletes of the instance
/// then the cluster; a crash at each of those boundaries (the crashing tester alone, so that
/// it meets every stage itself; the race of two testers is the instance test's).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_test_with_data_checks_survives_a_crash_at_every_boundary() {
    let p = crate::restore_data::pair_with_checks(
        r#"[{"source": "ledger", "database": "shop", "row_counts": [{"table": "public.orders", "min": 2}]}]"#,
    )
    .await;
    db_cluster(&p.vault, "ledger-source", Some(&p.import_key)).await;
    p.emulator
        .seed_database(
            offsite_tests::VAULT,
            SnapshotKind::Cluster,
            "ledger-source",
            crate::restore_data::shop_at_hours(&[2, 1]),
        )
        .expect("seed the cluster");
    let taken = SystemTime::now() - Duration::from_secs(600);
    let identifier = vault_import_of(&p.vault, SnapshotKind::Cluster, "ledger-source", "ledger", 1, taken).await;
    let copy = p.vault_copies().await.into_iter().find(|c| c.identifier == identifier).expect("the copy");
    let crashed_at = crash_and_race(&p, &copy.arn, 29, 12, None).await;
    // The data checks' calls were among the boundaries crashed at.
    for call in ["ModifyDBCluster", "GetSecretValue", "CreateDBInstance", "DeleteDBCluster"] {
        assert!(
            crashed_at.iter().any(|b| b.after.ends_with(call) || b.before.ends_with(call)),
            "{call}: {crashed_at:#?}"
        );
    }
    let figures = copy_now(&p, &copy.arn).await.tag(tags::RESTORE_TEST_FIGURES).map(str::to_owned);
    assert!(figures.as_deref().is_some_and(|f| f.contains("public.orders 2 rows")), "{figures:?}");
    let secrets = aws_sdk_secretsmanager::Client::new(&p.vault).list_secrets().send().await.expect("list secrets");
    assert!(secrets.secret_list().iter().all(|s| !s.name().unwrap_or_default().starts_with("rds!")), "{secrets:?}");
}

/// Runs a crashing tester (a crash at each new call boundary, `seed`), with a clean one at the
/// same time every `partner_every` runs, until the copy `copy_arn` carries a passed result,
/// nothing of the tester is left and every boundary it met crashed once; then checks that
/// nothing more starts in the period. The boundaries crashed at.
async fn crash_and_race(
    p: &Pipeline,
    copy_arn: &str,
    seed: u64,
    min_crashes: u64,
    partner_every: Option<usize>,
) -> std::collections::BTreeSet<offsite_tests::faults::Boundary> {
    use offsite_tests::faults::{Crash, Invoked, Lane};

    let crashing = Lane::new("restore-test crashes", seed, 0.0);
    let crashed = p.restore_tester_with(|c| crashing.wrap(c)).await;
    let other = p.restore_tester().await;
    let mut runs = 0;
    loop {
        assert!(runs < RUNS, "no convergence after {runs} runs");
        runs += 1;
        let now = DateTime::from(SystemTime::now());
        // The crashing container, and a second one at the same time.
        if partner_every.is_some_and(|every| runs % every == 0) {
            let (_, second) = tokio::join!(crashing.invoke(Crash::AtNewBoundary, crashed.run(now)), other.run(now));
            let second = second.expect("the listings succeed");
            assert!(second.security.is_empty(), "{second:#?}");
        } else {
            crashing.invoke(Crash::AtNewBoundary, crashed.run(now)).await;
        }
        let tested = copy_now(p, copy_arn).await.tag(tags::RESTORE_TEST).is_some();
        if tested && leftovers(p).await.is_empty() && crashing.stats().uncovered().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let evidence = copy_now(p, copy_arn).await;
    assert_eq!(evidence.tag(tags::RESTORE_TEST), Some("passed"), "{evidence:#?}");
    let stats = crashing.stats();
    assert!(stats.crashes >= min_crashes, "{stats:?}");
    // One restore in the period: a further run of either finds the period tested.
    let report = run(&other, DateTime::from(SystemTime::now())).await;
    assert!(report.starts.is_empty(), "{report:#?}");
    assert!(leftovers(p).await.is_empty(), "nothing left");
    let Invoked::Completed(Ok(report)) =
        crashing.invoke(Crash::Never, crashed.run(DateTime::from(SystemTime::now()))).await
    else {
        panic!("a run without a crash completes");
    };
    assert!(report.starts.is_empty() && report.tests.is_empty(), "{report:#?}");
    stats.crashed_at
}

/// The tester's role restores only what the tester restores: a copy into a private database of
/// the configured class, marked; a public one, another class, or an unmarked one is denied
/// by IAM, and nothing is created.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_testers_role_cannot_make_a_public_unmarked_or_larger_database() {
    use aws_sdk_rds::error::ProvideErrorMetadata;
    use aws_sdk_rds::types::Tag;

    let p = Pipeline::start(Duration::ZERO).await;
    let copy = p.seeded_vault_copy("orders-1", shop()).await;
    let role = p.role_config("offsite-restore-test").await.expect("the tester's role");
    let rds = aws_sdk_rds::Client::new(&role);
    let marker = Tag::builder().key(tags::MARKER).value(tags::MARKER_RESTORE_TEST).build();
    let attempt = |public: Option<bool>, class: &str, tagged: bool| {
        rds.restore_db_instance_from_db_snapshot()
            .db_instance_identifier("rt-20990101-000000000000")
            .db_snapshot_identifier(&copy.identifier)
            .db_instance_class(class)
            .db_subnet_group_name(&p.network.subnet_group)
            .set_publicly_accessible(public)
            .set_tags(tagged.then(|| vec![marker.clone()]))
            .send()
    };
    for (case, public, class, tagged) in [
        ("public", Some(true), "db.t4g.micro", true),
        ("public by default", None, "db.t4g.micro", true),
        ("a larger class", Some(false), "db.r6g.4xlarge", true),
        ("unmarked", Some(false), "db.t4g.micro", false),
    ] {
        let refused = attempt(public, class, tagged).await.expect_err(case);
        assert_eq!(refused.code(), Some("AccessDenied"), "{case}: {refused:?}");
    }
    assert!(leftovers(&p).await.is_empty());
    let described = aws_sdk_rds::Client::new(&p.vault).describe_db_instances().send().await.expect("describe");
    assert!(described.db_instances().iter().all(|d| d.db_instance_identifier() != Some("rt-20990101-000000000000")));
    // The request the tester makes is allowed (and the restore is then cleaned up by a run).
    attempt(Some(false), "db.t4g.micro", true).await.expect("the tester's own request");
}

/// A copy RDS cannot restore (its key disabled) is a failed test of the period: recorded on
/// the copy and counted, not retried every run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_whose_key_is_disabled_fails_its_test_and_the_failure_is_recorded() {
    let p = Pipeline::start(Duration::ZERO).await;
    let copy = p.seeded_vault_copy("orders-1", shop()).await;
    // By key id: moto 5.2.5's DisableKey takes no ARN (AWS takes both).
    let key_id = p.import_key.rsplit('/').next().unwrap_or_default();
    aws_sdk_kms::Client::new(&p.vault).disable_key().key_id(key_id).send().await.expect("disable the key");
    let tester = p.restore_tester().await;
    let report = run(&tester, DateTime::from(SystemTime::now())).await;
    assert_eq!(report.count(&StartResult::Failed), 1, "{report:#?}");
    assert!(report.starts[0].reason.as_deref().is_some_and(|r| r.contains("KMSKeyNotAccessible")), "{report:#?}");
    assert_eq!(report.metrics()[0].get("RestoreTestsFailed"), 1.0);
    let tested = copy_now(&p, &copy.arn).await;
    assert_eq!(tested.tag(tags::RESTORE_TEST), Some("failed"), "{tested:#?}");
    assert!(tested.tag(tags::RESTORE_TEST_FIGURES).is_some_and(|f| f.starts_with("restore refused")), "{tested:#?}");
    assert!(leftovers(&p).await.is_empty(), "nothing was created");
    let again = run(&tester, DateTime::from(SystemTime::now())).await;
    assert!(again.starts.is_empty(), "the period is tested (failed): {again:#?}");
    assert_eq!(again.databases[0].outcome, Outcome::Tested { result: "failed".into() });
}

/// The vault's second region: the reconciler's copy there is restored there (its subnet
/// group, its key), checked and deleted, its evidence on that copy and in a record of its own;
/// the vault copy's test is not carried to the second region's copy, nor the other way round.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_second_regions_copy_is_tested_there_and_its_evidence_kept_apart() {
    use offsite_common::rds::RdsSnapshots;
    use offsite_importer::outcome::Verdict;
    use offsite_restore_test::run::{metrics_of, run_sites};

    const WEST: &str = "us-west-2";
    let options = offsite_tests::EmulatorOptions { copy_delay: Duration::from_secs(1), ..Default::default() };
    let pair = offsite_tests::deployed::DeployedPair::start_with_second_region(
        &options,
        &[],
        &[("RestoreTestEvidenceBucket", EVIDENCE)],
        WEST,
    )
    .await
    .unwrap_or_else(|e| panic!("deploy the pair: {e}"));
    aws_sdk_s3::Client::new(&pair.vault).create_bucket().bucket(EVIDENCE).send().await.expect("the evidence bucket");
    let p = Pipeline::on(pair).await;
    let dr_key = p.dr_key.clone().expect("the second region's key");
    let west = p.vault.clone().into_builder().region(aws_config::Region::new(WEST)).build();
    let copy = p.seeded_vault_copy("orders-1", shop()).await;

    // The vault's own test of the period first.
    let vault = p.restore_tester().await;
    run_until(&vault, "the vault's test to conclude", |r| r.tests.iter().any(|t| t.result.is_some())).await;
    run_until_gone(&p, &vault, None, "the vault's restore to be gone").await;
    let tested_here = copy_now(&p, &copy.arn).await;
    assert_eq!(tested_here.tag(tags::RESTORE_TEST), Some("passed"), "{tested_here:#?}");

    // The reconciler copies it to the second region: the lineage travels, not the evidence.
    let report = p.reconciler_with_second_region().await.reconcile(DateTime::from(SystemTime::now())).await;
    let replicated = report.expect("reconcile").outcomes.iter().filter(|o| o.result == Verdict::Replicated).count();
    assert_eq!(replicated, 1);
    let there = RdsSnapshots::new(aws_sdk_rds::Client::new(&west));
    let kinds = [SnapshotKind::Instance, SnapshotKind::Cluster];
    let dr_copies = there.list_marked(&kinds, tags::MARKER_IMPORT_DR).await.expect("the second region's copies");
    assert_eq!(dr_copies.len(), 1);
    let dr_copy = &dr_copies[0];
    assert!(!dr_copy.tags.keys().any(|k| k.starts_with(tags::RESTORE_PREFIX)), "{dr_copy:#?}");

    // One run tests both regions: nothing more here this period; there, the copy is restored.
    let second = p.second_region_restore_tester().await;
    let mut started = None;
    for _ in 0..RUNS {
        let (reports, errors) = run_sites(&[&vault, &second], DateTime::from(SystemTime::now())).await;
        assert!(errors.is_empty(), "{errors:?}");
        assert!(reports[0].starts.is_empty() && reports[0].tests.is_empty(), "{:#?}", reports[0]);
        if let Some(start) = reports[1].starts.iter().find(|s| s.result == StartResult::Started) {
            started = Some(start.start.clone());
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let start = started.expect("the second region's restore started");
    assert_eq!(start.copy_arn, dr_copy.arn);
    let rds_there = aws_sdk_rds::Client::new(&west);
    let described =
        rds_there.describe_db_instances().db_instance_identifier(&start.identifier).send().await.expect("describe");
    let instance = described.db_instances().first().expect("the restore, in the second region");
    assert_eq!(instance.db_subnet_group().and_then(|g| g.db_subnet_group_name()), Some("offsite-restore-tests-dr"));
    assert_eq!(instance.publicly_accessible(), Some(false));
    assert_eq!(instance.kms_key_id(), Some(dr_key.as_str()), "under the second region's key");

    // Checked, recorded, deleted there.
    let mut concluded = None;
    for _ in 0..RUNS {
        let (reports, errors) = run_sites(&[&vault, &second], DateTime::from(SystemTime::now())).await;
        assert!(errors.is_empty(), "{errors:?}");
        let gone = restored(&rds_there).await.expect("list").iter().all(|r| !r.is_ours());
        if concluded.is_none() {
            concluded = reports[1].tests.iter().find_map(|t| t.result.clone()).map(|r| (r, metrics_of(&reports)));
        }
        if concluded.is_some() && gone {
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let (result, metrics) = concluded.expect("the second region's test concluded");
    assert!(result.passed, "{result:#?}");
    assert!(restored(&rds_there).await.expect("list").iter().all(|r| !r.is_ours()), "nothing left there");
    assert!(leftovers(&p).await.is_empty(), "nothing left here");
    assert_eq!(metrics[0].get("RestoreTestsPassed"), 1.0);
    let lines: Vec<serde_json::Value> = metrics[1..].iter().map(offsite_common::metrics::Metrics::to_emf).collect();
    assert!(lines.iter().any(|l| l["Region"] == WEST && l["SourceDatabase"] == "orders"), "{lines:#?}");

    // The evidence: on the second region's copy, in a record of its own; the vault copy's as it was.
    let dr_now = there.list_marked(&kinds, tags::MARKER_IMPORT_DR).await.expect("list").remove(0);
    assert_eq!(dr_now.tag(tags::RESTORE_TEST), Some("passed"), "{dr_now:#?}");
    assert_eq!(dr_now.tag(tags::RESTORE_TEST_PERIOD), Some(start.period.as_str()));
    let here_now = copy_now(&p, &copy.arn).await;
    assert_eq!(here_now.tag(tags::RESTORE_TESTED_AT), tested_here.tag(tags::RESTORE_TESTED_AT));
    let key = format!(
        "offsite/restore-tests/account={WORKLOAD}/database=orders/period={}/{}.{WEST}.json",
        start.period, start.identifier
    );
    let record = evidence_record(&p, &key).await;
    assert_eq!((record["region"].as_str(), record["second_region"].as_bool()), (Some(WEST), Some(true)), "{record:#}");
    assert_eq!(record["copy_arn"], dr_copy.arn.as_str());
    assert_eq!(record["result"], "passed");

    // The Lambda binary, with its template's environment, makes the same pass over both
    // regions on its schedule: both periods tested, nothing more to start.
    let mut function = p.function("offsite-restore-test").unwrap_or_else(|e| panic!("{e}"));
    let event = offsite_tests::events::scheduled(offsite_tests::VAULT, "offsite-restore-test");
    let response = match function.invoke(&event, Duration::from_secs(60)) {
        Ok(offsite_tests::lambda::Outcome::Response(response)) => response,
        other => panic!("the function's answer: {other:?}\n{}", function.output()),
    };
    let second_run = &response["second_region_run"];
    assert_eq!(second_run["second_region"], WEST, "{response:#}");
    for run in [&response, second_run] {
        assert_eq!(run["starts"], json!([]), "{response:#}");
        let outcome = &run["databases"][0]["outcome"];
        assert_eq!((&outcome["outcome"], &outcome["result"]), (&json!("tested"), &json!("passed")), "{response:#}");
    }
}
