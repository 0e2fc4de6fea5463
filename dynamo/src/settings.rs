//! The DynamoDB export job's settings, read once at start.

use std::time::Duration;

use offsite_common::aws::{AwsSettings, REGION_VAR, RegionName};
use offsite_common::config::{self, BucketName, Env, KmsKeyArn, Setting, TagKey, TagValue};
use offsite_common::{AccountId, ConfigError};

use crate::plan::ExportMode;

pub const BUCKET_VAR: &str = "OFFSITE_EXPORT_BUCKET";
pub const BUCKET_OWNER_VAR: &str = "OFFSITE_EXPORT_BUCKET_OWNER";
pub const PREFIX_VAR: &str = "OFFSITE_EXPORT_PREFIX";
pub const SSE_VAR: &str = "OFFSITE_EXPORT_SSE";
pub const SSE_KEY_VAR: &str = "OFFSITE_EXPORT_SSE_KMS_KEY_ARN";
pub const FORMAT_VAR: &str = "OFFSITE_EXPORT_FORMAT";
pub const TABLES_VAR: &str = "OFFSITE_TABLES";
pub const SELECTION_TAG_KEY_VAR: &str = "OFFSITE_SELECTION_TAG_KEY";
pub const SELECTION_TAG_VALUE_VAR: &str = "OFFSITE_SELECTION_TAG_VALUE";
pub const PERIOD_VAR: &str = "OFFSITE_EXPORT_PERIOD";
pub const MAX_PER_RUN_VAR: &str = "OFFSITE_MAX_EXPORTS_PER_RUN";
pub const CONCURRENCY_VAR: &str = "OFFSITE_EXPORT_CONCURRENCY";
pub const TYPE_VAR: &str = "OFFSITE_EXPORT_TYPE";
pub const FULL_EVERY_VAR: &str = "OFFSITE_FULL_EXPORT_EVERY";
pub const VIEW_TYPE_VAR: &str = "OFFSITE_EXPORT_VIEW_TYPE";

/// DynamoDB's limit on exports in progress per account ("Quotas in DynamoDB": 300 export
/// tasks); the job counts the ones already running.
pub const MAX_IN_FLIGHT: u32 = 300;

/// How the export objects are encrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Encryption {
    /// SSE-KMS with the auditor's key.
    Kms(KmsKeyArn),
    /// SSE-S3.
    Aes256,
}

/// Which tables are exported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableSelection {
    /// Exactly these table names.
    Named(Vec<String>),
    /// Tables tagged `key=value`.
    Tagged { key: String, value: String },
}

/// A DynamoDB table name (3–255 letters, digits, `_`, `-` and `.`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct TableName(String);

impl Setting for TableName {
    fn expected() -> String {
        "a table name (3 to 255 letters, digits, _, - or .)".to_owned()
    }
    fn parse_setting(raw: &str) -> Result<Self, String> {
        let ok = (3..=255).contains(&raw.len())
            && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
        if ok { Ok(Self(raw.to_owned())) } else { Err("not a table name".to_owned()) }
    }
}

/// Everything the job needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DynamoSettings {
    pub aws: AwsSettings,
    pub region: String,
    pub bucket: String,
    pub bucket_owner: AccountId,
    pub prefix: String,
    pub encryption: Encryption,
    /// `DYNAMODB_JSON` or `ION`.
    pub format: String,
    pub tables: TableSelection,
    /// The schedule's period: one export per table and slot.
    pub period: Duration,
    pub max_per_run: u32,
    pub concurrency: usize,
    /// Full exports only, or incremental exports between periodic full ones.
    pub mode: ExportMode,
    /// `NEW_AND_OLD_IMAGES` or `NEW_IMAGE` (incremental exports only).
    pub view_type: String,
}

