//! The chaos run: the whole account pair under injected faults, crashes, duplicated,
//! reordered and lost deliveries, run schedule after schedule until nothing changes.
//!
//! - 200 selected snapshots: per DB instance its automated snapshot, an AWS Backup recovery
//!   point and manual snapshots; per Aurora cluster a recovery point and manual snapshots.
//!   Unselected snapshots stand beside them. RDS fails the first copy of ten of them.
//! - The stacks are deployed from `infra/*.yaml`; every function runs under a session of its
//!   template role (the emulator enforces IAM), the event source mapping polls with the
//!   importer's.
//! - Every function container's AWS calls go through its own fault lane
//!   (`offsite_tests::faults`): 20 % of attempts throttled, 5xx, timed out, dropped, or
//!   answered into the void. Every invocation crashes at the first step boundary no crash of
//!   its lane hit yet (the importer not on a batch already delivered five times, see
//!   `deliver`), so the run ends with a crash at every boundary the functions showed where a
//!   crash was allowed (a batch exempted from crashes shows boundaries no rule will hit).
//! - Two scanners overlap every other round (the schedule and the copy-finished event).
//! - The harness plays Lambda's SQS event source mapping over the real queue: deliveries
//!   reordered, some notices duplicated (SNS at least once) or a whole batch delivered to two
//!   importer containers at once, some notices lost (the reconciler must find those), failed
//!   records back after their visibility timeout, the queue's redrive policy
//!   (`maxReceiveCount` 10, the template's default) moving what keeps failing to the DLQ.
//!   Hostile messages are mixed in.
//! - The vault starts with a small manual snapshot quota (60 DB, 40 DB cluster snapshots):
//!   it fills, the importer and the reconciler defer at the wall (the importer sends the
//!   deferred notices to the queue again); two rounds later the quota is raised and the run
//!   must still converge with nothing dead-lettered but the hostile messages.
//! - The clock moves 20 minutes per round, more than the scanner's claim lifetime, so an
//!   abandoned claim is taken over by the next round. After the pipeline settles, it moves
//!   past the export retention and the scanner expires the workload's copies.
//!
//! Asserted: every selected snapshot is in the vault exactly once, under the vault key, with
//! its lineage; no source snapshot touched (status, tags, share list); nothing deleted but
//! the pipeline's expired copies and its failed copies once retried; the DLQ holds exactly
//! the hostile messages; a crash hit every boundary of every function.
//!
//! The second test gives the DynamoDB export job the same faults and crashes, the third the
//! vault's RDS export function.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant, SystemTime};

use aws_config::SdkConfig;
use aws_sdk_rds::Client;
use aws_smithy_types::DateTime;
use offsite_common::lineage::is_genuine_import;
use offsite_common::notice::Notice;
use offsite_common::rds::RdsSnapshots;
use offsite_common::snapshot::{Snapshot, SnapshotStatus};
use offsite_common::tags;
use offsite_exporter::export::Exporter;
use offsite_exporter::settings::ExporterSettings;
use offsite_importer::outcome::Verdict;
use offsite_importer::retention::{Policy, apply};
use offsite_importer::run::Vault;
use offsite_importer::settings::VaultSettings;
use offsite_scanner::scan::Scanner;
use offsite_scanner::settings::ScannerSettings;
use offsite_tests::deployed::DeployedPair;
use offsite_tests::event_source;
use offsite_tests::faults::{Boundary, Crash, Dice, Invoked, Lane, LaneStats};
use offsite_tests::fixtures::{
    db_cluster, db_cluster_snapshot, db_instance, db_snapshot, drain_queue, kms_key, select_automated_snapshot, tag,
};
use offsite_tests::pipeline::{Pipeline, SELECTED, sns_envelope};
use offsite_tests::{EmulatorOptions, REGION, SnapshotKind, VAULT, WORKLOAD};

const SEED: u64 = 20_261_201;
const FAULT_RATE: f64 = 0.2;
const INSTANCES: usize = 8;
/// Per instance: automated + recovery point + manual ones.
const MANUAL_PER_INSTANCE: usize = 13;
const CLUSTERS: usize = 4;
const MANUAL_PER_CLUSTER: usize = 19;
/// Of the valid notices, on their first delivery.
const LOST_RATE: f64 = 0.05;
const DUPLICATE_RATE: f64 = 0.1;
/// Of the batches: delivered to a second invocation as well.
const REDELIVERY_RATE: f64 = 0.1;
const MAX_RECEIVE_COUNT: u32 = 10;
const ROUND: Duration = Duration::from_secs(20 * 60);
/// About 35 are needed (the hostile messages alone take 11 rounds to reach the DLQ). The
/// bound is on rounds, not on time: a busy machine makes rounds slower, never the verdict
/// different.
const MAX_ROUNDS: usize = 80;
/// The vault's manual snapshot quotas (DB, DB cluster) until the wall has held for
/// `WALL_ROUNDS` rounds: 120 instance and 80 cluster snapshots are selected, so both are met.
const VAULT_QUOTA: (u32, u32) = (60, 40);
const WALL_ROUNDS: usize = 2;

/// The functions, each container on its own lane and with a session of its template role. Two scanners overlap (the schedule and
/// the copy-finished event) and the importer runs in two warm containers. A crash kills the
/// sandbox: the next invocation of that container starts cold (no warm listing).
struct Functions {
    exporter: (Lane, Exporter),
    scanners: [(Lane, Scanner); 2],
    /// With the SDK configuration each was started with.
    importers: [(Lane, Vault, SdkConfig); 2],
    reconciler: (Lane, Vault),
    retention: (Lane, RdsSnapshots),
    policy: Policy,
    vault_settings: VaultSettings,
}

