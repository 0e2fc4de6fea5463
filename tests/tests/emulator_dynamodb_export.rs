//! Fidelity patch (d): ExportTableToPointInTime into a bucket of another account, with
//! ClientToken idempotency, the S3BucketOwner check and the documented output layout.

use std::io::Read;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{ExportStatus, S3SseAlgorithm};
use offsite_tests::fixtures::{dynamo_table, error_code, wait_for};
use offsite_tests::{AUDITOR, Emulator, WORKLOAD};

const BUCKET: &str = "auditor-exports";

async fn auditor_bucket(auditor: &SdkConfig) {
    aws_sdk_s3::Client::new(auditor).create_bucket().bucket(BUCKET).send().await.expect("bucket");
}

#[tokio::test]
async fn repeated_client_token_starts_one_export_that_writes_manifests_and_data() {
    let emulator = Emulator::start().expect("emulator starts");
    let workload = emulator.account(WORKLOAD).await.expect("workload credentials");
    let auditor = emulator.account(AUDITOR).await.expect("auditor credentials");
    let table_arn = dynamo_table(&workload, "orders", true, false, 3).await;
    auditor_bucket(&auditor).await;
    let ddb = Client::new(&workload);
    let export = |prefix: &'static str| {
        ddb.export_table_to_point_in_time()
            .table_arn(&table_arn)
            .s3_bucket(BUCKET)
            .s3_bucket_owner(AUDITOR)
            .s3_prefix(prefix)
            .s3_sse_algorithm(S3SseAlgorithm::Aes256)
            .client_token("orders-2026-11-22")
            .send()
    };

    let first = export("offsite/table=orders").await.expect("export starts");
    let again = export("offsite/table=orders").await.expect("same token, same parameters");
    let first_arn = first.export_description.and_then(|d| d.export_arn).expect("export ARN");
    assert_eq!(again.export_description.and_then(|d| d.export_arn), Some(first_arn.clone()));
    let conflict = export("offsite/another-prefix").await;
    assert_eq!(error_code(&conflict).as_deref(), Some("ExportConflictException"));
    let listed =
        ddb.list_exports().table_arn(&table_arn).send().await.expect("list").export_summaries.unwrap_or_default();
    assert_eq!(listed.len(), 1, "one export, not three: {listed:?}");

    let done = wait_for("the export to complete", Duration::from_secs(30), || async {
        let description = ddb.describe_export().export_arn(&first_arn).send().await.ok()?.export_description?;
        (description.export_status() == Some(&ExportStatus::Completed)).then_some(description)
    })
    .await;
    assert_eq!(done.item_count(), Some(3));

    let s3 = aws_sdk_s3::Client::new(&auditor);
    let keys: Vec<String> = s3
        .list_objects_v2()
        .bucket(BUCKET)
        .prefix("offsite/table=orders/AWSDynamoDB/")
        .send()
        .await
        .expect("list auditor bucket")
        .contents
        .unwrap_or_default()
        .into_iter()
        .filter_map(|o| o.key)
        .collect();
    for file in ["_started", "manifest-summary.json", "manifest-files.json"] {
        assert!(keys.iter().any(|k| k.ends_with(&format!("/{file}"))), "{file} missing from {keys:?}");
    }
    let data_key = keys.iter().find(|k| k.contains("/data/") && k.ends_with(".json.gz")).expect("a data file");
    let object = s3.get_object().bucket(BUCKET).key(data_key).send().await.expect("get data file");
    let bytes = object.body.collect().await.expect("read data file").into_bytes();
    let mut lines = String::new();
    flate2::read::GzDecoder::new(&bytes[..]).read_to_string(&mut lines).expect("gzip");
    let mut keys_in_data: Vec<String> = lines
        .lines()
        .map(|line| {
            let item: serde_json::Value = serde_json::from_str(line).expect("one JSON object per line");
            item["Item"]["pk"]["S"].as_str().expect("DynamoDB JSON").to_owned()
        })
        .collect();
    keys_in_data.sort();
    assert_eq!(keys_in_data, ["orders-0", "orders-1", "orders-2"]);
}

#[tokio::test]
async fn wrong_bucket_owner_fails_the_export_and_writes_nothing() {
    let emulator = Emulator::start().expect("emulator starts");
    let workload = emulator.account(WORKLOAD).await.expect("workload credentials");
    let auditor = emulator.account(AUDITOR).await.expect("auditor credentials");
    let table_arn = dynamo_table(&workload, "orders", true, false, 1).await;
    auditor_bucket(&auditor).await;
    let ddb = Client::new(&workload);

    // AWS accepts the request and fails the export when it cannot write to the bucket.
    let started = ddb
        .export_table_to_point_in_time()
        .table_arn(&table_arn)
        .s3_bucket(BUCKET)
        .s3_bucket_owner(WORKLOAD)
        .s3_prefix("wrong-owner")
        .send()
        .await
        .expect("the request is accepted");
    let arn = started.export_description.and_then(|d| d.export_arn).expect("export ARN");
    let failed = wait_for("the export to fail", Duration::from_secs(30), || async {
        let description = ddb.describe_export().export_arn(&arn).send().await.ok()?.export_description?;
        (description.export_status() == Some(&ExportStatus::Failed)).then_some(description)
    })
    .await;
    assert!(failed.failure_code().is_some(), "a failed export says why: {failed:?}");
    let objects = aws_sdk_s3::Client::new(&auditor)
        .list_objects_v2()
        .bucket(BUCKET)
        .send()
        .await
        .expect("list")
        .contents
        .unwrap_or_default();
    assert!(objects.is_empty(), "nothing may be written: {objects:?}");
}

#[tokio::test]
async fn table_without_point_in_time_recovery_is_refused() {
    let emulator = Emulator::start().expect("emulator starts");
    let workload = emulator.account(WORKLOAD).await.expect("workload credentials");
    let auditor = emulator.account(AUDITOR).await.expect("auditor credentials");
    let table_arn = dynamo_table(&workload, "no-pitr", false, false, 1).await;
    auditor_bucket(&auditor).await;

    let refused = Client::new(&workload)
        .export_table_to_point_in_time()
        .table_arn(&table_arn)
        .s3_bucket(BUCKET)
        .s3_bucket_owner(AUDITOR)
        .send()
        .await;
    assert_eq!(error_code(&refused).as_deref(), Some("PointInTimeRecoveryUnavailableException"));
}
