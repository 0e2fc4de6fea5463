//! Benchmark: the exporter's sweep over many selected sources, against the emulator with a
//! fixed latency per API call, and in the same run a naive baseline (what common peers do:
//! list, then one describe and one tag listing per snapshot, one call at a time), with the
//! ratio baseline / Offsite.
//!
//! `OFFSITE_BENCH_SOURCES` (default 1000), `OFFSITE_BENCH_LATENCY_MS` (default 20). Both
//! start the same number of copies (the exporter's in-flight limit, 20); the rest waits for
//! the next sweep. Writes `target/bench/exporter.json`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use aws_sdk_rds::Client;
use aws_smithy_types::DateTime;
use offsite_common::rds::RdsSnapshots;
use offsite_exporter::export::{Exporter, Outcome};
use offsite_exporter::settings::ExporterSettings;
use offsite_tests::deployed::DeployedPair;
use offsite_tests::fixtures::{db_instance, kms_key, tag};
use offsite_tests::{Emulator, EmulatorOptions, REGION, WORKLOAD};

const IN_FLIGHT: usize = 20;

/// API calls by action since the last reset, in the workload account.
fn calls(emulator: &Emulator) -> (u64, BTreeMap<String, u64>) {
    let counts = emulator.request_counts().expect("counts");
    let by_action = counts
        .counts
        .iter()
        .filter(|c| c.account == WORKLOAD)
        .map(|c| (format!("{}:{}", c.service, c.action), c.count))
        .collect();
    (counts.total, by_action)
}

/// The naive exporter: list every snapshot, then for each one ask for its tags and
/// describe it again, one call at a time; copy the selected ones up to the same limit.
async fn naive_sweep(rds: &Client, export_key: &str) -> usize {
    let mut identifiers = Vec::new();
    let mut marker = None;
    loop {
        let page = rds.describe_db_snapshots().set_marker(marker.take()).send().await.expect("list");
        identifiers.extend(
            page.db_snapshots()
                .iter()
                .filter_map(|s| Some((s.db_snapshot_arn()?.to_owned(), s.db_snapshot_identifier()?.to_owned()))),
        );
        match page.marker {
            Some(m) => marker = Some(m),
            None => break,
        }
    }
    let mut copied = 0;
    for (arn, name) in identifiers {
        let tags = rds.list_tags_for_resource().resource_name(&arn).send().await.expect("tags");
        let selected = tags.tag_list().iter().any(|t| t.key() == Some("offsite-export") && t.value() == Some("true"));
        let described = rds.describe_db_snapshots().db_snapshot_identifier(&name).send().await.expect("describe");
        let available = described.db_snapshots().first().and_then(|s| s.status()) == Some("available");
        if selected && available && copied < IN_FLIGHT {
            rds.copy_db_snapshot()
                .source_db_snapshot_identifier(&name)
                .target_db_snapshot_identifier(format!("naive-{}", name.replace(':', "-")))
                .kms_key_id(export_key)
                .send()
                .await
                .expect("copy");
            copied += 1;
        }
    }
    copied
}

#[tokio::main]
async fn main() {
    let sources = offsite_tests::bench::setting("OFFSITE_BENCH_SOURCES", 1000);
    let latency = Duration::from_millis(offsite_tests::bench::setting("OFFSITE_BENCH_LATENCY_MS", 20));
    let quota = u32::try_from(3 * sources + 100).unwrap_or(u32::MAX);
    // The pair as the templates deploy it: the exporter runs under its role, the seeding and
    // the naive baseline (a script without the pipeline's tags, which that role refuses) as
    // the workload's operator.
    let options = EmulatorOptions { rds_snapshot_quota: Some(quota), ..Default::default() };
    let pair = DeployedPair::start(&options, &[], &[]).await.unwrap_or_else(|e| panic!("{e}"));
    let (emulator, workload, export_key) = (&pair.emulator, &pair.workload, pair.export_key.clone());
    let exporter_role = pair.role_config("offsite-exporter").await.unwrap_or_else(|e| panic!("{e}"));
    let database_key = kms_key(workload, "database").await;
    db_instance(workload, "orders", Some(&database_key)).await;
    let rds = Client::new(workload);
    let seeding = Instant::now();
    let mut pending = Vec::new();
    for i in 0..sources {
        let rds = rds.clone();
        pending.push(tokio::spawn(async move {
            rds.create_db_snapshot()
                .db_instance_identifier("orders")
                .db_snapshot_identifier(format!("orders-{i:05}"))
                .tags(tag("offsite-export", "true"))
                .send()
                .await
                .map(drop)
        }));
        offsite_tests::bench::settle(&mut pending, 16, "seed snapshot").await;
    }
    offsite_tests::bench::settle(&mut pending, 0, "seed snapshot").await;
    eprintln!("bench: seeded {sources} selected snapshots in {:.1}s", seeding.elapsed().as_secs_f64());

    let env: BTreeMap<String, String> = [
        ("OFFSITE_AWS_ENDPOINT_URL", emulator.endpoint()),
        ("AWS_REGION", REGION),
        ("OFFSITE_EXPORT_KEY_ARN", export_key.as_str()),
        ("OFFSITE_MAX_COPIES_IN_FLIGHT", "20"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let exporter = Exporter::new(
        RdsSnapshots::new(Client::new(&exporter_role)),
        ExporterSettings::from_env(&env).expect("settings"),
    );
    emulator.set_latency(latency).expect("latency");

    emulator.reset_request_counts().expect("reset");
    offsite_tests::bench::reset_peak_rss();
    let started = Instant::now();
    let report = exporter.sweep(DateTime::from(SystemTime::now()), false).await.expect("sweep");
    let offsite_wall = started.elapsed().as_secs_f64();
    let peak = offsite_tests::bench::peak_rss_mib();
    let (offsite_calls, offsite_by_action) = calls(emulator);
    assert_eq!(report.count(&Outcome::Copied), IN_FLIGHT, "the sweep fills the in-flight limit");
    assert_eq!(report.count(&Outcome::Deferred) as u64, sources - IN_FLIGHT as u64, "and defers the rest");

    emulator.reset_request_counts().expect("reset");
    let started = Instant::now();
    let naive_copied = naive_sweep(&rds, &export_key).await;
    let naive_wall = started.elapsed().as_secs_f64();
    let (naive_calls, naive_by_action) = calls(emulator);
    assert_eq!(naive_copied, IN_FLIGHT);

    let result = serde_json::json!({
        "scenario": "exporter sweep",
        "sources": sources,
        "latency_ms": latency.as_millis() as u64,
        "copies_started": IN_FLIGHT,
        "wall_seconds": offsite_wall,
        "api_calls": offsite_calls,
        "api_calls_by_action": offsite_by_action,
        "calls_per_source": offsite_calls as f64 / sources as f64,
        "peak_rss_mib": peak,
        "peak_rss_of": "the bench process (the function run as a library)",
        "baseline": {
            "wall_seconds": naive_wall,
            "api_calls": naive_calls,
            "api_calls_by_action": naive_by_action,
        },
        "ratio_wall": naive_wall / offsite_wall,
        "ratio_calls": naive_calls as f64 / offsite_calls as f64,
    });
    offsite_tests::bench::write_result("exporter", result);
    println!(
        "bench exporter: {sources} sources -> {offsite_wall:.1}s, {offsite_calls} calls; naive {naive_wall:.1}s, {naive_calls} calls; ratio {:.1}x time, {:.1}x calls",
        naive_wall / offsite_wall,
        naive_calls as f64 / offsite_calls as f64
    );
}
