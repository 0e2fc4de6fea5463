//! The exporter against the emulator: what it copies, how, and that it copies once.

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use aws_sdk_rds::Client;
use aws_smithy_types::DateTime;
use offsite_common::config::workload::EXPORT_KEY_VAR;
use offsite_common::rds::RdsSnapshots;
use offsite_common::snapshot::{Snapshot, SnapshotArn};
use offsite_common::tags;
use offsite_exporter::export::{Exporter, Outcome, Report};
use offsite_exporter::settings::ExporterSettings;
use offsite_exporter::trigger::{Trigger, classify};
use offsite_tests::deployed::DeployedPair;
use offsite_tests::fixtures::{
    db_cluster, db_cluster_snapshot, db_instance, db_instance_default_key, db_snapshot, kms_key,
    select_automated_snapshot, tag,
};
use offsite_tests::{EmulatorOptions, REGION, SnapshotKind, WORKLOAD};

const SELECTED: (&str, &str) = ("offsite-export", "true");

/// The account pair as the templates deploy it; the test acts as the workload's operator
/// (`pair.workload`), the exporter under its template role.
async fn deployed(options: &EmulatorOptions) -> DeployedPair {
    DeployedPair::start(options, &[], &[]).await.unwrap_or_else(|e| panic!("{e}"))
}

/// The exporter as Lambda runs it: a session of its role, the stack's export key.
async fn exporter(pair: &DeployedPair) -> Exporter {
    let mut env = BTreeMap::from([(EXPORT_KEY_VAR.to_owned(), pair.export_key.clone())]);
    env.insert("OFFSITE_AWS_ENDPOINT_URL".to_owned(), pair.emulator.endpoint().to_owned());
    env.insert("AWS_REGION".to_owned(), REGION.to_owned());
    let settings = ExporterSettings::from_env(&env).expect("valid settings");
    let role = pair.role_config("offsite-exporter").await.unwrap_or_else(|e| panic!("{e}"));
    Exporter::new(RdsSnapshots::new(Client::new(&role)), settings)
}

/// The pipeline's copies in the account, by identifier.
async fn pipeline_copies(config: &SdkConfig) -> BTreeMap<String, Snapshot> {
    let rds = RdsSnapshots::new(Client::new(config));
    let mut copies = BTreeMap::new();
    for kind in [SnapshotKind::Instance, SnapshotKind::Cluster] {
        for s in rds.list(kind, Some("manual")).await.expect("list") {
            if s.tag(tags::MARKER).is_some() {
                copies.insert(s.identifier.clone(), s);
            }
        }
    }
    copies
}

fn sources_with(report: &Report, outcome: &Outcome) -> Vec<String> {
    report.items.iter().filter(|i| &i.outcome == outcome).map(|i| i.source_arn.clone()).collect()
}

/// The EventBridge event RDS sends when a manual snapshot is created ("Amazon RDS event
/// categories and event messages", RDS-EVENT-0042).
fn manual_snapshot_created(arn: &str, identifier: &str) -> serde_json::Value {
    serde_json::json!({
        "version": "0",
        "id": "844e2571-85d4-695f-b930-0153b71dcb42",
        "detail-type": "RDS DB Snapshot Event",
        "source": "aws.rds",
        "account": WORKLOAD,
        "time": "2026-11-22T03:00:00Z",
        "region": REGION,
        "resources": [arn],
        "detail": {
            "EventCategories": ["creation"],
            "SourceType": "SNAPSHOT",
            "SourceArn": arn,
            "Date": "2026-11-22T03:00:00.000Z",
            "Message": "Manual snapshot created",
            "SourceIdentifier": identifier,
            "EventID": "RDS-EVENT-0042"
        }
    })
}

