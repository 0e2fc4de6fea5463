//! Fidelity patch (a): a snapshot shared from another account is copied by its ARN, as AWS
//! documents for CopyDBSnapshot / CopyDBClusterSnapshot; anything not shared is refused.

use aws_sdk_rds::Client;
use offsite_tests::fixtures::{
    db_cluster, db_cluster_snapshot, db_instance, db_snapshot, describe_db_cluster_snapshot, describe_db_snapshot,
    error_code, kms_key, share_snapshot,
};
use offsite_tests::{Emulator, SnapshotKind, VAULT, WORKLOAD};

#[tokio::test]
async fn shared_instance_snapshot_is_copied_into_the_vault_key_with_lineage() {
    let emulator = Emulator::start().expect("emulator starts");
    let workload = emulator.account(WORKLOAD).await.expect("workload credentials");
    let vault = emulator.account(VAULT).await.expect("vault credentials");
    let export_key = kms_key(&workload, "export").await;
    let import_key = kms_key(&vault, "import").await;
    db_instance(&workload, "orders", Some(&export_key)).await;
    let source = db_snapshot(&workload, "orders", "orders-export", vec![]).await;
    let source_arn = source.db_snapshot_arn().expect("source ARN").to_owned();
    assert_eq!(source.kms_key_id(), Some(export_key.as_str()));
    share_snapshot(&workload, SnapshotKind::Instance, "orders-export", VAULT).await;

    Client::new(&vault)
        .copy_db_snapshot()
        .source_db_snapshot_identifier(&source_arn)
        .target_db_snapshot_identifier("orders-vault")
        .kms_key_id(&import_key)
        .send()
        .await
        .expect("a shared snapshot can be copied by its ARN");

    let copy = describe_db_snapshot(&vault, "orders-vault").await.expect("the copy exists in the vault");
    assert_eq!(copy.status(), Some("available"));
    assert_eq!(copy.encrypted(), Some(true));
    assert_eq!(copy.kms_key_id(), Some(import_key.as_str()));
    assert_eq!(copy.source_db_snapshot_identifier(), Some(source_arn.as_str()));
    assert_eq!(copy.snapshot_type(), Some("manual"));
    assert!(copy.db_snapshot_arn().is_some_and(|arn| arn.contains(&format!(":{VAULT}:"))));
    assert!(describe_db_snapshot(&workload, "orders-export").await.is_some(), "the source is untouched");
}

#[tokio::test]
async fn instance_snapshot_not_shared_with_the_caller_is_refused() {
    let emulator = Emulator::start().expect("emulator starts");
    let workload = emulator.account(WORKLOAD).await.expect("workload credentials");
    let vault = emulator.account(VAULT).await.expect("vault credentials");
    let export_key = kms_key(&workload, "export").await;
    let import_key = kms_key(&vault, "import").await;
    db_instance(&workload, "orders", Some(&export_key)).await;
    let source = db_snapshot(&workload, "orders", "orders-export", vec![]).await;
    let source_arn = source.db_snapshot_arn().expect("source ARN").to_owned();
    let copy = |target: &'static str, key: Option<String>| {
        Client::new(&vault)
            .copy_db_snapshot()
            .source_db_snapshot_identifier(&source_arn)
            .target_db_snapshot_identifier(target)
            .set_kms_key_id(key)
            .send()
    };

    let not_shared = copy("never-shared", Some(import_key.clone())).await;
    assert_eq!(error_code(&not_shared).as_deref(), Some("DBSnapshotNotFound"));

    // Shared, but an encrypted snapshot from another account needs the destination key.
    share_snapshot(&workload, SnapshotKind::Instance, "orders-export", VAULT).await;
    let without_key = copy("without-key", None).await;
    assert_eq!(error_code(&without_key).as_deref(), Some("InvalidParameterValue"));

    // Unshared again: refused again.
    Client::new(&workload)
        .modify_db_snapshot_attribute()
        .db_snapshot_identifier("orders-export")
        .attribute_name("restore")
        .values_to_remove(VAULT)
        .send()
        .await
        .expect("unshare");
    let unshared = copy("unshared", Some(import_key.clone())).await;
    assert_eq!(error_code(&unshared).as_deref(), Some("DBSnapshotNotFound"));

    for target in ["never-shared", "without-key", "unshared"] {
        assert!(describe_db_snapshot(&vault, target).await.is_none(), "{target} must not exist");
    }
}

