//! The run's calls and its answers to RDS's refusals, below the SDK (aws-smithy-mocks): what
//! the emulator cannot produce on demand (a concurrent run's task under our name, a task
//! under our name exporting something else, a refusal every start would meet).

use aws_sdk_rds::operation::describe_db_cluster_snapshots::DescribeDbClusterSnapshotsOutput;
use aws_sdk_rds::operation::describe_db_snapshots::DescribeDbSnapshotsOutput;
use aws_sdk_rds::operation::describe_export_tasks::DescribeExportTasksOutput;
use aws_sdk_rds::operation::start_export_task::{StartExportTaskError, StartExportTaskOutput};
use aws_sdk_rds::types::error::{ExportTaskAlreadyExistsFault, IamRoleNotFoundFault};
use aws_sdk_rds::types::{DbSnapshot, Tag};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use aws_smithy_types::date_time::Format;
use aws_smithy_types::error::ErrorMetadata;
use offsite_common::lineage::vault_identifier;
use offsite_common::snapshot::{Snapshot, SnapshotStatus};

use super::*;

/// 2026-12-03T08:00:00Z: the week of 2026-11-26 has closed, and its 6-hour grace passed.
const NOW: i64 = 1_796_284_800;
const DAY: i64 = 86_400;

fn settings() -> RdsExportSettings {
    let env = offsite_common::config::coverage::env(&[
        ("AWS_REGION", "eu-west-1"),
        ("OFFSITE_RDS_EXPORT_BUCKET", "auditor-exports"),
        ("OFFSITE_RDS_EXPORT_ROLE_ARN", "arn:aws:iam::222222222222:role/writer"),
        ("OFFSITE_RDS_EXPORT_KEY_ARN", "arn:aws:kms:eu-west-1:333333333333:key/audit"),
    ]);
    RdsExportSettings::from_env(&env).expect("valid")
}

/// A genuine vault import of `database`, taken two days before [`NOW`].
fn import(database: &str) -> DbSnapshot {
    let shared_arn = format!("arn:aws:rds:eu-west-1:111111111111:snapshot:offsite-{database}-1");
    let shared = Snapshot::bare(SnapshotKind::Instance, shared_arn.clone(), "", SnapshotStatus::Available);
    let identifier = vault_identifier(&shared);
    let taken = DateTime::from_secs(NOW - 2 * DAY);
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
        .tag_list(tag(tags::SOURCE_CREATED, &taken.fmt(Format::DateTime).expect("formattable")))
        .build()
}

fn vault_of(databases: &'static [&'static str]) -> [Rule; 3] {
    [
        mock!(Client::describe_db_snapshots).then_output(move || {
            let mut out = DescribeDbSnapshotsOutput::builder();
            for db in databases {
                out = out.db_snapshots(import(db));
            }
            out.build()
        }),
        mock!(Client::describe_db_cluster_snapshots)
            .then_output(|| DescribeDbClusterSnapshotsOutput::builder().build()),
        // No task yet, neither ours nor the account's.
        mock!(Client::describe_export_tasks)
            .match_requests(|r| r.export_task_identifier().is_none())
            .then_output(|| DescribeExportTasksOutput::builder().build()),
    ]
}

fn already_exists() -> Rule {
    mock!(Client::start_export_task).then_error(|| {
        StartExportTaskError::ExportTaskAlreadyExistsFault(
            ExportTaskAlreadyExistsFault::builder()
                .meta(ErrorMetadata::builder().code("ExportTaskAlreadyExistsFault").message("exists").build())
                .build(),
        )
    })
}

fn existing_task_exporting(source: &'static str) -> Rule {
    mock!(Client::describe_export_tasks).match_requests(|r| r.export_task_identifier().is_some()).then_compute_output(
        move |request| {
            let task = aws_sdk_rds::types::ExportTask::builder()
                .set_export_task_identifier(request.export_task_identifier().map(str::to_owned))
                .source_arn(source)
                .status("IN_PROGRESS")
                .build();
            DescribeExportTasksOutput::builder().export_tasks(task).build()
        },
    )
}

