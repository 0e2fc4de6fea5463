//! The vault functions' settings, read once at start.

use std::time::Duration;

use offsite_common::ConfigError;
use offsite_common::aws::{AwsSettings, REGION_VAR, RegionName};
use offsite_common::config::{self, Env, KmsKeyArn, Setting};

use crate::allow::AllowList;
use crate::register::RegisterPath;
use crate::retention::Policy;

pub const IMPORT_KEY_VAR: &str = "OFFSITE_IMPORT_KEY_ARN";
pub const ALLOWED_SOURCES_VAR: &str = "OFFSITE_ALLOWED_SOURCES";
pub const MAX_PER_INVOCATION_VAR: &str = "OFFSITE_MAX_IMPORTS_PER_INVOCATION";
pub const MAX_PER_SOURCE_PER_DAY_VAR: &str = "OFFSITE_MAX_IMPORTS_PER_SOURCE_PER_DAY";
pub const IMPORT_CONCURRENCY_VAR: &str = "OFFSITE_IMPORT_CONCURRENCY";
pub const MAX_NOTICE_AGE_VAR: &str = "OFFSITE_MAX_NOTICE_AGE";
pub use offsite_common::aws::DR_REGION_VAR;
pub const DR_KEY_VAR: &str = "OFFSITE_DR_KEY_ARN";
pub const REGISTER_PATH_VAR: &str = "OFFSITE_PROTECTED_DATABASES_PATH";

/// An SQS batch holds at most 10 messages; two batches' worth per invocation by default.
pub const DEFAULT_MAX_PER_INVOCATION: u32 = 20;
/// Records (or shares) handled at once: an SQS event source's default batch (10 messages,
/// Lambda Developer Guide, "Using Lambda with Amazon SQS", BatchSize), so a batch's verify
/// and copy calls overlap instead of queueing behind each other. Each record makes two RDS
/// calls; the copies themselves run in RDS, so this bounds API calls in flight, not copies
/// (RDS throttles an account by its API rate: `Throttling`, which the SDK retries).
pub const DEFAULT_IMPORT_CONCURRENCY: usize = 10;
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
    /// Records (or shares) handled at once ([`DEFAULT_IMPORT_CONCURRENCY`]).
    pub import_concurrency: usize,
    pub max_notice_age: Duration,
    /// The optional second region of the vault account.
    pub dr: Option<DrSettings>,
    /// Where the reconciler remembers the databases the vault protects.
    pub register: RegisterPath,
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
        let region: Option<RegionName> = config::optional(env, DR_REGION_VAR)?;
        let key: Option<KmsKeyArn> = config::optional(env, DR_KEY_VAR)?;
        match (region, key) {
            (None, None) => Ok(None),
            (Some(_), None) => Err(ConfigError {
                variable: DR_KEY_VAR.to_owned(),
                value: None,
                problem: format!("required when {DR_REGION_VAR} is set"),
                expected: format!("{}, of the vault account in the second region", KmsKeyArn::expected()),
            }),
            (None, Some(key)) => Err(ConfigError {
                variable: DR_REGION_VAR.to_owned(),
                value: None,
                problem: format!("required when {DR_KEY_VAR} is set"),
                expected: format!("{} ({DR_KEY_VAR} is a key in {})", RegionName::expected(), key_region(&key)),
            }),
            (Some(RegionName(region)), Some(key)) => {
                if region == primary_region {
                    return Err(config::invalid(
                        DR_REGION_VAR,
                        &region,
                        "the vault's own region",
                        format!("{} other than {primary_region} ({REGION_VAR})", RegionName::expected()),
                    ));
                }
                key_in_region(DR_KEY_VAR, &key, &region, DR_REGION_VAR)?;
                Ok(Some(Self { region, key }))
            }
        }
    }
}

/// The region of a KMS key ARN.
fn key_region(key: &KmsKeyArn) -> &str {
    key.as_str().split(':').nth(3).unwrap_or_default()
}

/// RDS copies with a key of the copy's region: `key` (read from `name`) must be in `region`
/// (read from `region_var`).
fn key_in_region(name: &str, key: &KmsKeyArn, region: &str, region_var: &str) -> Result<(), ConfigError> {
    if key_region(key) == region {
        return Ok(());
    }
    Err(config::invalid(
        name,
        key.as_str(),
        &format!("not a key in {region} ({region_var})"),
        format!("a KMS key ARN in {region}, such as arn:aws:kms:{region}:<vault account>:key/<id>"),
    ))
}

/// The vault's region: required, the vault refuses snapshots and keys of other regions.
fn vault_region(aws: &AwsSettings) -> Result<String, ConfigError> {
    aws.region.clone().ok_or_else(|| ConfigError {
        variable: REGION_VAR.to_owned(),
        value: None,
        problem: "the vault must know its region to refuse snapshots of other regions".to_owned(),
        expected: RegionName::expected(),
    })
}

