//! What an incoming event asks the exporter to do.
//!
//! The exporter is invoked by EventBridge (RDS snapshot events, AWS Backup job events, its
//! schedule) and possibly by an SNS topic that an RDS event subscription publishes to.
//! [`classify`] turns any of those payloads into a [`Trigger`]: a snapshot to check and maybe
//! copy, a sweep, or a reasoned "not for us". It is pure: no I/O and no AWS calls.
//!
//! Events are hints, delivered best effort and possibly twice, out of order or never, so a
//! [`Trigger::Candidate`] only names a snapshot to *look at*: the exporter still describes it
//! through the RDS API before deciding anything, and the scheduled sweep catches what events
//! miss. A payload of a known type with a missing or mistyped field is a [`MalformedEvent`]
//! naming the field; any other well-formed JSON object is [`Trigger::Ignore`]d with a reason.
//!
//! Payload shapes, as AWS documents them:
//! - "Amazon RDS event categories and event messages" (RDS and Aurora user guides): the event
//!   ids and their meanings (tables "DB snapshot events" and "DB cluster snapshot events").
//! - "Amazon RDS event examples" / "Creating a rule that triggers on an Amazon RDS event"
//!   (RDS user guide) and "Amazon Relational Database Service events" (EventBridge event
//!   reference): `detail-type` "RDS DB Snapshot Event" / "RDS DB Cluster Snapshot Event",
//!   `source` "aws.rds", `detail.SourceArn`, `detail.EventID`, `resources`.
//! - "Monitoring AWS Backup events using Amazon EventBridge" (AWS Backup developer guide):
//!   "Backup Job State Change" with `detail.backupJobId`, `detail.state`,
//!   `detail.resourceType`; the example COMPLETED event carries the recovery point's ARN in
//!   `resources[0]` and has no `detail.recoveryPointArn`, so both are accepted.
//! - "Using AWS Lambda with Amazon RDS" (Lambda developer guide, "Amazon RDS sample event")
//!   and "Amazon RDS event notification" pages: the SNS record whose `Sns.Message` is a JSON
//!   string with "Event Source", "Source ID", "Source ARN", "Event ID" (a documentation link
//!   ending in `#RDS-EVENT-nnnn`) and "Event Message".
//! - "Using AWS Lambda with Amazon EventBridge (scheduled events)" (Lambda developer guide):
//!   `detail-type` "Scheduled Event", `source` "aws.events".

use std::fmt;

use offsite_common::logging::{json_type, quoted};
use offsite_common::snapshot::{SnapshotArn, SnapshotKind};
use serde::Serialize;
use serde_json::{Map, Value, json};

/// What an event asks the exporter to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// A snapshot the event says was created or finished copying: check and maybe copy it.
    Candidate { snapshot: SnapshotArn, origin: EventOrigin },
    /// A scheduled event: sweep recent snapshots.
    Sweep,
    /// A well-formed event that is not for the exporter; `reason` says why (logged).
    Ignore { reason: String },
}

/// Which event named a [`Trigger::Candidate`], for logs and the CLI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "origin", rename_all = "kebab-case")]
pub enum EventOrigin {
    /// An RDS event delivered by EventBridge; `event_id` like `RDS-EVENT-0042`.
    RdsEvent { event_id: String },
    /// A completed AWS Backup job delivered by EventBridge.
    BackupJob { job_id: String },
    /// An RDS event notification delivered through SNS; `event_id` like `RDS-EVENT-0042`.
    RdsNotification { event_id: String },
}

/// An event of a known type that lacks a field the exporter needs, or carries it in the
/// wrong form. `field` is the JSON path (`detail.SourceArn`, `Records[0].Sns.Message`, `$`
/// for the whole event); `problem` says what is wrong and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed event: {field}: {problem}")]
pub struct MalformedEvent {
    pub field: String,
    pub problem: String,
}

impl Trigger {
    /// The decision as one JSON object, as `offsite explain-event` prints it:
    /// `{"decision": "candidate"|"sweep"|"ignore", "snapshot_arn": <string|null>,
    /// "kind": "db-snapshot"|"db-cluster-snapshot"|null, "reason": "<text>"}`.
    pub fn explain(&self) -> Value {
        match self {
            Self::Candidate { snapshot, origin } => json!({
                "decision": "candidate",
                "snapshot_arn": snapshot.as_str(),
                "kind": snapshot.kind.as_str(),
                "reason": origin.to_string(),
            }),
            Self::Sweep => json!({
                "decision": "sweep",
                "snapshot_arn": null,
                "kind": null,
                "reason": "scheduled event: sweep recent snapshots",
            }),
            Self::Ignore { reason } => json!({
                "decision": "ignore",
                "snapshot_arn": null,
                "kind": null,
                "reason": reason,
            }),
        }
    }
}

impl fmt::Display for EventOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::RdsEvent { event_id } => write_rds_event(f, event_id),
            Self::RdsNotification { event_id } => {
                write_rds_event(f, event_id)?;
                f.write_str(" (RDS event notification via SNS)")
            }
            Self::BackupJob { job_id } => write!(f, "AWS Backup job {job_id} completed"),
        }
    }
}

fn write_rds_event(f: &mut fmt::Formatter<'_>, event_id: &str) -> fmt::Result {
    match known_rds_event(event_id) {
        Some(known) => write!(f, "{event_id} {}", known.meaning),
        None => f.write_str(event_id),
    }
}