#[tokio::test]
async fn shared_cluster_snapshot_is_copied_and_unshared_one_refused() {
    let emulator = Emulator::start().expect("emulator starts");
    let workload = emulator.account(WORKLOAD).await.expect("workload credentials");
    let vault = emulator.account(VAULT).await.expect("vault credentials");
    let export_key = kms_key(&workload, "export").await;
    let import_key = kms_key(&vault, "import").await;
    db_cluster(&workload, "ledger", Some(&export_key)).await;
    let shared = db_cluster_snapshot(&workload, "ledger", "ledger-shared", vec![]).await;
    let kept = db_cluster_snapshot(&workload, "ledger", "ledger-kept", vec![]).await;
    share_snapshot(&workload, SnapshotKind::Cluster, "ledger-shared", VAULT).await;
    let shared_arn = shared.db_cluster_snapshot_arn().expect("ARN").to_owned();
    let kept_arn = kept.db_cluster_snapshot_arn().expect("ARN").to_owned();
    let copy = |source: String, target: &'static str| {
        Client::new(&vault)
            .copy_db_cluster_snapshot()
            .source_db_cluster_snapshot_identifier(source)
            .target_db_cluster_snapshot_identifier(target)
            .kms_key_id(&import_key)
            .send()
    };

    copy(shared_arn.clone(), "ledger-vault").await.expect("a shared cluster snapshot can be copied");
    let refused = copy(kept_arn, "ledger-refused").await;
    assert_eq!(error_code(&refused).as_deref(), Some("DBClusterSnapshotNotFoundFault"));

    let copy = describe_db_cluster_snapshot(&vault, "ledger-vault").await.expect("the copy exists");
    assert_eq!(copy.status(), Some("available"));
    assert_eq!(copy.kms_key_id(), Some(import_key.as_str()));
    assert_eq!(copy.source_db_cluster_snapshot_arn(), Some(shared_arn.as_str()));
    assert!(describe_db_cluster_snapshot(&vault, "ledger-refused").await.is_none());
}

#[tokio::test]
async fn snapshots_shared_with_the_caller_are_listed_as_shared() {
    let emulator = Emulator::start().expect("emulator starts");
    let workload = emulator.account(WORKLOAD).await.expect("workload credentials");
    let vault = emulator.account(VAULT).await.expect("vault credentials");
    let export_key = kms_key(&workload, "export").await;
    db_instance(&workload, "orders", Some(&export_key)).await;
    db_cluster(&workload, "ledger", Some(&export_key)).await;
    let shared = db_snapshot(&workload, "orders", "orders-shared", vec![]).await;
    db_snapshot(&workload, "orders", "orders-private", vec![]).await;
    let shared_cluster = db_cluster_snapshot(&workload, "ledger", "ledger-shared", vec![]).await;
    db_cluster_snapshot(&workload, "ledger", "ledger-private", vec![]).await;
    share_snapshot(&workload, SnapshotKind::Instance, "orders-shared", VAULT).await;
    share_snapshot(&workload, SnapshotKind::Cluster, "ledger-shared", VAULT).await;
    let rds = Client::new(&vault);

    let instances = rds
        .describe_db_snapshots()
        .snapshot_type("shared")
        .include_shared(true)
        .send()
        .await
        .expect("list shared instance snapshots")
        .db_snapshots
        .unwrap_or_default();
    let arns: Vec<_> = instances.iter().filter_map(|s| s.db_snapshot_arn()).collect();
    assert_eq!(arns, [shared.db_snapshot_arn().expect("ARN")]);
    assert_eq!(instances[0].snapshot_type(), Some("shared"));

    let clusters = rds
        .describe_db_cluster_snapshots()
        .snapshot_type("shared")
        .include_shared(true)
        .send()
        .await
        .expect("list shared cluster snapshots")
        .db_cluster_snapshots
        .unwrap_or_default();
    let arns: Vec<_> = clusters.iter().filter_map(|s| s.db_cluster_snapshot_arn()).collect();
    assert_eq!(arns, [shared_cluster.db_cluster_snapshot_arn().expect("ARN")]);

    // The vault's own listing (no shared) does not include the workload's snapshots.
    let own = rds.describe_db_snapshots().send().await.expect("list own").db_snapshots.unwrap_or_default();
    assert!(own.is_empty(), "{own:?}");
}

