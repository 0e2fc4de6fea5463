//! Fidelity patch (d): ExportTableToPointInTime into a bucket of another account, with
//! ClientToken idempotency, the S3BucketOwner check, the bucket policy of the other account
//! (evaluated for the writer's role) and the documented output layout; full exports of the
//! table as it was at ExportTime, incremental exports, ListExports order.

use std::collections::BTreeMap;
use std::io::Read;
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeValue, ExportDescription, ExportStatus, ExportType, ExportViewType, IncrementalExportSpecification,
    S3SseAlgorithm,
};
use aws_smithy_types::DateTime;
use offsite_tests::fixtures::{auditor_export_policy, bucket_policy, dynamo_table, error_code, kms_key, wait_for};
use offsite_tests::{AUDITOR, Emulator, WORKLOAD, role_arn};
use serde_json::{Value, json};

const BUCKET: &str = "auditor-exports";
const HOUR: f64 = 3600.0;

/// Creates the auditor's bucket, without a bucket policy.
async fn create_bucket(auditor: &SdkConfig) {
    aws_sdk_s3::Client::new(auditor).create_bucket().bucket(BUCKET).send().await.expect("bucket");
}

/// Creates the auditor's bucket with the policy that lets the workload's role write
/// exports under `prefix` (empty: anywhere).
async fn auditor_bucket(auditor: &SdkConfig, prefix: &str) {
    create_bucket(auditor).await;
    auditor_export_policy(auditor, BUCKET, &role_arn(WORKLOAD), prefix).await;
}

