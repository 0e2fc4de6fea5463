//! The hostile-input suite, at every entry point of the pipeline: the exporter's events, the
//! importer's notices (and the SQS events carrying them), the schedules of the exporter,
//! scanner, reconciler, retention and DynamoDB job, the `offsite` CLI, and each Lambda
//! binary's configuration. Each case must be refused with its own reason (the text the code
//! gives for exactly that problem, not just any error) and change nothing: the snapshots of
//! both kinds and every type in the workload, vault and auditor accounts with their tags and
//! sharing, the vault's queue and dead-letter queue, the auditor's bucket and the DynamoDB
//! exports are read before and after each group of cases and must be equal. A schedule-driven
//! function reads nothing from its event: a crafted payload must make it do no more than a
//! plain schedule does (the state is converged first, so that is nothing), and it logs that
//! the event's content was not read.
//!
//! One test per entry point, each on its own emulator: the importer's notices, the exporter's
//! events with the schedules (the schedules run over the state the events left), the CLI, the
//! binaries' configuration. Each fails naming its own cases; when all four have run, the suite
//! prints one line, `hostile: <k> cases, <r> rejected with a reason, <c> caused a change`
//! (r = k and c = 0 when every part passed).
//!
//! Needs the binaries built (`cargo build --workspace --bins`; `make test` does it first).

mod cli;
mod configuration;
mod exporter;
mod notices;

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use aws_sdk_rds::Client;
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use offsite_common::fixtures;
use offsite_common::lineage::vault_identifier;
use offsite_common::logging::EVENT_NOT_READ;
use offsite_common::notice::{NOTICE_VERSION, Notice};
use offsite_common::snapshot::{Snapshot, SnapshotStatus};
use offsite_common::tags;
use offsite_tests::deployed::{AUDITOR_BUCKET, DeployedPair};
use offsite_tests::event_source::sqs_event;
use offsite_tests::events::{self, scheduled};
use offsite_tests::fixtures::{
    db_cluster, db_cluster_snapshot, db_instance, db_snapshot, dynamo_table, kms_key, share_snapshot, tag, wait_for,
};
use offsite_tests::hostile::{Scope, Tally, log_count, run_process, start_lambda, wait_for_log};
use offsite_tests::lambda::{LambdaFunction, Outcome, binary};
use offsite_tests::pipeline::{Pipeline, SELECTED, sns_envelope};
use offsite_tests::{AUDITOR, EmulatorOptions, REGION, SnapshotKind, VAULT, WORKLOAD, workspace_root};
use serde_json::{Value, json};

const INVOKE_TIMEOUT: Duration = Duration::from_secs(60);
/// An account that is none of the three.
const STRANGER: &str = "444444444444";

/// The parts of the suite, one test each; the summary line counts them all.
const PARTS: [&str; 4] = ["importer notices", "exporter events and schedules", "CLI", "configuration"];

/// The tallies of the parts that have finished, in this test process.
static FINISHED: Mutex<BTreeMap<&str, Tally>> = Mutex::new(BTreeMap::new());