impl VaultSettings {
    pub fn from_env(env: &impl Env) -> Result<Self, ConfigError> {
        let aws = AwsSettings::from_env(env)?;
        let region = vault_region(&aws)?;
        let max_per_invocation = config::number_in(env, MAX_PER_INVOCATION_VAR, DEFAULT_MAX_PER_INVOCATION, 1..=1000)?;
        let max_per_source_per_day =
            config::number_in(env, MAX_PER_SOURCE_PER_DAY_VAR, DEFAULT_MAX_PER_SOURCE_PER_DAY, 1..=10_000)?;
        let max_notice_age = config::duration_in(
            env,
            MAX_NOTICE_AGE_VAR,
            DEFAULT_MAX_NOTICE_AGE,
            Duration::from_secs(3600)..=Duration::MAX,
        )?;
        let import_key: KmsKeyArn = config::required(env, IMPORT_KEY_VAR)?;
        // A shared snapshot is copied within its region, the vault's.
        key_in_region(IMPORT_KEY_VAR, &import_key, &region, REGION_VAR)?;
        let dr = DrSettings::from_env(env, &region)?;
        Ok(Self {
            dr,
            aws,
            region,
            import_key,
            allow: config::required(env, ALLOWED_SOURCES_VAR)?,
            max_per_invocation,
            max_per_source_per_day,
            import_concurrency: config::number_in(env, IMPORT_CONCURRENCY_VAR, DEFAULT_IMPORT_CONCURRENCY, 1..=20)?,
            max_notice_age,
            register: config::or_default(env, REGISTER_PATH_VAR, RegisterPath::default())?,
        })
    }
}

/// Everything the retention function needs: its own policy, and the vault's regions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionSettings {
    pub aws: AwsSettings,
    pub policy: Policy,
    /// The second region, where the same policy applies.
    pub dr: Option<DrSettings>,
}

impl RetentionSettings {
    pub fn from_env(env: &impl Env) -> Result<Self, ConfigError> {
        let aws = AwsSettings::from_env(env)?;
        let region = vault_region(&aws)?;
        Ok(Self { policy: Policy::from_env(env)?, dr: DrSettings::from_env(env, &region)?, aws })
    }
}

#[cfg(test)]
mod tests {
    use offsite_common::aws::AWS_MALFORMED;
    use offsite_common::config::Recording;
    use offsite_common::config::coverage::{self, TestEnv, check_rule, check_settings};

    use super::*;

    /// A valid environment.
    const BASE: &[(&str, &str)] = &[
        (REGION_VAR, "us-east-1"),
        (IMPORT_KEY_VAR, "arn:aws:kms:us-east-1:222222222222:key/import"),
        (
            ALLOWED_SOURCES_VAR,
            r#"[{"account":"111111111111","export_key_arn":"arn:aws:kms:us-east-1:111111111111:key/k"}]"#,
        ),
    ];

    fn env(extra: &[(&str, &str)]) -> offsite_common::config::coverage::TestEnv {
        offsite_common::config::coverage::env_over(BASE, extra)
    }

    #[test]
    fn defaults() {
        let s = VaultSettings::from_env(&env(&[])).expect("valid");
        assert_eq!((s.max_per_invocation, s.max_per_source_per_day), (20, 50));
        assert_eq!(s.region, "us-east-1");
    }

