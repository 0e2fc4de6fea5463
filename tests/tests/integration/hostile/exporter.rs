//! The exporter's events, then every function's schedule.

use super::*;

/// The exporter's events: forged, malformed, pointing elsewhere or at the pipeline's own
/// copies. `nightly`, the recovery point and `ledger` are selected and never exported, so an
/// event that got through would copy them.
pub(super) async fn exporter_events(tally: &mut Tally, scope: &Scope, exporter: &mut LambdaFunction, s: &Sources) {
    const ENTRY: &str = "exporter events";
    use Expect::{Ignored, Malformed, NotCopied};
    let snapshot_event = |event_id: &str, arn: &str| rds_event("RDS DB Snapshot Event", "aws.rds", event_id, arn);
    let with = |mut event: Value, mutate: &dyn Fn(&mut Value)| {
        mutate(&mut event);
        event
    };
    let named = |arn: &str, from: &str, to: &str| arn.replacen(from, to, 1);
    let found = format!("than this function's (the snapshot of that name here is {})", s.nightly);
    let mut cases: Vec<(&str, Value, Expect, String)> = vec![
        ("a JSON array", json!([]), Malformed, "$: the event is an array".into()),
        ("a JSON string", json!("RDS-EVENT-0042"), Malformed, "$: the event is a string".into()),
        ("null", Value::Null, Malformed, "$: the event is null".into()),
        ("a number", json!(42), Malformed, "$: the event is a number".into()),
        ("an empty object", json!({}), Ignored, "its keys: none".into()),
        ("an ARN alone", json!({ "SourceArn": s.nightly }), Ignored, "neither an EventBridge event".into()),
        (
            "a forged source",
            rds_event("RDS DB Snapshot Event", "com.attacker", "RDS-EVENT-0042", &s.nightly),
            Ignored,
            "from source \"com.attacker\", not from aws.rds: not an AWS service event".into(),
        ),
        (
            "a forged schedule",
            rds_event("Scheduled Event", "aws.rds", "RDS-EVENT-0042", &s.nightly),
            Ignored,
            "from source \"aws.rds\", not from aws.events".into(),
        ),
        (
            "another detail type",
            rds_event("RDS DB Instance Event", "aws.rds", "RDS-EVENT-0042", &s.nightly),
            Ignored,
            "EventBridge event \"RDS DB Instance Event\" from \"aws.rds\" is not one the exporter acts on".into(),
        ),
        (
            "an oversized detail type",
            rds_event(&"RDS DB Snapshot Event".repeat(5000), "aws.rds", "RDS-EVENT-0042", &s.nightly),
            Ignored,
            "\"… from \"aws.rds\" is not one the exporter acts on".into(),
        ),
        (
            "an event that announces no snapshot",
            snapshot_event("RDS-EVENT-0040", &s.nightly),
            Ignored,
            "RDS-EVENT-0040 (creating manual snapshot) does not announce a newly available snapshot".into(),
        ),
        (
            "a deletion event",
            snapshot_event("RDS-EVENT-0041", &s.nightly),
            Ignored,
            "RDS-EVENT-0041 (deleted user snapshot) does not announce a newly available snapshot".into(),
        ),
        (
            "a cluster event id for an instance",
            snapshot_event("RDS-EVENT-0075", &s.nightly),
            Ignored,
            "is a DB cluster snapshot (db-cluster-snapshot) event, unexpected in an RDS DB Snapshot Event".into(),
        ),
        (
            "an unknown event id",
            snapshot_event("RDS-EVENT-9999", &s.nightly),
            Ignored,
            "RDS-EVENT-9999 is not a DB instance snapshot (db-snapshot) event the exporter acts on".into(),
        ),
        (
            "not an event id",
            snapshot_event("RDS-EVENT-0042; rm -rf /", &s.nightly),
            Ignored,
            "detail.EventID: \"RDS-EVENT-0042; rm -rf /\" is not an RDS event id".into(),
        ),
        (
            "a name, not an ARN",
            snapshot_event("RDS-EVENT-0042", "orders-nightly"),
            Ignored,
            "detail.SourceArn: \"orders-nightly\" is not an RDS snapshot ARN (too few fields)".into(),
        ),
        (
            "a DB instance ARN",
            // The shape of a published sample (a DB instance ARN in SourceArn): SourceIdentifier
            // names the snapshot in the function's own account, and there is none of that name.
            snapshot_event("RDS-EVENT-0042", &format!("arn:aws:rds:{REGION}:{WORKLOAD}:db:orders")),
            NotCopied,
            "orders was not found".into(),
        ),
        (
            "another service's ARN",
            snapshot_event("RDS-EVENT-0042", &named(&s.nightly, ":rds:", ":ec2:")),
            Ignored,
            "(not an RDS ARN)".into(),
        ),
        (
            "an account that is not 12 digits",
            snapshot_event("RDS-EVENT-0042", &named(&s.nightly, WORKLOAD, "1111")),
            Ignored,
            "(the account is not 12 digits)".into(),
        ),
        (
            "an oversized snapshot name",
            snapshot_event("RDS-EVENT-0042", &format!("{}{}", s.nightly, "x".repeat(300))),
            Ignored,
            "(empty or malformed snapshot name)".into(),
        ),
        (
            "a name with a line break",
            snapshot_event("RDS-EVENT-0042", &format!("{}\ninjected", s.nightly)),
            Ignored,
            "(empty or malformed snapshot name)".into(),
        ),
        (
            "another account's snapshot of the same name",
            snapshot_event("RDS-EVENT-0042", &named(&s.nightly, WORKLOAD, STRANGER)),
            NotCopied,
            format!("is a snapshot of another account {found}"),
        ),
        (
            "another region's snapshot of the same name",
            snapshot_event("RDS-EVENT-0042", &named(&s.nightly, REGION, "eu-west-1")),
            NotCopied,
            format!("is a snapshot of another region {found}"),
        ),
        (
            "another partition's snapshot of the same name",
            snapshot_event("RDS-EVENT-0042", &named(&s.nightly, "arn:aws:", "arn:aws-cn:")),
            NotCopied,
            format!("is a snapshot of another partition {found}"),
        ),
        (
            "a snapshot that does not exist",
            snapshot_event("RDS-EVENT-0042", &named(&s.nightly, "orders-nightly", "orders-never")),
            NotCopied,
            "orders-never was not found: deleted, or not of the type its name suggests".into(),
        ),
        (
            "an instance ARN in a cluster event",
            rds_event("RDS DB Cluster Snapshot Event", "aws.rds", "RDS-EVENT-0075", &s.nightly),
            Ignored,
            "is a DB instance snapshot (db-snapshot) ARN, but an RDS DB Cluster Snapshot Event is about a DB cluster"
                .into(),
        ),
        (
            "a cluster ARN in an instance event",
            snapshot_event("RDS-EVENT-0042", &s.ledger),
            Ignored,
            "is a DB cluster snapshot (db-cluster-snapshot) ARN, but an RDS DB Snapshot Event is about a DB instance"
                .into(),
        ),
        (
            "the pipeline's own copy, finished",
            snapshot_event("RDS-EVENT-0197", &s.weekly_copy),
            NotCopied,
            "one of Offsite's own copies".into(),
        ),
        (
            "a snapshot made to look like a copy",
            snapshot_event("RDS-EVENT-0042", &s.impostor),
            NotCopied,
            "one of Offsite's own copies".into(),
        ),
        ("an unselected snapshot", snapshot_event("RDS-EVENT-0042", &s.scratch), NotCopied, "no selection tag".into()),
        (
            "a source exported already",
            snapshot_event("RDS-EVENT-0042", &s.weekly),
            NotCopied,
            "already exported as offsite-orders-weekly-".into(),
        ),
        (
            "a detail that is a string",
            with(snapshot_event("RDS-EVENT-0042", &s.nightly), &|e| e["detail"] = json!("RDS-EVENT-0042")),
            Malformed,
            "detail: is a string; expected an object".into(),
        ),
        (
            "resources that are not ARNs",
            with(snapshot_event("RDS-EVENT-0042", &s.nightly), &|e| {
                e["detail"]["SourceArn"] = Value::Null;
                e["resources"] = json!([7]);
            }),
            Malformed,
            "resources[0]: is a number; expected an ARN string".into(),
        ),
    ];
    cases.extend([
        (
            "a backup job of another resource type",
            backup_event("COMPLETED", "EBS", &s.recovery_point, &s.backup_job),
            Ignored,
            format!("backup job {:?} backed up a \"EBS\" resource, not RDS or Aurora", s.backup_job),
        ),
        (
            "a continuous recovery point",
            backup_event(
                "COMPLETED",
                "RDS",
                &format!("arn:aws:backup:{REGION}:{WORKLOAD}:recovery-point:continuous:db-orders-1a2b3c"),
                &s.backup_job,
            ),
            Ignored,
            "a continuous-backup (point-in-time) recovery point, not a snapshot".into(),
        ),
        (
            "a backup copy job",
            with(backup_event("COMPLETED", "RDS", &s.recovery_point, &s.backup_job), &|e| {
                e["detail-type"] = json!("Copy Job State Change");
            }),
            Ignored,
            "AWS Backup copy job event".into(),
        ),
        (
            "a backup job without a state",
            with(backup_event("COMPLETED", "RDS", &s.recovery_point, &s.backup_job), &|e| {
                if let Some(detail) = e["detail"].as_object_mut() {
                    detail.remove("state");
                }
            }),
            Ignored,
            "detail.state: missing; expected a backup job state".into(),
        ),
        (
            "SNS: two notifications",
            with(sns_event(&rds_notification("db-snapshot", "RDS-EVENT-0042", &s.nightly)), &|e| {
                let record = e["Records"][0].clone();
                e["Records"] = json!([record.clone(), record]);
            }),
            Ignored,
            "Records: has 2 records; expected exactly one".into(),
        ),
        (
            "SNS: no records",
            json!({ "Records": [] }),
            Ignored,
            "Records: is empty; expected exactly one SNS record".into(),
        ),
        (
            "SNS: a message that is not JSON",
            sns_event("{\"Event Source\": \"db-snapshot\", \"Source ARN\": "),
            Ignored,
            "Records[0].Sns.Message: is not valid JSON".into(),
        ),
        (
            "SNS: plain text",
            sns_event(&format!("please copy {} now", s.nightly)),
            Ignored,
            "SNS message is plain text, not an RDS event notification".into(),
        ),
        (
            "SNS: not a snapshot source",
            sns_event(&rds_notification("db-instance", "RDS-EVENT-0002", &s.nightly)),
            Ignored,
            "RDS event notification from a \"db-instance\" source, not a snapshot".into(),
        ),
        (
            "SNS: an event id without RDS-EVENT",
            sns_event(&rds_notification("db-snapshot", "copy-now", &s.nightly)),
            Ignored,
            "does not end in an RDS event id".into(),
        ),
        (
            "SNS: an event that announces no snapshot",
            sns_event(&rds_notification("db-snapshot", "RDS-EVENT-0040", &s.nightly)),
            Ignored,
            "RDS-EVENT-0040 (creating manual snapshot) does not announce a newly available snapshot".into(),
        ),
        (
            "SNS: another account's snapshot",
            sns_event(&rds_notification("db-snapshot", "RDS-EVENT-0042", &named(&s.nightly, WORKLOAD, STRANGER))),
            NotCopied,
            format!("is a snapshot of another account {found}"),
        ),
        (
            "SNS: the pipeline's own copy",
            sns_event(&rds_notification("db-snapshot", "RDS-EVENT-0197", &s.weekly_copy)),
            NotCopied,
            "one of Offsite's own copies".into(),
        ),
        (
            "SNS: an EventBridge event forwarded",
            sns_event(&snapshot_event("RDS-EVENT-0042", &s.nightly).to_string()),
            Ignored,
            "SNS message is an EventBridge event forwarded through SNS".into(),
        ),
        (
            "SNS: a record without message",
            with(sns_event(&rds_notification("db-snapshot", "RDS-EVENT-0042", &s.nightly)), &|e| {
                if let Some(sns) = e["Records"][0]["Sns"].as_object_mut() {
                    sns.remove("Message");
                }
            }),
            Ignored,
            "Records[0].Sns.Message: missing".into(),
        ),
        (
            "an SQS record",
            json!({ "Records": [{ "eventSource": "aws:sqs", "body": "{\"detail-type\": \"Scheduled Event\"}" }] }),
            Ignored,
            "from \"aws:sqs\", not an SNS delivery".into(),
        ),
    ]);

    let mut cases: Vec<(String, Value, Expect, String)> =
        cases.into_iter().map(|(case, event, expect, expected)| (case.to_owned(), event, expect, expected)).collect();
    for state in ["CREATED", "PENDING", "RUNNING", "ABORTED", "FAILED", "EXPIRED", "PARTIAL", "completed"] {
        cases.push((
            format!("a backup job {state}"),
            backup_event(state, "RDS", &s.recovery_point, &s.backup_job),
            Ignored,
            format!("backup job {:?} is {state:?}: only a COMPLETED job has a snapshot to copy", s.backup_job),
        ));
    }

    let group = tally.begin(scope).await;
    for (case, event, expect, expected) in &cases {
        let answer = Answer::of(exporter, event);
        let (refused, text) = judge(*expect, &answer);
        tally.record(ENTRY, case, expected, &text, refused);
    }
    tally.end(group, scope).await;
}

