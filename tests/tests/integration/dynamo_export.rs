//! The DynamoDB export job against the emulator, into the auditor's bucket.

use std::collections::BTreeMap;
use std::io::Read;
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_sdk_dynamodb::Client;
use aws_smithy_types::DateTime;
use offsite_dynamo::run::{DynamoExporter, TableResult};
use offsite_dynamo::settings::DynamoSettings;
use offsite_tests::deployed::{AUDITOR_BUCKET, DeployedPair};
use offsite_tests::fixtures::dynamo_table;
use offsite_tests::{EmulatorOptions, REGION, WORKLOAD};

const BUCKET: &str = AUDITOR_BUCKET;

/// PITR has just been enabled: let its window open past the export time the job picks.
async fn let_pitr_window_open() {
    tokio::time::sleep(Duration::from_millis(2500)).await;
}

/// The stacks as deployed; the job runs under its template role, the test is the
/// workload's and the auditor's operators.
struct Setup {
    pair: DeployedPair,
    workload: SdkConfig,
    auditor: SdkConfig,
    job_role: SdkConfig,
    env: BTreeMap<String, String>,
}

impl std::ops::Deref for Setup {
    type Target = DeployedPair;

    fn deref(&self) -> &DeployedPair {
        &self.pair
    }
}

async fn setup() -> Setup {
    let pair = DeployedPair::start(&EmulatorOptions::default(), &[], &[]).await.unwrap_or_else(|e| panic!("{e}"));
    let job_role = pair.role_config("offsite-dynamo-export").await.unwrap_or_else(|e| panic!("{e}"));
    let env = pair.dynamo_destination_env();
    Setup { workload: pair.workload.clone(), auditor: pair.auditor.clone(), pair, job_role, env }
}

fn job(setup: &Setup, extra: &[(&str, &str)]) -> DynamoExporter {
    let mut env = setup.env.clone();
    env.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    let settings = DynamoSettings::from_env(&env).expect("settings");
    DynamoExporter::new(Client::new(&setup.job_role), settings, WORKLOAD.to_owned())
}

fn now() -> DateTime {
    DateTime::from(SystemTime::now())
}

#[tokio::test]
async fn selected_tables_are_exported_once_per_slot_into_the_auditors_bucket() {
    let setup = setup().await;
    dynamo_table(&setup.workload, "orders", true, true, 3).await;
    dynamo_table(&setup.workload, "nopitr", false, true, 1).await;
    dynamo_table(&setup.workload, "unselected", true, false, 1).await;
    let_pitr_window_open().await;
    let job = job(&setup, &[]);
    let earlier_slot = DateTime::from_secs(now().secs() - 86_400);

    let first = job.run(earlier_slot).await.expect("run");
    let by_table: BTreeMap<&str, TableResult> = first.tables.iter().map(|t| (t.table.as_str(), t.result)).collect();
    assert_eq!(
        by_table,
        BTreeMap::from([("nopitr", TableResult::NoPitr), ("orders", TableResult::Started)]),
        "{first:#?}"
    );
    let prefix = first.tables.iter().find(|t| t.table == "orders").and_then(|t| t.s3_prefix.clone()).expect("prefix");
    assert!(
        prefix.starts_with(&format!("offsite/account={WORKLOAD}/region={REGION}/table=orders/kind=full/date=")),
        "{prefix}"
    );

    // A rerun in the same slot starts nothing new.
    let rerun = job.run(earlier_slot).await.expect("rerun");
    assert_eq!(rerun.count(TableResult::AlreadyStarted), 1, "{rerun:#?}");
    assert_eq!(rerun.count(TableResult::Started), 0);
    // The next slot starts a new export.
    let next = job.run(now()).await.expect("next slot");
    assert_eq!(next.count(TableResult::Started), 1, "{next:#?}");
    let ddb = Client::new(&setup.workload);
    let exports = ddb.list_exports().send().await.expect("list").export_summaries.unwrap_or_default();
    assert_eq!(exports.len(), 2);

    // The data is in the auditor's bucket, readable there.
    let s3 = aws_sdk_s3::Client::new(&setup.auditor);
    let keys = offsite_tests::fixtures::wait_for("the export's files", Duration::from_secs(20), || async {
        // DescribeExport lets the emulator finish the export.
        for e in ddb.list_exports().send().await.ok()?.export_summaries() {
            let _ = ddb.describe_export().export_arn(e.export_arn().unwrap_or_default()).send().await;
        }
        let listed = s3.list_objects_v2().bucket(BUCKET).prefix(&prefix).send().await.ok()?;
        let keys: Vec<String> = listed.contents().iter().filter_map(|o| o.key().map(str::to_owned)).collect();
        keys.iter().any(|k| k.ends_with(".json.gz")).then_some(keys)
    })
    .await;
    let data = keys.iter().find(|k| k.contains("/data/")).expect("a data file");
    let body = s3.get_object().bucket(BUCKET).key(data).send().await.expect("get").body.collect().await.expect("read");
    let mut text = String::new();
    flate2::read::GzDecoder::new(&body.into_bytes()[..]).read_to_string(&mut text).expect("gzip");
    let mut items: Vec<String> = text
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).expect("json")["Item"]["pk"]["S"]
                .as_str()
                .expect("pk")
                .to_owned()
        })
        .collect();
    items.sort();
    assert_eq!(items, ["orders-0", "orders-1", "orders-2"]);
}