#[tokio::test]
async fn sweep_copies_every_selected_kind_and_name_style_once_with_the_export_key() {
    let pair = deployed(&EmulatorOptions::default()).await;
    let (emulator, workload, export_key) = (&pair.emulator, pair.workload.clone(), pair.export_key.clone());
    let rds = Client::new(&workload);
    let database_key = kms_key(&workload, "database").await;
    db_instance(&workload, "orders", Some(&database_key)).await;
    db_instance(&workload, "plain", None).await;
    db_cluster(&workload, "ledger", Some(&database_key)).await;
    db_cluster(&workload, "plainledger", None).await;
    db_instance_default_key(&workload, "defaultkey").await;

    let mut expected = Vec::new();
    for (instance, name) in
        [("orders", "orders-manual"), ("plain", "plain-manual"), ("defaultkey", "defaultkey-manual")]
    {
        expected.push(
            db_snapshot(&workload, instance, name, vec![tag(SELECTED.0, SELECTED.1)])
                .await
                .db_snapshot_arn
                .expect("ARN"),
        );
    }
    let unselected = db_snapshot(&workload, "orders", "orders-unselected", vec![]).await.db_snapshot_arn.expect("ARN");
    let other_value = db_snapshot(&workload, "orders", "orders-other", vec![tag(SELECTED.0, "false")])
        .await
        .db_snapshot_arn
        .expect("ARN");
    expected.push(
        db_cluster_snapshot(&workload, "ledger", "ledger-manual", vec![tag(SELECTED.0, SELECTED.1)])
            .await
            .db_cluster_snapshot_arn
            .expect("ARN"),
    );
    let unencrypted_cluster =
        db_cluster_snapshot(&workload, "plainledger", "plainledger-manual", vec![tag(SELECTED.0, SELECTED.1)])
            .await
            .db_cluster_snapshot_arn
            .expect("ARN");
    // The automated snapshot RDS took when "orders" was created, tagged for export.
    let automated_arn = select_automated_snapshot(&workload, "orders", SELECTED).await;
    assert!(automated_arn.contains(":snapshot:rds:orders-"), "{automated_arn}");
    expected.push(automated_arn);
    // AWS Backup recovery points, tagged through the plan's recovery_point_tags.
    for (kind, resource) in [(SnapshotKind::Instance, "orders"), (SnapshotKind::Cluster, "ledger")] {
        let point = emulator.backup_recovery_point(WORKLOAD, kind, resource, &[SELECTED]).expect("recovery point");
        assert!(point.identifier.starts_with("awsbackup:job-"));
        expected.push(point.arn);
    }
    expected.sort();

    let exporter = exporter(&pair).await;
    let report = exporter.sweep(DateTime::from(std::time::SystemTime::now()), false).await.expect("sweep");

    let mut copied = sources_with(&report, &Outcome::Copied);
    copied.sort();
    assert_eq!(copied, expected, "{report:#?}");
    let finding = report.items.iter().find(|i| i.source_arn == unencrypted_cluster).expect("reported");
    assert!(finding.finding && finding.reason.contains("unencrypted Aurora cluster"), "{finding:?}");
    for arn in [&unselected, &other_value] {
        let item = report.items.iter().find(|i| &i.source_arn == arn).expect("reported");
        assert_eq!((item.outcome.clone(), item.reason.as_str()), (Outcome::Skipped, "no selection tag"));
    }
    assert!(report.failure().is_none(), "{report:#?}");

    let copies = pipeline_copies(&workload).await;
    assert_eq!(copies.len(), expected.len());
    let mut lineage: Vec<String> = copies.values().filter_map(|c| c.tag(tags::SOURCE_ARN).map(str::to_owned)).collect();
    lineage.sort();
    assert_eq!(lineage, expected);
    for copy in copies.values() {
        assert!(copy.identifier.starts_with("offsite-"), "{}", copy.identifier);
        assert!(copy.encrypted, "{} must be encrypted (also from an unencrypted source)", copy.identifier);
        assert_eq!(copy.kms_key_id.as_deref(), Some(export_key.as_str()), "{}", copy.identifier);
        assert_eq!(copy.tag(tags::MARKER), Some(tags::MARKER_EXPORT));
        assert_eq!(copy.tag(tags::STAGE), Some(tags::STAGE_EXPORTED));
        assert!(copy.tag(tags::SOURCE_CREATED).is_some());
        assert_eq!(copy.tag(SELECTED.0), None, "the selection tag is never copied");
    }

    // A copy that somebody tags for export is still never a source: no copy of a copy.
    let some_copy = copies.values().next().expect("a copy");
    rds.add_tags_to_resource()
        .resource_name(&some_copy.arn)
        .tags(tag(SELECTED.0, SELECTED.1))
        .send()
        .await
        .expect("tag");

    let again = exporter.sweep(DateTime::from(std::time::SystemTime::now()), false).await.expect("second sweep");
    assert!(sources_with(&again, &Outcome::Copied).is_empty(), "{again:#?}");
    let mut already = sources_with(&again, &Outcome::AlreadyExported);
    already.sort();
    assert_eq!(already, expected);
    assert_eq!(pipeline_copies(&workload).await.len(), expected.len());
    // Sources are untouched: still there, still tagged.
    let sources = RdsSnapshots::new(Client::new(&workload));
    for arn in &expected {
        let arn: SnapshotArn = arn.parse().expect("ARN");
        // Aurora has no awsbackup type: AWS Backup's cluster snapshots are manual ones.
        let snapshot_type = match (arn.kind, arn.name.split(':').next()) {
            (_, Some("rds")) => Some("automated"),
            (SnapshotKind::Instance, Some("awsbackup")) => Some("awsbackup"),
            _ => None,
        };
        let source = sources.describe(arn.kind, &arn.name, snapshot_type).await.expect("describe").expect("exists");
        assert_eq!(source.tag(SELECTED.0), Some(SELECTED.1), "{arn}");
        assert_eq!(source.tag(tags::MARKER), None, "{arn}");
    }
}

