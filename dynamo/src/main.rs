//! The DynamoDB export job's Lambda function, on its schedule.

use std::time::SystemTime;

use aws_smithy_types::DateTime;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use offsite_common::aws::load_sdk_config;
use offsite_common::config::ProcessEnv;
use offsite_dynamo::run::{DynamoExporter, RunError};
use offsite_dynamo::settings::DynamoSettings;
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let settings = offsite_common::logging::init_json(&ProcessEnv)
        .and_then(|()| DynamoSettings::from_env(&ProcessEnv))
        .inspect_err(|error| {
            tracing::error!(error = %error, "the DynamoDB export job cannot start");
        })?;
    let sdk_config = load_sdk_config(&settings.aws).await;
    // The account goes into every export prefix; without it nothing can be named.
    let identity = aws_sdk_sts::Client::new(&sdk_config).get_caller_identity().send().await.map_err(|e| {
        let message = format!("cannot identify the account: {}", aws_sdk_sts::error::DisplayErrorContext(e));
        cannot_start(RunError::Aws { operation: "sts:GetCallerIdentity", message })
    })?;
    // Every export prefix names the account: without it the job would write `account=/`.
    let account = identity.account().filter(|a| !a.is_empty()).map(str::to_owned).ok_or_else(|| {
        let message = "no account in the answer: the export prefix cannot be named".to_owned();
        cannot_start(RunError::Aws { operation: "sts:GetCallerIdentity", message })
    })?;
    let job = DynamoExporter::new(aws_sdk_dynamodb::Client::new(&sdk_config), settings, account);
    let job = &job;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let trigger = offsite_common::logging::trigger_of(&event.payload);
        tracing::info!(trigger = %trigger, request_id = %event.context.request_id, "DynamoDB exports: {}", offsite_common::logging::EVENT_NOT_READ);
        let report = job.run(DateTime::from(SystemTime::now())).await?;
        Ok::<Value, Error>(serde_json::to_value(&report)?)
    }))
    .await
}

/// Logs why the job cannot start, and stops the start with it.
fn cannot_start(error: RunError) -> Error {
    tracing::error!(error = %error, "the DynamoDB export job cannot start");
    error.into()
}