async fn run(rules: &[&Rule]) -> Report {
    let client = mock_client!(aws_sdk_rds, RuleMode::MatchAny, rules);
    // No export of these vaults has completed: the bucket is never read.
    let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, &[]);
    RdsExporter::new(client, s3, settings()).run(DateTime::from_secs(NOW)).await.expect("the listings succeed")
}

#[tokio::test]
async fn a_due_export_is_started_with_the_planned_identifier_prefix_and_settings() {
    let [snapshots, clusters, tasks] = vault_of(&["orders"]);
    let start = mock!(Client::start_export_task)
        .match_requests(|r| {
            r.s3_bucket_name() == Some("auditor-exports")
                && r.iam_role_arn() == Some("arn:aws:iam::222222222222:role/writer")
                && r.kms_key_id() == Some("arn:aws:kms:eu-west-1:333333333333:key/audit")
                && r.s3_prefix() == Some("offsite/rds/account=111111111111/database=orders/date=2026-12-01")
                && r.export_task_identifier().is_some_and(|id| id == "o111111111111-2026-12-01-orders-1")
                && r.export_only().is_empty()
        })
        .then_output(|| StartExportTaskOutput::builder().status("STARTING").build());
    let report = run(&[&snapshots, &clusters, &tasks, &start]).await;
    assert_eq!(start.num_calls(), 1, "the request carried the planned values");
    assert_eq!(report.count(&StartResult::Started), 1, "{report:?}");
    assert!(report.security.is_empty());
    let metrics = &report.metrics()[0];
    assert_eq!((metrics.get("ExportsStarted"), metrics.get("ExportsCompleted")), (1.0, 0.0));
}

#[tokio::test]
async fn a_task_of_our_name_for_our_copy_is_a_rerun_and_for_another_a_security_finding() {
    let [snapshots, clusters, tasks] = vault_of(&["orders"]);
    let copy_arn = import("orders").db_snapshot_arn().map(str::to_owned).expect("arn");
    let ours: &'static str = Box::leak(copy_arn.into_boxed_str());
    let (exists, existing) = (already_exists(), existing_task_exporting(ours));
    let report = run(&[&snapshots, &clusters, &tasks, &exists, &existing]).await;
    assert_eq!(report.count(&StartResult::AlreadyStarted), 1, "{report:?}");
    assert!(report.security.is_empty());

    let [snapshots, clusters, tasks] = vault_of(&["orders"]);
    let other = "arn:aws:rds:eu-west-1:222222222222:snapshot:someone-elses";
    let (exists, existing) = (already_exists(), existing_task_exporting(other));
    let report = run(&[&snapshots, &clusters, &tasks, &exists, &existing]).await;
    assert_eq!(report.count(&StartResult::Collision), 1, "{report:?}");
    assert_eq!(report.security.len(), 1);
    assert!(report.security[0].contains(other), "{:?}", report.security);
    let metrics = report.metrics();
    assert_eq!(metrics[0].get("SecurityFindings"), 1.0);
}

#[tokio::test]
async fn a_refusal_every_start_would_meet_stops_the_run_with_the_fix_named() {
    let [snapshots, clusters, tasks] = vault_of(&["orders", "ledger", "billing"]);
    let refused = mock!(Client::start_export_task).then_error(|| {
        StartExportTaskError::IamRoleNotFoundFault(
            IamRoleNotFoundFault::builder()
                .meta(ErrorMetadata::builder().code("IamRoleNotFound").message("no such role").build())
                .build(),
        )
    });
    let report = run(&[&snapshots, &clusters, &tasks, &refused]).await;
    assert_eq!(refused.num_calls(), 1, "one refusal, then no more calls");
    assert_eq!((report.count(&StartResult::Refused), report.count(&StartResult::NotTried)), (1, 2));
    let reason = report.starts.iter().find_map(|s| s.reason.clone()).unwrap_or_default();
    assert!(reason.contains("IamRoleNotFound") && reason.contains("export.rds.amazonaws.com"), "{reason}");
    assert_eq!(report.metrics()[0].get("ExportsRefused"), 1.0);
    // Every period says it was not started this run (none claims a start that did not happen).
    assert!(report.periods.iter().all(|v| matches!(v.outcome, Outcome::NotStarted { .. })), "{:#?}", report.periods);
    assert_eq!(report.metrics()[0].get("ExportsNotStarted"), 3.0);
}

