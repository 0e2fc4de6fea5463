//! A whole account pair on one emulator, wired as the templates wire it: the workload's
//! exporter and scanner, the SNS topic, the vault's queue, importer and reconciler.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_rds::Client;
use offsite_common::notice::Notice;
use offsite_common::rds::RdsSnapshots;
use offsite_common::snapshot::{Snapshot, SnapshotStatus};
use offsite_common::tags;
use offsite_exporter::export::{Exporter, Outcome};
use offsite_exporter::settings::ExporterSettings;
use offsite_importer::envelope::SqsEvent;
use offsite_importer::run::Vault;
use offsite_importer::settings::VaultSettings;
use offsite_scanner::scan::Scanner;
use offsite_scanner::settings::ScannerSettings;

use crate::fixtures::{announcement_channel, db_instance, db_snapshot, drain_queue, kms_key, tag, wait_for};
use crate::{Emulator, EmulatorOptions, REGION, VAULT, WORKLOAD};

/// The selection tag every pipeline test uses.
pub const SELECTED: (&str, &str) = ("offsite-export", "true");

/// The account pair, its keys, its channel and its settings.
#[derive(Debug)]
pub struct Pipeline {
    pub emulator: Emulator,
    pub workload: SdkConfig,
    pub vault: SdkConfig,
    pub topic_arn: String,
    pub queue_url: String,
    pub export_key: String,
    pub import_key: String,
    /// Every function's settings, as the templates would give them.
    pub env: BTreeMap<String, String>,
}

impl Pipeline {
    /// An account pair with one DB instance `orders`; snapshots and copies stay `creating`
    /// for `copy_delay`.
    pub async fn start(copy_delay: Duration) -> Self {
        Self::start_with(&EmulatorOptions { copy_delay, ..Default::default() }).await
    }

    /// The same with any emulator options (benchmarks raise the snapshot quota).
    pub async fn start_with(options: &EmulatorOptions) -> Self {
        let emulator = Emulator::start_with(options).expect("emulator starts");
        let workload = emulator.account(WORKLOAD).await.expect("workload credentials");
        let vault = emulator.account(VAULT).await.expect("vault credentials");
        let (topic_arn, queue_url) = announcement_channel(&workload, &vault, VAULT).await;
        let export_key = kms_key(&workload, "export").await;
        let import_key = kms_key(&vault, "import").await;
        db_instance(&workload, "orders", None).await;
        let allowed = serde_json::json!([{
            "account": WORKLOAD, "export_key_arn": export_key, "topic_arn": topic_arn,
        }])
        .to_string();
        let env: BTreeMap<String, String> = [
            ("OFFSITE_AWS_ENDPOINT_URL", emulator.endpoint()),
            ("AWS_REGION", REGION),
            ("OFFSITE_EXPORT_KEY_ARN", &export_key),
            ("OFFSITE_VAULT_ACCOUNT_ID", VAULT),
            ("OFFSITE_TOPIC_ARN", &topic_arn),
            ("OFFSITE_CLAIM_SETTLE", "1s"),
            ("OFFSITE_IMPORT_KEY_ARN", &import_key),
            ("OFFSITE_ALLOWED_SOURCES", &allowed),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        Self { emulator, workload, vault, topic_arn, queue_url, export_key, import_key, env }
    }

    pub fn exporter(&self) -> Exporter {
        let settings = ExporterSettings::from_env(&self.env).expect("exporter settings");
        Exporter::new(RdsSnapshots::new(Client::new(&self.workload)), settings)
    }

    pub fn scanner(&self) -> Scanner {
        let settings = ScannerSettings::from_env(&self.env).expect("scanner settings");
        Scanner::new(RdsSnapshots::new(Client::new(&self.workload)), aws_sdk_sns::Client::new(&self.workload), settings)
    }

    pub fn vault_side(&self) -> Vault {
        let settings = VaultSettings::from_env(&self.env).expect("vault settings");
        Vault::new(RdsSnapshots::new(Client::new(&self.vault)), settings)
    }

    /// Takes a selected manual snapshot of `orders` and exports it; returns the copy.
    pub async fn snapshot_and_export(&self, name: &str) -> Snapshot {
        let source = db_snapshot(&self.workload, "orders", name, vec![tag(SELECTED.0, SELECTED.1)]).await;
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
        let copy = self.snapshot_and_export(name).await;
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
            .max_by_key(offsite_exporter::plan::attempt_of)
    }

    /// Waits until the newest copy of `source_arn` is available.
    pub async fn wait_available(&self, source_arn: &str) -> Snapshot {
        wait_for("the copy to be available", Duration::from_secs(30), || async {
            self.copy_of(source_arn).await.filter(|c| c.status == SnapshotStatus::Available)
        })
        .await
    }

    /// Receives (and deletes) every message in the vault's queue; the SNS envelopes.
    pub async fn queue_bodies(&self) -> Vec<String> {
        drain_queue(&self.vault, &self.queue_url).await
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
}

/// The Lambda event an SQS event source mapping delivers for `bodies` ("Using Lambda with
/// Amazon SQS", example event), message ids `m-0`, `m-1`, ...
pub fn sqs_event(bodies: &[String]) -> SqsEvent {
    serde_json::from_value(sqs_event_json(bodies)).expect("an SQS event")
}

/// The same SQS event as JSON, as Lambda's event source mapping delivers it.
pub fn sqs_event_json(bodies: &[String]) -> serde_json::Value {
    let records: Vec<serde_json::Value> = bodies
        .iter()
        .enumerate()
        .map(|(i, body)| {
            serde_json::json!({
                "messageId": format!("m-{i}"),
                "receiptHandle": format!("handle-{i}"),
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1795320000000",
                    "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                    "ApproximateFirstReceiveTimestamp": "1795320000001"
                },
                "messageAttributes": {},
                "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
                "eventSource": "aws:sqs",
                "eventSourceARN": format!("arn:aws:sqs:{REGION}:{VAULT}:offsite-import"),
                "awsRegion": REGION
            })
        })
        .collect();
    serde_json::json!({ "Records": records })
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
