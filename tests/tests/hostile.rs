//! The hostile-input suite, at every entry point of the pipeline: the exporter's events, the
//! importer's notices (and the SQS events carrying them), the schedules of the exporter,
//! scanner, reconciler, retention and DynamoDB job, the `offsite` CLI, and each Lambda
//! binary's configuration. Each case must be refused with its own reason (the text the code
//! gives for exactly that problem, not just any error) and change nothing: the snapshots of
//! both kinds and every type in the workload, vault and auditor accounts with their tags and
//! sharing, the vault's queue and dead-letter queue, the auditor's bucket and the DynamoDB
//! exports are read before and after each group of cases and must be equal. A schedule-driven
//! function reads nothing from its event: a crafted payload must make it do no more than a
//! plain schedule does (the state is converged first, so that is nothing), and it logs that
//! the event's content was not read.
//!
//! It prints one line, `hostile: <k> cases, <r> rejected with a reason, <c> caused a change`,
//! and fails unless r = k and c = 0, listing each case that was not.
//!
//! Needs the binaries built (`cargo build --workspace --bins`; `make test` does it first).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use aws_sdk_rds::Client;
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use offsite_common::lineage::vault_identifier;
use offsite_common::logging::EVENT_NOT_READ;
use offsite_common::notice::{NOTICE_VERSION, Notice};
use offsite_common::snapshot::{Snapshot, SnapshotStatus};
use offsite_common::tags;
use offsite_tests::deployed::{AUDITOR_BUCKET, DeployedPair};
use offsite_tests::events::scheduled;
use offsite_tests::fixtures::{
    db_cluster, db_cluster_snapshot, db_instance, db_snapshot, dynamo_table, kms_key, share_snapshot, tag, wait_for,
};
use offsite_tests::hostile::{Scope, Tally, log_count, run_process, start_lambda, wait_for_log};
use offsite_tests::lambda::{LambdaFunction, Outcome, binary};
use offsite_tests::pipeline::{Pipeline, SELECTED, sns_envelope, sqs_event};
use offsite_tests::{AUDITOR, EmulatorOptions, REGION, SnapshotKind, VAULT, WORKLOAD, workspace_root};
use serde_json::{Value, json};

const INVOKE_TIMEOUT: Duration = Duration::from_secs(60);
/// An account that is none of the three.
const STRANGER: &str = "444444444444";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hostile_input_at_every_entry_point_is_rejected_with_its_reason_and_changes_nothing() {
    // Two emulators side by side: the importer's notices on a pipeline of library objects,
    // everything else on the deployed shape (the Lambda binaries with their templates'
    // environments, the CLI).
    let notices = tokio::spawn(importer_notices());
    let deployed = tokio::spawn(deployed_entry_points());
    let mut tally = notices.await.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    tally.extend(deployed.await.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic())));

    offsite_tests::summary_line("hostile", &tally.summary());
    assert!(
        tally.all_passed(),
        "{}\ncases per entry point: {:?}\n{}",
        tally.summary(),
        tally.per_entry_point(),
        tally.failures().join("\n")
    );
}

// ---------------------------------------------------------------------------------------
// Notices to the importer

fn now() -> DateTime {
    DateTime::from(SystemTime::now())
}

fn rfc3339(t: DateTime) -> String {
    t.fmt(Format::DateTime).expect("time")
}

/// An SNS message of another type than `Notification`, as SNS would deliver it.
fn sns_message_of_type(kind: &str, topic: &str) -> String {
    json!({
        "Type": kind,
        "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
        "Token": "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a747ba6f3beb7",
        "TopicArn": topic,
        "Message": format!("You have chosen to subscribe to the topic {topic}.\nTo confirm, visit the SubscribeURL."),
        "SubscribeURL": format!("https://sns.{REGION}.amazonaws.com/?Action=ConfirmSubscription&TopicArn={topic}"),
        "Timestamp": "2026-11-22T04:00:00.000Z",
        "SignatureVersion": "1",
        "Signature": "EXAMPLE",
        "SigningCertURL": format!("https://sns.{REGION}.amazonaws.com/SimpleNotificationService-0000.pem")
    })
    .to_string()
}

/// The SNS envelope `sns_envelope` builds, with `mutate` applied to its JSON.
fn envelope_with(topic: &str, message: &str, mutate: impl Fn(&mut serde_json::Map<String, Value>)) -> String {
    let mut envelope: Value = serde_json::from_str(&sns_envelope(topic, message)).expect("envelope JSON");
    if let Value::Object(map) = &mut envelope {
        mutate(map);
    }
    envelope.to_string()
}