#[tokio::test]
async fn a_failed_export_is_reported_with_its_reason() {
    let setup = setup().await;
    dynamo_table(&setup.workload, "orders", true, true, 1).await;
    let_pitr_window_open().await;
    // The wrong owner: DynamoDB cannot write, the export fails.
    let wrong = job(&setup, &[("OFFSITE_EXPORT_BUCKET_OWNER", "444444444444")]);
    let yesterday = DateTime::from_secs(now().secs() - 86_400);
    let first = wrong.run(yesterday).await.expect("run");
    // The emulator fails the export as soon as it starts, as AWS would when it cannot write.
    assert_eq!(first.count(TableResult::Failed), 1, "{first:#?}");
    assert!(first.tables[0].reason.contains("S3AccessDenied"), "{first:#?}");
    let ddb = Client::new(&setup.workload);
    assert_eq!(ddb.list_exports().send().await.expect("list").export_summaries().len(), 1);
    // A later run reports the failure with its code and message, and starts nothing new in
    // the same slot (same ClientToken, same failed export).
    let later = wrong.run(yesterday).await.expect("run");
    assert_eq!(later.failed.len(), 1, "{later:#?}");
    assert_eq!(later.failed[0].failure_code, "S3AccessDenied", "{:?}", later.failed[0]);
    assert!(later.failed[0].failure_message.contains("Access Denied"), "{:?}", later.failed[0]);
    assert_eq!(ddb.list_exports().send().await.expect("list").export_summaries().len(), 1);
    // Once an export of the table completes, the old failure is resolved: not reported again.
    let right = job(&setup, &[]);
    let fixed = right.run(now()).await.expect("run");
    assert_eq!(fixed.count(TableResult::Started), 1, "{fixed:#?}");
    complete_exports(&ddb).await;
    let after = right.run(now()).await.expect("run");
    assert!(after.failed.is_empty(), "{after:#?}");
    let completed = after.tables[0].last_completed.as_ref().expect("a completed export");
    assert_eq!(completed.item_count, 1, "{after:#?}");
}

/// DescribeExport lets the emulator finish the exports whose delay is over.
async fn complete_exports(ddb: &Client) {
    for e in ddb.list_exports().send().await.expect("list").export_summaries() {
        ddb.describe_export().export_arn(e.export_arn().unwrap_or_default()).send().await.expect("describe");
    }
}

#[tokio::test]
async fn more_than_a_hundred_tables_are_all_seen() {
    let setup = setup().await;
    for i in 0..105 {
        dynamo_table(&setup.workload, &format!("t{i:03}"), false, true, 0).await;
    }
    setup.emulator.reset_request_counts().expect("reset");
    let report = job(&setup, &[]).run(now()).await.expect("run");
    assert_eq!(report.tables_listed, 105);
    let listing = setup.emulator.request_counts().expect("counts").of(WORKLOAD, "dynamodb", "ListTables");
    assert_eq!(listing, 2, "100 tables a page: the second page must be asked for");
    assert_eq!(report.count(TableResult::NoPitr), 105, "every selected table is checked and reported");
}

/// A slot start (hourly slots) `hours_ago` hours before the current one.
fn hourly_slot(hours_ago: i64) -> DateTime {
    DateTime::from_secs((now().secs() / 3600 - hours_ago) * 3600)
}

