//! Benchmark: what one snapshot costs the whole pair, end to end, without faults. Selected
//! snapshots of every origin (RDS automated, AWS Backup, manual; instances and Aurora
//! clusters) go through the functions' binaries as Lambda runs them (the profile of the
//! bench's build), with their templates' environments and roles:
//!
//! 0. the first five one at a time, as events arrive on a quiet day: each through the
//!    exporter, the scanner and the importer (a batch of one) before the next;
//! 1. the other 195 at once: the exporter, on the event EventBridge delivers for each (one
//!    invocation each);
//! 2. the scanner, on the copies' "finished" fast path (one scan sees them all);
//! 3. the importer, on the SQS batches of 10 the event source mapping delivers;
//! 4. the scanner again, once the export retention has passed (the announcement times are
//!    moved back by the operator instead of waiting a week): it deletes its copies;
//!
//! plus one reconciler run in the vault (a scheduled cost, reported per run).
//!
//! Figures: API calls per exported snapshot by function and action, the share of reads, and
//! the pipeline's own latency per hop (the wall time of the invocations that make the hop).
//! The time RDS spends copying is not in any hop: each phase starts once the emulator's copies
//! are available, and those waits are outside the measured invocations. The receives and
//! deletes of the event source mapping are Lambda's, not the functions', and not counted.
//!
//! `OFFSITE_BENCH_LATENCY_MS` (default 20) is the latency of every AWS call. Writes
//! `target/bench/end_to_end.json`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use aws_sdk_rds::Client;
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use offsite_common::snapshot::{Snapshot, SnapshotKind};
use offsite_common::tags;
use offsite_tests::deployed::DeployedPair;
use offsite_tests::event_source::sqs_event_json;
use offsite_tests::events::{backup_job_completed, scheduled, snapshot_available};
use offsite_tests::fixtures::{
    db_cluster, db_cluster_snapshot, db_instance, db_snapshot, drain_queue, kms_key, select_automated_snapshot, tag,
};
use offsite_tests::lambda::{LambdaFunction, Outcome};
use offsite_tests::{Emulator, EmulatorOptions, REGION, VAULT, WORKLOAD};
use serde_json::{Value, json};

/// Instances (each: its automated snapshot, an AWS Backup recovery point, manual snapshots)
/// and clusters (each: a recovery point, manual snapshots): 20 × 6 + 10 × 8 = 200.
const INSTANCES: usize = 20;
const MANUAL_PER_INSTANCE: usize = 4;
const CLUSTERS: usize = 10;
const MANUAL_PER_CLUSTER: usize = 7;
const SELECTED: (&str, &str) = ("offsite-export", "true");
/// Snapshots sent one at a time through the whole pair before the others arrive at once.
const TRICKLE: usize = 5;

/// A selected source and the event EventBridge delivers to the exporter when it is available.
struct Source {
    arn: String,
    event: Value,
}

async fn seed(pair: &DeployedPair) -> Vec<Source> {
    let w = &pair.workload;
    let data_key = kms_key(w, "workload data").await;
    let mut sources = Vec::new();
    let recovery_point = |kind: SnapshotKind, resource: &str| {
        let point = pair.emulator.backup_recovery_point(WORKLOAD, kind, resource, &[SELECTED]).expect("recovery point");
        let (resource_type, resource_arn) = match kind {
            SnapshotKind::Instance => ("RDS", format!("arn:aws:rds:{REGION}:{WORKLOAD}:db:{resource}")),
            SnapshotKind::Cluster => ("Aurora", format!("arn:aws:rds:{REGION}:{WORKLOAD}:cluster:{resource}")),
        };
        let event = backup_job_completed(WORKLOAD, &point.arn, &resource_arn, resource_type, &point.backup_job_id);
        Source { arn: point.arn, event }
    };
    for i in 0..INSTANCES {
        let db = format!("app-{i:02}");
        db_instance(w, &db, Some(&data_key)).await;
        let automated = select_automated_snapshot(w, &db, SELECTED).await;
        sources.push(Source { event: snapshot_available(WORKLOAD, &automated), arn: automated });
        sources.push(recovery_point(SnapshotKind::Instance, &db));
        for n in 0..MANUAL_PER_INSTANCE {
            let s = db_snapshot(w, &db, &format!("{db}-manual-{n}"), vec![tag(SELECTED.0, SELECTED.1)]).await;
            let arn = s.db_snapshot_arn.expect("ARN");
            sources.push(Source { event: snapshot_available(WORKLOAD, &arn), arn });
        }
    }
    for i in 0..CLUSTERS {
        let cluster = format!("ledger-{i:02}");
        db_cluster(w, &cluster, Some(&data_key)).await;
        sources.push(recovery_point(SnapshotKind::Cluster, &cluster));
        for n in 0..MANUAL_PER_CLUSTER {
            let s =
                db_cluster_snapshot(w, &cluster, &format!("{cluster}-manual-{n}"), vec![tag(SELECTED.0, SELECTED.1)])
                    .await;
            let arn = s.db_cluster_snapshot_arn.expect("ARN");
            sources.push(Source { event: snapshot_available(WORKLOAD, &arn), arn });
        }
    }
    sources
}

