//! The decisions end to end, on the published payloads of `tests/fixtures/events/` (the same
//! files `offsite explain-event`'s tests run) with the values each case is about.

use offsite_common::fixtures;
use serde_json::json;

use super::*;

const INSTANCE_ARN: &str = "arn:aws:rds:us-east-1:123456789012:snapshot:rds:orders-2024-05-01-03-10";
const MANUAL_ARN: &str = "arn:aws:rds:us-east-1:123456789012:snapshot:orders-before-migration";
const CLUSTER_ARN: &str = "arn:aws:rds:us-east-2:123456789012:cluster-snapshot:rds:ledger-2024-05-01-04-00";
const BACKUP_ARN: &str =
    "arn:aws:rds:us-west-2:111111111111:snapshot:awsbackup:job-a827233a-d405-4a86-a440-759fa94f34dd";
const BACKUP_CLUSTER_ARN: &str =
    "arn:aws:rds:us-west-2:111111111111:cluster-snapshot:awsbackup:job-4ece7121-d60e-00c2-5c3b-49960142d03b";

// --- payloads: the fixtures of `tests/fixtures/events/`, with the values a case is about ------

/// An "RDS DB Snapshot Event" about `arn` with this event id and message.
fn rds_snapshot_event(event_id: &str, message: &str, arn: &str) -> Value {
    fixtures::rds_snapshot_event(event_id, message, arn)
}

/// An "RDS DB Cluster Snapshot Event" (source type CLUSTER_SNAPSHOT), from the cluster's Region.
fn rds_cluster_snapshot_event(event_id: &str, message: &str, arn: &str) -> Value {
    fixtures::set(fixtures::rds_cluster_snapshot_event(event_id, message, arn), "/region", "us-east-2")
}

/// "Monitoring AWS Backup events using Amazon EventBridge", "Backup Job events", State:
/// COMPLETED: the recovery point's ARN is `resources[0]`.
fn backup_job_completed(resource_type: &str, recovery_point: &str) -> Value {
    fixtures::backup_job_event("COMPLETED", resource_type, recovery_point)
}

/// Same page, State: RUNNING (an EBS volume).
fn backup_job_running() -> Value {
    fixtures::event("backup-dg-backup-job-running-ebs.json")
}

/// Same page, State: CREATED (no resourceType yet).
fn backup_job_created() -> Value {
    fixtures::event("backup-dg-backup-job-created.json")
}

/// Same page, "Copy Job events", State: COMPLETED.
fn copy_job_completed() -> Value {
    fixtures::event("backup-dg-copy-job-completed-ebs.json")
}

fn restore_job_completed() -> Value {
    fixtures::event("backup-restore-job-completed-rds.json")
}

/// The exporter's sweep schedule.
fn scheduled_event() -> Value {
    fixtures::event("scheduled-event.json")
}

/// "Using AWS Lambda with Amazon RDS", "Amazon RDS sample event": one SNS record whose
/// `Message` is the notification as a JSON string.
fn sns_event(message: &str) -> Value {
    fixtures::sns_event(message)
}

fn rds_notification_message(source: &str, event_id: &str, arn: &str, message: &str) -> String {
    fixtures::rds_notification(source, event_id, arn, message)
}

fn candidate(arn: &str, origin: EventOrigin) -> Trigger {
    Trigger::Candidate { snapshot: arn.parse().expect("test ARN is valid"), origin }
}

fn rds_event(id: &str) -> EventOrigin {
    EventOrigin::RdsEvent { event_id: id.to_owned(), told_by: None, named_by: None }
}

fn rds_notification(id: &str) -> EventOrigin {
    EventOrigin::RdsNotification { event_id: id.to_owned(), told_by: None, named_by: None }
}

/// The exporter's function in the account and Region of the payloads above.
fn home() -> Home {
    Home::from_function_arn("arn:aws:lambda:us-east-1:123456789012:function:offsite-exporter").expect("function ARN")
}

fn reason_of(event: &Value) -> String {
    match classify(event) {
        Ok(Trigger::Ignore { reason }) => reason,
        other => panic!("expected Ignore, got {other:?}"),
    }
}

fn error_of(event: &Value) -> MalformedEvent {
    match classify(event) {
        Err(error) => error,
        other => panic!("expected MalformedEvent, got {other:?}"),
    }
}

// --- accepted kinds -------------------------------------------------------------

#[test]
fn rds_snapshot_events_that_announce_a_snapshot_are_candidates() {
    for (id, message, arn) in [
        ("RDS-EVENT-0042", "Manual snapshot created", MANUAL_ARN),
        ("RDS-EVENT-0091", "Automated snapshot created", INSTANCE_ARN),
        ("RDS-EVENT-0197", "Finished copy of snapshot orders-copy in region us-east-1.", MANUAL_ARN),
        ("RDS-EVENT-0060", "Finished copy of snapshot orders from region us-west-2 in 12 minutes.", MANUAL_ARN),
    ] {
        let event = rds_snapshot_event(id, message, arn);
        assert_eq!(classify(&event), Ok(candidate(arn, rds_event(id))), "{id}");
    }
}

#[test]
fn rds_cluster_snapshot_events_that_announce_a_snapshot_are_candidates() {
    for (id, message) in [
        ("RDS-EVENT-0075", "Manual cluster snapshot created"),
        ("RDS-EVENT-0169", "Automated cluster snapshot created"),
    ] {
        let event = rds_cluster_snapshot_event(id, message, CLUSTER_ARN);
        assert_eq!(classify(&event), Ok(candidate(CLUSTER_ARN, rds_event(id))), "{id}");
    }
}

