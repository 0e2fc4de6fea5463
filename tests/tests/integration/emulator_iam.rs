//! IAM evaluation in the emulator (`tests/emulator/patches/iam_enforce.py`): a role created
//! through the IAM API is authorized as AWS authorizes it (identity policies, resource
//! policies, trust policies; the Service Authorization Reference for resources and condition
//! keys), while the bootstrap identity of each account ([`Emulator::account`]) stays
//! unrestricted.

use aws_config::SdkConfig;
use aws_sdk_rds::error::ProvideErrorMetadata;
use offsite_tests::fixtures::{db_instance, db_snapshot, error_code, kms_key, tag};
use offsite_tests::iam::{assume_role, policy, trust_policy};
use offsite_tests::{Emulator, REGION, VAULT, WORKLOAD, role_arn};
use serde_json::json;

/// Creates the role `name` in the account of `bootstrap`, trusted by `trust`, with one inline
/// policy `statements`; returns its ARN.
async fn create_role(
    bootstrap: &SdkConfig,
    name: &str,
    trust: &serde_json::Value,
    statements: &[serde_json::Value],
) -> String {
    let iam = aws_sdk_iam::Client::new(bootstrap);
    let role = iam
        .create_role()
        .role_name(name)
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
        .unwrap_or_else(|e| panic!("create role {name}: {}", aws_sdk_iam::error::DisplayErrorContext(e)));
    let arn = role.role().map(|r| r.arn().to_owned()).unwrap_or_else(|| panic!("no role {name} in the answer"));
    if !statements.is_empty() {
        put_policy(bootstrap, name, statements).await;
    }
    arn
}

/// Replaces the role's inline policy (`policy`) with `statements`.
async fn put_policy(bootstrap: &SdkConfig, role: &str, statements: &[serde_json::Value]) {
    aws_sdk_iam::Client::new(bootstrap)
        .put_role_policy()
        .role_name(role)
        .policy_name("policy")
        .policy_document(policy(statements).to_string())
        .send()
        .await
        .unwrap_or_else(|e| panic!("put the policy of {role}: {}", aws_sdk_iam::error::DisplayErrorContext(e)));
}

fn message<T, E: ProvideErrorMetadata>(result: &Result<T, E>) -> String {
    result.as_ref().err().and_then(|e| e.message()).unwrap_or_default().to_owned()
}

fn session_arn(account: &str, role: &str, session: &str) -> String {
    format!("arn:aws:sts::{account}:assumed-role/{role}/{session}")
}

#[tokio::test]
async fn list_exports_is_granted_only_on_resource_star() {
    let emulator = Emulator::start().expect("emulator starts");
    let workload = emulator.account(WORKLOAD).await.expect("workload credentials");
    // The shipped template's defect: dynamodb:ListExports has no resource type, so a
    // statement naming table ARNs never grants it.
    let role = create_role(
        &workload,
        "offsite-dynamo-export",
        &trust_policy(&role_arn(WORKLOAD)),
        &[json!({"Effect": "Allow", "Action": "dynamodb:ListExports", "Resource": "arn:aws:dynamodb:*:*:table/*"})],
    )
    .await;
    let job = assume_role(&workload, &role, "export-run").await.expect("the trust policy admits the bootstrap role");

    let denied = aws_sdk_dynamodb::Client::new(&job).list_exports().send().await;
    assert_eq!(error_code(&denied).as_deref(), Some("AccessDeniedException"), "{denied:?}");
    assert_eq!(
        message(&denied),
        format!(
            "User: {} is not authorized to perform: dynamodb:ListExports on resource: * because no \
             identity-based policy allows the dynamodb:ListExports action",
            session_arn(WORKLOAD, "offsite-dynamo-export", "export-run")
        )
    );

    put_policy(
        &workload,
        "offsite-dynamo-export",
        &[json!({"Effect": "Allow", "Action": "dynamodb:ListExports", "Resource": "*"})],
    )
    .await;
    aws_sdk_dynamodb::Client::new(&job).list_exports().send().await.expect("ListExports on \"*\" is allowed");
    // Nothing else is: ListTables is another action.
    let other = aws_sdk_dynamodb::Client::new(&job).list_tables().send().await;
    assert_eq!(error_code(&other).as_deref(), Some("AccessDeniedException"));
}

