//! `offsite whoami`: the account, identity, region and endpoint the credentials reach.

use std::collections::BTreeMap;

use offsite_common::aws::{AwsSettings, load_sdk_config};

use crate::error::CliError;

pub async fn whoami(env: &BTreeMap<String, String>) -> Result<(), CliError> {
    let settings = AwsSettings::from_env(env)?;
    let sdk_config = load_sdk_config(&settings).await;
    let identity = aws_sdk_sts::Client::new(&sdk_config)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| CliError::Identity(aws_sdk_sts::error::DisplayErrorContext(e).to_string()))?;
    let report = serde_json::json!({
        "account": identity.account(),
        "arn": identity.arn(),
        "user_id": identity.user_id(),
        "region": sdk_config.region().map(|r| r.as_ref()),
        "endpoint": settings.endpoint_url.as_deref().unwrap_or("AWS"),
    });
    println!("{report:#}");
    Ok(())
}
