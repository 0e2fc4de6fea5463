//! The vault's RDS export function, on its schedule and on RDS's export events (a completed,
//! failed or cancelled export frees a slot: RDS-EVENT-0159/0160/0161 for DB snapshot exports,
//! 0162/0163/0164 for cluster snapshot exports). Every trigger runs the same whole pass: the
//! event is a hint, never an instruction, and is not read.

use std::time::SystemTime;

use aws_smithy_types::DateTime;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use offsite_common::aws::load_sdk_config;
use offsite_common::config::ProcessEnv;
use offsite_rds_export::run::RdsExporter;
use offsite_rds_export::settings::RdsExportSettings;
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let settings = offsite_common::logging::init_json(&ProcessEnv)
        .and_then(|()| RdsExportSettings::from_env(&ProcessEnv))
        .inspect_err(|error| {
            tracing::error!(error = %error, "the RDS export function cannot start");
        })?;
    let sdk_config = load_sdk_config(&settings.aws).await;
    let exporter =
        RdsExporter::new(aws_sdk_rds::Client::new(&sdk_config), aws_sdk_s3::Client::new(&sdk_config), settings);
    let exporter = &exporter;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let trigger = offsite_common::logging::trigger_of(&event.payload);
        tracing::info!(trigger = %trigger, request_id = %event.context.request_id, "RDS exports: {}", offsite_common::logging::EVENT_NOT_READ);
        let report = exporter.run(DateTime::from(SystemTime::now())).await.inspect_err(|error| {
            tracing::error!(error = %error, "the RDS export run failed");
        })?;
        for finding in &report.security {
            tracing::error!(finding = %finding, "SECURITY: an export task under Offsite's name exports something else");
        }
        Ok::<Value, Error>(serde_json::to_value(&report)?)
    }))
    .await
}
