//! The export job refuses to start on bad configuration, naming the variable.

use std::process::Command;

#[test]
fn missing_bucket_stops_the_start() {
    let output = Command::new(env!("CARGO_BIN_EXE_offsite-dynamo-export"))
        .env_clear()
        .envs([("AWS_REGION", "us-east-1"), ("OFFSITE_EXPORT_SSE", "AES256")])
        .output()
        .expect("the binary runs");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(!output.status.success());
    assert!(text.contains("OFFSITE_EXPORT_BUCKET is not set"), "{text}");
}
