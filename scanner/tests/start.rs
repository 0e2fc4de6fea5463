//! The Lambda binary refuses to start on bad configuration, naming the variable.

use std::process::Command;

fn start(env: &[(&str, &str)]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_offsite-scanner"))
        .env_clear()
        .envs(env.iter().copied())
        .output()
        .expect("the binary runs");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

#[test]
fn missing_vault_account_stops_the_start() {
    let (ok, output) = start(&[]);
    assert!(!ok);
    assert!(output.contains("OFFSITE_VAULT_ACCOUNT_ID is not set"), "{output}");
}

#[test]
fn retention_shorter_than_the_reconcile_interval_stops_the_start() {
    let (ok, output) = start(&[
        ("OFFSITE_VAULT_ACCOUNT_ID", "222222222222"),
        ("OFFSITE_TOPIC_ARN", "arn:aws:sns:us-east-1:111111111111:offsite"),
        ("OFFSITE_EXPORT_KEY_ARN", "arn:aws:kms:us-east-1:111111111111:key/k"),
        ("OFFSITE_EXPORT_RETENTION", "12h"),
    ]);
    assert!(!ok);
    assert!(
        output.contains("OFFSITE_EXPORT_RETENTION") && output.contains("OFFSITE_VAULT_RECONCILE_INTERVAL"),
        "{output}"
    );
}