#[tokio::test]
async fn a_role_is_assumed_only_as_its_trust_policy_and_the_callers_policies_allow() {
    let emulator = Emulator::start().expect("emulator starts");
    let workload = emulator.account(WORKLOAD).await.expect("workload credentials");
    let lambda_only = json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    });
    let function_role = create_role(&workload, "offsite-exporter", &lambda_only, &[]).await;
    let refused = assume_role(&workload, &function_role, "not-lambda").await;
    assert_eq!(error_code(&refused).as_deref(), Some("AccessDenied"), "{refused:?}");
    assert_eq!(
        message(&refused),
        format!(
            "User: {} is not authorized to perform: sts:AssumeRole on resource: {function_role} because no \
             resource-based policy allows the sts:AssumeRole action",
            session_arn(WORKLOAD, "offsite-test", "offsite-test")
        )
    );

    // An enforced caller: its own policies count too. A trust policy that names only the
    // account delegates to the caller's identity policies...
    let first = create_role(&workload, "first", &trust_policy(&role_arn(WORKLOAD)), &[]).await;
    let by_account =
        create_role(&workload, "by-account", &trust_policy(&format!("arn:aws:iam::{WORKLOAD}:root")), &[]).await;
    let caller = assume_role(&workload, &first, "chain").await.expect("first role");
    let no_permission = assume_role(&caller, &by_account, "hop").await;
    assert_eq!(error_code(&no_permission).as_deref(), Some("AccessDenied"));
    assert!(message(&no_permission).contains("because no identity-based policy allows the sts:AssumeRole action"));
    put_policy(&workload, "first", &[json!({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": by_account})])
        .await;
    assume_role(&caller, &by_account, "hop").await.expect("identity policy and trust policy allow it");
    // ... while one naming the caller's role grants it on its own, within the account.
    let by_role = create_role(&workload, "by-role", &trust_policy(&first), &[]).await;
    aws_sdk_iam::Client::new(&workload)
        .delete_role_policy()
        .role_name("first")
        .policy_name("policy")
        .send()
        .await
        .expect("delete the policy of first");
    assume_role(&caller, &by_role, "hop").await.expect("the trust policy names the caller's role");
    // An enforced caller cannot become a bootstrap identity.
    let escape = assume_role(&caller, &role_arn(WORKLOAD), "escape").await;
    assert_eq!(error_code(&escape).as_deref(), Some("AccessDenied"));
}

#[tokio::test]
async fn the_bootstrap_identity_stays_unrestricted() {
    let emulator = Emulator::start().expect("emulator starts");
    let workload = emulator.account(WORKLOAD).await.expect("workload credentials");
    let role = create_role(&workload, "nothing-allowed", &trust_policy(&role_arn(WORKLOAD)), &[]).await;
    let restricted = assume_role(&workload, &role, "idle").await.expect("assume");

    // No policy needed for GetCallerIdentity (STS API reference), for anyone.
    let me = aws_sdk_sts::Client::new(&restricted).get_caller_identity().send().await.expect("who am I");
    assert_eq!(me.arn(), Some(session_arn(WORKLOAD, "nothing-allowed", "idle").as_str()));
    let denied = aws_sdk_rds::Client::new(&restricted).describe_db_snapshots().send().await;
    assert_eq!(error_code(&denied).as_deref(), Some("AccessDenied"));

    aws_sdk_rds::Client::new(&workload).describe_db_snapshots().send().await.expect("bootstrap: RDS");
    aws_sdk_dynamodb::Client::new(&workload).list_exports().send().await.expect("bootstrap: DynamoDB");
    aws_sdk_sqs::Client::new(&workload).list_queues().send().await.expect("bootstrap: SQS");
    aws_sdk_iam::Client::new(&workload).list_roles().send().await.expect("bootstrap: IAM");

    // A session of a deleted role is not a bootstrap identity: it is allowed nothing.
    aws_sdk_iam::Client::new(&workload).delete_role().role_name("nothing-allowed").send().await.expect("delete role");
    let orphan = aws_sdk_sqs::Client::new(&restricted).list_queues().send().await;
    assert_eq!(error_code(&orphan).as_deref(), Some("AccessDenied"), "{orphan:?}");
}

#[tokio::test]
async fn an_rds_copy_needs_the_selection_tag_on_the_source_and_the_marker_on_the_target() {
    let emulator = Emulator::start().expect("emulator starts");
    let workload = emulator.account(WORKLOAD).await.expect("workload credentials");
    db_instance(&workload, "orders", None).await;
    let selected = db_snapshot(&workload, "orders", "orders-selected", vec![tag("offsite:selected", "yes")]).await;
    let other = db_snapshot(&workload, "orders", "orders-other", vec![tag("team", "orders")]).await;
    let selected_arn = selected.db_snapshot_arn().expect("ARN").to_owned();
    let other_arn = other.db_snapshot_arn().expect("ARN").to_owned();
    let snapshots = format!("arn:aws:rds:{REGION}:{WORKLOAD}:snapshot");
    // The exporter's statements (infra/workload.yaml): targets offsite-* with the marker in
    // the request, sources with the selection tag, tags on create as AddTagsToResource.
    let role = create_role(
        &workload,
        "offsite-exporter",
        &trust_policy(&role_arn(WORKLOAD)),
        &[
            json!({"Effect": "Allow", "Action": "rds:CopyDBSnapshot", "Resource": format!("{snapshots}:offsite-*"),
                   "Condition": {"StringEquals": {"aws:RequestTag/offsite:managed-by": "offsite-export"}}}),
            json!({"Effect": "Allow", "Action": "rds:CopyDBSnapshot", "Resource": format!("{snapshots}:*"),
                   "Condition": {"StringEquals": {"rds:snapshot-tag/offsite:selected": "yes"}}}),
            json!({"Effect": "Allow", "Action": "rds:AddTagsToResource", "Resource": format!("{snapshots}:offsite-*"),
                   "Condition": {"StringEquals": {"aws:RequestTag/offsite:managed-by": "offsite-export"},
                                 "ForAllValues:StringLike": {"aws:TagKeys": "offsite:*"}}}),
        ],
    )
    .await;
    let exporter = aws_sdk_rds::Client::new(&assume_role(&workload, &role, "sweep").await.expect("assume"));
    let copy = |source: String, target: &'static str, marked: bool| {
        let request =
            exporter.copy_db_snapshot().source_db_snapshot_identifier(source).target_db_snapshot_identifier(target);
        let request = if marked { request.tags(tag("offsite:managed-by", "offsite-export")) } else { request };
        request.send()
    };

    copy(selected_arn.clone(), "offsite-orders-1", true).await.expect("a selected source, a marked offsite-* target");

    let unselected = copy(other_arn.clone(), "offsite-orders-2", true).await;
    assert_eq!(error_code(&unselected).as_deref(), Some("AccessDenied"), "{unselected:?}");
    assert_eq!(
        message(&unselected),
        format!(
            "User: {} is not authorized to perform: rds:CopyDBSnapshot on resource: {other_arn} because no \
             identity-based policy allows the rds:CopyDBSnapshot action",
            session_arn(WORKLOAD, "offsite-exporter", "sweep")
        )
    );
    let unmarked = copy(selected_arn.clone(), "offsite-orders-3", false).await;
    assert_eq!(error_code(&unmarked).as_deref(), Some("AccessDenied"));
    let elsewhere = copy(selected_arn, "elsewhere", true).await;
    assert_eq!(error_code(&elsewhere).as_deref(), Some("AccessDenied"));
}

#[tokio::test]
async fn an_rds_copy_under_a_kms_key_needs_the_key_through_rds() {
    let emulator = Emulator::start().expect("emulator starts");
    let workload = emulator.account(WORKLOAD).await.expect("workload credentials");
    let key = kms_key(&workload, "export").await; // moto's default key policy: delegates to IAM
    db_instance(&workload, "orders", Some(&key)).await;
    let source = db_snapshot(&workload, "orders", "orders-1", vec![]).await.db_snapshot_arn().expect("ARN").to_owned();
    let copy_anything = json!({"Effect": "Allow", "Action": "rds:CopyDBSnapshot", "Resource": "*"});
    let role =
        create_role(&workload, "copier", &trust_policy(&role_arn(WORKLOAD)), std::slice::from_ref(&copy_anything))
            .await;
    let copier = aws_sdk_rds::Client::new(&assume_role(&workload, &role, "copy").await.expect("assume"));
    let copy = |target: &'static str| {
        copier
            .copy_db_snapshot()
            .source_db_snapshot_identifier(&source)
            .target_db_snapshot_identifier(target)
            .kms_key_id(&key)
            .send()
    };

    let no_key_permission = copy("copy-1").await;
    assert_eq!(error_code(&no_key_permission).as_deref(), Some("KMSKeyNotAccessibleFault"), "{no_key_permission:?}");

    // The template's statements: both through RDS only, the grant only for an AWS resource.
    let through_rds = json!({"StringEquals": {"kms:ViaService": format!("rds.{REGION}.amazonaws.com")}});
    let key_statements = [
        copy_anything,
        json!({"Effect": "Allow", "Action": "kms:DescribeKey", "Resource": key, "Condition": through_rds}),
        json!({"Effect": "Allow", "Action": "kms:CreateGrant", "Resource": key,
               "Condition": {"StringEquals": {"kms:ViaService": format!("rds.{REGION}.amazonaws.com")},
                             "Bool": {"kms:GrantIsForAWSResource": "true"}}}),
    ];
    put_policy(&workload, "copier", &key_statements).await;
    copy("copy-2").await.expect("the key policy delegates to IAM, which allows the key through RDS");
    // Through RDS only: the role cannot use the key directly.
    let direct = aws_sdk_kms::Client::new(&assume_role(&workload, &role, "direct").await.expect("assume"))
        .describe_key()
        .key_id(&key)
        .send()
        .await;
    assert_eq!(error_code(&direct).as_deref(), Some("AccessDeniedException"));

    // A key policy that does not delegate to IAM: the role's policy alone is not enough.
    let key_id = key.rsplit('/').next().expect("key id");
    let bootstrap_only = policy(&[
        json!({"Effect": "Allow", "Principal": {"AWS": role_arn(WORKLOAD)}, "Action": "kms:*", "Resource": "*"}),
    ]);
    aws_sdk_kms::Client::new(&workload)
        .put_key_policy()
        .key_id(key_id)
        .policy_name("default")
        .policy(bootstrap_only.to_string())
        .send()
        .await
        .expect("key policy");
    let not_in_key_policy = copy("copy-3").await;
    assert_eq!(error_code(&not_in_key_policy).as_deref(), Some("KMSKeyNotAccessibleFault"));
}

#[tokio::test]
async fn a_queue_policy_and_a_topic_policy_decide_across_accounts() {
    let emulator = Emulator::start().expect("emulator starts");
    let workload = emulator.account(WORKLOAD).await.expect("workload credentials");
    let vault = emulator.account(VAULT).await.expect("vault credentials");

    // SQS: a vault queue, a workload role allowed by its own policy to send to it.
    let sqs = aws_sdk_sqs::Client::new(&vault);
    let url = sqs.create_queue().queue_name("notices").send().await.expect("queue").queue_url.expect("URL");
    let queue_arn = format!("arn:aws:sqs:{REGION}:{VAULT}:notices");
    let sender = create_role(
        &workload,
        "sender",
        &trust_policy(&role_arn(WORKLOAD)),
        &[json!({"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": queue_arn})],
    )
    .await;
    let sender = aws_sdk_sqs::Client::new(&assume_role(&workload, &sender, "send").await.expect("assume"));
    let send = || sender.send_message().queue_url(&url).message_body("hello").send();
    let no_queue_policy = send().await;
    assert_eq!(error_code(&no_queue_policy).as_deref(), Some("AccessDenied"), "{no_queue_policy:?}");
    assert!(message(&no_queue_policy).contains("because no resource-based policy allows the sqs:SendMessage action"));

    let queue_policy =
        policy(&[json!({"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{WORKLOAD}:root")},
                                       "Action": "sqs:SendMessage", "Resource": queue_arn})]);
    sqs.set_queue_attributes()
        .queue_url(&url)
        .attributes(aws_sdk_sqs::types::QueueAttributeName::Policy, queue_policy.to_string())
        .send()
        .await
        .expect("queue policy");
    // Both sides allow now: authorized. (moto itself serves SQS per account, so the send
    // then finds no such queue in the workload account: a limitation of moto, not of IAM.)
    let both = send().await;
    assert_ne!(error_code(&both).as_deref(), Some("AccessDenied"), "{both:?}");

    // Within the vault, a queue policy naming a role grants it without an identity policy.
    let reader = create_role(&vault, "reader", &trust_policy(&role_arn(VAULT)), &[]).await;
    let own_policy = policy(&[json!({"Effect": "Allow", "Principal": {"AWS": reader},
                                     "Action": ["sqs:SendMessage", "sqs:ReceiveMessage"], "Resource": queue_arn})]);
    sqs.set_queue_attributes()
        .queue_url(&url)
        .attributes(aws_sdk_sqs::types::QueueAttributeName::Policy, own_policy.to_string())
        .send()
        .await
        .expect("queue policy");
    let reader = aws_sdk_sqs::Client::new(&assume_role(&vault, &reader, "read").await.expect("assume"));
    reader
        .send_message()
        .queue_url(&url)
        .message_body("same account")
        .send()
        .await
        .expect("granted by the queue policy");
    let received = reader.receive_message().queue_url(&url).send().await.expect("receive");
    assert_eq!(received.messages().len(), 1);
    let list = reader.list_queues().send().await;
    assert_eq!(error_code(&list).as_deref(), Some("AccessDenied"), "the queue policy covers only its queue");

    // SNS: a vault role subscribes to the workload's topic; the topic policy and the role's
    // policy must both allow sns:Subscribe.
    let sns = aws_sdk_sns::Client::new(&workload);
    let topic = sns.create_topic().name("announcements").send().await.expect("topic").topic_arn.expect("ARN");
    let subscriber = create_role(
        &vault,
        "subscriber",
        &trust_policy(&role_arn(VAULT)),
        &[json!({"Effect": "Allow", "Action": "sns:Subscribe", "Resource": topic})],
    )
    .await;
    let subscriber = aws_sdk_sns::Client::new(&assume_role(&vault, &subscriber, "subscribe").await.expect("assume"));
    let subscribe = || subscriber.subscribe().topic_arn(&topic).protocol("sqs").endpoint(&queue_arn).send();
    let default_policy = subscribe().await;
    assert_eq!(error_code(&default_policy).as_deref(), Some("AuthorizationError"), "{default_policy:?}");
    let topic_policy = policy(&[json!({"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{VAULT}:root")},
                                       "Action": "sns:Subscribe", "Resource": topic,
                                       "Condition": {"StringEquals": {"sns:Protocol": "sqs"}}})]);
    sns.set_topic_attributes()
        .topic_arn(&topic)
        .attribute_name("Policy")
        .attribute_value(topic_policy.to_string())
        .send()
        .await
        .expect("topic policy");
    subscribe().await.expect("the topic policy admits the vault and the role's policy allows it");
    let email = subscriber.subscribe().topic_arn(&topic).protocol("email").endpoint("a@example.com").send().await;
    assert_eq!(error_code(&email).as_deref(), Some("AuthorizationError"), "the topic policy admits only sqs");
}

