//! The run's starts below the SDK (aws-smithy-mocks): what the emulator does not refuse on
//! demand (a restore RDS refuses for a reason of the set-up).

use aws_sdk_rds::operation::describe_db_cluster_snapshots::DescribeDbClusterSnapshotsOutput;
use aws_sdk_rds::operation::describe_db_clusters::DescribeDbClustersOutput;
use aws_sdk_rds::operation::describe_db_instances::DescribeDbInstancesOutput;
use aws_sdk_rds::operation::describe_db_snapshots::DescribeDbSnapshotsOutput;
use aws_sdk_rds::operation::restore_db_instance_from_db_snapshot::{
    RestoreDBInstanceFromDBSnapshotError, RestoreDbInstanceFromDbSnapshotOutput,
};
use aws_sdk_rds::types::DbSnapshot;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use aws_smithy_types::error::ErrorMetadata;
use offsite_common::lineage::vault_identifier;
use offsite_common::snapshot::SnapshotStatus;

use super::*;

/// 2026-12-03T08:00:00Z.
const NOW: i64 = 1_796_284_800;

fn settings() -> RestoreTestSettings {
    let env = offsite_common::config::coverage::env(&[
        ("AWS_REGION", "eu-west-1"),
        ("OFFSITE_RESTORE_TEST_SUBNET_GROUP", "restore-tests"),
        ("OFFSITE_RESTORE_TEST_SECURITY_GROUPS", "sg-0123456789abcdef0"),
        ("OFFSITE_RESTORE_TEST_MAX_RUNNING", "1"),
    ]);
    RestoreTestSettings::from_env(&env).expect("valid")
}

/// A genuine vault import of `database`, taken an hour before [`NOW`].
fn import(database: &str) -> DbSnapshot {
    copy_marked(database, tags::MARKER_IMPORT)
}

/// A vault copy of `database` under `marker` (the import's, or the second Region's).
fn copy_marked(database: &str, marker: &str) -> DbSnapshot {
    let shared_arn = format!("arn:aws:rds:eu-west-1:111111111111:snapshot:offsite-{database}-1");
    let shared = Snapshot::bare(SnapshotKind::Instance, shared_arn.clone(), "", SnapshotStatus::Available);
    let identifier = vault_identifier(&shared);
    let taken = DateTime::from_secs(NOW - 3_600).fmt(Format::DateTime).expect("formattable");
    let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build();
    DbSnapshot::builder()
        .db_snapshot_identifier(&identifier)
        .db_snapshot_arn(format!("arn:aws:rds:eu-west-1:222222222222:snapshot:{identifier}"))
        .status("available")
        .engine("postgres")
        .snapshot_type("manual")
        .tag_list(tag(tags::MARKER, marker))
        .tag_list(tag(tags::COPY_ARN, &shared_arn))
        .tag_list(tag(tags::SOURCE_ACCOUNT, "111111111111"))
        .tag_list(tag(tags::SOURCE_DATABASE, database))
        .tag_list(tag(tags::SOURCE_CREATED, &taken))
        .build()
}

