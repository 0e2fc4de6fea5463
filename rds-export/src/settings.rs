//! The RDS export function's settings, read once at start.

use std::time::Duration;

use offsite_common::ConfigError;
use offsite_common::aws::{AwsSettings, REGION_VAR, RegionName};
use offsite_common::config::{self, BucketName, Env, KmsKeyArn, RoleArn, Setting};

use crate::plan::{DatabasePattern, MAX_RUNNING_PER_ACCOUNT, Period, Policy};

pub const BUCKET_VAR: &str = "OFFSITE_RDS_EXPORT_BUCKET";
pub const PREFIX_VAR: &str = "OFFSITE_RDS_EXPORT_PREFIX";
pub const ROLE_VAR: &str = "OFFSITE_RDS_EXPORT_ROLE_ARN";
pub const KEY_VAR: &str = "OFFSITE_RDS_EXPORT_KEY_ARN";
pub const PERIOD_VAR: &str = "OFFSITE_RDS_EXPORT_PERIOD";
pub const GRACE_VAR: &str = "OFFSITE_RDS_EXPORT_GRACE";
pub const LOOKBACK_VAR: &str = "OFFSITE_RDS_EXPORT_LOOKBACK";
pub const DATABASES_VAR: &str = "OFFSITE_RDS_EXPORT_DATABASES";
/// `key=value`: only databases whose source carries that tag (carried by the workload's
/// `OFFSITE_CARRY_SOURCE_TAGS`).
pub const SOURCE_TAG_VAR: &str = "OFFSITE_RDS_EXPORT_SOURCE_TAG";
pub const EXPORT_ONLY_VAR: &str = "OFFSITE_RDS_EXPORT_ONLY";
pub const MAX_RUNNING_VAR: &str = "OFFSITE_RDS_EXPORT_MAX_RUNNING";

/// Everything one run needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RdsExportSettings {
    pub aws: AwsSettings,
    pub region: String,
    /// The role RDS assumes to write into the bucket (it trusts `export.rds.amazonaws.com`).
    pub export_role: RoleArn,
    /// The key RDS encrypts the exported files with (in the vault's region).
    pub export_key: KmsKeyArn,
    pub policy: Policy,
}

/// `7d` (whole days) or `month` (calendar months, UTC). Whole days: an export is named by its
/// snapshot's day (`plan::task_identifier`), so at most one per database and day.
impl Setting for Period {
    fn expected() -> String {
        "a whole number of days such as 7d, or month (calendar months: the month-end copy)".to_owned()
    }
    fn parse_setting(raw: &str) -> Result<Self, String> {
        if raw == "month" {
            return Ok(Self::CalendarMonth);
        }
        let duration = Duration::parse_setting(raw)?;
        let secs = i64::try_from(duration.as_secs()).map_err(|_| "too long".to_owned())?;
        if secs < 86_400 || secs % 86_400 != 0 {
            return Err("not a whole number of days".to_owned());
        }
        Ok(Self::Every { secs })
    }
}

/// `db` or `account/db`: a DB instance or cluster identifier (1–63 letters, digits and
/// hyphens), optionally in one source account.
impl Setting for DatabasePattern {
    fn expected() -> String {
        "a source database as <db-identifier> or <12-digit account>/<db-identifier>".to_owned()
    }
    fn parse_setting(raw: &str) -> Result<Self, String> {
        let (account, database) = match raw.split_once('/') {
            Some((account, database)) => {
                let account: offsite_common::AccountId = account.parse().map_err(|_| "the account is not 12 digits")?;
                (Some(account.to_string()), database)
            }
            None => (None, raw),
        };
        let valid =
            (1..=63).contains(&database.len()) && database.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !valid {
            return Err(format!("{database:?} is not a DB identifier"));
        }
        Ok(Self { account, database: database.to_ascii_lowercase() })
    }
}

/// `ExportOnly` per database, as JSON: `{"orders": ["shop.public.orders"], "111111111111/ledger": ["ledger"]}`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ExportOnly(Vec<(DatabasePattern, Vec<String>)>);

