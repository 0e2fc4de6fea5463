//! RDS exports for auditors on the deployed pair: a vault copy of a seeded PostgreSQL
//! database is exported by `offsite-rds-export` under its template role into the auditor's
//! bucket (the stacks' bucket policy, writer role and key policy, enforced by the emulator),
//! the Parquet files hold the seeded rows, and a rerun or a second run at once starts nothing
//! more, and the function reads the export's own `export_tables_info`; an auditor bucket policy
//! without the writer and a key policy without the function refuse the export with the fix
//! named, and nothing is written; a key policy that does not let the function decrypt the
//! tables info leaves a warning naming the fix.

use std::time::Duration;

use aws_smithy_types::DateTime;
use offsite_common::snapshot::Snapshot;
use offsite_rds_export::plan::TaskStatus;
use offsite_rds_export::run::{RdsExporter, Report, StartResult};
use offsite_rds_export::settings::RdsExportSettings;
use offsite_tests::deployed::AUDITOR_BUCKET;
use offsite_tests::fixtures::wait_for;
use offsite_tests::pipeline::Pipeline;
use offsite_tests::{WORKLOAD, workspace_root};
use serde_json::{Value, json};

const DAY: i64 = 86_400;

/// The seeded database: two rows of `shop.public.orders`, with the types whose conversion the
/// user guide documents (PostgreSQL numeric and timestamps arrive as strings).
fn shop() -> Value {
    json!([{
        "name": "shop",
        "tables": [{
            "schema": "public",
            "name": "orders",
            "columns": [
                {"name": "id", "type": "integer"},
                {"name": "customer", "type": "text"},
                {"name": "total", "type": "numeric(10,2)"},
                {"name": "placed_at", "type": "timestamp without time zone"},
            ],
            "rows": [
                [1, "ada", "12.50", "2026-11-01 10:00:00"],
                [2, "grace", "7.25", "2026-11-02 11:30:00"],
            ],
        }],
    }])
}

/// A pair whose `orders` database holds [`shop`], with one vault copy of it; returns the copy.
async fn vault_copy_of_seeded_orders(p: &Pipeline) -> Snapshot {
    let copy = p.seeded_vault_copy("orders-1", shop()).await;
    assert_eq!(p.vault_copies().await.len(), 1);
    copy
}

/// The export function as Lambda runs it: its template's environment, a session of its role.
async fn exporter(p: &Pipeline) -> RdsExporter {
    p.rds_exporter().await
}

/// A moment when the copy's weekly period has closed and its grace passed.
fn a_week_after(copy: &Snapshot) -> DateTime {
    let taken = offsite_common::lineage::import_taken_secs(copy).expect("taken");
    DateTime::from_secs(taken + 8 * DAY)
}

async fn run(p: &Pipeline, now: DateTime) -> Report {
    exporter(p).await.run(now).await.expect("the listings succeed")
}

/// Every export task of the vault account, as its operator sees them.
async fn tasks(p: &Pipeline) -> Vec<aws_sdk_rds::types::ExportTask> {
    let out = aws_sdk_rds::Client::new(&p.vault).describe_export_tasks().send().await.expect("describe");
    out.export_tasks().to_vec()
}

/// The keys under `prefix` in the auditor's bucket, as the auditor lists them.
async fn keys_under(p: &Pipeline, prefix: &str) -> Vec<String> {
    let out = aws_sdk_s3::Client::new(&p.auditor)
        .list_objects_v2()
        .bucket(AUDITOR_BUCKET)
        .prefix(prefix)
        .send()
        .await
        .expect("list the bucket");
    out.contents().iter().filter_map(|o| o.key().map(str::to_owned)).collect()
}

async fn object(p: &Pipeline, key: &str) -> Vec<u8> {
    let out = aws_sdk_s3::Client::new(&p.auditor)
        .get_object()
        .bucket(AUDITOR_BUCKET)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("get {key}: {e:?}"));
    out.body.collect().await.expect("read").into_bytes().to_vec()
}