#[tokio::test]
async fn a_restore_rds_refuses_holds_no_slot_and_the_next_database_is_tested() {
    // Three databases never tested, one slot: the first in order is refused (the class does
    // not fit its engine), the second starts, the third waits for a slot.
    let snapshots = mock!(Client::describe_db_snapshots).then_output(|| {
        DescribeDbSnapshotsOutput::builder()
            .db_snapshots(import("alpha"))
            .db_snapshots(import("bravo"))
            .db_snapshots(import("charlie"))
            .build()
    });
    let clusters = mock!(Client::describe_db_cluster_snapshots)
        .then_output(|| DescribeDbClusterSnapshotsOutput::builder().build());
    let instances = mock!(Client::describe_db_instances).then_output(|| DescribeDbInstancesOutput::builder().build());
    let db_clusters = mock!(Client::describe_db_clusters).then_output(|| DescribeDbClustersOutput::builder().build());
    let alpha = import("alpha").db_snapshot_identifier().map(str::to_owned).expect("identifier");
    let refused = mock!(Client::restore_db_instance_from_db_snapshot)
        .match_requests(move |r| r.db_snapshot_identifier() == Some(alpha.as_str()))
        .then_error(|| {
            RestoreDBInstanceFromDBSnapshotError::generic(
                ErrorMetadata::builder()
                    .code("InvalidParameterCombination")
                    .message("RDS does not support creating a DB instance with the following combination")
                    .build(),
            )
        });
    let started = mock!(Client::restore_db_instance_from_db_snapshot)
        .then_output(|| RestoreDbInstanceFromDbSnapshotOutput::builder().build());
    let client = mock_client!(
        aws_sdk_rds,
        RuleMode::MatchAny,
        [&snapshots, &clusters, &instances, &db_clusters, &refused, &started]
    );
    let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, &[]);
    let secrets = mock_client!(aws_sdk_secretsmanager, RuleMode::MatchAny, &[]);
    let report = RestoreTester::new(client, s3, secrets, settings()).run(DateTime::from_secs(NOW)).await.expect("run");
    let results: Vec<(&str, &StartResult)> =
        report.starts.iter().map(|s| (s.start.database.database.as_str(), &s.result)).collect();
    assert_eq!(results, [("alpha", &StartResult::Refused), ("bravo", &StartResult::Started)], "{report:#?}");
    assert_eq!((refused.num_calls(), started.num_calls()), (1, 1));
    let outcome = |name: &str| report.databases.iter().find(|d| d.database.database == name).map(|d| d.outcome.clone());
    assert!(matches!(outcome("bravo"), Some(plan::Outcome::Start { .. })), "{report:#?}");
    assert!(matches!(outcome("charlie"), Some(plan::Outcome::Deferred { .. })), "{report:#?}");
    assert_eq!(report.metrics()[0].get("RestoreTestsRefused"), 1.0);
}

/// An RDS client that lists `count` copies under `marker` and, for each, its restore test
/// available with its password secret active: every test is at its data check.
fn restores_to_check(count: usize, marker: &str) -> Client {
    use aws_sdk_rds::types::{DbInstance, Endpoint, MasterUserSecret};

    let names: Vec<String> = (0..count).map(|i| format!("db{i}")).collect();
    let imports: Vec<DbSnapshot> = names.iter().map(|n| copy_marked(n, marker)).collect();
    let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build();
    let started = DateTime::from_secs(NOW - 600).fmt(Format::DateTime).expect("formattable");
    let restores: Vec<DbInstance> = names
        .iter()
        .zip(&imports)
        .enumerate()
        .map(|(i, (name, copy))| {
            DbInstance::builder()
                .db_instance_identifier(format!("rt-20261203-00000000000{i}"))
                .db_instance_arn(format!("arn:aws:rds:eu-west-1:222222222222:db:rt-20261203-00000000000{i}"))
                .db_instance_status("available")
                .engine("postgres")
                .endpoint(Endpoint::builder().address("db.example").port(5432).build())
                .master_user_secret(
                    MasterUserSecret::builder()
                        .secret_arn(format!("arn:secret:{name}"))
                        .secret_status("active")
                        .build(),
                )
                .tag_list(tag(tags::MARKER, tags::MARKER_RESTORE_TEST))
                .tag_list(tag(tags::RESTORE_OF, copy.db_snapshot_arn().unwrap_or_default()))
                .tag_list(tag(tags::RESTORE_DATABASE, &format!("111111111111/{name}")))
                .tag_list(tag(tags::RESTORE_PERIOD, "2026-12-03"))
                .tag_list(tag(tags::RESTORE_STARTED_AT, &started))
                .tag_list(tag(tags::RESTORE_STAGE, tags::RESTORE_STAGE_RESTORING))
                .build()
        })
        .collect();
    let snapshots = mock!(Client::describe_db_snapshots)
        .then_output(move || DescribeDbSnapshotsOutput::builder().set_db_snapshots(Some(imports.clone())).build());
    let clusters = mock!(Client::describe_db_cluster_snapshots)
        .then_output(|| DescribeDbClusterSnapshotsOutput::builder().build());
    let instances = mock!(Client::describe_db_instances)
        .then_output(move || DescribeDbInstancesOutput::builder().set_db_instances(Some(restores.clone())).build());
    let db_clusters = mock!(Client::describe_db_clusters).then_output(|| DescribeDbClustersOutput::builder().build());
    mock_client!(aws_sdk_rds, RuleMode::MatchAny, [&snapshots, &clusters, &instances, &db_clusters])
}