/// Decides what `event` asks for. Never panics, whatever the input.
///
/// Accepted: EventBridge events (RDS DB snapshot and cluster snapshot events, AWS Backup job
/// state changes, scheduled events) and Lambda SNS events carrying exactly one RDS event
/// notification. Anything else that is a JSON object is ignored with a reason.
pub fn classify(event: &Value) -> Result<Trigger, MalformedEvent> {
    let Value::Object(map) = event else {
        return Err(malformed(
            "$",
            format!(
                "the event is {}; expected a JSON object (an EventBridge event or a Lambda SNS \
                 event)",
                json_type(event)
            ),
        ));
    };
    let root = Obj::root(map);
    if map.contains_key("Records") {
        classify_records(&root)
    } else if map.contains_key("detail-type") {
        classify_eventbridge(&root)
    } else {
        Ok(ignore(format!(
            "a JSON object that is neither an EventBridge event (no \"detail-type\") nor a \
             Lambda SNS event (no \"Records\"); its keys: {}",
            key_list(map)
        )))
    }
}

// ---------------------------------------------------------------------------------------
// EventBridge

const RDS_SNAPSHOT_EVENT: &str = "RDS DB Snapshot Event";
const RDS_CLUSTER_SNAPSHOT_EVENT: &str = "RDS DB Cluster Snapshot Event";
const BACKUP_JOB_EVENT: &str = "Backup Job State Change";
const COPY_JOB_EVENT: &str = "Copy Job State Change";
const RESTORE_JOB_EVENT: &str = "Restore Job State Change";
const SCHEDULED_EVENT: &str = "Scheduled Event";

fn classify_eventbridge(root: &Obj<'_>) -> Result<Trigger, MalformedEvent> {
    let detail_type = root.string("detail-type", "an EventBridge detail type such as \"RDS DB Snapshot Event\"")?;
    let source = root.string("source", "an EventBridge source such as \"aws.rds\"")?;
    let expected_source = match detail_type {
        RDS_SNAPSHOT_EVENT | RDS_CLUSTER_SNAPSHOT_EVENT => "aws.rds",
        BACKUP_JOB_EVENT | COPY_JOB_EVENT | RESTORE_JOB_EVENT => "aws.backup",
        SCHEDULED_EVENT => "aws.events",
        other => {
            return Ok(ignore(format!(
                "EventBridge event {} from {} is not one the exporter acts on",
                shown(other),
                shown(source)
            )));
        }
    };
    if source != expected_source {
        return Ok(ignore(format!(
            "a {} event from source {}, not from {expected_source}: not an AWS service event",
            shown(detail_type),
            shown(source)
        )));
    }
    let context = format!("an {detail_type}");
    match detail_type {
        RDS_SNAPSHOT_EVENT => rds_eventbridge(root, SnapshotKind::Instance, &context),
        RDS_CLUSTER_SNAPSHOT_EVENT => rds_eventbridge(root, SnapshotKind::Cluster, &context),
        BACKUP_JOB_EVENT => backup_job(root),
        COPY_JOB_EVENT => Ok(ignore(
            "AWS Backup copy job event: the exporter starts from completed backup jobs, \
             not from copies between backup vaults",
        )),
        RESTORE_JOB_EVENT => {
            Ok(ignore("AWS Backup restore job event: restores create databases, not snapshots to copy"))
        }
        SCHEDULED_EVENT => Ok(Trigger::Sweep),
        other => Ok(ignore(format!("EventBridge event {} is not one the exporter acts on", shown(other)))),
    }
}

/// "RDS DB Snapshot Event" / "RDS DB Cluster Snapshot Event" (EventBridge).
fn rds_eventbridge(root: &Obj<'_>, kind: SnapshotKind, context: &str) -> Result<Trigger, MalformedEvent> {
    let detail = root.object("detail", "an object with the RDS event (EventID, SourceArn, …)")?;
    let raw_id = detail.string("EventID", "an RDS event id such as \"RDS-EVENT-0042\"")?;
    let Some(event_id) = parse_event_id(raw_id) else {
        return Err(malformed(
            detail.path("EventID"),
            format!("{} is not an RDS event id; expected RDS-EVENT-<number>", shown(raw_id)),
        ));
    };
    if let Some(reason) = not_a_candidate(kind, event_id, context) {
        return Ok(ignore(reason));
    }
    let (field, raw_arn) = match detail.optional_string("SourceArn")? {
        Some(arn) => (detail.path("SourceArn"), arn),
        None => first_resource(root)?.ok_or_else(|| {
            malformed(
                detail.path("SourceArn"),
                "missing, and the event has no resources[0] either; expected the snapshot's ARN",
            )
        })?,
    };
    let snapshot = snapshot_arn(&field, raw_arn)?;
    check_kind(&field, &snapshot, kind, context)?;
    Ok(Trigger::Candidate { snapshot, origin: EventOrigin::RdsEvent { event_id: event_id.to_owned() } })
}

/// "Backup Job State Change" (EventBridge, source aws.backup).
fn backup_job(root: &Obj<'_>) -> Result<Trigger, MalformedEvent> {
    let detail = root.object("detail", "an object with the backup job (backupJobId, state, …)")?;
    let job_id = detail.string("backupJobId", "the AWS Backup job id")?;
    let state = detail.string("state", "a backup job state such as \"COMPLETED\"")?;
    if state != "COMPLETED" {
        return Ok(ignore(format!(
            "backup job {} is {}: only a COMPLETED job has a snapshot to copy",
            shown(job_id),
            shown(state)
        )));
    }
    let resource_type = detail.string("resourceType", "an AWS Backup resource type such as \"RDS\" or \"Aurora\"")?;
    if !matches!(resource_type, "RDS" | "Aurora") {
        return Ok(ignore(format!(
            "backup job {} backed up a {} resource, not RDS or Aurora",
            shown(job_id),
            shown(resource_type)
        )));
    }
    let (field, raw_arn) = match detail.optional_string("recoveryPointArn")? {
        Some(arn) => (detail.path("recoveryPointArn"), arn),
        None => first_resource(root)?.ok_or_else(|| {
            malformed(
                detail.path("recoveryPointArn"),
                "missing, and the event has no resources[0] either; expected the recovery \
                 point's RDS snapshot ARN",
            )
        })?,
    };
    if is_continuous_recovery_point(raw_arn) {
        return Ok(ignore(format!(
            "backup job {} produced {}, a continuous-backup (point-in-time) recovery point, \
             not a snapshot",
            shown(job_id),
            shown(raw_arn)
        )));
    }
    // No kind check against resourceType: the ARN is authoritative, and RDS Multi-AZ DB
    // clusters are backed up as cluster snapshots under the "RDS" resource type.
    let snapshot = snapshot_arn(&field, raw_arn)?;
    Ok(Trigger::Candidate { snapshot, origin: EventOrigin::BackupJob { job_id: job_id.to_owned() } })
}

