//! Resources that tests create in the emulator, and small helpers to inspect results.
//!
//! Fixtures panic with the SDK's full error context: they set up a test, and a failure here
//! means the emulator or the test is broken, not the code under test.

use std::future::Future;
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use aws_sdk_rds::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_rds::types::{DbClusterSnapshot, DbSnapshot, Tag};

use crate::SnapshotKind;

/// The error code of a failed SDK call (`DBSnapshotNotFound`, ...), for assertions.
pub fn error_code<T, E: ProvideErrorMetadata>(result: &Result<T, E>) -> Option<String> {
    result.as_ref().err().and_then(|e| e.code()).map(str::to_owned)
}

/// The pause between two probes of [`wait_for`].
const PROBE_PAUSE: Duration = Duration::from_millis(100);

/// Polls `probe` until it returns `Some`, or panics naming `what` once `timeout` has passed
/// *and* the probe has been tried as often as `timeout` holds pauses: on a busy machine,
/// where each probe (a call to the emulator) takes longer, the wait stretches with it, so the
/// verdict depends on the emulator's answers, not on the machine's speed.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    let least_probes = timeout.as_millis() / PROBE_PAUSE.as_millis();
    let mut probes = 0u128;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        probes += 1;
        assert!(
            Instant::now() < deadline || probes < least_probes,
            "timed out after {timeout:?} and {probes} probes waiting for {what}"
        );
        tokio::time::sleep(PROBE_PAUSE).await;
    }
}

/// Creates a customer-managed KMS key and returns its ARN.
pub async fn kms_key(config: &SdkConfig, description: &str) -> String {
    let key = aws_sdk_kms::Client::new(config)
        .create_key()
        .description(description)
        .send()
        .await
        .unwrap_or_else(|e| panic!("create KMS key {description}: {}", DisplayErrorContext(e)));
    key.key_metadata()
        .and_then(|m| m.arn())
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("KMS key {description} has no ARN"))
}

/// A tag, as the RDS API takes it.
pub fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build()
}

/// A vault import as the importer leaves it, made by the vault's operator: a manual snapshot
/// of the vault's DB instance `instance` under the importer's identifier for the workload
/// copy `offsite-<database>-<n>` and its provenance tags, its data taken at `taken`. For
/// scenarios that need many imports, or old ones, without running the pipeline for each.
/// Returns the identifier (the snapshot is `creating` for the emulator's copy delay).
pub async fn vault_import(
    vault: &SdkConfig,
    instance: &str,
    database: &str,
    n: usize,
    taken: std::time::SystemTime,
) -> String {
    vault_import_of(vault, SnapshotKind::Instance, instance, database, n, taken).await
}

/// [`vault_import`] of either kind: a snapshot of the vault's DB instance or Aurora cluster
/// `source`.
pub async fn vault_import_of(
    vault: &SdkConfig,
    kind: SnapshotKind,
    source: &str,
    database: &str,
    n: usize,
    taken: std::time::SystemTime,
) -> String {
    use offsite_common::snapshot::{Snapshot, SnapshotStatus};
    use offsite_common::tags;
    let shared_arn = format!(
        "arn:aws:rds:{}:{}:{}:offsite-{database}-{n:03}",
        crate::REGION,
        crate::WORKLOAD,
        kind.arn_resource_type()
    );
    let shared = Snapshot::bare(kind, shared_arn.clone(), "", SnapshotStatus::Available);
    let identifier = offsite_common::lineage::vault_identifier(&shared);
    let taken = aws_smithy_types::DateTime::from(taken);
    let copy_tags = vec![
        tag(tags::MARKER, tags::MARKER_IMPORT),
        tag(tags::COPY_ARN, &shared_arn),
        tag(tags::SOURCE_ACCOUNT, crate::WORKLOAD),
        tag(tags::SOURCE_DATABASE, database),
        tag(tags::SOURCE_CREATED, &taken.fmt(aws_smithy_types::date_time::Format::DateTime).expect("formattable")),
    ];
    let rds = aws_sdk_rds::Client::new(vault);
    let made = match kind {
        SnapshotKind::Instance => rds
            .create_db_snapshot()
            .db_instance_identifier(source)
            .db_snapshot_identifier(&identifier)
            .set_tags(Some(copy_tags))
            .send()
            .await
            .map(drop)
            .map_err(|e| DisplayErrorContext(&e).to_string()),
        SnapshotKind::Cluster => rds
            .create_db_cluster_snapshot()
            .db_cluster_identifier(source)
            .db_cluster_snapshot_identifier(&identifier)
            .set_tags(Some(copy_tags))
            .send()
            .await
            .map(drop)
            .map_err(|e| DisplayErrorContext(&e).to_string()),
    };
    made.unwrap_or_else(|e| panic!("the import {identifier}: {e}"));
    identifier
}