#[tokio::test]
async fn already_exists_without_such_a_task_is_the_accounts_limit_and_waits_for_the_next_run() {
    let [snapshots, clusters, tasks] = vault_of(&["orders", "ledger"]);
    let exists = already_exists();
    let none = mock!(Client::describe_export_tasks)
        .match_requests(|r| r.export_task_identifier().is_some())
        .then_output(|| DescribeExportTasksOutput::builder().build());
    let report = run(&[&snapshots, &clusters, &tasks, &exists, &none]).await;
    assert_eq!(exists.num_calls(), 1, "the limit stops further starts: {report:?}");
    assert_eq!((report.count(&StartResult::AtLimit), report.count(&StartResult::NotTried)), (1, 1), "{report:?}");
    let metrics = &report.metrics()[0];
    assert_eq!((metrics.get("ExportsAtLimit"), metrics.get("ExportsRefused")), (1.0, 0.0), "not an alarm");
}

/// The vault of [`import`]`("orders")` whose week's export completed; the account's export
/// listing filtered by our bucket reports it, the running-task listing nothing.
fn orders_exported() -> [Rule; 4] {
    let [snapshots, clusters, _] = vault_of(&["orders"]);
    let copy_arn = import("orders").db_snapshot_arn().map(str::to_owned).expect("arn");
    let ours = mock!(Client::describe_export_tasks)
        .match_requests(|r| r.filters().iter().any(|f| f.name() == Some("s3-bucket")))
        .then_output(move || {
            let task = aws_sdk_rds::types::ExportTask::builder()
                .export_task_identifier("o111111111111-2026-12-01-orders-1")
                .source_arn(&copy_arn)
                .status("COMPLETE")
                .s3_bucket("auditor-exports")
                .s3_prefix("offsite/rds/account=111111111111/database=orders/date=2026-12-01")
                .task_start_time(DateTime::from_secs(NOW - DAY))
                .task_end_time(DateTime::from_secs(NOW - DAY + 600))
                .build();
            DescribeExportTasksOutput::builder().export_tasks(task).build()
        });
    let running = mock!(Client::describe_export_tasks)
        .match_requests(|r| r.filters().iter().any(|f| f.name() == Some("status")))
        .then_output(|| DescribeExportTasksOutput::builder().build());
    [snapshots, clusters, ours, running]
}

const TABLES_INFO_KEY: &str = "offsite/rds/account=111111111111/database=orders/date=2026-12-01/\
                               o111111111111-2026-12-01-orders-1/\
                               export_tables_info_o111111111111-2026-12-01-orders-1_from_1_to_2.json";

async fn run_with_bucket(rules: &[&Rule], s3_rules: &[&Rule]) -> Report {
    let client = mock_client!(aws_sdk_rds, RuleMode::MatchAny, rules);
    let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, s3_rules);
    RdsExporter::new(client, s3, settings()).run(DateTime::from_secs(NOW)).await.expect("the listings succeed")
}

