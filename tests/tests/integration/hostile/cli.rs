//! The `offsite` CLI.

use super::*;

/// One `offsite` invocation and the refusal it must get.
#[derive(Debug)]
struct CliCase {
    name: &'static str,
    args: Vec<String>,
    env: Vec<(String, String)>,
    stdin: Vec<u8>,
    expected: String,
    /// Refused only after an AWS call; every other case must make none.
    calls_aws: bool,
}

impl CliCase {
    fn new(name: &'static str, args: &[&str], env: &[(String, String)], expected: &str) -> Self {
        let args = args.iter().map(|a| (*a).to_owned()).collect();
        Self { name, args, env: env.to_vec(), stdin: Vec::new(), expected: expected.to_owned(), calls_aws: false }
    }

    fn stdin(mut self, bytes: &[u8]) -> Self {
        self.stdin = bytes.to_vec();
        self
    }

    /// The environment with `name` set to `value`.
    fn set(mut self, name: &str, value: &str) -> Self {
        self.env.retain(|(k, _)| k != name);
        self.env.push((name.to_owned(), value.to_owned()));
        self
    }

    fn calls_aws(mut self) -> Self {
        self.calls_aws = true;
        self
    }
}

/// The `offsite` binary: bad arguments, files and settings. Each exits non-zero with a
/// message naming what is wrong; those refused before any AWS call make none.
pub(super) async fn cli(tally: &mut Tally, scope: &Scope, p: &DeployedPair) {
    const ENTRY: &str = "CLI";
    let offsite = binary("offsite").unwrap_or_else(|e| panic!("{e}"));
    let workload = p.emulator.process_env(&p.workload).await.expect("workload environment");
    let vault = p.emulator.process_env(&p.vault).await.expect("vault environment");
    let events = workspace_root().join("tests/fixtures/events");
    let file = |name: &str| events.join(name).to_string_lossy().into_owned();
    let (not_json, malformed_event, directory) =
        (file("not-json.txt"), file("forged-detail-not-an-object.json"), events.to_string_lossy().into_owned());
    let key = p.export_key.as_str();
    let deep = "[".repeat(100_000);
    let w = |name, args: &[&str], expected: &str| CliCase::new(name, args, &workload, expected);
    let v = |name, args: &[&str], expected: &str| CliCase::new(name, args, &vault, expected);
    let plan_with = ["plan", "--export-key-arn", key];
    let plan = |args: &[&'static str]| joined(&plan_with, args);
    let ddl_with = ["athena-ddl", "--table", "ledger-events", "--bucket", AUDITOR_BUCKET];
    let ddl = |args: &[&'static str]| joined(&ddl_with, args);
    let status = ["status", "--side", "workload"];
    let cases = vec![
        w("no command", &[], "Usage: offsite [OPTIONS] <COMMAND>"),
        w("an unknown command", &["delete-everything"], "unrecognized subcommand 'delete-everything'"),
        w("status without a side", &["status"], "required arguments were not provided:\n  --side <SIDE>"),
        w(
            "status of an unknown side",
            &["status", "--side", "attacker"],
            "invalid value 'attacker' for '--side <SIDE>'",
        ),
        v("verify without an RPO", &["verify"], "required arguments were not provided:\n  --rpo <DURATION>"),
        v(
            "an RPO that is no duration",
            &["verify", "--rpo", "forever"],
            "--rpo=\"forever\" is invalid (no leading number)",
        ),
        v(
            "an RPO with an unknown unit",
            &["verify", "--rpo", "26hours"],
            "--rpo=\"26hours\" is invalid (unknown unit \"hours\")",
        ),
        v("a negative RPO", &["verify", "--rpo", "-1h"], "unexpected argument '-1' found"),
        w(
            "a selection tag without =",
            &plan(&["--selection-tag", "offsite-export"]),
            "--selection-tag \"offsite-export\" is not KEY=VALUE",
        ),
        w(
            "a selection tag without key",
            &plan(&["--selection-tag", "=true"]),
            "--selection-tag \"=true\" is not KEY=VALUE",
        ),
        w(
            "a selection tag without value",
            &plan(&["--selection-tag", "offsite-export="]),
            "--selection-tag \"offsite-export=\" is not KEY=VALUE",
        ),
        w(
            "the pipeline's marker as selection tag",
            &plan(&["--selection-tag", "offsite:managed-by=offsite-export"]),
            "--selection-tag (OFFSITE_SELECTION_TAG_KEY)=\"offsite:managed-by\" is invalid (reserved prefix)",
        ),
        w(
            "a sweep window beyond 35 days",
            &plan(&["--window", "100d"]),
            "--window (OFFSITE_SWEEP_WINDOW)=\"100d\" is invalid",
        ),
        w(
            "an alias as export key",
            &["plan", "--export-key-arn", "alias/aws/rds"],
            "--export-key-arn (OFFSITE_EXPORT_KEY_ARN)=\"alias/aws/rds\" is invalid",
        ),
        w("a plan without export key", &["plan"], "configuration: OFFSITE_EXPORT_KEY_ARN is not set"),
        w(
            "explain a missing file",
            &["explain-event", "/nonexistent/event.json"],
            "cannot read /nonexistent/event.json",
        ),
        w("explain a directory", &["explain-event", &directory], &format!("offsite: cannot read {directory}")),
        w(
            "explain a file that is not JSON",
            &["explain-event", &not_json],
            &format!("offsite: {not_json} is not JSON"),
        ),
        w("explain bytes that are not UTF-8", &["explain-event", "-"], "offsite: standard input is not JSON")
            .stdin(b"\xff\xfe\x00{"),
        w("explain nothing", &["explain-event", "-"], "standard input is not JSON: EOF while parsing"),
        w("explain a deep document", &["explain-event", "-"], "standard input is not JSON: recursion limit exceeded")
            .stdin(deep.as_bytes()),
        w(
            "explain a malformed event",
            &["explain-event", &malformed_event],
            "offsite: malformed event: detail: is a string",
        ),
        w("explain two files", &["explain-event", &not_json, &not_json], "unexpected argument"),
        w("athena-ddl without a table", &["athena-ddl"], "required arguments were not provided:\n  --table <NAME>"),
        w(
            "a sample beyond 1000",
            &ddl(&["--sample", "5000"]),
            "invalid value '5000' for '--sample <N>': 5000 is not in 0..=1000",
        ),
        w(
            "a date that is none",
            &ddl(&["--since", "yesterday"]),
            "--since \"yesterday\" is not a date such as 2024-01-01",
        ),
        w(
            "an account id of two digits",
            &ddl(&["--account", "12"]),
            "--account \"12\" is not a 12-digit AWS account id",
        ),
        w(
            "an account id ending the quote",
            &ddl(&["--account", "1','2"]),
            "--account \"1','2\" is not a 12-digit AWS account id",
        ),
        w(
            "a database name ending the quote",
            &ddl(&["--database", "x`; DROP DATABASE audit; --"]),
            "--database \"x`; DROP DATABASE audit; --\" is not an Athena database name",
        ),
        w(
            "a bucket name ending the quote",
            &["athena-ddl", "--table", "ledger-events", "--bucket", "evil' bucket"],
            "bucket \"evil' bucket\" (--bucket or OFFSITE_EXPORT_BUCKET) is not an S3 bucket name",
        ),
        w(
            "a bucket variable that is none",
            &["athena-ddl", "--table", "ledger-events"],
            "bucket \"Auditor_Exports\" (--bucket or OFFSITE_EXPORT_BUCKET) is not an S3 bucket name",
        )
        .set("OFFSITE_EXPORT_BUCKET", "Auditor_Exports"),
        w(
            "a prefix ending the quote",
            &ddl(&["--prefix", "x'; DROP TABLE t; --"]),
            "prefix \"x'; DROP TABLE t; --\" (--prefix or OFFSITE_EXPORT_PREFIX) is not a key prefix",
        ),
        w(
            "a table name ending the quote",
            &["athena-ddl", "--table", "ledger'--", "--bucket", AUDITOR_BUCKET],
            "--table \"ledger'--\" is not a DynamoDB table name",
        ),
        w(
            "a table that does not exist",
            &["athena-ddl", "--table", "no-such-table", "--bucket", AUDITOR_BUCKET],
            "offsite: DescribeTable no-such-table: ",
        )
        .calls_aws(),
        w(
            "an endpoint that is no URL",
            &["--endpoint-url", "not-a-url", "whoami"],
            "--endpoint-url (OFFSITE_AWS_ENDPOINT_URL)=\"not-a-url\" is invalid (no http:// or https:// scheme)",
        ),
        w("a region that is none", &status, "AWS_REGION=\"mars\" is invalid (not a region name)")
            .set("AWS_REGION", "mars"),
        w("zero attempts per call", &status, "OFFSITE_AWS_MAX_ATTEMPTS=\"0\" is invalid")
            .set("OFFSITE_AWS_MAX_ATTEMPTS", "0"),
        v(
            "an allow-list that is no JSON",
            &["status", "--side", "vault"],
            "OFFSITE_ALLOWED_SOURCES=\"everyone\" is invalid",
        )
        .set("OFFSITE_ALLOWED_SOURCES", "everyone"),
    ];
    let group = tally.begin(scope).await;
    for case in &cases {
        let before = p.emulator.request_counts().expect("request counts").total;
        let args: Vec<&str> = case.args.iter().map(String::as_str).collect();
        let ran = run_process(&offsite, &args, &case.env, &case.stdin, Duration::from_secs(30));
        let requests = p.emulator.request_counts().expect("request counts").total - before;
        let refused = ran.code.is_some_and(|code| code != 0) && (case.calls_aws || requests == 0);
        let got = format!("exit {:?}, {requests} AWS requests: {}", ran.code, ran.output());
        tally.record(ENTRY, case.name, &case.expected, &got, refused);
    }
    tally.end(group, scope).await;
}
