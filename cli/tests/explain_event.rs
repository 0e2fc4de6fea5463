//! `offsite explain-event`: runs the built binary on the payloads in `tests/fixtures/events/`,
//! the one folder of event fixtures (the trigger tests, the harness, the hostile suite and the
//! demo build their events from the same files, through `offsite_common::fixtures`).
//!
//! Every run sets AWS and Offsite variables that would make reading the settings fail, to show
//! that the command needs no configuration (and so makes no AWS call).
//!
//! The published payloads (their sources are in `tests/fixtures/events/README.md`) are each
//! checked for their exact decision: every payload of a type the exporter knows is decided, a candidate or
//! ignored with a reason, and only what can be no such event exits 2.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

fn event_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/events").join(name)
}

/// `offsite` with an environment under which no command could read its AWS settings.
fn offsite() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_offsite"));
    command
        .env("OFFSITE_AWS_MAX_ATTEMPTS", "not-a-number")
        .env("OFFSITE_AWS_ENDPOINT_URL", "not a url")
        .env("AWS_ACCESS_KEY_ID", "")
        .env("AWS_SECRET_ACCESS_KEY", "")
        .env_remove("AWS_PROFILE")
        .env_remove("OFFSITE_LOG");
    command
}

fn explain(file: &str) -> Output {
    offsite().args(["explain-event", file]).output().expect("offsite runs")
}

/// The exporter's function in the account and Region of the published samples.
const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:offsite-exporter";

/// The decision for the fixture `name`, with `args` before the file.
fn decision_of(name: &str, args: &[&str]) -> Value {
    let file = event_file(name);
    let output = offsite()
        .arg("explain-event")
        .args(args)
        .arg(file.to_str().expect("UTF-8 path"))
        .output()
        .expect("offsite runs");
    decision(&output)
}

fn ignored(reason: &str) -> Value {
    json!({ "decision": "ignore", "snapshot_arn": null, "kind": null, "reason": reason })
}

fn candidate(arn: &str, kind: &str, reason: &str) -> Value {
    json!({ "decision": "candidate", "snapshot_arn": arn, "kind": kind, "reason": reason })
}

/// Every fixture a test below explains, to check that none is left without a decision.
const EXPLAINED: &[&str] = &[
    "rds-manual-snapshot-created.json",
    "rds-manual-snapshot-creating.json",
    "backup-job-completed-aurora.json",
    "scheduled-event.json",
    "rds-snapshot-event-with-cluster-arn.json",
    "forged-detail-not-an-object.json",
    "not-json.txt",
    "rds-ug-2020-db-snapshot-deleted-no-event-id.json",
    "rds-ug-2023-db-snapshot-deleted.json",
    "aurora-ug-2020-cluster-snapshot-creating-no-event-id.json",
    "aurora-ug-2023-cluster-snapshot-creating.json",
    "lambda-dg-eventbridge-db-instance-event-no-event-id.json",
    "lambda-dg-scheduled-event.json",
    "lambda-dg-2019-sns-db-instance-notification.json",
    "lambda-dg-2023-sns-db-instance-notification.json",
    "lambda-dg-sns-subscription-text.json",
    "aws-samples-export-pipeline-event.json",
    "aws-samples-export-pipeline-event-aurora.json",
    "aws-samples-export-pipeline-event-named.json",
    "aws-samples-export-pipeline-event-aurora-named.json",
    "eventbridge-sample-db-snapshot-created-instance-arn.json",
    "opengovsg-captured-cluster-snapshot-created.json",
    "backup-dg-backup-job-completed-rds.json",
    "backup-dg-backup-job-running-ebs.json",
    "backup-dg-backup-job-created.json",
    "backup-dg-copy-job-completed-ebs.json",
    "backup-restore-job-completed-rds.json",
];