/// The calls `account` made since the last reset, by `service:Action`.
fn calls(emulator: &Emulator, account: &str) -> BTreeMap<String, u64> {
    offsite_tests::bench::calls_in(emulator, account).1
}

/// Invokes `function` with `event`, panicking with its output unless it answered; the answer
/// and the invocation's wall time.
fn invoke(function: &mut LambdaFunction, event: &Value) -> (Value, Duration) {
    let started = Instant::now();
    match function.invoke(event, Duration::from_secs(900)).expect("invocation") {
        Outcome::Response(answer) => (answer, started.elapsed()),
        error => panic!("{error:?}\n{}", function.output()),
    }
}

/// A hop's latency figures in milliseconds: per snapshot (median, slowest) over the
/// invocations that made it, each standing for `per_invocation` snapshots.
fn hop(walls: &[Duration], per_invocation: &[usize]) -> Value {
    let mut per_snapshot: Vec<f64> = walls.iter().map(|w| w.as_secs_f64() * 1000.0).collect();
    per_snapshot.sort_by(f64::total_cmp);
    let total: f64 = walls.iter().map(Duration::as_secs_f64).sum();
    json!({
        "invocations": walls.len(),
        "snapshots": per_invocation.iter().sum::<usize>(),
        "median_ms": per_snapshot.get(per_snapshot.len() / 2).copied().unwrap_or_default(),
        "slowest_ms": per_snapshot.last().copied().unwrap_or_default(),
        "total_seconds": total,
    })
}