/// `arn:<partition>:backup:<region>:<account>:recovery-point:continuous:<id>`: AWS Backup's
/// point-in-time recovery point for RDS and Aurora, which is not a snapshot.
fn is_continuous_recovery_point(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(7, ':').collect();
    match parts[..] {
        ["arn", _, "backup", _, _, "recovery-point", rest] => rest.starts_with("continuous:"),
        _ => false,
    }
}

/// `resources[0]`, if present; `None` when `resources` is absent, null or empty.
fn first_resource<'a>(root: &Obj<'a>) -> Result<Option<(String, &'a str)>, MalformedEvent> {
    let Some(resources) = root.present("resources") else {
        return Ok(None);
    };
    let Value::Array(items) = resources else {
        return Err(malformed("resources", format!("is {}; expected a list of ARNs", json_type(resources))));
    };
    match items.first() {
        None => Ok(None),
        Some(Value::String(arn)) => Ok(Some(("resources[0]".to_owned(), arn.as_str()))),
        Some(other) => Err(malformed("resources[0]", format!("is {}; expected an ARN string", json_type(other)))),
    }
}

// ---------------------------------------------------------------------------------------
// Lambda SNS events carrying RDS event notifications

fn classify_records(root: &Obj<'_>) -> Result<Trigger, MalformedEvent> {
    let records = root.array("Records", "a list with one SNS record")?;
    let Some(first) = records.first() else {
        return Err(malformed("Records", "is empty; expected exactly one SNS record"));
    };
    let Value::Object(first) = first else {
        return Err(malformed("Records[0]", format!("is {}; expected an SNS record object", json_type(first))));
    };
    let record = Obj::new(first, "Records[0]".to_owned());
    // SNS records spell it "EventSource"; S3, SQS, DynamoDB and Kinesis records "eventSource".
    let source = match record.optional_string("EventSource")? {
        Some(source) => source,
        None => record.optional_string("eventSource")?.unwrap_or("an unnamed source"),
    };
    if source != "aws:sns" {
        return Ok(ignore(format!(
            "a Lambda event with {} record(s) from {}, not an SNS delivery",
            records.len(),
            shown(source)
        )));
    }
    if records.len() != 1 {
        return Err(malformed(
            "Records",
            format!("has {} records; expected exactly one (SNS invokes Lambda with one message)", records.len()),
        ));
    }
    let sns = record.object("Sns", "the SNS message object")?;
    let message = sns.string("Message", "the RDS event notification as a JSON string")?;
    rds_notification(message, sns.path("Message"))
}

fn rds_notification(message: &str, path: String) -> Result<Trigger, MalformedEvent> {
    if !message.trim_start().starts_with('{') {
        // RDS also publishes plain text, e.g. when a subscription is created.
        return Ok(ignore(format!("SNS message is plain text, not an RDS event notification: {}", shown(message))));
    }
    let inner: Value = serde_json::from_str(message).map_err(|error| {
        malformed(&path, format!("is not valid JSON ({error}); expected an RDS event notification object"))
    })?;
    let Value::Object(map) = &inner else {
        return Err(malformed(&path, format!("is {}; expected an RDS event notification object", json_type(&inner))));
    };
    let notification = Obj::new(map, path);
    if !map.contains_key("Event Source") {
        let what = if map.contains_key("detail-type") {
            "an EventBridge event forwarded through SNS"
        } else {
            "not an RDS event notification (no \"Event Source\")"
        };
        return Ok(ignore(format!("SNS message is {what}; its keys: {}", key_list(map))));
    }
    let source =
        notification.string("Event Source", "an RDS source type such as \"db-snapshot\" or \"db-cluster-snapshot\"")?;
    let kind = match source {
        "db-snapshot" => SnapshotKind::Instance,
        "db-cluster-snapshot" => SnapshotKind::Cluster,
        other => {
            return Ok(ignore(format!("RDS event notification from a {} source, not a snapshot", shown(other))));
        }
    };
    let raw_id = notification
        .string("Event ID", "a link ending in #RDS-EVENT-<number>, e.g. …/USER_Events.html#RDS-EVENT-0042")?;
    // Like "http://docs.amazonwebservices.com/AmazonRDS/latest/UserGuide/USER_Events.html
    // #RDS-EVENT-0042" (one string); a bare "RDS-EVENT-0042" is accepted too.
    let Some(event_id) = raw_id.rsplit('#').next().and_then(parse_event_id) else {
        return Err(malformed(
            notification.path("Event ID"),
            format!("{} does not end in an RDS event id; expected …#RDS-EVENT-<number>", shown(raw_id)),
        ));
    };
    let context = match kind {
        SnapshotKind::Instance => "a \"db-snapshot\" notification",
        SnapshotKind::Cluster => "a \"db-cluster-snapshot\" notification",
    };
    if let Some(reason) = not_a_candidate(kind, event_id, context) {
        return Ok(ignore(reason));
    }
    let field = notification.path("Source ARN");
    let raw_arn = notification.string("Source ARN", "the snapshot's ARN")?;
    let snapshot = snapshot_arn(&field, raw_arn)?;
    check_kind(&field, &snapshot, kind, context)?;
    Ok(Trigger::Candidate { snapshot, origin: EventOrigin::RdsNotification { event_id: event_id.to_owned() } })
}

// ---------------------------------------------------------------------------------------
// RDS event ids