fn explain_stdin(input: &[u8]) -> Output {
    let mut child = offsite()
        .args(["explain-event", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("offsite starts");
    child.stdin.take().expect("stdin is piped").write_all(input).expect("offsite reads its input");
    child.wait_with_output().expect("offsite runs")
}

/// Exit 0 and one JSON object on stdout.
fn decision(output: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "stdout: {stdout}\nstderr: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_str(&stdout).expect("stdout is one JSON object")
}

/// Exit 2, nothing on stdout, one line on stderr.
fn failure(output: &Output) -> String {
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(output.stdout.is_empty(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    stderr
}

#[test]
fn aws_backups_job_events_are_candidates_only_when_a_backup_job_completed() {
    assert_eq!(
        decision_of("backup-dg-backup-job-completed-rds.json", &[]),
        json!({
            "decision": "candidate",
            "snapshot_arn": "arn:aws:rds:us-west-2:111111111111:snapshot:awsbackup:job-a827233a-d405-4a86-a440-759fa94f34dd",
            "kind": "db-snapshot",
            "reason": "AWS Backup job a827233a-d405-4a86-a440-759fa94f34dd completed",
        })
    );
    for (name, reason) in [
        (
            "backup-dg-backup-job-running-ebs.json",
            "backup job \"B6EC38D2-CB3C-EF0A-F5A4-3CF324EF4945\" is \"RUNNING\": only a COMPLETED job has a snapshot to copy",
        ),
        (
            "backup-dg-backup-job-created.json",
            "backup job \"7e8845b5-ca30-415f-a842-e0152bf4d0ca\" is \"CREATED\": only a COMPLETED job has a snapshot to copy",
        ),
        (
            "backup-dg-copy-job-completed-ebs.json",
            "AWS Backup copy job event: the exporter starts from completed backup jobs, not from copies between backup vaults",
        ),
        (
            "backup-restore-job-completed-rds.json",
            "AWS Backup restore job event: restores create databases, not snapshots to copy",
        ),
    ] {
        let expected = json!({ "decision": "ignore", "snapshot_arn": null, "kind": null, "reason": reason });
        assert_eq!(decision_of(name, &[]), expected, "{name}");
    }
}

#[test]
fn a_manual_snapshot_event_is_a_candidate() {
    let file = event_file("rds-manual-snapshot-created.json");
    assert_eq!(
        decision(&explain(file.to_str().expect("UTF-8 path"))),
        json!({
            "decision": "candidate",
            "snapshot_arn": "arn:aws:rds:us-east-1:123456789012:snapshot:orders-before-migration",
            "kind": "db-snapshot",
            "reason": "RDS-EVENT-0042 manual snapshot created",
        })
    );
}

#[test]
fn a_completed_aurora_backup_job_is_a_candidate() {
    let file = event_file("backup-job-completed-aurora.json");
    assert_eq!(
        decision(&explain(file.to_str().expect("UTF-8 path"))),
        json!({
            "decision": "candidate",
            "snapshot_arn": "arn:aws:rds:us-west-2:111111111111:cluster-snapshot:awsbackup:job-4ece7121-d60e-00c2-5c3b-49960142d03b",
            "kind": "db-cluster-snapshot",
            "reason": "AWS Backup job 4ece7121-d60e-00c2-5c3b-49960142d03b completed",
        })
    );
}

#[test]
fn a_scheduled_event_sweeps() {
    let file = event_file("scheduled-event.json");
    assert_eq!(
        decision(&explain(file.to_str().expect("UTF-8 path"))),
        json!({
            "decision": "sweep",
            "snapshot_arn": null,
            "kind": null,
            "reason": "scheduled event: sweep recent snapshots",
        })
    );
}

#[test]
fn an_ignored_event_exits_zero_with_a_reason() {
    let file = event_file("rds-manual-snapshot-creating.json");
    let report = decision(&explain(file.to_str().expect("UTF-8 path")));
    assert_eq!(report["decision"], "ignore");
    assert_eq!((&report["snapshot_arn"], &report["kind"]), (&Value::Null, &Value::Null));
    let reason = report["reason"].as_str().expect("reason is a string");
    assert!(reason.contains("RDS-EVENT-0040 (creating manual snapshot)"), "{reason}");
}

#[test]
fn standard_input_is_read_with_a_dash() {
    let payload = std::fs::read(event_file("rds-manual-snapshot-created.json")).expect("payload");
    let report = decision(&explain_stdin(&payload));
    assert_eq!(report["decision"], "candidate");
    assert_eq!(report["kind"], "db-snapshot");
    // Any well-formed JSON object is explained, even one that is no AWS event.
    let report = decision(&explain_stdin(br#"{"hello": "world"}"#));
    assert_eq!(report["decision"], "ignore");
}

#[test]
fn input_that_is_not_json_exits_two() {
    let file = event_file("not-json.txt");
    let stderr = failure(&explain(file.to_str().expect("UTF-8 path")));
    assert!(stderr.starts_with("offsite: "), "{stderr}");
    assert!(stderr.contains("not-json.txt is not JSON"), "{stderr}");
    let stderr = failure(&explain_stdin(b"\xff\xfe not even UTF-8"));
    assert!(stderr.contains("standard input is not JSON"), "{stderr}");
}

#[test]
fn an_event_that_can_be_no_known_event_exits_two_naming_the_field() {
    let file = event_file("forged-detail-not-an-object.json");
    let stderr = failure(&explain(file.to_str().expect("UTF-8 path")));
    assert_eq!(stderr, "offsite: malformed event: detail: is a string; expected an object with the event's details\n");
    let stderr = failure(&explain_stdin(b"[1, 2, 3]"));
    assert!(stderr.contains("malformed event: $: "), "{stderr}");
    let stderr = failure(&explain_stdin(br#"{"Records": {"EventSource": "aws:sns"}}"#));
    assert!(stderr.contains("malformed event: Records: is an object; expected a list"), "{stderr}");
}

#[test]
fn a_forged_event_of_a_known_type_is_ignored_naming_the_field() {
    assert_eq!(
        decision_of("rds-snapshot-event-with-cluster-arn.json", &[]),
        ignored(
            "detail.SourceArn: \"arn:aws:rds:us-east-1:123456789012:cluster-snapshot:ledger-manual\" is a DB cluster \
             snapshot (db-cluster-snapshot) ARN, but an RDS DB Snapshot Event is about a DB instance snapshot \
             (db-snapshot); expected arn:<partition>:rds:<region>:<account>:snapshot:<name>"
        )
    );
}

/// The RDS and Aurora user guides' examples, before and after `detail.EventID` existed.
#[test]
fn the_rds_user_guides_snapshot_events_are_decided() {
    let told = " (told by detail.Message: the event carries no event id of its own)";
    assert_eq!(
        decision_of("rds-ug-2020-db-snapshot-deleted-no-event-id.json", &[]),
        ignored(&format!("RDS-EVENT-0041 (deleted user snapshot) does not announce a newly available snapshot{told}"))
    );
    assert_eq!(
        decision_of("rds-ug-2023-db-snapshot-deleted.json", &[]),
        ignored("RDS-EVENT-0041 (deleted user snapshot) does not announce a newly available snapshot")
    );
    assert_eq!(
        decision_of("aurora-ug-2020-cluster-snapshot-creating-no-event-id.json", &[]),
        ignored(&format!(
            "RDS-EVENT-0074 (creating manual cluster snapshot) does not announce a newly available snapshot{told}"
        ))
    );
    assert_eq!(
        decision_of("aurora-ug-2023-cluster-snapshot-creating.json", &[]),
        ignored("RDS-EVENT-0074 (creating manual cluster snapshot) does not announce a newly available snapshot")
    );
}

/// The Lambda developer guide's samples: an EventBridge RDS event, a schedule, and the SNS
/// notification without "Source ARN" (of a DB instance), in both spellings of the page.
#[test]
fn the_lambda_developer_guides_samples_are_decided() {
    assert_eq!(
        decision_of("lambda-dg-eventbridge-db-instance-event-no-event-id.json", &[]),
        ignored("EventBridge event \"RDS DB Instance Event\" from \"aws.rds\" is not one the exporter acts on")
    );
    assert_eq!(decision_of("lambda-dg-scheduled-event.json", &[])["decision"], "sweep");
    for name in ["lambda-dg-2019-sns-db-instance-notification.json", "lambda-dg-2023-sns-db-instance-notification.json"]
    {
        assert_eq!(
            decision_of(name, &[]),
            ignored("RDS event notification from a \"db-instance\" source, not a snapshot"),
            "{name}"
        );
    }
    let text = decision_of("lambda-dg-sns-subscription-text.json", &[]);
    assert_eq!(text["decision"], "ignore");
    let reason = text["reason"].as_str().expect("reason");
    assert!(
        reason.starts_with(
            "SNS message is plain text, not an RDS event notification: \"This is a message to notify that RDS will \
             attempt to send you event notifications"
        ),
        "{reason}"
    );
}

/// aws-samples/rds-snapshot-export-to-s3-pipeline: only "Event Source", "Source ID" and
/// "Event ID". Verbatim, its Source ID is a placeholder; filled in, the snapshot is placed in
/// the function's own account and Region.
#[test]
fn the_aws_samples_notifications_name_a_snapshot_in_the_functions_account() {
    let placeholder = "Records[0].Sns.Message[\"Source ID\"]: \"<SNAPSHOT_NAME>\" is not a snapshot identifier (it \
                       does not start with a letter, after an optional rds: or awsbackup: prefix)";
    for name in ["aws-samples-export-pipeline-event.json", "aws-samples-export-pipeline-event-aurora.json"] {
        assert_eq!(decision_of(name, &["--function-arn", FUNCTION_ARN]), ignored(placeholder), "{name}");
    }
    let by_source_id = "(RDS event notification via SNS); the snapshot named by Records[0].Sns.Message[\"Source \
                        ID\"], in this function's own account and Region";
    assert_eq!(
        decision_of("aws-samples-export-pipeline-event-named.json", &["--function-arn", FUNCTION_ARN]),
        candidate(
            "arn:aws:rds:us-east-1:123456789012:snapshot:rds:orders-2024-05-01-03-10",
            "db-snapshot",
            &format!("RDS-EVENT-0091 automated snapshot created {by_source_id}")
        )
    );
    assert_eq!(
        decision_of("aws-samples-export-pipeline-event-aurora-named.json", &["--function-arn", FUNCTION_ARN]),
        candidate(
            "arn:aws:rds:us-east-1:123456789012:cluster-snapshot:rds:ledger-2024-05-01-04-00",
            "db-cluster-snapshot",
            &format!("RDS-EVENT-0169 automated cluster snapshot created {by_source_id}")
        )
    );
    // Without the function's ARN there is no account to place the snapshot in.
    assert_eq!(
        decision_of("aws-samples-export-pipeline-event-named.json", &[]),
        ignored(
            "Records[0].Sns.Message[\"Source ID\"] \"rds:orders-2024-05-01-03-10\" names the snapshot only by its \
             identifier, and this function's own account and Region are not known, so no ARN can be built for it \
             (offsite explain-event takes them from --function-arn)"
        )
    );
}

/// The "RDS DB Snapshot Event" sample with a DB instance's ARN in SourceArn: its
/// SourceIdentifier names the snapshot, in the function's own account and Region only.
#[test]
fn the_eventbridge_sample_with_an_instance_arn_names_the_snapshot_by_identifier() {
    let name = "eventbridge-sample-db-snapshot-created-instance-arn.json";
    assert_eq!(
        decision_of(name, &["--function-arn", FUNCTION_ARN]),
        candidate(
            "arn:aws:rds:us-east-1:123456789012:snapshot:rds:mysql-instance-2018-10-06-12-24",
            "db-snapshot",
            "RDS-EVENT-0091 automated snapshot created; told by detail.Message: the event carries no event id of its \
             own; the snapshot named by detail.SourceIdentifier, in this function's own account and Region"
        )
    );
    let elsewhere =
        decision_of(name, &["--function-arn", "arn:aws:lambda:us-east-1:111111111111:function:offsite-exporter"]);
    assert_eq!(elsewhere["decision"], "ignore");
    let reason = elsewhere["reason"].as_str().expect("reason");
    assert!(
        reason.ends_with(
            "by detail.SourceArn the event comes from account 123456789012, Region us-east-1, partition aws, not \
             from this function's account 111111111111, Region us-east-1, partition aws: the exporter looks only at \
             its own snapshots"
        ),
        "{reason}"
    );
}

/// A notification as RDS sends it, with "Source ARN" (captured by opengovsg/postmangovsg).
#[test]
fn a_captured_notification_with_a_source_arn_is_a_candidate() {
    let expected = candidate(
        "arn:aws:rds:us-east-2:123456789012:cluster-snapshot:db-instance-aurora",
        "db-cluster-snapshot",
        "RDS-EVENT-0169 automated cluster snapshot created (RDS event notification via SNS)",
    );
    // The ARN is the event's own: the function's account changes nothing (the exporter's
    // describe call refuses a snapshot of another account).
    assert_eq!(decision_of("opengovsg-captured-cluster-snapshot-created.json", &[]), expected);
    assert_eq!(
        decision_of("opengovsg-captured-cluster-snapshot-created.json", &["--function-arn", FUNCTION_ARN]),
        expected
    );
}

#[test]
fn a_function_arn_that_is_none_is_refused_naming_the_value() {
    let file = event_file("rds-manual-snapshot-created.json");
    let output = offsite()
        .args([
            "explain-event",
            "--function-arn",
            "arn:aws:lambda:us-east-1:123456789012:layer:x",
            file.to_str().expect("UTF-8"),
        ])
        .output()
        .expect("offsite runs");
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "\"arn:aws:lambda:us-east-1:123456789012:layer:x\" is not a Lambda function ARN; expected \
                         arn:<partition>:lambda:<region>:<account>:function:<name>"
        ),
        "{stderr}"
    );
}

#[test]
fn every_fixture_has_a_decision() {
    let directory = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/events");
    let readme = std::fs::read_to_string(directory.join("README.md")).expect("the fixtures' README");
    for entry in std::fs::read_dir(&directory).expect("the fixtures") {
        let name = entry.expect("a directory entry").file_name().to_string_lossy().into_owned();
        if name == "README.md" {
            continue;
        }
        assert!(EXPLAINED.contains(&name.as_str()), "{name} has no test of its decision");
        assert!(readme.contains(&format!("`{name}`")), "{name} has no source in tests/fixtures/events/README.md");
    }
}

#[test]
fn an_unreadable_file_exits_two() {
    let file = event_file("no-such-event.json");
    let stderr = failure(&explain(file.to_str().expect("UTF-8 path")));
    assert!(stderr.contains("cannot read") && stderr.contains("no-such-event.json"), "{stderr}");
}

#[test]
fn the_environment_used_here_does_break_commands_that_read_settings() {
    // Guards the premise of the other tests: under this environment `whoami` fails while
    // reading its settings, before any network call.
    let output = offsite().arg("whoami").output().expect("offsite runs");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("OFFSITE_AWS_"), "{stderr}");
}
