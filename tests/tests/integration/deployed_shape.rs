//! The deployed shape: every Lambda binary runs as Lambda runs it (a process polling the
//! Runtime API, `offsite_tests::lambda`) with exactly the environment its template gives it
//! (`infra/*.yaml`, resolved by `offsite_infra::resolve` for resources made on the
//! emulator), fed real event payloads: EventBridge events, schedules, an SQS batch of SNS
//! envelopes. A variable the template names wrongly, forgets or gives a value the binary
//! refuses stops the function at start, and this test with it.
//!
//! Each function runs under its template role (credentials of a session Lambda would get),
//! on the emulator that evaluates the templates' roles, key policies and resource policies.
//!
//! Needs the binaries built (`cargo build --workspace --bins`; `make test` does it first).

use std::time::Duration;

use offsite_tests::deployed::DeployedPair;
use offsite_tests::event_source::sqs_event_json;
use offsite_tests::events::{manual_snapshot_created, scheduled};
use offsite_tests::fixtures::{db_instance, db_snapshot, drain_queue, dynamo_table, tag, wait_for};
use offsite_tests::lambda::{LambdaFunction, Outcome};
use offsite_tests::{EmulatorOptions, VAULT, WORKLOAD};
use serde_json::{Value, json};
const INVOKE_TIMEOUT: Duration = Duration::from_secs(60);

