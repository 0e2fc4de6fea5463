//! Lambda SNS events carrying RDS event notifications.
//!
//! Shapes, as published:
//! - "Using AWS Lambda with Amazon RDS" (Lambda developer guide, "Amazon RDS sample event",
//!   2019–2023): one record, `EventSource` `aws:sns`, and an `Sns.Message` that is a JSON
//!   string with "Event Source", "Event Time", "Identifier Link", "Source ID", "Event ID" (a
//!   documentation link ending in `#RDS-EVENT-nnnn`) and "Event Message": no "Source ARN". The
//!   same page notes that the first message after subscribing is plain text ("This is a
//!   message to notify that RDS will attempt to send you event notifications…").
//! - aws-samples/rds-snapshot-export-to-s3-pipeline (`event.json`, `event.aurora.json`): the
//!   record has only `EventSource` and `Sns` with `Type`, `MessageId` and a `Message` holding
//!   only "Event Source", "Source ID" and "Event ID"; its function builds the snapshot's ARN
//!   from its own Region and account, as [`super::Home`] does.
//! - Notifications as RDS sends them also carry "Source ARN" (the same project reads it for
//!   AWS Backup snapshots; opengovsg/postmangovsg keeps a captured one), and the SNS message
//!   attributes `EventID` and `Resource` ("Amazon RDS event notification tags and attributes",
//!   RDS user guide), read here when the message lacks the id or the ARN.
//!
//! A `Records` that is not a list of objects is a [`MalformedEvent`]; everything inside a
//! record is decided.

use offsite_common::logging::json_type;
use offsite_common::snapshot::SnapshotKind;
use serde_json::Value;

use super::decision::{Claim, RdsHint, decide};
use super::json::{FieldError, Ignored, Obj, Read, field_error, key_list, shown, wrong_type};
use super::rds_events::parse_event_id;
use super::{EventOrigin, Home, MalformedEvent, Trigger};

/// An event with `Records`.
pub(super) fn classify(root: &Obj<'_>, home: Option<&Home>) -> Result<Trigger, MalformedEvent> {
    let records = read_records(root)?;
    Ok(decide_records(&records, home).unwrap_or_else(Trigger::from))
}

fn read_records<'a>(root: &Obj<'a>) -> Result<Vec<Obj<'a>>, FieldError> {
    match root.map().get("Records") {
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::Object(map) => Ok(Obj::new(map, format!("Records[{i}]"))),
                other => Err(wrong_type(format!("Records[{i}]"), other, "an SNS record object")),
            })
            .collect(),
        Some(other) => Err(wrong_type("Records".to_owned(), other, "a list with one SNS record")),
        None => Err(field_error("Records", "missing; expected a list with one SNS record")),
    }
}