/// Creates a PostgreSQL DB instance, encrypted with `kms_key` when given.
pub async fn db_instance(config: &SdkConfig, identifier: &str, kms_key: Option<&str>) {
    create_db_instance(config, identifier, kms_key.is_some(), kms_key).await;
}

/// Creates a PostgreSQL instance encrypted without a key of its own: RDS uses the default
/// `aws/rds` key, whose snapshots cannot be shared (their copy under the export key can).
pub async fn db_instance_default_key(config: &SdkConfig, identifier: &str) {
    create_db_instance(config, identifier, true, None).await;
}

async fn create_db_instance(config: &SdkConfig, identifier: &str, encrypted: bool, kms_key: Option<&str>) {
    aws_sdk_rds::Client::new(config)
        .create_db_instance()
        .db_instance_identifier(identifier)
        .db_instance_class("db.t3.micro")
        .engine("postgres")
        .allocated_storage(20)
        .master_username("offsite")
        .master_user_password("not-a-secret-1")
        .storage_encrypted(encrypted)
        .set_kms_key_id(kms_key.map(str::to_owned))
        .send()
        .await
        .unwrap_or_else(|e| panic!("create DB instance {identifier}: {}", DisplayErrorContext(e)));
}

/// Tags the automated snapshot RDS took when `instance` was created with `selection`, as its
/// owner selects it for export; returns its ARN.
pub async fn select_automated_snapshot(config: &SdkConfig, instance: &str, selection: (&str, &str)) -> String {
    let rds = aws_sdk_rds::Client::new(config);
    let arn = rds
        .describe_db_snapshots()
        .db_instance_identifier(instance)
        .snapshot_type("automated")
        .send()
        .await
        .unwrap_or_else(|e| panic!("automated snapshots of {instance}: {}", DisplayErrorContext(e)))
        .db_snapshots
        .unwrap_or_default()
        .into_iter()
        .find_map(|s| s.db_snapshot_arn)
        .unwrap_or_else(|| panic!("no automated snapshot of {instance}"));
    rds.add_tags_to_resource()
        .resource_name(&arn)
        .tags(tag(selection.0, selection.1))
        .send()
        .await
        .unwrap_or_else(|e| panic!("tag {arn}: {}", DisplayErrorContext(e)));
    arn
}

/// Creates a manual snapshot of a DB instance.
pub async fn db_snapshot(config: &SdkConfig, instance: &str, identifier: &str, tags: Vec<Tag>) -> DbSnapshot {
    aws_sdk_rds::Client::new(config)
        .create_db_snapshot()
        .db_instance_identifier(instance)
        .db_snapshot_identifier(identifier)
        .set_tags(Some(tags))
        .send()
        .await
        .unwrap_or_else(|e| panic!("create DB snapshot {identifier}: {}", DisplayErrorContext(e)))
        .db_snapshot
        .unwrap_or_else(|| panic!("no DB snapshot in the answer for {identifier}"))
}

/// Creates an Aurora PostgreSQL cluster, encrypted with `kms_key` when given.
pub async fn db_cluster(config: &SdkConfig, identifier: &str, kms_key: Option<&str>) {
    aws_sdk_rds::Client::new(config)
        .create_db_cluster()
        .db_cluster_identifier(identifier)
        .engine("aurora-postgresql")
        .master_username("offsite")
        .master_user_password("not-a-secret-1")
        .storage_encrypted(kms_key.is_some())
        .set_kms_key_id(kms_key.map(str::to_owned))
        .send()
        .await
        .unwrap_or_else(|e| panic!("create DB cluster {identifier}: {}", DisplayErrorContext(e)));
}

/// Creates a manual snapshot of an Aurora cluster.
pub async fn db_cluster_snapshot(
    config: &SdkConfig,
    cluster: &str,
    identifier: &str,
    tags: Vec<Tag>,
) -> DbClusterSnapshot {
    aws_sdk_rds::Client::new(config)
        .create_db_cluster_snapshot()
        .db_cluster_identifier(cluster)
        .db_cluster_snapshot_identifier(identifier)
        .set_tags(Some(tags))
        .send()
        .await
        .unwrap_or_else(|e| panic!("create DB cluster snapshot {identifier}: {}", DisplayErrorContext(e)))
        .db_cluster_snapshot
        .unwrap_or_else(|| panic!("no DB cluster snapshot in the answer for {identifier}"))
}