/// Invokes and insists on a response (not an error, not an init failure).
fn handled(function: &mut LambdaFunction, event: &Value) -> Value {
    match function.invoke(event, INVOKE_TIMEOUT) {
        Ok(Outcome::Response(response)) => response,
        Ok(Outcome::Error { error_type, message }) => {
            panic!("the function answered an error {error_type}: {message}\n{}", function.output())
        }
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_function_runs_with_its_templates_environment_and_the_pipeline_delivers() {
    let p = DeployedPair::start(&EmulatorOptions::default(), &[], &[]).await.unwrap_or_else(|e| panic!("{e}"));
    db_instance(&p.workload, "orders", None).await;
    let start = |binary: &str| p.function(binary).unwrap_or_else(|e| panic!("{e}"));
    // Sources: one selected snapshot, one not.
    let selected = db_snapshot(&p.workload, "orders", "orders-nightly", vec![tag("offsite-export", "true")]).await;
    let selected_arn = selected.db_snapshot_arn.clone().expect("ARN");
    let unselected = db_snapshot(&p.workload, "orders", "orders-scratch", vec![]).await;
    let unselected_arn = unselected.db_snapshot_arn.clone().expect("ARN");

    // Exporter: the RDS events EventBridge delivers.
    let mut exporter = start("offsite-exporter");
    handled(&mut exporter, &manual_snapshot_created(WORKLOAD, &selected_arn, "orders-nightly"));
    handled(&mut exporter, &manual_snapshot_created(WORKLOAD, &unselected_arn, "orders-scratch"));
    let lineage = |copies: Vec<offsite_common::snapshot::Snapshot>| -> Vec<String> {
        copies.iter().filter_map(|c| c.tag("offsite:source-arn").map(str::to_owned)).collect()
    };
    assert_eq!(lineage(p.workload_copies().await), vec![selected_arn.clone()], "only the selected snapshot is copied");

    // Scanner, on its schedule: shares and announces the finished copy.
    let mut scanner = start("offsite-scanner");
    handled(&mut scanner, &scheduled(WORKLOAD, "offsite-scanner"));
    // The event source mapping receives with the importer's role, as Lambda does.
    let bodies = drain_queue(&p.importer_role, &p.queue_url).await;
    assert_eq!(bodies.len(), 1, "one announcement through SNS to the vault's queue");

    // Importer: the SQS batch, SNS envelopes inside, as the event source mapping delivers it.
    let mut importer = start("offsite-importer");
    let batch = sqs_event_json(&bodies);
    let response = handled(&mut importer, &batch);
    assert_eq!(response["batchItemFailures"], json!([]), "{response}");
    let imported = wait_for("the vault copy", Duration::from_secs(20), || async {
        let copies = p.vault_copies().await;
        (copies.len() == 1).then_some(copies)
    })
    .await;
    assert_eq!(imported[0].tags.get("offsite:source-account").map(String::as_str), Some(WORKLOAD));

    // Reconciler and retention, on their schedules: nothing more to import, nothing to delete.
    let mut reconciler = start("offsite-reconciler");
    handled(&mut reconciler, &scheduled(VAULT, "offsite-reconciler"));
    let mut retention = start("offsite-retention");
    let reports = handled(&mut retention, &scheduled(VAULT, "offsite-retention"));
    assert_eq!(p.vault_copies().await.len(), 1, "exactly one vault copy, kept");
    // It saw that copy and kept it for the policy's first reason (the template's policy, not
    // a dry run); one report, the stack has no second region.
    let verdicts: Vec<(&str, bool, &str)> = reports[0]["verdicts"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| (v["copy_identifier"].as_str().unwrap_or(""), v["delete"] == true, v["reason"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(verdicts, [(imported[0].identifier.as_str(), false, "among the newest")], "{reports:#}");
    assert_eq!((reports.as_array().map(Vec::len), &reports[0]["dry_run"]), (Some(1), &json!(false)), "{reports:#}");

    // RDS exports, on their schedule: the new copy's week has not closed, nothing starts yet;
    // the copy's database is known and reported as never exported.
    let mut rds_export = start("offsite-rds-export");
    let report = handled(&mut rds_export, &scheduled(VAULT, "offsite-rds-export"));
    assert_eq!((&report["starts"], &report["periods"]), (&json!([]), &json!([])), "{report:#}");
    assert_eq!(report["databases"][0]["database"]["database"], "orders", "{report:#}");
    assert_eq!(report["databases"][0]["newest_export"], Value::Null, "{report:#}");

    // Restore tests, on their schedule: the new copy is restored into the vault's subnet group.
    let mut restore_test = start("offsite-restore-test");
    let report = handled(&mut restore_test, &scheduled(VAULT, "offsite-restore-test"));
    assert_eq!(report["starts"][0]["result"], "started", "{report:#}");
    assert_eq!(report["starts"][0]["copy_arn"], imported[0].arn.as_str(), "{report:#}");

    // The DynamoDB job, on its schedule, into the auditor's bucket.
    dynamo_table(&p.workload, "ledger", true, true, 2).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let mut dynamo = start("offsite-dynamo-export");
    let report = handled(&mut dynamo, &scheduled(WORKLOAD, "offsite-dynamo-export"));
    let tables = report["tables"].as_array().cloned().unwrap_or_default();
    assert_eq!(tables.len(), 1, "{report:#}");
    assert_eq!(tables[0]["result"], "started", "{report:#}");
}

/// Every variable a template gives a function is one the function reads: the settings
/// readers run over the template's environment through an environment that records what
/// they ask for. (`OFFSITE_LOG` is read by the log set-up, outside the settings.)
#[test]
fn every_variable_a_template_sets_is_one_its_function_reads() {
    use std::collections::{BTreeMap, BTreeSet};

    use offsite_common::config::Recording;
    use offsite_infra::Template;
    use offsite_infra::resolve::Deployment;

    let key = |account: &str, id: &str| format!("arn:aws:kms:us-east-1:{account}:key/{id}");
    let topic = format!("arn:aws:sns:us-east-1:{WORKLOAD}:offsite-announcements");
    let workload = Deployment {
        account: WORKLOAD.into(),
        region: "us-east-1".into(),
        stack_name: "offsite-workload".into(),
        parameters: BTreeMap::from([
            ("VaultAccountId".into(), VAULT.into()),
            ("CodeBucket".into(), "code".into()),
            ("AuditorBucket".into(), "auditor-exports".into()),
            ("AuditorAccountId".into(), "333333333333".into()),
            ("AuditorKeyArn".into(), key("333333333333", "audit")),
            // Optional settings set, so they are checked too.
            ("DynamoTables".into(), "orders,ledger".into()),
            ("CarrySourceTags".into(), "data-class,team".into()),
        ]),
        resources: BTreeMap::from([("ExportKey.Arn".into(), key(WORKLOAD, "export")), ("Topic".into(), topic.clone())]),
    };
    let allowed = json!([{"account": WORKLOAD, "export_key_arn": key(WORKLOAD, "export"), "topic_arn": topic}]);
    let vault = Deployment {
        account: VAULT.into(),
        region: "us-east-1".into(),
        stack_name: "offsite-vault".into(),
        parameters: BTreeMap::from([
            ("BreakGlassRoleArn".into(), format!("arn:aws:iam::{VAULT}:role/break-glass")),
            ("AllowedSources".into(), allowed.to_string()),
            ("AllowedTopicArns".into(), topic.clone()),
            ("AllowedExportKeyArns".into(), key(WORKLOAD, "export")),
            ("CodeBucket".into(), "code".into()),
            ("DrRegion".into(), "us-west-2".into()),
            ("DrKeyArn".into(), "arn:aws:kms:us-west-2:222222222222:key/dr".into()),
            // The RDS exports on, with their optional settings set.
            ("RdsExportBucket".into(), "auditor-exports".into()),
            ("RdsExportKeyArn".into(), key("333333333333", "audit")),
            ("RdsExportDatabases".into(), format!("orders,{WORKLOAD}/ledger")),
            ("RdsExportOnly".into(), r#"{"orders": ["shop.public.orders"]}"#.into()),
            ("RdsExportSourceTag".into(), "data-class=audited".into()),
            // The restore tests on, with their optional settings set.
            ("RestoreTestSubnetGroup".into(), "offsite-restore-tests".into()),
            ("RestoreTestSecurityGroupIds".into(), "sg-0123456789abcdef0".into()),
            ("RestoreTestSubnetIds".into(), "subnet-0123456789abcdef0,subnet-0123456789abcdef1".into()),
            ("RestoreTestEvidenceBucket".into(), "vault-evidence".into()),
            ("RestoreTestPick".into(), "random".into()),
            ("RestoreTestSecondRegionSubnetGroup".into(), "offsite-restore-tests-dr".into()),
            ("RestoreTestSecondRegionSecurityGroupIds".into(), "sg-00000000000000001".into()),
        ]),
        resources: BTreeMap::from([
            ("ImportKey.Arn".into(), key(VAULT, "import")),
            ("RdsExportWriterRole.Arn".into(), format!("arn:aws:iam::{VAULT}:role/offsite-vault-RdsExportWriterRole")),
        ]),
    };
    let (workload_template, vault_template) =
        (Template::load("workload").expect("t"), Template::load("vault").expect("t"));
    type Reader = fn(&Recording<'_, BTreeMap<String, String>>) -> Result<(), offsite_common::ConfigError>;
    let readers: [(&str, &Template, &Deployment, Reader); 8] = [
        ("offsite-exporter", &workload_template, &workload, |e| {
            offsite_exporter::settings::ExporterSettings::from_env(e).map(drop)
        }),
        ("offsite-scanner", &workload_template, &workload, |e| {
            offsite_scanner::settings::ScannerSettings::from_env(e).map(drop)
        }),
        ("offsite-dynamo-export", &workload_template, &workload, |e| {
            offsite_dynamo::settings::DynamoSettings::from_env(e).map(drop)
        }),
        ("offsite-importer", &vault_template, &vault, |e| {
            offsite_importer::settings::VaultSettings::from_env(e).map(drop)
        }),
        ("offsite-reconciler", &vault_template, &vault, |e| {
            offsite_importer::settings::VaultSettings::from_env(e).map(drop)
        }),
        ("offsite-retention", &vault_template, &vault, |e| {
            offsite_importer::settings::RetentionSettings::from_env(e).map(drop)
        }),
        ("offsite-rds-export", &vault_template, &vault, |e| {
            offsite_rds_export::settings::RdsExportSettings::from_env(e).map(drop)
        }),
        ("offsite-restore-test", &vault_template, &vault, |e| {
            offsite_restore_test::settings::RestoreTestSettings::from_env(e).map(drop)
        }),
    ];
    for (binary, template, deployment, read) in readers {
        let mut env = deployment.function_env(template, binary).unwrap_or_else(|e| panic!("{e}"));
        env.insert("AWS_REGION".into(), "us-east-1".into());
        let recording = Recording::new(&env);
        read(&recording).unwrap_or_else(|e| panic!("{binary} refuses its template's environment: {e}"));
        let asked = recording.asked();
        let unread: BTreeSet<&String> = env
            .keys()
            .filter(|k| !asked.contains(*k) && k.as_str() != "OFFSITE_LOG" && k.as_str() != "AWS_REGION")
            .collect();
        assert!(unread.is_empty(), "{binary}: the template sets variables the function never reads: {unread:?}");
    }
}