impl Setting for ExportOnly {
    fn expected() -> String {
        r#"a JSON object of source databases to ExportOnly lists, such as {"orders": ["shop.public.orders"]}"#
            .to_owned()
    }
    fn parse_setting(raw: &str) -> Result<Self, String> {
        let map: std::collections::BTreeMap<String, Vec<String>> =
            serde_json::from_str(raw).map_err(|e| format!("not a JSON object of string lists: {e}"))?;
        let mut parsed = Vec::new();
        for (database, entries) in map {
            let pattern = DatabasePattern::parse_setting(&database)?;
            if entries.is_empty() {
                return Err(format!("{database}: an empty list (leave the database out to export everything)"));
            }
            if let Some(bad) = entries.iter().find(|e| e.split('.').count() > 3 || e.split('.').any(str::is_empty)) {
                return Err(format!("{database}: {bad:?} is not database[.schema][.table]"));
            }
            parsed.push((pattern, entries));
        }
        Ok(Self(parsed))
    }
}

impl RdsExportSettings {
    pub fn from_env(env: &impl Env) -> Result<Self, ConfigError> {
        let aws = AwsSettings::from_env(env)?;
        let region = aws.region.clone().ok_or_else(|| ConfigError {
            variable: REGION_VAR.to_owned(),
            value: None,
            problem: "the export key and the bucket must be in the vault copies' region".to_owned(),
            expected: RegionName::expected(),
        })?;
        let export_key: KmsKeyArn = config::required(env, KEY_VAR)?;
        // StartExportTask, KmsKeyId: the key must be in the snapshot's Region.
        if export_key.as_str().split(':').nth(3) != Some(region.as_str()) {
            return Err(config::invalid(
                KEY_VAR,
                export_key.as_str(),
                &format!("not in {region}, the vault copies' region"),
                format!("a KMS key ARN in {region} (RDS encrypts an export with a key of the snapshot's region)"),
            ));
        }
        let period = config::or_default(env, PERIOD_VAR, Period::Every { secs: 7 * 86_400 })?;
        let period_secs = match period {
            Period::Every { secs } => u64::try_from(secs).unwrap_or(u64::MAX),
            Period::CalendarMonth => 31 * 86_400,
        };
        let grace = config::duration_in(
            env,
            GRACE_VAR,
            Duration::from_secs(6 * 3_600).min(Duration::from_secs(period_secs)),
            Duration::ZERO..=Duration::from_secs(period_secs),
        )?;
        let lookback = config::duration_in(
            env,
            LOOKBACK_VAR,
            Duration::from_secs(35 * 86_400).max(Duration::from_secs(period_secs)),
            Duration::from_secs(period_secs)..=Duration::MAX,
        )?;
        let prefix = config::or_default(env, PREFIX_VAR, "offsite".to_owned())?;
        if prefix.contains("//") || prefix.starts_with('/') || prefix.len() > 200 {
            return Err(config::invalid(
                PREFIX_VAR,
                &prefix,
                "a leading slash, an empty segment or too long",
                "a key prefix such as offsite or audit/rds",
            ));
        }
        let secs = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        let policy = Policy {
            period,
            grace_secs: secs(grace),
            lookback_secs: secs(lookback),
            databases: config::optional(env, DATABASES_VAR)?,
            source_tag: config::optional(env, SOURCE_TAG_VAR)?,
            export_only: config::optional::<ExportOnly>(env, EXPORT_ONLY_VAR)?.map(|e| e.0).unwrap_or_default(),
            max_running: config::number_in(env, MAX_RUNNING_VAR, MAX_RUNNING_PER_ACCOUNT, 1..=MAX_RUNNING_PER_ACCOUNT)?,
            bucket: config::required::<BucketName>(env, BUCKET_VAR)?.0,
            prefix: prefix.trim_end_matches('/').to_owned(),
        };
        Ok(Self { aws, region, export_role: config::required(env, ROLE_VAR)?, export_key, policy })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &[(&str, &str)] = &[
        ("AWS_REGION", "eu-west-1"),
        (BUCKET_VAR, "auditor-exports"),
        (ROLE_VAR, "arn:aws:iam::222222222222:role/offsite-rds-export"),
        (KEY_VAR, "arn:aws:kms:eu-west-1:222222222222:key/export"),
    ];

    fn env(extra: &[(&str, &str)]) -> offsite_common::config::coverage::TestEnv {
        offsite_common::config::coverage::env_over(BASE, extra)
    }

    #[test]
    fn defaults_are_weekly_exports_of_everything_within_five_weeks() {
        let s = RdsExportSettings::from_env(&env(&[])).expect("valid");
        assert_eq!(s.policy.period, Period::Every { secs: 7 * 86_400 });
        assert_eq!((s.policy.grace_secs, s.policy.lookback_secs), (6 * 3_600, 35 * 86_400));
        assert_eq!((s.policy.max_running, s.policy.prefix.as_str()), (5, "offsite"));
        assert_eq!((s.policy.databases.as_ref(), s.policy.export_only.len()), (None, 0));
        let s = RdsExportSettings::from_env(&env(&[
            (PERIOD_VAR, "month"),
            (DATABASES_VAR, "orders,111111111111/Ledger"),
            (EXPORT_ONLY_VAR, r#"{"orders": ["shop.public.orders", "shop.audit"]}"#),
            (PREFIX_VAR, "audit/rds/"),
        ]))
        .expect("valid");
        assert_eq!(s.policy.period, Period::CalendarMonth);
        assert_eq!(s.policy.lookback_secs, 35 * 86_400);
        let ledger = DatabasePattern { account: Some("111111111111".into()), database: "ledger".into() };
        assert_eq!(
            s.policy.databases,
            Some(vec![DatabasePattern { account: None, database: "orders".into() }, ledger])
        );
        assert_eq!(s.policy.export_only[0].1, vec!["shop.public.orders".to_owned(), "shop.audit".to_owned()]);
        assert_eq!(s.policy.prefix, "audit/rds");
        // A daily period: the default grace (6h) and lookback (35d) fit.
        let daily = RdsExportSettings::from_env(&env(&[(PERIOD_VAR, "1d")])).expect("valid");
        assert_eq!(daily.policy.grace_secs, 6 * 3_600);
        let tagged = RdsExportSettings::from_env(&env(&[(SOURCE_TAG_VAR, "data-class=audited")])).expect("valid");
        let tag = tagged.policy.source_tag.expect("a tag");
        assert_eq!((tag.key.as_str(), tag.value.as_str()), ("data-class", "audited"));
    }

    #[test]
    fn every_variable_read_is_refused_when_missing_or_malformed() {
        use offsite_common::aws::AWS_MALFORMED;
        use offsite_common::config::coverage::{check_rule, check_settings};
        let (bucket, role, key) = ("an S3 bucket name", "an IAM role ARN such as", "a KMS key ARN such as");
        let (period, databases, only) =
            ("a whole number of days such as 7d, or month", "each item a source database as", "a JSON object of");
        let own = [
            (BUCKET_VAR, "Auditor_Exports", bucket),
            (ROLE_VAR, "arn:aws:iam::222222222222:user/someone", role),
            (ROLE_VAR, "offsite-rds-export", role),
            (KEY_VAR, "alias/export", key),
            (KEY_VAR, "arn:aws:kms:us-east-1:222222222222:key/export", "a KMS key ARN in eu-west-1"),
            (PERIOD_VAR, "30s", period),
            (PERIOD_VAR, "36h", period),
            (PERIOD_VAR, "monthly", period),
            (GRACE_VAR, "8d", "a duration from 0s to 7d"),
            (LOOKBACK_VAR, "1d", "a duration of at least 7d"),
            (DATABASES_VAR, "orders,,ledger", databases),
            (DATABASES_VAR, "1111/orders", databases),
            (DATABASES_VAR, "orders_db", databases),
            (EXPORT_ONLY_VAR, "shop.public.orders", only),
            (EXPORT_ONLY_VAR, r#"{"orders": []}"#, only),
            (EXPORT_ONLY_VAR, r#"{"orders": ["shop..orders"]}"#, only),
            (EXPORT_ONLY_VAR, r#"{"orders!": ["shop"]}"#, only),
            (PREFIX_VAR, "/offsite", "a key prefix such as"),
            (MAX_RUNNING_VAR, "6", "a whole number from 1 to 5"),
            (MAX_RUNNING_VAR, "0", "a whole number from 1 to 5"),
            (SOURCE_TAG_VAR, "data-class", "key=value"),
            (SOURCE_TAG_VAR, "offsite:stage=announced", "key=value"),
            (SOURCE_TAG_VAR, "data-class=a;b", "key=value"),
        ];
        let malformed = [own.as_slice(), AWS_MALFORMED].concat();
        let required =
            [("AWS_REGION", "an AWS region name such as"), (BUCKET_VAR, bucket), (ROLE_VAR, role), (KEY_VAR, key)];
        let read = check_settings(|e| RdsExportSettings::from_env(e), BASE, &malformed, &required);
        assert!(read.contains(EXPORT_ONLY_VAR) && read.contains(MAX_RUNNING_VAR), "{read:?}");
        // A grace longer than a shorter period is refused with the period's bound.
        check_rule(
            |e| RdsExportSettings::from_env(e),
            BASE,
            &[(PERIOD_VAR, "1d"), (GRACE_VAR, "2d")],
            (GRACE_VAR, Some("2d"), "a duration from 0s to 1d"),
        );
    }
}