/// Deletes a DB snapshot of the account, as its operator (or whoever holds its rights) would.
pub async fn delete_db_snapshot(config: &SdkConfig, identifier: &str) {
    aws_sdk_rds::Client::new(config)
        .delete_db_snapshot()
        .db_snapshot_identifier(identifier)
        .send()
        .await
        .unwrap_or_else(|e| panic!("delete {identifier}: {}", DisplayErrorContext(e)));
}

/// Shares a snapshot with `account` (its `restore` attribute), as the scanner does.
pub async fn share_snapshot(config: &SdkConfig, kind: SnapshotKind, identifier: &str, account: &str) {
    let rds = aws_sdk_rds::Client::new(config);
    let result = match kind {
        SnapshotKind::Instance => rds
            .modify_db_snapshot_attribute()
            .db_snapshot_identifier(identifier)
            .attribute_name("restore")
            .values_to_add(account)
            .send()
            .await
            .map(drop)
            .map_err(|e| DisplayErrorContext(e).to_string()),
        SnapshotKind::Cluster => rds
            .modify_db_cluster_snapshot_attribute()
            .db_cluster_snapshot_identifier(identifier)
            .attribute_name("restore")
            .values_to_add(account)
            .send()
            .await
            .map(drop)
            .map_err(|e| DisplayErrorContext(e).to_string()),
    };
    result.unwrap_or_else(|e| panic!("share {identifier} with {account}: {e}"));
}

/// Describes one instance snapshot of the caller's account, if it exists.
pub async fn describe_db_snapshot(config: &SdkConfig, identifier: &str) -> Option<DbSnapshot> {
    aws_sdk_rds::Client::new(config)
        .describe_db_snapshots()
        .db_snapshot_identifier(identifier)
        .send()
        .await
        .ok()
        .and_then(|out| out.db_snapshots.unwrap_or_default().into_iter().next())
}

/// Describes one cluster snapshot of the caller's account, if it exists.
pub async fn describe_db_cluster_snapshot(config: &SdkConfig, identifier: &str) -> Option<DbClusterSnapshot> {
    aws_sdk_rds::Client::new(config)
        .describe_db_cluster_snapshots()
        .db_cluster_snapshot_identifier(identifier)
        .send()
        .await
        .ok()
        .and_then(|out| out.db_cluster_snapshots.unwrap_or_default().into_iter().next())
}

/// Receives and deletes every message now in the queue; returns their bodies.
pub async fn drain_queue(config: &SdkConfig, queue_url: &str) -> Vec<String> {
    let sqs = aws_sdk_sqs::Client::new(config);
    let mut bodies = Vec::new();
    loop {
        let messages = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            // A short poll: the template's queue long-polls (20 s) by default, and an empty
            // answer ends the drain.
            .wait_time_seconds(0)
            .send()
            .await
            .unwrap_or_else(|e| panic!("receive: {}", DisplayErrorContext(e)))
            .messages
            .unwrap_or_default();
        if messages.is_empty() {
            return bodies;
        }
        for message in messages {
            if let Some(handle) = message.receipt_handle() {
                sqs.delete_message()
                    .queue_url(queue_url)
                    .receipt_handle(handle)
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("delete message: {}", DisplayErrorContext(e)));
            }
            bodies.extend(message.body);
        }
    }
}

/// The accounts a snapshot is shared with (its `restore` attribute).
pub async fn restore_accounts(config: &SdkConfig, kind: SnapshotKind, identifier: &str) -> Vec<String> {
    offsite_common::rds::RdsSnapshots::new(aws_sdk_rds::Client::new(config))
        .shared_with(kind, identifier)
        .await
        .unwrap_or_else(|e| panic!("attributes of {identifier}: {e}"))
}

