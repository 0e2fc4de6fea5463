//! The hostile-input suite's bookkeeping (`tests/tests/integration/hostile/`): a tally of cases, each
//! rejected with its expected reason or not; the state a case must not change, captured from
//! the accounts themselves before and after each group of cases; and the runners for the
//! processes a case feeds (the `offsite` CLI, a Lambda binary that must not start).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use aws_sdk_sqs::types::QueueAttributeName;
use offsite_common::rds::RdsSnapshots;
use offsite_common::snapshot::SnapshotKind;

use crate::lambda::LambdaFunction;

/// One hostile input and what became of it.
#[derive(Debug, Clone)]
pub struct Case {
    /// The entry point fed: `exporter events`, `importer notices`, `CLI`, ...
    pub entry_point: &'static str,
    pub name: String,
    /// The reason text the case must be rejected with.
    pub expected: String,
    /// What the entry point answered (or printed), shortened.
    pub got: String,
    /// Refused with the expected reason (for an unread payload: unread, and the function did
    /// its scheduled work and nothing more).
    pub rejected_with_reason: bool,
    /// A payload the function never reads (a schedule's): nothing to refuse, so it is
    /// counted apart from the refusals.
    pub unread: bool,
    /// The state differed after the case's group; `changes` says how.
    pub changed: bool,
    pub changes: Vec<String>,
}

/// Every case of the suite.
#[derive(Debug, Default)]
pub struct Tally {
    cases: Vec<Case>,
}

/// Where a group of cases starts in the tally, and the state before it.
#[derive(Debug)]
pub struct Group {
    first: usize,
    before: State,
}

impl Tally {
    /// Records a case: `rejected` says whether it was refused the expected way (the caller
    /// checks the kind of answer); `got` must contain `expected` too.
    pub fn record(&mut self, entry_point: &'static str, name: &str, expected: &str, got: &str, rejected: bool) {
        let shown: String = got.chars().take(600).collect();
        self.cases.push(Case {
            entry_point,
            name: name.to_owned(),
            expected: expected.to_owned(),
            got: shown,
            rejected_with_reason: rejected && !expected.is_empty() && got.contains(expected),
            unread: false,
            changes: Vec::new(),
            changed: false,
        });
    }

    /// Records a payload the function does not read (a scheduled function's): `ignored`
    /// says it logged so and did its scheduled work and nothing more. Counted apart: such a
    /// case refuses nothing, it only shows the payload changes nothing.
    pub fn record_unread(&mut self, entry_point: &'static str, name: &str, expected: &str, got: &str, ignored: bool) {
        self.record(entry_point, name, expected, got, ignored);
        if let Some(case) = self.cases.last_mut() {
            case.unread = true;
        }
    }

    /// Starts a group of cases: captures the state they must leave as it is.
    pub async fn begin(&self, scope: &Scope) -> Group {
        Group { first: self.cases.len(), before: scope.capture().await }
    }

    /// Ends a group: the state now must equal the state before, or every case of the group
    /// counts as having caused the change (the group is the unit of comparison).
    pub async fn end(&mut self, group: Group, scope: &Scope) {
        let changes = group.before.diff(&scope.capture().await);
        if changes.is_empty() {
            return;
        }
        for case in &mut self.cases[group.first..] {
            case.changed = true;
            case.changes.clone_from(&changes);
        }
    }

    pub fn extend(&mut self, other: Tally) {
        self.cases.extend(other.cases);
    }

    pub fn cases(&self) -> &[Case] {
        &self.cases
    }

    /// The cases that had something to refuse.
    pub fn refusals(&self) -> impl Iterator<Item = &Case> {
        self.cases.iter().filter(|c| !c.unread)
    }

    /// The unread payloads.
    pub fn unread(&self) -> impl Iterator<Item = &Case> {
        self.cases.iter().filter(|c| c.unread)
    }

    pub fn rejected_with_reason(&self) -> usize {
        self.refusals().filter(|c| c.rejected_with_reason).count()
    }

    pub fn caused_a_change(&self) -> usize {
        self.refusals().filter(|c| c.changed).count()
    }

    /// Whether every case passed: each refusal refused with its reason, each unread
    /// payload ignored, none changed anything; and there were refusals.
    pub fn all_passed(&self) -> bool {
        self.refusals().count() > 0 && self.cases.iter().all(|c| c.rejected_with_reason && !c.changed)
    }