/// Every bad message in one SQS batch to the importer: each must be rejected with its own
/// reason, nothing copied into the vault, nothing deleted, nothing sent to a queue. Then the
/// importer binary with SQS events Lambda could never have built.
async fn importer_notices() -> Tally {
    const ENTRY: &str = "importer notices";
    let mut tally = Tally::default();
    let pipeline = Pipeline::start(Duration::from_secs(1)).await;
    let (copy, bodies) = pipeline.announced("orders-1").await;
    let dlq = pipeline.dead_letter_queue_url.clone();
    let good: Notice = {
        let envelope: Value = serde_json::from_str(&bodies[0]).expect("envelope");
        Notice::parse(envelope["Message"].as_str().expect("message")).expect("notice")
    };
    let topic = pipeline.topic_arn.clone();
    let wrap = |n: &Notice| sns_envelope(&topic, &n.to_json());
    let reissue = |mutate: &dyn Fn(&mut Notice)| {
        let mut n = good.clone();
        mutate(&mut n);
        n.notice_id = Notice::id_for(&n.copy_arn);
        n
    };
    // The good notice's JSON, changed as text (for what a `Notice` cannot hold).
    let edited = |edit: &dyn Fn(&mut serde_json::Map<String, Value>)| {
        let mut value: Value = serde_json::from_str(&good.to_json()).expect("notice JSON");
        if let Value::Object(map) = &mut value {
            edit(map);
        }
        sns_envelope(&topic, &value.to_string())
    };

    // A copy under another key of the workload account, shared and announced as if it
    // were under the export key.
    let other_key = kms_key(&pipeline.workload, "other").await;
    Client::new(&pipeline.workload)
        .copy_db_snapshot()
        .source_db_snapshot_identifier("orders-1")
        .target_db_snapshot_identifier("offsite-other-key")
        .kms_key_id(&other_key)
        .send()
        .await
        .expect("copy under another key");
    let other_key_arn = format!("arn:aws:rds:{REGION}:{WORKLOAD}:snapshot:offsite-other-key");
    // An unencrypted cluster snapshot, shared.
    db_cluster(&pipeline.workload, "plainledger", None).await;
    let plain = db_cluster_snapshot(&pipeline.workload, "plainledger", "plain-1", vec![]).await;
    let plain_arn = plain.db_cluster_snapshot_arn.clone().expect("ARN");
    // A snapshot deleted after its notice, and (below) one still being made.
    db_snapshot(&pipeline.workload, "orders", "orders-gone", vec![]).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    for id in ["offsite-other-key", "orders-gone"] {
        share_snapshot(&pipeline.workload, SnapshotKind::Instance, id, VAULT).await;
    }
    share_snapshot(&pipeline.workload, SnapshotKind::Cluster, "plain-1", VAULT).await;
    let gone_arn = format!("arn:aws:rds:{REGION}:{WORKLOAD}:snapshot:orders-gone");
    Client::new(&pipeline.workload)
        .delete_db_snapshot()
        .db_snapshot_identifier("orders-gone")
        .send()
        .await
        .expect("delete");
    db_snapshot(&pipeline.workload, "orders", "orders-creating-now", vec![]).await;
    let creating_now_arn = format!("arn:aws:rds:{REGION}:{WORKLOAD}:snapshot:orders-creating-now");
    // A vault snapshot squatting on the identifier the vault would give this copy.
    let mut shared_view = copy.clone();
    shared_view.kind = SnapshotKind::Instance;
    let squatted = vault_identifier(&shared_view);
    let own_key = kms_key(&pipeline.vault, "own").await;
    db_instance(&pipeline.vault, "squatter", Some(&own_key)).await;
    db_snapshot(&pipeline.vault, "squatter", &squatted, vec![]).await;

    let long_ago = rfc3339(DateTime::from_secs(now().secs() - 30 * 86_400));
    let tomorrow = rfc3339(DateTime::from_secs(now().secs() + 86_400));
    let oversized = format!("{{\"version\":1,\"padding\":\"{}\"}}", "x".repeat(8000));
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "wrong topic",
            sns_envelope(&format!("arn:aws:sns:{REGION}:{WORKLOAD}:other-topic"), &good.to_json()),
            "is not an allowed source topic",
        ),
        ("raw delivery", good.to_json(), "not an SNS envelope"),
        (
            "wrong source account",
            wrap(&reissue(&|n| {
                n.source_account = STRANGER.parse().expect("id");
                n.copy_arn = n.copy_arn.replace(WORKLOAD, STRANGER);
                n.source_snapshot_arn = n.source_snapshot_arn.replace(WORKLOAD, STRANGER);
                n.export_key_arn = n.export_key_arn.replace(WORKLOAD, STRANGER);
            })),
            "is not on the allow-list",
        ),
        (
            "wrong region",
            wrap(&reissue(&|n| {
                n.source_region = "eu-west-1".into();
                n.copy_arn = n.copy_arn.replace(REGION, "eu-west-1");
                n.source_snapshot_arn = n.source_snapshot_arn.replace(REGION, "eu-west-1");
            })),
            "imports from us-east-1 only",
        ),
        ("wrong key claimed", wrap(&reissue(&|n| n.export_key_arn = other_key.clone())), "the allow-list expects"),
        (
            "copy under another key",
            wrap(&reissue(&|n| n.copy_arn = other_key_arn.clone())),
            "not with the expected export key",
        ),
        (
            "unencrypted",
            wrap(&reissue(&|n| {
                n.kind = SnapshotKind::Cluster;
                n.copy_arn = plain_arn.clone();
                n.source_snapshot_arn = plain_arn.clone();
            })),
            "is not encrypted",
        ),
        ("not shared", wrap(&reissue(&|n| n.copy_arn = creating_now_arn.clone())), "is not shared with the vault"),
        ("deleted meanwhile", wrap(&reissue(&|n| n.copy_arn = gone_arn.clone())), "is not shared with the vault"),
        (
            "wrong kind",
            wrap(&{
                let mut n = good.clone();
                n.kind = SnapshotKind::Cluster;
                n
            }),
            "does not match the ARNs",
        ),
        (
            "unknown schema version",
            sns_envelope(&topic, &good.to_json().replace(&format!("\"version\":{NOTICE_VERSION}"), "\"version\":9")),
            "version 9 is not supported",
        ),
        ("malformed JSON", sns_envelope(&topic, "{\"version\":1,"), "not a JSON object"),
        ("oversized body", sns_envelope(&topic, &oversized), "at most 4096 are accepted"),
        ("replayed old notice", wrap(&reissue(&|n| n.announce_time = long_ago.clone())), "older than the accepted age"),
        ("notice from the future", wrap(&reissue(&|n| n.announce_time = tomorrow.clone())), "in the future"),
        (
            "forged notice id",
            wrap(&{
                let mut n = good.clone();
                n.notice_id = "n-0000".into();
                n
            }),
            "not derived from copy_arn",
        ),
        ("identifier crafted to collide", wrap(&good), "SECURITY"),
        // The SNS envelope.
        (
            "subscription confirmation",
            sns_message_of_type("SubscriptionConfirmation", &topic),
            "SNS message of type \"SubscriptionConfirmation\", not a Notification",
        ),
        (
            "unsubscribe confirmation",
            sns_message_of_type("UnsubscribeConfirmation", &topic),
            "SNS message of type \"UnsubscribeConfirmation\", not a Notification",
        ),
        (
            "envelope without Message",
            envelope_with(&topic, &good.to_json(), |e| {
                e.remove("Message");
            }),
            "not an SNS envelope (is raw delivery on?): missing field `Message`",
        ),
        (
            "envelope without TopicArn",
            envelope_with(&topic, &good.to_json(), |e| {
                e.remove("TopicArn");
            }),
            "not an SNS envelope (is raw delivery on?): missing field `TopicArn`",
        ),
        (
            "Message not a string",
            envelope_with(&topic, "", |e| {
                e.insert("Message".into(), serde_json::from_str(&good.to_json()).expect("notice JSON"));
            }),
            "not an SNS envelope (is raw delivery on?): invalid type: map, expected a string",
        ),
        (
            "body not JSON",
            "copy orders-1 into the vault".to_owned(),
            "not an SNS envelope (is raw delivery on?): expected value",
        ),
        ("empty body", String::new(), "not an SNS envelope (is raw delivery on?): EOF while parsing"),
        ("body larger than SQS allows", sns_envelope(&topic, &"x".repeat(300 * 1024)), "bytes, more than SQS allows"),
        // The notice.
        (
            "unknown extra field",
            edited(&|n| {
                n.insert("delete_after".into(), json!("0s"));
            }),
            "unknown field `delete_after`",
        ),
        (
            "a field given twice",
            sns_envelope(&topic, &good.to_json().replacen('{', "{\"source_database\":\"payroll\",", 1)),
            "duplicate field `source_database`",
        ),
        (
            "no version",
            edited(&|n| {
                n.remove("version");
            }),
            "notice field version: missing",
        ),
        (
            "version as a string",
            edited(&|n| {
                n.insert("version".into(), json!("1"));
            }),
            "notice version \"1\" is not supported",
        ),
        (
            "control characters in the database name",
            wrap(&reissue(&|n| n.source_database = Some("orders\u{1b}[2J".into()))),
            "notice field source_database: empty, too long or with control characters",
        ),
        (
            "an alias as export key",
            wrap(&reissue(&|n| n.export_key_arn = "alias/aws/rds".into())),
            "notice field export_key_arn",
        ),
        (
            "source snapshot of another account",
            wrap(&reissue(&|n| n.source_snapshot_arn = n.source_snapshot_arn.replace(WORKLOAD, STRANGER))),
            "notice field source_snapshot_arn: account 444444444444 is not source_account 111111111111",
        ),
        (
            "copy ARN of another service",
            wrap(&reissue(&|n| n.copy_arn = format!("arn:aws:s3:{REGION}:{WORKLOAD}:snapshot:orders-1"))),
            "notice field copy_arn",
        ),
        (
            "announce time not a timestamp",
            wrap(&reissue(&|n| n.announce_time = "now".into())),
            "notice field announce_time",
        ),
    ];
    let scope = Scope {
        accounts: vec![(WORKLOAD.to_owned(), pipeline.workload.clone()), (VAULT.to_owned(), pipeline.vault.clone())],
        queues: vec![(pipeline.vault.clone(), pipeline.queue_url.clone()), (pipeline.vault.clone(), dlq)],
        ..Scope::default()
    };

    let group = tally.begin(&scope).await;
    let bodies: Vec<String> = cases.iter().map(|(_, body, _)| body.clone()).collect();
    let report = pipeline.vault_side().handle_batch(&sqs_event(&bodies), now()).await.expect("batch");
    assert_eq!(report.outcomes.len(), cases.len(), "one outcome per message");
    for ((case, _, expected), outcome) in cases.iter().zip(&report.outcomes) {
        tally.record(
            ENTRY,
            case,
            expected,
            &outcome.reason,
            outcome.result == offsite_importer::outcome::Verdict::Rejected,
        );
    }
    assert_eq!(
        report.response.batch_item_failures.len(),
        cases.len(),
        "every one goes back to the queue, then the DLQ"
    );
    assert!(pipeline.vault_copies().await.is_empty(), "nothing imported");
    let squatter = Client::new(&pipeline.vault)
        .describe_db_snapshots()
        .db_snapshot_identifier(&squatted)
        .send()
        .await
        .expect("still there");
    assert_eq!(squatter.db_snapshots().len(), 1);
    tally.end(group, &scope).await;

    // SQS events that are no SQS batch: the binary refuses them before any record, naming
    // the field (the whole event then comes back, so nothing is lost either).
    // As deployed: the template's environment, a session of the importer's role.
    let mut importer = pipeline.function("offsite-importer").unwrap_or_else(|e| panic!("{e}"));
    let record = |fields: Value| json!({ "Records": [fields] });
    let events = [
        ("no Records", json!({ "detail-type": "Scheduled Event" }), "missing field `Records`"),
        (
            "Records not a list",
            json!({ "Records": "m-0" }),
            "Records: invalid type: string \"m-0\", expected a sequence",
        ),
        ("a record without body", record(json!({ "messageId": "m-0" })), "Records[0]: missing field `body`"),
        (
            "a body that is not a string",
            record(json!({ "messageId": "m-0", "body": { "Type": "Notification" } })),
            "Records[0].body: invalid type: map, expected a string",
        ),
        ("a record without id", record(json!({ "body": "{}" })), "Records[0]: missing field `messageId`"),
        ("not an object", json!("Records"), "invalid type: string \"Records\", expected struct SqsEvent"),
    ];
    let group = tally.begin(&scope).await;
    for (case, event, expected) in events {
        match importer.invoke(&event, INVOKE_TIMEOUT) {
            Ok(Outcome::Error { message, .. }) => tally.record("importer events", case, expected, &message, true),
            Ok(other) => tally.record("importer events", case, expected, &format!("{other:?}"), false),
            Err(e) => panic!("{e}"),
        }
    }
    tally.end(group, &scope).await;
    tally
}

