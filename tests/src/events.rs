//! The event payloads AWS delivers to the functions, for tests and the demo: EventBridge
//! schedules, RDS snapshot events, AWS Backup job state changes (shapes from the
//! EventBridge, RDS and AWS Backup user guides' examples), and the published forms without an
//! event id or without the snapshot's ARN (`cli/tests/events/README.md` names their sources).

use serde_json::{Value, json};

use crate::REGION;

/// A "Scheduled Event" of the rule `rule` in `account`.
pub fn scheduled(account: &str, rule: &str) -> Value {
    json!({
        "version": "0", "id": "cdc73f9d-aea9-11e3-9d5a-835b769c0d9c", "detail-type": "Scheduled Event",
        "source": "aws.events", "account": account, "time": "2026-11-22T06:00:00Z", "region": REGION,
        "resources": [format!("arn:aws:events:{REGION}:{account}:rule/{rule}")], "detail": {}
    })
}

/// RDS-EVENT-0042 "Manual snapshot created" for the instance snapshot `arn` (`name`).
pub fn manual_snapshot_created(account: &str, arn: &str, name: &str) -> Value {
    json!({
        "version": "0", "id": "844e2571-85d4-695f-b930-0153b71dcb42", "detail-type": "RDS DB Snapshot Event",
        "source": "aws.rds", "account": account, "time": "2026-11-22T03:12:13Z", "region": REGION,
        "resources": [arn],
        "detail": {
            "EventCategories": ["creation"], "SourceType": "SNAPSHOT", "SourceArn": arn,
            "Date": "2026-11-22T03:12:13.882Z", "Message": "Manual snapshot created",
            "SourceIdentifier": name, "EventID": "RDS-EVENT-0042"
        }
    })
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
    json!({
        "version": "0", "id": "dafac799-9b88-0134-26b7-fef4d54a134f", "detail-type": "Backup Job State Change",
        "source": "aws.backup", "account": account, "time": "2026-11-22T05:41:17Z", "region": REGION,
        "resources": [point_arn],
        "detail": {
            "backupJobId": job, "backupVaultName": "Default", "resourceArn": resource_arn,
            "resourceType": resource_type, "state": "COMPLETED", "percentDone": 100
        }
    })
}

/// RDS-EVENT-0042 as the RDS user guide's examples had it before 2021 ("Amazon RDS event
/// examples"): no `detail.EventID`, the event told only by its message.
pub fn manual_snapshot_created_without_event_id(account: &str, arn: &str, name: &str) -> Value {
    let mut event = manual_snapshot_created(account, arn, name);
    if let Some(detail) = event["detail"].as_object_mut() {
        detail.remove("EventID");
    }
    event
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
    json!({ "Records": [{ "EventSource": "aws:sns", "Sns": {
        "Type": "Notification", "MessageId": "00000000-0000-0000-0000-000000000000", "Message": message.to_string()
    }}]})
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