#[test]
fn the_snapshot_arn_falls_back_to_resources() {
    let mut event = rds_snapshot_event("RDS-EVENT-0042", "Manual snapshot created", MANUAL_ARN);
    event["detail"].as_object_mut().expect("detail is an object").remove("SourceArn");
    assert_eq!(classify(&event), Ok(candidate(MANUAL_ARN, rds_event("RDS-EVENT-0042"))));
    event["detail"]["SourceArn"] = Value::Null;
    assert_eq!(classify(&event), Ok(candidate(MANUAL_ARN, rds_event("RDS-EVENT-0042"))));
}

#[test]
fn completed_rds_and_aurora_backup_jobs_are_candidates() {
    let origin = EventOrigin::BackupJob { job_id: "a827233a-d405-4a86-a440-759fa94f34dd".to_owned() };
    let event = backup_job_completed("RDS", BACKUP_ARN);
    assert_eq!(classify(&event), Ok(candidate(BACKUP_ARN, origin.clone())));
    let event = backup_job_completed("Aurora", BACKUP_CLUSTER_ARN);
    assert_eq!(classify(&event), Ok(candidate(BACKUP_CLUSTER_ARN, origin.clone())));
    // detail.recoveryPointArn, where present, wins over resources[0].
    let mut event = backup_job_completed("RDS", "arn:aws:backup:us-west-2:111111111111:recovery-point:x");
    event["detail"]["recoveryPointArn"] = json!(BACKUP_ARN);
    assert_eq!(classify(&event), Ok(candidate(BACKUP_ARN, origin)));
}

#[test]
fn scheduled_events_sweep() {
    assert_eq!(classify(&scheduled_event()), Ok(Trigger::Sweep));
}

#[test]
fn sns_rds_notifications_for_snapshots_are_candidates() {
    for (source, id, arn, message) in [
        ("db-snapshot", "RDS-EVENT-0042", MANUAL_ARN, "Manual snapshot created"),
        ("db-snapshot", "RDS-EVENT-0091", INSTANCE_ARN, "Automated snapshot created"),
        ("db-snapshot", "RDS-EVENT-0197", MANUAL_ARN, "Finished copy of snapshot"),
        ("db-snapshot", "RDS-EVENT-0060", MANUAL_ARN, "Finished copy of snapshot"),
        ("db-cluster-snapshot", "RDS-EVENT-0075", CLUSTER_ARN, "Manual cluster snapshot created"),
        ("db-cluster-snapshot", "RDS-EVENT-0169", CLUSTER_ARN, "Automated cluster snapshot created"),
    ] {
        let event = sns_event(&rds_notification_message(source, id, arn, message));
        assert_eq!(classify(&event), Ok(candidate(arn, rds_notification(id))), "{id}");
    }
    // A bare event id, without the documentation link, is accepted too.
    let mut message: Value =
        serde_json::from_str(&rds_notification_message("db-snapshot", "RDS-EVENT-0042", MANUAL_ARN, "x"))
            .expect("valid JSON");
    message["Event ID"] = json!("RDS-EVENT-0042");
    let event = sns_event(&message.to_string());
    assert!(matches!(classify(&event), Ok(Trigger::Candidate { .. })));
}

// --- ignored ----------------------------------------------------------------------

#[test]
fn other_rds_snapshot_events_are_ignored_with_their_meaning() {
    for (id, meaning) in [
        ("RDS-EVENT-0040", "creating manual snapshot"),
        ("RDS-EVENT-0041", "deleted user snapshot"),
        ("RDS-EVENT-0090", "creating automated snapshot"),
        ("RDS-EVENT-0059", "cross-Region snapshot copy started"),
        ("RDS-EVENT-0061", "cross-Region snapshot copy canceled"),
        ("RDS-EVENT-0196", "same-Region snapshot copy started"),
        ("RDS-EVENT-0190", "same-Region snapshot copy canceled"),
        ("RDS-EVENT-0161", "snapshot export task completed"),
    ] {
        let reason = reason_of(&rds_snapshot_event(id, "…", MANUAL_ARN));
        assert!(reason.contains(id) && reason.contains(meaning), "{id}: {reason}");
    }
    let reason = reason_of(&rds_snapshot_event("RDS-EVENT-9999", "…", MANUAL_ARN));
    assert!(reason.contains("RDS-EVENT-9999") && reason.contains("not a DB instance snapshot"), "{reason}");
    // A cluster event id in an instance event, and the other way round.
    let reason = reason_of(&rds_snapshot_event("RDS-EVENT-0075", "…", MANUAL_ARN));
    assert!(reason.contains("is a DB cluster snapshot (db-cluster-snapshot) event"), "{reason}");
    let reason = reason_of(&rds_cluster_snapshot_event("RDS-EVENT-0042", "…", CLUSTER_ARN));
    assert!(reason.contains("manual snapshot created") && reason.contains("unexpected"), "{reason}");
}

#[test]
fn other_rds_cluster_snapshot_events_are_ignored() {
    for (id, meaning) in [
        ("RDS-EVENT-0074", "creating manual cluster snapshot"),
        ("RDS-EVENT-0168", "creating automated cluster snapshot"),
        ("RDS-EVENT-0164", "cluster snapshot export task completed"),
    ] {
        let reason = reason_of(&rds_cluster_snapshot_event(id, "…", CLUSTER_ARN));
        assert!(reason.contains(id) && reason.contains(meaning), "{id}: {reason}");
    }
}