#[tokio::test]
async fn sharing_twice_lists_the_account_once() {
    let emulator = Emulator::start().expect("emulator starts");
    let workload = emulator.account(WORKLOAD).await.expect("workload credentials");
    db_instance(&workload, "orders", None).await;
    db_snapshot(&workload, "orders", "orders-1", vec![]).await;
    for _ in 0..2 {
        share_snapshot(&workload, SnapshotKind::Instance, "orders-1", VAULT).await;
    }
    let shared = offsite_tests::fixtures::restore_accounts(&workload, SnapshotKind::Instance, "orders-1").await;
    assert_eq!(shared, [VAULT]);
}

#[tokio::test]
async fn aws_backup_recovery_points_are_listed_only_as_awsbackup() {
    let emulator = Emulator::start().expect("emulator starts");
    let workload = emulator.account(WORKLOAD).await.expect("workload credentials");
    db_instance(&workload, "orders", None).await;
    let point = emulator
        .backup_recovery_point(WORKLOAD, SnapshotKind::Instance, "orders", &[("offsite-export", "true")])
        .expect("recovery point");
    assert!(point.identifier.starts_with("awsbackup:job-"));
    let rds = Client::new(&workload);
    let listed =
        |kind: Option<&'static str>| rds.describe_db_snapshots().set_snapshot_type(kind.map(str::to_owned)).send();
    let default = listed(None).await.expect("default listing").db_snapshots.unwrap_or_default();
    assert!(default.iter().all(|s| s.db_snapshot_arn() != Some(point.arn.as_str())), "not in the default listing");
    let backups = listed(Some("awsbackup")).await.expect("awsbackup listing").db_snapshots.unwrap_or_default();
    assert_eq!(backups.len(), 1);
    assert_eq!(backups[0].db_snapshot_arn(), Some(point.arn.as_str()));
    assert_eq!(backups[0].snapshot_type(), Some("awsbackup"));
    assert_eq!(backups[0].status(), Some("available"));
    let tags = backups[0].tag_list();
    assert!(tags.iter().any(|t| t.key() == Some("offsite-export") && t.value() == Some("true")), "{tags:?}");
}

/// `PreSignedUrl` "applies only to AWS GovCloud (US) Regions. It's ignored in other AWS
/// Regions" (API_CopyDBSnapshot): in the commercial partition an encrypted cross-region copy
/// needs the source ARN and the destination key, nothing more.
#[tokio::test]
async fn an_encrypted_copy_from_another_commercial_region_needs_no_presigned_url() {
    let emulator = Emulator::start().expect("emulator starts");
    let vault = emulator.account(VAULT).await.expect("vault credentials");
    let east_key = kms_key(&vault, "east").await;
    db_instance(&vault, "orders", Some(&east_key)).await;
    let source = db_snapshot(&vault, "orders", "orders-1", vec![]).await;
    let source_arn = source.db_snapshot_arn().expect("ARN").to_owned();
    assert!(!offsite_common::presign::presigned_url_applies(&source_arn), "{source_arn}");
    let west = vault.clone().into_builder().region(aws_config::Region::new("us-west-2")).build();
    let west_key = kms_key(&west, "west").await;
    let copy = |target: &'static str, key: Option<String>| {
        Client::new(&west)
            .copy_db_snapshot()
            .source_db_snapshot_identifier(&source_arn)
            .target_db_snapshot_identifier(target)
            .set_kms_key_id(key)
            .send()
    };

    // The destination key is still required for an encrypted source.
    let without_key = copy("orders-1-nokey", None).await;
    assert_eq!(error_code(&without_key).as_deref(), Some("InvalidParameterValue"));
    copy("orders-1-west", Some(west_key.clone())).await.expect("a cross-region copy without a presigned URL");
    let west_copy = describe_db_snapshot(&west, "orders-1-west").await.expect("the copy in us-west-2");
    assert_eq!(west_copy.kms_key_id(), Some(west_key.as_str()));
    assert_eq!(west_copy.source_db_snapshot_identifier(), Some(source_arn.as_str()));
    assert_eq!(west_copy.source_region(), Some("us-east-1"));
    assert!(describe_db_snapshot(&west, "orders-1-nokey").await.is_none());
}