// ---------------------------------------------------------------------------------------
// The deployed shape: events, schedules, CLI, configuration

/// The sources in the workload account the hostile events point at.
#[derive(Debug)]
struct Sources {
    /// Selected, available, never exported: what a forged event would get copied.
    nightly: String,
    /// Not selected.
    scratch: String,
    /// Selected and exported (by a genuine event) before the cases.
    weekly: String,
    /// The exporter's copy of `weekly`.
    weekly_copy: String,
    /// An AWS Backup recovery point of `orders`, selected, never exported.
    recovery_point: String,
    backup_job: String,
    /// A selected Aurora cluster snapshot, never exported.
    ledger: String,
    /// A snapshot made to look like one of the pipeline's copies (marker, lineage).
    impostor: String,
}

async fn deployed_entry_points() -> Tally {
    let mut tally = Tally::default();
    let p = DeployedPair::start(&EmulatorOptions::default(), &[("ClaimSettle", "0s")], &[])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let dlq = p.dead_letter_queue_url.clone();
    // The DynamoDB job's table first: point-in-time recovery needs a moment to be usable.
    dynamo_table(&p.workload, "ledger-events", true, true, 3).await;
    let scope = Scope {
        accounts: vec![
            (WORKLOAD.to_owned(), p.workload.clone()),
            (VAULT.to_owned(), p.vault.clone()),
            (AUDITOR.to_owned(), p.auditor.clone()),
        ],
        queues: vec![(p.vault.clone(), p.queue_url.clone()), (p.vault.clone(), dlq)],
        bucket: Some((p.auditor.clone(), AUDITOR_BUCKET.to_owned())),
        dynamo: Some(p.workload.clone()),
    };
    let mut exporter = p.function("offsite-exporter").unwrap_or_else(|e| panic!("{e}"));
    let sources = sources(&p, &mut exporter).await;

    exporter_events(&mut tally, &scope, &mut exporter, &sources).await;
    schedules(&mut tally, &scope, &p, &mut exporter, &sources).await;
    cli(&mut tally, &scope, &p).await;
    configuration(&mut tally, &scope, &p).await;
    tally
}