#[tokio::test]
async fn the_same_event_twice_and_two_exporters_at_once_make_one_copy() {
    let pair = deployed(&EmulatorOptions::default()).await;
    let workload = pair.workload.clone();
    db_instance(&workload, "orders", None).await;
    let first = db_snapshot(&workload, "orders", "first", vec![tag(SELECTED.0, SELECTED.1)])
        .await
        .db_snapshot_arn
        .expect("ARN");
    let second = db_snapshot(&workload, "orders", "second", vec![tag(SELECTED.0, SELECTED.1)])
        .await
        .db_snapshot_arn
        .expect("ARN");
    let exporter_a = exporter(&pair).await;
    let exporter_b = exporter(&pair).await;
    let arn_of = |event: serde_json::Value| match classify(&event).expect("well-formed") {
        Trigger::Candidate { snapshot, .. } => snapshot,
        other => panic!("expected a candidate: {other:?}"),
    };

    // The same event delivered twice.
    let first_arn = arn_of(manual_snapshot_created(&first, "first"));
    let once = exporter_a.export_one(&first_arn, false).await.expect("export");
    let twice = exporter_a.export_one(&first_arn, false).await.expect("export again");
    assert_eq!(sources_with(&once, &Outcome::Copied), std::slice::from_ref(&first));
    assert_eq!(sources_with(&twice, &Outcome::AlreadyExported), std::slice::from_ref(&first));
    // The quotas: read by a warm container's first event, not by the next minutes' events.
    assert!(once.snapshot_quotas.is_some() && twice.snapshot_quotas.is_none(), "{once:#?}\n{twice:#?}");

    // Two exporters handling one event at the same moment.
    let second_arn = arn_of(manual_snapshot_created(&second, "second"));
    let (a, b) = tokio::join!(exporter_a.export_one(&second_arn, false), exporter_b.export_one(&second_arn, false));
    let (a, b) = (a.expect("exporter a"), b.expect("exporter b"));
    let copied = sources_with(&a, &Outcome::Copied).len() + sources_with(&b, &Outcome::Copied).len();
    let already = sources_with(&a, &Outcome::AlreadyExported).len() + sources_with(&b, &Outcome::AlreadyExported).len();
    assert_eq!((copied, already), (1, 1), "{a:#?}\n{b:#?}");

    let copies = pipeline_copies(&workload).await;
    let of_second = copies.values().filter(|c| c.tag(tags::SOURCE_ARN) == Some(second.as_str())).count();
    assert_eq!((copies.len(), of_second), (2, 1));
    // A sweep reads them whenever it runs.
    let swept = exporter_a.sweep(DateTime::from(std::time::SystemTime::now()), false).await.expect("sweep");
    assert!(swept.snapshot_quotas.is_some(), "{swept:#?}");
}