/// One row of "Amazon RDS event categories and event messages" (tables "DB snapshot events"
/// and "DB cluster snapshot events").
#[derive(Debug)]
struct RdsEvent {
    id: &'static str,
    kind: SnapshotKind,
    meaning: &'static str,
    /// The event says a snapshot has just become available.
    candidate: bool,
}

const fn event(id: &'static str, kind: SnapshotKind, meaning: &'static str, candidate: bool) -> RdsEvent {
    RdsEvent { id, kind, meaning, candidate }
}

const I: SnapshotKind = SnapshotKind::Instance;
const C: SnapshotKind = SnapshotKind::Cluster;

/// Note that the cross-Region copy events are 0059 started, **0060 finished**, 0061
/// canceled; Aurora documents no copy-finished event for cluster snapshots.
const RDS_SNAPSHOT_EVENTS: &[RdsEvent] = &[
    event("RDS-EVENT-0040", I, "creating manual snapshot", false),
    event("RDS-EVENT-0041", I, "deleted user snapshot", false),
    event("RDS-EVENT-0042", I, "manual snapshot created", true),
    event("RDS-EVENT-0043", I, "restored a DB instance from a snapshot", false),
    event("RDS-EVENT-0059", I, "cross-Region snapshot copy started", false),
    event("RDS-EVENT-0060", I, "cross-Region snapshot copy finished", true),
    event("RDS-EVENT-0061", I, "cross-Region snapshot copy canceled", false),
    event("RDS-EVENT-0090", I, "creating automated snapshot", false),
    event("RDS-EVENT-0091", I, "automated snapshot created", true),
    event("RDS-EVENT-0159", I, "snapshot export task failed", false),
    event("RDS-EVENT-0160", I, "snapshot export task canceled", false),
    event("RDS-EVENT-0161", I, "snapshot export task completed", false),
    event("RDS-EVENT-0190", I, "same-Region snapshot copy canceled", false),
    event("RDS-EVENT-0196", I, "same-Region snapshot copy started", false),
    event("RDS-EVENT-0197", I, "same-Region snapshot copy finished", true),
    event("RDS-EVENT-0484", I, "snapshot export table extraction failed", false),
    event("RDS-EVENT-0486", I, "snapshot export table in single-threaded mode", false),
    event("RDS-EVENT-0487", I, "snapshot export table in progress", false),
    event("RDS-EVENT-0488", I, "snapshot export task progress", false),
    event("RDS-EVENT-0074", C, "creating manual cluster snapshot", false),
    event("RDS-EVENT-0075", C, "manual cluster snapshot created", true),
    event("RDS-EVENT-0162", C, "cluster snapshot export task failed", false),
    event("RDS-EVENT-0163", C, "cluster snapshot export task canceled", false),
    event("RDS-EVENT-0164", C, "cluster snapshot export task completed", false),
    event("RDS-EVENT-0168", C, "creating automated cluster snapshot", false),
    event("RDS-EVENT-0169", C, "automated cluster snapshot created", true),
    event("RDS-EVENT-0489", C, "cluster snapshot export table extraction failed", false),
    event("RDS-EVENT-0491", C, "cluster snapshot export table in single-threaded mode", false),
    event("RDS-EVENT-0492", C, "cluster snapshot export table in progress", false),
    event("RDS-EVENT-0493", C, "cluster snapshot export task progress", false),
];

fn known_rds_event(event_id: &str) -> Option<&'static RdsEvent> {
    RDS_SNAPSHOT_EVENTS.iter().find(|e| e.id == event_id)
}

/// `Some(reason)` unless `event_id` says a snapshot of `kind` has just become available.
fn not_a_candidate(kind: SnapshotKind, event_id: &str, context: &str) -> Option<String> {
    match known_rds_event(event_id) {
        Some(known) if known.kind == kind && known.candidate => None,
        Some(known) if known.kind == kind => {
            Some(format!("{event_id} ({}) does not announce a newly available snapshot", known.meaning))
        }
        Some(known) => Some(format!(
            "{event_id} ({}) is a {} event, unexpected in {context}",
            known.meaning,
            kind_phrase(known.kind)
        )),
        None => Some(format!("{event_id} is not a {} event the exporter acts on", kind_phrase(kind))),
    }
}

/// `RDS-EVENT-` followed by 1 to 6 digits.
fn parse_event_id(raw: &str) -> Option<&str> {
    let digits = raw.strip_prefix("RDS-EVENT-")?;
    let valid = (1..=6).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
    valid.then_some(raw)
}

// ---------------------------------------------------------------------------------------
// ARNs

fn snapshot_arn(field: &str, raw: &str) -> Result<SnapshotArn, MalformedEvent> {
    raw.parse::<SnapshotArn>().map_err(|error| {
        malformed(
            field,
            format!(
                "{} is not an RDS snapshot ARN ({}); expected \
                 arn:<partition>:rds:<region>:<account>:snapshot:<name> or \
                 …:cluster-snapshot:<name>",
                shown(raw),
                error.problem
            ),
        )
    })
}

fn check_kind(
    field: &str,
    snapshot: &SnapshotArn,
    expected: SnapshotKind,
    context: &str,
) -> Result<(), MalformedEvent> {
    if snapshot.kind == expected {
        return Ok(());
    }
    Err(malformed(
        field,
        format!(
            "{} is a {} ARN, but {context} is about a {}; expected \
             arn:<partition>:rds:<region>:<account>:{}:<name>",
            shown(snapshot.as_str()),
            kind_phrase(snapshot.kind),
            kind_phrase(expected),
            expected.arn_resource_type()
        ),
    ))
}

fn kind_phrase(kind: SnapshotKind) -> &'static str {
    match kind {
        SnapshotKind::Instance => "DB instance snapshot (db-snapshot)",
        SnapshotKind::Cluster => "DB cluster snapshot (db-cluster-snapshot)",
    }
}

// ---------------------------------------------------------------------------------------
// JSON access with paths

