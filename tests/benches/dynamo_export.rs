//! Benchmark: the DynamoDB export job over many selected tables, against the emulator with
//! a fixed latency per API call (the DynamoDB issue's target, measured, never asserted in a
//! test).
//!
//! `make bench` runs it; `OFFSITE_BENCH_TABLES` (default 2500) and
//! `OFFSITE_BENCH_LATENCY_MS` (default 20) tune it. DynamoDB allows 300 exports in flight
//! per account, so one run starts at most 300: the bench measures the first run, then runs
//! again (the emulator's exports complete at once) until every table's export is started,
//! and a last run in which everything is already started. The job is its binary run as
//! Lambda runs it (the profile of the bench's build), its peak memory that process's. Writes
//! `target/bench/dynamodb.json`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use offsite_tests::deployed::{AUDITOR_BUCKET, DeployedPair};
use offsite_tests::events::scheduled;
use offsite_tests::fixtures::dynamo_table;
use offsite_tests::lambda::{LambdaFunction, Outcome};
use offsite_tests::{AUDITOR, Emulator, EmulatorOptions, WORKLOAD};
use serde_json::Value;

const BUCKET: &str = AUDITOR_BUCKET;

/// One measured run of the job's binary: its report, and wall time, outcome counts and API
/// calls by action.
fn measured(emulator: &Emulator, job: &mut LambdaFunction) -> (Value, Value) {
    emulator.reset_request_counts().expect("reset counts");
    let started = Instant::now();
    let outcome = job.invoke(&scheduled(WORKLOAD, "offsite-dynamo-export"), Duration::from_secs(900)).expect("run");
    let wall = started.elapsed().as_secs_f64();
    let Outcome::Response(report) = outcome else { panic!("the run failed: {outcome:?}\n{}", job.output()) };
    let counts = emulator.request_counts().expect("counts");
    let calls: BTreeMap<String, u64> = counts
        .counts
        .iter()
        .filter(|c| c.account == WORKLOAD)
        .map(|c| (format!("{}:{}", c.service, c.action), c.count))
        .collect();
    let figures = serde_json::json!({
        "wall_seconds": wall,
        "started": count(&report, "started"),
        "already_started": count(&report, "already-started"),
        "deferred": count(&report, "deferred"),
        "failed": count(&report, "failed"),
        "api_calls": counts.total,
        "api_calls_by_action": calls,
    });
    (report, figures)
}

/// The tables of a run's report with `result`.
fn count(report: &Value, result: &str) -> usize {
    report["tables"].as_array().map_or(0, |tables| tables.iter().filter(|t| t["result"] == result).count())
}

/// The naive job: list the tables, then per table, one call at a time, read its tags,
/// describe it and its backups, and export the selected ones with PITR (up to the same 300).
async fn naive_run(ddb: &aws_sdk_dynamodb::Client, audit_key: &str) -> usize {
    let mut names = Vec::new();
    let mut start = None;
    loop {
        let page = ddb.list_tables().set_exclusive_start_table_name(start.take()).send().await.expect("list");
        names.extend(page.table_names().iter().cloned());
        match page.last_evaluated_table_name {
            Some(last) => start = Some(last),
            None => break,
        }
    }
    let mut started = 0;
    for name in names {
        let table = ddb.describe_table().table_name(&name).send().await.expect("describe").table.expect("table");
        let arn = table.table_arn().unwrap_or_default().to_owned();
        let tags = ddb.list_tags_of_resource().resource_arn(&arn).send().await.expect("tags");
        let selected = tags.tags().iter().any(|t| t.key() == "offsite-export" && t.value() == "true");
        let backups = ddb.describe_continuous_backups().table_name(&name).send().await.expect("backups");
        let pitr = backups
            .continuous_backups_description()
            .and_then(|d| d.point_in_time_recovery_description())
            .and_then(|p| p.point_in_time_recovery_status())
            == Some(&aws_sdk_dynamodb::types::PointInTimeRecoveryStatus::Enabled);
        if selected && pitr && started < 300 {
            ddb.export_table_to_point_in_time()
                .table_arn(&arn)
                .s3_bucket(BUCKET)
                .s3_bucket_owner(AUDITOR)
                .s3_prefix(format!("offsite/naive/{name}"))
                .s3_sse_algorithm(aws_sdk_dynamodb::types::S3SseAlgorithm::Kms)
                .s3_sse_kms_key_id(audit_key)
                .send()
                .await
                .expect("export");
            started += 1;
        }
    }
    started
}

