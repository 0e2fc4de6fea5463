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
pub const DR_REGION_VAR: &str = "OFFSITE_DR_REGION";
pub const DR_KEY_VAR: &str = "OFFSITE_DR_KEY_ARN";

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
    /// The optional second region of the vault account.
    pub dr: Option<DrSettings>,
}

/// Where the vault keeps a second copy of every import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrSettings {
    pub region: String,
    /// A key of the vault account in that region.
    pub key: KmsKeyArn,
}

impl DrSettings {
    /// Reads [`DR_REGION_VAR`] and [`DR_KEY_VAR`]: both or neither.
    pub fn from_env(env: &impl Env, primary_region: &str) -> Result<Option<Self>, ConfigError> {
        let region: Option<String> = config::optional(env, DR_REGION_VAR)?;
        let key: Option<KmsKeyArn> = config::optional(env, DR_KEY_VAR)?;
        match (region, key) {
            (None, None) => Ok(None),
            (Some(_), None) => Err(ConfigError {
                variable: DR_KEY_VAR.to_owned(),
                value: None,
                problem: format!("required when {DR_REGION_VAR} is set"),
                expected: "a KMS key ARN of the vault account in the second region".to_owned(),
            }),
            (None, Some(key)) => Err(config::invalid(
                DR_REGION_VAR,
                "",
                &format!("not set although {DR_KEY_VAR} is ({key})"),
                "the second region's name",
            )),
            (Some(region), Some(key)) => {
                if region == primary_region {
                    return Err(config::invalid(DR_REGION_VAR, &region, "the vault's own region", "another region"));
                }
                if key.as_str().split(':').nth(3) != Some(region.as_str()) {
                    return Err(config::invalid(
                        DR_KEY_VAR,
                        key.as_str(),
                        &format!("not a key in {region}"),
                        "a key in the second region",
                    ));
                }
                Ok(Some(Self { region, key }))
            }
        }
    }
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
        let dr = DrSettings::from_env(env, &region)?;
        Ok(Self {
            dr,
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
    fn the_second_region_needs_its_own_key_there() {
        let dr = VaultSettings::from_env(&env(&[
            (DR_REGION_VAR, "us-west-2"),
            (DR_KEY_VAR, "arn:aws:kms:us-west-2:222222222222:key/dr"),
        ]))
        .expect("valid");
        assert_eq!(dr.dr.map(|d| d.region), Some("us-west-2".to_owned()));
        let err = VaultSettings::from_env(&env(&[
            (DR_REGION_VAR, "us-west-2"),
            (DR_KEY_VAR, "arn:aws:kms:eu-west-1:222222222222:key/dr"),
        ]))
        .expect_err("key elsewhere");
        assert_eq!(err.variable, DR_KEY_VAR);
        let missing_key = VaultSettings::from_env(&env(&[(DR_REGION_VAR, "us-west-2")])).expect_err("no key");
        assert_eq!(missing_key.variable, DR_KEY_VAR);
        let missing_region =
            VaultSettings::from_env(&env(&[(DR_KEY_VAR, "arn:aws:kms:us-west-2:222222222222:key/dr")]))
                .expect_err("no region");
        assert_eq!(missing_region.variable, DR_REGION_VAR);
        let same = VaultSettings::from_env(&env(&[
            (DR_REGION_VAR, "us-east-1"),
            (DR_KEY_VAR, "arn:aws:kms:us-east-1:222222222222:key/dr"),
        ]))
        .expect_err("same region");
        assert_eq!(same.variable, DR_REGION_VAR);
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
