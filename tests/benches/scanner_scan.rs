//! Benchmark: one scan over many pipeline copies, against the emulator with a fixed latency
//! per API call (the scanner issue's performance target, measured, never asserted in a test).
//!
//! `make bench` runs it; `OFFSITE_BENCH_COPIES` (comma-separated sizes, default
//! `1000,10000`), `OFFSITE_BENCH_DUE` (copies newly available, default 100) and
//! `OFFSITE_BENCH_LATENCY_MS` (default 20) tune it. Each size also runs, in the same emulator
//! and before Offsite's scan, a naive baseline (what common peers do: list, then read the
//! tags and describe each snapshot, share and publish one at a time), with the ratio
//! baseline / Offsite. Offsite's scan is the scanner's binary run as Lambda runs it (the
//! profile of the bench's build), its peak memory that process's. It prints a summary and
//! writes `target/bench/scanner.json`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use aws_sdk_rds::Client;
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use offsite_common::lineage::attempt_identifier;
use offsite_common::snapshot::{Snapshot, SnapshotKind, SnapshotStatus};
use offsite_common::tags;
use offsite_tests::deployed::DeployedPair;
use offsite_tests::events::scheduled;
use offsite_tests::fixtures::{db_instance, db_snapshot, tag};
use offsite_tests::lambda::Outcome;
use offsite_tests::{EmulatorOptions, REGION, VAULT, WORKLOAD};

/// The naive scanner: list every snapshot, then per snapshot read its tags and describe it
/// again; share each due copy and publish one message for it, one call at a time. It
/// changes no tag, so Offsite's scan afterwards finds the same due copies.
async fn naive_scan(rds: &Client, sns: &aws_sdk_sns::Client, topic_arn: &str) -> usize {
    let mut listed = Vec::new();
    let mut marker = None;
    loop {
        let page = rds.describe_db_snapshots().set_marker(marker.take()).send().await.expect("list");
        listed.extend(
            page.db_snapshots()
                .iter()
                .filter_map(|s| Some((s.db_snapshot_arn()?.to_owned(), s.db_snapshot_identifier()?.to_owned()))),
        );
        match page.marker {
            Some(m) => marker = Some(m),
            None => break,
        }
    }
    let mut announced = 0;
    for (arn, identifier) in listed {
        let tags = rds.list_tags_for_resource().resource_name(&arn).send().await.expect("tags");
        let stage = tags.tag_list().iter().find(|t| t.key() == Some(tags::STAGE)).and_then(|t| t.value());
        let described = rds.describe_db_snapshots().db_snapshot_identifier(&identifier).send().await.expect("describe");
        let available = described.db_snapshots().first().and_then(|s| s.status()) == Some("available");
        if stage == Some(tags::STAGE_EXPORTED) && available {
            rds.modify_db_snapshot_attribute()
                .db_snapshot_identifier(&identifier)
                .attribute_name("restore")
                .values_to_add(VAULT)
                .send()
                .await
                .expect("share");
            sns.publish().topic_arn(topic_arn).message(&arn).send().await.expect("publish");
            announced += 1;
        }
    }
    announced
}

#[tokio::main]
async fn main() {
    let sizes: Vec<u64> = std::env::var("OFFSITE_BENCH_COPIES")
        .unwrap_or_else(|_| "1000,10000".to_owned())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let latency = Duration::from_millis(offsite_tests::bench::setting("OFFSITE_BENCH_LATENCY_MS", 20));
    let mut scenarios = Vec::new();
    for copies in sizes {
        scenarios
            .push(scenario(copies, offsite_tests::bench::setting("OFFSITE_BENCH_DUE", 100).min(copies), latency).await);
    }
    offsite_tests::bench::write_result(
        "scanner",
        serde_json::json!({ "scenario": "scanner scan", "sizes": scenarios }),
    );
}