/// A JSON object and its path in the event, so that errors name the field.
#[derive(Debug)]
struct Obj<'a> {
    map: &'a Map<String, Value>,
    path: String,
}

impl<'a> Obj<'a> {
    fn root(map: &'a Map<String, Value>) -> Self {
        Self::new(map, String::new())
    }

    fn new(map: &'a Map<String, Value>, path: String) -> Self {
        Self { map, path }
    }

    /// The path of `key` in this object: `detail.SourceArn`, `…Message["Event ID"]`.
    fn path(&self, key: &str) -> String {
        let plain = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        match (self.path.is_empty(), plain) {
            (true, true) => key.to_owned(),
            (true, false) => format!("[{key:?}]"),
            (false, true) => format!("{}.{key}", self.path),
            (false, false) => format!("{}[{key:?}]", self.path),
        }
    }

    /// The value of `key` unless it is absent or null.
    fn present(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    fn required(&self, key: &str, expected: &str) -> Result<&'a Value, MalformedEvent> {
        match self.map.get(key) {
            None => Err(malformed(self.path(key), format!("missing; expected {expected}"))),
            Some(Value::Null) => Err(malformed(self.path(key), format!("is null; expected {expected}"))),
            Some(value) => Ok(value),
        }
    }

    /// A required, non-empty string.
    fn string(&self, key: &str, expected: &str) -> Result<&'a str, MalformedEvent> {
        match self.required(key, expected)? {
            Value::String(s) if s.is_empty() => {
                Err(malformed(self.path(key), format!("is an empty string; expected {expected}")))
            }
            Value::String(s) => Ok(s),
            other => Err(wrong_type(self.path(key), other, expected)),
        }
    }

    /// A string that may be absent or null (then `None`), but not of another type or empty.
    fn optional_string(&self, key: &str) -> Result<Option<&'a str>, MalformedEvent> {
        match self.present(key) {
            None => Ok(None),
            Some(_) => self.string(key, "a string").map(Some),
        }
    }

    fn object(&self, key: &str, expected: &str) -> Result<Obj<'a>, MalformedEvent> {
        match self.required(key, expected)? {
            Value::Object(map) => Ok(Obj::new(map, self.path(key))),
            other => Err(wrong_type(self.path(key), other, expected)),
        }
    }

    fn array(&self, key: &str, expected: &str) -> Result<&'a [Value], MalformedEvent> {
        match self.required(key, expected)? {
            Value::Array(items) => Ok(items),
            other => Err(wrong_type(self.path(key), other, expected)),
        }
    }
}

fn malformed(field: impl Into<String>, problem: impl Into<String>) -> MalformedEvent {
    MalformedEvent { field: field.into(), problem: problem.into() }
}

fn wrong_type(field: String, value: &Value, expected: &str) -> MalformedEvent {
    malformed(field, format!("is {}; expected {expected}", json_type(value)))
}

fn ignore(reason: impl Into<String>) -> Trigger {
    Trigger::Ignore { reason: reason.into() }
}

/// A value from the event for a message: quoted, escaped and cut to a readable length.
fn shown(raw: &str) -> String {
    quoted(raw, 120)
}

/// The first keys of an object, for reasons that say what an unknown payload is.
fn key_list(map: &Map<String, Value>) -> String {
    offsite_common::logging::key_list(map, 8)
}

#[cfg(test)]
mod tests {
    use super::*;

    const INSTANCE_ARN: &str = "arn:aws:rds:us-east-1:123456789012:snapshot:rds:orders-2024-05-01-03-10";
    const MANUAL_ARN: &str = "arn:aws:rds:us-east-1:123456789012:snapshot:orders-before-migration";
    const CLUSTER_ARN: &str = "arn:aws:rds:us-east-2:123456789012:cluster-snapshot:rds:ledger-2024-05-01-04-00";
    const BACKUP_ARN: &str =
        "arn:aws:rds:us-west-2:111111111111:snapshot:awsbackup:job-a827233a-d405-4a86-a440-759fa94f34dd";
    const BACKUP_CLUSTER_ARN: &str =
        "arn:aws:rds:us-west-2:111111111111:cluster-snapshot:awsbackup:job-4ece7121-d60e-00c2-5c3b-49960142d03b";

    // --- payloads, shaped like the examples in the AWS documentation -------------------

    /// "Amazon RDS event examples" (RDS user guide), "Example of a DB snapshot event", with
    /// the event id, category and message of the event under test.
    fn rds_snapshot_event(event_id: &str, message: &str, arn: &str) -> Value {
        json!({
            "version": "0",
            "id": "844e2571-85d4-695f-b930-0153b71dcb42",
            "detail-type": "RDS DB Snapshot Event",
            "source": "aws.rds",
            "account": "123456789012",
            "time": "2024-05-01T03:12:13Z",
            "region": "us-east-1",
            "resources": [arn],
            "detail": {
                "EventCategories": ["creation"],
                "SourceType": "SNAPSHOT",
                "SourceArn": arn,
                "Date": "2024-05-01T03:12:13.882Z",
                "Message": message,
                "SourceIdentifier": arn.rsplit_once(":snapshot:").map_or("", |(_, name)| name),
                "EventID": event_id,
                "Tags": { "backup": "offsite" }
            }
        })
    }

    /// The same for "RDS DB Cluster Snapshot Event" (source type CLUSTER_SNAPSHOT).
    fn rds_cluster_snapshot_event(event_id: &str, message: &str, arn: &str) -> Value {
        json!({
            "version": "0",
            "id": "9d7d5d3e-2b7a-3c6e-8d4f-0d2b1f1a9c11",
            "detail-type": "RDS DB Cluster Snapshot Event",
            "source": "aws.rds",
            "account": "123456789012",
            "time": "2024-05-01T04:02:51Z",
            "region": "us-east-2",
            "resources": [arn],
            "detail": {
                "EventCategories": ["backup"],
                "SourceType": "CLUSTER_SNAPSHOT",
                "SourceArn": arn,
                "Date": "2024-05-01T04:02:51.876Z",
                "Message": message,
                "SourceIdentifier": "rds:ledger-2024-05-01-04-00",
                "EventID": event_id
            }
        })
    }

