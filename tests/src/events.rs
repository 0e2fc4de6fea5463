//! The event payloads AWS delivers to the functions, for tests and the demo: EventBridge
//! schedules, RDS snapshot events, AWS Backup job state changes, RDS notifications through
//! SNS, and the published forms without an event id or without the snapshot's ARN. Each
//! starts from a file of `tests/fixtures/events/` (its README names the sources) through
//! `offsite_common::fixtures`, with this harness's accounts and Region.

use offsite_common::fixtures;
use serde_json::{Value, json};

use crate::REGION;

/// A "Scheduled Event" of the rule `rule` in `account`.
pub fn scheduled(account: &str, rule: &str) -> Value {
    fixtures::scheduled_event(account, REGION, rule)
}

/// RDS-EVENT-0042 "Manual snapshot created" for the instance snapshot `arn` (`name`) in
/// `account`.
pub fn manual_snapshot_created(account: &str, arn: &str, name: &str) -> Value {
    let event = fixtures::rds_snapshot_event("RDS-EVENT-0042", "Manual snapshot created", arn);
    let event = fixtures::set(fixtures::set(event, "/account", account), "/region", REGION);
    fixtures::set(event, "/detail/SourceIdentifier", name)
}

/// "Backup Job State Change" COMPLETED for the recovery point `point_arn` of
/// `resource_arn` (`resource_type` `RDS` or `Aurora`).
pub fn backup_job_completed(
    account: &str,
    point_arn: &str,
    resource_arn: &str,
    resource_type: &str,
    job: &str,
) -> Value {
    backup_job(account, "COMPLETED", point_arn, resource_arn, resource_type, job)
}

/// "Backup Job State Change" in `state` for the recovery point `point_arn` of `resource_arn`.
pub fn backup_job(
    account: &str,
    state: &str,
    point_arn: &str,
    resource_arn: &str,
    resource_type: &str,
    job: &str,
) -> Value {
    let event = fixtures::backup_job_event(state, resource_type, point_arn);
    let event = fixtures::set(fixtures::set(event, "/account", account), "/region", REGION);
    fixtures::set(fixtures::set(event, "/detail/resourceArn", resource_arn), "/detail/backupJobId", job)
}

/// RDS-EVENT-0042 as the RDS user guide's examples had it before 2021 ("Amazon RDS event
/// examples"): no `detail.EventID`, the event told only by its message.
pub fn manual_snapshot_created_without_event_id(account: &str, arn: &str, name: &str) -> Value {
    fixtures::remove(manual_snapshot_created(account, arn, name), "/detail/EventID")
}

/// An RDS event notification delivered by SNS in the form of aws-samples/rds-snapshot-export-
/// to-s3-pipeline's `event.json`: a record with only `EventSource` and `Sns`, a message with
/// only "Event Source" (`db-snapshot` or `db-cluster-snapshot`), "Source ID" (the snapshot's
/// identifier, no ARN) and "Event ID" (e.g. `RDS-EVENT-0042`).
pub fn rds_notification_by_source_id(source_type: &str, identifier: &str, event_id: &str) -> Value {
    let message = json!({
        "Event Source": source_type,
        "Source ID": identifier,
        "Event ID": format!("http://docs.amazonwebservices.com/AmazonRDS/latest/UserGuide/USER_Events.html#{event_id}"),
    });
    let event = fixtures::event("aws-samples-export-pipeline-event-named.json");
    fixtures::set(event, "/Records/0/Sns/Message", message.to_string())
}

/// The RDS event EventBridge delivers when the snapshot `arn` of `account` is created (and
/// available): RDS-EVENT-0091 for an automated instance snapshot (`rds:` name), RDS-EVENT-0042
/// for a manual one, RDS-EVENT-0075 for a manual cluster snapshot (RDS user guide, "Amazon
/// RDS event categories and event messages"). AWS Backup's snapshots announce themselves by
/// their job's state change instead ([`backup_job_completed`]).
pub fn snapshot_available(account: &str, arn: &str) -> Value {
    let event = if arn.contains(":cluster-snapshot:") {
        fixtures::rds_cluster_snapshot_event("RDS-EVENT-0075", "Manual cluster snapshot created", arn)
    } else if arn.contains(":snapshot:rds:") {
        fixtures::rds_snapshot_event("RDS-EVENT-0091", "Automated snapshot created", arn)
    } else {
        fixtures::rds_snapshot_event("RDS-EVENT-0042", "Manual snapshot created", arn)
    };
    fixtures::set(fixtures::set(event, "/account", account), "/region", REGION)
}

#[cfg(test)]
mod tests {
    use offsite_exporter::trigger::{Home, Trigger, classify_in};

    use super::*;
    use crate::{REGION, WORKLOAD};

    /// The builders' payloads are decided as the published forms they copy.
    #[test]
    fn the_published_forms_are_candidates_in_the_functions_account() {
        let home = Home::from_function_arn(&format!("arn:aws:lambda:{REGION}:{WORKLOAD}:function:offsite-exporter"))
            .expect("a function ARN");
        let arn = format!("arn:aws:rds:{REGION}:{WORKLOAD}:snapshot:orders-nightly");
        for event in [
            manual_snapshot_created_without_event_id(WORKLOAD, &arn, "orders-nightly"),
            rds_notification_by_source_id("db-snapshot", "orders-nightly", "RDS-EVENT-0042"),
        ] {
            match classify_in(&event, Some(&home)) {
                Ok(Trigger::Candidate { snapshot, .. }) => assert_eq!(snapshot.as_str(), arn, "{event}"),
                other => panic!("{event}: {other:?}"),
            }
        }
    }
}
