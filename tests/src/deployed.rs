//! An account pair (and the auditor) deployed the way `infra/*.yaml` deploys it, on the
//! emulator: the three templates' roles, policies, keys, topic, queues, subscription and the
//! auditor's bucket, created from the templates themselves ([`crate::stack`]), and each
//! function started as a Lambda process with exactly the environment its template gives it,
//! under the credentials of its template role (a session Lambda would get, see
//! [`Emulator::service_session`]). Used by the deployed-shape test, the permission tests
//! and the demo.

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use offsite_infra::Template;
use offsite_infra::resolve::Deployment;
use serde_json::{Value, json};

use crate::lambda::LambdaFunction;
use crate::stack::{Stack, StackError, deploy};
use crate::{AUDITOR, Emulator, EmulatorOptions, HarnessError, REGION, VAULT, WORKLOAD};

/// The auditor's bucket the DynamoDB job exports into (the auditor stack's `BucketName`).
pub const AUDITOR_BUCKET: &str = "offsite-auditor-exports";

/// The service principal that assumes the functions' roles.
pub const LAMBDA_SERVICE: &str = "lambda.amazonaws.com";

/// The three accounts with the stacks' resources, and how to start their functions.
#[derive(Debug)]
pub struct DeployedPair {
    pub emulator: Emulator,
    /// The accounts' bootstrap identities (whoever deploys the stacks; unrestricted).
    pub workload: SdkConfig,
    pub vault: SdkConfig,
    pub auditor: SdkConfig,
    /// The importer's role, as Lambda's SQS event source mapping polls the notice queue with
    /// it: the harness drains the queue with this.
    pub importer_role: SdkConfig,
    pub topic_arn: String,
    pub queue_url: String,
    /// Where the notice queue's redrive policy sends a notice after `NoticeMaxReceiveCount`
    /// receives.
    pub dead_letter_queue_url: String,
    pub export_key: String,
    pub import_key: String,
    pub audit_key: String,
    /// The vault's key in its second region, when the pair was deployed with one
    /// ([`DeployedPair::start_with_second_region`]).
    pub dr_key: Option<String>,
    /// The vault's network for its restore tests (a DB subnet group, a security group).
    pub network: crate::fixtures::VaultNetwork,
    pub workload_stack: Stack,
    pub vault_stack: Stack,
    pub auditor_stack: Stack,
    process: Vec<(String, String)>,
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
    #[error(transparent)]
    Stack(#[from] StackError),
    #[error(transparent)]
    Binary(#[from] crate::lambda::BinaryError),
    #[error("{0}")]
    Missing(String),
    #[error(transparent)]
    Lambda(#[from] crate::lambda::LambdaError),
}

fn parameters(defaults: Vec<(&str, String)>, overrides: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = defaults.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    out.extend(overrides.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    out
}

fn deployment(account: &str, stack_name: &str, parameters: BTreeMap<String, String>) -> Deployment {
    Deployment {
        account: account.into(),
        region: REGION.into(),
        stack_name: stack_name.into(),
        parameters,
        resources: BTreeMap::new(),
    }
}

fn need(stack: &Stack, key: &str) -> Result<String, DeployError> {
    stack
        .value(key)
        .map(str::to_owned)
        .ok_or_else(|| DeployError::Missing(format!("{}: no {key}", stack.template.name)))
}

impl DeployedPair {
    /// Starts an emulator and deploys the three stacks from `infra/*.yaml`, in the order the
    /// README deploys them (auditor, workload, vault), each with the others' real ARNs as
    /// parameters. `workload_parameters` and `vault_parameters` override the templates'
    /// defaults (e.g. shorter settings).
    pub async fn start(
        options: &EmulatorOptions,
        workload_parameters: &[(&str, &str)],
        vault_parameters: &[(&str, &str)],
    ) -> Result<Self, DeployError> {
        let workload = Template::load("workload")?;
        Self::start_with(options, workload, workload_parameters, vault_parameters).await
    }

    /// [`DeployedPair::start`] with a second region for the vault: the operator creates the
    /// vault's key there first (a key of the account, its default key policy delegating to
    /// IAM) and passes it with the region as `DrKeyArn` and `DrRegion` (infra/README.md).
    pub async fn start_with_second_region(
        options: &EmulatorOptions,
        workload_parameters: &[(&str, &str)],
        vault_parameters: &[(&str, &str)],
        second_region: &str,
    ) -> Result<Self, DeployError> {
        let workload = Template::load("workload")?;
        Self::deploy(options, workload, workload_parameters, vault_parameters, Some(second_region)).await
    }

    /// [`DeployedPair::start`] with a workload template of the caller's (e.g. one a test
    /// has broken on purpose).
    pub async fn start_with(
        options: &EmulatorOptions,
        workload_template: Template,
        workload_parameters: &[(&str, &str)],
        vault_parameters: &[(&str, &str)],
    ) -> Result<Self, DeployError> {
        Self::deploy(options, workload_template, workload_parameters, vault_parameters, None).await
    }

    async fn deploy(
        options: &EmulatorOptions,
        workload_template: Template,
        workload_parameters: &[(&str, &str)],
        vault_parameters: &[(&str, &str)],
        second_region: Option<&str>,
    ) -> Result<Self, DeployError> {
        let emulator = Emulator::start_with(options)?;
        let workload = emulator.account(WORKLOAD).await?;
        let vault = emulator.account(VAULT).await?;
        let auditor = emulator.account(AUDITOR).await?;

        let mut w_parameters = parameters(
            vec![
                ("VaultAccountId", VAULT.to_owned()),
                ("CodeBucket", "offsite-code".to_owned()),
                ("AuditorAccountId", AUDITOR.to_owned()),
            ],
            workload_parameters,
        );
        // The auditor deploys first, naming the workload's export role by its ARN (a named
        // role, so known before the workload stack exists: infra/README.md, step 2).
        let export_role = {
            let d = deployment(WORKLOAD, "offsite-workload", w_parameters.clone());
            let role = workload_template.resource("DynamoExportRole").cloned().unwrap_or(Value::Null);
            let name = d.value(&workload_template, &role["Properties"]["RoleName"])?.unwrap_or_default();
            format!("arn:aws:iam::{WORKLOAD}:role/{name}")
        };
        // The auditor admits the export role under the prefix the workload writes to.
        let mut a_parameters = parameters(
            vec![
                ("ExportRoleArn", export_role.clone()),
                ("BucketName", AUDITOR_BUCKET.to_owned()),
                ("DynamoTableName", "customers".to_owned()),
                ("GlueTableName", "customers".to_owned()),
                ("WorkloadAccountIds", WORKLOAD.to_owned()),
                ("WorkloadRegions", REGION.to_owned()),
            ],
            &[],
        );
        if let Some(prefix) = w_parameters.get("ExportPrefix") {
            a_parameters.insert("ExportPrefix".into(), prefix.clone());
        }
        // The vault's RDS export roles, by the ARNs the vault stack will give them (the
        // deployer's names are deterministic; CloudFormation's are not, so an operator
        // updates the auditor stack after the vault's: infra/README.md): checked below.
        let vault_template = Template::load("vault")?;
        let vault_role = |id: &str| -> Result<String, DeployError> {
            let path = vault_template.resource(id).and_then(|r| r["Properties"]["Path"].as_str()).unwrap_or("/");
            Ok(format!("arn:aws:iam::{VAULT}:role{path}{}", crate::stack::generated_name("offsite-vault", id, 64)))
        };
        let (writer_role, rds_export_role) = (vault_role("RdsExportWriterRole")?, vault_role("RdsExportRole")?);
        a_parameters.insert("VaultRdsExportRoleArn".into(), writer_role.clone());
        a_parameters.insert("VaultRdsExportFunctionRoleArn".into(), rds_export_role.clone());
        let auditor_stack =
            deploy(&auditor, Template::load("auditor")?, deployment(AUDITOR, "offsite-auditor", a_parameters)).await?;
        let audit_key = need(&auditor_stack, "ExportKey.Arn")?;
        w_parameters.insert("AuditorBucket".into(), need(&auditor_stack, "ExportBucket")?);
        w_parameters.insert("AuditorKeyArn".into(), audit_key.clone());
        let workload_stack =
            deploy(&workload, workload_template, deployment(WORKLOAD, "offsite-workload", w_parameters)).await?;
        let export_key = need(&workload_stack, "ExportKey.Arn")?;
        let topic_arn = need(&workload_stack, "Topic")?;
        if need(&workload_stack, "DynamoExportRole.Arn")? != export_role {
            return Err(DeployError::Missing(format!("the auditor stack names {export_role}, not the export role")));
        }

        let allowed = json!([{"account": WORKLOAD, "export_key_arn": export_key, "topic_arn": topic_arn}]).to_string();
        let dr_key = match second_region {
            Some(region) => {
                let there = vault.clone().into_builder().region(aws_config::Region::new(region.to_owned())).build();
                Some(crate::fixtures::kms_key(&there, "offsite vault, second region").await)
            }
            None => None,
        };
        let mut v_parameters = parameters(
            vec![
                ("BreakGlassRoleArn", format!("arn:aws:iam::{VAULT}:role/break-glass")),
                ("AllowedSources", allowed),
                ("AllowedTopicArns", topic_arn.clone()),
                ("AllowedExportKeyArns", export_key.clone()),
                ("CodeBucket", "offsite-code".to_owned()),
            ],
            vault_parameters,
        );
        if let (Some(region), Some(key)) = (second_region, &dr_key) {
            v_parameters.insert("DrRegion".into(), region.to_owned());
            v_parameters.insert("DrKeyArn".into(), key.clone());
            // The restore tests test the second region's copies too, in a network of the
            // vault's there.
            let there = vault.clone().into_builder().region(aws_config::Region::new(region.to_owned())).build();
            let network = crate::fixtures::vault_network(&emulator, &there, "offsite-restore-tests-dr").await;
            v_parameters.entry("RestoreTestSecondRegionSubnetGroup".into()).or_insert(network.subnet_group);
            v_parameters.entry("RestoreTestSecondRegionSecurityGroupIds".into()).or_insert(network.security_group);
        }
        // The RDS exports for auditors: into the auditor's bucket, under its key.
        v_parameters.entry("RdsExportBucket".into()).or_insert_with(|| AUDITOR_BUCKET.to_owned());
        v_parameters.entry("RdsExportKeyArn".into()).or_insert_with(|| audit_key.clone());
        // The restore tests: the vault's operator gives them a subnet group and a security
        // group of the vault's VPC (infra/README.md).
        let network = crate::fixtures::vault_network(&emulator, &vault, "offsite-restore-tests").await;
        v_parameters.entry("RestoreTestSubnetGroup".into()).or_insert_with(|| network.subnet_group.clone());
        v_parameters.entry("RestoreTestSecurityGroupIds".into()).or_insert_with(|| network.security_group.clone());
        v_parameters.entry("RestoreTestSubnetIds".into()).or_insert_with(|| network.subnets.join(","));
        let vault_stack = deploy(&vault, vault_template, deployment(VAULT, "offsite-vault", v_parameters)).await?;
        for (id, expected) in [("RdsExportWriterRole", &writer_role), ("RdsExportRole", &rds_export_role)] {
            if need(&vault_stack, &format!("{id}.Arn"))? != *expected {
                return Err(DeployError::Missing(format!("the auditor stack names {expected}, not the vault's {id}")));
            }
        }
        let import_key = need(&vault_stack, "ImportKey.Arn")?;
        let queue_url = need(&vault_stack, "NoticeQueue")?;
        let dead_letter_queue_url = need(&vault_stack, "NoticeDeadLetterQueue")?;
        let importer_arn = vault_stack
            .function_role_arn("offsite-importer")
            .ok_or_else(|| DeployError::Missing("the importer's role".into()))?
            .to_owned();
        // Lambda's event source mapping polls the queue with the function's role.
        let importer_role = emulator.service_session(&importer_arn, LAMBDA_SERVICE).await?;
        let process = vec![
            ("OFFSITE_AWS_ENDPOINT_URL".to_owned(), emulator.endpoint().to_owned()),
            ("AWS_REGION".to_owned(), REGION.to_owned()),
        ];
        Ok(Self {
            emulator,
            workload,
            vault,
            auditor,
            importer_role,
            topic_arn,
            queue_url,
            dead_letter_queue_url,
            export_key,
            import_key,
            audit_key,
            dr_key,
            network,
            workload_stack,
            vault_stack,
            auditor_stack,
            process,
        })
    }

    fn stack_of(&self, binary: &str) -> &Stack {
        let vault = ["offsite-reconciler", "offsite-retention", "offsite-rds-export", "offsite-restore-test"];
        if binary.starts_with("offsite-importer") || vault.contains(&binary) {
            &self.vault_stack
        } else {
            &self.workload_stack
        }
    }

    /// The ARN of the role `binary` runs as (its template's `Role`).
    pub fn role_arn(&self, binary: &str) -> Result<String, DeployError> {
        self.stack_of(binary)
            .function_role_arn(binary)
            .map(str::to_owned)
            .ok_or_else(|| DeployError::Missing(format!("no role for {binary}")))
    }

    /// The ARN Lambda gives the function running `binary`
    /// (`arn:aws:lambda:<region>:<account>:function:<FunctionName>`), what the Runtime API
    /// reports as `Lambda-Runtime-Invoked-Function-Arn`.
    pub fn function_arn(&self, binary: &str) -> Result<String, DeployError> {
        let stack = self.stack_of(binary);
        let (id, _) = stack
            .template
            .function(binary)
            .ok_or_else(|| DeployError::Missing(format!("no function runs {binary}")))?;
        need(stack, &format!("{id}.Arn"))
    }

    /// The environment the template gives `binary`, plus the emulator's endpoint and the
    /// credentials of a session of its role that Lambda would give it (a new session each
    /// call).
    pub fn function_env(&self, binary: &str) -> Result<BTreeMap<String, String>, DeployError> {
        let stack = self.stack_of(binary);
        let mut env = stack.deployment.function_env(&stack.template, binary)?;
        env.extend(self.process.iter().cloned());
        let session = self.emulator.service_session_credentials(&self.role_arn(binary)?, LAMBDA_SERVICE)?;
        env.extend(session.env());
        Ok(env)
    }

    /// An SDK configuration with the credentials Lambda gives `binary`: a new session of its
    /// template role. For library-level runs of a function (the chaos run, the benchmarks).
    pub async fn role_config(&self, binary: &str) -> Result<SdkConfig, DeployError> {
        Ok(self.emulator.service_session(&self.role_arn(binary)?, LAMBDA_SERVICE).await?)
    }

    /// The DynamoDB job's destination as the stacks give it (the auditor's bucket, its
    /// owner, the auditor's key) and the emulator's endpoint: the settings library-level runs
    /// of the job start from (the job's other settings keep their defaults).
    pub fn dynamo_destination_env(&self) -> BTreeMap<String, String> {
        let mut env: BTreeMap<String, String> = [
            ("OFFSITE_EXPORT_BUCKET", AUDITOR_BUCKET),
            ("OFFSITE_EXPORT_BUCKET_OWNER", AUDITOR),
            ("OFFSITE_EXPORT_SSE_KMS_KEY_ARN", self.audit_key.as_str()),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        env.extend(self.process.iter().cloned());
        env
    }

    /// Starts the function running `binary` as a Lambda process.
    pub fn function(&self, binary: &str) -> Result<LambdaFunction, DeployError> {
        self.function_with(binary, &[])
    }

    /// The same with some of its template's variables set otherwise (what another template
    /// parameter would give it).
    pub fn function_with(&self, binary: &str, overrides: &[(&str, &str)]) -> Result<LambdaFunction, DeployError> {
        let path = crate::lambda::binary(binary)?;
        let mut env = self.function_env(binary)?;
        env.extend(overrides.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        Ok(LambdaFunction::start(&path, binary, &self.function_arn(binary)?, &env)?)
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
