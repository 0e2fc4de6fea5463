//! Each Lambda binary's configuration.

use super::*;

/// Each Lambda binary with a missing or malformed setting: it exits non-zero before asking
/// for an event, its output names the variable, and the emulator serves it nothing.
pub(super) async fn configuration(tally: &mut Tally, scope: &Scope, p: &DeployedPair) {
    const ENTRY: &str = "configuration";
    // (binary, [(variable, value or unset)]): the error must name the variable.
    type Settings<'a> = &'a [(&'a str, Option<&'a str>)];
    let cases: [(&str, Settings<'_>); 8] = [
        (
            "offsite-exporter",
            &[
                ("OFFSITE_EXPORT_KEY_ARN", None),
                ("OFFSITE_EXPORT_KEY_ARN", Some("alias/offsite-export")),
                ("OFFSITE_SWEEP_WINDOW", Some("forever")),
                ("OFFSITE_MAX_COPIES_IN_FLIGHT", Some("0")),
                ("OFFSITE_SELECTION_TAG_KEY", Some("offsite:managed-by")),
            ],
        ),
        (
            "offsite-scanner",
            &[
                ("OFFSITE_VAULT_ACCOUNT_ID", Some("22222222222")),
                ("OFFSITE_TOPIC_ARN", Some("offsite-announcements")),
                ("OFFSITE_CLAIM_SETTLE", Some("5m")),
                ("OFFSITE_EXPORT_KEY_ARN", None),
            ],
        ),
        (
            "offsite-dynamo-export",
            &[
                ("OFFSITE_EXPORT_BUCKET", Some("Auditor_Exports")),
                ("OFFSITE_EXPORT_BUCKET_OWNER", Some("auditor")),
                ("OFFSITE_EXPORT_SSE", Some("NONE")),
                ("OFFSITE_EXPORT_PERIOD", Some("5m")),
            ],
        ),
        (
            "offsite-importer",
            &[
                ("OFFSITE_ALLOWED_SOURCES", Some("everyone")),
                ("OFFSITE_ALLOWED_SOURCES", Some("[]")),
                ("OFFSITE_IMPORT_KEY_ARN", None),
                ("OFFSITE_MAX_NOTICE_AGE", Some("a week")),
            ],
        ),
        (
            "offsite-reconciler",
            &[
                ("OFFSITE_DR_KEY_ARN", Some("alias/offsite-dr")),
                ("OFFSITE_AWS_MAX_ATTEMPTS", Some("99")),
                ("OFFSITE_AWS_ENDPOINT_URL", Some("ftp://127.0.0.1:1")),
            ],
        ),
        (
            "offsite-retention",
            &[
                ("OFFSITE_RETENTION_MIN_AGE", Some("1h")),
                ("OFFSITE_RETENTION_DRY_RUN", Some("maybe")),
                ("OFFSITE_RETENTION_KEEP_LAST", Some("-1")),
                ("AWS_REGION", Some("not-a-region")),
            ],
        ),
        (
            "offsite-rds-export",
            &[
                ("OFFSITE_RDS_EXPORT_PERIOD", Some("weekly")),
                ("OFFSITE_RDS_EXPORT_ONLY", Some("shop.public.orders")),
                ("OFFSITE_RDS_EXPORT_KEY_ARN", None),
                ("OFFSITE_RDS_EXPORT_MAX_RUNNING", Some("9")),
                ("OFFSITE_RDS_EXPORT_BUCKET", Some("s3://auditor-exports")),
            ],
        ),
        (
            "offsite-restore-test",
            &[
                ("OFFSITE_RESTORE_TEST_SUBNET_GROUP", None),
                ("OFFSITE_RESTORE_TEST_SECURITY_GROUPS", Some("sg-nothex")),
                ("OFFSITE_RESTORE_TEST_EVERY", Some("12h")),
                ("OFFSITE_RESTORE_TEST_PICK", Some("oldest")),
                ("OFFSITE_RESTORE_TEST_INSTANCE_CLASS", Some("huge")),
                ("OFFSITE_RESTORE_TEST_CHECKS", Some(r#"[{"source": "orders; DROP TABLE x", "row_counts": []}]"#)),
                ("OFFSITE_RESTORE_TEST_CA_BUNDLE", Some("global-bundle.pem")),
            ],
        ),
    ];
    let group = tally.begin(scope).await;
    p.emulator.reset_request_counts().expect("reset request counts");
    for (name, settings) in cases {
        let path = binary(name).unwrap_or_else(|e| panic!("{e}"));
        let env: BTreeMap<String, String> = p.function_env(name).unwrap_or_else(|e| panic!("{e}"));
        for (variable, value) in settings {
            let mut env = env.clone();
            match value {
                Some(value) => env.insert((*variable).to_owned(), (*value).to_owned()),
                None => env.remove(*variable),
            };
            let case = format!("{name}: {variable}={}", value.unwrap_or("(unset)"));
            let start = start_lambda(&path, &env, Duration::from_secs(20));
            let requests = p.emulator.request_counts().expect("request counts").total;
            let refused = start.ran.code.is_some_and(|code| code != 0) && !start.asked_for_an_event && requests == 0;
            let got = format!(
                "exit {:?}, asked for an event: {}, AWS requests: {requests}\n{}",
                start.ran.code,
                start.asked_for_an_event,
                start.ran.output()
            );
            tally.record(ENTRY, &case, &format!("configuration: {variable}"), &got, refused);
        }
    }
    tally.end(group, scope).await;
}