/// One size: seed, naive baseline, Offsite's scan.
async fn scenario(copies: u64, due: u64, latency: Duration) -> serde_json::Value {
    let quota = u32::try_from(copies + 100).unwrap_or(u32::MAX);
    // The pair as the templates deploy it: the scanner runs under its role; the seeding (the
    // state the exporter leaves) and the naive baseline as the workload's operator.
    let options = EmulatorOptions { rds_snapshot_quota: Some(quota), ..Default::default() };
    let pair = DeployedPair::start(&options, &[], &[]).await.unwrap_or_else(|e| panic!("{e}"));
    let (emulator, workload) = (&pair.emulator, &pair.workload);
    let (topic_arn, export_key) = (pair.topic_arn.clone(), pair.export_key.clone());
    db_instance(workload, "orders", None).await;
    db_snapshot(workload, "orders", "orders-source", vec![]).await;

    // Seed: `copies` of the pipeline's copies, all announced a day ago except `due` new ones.
    let started = Instant::now();
    let rds = Client::new(workload);
    let yesterday =
        DateTime::from_secs(DateTime::from(SystemTime::now()).secs() - 86_400).fmt(Format::DateTime).expect("time");
    let mut pending = Vec::new();
    for i in 0..copies {
        let rds = rds.clone();
        let key = export_key.clone();
        let stage = if i < due { tags::STAGE_EXPORTED } else { tags::STAGE_ANNOUNCED };
        // Each copy stands for another source, with the identifier the exporter gives it
        // (the scanner leaves anything else alone).
        let source_name = format!("orders-{i:05}");
        let source_arn = format!("arn:aws:rds:{REGION}:{WORKLOAD}:snapshot:{source_name}");
        let source = Snapshot::bare(SnapshotKind::Instance, source_arn.clone(), source_name, SnapshotStatus::Available);
        let target = attempt_identifier(&source, 1);
        let mut copy_tags =
            vec![tag(tags::MARKER, tags::MARKER_EXPORT), tag(tags::SOURCE_ARN, &source_arn), tag(tags::STAGE, stage)];
        if i >= due {
            copy_tags.push(tag(tags::ANNOUNCED_AT, &yesterday));
        }
        pending.push(tokio::spawn(async move {
            rds.copy_db_snapshot()
                .source_db_snapshot_identifier("orders-source")
                .target_db_snapshot_identifier(target)
                .kms_key_id(key)
                .set_tags(Some(copy_tags))
                .send()
                .await
                .map(drop)
        }));
        offsite_tests::bench::settle(&mut pending, 16, "seed copy").await;
    }
    offsite_tests::bench::settle(&mut pending, 0, "seed copy").await;
    eprintln!("bench: seeded {copies} copies in {:.1}s", started.elapsed().as_secs_f64());

    emulator.set_latency(latency).expect("latency");
    emulator.reset_request_counts().expect("reset counts");
    let naive_started = Instant::now();
    let naive_announced = naive_scan(&rds, &aws_sdk_sns::Client::new(workload), &topic_arn).await;
    let naive_wall = naive_started.elapsed();
    assert_eq!(naive_announced as u64, due, "the baseline must do the same work");
    let naive_counts = emulator.request_counts().expect("counts");
    let naive_calls = naive_counts.counts.iter().filter(|c| c.account == WORKLOAD).map(|c| c.count).sum::<u64>();

    // Offsite's scan: the scanner's binary as Lambda runs it, with its template's environment
    // (the claim settles for the template's ClaimSettle), on its schedule's event.
    let mut function = pair.function("offsite-scanner").unwrap_or_else(|e| panic!("{e}"));
    function.wait_ready(Duration::from_secs(60)).unwrap_or_else(|e| panic!("{e}"));
    let claim_settle =
        pair.function_env("offsite-scanner").ok().and_then(|env| env.get("OFFSITE_CLAIM_SETTLE").cloned());
    emulator.reset_request_counts().expect("reset counts");
    let cpu_before = emulator.cpu_seconds();
    let scan_started = Instant::now();
    let outcome = function.invoke(&scheduled(WORKLOAD, "offsite-scanner"), Duration::from_secs(900)).expect("scan");
    let wall = scan_started.elapsed();
    let emulator_cpu = cpu_before.zip(emulator.cpu_seconds()).map(|(before, after)| after - before);
    let Outcome::Response(report) = outcome else { panic!("the scan failed: {outcome:?}\n{}", function.output()) };
    // Figures of a scan that did not do its job would mean nothing.
    let announced = report["announced"].as_array().map_or(0, Vec::len) as u64;
    assert_eq!(announced, due, "the scan must announce every newly available copy: {}", report["errors"]);
    let peak_mib = function.peak_rss_mib();
    let counts = emulator.request_counts().expect("counts");

    let calls: BTreeMap<String, u64> = counts
        .counts
        .iter()
        .filter(|c| c.account == WORKLOAD)
        .map(|c| (format!("{}:{}", c.service, c.action), c.count))
        .collect();
    let listing = calls.get("rds:DescribeDBSnapshots").copied().unwrap_or(0)
        + calls.get("rds:DescribeDBClusterSnapshots").copied().unwrap_or(0);
    let result = serde_json::json!({
        "scenario": "scanner scan",
        "copies": copies,
        "newly_available": due,
        "announced": announced,
        "latency_ms": latency.as_millis() as u64,
        "wall_seconds": wall.as_secs_f64(),
        "claim_settle": claim_settle,
        "api_calls": counts.total,
        "api_calls_by_action": calls,
        "listing_calls": listing,
        "listing_calls_per_100_copies": listing as f64 * 100.0 / copies as f64,
        "peak_rss_mib": peak_mib,
        "peak_rss_of": "the function process",
        "emulator_cpu_seconds": emulator_cpu,
        "baseline": { "wall_seconds": naive_wall.as_secs_f64(), "api_calls": naive_calls },
        "ratio_wall": naive_wall.as_secs_f64() / wall.as_secs_f64(),
        "ratio_calls": naive_calls as f64 / counts.total as f64,
    });
    println!("bench scanner baseline: {copies} copies -> {:.1}s, {naive_calls} calls", naive_wall.as_secs_f64());
    println!(
        "bench scanner: {copies} copies, {due} due -> {:.1}s wall, {} calls ({listing} listing), peak {:.1} MiB",
        wall.as_secs_f64(),
        counts.total,
        peak_mib.unwrap_or_default()
    );
    result
}