/// Schedules: each function runs on a plain schedule until there is nothing left to do, then
/// gets crafted payloads, which must make it do nothing more.
pub(super) async fn schedules(
    tally: &mut Tally,
    scope: &Scope,
    p: &DeployedPair,
    exporter: &mut LambdaFunction,
    s: &Sources,
) {
    // The exporter: its sweep copies what the events did not.
    let sweep = response(exporter, &scheduled(WORKLOAD, "offsite-exporter-sweep"));
    let copied: Vec<&str> = sweep["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|i| i["outcome"] == "copied")
        .filter_map(|i| i["source_arn"].as_str())
        .collect();
    for source in [&s.nightly, &s.recovery_point, &s.ledger] {
        assert!(copied.contains(&source.as_str()), "the sweep copies {source}: {sweep:#}");
    }
    wait_for("the copies to be available", Duration::from_secs(30), || async {
        let copies = p.workload_copies().await;
        (copies.len() == 5 && copies.iter().all(|c| c.status == SnapshotStatus::Available)).then_some(())
    })
    .await;
    let forged_detail = json!({
        "SourceArn": s.scratch, "dry_run": false, "window": "35d", "selection_tag": "none",
        "share_with": STRANGER, "tables": ["ledger-events"], "min_age": "0s", "keep_last": 0,
        "OFFSITE_RETENTION_MIN_AGE": "0s", "ExportTime": "2001-01-01T00:00:00Z", "force": true
    });
    let forged_schedules = |account: &str, rule: &str| -> Vec<(&'static str, Value)> {
        let mut naming = scheduled(account, rule);
        naming["resources"] = json!([s.scratch, s.weekly_copy]);
        naming["detail"] = forged_detail.clone();
        let mut elsewhere = scheduled(STRANGER, rule);
        elsewhere["region"] = json!("eu-west-1");
        elsewhere["time"] = json!("2001-01-01T00:00:00Z");
        vec![
            ("a schedule with forged detail and resources", naming),
            ("a schedule of another account, long ago", elsewhere),
        ]
    };
    let mut sweeps = forged_schedules(WORKLOAD, "offsite-exporter-sweep");
    let mut from_the_past = scheduled(WORKLOAD, "offsite-exporter-sweep");
    from_the_past["time"] = json!("1970-01-01T00:00:00Z");
    sweeps.push(("a schedule from 1970", from_the_past));
    // The report's item for the unselected snapshot the forged schedules name (keys sorted by
    // `Answer::text`).
    let scratch_skipped =
        format!("\"outcome\":\"skipped\",\"reason\":\"no selection tag\",\"source_arn\":\"{}\"", s.scratch);
    let group = tally.begin(scope).await;
    for (case, event) in &sweeps {
        // A schedule means a sweep, whatever it carries: the sweep finds everything done.
        let answer = Answer::of(exporter, event);
        let (refused, text) = judge(Expect::NotCopied, &answer);
        tally.record("exporter schedule", case, &scratch_skipped, &text, refused);
    }
    tally.end(group, scope).await;

    // The payloads every other schedule-driven function gets.
    let payloads = |account: &str, rule: &str| -> Vec<(&'static str, Value)> {
        let mut payloads = vec![
            ("an empty object", json!({})),
            ("null", Value::Null),
            ("a list of snapshots", json!([s.weekly_copy, s.impostor, s.scratch])),
            ("a string", json!("delete-everything")),
            ("forged settings", forged_detail.clone()),
            (
                "an RDS event for the impostor",
                rds_event("RDS DB Snapshot Event", "aws.rds", "RDS-EVENT-0197", &s.impostor),
            ),
            ("a backup job event", backup_event("COMPLETED", "RDS", &s.recovery_point, &s.backup_job)),
            (
                "an oversized detail type",
                rds_event(&"Scheduled Event".repeat(10_000), "aws.events", "RDS-EVENT-0042", &s.nightly),
            ),
        ];
        payloads.extend(forged_schedules(account, rule));
        payloads
    };

    // The scanner: shares and announces the exporter's copies, never the impostor.
    let mut scanner = p.function("offsite-scanner").unwrap_or_else(|e| panic!("{e}"));
    let announced = |copies: &[Snapshot]| {
        copies.iter().filter(|c| c.arn != s.impostor).all(|c| c.tag(tags::STAGE) == Some("announced"))
    };
    for _ in 0..10 {
        response(&mut scanner, &scheduled(WORKLOAD, "offsite-scanner"));
        if announced(&p.workload_copies().await) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(announced(&p.workload_copies().await), "the scanner announces the copies");
    let scanner_did_nothing = |v: &Value| v["announced"] == json!([]) && v["deleted"] == json!([]);
    schedule_group(
        tally,
        scope,
        "scanner schedule",
        &mut scanner,
        &payloads(WORKLOAD, "offsite-scanner"),
        scanner_did_nothing,
    )
    .await;

    // The reconciler: imports the four shared copies.
    let mut reconciler = p.function("offsite-reconciler").unwrap_or_else(|e| panic!("{e}"));
    let imported = |v: &Value| {
        v["outcomes"].as_array().into_iter().flatten().any(|o| o["result"] == "imported" || o["result"] == "replicated")
    };
    for _ in 0..10 {
        let report = response(&mut reconciler, &scheduled(VAULT, "offsite-reconciler"));
        let copies = p.vault_copies().await;
        if !imported(&report) && copies.len() == 4 && copies.iter().all(|c| c.status == SnapshotStatus::Available) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(p.vault_copies().await.len(), 4, "the reconciler imports the four copies");
    schedule_group(tally, scope, "reconciler schedule", &mut reconciler, &payloads(VAULT, "offsite-reconciler"), |v| {
        !imported(v)
    })
    .await;

    // Retention: the copies are young; it keeps them all.
    let mut retention = p.function("offsite-retention").unwrap_or_else(|e| panic!("{e}"));
    let deleted_nothing = |v: &Value| {
        v.as_array()
            .is_some_and(|reports| reports.iter().all(|r| r["deleted"] == json!([]) && r["errors"] == json!([])))
    };
    assert!(deleted_nothing(&response(&mut retention, &scheduled(VAULT, "offsite-retention"))));
    schedule_group(
        tally,
        scope,
        "retention schedule",
        &mut retention,
        &payloads(VAULT, "offsite-retention"),
        deleted_nothing,
    )
    .await;

    // The DynamoDB job: this slot's export, then nothing more in the slot.
    let mut dynamo = p.function("offsite-dynamo-export").unwrap_or_else(|e| panic!("{e}"));
    let started = |v: &Value| v["tables"].as_array().into_iter().flatten().any(|t| t["result"] == "started");
    let mut first = Value::Null;
    for _ in 0..20 {
        first = response(&mut dynamo, &scheduled(WORKLOAD, "offsite-dynamo-export"));
        if started(&first) {
            break;
        }
        // Point-in-time recovery just enabled: deferred for a moment.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(started(&first), "the job starts this slot's export: {first:#}");
    let ddb = aws_sdk_dynamodb::Client::new(&p.workload);
    wait_for("the export to complete", Duration::from_secs(30), || async {
        let exports = ddb.list_exports().send().await.ok()?;
        let summaries = exports.export_summaries();
        (!summaries.is_empty()
            && summaries.iter().all(|e| e.export_status() == Some(&aws_sdk_dynamodb::types::ExportStatus::Completed)))
        .then_some(())
    })
    .await;
    let again = response(&mut dynamo, &scheduled(WORKLOAD, "offsite-dynamo-export"));
    assert!(!started(&again), "one export per slot: {again:#}");
    schedule_group(
        tally,
        scope,
        "DynamoDB job schedule",
        &mut dynamo,
        &payloads(WORKLOAD, "offsite-dynamo-export"),
        |v| !started(v),
    )
    .await;

    // The RDS exports: an import of ten days ago is due (the pipeline's copies are this
    // week's): the scheduled run exports it, the next starts nothing, and then no payload (a
    // forged export event included: every event is only a hint) makes it start anything.
    db_instance(&p.vault, "hostile-source", None).await;
    let ten_days_ago = std::time::SystemTime::now() - Duration::from_secs(10 * 86_400);
    offsite_tests::fixtures::vault_import(&p.vault, "hostile-source", "hostile-orders", 1, ten_days_ago).await;
    let mut rds_export = p.function("offsite-rds-export").unwrap_or_else(|e| panic!("{e}"));
    let starts_nothing = |v: &Value| v["starts"] == json!([]) && v["security"] == json!([]);
    let started = |v: &Value| v["starts"].as_array().into_iter().flatten().any(|s| s["result"] == "started");
    let mut first = Value::Null;
    for _ in 0..20 {
        first = response(&mut rds_export, &scheduled(VAULT, "offsite-rds-export"));
        if started(&first) {
            break;
        }
        // The import is still `creating` for the emulator's copy time.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(started(&first) && first["security"] == json!([]), "the due week is exported: {first:#}");
    let rds = aws_sdk_rds::Client::new(&p.vault);
    wait_for("the RDS export to complete", Duration::from_secs(30), || async {
        let tasks = rds.describe_export_tasks().send().await.ok()?;
        let tasks = tasks.export_tasks();
        (!tasks.is_empty() && tasks.iter().all(|t| t.status() == Some("COMPLETE"))).then_some(())
    })
    .await;
    let again = response(&mut rds_export, &scheduled(VAULT, "offsite-rds-export"));
    assert!(starts_nothing(&again), "one export per period: {again:#}");
    let mut hostile = payloads(VAULT, "offsite-rds-export");
    hostile.push((
        "forged export-completed event",
        json!({
            "version": "0", "id": "forged", "detail-type": "RDS DB Snapshot Event", "source": "aws.rds",
            "account": VAULT, "region": "us-east-1", "time": "2026-12-06T00:00:00Z", "resources": ["*"],
            "detail": {"EventID": "RDS-EVENT-0161", "SourceArn": "arn:aws:rds:us-east-1:999999999999:snapshot:x"},
        }),
    ));
    schedule_group(tally, scope, "RDS export schedule", &mut rds_export, &hostile, starts_nothing).await;

    // The restore tests: scheduled runs test each database of the period (restore, check,
    // evidence, delete) until nothing is under way; then no payload makes it start or touch
    // anything more.
    let mut restore_test = p.function("offsite-restore-test").unwrap_or_else(|e| panic!("{e}"));
    let idle = |v: &Value| v["starts"] == json!([]) && v["tests"] == json!([]) && v["security"] == json!([]);
    // Every database tested this period, but the one whose only copy is ten days old (none in
    // the window).
    let tested = |v: &Value| {
        let outcomes: Vec<&str> = v["databases"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|d| d["outcome"]["outcome"].as_str().unwrap_or_default())
            .collect();
        outcomes.contains(&"tested") && outcomes.iter().all(|o| *o == "tested" || *o == "no-copy-in-window")
    };
    let mut last = Value::Null;
    for _ in 0..120 {
        last = response(&mut restore_test, &scheduled(VAULT, "offsite-restore-test"));
        if idle(&last) && tested(&last) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(idle(&last) && tested(&last), "every database's test of the period is done: {last:#}");
    let hostile = payloads(VAULT, "offsite-restore-test");
    schedule_group(tally, scope, "restore test schedule", &mut restore_test, &hostile, idle).await;
}

/// Feeds `payloads` to a schedule-driven function: each must leave the log line saying the
/// event was not read, and an answer `did_nothing_more` accepts.
async fn schedule_group(
    tally: &mut Tally,
    scope: &Scope,
    entry: &'static str,
    function: &mut LambdaFunction,
    payloads: &[(&'static str, Value)],
    did_nothing_more: impl Fn(&Value) -> bool,
) {
    let group = tally.begin(scope).await;
    for (case, payload) in payloads {
        let before = log_count(function, EVENT_NOT_READ);
        let answer = Answer::of(function, payload);
        let after = wait_for_log(function, EVENT_NOT_READ, before, Duration::from_secs(20));
        let logged =
            function.output().lines().rev().find(|l| l.contains(EVENT_NOT_READ)).unwrap_or_default().to_owned();
        let nothing_more = matches!(&answer, Answer::Response(v) if did_nothing_more(v));
        let got = if after == before + 1 { format!("{logged}\n{}", answer.text()) } else { answer.text() };
        tally.record_unread(entry, case, EVENT_NOT_READ, &got, nothing_more && after == before + 1);
    }
    tally.end(group, scope).await;
}
