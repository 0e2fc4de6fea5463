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
        .tag_list(tag(tags::MARKER, tags::MARKER_IMPORT))
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

#[tokio::test]
async fn a_run_makes_at_most_its_share_of_data_checks_and_leaves_the_rest_for_the_next() {
    use aws_sdk_rds::types::{DbInstance, Endpoint, MasterUserSecret};
    use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;

    // Six restores available with their password secret active, every database checked.
    let names: Vec<String> = (0..6).map(|i| format!("db{i}")).collect();
    let imports: Vec<DbSnapshot> = names.iter().map(|n| import(n)).collect();
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
    let client = mock_client!(aws_sdk_rds, RuleMode::MatchAny, [&snapshots, &clusters, &instances, &db_clusters]);
    // The secret cannot be read: each check that runs stops there (an error, retried).
    let denied = mock!(aws_sdk_secretsmanager::Client::get_secret_value)
        .then_error(|| GetSecretValueError::generic(ErrorMetadata::builder().code("AccessDeniedException").build()));
    let secrets = mock_client!(aws_sdk_secretsmanager, RuleMode::MatchAny, [&denied]);
    let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, &[]);
    let env = offsite_common::config::coverage::env(&[
        ("AWS_REGION", "eu-west-1"),
        ("OFFSITE_RESTORE_TEST_SUBNET_GROUP", "restore-tests"),
        ("OFFSITE_RESTORE_TEST_SECURITY_GROUPS", "sg-0123456789abcdef0"),
        ("OFFSITE_RESTORE_TEST_MAX_RUNNING", "10"),
        ("OFFSITE_RESTORE_TEST_CHECKS", r#"[{"source": "*", "row_counts": [{"table": "t"}]}]"#),
        ("OFFSITE_RESTORE_TEST_CA_BUNDLE", "/opt/rds/global-bundle.pem"),
    ]);
    let settings = RestoreTestSettings::from_env(&env).expect("valid");
    let report = RestoreTester::new(client, s3, secrets, settings).run(DateTime::from_secs(NOW)).await.expect("run");
    assert_eq!(denied.num_calls(), MAX_DATA_CHECKS_PER_RUN, "{report:#?}");
    let left: Vec<&TestReport> =
        report.tests.iter().filter(|t| matches!(&t.step, Step::Wait { why } if why.contains("next run"))).collect();
    assert_eq!(left.len(), 6 - MAX_DATA_CHECKS_PER_RUN, "{report:#?}");
    assert!(report.tests.iter().all(|t| t.result.is_none()), "no result without the data: {report:#?}");
}
