//! The AWS SDK configuration every function and the CLI use.
//!
//! Two decisions live here:
//! - **The endpoint is explicit.** Functions talk to AWS's regional endpoints unless
//!   [`ENDPOINT_URL_VAR`] names another one (the local emulator). The SDK's own
//!   `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>` variables and profile `endpoint_url`
//!   keys are ignored (and a warning is logged when they are set), so that a stray variable
//!   left in a Lambda's environment can never silently redirect snapshot operations.
//! - **Retries are the SDK's standard mode** (exponential backoff with jitter, throttling
//!   and transient errors retried) with a configurable number of attempts.
//!
//! TLS uses rustls with the `ring` provider, chosen here once so that no crate compiles the
//! SDK's default aws-lc stack as well.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_http_client::tls;
use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};

use crate::config::{self, Env, Setting};
use crate::error::ConfigError;

/// Variable that points every AWS client at another endpoint, e.g. `http://127.0.0.1:5000`.
pub const ENDPOINT_URL_VAR: &str = "OFFSITE_AWS_ENDPOINT_URL";
/// Variable with the number of attempts per AWS call (first try included), 1 to 20.
pub const MAX_ATTEMPTS_VAR: &str = "OFFSITE_AWS_MAX_ATTEMPTS";
/// The region variable the Lambda runtime sets.
pub const REGION_VAR: &str = "AWS_REGION";
/// The vault account's optional second Region: the reconciler copies every import there,
/// retention keeps those copies, the restore tester may test them.
pub const DR_REGION_VAR: &str = "OFFSITE_DR_REGION";
/// Default attempts per call: the SDK's standard mode uses 3; snapshot copies are worth a
/// little more patience against throttling.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;

/// How to reach AWS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsSettings {
    /// The region; `None` lets the SDK's region chain (profile) decide.
    pub region: Option<String>,
    /// Another endpoint for every service (the emulator); `None` means AWS.
    pub endpoint_url: Option<String>,
    /// Attempts per call, first try included.
    pub max_attempts: u32,
}

impl AwsSettings {
    /// Reads [`REGION_VAR`], [`ENDPOINT_URL_VAR`] and [`MAX_ATTEMPTS_VAR`].
    pub fn from_env(env: &impl Env) -> Result<Self, ConfigError> {
        let region = config::optional::<RegionName>(env, REGION_VAR)?.map(|r| r.0);
        let endpoint_url = config::optional::<EndpointUrl>(env, ENDPOINT_URL_VAR)?.map(|u| u.0);
        let max_attempts = config::number_in(env, MAX_ATTEMPTS_VAR, DEFAULT_MAX_ATTEMPTS, 1..=20)?;
        Ok(Self { region, endpoint_url, max_attempts })
    }

    /// Settings for a given endpoint and region, as tests and the emulator use them.
    pub fn for_endpoint(endpoint_url: impl Into<String>, region: impl Into<String>) -> Self {
        Self {
            region: Some(region.into()),
            endpoint_url: Some(endpoint_url.into()),
            max_attempts: DEFAULT_MAX_ATTEMPTS,
        }
    }
}

/// Loads the SDK configuration: credentials and region from the usual chains, endpoint and
/// retries from `settings`.
pub async fn load_sdk_config(settings: &AwsSettings) -> SdkConfig {
    warn_about_ignored_endpoint_variables();
    let http_client = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::Ring))
        .build_https();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client)
        .retry_config(RetryConfig::standard().with_max_attempts(settings.max_attempts))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(Duration::from_secs(60))
                .build(),
        );
    if let Some(region) = &settings.region {
        loader = loader.region(Region::new(region.clone()));
    }
    let mut builder = loader.load().await.into_builder();
    builder.set_endpoint_url(settings.endpoint_url.clone());
    builder.service_config(NoEnvironmentServiceConfig).build()
}

/// Replaces the loader's per-service settings from the environment and profile (which is
/// where `AWS_ENDPOINT_URL_<SERVICE>` comes from) with nothing.
#[derive(Debug)]
struct NoEnvironmentServiceConfig;

impl LoadServiceConfig for NoEnvironmentServiceConfig {
    fn load_config(&self, _key: ServiceConfigKey<'_>) -> Option<String> {
        None
    }
}

fn warn_about_ignored_endpoint_variables() {
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name.starts_with("AWS_ENDPOINT_URL") {
            tracing::warn!(
                variable = %name,
                "ignored: Offsite only takes its endpoint from {ENDPOINT_URL_VAR}"
            );
        }
    }
}

/// An AWS region name such as `eu-west-1` or `us-gov-west-1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionName(pub String);

impl Setting for RegionName {
    fn expected() -> String {
        "an AWS region name such as eu-west-1".to_owned()
    }
    fn parse_setting(raw: &str) -> Result<Self, String> {
        let parts: Vec<&str> = raw.split('-').collect();
        let well_formed = parts.len() >= 3
            && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
            && parts.last().is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()));
        if well_formed { Ok(Self(raw.to_owned())) } else { Err("not a region name".to_owned()) }
    }
}