/// Records a part's tally (the last part to finish writes the suite's summary line), then
/// fails the part's test unless each of its cases was refused with its reason and changed
/// nothing.
fn finish(part: &'static str, tally: Tally) {
    let (passed, summary, failures) = (tally.all_passed(), tally.summary(), tally.failures().join("\n"));
    let per_entry_point = tally.per_entry_point();
    let whole = {
        let mut finished = FINISHED.lock().unwrap_or_else(PoisonError::into_inner);
        finished.insert(part, tally);
        (finished.len() == PARTS.len()).then(|| {
            let mut whole = Tally::default();
            for (_, part) in std::mem::take(&mut *finished) {
                whole.extend(part);
            }
            whole
        })
    };
    if let Some(whole) = whole {
        offsite_tests::summary_line("hostile", &whole.summary());
    }
    assert!(passed, "{part}: {summary}\ncases per entry point: {per_entry_point:?}\n{failures}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_notices_and_sqs_events_are_rejected_with_their_reasons_and_change_nothing() {
    finish(PARTS[0], notices::importer_notices().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_exporter_events_and_schedule_payloads_are_refused_or_unread_and_change_nothing() {
    let (p, scope) = deployed().await;
    let mut tally = Tally::default();
    let mut exporter = p.function("offsite-exporter").unwrap_or_else(|e| panic!("{e}"));
    let sources = sources(&p, &mut exporter).await;
    exporter::exporter_events(&mut tally, &scope, &mut exporter, &sources).await;
    exporter::schedules(&mut tally, &scope, &p, &mut exporter, &sources).await;
    finish(PARTS[1], tally);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_cli_arguments_files_and_settings_are_refused_and_change_nothing() {
    let (p, scope) = deployed().await;
    let mut tally = Tally::default();
    cli::cli(&mut tally, &scope, &p).await;
    finish(PARTS[2], tally);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_configuration_stops_each_binary_naming_the_variable_and_changes_nothing() {
    let (p, scope) = deployed().await;
    let mut tally = Tally::default();
    configuration::configuration(&mut tally, &scope, &p).await;
    finish(PARTS[3], tally);
}

fn now() -> DateTime {
    DateTime::from(SystemTime::now())
}

fn rfc3339(t: DateTime) -> String {
    t.fmt(Format::DateTime).expect("time")
}

// ---------------------------------------------------------------------------------------
// The deployed shape: events, schedules, CLI, configuration

/// The sources in the workload account the hostile events point at.
#[derive(Debug)]
struct Sources {
    /// Selected, available, never exported: what a forged event would get copied.
    nightly: String,
    /// Not selected.
    scratch: String,
    /// Selected and exported (by a genuine event) before the cases.
    weekly: String,
    /// The exporter's copy of `weekly`.
    weekly_copy: String,
    /// An AWS Backup recovery point of `orders`, selected, never exported.
    recovery_point: String,
    backup_job: String,
    /// A selected Aurora cluster snapshot, never exported.
    ledger: String,
    /// A snapshot made to look like one of the pipeline's copies (marker, lineage).
    impostor: String,
}

/// The deployed pair a part runs on, and the state its cases must not change.
async fn deployed() -> (DeployedPair, Scope) {
    let p = DeployedPair::start(&EmulatorOptions::default(), &[("ClaimSettle", "0s")], &[])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // The DynamoDB job's table first: point-in-time recovery needs a moment to be usable.
    dynamo_table(&p.workload, "ledger-events", true, true, 3).await;
    let scope = Scope {
        accounts: vec![
            (WORKLOAD.to_owned(), p.workload.clone()),
            (VAULT.to_owned(), p.vault.clone()),
            (AUDITOR.to_owned(), p.auditor.clone()),
        ],
        queues: vec![(p.vault.clone(), p.queue_url.clone()), (p.vault.clone(), p.dead_letter_queue_url.clone())],
        bucket: Some((p.auditor.clone(), AUDITOR_BUCKET.to_owned())),
        dynamo: Some(p.workload.clone()),
    };
    (p, scope)
}

async fn sources(p: &DeployedPair, exporter: &mut LambdaFunction) -> Sources {
    let selected = || vec![tag(SELECTED.0, SELECTED.1)];
    db_instance(&p.workload, "orders", None).await;
    let arn = |s: aws_sdk_rds::types::DbSnapshot| s.db_snapshot_arn.expect("ARN");
    let nightly = arn(db_snapshot(&p.workload, "orders", "orders-nightly", selected()).await);
    let scratch = arn(db_snapshot(&p.workload, "orders", "orders-scratch", vec![]).await);
    let weekly = arn(db_snapshot(&p.workload, "orders", "orders-weekly", selected()).await);
    let point = p
        .emulator
        .backup_recovery_point(WORKLOAD, SnapshotKind::Instance, "orders", &[SELECTED])
        .unwrap_or_else(|e| panic!("{e}"));
    let ledger_key = kms_key(&p.workload, "ledger").await;
    db_cluster(&p.workload, "ledger", Some(&ledger_key)).await;
    let ledger = db_cluster_snapshot(&p.workload, "ledger", "ledger-nightly", selected())
        .await
        .db_cluster_snapshot_arn
        .expect("ARN");
    let impostor_tags =
        vec![tag(tags::MARKER, tags::MARKER_EXPORT), tag(tags::SOURCE_ARN, &nightly), tag(SELECTED.0, SELECTED.1)];
    let impostor =
        arn(db_snapshot(&p.workload, "orders", "offsite-orders-nightly-0000000000000000", impostor_tags).await);
    let rds = offsite_common::rds::RdsSnapshots::new(Client::new(&p.workload));
    wait_for("the sources to be available", Duration::from_secs(30), || async {
        let mut all = Vec::new();
        for (kind, snapshot_type) in
            [(SnapshotKind::Instance, None), (SnapshotKind::Instance, Some("awsbackup")), (SnapshotKind::Cluster, None)]
        {
            all.extend(rds.list(kind, snapshot_type).await.ok()?);
        }
        (all.len() >= 6 && all.iter().all(|s| s.status == SnapshotStatus::Available)).then_some(())
    })
    .await;
    // A genuine event exports `weekly`: the exporter does copy what it should.
    let event = rds_event("RDS DB Snapshot Event", "aws.rds", "RDS-EVENT-0042", &weekly);
    let report = response(exporter, &event);
    let copy = report["items"][0]["copy_identifier"].as_str().map(str::to_owned);
    assert_eq!(report["items"][0]["outcome"], "copied", "{report:#}");
    let weekly_copy = format!("arn:aws:rds:{REGION}:{WORKLOAD}:snapshot:{}", copy.expect("copy identifier"));
    Sources {
        nightly,
        scratch,
        weekly,
        weekly_copy,
        recovery_point: point.arn,
        backup_job: point.backup_job_id,
        ledger,
        impostor,
    }
}

/// Invokes and insists on a response.
fn response(function: &mut LambdaFunction, event: &Value) -> Value {
    match function.invoke(event, INVOKE_TIMEOUT) {
        Ok(Outcome::Response(response)) => response,
        Ok(Outcome::Error { error_type, message }) => {
            panic!("the function answered an error {error_type}: {message}\n{}", function.output())
        }
        Err(e) => panic!("{e}"),
    }
}

/// What a function answered, as text for matching reasons.
enum Answer {
    Response(Value),
    Error(String),
}

impl Answer {
    fn of(function: &mut LambdaFunction, event: &Value) -> Self {
        match function.invoke(event, INVOKE_TIMEOUT) {
            Ok(Outcome::Response(response)) => Self::Response(response),
            Ok(Outcome::Error { error_type, message }) => Self::Error(format!("{error_type}: {message}")),
            // The process died: a hostile event must never do that.
            Err(e) => panic!("{e}"),
        }
    }

    /// Object keys sorted, whether or not serde_json keeps their order (its `preserve_order`
    /// feature, which a workspace-wide build turns on).
    fn text(&self) -> String {
        fn sorted(value: &Value) -> Value {
            match value {
                Value::Object(map) => {
                    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                    entries.sort_by(|a, b| a.0.cmp(b.0));
                    Value::Object(entries.into_iter().map(|(k, v)| (k.clone(), sorted(v))).collect())
                }
                Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
                other => other.clone(),
            }
        }
        match self {
            Self::Response(value) => sorted(value).to_string(),
            Self::Error(message) => message.clone(),
        }
    }
}

/// An "RDS DB Snapshot Event" (the fixture) of `detail_type` from `source` about `arn`.
fn rds_event(detail_type: &str, source: &str, event_id: &str, arn: &str) -> Value {
    let event = events::manual_snapshot_created(WORKLOAD, arn, arn.rsplit(':').next().unwrap_or_default());
    let event = fixtures::set(event, "/detail/EventID", event_id);
    fixtures::set(fixtures::set(event, "/detail-type", detail_type), "/source", source)
}

/// "Backup Job State Change" (the fixture) in `state` for the recovery point `point_arn`.
fn backup_event(state: &str, resource_type: &str, point_arn: &str, job: &str) -> Value {
    let orders = format!("arn:aws:rds:{REGION}:{WORKLOAD}:db:orders");
    events::backup_job(WORKLOAD, state, point_arn, &orders, resource_type, job)
}

/// A Lambda SNS event with one message, from the workload's topic (the fixture).
fn sns_event(message: &str) -> Value {
    let topic = format!("arn:aws:sns:{REGION}:{WORKLOAD}:rds-events");
    let event = fixtures::set(fixtures::sns_event(message), "/Records/0/Sns/TopicArn", topic.clone());
    fixtures::set(event, "/Records/0/EventSubscriptionArn", format!("{topic}:21be56ed-a058-49f5"))
}

/// An RDS event notification as the SNS message carries it (the fixture), "Source ID" `orders`.
fn rds_notification(source: &str, event_id: &str, arn: &str) -> String {
    let message: Value =
        serde_json::from_str(&fixtures::rds_notification(source, event_id, arn, "Manual snapshot created"))
            .expect("a notification");
    fixtures::set(message, "/Source ID", "orders").to_string()
}

/// How the exporter must answer a hostile event.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// `{"ignored": <reason>}`: not an event it acts on.
    Ignored,
    /// The invocation fails with `malformed event: <field>: <problem>`.
    Malformed,
    /// It looked the snapshot up and copied nothing: every item says why.
    NotCopied,
}

/// Whether `answer` is the kind of refusal `expect` names; its text for the reason.
fn judge(expect: Expect, answer: &Answer) -> (bool, String) {
    match (expect, answer) {
        (Expect::Ignored, Answer::Response(value)) => match value["ignored"].as_str() {
            // One readable line, however large the event.
            Some(reason) => (reason.len() < 1000 && !reason.contains('\n'), reason.to_owned()),
            None => (false, answer.text()),
        },
        (Expect::Malformed, Answer::Error(message)) => {
            (message.contains("malformed event: ") && message.len() < 1500, message.clone())
        }
        (Expect::NotCopied, Answer::Response(value)) => {
            let items = value["items"].as_array().cloned().unwrap_or_default();
            let copied = items.iter().any(|i| i["outcome"] == "copied");
            (!items.is_empty() && !copied, answer.text())
        }
        _ => (false, answer.text()),
    }
}

/// `first` then `rest`.
fn joined<'a>(first: &[&'a str], rest: &[&'a str]) -> Vec<&'a str> {
    [first, rest].concat()
}
