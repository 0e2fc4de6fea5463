//! The test harness: a private local AWS emulator per test, and the three accounts.
//!
//! [`Emulator::start`] launches `tests/emulator/offsite_emulator.py` (moto in server mode with
//! Offsite's fidelity patches) on a free loopback port and waits until it listens. Each test
//! owns its emulator, so tests are isolated and may run in parallel. The emulator is stopped
//! when the [`Emulator`] is dropped, also when the test panics; and it stops by itself when
//! the test process dies (it watches its parent's pid), so no server outlives a test run.
//!
//! [`Emulator::account`] gives an [`SdkConfig`] for one account through STS AssumeRole, as a
//! real deployment would get role credentials.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_credential_types::Credentials;
use offsite_common::aws::{AwsSettings, load_sdk_config};
use serde::Deserialize;

pub mod bench;
pub mod deployed;
pub mod event_source;
pub mod events;
pub mod faults;
pub mod fixtures;
pub mod hostile;
pub mod iam;
pub mod lambda;
pub mod pipeline;
pub mod stack;

/// The workload account: databases, exporter, scanner, SNS topic.
pub const WORKLOAD: &str = "111111111111";
/// The separated vault account: queue, importer, reconciler, retention.
pub const VAULT: &str = "222222222222";
/// The auditor's account outside the Organization: the DynamoDB export bucket.
pub const AUDITOR: &str = "333333333333";
/// The region every test uses.
pub const REGION: &str = "us-east-1";
/// The role [`Emulator::account`] assumes in every account.
pub const TEST_ROLE: &str = "offsite-test";

/// The ARN of the role whose credentials [`Emulator::account`] gives for `account`, as a
/// resource policy names it (`arn:aws:iam::<account>:role/offsite-test`).
pub fn role_arn(account: &str) -> String {
    format!("arn:aws:iam::{account}:role/{TEST_ROLE}")
}

/// Variable naming the Python interpreter that has the pinned emulator installed.
pub const PYTHON_VAR: &str = "OFFSITE_EMULATOR_PYTHON";
/// How long the emulator may take to start: a cold start imports moto's services.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// What can go wrong with the harness itself (never with the code under test).
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    #[error("the emulator's Python {0} does not exist: run `make venv` (or set {PYTHON_VAR})")]
    PythonMissing(PathBuf),
    #[error("cannot start the emulator: {0}")]
    Spawn(#[source] std::io::Error),
    #[error("the emulator did not become ready: {0}")]
    NotReady(String),
    #[error("emulator control call {path} failed: {message}")]
    Control { path: String, message: String },
    #[error("STS AssumeRole into account {account} failed: {message}")]
    AssumeRole { account: String, message: String },
}

/// The launcher's options that start real database servers (found on the `PATH` and in
/// Debian's directories).
const DATABASE_SERVER_ARGS: &[&str] = &["--postgres-bin", "auto", "--mysql-bin", "auto"];

/// Settings of one emulator process.
#[derive(Debug, Clone, Default)]
pub struct EmulatorOptions {
    /// How long new snapshots, copies and exports stay in progress (`creating`).
    pub copy_delay: Duration,
    /// A fixed latency added to every AWS request (benchmarks).
    pub latency: Duration,
    /// Every account's manual snapshot quotas (DB and DB cluster snapshots, each) per Region,
    /// as the emulator enforces them (RDS's default, 100, when `None`); one account's with
    /// [`Emulator::set_snapshot_quotas`].
    pub rds_snapshot_quota: Option<u32>,
    /// Real database servers behind restored PostgreSQL and MySQL-family databases (the
    /// launcher's `--postgres-bin auto` and `--mysql-bin auto`): Debian's `postgresql-15` and
    /// `mariadb-server`, which `tests/emulator/install-db-servers.sh` installs.
    pub database_servers: bool,
}

/// One real database server of the emulator (`GET /_offsite/rds/postgres` or `…/mysql`).
#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseServer {
    pub kind: String,
    pub identifier: String,
    pub state: String,
    #[serde(default)]
    pub error: Option<String>,
}

/// The emulator's database servers of one engine family and the CA that signed their
/// certificates.
#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseServers {
    pub enabled: bool,
    /// The PEM file of the CA the servers' certificates chain to.
    pub ca_certificate: Option<String>,
    pub servers: Vec<DatabaseServer>,
}

/// What a completed AWS Backup job leaves (see `Emulator::backup_recovery_point`).
#[derive(Debug, Clone, Deserialize)]
pub struct RecoveryPoint {
    pub arn: String,
    pub identifier: String,
    pub backup_job_id: String,
}