    /// Cases per entry point.
    pub fn per_entry_point(&self) -> BTreeMap<&'static str, usize> {
        let mut counts = BTreeMap::new();
        for case in &self.cases {
            *counts.entry(case.entry_point).or_default() += 1;
        }
        counts
    }

    /// `hostile: <k> cases, <r> rejected with a reason, <c> caused a change; <u> unread
    /// schedule payloads, <i> ignored, <c> caused a change`.
    pub fn summary(&self) -> String {
        format!(
            "hostile: {} cases, {} rejected with a reason, {} caused a change; {} unread schedule payloads, {} ignored, {} caused a change",
            self.refusals().count(),
            self.rejected_with_reason(),
            self.caused_a_change(),
            self.unread().count(),
            self.unread().filter(|c| c.rejected_with_reason).count(),
            self.unread().filter(|c| c.changed).count(),
        )
    }

    /// One paragraph per case that was not rejected with its reason or changed something.
    pub fn failures(&self) -> Vec<String> {
        self.cases
            .iter()
            .filter(|c| !c.rejected_with_reason || c.changed)
            .map(|c| {
                let mut text = format!("[{}] {}:", c.entry_point, c.name);
                if !c.rejected_with_reason {
                    text.push_str(&format!("\n  expected {:?} in\n  {:?}", c.expected, c.got));
                }
                if c.changed {
                    text.push_str(&format!("\n  its group changed: {:?}", c.changes));
                }
                text
            })
            .collect()
    }
}

/// What a group of cases must not change, and where to read it.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Accounts whose RDS snapshots (both kinds, every type, tags, sharing) are compared.
    pub accounts: Vec<(String, SdkConfig)>,
    /// Queues whose message counts are compared (the vault's queue and its DLQ).
    pub queues: Vec<(SdkConfig, String)>,
    /// A bucket whose objects are compared (the auditor's).
    pub bucket: Option<(SdkConfig, String)>,
    /// An account whose DynamoDB exports are compared.
    pub dynamo: Option<SdkConfig>,
}

/// The state a case must not change: one line per resource, keyed by what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State(BTreeMap<String, String>);

impl State {
    /// What differs from `self` in `after`, one line per resource.
    pub fn diff(&self, after: &State) -> Vec<String> {
        let mut changes = Vec::new();
        for (key, value) in &self.0 {
            match after.0.get(key) {
                None => changes.push(format!("removed {key}")),
                Some(now) if now != value => changes.push(format!("changed {key}: {value} -> {now}")),
                Some(_) => {}
            }
        }
        for (key, value) in &after.0 {
            if !self.0.contains_key(key) {
                changes.push(format!("added {key}: {value}"));
            }
        }
        changes
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The listings that together cover every snapshot an account sees: automated and manual
/// (the API's default), AWS Backup's, and those shared with it.
const LISTINGS: [(SnapshotKind, Option<&str>); 5] = [
    (SnapshotKind::Instance, None),
    (SnapshotKind::Instance, Some("awsbackup")),
    (SnapshotKind::Instance, Some("shared")),
    (SnapshotKind::Cluster, None),
    (SnapshotKind::Cluster, Some("shared")),
];

impl Scope {
    /// Reads the state. A listing that fails is a broken harness: it panics.
    pub async fn capture(&self) -> State {
        let mut state = BTreeMap::new();
        for (account, config) in &self.accounts {
            let rds = RdsSnapshots::new(aws_sdk_rds::Client::new(config));
            for (kind, snapshot_type) in LISTINGS {
                let listed = rds
                    .list(kind, snapshot_type)
                    .await
                    .unwrap_or_else(|e| panic!("list {kind} {snapshot_type:?} snapshots of {account}: {e}"));
                for snapshot in listed {
                    let owned = snapshot.arn.split(':').nth(4) == Some(account.as_str());
                    // Only a manual snapshot of the account can be shared (RDS refuses to share
                    // automated ones; AWS Backup's are shared by copying them).
                    let shared_with = if owned && snapshot.snapshot_type.as_deref() == Some("manual") {
                        let mut accounts = rds
                            .shared_with(kind, &snapshot.identifier)
                            .await
                            .unwrap_or_else(|e| panic!("attributes of {} in {account}: {e}", snapshot.identifier));
                        accounts.sort();
                        accounts.join(",")
                    } else {
                        "-".to_owned()
                    };
                    let value = format!(
                        "type={} encrypted={} key={} shared-with=[{shared_with}] tags={:?}",
                        snapshot.snapshot_type.as_deref().unwrap_or("?"),
                        snapshot.encrypted,
                        snapshot.kms_key_id.as_deref().unwrap_or("-"),
                        snapshot.tags,
                    );
                    state.insert(format!("rds {account} {kind} {}", snapshot.arn), value);
                }
            }
        }
        for (config, queue_url) in &self.queues {
            let attributes = aws_sdk_sqs::Client::new(config)
                .get_queue_attributes()
                .queue_url(queue_url)
                .attribute_names(QueueAttributeName::All)
                .send()
                .await
                .unwrap_or_else(|e| panic!("attributes of {queue_url}: {e:?}"))
                .attributes
                .unwrap_or_default();
            let count = |name: QueueAttributeName| attributes.get(&name).cloned().unwrap_or_default();
            let value = format!(
                "visible={} in-flight={} delayed={}",
                count(QueueAttributeName::ApproximateNumberOfMessages),
                count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
                count(QueueAttributeName::ApproximateNumberOfMessagesDelayed),
            );
            state.insert(format!("sqs {queue_url}"), value);
        }
        if let Some((config, bucket)) = &self.bucket {
            let s3 = aws_sdk_s3::Client::new(config);
            let mut token = None;
            loop {
                let page = s3
                    .list_objects_v2()
                    .bucket(bucket)
                    .set_continuation_token(token)
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("list {bucket}: {e:?}"));
                for object in page.contents() {
                    let value = format!("size={:?} etag={:?}", object.size(), object.e_tag());
                    state.insert(format!("s3 {bucket}/{}", object.key().unwrap_or_default()), value);
                }
                token = page.next_continuation_token().map(str::to_owned);
                if token.is_none() {
                    break;
                }
            }
        }
        if let Some(config) = &self.dynamo {
            let ddb = aws_sdk_dynamodb::Client::new(config);
            let mut token = None;
            loop {
                let page = ddb
                    .list_exports()
                    .set_next_token(token)
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("list DynamoDB exports: {e:?}"));
                for export in page.export_summaries() {
                    state.insert(format!("dynamodb export {}", export.export_arn().unwrap_or_default()), String::new());
                }
                token = page.next_token().map(str::to_owned);
                if token.is_none() {
                    break;
                }
            }
        }
        State(state)
    }
}