#[tokio::main]
async fn main() {
    let tables = offsite_tests::bench::setting("OFFSITE_BENCH_TABLES", 2_500);
    let latency = Duration::from_millis(offsite_tests::bench::setting("OFFSITE_BENCH_LATENCY_MS", 20));
    // The stacks as deployed: the job runs under its template role; the seeding and the
    // naive baseline as the workload's operator.
    let pair = DeployedPair::start(&EmulatorOptions::default(), &[], &[]).await.unwrap_or_else(|e| panic!("{e}"));
    let (emulator, workload) = (&pair.emulator, &pair.workload);
    let audit_key = pair.audit_key.clone();

    let seeding = Instant::now();
    let mut pending = Vec::new();
    for i in 0..tables {
        let workload = workload.clone();
        pending.push(tokio::spawn(async move {
            dynamo_table(&workload, &format!("table-{i:05}"), true, true, 1).await;
            Ok::<(), String>(())
        }));
        offsite_tests::bench::settle(&mut pending, 16, "seed table").await;
    }
    offsite_tests::bench::settle(&mut pending, 0, "seed table").await;
    eprintln!("bench: seeded {tables} tables in {:.1}s", seeding.elapsed().as_secs_f64());
    // Let the PITR windows open past the export moment.
    tokio::time::sleep(Duration::from_millis(2500)).await;

    // The job's binary as Lambda runs it (the bench's profile), with its template's
    // environment; started and initialised before the counts (its start asks STS who it is).
    let mut job = pair.function("offsite-dynamo-export").unwrap_or_else(|e| panic!("{e}"));
    job.wait_ready(Duration::from_secs(60)).unwrap_or_else(|e| panic!("{e}"));
    let concurrency = pair
        .function_env("offsite-dynamo-export")
        .ok()
        .and_then(|env| env.get(offsite_dynamo::settings::CONCURRENCY_VAR).cloned())
        .unwrap_or_else(|| "16 (the default)".to_owned());
    emulator.set_latency(latency).expect("latency");

    let (first, first_figures) = measured(emulator, &mut job);
    assert_eq!(first["tables"].as_array().map_or(0, Vec::len) as u64, tables, "every table checked");
    assert_eq!(count(&first, "started"), 300.min(tables as usize), "the first run fills the in-flight limit");
    let mut runs = vec![first_figures];
    let mut started = count(&first, "started");
    let all_started = Instant::now();
    while (started as u64) < tables {
        let (report, figures) = measured(emulator, &mut job);
        assert!(count(&report, "started") > 0, "a run must make progress: {figures}");
        started += count(&report, "started");
        runs.push(figures);
    }
    let rest_wall = all_started.elapsed().as_secs_f64();
    let (rerun, rerun_figures) = measured(emulator, &mut job);
    assert_eq!(count(&rerun, "already-started") as u64, tables, "a rerun in the slot starts nothing");
    // VmHWM only grows: the process's peak over all its runs.
    let peak_mib = job.peak_rss_mib();

    // The naive baseline, same emulator: one table at a time, a describe per table.
    emulator.reset_request_counts().expect("reset counts");
    let naive_started = Instant::now();
    let naive_exports = naive_run(&aws_sdk_dynamodb::Client::new(workload), &audit_key).await;
    let naive_wall = naive_started.elapsed().as_secs_f64();
    let naive_calls = emulator
        .request_counts()
        .expect("counts")
        .counts
        .iter()
        .filter(|c| c.account == WORKLOAD)
        .map(|c| c.count)
        .sum::<u64>();
    assert_eq!(naive_exports, 300.min(tables as usize), "the baseline starts as many exports as the first run");

    let first_calls = &runs[0]["api_calls_by_action"];
    let listing = first_calls["dynamodb:ListTables"].as_u64().unwrap_or(0);
    let result = serde_json::json!({
        "scenario": "dynamodb export job",
        "tables": tables,
        "latency_ms": latency.as_millis() as u64,
        "concurrency": concurrency,
        "first_run": runs[0],
        "listing_calls_per_100_tables": listing as f64 * 100.0 / tables as f64,
        "runs_to_start_every_table": runs.len(),
        "wall_seconds_of_the_later_runs": rest_wall,
        "rerun_in_the_slot": rerun_figures,
        "baseline": { "wall_seconds": naive_wall, "api_calls": naive_calls, "exports_started": naive_exports },
        "ratio_wall": naive_wall / runs[0]["wall_seconds"].as_f64().unwrap_or(1.0),
        "ratio_calls": naive_calls as f64 / runs[0]["api_calls"].as_f64().unwrap_or(1.0),
        "peak_rss_mib": peak_mib,
        "peak_rss_of": "the function process, over all its runs",
    });
    offsite_tests::bench::write_result("dynamodb", result);
    println!(
        "bench dynamodb: {tables} tables -> first run {:.1}s ({} started, {} calls, {listing} listing), {} runs to start all, rerun {:.1}s",
        runs[0]["wall_seconds"].as_f64().unwrap_or_default(),
        runs[0]["started"],
        runs[0]["api_calls"],
        runs.len(),
        rerun_figures["wall_seconds"].as_f64().unwrap_or_default(),
    );
}
