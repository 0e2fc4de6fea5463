//! Benchmark: the importer over many notices in SQS batches of 10, against the emulator with
//! a fixed latency per API call, and in the same run a naive baseline (per notice, one call
//! at a time: describe the shared snapshot, read its tags, copy it), with the ratio
//! baseline / Offsite. The notices are real: the scanner shares and announces the copies.
//! Offsite's side is the importer's binary run as Lambda runs it (the profile of the bench's
//! build), its peak memory that process's.
//!
//! `OFFSITE_BENCH_NOTICES` (default 1000), `OFFSITE_BENCH_LATENCY_MS` (default 20). Writes
//! `target/bench/importer.json`.

use std::time::{Duration, Instant, SystemTime};

use aws_sdk_rds::Client;
use aws_smithy_types::DateTime;
use offsite_common::lineage::attempt_identifier;
use offsite_common::notice::Notice;
use offsite_common::snapshot::{Snapshot, SnapshotKind, SnapshotStatus};
use offsite_common::tags;
use offsite_tests::event_source::sqs_event_json;
use offsite_tests::fixtures::{db_snapshot, tag};
use offsite_tests::lambda::Outcome;
use offsite_tests::pipeline::Pipeline;
use offsite_tests::{EmulatorOptions, REGION, VAULT, WORKLOAD};

/// The naive importer: per notice, describe the shared snapshot, read its tags, copy it.
async fn naive_import(vault: &Client, notices: &[Notice], import_key: &str) -> usize {
    let mut copied = 0;
    for notice in notices {
        let arn = notice.copy_arn.to_string();
        let described = vault
            .describe_db_snapshots()
            .db_snapshot_identifier(&arn)
            .include_shared(true)
            .snapshot_type("shared")
            .send()
            .await
            .expect("describe");
        if described.db_snapshots().is_empty() {
            continue;
        }
        vault.list_tags_for_resource().resource_name(&arn).send().await.expect("tags");
        let name = arn.rsplit(':').next().unwrap_or_default();
        vault
            .copy_db_snapshot()
            .source_db_snapshot_identifier(&arn)
            .target_db_snapshot_identifier(format!("naive-{name}"))
            .kms_key_id(import_key)
            .send()
            .await
            .expect("copy");
        copied += 1;
    }
    copied
}