/// Waits until `count` copies of `config`'s account with `marker` are available (the
/// emulator's copy time, outside every measured hop).
async fn wait_copies_available(config: &aws_config::SdkConfig, marker: &str, count: usize) {
    let rds = offsite_common::rds::RdsSnapshots::new(Client::new(config));
    for _ in 0..600 {
        let copies: Vec<Snapshot> = rds
            .list_marked(&[SnapshotKind::Instance, SnapshotKind::Cluster], marker)
            .await
            .expect("list copies")
            .into_iter()
            .filter(|c| c.status == offsite_common::snapshot::SnapshotStatus::Available)
            .collect();
        if copies.len() >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("{count} copies marked {marker} never became available");
}

#[tokio::main]
async fn main() {
    let latency = Duration::from_millis(offsite_tests::bench::setting("OFFSITE_BENCH_LATENCY_MS", 20));
    let options = EmulatorOptions { rds_snapshot_quota: Some(1000), ..Default::default() };
    let pair = DeployedPair::start(&options, &[], &[]).await.unwrap_or_else(|e| panic!("{e}"));
    let emulator = &pair.emulator;
    let sources = seed(&pair).await;
    let snapshots = sources.len();
    eprintln!("bench: seeded {snapshots} selected snapshots");
    // The vault's daily cap per source account (MaxImportsPerSourcePerDay, 50 by default) set
    // to the day's snapshots, as a deployment exporting this many would set it.
    let per_day = snapshots.to_string();
    let start = |binary: &str| {
        let overrides = [("OFFSITE_MAX_IMPORTS_PER_SOURCE_PER_DAY", per_day.as_str())];
        let overrides: &[(&str, &str)] = if binary == "offsite-importer" { &overrides } else { &[] };
        let mut function = pair.function_with(binary, overrides).unwrap_or_else(|e| panic!("{e}"));
        function.wait_ready(Duration::from_secs(60)).unwrap_or_else(|e| panic!("{e}"));
        function
    };
    let (mut exporter, mut scanner, mut importer, mut reconciler) =
        (start("offsite-exporter"), start("offsite-scanner"), start("offsite-importer"), start("offsite-reconciler"));
    emulator.set_latency(latency).expect("latency");
    let mut by_function: BTreeMap<&str, BTreeMap<String, u64>> = BTreeMap::new();
    let mut add = |function: &'static str, calls: BTreeMap<String, u64>| {
        let entry = by_function.entry(function).or_default();
        for (action, count) in calls {
            *entry.entry(action).or_default() += count;
        }
    };

    // 0. One snapshot at a time, as events arrive on a quiet day: each goes through the
    // exporter (its event), the scanner (its copy's "finished" event) and the importer (a
    // batch of one) before the next; its latency is the sum of the three invocations. The
    // harness's own waits and the queue's receives fall between the counted invocations.
    let mut trickle = Vec::new();
    let (mut export_walls, mut announce_walls, mut announced_per_scan) = (Vec::new(), Vec::new(), Vec::new());
    let (mut import_walls, mut batch_sizes) = (Vec::new(), Vec::new());
    for (done, source) in sources[..TRICKLE].iter().enumerate() {
        emulator.reset_request_counts().expect("reset");
        let (_, exported) = invoke(&mut exporter, &source.event);
        add("exporter", calls(emulator, WORKLOAD));
        wait_copies_available(&pair.workload, tags::MARKER_EXPORT, done + 1).await;
        emulator.reset_request_counts().expect("reset");
        let (report, announced) = invoke(&mut scanner, &scheduled(WORKLOAD, "offsite-scanner"));
        add("scanner", calls(emulator, WORKLOAD));
        assert_eq!(report["announced"].as_array().map_or(0, Vec::len), 1, "{report}");
        let bodies = drain_queue(&pair.importer_role, &pair.queue_url).await;
        emulator.reset_request_counts().expect("reset");
        let (response, imported) = invoke(&mut importer, &sqs_event_json(&bodies));
        add("importer", calls(emulator, VAULT));
        assert_eq!((bodies.len(), &response["batchItemFailures"]), (1, &json!([])), "{response}");
        trickle.push((exported + announced + imported).as_secs_f64());
        export_walls.push(exported);
        announce_walls.push(announced);
        announced_per_scan.push(1);
        import_walls.push(imported);
        batch_sizes.push(1);
    }
    trickle.sort_by(f64::total_cmp);

    // 1. Source available → copy started: one exporter invocation per event, the rest of the
    // snapshots arriving at once.
    emulator.reset_request_counts().expect("reset");
    let (mut burst_export, mut burst_announce, mut burst_import) = (Vec::new(), Vec::new(), Vec::new());
    for source in &sources[TRICKLE..] {
        let (_, wall) = invoke(&mut exporter, &source.event);
        export_walls.push(wall);
        burst_export.push(wall);
    }
    add("exporter", calls(emulator, WORKLOAD));
    let copies = pair.workload_copies().await;
    let copied: std::collections::BTreeSet<&str> = copies.iter().filter_map(|c| c.tag(tags::SOURCE_ARN)).collect();
    let missing: Vec<&str> = sources.iter().map(|s| s.arn.as_str()).filter(|a| !copied.contains(a)).collect();
    assert!(missing.is_empty() && copies.len() == snapshots, "one copy per source; missing {missing:?}");
    wait_copies_available(&pair.workload, tags::MARKER_EXPORT, snapshots).await;

    // 2. Copy available → announced: the scanner's scan (on its schedule or the copies'
    // "finished" events: it reads no event; one more scan if the first left some).
    emulator.reset_request_counts().expect("reset");
    let burst = snapshots - TRICKLE;
    while announced_per_scan.iter().sum::<usize>() < snapshots {
        assert!(burst_announce.len() < 5, "the scans announce nothing more: {announced_per_scan:?}");
        let (report, wall) = invoke(&mut scanner, &scheduled(WORKLOAD, "offsite-scanner"));
        announce_walls.push(wall);
        burst_announce.push(wall);
        announced_per_scan.push(report["announced"].as_array().map_or(0, Vec::len));
    }
    add("scanner", calls(emulator, WORKLOAD));

    // 3. Notice → import started: the importer on the queue's batches of 10.
    let bodies = drain_queue(&pair.importer_role, &pair.queue_url).await;
    assert_eq!(bodies.len(), burst, "one notice per copy");
    emulator.reset_request_counts().expect("reset");
    for batch in bodies.chunks(10) {
        let (response, wall) = invoke(&mut importer, &sqs_event_json(batch));
        assert_eq!(response["batchItemFailures"], json!([]), "{response}\n{}", importer.output());
        import_walls.push(wall);
        burst_import.push(wall);
        batch_sizes.push(batch.len());
    }
    add("importer", calls(emulator, VAULT));
    assert_eq!(pair.vault_copies().await.len(), snapshots, "one vault copy per snapshot");
    wait_copies_available(&pair.vault, tags::MARKER_IMPORT, snapshots).await;

    // The reconciler's scheduled run: nothing left to import; a cost per run, not per snapshot.
    emulator.reset_request_counts().expect("reset");
    let (reconciled, reconcile_wall) = invoke(&mut reconciler, &scheduled(VAULT, "offsite-reconciler"));
    let reconciler_calls = calls(emulator, VAULT);
    let reconciler_imports =
        reconciled["outcomes"].as_array().map_or(0, |o| o.iter().filter(|o| o["result"] == "imported").count());
    assert_eq!(reconciler_imports, 0, "the importer left nothing for the reconciler: {reconciled}");

    // 4. The export retention passed → the workload copy deleted: the operator moves the
    // announcements back by the retention plus a day (the calls are not the pipeline's).
    emulator.set_latency(Duration::ZERO).expect("latency");
    let long_ago = DateTime::from_secs(DateTime::from(SystemTime::now()).secs() - 30 * 86_400)
        .fmt(Format::DateTime)
        .expect("time");
    let rds = Client::new(&pair.workload);
    for copy in pair.workload_copies().await {
        rds.add_tags_to_resource()
            .resource_name(&copy.arn)
            .tags(tag(tags::ANNOUNCED_AT, &long_ago))
            .send()
            .await
            .expect("backdate the announcement");
    }
    emulator.set_latency(latency).expect("latency");
    emulator.reset_request_counts().expect("reset");
    let (expired, expire_wall) = invoke(&mut scanner, &scheduled(WORKLOAD, "offsite-scanner"));
    add("scanner", calls(emulator, WORKLOAD));
    let deleted = expired["deleted"].as_array().map_or(0, Vec::len);
    assert_eq!(deleted, snapshots, "the expiry deletes every workload copy: {expired}");
    assert!(pair.workload_copies().await.is_empty(), "no workload copy left");

    // The figures.
    let is_read = |action: &str| {
        let name = action.split_once(':').map_or(action, |(_, name)| name);
        ["Describe", "List", "Get"].iter().any(|prefix| name.starts_with(prefix))
    };
    let mut total = 0u64;
    let mut reads = 0u64;
    let mut per_function = serde_json::Map::new();
    for (function, actions) in &by_function {
        let sum: u64 = actions.values().sum();
        total += sum;
        reads += actions.iter().filter(|(a, _)| is_read(a)).map(|(_, c)| c).sum::<u64>();
        let per_snapshot: serde_json::Map<String, Value> =
            actions.iter().map(|(a, c)| (a.clone(), json!(*c as f64 / snapshots as f64))).collect();
        per_function.insert(
            (*function).to_owned(),
            json!({ "calls": sum, "per_snapshot": sum as f64 / snapshots as f64, "by_action_per_snapshot": per_snapshot }),
        );
    }
    let hops = json!({
        "source_available_to_copy_started": hop(&export_walls, &vec![1; snapshots]),
        "copy_available_to_announced": hop(&announce_walls, &announced_per_scan),
        "notice_to_import_started": hop(&import_walls, &batch_sizes),
        "retention_passed_to_copy_deleted": hop(&[expire_wall], &[deleted]),
    });
    // As events arrive one by one: a snapshot's own wait through the pipeline (median of the
    // snapshots sent alone). In the burst: its exporter invocation, the scan that announces
    // it, its batch's import (the slowest of each, so no snapshot of the burst waits longer).
    let latency_per_snapshot = trickle.get(trickle.len() / 2).copied().unwrap_or_default();
    let slowest = |walls: &[Duration]| walls.iter().max().map_or(0.0, Duration::as_secs_f64);
    let burst_latency =
        slowest(&burst_export) + burst_announce.iter().map(Duration::as_secs_f64).sum::<f64>() + slowest(&burst_import);
    let result = json!({
        "scenario": "end to end",
        "snapshots": snapshots,
        "origins": {
            "instances": INSTANCES, "clusters": CLUSTERS,
            "automated": INSTANCES, "aws_backup": INSTANCES + CLUSTERS,
            "manual": INSTANCES * MANUAL_PER_INSTANCE + CLUSTERS * MANUAL_PER_CLUSTER,
        },
        "latency_ms": latency.as_millis() as u64,
        "api_calls": total,
        "calls_per_snapshot": total as f64 / snapshots as f64,
        "read_share": reads as f64 / total.max(1) as f64,
        "by_function": per_function,
        "hops": hops,
        "pipeline_latency_seconds_per_snapshot": latency_per_snapshot,
        "alone": { "snapshots": TRICKLE, "latency_seconds": trickle },
        "burst": { "snapshots": burst, "slowest_latency_seconds": burst_latency },
        "reconciler_run": {
            "wall_seconds": reconcile_wall.as_secs_f64(),
            "api_calls": reconciler_calls.values().sum::<u64>(),
            "api_calls_by_action": reconciler_calls,
        },
        "peak_rss_mib": {
            "exporter": exporter.peak_rss_mib(), "scanner": scanner.peak_rss_mib(),
            "importer": importer.peak_rss_mib(), "reconciler": reconciler.peak_rss_mib(),
        },
        "peak_rss_of": "each function process",
    });
    println!(
        "bench end to end: {snapshots} snapshots -> {:.2} calls per snapshot ({:.0}% reads), pipeline latency {latency_per_snapshot:.2}s per snapshot alone, {burst_latency:.1}s at most in a burst of {burst}",
        total as f64 / snapshots as f64,
        reads as f64 * 100.0 / total.max(1) as f64,
    );
    offsite_tests::bench::write_result("end_to_end", result);
}