    /// The second region's rules, the same for every reader of [`DrSettings`].
    fn check_dr_rules<T: std::fmt::Debug>(
        read: impl Fn(&Recording<'_, TestEnv>) -> Result<T, ConfigError> + Copy,
        base: &[(&str, &str)],
    ) {
        let (dr_key, other_key) =
            ("arn:aws:kms:us-west-2:222222222222:key/dr", "arn:aws:kms:eu-west-1:222222222222:key/dr");
        let mut both = coverage::env(base);
        both.extend(coverage::env(&[(DR_REGION_VAR, "us-west-2"), (DR_KEY_VAR, dr_key)]));
        let dr = read(&Recording::new(&both));
        assert!(dr.is_ok(), "{dr:?}");
        let rules = [
            (vec![(DR_REGION_VAR, "us-west-2")], (DR_KEY_VAR, None, "a KMS key ARN such as")),
            (vec![(DR_KEY_VAR, dr_key)], (DR_REGION_VAR, None, "an AWS region name such as")),
            (
                vec![(DR_REGION_VAR, "us-east-1"), (DR_KEY_VAR, "arn:aws:kms:us-east-1:222222222222:key/dr")],
                (DR_REGION_VAR, Some("us-east-1"), "other than us-east-1"),
            ),
            (
                vec![(DR_REGION_VAR, "us-west-2"), (DR_KEY_VAR, other_key)],
                (DR_KEY_VAR, Some(other_key), "a KMS key ARN in us-west-2"),
            ),
        ];
        for (set, refusal) in rules {
            check_rule(read, base, &set, refusal);
        }
    }

    const REGION: &str = "an AWS region name such as";
    const DR_MALFORMED: &[(&str, &str, &str)] = &[
        (DR_REGION_VAR, "Oregon", REGION),
        (DR_REGION_VAR, "us-west", REGION),
        (DR_KEY_VAR, "alias/dr", "a KMS key ARN such as"),
    ];

    #[test]
    fn every_variable_the_importer_and_reconciler_read_is_refused_when_missing_or_malformed() {
        let base = [
            (REGION_VAR, "us-east-1"),
            (IMPORT_KEY_VAR, "arn:aws:kms:us-east-1:222222222222:key/import"),
            (
                ALLOWED_SOURCES_VAR,
                r#"[{"account":"111111111111","export_key_arn":"arn:aws:kms:us-east-1:111111111111:key/k"}]"#,
            ),
        ];
        let (key, sources, path) = ("a KMS key ARN such as", "a JSON list such as", "an SSM parameter path such as");
        let (per_run, per_day, age) =
            ("a whole number from 1 to 1000", "a whole number from 1 to 10000", "a duration of at least 1h");
        let own = [
            (IMPORT_KEY_VAR, "alias/vault", key),
            (IMPORT_KEY_VAR, "arn:aws:kms:eu-west-1:222222222222:key/import", "a KMS key ARN in us-east-1"),
            (ALLOWED_SOURCES_VAR, "111111111111", sources),
            (ALLOWED_SOURCES_VAR, "[]", sources),
            (
                ALLOWED_SOURCES_VAR,
                r#"[{"account":"111111111111","export_key_arn":"arn:aws:kms:us-east-1:444444444444:key/k"}]"#,
                sources,
            ),
            (MAX_PER_INVOCATION_VAR, "0", per_run),
            (MAX_PER_INVOCATION_VAR, "1001", per_run),
            (MAX_PER_INVOCATION_VAR, "lots", per_run),
            (MAX_PER_SOURCE_PER_DAY_VAR, "lots", per_day),
            (MAX_PER_SOURCE_PER_DAY_VAR, "0", per_day),
            (IMPORT_CONCURRENCY_VAR, "0", "a whole number from 1 to 20"),
            (IMPORT_CONCURRENCY_VAR, "64", "a whole number from 1 to 20"),
            (MAX_NOTICE_AGE_VAR, "5m", age),
            (MAX_NOTICE_AGE_VAR, "a week", age),
            (REGISTER_PATH_VAR, "offsite/protected", path),
            (REGISTER_PATH_VAR, "/aws/offsite", path),
            (REGISTER_PATH_VAR, "/offsite//protected", path),
        ];
        let malformed = [own.as_slice(), DR_MALFORMED, AWS_MALFORMED].concat();
        let required = [(REGION_VAR, REGION), (IMPORT_KEY_VAR, key), (ALLOWED_SOURCES_VAR, sources)];
        let read = check_settings(|e| VaultSettings::from_env(e), &base, &malformed, &required);
        assert_eq!(read.len(), 12, "{read:?}");
        check_dr_rules(|e| VaultSettings::from_env(e), &base);
    }

    #[test]
    fn every_variable_retention_reads_is_refused_when_missing_or_malformed() {
        use crate::retention::{DAILY_VAR, DRY_RUN_VAR, KEEP_LAST_VAR, MIN_AGE_VAR, MONTHLY_VAR, WEEKLY_VAR};
        let base = [(REGION_VAR, "us-east-1")];
        let (last, count, age) =
            ("a whole number from 1 to 1000", "a whole number from 0 to 4294967295", "a duration of at least 1d");
        let own = [
            (KEEP_LAST_VAR, "0", last),
            (KEEP_LAST_VAR, "1001", last),
            (KEEP_LAST_VAR, "all", last),
            (MIN_AGE_VAR, "12h", age),
            (MIN_AGE_VAR, "a week", age),
            (DAILY_VAR, "-1", count),
            (WEEKLY_VAR, "five", count),
            (MONTHLY_VAR, "12.5", count),
            (DRY_RUN_VAR, "yes", "true or false"),
        ];
        let malformed = [own.as_slice(), DR_MALFORMED, AWS_MALFORMED].concat();
        let read = check_settings(|e| RetentionSettings::from_env(e), &base, &malformed, &[(REGION_VAR, REGION)]);
        assert_eq!(read.len(), 11, "{read:?}");
        check_dr_rules(|e| RetentionSettings::from_env(e), &base);
    }
}