    /// "Monitoring AWS Backup events using Amazon EventBridge", "Backup Job events", State:
    /// COMPLETED, for an RDS instance: the recovery point's ARN is `resources[0]`.
    fn backup_job_completed(resource_type: &str, recovery_point: &str) -> Value {
        json!({
            "version": "0",
            "id": "dafac799-9b88-0134-26b7-fef4d54a134f",
            "detail-type": "Backup Job State Change",
            "source": "aws.backup",
            "account": "111111111111",
            "time": "2020-07-15T21:41:17Z",
            "region": "us-west-2",
            "resources": [recovery_point],
            "detail": {
                "backupJobId": "a827233a-d405-4a86-a440-759fa94f34dd",
                "backupSizeInBytes": "36048",
                "backupVaultArn": "arn:aws:backup:us-west-2:111111111111:backup-vault:Default",
                "backupVaultName": "Default",
                "bytesTransferred": "36048",
                "creationDate": "2020-07-15T21:40:31.207Z",
                "iamRoleArn": "arn:aws:iam::111111111111:role/service-role/AWSBackupDefaultServiceRole",
                "resourceArn": "arn:aws:rds:us-west-2:111111111111:db:orders",
                "resourceType": resource_type,
                "state": "COMPLETED",
                "completionDate": "2020-07-15T21:41:05.921Z",
                "startBy": "2020-07-16T05:40:31.207Z",
                "percentDone": 100,
                "retryCount": 3
            }
        })
    }

    /// Same page, State: RUNNING (an EBS volume).
    fn backup_job_running() -> Value {
        json!({
            "version": "0",
            "id": "44946c39-b519-3505-44e6-ba74afeb2e30",
            "detail-type": "Backup Job State Change",
            "source": "aws.backup",
            "account": "111111111111",
            "time": "2020-07-15T21:39:13Z",
            "region": "us-west-2",
            "resources": [],
            "detail": {
                "backupJobId": "B6EC38D2-CB3C-EF0A-F5A4-3CF324EF4945",
                "backupSizeInBytes": "3221225472",
                "backupVaultName": "e6625738-0655-4aa9-bd37-6ec1dd183b15",
                "bytesTransferred": "0",
                "creationDate": "2020-07-15T21:38:31.152Z",
                "resourceArn": "arn:aws:ec2:us-west-2:111111111111:volume/vol-0b5ae24f2ee72d926",
                "resourceType": "EBS",
                "state": "RUNNING",
                "percentDone": 99
            }
        })
    }

    /// Same page, State: CREATED (no resourceType yet).
    fn backup_job_created() -> Value {
        json!({
            "version": "0",
            "id": "29af2bf2-eace-58ab-da3a-8c0bf738d692",
            "detail-type": "Backup Job State Change",
            "source": "aws.backup",
            "account": "111111111111",
            "time": "2020-06-22T20:32:53Z",
            "region": "us-west-2",
            "resources": [],
            "detail": {
                "backupJobId": "7e8845b5-ca30-415f-a842-e0152bf4d0ca",
                "state": "CREATED",
                "creationDate": "2020-06-22T20:32:47.466Z"
            }
        })
    }

    /// Same page, "Copy Job events", State: COMPLETED.
    fn copy_job_completed() -> Value {
        json!({
            "version": "0",
            "id": "47deb974-6473-aef1-56c2-52c3eaedfceb",
            "detail-type": "Copy Job State Change",
            "source": "aws.backup",
            "account": "111111111111",
            "time": "2020-07-15T22:08:04Z",
            "region": "us-west-2",
            "resources": ["arn:aws:ec2:us-west-2::snapshot/snap-03886bc8d6ef3a1f9"],
            "detail": {
                "copyJobId": "0175DE71-5784-589F-D8AC-541ACCB4CAC8",
                "resourceType": "EBS",
                "state": "COMPLETED",
                "destinationRecoveryPointArn": "arn:aws:ec2:us-west-2::snapshot/snap-0726fe70935586180"
            }
        })
    }

    fn restore_job_completed() -> Value {
        json!({
            "version": "0",
            "id": "0f7c5ab5-5b5e-3a2f-a7c1-2a3e5c3d9f10",
            "detail-type": "Restore Job State Change",
            "source": "aws.backup",
            "account": "111111111111",
            "time": "2020-07-15T22:30:00Z",
            "region": "us-west-2",
            "resources": [],
            "detail": { "restoreJobId": "1A2B3C", "status": "COMPLETED", "resourceType": "RDS" }
        })
    }

    /// "Using AWS Lambda with Amazon EventBridge (scheduled events)", sample event.
    fn scheduled_event() -> Value {
        json!({
            "version": "0",
            "account": "123456789012",
            "region": "us-east-2",
            "detail": {},
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "time": "2019-03-01T01:23:45Z",
            "id": "cdc73f9d-aea9-11e3-9d5a-835b769c0d9c",
            "resources": ["arn:aws:events:us-east-2:123456789012:rule/offsite-exporter-sweep"]
        })
    }

    /// "Using AWS Lambda with Amazon RDS", "Amazon RDS sample event": one SNS record whose
    /// `Message` is the notification as a JSON string.
    fn sns_event(message: &str) -> Value {
        json!({
            "Records": [{
                "EventVersion": "1.0",
                "EventSubscriptionArn": "arn:aws:sns:us-east-2:123456789012:rds-events:21be56ed-a058-49f5-8c98-aedd2564c486",
                "EventSource": "aws:sns",
                "Sns": {
                    "SignatureVersion": "1",
                    "Timestamp": "2024-05-01T03:12:14.348Z",
                    "Signature": "EXAMPLE",
                    "SigningCertUrl": "EXAMPLE",
                    "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
                    "Message": message,
                    "MessageAttributes": {},
                    "Type": "Notification",
                    "UnsubscribeUrl": "EXAMPLE",
                    "TopicArn": "arn:aws:sns:us-east-2:123456789012:rds-events",
                    "Subject": "RDS Notification Message"
                }
            }]
        })
    }