#[tokio::main]
async fn main() {
    let notices = offsite_tests::bench::setting("OFFSITE_BENCH_NOTICES", 1000);
    let latency = Duration::from_millis(offsite_tests::bench::setting("OFFSITE_BENCH_LATENCY_MS", 20));
    let quota = u32::try_from(3 * notices + 100).unwrap_or(u32::MAX);
    let p = Pipeline::start_with(&EmulatorOptions { rds_snapshot_quota: Some(quota), ..Default::default() }).await;
    db_snapshot(&p.workload, "orders", "orders-source", vec![]).await;
    // The exporter's copies (genuine identifiers), then a real scan: shared and announced.
    let rds = Client::new(&p.workload);
    let mut pending = Vec::new();
    for i in 0..notices {
        let (rds, key) = (rds.clone(), p.export_key.clone());
        let name = format!("orders-{i:05}");
        let source_arn = format!("arn:aws:rds:{REGION}:{WORKLOAD}:snapshot:{name}");
        let source = Snapshot::bare(SnapshotKind::Instance, source_arn.clone(), name, SnapshotStatus::Available);
        let copy_tags = vec![
            tag(tags::MARKER, tags::MARKER_EXPORT),
            tag(tags::SOURCE_ARN, &source_arn),
            tag(tags::STAGE, tags::STAGE_EXPORTED),
        ];
        pending.push(tokio::spawn(async move {
            rds.copy_db_snapshot()
                .source_db_snapshot_identifier("orders-source")
                .target_db_snapshot_identifier(attempt_identifier(&source, 1))
                .kms_key_id(key)
                .set_tags(Some(copy_tags))
                .send()
                .await
                .map(drop)
        }));
        offsite_tests::bench::settle(&mut pending, 16, "seed copy").await;
    }
    offsite_tests::bench::settle(&mut pending, 0, "seed copy").await;
    let scan = p.scanner().scan(DateTime::from(SystemTime::now()), "bench").await.expect("scan");
    assert_eq!(scan.announced.len() as u64, notices, "every copy announced");
    let bodies = p.queue_bodies().await;
    assert_eq!(bodies.len() as u64, notices);
    let parsed: Vec<Notice> = bodies
        .iter()
        .map(|b| {
            let envelope: serde_json::Value = serde_json::from_str(b).expect("envelope");
            Notice::parse(envelope["Message"].as_str().expect("message")).expect("notice")
        })
        .collect();

    // Offsite: the importer's binary as Lambda runs it (the bench's profile), under its
    // template role and environment, one invocation per batch of 10 as the event source
    // mapping delivers them; the per-day cap raised above the run's size, as its parameter
    // would be for such a flood. The naive baseline as the vault's operator.
    let per_day = notices.to_string();
    let mut function = p
        .function_with(
            "offsite-importer",
            &[("OFFSITE_MAX_IMPORTS_PER_INVOCATION", "10"), ("OFFSITE_MAX_IMPORTS_PER_SOURCE_PER_DAY", &per_day)],
        )
        .unwrap_or_else(|e| panic!("{e}"));
    function.wait_ready(Duration::from_secs(60)).unwrap_or_else(|e| panic!("{e}"));
    p.emulator.set_latency(latency).expect("latency");

    p.emulator.reset_request_counts().expect("reset");
    let cpu_before = p.emulator.cpu_seconds();
    let started = Instant::now();
    let mut failed = Vec::new();
    for batch in bodies.chunks(10) {
        match function.invoke(&sqs_event_json(batch), Duration::from_secs(300)).expect("batch") {
            Outcome::Response(response) => {
                failed.extend(response["batchItemFailures"].as_array().cloned().unwrap_or_default());
            }
            error => panic!("the batch failed: {error:?}\n{}", function.output()),
        }
    }
    let offsite_wall = started.elapsed().as_secs_f64();
    let emulator_cpu = cpu_before.zip(p.emulator.cpu_seconds()).map(|(before, after)| after - before);
    let peak = function.peak_rss_mib();
    let (offsite_calls, offsite_by_action) = offsite_tests::bench::calls_in(&p.emulator, VAULT);
    assert_eq!(failed, Vec::<serde_json::Value>::new(), "every notice imported");
    assert_eq!(p.vault_copies().await.len() as u64, notices);

    p.emulator.reset_request_counts().expect("reset");
    let started = Instant::now();
    let naive = naive_import(&Client::new(&p.vault), &parsed, &p.import_key).await;
    let naive_wall = started.elapsed().as_secs_f64();
    let (naive_calls, naive_by_action) = offsite_tests::bench::calls_in(&p.emulator, VAULT);
    assert_eq!(naive as u64, notices);

    let result = serde_json::json!({
        "scenario": "importer",
        "notices": notices,
        "batch_size": 10,
        "latency_ms": latency.as_millis() as u64,
        "wall_seconds": offsite_wall,
        "api_calls": offsite_calls,
        "api_calls_by_action": offsite_by_action,
        "calls_per_notice": offsite_calls as f64 / notices as f64,
        "peak_rss_mib": peak,
        "peak_rss_of": "the function process",
        "emulator_cpu_seconds": emulator_cpu,
        "baseline": { "wall_seconds": naive_wall, "api_calls": naive_calls, "api_calls_by_action": naive_by_action },
        "ratio_wall": naive_wall / offsite_wall,
        "ratio_calls": naive_calls as f64 / offsite_calls as f64,
    });
    offsite_tests::bench::write_result("importer", result);
    println!(
        "bench importer: {notices} notices -> {offsite_wall:.1}s, {offsite_calls} calls; naive {naive_wall:.1}s, {naive_calls} calls"
    );
}