/// Puts `{pk, v}` into `table`.
async fn put(ddb: &Client, table: &str, pk: &str, v: u32) {
    ddb.put_item()
        .table_name(table)
        .item("pk", AttributeValue::S(pk.to_owned()))
        .item("v", AttributeValue::N(v.to_string()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("put {pk}: {e:?}"));
}

/// Sets `v` of the item `pk` (UpdateItem changes the stored item in place).
async fn update(ddb: &Client, table: &str, pk: &str, v: u32) {
    ddb.update_item()
        .table_name(table)
        .key("pk", AttributeValue::S(pk.to_owned()))
        .update_expression("SET v = :v")
        .expression_attribute_values(":v", AttributeValue::N(v.to_string()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("update {pk}: {e:?}"));
}

async fn delete(ddb: &Client, table: &str, pk: &str) {
    ddb.delete_item()
        .table_name(table)
        .key("pk", AttributeValue::S(pk.to_owned()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("delete {pk}: {e:?}"));
}

/// Seconds since the epoch, `offset` seconds from now.
fn now_plus(offset: f64) -> DateTime {
    DateTime::from_secs_f64(DateTime::from(SystemTime::now()).as_secs_f64() + offset)
}

async fn completed(ddb: &Client, arn: &str) -> ExportDescription {
    wait_for("the export to complete", Duration::from_secs(30), || async {
        let description = ddb.describe_export().export_arn(arn).send().await.ok()?.export_description?;
        (description.export_status() == Some(&ExportStatus::Completed)).then_some(description)
    })
    .await
}

/// What a completed export wrote (see `fixtures::export_output`).
async fn export_output(auditor: &SdkConfig, description: &ExportDescription) -> (Value, Vec<String>, Vec<Value>) {
    offsite_tests::fixtures::export_output(auditor, BUCKET, description).await
}

/// An emulator, the workload and auditor accounts, and the workload's table `orders` (PITR
/// on, not tagged) holding `items` items.
async fn orders_table(items: usize) -> (Emulator, SdkConfig, SdkConfig, String) {
    let emulator = Emulator::start().expect("emulator starts");
    let workload = emulator.account(WORKLOAD).await.expect("workload credentials");
    let auditor = emulator.account(AUDITOR).await.expect("auditor credentials");
    let table_arn = dynamo_table(&workload, "orders", true, false, items).await;
    (emulator, workload, auditor, table_arn)
}

/// An export of `table_arn` under `exports` fails with `reason` and writes nothing at all.
async fn export_is_refused(ddb: &Client, auditor: &SdkConfig, table_arn: &str, reason: &str) {
    let arn = start_export(ddb, table_arn, "exports", None).await;
    let export = finished(ddb, &arn).await;
    assert_denied(&export, "exports", reason);
    assert_eq!(keys_under(auditor, "").await, Vec::<String>::new(), "not even _started");
}

#[tokio::test]
async fn repeated_client_token_starts_one_export_that_writes_manifests_and_data() {
    let (_emulator, workload, auditor, table_arn) = orders_table(3).await;
    auditor_bucket(&auditor, "offsite/").await;
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
    let (_emulator, workload, auditor, table_arn) = orders_table(1).await;
    auditor_bucket(&auditor, "").await;
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
    auditor_bucket(&auditor, "").await;

    let refused = Client::new(&workload)
        .export_table_to_point_in_time()
        .table_arn(&table_arn)
        .s3_bucket(BUCKET)
        .s3_bucket_owner(AUDITOR)
        .send()
        .await;
    assert_eq!(error_code(&refused).as_deref(), Some("PointInTimeRecoveryUnavailableException"));
}

/// A full export's items by `pk`, with their `v`.
fn full_items(lines: &[Value]) -> BTreeMap<String, String> {
    lines
        .iter()
        .map(|line| {
            let item = &line["Item"];
            let pk = item["pk"]["S"].as_str().expect("pk").to_owned();
            (pk, item["v"]["N"].as_str().expect("v").to_owned())
        })
        .collect()
}

#[tokio::test]
async fn full_export_at_a_past_export_time_has_the_items_as_they_were_then() {
    let (emulator, workload, auditor, table_arn) = orders_table(0).await;
    auditor_bucket(&auditor, "").await;
    let ddb = Client::new(&workload);
    for pk in ["kept", "updated", "deleted"] {
        put(&ddb, "orders", pk, 1).await;
    }
    // Those writes (and the PITR window's start) happened an hour ago; these happen now.
    emulator.backdate_dynamodb_table(WORKLOAD, "orders", Duration::from_secs(3600)).expect("backdate");
    put(&ddb, "orders", "added", 1).await;
    update(&ddb, "orders", "updated", 2).await;
    delete(&ddb, "orders", "deleted").await;

    let export = |export_time: Option<DateTime>, prefix: &'static str| {
        ddb.export_table_to_point_in_time()
            .table_arn(&table_arn)
            .s3_bucket(BUCKET)
            .s3_bucket_owner(AUDITOR)
            .s3_prefix(prefix)
            .set_export_time(export_time)
            .send()
    };
    let half_an_hour_ago = now_plus(-0.5 * HOUR);
    let past = export(Some(half_an_hour_ago), "past").await.expect("export at a past time");
    let past = completed(&ddb, past.export_description().and_then(|d| d.export_arn()).expect("ARN")).await;
    assert_eq!(past.export_time().map(DateTime::secs), Some(half_an_hour_ago.secs()));
    let (summary, _, lines) = export_output(&auditor, &past).await;
    assert_eq!(summary["exportType"], "FULL_EXPORT");
    let expected = [("deleted", "1"), ("kept", "1"), ("updated", "1")];
    assert_eq!(full_items(&lines), expected.map(|(k, v)| (k.to_owned(), v.to_owned())).into(), "{lines:#?}");
    assert_eq!(past.item_count(), Some(3));

    // Without ExportTime: the table as it is now.
    let now = export(None, "now").await.expect("export now");
    let now = completed(&ddb, now.export_description().and_then(|d| d.export_arn()).expect("ARN")).await;
    let (_, _, lines) = export_output(&auditor, &now).await;
    let expected = [("added", "1"), ("kept", "1"), ("updated", "2")];
    assert_eq!(full_items(&lines), expected.map(|(k, v)| (k.to_owned(), v.to_owned())).into(), "{lines:#?}");
}

/// An incremental export's lines by `pk`; checks each line's `Keys` and write timestamp.
fn changes_by_key(lines: &[Value], from: DateTime, to: DateTime) -> BTreeMap<String, Value> {
    lines
        .iter()
        .map(|line| {
            let pk = line["Keys"]["pk"]["S"].as_str().unwrap_or_else(|| panic!("Keys: {line}")).to_owned();
            assert_eq!(line["Keys"], json!({ "pk": { "S": pk } }), "only the key attributes: {line}");
            let micros: i64 = line["Metadata"]["WriteTimestampMicros"]["N"]
                .as_str()
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("Metadata.WriteTimestampMicros: {line}"));
            #[allow(clippy::cast_precision_loss)]
            let written = micros as f64 / 1e6;
            assert!(
                from.as_secs_f64() - 0.001 <= written && written < to.as_secs_f64(),
                "written in the period: {line}"
            );
            (pk, line.clone())
        })
        .collect()
}

fn image(pk: &str, v: u32) -> Value {
    json!({ "pk": { "S": pk }, "v": { "N": v.to_string() } })
}

#[tokio::test]
async fn incremental_export_has_each_item_changed_in_the_period_once_with_its_images() {
    let emulator = Emulator::start().expect("emulator starts");
    let workload = emulator.account(WORKLOAD).await.expect("workload credentials");
    let auditor = emulator.account(AUDITOR).await.expect("auditor credentials");
    let table_arn = dynamo_table(&workload, "events", true, false, 0).await;
    auditor_bucket(&auditor, "cdc/").await;
    let ddb = Client::new(&workload);
    let backdate = |hours: f64| {
        emulator.backdate_dynamodb_table(WORKLOAD, "events", Duration::from_secs_f64(hours * HOUR)).expect("backdate")
    };
    // Before the period (4.5 hours ago).
    for pk in ["kept", "updated", "deleted", "later"] {
        put(&ddb, "events", pk, 1).await;
    }
    backdate(3.0);
    // In the period (1.5 hours ago).
    update(&ddb, "events", "updated", 2).await;
    delete(&ddb, "events", "deleted").await;
    put(&ddb, "events", "added", 1).await;
    put(&ddb, "events", "fleeting", 1).await;
    delete(&ddb, "events", "fleeting").await;
    backdate(1.5);
    // After the period (now).
    update(&ddb, "events", "later", 2).await;
    update(&ddb, "events", "updated", 3).await;

    let (from, to) = (now_plus(-2.0 * HOUR), now_plus(-HOUR));
    let export = |view: Option<ExportViewType>, prefix: &'static str| {
        let spec = IncrementalExportSpecification::builder()
            .export_from_time(from)
            .export_to_time(to)
            .set_export_view_type(view)
            .build();
        ddb.export_table_to_point_in_time()
            .table_arn(&table_arn)
            .s3_bucket(BUCKET)
            .s3_bucket_owner(AUDITOR)
            .s3_prefix(prefix)
            .export_type(ExportType::IncrementalExport)
            .incremental_export_specification(spec)
            .send()
    };

    // Default view: NEW_AND_OLD_IMAGES.
    let started = export(None, "cdc").await.expect("incremental export starts");
    let done = completed(&ddb, started.export_description().and_then(|d| d.export_arn()).expect("ARN")).await;
    assert_eq!(done.export_type(), Some(&ExportType::IncrementalExport));
    let spec = done.incremental_export_specification().expect("IncrementalExportSpecification");
    assert_eq!(spec.export_from_time().map(DateTime::secs), Some(from.secs()));
    assert_eq!(spec.export_to_time().map(DateTime::secs), Some(to.secs()));
    assert_eq!(spec.export_view_type(), Some(&ExportViewType::NewAndOldImages));
    assert_eq!(done.item_count(), Some(3));
    let (summary, data_keys, lines) = export_output(&auditor, &done).await;
    assert_eq!(summary["exportType"], "INCREMENTAL_EXPORT");
    assert_eq!(summary["outputView"], "NEW_AND_OLD_IMAGES");
    assert_eq!(summary["version"], "2023-08-01");
    assert!(summary["exportFromTime"].is_string() && summary["exportToTime"].is_string(), "{summary}");
    assert!(summary.get("exportTime").is_none(), "{summary}");
    assert!(data_keys.iter().all(|k| k.starts_with("cdc/AWSDynamoDB/data/")), "shared data folder: {data_keys:?}");
    let changes = changes_by_key(&lines, from, to);
    assert_eq!(changes.keys().collect::<Vec<_>>(), ["added", "deleted", "updated"], "{lines:#?}");
    // Updated: the item before the period and just before its end (not its later value).
    assert_eq!(changes["updated"]["OldImage"], image("updated", 1));
    assert_eq!(changes["updated"]["NewImage"], image("updated", 2));
    // Deleted: no NewImage.
    assert_eq!(changes["deleted"]["OldImage"], image("deleted", 1));
    assert!(changes["deleted"].get("NewImage").is_none(), "{}", changes["deleted"]);
    // Created in the period: no OldImage.
    assert_eq!(changes["added"]["NewImage"], image("added", 1));
    assert!(changes["added"].get("OldImage").is_none(), "{}", changes["added"]);

    // NEW_IMAGE: no OldImage at all; a delete is its keys only.
    let started = export(Some(ExportViewType::NewImage), "cdc").await.expect("NEW_IMAGE export starts");
    let done = completed(&ddb, started.export_description().and_then(|d| d.export_arn()).expect("ARN")).await;
    let spec = done.incremental_export_specification().expect("IncrementalExportSpecification");
    assert_eq!(spec.export_view_type(), Some(&ExportViewType::NewImage));
    let (summary, _, lines) = export_output(&auditor, &done).await;
    assert_eq!(summary["outputView"], "NEW_IMAGE");
    let changes = changes_by_key(&lines, from, to);
    assert_eq!(changes.keys().collect::<Vec<_>>(), ["added", "deleted", "updated"], "{lines:#?}");
    assert!(lines.iter().all(|line| line.get("OldImage").is_none()), "{lines:#?}");
    assert_eq!(changes["updated"]["NewImage"], image("updated", 2));
    // Sorted: with serde_json's `preserve_order` (enabled by some workspace builds) the
    // keys come in the line's order.
    let mut deleted: Vec<&String> = changes["deleted"].as_object().expect("object").keys().collect();
    deleted.sort();
    assert_eq!(deleted, ["Keys", "Metadata"], "{}", changes["deleted"]);
}