    fn rds_notification_message(source: &str, event_id: &str, arn: &str, message: &str) -> String {
        json!({
            "Event Source": source,
            "Event Time": "2024-05-01 03:12:13.876",
            "Identifier Link": "https://console.aws.amazon.com/rds/home?region=us-east-1#snapshot:id=orders",
            "Source ID": "orders",
            "Source ARN": arn,
            "Event ID": format!("http://docs.amazonwebservices.com/AmazonRDS/latest/UserGuide/USER_Events.html#{event_id}"),
            "Event Message": message
        })
        .to_string()
    }

    fn candidate(arn: &str, origin: EventOrigin) -> Trigger {
        Trigger::Candidate { snapshot: arn.parse().expect("test ARN is valid"), origin }
    }

    fn rds_event(id: &str) -> EventOrigin {
        EventOrigin::RdsEvent { event_id: id.to_owned() }
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
            let origin = EventOrigin::RdsNotification { event_id: id.to_owned() };
            assert_eq!(classify(&event), Ok(candidate(arn, origin)), "{id}");
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
            let reason =
                reason_of(&backup_job_completed(other, "arn:aws:backup:us-west-2:111111111111:recovery-point:x"));
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
        let creating =
            rds_notification_message("db-snapshot", "RDS-EVENT-0040", MANUAL_ARN, "Creating manual snapshot");
        assert!(reason_of(&sns_event(&creating)).contains("RDS-EVENT-0040 (creating manual snapshot)"));
        // RDS's plain-text message when a subscription is created.
        let text = "This is a message to notify that your subscription has been created";
        assert!(reason_of(&sns_event(text)).contains("plain text"));
        let alarm = json!({ "AlarmName": "cpu", "NewStateValue": "ALARM" }).to_string();
        assert!(reason_of(&sns_event(&alarm)).contains("not an RDS event notification"));
        let forwarded = scheduled_event().to_string();
        assert!(reason_of(&sns_event(&forwarded)).contains("EventBridge event forwarded"));
    }

    // --- malformed --------------------------------------------------------------------

    #[test]
    fn non_object_json_is_malformed() {
        for value in [json!(null), json!(true), json!(42), json!("RDS-EVENT-0042"), json!([{}])] {
            let error = error_of(&value);
            assert_eq!(error.field, "$");
            assert!(error.problem.contains("expected a JSON object"), "{error}");
        }
    }

    #[test]
    fn a_missing_detail_is_malformed() {
        let mut event = rds_snapshot_event("RDS-EVENT-0042", "Manual snapshot created", MANUAL_ARN);
        event.as_object_mut().expect("object").remove("detail");
        assert_eq!(
            error_of(&event).to_string(),
            "malformed event: detail: missing; expected an object with the RDS event (EventID, SourceArn, …)"
        );
        let mut event = backup_job_completed("RDS", BACKUP_ARN);
        event["detail"] = json!("COMPLETED");
        let error = error_of(&event);
        assert_eq!((error.field.as_str(), error.problem.starts_with("is a string")), ("detail", true));
    }

    #[test]
    fn missing_or_mistyped_required_fields_are_named() {
        let base = rds_snapshot_event("RDS-EVENT-0042", "Manual snapshot created", MANUAL_ARN);
        let mut event = base.clone();
        event["detail"]["EventID"] = json!(42);
        assert_eq!(error_of(&event).field, "detail.EventID");
        event["detail"]["EventID"] = json!("0042");
        assert!(error_of(&event).problem.contains("expected RDS-EVENT-<number>"));
        let mut event = base.clone();
        event["detail-type"] = json!(["RDS DB Snapshot Event"]);
        assert_eq!(error_of(&event).field, "detail-type");
        let mut event = base.clone();
        event.as_object_mut().expect("object").remove("source");
        assert_eq!(error_of(&event).field, "source");
        let mut event = base;
        event["detail"]["SourceArn"] = Value::Null;
        event["resources"] = json!([]);
        let error = error_of(&event);
        assert_eq!(error.field, "detail.SourceArn");
        assert!(error.problem.contains("no resources[0]"), "{error}");

        let mut event = backup_job_completed("RDS", BACKUP_ARN);
        event["detail"]["state"] = Value::Null;
        assert_eq!(
            error_of(&event).to_string(),
            "malformed event: detail.state: is null; expected a backup job state such as \"COMPLETED\""
        );
        let mut event = backup_job_completed("RDS", BACKUP_ARN);
        event["resources"] = json!([7]);
        assert_eq!(error_of(&event).field, "resources[0]");
        let mut event = backup_job_completed("RDS", BACKUP_ARN);
        event["detail"]["backupJobId"] = json!("");
        assert!(error_of(&event).problem.starts_with("is an empty string"));
    }

    #[test]
    fn an_arn_that_is_not_an_rds_snapshot_is_malformed() {
        let db_arn = "arn:aws:rds:us-east-1:123456789012:db:mysql-instance-2018-10-06-12-24";
        let error = error_of(&rds_snapshot_event("RDS-EVENT-0091", "Automated snapshot created", db_arn));
        assert_eq!(error.field, "detail.SourceArn");
        assert!(error.problem.contains("not a snapshot or cluster-snapshot resource"), "{error}");
        let ebs = "arn:aws:ec2:us-west-2::snapshot/snap-0726fe70935586180";
        let error = error_of(&backup_job_completed("RDS", ebs));
        assert_eq!(error.field, "resources[0]");
        assert!(error.problem.contains("is not an RDS snapshot ARN"), "{error}");
        let message = rds_notification_message("db-snapshot", "RDS-EVENT-0042", "orders", "Manual snapshot created");
        let error = error_of(&sns_event(&message));
        assert_eq!(error.field, "Records[0].Sns.Message[\"Source ARN\"]");
    }