#[tokio::test]
async fn the_newest_exports_tables_info_names_a_table_rds_did_not_export_without_a_warning() {
    let [snapshots, clusters, ours, running] = orders_exported();
    let list = mock!(aws_sdk_s3::Client::list_objects_v2)
        .match_requests(|r| {
            r.bucket() == Some("auditor-exports")
                && r.prefix()
                    == Some(
                        "offsite/rds/account=111111111111/database=orders/date=2026-12-01/\
                         o111111111111-2026-12-01-orders-1/export_tables_info_o111111111111-2026-12-01-orders-1_from_",
                    )
        })
        .then_output(|| {
            let object = aws_sdk_s3::types::Object::builder().key(TABLES_INFO_KEY).build();
            aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output::builder().contents(object).build()
        });
    let get =
        mock!(aws_sdk_s3::Client::get_object).match_requests(|r| r.key() == Some(TABLES_INFO_KEY)).then_output(|| {
            let body = r#"{"perTableStatus": [
                {"target": "shop.public.orders", "status": "COMPLETE"},
                {"target": "shop.public.huge", "status": "FAILED", "warningMessage": "out of space"}]}"#;
            aws_sdk_s3::operation::get_object::GetObjectOutput::builder()
                .body(aws_sdk_s3::primitives::ByteStream::from_static(body.as_bytes()))
                .build()
        });
    let report = run_with_bucket(&[&snapshots, &clusters, &ours, &running], &[&list, &get]).await;
    assert!(report.starts.is_empty(), "the week is exported: {report:#?}");
    assert_eq!((list.num_calls(), get.num_calls()), (1, 1));
    let state = &report.databases[0];
    assert_eq!(state.newest_export_tables, Some(2));
    assert_eq!(state.skipped_tables, ["shop.public.huge"], "{state:#?}");
    assert!(state.warnings.iter().any(|(_, w)| w.contains("shop.public.huge FAILED: out of space")), "{state:#?}");
    let metrics = &report.metrics()[0];
    assert_eq!((metrics.get("TablesSkipped"), metrics.get("ExportWarnings")), (1.0, 1.0));
}

#[tokio::test]
async fn a_tables_info_the_function_cannot_read_is_a_warning_with_the_fix_not_a_failed_run() {
    let [snapshots, clusters, ours, running] = orders_exported();
    let denied = mock!(aws_sdk_s3::Client::list_objects_v2).then_error(|| {
        aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Error::generic(
            ErrorMetadata::builder().code("AccessDenied").message("Access Denied").build(),
        )
    });
    let report = run_with_bucket(&[&snapshots, &clusters, &ours, &running], &[&denied]).await;
    let state = &report.databases[0];
    assert_eq!(state.newest_export.as_deref(), Some("o111111111111-2026-12-01-orders-1"));
    assert_eq!(state.newest_export_tables, None, "not read");
    let (task, warning) = state.warnings.first().expect("a warning");
    assert_eq!(task, "o111111111111-2026-12-01-orders-1");
    assert!(warning.contains("AccessDenied") && warning.contains("auditor stack"), "{warning}");
    assert!(state.skipped_tables.is_empty());
}

#[tokio::test]
async fn a_database_never_exported_is_as_stale_as_its_oldest_copy_unless_rds_cannot_export_it() {
    let mut oracle = import("ledger");
    oracle.engine = Some("oracle-ee".into());
    let snapshots = mock!(Client::describe_db_snapshots).then_output(move || {
        DescribeDbSnapshotsOutput::builder().db_snapshots(import("orders")).db_snapshots(oracle.clone()).build()
    });
    let [_, clusters, tasks] = vault_of(&[]);
    let start = mock!(Client::start_export_task).then_output(|| StartExportTaskOutput::builder().build());
    let report = run(&[&snapshots, &clusters, &tasks, &start]).await;
    assert_eq!(report.count(&StartResult::Started), 1, "orders only: {report:#?}");
    let metrics = report.metrics();
    assert_eq!(metrics[0].get("DatabasesWithoutExport"), 2.0);
    // orders: exportable for two days, never exported; ledger (Oracle) is unsupported, not stale.
    assert_eq!(metrics[0].get("OldestNewestExportAgeSeconds"), (2 * DAY) as f64);
    assert_eq!(metrics.len(), 2, "one per-database line, for orders: {metrics:?}");
    assert_eq!(metrics[1].get("NewestExportAgeSeconds"), (2 * DAY) as f64);
}