/// Credentials of a service session (see `Emulator::service_session`).
#[derive(Debug, Clone, Deserialize)]
pub struct ServiceSession {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    /// The session's ARN, `arn:aws:sts::<account>:assumed-role/<role>/<session>`.
    pub arn: String,
    pub role_arn: String,
}

impl ServiceSession {
    /// As SDK credentials.
    pub fn credentials(&self) -> Credentials {
        Credentials::new(
            &self.access_key_id,
            &self.secret_access_key,
            Some(self.session_token.clone()),
            None,
            "offsite-service-session",
        )
    }

    /// The variables a process gets from the service (`AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`).
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID".to_owned(), self.access_key_id.clone()),
            ("AWS_SECRET_ACCESS_KEY".to_owned(), self.secret_access_key.clone()),
            ("AWS_SESSION_TOKEN".to_owned(), self.session_token.clone()),
        ]
    }
}

/// A snapshot the emulator was told to fail (see `Emulator::failed_snapshots`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
pub struct FailedSnapshot {
    pub account: String,
    pub identifier: String,
    pub arn: String,
    /// The source the copy was made from, for copies failed through `fail_next_copy`.
    pub source_arn: Option<String>,
}

#[derive(Deserialize)]
struct FailedSnapshots {
    snapshots: Vec<FailedSnapshot>,
}

/// A running emulator, private to its owner.
#[derive(Debug)]
pub struct Emulator {
    child: Child,
    endpoint: String,
}

/// Requests the emulator served, by account, service and action.
#[derive(Debug, Clone, Deserialize)]
pub struct RequestCounts {
    pub total: u64,
    pub counts: Vec<RequestCount>,
}

/// One row of [`RequestCounts`].
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct RequestCount {
    pub account: String,
    pub service: String,
    pub action: String,
    pub count: u64,
}

impl RequestCounts {
    /// How many times `account` called `service`'s `action`.
    pub fn of(&self, account: &str, service: &str, action: &str) -> u64 {
        self.counts
            .iter()
            .filter(|c| c.account == account && c.service == service && c.action == action)
            .map(|c| c.count)
            .sum()
    }
}

pub use offsite_common::snapshot::SnapshotKind;

/// The control API's name for a snapshot family.
fn control_kind(kind: SnapshotKind) -> &'static str {
    match kind {
        SnapshotKind::Instance => "instance",
        SnapshotKind::Cluster => "cluster",
    }
}

impl Emulator {
    /// Starts an emulator with default options (no copy delay, no latency).
    pub fn start() -> Result<Self, HarnessError> {
        Self::start_with(&EmulatorOptions::default())
    }

    /// Starts an emulator and waits until it listens.
    pub fn start_with(options: &EmulatorOptions) -> Result<Self, HarnessError> {
        let root = workspace_root();
        let python = std::env::var_os(PYTHON_VAR).map(PathBuf::from).unwrap_or_else(|| root.join(".venv/bin/python"));
        if !python.exists() {
            return Err(HarnessError::PythonMissing(python));
        }
        let mut command = Command::new(&python);
        let mut child = command
            .arg(root.join("tests/emulator/offsite_emulator.py"))
            .args(["--host", "127.0.0.1", "--port", "0"])
            .arg("--copy-delay")
            .arg(options.copy_delay.as_secs_f64().to_string())
            .arg("--latency-ms")
            .arg(options.latency.as_millis().to_string())
            .args(options.rds_snapshot_quota.iter().flat_map(|q| ["--snapshot-quota".to_owned(), q.to_string()]))
            .args(if options.database_servers { DATABASE_SERVER_ARGS } else { &[] })
            .arg("--parent-pid")
            .arg(std::process::id().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(HarnessError::Spawn)?;
        let port = match wait_for_ready(&mut child) {
            Ok(port) => port,
            Err(error) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(error);
            }
        };
        Ok(Self { child, endpoint: format!("http://127.0.0.1:{port}") })
    }

    /// The endpoint to give the SDK, `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The SDK settings that point at this emulator.
    pub fn settings(&self) -> AwsSettings {
        AwsSettings::for_endpoint(&self.endpoint, REGION)
    }