async fn sources(p: &DeployedPair, exporter: &mut LambdaFunction) -> Sources {
    let selected = || vec![tag(SELECTED.0, SELECTED.1)];
    db_instance(&p.workload, "orders", None).await;
    let arn = |s: aws_sdk_rds::types::DbSnapshot| s.db_snapshot_arn.expect("ARN");
    let nightly = arn(db_snapshot(&p.workload, "orders", "orders-nightly", selected()).await);
    let scratch = arn(db_snapshot(&p.workload, "orders", "orders-scratch", vec![]).await);
    let weekly = arn(db_snapshot(&p.workload, "orders", "orders-weekly", selected()).await);
    let point = p
        .emulator
        .backup_recovery_point(WORKLOAD, SnapshotKind::Instance, "orders", &[SELECTED])
        .unwrap_or_else(|e| panic!("{e}"));
    let ledger_key = kms_key(&p.workload, "ledger").await;
    db_cluster(&p.workload, "ledger", Some(&ledger_key)).await;
    let ledger = db_cluster_snapshot(&p.workload, "ledger", "ledger-nightly", selected())
        .await
        .db_cluster_snapshot_arn
        .expect("ARN");
    let impostor_tags =
        vec![tag(tags::MARKER, tags::MARKER_EXPORT), tag(tags::SOURCE_ARN, &nightly), tag(SELECTED.0, SELECTED.1)];
    let impostor =
        arn(db_snapshot(&p.workload, "orders", "offsite-orders-nightly-0000000000000000", impostor_tags).await);
    let rds = offsite_common::rds::RdsSnapshots::new(Client::new(&p.workload));
    wait_for("the sources to be available", Duration::from_secs(30), || async {
        let mut all = Vec::new();
        for (kind, snapshot_type) in
            [(SnapshotKind::Instance, None), (SnapshotKind::Instance, Some("awsbackup")), (SnapshotKind::Cluster, None)]
        {
            all.extend(rds.list(kind, snapshot_type).await.ok()?);
        }
        (all.len() >= 6 && all.iter().all(|s| s.status == SnapshotStatus::Available)).then_some(())
    })
    .await;
    // A genuine event exports `weekly`: the exporter does copy what it should.
    let event = rds_event("RDS DB Snapshot Event", "aws.rds", "RDS-EVENT-0042", &weekly);
    let report = response(exporter, &event);
    let copy = report["items"][0]["copy_identifier"].as_str().map(str::to_owned);
    assert_eq!(report["items"][0]["outcome"], "copied", "{report:#}");
    let weekly_copy = format!("arn:aws:rds:{REGION}:{WORKLOAD}:snapshot:{}", copy.expect("copy identifier"));
    Sources {
        nightly,
        scratch,
        weekly,
        weekly_copy,
        recovery_point: point.arn,
        backup_job: point.backup_job_id,
        ledger,
        impostor,
    }
}

