//! Notices to the importer, and the SQS events carrying them.

use super::*;

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
pub(super) async fn importer_notices() -> Tally {
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
    let oversized = format!("{{\"version\":1,\"padding\":\"{}\"}}", "x".repeat(9000));
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
        ("oversized body", sns_envelope(&topic, &oversized), "at most 8192 are accepted"),
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
