//! What an incoming event asks the exporter to do.
//!
//! The exporter is invoked by EventBridge (RDS snapshot events, AWS Backup job events, its
//! schedule) and possibly by an SNS topic that an RDS event subscription publishes to.
//! [`classify_in`] turns any of those payloads into a [`Trigger`]: a snapshot to check and maybe
//! copy, a sweep, or a reasoned "not for us". It is pure: no I/O and no AWS calls.
//!
//! Events are hints, delivered best effort and possibly twice, out of order or never, and
//! AWS's own published payloads differ in shape (fields added over the years, samples that
//! leave fields out), so every payload of a known type is *decided*: a [`Trigger::Candidate`]
//! that only names a snapshot to *look at* (the exporter still describes it through the RDS
//! API, in its own account and Region, before deciding anything, and the scheduled sweep
//! catches what events miss), or a [`Trigger::Ignore`] with a reason. Only input that cannot be
//! any of those types is a [`MalformedEvent`], which fails the invocation: a JSON value that is
//! not an object, or an envelope member of the wrong JSON type (`detail-type`, `source`,
//! `detail`, `resources`, `account`, `region` of an EventBridge event; `Records` of a Lambda
//! event). A snapshot named only by its identifier is looked for in the function's own
//! account and Region ([`Home`]) and nowhere else.
//!
//! Payload shapes, as AWS documents them (the fixtures in `tests/fixtures/events/` name each source):
//! - "Amazon RDS event categories and event messages" (RDS and Aurora user guides): the event
//!   ids, their meanings and messages (tables "DB snapshot events", "DB cluster snapshot
//!   events"); see `rds_events`.
//! - "Amazon RDS event examples" (RDS user guide), the Aurora user guide's "DB cluster snapshot
//!   events" example, and "Amazon Relational Database Service events" (EventBridge event
//!   reference): `detail-type` "RDS DB Snapshot Event" / "RDS DB Cluster Snapshot Event",
//!   `source` "aws.rds", `detail.SourceArn`, `detail.SourceIdentifier`, `detail.Message`,
//!   `resources`, and `detail.EventID` only since 2021; see `eventbridge`.
//! - "Monitoring AWS Backup events using Amazon EventBridge" (AWS Backup developer guide):
//!   "Backup Job State Change" with `detail.backupJobId`, `detail.state`, `detail.resourceType`.
//! - "Using AWS Lambda with Amazon RDS" (Lambda developer guide), "Amazon RDS event notification
//!   tags and attributes" (RDS user guide) and the aws-samples projects: the SNS record whose
//!   `Sns.Message` is a JSON string with "Event Source", "Source ID", "Event ID", and
//!   sometimes "Source ARN"; see `sns`.
//! - "Using AWS Lambda with Amazon EventBridge (CloudWatch Events)" (Lambda developer guide):
//!   `detail-type` "Scheduled Event", `source` "aws.events".

mod decision;
mod eventbridge;
mod home;
mod json;
mod rds_events;
mod sns;
#[cfg(test)]
mod tests;

use std::fmt;

use offsite_common::logging::json_type;
use offsite_common::snapshot::SnapshotArn;
use serde::Serialize;
use serde_json::{Value, json};

pub use home::Home;
use json::{Obj, key_list};
use rds_events::known_rds_event;

/// What an event asks the exporter to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// A snapshot the event says was created or finished copying: check and maybe copy it.
    Candidate { snapshot: SnapshotArn, origin: EventOrigin },
    /// A scheduled event: sweep recent snapshots.
    Sweep,
    /// An event that is not for the exporter; `reason` says why (logged).
    Ignore { reason: String },
}

/// Which event named a [`Trigger::Candidate`], for logs and the CLI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "origin", rename_all = "kebab-case")]
pub enum EventOrigin {
    /// An RDS event delivered by EventBridge.
    RdsEvent {
        /// Like `RDS-EVENT-0042`.
        event_id: String,
        /// The field the id was told by when the event carries none (`detail.Message`).
        #[serde(skip_serializing_if = "Option::is_none")]
        told_by: Option<String>,
        /// The field whose snapshot identifier was placed in the function's own account and
        /// Region, when the event carries no ARN of the snapshot.
        #[serde(skip_serializing_if = "Option::is_none")]
        named_by: Option<String>,
    },
    /// A completed AWS Backup job delivered by EventBridge.
    BackupJob { job_id: String },
    /// An RDS event notification delivered through SNS; the fields as for
    /// [`EventOrigin::RdsEvent`].
    RdsNotification {
        event_id: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        told_by: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        named_by: Option<String>,
    },
}

/// An event that cannot be any of the types the exporter knows: not a JSON object, or an
/// envelope member of the wrong JSON type. `field` is the JSON path (`detail`,
/// `resources[0]`, `$` for the whole event); `problem` says what is wrong and what was
/// expected.
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
            Self::RdsEvent { event_id, told_by, named_by } => write_rds_event(f, event_id, told_by, named_by, ""),
            Self::RdsNotification { event_id, told_by, named_by } => {
                write_rds_event(f, event_id, told_by, named_by, " (RDS event notification via SNS)")
            }
            Self::BackupJob { job_id } => write!(f, "AWS Backup job {job_id} completed"),
        }
    }
}

fn write_rds_event(
    f: &mut fmt::Formatter<'_>,
    event_id: &str,
    told_by: &Option<String>,
    named_by: &Option<String>,
    via: &str,
) -> fmt::Result {
    match known_rds_event(event_id) {
        Some(known) => write!(f, "{event_id} {}", known.meaning)?,
        None => f.write_str(event_id)?,
    }
    f.write_str(via)?;
    if let Some(field) = told_by {
        write!(f, "; told by {field}: the event carries no event id of its own")?;
    }
    if let Some(field) = named_by {
        write!(f, "; the snapshot named by {field}, in this function's own account and Region")?;
    }
    Ok(())
}

/// Decides what `event` asks for, where the function's own account and Region are not known
/// (tests, tools): a snapshot named only by its identifier is then ignored, with a reason.
/// Never panics, whatever the input.
pub fn classify(event: &Value) -> Result<Trigger, MalformedEvent> {
    classify_in(event, None)
}

/// Decides what `event` asks for; `home` is where the function runs, where a snapshot named
/// only by its identifier is looked for. Never panics, whatever the input.
///
/// Accepted: EventBridge events (RDS DB snapshot and cluster snapshot events, AWS Backup job
/// state changes, scheduled events) and Lambda SNS events carrying one RDS event notification.
/// Anything else that is a JSON object is ignored with a reason.
pub fn classify_in(event: &Value, home: Option<&Home>) -> Result<Trigger, MalformedEvent> {
    let Value::Object(map) = event else {
        return Err(MalformedEvent {
            field: "$".to_owned(),
            problem: format!(
                "the event is {}; expected a JSON object (an EventBridge event or a Lambda SNS event)",
                json_type(event)
            ),
        });
    };
    let root = Obj::root(map);
    if map.contains_key("Records") {
        sns::classify(&root, home)
    } else if map.contains_key("detail-type") {
        eventbridge::classify(&root, home)
    } else {
        Ok(Trigger::Ignore {
            reason: format!(
                "a JSON object that is neither an EventBridge event (no \"detail-type\") nor a Lambda SNS event (no \
                 \"Records\"); its keys: {}",
                key_list(map)
            ),
        })
    }
}