#[tokio::test]
async fn list_exports_lists_newest_first_and_pages() {
    let emulator = Emulator::start().expect("emulator starts");
    let workload = emulator.account(WORKLOAD).await.expect("workload credentials");
    let auditor = emulator.account(AUDITOR).await.expect("auditor credentials");
    let table_arn = dynamo_table(&workload, "ledger", true, false, 1).await;
    let other_arn = dynamo_table(&workload, "other", true, false, 1).await;
    auditor_bucket(&auditor, "").await;
    let ddb = Client::new(&workload);
    let export = |arn: &str| {
        ddb.export_table_to_point_in_time().table_arn(arn).s3_bucket(BUCKET).s3_bucket_owner(AUDITOR).send()
    };
    let mut started = Vec::new();
    for _ in 0..3 {
        let answer = export(&table_arn).await.expect("export starts");
        started.push(answer.export_description().and_then(|d| d.export_arn()).expect("ARN").to_owned());
        // Export ids start with the start time in milliseconds.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    export(&other_arn).await.expect("another table's export");
    let newest_first: Vec<String> = started.iter().rev().cloned().collect();

    let all = ddb.list_exports().table_arn(&table_arn).send().await.expect("list");
    let arns: Vec<&str> = all.export_summaries().iter().filter_map(|s| s.export_arn()).collect();
    assert_eq!(arns, newest_first, "reverse alphanumeric order of ExportArn");
    assert!(all.next_token().is_none());

    let first = ddb.list_exports().table_arn(&table_arn).max_results(2).send().await.expect("first page");
    let arns: Vec<&str> = first.export_summaries().iter().filter_map(|s| s.export_arn()).collect();
    assert_eq!(arns, newest_first[..2]);
    let token = first.next_token().expect("a second page");
    let second =
        ddb.list_exports().table_arn(&table_arn).max_results(2).next_token(token).send().await.expect("second page");
    let arns: Vec<&str> = second.export_summaries().iter().filter_map(|s| s.export_arn()).collect();
    assert_eq!(arns, newest_first[2..]);
    assert!(second.next_token().is_none(), "{second:?}");
    assert!(second.export_summaries().iter().all(|s| s.export_type() == Some(&ExportType::FullExport)), "{second:?}");

    let everything = ddb.list_exports().send().await.expect("list all");
    assert_eq!(everything.export_summaries().len(), 4);
    let too_many = ddb.list_exports().max_results(26).send().await;
    assert_eq!(error_code(&too_many).as_deref(), Some("ValidationException"));
}

// --- the auditor's bucket policy decides cross-account writes --------------------------

/// The workload's credentials as AWS names them: the session of the assumed test role.
fn writer_session() -> String {
    format!("arn:aws:sts::{WORKLOAD}:assumed-role/offsite-test/offsite-test")
}

/// Starts a full export of `table_arn` into the auditor's bucket under `prefix`.
async fn start_export(ddb: &Client, table_arn: &str, prefix: &str, sse: Option<(S3SseAlgorithm, &str)>) -> String {
    ddb.export_table_to_point_in_time()
        .table_arn(table_arn)
        .s3_bucket(BUCKET)
        .s3_bucket_owner(AUDITOR)
        .s3_prefix(prefix)
        .set_s3_sse_algorithm(sse.as_ref().map(|(algorithm, _)| algorithm.clone()))
        .set_s3_sse_kms_key_id(sse.and_then(|(_, key)| (!key.is_empty()).then(|| key.to_owned())))
        .send()
        .await
        .unwrap_or_else(|e| panic!("export into {prefix} starts: {e:?}"))
        .export_description
        .and_then(|d| d.export_arn)
        .expect("export ARN")
}

/// The export once it is no longer IN_PROGRESS.
async fn finished(ddb: &Client, arn: &str) -> ExportDescription {
    wait_for("the export to finish", Duration::from_secs(30), || async {
        let description = ddb.describe_export().export_arn(arn).send().await.ok()?.export_description?;
        (description.export_status() != Some(&ExportStatus::InProgress)).then_some(description)
    })
    .await
}

/// The keys in the auditor's bucket under `prefix`.
async fn keys_under(auditor: &SdkConfig, prefix: &str) -> Vec<String> {
    aws_sdk_s3::Client::new(auditor)
        .list_objects_v2()
        .bucket(BUCKET)
        .prefix(prefix)
        .send()
        .await
        .expect("list auditor bucket")
        .contents
        .unwrap_or_default()
        .into_iter()
        .filter_map(|o| o.key)
        .collect()
}

/// Asserts that the export failed with `S3AccessDenied`, naming the writer's session, the
/// action and an object under `prefix`, and that the message contains `reason`.
fn assert_denied(export: &ExportDescription, prefix: &str, reason: &str) {
    assert_eq!(export.export_status(), Some(&ExportStatus::Failed), "{export:?}");
    assert_eq!(export.failure_code(), Some("S3AccessDenied"), "{export:?}");
    let message = export.failure_message().unwrap_or_default();
    for part in [
        writer_session(),
        "s3:PutObject".to_owned(),
        format!("arn:aws:s3:::{BUCKET}/{prefix}/AWSDynamoDB/"),
        reason.to_owned(),
    ] {
        assert!(message.contains(&part), "the message names {part:?}: {message}");
    }
}

/// A completed export wrote its manifests and data under `prefix`.
async fn assert_written(auditor: &SdkConfig, export: &ExportDescription, prefix: &str) {
    assert_eq!(export.export_status(), Some(&ExportStatus::Completed), "{export:?}");
    let keys = keys_under(auditor, &format!("{prefix}/AWSDynamoDB/")).await;
    for file in ["_started", "manifest-summary.json", "manifest-files.json"] {
        assert!(keys.iter().any(|k| k.ends_with(&format!("/{file}"))), "{file} missing from {keys:?}");
    }
    assert!(keys.iter().any(|k| k.ends_with(".json.gz")), "a data file: {keys:?}");
}

#[tokio::test]
async fn a_bucket_policy_allowing_the_writer_role_under_the_prefix_lets_the_export_write_there_only() {
    let (_emulator, workload, auditor, table_arn) = orders_table(2).await;
    // The auditor's policy: the writer role may write under exports/, over TLS only.
    auditor_bucket(&auditor, "exports/").await;
    let ddb = Client::new(&workload);

    let allowed = start_export(&ddb, &table_arn, "exports/orders", None).await;
    let allowed = finished(&ddb, &allowed).await;
    assert_written(&auditor, &allowed, "exports/orders").await;
    assert_eq!(allowed.item_count(), Some(2));

    // Outside the policy's prefix: denied, nothing written.
    let elsewhere = start_export(&ddb, &table_arn, "elsewhere", None).await;
    let elsewhere = finished(&ddb, &elsewhere).await;
    assert_denied(&elsewhere, "elsewhere", "no statement of the bucket policy allows it");
    assert_eq!(keys_under(&auditor, "elsewhere").await, Vec::<String>::new());
}

#[tokio::test]
async fn a_bucket_policy_allowing_only_another_role_fails_the_export_and_writes_nothing() {
    let (_emulator, workload, auditor, table_arn) = orders_table(1).await;
    create_bucket(&auditor).await;
    // Another role of the same account: the writer's role is not it.
    auditor_export_policy(&auditor, BUCKET, &format!("arn:aws:iam::{WORKLOAD}:role/someone-else"), "").await;
    let ddb = Client::new(&workload);

    export_is_refused(&ddb, &auditor, &table_arn, "no statement of the bucket policy allows it").await;
}

#[tokio::test]
async fn an_explicit_deny_for_a_prefix_wins_over_the_allow() {
    let (_emulator, workload, auditor, table_arn) = orders_table(1).await;
    create_bucket(&auditor).await;
    let policy = json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "WriterEverywhere",
                "Effect": "Allow",
                "Principal": { "AWS": role_arn(WORKLOAD) },
                "Action": "s3:PutObject*",
                "Resource": format!("arn:aws:s3:::{BUCKET}/*"),
            },
            {
                "Sid": "NobodyInLocked",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": format!("arn:aws:s3:::{BUCKET}/locked/*"),
            },
        ],
    });
    bucket_policy(&auditor, BUCKET, &policy).await;
    let ddb = Client::new(&workload);

    let locked = start_export(&ddb, &table_arn, "locked/orders", None).await;
    let locked = finished(&ddb, &locked).await;
    assert_denied(&locked, "locked/orders", "explicitly denied by the bucket policy's statement NobodyInLocked");
    assert_eq!(keys_under(&auditor, "").await, Vec::<String>::new(), "not even _started");
    let open = start_export(&ddb, &table_arn, "open/orders", None).await;
    let open = finished(&ddb, &open).await;
    assert_written(&auditor, &open, "open/orders").await;
}

#[tokio::test]
async fn a_bucket_of_another_account_without_a_policy_fails_the_export() {
    let (_emulator, workload, auditor, table_arn) = orders_table(1).await;
    create_bucket(&auditor).await;
    let ddb = Client::new(&workload);

    export_is_refused(&ddb, &auditor, &table_arn, "the bucket has no bucket policy").await;
}

#[tokio::test]
async fn a_policy_naming_the_writers_account_lets_any_of_its_roles_write() {
    let (_emulator, workload, auditor, table_arn) = orders_table(1).await;
    create_bucket(&auditor).await;
    let ddb = Client::new(&workload);
    let account_policy = |principal: String| {
        json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": { "AWS": [format!("arn:aws:iam::{AUDITOR}:root"), principal] },
                "Action": "s3:PutObject",
                "Resource": format!("arn:aws:s3:::{BUCKET}/*"),
            }],
        })
    };

    // The account root delegates to every principal of the account.
    bucket_policy(&auditor, BUCKET, &account_policy(format!("arn:aws:iam::{WORKLOAD}:root"))).await;
    let arn = start_export(&ddb, &table_arn, "by-root", None).await;
    assert_written(&auditor, &finished(&ddb, &arn).await, "by-root").await;
    // So does the bare account id.
    bucket_policy(&auditor, BUCKET, &account_policy(WORKLOAD.to_owned())).await;
    let arn = start_export(&ddb, &table_arn, "by-id", None).await;
    assert_written(&auditor, &finished(&ddb, &arn).await, "by-id").await;
    // Another account's root does not.
    bucket_policy(&auditor, BUCKET, &account_policy("arn:aws:iam::222222222222:root".to_owned())).await;
    let arn = start_export(&ddb, &table_arn, "by-other", None).await;
    assert_denied(&finished(&ddb, &arn).await, "by-other", "no statement of the bucket policy allows it");
}

#[tokio::test]
async fn encryption_conditions_of_the_bucket_policy_apply_to_the_exports_writes() {
    let (_emulator, workload, auditor, table_arn) = orders_table(1).await;
    create_bucket(&auditor).await;
    let audit_key = kms_key(&auditor, "audit").await;
    let other_key = kms_key(&workload, "not the auditor's").await;
    // Writes must be SSE-KMS with one of the auditor's keys.
    let objects = format!("arn:aws:s3:::{BUCKET}/*");
    let policy = json!({
        "Version": "2012-10-17",
        "Statement": [
            { "Effect": "Allow", "Principal": { "AWS": role_arn(WORKLOAD) }, "Action": "s3:PutObject", "Resource": objects },
            {
                "Sid": "OnlyKms",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": objects,
                "Condition": { "StringNotEquals": { "s3:x-amz-server-side-encryption": "aws:kms" } },
            },
            {
                "Sid": "OnlyAuditorKeys",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": objects,
                "Condition": {
                    "StringNotLike": {
                        "s3:x-amz-server-side-encryption-aws-kms-key-id": format!("arn:aws:kms:*:{AUDITOR}:key/*"),
                    },
                },
            },
        ],
    });
    bucket_policy(&auditor, BUCKET, &policy).await;
    let ddb = Client::new(&workload);

    let kms = start_export(&ddb, &table_arn, "kms", Some((S3SseAlgorithm::Kms, &audit_key))).await;
    assert_written(&auditor, &finished(&ddb, &kms).await, "kms").await;
    let aes = start_export(&ddb, &table_arn, "aes", Some((S3SseAlgorithm::Aes256, ""))).await;
    assert_denied(&finished(&ddb, &aes).await, "aes", "statement OnlyKms");
    // No SSE asked for: the header is absent, so StringNotEquals holds and the Deny applies.
    let none = start_export(&ddb, &table_arn, "none", None).await;
    assert_denied(&finished(&ddb, &none).await, "none", "statement OnlyKms");
    let foreign = start_export(&ddb, &table_arn, "foreign", Some((S3SseAlgorithm::Kms, &other_key))).await;
    assert_denied(&finished(&ddb, &foreign).await, "foreign", "statement OnlyAuditorKeys");
    for prefix in ["aes", "none", "foreign"] {
        assert_eq!(keys_under(&auditor, prefix).await, Vec::<String>::new(), "nothing under {prefix}");
    }
}

#[tokio::test]
async fn a_condition_key_the_emulator_does_not_evaluate_fails_the_export_naming_it() {
    let (_emulator, workload, auditor, table_arn) = orders_table(1).await;
    create_bucket(&auditor).await;
    let policy = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "AWS": role_arn(WORKLOAD) },
            "Action": "s3:PutObject",
            "Resource": format!("arn:aws:s3:::{BUCKET}/*"),
            "Condition": { "StringEquals": { "aws:SourceVpce": "vpce-1a2b3c4d" } },
        }],
    });
    bucket_policy(&auditor, BUCKET, &policy).await;
    let ddb = Client::new(&workload);

    export_is_refused(&ddb, &auditor, &table_arn, "condition key aws:SourceVpce is not evaluated by the emulator")
        .await;
}

#[tokio::test]
async fn a_policy_withdrawn_while_the_export_runs_fails_it_before_the_data_is_written() {
    let (emulator, workload, auditor, table_arn) = orders_table(1).await;
    auditor_bucket(&auditor, "").await;
    emulator.set_copy_delay(Duration::from_secs(1)).expect("copy delay");
    let ddb = Client::new(&workload);

    let arn = start_export(&ddb, &table_arn, "exports", None).await;
    let started = keys_under(&auditor, "exports/").await;
    assert!(started.len() == 1 && started[0].ends_with("/_started"), "{started:?}");
    aws_sdk_s3::Client::new(&auditor).delete_bucket_policy().bucket(BUCKET).send().await.expect("delete policy");

    let export = finished(&ddb, &arn).await;
    assert_denied(&export, "exports", "the bucket has no bucket policy");
    assert_eq!(keys_under(&auditor, "exports/").await, started, "only _started");
}
