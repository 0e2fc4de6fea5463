//! The event payloads AWS delivers to the functions, for tests and the demo: EventBridge
//! schedules, RDS snapshot events, AWS Backup job state changes (shapes from the
//! EventBridge, RDS and AWS Backup user guides' examples).

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
