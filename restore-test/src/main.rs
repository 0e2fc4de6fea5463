//! The vault's restore tester, on its schedule. The payload is not read: every invocation
//! runs the same whole pass (the vault's Region, then its second Region when configured), and
//! no function waits for a restore (each run moves each test one step).

use std::time::SystemTime;

use aws_smithy_types::DateTime;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use offsite_common::aws::load_sdk_config;
use offsite_common::config::ProcessEnv;
use offsite_restore_test::run::{RestoreTester, run_sites};
use offsite_restore_test::settings::RestoreTestSettings;
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let settings = offsite_common::logging::init_json(&ProcessEnv)
        .and_then(|()| RestoreTestSettings::from_env(&ProcessEnv))
        .inspect_err(|error| {
            tracing::error!(error = %error, "the restore tester cannot start");
        })?;
    let sdk_config = load_sdk_config(&settings.aws).await;
    let second = match settings.in_second_region() {
        Some(there) => {
            let config = load_sdk_config(&there.aws).await;
            Some(RestoreTester::in_second_region(&sdk_config, &config, there))
        }
        None => None,
    };
    let tester = RestoreTester::from_config(&sdk_config, settings);
    let testers: Vec<&RestoreTester> = std::iter::once(&tester).chain(second.as_ref()).collect();
    let testers = &testers;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let trigger = offsite_common::logging::trigger_of(&event.payload);
        tracing::info!(trigger = %trigger, request_id = %event.context.request_id, "restore tests: {}", offsite_common::logging::EVENT_NOT_READ);
        let (reports, errors) = run_sites(testers, DateTime::from(SystemTime::now())).await;
        for report in &reports {
            let region = report.second_region.as_deref().unwrap_or("the vault's");
            for finding in &report.security {
                tracing::error!(finding = %finding, region, "SECURITY: a resource under the restore tester's name is not its own");
            }
            for (resource, age) in &report.overdue {
                tracing::error!(resource = %resource, age_seconds = age, region, "a restore test resource outlived its limit (cost)");
            }
        }
        // What could be done was done and recorded; a site that could not be listed fails
        // the invocation (the function's Errors alarm).
        if let Some(error) = errors.first() {
            for error in &errors {
                tracing::error!(error = %error, "the restore test run failed");
            }
            return Err(Error::from(error.to_string()));
        }
        // The vault's report, and the second Region's inside it.
        let mut value = serde_json::to_value(reports.first())?;
        if let (Some(object), Some(second)) = (value.as_object_mut(), reports.get(1)) {
            object.insert("second_region_run".to_owned(), serde_json::to_value(second)?);
        }
        Ok::<Value, Error>(value)
    }))
    .await
}