    #[test]
    fn a_snapshot_kind_that_does_not_match_the_event_is_malformed() {
        let error = error_of(&rds_snapshot_event("RDS-EVENT-0042", "Manual snapshot created", CLUSTER_ARN));
        assert_eq!(error.field, "detail.SourceArn");
        assert!(
            error.problem.contains("is a DB cluster snapshot (db-cluster-snapshot) ARN, but an RDS DB Snapshot Event"),
            "{error}"
        );
        let error =
            error_of(&rds_cluster_snapshot_event("RDS-EVENT-0169", "Automated cluster snapshot created", MANUAL_ARN));
        assert!(error.problem.contains(":cluster-snapshot:<name>"), "{error}");
        let message = rds_notification_message(
            "db-cluster-snapshot",
            "RDS-EVENT-0075",
            MANUAL_ARN,
            "Manual cluster snapshot created",
        );
        let error = error_of(&sns_event(&message));
        assert!(error.problem.contains("but a \"db-cluster-snapshot\" notification"), "{error}");
    }

    #[test]
    fn sns_events_need_exactly_one_record_with_a_json_message() {
        let message = rds_notification_message("db-snapshot", "RDS-EVENT-0042", MANUAL_ARN, "Manual snapshot created");
        let mut event = sns_event(&message);
        let record = event["Records"][0].clone();
        event["Records"] = json!([record.clone(), record]);
        let error = error_of(&event);
        assert_eq!(error.field, "Records");
        assert!(error.problem.starts_with("has 2 records; expected exactly one"), "{error}");
        assert_eq!(error_of(&json!({ "Records": [] })).field, "Records");
        assert_eq!(error_of(&json!({ "Records": {} })).field, "Records");
        let error = error_of(&sns_event("{\"Event Source\": \"db-snapshot\", "));
        assert_eq!(error.field, "Records[0].Sns.Message");
        assert!(error.problem.starts_with("is not valid JSON"), "{error}");
        let mut event = sns_event(&message);
        event["Records"][0]["Sns"].as_object_mut().expect("object").remove("Message");
        assert_eq!(error_of(&event).field, "Records[0].Sns.Message");
        let mut inner: Value = serde_json::from_str(&message).expect("valid JSON");
        inner["Event ID"] = json!("http://docs.amazonwebservices.com/AmazonRDS/latest/UserGuide/USER_Events.html");
        let error = error_of(&sns_event(&inner.to_string()));
        assert_eq!(error.field, "Records[0].Sns.Message[\"Event ID\"]");
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
            ignore("because").explain(),
            json!({ "decision": "ignore", "snapshot_arn": null, "kind": null, "reason": "because" })
        );
    }

    #[test]
    fn origins_serialize_for_logs() {
        let origin = serde_json::to_value(rds_event("RDS-EVENT-0042")).expect("serializes");
        assert_eq!(origin, json!({ "origin": "rds-event", "event_id": "RDS-EVENT-0042" }));
        let origin = serde_json::to_value(EventOrigin::BackupJob { job_id: "j".into() }).expect("serializes");
        assert_eq!(origin, json!({ "origin": "backup-job", "job_id": "j" }));
    }

    #[test]
    fn the_event_table_is_consistent() {
        for (i, a) in RDS_SNAPSHOT_EVENTS.iter().enumerate() {
            assert_eq!(parse_event_id(a.id), Some(a.id), "{}", a.id);
            assert!(RDS_SNAPSHOT_EVENTS[i + 1..].iter().all(|b| b.id != a.id), "{} twice", a.id);
        }
        let candidates: Vec<&str> = RDS_SNAPSHOT_EVENTS.iter().filter(|e| e.candidate).map(|e| e.id).collect();
        assert_eq!(
            candidates,
            [
                "RDS-EVENT-0042",
                "RDS-EVENT-0060",
                "RDS-EVENT-0091",
                "RDS-EVENT-0197",
                "RDS-EVENT-0075",
                "RDS-EVENT-0169"
            ]
        );
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

    #[test]
    fn classify_never_panics_on_mutated_payloads() {
        let notification =
            rds_notification_message("db-snapshot", "RDS-EVENT-0042", MANUAL_ARN, "Manual snapshot created");
        let samples = [
            rds_snapshot_event("RDS-EVENT-0042", "Manual snapshot created", MANUAL_ARN),
            rds_cluster_snapshot_event("RDS-EVENT-0169", "Automated cluster snapshot created", CLUSTER_ARN),
            backup_job_completed("RDS", BACKUP_ARN),
            backup_job_running(),
            copy_job_completed(),
            scheduled_event(),
            sns_event(&notification),
        ];
        let mut payloads: Vec<Value> = samples.iter().flat_map(mutations).collect();
        // The SNS message is a JSON string: mutate the notification inside it as well.
        let inner: Value = serde_json::from_str(&notification).expect("valid JSON");
        for variant in mutations(&inner) {
            payloads.push(sns_event(&variant.to_string()));
        }
        for cut in 0..notification.len() {
            if let Some(prefix) = notification.get(..cut) {
                payloads.push(sns_event(prefix));
            }
        }
        assert!(payloads.len() > 1000, "only {} payloads", payloads.len());
        let mut decisions = [0_usize; 4];
        for payload in &payloads {
            let slot = match classify(payload) {
                Ok(Trigger::Candidate { snapshot, .. }) => {
                    assert!(snapshot.as_str().starts_with("arn:aws:rds:"), "{payload}");
                    0
                }
                Ok(Trigger::Sweep) => 1,
                Ok(Trigger::Ignore { reason }) => {
                    assert!(!reason.is_empty() && !reason.contains('\n'), "{reason:?}");
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
        assert!(decisions.iter().all(|&n| n > 0), "{decisions:?}");
    }
}