#[test]
fn ignored_events_do_not_need_a_valid_arn() {
    // Nothing is done with the ARN of an event that is ignored anyway.
    let event = rds_snapshot_event("RDS-EVENT-0041", "Deleted manual snapshot", "not-an-arn");
    assert!(matches!(classify(&event), Ok(Trigger::Ignore { .. })));
}

#[test]
fn backup_jobs_that_are_not_completed_rds_snapshots_are_ignored() {
    assert_eq!(
        reason_of(&backup_job_running()),
        "backup job \"B6EC38D2-CB3C-EF0A-F5A4-3CF324EF4945\" is \"RUNNING\": only a COMPLETED job has a snapshot to copy"
    );
    assert!(reason_of(&backup_job_created()).contains("is \"CREATED\""));
    for other in ["DynamoDB", "EBS", "DocumentDB", "Neptune"] {
        let reason = reason_of(&backup_job_completed(other, "arn:aws:backup:us-west-2:111111111111:recovery-point:x"));
        assert!(reason.contains(other) && reason.contains("not RDS or Aurora"), "{reason}");
    }
    let continuous = "arn:aws:backup:us-west-2:111111111111:recovery-point:continuous:db-abcdefghij-1a2b3c4d";
    let reason = reason_of(&backup_job_completed("RDS", continuous));
    assert!(reason.contains("continuous-backup"), "{reason}");
    assert!(reason_of(&copy_job_completed()).contains("copy job"));
    assert!(reason_of(&restore_job_completed()).contains("restore job"));
}

#[test]
fn other_payloads_are_ignored_with_what_they_are() {
    // "Amazon RDS event examples", "Example of a DB instance event".
    let instance_event = json!({
        "version": "0",
        "id": "68f6e973-1a0c-d37b-f2f2-94a7f62ffd4e",
        "detail-type": "RDS DB Instance Event",
        "source": "aws.rds",
        "account": "123456789012",
        "time": "2018-09-27T22:36:43Z",
        "region": "us-east-1",
        "resources": ["arn:aws:rds:us-east-1:123456789012:db:my-db-instance"],
        "detail": { "EventCategories": ["failover"], "SourceType": "DB_INSTANCE", "EventID": "RDS-EVENT-0049" }
    });
    assert!(reason_of(&instance_event).contains("\"RDS DB Instance Event\" from \"aws.rds\""));
    // A known detail type from another source is not an AWS event.
    let mut forged = rds_snapshot_event("RDS-EVENT-0042", "Manual snapshot created", MANUAL_ARN);
    forged["source"] = json!("com.example.app");
    assert!(reason_of(&forged).contains("not from aws.rds"));
    // An S3 event notification delivered to Lambda.
    let s3 = json!({ "Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventName": "ObjectCreated:Put", "s3": { "bucket": { "name": "b" }, "object": { "key": "k" } }
    }]});
    assert!(reason_of(&s3).contains("from \"aws:s3\", not an SNS delivery"));
    assert!(reason_of(&json!({ "hello": "world" })).contains("\"hello\""));
    assert!(reason_of(&json!({})).contains("keys: none"));
}

#[test]
fn sns_messages_that_are_not_snapshot_notifications_are_ignored() {
    let instance = rds_notification_message(
        "db-instance",
        "RDS-EVENT-0002",
        "arn:aws:rds:us-east-1:123456789012:db:orders",
        "Finished DB Instance backup",
    );
    assert!(reason_of(&sns_event(&instance)).contains("\"db-instance\" source"));
    let creating = rds_notification_message("db-snapshot", "RDS-EVENT-0040", MANUAL_ARN, "Creating manual snapshot");
    assert!(reason_of(&sns_event(&creating)).contains("RDS-EVENT-0040 (creating manual snapshot)"));
    // RDS's plain-text message when a subscription is created.
    let text = "This is a message to notify that your subscription has been created";
    assert!(reason_of(&sns_event(text)).contains("plain text"));
    let alarm = json!({ "AlarmName": "cpu", "NewStateValue": "ALARM" }).to_string();
    assert!(reason_of(&sns_event(&alarm)).contains("not an RDS event notification"));
    let forwarded = scheduled_event().to_string();
    assert!(reason_of(&sns_event(&forwarded)).contains("EventBridge event forwarded"));
}

// --- published forms without an event id or without an ARN ---------------------------

/// `rds_snapshot_event` as AWS's examples had it before 2021: no `detail.EventID`.
fn without_event_id(event: Value) -> Value {
    fixtures::remove(event, "/detail/EventID")
}

