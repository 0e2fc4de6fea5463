//! The exporter's Lambda function.
//!
//! Invoked by EventBridge (RDS snapshot events, AWS Backup job state changes, the sweep
//! schedule) and by SNS (RDS event notifications). Settings are read once at start; a bad
//! setting stops the start with a message naming the variable.

use std::time::SystemTime;

use aws_smithy_types::DateTime;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use offsite_common::aws::load_sdk_config;
use offsite_common::config::ProcessEnv;
use offsite_common::rds::RdsSnapshots;
use offsite_exporter::export::Exporter;
use offsite_exporter::settings::ExporterSettings;
use offsite_exporter::trigger::{Home, Trigger, classify_in};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let settings = offsite_common::logging::init_json(&ProcessEnv)
        .and_then(|()| ExporterSettings::from_env(&ProcessEnv))
        .inspect_err(|error| {
            tracing::error!(error = %error, "the exporter cannot start");
        })?;
    let sdk_config = load_sdk_config(&settings.aws).await;
    let exporter = Exporter::new(RdsSnapshots::new(aws_sdk_rds::Client::new(&sdk_config)), settings);
    let exporter = &exporter;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| handle(exporter, event))).await
}

async fn handle(exporter: &Exporter, event: LambdaEvent<Value>) -> Result<Value, Error> {
    // The function's own ARN says where it runs: the only place a snapshot named by its
    // identifier alone is looked for.
    let home = Home::from_function_arn(&event.context.invoked_function_arn);
    if home.is_none() {
        tracing::warn!(
            invoked_function_arn = %event.context.invoked_function_arn,
            "the function's own ARN is not a Lambda function ARN: events naming a snapshot only by its identifier are ignored"
        );
    }
    // Only a payload that can be no event the exporter knows is an error (and so retried and
    // alarmed on); every other one is a candidate, a sweep or ignored with a reason.
    let trigger = classify_in(&event.payload, home.as_ref()).inspect_err(|error| {
        tracing::error!(request_id = %event.context.request_id, error = %error, "malformed event");
    })?;
    let report = match trigger {
        Trigger::Candidate { snapshot, origin } => {
            tracing::info!(snapshot_arn = %snapshot, origin = ?origin, "event for a snapshot");
            exporter.export_one(&snapshot, false).await?
        }
        Trigger::Sweep => exporter.sweep(DateTime::from(SystemTime::now()), false).await?,
        Trigger::Ignore { reason } => {
            tracing::info!(reason = %reason, "event ignored");
            return Ok(serde_json::json!({ "ignored": reason }));
        }
    };
    // Failing the invocation makes the error alarm fire and AWS retry the event.
    match report.failure() {
        Some(failure) => Err(failure.into()),
        None => Ok(serde_json::to_value(&report)?),
    }
}