/// Invokes and insists on a response.
fn response(function: &mut LambdaFunction, event: &Value) -> Value {
    match function.invoke(event, INVOKE_TIMEOUT) {
        Ok(Outcome::Response(response)) => response,
        Ok(Outcome::Error { error_type, message }) => {
            panic!("the function answered an error {error_type}: {message}\n{}", function.output())
        }
        Err(e) => panic!("{e}"),
    }
}

/// What a function answered, as text for matching reasons.
enum Answer {
    Response(Value),
    Error(String),
}

impl Answer {
    fn of(function: &mut LambdaFunction, event: &Value) -> Self {
        match function.invoke(event, INVOKE_TIMEOUT) {
            Ok(Outcome::Response(response)) => Self::Response(response),
            Ok(Outcome::Error { error_type, message }) => Self::Error(format!("{error_type}: {message}")),
            // The process died: a hostile event must never do that.
            Err(e) => panic!("{e}"),
        }
    }

    /// Object keys sorted, whether or not serde_json keeps their order (its `preserve_order`
    /// feature, which a workspace-wide build turns on).
    fn text(&self) -> String {
        fn sorted(value: &Value) -> Value {
            match value {
                Value::Object(map) => {
                    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                    entries.sort_by(|a, b| a.0.cmp(b.0));
                    Value::Object(entries.into_iter().map(|(k, v)| (k.clone(), sorted(v))).collect())
                }
                Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
                other => other.clone(),
            }
        }
        match self {
            Self::Response(value) => sorted(value).to_string(),
            Self::Error(message) => message.clone(),
        }
    }
}

/// "RDS DB Snapshot Event"-shaped (RDS user guide, "Amazon RDS event examples").
fn rds_event(detail_type: &str, source: &str, event_id: &str, arn: &str) -> Value {
    json!({
        "version": "0", "id": "844e2571-85d4-695f-b930-0153b71dcb42", "detail-type": detail_type,
        "source": source, "account": WORKLOAD, "time": "2026-11-22T03:12:13Z", "region": REGION,
        "resources": [arn],
        "detail": {
            "EventCategories": ["creation"], "SourceType": "SNAPSHOT", "SourceArn": arn,
            "Date": "2026-11-22T03:12:13.882Z", "Message": "Manual snapshot created",
            "SourceIdentifier": arn.rsplit(':').next().unwrap_or_default(), "EventID": event_id
        }
    })
}

/// "Backup Job State Change" (AWS Backup developer guide).
fn backup_event(state: &str, resource_type: &str, point_arn: &str, job: &str) -> Value {
    json!({
        "version": "0", "id": "dafac799-9b88-0134-26b7-fef4d54a134f", "detail-type": "Backup Job State Change",
        "source": "aws.backup", "account": WORKLOAD, "time": "2026-11-22T05:41:17Z", "region": REGION,
        "resources": [point_arn],
        "detail": {
            "backupJobId": job, "backupVaultName": "Default",
            "resourceArn": format!("arn:aws:rds:{REGION}:{WORKLOAD}:db:orders"),
            "resourceType": resource_type, "state": state, "percentDone": 100
        }
    })
}

/// A Lambda SNS event with one message (Lambda developer guide, "Amazon RDS sample event").
fn sns_event(message: &str) -> Value {
    json!({ "Records": [{
        "EventVersion": "1.0", "EventSource": "aws:sns",
        "EventSubscriptionArn": format!("arn:aws:sns:{REGION}:{WORKLOAD}:rds-events:21be56ed-a058-49f5"),
        "Sns": {
            "Type": "Notification", "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
            "TopicArn": format!("arn:aws:sns:{REGION}:{WORKLOAD}:rds-events"), "Subject": "RDS Notification Message",
            "Message": message, "Timestamp": "2026-11-22T03:12:14.348Z", "SignatureVersion": "1",
            "Signature": "EXAMPLE", "SigningCertUrl": "EXAMPLE", "UnsubscribeUrl": "EXAMPLE", "MessageAttributes": {}
        }
    }]})
}