#[tokio::test]
async fn a_run_makes_at_most_its_share_of_data_checks_and_leaves_the_rest_for_the_next() {
    // Six restores available with their password secret active, every database checked.
    let client = restores_to_check(6, tags::MARKER_IMPORT);
    // The secret cannot be read: each check that runs stops there (an error, retried).
    let denied = denied_secret();
    let secrets = mock_client!(aws_sdk_secretsmanager, RuleMode::MatchAny, [&denied]);
    let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, &[]);
    let report =
        RestoreTester::new(client, s3, secrets, checking_settings()).run(DateTime::from_secs(NOW)).await.expect("run");
    assert_eq!(denied.num_calls(), MAX_DATA_CHECKS_PER_RUN, "{report:#?}");
    let left: Vec<&TestReport> =
        report.tests.iter().filter(|t| matches!(&t.step, Step::Wait { why } if why.contains("next run"))).collect();
    assert_eq!(left.len(), 6 - MAX_DATA_CHECKS_PER_RUN, "{report:#?}");
    assert!(report.tests.iter().all(|t| t.result.is_none()), "no result without the data: {report:#?}");
}

/// Secrets Manager refusing the managed password: a data check stops there (an error, retried).
fn denied_secret() -> aws_smithy_mocks::Rule {
    use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;
    mock!(aws_sdk_secretsmanager::Client::get_secret_value)
        .then_error(|| GetSecretValueError::generic(ErrorMetadata::builder().code("AccessDeniedException").build()))
}

