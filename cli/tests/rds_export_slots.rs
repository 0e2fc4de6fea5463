//! The account's five export slots, shared with whoever else exports in the vault: when
//! five exports of the vault's operator are in progress, the export function starts nothing
//! and says why; `offsite cancel-export` frees a slot (and refuses to cancel what has ended
//! or does not exist); the next run starts the export; `offsite status --side vault --json`
//! lists it as running.

mod support;

use std::time::Duration;

use aws_smithy_types::DateTime;
use offsite_rds_export::plan::Outcome;
use offsite_rds_export::run::StartResult;
use offsite_tests::deployed::AUDITOR_BUCKET;
use offsite_tests::fixtures::{db_instance, db_snapshot};
use offsite_tests::pipeline::Pipeline;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_exports_in_progress_defer_ours_until_one_is_cancelled() {
    let p = Pipeline::start(Duration::ZERO).await;
    let copy = p.seeded_vault_copy("orders-1", serde_json::json!([])).await;
    let a_week_later =
        DateTime::from_secs(offsite_common::lineage::import_taken_secs(&copy).expect("taken") + 8 * 86_400);

    // The vault's operator exports five snapshots of a database of their own, slowly.
    db_instance(&p.vault, "scratch", None).await;
    let mut sources = Vec::new();
    for i in 0..5 {
        let snapshot = db_snapshot(&p.vault, "scratch", &format!("scratch-{i}"), vec![]).await;
        sources.push(snapshot.db_snapshot_arn.expect("ARN"));
    }
    p.emulator.set_copy_delay(Duration::from_secs(600)).expect("slow exports");
    let writer = p.vault_stack.value("RdsExportWriterRole.Arn").expect("the writer role").to_owned();
    let rds = aws_sdk_rds::Client::new(&p.vault);
    for (i, source) in sources.iter().enumerate() {
        rds.start_export_task()
            .export_task_identifier(format!("manual-{i}"))
            .source_arn(source)
            .s3_bucket_name(AUDITOR_BUCKET)
            .s3_prefix("offsite/rds/manual")
            .iam_role_arn(&writer)
            .kms_key_id(&p.audit_key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("the operator's export {i}: {e:?}"));
    }

    let report = p.rds_exporter().await.run(a_week_later).await.expect("run");
    assert_eq!(report.running_before, 5, "{report:#?}");
    assert!(report.starts.is_empty(), "no start while the account's slots are taken: {report:#?}");
    assert!(
        matches!(&report.periods[0].outcome, Outcome::Deferred { reason, .. } if reason.contains("no slot free")),
        "{report:#?}"
    );
    assert_eq!(report.metrics()[0].get("ExportsDeferred"), 1.0);

    let env = p.emulator.process_env(&p.vault).await.expect("vault environment");
    let offsite = |args: &[&str]| support::offsite(&env, args);
    let cancelled = offsite(&["cancel-export", "--task", "manual-0"]);
    assert!(cancelled.status.success(), "{}", String::from_utf8_lossy(&cancelled.stderr));
    assert!(String::from_utf8_lossy(&cancelled.stdout).contains("export task manual-0: CANCELING"));

    let report = p.rds_exporter().await.run(a_week_later).await.expect("run");
    assert_eq!(report.count(&StartResult::Started), 1, "a slot is free: {report:#?}");
    let ours = report.starts[0].start.identifier.clone();

    let again = offsite(&["cancel-export", "--task", "manual-0"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already ended"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let unknown = offsite(&["cancel-export", "--task", "nobody"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no such task"));

    let status = offsite(&["status", "--side", "vault", "--json"]);
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    let health: serde_json::Value = serde_json::from_slice(&status.stdout).expect("JSON");
    assert_eq!(health["rds_exports"]["rows"][0]["running"], serde_json::json!([ours]), "{health:#}");
}
