//! EventBridge events: RDS snapshot events, AWS Backup job state changes, the schedule.
//!
//! The envelope ("Amazon EventBridge events", EventBridge user guide: `detail-type`, `source`,
//! `account`, `region`, `resources`, `detail`) is the same for every event; a member of it with
//! the wrong JSON type is a [`MalformedEvent`]. Inside `detail` every event is decided.

use offsite_common::snapshot::SnapshotKind;
use serde_json::Value;

use super::decision::{Claim, RdsHint, decide, snapshot_arn};
use super::json::{FieldError, Ignored, Obj, Read, field_error, shown, wrong_type};
use super::{EventOrigin, Home, MalformedEvent, Trigger};

const RDS_SNAPSHOT_EVENT: &str = "RDS DB Snapshot Event";
const RDS_CLUSTER_SNAPSHOT_EVENT: &str = "RDS DB Cluster Snapshot Event";
const BACKUP_JOB_EVENT: &str = "Backup Job State Change";
const COPY_JOB_EVENT: &str = "Copy Job State Change";
const RESTORE_JOB_EVENT: &str = "Restore Job State Change";
const SCHEDULED_EVENT: &str = "Scheduled Event";

/// The envelope's members the exporter reads, their JSON types checked.
struct Envelope<'a> {
    detail_type: &'a str,
    source: Option<&'a str>,
    detail: Option<Obj<'a>>,
    resources: Vec<Read<'a>>,
    account: Option<Read<'a>>,
    region: Option<Read<'a>>,
}

impl<'a> Envelope<'a> {
    fn read(root: &Obj<'a>) -> Result<Self, FieldError> {
        let detail_type = root
            .opt_str("detail-type", "an EventBridge detail type such as \"RDS DB Snapshot Event\"")?
            .ok_or_else(|| {
                field_error(
                    "detail-type",
                    "is null; expected an EventBridge detail type such as \"RDS DB Snapshot Event\"",
                )
            })?;
        let resources = match root.present("resources") {
            None => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, item)| match item {
                    Value::String(arn) => Ok(Read::new(format!("resources[{i}]"), arn.as_str())),
                    other => Err(wrong_type(format!("resources[{i}]"), other, "an ARN string")),
                })
                .collect::<Result<_, _>>()?,
            Some(other) => return Err(wrong_type("resources".to_owned(), other, "a list of ARNs")),
        };
        Ok(Self {
            detail_type,
            source: root.opt_str("source", "an EventBridge source such as \"aws.rds\"")?,
            detail: root.opt_obj("detail", "an object with the event's details")?,
            resources,
            account: root.read("account", "the 12-digit account the event comes from")?,
            region: root.read("region", "the Region the event comes from")?,
        })
    }

    /// `detail`, or the reason why there is nothing to decide on without it.
    fn detail(&self) -> Result<&Obj<'a>, Ignored> {
        self.detail.as_ref().ok_or_else(|| {
            Ignored(format!(
                "detail: missing; without it this {} event says nothing the exporter could act on",
                shown(self.detail_type)
            ))
        })
    }
}

/// An event with a `detail-type`.
pub(super) fn classify(root: &Obj<'_>, home: Option<&Home>) -> Result<Trigger, MalformedEvent> {
    let envelope = Envelope::read(root)?;
    Ok(decide_event(&envelope, home).unwrap_or_else(Trigger::from))
}

fn decide_event(envelope: &Envelope<'_>, home: Option<&Home>) -> Result<Trigger, Ignored> {
    let detail_type = envelope.detail_type;
    let source = envelope.source.map_or_else(|| "no source".to_owned(), shown);
    let expected_source = match detail_type {
        RDS_SNAPSHOT_EVENT | RDS_CLUSTER_SNAPSHOT_EVENT => "aws.rds",
        BACKUP_JOB_EVENT | COPY_JOB_EVENT | RESTORE_JOB_EVENT => "aws.backup",
        SCHEDULED_EVENT => "aws.events",
        other => {
            return Err(Ignored(format!(
                "EventBridge event {} from {source} is not one the exporter acts on",
                shown(other)
            )));
        }
    };
    if envelope.source != Some(expected_source) {
        return Err(Ignored(format!(
            "a {} event from source {source}, not from {expected_source}: not an AWS service event",
            shown(detail_type)
        )));
    }
    match detail_type {
        RDS_SNAPSHOT_EVENT => rds_event(envelope, SnapshotKind::Instance, home),
        RDS_CLUSTER_SNAPSHOT_EVENT => rds_event(envelope, SnapshotKind::Cluster, home),
        BACKUP_JOB_EVENT => backup_job(envelope),
        COPY_JOB_EVENT => Err(Ignored(
            "AWS Backup copy job event: the exporter starts from completed backup jobs, not from copies between \
             backup vaults"
                .to_owned(),
        )),
        RESTORE_JOB_EVENT => {
            Err(Ignored("AWS Backup restore job event: restores create databases, not snapshots to copy".to_owned()))
        }
        SCHEDULED_EVENT => Ok(Trigger::Sweep),
        other => Err(Ignored(format!("EventBridge event {} is not one the exporter acts on", shown(other)))),
    }
}