/// In the AWS GovCloud (US) partition RDS does use the `PreSignedUrl`: "You must specify
/// this parameter when you copy an encrypted DB snapshot from another AWS Region by using
/// the Amazon RDS API" (API_CopyDBSnapshot). The emulator checks its presence only.
#[tokio::test]
async fn in_govcloud_an_encrypted_copy_from_another_region_needs_a_presigned_url() {
    let emulator = Emulator::start().expect("emulator starts");
    let vault = emulator.account(VAULT).await.expect("vault credentials");
    let gov_west = vault.clone().into_builder().region(aws_config::Region::new("us-gov-west-1")).build();
    let gov_east = vault.clone().into_builder().region(aws_config::Region::new("us-gov-east-1")).build();
    let west_key = kms_key(&gov_west, "gov west").await;
    db_instance(&gov_west, "orders", Some(&west_key)).await;
    let source = db_snapshot(&gov_west, "orders", "orders-1", vec![]).await;
    let source_arn = source.db_snapshot_arn().expect("ARN").to_owned();
    assert!(source_arn.starts_with("arn:aws-us-gov:rds:us-gov-west-1:"), "{source_arn}");
    assert!(offsite_common::presign::presigned_url_applies(&source_arn));
    let east_key = kms_key(&gov_east, "gov east").await;
    let copy = |url: Option<String>| {
        Client::new(&gov_east)
            .copy_db_snapshot()
            .source_db_snapshot_identifier(&source_arn)
            .target_db_snapshot_identifier("orders-1-east")
            .kms_key_id(&east_key)
            .set_pre_signed_url(url)
            .send()
    };

    let unsigned = copy(None).await;
    assert_eq!(error_code(&unsigned).as_deref(), Some("InvalidParameterValue"));
    let url = offsite_common::presign::presign_copy(
        &gov_west,
        SnapshotKind::Instance,
        &source_arn,
        "orders-1-east",
        "us-gov-east-1",
        &east_key,
    )
    .await
    .expect("presigned");
    copy(Some(url)).await.expect("a presigned cross-region copy");
    let east_copy = describe_db_snapshot(&gov_east, "orders-1-east").await.expect("the copy in us-gov-east-1");
    assert_eq!(east_copy.kms_key_id(), Some(east_key.as_str()));
    assert_eq!(east_copy.source_db_snapshot_identifier(), Some(source_arn.as_str()));
}

#[tokio::test]
async fn a_snapshot_of_an_unencrypted_instance_is_unencrypted_until_copied_with_a_key() {
    let emulator = Emulator::start().expect("emulator starts");
    let workload = emulator.account(WORKLOAD).await.expect("workload credentials");
    let key = kms_key(&workload, "export").await;
    db_instance(&workload, "plain", None).await;
    let snapshot = db_snapshot(&workload, "plain", "plain-1", vec![]).await;
    assert_eq!(snapshot.encrypted(), Some(false));
    assert_eq!(snapshot.kms_key_id(), None);
    Client::new(&workload)
        .copy_db_snapshot()
        .source_db_snapshot_identifier("plain-1")
        .target_db_snapshot_identifier("plain-1-encrypted")
        .kms_key_id(&key)
        .send()
        .await
        .expect("copy with a key");
    let copy = describe_db_snapshot(&workload, "plain-1-encrypted").await.expect("copy");
    assert_eq!((copy.encrypted(), copy.kms_key_id()), (Some(true), Some(key.as_str())));
    let plain_copy = Client::new(&workload)
        .copy_db_snapshot()
        .source_db_snapshot_identifier("plain-1")
        .target_db_snapshot_identifier("plain-1-copy")
        .send()
        .await
        .expect("copy without a key");
    assert_eq!(plain_copy.db_snapshot().and_then(|s| s.encrypted()), Some(false));
}