/// The evaluator's unit tests (`tests/emulator/tests/`, stdlib unittest) run with the
/// emulator's pinned Python, so `cargo test` covers them too.
#[test]
fn the_evaluators_python_unit_tests_pass() {
    let root = offsite_tests::workspace_root();
    let python = std::env::var_os(offsite_tests::PYTHON_VAR)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join(".venv/bin/python"));
    let output = std::process::Command::new(&python)
        .args(["-m", "unittest", "discover", "-s", "tests/emulator/tests"])
        .current_dir(&root)
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", python.display()));
    let report = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the Python unit tests failed:\n{report}");
    assert!(report.contains("\nOK"), "no unittest summary:\n{report}");
}

/// SNS encrypts a message to an SSE topic with the publisher's permissions on the topic key:
/// "kms:GenerateDataKey and kms:Decrypt" (SNS Developer Guide, "Key management"); refused,
/// Publish fails with `KMSAccessDenied` (SNS API Reference, Publish errors) and nothing is
/// published.
#[tokio::test]
async fn publishing_to_an_encrypted_topic_needs_the_topic_key_through_sns() {
    let emulator = Emulator::start().expect("emulator starts");
    let workload = emulator.account(WORKLOAD).await.expect("workload credentials");
    let key = kms_key(&workload, "topic").await; // moto's default key policy: delegates to IAM
    let sns = aws_sdk_sns::Client::new(&workload);
    let topic = sns
        .create_topic()
        .name("announcements")
        .attributes("KmsMasterKeyId", &key)
        .send()
        .await
        .expect("topic")
        .topic_arn
        .expect("ARN");
    let sqs = aws_sdk_sqs::Client::new(&workload);
    let url = sqs.create_queue().queue_name("listener").send().await.expect("queue").queue_url.expect("URL");
    let queue_arn = format!("arn:aws:sqs:{REGION}:{WORKLOAD}:listener");
    sns.subscribe().topic_arn(&topic).protocol("sqs").endpoint(&queue_arn).send().await.expect("subscribe");

    let publish = json!({"Effect": "Allow", "Action": "sns:Publish", "Resource": topic});
    let role =
        create_role(&workload, "announcer", &trust_policy(&role_arn(WORKLOAD)), std::slice::from_ref(&publish)).await;
    let announcer = aws_sdk_sns::Client::new(&assume_role(&workload, &role, "scan").await.expect("assume"));
    let denied = announcer.publish().topic_arn(&topic).message("one").send().await;
    assert_eq!(error_code(&denied).as_deref(), Some("KMSAccessDenied"), "{denied:?}");
    let text = message(&denied);
    assert!(text.contains("kms:GenerateDataKey") && text.contains(&key), "{text}");
    assert!(text.contains(&session_arn(WORKLOAD, "announcer", "scan")), "{text}");
    let entry = aws_sdk_sns::types::PublishBatchRequestEntry::builder().id("1").message("one").build().expect("entry");
    let batch = announcer.publish_batch().topic_arn(&topic).publish_batch_request_entries(entry.clone()).send().await;
    assert_eq!(error_code(&batch).as_deref(), Some("KMSAccessDenied"), "{batch:?}");
    let received = sqs.receive_message().queue_url(&url).wait_time_seconds(1).send().await.expect("receive");
    assert!(received.messages().is_empty(), "nothing published: {received:?}");

    // The template's statement (infra/workload.yaml, TopicKeyThroughSnsOnly): both actions,
    // through SNS, for this topic's encryption context.
    let topic_key = json!({"Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": key,
        "Condition": {"StringEquals": {"kms:ViaService": format!("sns.{REGION}.amazonaws.com"),
                                       "kms:EncryptionContext:aws:sns:topicArn": topic}}});
    put_policy(&workload, "announcer", &[publish.clone(), topic_key]).await;
    announcer.publish().topic_arn(&topic).message("two").send().await.expect("the key through SNS is allowed");
    announcer.publish_batch().topic_arn(&topic).publish_batch_request_entries(entry).send().await.expect("batch");
    // Only Decrypt is not enough.
    let decrypt_only = json!({"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key});
    put_policy(&workload, "announcer", &[publish, decrypt_only]).await;
    let denied = announcer.publish().topic_arn(&topic).message("three").send().await;
    assert_eq!(error_code(&denied).as_deref(), Some("KMSAccessDenied"), "{denied:?}");
    assert!(message(&denied).contains("kms:GenerateDataKey"), "{denied:?}");
}

/// DynamoDB writes an export with the caller's permissions (DynamoDB Developer Guide,
/// S3DataExport_Requesting, "Set up S3 permissions"): across accounts the caller's identity
/// policies and the bucket policy must both allow the writes, and an SSE-KMS export needs
/// the caller's kms:GenerateDataKey and kms:Decrypt on the key through S3. Refused, the
/// export ends FAILED with S3AccessDenied and nothing is written.
#[tokio::test]
async fn a_dynamodb_export_writes_with_the_callers_identity_policies_and_key() {
    use aws_sdk_dynamodb::types::{ExportStatus, S3SseAlgorithm};
    let emulator = Emulator::start().expect("emulator starts");
    let workload = emulator.account(WORKLOAD).await.expect("workload credentials");
    let auditor = emulator.account(offsite_tests::AUDITOR).await.expect("auditor credentials");
    let table = offsite_tests::fixtures::dynamo_table(&workload, "ledger", true, true, 2).await;
    let bucket = "audit-exports";
    aws_sdk_s3::Client::new(&auditor).create_bucket().bucket(bucket).send().await.expect("bucket");
    let key = kms_key(&auditor, "audit").await;
    let key_id = key.rsplit('/').next().expect("key id").to_owned();
    let role_name = "exporter";
    let role_arn_ = format!("arn:aws:iam::{WORKLOAD}:role/{role_name}");
    offsite_tests::fixtures::auditor_export_policy(&auditor, bucket, &role_arn_, "offsite/").await;
    // The auditor's key policy (infra/auditor.yaml, ExportRoleWritesThroughS3).
    let key_policy = policy(&[
        json!({"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{}:root", offsite_tests::AUDITOR)},
               "Action": "kms:*", "Resource": "*"}),
        json!({"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{WORKLOAD}:root")},
               "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": "*",
               "Condition": {"StringEquals": {"kms:ViaService": format!("s3.{REGION}.amazonaws.com")},
                             "ArnEquals": {"aws:PrincipalArn": role_arn_}}}),
    ]);
    aws_sdk_kms::Client::new(&auditor)
        .put_key_policy()
        .key_id(&key_id)
        .policy_name("default")
        .policy(key_policy.to_string())
        .send()
        .await
        .expect("key policy");
    let export = json!({"Effect": "Allow", "Action": ["dynamodb:ExportTableToPointInTime", "dynamodb:DescribeExport"],
                        "Resource": [table, format!("{table}/export/*")]});
    let writes = json!({"Effect": "Allow", "Action": ["s3:PutObject", "s3:PutObjectAcl", "s3:AbortMultipartUpload"],
                        "Resource": format!("arn:aws:s3:::{bucket}/offsite/*")});
    let no_put = json!({"Effect": "Allow", "Action": ["s3:PutObjectAcl", "s3:AbortMultipartUpload"],
                        "Resource": format!("arn:aws:s3:::{bucket}/offsite/*")});
    let key_use = json!({"Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": key,
                         "Condition": {"StringLike": {"kms:ViaService": "s3.*.amazonaws.com"}}});
    create_role(&workload, role_name, &trust_policy(&role_arn(WORKLOAD)), &[export.clone(), no_put, key_use.clone()])
        .await;
    let job = aws_sdk_dynamodb::Client::new(&assume_role(&workload, &role_arn_, "export").await.expect("assume"));
    let start = |token: &'static str| {
        job.export_table_to_point_in_time()
            .table_arn(&table)
            .s3_bucket(bucket)
            .s3_bucket_owner(offsite_tests::AUDITOR)
            .s3_prefix("offsite/ledger")
            .s3_sse_algorithm(S3SseAlgorithm::Kms)
            .s3_sse_kms_key_id(&key)
            .client_token(token)
            .send()
    };
    let objects = || async {
        aws_sdk_s3::Client::new(&auditor).list_objects_v2().bucket(bucket).send().await.expect("list").key_count()
    };

    // Without s3:PutObject in its identity policy, though the bucket policy allows it.
    let failed = start("t1").await.expect("export requested").export_description.expect("description");
    assert_eq!(failed.export_status(), Some(&ExportStatus::Failed), "{failed:?}");
    assert_eq!(failed.failure_code(), Some("S3AccessDenied"), "{failed:?}");
    let why = failed.failure_message().unwrap_or_default();
    assert!(why.contains("s3:PutObject on resource") && why.contains("no identity-based policy allows"), "{why}");
    assert!(why.contains(&session_arn(WORKLOAD, role_name, "export")), "{why}");
    assert_eq!(objects().await, Some(0), "nothing written");

    // Writes allowed, but no statement for the auditor's key.
    put_policy(&workload, role_name, &[export.clone(), writes.clone()]).await;
    let failed = start("t2").await.expect("export requested").export_description.expect("description");
    assert_eq!(failed.failure_code(), Some("S3AccessDenied"), "{failed:?}");
    let why = failed.failure_message().unwrap_or_default();
    assert!(why.contains("kms:GenerateDataKey") && why.contains(&key), "{why}");
    assert_eq!(objects().await, Some(0), "nothing written");

    // Everything the documentation lists: the export starts and writes.
    put_policy(&workload, role_name, &[export, writes, key_use]).await;
    let started = start("t3").await.expect("export requested").export_description.expect("description");
    assert_ne!(started.export_status(), Some(&ExportStatus::Failed), "{started:?}");
    assert!(objects().await.unwrap_or_default() > 0, "_started written");
}
