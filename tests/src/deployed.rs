//! An account pair (and the auditor) deployed the way `infra/*.yaml` deploys it, on the
//! emulator: the resources the templates create (keys, topic, queue and subscription, the
//! auditor's bucket under its policy), and each function started as a Lambda process with
//! exactly the environment its template gives it. Used by the deployed-shape test and the
//! demo.

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use offsite_infra::Template;
use offsite_infra::resolve::Deployment;
use serde_json::json;

use crate::fixtures::{announcement_channel, auditor_export_policy, kms_key};
use crate::lambda::LambdaFunction;
use crate::{AUDITOR, Emulator, EmulatorOptions, HarnessError, REGION, VAULT, WORKLOAD, role_arn};

/// The auditor's bucket the DynamoDB job exports into.
pub const AUDITOR_BUCKET: &str = "offsite-auditor-exports";

/// The three accounts with the stacks' resources, and how to start their functions.
#[derive(Debug)]
pub struct DeployedPair {
    pub emulator: Emulator,
    pub workload: SdkConfig,
    pub vault: SdkConfig,
    pub auditor: SdkConfig,
    pub topic_arn: String,
    pub queue_url: String,
    pub export_key: String,
    pub import_key: String,
    pub audit_key: String,
    workload_stack: (Template, Deployment, Vec<(String, String)>),
    vault_stack: (Template, Deployment, Vec<(String, String)>),
}

/// Why a function could not be started.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error(transparent)]
    Harness(#[from] HarnessError),
    #[error(transparent)]
    Template(#[from] offsite_infra::TemplateError),
    #[error(transparent)]
    Resolve(#[from] offsite_infra::resolve::ResolveError),
    #[error("{0} is not built: run `cargo build --workspace --bins` (make test and make demo do)")]
    NotBuilt(String),
    #[error(transparent)]
    Lambda(#[from] crate::lambda::LambdaError),
}

impl DeployedPair {
    /// Starts an emulator and creates what the three stacks create. `workload_parameters`
    /// and `vault_parameters` override the templates' defaults (e.g. shorter settings).
    pub async fn start(
        options: &EmulatorOptions,
        workload_parameters: &[(&str, &str)],
        vault_parameters: &[(&str, &str)],
    ) -> Result<Self, DeployError> {
        let emulator = Emulator::start_with(options)?;
        let workload = emulator.account(WORKLOAD).await?;
        let vault = emulator.account(VAULT).await?;
        let auditor = emulator.account(AUDITOR).await?;
        let (topic_arn, queue_url) = announcement_channel(&workload, &vault, VAULT).await;
        let export_key = kms_key(&workload, "offsite export key").await;
        let import_key = kms_key(&vault, "offsite import key").await;
        let audit_key = kms_key(&auditor, "auditor exports key").await;
        aws_sdk_s3::Client::new(&auditor)
            .create_bucket()
            .bucket(AUDITOR_BUCKET)
            .send()
            .await
            .map_err(|e| HarnessError::Control { path: "CreateBucket".into(), message: e.to_string() })?;
        // The auditor stack's policy: only the export role writes under the job's prefix.
        auditor_export_policy(&auditor, AUDITOR_BUCKET, &role_arn(WORKLOAD), "offsite/").await;

        let mut w_parameters: BTreeMap<String, String> = [
            ("VaultAccountId", VAULT),
            ("CodeBucket", "offsite-code"),
            ("AuditorBucket", AUDITOR_BUCKET),
            ("AuditorAccountId", AUDITOR),
            ("AuditorKeyArn", audit_key.as_str()),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        w_parameters.extend(workload_parameters.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        let workload_deployment = Deployment {
            account: WORKLOAD.into(),
            region: REGION.into(),
            stack_name: "offsite-workload".into(),
            parameters: w_parameters,
            resources: BTreeMap::from([
                ("ExportKey.Arn".into(), export_key.clone()),
                ("Topic".into(), topic_arn.clone()),
            ]),
        };
        let allowed = json!([{"account": WORKLOAD, "export_key_arn": export_key, "topic_arn": topic_arn}]).to_string();
        let mut v_parameters: BTreeMap<String, String> = [
            ("BreakGlassRoleArn", format!("arn:aws:iam::{VAULT}:role/break-glass")),
            ("AllowedSources", allowed),
            ("AllowedTopicArns", topic_arn.clone()),
            ("AllowedExportKeyArns", export_key.clone()),
            ("CodeBucket", "offsite-code".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        v_parameters.extend(vault_parameters.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        let vault_deployment = Deployment {
            account: VAULT.into(),
            region: REGION.into(),
            stack_name: "offsite-vault".into(),
            parameters: v_parameters,
            resources: BTreeMap::from([("ImportKey.Arn".into(), import_key.clone())]),
        };
        let w_process = emulator.process_env(&workload).await?;
        let v_process = emulator.process_env(&vault).await?;
        Ok(Self {
            workload_stack: (Template::load("workload")?, workload_deployment, w_process),
            vault_stack: (Template::load("vault")?, vault_deployment, v_process),
            emulator,
            workload,
            vault,
            auditor,
            topic_arn,
            queue_url,
            export_key,
            import_key,
            audit_key,
        })
    }

    /// The environment the template gives `binary`, plus the emulator's endpoint and the
    /// account's credentials.
    pub fn function_env(&self, binary: &str) -> Result<BTreeMap<String, String>, DeployError> {
        let (template, deployment, process) = if binary.starts_with("offsite-importer")
            || binary == "offsite-reconciler"
            || binary == "offsite-retention"
        {
            &self.vault_stack
        } else {
            &self.workload_stack
        };
        let mut env = deployment.function_env(template, binary)?;
        env.extend(process.iter().cloned());
        Ok(env)
    }

    /// Starts the function running `binary` as a Lambda process.
    pub fn function(&self, binary: &str) -> Result<LambdaFunction, DeployError> {
        let path = crate::lambda::binary(binary).ok_or_else(|| DeployError::NotBuilt(binary.to_owned()))?;
        Ok(LambdaFunction::start(&path, binary, &self.function_env(binary)?)?)
    }
}

impl DeployedPair {
    /// The exporter's copies in the workload account (both kinds).
    pub async fn workload_copies(&self) -> Vec<offsite_common::snapshot::Snapshot> {
        marked(&self.workload, offsite_common::tags::MARKER_EXPORT).await
    }

    /// The vault's imported copies (both kinds).
    pub async fn vault_copies(&self) -> Vec<offsite_common::snapshot::Snapshot> {
        marked(&self.vault, offsite_common::tags::MARKER_IMPORT).await
    }
}

async fn marked(config: &SdkConfig, marker: &str) -> Vec<offsite_common::snapshot::Snapshot> {
    use offsite_common::snapshot::SnapshotKind;
    let rds = offsite_common::rds::RdsSnapshots::new(aws_sdk_rds::Client::new(config));
    rds.list_marked(&[SnapshotKind::Instance, SnapshotKind::Cluster], marker).await.unwrap_or_default()
}
