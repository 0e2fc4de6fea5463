//! The scanner's Lambda function: a schedule and, as a fast path, the RDS "copy finished"
//! event invoke the same scan. Settings are read once at start.

use std::time::SystemTime;

use aws_smithy_types::DateTime;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use offsite_common::aws::load_sdk_config;
use offsite_common::config::ProcessEnv;
use offsite_common::rds::RdsSnapshots;
use offsite_scanner::scan::Scanner;
use offsite_scanner::settings::ScannerSettings;
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let settings = offsite_common::logging::init_json(&ProcessEnv)
        .and_then(|()| ScannerSettings::from_env(&ProcessEnv))
        .inspect_err(|error| {
            tracing::error!(error = %error, "the scanner cannot start");
        })?;
    let sdk_config = load_sdk_config(&settings.aws).await;
    let scanner = Scanner::new(
        RdsSnapshots::new(aws_sdk_rds::Client::new(&sdk_config)),
        aws_sdk_sns::Client::new(&sdk_config),
        settings,
    );
    let scanner = &scanner;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| handle(scanner, event))).await
}

/// Every invocation scans: the event only says why now (schedule or a copy finished).
async fn handle(scanner: &Scanner, event: LambdaEvent<Value>) -> Result<Value, Error> {
    let trigger = offsite_common::logging::trigger_of(&event.payload);
    tracing::info!(trigger = %trigger, request_id = %event.context.request_id, "scan: {}", offsite_common::logging::EVENT_NOT_READ);
    let report = scanner.scan(DateTime::from(SystemTime::now()), &event.context.request_id).await?;
    match report.failure() {
        Some(failure) => Err(failure.into()),
        None => Ok(serde_json::to_value(&report)?),
    }
}