/// "RDS DB Snapshot Event" / "RDS DB Cluster Snapshot Event".
///
/// "Amazon RDS event examples" (RDS user guide) and the Aurora user guide's "DB cluster snapshot
/// events" example show `detail.EventCategories`, `SourceType` (`SNAPSHOT`,
/// `CLUSTER_SNAPSHOT`), `SourceArn`, `Date`, `Message`, `SourceIdentifier` and, since 2021,
/// `EventID`; the versions of 2020–2021 have no `EventID`, and neither does the EventBridge
/// schema of these events (`aws.rds@RDSDBSnapshotEvent`, as in the CDK's
/// `RDSDBSnapshotEvent`). So the event is told by its id, else by its message; the snapshot
/// by `detail.SourceArn`, else `resources[0]`, else `detail.SourceIdentifier` in the
/// function's own account and Region (the EventBridge sample event for "RDS DB Snapshot Event"
/// has a DB instance's ARN in `SourceArn` and the snapshot's name only in
/// `SourceIdentifier`).
fn rds_event(envelope: &Envelope<'_>, kind: SnapshotKind, home: Option<&Home>) -> Result<Trigger, Ignored> {
    let detail = envelope.detail()?;
    let context = format!("an {}", envelope.detail_type);
    let mut arns: Vec<Read<'_>> = detail.read("SourceArn", "the snapshot's ARN")?.into_iter().collect();
    arns.extend(envelope.resources.first().cloned());
    let expected_type = match kind {
        SnapshotKind::Instance => "SNAPSHOT",
        SnapshotKind::Cluster => "CLUSTER_SNAPSHOT",
    };
    let hint = RdsHint {
        kind,
        event_id: detail.read("EventID", "an RDS event id such as \"RDS-EVENT-0042\"")?,
        event_id_attribute: None,
        message: detail.read("Message", "the event's message")?,
        arns,
        arn_fields: vec![detail.path("SourceArn"), "resources[0]".to_owned()],
        identifier: detail.read("SourceIdentifier", "the snapshot's identifier")?,
        identifier_field: detail.path("SourceIdentifier"),
        source_type: detail.read("SourceType", "an RDS source type such as \"SNAPSHOT\"")?.map(|r| (r, expected_type)),
        claims: vec![Claim::Envelope { account: envelope.account.clone(), region: envelope.region.clone() }],
        context,
    };
    let decided = decide(&hint, home)?;
    let origin = EventOrigin::RdsEvent {
        event_id: decided.event.id,
        told_by: decided.event.told_by,
        named_by: decided.named_by,
    };
    Ok(Trigger::Candidate { snapshot: decided.snapshot, origin })
}

/// "Backup Job State Change" ("Monitoring AWS Backup events using Amazon EventBridge", AWS
/// Backup developer guide): `detail.backupJobId`, `detail.state`, `detail.resourceType`. The
/// example COMPLETED event carries the recovery point's ARN in `resources[0]` and has no
/// `detail.recoveryPointArn`, so both are read.
fn backup_job(envelope: &Envelope<'_>) -> Result<Trigger, Ignored> {
    let detail = envelope.detail()?;
    let job_id = detail.str("backupJobId", "the AWS Backup job id")?;
    let state = detail.str("state", "a backup job state such as \"COMPLETED\"")?;
    if state != "COMPLETED" {
        return Err(Ignored(format!(
            "backup job {} is {}: only a COMPLETED job has a snapshot to copy",
            shown(job_id),
            shown(state)
        )));
    }
    // The ARN decides what was backed up; the type, where it is there, only rules out other
    // services early.
    if let Some(resource_type) = detail.opt_str("resourceType", "an AWS Backup resource type such as \"RDS\"")?
        && !matches!(resource_type, "RDS" | "Aurora")
    {
        return Err(Ignored(format!(
            "backup job {} backed up a {} resource, not RDS or Aurora",
            shown(job_id),
            shown(resource_type)
        )));
    }
    let point = match detail.read("recoveryPointArn", "the recovery point's ARN")? {
        Some(read) => read,
        None => envelope.resources.first().cloned().ok_or_else(|| {
            Ignored(format!(
                "{}: missing, and the event has no resources[0] either; expected the recovery point's RDS snapshot ARN",
                detail.path("recoveryPointArn")
            ))
        })?,
    };
    if is_continuous_recovery_point(point.value) {
        return Err(Ignored(format!(
            "backup job {} produced {}, a continuous-backup (point-in-time) recovery point, not a snapshot",
            shown(job_id),
            shown(point.value)
        )));
    }
    // No kind check against resourceType: the ARN is authoritative, and RDS Multi-AZ DB
    // clusters are backed up as cluster snapshots under the "RDS" resource type.
    let snapshot = snapshot_arn(&point.field, point.value)?;
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