#[tokio::test]
async fn incremental_exports_continue_the_chain_from_the_last_exports_end() {
    use aws_sdk_dynamodb::types::{AttributeValue, ExportStatus};
    let setup = setup().await;
    let ddb = Client::new(&setup.workload);
    dynamo_table(&setup.workload, "ledger", true, true, 3).await;
    // The items and PITR "four hours ago"; the changes below "one hour ago".
    setup.emulator.backdate_dynamodb_table(WORKLOAD, "ledger", Duration::from_secs(3 * 3600)).expect("backdate");
    ddb.put_item()
        .table_name("ledger")
        .item("pk", AttributeValue::S("ledger-1".into()))
        .item("v", AttributeValue::N("2".into()))
        .send()
        .await
        .expect("update");
    ddb.delete_item()
        .table_name("ledger")
        .key("pk", AttributeValue::S("ledger-2".into()))
        .send()
        .await
        .expect("delete");
    ddb.put_item().table_name("ledger").item("pk", AttributeValue::S("ledger-3".into())).send().await.expect("add");
    setup.emulator.backdate_dynamodb_table(WORKLOAD, "ledger", Duration::from_secs(3600)).expect("backdate");
    // Hourly slots, full exports once a (366-day) year, so the slots below are not full
    // slots unless the clock sits on that boundary: then a 365-day period is used.
    let every = if hourly_slot(0).secs() % (366 * 86_400) == 0 { "365d" } else { "366d" };
    let job = job(
        &setup,
        &[
            ("OFFSITE_EXPORT_TYPE", "INCREMENTAL"),
            ("OFFSITE_EXPORT_PERIOD", "1h"),
            ("OFFSITE_FULL_EXPORT_EVERY", every),
        ],
    );

    // No chain yet: a full export as of the slot three hours ago (before the changes).
    let first = job.run(hourly_slot(3)).await.expect("first run");
    assert_eq!(first.count(TableResult::Started), 1, "{first:#?}");
    assert_eq!(first.tables[0].kind, Some(offsite_dynamo::plan::ExportKind::Full));
    let prefix = first.tables[0].s3_prefix.clone().expect("prefix");
    assert!(prefix.contains("/table=ledger/kind=full/"), "{prefix}");
    let full_arn = first.tables[0].export_arn.clone().expect("arn");
    let described = |arn: String| {
        let ddb = ddb.clone();
        async move {
            offsite_tests::fixtures::wait_for("the export to complete", Duration::from_secs(20), || async {
                let d = ddb.describe_export().export_arn(&arn).send().await.ok()?.export_description?;
                (d.export_status() == Some(&ExportStatus::Completed)).then_some(d)
            })
            .await
        }
    };
    let full = described(full_arn).await;
    let (_, _, lines) = offsite_tests::fixtures::export_output(&setup.auditor, BUCKET, &full).await;
    let mut keys: Vec<&str> = lines.iter().filter_map(|l| l["Item"]["pk"]["S"].as_str()).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["ledger-0", "ledger-1", "ledger-2"], "the table as it was at the slot's start");

    // The current slot: the changes since the full export's moment, and nothing else.
    let second = job.run(hourly_slot(0)).await.expect("second run");
    assert_eq!(second.count(TableResult::Started), 1, "{second:#?}");
    let outcome = &second.tables[0];
    assert_eq!(outcome.kind, Some(offsite_dynamo::plan::ExportKind::Incremental), "{second:#?}");
    assert!(outcome.s3_prefix.as_deref().is_some_and(|p| p.contains("/kind=incremental/")), "{outcome:?}");
    let incremental = described(outcome.export_arn.clone().expect("arn")).await;
    let window = incremental.incremental_export_specification().expect("window");
    assert_eq!(window.export_from_time().map(DateTime::secs), Some(hourly_slot(3).secs()), "from the full's moment");
    assert_eq!(window.export_to_time().map(DateTime::secs), Some(hourly_slot(0).secs()), "to this slot's start");
    let (_, _, changes) = offsite_tests::fixtures::export_output(&setup.auditor, BUCKET, &incremental).await;
    let by_key: BTreeMap<&str, &serde_json::Value> =
        changes.iter().filter_map(|c| Some((c["Keys"]["pk"]["S"].as_str()?, c))).collect();
    assert_eq!(by_key.keys().copied().collect::<Vec<_>>(), ["ledger-1", "ledger-2", "ledger-3"], "{changes:#?}");
    assert_eq!(by_key["ledger-1"]["NewImage"]["v"]["N"], "2", "the update's new image");
    assert!(by_key["ledger-2"].get("NewImage").is_none(), "a delete has no new image");
    assert!(by_key["ledger-3"].get("OldImage").is_none(), "an item created in the window has no old image");

    // A rerun in the slot starts nothing; the completed export is tracked.
    let rerun = job.run(hourly_slot(0)).await.expect("rerun");
    assert_eq!(rerun.count(TableResult::AlreadyStarted), 1, "{rerun:#?}");
    let last = rerun.tables[0].last_completed.as_ref().expect("tracked");
    assert_eq!(last.kind, offsite_dynamo::plan::ExportKind::Incremental);
    assert_eq!(last.item_count, 3, "{last:?}");
    assert_eq!(ddb.list_exports().send().await.expect("list").export_summaries().len(), 2);
}