/// An RDS event notification as the SNS message carries it.
fn rds_notification(source: &str, event_id: &str, arn: &str) -> String {
    json!({
        "Event Source": source, "Event Time": "2026-11-22 03:12:13.876",
        "Identifier Link": "https://console.aws.amazon.com/rds/home?region=us-east-1#snapshot:id=orders",
        "Source ID": "orders", "Source ARN": arn,
        "Event ID": format!("http://docs.amazonwebservices.com/AmazonRDS/latest/UserGuide/USER_Events.html#{event_id}"),
        "Event Message": "Manual snapshot created"
    })
    .to_string()
}

/// How the exporter must answer a hostile event.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// `{"ignored": <reason>}`: not an event it acts on.
    Ignored,
    /// The invocation fails with `malformed event: <field>: <problem>`.
    Malformed,
    /// It looked the snapshot up and copied nothing: every item says why.
    NotCopied,
}

/// Whether `answer` is the kind of refusal `expect` names; its text for the reason.
fn judge(expect: Expect, answer: &Answer) -> (bool, String) {
    match (expect, answer) {
        (Expect::Ignored, Answer::Response(value)) => match value["ignored"].as_str() {
            // One readable line, however large the event.
            Some(reason) => (reason.len() < 1000 && !reason.contains('\n'), reason.to_owned()),
            None => (false, answer.text()),
        },
        (Expect::Malformed, Answer::Error(message)) => {
            (message.contains("malformed event: ") && message.len() < 1500, message.clone())
        }
        (Expect::NotCopied, Answer::Response(value)) => {
            let items = value["items"].as_array().cloned().unwrap_or_default();
            let copied = items.iter().any(|i| i["outcome"] == "copied");
            (!items.is_empty() && !copied, answer.text())
        }
        _ => (false, answer.text()),
    }
}