impl Functions {
    fn new(pipeline: &Pipeline, env: &BTreeMap<String, String>) -> Self {
        let lane = |name: &str| Lane::new(name, SEED, FAULT_RATE);
        let vault_settings = VaultSettings::from_env(env).expect("vault settings");
        let scanner = |name: &str| {
            let lane = lane(name);
            let config = lane.wrap(&pipeline.scanner_role);
            let settings = ScannerSettings::from_env(env).expect("scanner settings");
            let scanner =
                Scanner::new(RdsSnapshots::new(Client::new(&config)), aws_sdk_sns::Client::new(&config), settings);
            (lane, scanner)
        };
        let vault = |name: &str, role: &SdkConfig| {
            let lane = lane(name);
            let config = lane.wrap(role);
            // As the importer binary: deferred notices go back to the queue through its lane.
            let vault = Vault::new(RdsSnapshots::new(Client::new(&config)), vault_settings.clone())
                .with_requeue(aws_sdk_sqs::Client::new(&config));
            (lane, vault, config)
        };
        let exporter = lane("exporter");
        let retention = lane("retention");
        Self {
            exporter: (
                exporter.clone(),
                Exporter::new(
                    RdsSnapshots::new(Client::new(&exporter.wrap(&pipeline.exporter_role))),
                    ExporterSettings::from_env(env).expect("exporter settings"),
                ),
            ),
            scanners: [scanner("scanner"), scanner("scanner-on-event")],
            importers: [vault("importer", &pipeline.importer_role), vault("importer-b", &pipeline.importer_role)],
            reconciler: {
                let (lane, vault, _) = vault("reconciler", &pipeline.reconciler_role);
                (lane, vault)
            },
            retention: (retention.clone(), RdsSnapshots::new(Client::new(&retention.wrap(&pipeline.retention_role)))),
            policy: Policy::from_env(env).expect("retention policy"),
            vault_settings: vault_settings.clone(),
        }
    }

    fn lanes(&self) -> Vec<&Lane> {
        let mut lanes = vec![&self.exporter.0];
        lanes.extend(self.scanners.iter().map(|s| &s.0));
        lanes.extend(self.importers.iter().map(|i| &i.0));
        lanes.extend([&self.reconciler.0, &self.retention.0]);
        lanes
    }

    /// A new sandbox for importer container `n` after a crash: its warm listing is gone.
    fn restart_importer(&mut self, n: usize) {
        let (_, vault, config) = &mut self.importers[n];
        *vault = Vault::new(RdsSnapshots::new(Client::new(config)), self.vault_settings.clone())
            .with_requeue(aws_sdk_sqs::Client::new(config));
    }
}

/// What the harness counts.
#[derive(Debug, Default)]
struct Tally {
    crashes: u64,
    duplicate_deliveries: u64,
    lost_notices: u64,
    /// Function runs that failed as a whole (their report or error says why).
    failed_runs: Vec<String>,
    /// The importer's results over all deliveries (`imported`, `rejected`, ...).
    import_results: BTreeMap<&'static str, u64>,
    received: u64,
    /// Failed copies the scanner deleted once a retry existed.
    superseded_deleted: BTreeSet<String>,
    /// Valid notices the importer refused (it must only defer or fail them).
    valid_rejected: Vec<String>,
    /// The round after which the vault's quota was raised (it had sat full until then).
    wall_rounds: usize,
}

/// The workload's or the vault's own snapshots, by ARN.
async fn inventory(config: &SdkConfig) -> BTreeMap<String, Snapshot> {
    let rds = RdsSnapshots::new(Client::new(config));
    let mut all = BTreeMap::new();
    for (kind, snapshot_type) in
        [(SnapshotKind::Instance, None), (SnapshotKind::Instance, Some("awsbackup")), (SnapshotKind::Cluster, None)]
    {
        for snapshot in rds.list(kind, snapshot_type).await.expect("inventory listing") {
            all.insert(snapshot.arn.clone(), snapshot);
        }
    }
    all
}

fn is_pipeline_copy(snapshot: &Snapshot) -> bool {
    snapshot.tag(tags::MARKER).is_some()
}

/// What the round-to-round comparison looks at: every snapshot's status and tags, and the
/// queues' depths.
fn fingerprint(
    workload: &BTreeMap<String, Snapshot>,
    vault: &BTreeMap<String, Snapshot>,
    queued: (u32, u32),
) -> String {
    let mut text = format!("{queued:?}\n");
    for s in workload.values().chain(vault.values()) {
        text.push_str(&format!("{} {} {:?}\n", s.arn, s.status.as_str(), s.tags));
    }
    text
}

/// The harness's side of the account pair: the vault queue as Lambda's event source
/// mapping sees it, the dice and the counts.
struct Harness<'a> {
    /// What Lambda's event source mapping polls with: the importer's role.
    mapping: &'a aws_sdk_sqs::Client,
    /// The rest of the world the harness plays, with the vault operator's rights: SNS
    /// delivering a notification twice, the visibility timeout passing.
    world: &'a aws_sdk_sqs::Client,
    queue_url: &'a str,
    hostile: &'a BTreeSet<String>,
    dice: Dice,
    tally: Tally,
}

/// RDS fails the first copy of each doomed source, whenever the exporter makes it: the
/// scanner must report it, the exporter copy again, the scanner delete the failed copy. The
/// emulator marks the copy as it is created, so which copies fail does not depend on how
/// fast the rounds run.
fn doom_first_copies(pipeline: &Pipeline, doomed: &BTreeSet<String>) {
    for source in doomed {
        let kind = if source.contains(":cluster-snapshot:") { SnapshotKind::Cluster } else { SnapshotKind::Instance };
        pipeline.emulator.fail_next_copy(WORKLOAD, kind, source).expect("doom the first copy");
    }
}

/// The copies the emulator failed, by ARN, with the source each was made from.
fn failed_by_rds(pipeline: &Pipeline) -> BTreeMap<String, Option<String>> {
    let failed = pipeline.emulator.failed_snapshots().expect("the emulator's failed copies");
    failed.into_iter().map(|f| (f.arn, f.source_arn)).collect()
}

