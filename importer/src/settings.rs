//! The vault functions' settings, read once at start.

use std::time::Duration;

use offsite_common::ConfigError;
use offsite_common::aws::{AwsSettings, REGION_VAR};
use offsite_common::config::{self, Env, KmsKeyArn};

use crate::allow::AllowList;

pub const IMPORT_KEY_VAR: &str = "OFFSITE_IMPORT_KEY_ARN";
pub const ALLOWED_SOURCES_VAR: &str = "OFFSITE_ALLOWED_SOURCES";
pub const MAX_PER_INVOCATION_VAR: &str = "OFFSITE_MAX_IMPORTS_PER_INVOCATION";
pub const MAX_PER_SOURCE_PER_DAY_VAR: &str = "OFFSITE_MAX_IMPORTS_PER_SOURCE_PER_DAY";
pub const MAX_NOTICE_AGE_VAR: &str = "OFFSITE_MAX_NOTICE_AGE";

/// An SQS batch holds at most 10 messages; two batches' worth per invocation by default.
pub const DEFAULT_MAX_PER_INVOCATION: u32 = 20;
/// Far above a normal day (a few snapshots per database), far below the 100-snapshot quota
/// a flood would exhaust.
pub const DEFAULT_MAX_PER_SOURCE_PER_DAY: u32 = 50;
/// A week: longer than SQS's default retention (4 days); older notices are replays, and the
/// reconciler imports whatever is still shared anyway.
pub const DEFAULT_MAX_NOTICE_AGE: Duration = Duration::from_secs(7 * 86_400);

/// Everything the importer and the reconciler need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultSettings {
    pub aws: AwsSettings,
    /// The vault's region (shared encrypted snapshots are copied within their region).
    pub region: String,
    pub import_key: KmsKeyArn,
    pub allow: AllowList,
    pub max_per_invocation: u32,
    pub max_per_source_per_day: u32,
    pub max_notice_age: Duration,
}

impl VaultSettings {
    pub fn from_env(env: &impl Env) -> Result<Self, ConfigError> {
        let aws = AwsSettings::from_env(env)?;
        let region = aws.region.clone().ok_or_else(|| ConfigError {
            variable: REGION_VAR.to_owned(),
            value: None,
            problem: "the vault must know its region to refuse snapshots of other regions".to_owned(),
            expected: "an AWS region name such as eu-west-1".to_owned(),
        })?;
        let max_per_invocation = config::or_default(env, MAX_PER_INVOCATION_VAR, DEFAULT_MAX_PER_INVOCATION)?;
        let max_per_source_per_day =
            config::or_default(env, MAX_PER_SOURCE_PER_DAY_VAR, DEFAULT_MAX_PER_SOURCE_PER_DAY)?;
        let max_notice_age = config::or_default(env, MAX_NOTICE_AGE_VAR, DEFAULT_MAX_NOTICE_AGE)?;
        if max_notice_age < Duration::from_secs(3600) {
            return Err(config::invalid(
                MAX_NOTICE_AGE_VAR,
                &format!("{}s", max_notice_age.as_secs()),
                "too short",
                "at least 1h",
            ));
        }
        let import_key: KmsKeyArn = config::required(env, IMPORT_KEY_VAR)?;
        Ok(Self {
            aws,
            region,
            import_key,
            allow: config::required(env, ALLOWED_SOURCES_VAR)?,
            max_per_invocation: config::in_range(MAX_PER_INVOCATION_VAR, max_per_invocation, 1..=1000)?,
            max_per_source_per_day: config::in_range(MAX_PER_SOURCE_PER_DAY_VAR, max_per_source_per_day, 1..=10_000)?,
            max_notice_age,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn env(extra: &[(&str, &str)]) -> BTreeMap<String, String> {
        let mut env: BTreeMap<String, String> = [
            (REGION_VAR, "us-east-1"),
            (IMPORT_KEY_VAR, "arn:aws:kms:us-east-1:222222222222:key/import"),
            (
                ALLOWED_SOURCES_VAR,
                r#"[{"account":"111111111111","export_key_arn":"arn:aws:kms:us-east-1:111111111111:key/k"}]"#,
            ),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        env.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        env
    }

    #[test]
    fn defaults() {
        let s = VaultSettings::from_env(&env(&[])).expect("valid");
        assert_eq!((s.max_per_invocation, s.max_per_source_per_day), (20, 50));
        assert_eq!(s.region, "us-east-1");
    }

    #[test]
    fn every_bad_setting_is_named() {
        for (name, value) in [
            (REGION_VAR, ""),
            (IMPORT_KEY_VAR, ""),
            (IMPORT_KEY_VAR, "alias/vault"),
            (ALLOWED_SOURCES_VAR, ""),
            (ALLOWED_SOURCES_VAR, "111111111111"),
            (MAX_PER_INVOCATION_VAR, "0"),
            (MAX_PER_SOURCE_PER_DAY_VAR, "lots"),
            (MAX_NOTICE_AGE_VAR, "5m"),
        ] {
            let err = VaultSettings::from_env(&env(&[(name, value)])).expect_err(value);
            assert_eq!(err.variable, name, "{value}: {err}");
        }
    }
}