#[test]
fn events_without_an_event_id_are_told_by_their_message() {
    let told = |id: &str| EventOrigin::RdsEvent {
        event_id: id.to_owned(),
        told_by: Some("detail.Message".to_owned()),
        named_by: None,
    };
    for (message, id, arn) in [
        ("Automated snapshot created", "RDS-EVENT-0091", INSTANCE_ARN),
        ("Manual snapshot created.", "RDS-EVENT-0042", MANUAL_ARN),
        ("Finished copy of snapshot orders in region us-east-1.", "RDS-EVENT-0197", MANUAL_ARN),
    ] {
        let event = without_event_id(rds_snapshot_event("unused", message, arn));
        assert_eq!(classify(&event), Ok(candidate(arn, told(id))), "{message}");
    }
    let event =
        without_event_id(rds_cluster_snapshot_event("unused", "Automated cluster snapshot created", CLUSTER_ARN));
    assert_eq!(classify(&event), Ok(candidate(CLUSTER_ARN, told("RDS-EVENT-0169"))));
    // "Amazon RDS event examples" (RDS user guide, 2020–2021): a deletion, no EventID.
    let deleted = without_event_id(rds_snapshot_event("unused", "Deleted manual snapshot", MANUAL_ARN));
    assert_eq!(
        reason_of(&deleted),
        "RDS-EVENT-0041 (deleted user snapshot) does not announce a newly available snapshot (told by \
         detail.Message: the event carries no event id of its own)"
    );
    let creating =
        without_event_id(rds_cluster_snapshot_event("unused", "Creating manual cluster snapshot", CLUSTER_ARN));
    assert!(reason_of(&creating).starts_with("RDS-EVENT-0074 (creating manual cluster snapshot) does not announce"));
    let unknown = without_event_id(rds_snapshot_event("unused", "Snapshot is being reviewed", MANUAL_ARN));
    assert_eq!(
        reason_of(&unknown),
        "the event has no event id, and its detail.Message \"Snapshot is being reviewed\" is none of the \
         documented messages of snapshot events the exporter acts on"
    );
    let mut silent = without_event_id(rds_snapshot_event("unused", "x", MANUAL_ARN));
    silent["detail"]["Message"] = Value::Null;
    assert!(reason_of(&silent).contains("neither an event id nor a message"));
    // An id, where there is one, wins over the message.
    let both = rds_snapshot_event("RDS-EVENT-0040", "Manual snapshot created", MANUAL_ARN);
    assert!(reason_of(&both).starts_with("RDS-EVENT-0040 (creating manual snapshot)"));
}

/// The EventBridge sample event for "RDS DB Snapshot Event": a DB instance's ARN in
/// `SourceArn` and `resources`, the snapshot's name only in `SourceIdentifier`, no EventID.
fn sample_with_instance_arn() -> Value {
    fixtures::event("eventbridge-sample-db-snapshot-created-instance-arn.json")
}

