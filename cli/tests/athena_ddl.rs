//! `offsite athena-ddl` against exports the job wrote into the auditor's bucket: the
//! statement parses with a real Hive-dialect parser (sqlglot) and the equivalent query, run
//! by a real engine (DuckDB) over the exported files, returns the items of the table.
//! The checker is `tests/athena/athena_check.py` (pinned in the emulator's venv).

mod support;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime};

use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_types::DateTime;
use offsite_dynamo::run::{DynamoExporter, TableResult};
use offsite_dynamo::settings::DynamoSettings;
use offsite_tests::deployed::{AUDITOR_BUCKET, DeployedPair};
use offsite_tests::fixtures::{athena_check, download_bucket, dynamo_table, wait_for};
use offsite_tests::{Emulator, EmulatorOptions, REGION, WORKLOAD};
use serde_json::{Value, json};

const BUCKET: &str = AUDITOR_BUCKET;

#[tokio::test]
async fn the_ddl_parses_as_hive_and_the_equivalent_query_reads_the_exported_items() {
    // The stacks as deployed, exporting under a prefix of two segments; the job runs under
    // its template role, the test is the workload's operator and the auditor.
    let pair = DeployedPair::start(&EmulatorOptions::default(), &[("ExportPrefix", "exports/dynamodb")], &[])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (emulator, workload) = (&pair.emulator, &pair.workload);
    let ddb = aws_sdk_dynamodb::Client::new(workload);
    // Items of several DynamoDB types, written before PITR is enabled (so in the export).
    dynamo_table(workload, "orders-2024", false, true, 0).await;
    let items: Vec<HashMap<String, AttributeValue>> = (0..3)
        .map(|i| {
            HashMap::from([
                ("pk".to_owned(), AttributeValue::S(format!("order-{i}"))),
                ("amount".to_owned(), AttributeValue::N(format!("{i}.5"))),
                ("paid".to_owned(), AttributeValue::Bool(i % 2 == 0)),
                ("tags".to_owned(), AttributeValue::Ss(vec!["a".into(), format!("t{i}")])),
                (
                    "address".to_owned(),
                    AttributeValue::M(HashMap::from([("city".to_owned(), AttributeValue::S(format!("city-{i}")))])),
                ),
            ])
        })
        .collect();
    for item in &items {
        ddb.put_item().table_name("orders-2024").set_item(Some(item.clone())).send().await.expect("put");
    }
    let pitr = aws_sdk_dynamodb::types::PointInTimeRecoverySpecification::builder()
        .point_in_time_recovery_enabled(true)
        .build()
        .expect("spec");
    ddb.update_continuous_backups()
        .table_name("orders-2024")
        .point_in_time_recovery_specification(pitr)
        .send()
        .await
        .expect("PITR");
    tokio::time::sleep(Duration::from_millis(2500)).await;

    let mut env = emulator.process_env(workload).await.expect("process environment");
    env.extend(pair.dynamo_destination_env());
    env.push(("OFFSITE_EXPORT_PREFIX".to_owned(), "exports/dynamodb".to_owned()));
    let settings: BTreeMap<String, String> = env.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let job_role = pair.role_config("offsite-dynamo-export").await.unwrap_or_else(|e| panic!("{e}"));
    let settings = DynamoSettings::from_env(&settings).expect("settings");
    let job = DynamoExporter::new(aws_sdk_dynamodb::Client::new(&job_role), settings, WORKLOAD.into());
    let report = job.run(DateTime::from(SystemTime::now())).await.expect("run");
    assert_eq!(report.count(TableResult::Started), 1, "{report:#?}");
    wait_for("the export to complete", Duration::from_secs(20), || async {
        let arn = report.tables[0].export_arn.clone()?;
        let d = ddb.describe_export().export_arn(arn).send().await.ok()?.export_description?;
        (d.export_status() == Some(&aws_sdk_dynamodb::types::ExportStatus::Completed)).then_some(())
    })
    .await;

    let ddl = support::offsite(&env, &["athena-ddl", "--table", "orders-2024", "--database", "audit"]);
    assert!(ddl.status.success(), "{}", String::from_utf8_lossy(&ddl.stderr));
    let ddl_text = String::from_utf8(ddl.stdout).expect("utf-8");
    assert!(ddl_text.contains("`paid`:struct<`BOOL`:boolean>"), "the sample's attributes are columns: {ddl_text}");

    // The auditor's bucket, copied to disk as it is in S3.
    let dir = std::env::temp_dir().join(format!("offsite-athena-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let files = download_bucket(&pair.auditor, BUCKET, "exports/dynamodb/", &dir).await;
    assert!(files >= 5, "data file, manifests, checksums and _started: {files}");
    let checked = athena_check("athena_check.py", &ddl_text, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    let result = checked.unwrap_or_else(|e| panic!("{e}\n{ddl_text}"));
    assert_eq!((result["database"].as_str(), result["table"].as_str()), (Some("audit"), Some("orders_2024")));
    assert_eq!(result["location"], format!("s3://{BUCKET}/exports/dynamodb/"));
    let mut rows: Vec<Value> = result["items"].as_array().expect("items").clone();
    rows.sort_by_key(|r| r["Item"]["pk"]["S"].as_str().map(str::to_owned));
    assert_eq!(rows.len(), 3, "{result:#}");
    let today = DateTime::from(SystemTime::now()).fmt(aws_smithy_types::date_time::Format::DateTime).expect("date");
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(
            row["Item"],
            json!({
                "pk": {"S": format!("order-{i}")},
                "amount": {"N": format!("{i}.5")},
                "paid": {"BOOL": i % 2 == 0},
                "tags": {"SS": ["a", format!("t{i}")]},
                "address": {"M": {"city": {"S": format!("city-{i}")}}},
            }),
            "{row:#}"
        );
        assert_eq!(
            (&row["account"], &row["region"], &row["export_kind"], &row["export_date"]),
            (&json!(WORKLOAD), &json!(REGION), &json!("full"), &json!(&today[..10])),
            "{row:#}"
        );
    }
    assert_eq!(result["changes"], json!([]), "a full export has no change records");
}

#[tokio::test]
async fn athena_ddl_names_what_is_missing() {
    let emulator = Emulator::start().expect("emulator starts");
    let workload = emulator.account(WORKLOAD).await.expect("workload");
    let env = emulator.process_env(&workload).await.expect("process environment");
    let run = |args: &[&str]| support::offsite(&env, args);
    let no_bucket = run(&["athena-ddl", "--table", "orders"]);
    assert!(!no_bucket.status.success());
    assert!(String::from_utf8_lossy(&no_bucket.stderr).contains("OFFSITE_EXPORT_BUCKET"));
    let bad_date = run(&["athena-ddl", "--table", "orders", "--bucket", "b", "--since", "yesterday"]);
    assert!(String::from_utf8_lossy(&bad_date.stderr).contains("--since"), "{bad_date:?}");
    let bad_sample = run(&["athena-ddl", "--table", "orders", "--bucket", "b", "--sample", "5000"]);
    assert!(!bad_sample.status.success());
    assert!(String::from_utf8_lossy(&bad_sample.stderr).contains("--sample"), "{bad_sample:?}");
    let no_table = run(&["athena-ddl", "--table", "missing", "--bucket", BUCKET]);
    assert!(!no_table.status.success());
    let stderr = String::from_utf8_lossy(&no_table.stderr);
    assert!(stderr.contains("DescribeTable missing"), "{stderr}");
}