/// Creates a DynamoDB table with a string hash key `pk`, optionally tagged
/// `offsite-export=true` and with point-in-time recovery, holding items `pk = <name>-<i>`.
/// Returns its ARN.
pub async fn dynamo_table(config: &SdkConfig, name: &str, pitr: bool, selected: bool, items: usize) -> String {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, PointInTimeRecoverySpecification,
        ScalarAttributeType,
    };
    let ddb = aws_sdk_dynamodb::Client::new(config);
    fn built<T>(what: &str, e: aws_sdk_dynamodb::error::BuildError) -> T {
        panic!("{what}: {e}")
    }
    let mut create = ddb
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap_or_else(|e| built("attribute", e)),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .unwrap_or_else(|e| built("key", e)),
        );
    if selected {
        let tag = aws_sdk_dynamodb::types::Tag::builder().key("offsite-export").value("true").build();
        create = create.tags(tag.unwrap_or_else(|e| built("tag", e)));
    }
    let arn = create
        .send()
        .await
        .unwrap_or_else(|e| panic!("create table {name}: {}", DisplayErrorContext(e)))
        .table_description
        .and_then(|t| t.table_arn)
        .unwrap_or_else(|| panic!("table {name} has no ARN"));
    for i in 0..items {
        ddb.put_item()
            .table_name(name)
            .item("pk", AttributeValue::S(format!("{name}-{i}")))
            .send()
            .await
            .unwrap_or_else(|e| panic!("put item in {name}: {}", DisplayErrorContext(e)));
    }
    // After the items: the export at the earliest restorable moment contains them.
    if pitr {
        let spec = PointInTimeRecoverySpecification::builder()
            .point_in_time_recovery_enabled(true)
            .build()
            .unwrap_or_else(|e| built("PITR", e));
        ddb.update_continuous_backups()
            .table_name(name)
            .point_in_time_recovery_specification(spec)
            .send()
            .await
            .unwrap_or_else(|e| panic!("enable PITR on {name}: {}", DisplayErrorContext(e)));
    }
    arn
}

/// What a completed DynamoDB export wrote into `bucket`, found the documented way: its
/// summary manifest (`ExportManifest`), the files manifest it names, and the data files
/// listed there. Returns (summary manifest, data file keys, data lines).
pub async fn export_output(
    auditor: &SdkConfig,
    bucket: &str,
    description: &aws_sdk_dynamodb::types::ExportDescription,
) -> (serde_json::Value, Vec<String>, Vec<serde_json::Value>) {
    use std::io::Read;
    let s3 = aws_sdk_s3::Client::new(auditor);
    let object = |key: String| {
        let s3 = s3.clone();
        async move {
            let object =
                s3.get_object().bucket(bucket).key(&key).send().await.unwrap_or_else(|e| panic!("get {key}: {e:?}"));
            object.body.collect().await.expect("read object").into_bytes().to_vec()
        }
    };
    let summary_key = description.export_manifest().expect("ExportManifest").to_owned();
    let summary: serde_json::Value = serde_json::from_slice(&object(summary_key).await).expect("summary JSON");
    let files_key = summary["manifestFilesS3Key"].as_str().expect("manifestFilesS3Key").to_owned();
    let files = String::from_utf8(object(files_key).await).expect("files manifest text");
    let (mut keys, mut lines) = (Vec::new(), Vec::new());
    for entry in files.lines() {
        let entry: serde_json::Value = serde_json::from_str(entry).expect("files manifest JSON line");
        let key = entry["dataFileS3Key"].as_str().expect("dataFileS3Key").to_owned();
        let mut text = String::new();
        flate2::read::GzDecoder::new(&object(key.clone()).await[..]).read_to_string(&mut text).expect("gzip");
        lines.extend(text.lines().map(|line| serde_json::from_str(line).expect("one JSON object per line")));
        keys.push(key);
    }
    (summary, keys, lines)
}

/// Copies every object of `bucket` under `prefix` to `root/<key>`, as its owner reads them
/// (for engines that read files from disk: DuckDB, pyarrow); returns how many.
pub async fn download_bucket(owner: &SdkConfig, bucket: &str, prefix: &str, root: &std::path::Path) -> usize {
    let s3 = aws_sdk_s3::Client::new(owner);
    let listed = s3.list_objects_v2().bucket(bucket).prefix(prefix).send().await.expect("list objects");
    let mut count = 0;
    for object in listed.contents() {
        let key = object.key().expect("key");
        let body = s3.get_object().bucket(bucket).key(key).send().await.expect("get").body.collect().await;
        let path = root.join(key);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, body.expect("read").into_bytes()).expect("write");
        count += 1;
    }
    count
}

/// Runs one of the Athena checkers (`tests/athena/<script>`, the emulator's virtualenv) over
/// `ddl` and the bucket copied to `root`; its JSON, or the checker's error.
pub fn athena_check(script: &str, ddl: &str, root: &std::path::Path) -> Result<serde_json::Value, String> {
    let ddl_file = root.join("create-tables.sql");
    std::fs::create_dir_all(root).and_then(|()| std::fs::write(&ddl_file, ddl)).map_err(|e| e.to_string())?;
    let workspace = crate::workspace_root();
    let out = std::process::Command::new(workspace.join(".venv/bin/python"))
        .arg(workspace.join("tests/athena").join(script))
        .arg(&ddl_file)
        .arg(root)
        .output()
        .map_err(|e| format!("{script} did not run (make venv): {e}"))?;
    if !out.status.success() {
        return Err(format!("{script}: {}", String::from_utf8_lossy(&out.stderr)));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("{script}: not JSON: {e}"))
}