#[test]
fn an_identifier_names_a_snapshot_in_the_functions_own_account_and_region() {
    let event = sample_with_instance_arn();
    let origin = EventOrigin::RdsEvent {
        event_id: "RDS-EVENT-0091".to_owned(),
        told_by: Some("detail.Message".to_owned()),
        named_by: Some("detail.SourceIdentifier".to_owned()),
    };
    assert_eq!(
        classify_in(&event, Some(&home())),
        Ok(candidate("arn:aws:rds:us-east-1:123456789012:snapshot:rds:mysql-instance-2018-10-06-12-24", origin))
    );
    // Without the function's own account and Region there is nowhere to look.
    assert!(reason_of(&event).contains("own account and Region are not known"), "{}", reason_of(&event));
    // A function in another account or Region does not look at it.
    for function in [
        "arn:aws:lambda:us-east-1:210987654321:function:offsite-exporter",
        "arn:aws:lambda:eu-west-1:123456789012:function:offsite-exporter",
        "arn:aws-cn:lambda:us-east-1:123456789012:function:offsite-exporter",
    ] {
        let elsewhere = Home::from_function_arn(function).expect("function ARN");
        match classify_in(&event, Some(&elsewhere)) {
            Ok(Trigger::Ignore { reason }) => {
                assert!(reason.contains("the exporter looks only at its own snapshots"), "{function}: {reason}");
            }
            other => panic!("{function}: {other:?}"),
        }
    }
    // The envelope's account counts too, even when no ARN says where the event comes from.
    let mut forwarded = event.clone();
    forwarded["account"] = json!("210987654321");
    if let Some(detail) = forwarded["detail"].as_object_mut() {
        detail.remove("SourceArn");
    }
    forwarded["resources"] = json!([]);
    match classify_in(&forwarded, Some(&home())) {
        Ok(Trigger::Ignore { reason }) => {
            assert!(reason.contains("by account and region the event comes from account 210987654321"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    // The source type must fit the event.
    let mut cluster_type = event;
    cluster_type["detail"]["SourceType"] = json!("CLUSTER_SNAPSHOT");
    assert!(matches!(classify_in(&cluster_type, Some(&home())), Ok(Trigger::Ignore { .. })));
}

/// The aws-samples form: only "Event Source", "Source ID" and "Event ID", in a record with
/// only `EventSource` and `Sns` (`Type`, `MessageId`, `Message`).
fn minimal_notification(source: &str, id: &str, event_id: &str) -> Value {
    let message = json!({
        "Event Source": source,
        "Source ID": id,
        "Event ID": format!("http://docs.amazonwebservices.com/AmazonRDS/latest/UserGuide/USER_Events.html#{event_id}"),
    });
    fixtures::set(
        fixtures::event("aws-samples-export-pipeline-event-named.json"),
        "/Records/0/Sns/Message",
        message.to_string(),
    )
}

#[test]
fn notifications_without_a_source_arn_name_the_snapshot_by_its_source_id() {
    let named = |id: &str| EventOrigin::RdsNotification {
        event_id: id.to_owned(),
        told_by: None,
        named_by: Some("Records[0].Sns.Message[\"Source ID\"]".to_owned()),
    };
    let instance = minimal_notification("db-snapshot", "rds:orders-2024-05-01-03-10", "RDS-EVENT-0091");
    assert_eq!(
        classify_in(&instance, Some(&home())),
        Ok(candidate(
            "arn:aws:rds:us-east-1:123456789012:snapshot:rds:orders-2024-05-01-03-10",
            named("RDS-EVENT-0091")
        ))
    );
    let cluster = minimal_notification("db-cluster-snapshot", "rds:ledger-2024-05-01-04-00", "RDS-EVENT-0169");
    assert_eq!(
        classify_in(&cluster, Some(&home())),
        Ok(candidate(
            "arn:aws:rds:us-east-1:123456789012:cluster-snapshot:rds:ledger-2024-05-01-04-00",
            named("RDS-EVENT-0169")
        ))
    );
    // The sample's placeholder is no snapshot identifier.
    let placeholder = minimal_notification("db-snapshot", "<SNAPSHOT_NAME>", "RDS-EVENT-0091");
    assert_eq!(
        reason_of(&placeholder),
        "Records[0].Sns.Message[\"Source ID\"]: \"<SNAPSHOT_NAME>\" is not a snapshot identifier (it does not \
         start with a letter, after an optional rds: or awsbackup: prefix)"
    );
    // A topic in another account or Region says the identifier is not this function's to place.
    let minimal = minimal_notification("db-snapshot", "orders", "RDS-EVENT-0042");
    let mut other_topic = sns_event(minimal["Records"][0]["Sns"]["Message"].as_str().expect("message"));
    other_topic["Records"][0]["Sns"]["TopicArn"] = json!("arn:aws:sns:us-east-2:123456789012:rds-events");
    other_topic["Records"][0]["EventSubscriptionArn"] = json!("arn:aws:sns:us-east-2:123456789012:rds-events:21be56ed");
    match classify_in(&other_topic, Some(&home())) {
        Ok(Trigger::Ignore { reason }) => assert!(reason.contains("Region us-east-2"), "{reason}"),
        other => panic!("{other:?}"),
    }
    let mut same_topic = other_topic.clone();
    same_topic["Records"][0]["Sns"]["TopicArn"] = json!("arn:aws:sns:us-east-1:123456789012:rds-events");
    same_topic["Records"][0]["EventSubscriptionArn"] = json!("arn:aws:sns:us-east-1:123456789012:rds-events:21be56ed");
    assert!(matches!(classify_in(&same_topic, Some(&home())), Ok(Trigger::Candidate { .. })));
}

#[test]
fn sns_message_attributes_stand_in_for_a_missing_event_id_or_arn() {
    let mut message: Value = json!({ "Event Source": "db-snapshot", "Source ID": "orders-before-migration",
        "Event Message": "Manual snapshot created" });
    let mut event = sns_event(&message.to_string());
    event["Records"][0]["Sns"]["MessageAttributes"] = json!({
        "EventID": { "Type": "String", "Value": "RDS-EVENT-0042" },
        "Resource": { "Type": "String", "Value": MANUAL_ARN }
    });
    let origin = EventOrigin::RdsNotification {
        event_id: "RDS-EVENT-0042".to_owned(),
        told_by: Some("Records[0].Sns.MessageAttributes.EventID.Value".to_owned()),
        named_by: None,
    };
    assert_eq!(classify(&event), Ok(candidate(MANUAL_ARN, origin)));
    // Without attributes, the message tells the event, and the Source ID (placed at home) the snapshot.
    message["Event ID"] = Value::Null;
    let plain = sns_event(&message.to_string());
    let origin = EventOrigin::RdsNotification {
        event_id: "RDS-EVENT-0042".to_owned(),
        told_by: Some("Records[0].Sns.Message[\"Event Message\"]".to_owned()),
        named_by: Some("Records[0].Sns.Message[\"Source ID\"]".to_owned()),
    };
    // The test topic is in us-east-2 (the Lambda developer guide's sample), so a function in
    // us-east-1 does not place the identifier; one in us-east-2 does.
    assert!(matches!(classify_in(&plain, Some(&home())), Ok(Trigger::Ignore { .. })));
    let east_2 = Home::from_function_arn("arn:aws:lambda:us-east-2:123456789012:function:f").expect("ARN");
    assert_eq!(
        classify_in(&plain, Some(&east_2)),
        Ok(candidate("arn:aws:rds:us-east-2:123456789012:snapshot:orders-before-migration", origin))
    );
    let mut broken = event;
    broken["Records"][0]["Sns"]["MessageAttributes"]["EventID"] = json!("RDS-EVENT-0042");
    assert_eq!(
        reason_of(&broken),
        "Records[0].Sns.MessageAttributes.EventID: is a string; expected an SNS message attribute ({\"Type\", \"Value\"})"
    );
}

// --- malformed: only what cannot be any event the exporter knows -------------------------

#[test]
fn non_object_json_is_malformed() {
    for value in [json!(null), json!(true), json!(42), json!("RDS-EVENT-0042"), json!([{}])] {
        let error = error_of(&value);
        assert_eq!(error.field, "$");
        assert!(error.problem.contains("expected a JSON object"), "{error}");
    }
}

#[test]
fn envelope_members_of_the_wrong_type_are_malformed() {
    let base = rds_snapshot_event("RDS-EVENT-0042", "Manual snapshot created", MANUAL_ARN);
    for (member, value, expected) in [
        (
            "detail-type",
            json!(["RDS DB Snapshot Event"]),
            "detail-type: is an array; expected an EventBridge detail type",
        ),
        ("detail-type", Value::Null, "detail-type: is null; expected an EventBridge detail type"),
        ("source", json!(7), "source: is a number; expected an EventBridge source"),
        ("detail", json!("RDS-EVENT-0042"), "detail: is a string; expected an object"),
        ("detail", Value::Null, "detail: is null; expected an object"),
        ("resources", json!({}), "resources: is an object; expected a list of ARNs"),
        ("resources", json!([7]), "resources[0]: is a number; expected an ARN string"),
        ("account", json!(123456789012_u64), "account: is a number; expected the 12-digit account"),
        ("region", json!(["us-east-1"]), "region: is an array; expected the Region"),
    ] {
        let mut event = base.clone();
        event[member] = value;
        let error = error_of(&event).to_string();
        assert!(error.starts_with(&format!("malformed event: {expected}")), "{member}: {error}");
    }
    let backup = backup_job_completed("RDS", BACKUP_ARN);
    let mut event = backup.clone();
    event["detail"] = json!("COMPLETED");
    assert_eq!(error_of(&event).field, "detail");
    for (records, field) in
        [(json!({}), "Records"), (json!("x"), "Records"), (Value::Null, "Records"), (json!([1]), "Records[0]")]
    {
        assert_eq!(error_of(&json!({ "Records": records })).field, field);
    }
}

// --- inside a known event: decided, the field named ---------------------------------------

#[test]
fn missing_or_mistyped_fields_inside_an_event_are_reasons() {
    let base = rds_snapshot_event("RDS-EVENT-0042", "Manual snapshot created", MANUAL_ARN);
    let mut event = base.clone();
    event["detail"]["EventID"] = json!(42);
    assert_eq!(reason_of(&event), "detail.EventID: is a number; expected an RDS event id such as \"RDS-EVENT-0042\"");
    event["detail"]["EventID"] = json!("RDS-EVENT-0042; rm -rf /");
    assert_eq!(
        reason_of(&event),
        "detail.EventID: \"RDS-EVENT-0042; rm -rf /\" is not an RDS event id; expected RDS-EVENT-<number>"
    );
    let mut event = base.clone();
    event.as_object_mut().expect("object").remove("detail");
    assert_eq!(
        reason_of(&event),
        "detail: missing; without it this \"RDS DB Snapshot Event\" event says nothing the exporter could act on"
    );
    let mut event = base.clone();
    event.as_object_mut().expect("object").remove("source");
    assert_eq!(
        reason_of(&event),
        "a \"RDS DB Snapshot Event\" event from source no source, not from aws.rds: not an AWS service event"
    );
    let mut event = base.clone();
    event["detail"]["SourceArn"] = Value::Null;
    event["resources"] = json!([]);
    if let Some(detail) = event["detail"].as_object_mut() {
        detail.remove("SourceIdentifier");
    }
    assert_eq!(
        reason_of(&event),
        "detail.SourceArn: missing, and the event has no resources[0] or detail.SourceIdentifier either; expected \
         the snapshot's ARN or identifier"
    );
    let mut event = base;
    event["detail"]["SourceArn"] = json!(["x"]);
    assert_eq!(reason_of(&event), "detail.SourceArn: is an array; expected the snapshot's ARN");

    let mut event = backup_job_completed("RDS", BACKUP_ARN);
    event["detail"]["state"] = Value::Null;
    assert_eq!(reason_of(&event), "detail.state: is null; expected a backup job state such as \"COMPLETED\"");
    let mut event = backup_job_completed("RDS", BACKUP_ARN);
    event["detail"]["backupJobId"] = json!("");
    assert!(reason_of(&event).starts_with("detail.backupJobId: is an empty string"));
    // A completed job without a resource type is still decided by its ARN.
    let mut event = backup_job_completed("RDS", BACKUP_ARN);
    if let Some(detail) = event["detail"].as_object_mut() {
        detail.remove("resourceType");
    }
    assert!(matches!(classify(&event), Ok(Trigger::Candidate { .. })));
    let mut event = backup_job_completed("RDS", BACKUP_ARN);
    event["resources"] = json!([]);
    assert_eq!(
        reason_of(&event),
        "detail.recoveryPointArn: missing, and the event has no resources[0] either; expected the recovery point's \
         RDS snapshot ARN"
    );
}

#[test]
fn an_arn_that_is_not_an_rds_snapshot_is_a_reason() {
    // Not an RDS ARN at all, or not a snapshot's and no identifier beside it.
    let ebs = "arn:aws:ec2:us-west-2::snapshot/snap-0726fe70935586180";
    let reason = reason_of(&backup_job_completed("RDS", ebs));
    assert!(
        reason.starts_with(
            "resources[0]: \"arn:aws:ec2:us-west-2::snapshot/snap-0726fe70935586180\" is not an RDS snapshot ARN"
        ),
        "{reason}"
    );
    let mut event = rds_snapshot_event("RDS-EVENT-0091", "Automated snapshot created", "orders-nightly");
    assert!(
        reason_of(&event)
            .starts_with("detail.SourceArn: \"orders-nightly\" is not an RDS snapshot ARN (too few fields)")
    );
    event["detail"]["SourceArn"] = json!("arn:aws:rds:us-east-1:123456789012:db:orders");
    event["resources"] = json!(["arn:aws:rds:us-east-1:123456789012:db:orders"]);
    if let Some(detail) = event["detail"].as_object_mut() {
        detail.remove("SourceIdentifier");
    }
    assert_eq!(
        reason_of(&event),
        "detail.SourceArn \"arn:aws:rds:us-east-1:123456789012:db:orders\" is the ARN of a db, not of a snapshot, and \
         the event has no detail.SourceIdentifier: it names no snapshot"
    );
    let message = rds_notification_message("db-snapshot", "RDS-EVENT-0042", "orders", "Manual snapshot created");
    assert!(
        reason_of(&sns_event(&message))
            .starts_with("Records[0].Sns.Message[\"Source ARN\"]: \"orders\" is not an RDS snapshot ARN")
    );
}

#[test]
fn a_snapshot_kind_that_does_not_match_the_event_is_a_reason() {
    let reason = reason_of(&rds_snapshot_event("RDS-EVENT-0042", "Manual snapshot created", CLUSTER_ARN));
    assert!(
        reason.starts_with("detail.SourceArn: \"arn:aws:rds:us-east-2:123456789012:cluster-snapshot:rds:ledger-2024-05-01-04-00\" is a DB cluster snapshot (db-cluster-snapshot) ARN, but an RDS DB Snapshot Event is about a DB instance"),
        "{reason}"
    );
    let reason =
        reason_of(&rds_cluster_snapshot_event("RDS-EVENT-0169", "Automated cluster snapshot created", MANUAL_ARN));
    assert!(reason.contains(":cluster-snapshot:<name>"), "{reason}");
    let message = rds_notification_message(
        "db-cluster-snapshot",
        "RDS-EVENT-0075",
        MANUAL_ARN,
        "Manual cluster snapshot created",
    );
    assert!(reason_of(&sns_event(&message)).contains("but a \"db-cluster-snapshot\" notification"));
}

#[test]
fn sns_events_other_than_one_record_with_a_json_message_are_reasons() {
    let message = rds_notification_message("db-snapshot", "RDS-EVENT-0042", MANUAL_ARN, "Manual snapshot created");
    let mut event = sns_event(&message);
    let record = event["Records"][0].clone();
    event["Records"] = json!([record.clone(), record]);
    assert_eq!(reason_of(&event), "Records: has 2 records; expected exactly one (SNS invokes Lambda with one message)");
    assert_eq!(reason_of(&json!({ "Records": [] })), "Records: is empty; expected exactly one SNS record");
    let reason = reason_of(&sns_event("{\"Event Source\": \"db-snapshot\", "));
    assert!(reason.starts_with("Records[0].Sns.Message: is not valid JSON"), "{reason}");
    assert_eq!(
        reason_of(&sns_event("[\"db-snapshot\"]")),
        "SNS message is plain text, not an RDS event notification: \"[\\\"db-snapshot\\\"]\""
    );
    assert_eq!(
        reason_of(&sns_event("{} ")).split(';').next(),
        Some("SNS message is not an RDS event notification (no \"Event Source\")")
    );
    let mut event = sns_event(&message);
    event["Records"][0]["Sns"].as_object_mut().expect("object").remove("Message");
    assert_eq!(
        reason_of(&event),
        "Records[0].Sns.Message: missing; expected the RDS event notification as a JSON string"
    );
    let mut event = sns_event(&message);
    event["Records"][0]["Sns"] = json!("x");
    assert_eq!(reason_of(&event), "Records[0].Sns: is a string; expected the SNS message object");
    let mut inner: Value = serde_json::from_str(&message).expect("valid JSON");
    inner["Event ID"] = json!("http://docs.amazonwebservices.com/AmazonRDS/latest/UserGuide/USER_Events.html");
    assert_eq!(
        reason_of(&sns_event(&inner.to_string())),
        "Records[0].Sns.Message[\"Event ID\"]: \"http://docs.amazonwebservices.com/AmazonRDS/latest/UserGuide/USER_Events.html\" \
         does not end in an RDS event id; expected …/USER_Events.html#RDS-EVENT-<number>"
    );
}

// --- explain ----------------------------------------------------------------------

#[test]
fn explain_maps_each_decision_to_one_json_object() {
    let manual =
        classify(&rds_snapshot_event("RDS-EVENT-0042", "Manual snapshot created", MANUAL_ARN)).expect("candidate");
    assert_eq!(
        manual.explain(),
        json!({
            "decision": "candidate",
            "snapshot_arn": MANUAL_ARN,
            "kind": "db-snapshot",
            "reason": "RDS-EVENT-0042 manual snapshot created",
        })
    );
    let cluster = classify(&sns_event(&rds_notification_message(
        "db-cluster-snapshot",
        "RDS-EVENT-0169",
        CLUSTER_ARN,
        "Automated cluster snapshot created",
    )))
    .expect("candidate");
    assert_eq!(cluster.explain()["kind"], "db-cluster-snapshot");
    assert_eq!(
        cluster.explain()["reason"],
        "RDS-EVENT-0169 automated cluster snapshot created (RDS event notification via SNS)"
    );
    let placed = classify_in(&sample_with_instance_arn(), Some(&home())).expect("candidate");
    assert_eq!(
        placed.explain()["reason"],
        "RDS-EVENT-0091 automated snapshot created; told by detail.Message: the event carries no event id of its \
         own; the snapshot named by detail.SourceIdentifier, in this function's own account and Region"
    );
    let backup = classify(&backup_job_completed("RDS", BACKUP_ARN)).expect("candidate");
    assert_eq!(backup.explain()["reason"], "AWS Backup job a827233a-d405-4a86-a440-759fa94f34dd completed");
    assert_eq!(
        Trigger::Sweep.explain(),
        json!({
            "decision": "sweep",
            "snapshot_arn": null,
            "kind": null,
            "reason": "scheduled event: sweep recent snapshots",
        })
    );
    assert_eq!(
        Trigger::Ignore { reason: "because".to_owned() }.explain(),
        json!({ "decision": "ignore", "snapshot_arn": null, "kind": null, "reason": "because" })
    );
}

#[test]
fn origins_serialize_for_logs() {
    let origin = serde_json::to_value(rds_event("RDS-EVENT-0042")).expect("serializes");
    assert_eq!(origin, json!({ "origin": "rds-event", "event_id": "RDS-EVENT-0042" }));
    let origin = serde_json::to_value(EventOrigin::RdsNotification {
        event_id: "RDS-EVENT-0091".into(),
        told_by: None,
        named_by: Some("Records[0].Sns.Message[\"Source ID\"]".into()),
    })
    .expect("serializes");
    assert_eq!(
        origin,
        json!({ "origin": "rds-notification", "event_id": "RDS-EVENT-0091", "named_by": "Records[0].Sns.Message[\"Source ID\"]" })
    );
    let origin = serde_json::to_value(EventOrigin::BackupJob { job_id: "j".into() }).expect("serializes");
    assert_eq!(origin, json!({ "origin": "backup-job", "job_id": "j" }));
}

// --- robustness -------------------------------------------------------------------

/// Every variant of `value` with one node removed (object members) or replaced.
fn mutations(value: &Value) -> Vec<Value> {
    let replacements = [
        Value::Null,
        json!(7),
        json!(-1.5),
        json!(true),
        json!(""),
        json!("RDS-EVENT-"),
        json!("arn:aws:rds:us-east-1:123456789012:snapshot:"),
        json!("arn:aws:rds:eu-west-1:210987654321:db:other"),
        json!("rds:someone-elses-2024-05-01"),
        json!("x".repeat(5000)),
        json!([]),
        json!({}),
        json!([null]),
    ];
    let mut out = Vec::new();
    for replacement in &replacements {
        out.push(replacement.clone());
    }
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let mut removed = map.clone();
                removed.remove(key);
                out.push(Value::Object(removed));
                for variant in mutations(child) {
                    let mut changed = map.clone();
                    changed.insert(key.clone(), variant);
                    out.push(Value::Object(changed));
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                let mut removed = items.clone();
                removed.remove(i);
                out.push(Value::Array(removed));
                for variant in mutations(child) {
                    let mut changed = items.clone();
                    changed[i] = variant;
                    out.push(Value::Array(changed));
                }
            }
        }
        _ => {}
    }
    out
}

/// Never a panic; an error only for what no known event can be; and a candidate only for an
/// ARN the payload spells out or one in the function's own account and Region: never a
/// snapshot an event placed anywhere else.
#[test]
fn classify_never_panics_and_places_identifiers_only_at_home() {
    let notification = rds_notification_message("db-snapshot", "RDS-EVENT-0042", MANUAL_ARN, "Manual snapshot created");
    let minimal = minimal_notification("db-snapshot", "rds:orders-2024-05-01-03-10", "RDS-EVENT-0091");
    let minimal_message = minimal["Records"][0]["Sns"]["Message"].as_str().expect("message").to_owned();
    let samples = [
        rds_snapshot_event("RDS-EVENT-0042", "Manual snapshot created", MANUAL_ARN),
        without_event_id(rds_snapshot_event("unused", "Automated snapshot created", INSTANCE_ARN)),
        sample_with_instance_arn(),
        rds_cluster_snapshot_event("RDS-EVENT-0169", "Automated cluster snapshot created", CLUSTER_ARN),
        backup_job_completed("RDS", BACKUP_ARN),
        backup_job_running(),
        copy_job_completed(),
        scheduled_event(),
        sns_event(&notification),
        minimal.clone(),
    ];
    let mut payloads: Vec<Value> = samples.iter().flat_map(mutations).collect();
    // The SNS message is a JSON string: mutate the notifications inside it as well.
    for message in [&notification, &minimal_message] {
        let inner: Value = serde_json::from_str(message).expect("valid JSON");
        for variant in mutations(&inner) {
            payloads.push(sns_event(&variant.to_string()));
        }
        for cut in 0..message.len() {
            if let Some(prefix) = message.get(..cut) {
                payloads.push(sns_event(prefix));
            }
        }
    }
    assert!(payloads.len() > 2000, "only {} payloads", payloads.len());
    let home = home();
    let at_home = format!("arn:aws:rds:{}:{}:", home.region(), home.account());
    let mut decisions = [0_usize; 5];
    for payload in &payloads {
        for function in [None, Some(&home)] {
            let slot = match classify_in(payload, function) {
                Ok(Trigger::Candidate { snapshot, origin }) => {
                    let spelled_out = payload.to_string().contains(snapshot.as_str());
                    let placed = matches!(
                        &origin,
                        EventOrigin::RdsEvent { named_by: Some(_), .. }
                            | EventOrigin::RdsNotification { named_by: Some(_), .. }
                    );
                    if placed {
                        assert!(function.is_some() && snapshot.as_str().starts_with(&at_home), "{snapshot}: {payload}");
                        4
                    } else {
                        assert!(spelled_out, "{snapshot} is not in {payload}");
                        0
                    }
                }
                Ok(Trigger::Sweep) => 1,
                Ok(Trigger::Ignore { reason }) => {
                    assert!(!reason.is_empty() && !reason.contains('\n'), "{reason:?}");
                    assert!(reason.len() < 2000, "{reason}");
                    2
                }
                Err(error) => {
                    assert!(!error.field.is_empty(), "{payload}");
                    assert!(!error.to_string().contains('\n'), "{error}");
                    assert!(error.to_string().len() < 1000, "{error}");
                    3
                }
            };
            decisions[slot] += 1;
        }
    }
    assert!(decisions.iter().all(|&n| n > 0), "{decisions:?}");
}