/// The exporter's events: forged, malformed, pointing elsewhere or at the pipeline's own
/// copies. `nightly`, the recovery point and `ledger` are selected and never exported, so an
/// event that got through would copy them.
async fn exporter_events(tally: &mut Tally, scope: &Scope, exporter: &mut LambdaFunction, s: &Sources) {
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
async fn schedules(tally: &mut Tally, scope: &Scope, p: &DeployedPair, exporter: &mut LambdaFunction, s: &Sources) {
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

/// `first` then `rest`.
fn joined<'a>(first: &[&'a str], rest: &[&'a str]) -> Vec<&'a str> {
    [first, rest].concat()
}

/// One `offsite` invocation and the refusal it must get.
#[derive(Debug)]
struct CliCase {
    name: &'static str,
    args: Vec<String>,
    env: Vec<(String, String)>,
    stdin: Vec<u8>,
    expected: String,
    /// Refused only after an AWS call; every other case must make none.
    calls_aws: bool,
}

impl CliCase {
    fn new(name: &'static str, args: &[&str], env: &[(String, String)], expected: &str) -> Self {
        let args = args.iter().map(|a| (*a).to_owned()).collect();
        Self { name, args, env: env.to_vec(), stdin: Vec::new(), expected: expected.to_owned(), calls_aws: false }
    }

    fn stdin(mut self, bytes: &[u8]) -> Self {
        self.stdin = bytes.to_vec();
        self
    }

    /// The environment with `name` set to `value`.
    fn set(mut self, name: &str, value: &str) -> Self {
        self.env.retain(|(k, _)| k != name);
        self.env.push((name.to_owned(), value.to_owned()));
        self
    }

    fn calls_aws(mut self) -> Self {
        self.calls_aws = true;
        self
    }
}

/// The `offsite` binary: bad arguments, files and settings. Each exits non-zero with a
/// message naming what is wrong; those refused before any AWS call make none.
async fn cli(tally: &mut Tally, scope: &Scope, p: &DeployedPair) {
    const ENTRY: &str = "CLI";
    let offsite = binary("offsite").unwrap_or_else(|e| panic!("{e}"));
    let workload = p.emulator.process_env(&p.workload).await.expect("workload environment");
    let vault = p.emulator.process_env(&p.vault).await.expect("vault environment");
    let events = workspace_root().join("cli/tests/events");
    let file = |name: &str| events.join(name).to_string_lossy().into_owned();
    let (not_json, malformed_event, directory) =
        (file("not-json.txt"), file("forged-detail-not-an-object.json"), events.to_string_lossy().into_owned());
    let key = p.export_key.as_str();
    let deep = "[".repeat(100_000);
    let w = |name, args: &[&str], expected: &str| CliCase::new(name, args, &workload, expected);
    let v = |name, args: &[&str], expected: &str| CliCase::new(name, args, &vault, expected);
    let plan_with = ["plan", "--export-key-arn", key];
    let plan = |args: &[&'static str]| joined(&plan_with, args);
    let ddl_with = ["athena-ddl", "--table", "ledger-events", "--bucket", AUDITOR_BUCKET];
    let ddl = |args: &[&'static str]| joined(&ddl_with, args);
    let status = ["status", "--side", "workload"];
    let cases = vec![
        w("no command", &[], "Usage: offsite [OPTIONS] <COMMAND>"),
        w("an unknown command", &["delete-everything"], "unrecognized subcommand 'delete-everything'"),
        w("status without a side", &["status"], "required arguments were not provided:\n  --side <SIDE>"),
        w(
            "status of an unknown side",
            &["status", "--side", "attacker"],
            "invalid value 'attacker' for '--side <SIDE>'",
        ),
        v("verify without an RPO", &["verify"], "required arguments were not provided:\n  --rpo <DURATION>"),
        v(
            "an RPO that is no duration",
            &["verify", "--rpo", "forever"],
            "--rpo=\"forever\" is invalid (no leading number)",
        ),
        v(
            "an RPO with an unknown unit",
            &["verify", "--rpo", "26hours"],
            "--rpo=\"26hours\" is invalid (unknown unit \"hours\")",
        ),
        v("a negative RPO", &["verify", "--rpo", "-1h"], "unexpected argument '-1' found"),
        w(
            "a selection tag without =",
            &plan(&["--selection-tag", "offsite-export"]),
            "--selection-tag \"offsite-export\" is not KEY=VALUE",
        ),
        w(
            "a selection tag without key",
            &plan(&["--selection-tag", "=true"]),
            "--selection-tag \"=true\" is not KEY=VALUE",
        ),
        w(
            "a selection tag without value",
            &plan(&["--selection-tag", "offsite-export="]),
            "--selection-tag \"offsite-export=\" is not KEY=VALUE",
        ),
        w(
            "the pipeline's marker as selection tag",
            &plan(&["--selection-tag", "offsite:managed-by=offsite-export"]),
            "--selection-tag (OFFSITE_SELECTION_TAG_KEY)=\"offsite:managed-by\" is invalid (reserved prefix)",
        ),
        w(
            "a sweep window beyond 35 days",
            &plan(&["--window", "100d"]),
            "--window (OFFSITE_SWEEP_WINDOW)=\"100d\" is invalid",
        ),
        w(
            "an alias as export key",
            &["plan", "--export-key-arn", "alias/aws/rds"],
            "--export-key-arn (OFFSITE_EXPORT_KEY_ARN)=\"alias/aws/rds\" is invalid",
        ),
        w("a plan without export key", &["plan"], "configuration: OFFSITE_EXPORT_KEY_ARN is not set"),
        w(
            "explain a missing file",
            &["explain-event", "/nonexistent/event.json"],
            "cannot read /nonexistent/event.json",
        ),
        w("explain a directory", &["explain-event", &directory], &format!("offsite: cannot read {directory}")),
        w(
            "explain a file that is not JSON",
            &["explain-event", &not_json],
            &format!("offsite: {not_json} is not JSON"),
        ),
        w("explain bytes that are not UTF-8", &["explain-event", "-"], "offsite: standard input is not JSON")
            .stdin(b"\xff\xfe\x00{"),
        w("explain nothing", &["explain-event", "-"], "standard input is not JSON: EOF while parsing"),
        w("explain a deep document", &["explain-event", "-"], "standard input is not JSON: recursion limit exceeded")
            .stdin(deep.as_bytes()),
        w(
            "explain a malformed event",
            &["explain-event", &malformed_event],
            "offsite: malformed event: detail: is a string",
        ),
        w("explain two files", &["explain-event", &not_json, &not_json], "unexpected argument"),
        w("athena-ddl without a table", &["athena-ddl"], "required arguments were not provided:\n  --table <NAME>"),
        w(
            "a sample beyond 1000",
            &ddl(&["--sample", "5000"]),
            "invalid value '5000' for '--sample <N>': 5000 is not in 0..=1000",
        ),
        w(
            "a date that is none",
            &ddl(&["--since", "yesterday"]),
            "--since \"yesterday\" is not a date such as 2024-01-01",
        ),
        w(
            "an account id of two digits",
            &ddl(&["--account", "12"]),
            "--account \"12\" is not a 12-digit AWS account id",
        ),
        w(
            "an account id ending the quote",
            &ddl(&["--account", "1','2"]),
            "--account \"1','2\" is not a 12-digit AWS account id",
        ),
        w(
            "a database name ending the quote",
            &ddl(&["--database", "x`; DROP DATABASE audit; --"]),
            "--database \"x`; DROP DATABASE audit; --\" is not an Athena database name",
        ),
        w(
            "a bucket name ending the quote",
            &["athena-ddl", "--table", "ledger-events", "--bucket", "evil' bucket"],
            "bucket \"evil' bucket\" (--bucket or OFFSITE_EXPORT_BUCKET) is not an S3 bucket name",
        ),
        w(
            "a bucket variable that is none",
            &["athena-ddl", "--table", "ledger-events"],
            "bucket \"Auditor_Exports\" (--bucket or OFFSITE_EXPORT_BUCKET) is not an S3 bucket name",
        )
        .set("OFFSITE_EXPORT_BUCKET", "Auditor_Exports"),
        w(
            "a prefix ending the quote",
            &ddl(&["--prefix", "x'; DROP TABLE t; --"]),
            "prefix \"x'; DROP TABLE t; --\" (--prefix or OFFSITE_EXPORT_PREFIX) is not a key prefix",
        ),
        w(
            "a table name ending the quote",
            &["athena-ddl", "--table", "ledger'--", "--bucket", AUDITOR_BUCKET],
            "--table \"ledger'--\" is not a DynamoDB table name",
        ),
        w(
            "a table that does not exist",
            &["athena-ddl", "--table", "no-such-table", "--bucket", AUDITOR_BUCKET],
            "offsite: DescribeTable no-such-table: ",
        )
        .calls_aws(),
        w(
            "an endpoint that is no URL",
            &["--endpoint-url", "not-a-url", "whoami"],
            "--endpoint-url (OFFSITE_AWS_ENDPOINT_URL)=\"not-a-url\" is invalid (no http:// or https:// scheme)",
        ),
        w("a region that is none", &status, "AWS_REGION=\"mars\" is invalid (not a region name)")
            .set("AWS_REGION", "mars"),
        w("zero attempts per call", &status, "OFFSITE_AWS_MAX_ATTEMPTS=\"0\" is invalid")
            .set("OFFSITE_AWS_MAX_ATTEMPTS", "0"),
        v(
            "an allow-list that is no JSON",
            &["status", "--side", "vault"],
            "OFFSITE_ALLOWED_SOURCES=\"everyone\" is invalid",
        )
        .set("OFFSITE_ALLOWED_SOURCES", "everyone"),
    ];
    let group = tally.begin(scope).await;
    for case in &cases {
        let before = p.emulator.request_counts().expect("request counts").total;
        let args: Vec<&str> = case.args.iter().map(String::as_str).collect();
        let ran = run_process(&offsite, &args, &case.env, &case.stdin, Duration::from_secs(30));
        let requests = p.emulator.request_counts().expect("request counts").total - before;
        let refused = ran.code.is_some_and(|code| code != 0) && (case.calls_aws || requests == 0);
        let got = format!("exit {:?}, {requests} AWS requests: {}", ran.code, ran.output());
        tally.record(ENTRY, case.name, &case.expected, &got, refused);
    }
    tally.end(group, scope).await;
}

/// Each Lambda binary with a missing or malformed setting: it exits non-zero before asking
/// for an event, its output names the variable, and the emulator serves it nothing.
async fn configuration(tally: &mut Tally, scope: &Scope, p: &DeployedPair) {
    const ENTRY: &str = "configuration";
    // (binary, [(variable, value or unset)]): the error must name the variable.
    type Settings<'a> = &'a [(&'a str, Option<&'a str>)];
    let cases: [(&str, Settings<'_>); 6] = [
        (
            "offsite-exporter",
            &[
                ("OFFSITE_EXPORT_KEY_ARN", None),
                ("OFFSITE_EXPORT_KEY_ARN", Some("alias/offsite-export")),
                ("OFFSITE_SWEEP_WINDOW", Some("forever")),
                ("OFFSITE_MAX_COPIES_IN_FLIGHT", Some("0")),
                ("OFFSITE_SELECTION_TAG_KEY", Some("offsite:managed-by")),
            ],
        ),
        (
            "offsite-scanner",
            &[
                ("OFFSITE_VAULT_ACCOUNT_ID", Some("22222222222")),
                ("OFFSITE_TOPIC_ARN", Some("offsite-announcements")),
                ("OFFSITE_CLAIM_SETTLE", Some("5m")),
                ("OFFSITE_EXPORT_KEY_ARN", None),
            ],
        ),
        (
            "offsite-dynamo-export",
            &[
                ("OFFSITE_EXPORT_BUCKET", Some("Auditor_Exports")),
                ("OFFSITE_EXPORT_BUCKET_OWNER", Some("auditor")),
                ("OFFSITE_EXPORT_SSE", Some("NONE")),
                ("OFFSITE_EXPORT_PERIOD", Some("5m")),
            ],
        ),
        (
            "offsite-importer",
            &[
                ("OFFSITE_ALLOWED_SOURCES", Some("everyone")),
                ("OFFSITE_ALLOWED_SOURCES", Some("[]")),
                ("OFFSITE_IMPORT_KEY_ARN", None),
                ("OFFSITE_MAX_NOTICE_AGE", Some("a week")),
            ],
        ),
        (
            "offsite-reconciler",
            &[
                ("OFFSITE_DR_KEY_ARN", Some("alias/offsite-dr")),
                ("OFFSITE_AWS_MAX_ATTEMPTS", Some("99")),
                ("OFFSITE_AWS_ENDPOINT_URL", Some("ftp://127.0.0.1:1")),
            ],
        ),
        (
            "offsite-retention",
            &[
                ("OFFSITE_RETENTION_MIN_AGE", Some("1h")),
                ("OFFSITE_RETENTION_DRY_RUN", Some("maybe")),
                ("OFFSITE_RETENTION_KEEP_LAST", Some("-1")),
                ("AWS_REGION", Some("not-a-region")),
            ],
        ),
    ];
    let group = tally.begin(scope).await;
    p.emulator.reset_request_counts().expect("reset request counts");
    for (name, settings) in cases {
        let path = binary(name).unwrap_or_else(|e| panic!("{e}"));
        let env: BTreeMap<String, String> = p.function_env(name).unwrap_or_else(|e| panic!("{e}"));
        for (variable, value) in settings {
            let mut env = env.clone();
            match value {
                Some(value) => env.insert((*variable).to_owned(), (*value).to_owned()),
                None => env.remove(*variable),
            };
            let case = format!("{name}: {variable}={}", value.unwrap_or("(unset)"));
            let start = start_lambda(&path, &env, Duration::from_secs(20));
            let requests = p.emulator.request_counts().expect("request counts").total;
            let refused = start.ran.code.is_some_and(|code| code != 0) && !start.asked_for_an_event && requests == 0;
            let got = format!(
                "exit {:?}, asked for an event: {}, AWS requests: {requests}\n{}",
                start.ran.code,
                start.asked_for_an_event,
                start.ran.output()
            );
            tally.record(ENTRY, &case, &format!("configuration: {variable}"), &got, refused);
        }
    }
    tally.end(group, scope).await;
}
