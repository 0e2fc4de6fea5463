//! The reconciler's Lambda function, on a schedule: imports whatever allowed accounts
//! shared but the importer did not import (a lost notice), and reports freshness.

use std::time::SystemTime;

use aws_smithy_types::DateTime;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use offsite_common::aws::{AwsSettings, load_sdk_config};
use offsite_common::config::ProcessEnv;
use offsite_common::rds::RdsSnapshots;
use offsite_importer::dr::SecondRegion;
use offsite_importer::outcome::InvocationFailed;
use offsite_importer::register::Register;
use offsite_importer::run::Vault;
use offsite_importer::settings::VaultSettings;
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let settings = offsite_common::logging::init_json(&ProcessEnv)
        .and_then(|()| VaultSettings::from_env(&ProcessEnv))
        .inspect_err(|error| {
            tracing::error!(error = %error, "the reconciler cannot start");
        })?;
    let sdk_config = load_sdk_config(&settings.aws).await;
    let second_region = match settings.dr.clone() {
        Some(dr) => {
            let dr_config =
                load_sdk_config(&AwsSettings { region: Some(dr.region.clone()), ..settings.aws.clone() }).await;
            Some(SecondRegion::new(dr, sdk_config.clone(), &dr_config))
        }
        None => None,
    };
    let register = Register::new(aws_sdk_ssm::Client::new(&sdk_config), settings.register.clone());
    let mut vault =
        Vault::new(RdsSnapshots::new(aws_sdk_rds::Client::new(&sdk_config)), settings).with_register(register);
    if let Some(second_region) = second_region {
        vault = vault.with_second_region(second_region);
    }
    let vault = &vault;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let trigger = offsite_common::logging::trigger_of(&event.payload);
        tracing::info!(trigger = %trigger, request_id = %event.context.request_id, "reconcile: {}", offsite_common::logging::EVENT_NOT_READ);
        let report = vault.reconcile(DateTime::from(SystemTime::now())).await?;
        if let Some(error) = &report.register_error {
            // The imports of this run stand; the failed invocation is what the error alarm sees.
            tracing::info!(report = %serde_json::to_string(&report)?, "reconcile");
            return Err(InvocationFailed::Register(error.clone()).into());
        }
        Ok::<Value, Error>(serde_json::to_value(&report)?)
    }))
    .await
}
