//! The vault's retention Lambda function, on its own schedule and role. It reads no
//! message: its input is ignored, its policy comes from its own settings.

use std::time::SystemTime;

use aws_smithy_types::DateTime;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use offsite_common::aws::{AwsSettings, load_sdk_config};
use offsite_common::config::ProcessEnv;
use offsite_common::rds::RdsSnapshots;
use offsite_common::tags;
use offsite_importer::retention::{Policy, apply};
use offsite_importer::settings::DrSettings;
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    offsite_common::logging::init_json();
    let started = AwsSettings::from_env(&ProcessEnv).and_then(|aws| {
        let region = aws.region.clone().unwrap_or_default();
        Ok((aws, Policy::from_env(&ProcessEnv)?, DrSettings::from_env(&ProcessEnv, &region)?))
    });
    let (aws, policy, dr) = started.inspect_err(|error| {
        tracing::error!(error = %error, "retention cannot start");
    })?;
    let sdk_config = load_sdk_config(&aws).await;
    // The same policy in the vault's region and, when configured, its second region.
    let mut regions = vec![(RdsSnapshots::new(aws_sdk_rds::Client::new(&sdk_config)), tags::MARKER_IMPORT)];
    if let Some(dr) = dr {
        let dr_config = load_sdk_config(&AwsSettings { region: Some(dr.region), ..aws.clone() }).await;
        regions.push((RdsSnapshots::new(aws_sdk_rds::Client::new(&dr_config)), tags::MARKER_IMPORT_DR));
    }
    let (regions, policy) = (&regions, &policy);
    lambda_runtime::run(service_fn(move |_event: LambdaEvent<Value>| async move {
        let now = DateTime::from(SystemTime::now());
        let mut reports = Vec::new();
        for (rds, marker) in regions {
            reports.push(apply(rds, policy, now, marker).await?);
        }
        let errors: Vec<String> = reports.iter().flat_map(|r| r.errors.clone()).collect();
        if !errors.is_empty() {
            return Err(Error::from(format!("retention errors: {}", errors.join("; "))));
        }
        Ok::<Value, Error>(serde_json::to_value(&reports)?)
    }))
    .await
}
