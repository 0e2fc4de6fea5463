//! The DynamoDB export job's settings, read once at start.

use std::time::Duration;

use offsite_common::aws::AwsSettings;
use offsite_common::config::{self, Env, KmsKeyArn, Setting};
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

/// An S3 bucket name (3–63 lowercase letters, digits, dots and hyphens).
#[derive(Debug, Clone, PartialEq, Eq)]
struct BucketName(String);

impl Setting for BucketName {
    fn expected() -> String {
        "an S3 bucket name (3 to 63 lowercase letters, digits, dots or hyphens)".to_owned()
    }
    fn parse_setting(raw: &str) -> Result<Self, String> {
        let ok = (3..=63).contains(&raw.len())
            && raw.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
            && raw.starts_with(|c: char| c.is_ascii_alphanumeric())
            && raw.ends_with(|c: char| c.is_ascii_alphanumeric());
        if ok { Ok(Self(raw.to_owned())) } else { Err("not a bucket name".to_owned()) }
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
            variable: offsite_common::aws::REGION_VAR.to_owned(),
            value: None,
            problem: "the export prefix names the region".to_owned(),
            expected: "an AWS region name such as eu-west-1".to_owned(),
        })?;
        let sse = config::or_default(env, SSE_VAR, "KMS".to_owned())?;
        let encryption = match sse.as_str() {
            "KMS" => Encryption::Kms(config::required(env, SSE_KEY_VAR)?),
            "AES256" => Encryption::Aes256,
            other => return Err(config::invalid(SSE_VAR, other, "unknown", "KMS or AES256")),
        };
        let format = config::or_default(env, FORMAT_VAR, "DYNAMODB_JSON".to_owned())?;
        if format != "DYNAMODB_JSON" && format != "ION" {
            return Err(config::invalid(FORMAT_VAR, &format, "unknown", "DYNAMODB_JSON or ION"));
        }
        // Read (and so checked) even when OFFSITE_TABLES makes them unused: the templates
        // always set them, and a malformed value must stop the start whatever the mode.
        let tag_key = config::or_default(env, SELECTION_TAG_KEY_VAR, "offsite-export".to_owned())?;
        let tag_value = config::or_default(env, SELECTION_TAG_VALUE_VAR, "true".to_owned())?;
        let tables = match config::optional::<Vec<String>>(env, TABLES_VAR)? {
            Some(names) => TableSelection::Named(names),
            None => TableSelection::Tagged { key: tag_key, value: tag_value },
        };
        let period = config::or_default(env, PERIOD_VAR, Duration::from_secs(86_400))?;
        if period < Duration::from_secs(900) {
            return Err(config::invalid(PERIOD_VAR, &format!("{}s", period.as_secs()), "too short", "at least 15m"));
        }
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
                    return Err(config::invalid(
                        PERIOD_VAR,
                        &format!("{}s", period.as_secs()),
                        "longer than an incremental export's 24 hour maximum",
                        "at most 24h with OFFSITE_EXPORT_TYPE=INCREMENTAL",
                    ));
                }
                if every < period || every.as_secs() % period.as_secs().max(1) != 0 {
                    return Err(config::invalid(
                        FULL_EVERY_VAR,
                        &format!("{}s", every.as_secs()),
                        "not a whole number of export periods",
                        format!("a multiple of {PERIOD_VAR} ({}s), such as 7d", period.as_secs()),
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
        let max_per_run = config::or_default(env, MAX_PER_RUN_VAR, MAX_IN_FLIGHT)?;
        let concurrency = config::or_default(env, CONCURRENCY_VAR, 16usize)?;
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
            max_per_run: config::in_range(MAX_PER_RUN_VAR, max_per_run, 1..=MAX_IN_FLIGHT)?,
            concurrency: config::in_range(CONCURRENCY_VAR, concurrency, 1..=32)?,
            mode,
            view_type,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn env(extra: &[(&str, &str)]) -> BTreeMap<String, String> {
        let mut env: BTreeMap<String, String> = [
            ("AWS_REGION", "us-east-1"),
            (BUCKET_VAR, "auditor-exports"),
            (BUCKET_OWNER_VAR, "333333333333"),
            (SSE_KEY_VAR, "arn:aws:kms:us-east-1:333333333333:key/audit"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        env.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        env
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
    fn incremental_exports_need_a_period_dynamodb_can_export_and_fulls_on_slot_boundaries() {
        let hourly = DynamoSettings::from_env(&env(&[(TYPE_VAR, "INCREMENTAL"), (PERIOD_VAR, "1h")])).expect("valid");
        assert_eq!(hourly.mode, ExportMode::Incremental { full_every_secs: 7 * 86_400 });
        assert_eq!(hourly.view_type, "NEW_AND_OLD_IMAGES");
        for (name, value, period) in
            [(PERIOD_VAR, "2d", "2d"), (FULL_EVERY_VAR, "90m", "1h"), (FULL_EVERY_VAR, "30m", "1h")]
        {
            let err = DynamoSettings::from_env(&env(&[(TYPE_VAR, "INCREMENTAL"), (PERIOD_VAR, period), (name, value)]))
                .expect_err(value);
            assert_eq!(err.variable, name, "{value}: {err}");
        }
    }

    #[test]
    fn every_bad_setting_is_named() {
        for (name, value) in [
            (BUCKET_VAR, ""),
            (BUCKET_VAR, "Auditor_Exports"),
            (BUCKET_OWNER_VAR, "auditor"),
            (SSE_VAR, "NONE"),
            (SSE_KEY_VAR, ""),
            (FORMAT_VAR, "CSV"),
            (PERIOD_VAR, "5m"),
            (MAX_PER_RUN_VAR, "301"),
            (CONCURRENCY_VAR, "0"),
            (TYPE_VAR, "DIFFERENTIAL"),
            (VIEW_TYPE_VAR, "OLD_IMAGE"),
        ] {
            let err = DynamoSettings::from_env(&env(&[(name, value)])).expect_err(value);
            assert_eq!(err.variable, name, "{value}: {err}");
        }
    }
}