/// An `http://` or `https://` URL without query or fragment.
struct EndpointUrl(String);

impl Setting for EndpointUrl {
    fn expected() -> String {
        "an http:// or https:// URL such as http://127.0.0.1:5000".to_owned()
    }
    fn parse_setting(raw: &str) -> Result<Self, String> {
        let rest = raw
            .strip_prefix("http://")
            .or_else(|| raw.strip_prefix("https://"))
            .ok_or_else(|| "no http:// or https:// scheme".to_owned())?;
        let authority = rest.split('/').next().unwrap_or_default();
        let (host, port) = match authority.rsplit_once(':') {
            // `[::1]` is an IPv6 host without a port.
            Some((host, port)) if !authority.ends_with(']') => (host, Some(port)),
            _ => (authority, None),
        };
        if host.is_empty() {
            return Err("no host".to_owned());
        }
        if port.is_some_and(|p| p.parse::<u16>().is_err()) {
            return Err("the port is not a number from 0 to 65535".to_owned());
        }
        if raw.contains(['?', '#', ' ']) {
            return Err("query, fragment or space not allowed".to_owned());
        }
        Ok(Self(raw.trim_end_matches('/').to_owned()))
    }
}

#[cfg(any(test, feature = "test-support"))]
/// A malformed value of each variable of [`AwsSettings`], which every
/// function reads: for the tables of the functions' own tests.
pub const AWS_MALFORMED: &[(&str, &str, &str)] = &[
    (REGION_VAR, "Europe", "an AWS region name such as"),
    (ENDPOINT_URL_VAR, "127.0.0.1:5000", "an http:// or https:// URL"),
    (MAX_ATTEMPTS_VAR, "0", "a whole number from 1 to 20"),
    (MAX_ATTEMPTS_VAR, "many", "a whole number from 1 to 20"),
];

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn defaults_to_aws_endpoints() {
        let settings = AwsSettings::from_env(&env(&[])).expect("empty environment is valid");
        assert_eq!(settings, AwsSettings { region: None, endpoint_url: None, max_attempts: 5 });
    }

    #[test]
    fn reads_endpoint_region_and_attempts() {
        let e =
            env(&[(ENDPOINT_URL_VAR, "http://127.0.0.1:5000/"), (REGION_VAR, "eu-central-1"), (MAX_ATTEMPTS_VAR, "8")]);
        let settings = AwsSettings::from_env(&e).expect("valid settings");
        assert_eq!(settings.endpoint_url.as_deref(), Some("http://127.0.0.1:5000"));
        assert_eq!(settings.region.as_deref(), Some("eu-central-1"));
        assert_eq!(settings.max_attempts, 8);
    }

    #[test]
    fn every_variable_read_is_refused_when_malformed() {
        let (region, url, attempts) = ("an AWS region name such as", "an http:// or https:// URL", "from 1 to 20");
        let malformed = [
            (REGION_VAR, "Europe", region),
            (REGION_VAR, "eu-west", region),
            (REGION_VAR, "EU-WEST-1", region),
            (ENDPOINT_URL_VAR, "127.0.0.1:5000", url),
            (ENDPOINT_URL_VAR, "http://", url),
            (ENDPOINT_URL_VAR, "http://h/?x=1", url),
            (ENDPOINT_URL_VAR, "http://127.0.0.1:port", url),
            (MAX_ATTEMPTS_VAR, "0", attempts),
            (MAX_ATTEMPTS_VAR, "21", attempts),
            (MAX_ATTEMPTS_VAR, "many", attempts),
            (MAX_ATTEMPTS_VAR, " 5", attempts),
        ];
        let read = crate::config::coverage::check_settings(|e| AwsSettings::from_env(e), &[], &malformed, &[]);
        assert_eq!(read.len(), 3, "{read:?}");
        assert!(AwsSettings::from_env(&env(&[(ENDPOINT_URL_VAR, "http://[::1]:5000")])).is_ok());
    }

    #[tokio::test]
    async fn explicit_endpoint_wins_and_nothing_else_is_loaded() {
        let settings = AwsSettings::for_endpoint("http://127.0.0.1:1", "us-east-1");
        let config = load_sdk_config(&settings).await;
        assert_eq!(config.endpoint_url(), Some("http://127.0.0.1:1"));
        assert_eq!(config.region().map(|r| r.as_ref()), Some("us-east-1"));
        assert_eq!(config.retry_config().map(|r| r.max_attempts()), Some(5));
        let key = ServiceConfigKey::builder()
            .service_id("RDS")
            .env("AWS_ENDPOINT_URL_RDS")
            .profile("endpoint_url")
            .build()
            .expect("complete key");
        let loaded = config.service_config().and_then(|c| c.load_config(key));
        assert_eq!(loaded, None);
    }
}