/// The harness's event source mapping (`offsite_tests::event_source`): one pass over what is
/// visible in the queue now, with the faults of the delivery path.
async fn deliver(functions: &mut Functions, harness: &mut Harness<'_>, now: DateTime) {
    let Harness { mapping: sqs, world, queue_url, hostile, dice, tally, .. } = harness;
    let (sqs, world, queue_url) = (*sqs, *world, *queue_url);
    let received = event_source::receive_visible(sqs, queue_url, 300).await;
    tally.received += received.len() as u64;
    let mut deliverable = Vec::new();
    for message in received {
        let first = message.receive_count == 1;
        let valid = !hostile.contains(&message.body);
        if valid && first && dice.chance(LOST_RATE) {
            // Lost on its way: never delivered. Only the reconciler can make up for it.
            let handle = &message.receipt_handle;
            sqs.delete_message().queue_url(queue_url).receipt_handle(handle).send().await.expect("lose");
            tally.lost_notices += 1;
            continue;
        }
        if valid && first && dice.chance(DUPLICATE_RATE) {
            // SNS delivers at least once: the same notification twice.
            world.send_message().queue_url(queue_url).message_body(&message.body).send().await.expect("duplicate");
            tally.duplicate_deliveries += 1;
        }
        deliverable.push(message);
    }
    dice.shuffle(&mut deliverable);
    for batch in deliverable.chunks(10) {
        let event = event_source::event_of(batch);
        // A notice that failed `maxReceiveCount` deliveries in a row goes to the DLQ (and is
        // imported by the reconciler while it stays shared): the importer is not crashed on a
        // batch with a notice already delivered half that often.
        let crash = if batch.iter().any(|m| m.receive_count >= MAX_RECEIVE_COUNT / 2) {
            Crash::Never
        } else {
            Crash::AtNewBoundary
        };
        // At least once: now and then the same batch reaches both warm containers at once.
        let twice = dice.chance(REDELIVERY_RATE);
        let [first, second] = &functions.importers;
        let (a, b) = tokio::join!(first.0.invoke(crash, first.1.handle_batch(&event, now)), async {
            if twice { Some(second.0.invoke(crash, second.1.handle_batch(&event, now)).await) } else { None }
        });
        if twice {
            tally.duplicate_deliveries += batch.len() as u64;
        }
        let mut succeeded: BTreeSet<String> = BTreeSet::new();
        for (container, invoked) in [(0, Some(a)), (1, b)] {
            match invoked {
                Some(Invoked::Completed(Ok(report))) => {
                    for outcome in &report.outcomes {
                        *tally.import_results.entry(outcome.result.as_str()).or_default() += 1;
                        let body = batch.iter().find(|m| m.message_id == outcome.item).map(|m| m.body.as_str());
                        if outcome.result == Verdict::Rejected && body.is_some_and(|b| !hostile.contains(b)) {
                            tally.valid_rejected.push(format!("{outcome:?}"));
                        }
                    }
                    succeeded.extend(event_source::succeeded(batch, &report.response));
                }
                Some(Invoked::Completed(Err(e))) => tally.failed_runs.push(format!("importer: {e}")),
                Some(Invoked::Crashed(_)) => {
                    tally.crashes += 1;
                    functions.restart_importer(container);
                }
                None => {}
            }
        }
        event_source::settle(sqs, world, queue_url, batch, &succeeded).await;
    }
}

/// One round of every schedule: exporter sweep, scanner (on odd rounds a second scan on a
/// copy-finished event overlaps it), the queue, reconciler, retention.
async fn round(functions: &mut Functions, harness: &mut Harness<'_>, now: DateTime, overlap: bool, retention: bool) {
    let failed = &mut harness.tally.failed_runs;
    let mut crashes = 0;
    let (lane, exporter) = &functions.exporter;
    match lane.invoke(Crash::AtNewBoundary, exporter.sweep(now, false)).await {
        Invoked::Completed(Ok(report)) => failed.extend(report.failure().map(|f| format!("exporter: {f}"))),
        Invoked::Completed(Err(e)) => failed.push(format!("exporter: {e}")),
        Invoked::Crashed(_) => crashes += 1,
    }
    let failed = &mut harness.tally.failed_runs;
    let [scheduled, on_event] = &functions.scanners;
    let (a, b) = tokio::join!(scan(scheduled, now, true), scan(on_event, now, overlap));
    for invoked in [a, b].into_iter().flatten() {
        match invoked {
            Invoked::Completed(Ok(report)) => failed.extend(report.failure().map(|f| format!("scanner: {f}"))),
            Invoked::Completed(Err(e)) => failed.push(format!("scanner: {e}")),
            Invoked::Crashed(_) => crashes += 1,
        }
    }
    harness.tally.crashes += crashes;
    deliver(functions, harness, now).await;
    let failed = &mut harness.tally.failed_runs;
    let (lane, reconciler) = &functions.reconciler;
    match lane.invoke(Crash::AtNewBoundary, reconciler.reconcile(now)).await {
        Invoked::Completed(Ok(_)) => {}
        Invoked::Completed(Err(e)) => failed.push(format!("reconciler: {e}")),
        Invoked::Crashed(_) => harness.tally.crashes += 1,
    }
    if retention {
        let (lane, rds) = &functions.retention;
        match lane.invoke(Crash::AtNewBoundary, apply(rds, &functions.policy, now, tags::MARKER_IMPORT)).await {
            Invoked::Completed(Ok(report)) => {
                assert!(report.deleted.is_empty(), "retention deleted copies younger than its minimum age: {report:#?}")
            }
            Invoked::Completed(Err(e)) => harness.tally.failed_runs.push(format!("retention: {e}")),
            Invoked::Crashed(_) => harness.tally.crashes += 1,
        }
    }
}

/// One scan of one scanner container, if `run`; its scan id is unique per invocation.
async fn scan((lane, scanner): &(Lane, Scanner), now: DateTime, run: bool) -> Option<Invoked<ScanResult>> {
    if !run {
        return None;
    }
    let scan_id = format!("{}-{}-{}", lane.name(), now.secs(), lane.stats().invocations);
    Some(lane.invoke(Crash::AtNewBoundary, scanner.scan(now, &scan_id)).await)
}

type ScanResult = Result<offsite_scanner::scan::Report, offsite_scanner::scan::ScanError>;

/// Selected sources (ARNs) and unselected ones.
async fn seed_sources(pipeline: &Pipeline) -> (BTreeSet<String>, BTreeSet<String>) {
    let w = &pipeline.workload;
    let data_key = kms_key(w, "workload data").await;
    let selected_tag = || vec![tag(SELECTED.0, SELECTED.1)];
    let mut selected = BTreeSet::new();
    let mut unselected = BTreeSet::new();
    for i in 0..INSTANCES {
        let db = format!("app-{i}");
        db_instance(w, &db, Some(&data_key)).await;
        // The automated snapshot RDS takes of a new instance, selected by its owner.
        let automated = select_automated_snapshot(w, &db, SELECTED).await;
        selected.insert(automated);
        let point = pipeline
            .emulator
            .backup_recovery_point(WORKLOAD, SnapshotKind::Instance, &db, &[SELECTED])
            .expect("recovery point");
        selected.insert(point.arn);
        for n in 0..MANUAL_PER_INSTANCE {
            let s = db_snapshot(w, &db, &format!("{db}-manual-{n}"), selected_tag()).await;
            selected.insert(s.db_snapshot_arn.expect("ARN"));
        }
        let noise = db_snapshot(w, &db, &format!("{db}-not-selected"), vec![tag("team", "payments")]).await;
        unselected.insert(noise.db_snapshot_arn.expect("ARN"));
    }
    for i in 0..CLUSTERS {
        let cluster = format!("ledger-{i}");
        db_cluster(w, &cluster, Some(&data_key)).await;
        let point = pipeline
            .emulator
            .backup_recovery_point(WORKLOAD, SnapshotKind::Cluster, &cluster, &[SELECTED])
            .expect("recovery point");
        selected.insert(point.arn);
        for n in 0..MANUAL_PER_CLUSTER {
            let s = db_cluster_snapshot(w, &cluster, &format!("{cluster}-manual-{n}"), selected_tag()).await;
            selected.insert(s.db_cluster_snapshot_arn.expect("ARN"));
        }
        let noise =
            db_cluster_snapshot(w, &cluster, &format!("{cluster}-not-selected"), vec![tag(SELECTED.0, "false")]).await;
        unselected.insert(noise.db_cluster_snapshot_arn.expect("ARN"));
    }
    (selected, unselected)
}

