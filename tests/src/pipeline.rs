//! A whole account pair on one emulator, deployed from `infra/*.yaml` ([`DeployedPair`]):
//! the workload's exporter and scanner, the SNS topic, the vault's queue, importer,
//! reconciler and retention, each run as a library with the credentials of its template role
//! (the emulator enforces them), the test itself acting as the accounts' operators.

use std::collections::BTreeMap;
use std::ops::Deref;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_rds::Client;
use offsite_common::notice::Notice;
use offsite_common::rds::RdsSnapshots;
use offsite_common::snapshot::{Snapshot, SnapshotStatus};
use offsite_common::tags;
use offsite_exporter::export::{Exporter, Outcome};
use offsite_exporter::settings::ExporterSettings;
use offsite_importer::register::Register;
use offsite_importer::run::Vault;
use offsite_importer::settings::VaultSettings;
use offsite_scanner::scan::Scanner;
use offsite_scanner::settings::ScannerSettings;

use crate::deployed::DeployedPair;
use crate::fixtures::{db_instance, db_snapshot, drain_queue, tag, wait_for};
use crate::{EmulatorOptions, REGION, VAULT, WORKLOAD};

/// The selection tag every pipeline test uses (the templates' default `SelectionTagKey`
/// and `SelectionTagValue`).
pub const SELECTED: (&str, &str) = ("offsite-export", "true");

/// The deployed account pair, a session of each function's role, and the settings.
/// Dereferences to the [`DeployedPair`] (the emulator, the operators' configurations, the
/// stacks' topic, queues and keys).
#[derive(Debug)]
pub struct Pipeline {
    pub pair: DeployedPair,
    /// What each function calls AWS with: a session of its template role.
    pub exporter_role: SdkConfig,
    pub scanner_role: SdkConfig,
    pub reconciler_role: SdkConfig,
    pub retention_role: SdkConfig,
    /// Every function's settings (the stacks' topic, keys and accounts; claims settle in 1s).
    pub env: BTreeMap<String, String>,
}

impl Deref for Pipeline {
    type Target = DeployedPair;

    fn deref(&self) -> &DeployedPair {
        &self.pair
    }
}

impl Pipeline {
    /// An account pair with one DB instance `orders`; snapshots and copies stay `creating`
    /// for `copy_delay`.
    pub async fn start(copy_delay: Duration) -> Self {
        Self::start_with(&EmulatorOptions { copy_delay, ..Default::default() }).await
    }

    /// The same with any emulator options (benchmarks raise the snapshot quota).
    pub async fn start_with(options: &EmulatorOptions) -> Self {
        let pair = DeployedPair::start(options, &[], &[]).await.unwrap_or_else(|e| panic!("deploy the pair: {e}"));
        Self::on(pair).await
    }

    /// The pipeline on a pair deployed by the caller (other template parameters, a second
    /// region).
    pub async fn on(pair: DeployedPair) -> Self {
        let role = |binary: &'static str| {
            let pair = &pair;
            async move { pair.role_config(binary).await.unwrap_or_else(|e| panic!("{binary}'s role: {e}")) }
        };
        let (exporter_role, scanner_role, reconciler_role, retention_role) = (
            role("offsite-exporter").await,
            role("offsite-scanner").await,
            role("offsite-reconciler").await,
            role("offsite-retention").await,
        );
        db_instance(&pair.workload, "orders", None).await;
        let allowed = serde_json::json!([{
            "account": WORKLOAD, "export_key_arn": pair.export_key, "topic_arn": pair.topic_arn,
        }])
        .to_string();
        let env: BTreeMap<String, String> = [
            ("OFFSITE_AWS_ENDPOINT_URL", pair.emulator.endpoint()),
            ("AWS_REGION", REGION),
            ("OFFSITE_EXPORT_KEY_ARN", &pair.export_key),
            ("OFFSITE_VAULT_ACCOUNT_ID", VAULT),
            ("OFFSITE_TOPIC_ARN", &pair.topic_arn),
            ("OFFSITE_CLAIM_SETTLE", "1s"),
            ("OFFSITE_IMPORT_KEY_ARN", &pair.import_key),
            ("OFFSITE_ALLOWED_SOURCES", &allowed),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        Self { pair, exporter_role, scanner_role, reconciler_role, retention_role, env }
    }

    pub fn exporter(&self) -> Exporter {
        let settings = ExporterSettings::from_env(&self.env).expect("exporter settings");
        Exporter::new(RdsSnapshots::new(Client::new(&self.exporter_role)), settings)
    }

    pub fn scanner(&self) -> Scanner {
        let settings = ScannerSettings::from_env(&self.env).expect("scanner settings");
        Scanner::new(
            RdsSnapshots::new(Client::new(&self.scanner_role)),
            aws_sdk_sns::Client::new(&self.scanner_role),
            settings,
        )
    }

