//! The vault's Lambda binaries refuse to start on bad configuration, naming the variable.

use std::process::Command;

fn start(binary: &str, env: &[(&str, &str)]) -> (bool, String) {
    let output = Command::new(binary).env_clear().envs(env.iter().copied()).output().expect("the binary runs");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

const IMPORTER: &str = env!("CARGO_BIN_EXE_offsite-importer");
const RECONCILER: &str = env!("CARGO_BIN_EXE_offsite-reconciler");
const RETENTION: &str = env!("CARGO_BIN_EXE_offsite-retention");

#[test]
fn importer_and_reconciler_need_region_key_and_allow_list() {
    for binary in [IMPORTER, RECONCILER] {
        let (ok, output) = start(binary, &[]);
        assert!(!ok);
        assert!(output.contains("AWS_REGION is not set"), "{binary}: {output}");
        let (ok, output) = start(
            binary,
            &[("AWS_REGION", "us-east-1"), ("OFFSITE_IMPORT_KEY_ARN", "arn:aws:kms:us-east-1:222222222222:key/k")],
        );
        assert!(!ok);
        assert!(output.contains("OFFSITE_ALLOWED_SOURCES is not set"), "{binary}: {output}");
        let (ok, output) = start(
            binary,
            &[
                ("AWS_REGION", "us-east-1"),
                ("OFFSITE_IMPORT_KEY_ARN", "arn:aws:kms:us-east-1:222222222222:key/k"),
                ("OFFSITE_ALLOWED_SOURCES", "111111111111"),
            ],
        );
        assert!(!ok);
        assert!(output.contains("OFFSITE_ALLOWED_SOURCES=") && output.contains("not that JSON"), "{binary}: {output}");
    }
}

#[test]
fn retention_refuses_a_policy_that_could_delete_everything() {
    let (ok, output) = start(RETENTION, &[("AWS_REGION", "us-east-1"), ("OFFSITE_RETENTION_KEEP_LAST", "0")]);
    assert!(!ok);
    assert!(output.contains("OFFSITE_RETENTION_KEEP_LAST") && output.contains("from 1 to 1000"), "{output}");
    let (ok, output) = start(RETENTION, &[("AWS_REGION", "us-east-1"), ("OFFSITE_RETENTION_MIN_AGE", "1h")]);
    assert!(!ok);
    assert!(output.contains("OFFSITE_RETENTION_MIN_AGE"), "{output}");
}