/// Messages no valid workload sends: each must be refused every time, then reach the DLQ.
fn hostile_messages(pipeline: &Pipeline) -> Vec<String> {
    let forged = |copy: &str, key: &str| {
        let copy_arn = format!("arn:aws:rds:{REGION}:{WORKLOAD}:snapshot:{copy}");
        serde_json::json!({
            "version": 1, "notice_id": Notice::id_for(&copy_arn), "kind": "db-snapshot", "copy_arn": copy_arn,
            "source_account": WORKLOAD, "source_region": REGION, "export_key_arn": key,
            "source_snapshot_arn": format!("arn:aws:rds:{REGION}:{WORKLOAD}:snapshot:app-0-manual-0"),
            "announce_time": "2026-12-01T00:00:00Z",
        })
        .to_string()
    };
    vec![
        "{\"not\": \"an SNS envelope\"}".to_owned(),
        sns_envelope(
            &format!("arn:aws:sns:{REGION}:{WORKLOAD}:someone-else"),
            &forged("offsite-x", &pipeline.export_key),
        ),
        sns_envelope(&pipeline.topic_arn, "{\"version\": 1,"),
        sns_envelope(
            &pipeline.topic_arn,
            &forged("offsite-x", &format!("arn:aws:kms:{REGION}:{WORKLOAD}:key/00000000-0000-0000-0000-000000000000")),
        ),
        // A well-formed notice for a copy that was never shared.
        sns_envelope(&pipeline.topic_arn, &forged("app-0-manual-0", &pipeline.export_key)),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pipeline_converges_under_faults_crashes_and_hostile_deliveries() {
    let started = Instant::now();
    // The pair as the templates deploy it, the notice queue's redrive policy (to the stack's
    // DLQ) at the receive count the harness's crash rule is written for.
    let max_receive_count = MAX_RECEIVE_COUNT.to_string();
    let options = EmulatorOptions { copy_delay: Duration::from_secs(1), ..Default::default() };
    let pair = DeployedPair::start(&options, &[], &[("NoticeMaxReceiveCount", &max_receive_count)])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let pipeline = Pipeline::on(pair).await;
    // 200 sources and their copies exceed RDS's default 100 manual snapshots of a kind: the
    // workload has the quota increase a team protecting this many requests (README,
    // "Capacity"); the vault gets it only once it has sat at a small quota for a while.
    pipeline.emulator.set_snapshot_quotas(WORKLOAD, 1_000, 1_000).unwrap_or_else(|e| panic!("{e}"));
    pipeline.emulator.set_snapshot_quotas(VAULT, VAULT_QUOTA.0, VAULT_QUOTA.1).unwrap_or_else(|e| panic!("{e}"));
    let sqs = aws_sdk_sqs::Client::new(&pipeline.vault);
    let dlq_url = pipeline.dead_letter_queue_url.clone();
    let mapping = aws_sdk_sqs::Client::new(&pipeline.importer_role);

    let (selected, unselected) = seed_sources(&pipeline).await;
    assert_eq!(selected.len(), 200);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let sources_before: BTreeMap<String, Snapshot> =
        inventory(&pipeline.workload).await.into_iter().filter(|(_, s)| !is_pipeline_copy(s)).collect();
    assert!(sources_before.values().all(|s| s.status == SnapshotStatus::Available), "sources ready");

    let mut env = pipeline.env.clone();
    for (name, value) in [
        // RDS's limit per region; the emulator's copies take a second.
        ("OFFSITE_MAX_COPIES_IN_FLIGHT", "20"),
        // Overlapping scans rely on it (the default is 2s).
        ("OFFSITE_CLAIM_SETTLE", "1s"),
        // 200 snapshots from one account in a day is the flood the default cap of 50 brakes;
        // this vault expects them.
        ("OFFSITE_MAX_IMPORTS_PER_SOURCE_PER_DAY", "1000"),
    ] {
        env.insert(name.to_owned(), value.to_owned());
    }
    let mut functions = Functions::new(&pipeline, &env);
    let hostile: Vec<String> = hostile_messages(&pipeline);
    for body in &hostile {
        sqs.send_message().queue_url(&pipeline.queue_url).message_body(body).send().await.expect("hostile message");
    }
    let hostile: BTreeSet<String> = hostile.into_iter().collect();

    let mut harness = Harness {
        mapping: &mapping,
        world: &sqs,
        queue_url: &pipeline.queue_url,
        hostile: &hostile,
        dice: Dice::new(SEED),
        tally: Tally::default(),
    };
    let doomed: BTreeSet<String> = selected.iter().step_by(20).cloned().collect();
    doom_first_copies(&pipeline, &doomed);
    let mut now = DateTime::from(SystemTime::now());
    // The pipeline's copies in the workload account, as last seen.
    let mut copies_seen: BTreeMap<String, Snapshot> = BTreeMap::new();
    // Workload copy ARN -> the source it was made from (its lineage tag).
    let mut copy_sources: BTreeMap<String, String> = BTreeMap::new();
    let mut vault_seen: BTreeSet<String> = BTreeSet::new();
    let mut wrongly_deleted: Vec<String> = Vec::new();
    let mut previous = String::new();
    let mut quiet_rounds = 0;
    let mut rounds = 0;
    // Rounds the vault sat full at its small quota; then the quota is raised.
    let mut rounds_at_wall = 0;
    let mut quota_raised = false;
    for expiry_phase in [false, true] {
        if expiry_phase {
            // Past the export retention (7 days): the scanner expires the workload's copies.
            now = DateTime::from_secs(now.secs() + 8 * 86_400);
            quiet_rounds = 0;
        }
        loop {
            assert!(rounds < MAX_ROUNDS, "no convergence after {rounds} rounds");
            rounds += 1;
            now = DateTime::from_secs(now.secs() + ROUND.as_secs() as i64);
            let crashes_before = harness.tally.crashes;
            round(&mut functions, &mut harness, now, rounds % 2 == 1, !expiry_phase).await;
            let workload = inventory(&pipeline.workload).await;
            let vault = inventory(&pipeline.vault).await;
            // A failed copy may be deleted in the round it was seen `creating` (its retry
            // finished within that round): what RDS did is the emulator's to say.
            let failed = failed_by_rds(&pipeline);
            for (arn, last) in copies_seen.iter().filter(|(arn, _)| !workload.contains_key(*arn)) {
                let given_up = matches!(last.status, SnapshotStatus::Failed(_))
                    || last.tag(tags::STAGE) == Some(tags::STAGE_FAILED)
                    || failed.contains_key(arn);
                if given_up {
                    harness.tally.superseded_deleted.insert(arn.clone());
                } else if !expiry_phase {
                    wrongly_deleted.push(arn.clone());
                }
            }
            copies_seen.retain(|arn, _| workload.contains_key(arn));
            copies_seen.extend(workload.values().filter(|s| is_pipeline_copy(s)).map(|s| (s.arn.clone(), s.clone())));
            copy_sources.extend(
                workload
                    .values()
                    .filter(|s| is_pipeline_copy(s))
                    .filter_map(|s| s.tag(tags::SOURCE_ARN).map(|source| (s.arn.clone(), source.to_owned()))),
            );
            if !quota_raised {
                let full = |kind: SnapshotKind, max: u32| {
                    vault.values().filter(|s| s.kind == kind && is_genuine_import(s)).count() >= max as usize
                };
                if full(SnapshotKind::Instance, VAULT_QUOTA.0) && full(SnapshotKind::Cluster, VAULT_QUOTA.1) {
                    rounds_at_wall += 1;
                }
                if rounds_at_wall >= WALL_ROUNDS {
                    pipeline.emulator.set_snapshot_quotas(VAULT, 1_000, 1_000).unwrap_or_else(|e| panic!("{e}"));
                    quota_raised = true;
                    harness.tally.wall_rounds = rounds;
                }
            }
            let vault_now: BTreeSet<String> = vault.keys().cloned().collect();
            wrongly_deleted.extend(vault_seen.difference(&vault_now).cloned());
            vault_seen.extend(vault_now);
            let queued = (
                event_source::queue_depth(&sqs, &pipeline.queue_url).await,
                event_source::queue_depth(&sqs, &dlq_url).await,
            );
            let print = fingerprint(&workload, &vault, queued);
            // Settled: nothing changed, nothing crashed, nothing queued, and nothing still
            // being copied (a copy in progress is work to come, however quiet the round).
            let copying =
                workload.values().chain(vault.values()).any(|s| matches!(s.status, SnapshotStatus::InProgress(_)));
            let settled = print == previous
                && harness.tally.crashes == crashes_before
                && queued.0 == 0
                && !copying
                && quota_raised;
            previous = print;
            quiet_rounds = if settled { quiet_rounds + 1 } else { 0 };
            if quiet_rounds >= 2 {
                break;
            }
        }
    }

    // The vault: each selected snapshot exactly once, under the vault key, with lineage.
    let vault = inventory(&pipeline.vault).await;
    let mut by_source: BTreeMap<&str, Vec<&Snapshot>> = BTreeMap::new();
    for copy in vault.values() {
        let source = copy.tag(tags::COPY_ARN).and_then(|c| copy_sources.get(c)).map_or("?", String::as_str);
        by_source.entry(source).or_default().push(copy);
    }
    let in_vault = selected.iter().filter(|s| by_source.contains_key(s.as_str())).count();
    let duplicates: usize = by_source.values().map(|c| c.len().saturating_sub(1)).sum();
    let missing: Vec<&String> = selected.iter().filter(|s| !by_source.contains_key(s.as_str())).collect();
    let stats: Vec<LaneStats> = functions.lanes().iter().map(|l| l.stats()).collect();
    let faults: u64 = stats.iter().map(LaneStats::faults_total).sum();
    let lane_crashes: u64 = stats.iter().map(|s| s.crashes).sum();
    let tally = &harness.tally;
    offsite_tests::summary_line(
        "chaos",
        &format!(
            "chaos: {} snapshots, {faults} faults, {} crashes, {} duplicate deliveries, {} lost notices -> {in_vault}/{} in vault, {duplicates} duplicates, {} missing",
            selected.len(),
            tally.crashes,
            tally.duplicate_deliveries,
            tally.lost_notices,
            selected.len(),
            missing.len()
        ),
    );
    for (lane, s) in functions.lanes().iter().zip(&stats) {
        eprintln!(
            "chaos: {}: {} invocations, {} calls, {} attempts, faults {:?}, {} crashes over {} boundaries, uncovered {:?}",
            lane.name(),
            s.invocations,
            s.calls,
            s.attempts,
            s.faults,
            s.crashes,
            s.seen.len(),
            s.uncovered().iter().map(ToString::to_string).collect::<Vec<_>>()
        );
    }
    let failed = failed_by_rds(&pipeline);
    eprintln!(
        "chaos: {} first copies failed by RDS, {} failed copies deleted once retried",
        failed.len(),
        tally.superseded_deleted.len()
    );
    eprintln!("chaos: {} messages received, importer results {:?}", tally.received, tally.import_results);
    eprintln!(
        "chaos: {rounds} rounds in {:?}; runs that failed as a whole: {:#?}",
        started.elapsed(),
        tally.failed_runs
    );

    eprintln!("chaos: the vault sat at its quota {VAULT_QUOTA:?} until round {}", tally.wall_rounds);
    let importers_share = vault.values().filter(|c| c.tag(tags::IMPORTED_BY) == Some("importer")).count();
    eprintln!("chaos: {importers_share} of the vault's copies imported by the importer, the rest by the reconciler");
    assert_eq!(lane_crashes, tally.crashes, "every crash the lanes made was seen by the harness");
    // The wall was met and was one state: notices deferred (and sent again), never refused.
    assert!(tally.wall_rounds > 0, "the vault's quota was never reached");
    assert!(tally.import_results.get("at-quota").is_some_and(|n| *n > 0), "{:?}", tally.import_results);
    assert!(missing.is_empty(), "missing from the vault: {missing:#?}");
    assert_eq!(duplicates, 0, "{by_source:#?}");
    assert_eq!(vault.len(), selected.len(), "nothing else in the vault: {:#?}", vault.keys());
    for copy in vault.values() {
        assert_eq!(copy.status, SnapshotStatus::Available, "{}", copy.arn);
        assert_eq!(copy.kms_key_id.as_deref(), Some(pipeline.import_key.as_str()), "{}", copy.arn);
        assert_eq!(copy.tag(tags::MARKER), Some(tags::MARKER_IMPORT), "{}", copy.arn);
        assert_eq!(copy.tag(tags::SOURCE_ACCOUNT), Some(WORKLOAD), "{}", copy.arn);
        let workload_copy = copy.tag(tags::COPY_ARN).expect("the copy it was made from");
        assert_eq!(copy.copied_from.as_deref(), Some(workload_copy), "RDS's own lineage agrees: {}", copy.arn);
        assert!(copy_sources.contains_key(workload_copy), "made from one of the pipeline's copies: {workload_copy}");
        if let Some(claimed) = copy.tag(tags::SOURCE_ARN) {
            assert_eq!(Some(claimed), copy_sources.get(workload_copy).map(String::as_str), "claimed lineage");
        }
        assert!(is_genuine_import(copy), "the identifier the vault gives that copy: {}", copy.identifier);
    }
    let by_importer = vault.values().filter(|c| c.tag(tags::IMPORTED_BY) == Some("importer")).count();
    // The notices deferred at the vault's quota wait 15 minutes in the queue, longer than the
    // run: the reconciler imports those, so the importer's share is what came before the wall
    // and after the raise (about 40 of 200 with the seed here).
    assert!(by_importer >= selected.len() / 10, "the notice path carried its share: {by_importer} by the importer");
    // Sources: untouched, never shared; unselected ones never exported.
    let workload = inventory(&pipeline.workload).await;
    let sources_after: BTreeMap<String, Snapshot> =
        workload.iter().filter(|(_, s)| !is_pipeline_copy(s)).map(|(k, v)| (k.clone(), v.clone())).collect();
    assert_eq!(sources_after, sources_before, "the sources are exactly as they were");
    let rds = RdsSnapshots::new(Client::new(&pipeline.workload));
    for source in sources_after.values().filter(|s| s.snapshot_type.as_deref() != Some("awsbackup")) {
        // (moto cannot read the attributes of an AWS Backup snapshot; the vault's view below
        // covers those.)
        let shared = rds.shared_with(source.kind, &source.identifier).await.expect("share list");
        assert!(shared.is_empty(), "{} was shared with {shared:?}", source.arn);
    }
    let vault_rds = RdsSnapshots::new(Client::new(&pipeline.vault));
    for kind in [SnapshotKind::Instance, SnapshotKind::Cluster] {
        let shared = vault_rds.list(kind, Some("shared")).await.expect("shared with the vault");
        let sources: Vec<&str> =
            shared.iter().map(|s| s.arn.as_str()).filter(|a| sources_after.contains_key(*a)).collect();
        assert!(sources.is_empty(), "sources shared with the vault: {sources:?}");
    }
    let exported_sources: BTreeSet<String> = copy_sources.values().cloned().collect();
    let wrongly_exported: Vec<&String> = unselected.intersection(&exported_sources).collect();
    assert!(wrongly_exported.is_empty(), "unselected snapshots were exported: {wrongly_exported:?}");
    assert_eq!(&exported_sources, &selected, "every selected snapshot, and only those, was exported");
    // Deletions: only the pipeline's copies, only once expired.
    assert!(wrongly_deleted.is_empty(), "deleted before their time: {wrongly_deleted:#?}");
    let left: Vec<&String> = workload.values().filter(|s| is_pipeline_copy(s)).map(|s| &s.arn).collect();
    assert!(left.is_empty(), "the workload's copies expire after the export retention: {left:#?}");
    // Every failed first copy was retried (above: the source is in the vault) and deleted.
    let failed_sources: BTreeSet<String> = failed.values().flatten().cloned().collect();
    assert_eq!(failed_sources, doomed, "RDS failed one copy of each doomed source: {failed:#?}");
    assert_eq!(failed.len(), doomed.len(), "and only one: {failed:#?}");
    let failed_copies: BTreeSet<String> = failed.keys().cloned().collect();
    assert_eq!(tally.superseded_deleted, failed_copies, "each failed copy was deleted once retried");
    // The DLQ: exactly the hostile messages.
    let dead: BTreeSet<String> = drain_queue(&pipeline.vault, &dlq_url).await.into_iter().collect();
    assert_eq!(dead, hostile, "the DLQ holds the hostile messages and nothing else");
    assert!(tally.valid_rejected.is_empty(), "valid notices refused: {:#?}", tally.valid_rejected);
    // Faults and crashes reached every function, and a crash hit every boundary it showed
    // (in one of its containers).
    let mut by_function: BTreeMap<&str, (BTreeSet<Boundary>, BTreeSet<Boundary>)> = BTreeMap::new();
    for (lane, s) in functions.lanes().iter().zip(&stats) {
        assert!(s.faults_total() > 0 && s.crashes > 0, "{}: {s:?}", lane.name());
        let function = lane.name().split('-').next().unwrap_or_default();
        let (seen, crashed) = by_function.entry(function).or_default();
        seen.extend(s.seen.iter().cloned());
        crashed.extend(s.crashed_at.iter().cloned());
    }
    for (function, (seen, crashed)) in &by_function {
        let uncovered: Vec<String> = seen.difference(crashed).map(ToString::to_string).collect();
        assert!(uncovered.is_empty(), "{function}: no crash at {uncovered:?}");
    }
}

/// The DynamoDB export job under the same faults and crashes, slot after slot: each selected
/// table exported exactly once per slot (the slot's `ClientToken` holds through lost answers
/// and crashes), every export complete in the auditor's bucket with the table's items, the
/// tables without point-in-time recovery reported on every run, nothing else exported.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dynamodb_job_exports_each_table_once_per_slot_under_faults_and_crashes() {
    use aws_sdk_dynamodb::types::ExportStatus;
    use offsite_dynamo::run::{DynamoExporter, TableResult};
    use offsite_dynamo::settings::DynamoSettings;
    use offsite_tests::deployed::AUDITOR_BUCKET;
    use offsite_tests::fixtures::{dynamo_table, export_output};

    const TABLES: usize = 24;
    const ITEMS: usize = 4;
    const BUCKET: &str = AUDITOR_BUCKET;
    let started = Instant::now();
    // The stacks as deployed: the job runs under its template role, into the auditor's
    // bucket through its policy and under its key.
    let options = EmulatorOptions { copy_delay: Duration::from_secs(1), ..Default::default() };
    let pair = DeployedPair::start(&options, &[], &[]).await.unwrap_or_else(|e| panic!("{e}"));
    let (emulator, workload, auditor) = (&pair.emulator, &pair.workload, &pair.auditor);
    let job_role = pair.role_config("offsite-dynamo-export").await.unwrap_or_else(|e| panic!("{e}"));
    let env = pair.dynamo_destination_env();
    let mut selected = BTreeMap::new();
    for i in 0..TABLES {
        let name = format!("orders-{i:02}");
        selected.insert(dynamo_table(workload, &name, true, true, ITEMS).await, name);
    }
    for name in ["no-pitr-a", "no-pitr-b"] {
        dynamo_table(workload, name, false, true, 1).await;
    }
    let unselected = dynamo_table(workload, "scratch", true, false, 1).await;
    // Items and PITR as of three days ago, so that yesterday's slot is restorable.
    for name in selected.values().map(String::as_str).chain(["scratch"]) {
        emulator.backdate_dynamodb_table(WORKLOAD, name, Duration::from_secs(3 * 86_400)).expect("backdate");
    }
    let lane = Lane::new("dynamodb-export", SEED, FAULT_RATE);
    let job = DynamoExporter::new(
        aws_sdk_dynamodb::Client::new(&lane.wrap(&job_role)),
        DynamoSettings::from_env(&env).expect("settings"),
        WORKLOAD.to_owned(),
    );
    let ddb = aws_sdk_dynamodb::Client::new(workload);
    let exports = || async {
        let mut all = Vec::new();
        let mut token = None;
        loop {
            let page = ddb.list_exports().set_next_token(token.take()).send().await.expect("list exports");
            for summary in page.export_summaries() {
                let arn = summary.export_arn().unwrap_or_default();
                let described = ddb.describe_export().export_arn(arn).send().await.expect("describe export");
                all.extend(described.export_description);
            }
            match page.next_token {
                Some(next) => token = Some(next),
                None => return all,
            }
        }
    };

    let today = DateTime::from(SystemTime::now());
    let (mut crashes, mut failed_runs, mut runs) = (0u64, Vec::new(), 0usize);
    let mut last_report = None;
    for slot in [DateTime::from_secs(today.secs() - 86_400), today] {
        let (mut previous, mut quiet) = (String::new(), 0);
        while quiet < 2 {
            assert!(runs < MAX_ROUNDS, "no convergence after {runs} runs");
            runs += 1;
            let crashes_before = crashes;
            match lane.invoke(Crash::AtNewBoundary, job.run(slot)).await {
                Invoked::Completed(Ok(report)) => last_report = Some(report),
                Invoked::Completed(Err(e)) => failed_runs.push(e.to_string()),
                Invoked::Crashed(_) => crashes += 1,
            }
            tokio::time::sleep(Duration::from_millis(1100)).await;
            let state: Vec<String> =
                exports().await.iter().map(|e| format!("{:?} {:?}", e.export_arn(), e.export_status())).collect();
            let print = state.join("\n");
            let all_done = exports().await.iter().all(|e| e.export_status() == Some(&ExportStatus::Completed));
            quiet = if print == previous && crashes == crashes_before && all_done { quiet + 1 } else { 0 };
            previous = print;
        }
    }

    let all = exports().await;
    let mut per_table_slot: BTreeMap<(String, i64), usize> = BTreeMap::new();
    for export in &all {
        assert_eq!(export.export_status(), Some(&ExportStatus::Completed), "{export:?}");
        let table = export.table_arn().unwrap_or_default().to_owned();
        assert_ne!(table, unselected, "an unselected table was exported");
        *per_table_slot.entry((table, export.export_time().map_or(0, DateTime::secs))).or_default() += 1;
        let (_, _, lines) = export_output(auditor, BUCKET, export).await;
        assert_eq!(lines.len(), ITEMS, "every item of {:?} in its export", export.table_arn());
    }
    let expected_exports = TABLES * 2;
    let duplicates: usize = per_table_slot.values().map(|n| n.saturating_sub(1)).sum();
    let missing = expected_exports.saturating_sub(per_table_slot.len());
    let stats = lane.stats();
    offsite_tests::summary_line(
        "chaos-dynamodb",
        &format!(
            "chaos (DynamoDB): {TABLES} tables over 2 slots, {} faults, {crashes} crashes -> {}/{expected_exports} exports, {duplicates} duplicates, {missing} missing",
            stats.faults_total(),
            per_table_slot.len()
        ),
    );
    eprintln!(
        "chaos (DynamoDB): {runs} runs in {:?}, {} calls, {} attempts, faults {:?}, uncovered {:?}, failed runs {failed_runs:?}",
        started.elapsed(),
        stats.calls,
        stats.attempts,
        stats.faults,
        stats.uncovered()
    );
    assert_eq!(per_table_slot.len(), expected_exports, "one export per table and slot: {per_table_slot:#?}");
    assert_eq!(duplicates, 0, "{per_table_slot:#?}");
    assert_eq!(missing, 0);
    assert!(stats.faults_total() > 0 && crashes > 0);
    assert!(stats.uncovered().is_empty(), "no crash at {:?}", stats.uncovered());
    assert!(last_report.is_some(), "some run completed under faults");
    // A run without faults after it all: the slot is done for every table, and the tables
    // without PITR are still reported. (The last run under faults cannot say so: an injected
    // error that outlasts the retries fails a table's check, and which attempt it hits
    // depends on how many runs convergence took.)
    let clean = DynamoExporter::new(
        aws_sdk_dynamodb::Client::new(&job_role),
        DynamoSettings::from_env(&env).expect("settings"),
        WORKLOAD.to_owned(),
    );
    let report = clean.run(today).await.expect("a run without faults");
    assert_eq!(report.count(TableResult::NoPitr), 2, "the tables without PITR are reported on every run: {report:#?}");
    assert_eq!(report.count(TableResult::AlreadyStarted), TABLES, "{report:#?}");
    assert_eq!(exports().await.len(), expected_exports, "and it starts nothing more");
}

/// The vault's RDS export function under the same faults and crashes, run after run: six
/// source databases with vault imports on three days each and a daily export period, so
/// eighteen exports go through the account's five slots. Every (database, day) is exported
/// exactly once, under its first attempt's name (a lost answer or a crash never makes a
/// second task), each export complete with the seeded rows in the auditor's bucket, the run's
/// reading of each newest export's `export_tables_info` done under the template role.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rds_export_function_exports_each_database_and_day_once_under_faults_and_crashes() {
    use offsite_common::lineage::import_taken_secs;
    use offsite_rds_export::plan::TaskStatus;
    use offsite_rds_export::run::RdsExporter;
    use offsite_rds_export::settings::RdsExportSettings;
    use offsite_tests::deployed::AUDITOR_BUCKET;

    const DATABASES: usize = 6;
    const DAYS: usize = 3;
    const DAY: u64 = 86_400;
    /// About 50 are needed: a crash at each of the run's boundaries (about 45: the listings,
    /// each start, each read of a newest export's tables info) besides the runs that work.
    /// A bound on runs, not on time.
    const MAX_RUNS: usize = 200;
    let started = Instant::now();
    let p = Pipeline::start(Duration::from_secs(1)).await;
    // The vault's imports as the importer leaves them: snapshots of a vault instance whose
    // content is seeded, under the importer's identifiers and provenance tags, a day apart.
    db_instance(&p.vault, "chaos-source", None).await;
    let shop = serde_json::json!([{
        "name": "shop",
        "tables": [{"schema": "public", "name": "orders",
            "columns": [{"name": "id", "type": "integer"}, {"name": "customer", "type": "text"}],
            "rows": [[1, "ada"], [2, "grace"], [3, "edsger"]]}],
    }]);
    p.emulator.seed_database(VAULT, SnapshotKind::Instance, "chaos-source", shop).expect("seed");
    let now = SystemTime::now();
    let rds = Client::new(&p.vault);
    let mut copies = Vec::new();
    for d in 0..DATABASES {
        for day in 0..DAYS {
            let taken = now - Duration::from_secs((3 + day as u64) * DAY);
            copies.push(
                offsite_tests::fixtures::vault_import(&p.vault, "chaos-source", &format!("db-{d}"), day, taken).await,
            );
        }
    }
    let inventory_of_vault = || async { inventory(&p.vault).await };
    offsite_tests::fixtures::wait_for("the imports to be available", Duration::from_secs(60), || async {
        let all = inventory_of_vault().await;
        (copies.iter().all(|c| all.values().any(|s| s.identifier == *c && s.status == SnapshotStatus::Available)))
            .then_some(())
    })
    .await;

    // The function as deployed, with a daily period: one export per database and day.
    let mut env = p.function_env("offsite-rds-export").expect("the function's environment");
    env.insert("OFFSITE_RDS_EXPORT_PERIOD".into(), "1d".into());
    let settings = RdsExportSettings::from_env(&env).expect("settings");
    let role = p.role_config("offsite-rds-export").await.expect("the function's role");
    let lane = Lane::new("rds-export", SEED, FAULT_RATE);
    let faulty = lane.wrap(&role);
    let function = RdsExporter::new(Client::new(&faulty), aws_sdk_s3::Client::new(&faulty), settings.clone());
    let tasks = || async {
        let out = rds.describe_export_tasks().send().await.expect("describe export tasks");
        out.export_tasks().to_vec()
    };
    let expected = DATABASES * DAYS;
    let run_at = DateTime::from(now);
    let (mut runs, mut crashes, mut failed_runs, mut previous, mut quiet) =
        (0usize, 0u64, Vec::new(), String::new(), 0);
    while quiet < 2 {
        assert!(runs < MAX_RUNS, "no convergence after {runs} runs");
        runs += 1;
        let crashes_before = crashes;
        match lane.invoke(Crash::AtNewBoundary, function.run(run_at)).await {
            Invoked::Completed(Ok(report)) => assert!(report.security.is_empty(), "{report:#?}"),
            Invoked::Completed(Err(e)) => failed_runs.push(e.to_string()),
            Invoked::Crashed(_) => crashes += 1,
        }
        // The exports move on with the emulator's copy time (1 s), whatever the run did.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let all = tasks().await;
        let print: Vec<String> =
            all.iter().map(|t| format!("{:?} {:?}", t.export_task_identifier(), t.status())).collect();
        let print = print.join("\n");
        let done = all.len() == expected
            && all.iter().all(|t| TaskStatus::parse(t.status().unwrap_or_default()) == TaskStatus::Complete);
        quiet = if print == previous && crashes == crashes_before && done { quiet + 1 } else { 0 };
        previous = print;
    }

    let all = tasks().await;
    let mut per_source: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for task in &all {
        let id = task.export_task_identifier().unwrap_or_default().to_owned();
        assert!(id.ends_with("-1"), "only first attempts: {id}");
        per_source.entry(task.source_arn().unwrap_or_default().to_owned()).or_default().push(id);
    }
    let duplicates: usize = per_source.values().map(|ids| ids.len().saturating_sub(1)).sum();
    let missing = expected.saturating_sub(per_source.len());
    // What the auditor finds: one Parquet file of the seeded table per export.
    let listed = aws_sdk_s3::Client::new(&p.auditor)
        .list_objects_v2()
        .bucket(AUDITOR_BUCKET)
        .prefix("offsite/rds/")
        .send()
        .await
        .expect("list the exports");
    let parquet = listed.contents().iter().filter(|o| o.key().is_some_and(|k| k.ends_with(".gz.parquet"))).count();
    let stats = lane.stats();
    offsite_tests::summary_line(
        "chaos-rds-export",
        &format!(
            "chaos (RDS exports): {DATABASES} databases x {DAYS} days, {} faults, {crashes} crashes -> {}/{expected} exports, {duplicates} duplicates, {missing} missing",
            stats.faults_total(),
            per_source.len()
        ),
    );
    eprintln!(
        "chaos (RDS exports): {runs} runs in {:?}, {} calls, faults {:?}, uncovered {:?}, failed runs {failed_runs:?}",
        started.elapsed(),
        stats.calls,
        stats.faults,
        stats.uncovered()
    );
    assert_eq!(per_source.len(), expected, "{per_source:#?}");
    assert_eq!(duplicates, 0, "{per_source:#?}");
    assert_eq!(parquet, expected, "one Parquet file per export");
    // Each export holds its copy's day, in the period's folder.
    for task in &all {
        let copy = inventory_of_vault()
            .await
            .into_values()
            .find(|s| Some(s.arn.as_str()) == task.source_arn())
            .expect("the exported copy");
        let day = offsite_common::calendar::date_text(import_taken_secs(&copy).expect("taken"));
        assert!(task.s3_prefix().is_some_and(|prefix| prefix.ends_with(&format!("date={day}"))), "{task:?}");
    }
    assert!(stats.faults_total() > 0 && crashes > 0, "{stats:?}");
    assert!(stats.uncovered().is_empty(), "no crash at {:?}", stats.uncovered());
    // A run without faults after it all: nothing to start, every database's newest export
    // read back from its own export_tables_info.
    let clean = RdsExporter::new(Client::new(&role), aws_sdk_s3::Client::new(&role), settings);
    let report = clean.run(run_at).await.expect("a run without faults");
    assert!(report.starts.is_empty(), "{report:#?}");
    assert_eq!(report.databases.len(), DATABASES);
    for state in &report.databases {
        assert_eq!(state.newest_export_tables, Some(1), "{state:#?}");
        assert!(state.warnings.is_empty() && state.skipped_tables.is_empty(), "{state:#?}");
    }
}