    /// The importer (as Lambda runs it, with the importer's role).
    pub fn vault_side(&self) -> Vault {
        self.vault_as(&self.importer_role, &self.env).with_requeue(aws_sdk_sqs::Client::new(&self.importer_role))
    }

    /// The reconciler: the same code as the importer, under the reconciler's role, with the
    /// register of protected databases the template gives it.
    pub fn reconciler(&self) -> Vault {
        let vault = self.vault_as(&self.reconciler_role, &self.env);
        let register =
            Register::new(aws_sdk_ssm::Client::new(&self.reconciler_role), vault.settings().register.clone());
        vault.with_register(register)
    }

    /// The vault's code with `env` as its settings, under `role`.
    pub fn vault_as(&self, role: &SdkConfig, env: &BTreeMap<String, String>) -> Vault {
        let settings = VaultSettings::from_env(env).expect("vault settings");
        Vault::new(RdsSnapshots::new(Client::new(role)), settings)
    }

    /// Takes a selected manual snapshot of `orders` and exports it; returns the copy.
    pub async fn snapshot_and_export(&self, name: &str) -> Snapshot {
        self.snapshot_and_export_of("orders", name, &[]).await
    }

    /// Takes a selected manual snapshot `name` of the DB instance `instance`, with `extra`
    /// tags besides the selection tag, and exports it; returns the copy.
    pub async fn snapshot_and_export_of(&self, instance: &str, name: &str, extra: &[(&str, &str)]) -> Snapshot {
        let mut tags = vec![tag(SELECTED.0, SELECTED.1)];
        tags.extend(extra.iter().map(|(k, v)| tag(k, v)));
        let source = db_snapshot(&self.workload, instance, name, tags).await;
        let source_arn = source.db_snapshot_arn.expect("ARN");
        // Sources pass through `creating` too; the exporter only copies available ones.
        wait_for("the source to be available", Duration::from_secs(30), || async {
            let rds = RdsSnapshots::new(Client::new(&self.workload));
            let s = rds.describe(crate::SnapshotKind::Instance, name, None).await.ok()??;
            (s.status == SnapshotStatus::Available).then_some(())
        })
        .await;
        let report = self.exporter().export_one(&source_arn.parse().expect("ARN"), false).await.expect("export");
        assert_eq!(report.count(&Outcome::Copied), 1, "{report:#?}");
        self.copy_of(&source_arn).await.expect("the copy exists")
    }

    /// Exports, waits for, and announces one selected manual snapshot `name` of `orders`;
    /// returns the workload's copy and the SNS envelopes now in the vault's queue.
    pub async fn announced(&self, name: &str) -> (Snapshot, Vec<String>) {
        self.announced_of("orders", name, &[]).await
    }

    /// [`Pipeline::announced`] for a snapshot of `instance` with `extra` tags.
    pub async fn announced_of(&self, instance: &str, name: &str, extra: &[(&str, &str)]) -> (Snapshot, Vec<String>) {
        let copy = self.snapshot_and_export_of(instance, name, extra).await;
        let source_arn = copy.tag(tags::SOURCE_ARN).expect("lineage").to_owned();
        self.wait_available(&source_arn).await;
        let now = aws_smithy_types::DateTime::from(std::time::SystemTime::now());
        let report = self.scanner().scan(now, "scan").await.expect("scan");
        assert_eq!(report.announced.len(), 1, "{report:#?}");
        let bodies = wait_for("the notice", Duration::from_secs(10), || async {
            Some(self.queue_bodies().await).filter(|b| !b.is_empty())
        })
        .await;
        (copy, bodies)
    }

    /// The newest attempt at copying `source_arn`.
    pub async fn copy_of(&self, source_arn: &str) -> Option<Snapshot> {
        self.scanner()
            .copies()
            .await
            .expect("list copies")
            .into_iter()
            .filter(|c| c.tag(tags::SOURCE_ARN) == Some(source_arn))
            .max_by_key(offsite_common::lineage::attempt_of)
    }

    /// Waits until the newest copy of `source_arn` is available.
    pub async fn wait_available(&self, source_arn: &str) -> Snapshot {
        wait_for("the copy to be available", Duration::from_secs(30), || async {
            self.copy_of(source_arn).await.filter(|c| c.status == SnapshotStatus::Available)
        })
        .await
    }

    /// Receives (and deletes) every message in the vault's queue, as Lambda's event source
    /// mapping does with the importer's role; the SNS envelopes.
    pub async fn queue_bodies(&self) -> Vec<String> {
        drain_queue(&self.importer_role, &self.queue_url).await
    }

    /// The notices now in the vault's queue (consumed).
    pub async fn notices(&self) -> Vec<Notice> {
        self.queue_bodies()
            .await
            .iter()
            .map(|body| {
                let envelope: serde_json::Value = serde_json::from_str(body).expect("SNS envelope");
                assert_eq!(envelope["Type"], "Notification");
                Notice::parse(envelope["Message"].as_str().expect("message")).expect("a valid notice")
            })
            .collect()
    }

