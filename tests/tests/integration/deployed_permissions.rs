//! The templates' permissions, tested by taking them away: each function runs under its
//! template role on the IAM-enforcing emulator (`DeployedPair`); with one statement its work
//! needs removed, the run fails with AWS's error named in the function's report or log and
//! leaves nothing half-done; with the statement back, the next run converges.
//!
//! Needs the binaries built (`cargo build --workspace --bins`; `make test` does it first).

use std::time::Duration;

use offsite_infra::Template;
use offsite_tests::deployed::{DeployedPair, LAMBDA_SERVICE};
use offsite_tests::event_source::sqs_event_json;
use offsite_tests::events::{manual_snapshot_created, scheduled};
use offsite_tests::fixtures::{db_instance, db_snapshot, drain_queue, dynamo_table, restore_accounts, tag, wait_for};
use offsite_tests::lambda::{LambdaFunction, Outcome};
use offsite_tests::stack::Stack;
use offsite_tests::{EmulatorOptions, SnapshotKind, VAULT, WORKLOAD};
use serde_json::{Value, json};

const INVOKE_TIMEOUT: Duration = Duration::from_secs(60);

/// Invokes and returns what the invocation said: its response or its error, as text.
fn run(function: &mut LambdaFunction, event: &Value) -> String {
    match function.invoke(event, INVOKE_TIMEOUT) {
        Ok(Outcome::Response(response)) => response.to_string(),
        Ok(Outcome::Error { error_type, message }) => format!("{error_type}: {message}"),
        Err(e) => panic!("{e}"),
    }
}

/// What the invocation said and what the function logged, once the log shows every one of
/// `needles` (the log is read by another thread: it may trail the answer on a busy machine).
fn said_and_logged(function: &LambdaFunction, said: &str, needles: &[&str]) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let text = format!("{said}\n{}", function.output());
        if needles.iter().all(|n| text.contains(n)) || std::time::Instant::now() >= deadline {
            return text;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The deployed pair (claims settle at once) with a DB instance `orders` and a selected
/// manual snapshot `orders-nightly` of it; its ARN.
async fn pair_with_a_selected_snapshot() -> (DeployedPair, String) {
    let p = DeployedPair::start(&EmulatorOptions::default(), &[("ClaimSettle", "0s")], &[])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    db_instance(&p.workload, "orders", None).await;
    let source = db_snapshot(&p.workload, "orders", "orders-nightly", vec![tag("offsite-export", "true")]).await;
    let source_arn = source.db_snapshot_arn.clone().expect("ARN");
    (p, source_arn)
}

/// The statements of the role's first inline policy, as the template writes them.
fn statements<'a>(template: &'a mut Template, role: &str) -> &'a mut Vec<Value> {
    template.doc["Resources"][role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        .as_array_mut()
        .unwrap_or_else(|| panic!("{role} has no inline policy statements"))
}

fn statement<'a>(statements: &'a mut [Value], sid: &str) -> &'a mut Value {
    statements.iter_mut().find(|s| s["Sid"] == sid).unwrap_or_else(|| panic!("no statement {sid}"))
}

/// Puts the role's inline policies as `template` writes them (resolved for `stack`), with
/// the statement `without` left out when given: what a stack update of the role does.
async fn put_role_policies(p: &DeployedPair, stack: &Stack, role: &str, without: Option<&str>) {
    let config = if stack.deployment.account == VAULT { &p.vault } else { &p.workload };
    let resolved = stack
        .deployment
        .document(&stack.template, &stack.template.doc["Resources"][role]["Properties"])
        .unwrap_or_else(|e| panic!("{e}"));
    let name = stack.value(role).unwrap_or_else(|| panic!("{role} not created"));
    for policy in resolved["Policies"].as_array().into_iter().flatten() {
        let mut document = policy["PolicyDocument"].clone();
        if let (Some(sid), Some(list)) = (without, document["Statement"].as_array_mut()) {
            let before = list.len();
            list.retain(|s| s["Sid"] != sid);
            assert_eq!(list.len() + 1, before, "{role} has one statement {sid}");
        }
        aws_sdk_iam::Client::new(config)
            .put_role_policy()
            .role_name(name)
            .policy_name(policy["PolicyName"].as_str().unwrap_or_default())
            .policy_document(document.to_string())
            .send()
            .await
            .unwrap_or_else(|e| panic!("put the policy of {role}: {}", aws_sdk_iam::error::DisplayErrorContext(e)));
    }
}