impl DynamoSettings {
    pub fn from_env(env: &impl Env) -> Result<Self, ConfigError> {
        let aws = AwsSettings::from_env(env)?;
        let region = aws.region.clone().ok_or_else(|| ConfigError {
            variable: REGION_VAR.to_owned(),
            value: None,
            problem: "the export prefix names the region".to_owned(),
            expected: RegionName::expected(),
        })?;
        let sse = config::or_default(env, SSE_VAR, "KMS".to_owned())?;
        // Checked with AES256 too: the templates always pass it, and garbage must not pass.
        let key: Option<KmsKeyArn> = config::optional(env, SSE_KEY_VAR)?;
        let encryption = match (sse.as_str(), key) {
            ("KMS", Some(key)) => Encryption::Kms(key),
            ("KMS", None) => {
                return Err(ConfigError {
                    variable: SSE_KEY_VAR.to_owned(),
                    value: None,
                    problem: format!("required with {SSE_VAR}=KMS (the default)"),
                    expected: format!("{} (the auditor's key), or {SSE_VAR}=AES256", KmsKeyArn::expected()),
                });
            }
            ("AES256", _) => Encryption::Aes256,
            (other, _) => return Err(config::invalid(SSE_VAR, other, "unknown", "KMS or AES256")),
        };
        let format = config::or_default(env, FORMAT_VAR, "DYNAMODB_JSON".to_owned())?;
        if format != "DYNAMODB_JSON" && format != "ION" {
            return Err(config::invalid(FORMAT_VAR, &format, "unknown", "DYNAMODB_JSON or ION"));
        }
        // Read (and so checked) even when OFFSITE_TABLES makes them unused: the templates
        // always set them, and a malformed value must stop the start whatever the mode.
        let TagKey(tag_key) = config::or_default(env, SELECTION_TAG_KEY_VAR, TagKey("offsite-export".to_owned()))?;
        let TagValue(tag_value) = config::or_default(env, SELECTION_TAG_VALUE_VAR, TagValue("true".to_owned()))?;
        let tables = match config::optional::<Vec<TableName>>(env, TABLES_VAR)? {
            Some(names) => TableSelection::Named(names.into_iter().map(|n| n.0).collect()),
            None => TableSelection::Tagged { key: tag_key, value: tag_value },
        };
        let period = config::duration_in(
            env,
            PERIOD_VAR,
            Duration::from_secs(86_400),
            Duration::from_secs(900)..=Duration::MAX,
        )?;
        let prefix = config::or_default(env, PREFIX_VAR, "offsite".to_owned())?;
        if prefix.contains("//") || prefix.len() > 200 {
            return Err(config::invalid(
                PREFIX_VAR,
                &prefix,
                "empty segment or too long",
                "a key prefix such as offsite/dynamodb",
            ));
        }
        // Checked in every mode (used by incremental exports only).
        let every = config::or_default(env, FULL_EVERY_VAR, Duration::from_secs(7 * 86_400))?;
        let mode = match config::or_default(env, TYPE_VAR, "FULL".to_owned())?.as_str() {
            "FULL" => ExportMode::Full,
            "INCREMENTAL" => {
                // DynamoDB exports at most 24 hours of changes at once.
                if period > Duration::from_secs(86_400) {
                    return Err(config::rule_error(
                        env,
                        PERIOD_VAR,
                        &config::duration_text(period),
                        "longer than an incremental export's 24 hour maximum",
                        format!("a duration from 15m to 24h with {TYPE_VAR}=INCREMENTAL"),
                    ));
                }
                if every < period || every.as_secs() % period.as_secs().max(1) != 0 {
                    // About a week of whole periods, as an example that fits.
                    let whole = u32::try_from(604_800 / period.as_secs().max(1)).unwrap_or(1).max(1);
                    let example = config::duration_text(period * whole);
                    let period = config::duration_text(period);
                    return Err(config::rule_error(
                        env,
                        FULL_EVERY_VAR,
                        &config::duration_text(every),
                        &format!("not a whole number of export periods ({PERIOD_VAR}={period})"),
                        format!("a duration that is a multiple of {PERIOD_VAR} ({period}), such as {example}"),
                    ));
                }
                ExportMode::Incremental { full_every_secs: i64::try_from(every.as_secs()).unwrap_or(i64::MAX) }
            }
            other => return Err(config::invalid(TYPE_VAR, other, "unknown", "FULL or INCREMENTAL")),
        };
        let view_type = config::or_default(env, VIEW_TYPE_VAR, "NEW_AND_OLD_IMAGES".to_owned())?;
        if view_type != "NEW_AND_OLD_IMAGES" && view_type != "NEW_IMAGE" {
            return Err(config::invalid(VIEW_TYPE_VAR, &view_type, "unknown", "NEW_AND_OLD_IMAGES or NEW_IMAGE"));
        }
        let max_per_run = config::number_in(env, MAX_PER_RUN_VAR, MAX_IN_FLIGHT, 1..=MAX_IN_FLIGHT)?;
        let concurrency = config::number_in(env, CONCURRENCY_VAR, 16usize, 1..=32)?;
        Ok(Self {
            aws,
            region,
            bucket: config::required::<BucketName>(env, BUCKET_VAR)?.0,
            bucket_owner: config::required(env, BUCKET_OWNER_VAR)?,
            prefix,
            encryption,
            format,
            tables,
            period,
            max_per_run,
            concurrency,
            mode,
            view_type,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A valid environment.
    const BASE: &[(&str, &str)] = &[
        ("AWS_REGION", "us-east-1"),
        (BUCKET_VAR, "auditor-exports"),
        (BUCKET_OWNER_VAR, "333333333333"),
        (SSE_KEY_VAR, "arn:aws:kms:us-east-1:333333333333:key/audit"),
    ];

    fn env(extra: &[(&str, &str)]) -> offsite_common::config::coverage::TestEnv {
        offsite_common::config::coverage::env_over(BASE, extra)
    }

    #[test]
    fn defaults_to_kms_json_daily_tagged_tables() {
        let s = DynamoSettings::from_env(&env(&[])).expect("valid");
        assert!(matches!(s.encryption, Encryption::Kms(_)));
        assert_eq!((s.format.as_str(), s.period.as_secs(), s.max_per_run), ("DYNAMODB_JSON", 86_400, 300));
        assert_eq!(s.tables, TableSelection::Tagged { key: "offsite-export".into(), value: "true".into() });
        let named =
            DynamoSettings::from_env(&env(&[(TABLES_VAR, "orders,ledger"), (SSE_VAR, "AES256")])).expect("valid");
        assert_eq!(named.tables, TableSelection::Named(vec!["orders".into(), "ledger".into()]));
        assert_eq!(named.encryption, Encryption::Aes256);
        assert_eq!(named.mode, ExportMode::Full);
    }

    #[test]
    fn hourly_incremental_exports_with_weekly_fulls_are_valid() {
        let hourly = DynamoSettings::from_env(&env(&[(TYPE_VAR, "INCREMENTAL"), (PERIOD_VAR, "1h")])).expect("valid");
        assert_eq!(hourly.mode, ExportMode::Incremental { full_every_secs: 7 * 86_400 });
        assert_eq!(hourly.view_type, "NEW_AND_OLD_IMAGES");
    }

    #[test]
    fn every_variable_read_is_refused_when_missing_or_malformed() {
        use offsite_common::aws::AWS_MALFORMED;
        use offsite_common::config::coverage::{check_rule, check_settings};
        let base = [
            ("AWS_REGION", "us-east-1"),
            (BUCKET_VAR, "auditor-exports"),
            (BUCKET_OWNER_VAR, "333333333333"),
            (SSE_KEY_VAR, "arn:aws:kms:us-east-1:333333333333:key/audit"),
        ];
        let (bucket, account, key) = ("an S3 bucket name", "a 12-digit AWS account id", "a KMS key ARN such as");
        let (tables, per_run, concurrency) =
            ("each item a table name", "a whole number from 1 to 300", "a whole number from 1 to 32");
        let own = [
            (BUCKET_VAR, "Auditor_Exports", bucket),
            (BUCKET_VAR, "ab", bucket),
            (BUCKET_OWNER_VAR, "auditor", account),
            (SSE_VAR, "NONE", "KMS or AES256"),
            (SSE_VAR, "kms", "KMS or AES256"),
            (SSE_KEY_VAR, "alias/audit", key),
            (FORMAT_VAR, "CSV", "DYNAMODB_JSON or ION"),
            (SELECTION_TAG_KEY_VAR, "backup!", "a tag key of at most 128"),
            (SELECTION_TAG_VALUE_VAR, "a;b", "a tag value of at most 256"),
            (TABLES_VAR, "orders, ledger", tables),
            (TABLES_VAR, "orders,,ledger", tables),
            (TABLES_VAR, "ab", tables),
            (PERIOD_VAR, "5m", "a duration of at least 15m"),
            (PERIOD_VAR, "daily", "a duration of at least 15m"),
            (PREFIX_VAR, "offsite//dynamodb", "a key prefix such as"),
            (FULL_EVERY_VAR, "weekly", "a duration such as"),
            (TYPE_VAR, "DIFFERENTIAL", "FULL or INCREMENTAL"),
            (VIEW_TYPE_VAR, "OLD_IMAGE", "NEW_AND_OLD_IMAGES or NEW_IMAGE"),
            (MAX_PER_RUN_VAR, "301", per_run),
            (MAX_PER_RUN_VAR, "0", per_run),
            (CONCURRENCY_VAR, "0", concurrency),
            (CONCURRENCY_VAR, "33", concurrency),
        ];
        let malformed = [own.as_slice(), AWS_MALFORMED].concat();
        let required = [
            ("AWS_REGION", "an AWS region name such as"),
            (BUCKET_VAR, bucket),
            (BUCKET_OWNER_VAR, account),
            (SSE_KEY_VAR, "or OFFSITE_EXPORT_SSE=AES256"),
        ];
        let read = check_settings(|e| DynamoSettings::from_env(e), &base, &malformed, &required);
        assert_eq!(read.len(), 18, "{read:?}");
        let incremental = |period| [(TYPE_VAR, "INCREMENTAL"), (PERIOD_VAR, period)];
        let multiple = "a duration that is a multiple of OFFSITE_EXPORT_PERIOD";
        let rules = [
            (
                incremental("2d").to_vec(),
                (PERIOD_VAR, Some("2d"), "from 15m to 24h with OFFSITE_EXPORT_TYPE=INCREMENTAL"),
            ),
            (
                [incremental("1h").as_slice(), &[(FULL_EVERY_VAR, "90m")]].concat(),
                (FULL_EVERY_VAR, Some("90m"), multiple),
            ),
            (
                [incremental("1h").as_slice(), &[(FULL_EVERY_VAR, "30m")]].concat(),
                (FULL_EVERY_VAR, Some("30m"), multiple),
            ),
            // The default (7d) is no multiple of 5h: named, as not set, with an example that is.
            (
                incremental("5h").to_vec(),
                (FULL_EVERY_VAR, None, "multiple of OFFSITE_EXPORT_PERIOD (5h), such as 165h"),
            ),
            // The key is checked with AES256 too.
            (vec![(SSE_VAR, "AES256"), (SSE_KEY_VAR, "alias/audit")], (SSE_KEY_VAR, Some("alias/audit"), key)),
        ];
        for (set, refusal) in rules {
            check_rule(|e| DynamoSettings::from_env(e), &base, &set, refusal);
        }
    }
}