/// The rows and column types of a Parquet file, read with pyarrow (pinned in the emulator's
/// virtualenv): what Athena will read.
fn parquet_rows(bytes: &[u8]) -> Value {
    let dir = std::env::temp_dir().join(format!("offsite-parquet-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join(format!("{}.parquet", bytes.len()));
    std::fs::write(&file, bytes).expect("write the file");
    let script = "import json, sys, pyarrow.parquet as pq\n\
                  t = pq.read_table(sys.argv[1])\n\
                  print(json.dumps({'types': {f.name: str(f.type) for f in t.schema}, 'rows': t.to_pylist()}, default=str))";
    let out = std::process::Command::new(workspace_root().join(".venv/bin/python"))
        .args(["-c", script])
        .arg(&file)
        .output()
        .expect("run pyarrow");
    assert!(out.status.success(), "pyarrow: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON from pyarrow")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vault_copy_is_exported_as_parquet_once_whatever_reruns_and_concurrent_runs() {
    let p = Pipeline::start(Duration::ZERO).await;
    let copy = vault_copy_of_seeded_orders(&p).await;
    let now = a_week_after(&copy);

    // Two runs at once, then a rerun: one export task.
    let (a, b) = tokio::join!(run(&p, now), run(&p, now));
    let started = a.count(&StartResult::Started) + b.count(&StartResult::Started);
    let rerun_of_same = a.count(&StartResult::AlreadyStarted) + b.count(&StartResult::AlreadyStarted);
    assert_eq!(started, 1, "{a:#?}\n{b:#?}");
    assert!(a.security.is_empty() && b.security.is_empty());
    assert!(rerun_of_same <= 1);
    let report = run(&p, now).await;
    assert!(report.starts.is_empty(), "a rerun starts nothing: {report:#?}");
    let all = tasks(&p).await;
    assert_eq!(all.len(), 1, "one task: {all:#?}");
    let task = &all[0];
    assert_eq!(task.source_arn(), Some(copy.arn.as_str()));
    assert_eq!(TaskStatus::parse(task.status().unwrap_or_default()), TaskStatus::Complete, "{task:#?}");
    let identifier = task.export_task_identifier().expect("identifier");
    let taken = offsite_common::lineage::import_taken_secs(&copy).expect("taken");
    let prefix =
        format!("offsite/rds/account={WORKLOAD}/database=orders/date={}", offsite_common::calendar::date_text(taken));
    assert_eq!(task.s3_prefix(), Some(prefix.as_str()));

    // What the auditor finds: RDS's layout, the metadata files, and the seeded rows.
    let keys = keys_under(&p, &format!("{prefix}/{identifier}/")).await;
    assert!(keys.iter().any(|k| k.ends_with(&format!("export_info_{identifier}.json"))), "{keys:#?}");
    let tables_info = keys
        .iter()
        .find(|k| k.contains(&format!("export_tables_info_{identifier}_from_")))
        .unwrap_or_else(|| panic!("no export_tables_info: {keys:#?}"));
    let info: Value = serde_json::from_slice(&object(&p, tables_info).await).expect("tables info JSON");
    let table = &info["perTableStatus"][0];
    assert_eq!(table["target"], "shop.public.orders", "{info:#}");
    let parquet: Vec<&String> =
        keys.iter().filter(|k| k.contains("/shop/public.orders/") && k.ends_with(".gz.parquet")).collect();
    assert_eq!(parquet.len(), 1, "{keys:#?}");
    let read = parquet_rows(&object(&p, parquet[0]).await);
    assert_eq!(read["types"]["id"], "int32", "{read:#}");
    assert_eq!(read["types"]["total"], "string", "PostgreSQL numeric arrives as a string: {read:#}");
    assert_eq!(read["rows"][1]["customer"], "grace");
    assert_eq!(read["rows"][0]["placed_at"], "2026-11-01 10:00:00");
    assert_eq!(read["rows"].as_array().map(Vec::len), Some(2));

    // Reported: the database's newest export, and its age.
    let state = &report.databases[0];
    assert_eq!(state.newest_export.as_deref(), Some(identifier));
    // The function read the export's own export_tables_info under its template role, through
    // the auditor's bucket policy and key policy (kms:Decrypt through S3, enforced).
    assert_eq!(state.newest_export_tables, Some(1), "{state:#?}");
    assert!(state.warnings.is_empty() && state.skipped_tables.is_empty(), "{state:#?}");
    assert_eq!(report.metrics()[0].get("DatabasesWithoutExport"), 0.0);
    assert_eq!(report.metrics()[0].get("ExportsCompleted"), 1.0, "the week's export, complete");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auditor_bucket_or_key_that_does_not_admit_the_vault_refuses_the_export_and_nothing_is_written() {
    let p = Pipeline::start(Duration::ZERO).await;
    let copy = vault_copy_of_seeded_orders(&p).await;
    let now = a_week_after(&copy);
    let s3 = aws_sdk_s3::Client::new(&p.auditor);
    let kms = aws_sdk_kms::Client::new(&p.auditor);
    let policy = s3.get_bucket_policy().bucket(AUDITOR_BUCKET).send().await.expect("policy");
    let original_policy: Value = serde_json::from_str(policy.policy().expect("text")).expect("JSON");
    let key_policy = kms.get_key_policy().key_id(&p.audit_key).policy_name("default").send().await.expect("key policy");
    let original_key_policy: Value = serde_json::from_str(key_policy.policy().expect("text")).expect("JSON");

    // The auditor's bucket policy without the vault writer's statements.
    let without = |document: &Value, sid_part: &str| {
        let mut d = document.clone();
        if let Some(statements) = d["Statement"].as_array_mut() {
            statements.retain(|s| !s["Sid"].as_str().unwrap_or_default().contains(sid_part));
        }
        d
    };
    let narrowed = without(&original_policy, "VaultExportWriter");
    s3.put_bucket_policy().bucket(AUDITOR_BUCKET).policy(narrowed.to_string()).send().await.expect("put policy");
    let report = run(&p, now).await;
    assert_eq!(report.count(&StartResult::Refused), 1, "{report:#?}");
    let reason = report.starts[0].reason.clone().unwrap_or_default();
    assert!(reason.starts_with("InvalidS3Bucket") && reason.contains("auditor stack"), "{reason}");
    assert_eq!(report.metrics()[0].get("ExportsRefused"), 1.0);
    assert!(tasks(&p).await.is_empty());
    s3.put_bucket_policy().bucket(AUDITOR_BUCKET).policy(original_policy.to_string()).send().await.expect("restore");

    // The auditor's key policy without the vault function's statement: RDS may not use it.
    let narrowed = without(&original_key_policy, "VaultExportFunction");
    kms.put_key_policy()
        .key_id(&p.audit_key)
        .policy_name("default")
        .policy(narrowed.to_string())
        .send()
        .await
        .expect("put key policy");
    let report = run(&p, now).await;
    assert_eq!(report.count(&StartResult::Refused), 1, "{report:#?}");
    let reason = report.starts[0].reason.clone().unwrap_or_default();
    assert!(reason.starts_with("KMSKeyNotAccessible") && reason.contains("kms:CreateGrant"), "{reason}");
    assert!(tasks(&p).await.is_empty());
    assert!(keys_under(&p, "offsite/rds/").await.is_empty(), "nothing written");

    // Put back, the next run exports.
    kms.put_key_policy()
        .key_id(&p.audit_key)
        .policy_name("default")
        .policy(original_key_policy.to_string())
        .send()
        .await
        .expect("restore");
    let report = run(&p, now).await;
    assert_eq!(report.count(&StartResult::Started), 1, "{report:#?}");
    wait_for("the export to complete", Duration::from_secs(30), || async {
        let all = tasks(&p).await;
        all.iter().any(|t| TaskStatus::parse(t.status().unwrap_or_default()) == TaskStatus::Complete).then_some(())
    })
    .await;

    // A key policy that lets the function start exports but not decrypt through S3: the
    // export stands, the function cannot read its tables info and says what to fix.
    let narrowed = without(&original_key_policy, "VaultExportFunctionDecrypts");
    kms.put_key_policy()
        .key_id(&p.audit_key)
        .policy_name("default")
        .policy(narrowed.to_string())
        .send()
        .await
        .expect("put key policy");
    let report = run(&p, now).await;
    let state = &report.databases[0];
    assert!(state.newest_export.is_some() && state.newest_export_tables.is_none(), "{state:#?}");
    let warning = state.warnings.first().map(|(_, w)| w.clone()).unwrap_or_default();
    assert!(warning.contains("kms:Decrypt") && warning.contains("auditor stack"), "{state:#?}");
    assert_eq!(report.metrics()[0].get("ExportWarnings"), 1.0);
}

/// A crash at every step boundary of a run (listings, the task listings, the start, after
/// the start), then faults on every call (throttling, server errors, timeouts, requests
/// dropped, responses lost after RDS acted): runs again until one completes, and the vault
/// ends with exactly one export task of the copy, complete, and no finding.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crashes_at_every_boundary_and_faults_on_every_call_leave_exactly_one_export() {
    use offsite_tests::faults::{Crash, Fault, Invoked, Lane};

    let p = Pipeline::start(Duration::ZERO).await;
    let copy = vault_copy_of_seeded_orders(&p).await;
    let now = a_week_after(&copy);
    let env = p.function_env("offsite-rds-export").expect("the function's environment");
    let settings = RdsExportSettings::from_env(&env).expect("the template's settings");
    let role = p.role_config("offsite-rds-export").await.expect("the function's role");

    let crashing = Lane::new("rds-export crashes", 17, 0.0);
    let crashing_config = crashing.wrap(&role);
    let exporter = RdsExporter::new(
        aws_sdk_rds::Client::new(&crashing_config),
        aws_sdk_s3::Client::new(&crashing_config),
        settings.clone(),
    );
    let mut completed = None;
    for _ in 0..12 {
        match crashing.invoke(Crash::AtNewBoundary, exporter.run(now)).await {
            Invoked::Crashed(_) => continue,
            Invoked::Completed(report) => {
                completed = Some(report.expect("the listings succeed"));
                break;
            }
        }
    }
    let report = completed.expect("a run completes once every boundary has crashed once");
    let stats = crashing.stats();
    assert!(stats.crashes >= 5, "listings, task listings, start, after the start: {stats:?}");
    assert!(stats.uncovered().is_empty(), "a boundary no crash hit: {:?}", stats.uncovered());
    assert!(report.security.is_empty(), "{report:#?}");
    let all = tasks(&p).await;
    assert_eq!(all.len(), 1, "one export whatever crashed: {all:#?}");
    assert_eq!(all[0].source_arn(), Some(copy.arn.as_str()));

    // Faults on every call: the run either fails cleanly (a listing gave up) or completes;
    // never a second task, never a finding.
    let faulty = Lane::new("rds-export faults", 5, 0.4);
    faulty.set_kinds(&Fault::ALL);
    let faulty_config = faulty.wrap(&role);
    let exporter =
        RdsExporter::new(aws_sdk_rds::Client::new(&faulty_config), aws_sdk_s3::Client::new(&faulty_config), settings);
    for _ in 0..8 {
        if let Invoked::Completed(Ok(report)) = faulty.invoke(Crash::Never, exporter.run(now)).await {
            assert!(report.security.is_empty() && report.starts.is_empty(), "{report:#?}");
        }
    }
    assert!(faulty.stats().faults_total() > 0, "faults were injected");
    let all = tasks(&p).await;
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_eq!(TaskStatus::parse(all[0].status().unwrap_or_default()), TaskStatus::Complete);
}

/// Restricted by a tag on the source: the workload carries `data-class` (CarrySourceTags) onto
/// its copy and into the notice, the importer records it on the vault copy, and the vault's
/// export function (RdsExportSourceTag `data-class=audited`, its template's environment)
/// exports only the database whose source carries it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tag_on_the_source_travels_to_the_vault_and_restricts_the_exports() {
    use offsite_tests::deployed::DeployedPair;
    use offsite_tests::fixtures::db_instance;

    let options = offsite_tests::EmulatorOptions::default();
    let pair = DeployedPair::start(
        &options,
        &[("CarrySourceTags", "data-class")],
        &[("RdsExportSourceTag", "data-class=audited")],
    )
    .await
    .unwrap_or_else(|e| panic!("deploy the pair: {e}"));
    let mut p = Pipeline::on(pair).await;
    let exporter_env = p.function_env("offsite-exporter").expect("the exporter's environment");
    assert_eq!(exporter_env.get("OFFSITE_CARRY_SOURCE_TAGS").map(String::as_str), Some("data-class"));
    p.env.insert("OFFSITE_CARRY_SOURCE_TAGS".into(), "data-class".into());
    db_instance(&p.workload, "ledger", None).await;

    let (orders_copy, mut bodies) =
        p.announced_of("orders", "orders-1", &[("data-class", "audited"), ("team", "pay")]).await;
    assert_eq!(orders_copy.tag("offsite:source-tag:data-class"), Some("audited"));
    assert_eq!(orders_copy.tag("offsite:source-tag:team"), None, "only the configured keys");
    bodies.extend(p.announced_of("ledger", "ledger-1", &[("data-class", "public")]).await.1);
    let carried: Vec<Option<String>> = bodies
        .iter()
        .map(|body| {
            let envelope: Value = serde_json::from_str(body).expect("SNS envelope");
            let notice = offsite_common::notice::Notice::parse(envelope["Message"].as_str().expect("message"))
                .expect("a valid notice");
            notice.source_tags.get("data-class").cloned()
        })
        .collect();
    assert_eq!(carried, [Some("audited".to_owned()), Some("public".to_owned())]);
    let now = DateTime::from(std::time::SystemTime::now());
    let report =
        p.vault_side().handle_batch(&offsite_tests::event_source::sqs_event(&bodies), now).await.expect("import");
    assert!(report.response.batch_item_failures.is_empty(), "{report:#?}");
    let copies = p.vault_copies().await;
    assert_eq!(copies.len(), 2, "{copies:#?}");
    let orders = copies.iter().find(|c| c.tag("offsite:source-database") == Some("orders")).expect("orders");
    assert_eq!(orders.tag("offsite:source-tag:data-class"), Some("audited"), "{orders:#?}");

    let report = run(&p, a_week_after(orders)).await;
    let started: Vec<&str> = report.starts.iter().map(|s| s.start.database.database.as_str()).collect();
    assert_eq!(started, ["orders"], "{report:#?}");
    assert!(report.databases.iter().all(|d| d.database.database == "orders"), "{report:#?}");
}
