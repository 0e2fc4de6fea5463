//! The vault's retention Lambda function, on its own schedule and role. It reads no
//! message: its input is ignored, its policy comes from its own settings.

use std::time::SystemTime;

use aws_smithy_types::DateTime;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use offsite_common::aws::{AwsSettings, load_sdk_config};
use offsite_common::config::ProcessEnv;
use offsite_common::rds::RdsSnapshots;
use offsite_common::tags;
use offsite_importer::outcome::InvocationFailed;
use offsite_importer::retention::apply;
use offsite_importer::settings::RetentionSettings;
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let settings = offsite_common::logging::init_json(&ProcessEnv)
        .and_then(|()| RetentionSettings::from_env(&ProcessEnv))
        .inspect_err(|error| {
            tracing::error!(error = %error, "retention cannot start");
        })?;
    let RetentionSettings { aws, policy, dr } = settings;
    let sdk_config = load_sdk_config(&aws).await;
    // The same policy in the vault's region and, when configured, its second region.
    let mut regions = vec![(RdsSnapshots::new(aws_sdk_rds::Client::new(&sdk_config)), tags::MARKER_IMPORT)];
    if let Some(dr) = dr {
        let dr_config = load_sdk_config(&AwsSettings { region: Some(dr.region), ..aws.clone() }).await;
        regions.push((RdsSnapshots::new(aws_sdk_rds::Client::new(&dr_config)), tags::MARKER_IMPORT_DR));
    }
    let (regions, policy) = (&regions, &policy);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let trigger = offsite_common::logging::trigger_of(&event.payload);
        tracing::info!(trigger = %trigger, request_id = %event.context.request_id, "retention: {}", offsite_common::logging::EVENT_NOT_READ);
        let now = DateTime::from(SystemTime::now());
        let mut reports = Vec::new();
        for (rds, marker) in regions {
            reports.push(apply(rds, policy, now, marker).await?);
        }
        let errors: Vec<String> = reports.iter().flat_map(|r| r.errors.clone()).collect();
        if !errors.is_empty() {
            return Err(InvocationFailed::Retention(errors).into());
        }
        Ok::<Value, Error>(serde_json::to_value(&reports)?)
    }))
    .await
}
