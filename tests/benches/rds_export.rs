//! Benchmark: one run of the RDS export function over a vault of many genuine imports from
//! many source databases (20 copies each, a few per week over the lookback), with the
//! account's 5 export slots free, against the emulator with a fixed latency per API call;
//! in the same run a naive baseline (describe each copy, then the export tasks of each copy,
//! one by one). The function runs under its template role.
//!
//! `OFFSITE_BENCH_EXPORT_DATABASES` (default 500), `OFFSITE_BENCH_EXPORT_COPIES_PER_DATABASE`
//! (default 20), `OFFSITE_BENCH_LATENCY_MS` (default 20). Writes `target/bench/rds_export.json`.

use std::time::{Duration, Instant, SystemTime};

use aws_sdk_rds::Client;
use aws_sdk_rds::types::Filter;
use aws_smithy_types::DateTime;
use offsite_rds_export::run::StartResult;
use offsite_tests::fixtures::{db_instance, vault_import};
use offsite_tests::pipeline::Pipeline;
use offsite_tests::{EmulatorOptions, VAULT};

/// The naive exporter's reading: every copy described, then each copy's export tasks.
async fn naive_reading(vault: &Client, identifiers: &[String]) -> usize {
    let mut described = 0;
    for identifier in identifiers {
        let out = vault.describe_db_snapshots().db_snapshot_identifier(identifier).send().await.expect("describe");
        let Some(arn) = out.db_snapshots().first().and_then(|s| s.db_snapshot_arn()) else { continue };
        let filter = Filter::builder().name("source-arn").values(arn).build();
        vault.describe_export_tasks().filters(filter).send().await.expect("export tasks");
        described += 1;
    }
    described
}

#[tokio::main]
async fn main() {
    let databases = offsite_tests::bench::setting("OFFSITE_BENCH_EXPORT_DATABASES", 500);
    let per_database = offsite_tests::bench::setting("OFFSITE_BENCH_EXPORT_COPIES_PER_DATABASE", 20);
    let latency = Duration::from_millis(offsite_tests::bench::setting("OFFSITE_BENCH_LATENCY_MS", 20));
    let copies = databases * per_database;
    let quota = u32::try_from(copies + 100).unwrap_or(u32::MAX);
    let p = Pipeline::start_with(&EmulatorOptions { rds_snapshot_quota: Some(quota), ..Default::default() }).await;
    // The vault's imports, made by its operator: manual snapshots of one PostgreSQL instance
    // with the identifiers and provenance tags the importer gives them, taken a day apart
    // going back from ten days ago (so several closed weeks per database are due).
    db_instance(&p.vault, "bench-source", None).await;
    let now = SystemTime::now();
    let mut identifiers = Vec::new();
    let mut pending = Vec::new();
    for d in 0..databases {
        let database = format!("db-{d:04}");
        for c in 0..per_database {
            let taken = now - Duration::from_secs((10 + c) * 86_400);
            let (vault, database) = (p.vault.clone(), database.clone());
            let n = usize::try_from(c).expect("a count");
            pending.push(tokio::spawn(async move { vault_import(&vault, "bench-source", &database, n, taken).await }));
            if pending.len() >= 16 {
                for task in pending.drain(..) {
                    identifiers.push(task.await.expect("seed import"));
                }
            }
        }
    }
    for task in pending.drain(..) {
        identifiers.push(task.await.expect("seed import"));
    }

    let exporter = p.rds_exporter().await;
    p.emulator.set_latency(latency).expect("latency");
    p.emulator.reset_request_counts().expect("reset");
    offsite_tests::bench::reset_peak_rss();
    let started = Instant::now();
    let report = exporter.run(DateTime::from(SystemTime::now())).await.expect("the run");
    let offsite_wall = started.elapsed().as_secs_f64();
    let peak = offsite_tests::bench::peak_rss_mib();
    let (offsite_calls, offsite_by_action) = offsite_tests::bench::calls_in(&p.emulator, VAULT);
    let started_exports = report.count(&StartResult::Started);
    assert_eq!(started_exports, 5, "the account's five slots are used: {:?}", report.starts);
    let deferred = report
        .periods
        .iter()
        .filter(|v| matches!(v.outcome, offsite_rds_export::plan::Outcome::Deferred { .. }))
        .count();

    p.emulator.reset_request_counts().expect("reset");
    let started = Instant::now();
    let described = naive_reading(&Client::new(&p.vault), &identifiers).await;
    let naive_wall = started.elapsed().as_secs_f64();
    let (naive_calls, naive_by_action) = offsite_tests::bench::calls_in(&p.emulator, VAULT);
    assert_eq!(described as u64, copies);

    let result = serde_json::json!({
        "scenario": "rds_export",
        "profile": if cfg!(debug_assertions) { "dev" } else { "release" },
        "copies": copies,
        "databases": databases,
        "latency_ms": latency.as_millis() as u64,
        "wall_seconds": offsite_wall,
        "api_calls": offsite_calls,
        "api_calls_by_action": offsite_by_action,
        "exports_started": started_exports,
        "periods_deferred": deferred,
        "peak_rss_mib": peak,
        "peak_rss_of": "the bench process (the function run as a library)",
        "baseline": { "wall_seconds": naive_wall, "api_calls": naive_calls, "api_calls_by_action": naive_by_action },
        "ratio_wall": naive_wall / offsite_wall,
        "ratio_calls": naive_calls as f64 / offsite_calls as f64,
    });
    offsite_tests::bench::write_result("rds_export", result);
    println!(
        "bench rds export: {copies} imports of {databases} databases -> {offsite_wall:.1}s, {offsite_calls} calls, \
         {started_exports} started, {deferred} deferred; naive reading {naive_wall:.1}s, {naive_calls} calls"
    );
}
