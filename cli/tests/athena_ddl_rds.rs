//! `offsite athena-ddl --rds` over the vault's RDS exports in the auditor's bucket: a seeded
//! PostgreSQL database goes through the pipeline into the vault, the export function (under
//! its template role) exports the vault copy as Parquet, the auditor prints the statements,
//! and the equivalent of Athena's scan (DuckDB over the bucket's files, the statement parsed
//! with a Hive-dialect parser; `tests/athena/rds_athena_check.py`) returns the seeded rows
//! with their partition values.

mod support;

use std::time::Duration;

use aws_smithy_types::DateTime;
use offsite_rds_export::run::StartResult;
use offsite_tests::WORKLOAD;
use offsite_tests::deployed::AUDITOR_BUCKET;
use offsite_tests::fixtures::{athena_check, download_bucket, wait_for};
use offsite_tests::pipeline::Pipeline;
use serde_json::{Value, json};

fn shop() -> Value {
    json!([{
        "name": "shop",
        "tables": [
            {
                "schema": "public",
                "name": "orders",
                "columns": [
                    {"name": "id", "type": "bigint"},
                    {"name": "customer", "type": "character varying(40)"},
                    {"name": "total", "type": "numeric(10,2)"},
                    {"name": "paid", "type": "boolean"},
                ],
                "rows": [[1, "ada", "12.50", true], [2, "grace", "7.25", false]],
            },
            {
                "schema": "audit",
                "name": "events",
                "columns": [{"name": "at", "type": "timestamp without time zone"}, {"name": "what", "type": "text"}],
                "rows": [["2026-11-30 08:00:00", "login"]],
            },
        ],
    }])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rds_ddl_parses_as_hive_and_the_equivalent_query_reads_the_seeded_rows() {
    let p = Pipeline::start(Duration::ZERO).await;
    let copy = p.seeded_vault_copy("orders-1", shop()).await;
    let taken = offsite_common::lineage::import_taken_secs(&copy).expect("taken");
    let report = p.rds_exporter().await.run(DateTime::from_secs(taken + 8 * 86_400)).await.expect("run");
    assert_eq!(report.count(&StartResult::Started), 1, "{report:#?}");
    let rds = aws_sdk_rds::Client::new(&p.vault);
    wait_for("the export to complete", Duration::from_secs(30), || async {
        let tasks = rds.describe_export_tasks().send().await.ok()?;
        tasks.export_tasks().iter().any(|t| t.status() == Some("COMPLETE")).then_some(())
    })
    .await;

    // The auditor prints the statements with their own credentials.
    let mut env = p.emulator.process_env(&p.auditor).await.expect("the auditor's environment");
    env.push(("OFFSITE_RDS_EXPORT_BUCKET".to_owned(), AUDITOR_BUCKET.to_owned()));
    let ddl = support::offsite(&env, &["athena-ddl", "--rds", "--since", "2026-01-01"]);
    assert!(ddl.status.success(), "{}", String::from_utf8_lossy(&ddl.stderr));
    let ddl_text = String::from_utf8(ddl.stdout).expect("utf-8");
    assert!(ddl_text.contains("CREATE DATABASE IF NOT EXISTS `offsite_rds`;"), "{ddl_text}");
    assert!(ddl_text.contains("`offsite_rds`.`shop_public_orders`"), "{ddl_text}");
    assert!(ddl_text.contains("`offsite_rds`.`shop_audit_events`"), "one table per source table: {ddl_text}");

    let dir = std::env::temp_dir().join(format!("offsite-rds-athena-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let files = download_bucket(&p.auditor, AUDITOR_BUCKET, "offsite/rds/", &dir).await;
    assert!(files >= 4, "two Parquet files, markers and the metadata: {files}");
    let checked = athena_check("rds_athena_check.py", &ddl_text, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    let result = checked.unwrap_or_else(|e| panic!("{e}\n{ddl_text}"));
    let orders = &result["tables"]["offsite_rds.shop_public_orders"];
    assert_eq!(orders["columns"]["total"], "TEXT", "numeric arrives as a string: {result:#}");
    assert_eq!(orders["columns"]["id"], "BIGINT", "{result:#}");
    let date = offsite_common::calendar::date_text(taken);
    let partitions =
        json!({"source_account": WORKLOAD, "source_database": "orders", "export_date": date, "export_attempt": "1"});
    let mut rows = orders["rows"].as_array().cloned().unwrap_or_default();
    rows.sort_by_key(|r| r["id"].as_i64());
    let expected: Vec<Value> = [(1, "ada", "12.50", true), (2, "grace", "7.25", false)]
        .iter()
        .map(|(id, customer, total, paid)| {
            let mut row = json!({"id": id, "customer": customer, "total": total, "paid": paid});
            row.as_object_mut().expect("object").extend(partitions.as_object().expect("object").clone());
            row
        })
        .collect();
    assert_eq!(rows, expected, "{result:#}");
    let events = &result["tables"]["offsite_rds.shop_audit_events"]["rows"];
    assert_eq!(events[0]["what"], "login", "{result:#}");
    assert_eq!(events[0]["at"], "2026-11-30 08:00:00", "{result:#}");
}