    /// An SDK configuration acting as `account`, with credentials from STS AssumeRole into
    /// `arn:aws:iam::<account>:role/offsite-test`.
    pub async fn account(&self, account: &str) -> Result<SdkConfig, HarnessError> {
        let bootstrap = load_sdk_config(&self.settings())
            .await
            .into_builder()
            .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(
                Credentials::for_tests(),
            ))
            .build();
        let assumed = aws_sdk_sts::Client::new(&bootstrap)
            .assume_role()
            .role_arn(role_arn(account))
            .role_session_name("offsite-test")
            .send()
            .await
            .map_err(|e| HarnessError::AssumeRole {
                account: account.to_owned(),
                message: aws_sdk_sts::error::DisplayErrorContext(e).to_string(),
            })?;
        let credentials = assumed.credentials().ok_or_else(|| HarnessError::AssumeRole {
            account: account.to_owned(),
            message: "no credentials in the response".to_owned(),
        })?;
        let credentials = Credentials::new(
            credentials.access_key_id(),
            credentials.secret_access_key(),
            Some(credentials.session_token().to_owned()),
            None,
            "offsite-test-assume-role",
        );
        Ok(bootstrap
            .into_builder()
            .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(credentials))
            .build())
    }

    /// The environment a process (the `offsite` CLI, a Lambda binary) needs to act as the
    /// account of `config` against this emulator: endpoint, region (the config's, else
    /// [`REGION`]) and credentials.
    pub async fn process_env(&self, config: &SdkConfig) -> Result<Vec<(String, String)>, HarnessError> {
        use aws_credential_types::provider::ProvideCredentials;
        let failed = |message: String| HarnessError::AssumeRole { account: "?".to_owned(), message };
        let provider = config.credentials_provider().ok_or_else(|| failed("no credentials provider".to_owned()))?;
        let credentials = provider.provide_credentials().await.map_err(|e| failed(e.to_string()))?;
        let mut env = vec![
            ("OFFSITE_AWS_ENDPOINT_URL".to_owned(), self.endpoint.clone()),
            ("AWS_REGION".to_owned(), config.region().map_or_else(|| REGION.to_owned(), ToString::to_string)),
            ("AWS_ACCESS_KEY_ID".to_owned(), credentials.access_key_id().to_owned()),
            ("AWS_SECRET_ACCESS_KEY".to_owned(), credentials.secret_access_key().to_owned()),
        ];
        if let Some(token) = credentials.session_token() {
            env.push(("AWS_SESSION_TOKEN".to_owned(), token.to_owned()));
        }
        Ok(env)
    }

    /// Credentials of a session of `role_arn` assumed by the AWS service principal `service`
    /// (`lambda.amazonaws.com`), as the service gives the code it runs under the role: the
    /// emulator admits it only if the role's trust policy allows that service
    /// `sts:AssumeRole` (control call `POST /_offsite/sts/service-session`). The session is
    /// enforced like any session of a role created through the IAM API.
    pub async fn service_session(&self, role_arn: &str, service: &str) -> Result<SdkConfig, HarnessError> {
        let session = self.service_session_credentials(role_arn, service)?;
        Ok(load_sdk_config(&self.settings())
            .await
            .into_builder()
            .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(session.credentials()))
            .build())
    }

    /// The raw credentials of [`Emulator::service_session`].
    pub fn service_session_credentials(&self, role_arn: &str, service: &str) -> Result<ServiceSession, HarnessError> {
        const PATH: &str = "/_offsite/sts/service-session";
        let failed = |message: String| HarnessError::Control { path: PATH.to_owned(), message };
        let session_name = role_arn.rsplit('/').next().unwrap_or("session");
        let body = serde_json::json!({
            "role_arn": role_arn, "service": service, "session_name": session_name, "region": REGION,
        });
        let mut response = ureq::post(format!("{}{PATH}", self.endpoint))
            .config()
            .http_status_as_error(false)
            .build()
            .send_json(&body)
            .map_err(|e| failed(e.to_string()))?;
        let status = response.status();
        let text = response.body_mut().read_to_string().map_err(|e| failed(e.to_string()))?;
        if !status.is_success() {
            let message = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| v["error"].as_str().map(str::to_owned))
                .unwrap_or(text);
            return Err(failed(format!("{status}: {message}")));
        }
        serde_json::from_str(&text).map_err(|e| failed(format!("{e}: {text}")))
    }

    /// CPU time the emulator's process has used so far, in seconds (`utime + stime` of its
    /// `/proc/<pid>/stat`, in Linux's fixed 100 ticks per second): with the same figure before
    /// a run, what the run cost the emulator itself. The emulator serves every request in one
    /// Python process, so when this is near a run's wall time the emulator, not the function,
    /// sets the pace.
    pub fn cpu_seconds(&self) -> Option<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).ok()?;
        // Fields after the command (which may hold spaces), from the third: state, ppid, ...
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let ticks = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<f64>().ok());
        Some((ticks(14)? + ticks(15)?) / 100.0)
    }

    /// Requests served so far (control calls excluded).
    pub fn request_counts(&self) -> Result<RequestCounts, HarnessError> {
        self.control_get("/_offsite/requests")
    }

    /// Zeroes the request counts.
    pub fn reset_request_counts(&self) -> Result<(), HarnessError> {
        self.control_post("/_offsite/requests/reset", &serde_json::json!({})).map(drop)
    }

    /// Changes how long snapshots created from now on stay `creating`.
    pub fn set_copy_delay(&self, delay: Duration) -> Result<(), HarnessError> {
        let body = serde_json::json!({ "copy_delay_seconds": delay.as_secs_f64() });
        self.control_post("/_offsite/config", &body).map(drop)
    }

    /// Changes the latency added to every AWS request.
    pub fn set_latency(&self, latency: Duration) -> Result<(), HarnessError> {
        let millis = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
        self.control_post("/_offsite/config", &serde_json::json!({ "latency_ms": millis })).map(drop)
    }

    /// Makes a snapshot end `failed` instead of `available` when its copy delay is over.
    pub fn fail_snapshot(&self, account: &str, kind: SnapshotKind, identifier: &str) -> Result<(), HarnessError> {
        let body = serde_json::json!({
            "account": account, "region": REGION, "kind": control_kind(kind), "identifier": identifier,
        });
        self.control_post("/_offsite/rds/fail-snapshot", &body).map(drop)
    }

    /// Makes the next copy that `account` makes from `source_arn` end `failed` (after its copy
    /// delay), whenever it is made: which copy fails does not depend on timing.
    pub fn fail_next_copy(&self, account: &str, kind: SnapshotKind, source_arn: &str) -> Result<(), HarnessError> {
        let body = serde_json::json!({
            "account": account, "region": REGION, "kind": control_kind(kind), "source_arn": source_arn,
        });
        self.control_post("/_offsite/rds/fail-next-copy", &body).map(drop)
    }

    /// Sets `account`'s manual snapshot quotas in the harness's Region (`ManualSnapshots`,
    /// `ManualClusterSnapshots`; RDS's default is 100 each): what a Service Quotas increase does.
    pub fn set_snapshot_quotas(&self, account: &str, instance: u32, cluster: u32) -> Result<(), HarnessError> {
        self.set_snapshot_quotas_in(account, REGION, instance, cluster)
    }

    /// The same in `region`.
    pub fn set_snapshot_quotas_in(
        &self,
        account: &str,
        region: &str,
        instance: u32,
        cluster: u32,
    ) -> Result<(), HarnessError> {
        let body = serde_json::json!({
            "account": account, "region": region, "ManualSnapshots": instance, "ManualClusterSnapshots": cluster,
        });
        self.control_post("/_offsite/rds/quotas", &body).map(drop)
    }

    /// Every snapshot the emulator was told to fail, in the order it was marked.
    pub fn failed_snapshots(&self) -> Result<Vec<FailedSnapshot>, HarnessError> {
        self.control_get::<FailedSnapshots>("/_offsite/rds/failed-snapshots").map(|f| f.snapshots)
    }

    /// Creates the `awsbackup:job-…` snapshot a completed AWS Backup job of `resource` (a DB
    /// instance or cluster of `account`) leaves, with the plan's recovery-point `tags`.
    pub fn backup_recovery_point(
        &self,
        account: &str,
        kind: SnapshotKind,
        resource: &str,
        tags: &[(&str, &str)],
    ) -> Result<RecoveryPoint, HarnessError> {
        let tags: serde_json::Map<String, serde_json::Value> =
            tags.iter().map(|(k, v)| ((*k).to_owned(), serde_json::Value::from(*v))).collect();
        let body = serde_json::json!({
            "account": account, "region": REGION, "kind": control_kind(kind), "resource": resource, "tags": tags,
        });
        let answer = self.control_post("/_offsite/backup/recovery-point", &body)?;
        serde_json::from_value(answer).map_err(|e| HarnessError::Control {
            path: "/_offsite/backup/recovery-point".to_owned(),
            message: e.to_string(),
        })
    }

    /// Replaces what the DB instance or cluster `identifier` of `account` holds: `databases`
    /// is the control call's list (`[{"name", "tables": [{"schema"?, "name", "columns":
    /// [{"name", "type"}], "rows": [[...]]}]}]`, schema for PostgreSQL engines only). A
    /// snapshot taken afterwards captures it, copies carry it (tests/emulator/patches/rds_content.py).
    pub fn seed_database(
        &self,
        account: &str,
        kind: SnapshotKind,
        identifier: &str,
        databases: serde_json::Value,
    ) -> Result<(), HarnessError> {
        let body = serde_json::json!({
            "account": account, "region": REGION, "kind": control_kind(kind), "identifier": identifier,
            "databases": databases,
        });
        self.control_post("/_offsite/rds/content", &body).map(drop)
    }

    /// Moves the DynamoDB table `table` of `account` back in time by `by`: the writes the
    /// emulator recorded for its items, its PITR `EarliestRestorableDateTime` and its
    /// `CreationDateTime`, as if all of it had happened `by` earlier. Lets a test write items
    /// "two hours ago" and export a past period (full or incremental) without waiting.
    pub fn backdate_dynamodb_table(&self, account: &str, table: &str, by: Duration) -> Result<(), HarnessError> {
        let body = serde_json::json!({
            "account": account, "region": REGION, "table": table, "seconds": by.as_secs_f64(),
        });
        self.control_post("/_offsite/dynamodb/backdate", &body).map(drop)
    }

    /// The real PostgreSQL servers behind restored databases (an emulator started with
    /// [`EmulatorOptions::database_servers`]).
    pub fn postgres_servers(&self) -> Result<DatabaseServers, HarnessError> {
        self.control_get("/_offsite/rds/postgres")
    }

    /// The real MariaDB servers behind restored MySQL-family databases.
    pub fn mysql_servers(&self) -> Result<DatabaseServers, HarnessError> {
        self.control_get("/_offsite/rds/mysql")
    }

    /// Forgets every resource in every account (moto's reset) and the patches' state.
    pub fn reset(&self) -> Result<(), HarnessError> {
        self.control_post("/moto-api/reset", &serde_json::json!({})).map(drop)
    }

    fn control_get<T: for<'de> Deserialize<'de>>(&self, path: &str) -> Result<T, HarnessError> {
        let failed = |message: String| HarnessError::Control { path: path.to_owned(), message };
        ureq::get(format!("{}{path}", self.endpoint))
            .call()
            .map_err(|e| failed(e.to_string()))?
            .body_mut()
            .read_json()
            .map_err(|e| failed(e.to_string()))
    }

    fn control_post(&self, path: &str, body: &serde_json::Value) -> Result<serde_json::Value, HarnessError> {
        let failed = |message: String| HarnessError::Control { path: path.to_owned(), message };
        let mut response =
            ureq::post(format!("{}{path}", self.endpoint)).send_json(body).map_err(|e| failed(e.to_string()))?;
        let text = response.body_mut().read_to_string().map_err(|e| failed(e.to_string()))?;
        Ok(serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)))
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where the reliability runs leave their summary lines (`make test` prints them at the end,
/// since `cargo test` shows nothing of a passing test).
pub const SUMMARY_DIR: &str = "target/reliability";

/// Prints a run's one-line summary and leaves it in `<root>/target/reliability/<name>.txt`.
pub fn summary_line(name: &str, line: &str) {
    println!("{line}");
    let dir = workspace_root().join(SUMMARY_DIR);
    let written = std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(dir.join(format!("{name}.txt")), format!("{line}\n")));
    if let Err(e) = written {
        eprintln!("cannot leave the summary of {name} in {}: {e}", dir.display());
    }
}

/// The workspace root (this crate lives in `<root>/tests`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

/// Reads the launcher's `OFFSITE_EMULATOR_READY port=<n>` line.
fn wait_for_ready(child: &mut Child) -> Result<u16, HarnessError> {
    let stdout = child.stdout.take().ok_or_else(|| HarnessError::NotReady("no stdout pipe".to_owned()))?;
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let read = BufReader::new(stdout).read_line(&mut line).map(|_| line);
        let _ = sender.send(read);
    });
    let line = match receiver.recv_timeout(START_TIMEOUT) {
        Ok(Ok(line)) => line,
        Ok(Err(e)) => return Err(HarnessError::NotReady(format!("reading its output: {e}"))),
        Err(_) => {
            return Err(HarnessError::NotReady(format!("no ready line within {START_TIMEOUT:?}")));
        }
    };
    line.trim().strip_prefix("OFFSITE_EMULATOR_READY port=").and_then(|port| port.parse().ok()).ok_or_else(|| {
        let status = child.try_wait().ok().flatten();
        HarnessError::NotReady(format!("unexpected first line {line:?} (exit status: {status:?}); its log is above"))
    })
}
