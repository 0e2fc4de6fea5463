//! The importer's Lambda function, on SQS batches (ReportBatchItemFailures): answers with
//! the failed message ids only, so one bad record never fails the others.

use std::time::SystemTime;

use aws_smithy_types::DateTime;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use offsite_common::aws::load_sdk_config;
use offsite_common::config::ProcessEnv;
use offsite_common::rds::RdsSnapshots;
use offsite_importer::envelope::{BatchResponse, SqsEvent};
use offsite_importer::run::Vault;
use offsite_importer::settings::VaultSettings;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let settings = offsite_common::logging::init_json(&ProcessEnv)
        .and_then(|()| VaultSettings::from_env(&ProcessEnv))
        .inspect_err(|error| {
            tracing::error!(error = %error, "the importer cannot start");
        })?;
    let sdk_config = load_sdk_config(&settings.aws).await;
    let vault = Vault::new(RdsSnapshots::new(aws_sdk_rds::Client::new(&sdk_config)), settings)
        .with_requeue(aws_sdk_sqs::Client::new(&sdk_config));
    let vault = &vault;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        let report = vault.handle_batch(&event.payload, DateTime::from(SystemTime::now())).await?;
        Ok::<BatchResponse, Error>(report.response)
    }))
    .await
}