    /// The vault's own copies.
    pub async fn vault_copies(&self) -> Vec<Snapshot> {
        self.vault_side().vault_copies().await.expect("list vault copies")
    }

    /// Seeds `orders` with `databases` (the emulator's content control call), takes a
    /// selected snapshot, and carries it through export, announcement and import: the vault's
    /// copy, which holds that content.
    pub async fn seeded_vault_copy(&self, name: &str, databases: serde_json::Value) -> Snapshot {
        self.emulator.seed_database(WORKLOAD, crate::SnapshotKind::Instance, "orders", databases).expect("seed orders");
        let (copy, bodies) = self.announced(name).await;
        let now = aws_smithy_types::DateTime::from(std::time::SystemTime::now());
        let report =
            self.vault_side().handle_batch(&crate::event_source::sqs_event(&bodies), now).await.expect("import");
        assert!(report.response.batch_item_failures.is_empty(), "{report:#?}");
        self.vault_copies()
            .await
            .into_iter()
            .find(|c| c.tag(tags::COPY_ARN) == Some(copy.arn.as_str()))
            .expect("the vault copy")
    }

    /// The RDS export function as Lambda runs it: its template's environment and a session of
    /// its role.
    pub async fn rds_exporter(&self) -> offsite_rds_export::run::RdsExporter {
        let env = self.function_env("offsite-rds-export").expect("the function's environment");
        let settings =
            offsite_rds_export::settings::RdsExportSettings::from_env(&env).expect("the template's settings");
        let role = self.role_config("offsite-rds-export").await.expect("the function's role");
        offsite_rds_export::run::RdsExporter::new(Client::new(&role), aws_sdk_s3::Client::new(&role), settings)
    }

    /// The restore tester as Lambda runs it: its template's environment and a session of its
    /// role, its AWS calls through `wrap` (a fault lane, or `Clone::clone`).
    pub async fn restore_tester_with(
        &self,
        wrap: impl Fn(&aws_config::SdkConfig) -> aws_config::SdkConfig,
    ) -> offsite_restore_test::run::RestoreTester {
        let env = self.function_env("offsite-restore-test").expect("the function's environment");
        let settings =
            offsite_restore_test::settings::RestoreTestSettings::from_env(&env).expect("the template's settings");
        let role = wrap(&self.role_config("offsite-restore-test").await.expect("the function's role"));
        offsite_restore_test::run::RestoreTester::from_config(&role, settings)
    }

    /// [`Pipeline::restore_tester_with`] without faults.
    pub async fn restore_tester(&self) -> offsite_restore_test::run::RestoreTester {
        self.restore_tester_with(Clone::clone).await
    }

    /// The restore tester of the second region's copies, as the Lambda binary builds it from
    /// its template's environment (the pair deployed with a second region): RDS and Secrets
    /// Manager there, S3 here, a session of its role.
    pub async fn second_region_restore_tester(&self) -> offsite_restore_test::run::RestoreTester {
        let env = self.function_env("offsite-restore-test").expect("the function's environment");
        let settings =
            offsite_restore_test::settings::RestoreTestSettings::from_env(&env).expect("the template's settings");
        let there = settings.in_second_region().expect("the template's second-region restore test settings");
        let region = there.aws.region.clone().expect("the second region");
        let role = self.role_config("offsite-restore-test").await.expect("the function's role");
        let role_there = role.clone().into_builder().region(aws_config::Region::new(region)).build();
        offsite_restore_test::run::RestoreTester::in_second_region(&role, &role_there, there)
    }

    /// [`Pipeline::reconciler`] with the second region's copies, as the template configures
    /// it (the pair deployed with a second region).
    pub async fn reconciler_with_second_region(&self) -> Vault {
        let env = self.function_env("offsite-reconciler").expect("the function's environment");
        let dr = VaultSettings::from_env(&env).expect("the template's settings").dr.expect("the pair's second region");
        let there =
            self.reconciler_role.clone().into_builder().region(aws_config::Region::new(dr.region.clone())).build();
        let second = offsite_importer::dr::SecondRegion::new(dr, self.reconciler_role.clone(), &there);
        self.reconciler().with_second_region(second)
    }
}

/// An SNS `Notification` envelope around `message`, as SNS delivers it to SQS with raw
/// delivery off ("Amazon SNS message and JSON formats").
pub fn sns_envelope(topic_arn: &str, message: &str) -> String {
    serde_json::json!({
        "Type": "Notification",
        "MessageId": "0a1b2c3d-0000-4000-8000-000000000000",
        "TopicArn": topic_arn,
        "Subject": "offsite snapshot notice",
        "Message": message,
        "Timestamp": "2026-11-22T04:00:00.000Z",
        "SignatureVersion": "1",
        "Signature": "EXAMPLE",
        "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000.pem",
        "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe"
    })
    .to_string()
}
