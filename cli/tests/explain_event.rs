//! `offsite explain-event`: runs the built binary on the payloads in `tests/events/`.
//!
//! Every run sets AWS and Offsite variables that would make reading the settings fail, to show
//! that the command needs no configuration (and so makes no AWS call).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

fn event_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests").join("events").join(name)
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
fn a_malformed_event_exits_two_naming_the_field() {
    let file = event_file("rds-snapshot-event-with-cluster-arn.json");
    let stderr = failure(&explain(file.to_str().expect("UTF-8 path")));
    assert!(stderr.starts_with("offsite: malformed event: detail.SourceArn: "), "{stderr}");
    let stderr = failure(&explain_stdin(b"[1, 2, 3]"));
    assert!(stderr.contains("malformed event: $: "), "{stderr}");
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
