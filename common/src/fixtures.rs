//! The event fixtures (`tests/fixtures/events/`, each file's source in its README): the one
//! place the shapes of the payloads AWS delivers are written down. The trigger tests, the
//! test harness, the hostile suite, the demo and `offsite explain-event`'s tests all start
//! from these files and change only the values a case is about (feature `test-support`).

use serde_json::Value;

/// Every JSON fixture, embedded at build time (so the demo needs no checkout at run time).
const FILES: &[(&str, &str)] = &[
    (
        "aurora-ug-2020-cluster-snapshot-creating-no-event-id.json",
        include_str!("../../tests/fixtures/events/aurora-ug-2020-cluster-snapshot-creating-no-event-id.json"),
    ),
    (
        "aurora-ug-2023-cluster-snapshot-creating.json",
        include_str!("../../tests/fixtures/events/aurora-ug-2023-cluster-snapshot-creating.json"),
    ),
    (
        "aws-samples-export-pipeline-event-aurora-named.json",
        include_str!("../../tests/fixtures/events/aws-samples-export-pipeline-event-aurora-named.json"),
    ),
    (
        "aws-samples-export-pipeline-event-aurora.json",
        include_str!("../../tests/fixtures/events/aws-samples-export-pipeline-event-aurora.json"),
    ),
    (
        "aws-samples-export-pipeline-event-named.json",
        include_str!("../../tests/fixtures/events/aws-samples-export-pipeline-event-named.json"),
    ),
    (
        "aws-samples-export-pipeline-event.json",
        include_str!("../../tests/fixtures/events/aws-samples-export-pipeline-event.json"),
    ),
    (
        "backup-dg-backup-job-completed-rds.json",
        include_str!("../../tests/fixtures/events/backup-dg-backup-job-completed-rds.json"),
    ),
    (
        "backup-dg-backup-job-created.json",
        include_str!("../../tests/fixtures/events/backup-dg-backup-job-created.json"),
    ),
    (
        "backup-dg-backup-job-running-ebs.json",
        include_str!("../../tests/fixtures/events/backup-dg-backup-job-running-ebs.json"),
    ),
    (
        "backup-dg-copy-job-completed-ebs.json",
        include_str!("../../tests/fixtures/events/backup-dg-copy-job-completed-ebs.json"),
    ),
    ("backup-job-completed-aurora.json", include_str!("../../tests/fixtures/events/backup-job-completed-aurora.json")),
    (
        "backup-restore-job-completed-rds.json",
        include_str!("../../tests/fixtures/events/backup-restore-job-completed-rds.json"),
    ),
    (
        "eventbridge-sample-db-snapshot-created-instance-arn.json",
        include_str!("../../tests/fixtures/events/eventbridge-sample-db-snapshot-created-instance-arn.json"),
    ),
    ("forged-detail-not-an-object.json", include_str!("../../tests/fixtures/events/forged-detail-not-an-object.json")),
    (
        "lambda-dg-2019-sns-db-instance-notification.json",
        include_str!("../../tests/fixtures/events/lambda-dg-2019-sns-db-instance-notification.json"),
    ),
    (
        "lambda-dg-2023-sns-db-instance-notification.json",
        include_str!("../../tests/fixtures/events/lambda-dg-2023-sns-db-instance-notification.json"),
    ),
    (
        "lambda-dg-eventbridge-db-instance-event-no-event-id.json",
        include_str!("../../tests/fixtures/events/lambda-dg-eventbridge-db-instance-event-no-event-id.json"),
    ),
    ("lambda-dg-scheduled-event.json", include_str!("../../tests/fixtures/events/lambda-dg-scheduled-event.json")),
    (
        "lambda-dg-sns-subscription-text.json",
        include_str!("../../tests/fixtures/events/lambda-dg-sns-subscription-text.json"),
    ),
    (
        "opengovsg-captured-cluster-snapshot-created.json",
        include_str!("../../tests/fixtures/events/opengovsg-captured-cluster-snapshot-created.json"),
    ),
    ("rds-manual-snapshot-created.json", include_str!("../../tests/fixtures/events/rds-manual-snapshot-created.json")),
    (
        "rds-manual-snapshot-creating.json",
        include_str!("../../tests/fixtures/events/rds-manual-snapshot-creating.json"),
    ),
    (
        "rds-snapshot-event-with-cluster-arn.json",
        include_str!("../../tests/fixtures/events/rds-snapshot-event-with-cluster-arn.json"),
    ),
    (
        "rds-ug-2020-db-snapshot-deleted-no-event-id.json",
        include_str!("../../tests/fixtures/events/rds-ug-2020-db-snapshot-deleted-no-event-id.json"),
    ),
    (
        "rds-ug-2023-db-snapshot-deleted.json",
        include_str!("../../tests/fixtures/events/rds-ug-2023-db-snapshot-deleted.json"),
    ),
    ("scheduled-event.json", include_str!("../../tests/fixtures/events/scheduled-event.json")),
];

/// The fixture `name` (a file of `tests/fixtures/events/`), parsed.
pub fn event(name: &str) -> Value {
    let (_, text) = FILES.iter().find(|(file, _)| *file == name).unwrap_or_else(|| panic!("no event fixture {name}"));
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{name} is not JSON: {e}"))
}

/// `event` with the value at `pointer` (RFC 6901, e.g. `/detail/EventID`) replaced; the
/// member must exist, so that a fixture edit cannot silently drop a case's change.
pub fn set(mut event: Value, pointer: &str, value: impl Into<Value>) -> Value {
    let slot = event.pointer_mut(pointer).unwrap_or_else(|| panic!("the fixture has no {pointer}"));
    *slot = value.into();
    event
}