/// Settings with data checks of every database, up to ten tests at once.
fn checking_settings() -> RestoreTestSettings {
    let env = offsite_common::config::coverage::env(&[
        ("AWS_REGION", "eu-west-1"),
        ("OFFSITE_RESTORE_TEST_SUBNET_GROUP", "restore-tests"),
        ("OFFSITE_RESTORE_TEST_SECURITY_GROUPS", "sg-0123456789abcdef0"),
        ("OFFSITE_RESTORE_TEST_MAX_RUNNING", "10"),
        ("OFFSITE_RESTORE_TEST_CHECKS", r#"[{"source": "*", "row_counts": [{"table": "t"}]}]"#),
        ("OFFSITE_RESTORE_TEST_CA_BUNDLE", "/opt/rds/global-bundle.pem"),
    ]);
    RestoreTestSettings::from_env(&env).expect("valid")
}

#[tokio::test]
async fn the_vault_and_its_second_region_share_a_runs_data_checks_and_one_set_of_metrics() {
    // Three tests at their data check in the vault's Region, six in the second Region.
    let (denied_here, denied_there) = (denied_secret(), denied_secret());
    let s3 = || mock_client!(aws_sdk_s3, RuleMode::MatchAny, &[]);
    let vault = RestoreTester::new(
        restores_to_check(3, tags::MARKER_IMPORT),
        s3(),
        mock_client!(aws_sdk_secretsmanager, RuleMode::MatchAny, [&denied_here]),
        checking_settings(),
    );
    let second = RestoreTester::new(
        restores_to_check(6, tags::MARKER_IMPORT_DR),
        s3(),
        mock_client!(aws_sdk_secretsmanager, RuleMode::MatchAny, [&denied_there]),
        checking_settings(),
    )
    .for_second_region("eu-central-1");
    let (reports, errors) = run_sites(&[&vault, &second], DateTime::from_secs(NOW)).await;
    assert!(errors.is_empty(), "{errors:?}");
    // The vault's three first, then what is left of the run's five.
    assert_eq!((denied_here.num_calls(), denied_there.num_calls()), (3, MAX_DATA_CHECKS_PER_RUN - 3));
    assert_eq!(reports.iter().map(|r| r.data_checks).collect::<Vec<_>>(), [3, MAX_DATA_CHECKS_PER_RUN - 3]);
    assert_eq!(reports.iter().map(|r| r.second_region.as_deref()).collect::<Vec<_>>(), [None, Some("eu-central-1")]);
    // The second Region's copies are its own (their marker), each database tested there too.
    assert_eq!(reports[1].databases.len(), 6, "{:#?}", reports[1]);
    let metrics = metrics_of(&reports);
    assert_eq!(metrics[0].get("RestoreTestsRunning"), 9.0, "one line for the run, both Regions counted");
    let per_database: Vec<serde_json::Value> = metrics[1..].iter().map(Metrics::to_emf).collect();
    assert_eq!(per_database.len(), 9);
    let in_second = per_database.iter().filter(|line| line["Region"] == "eu-central-1").count();
    assert_eq!(in_second, 6, "the second Region's ages under their own dimension: {per_database:#?}");
}

#[tokio::test]
async fn a_delete_another_tester_made_first_is_done_and_any_other_refusal_is_an_error() {
    use aws_sdk_rds::operation::delete_db_instance::DeleteDBInstanceError;
    use aws_sdk_rds::types::DbInstance;

    let copy = import("orders");
    let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build();
    let started = DateTime::from_secs(NOW - 600).fmt(Format::DateTime).expect("formattable");
    let restore = |status: &str| {
        DbInstance::builder()
            .db_instance_identifier("rt-20261203-000000000000")
            .db_instance_arn("arn:aws:rds:eu-west-1:222222222222:db:rt-20261203-000000000000")
            .db_instance_status(status)
            .engine("postgres")
            .tag_list(tag(tags::MARKER, tags::MARKER_RESTORE_TEST))
            .tag_list(tag(tags::RESTORE_OF, copy.db_snapshot_arn().unwrap_or_default()))
            .tag_list(tag(tags::RESTORE_DATABASE, "111111111111/orders"))
            .tag_list(tag(tags::RESTORE_PERIOD, "2026-12-03"))
            .tag_list(tag(tags::RESTORE_STARTED_AT, &started))
            .tag_list(tag(tags::RESTORE_STAGE, tags::RESTORE_STAGE_CHECKED))
            .build()
    };
    // The listing shows the restore checked (the next step: delete); RDS refuses the delete
    // as the instance's state does not allow it; a describe then shows `now_status`.
    let errors_with = |now_status: &'static str| {
        let snapshots = mock!(Client::describe_db_snapshots)
            .then_output(move || DescribeDbSnapshotsOutput::builder().db_snapshots(import("orders")).build());
        let clusters = mock!(Client::describe_db_cluster_snapshots)
            .then_output(|| DescribeDbClusterSnapshotsOutput::builder().build());
        let listed = restore("available");
        let listing = mock!(Client::describe_db_instances)
            .match_requests(|r| r.db_instance_identifier().is_none())
            .then_output(move || DescribeDbInstancesOutput::builder().db_instances(listed.clone()).build());
        let now = restore(now_status);
        let described = mock!(Client::describe_db_instances)
            .match_requests(|r| r.db_instance_identifier().is_some())
            .then_output(move || DescribeDbInstancesOutput::builder().db_instances(now.clone()).build());
        let db_clusters =
            mock!(Client::describe_db_clusters).then_output(|| DescribeDbClustersOutput::builder().build());
        let refused = mock!(Client::delete_db_instance).then_error(|| {
            DeleteDBInstanceError::generic(
                ErrorMetadata::builder()
                    .code("InvalidDBInstanceState")
                    .message("Instance is already being deleted.")
                    .build(),
            )
        });
        let client = mock_client!(
            aws_sdk_rds,
            RuleMode::MatchAny,
            [&snapshots, &clusters, &listing, &described, &db_clusters, &refused]
        );
        async move {
            let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, &[]);
            let secrets = mock_client!(aws_sdk_secretsmanager, RuleMode::MatchAny, &[]);
            let report =
                RestoreTester::new(client, s3, secrets, settings()).run(DateTime::from_secs(NOW)).await.expect("run");
            assert_eq!(refused.num_calls(), 1, "{report:#?}");
            assert_eq!(report.tests.len(), 1, "{report:#?}");
            assert_eq!(report.tests[0].step, Step::Delete, "{report:#?}");
            report.tests[0].errors.clone()
        }
    };
    assert_eq!(errors_with("deleting").await, Vec::<String>::new(), "another tester's delete: done");
    let errors = errors_with("modifying").await;
    assert!(errors.len() == 1 && errors[0].contains("InvalidDBInstanceState"), "{errors:?}");
}