/// What a process did.
#[derive(Debug, Clone)]
pub struct Ran {
    /// The exit code; `None` when it had to be killed (still running at the timeout) or
    /// died of a signal.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    /// Both outputs, for matching reasons.
    pub fn output(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// Runs `binary` with `args`, nothing of this process's environment but `PATH` plus `env`,
/// and `stdin`; kills it after `timeout`.
pub fn run_process(binary: &Path, args: &[&str], env: &[(String, String)], stdin: &[u8], timeout: Duration) -> Ran {
    let mut child = Command::new(binary)
        .args(args)
        .env_clear()
        .envs(std::env::var_os("PATH").map(|p| ("PATH".to_owned(), p)))
        .envs(env.iter().cloned())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", binary.display()));
    if let Some(mut input) = child.stdin.take() {
        // A process that exits without reading closes the pipe: not an error here.
        let _ = input.write_all(stdin);
    }
    let read = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut text);
            }
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let stdout = read(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let stderr = read(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let deadline = Instant::now() + timeout;
    let code = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status.code(),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    Ran { code, stdout: stdout.join().unwrap_or_default(), stderr: stderr.join().unwrap_or_default() }
}

/// What a Lambda binary did when started with a bad environment.
#[derive(Debug, Clone)]
pub struct Start {
    pub ran: Ran,
    /// It connected to its Runtime API: it got as far as asking for an event.
    pub asked_for_an_event: bool,
}

/// Starts the Lambda binary `binary` with exactly `env` (plus what Lambda sets) and a
/// Runtime API that accepts connections but never answers, and waits for it to exit.
pub fn start_lambda(binary: &Path, env: &BTreeMap<String, String>, timeout: Duration) -> Start {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a local port for the Runtime API");
    let address = listener.local_addr().expect("its address");
    let name = binary.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    env.extend(
        [
            ("AWS_LAMBDA_RUNTIME_API", address.to_string()),
            ("AWS_LAMBDA_FUNCTION_NAME", name.clone()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256".to_owned()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
            ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}")),
            ("AWS_LAMBDA_LOG_STREAM_NAME", "local".to_owned()),
        ]
        .map(|(k, v)| (k.to_owned(), v)),
    );
    let ran = run_process(binary, &[], &env, b"", timeout);
    listener.set_nonblocking(true).expect("non-blocking listener");
    // A connection made and dropped stays in the accept queue.
    let asked_for_an_event = listener.accept().is_ok();
    Start { ran, asked_for_an_event }
}

/// Waits until `function`'s output holds more than `before` lines containing `needle`
/// (its log lines arrive a moment after its answer); returns the count then. Blocking, like
/// [`LambdaFunction::invoke`].
pub fn wait_for_log(function: &LambdaFunction, needle: &str, before: usize, timeout: Duration) -> usize {
    let deadline = Instant::now() + timeout;
    loop {
        let count = log_count(function, needle);
        if count > before || Instant::now() >= deadline {
            return count;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// How many lines of `function`'s output contain `needle`.
pub fn log_count(function: &LambdaFunction, needle: &str) -> usize {
    function.output().lines().filter(|line| line.contains(needle)).count()
}
