//! The vault's retention Lambda function, on its own schedule and role. It reads no
//! message: its input is ignored, its policy comes from its own settings.

use std::time::SystemTime;

use aws_smithy_types::DateTime;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use offsite_common::aws::{AwsSettings, load_sdk_config};
use offsite_common::config::ProcessEnv;
use offsite_common::rds::RdsSnapshots;
use offsite_importer::retention::{Policy, apply};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    offsite_common::logging::init_json();
    let started = AwsSettings::from_env(&ProcessEnv).and_then(|aws| Ok((aws, Policy::from_env(&ProcessEnv)?)));
    let (aws, policy) = started.inspect_err(|error| {
        tracing::error!(error = %error, "retention cannot start");
    })?;
    let sdk_config = load_sdk_config(&aws).await;
    let rds = RdsSnapshots::new(aws_sdk_rds::Client::new(&sdk_config));
    let (rds, policy) = (&rds, &policy);
    lambda_runtime::run(service_fn(move |_event: LambdaEvent<Value>| async move {
        let report = apply(rds, policy, DateTime::from(SystemTime::now())).await?;
        if !report.errors.is_empty() {
            return Err(Error::from(format!("retention errors: {}", report.errors.join("; "))));
        }
        Ok::<Value, Error>(serde_json::to_value(&report)?)
    }))
    .await
}