/// `event` without the member at `pointer` (e.g. the published forms without `EventID`).
pub fn remove(mut event: Value, pointer: &str) -> Value {
    let (parent, key) = pointer.rsplit_once('/').unwrap_or_else(|| panic!("{pointer} is not a JSON pointer"));
    let removed = event.pointer_mut(parent).and_then(Value::as_object_mut).and_then(|object| object.remove(key));
    assert!(removed.is_some(), "the fixture has no {pointer}");
    event
}

/// The snapshot's name in its ARN.
fn name_in(arn: &str) -> &str {
    arn.split_once(":snapshot:").or_else(|| arn.split_once(":cluster-snapshot:")).map_or("", |(_, name)| name)
}

/// An "RDS DB Snapshot Event" (`rds-manual-snapshot-created.json`, shaped like the RDS user
/// guide's example) about `arn`, with this event id and message.
pub fn rds_snapshot_event(event_id: &str, message: &str, arn: &str) -> Value {
    snapshot_event(event("rds-manual-snapshot-created.json"), event_id, message, arn)
}

/// An "RDS DB Cluster Snapshot Event" (`aurora-ug-2023-cluster-snapshot-creating.json`, the
/// Aurora user guide's example) about `arn`, with this event id and message.
pub fn rds_cluster_snapshot_event(event_id: &str, message: &str, arn: &str) -> Value {
    snapshot_event(event("aurora-ug-2023-cluster-snapshot-creating.json"), event_id, message, arn)
}

fn snapshot_event(base: Value, event_id: &str, message: &str, arn: &str) -> Value {
    let base = set(base, "/resources", vec![arn]);
    let base = set(base, "/detail/SourceArn", arn);
    let base = set(base, "/detail/SourceIdentifier", name_in(arn));
    let base = set(base, "/detail/EventID", event_id);
    set(base, "/detail/Message", message)
}

/// A "Backup Job State Change" (`backup-dg-backup-job-completed-rds.json`, the AWS Backup
/// developer guide's COMPLETED example) in `state` for `resource_type` (`RDS`, `Aurora`),
/// whose recovery point is `recovery_point`.
pub fn backup_job_event(state: &str, resource_type: &str, recovery_point: &str) -> Value {
    let base = set(event("backup-dg-backup-job-completed-rds.json"), "/resources", vec![recovery_point]);
    let base = set(base, "/detail/state", state);
    set(base, "/detail/resourceType", resource_type)
}

/// A "Scheduled Event" (`scheduled-event.json`) of the rule `rule` in `account` and `region`.
pub fn scheduled_event(account: &str, region: &str, rule: &str) -> Value {
    let base = set(event("scheduled-event.json"), "/account", account);
    let base = set(base, "/region", region);
    set(base, "/resources", vec![format!("arn:aws:events:{region}:{account}:rule/{rule}")])
}

/// A Lambda SNS event (`lambda-dg-2023-sns-db-instance-notification.json`, the Lambda
/// developer guide's RDS example) carrying `message`.
pub fn sns_event(message: &str) -> Value {
    set(event("lambda-dg-2023-sns-db-instance-notification.json"), "/Records/0/Sns/Message", message)
}

/// An RDS event notification as the SNS message carries it (the message of
/// `opengovsg-captured-cluster-snapshot-created.json`, as RDS sends it, with "Source ARN"),
/// from `source` (`db-snapshot`, `db-cluster-snapshot`, ...) about `arn`.
pub fn rds_notification(source: &str, event_id: &str, arn: &str, message: &str) -> String {
    let captured = event("opengovsg-captured-cluster-snapshot-created.json");
    let text = captured.pointer("/Records/0/Sns/Message").and_then(Value::as_str).unwrap_or_default();
    let notification: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("the captured message: {e}"));
    let notification = set(notification, "/Event Source", source);
    let notification = set(notification, "/Source ID", name_in(arn));
    let notification = set(notification, "/Source ARN", arn);
    let link = format!("http://docs.amazonwebservices.com/AmazonRDS/latest/UserGuide/USER_Events.html#{event_id}");
    let notification = set(notification, "/Event ID", link);
    set(notification, "/Event Message", message).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fixture_file_is_embedded_and_json() {
        let directory = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/events");
        for entry in std::fs::read_dir(&directory).expect("the fixtures") {
            let name = entry.expect("an entry").file_name().to_string_lossy().into_owned();
            if name.ends_with(".json") {
                assert!(FILES.iter().any(|(file, _)| *file == name), "{name} is not in FILES");
                let _ = event(&name);
            }
        }
    }

    #[test]
    fn builders_change_only_the_values_they_name() {
        let arn = "arn:aws:rds:us-east-1:123456789012:snapshot:orders-nightly";
        let built = rds_snapshot_event("RDS-EVENT-0091", "Automated snapshot created", arn);
        let mut expected = event("rds-manual-snapshot-created.json");
        expected["resources"] = serde_json::json!([arn]);
        expected["detail"]["SourceArn"] = arn.into();
        expected["detail"]["SourceIdentifier"] = "orders-nightly".into();
        expected["detail"]["EventID"] = "RDS-EVENT-0091".into();
        expected["detail"]["Message"] = "Automated snapshot created".into();
        assert_eq!(built, expected);
        let without = remove(built, "/detail/EventID");
        assert!(without["detail"].get("EventID").is_none());
        let notification: Value =
            serde_json::from_str(&rds_notification("db-snapshot", "RDS-EVENT-0042", arn, "Manual snapshot created"))
                .expect("JSON");
        assert_eq!(notification["Source ARN"], arn);
        assert_eq!(notification["Source ID"], "orders-nightly");
    }
}