/// Puts `policy` (a JSON document) as the bucket policy of `bucket`, owned by `owner`.
pub async fn bucket_policy(owner: &SdkConfig, bucket: &str, policy: &serde_json::Value) {
    aws_sdk_s3::Client::new(owner)
        .put_bucket_policy()
        .bucket(bucket)
        .policy(policy.to_string())
        .send()
        .await
        .unwrap_or_else(|e| panic!("bucket policy of {bucket}: {}", DisplayErrorContext(e)));
}

/// The bucket policy an auditor puts on the export bucket so that the workload's export
/// writer (`writer_role_arn`, e.g. `offsite_tests::role_arn(WORKLOAD)`) may write DynamoDB
/// exports under `prefix` (empty: the whole bucket): `s3:PutObject`, `s3:PutObjectAcl` and
/// `s3:AbortMultipartUpload` on `arn:aws:s3:::<bucket>/<prefix>*` for that role only, and
/// those writes denied to anyone over plain HTTP (`aws:SecureTransport` false).
///
/// The Deny names the write actions rather than `s3:*`: moto's own S3 request handling
/// applies bucket-policy Deny statements without their conditions, so a `s3:*` Deny would
/// refuse the auditor's reads of the export in the emulator (AWS would not).
pub async fn auditor_export_policy(auditor: &SdkConfig, bucket: &str, writer_role_arn: &str, prefix: &str) {
    let writes = ["s3:PutObject", "s3:PutObjectAcl", "s3:AbortMultipartUpload"];
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "OffsiteExportWrites",
                "Effect": "Allow",
                "Principal": { "AWS": writer_role_arn },
                "Action": writes,
                "Resource": format!("arn:aws:s3:::{bucket}/{prefix}*"),
            },
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": writes,
                "Resource": format!("arn:aws:s3:::{bucket}/*"),
                "Condition": { "Bool": { "aws:SecureTransport": "false" } },
            },
        ],
    });
    bucket_policy(auditor, bucket, &policy).await;
}

/// Where the vault's restore tests put their databases: a VPC with two private subnets in
/// two Availability Zones, a security group, and a DB subnet group over the subnets (RDS
/// requires subnets in at least two AZs: "Working with a DB instance in a VPC").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultNetwork {
    pub subnet_group: String,
    pub security_group: String,
    pub subnets: Vec<String>,
}

/// Creates [`VaultNetwork`] in `config`'s account: the EC2 parts with boto3 from the
/// emulator's virtualenv (the workspace does not build the EC2 SDK crate, which no function
/// uses), the DB subnet group with the RDS client.
pub async fn vault_network(emulator: &crate::Emulator, config: &SdkConfig, name: &str) -> VaultNetwork {
    let script = r#"
import json, os, boto3
ec2 = boto3.client("ec2", endpoint_url=os.environ["OFFSITE_AWS_ENDPOINT_URL"], region_name=os.environ["AWS_REGION"])
vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.42.{i}.0/24", AvailabilityZone=os.environ["AWS_REGION"] + zone)["Subnet"]["SubnetId"]
           for i, zone in enumerate("ab")]
group = ec2.create_security_group(GroupName="offsite-restore-tests", Description="restore tests", VpcId=vpc)["GroupId"]
print(json.dumps({"subnets": subnets, "security_group": group}))
"#;
    let env = emulator.process_env(config).await.expect("credentials for boto3");
    let out = std::process::Command::new(crate::workspace_root().join(".venv/bin/python"))
        .args(["-c", script])
        .envs(env)
        .output()
        .expect("run boto3");
    assert!(out.status.success(), "the vault's network: {}", String::from_utf8_lossy(&out.stderr));
    let made: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON from boto3");
    let subnets: Vec<String> =
        made["subnets"].as_array().into_iter().flatten().filter_map(|s| s.as_str().map(str::to_owned)).collect();
    aws_sdk_rds::Client::new(config)
        .create_db_subnet_group()
        .db_subnet_group_name(name)
        .db_subnet_group_description("Offsite restore tests")
        .set_subnet_ids(Some(subnets.clone()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("the DB subnet group: {}", DisplayErrorContext(&e)));
    VaultNetwork {
        subnet_group: name.to_owned(),
        security_group: made["security_group"].as_str().unwrap_or_default().to_owned(),
        subnets,
    }
}
