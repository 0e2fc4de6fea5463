//! The Lambda binary refuses to start on bad configuration, naming the variable.

use std::process::Command;

fn start(env: &[(&str, &str)]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_offsite-exporter"))
        .env_clear()
        .envs(env.iter().copied())
        .output()
        .expect("the binary runs");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

#[test]
fn missing_export_key_stops_the_start() {
    let (ok, output) = start(&[]);
    assert!(!ok);
    assert!(output.contains("OFFSITE_EXPORT_KEY_ARN is not set"), "{output}");
}

#[test]
fn malformed_setting_stops_the_start_with_the_expected_form() {
    let (ok, output) = start(&[
        ("OFFSITE_EXPORT_KEY_ARN", "arn:aws:kms:us-east-1:111111111111:key/k"),
        ("OFFSITE_MAX_COPIES_IN_FLIGHT", "lots"),
    ]);
    assert!(!ok);
    assert!(
        output.contains("OFFSITE_MAX_COPIES_IN_FLIGHT=\\\"lots\\\"")
            || output.contains("OFFSITE_MAX_COPIES_IN_FLIGHT=\"lots\""),
        "{output}"
    );
    assert!(output.contains("whole number"), "{output}");
}