fn decide_records(records: &[Obj<'_>], home: Option<&Home>) -> Result<Trigger, Ignored> {
    let Some(record) = records.first() else {
        return Err(Ignored("Records: is empty; expected exactly one SNS record".to_owned()));
    };
    // SNS records spell it "EventSource"; S3, SQS, DynamoDB and Kinesis records "eventSource".
    let source = match record.opt_str("EventSource", "an event source such as \"aws:sns\"")? {
        Some(source) => Some(source),
        None => record.opt_str("eventSource", "an event source such as \"aws:sns\"")?,
    };
    if source != Some("aws:sns") {
        return Err(Ignored(format!(
            "a Lambda event with {} record(s) from {}, not an SNS delivery",
            records.len(),
            source.map_or_else(|| "an unnamed source".to_owned(), shown)
        )));
    }
    if records.len() != 1 {
        return Err(Ignored(format!(
            "Records: has {} records; expected exactly one (SNS invokes Lambda with one message)",
            records.len()
        )));
    }
    let sns = record.obj("Sns", "the SNS message object")?;
    let message = sns.str("Message", "the RDS event notification as a JSON string")?;
    rds_notification(record, &sns, message, home)
}

fn rds_notification(record: &Obj<'_>, sns: &Obj<'_>, message: &str, home: Option<&Home>) -> Result<Trigger, Ignored> {
    let path = sns.path("Message");
    if !message.trim_start().starts_with('{') {
        // RDS also publishes plain text, e.g. when a subscription is created.
        return Err(Ignored(format!("SNS message is plain text, not an RDS event notification: {}", shown(message))));
    }
    let inner: Value = serde_json::from_str(message).map_err(|error| {
        Ignored(format!("{path}: is not valid JSON ({error}); expected an RDS event notification object"))
    })?;
    let Value::Object(map) = &inner else {
        return Err(Ignored(format!("{path}: is {}; expected an RDS event notification object", json_type(&inner))));
    };
    let notification = Obj::new(map, path);
    if !notification.has("Event Source") {
        let what = if notification.has("detail-type") {
            "an EventBridge event forwarded through SNS"
        } else {
            "not an RDS event notification (no \"Event Source\")"
        };
        return Err(Ignored(format!("SNS message is {what}; its keys: {}", key_list(map))));
    }
    let source =
        notification.str("Event Source", "an RDS source type such as \"db-snapshot\" or \"db-cluster-snapshot\"")?;
    let kind = match source {
        "db-snapshot" => SnapshotKind::Instance,
        "db-cluster-snapshot" => SnapshotKind::Cluster,
        other => {
            return Err(Ignored(format!("RDS event notification from a {} source, not a snapshot", shown(other))));
        }
    };
    let event_id = match notification.read("Event ID", "a link ending in #RDS-EVENT-<number>")? {
        None => None,
        // Like "http://docs.amazonwebservices.com/AmazonRDS/latest/UserGuide/USER_Events.html
        // #RDS-EVENT-0042" (one string); a bare "RDS-EVENT-0042" is accepted too.
        Some(read) => match read.value.rsplit('#').next().and_then(parse_event_id) {
            Some(id) => Some(Read::new(read.field, id)),
            None => {
                return Err(Ignored(format!(
                    "{}: {} does not end in an RDS event id; expected …/USER_Events.html#RDS-EVENT-<number>",
                    read.field,
                    shown(read.value)
                )));
            }
        },
    };
    let context = format!("a {} notification", shown(source));
    let mut arns: Vec<Read<'_>> = notification.read("Source ARN", "the snapshot's ARN")?.into_iter().collect();
    arns.extend(message_attribute(sns, "Resource")?);
    let claims =
        [record.read("EventSubscriptionArn", "the subscription's ARN")?, sns.read("TopicArn", "the topic's ARN")?]
            .into_iter()
            .flatten()
            .map(Claim::Arn)
            .collect();
    let hint = RdsHint {
        kind,
        context,
        event_id,
        event_id_attribute: message_attribute(sns, "EventID")?,
        message: notification.read("Event Message", "the event's message")?,
        arns,
        arn_fields: vec![notification.path("Source ARN")],
        identifier: notification.read("Source ID", "the snapshot's identifier")?,
        identifier_field: notification.path("Source ID"),
        source_type: None,
        claims,
    };
    let decided = decide(&hint, home)?;
    let origin = EventOrigin::RdsNotification {
        event_id: decided.event.id,
        told_by: decided.event.told_by,
        named_by: decided.named_by,
    };
    Ok(Trigger::Candidate { snapshot: decided.snapshot, origin })
}

/// `Sns.MessageAttributes.<name>.Value` (the Lambda SNS event's form of a message attribute:
/// `{"Type": "String", "Value": …}`), if there.
fn message_attribute<'a>(sns: &Obj<'a>, name: &str) -> Result<Option<Read<'a>>, FieldError> {
    if sns.present("MessageAttributes").is_none() {
        return Ok(None);
    }
    let attributes = sns.obj("MessageAttributes", "an object of SNS message attributes")?;
    if attributes.present(name).is_none() {
        return Ok(None);
    }
    let attribute = attributes.obj(name, "an SNS message attribute ({\"Type\", \"Value\"})")?;
    attribute.read("Value", "the attribute's value as a string")
}