async fn exports_of(p: &DeployedPair, table: &str) -> usize {
    aws_sdk_dynamodb::Client::new(&p.workload)
        .list_exports()
        .table_arn(format!("arn:aws:dynamodb:us-east-1:{WORKLOAD}:table/{table}"))
        .send()
        .await
        .expect("list exports")
        .export_summaries
        .unwrap_or_default()
        .len()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dynamodb_job_needs_list_exports_on_star() {
    // The statement shape the review fixed: dynamodb:ListExports next to the table-scoped
    // actions on table/*. ListExports has no resource type, so that statement never grants
    // it (Service Authorization Reference, Amazon DynamoDB).
    let mut broken = Template::load("workload").expect("template");
    let list = statements(&mut broken, "DynamoExportRole");
    let actions = statement(list, "ListTablesAndExports")["Action"].as_array_mut().expect("actions");
    actions.retain(|a| a != "dynamodb:ListExports");
    statement(list, "ReadTables")["Action"].as_array_mut().expect("actions").push(json!("dynamodb:ListExports"));

    let p =
        DeployedPair::start_with(&EmulatorOptions::default(), broken, &[], &[]).await.unwrap_or_else(|e| panic!("{e}"));
    dynamo_table(&p.workload, "ledger", true, true, 2).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let mut job = p.function("offsite-dynamo-export").unwrap_or_else(|e| panic!("{e}"));
    let said = run(&mut job, &scheduled(WORKLOAD, "offsite-dynamo-export"));
    let told = said_and_logged(&job, &said, &["AccessDeniedException", "dynamodb:ListExports"]);
    assert!(told.contains("AccessDeniedException"), "AWS's error is named: {told}");
    assert!(told.contains("dynamodb:ListExports"), "the action is named: {told}");
    assert_eq!(exports_of(&p, "ledger").await, 0, "nothing exported: {told}");

    // The shipped statements: the next run exports.
    let shipped = Stack { template: Template::load("workload").expect("template"), ..p.workload_stack.clone() };
    put_role_policies(&p, &shipped, "DynamoExportRole", None).await;
    let said = run(&mut job, &scheduled(WORKLOAD, "offsite-dynamo-export"));
    let report: Value = serde_json::from_str(&said).unwrap_or_else(|_| panic!("a report: {said}"));
    assert_eq!(report["tables"][0]["result"], "started", "{report:#}");
    assert_eq!(exports_of(&p, "ledger").await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_functions_run_as_their_template_roles() {
    let p = DeployedPair::start(&EmulatorOptions::default(), &[], &[]).await.unwrap_or_else(|e| panic!("{e}"));
    for binary in [
        "offsite-exporter",
        "offsite-scanner",
        "offsite-dynamo-export",
        "offsite-importer",
        "offsite-reconciler",
        "offsite-retention",
        "offsite-rds-export",
        "offsite-restore-test",
    ] {
        let config = p.role_config(binary).await.unwrap_or_else(|e| panic!("{e}"));
        let me = aws_sdk_sts::Client::new(&config).get_caller_identity().send().await.expect("who am I");
        let role = p.role_arn(binary).unwrap_or_else(|e| panic!("{e}"));
        let function = p.function_arn(binary).unwrap_or_else(|e| panic!("{e}"));
        let account = if role.contains(&format!("::{VAULT}:")) { VAULT } else { WORKLOAD };
        assert!(function.starts_with(&format!("arn:aws:lambda:us-east-1:{account}:function:")), "{function}");
        let role_name = role.rsplit('/').next().unwrap_or_default();
        assert!(me.arn().unwrap_or_default().contains(&format!(":assumed-role/{role_name}/")), "{binary}: {me:?}");
        // Enforced: no function of the pipeline may list the account's roles.
        let listed = aws_sdk_iam::Client::new(&config).list_roles().send().await;
        assert!(listed.is_err(), "{binary} is not enforced");
    }
    // The stacks as the templates make them: the notice queue keeps its redrive policy and its
    // queue policy, the vault's subscription its dead-letter queue.
    let attributes = aws_sdk_sqs::Client::new(&p.vault)
        .get_queue_attributes()
        .queue_url(&p.queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
        .send()
        .await
        .expect("queue attributes")
        .attributes
        .unwrap_or_default();
    let dlq = p.vault_stack.value("NoticeDeadLetterQueue.Arn").expect("DLQ").to_owned();
    let redrive = &attributes[&aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy];
    assert!(redrive.contains(&dlq), "{attributes:?}");
    let policy = &attributes[&aws_sdk_sqs::types::QueueAttributeName::Policy];
    assert!(policy.contains(&p.topic_arn) && policy.contains("sns.amazonaws.com"), "{policy}");
    let subscription = p.vault_stack.value("Subscription1").expect("subscription").to_owned();
    let subscribed = aws_sdk_sns::Client::new(&p.vault)
        .get_subscription_attributes()
        .subscription_arn(&subscription)
        .send()
        .await
        .expect("subscription attributes")
        .attributes
        .unwrap_or_default();
    assert!(subscribed.get("RedrivePolicy").is_some_and(|r| r.contains(&dlq)), "{subscribed:?}");
    assert_eq!(subscribed.get("Endpoint"), p.vault_stack.value("NoticeQueue.Arn").map(str::to_owned).as_ref());

    // Lambda gets no session of a role that does not trust it (the reconciler's schedule
    // role trusts EventBridge Scheduler).
    let schedule_role = p.vault_stack.value("ReconcileScheduleRole.Arn").expect("schedule role").to_owned();
    let refused = p.emulator.service_session_credentials(&schedule_role, LAMBDA_SERVICE).expect_err("not Lambda's");
    let refused = refused.to_string();
    assert!(refused.contains("AccessDenied") && refused.contains("sts:AssumeRole"), "{refused}");
    assert!(refused.contains("User: lambda.amazonaws.com is not authorized"), "{refused}");
    // The bootstrap identity is not Lambda: the roles' trust policies refuse it.
    let refused =
        offsite_tests::iam::assume_role(&p.workload, &p.role_arn("offsite-exporter").expect("role"), "x").await;
    assert!(refused.is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn exporter_scanner_and_importer_fail_cleanly_without_a_statement_and_converge_with_it() {
    let (p, source_arn) = pair_with_a_selected_snapshot().await;
    let event = manual_snapshot_created(WORKLOAD, &source_arn, "orders-nightly");

    // Exporter without its copy permission: AccessDenied named, no copy.
    put_role_policies(&p, &p.workload_stack, "ExporterRole", Some("CopyOnlyToMarkedOffsiteTargets")).await;
    let mut exporter = p.function("offsite-exporter").unwrap_or_else(|e| panic!("{e}"));
    let said = run(&mut exporter, &event);
    let told = said_and_logged(&exporter, &said, &["AccessDenied", "rds:CopyDBSnapshot"]);
    assert!(told.contains("AccessDenied") && told.contains("rds:CopyDBSnapshot"), "{told}");
    assert!(p.workload_copies().await.is_empty(), "no copy: {told}");
    put_role_policies(&p, &p.workload_stack, "ExporterRole", None).await;
    run(&mut exporter, &event);
    let copies = p.workload_copies().await;
    assert_eq!(copies.len(), 1, "the next run copies");
    assert_eq!(copies[0].tag("offsite:source-arn"), Some(source_arn.as_str()), "with its tags");

    // Scanner without sns:Publish: the copy is shared but not announced, its claim released;
    // AuthorizationError named. With the statement back, the next scan announces it.
    put_role_policies(&p, &p.workload_stack, "ScannerRole", Some("AnnounceOnTheTopic")).await;
    let mut scanner = p.function("offsite-scanner").unwrap_or_else(|e| panic!("{e}"));
    let said = run(&mut scanner, &scheduled(WORKLOAD, "offsite-scanner"));
    let told = said_and_logged(&scanner, &said, &["AuthorizationError", "sns:Publish"]);
    assert!(told.contains("AuthorizationError") && told.contains("sns:Publish"), "{told}");
    assert!(drain_queue(&p.importer_role, &p.queue_url).await.is_empty(), "no notice: {told}");
    let copy = p.workload_copies().await.remove(0);
    assert_eq!(copy.tag("offsite:stage"), Some("exported"), "the claim is released: {told}");
    put_role_policies(&p, &p.workload_stack, "ScannerRole", None).await;
    run(&mut scanner, &scheduled(WORKLOAD, "offsite-scanner"));
    assert_eq!(restore_accounts(&p.workload, SnapshotKind::Instance, &copy.identifier).await, vec![VAULT.to_owned()]);
    let bodies = drain_queue(&p.importer_role, &p.queue_url).await;
    assert_eq!(bodies.len(), 1, "the next scan announces");

    // Importer without the import key's grant: KMSKeyNotAccessibleFault named, the notice
    // back to the queue (batch item failure), no vault copy. With it, the same notice imports.
    put_role_policies(&p, &p.vault_stack, "ImporterRole", Some("ImportKeyGrantsForRds")).await;
    let mut importer = p.function("offsite-importer").unwrap_or_else(|e| panic!("{e}"));
    let said = run(&mut importer, &sqs_event_json(&bodies));
    let told = said_and_logged(&importer, &said, &["KMSKeyNotAccessibleFault"]);
    assert!(told.contains("KMSKeyNotAccessibleFault"), "{told}");
    let response: Value = serde_json::from_str(&said).unwrap_or_else(|_| panic!("a response: {told}"));
    assert_eq!(response["batchItemFailures"].as_array().map(Vec::len), Some(1), "{told}");
    assert!(p.vault_copies().await.is_empty(), "no vault copy: {told}");
    put_role_policies(&p, &p.vault_stack, "ImporterRole", None).await;
    let said = run(&mut importer, &sqs_event_json(&bodies));
    assert!(said.contains("\"batchItemFailures\":[]"), "{said}");
    let imported = wait_for("the vault copy", Duration::from_secs(20), || async {
        let copies = p.vault_copies().await;
        (copies.len() == 1).then_some(copies)
    })
    .await;
    assert_eq!(imported[0].tag("offsite:source-account"), Some(WORKLOAD), "with its provenance tags");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_reconciler_without_its_copy_permission_imports_nothing_and_converges_with_it() {
    let (p, source_arn) = pair_with_a_selected_snapshot().await;
    let mut exporter = p.function("offsite-exporter").unwrap_or_else(|e| panic!("{e}"));
    run(&mut exporter, &manual_snapshot_created(WORKLOAD, &source_arn, "orders-nightly"));
    let mut scanner = p.function("offsite-scanner").unwrap_or_else(|e| panic!("{e}"));
    run(&mut scanner, &scheduled(WORKLOAD, "offsite-scanner"));
    // The notice is lost: the reconciler finds the share by itself.
    assert_eq!(drain_queue(&p.importer_role, &p.queue_url).await.len(), 1);

    put_role_policies(&p, &p.vault_stack, "ReconcilerRole", Some("CopySharedSnapshotsIntoVault")).await;
    let mut reconciler = p.function("offsite-reconciler").unwrap_or_else(|e| panic!("{e}"));
    let said = run(&mut reconciler, &scheduled(VAULT, "offsite-reconciler"));
    let told = said_and_logged(&reconciler, &said, &["AccessDenied", "rds:CopyDBSnapshot"]);
    assert!(told.contains("AccessDenied") && told.contains("rds:CopyDBSnapshot"), "{told}");
    assert!(p.vault_copies().await.is_empty(), "no vault copy: {told}");

    put_role_policies(&p, &p.vault_stack, "ReconcilerRole", None).await;
    run(&mut reconciler, &scheduled(VAULT, "offsite-reconciler"));
    let imported = wait_for("the vault copy", Duration::from_secs(20), || async {
        let copies = p.vault_copies().await;
        (copies.len() == 1).then_some(copies)
    })
    .await;
    assert_eq!(imported[0].tag("offsite:source-account"), Some(WORKLOAD), "with its provenance tags");
}

/// The scanner without `rds:ModifyDBSnapshotAttribute`: the share is refused with AWS's
/// error named, nothing is announced for the unshared copy (no notice without a share) and
/// the claim is released; with the statement back, the next scan shares and announces.
#[tokio::test(flavor = "multi_thread")]
async fn the_scanner_without_its_share_permission_announces_nothing_and_converges_with_it() {
    let (p, source_arn) = pair_with_a_selected_snapshot().await;
    let mut exporter = p.function("offsite-exporter").unwrap_or_else(|e| panic!("{e}"));
    run(&mut exporter, &manual_snapshot_created(WORKLOAD, &source_arn, "orders-nightly"));

    let mut broken = p.workload_stack.clone();
    let list = statements(&mut broken.template, "ScannerRole");
    statement(list, "ShareAndDeleteOnlyOurCopies")["Action"]
        .as_array_mut()
        .expect("actions")
        .retain(|a| a != "rds:ModifyDBSnapshotAttribute");
    put_role_policies(&p, &broken, "ScannerRole", None).await;
    let mut scanner = p.function("offsite-scanner").unwrap_or_else(|e| panic!("{e}"));
    let said = run(&mut scanner, &scheduled(WORKLOAD, "offsite-scanner"));
    let told = said_and_logged(&scanner, &said, &["AccessDenied", "rds:ModifyDBSnapshotAttribute"]);
    assert!(told.contains("AccessDenied") && told.contains("rds:ModifyDBSnapshotAttribute"), "{told}");
    let copy = p.workload_copies().await.remove(0);
    assert!(restore_accounts(&p.workload, SnapshotKind::Instance, &copy.identifier).await.is_empty(), "{told}");
    assert!(drain_queue(&p.importer_role, &p.queue_url).await.is_empty(), "no notice without a share: {told}");
    assert_eq!(copy.tag("offsite:stage"), Some("exported"), "the claim is released: {told}");

    put_role_policies(&p, &p.workload_stack, "ScannerRole", None).await;
    run(&mut scanner, &scheduled(WORKLOAD, "offsite-scanner"));
    assert_eq!(restore_accounts(&p.workload, SnapshotKind::Instance, &copy.identifier).await, vec![VAULT.to_owned()]);
    assert_eq!(drain_queue(&p.importer_role, &p.queue_url).await.len(), 1, "the next scan announces");
}

/// The scanner without its topic-key statement: SNS cannot encrypt the notice with the
/// scanner's permissions (SNS Developer Guide, "Key management": a publisher needs
/// kms:GenerateDataKey and kms:Decrypt on the topic's key), Publish fails with
/// `KMSAccessDenied`, nothing is announced and the claim is released; with the statement
/// back, the next scan announces.
#[tokio::test(flavor = "multi_thread")]
async fn the_scanner_without_the_topic_key_announces_nothing_and_converges_with_it() {
    let (p, source_arn) = pair_with_a_selected_snapshot().await;
    let mut exporter = p.function("offsite-exporter").unwrap_or_else(|e| panic!("{e}"));
    run(&mut exporter, &manual_snapshot_created(WORKLOAD, &source_arn, "orders-nightly"));

    put_role_policies(&p, &p.workload_stack, "ScannerRole", Some("TopicKeyThroughSnsOnly")).await;
    let mut scanner = p.function("offsite-scanner").unwrap_or_else(|e| panic!("{e}"));
    let said = run(&mut scanner, &scheduled(WORKLOAD, "offsite-scanner"));
    let told = said_and_logged(&scanner, &said, &["KMSAccessDenied", "kms:GenerateDataKey"]);
    assert!(told.contains("KMSAccessDenied") && told.contains("kms:GenerateDataKey"), "{told}");
    assert!(drain_queue(&p.importer_role, &p.queue_url).await.is_empty(), "no notice: {told}");
    let copy = p.workload_copies().await.remove(0);
    assert_eq!(copy.tag("offsite:stage"), Some("exported"), "the claim is released: {told}");

    put_role_policies(&p, &p.workload_stack, "ScannerRole", None).await;
    run(&mut scanner, &scheduled(WORKLOAD, "offsite-scanner"));
    assert_eq!(drain_queue(&p.importer_role, &p.queue_url).await.len(), 1, "the next scan announces");
}

/// The table's outcome in the DynamoDB job's report.
fn table_outcome(said: &str, table: &str) -> Value {
    let report: Value = serde_json::from_str(said).unwrap_or_else(|_| panic!("a report: {said}"));
    report["tables"]
        .as_array()
        .and_then(|t| t.iter().find(|o| o["table"] == table).cloned())
        .unwrap_or_else(|| panic!("no outcome for {table}: {report:#}"))
}

async fn auditor_objects(p: &DeployedPair) -> usize {
    aws_sdk_s3::Client::new(&p.auditor)
        .list_objects_v2()
        .bucket(offsite_tests::deployed::AUDITOR_BUCKET)
        .send()
        .await
        .expect("list the auditor's bucket")
        .contents()
        .len()
}

/// The DynamoDB job without its auditor-key statement, then without its `s3:PutObject`
/// statement: DynamoDB writes the export with the job's permissions (DynamoDB Developer
/// Guide, S3DataExport_Requesting, "Set up S3 permissions"; SSE-KMS objects need
/// kms:GenerateDataKey and, multipart, kms:Decrypt through S3: S3 User Guide,
/// "UsingKMSEncryption", "mpuoverview"), so the export fails with `S3AccessDenied` naming
/// the action and nothing is written. With the statements back the job exports: a table's
/// next export (this slot's stays failed: "the next slot tries again") and a new table's.
#[tokio::test(flavor = "multi_thread")]
async fn the_dynamodb_job_without_its_key_or_write_statement_fails_the_export_and_converges_with_them() {
    let p = DeployedPair::start(&EmulatorOptions::default(), &[], &[]).await.unwrap_or_else(|e| panic!("{e}"));
    let mut job = p.function("offsite-dynamo-export").unwrap_or_else(|e| panic!("{e}"));

    // Without the auditor's key.
    dynamo_table(&p.workload, "ledger", true, true, 2).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    put_role_policies(&p, &p.workload_stack, "DynamoExportRole", Some("AuditorKeyThroughS3Only")).await;
    let said = run(&mut job, &scheduled(WORKLOAD, "offsite-dynamo-export"));
    let told = said_and_logged(&job, &said, &["S3AccessDenied", "kms:GenerateDataKey"]);
    let ledger = table_outcome(&said, "ledger");
    assert_eq!(ledger["result"], "failed", "{told}");
    let reason = ledger["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("S3AccessDenied") && reason.contains("kms:GenerateDataKey"), "{told}");
    assert_eq!(auditor_objects(&p).await, 0, "nothing written: {told}");

    // Without s3:PutObject (the key statement back).
    dynamo_table(&p.workload, "journal", true, true, 2).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    put_role_policies(&p, &p.workload_stack, "DynamoExportRole", Some("WriteOnlyUnderOurPrefix")).await;
    let said = run(&mut job, &scheduled(WORKLOAD, "offsite-dynamo-export"));
    let told = said_and_logged(&job, &said, &["S3AccessDenied", "s3:PutObject"]);
    let journal = table_outcome(&said, "journal");
    assert_eq!(journal["result"], "failed", "{told}");
    let reason = journal["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("S3AccessDenied") && reason.contains("s3:PutObject"), "{told}");
    assert_eq!(auditor_objects(&p).await, 0, "nothing written: {told}");

    // The shipped statements: a new table exports in this run; the failed tables' slot
    // exports stay failed (same ClientToken), and their next export, as the next slot's run
    // starts it (a new token) under the job's role, completes.
    put_role_policies(&p, &p.workload_stack, "DynamoExportRole", None).await;
    dynamo_table(&p.workload, "accounts", true, true, 2).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let said = run(&mut job, &scheduled(WORKLOAD, "offsite-dynamo-export"));
    assert_eq!(table_outcome(&said, "accounts")["result"], "started", "{said}");
    assert_eq!(table_outcome(&said, "ledger")["result"], "failed", "this slot's export: {said}");

    let env = p.function_env("offsite-dynamo-export").unwrap_or_else(|e| panic!("{e}"));
    let as_job = p.role_config("offsite-dynamo-export").await.unwrap_or_else(|e| panic!("{e}"));
    let next = aws_sdk_dynamodb::Client::new(&as_job)
        .export_table_to_point_in_time()
        .table_arn(format!("arn:aws:dynamodb:us-east-1:{WORKLOAD}:table/ledger"))
        .s3_bucket(&env["OFFSITE_EXPORT_BUCKET"])
        .s3_bucket_owner(&env["OFFSITE_EXPORT_BUCKET_OWNER"])
        .s3_prefix(format!("{}/account={WORKLOAD}/next-slot", env["OFFSITE_EXPORT_PREFIX"]))
        .s3_sse_algorithm(aws_sdk_dynamodb::types::S3SseAlgorithm::Kms)
        .s3_sse_kms_key_id(&env["OFFSITE_EXPORT_SSE_KMS_KEY_ARN"])
        .client_token("next-slot")
        .send()
        .await
        .expect("export requested")
        .export_description
        .expect("description");
    assert_eq!(next.export_status(), Some(&aws_sdk_dynamodb::types::ExportStatus::Completed), "{next:?}");
    assert!(auditor_objects(&p).await > 0, "written");
}

/// Retention without `DeleteOwnImportsOnly`: every deletion its policy decides is refused
/// with AWS's error, reported by name, and nothing is deleted; with the statement back the
/// same run deletes exactly those copies. (In-process, at a time a month ahead: the copies
/// are minutes old and retention never deletes anything younger than a day.)
#[tokio::test(flavor = "multi_thread")]
async fn retention_without_its_delete_permission_deletes_nothing_and_converges_with_it() {
    use std::collections::BTreeMap;

    use aws_smithy_types::DateTime;
    use aws_smithy_types::date_time::Format;
    use offsite_common::rds::RdsSnapshots;
    use offsite_common::tags;
    use offsite_importer::retention::{Policy, apply};
    use offsite_tests::event_source::sqs_event;
    use offsite_tests::pipeline::Pipeline;

    let pair = DeployedPair::start(&EmulatorOptions::default(), &[], &[]).await.unwrap_or_else(|e| panic!("{e}"));
    let p = Pipeline::on(pair).await;
    let now = DateTime::from(std::time::SystemTime::now());
    for name in ["orders-a", "orders-b"] {
        let (_copy, bodies) = p.announced(name).await;
        let report = p.vault_side().handle_batch(&sqs_event(&bodies), now).await.expect("import");
        assert!(report.response.batch_item_failures.is_empty(), "{report:#?}");
    }
    // The data of the first is 20 days old, of the second 2 days (the operator's hand).
    let mut copies = p.vault_copies().await;
    copies.sort_by(|a, b| a.identifier.cmp(&b.identifier));
    let operator = RdsSnapshots::new(aws_sdk_rds::Client::new(&p.vault));
    for (copy, days) in copies.iter().zip([20, 2]) {
        let taken = DateTime::from_secs(now.secs() - days * 86_400).fmt(Format::DateTime).expect("time");
        let tag = BTreeMap::from([(tags::SOURCE_CREATED.to_owned(), taken)]);
        operator.add_tags(&copy.arn, &tag).await.expect("backdate");
    }
    let policy =
        Policy { keep_last: 1, daily: 0, weekly: 0, monthly: 0, min_age: Duration::from_secs(86_400), dry_run: false };
    let later = DateTime::from_secs(now.secs() + 30 * 86_400);
    let retention = RdsSnapshots::new(aws_sdk_rds::Client::new(&p.retention_role));

    put_role_policies(&p, &p.vault_stack, "RetentionRole", Some("DeleteOwnImportsOnly")).await;
    let denied = apply(&retention, &policy, later, tags::MARKER_IMPORT).await.expect("listing is still allowed");
    assert!(denied.deleted.is_empty(), "{denied:#?}");
    assert_eq!(denied.errors.len(), 1, "{denied:#?}");
    let error = &denied.errors[0];
    assert!(error.contains("AccessDenied") && error.contains("rds:DeleteDBSnapshot"), "{error}");
    assert_eq!(p.vault_copies().await.len(), 2, "nothing deleted");

    put_role_policies(&p, &p.vault_stack, "RetentionRole", None).await;
    let applied = apply(&retention, &policy, later, tags::MARKER_IMPORT).await.expect("retention");
    assert_eq!(applied.deleted, [copies[0].identifier.clone()], "{applied:#?}");
    assert!(applied.errors.is_empty(), "{applied:#?}");
    let left = p.vault_copies().await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].identifier, copies[1].identifier, "the newer data stays");
}