#[tokio::test]
async fn quota_exceeded_stops_copying_and_fails_the_run_loudly() {
    // The workload's manual DB snapshot quota at 4: the 3 manual snapshots count (the
    // automated one does not, "Quotas in Amazon RDS"), so exactly one copy fits.
    let pair = deployed(&EmulatorOptions::default()).await;
    pair.emulator.set_snapshot_quotas(WORKLOAD, 4, 100).unwrap_or_else(|e| panic!("{e}"));
    let workload = pair.workload.clone();
    db_instance(&workload, "orders", None).await;
    for name in ["a", "b", "c"] {
        db_snapshot(&workload, "orders", name, vec![tag(SELECTED.0, SELECTED.1)]).await;
    }

    let report = exporter(&pair).await.sweep(DateTime::from(std::time::SystemTime::now()), false).await.expect("sweep");

    assert!(report.quota_exceeded, "{report:#?}");
    assert_eq!(report.count(&Outcome::Copied), 1);
    assert_eq!(report.count(&Outcome::Deferred), 2, "the rest waits for space: {report:#?}");
    assert!(report.failure().is_some_and(|f| f.to_string().contains("quota")));
    assert_eq!(pipeline_copies(&workload).await.len(), 1);

    // Room made (a quota increase): the next sweep copies what waited, once.
    pair.emulator.set_snapshot_quotas(WORKLOAD, 100, 100).unwrap_or_else(|e| panic!("{e}"));
    let report = exporter(&pair).await.sweep(DateTime::from(std::time::SystemTime::now()), false).await.expect("sweep");
    assert_eq!((report.count(&Outcome::Copied), report.count(&Outcome::AlreadyExported)), (2, 1), "{report:#?}");
    assert!(report.failure().is_none(), "{report:#?}");
    assert_eq!(pipeline_copies(&workload).await.len(), 3);
}

#[tokio::test]
async fn a_disabled_export_key_fails_with_a_clear_reason_and_copies_nothing() {
    let pair = deployed(&EmulatorOptions::default()).await;
    let (workload, export_key) = (pair.workload.clone(), pair.export_key.clone());
    let key_id = export_key.rsplit('/').next().expect("key id");
    aws_sdk_kms::Client::new(&workload).disable_key().key_id(key_id).send().await.expect("disable");
    db_instance(&workload, "orders", None).await;
    for name in ["a", "b"] {
        db_snapshot(&workload, "orders", name, vec![tag(SELECTED.0, SELECTED.1)]).await;
    }

    let report = exporter(&pair).await.sweep(DateTime::from(std::time::SystemTime::now()), false).await.expect("sweep");

    let failed: Vec<_> = report.items.iter().filter(|i| i.outcome == Outcome::Failed).collect();
    assert_eq!(failed.len(), 1, "the first failure stops the run: {report:#?}");
    assert!(failed[0].reason.contains(&export_key) && failed[0].reason.contains("not usable"), "{}", failed[0].reason);
    assert_eq!(report.count(&Outcome::Deferred), 1);
    assert!(pipeline_copies(&workload).await.is_empty());
}

#[test]
fn a_missing_export_key_stops_the_start_naming_the_variable() {
    let error = ExporterSettings::from_env(&BTreeMap::<String, String>::new()).expect_err("no key");
    assert_eq!(error.variable, EXPORT_KEY_VAR);
    assert!(error.to_string().contains("KMS key ARN"), "{error}");
}
