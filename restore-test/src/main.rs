//! The vault's restore tester, on its schedule. The payload is not read: every invocation
//! runs the same whole pass, and no function waits for a restore (each run moves each test
//! one step).

use std::time::SystemTime;

use aws_smithy_types::DateTime;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use offsite_common::aws::load_sdk_config;
use offsite_common::config::ProcessEnv;
use offsite_restore_test::run::RestoreTester;
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
    let tester = RestoreTester::from_config(&sdk_config, settings);
    let tester = &tester;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let trigger = offsite_common::logging::trigger_of(&event.payload);
        tracing::info!(trigger = %trigger, request_id = %event.context.request_id, "restore tests: {}", offsite_common::logging::EVENT_NOT_READ);
        let report = tester.run(DateTime::from(SystemTime::now())).await.inspect_err(|error| {
            tracing::error!(error = %error, "the restore test run failed");
        })?;
        for finding in &report.security {
            tracing::error!(finding = %finding, "SECURITY: a resource under the restore tester's name is not its own");
        }
        for (resource, age) in &report.overdue {
            tracing::error!(resource = %resource, age_seconds = age, "a restore test resource outlived its limit (cost)");
        }
        Ok::<Value, Error>(serde_json::to_value(&report)?)
    }))
    .await
}
