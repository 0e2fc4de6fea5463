//! The scanner's settings, read once at start.

use std::time::Duration;

use offsite_common::aws::AwsSettings;
use offsite_common::config::workload::{self, EXPORT_RETENTION_VAR, SWEEP_WINDOW_VAR};
#[cfg(test)]
use offsite_common::config::workload::{DEFAULT_EXPORT_RETENTION, EXPORT_KEY_VAR};
use offsite_common::config::{self, Env, KmsKeyArn, Setting};
use offsite_common::{AccountId, ConfigError};

pub const VAULT_ACCOUNT_VAR: &str = "OFFSITE_VAULT_ACCOUNT_ID";
pub const TOPIC_ARN_VAR: &str = "OFFSITE_TOPIC_ARN";
pub const STUCK_AFTER_VAR: &str = "OFFSITE_STUCK_AFTER";
pub const VAULT_RECONCILE_INTERVAL_VAR: &str = "OFFSITE_VAULT_RECONCILE_INTERVAL";
pub const CLAIM_SETTLE_VAR: &str = "OFFSITE_CLAIM_SETTLE";

/// Copies of large databases take hours; a day without progress is stuck.
pub const DEFAULT_STUCK_AFTER: Duration = Duration::from_secs(24 * 3600);
pub const DEFAULT_VAULT_RECONCILE_INTERVAL: Duration = Duration::from_secs(24 * 3600);
/// How long a scan waits between claiming copies and checking its claims held.
pub const DEFAULT_CLAIM_SETTLE: Duration = Duration::from_secs(2);

/// An SNS topic ARN, `arn:<partition>:sns:<region>:<account>:<name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicArn(pub String);

impl Setting for TopicArn {
    fn expected() -> String {
        "an SNS topic ARN such as arn:aws:sns:eu-west-1:111111111111:offsite-announcements".to_owned()
    }
    fn parse_setting(raw: &str) -> Result<Self, String> {
        let parts: Vec<&str> = raw.split(':').collect();
        match parts[..] {
            ["arn", partition, "sns", region, account, name]
                if partition.starts_with("aws")
                    && !region.is_empty()
                    && account.parse::<AccountId>().is_ok()
                    && !name.is_empty() =>
            {
                Ok(Self(raw.to_owned()))
            }
            _ => Err("not an SNS topic ARN".to_owned()),
        }
    }
}

/// Everything the scanner needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScannerSettings {
    pub aws: AwsSettings,
    pub vault_account: AccountId,
    pub topic_arn: String,
    pub export_key: KmsKeyArn,
    pub stuck_after: Duration,
    pub export_retention: Duration,
    pub claim_settle: Duration,
}

impl ScannerSettings {
    pub fn from_env(env: &impl Env) -> Result<Self, ConfigError> {
        let stuck_after =
            config::duration_in(env, STUCK_AFTER_VAR, DEFAULT_STUCK_AFTER, Duration::from_secs(3600)..=Duration::MAX)?;
        let export_retention = workload::export_retention(env)?;
        // EventBridge schedules run at most once a minute.
        let reconcile = config::duration_in(
            env,
            VAULT_RECONCILE_INTERVAL_VAR,
            DEFAULT_VAULT_RECONCILE_INTERVAL,
            Duration::from_secs(60)..=Duration::MAX,
        )?;
        let sweep_window = workload::sweep_window(env)?;
        let claim_settle =
            config::duration_in(env, CLAIM_SETTLE_VAR, DEFAULT_CLAIM_SETTLE, Duration::ZERO..=Duration::from_secs(30))?;
        // A copy deleted before the vault's reconciler ran could be lost if its notice was;
        // a copy deleted while its source is still inside the sweep window is copied again.
        for (other, value, why) in [
            (
                VAULT_RECONCILE_INTERVAL_VAR,
                reconcile,
                "or a copy whose notice was lost is gone before the vault's reconciler runs",
            ),
            (SWEEP_WINDOW_VAR, sweep_window, "or expired copies would be made again"),
        ] {
            if export_retention <= value {
                let text = config::duration_text;
                return Err(config::rule_error(
                    env,
                    EXPORT_RETENTION_VAR,
                    &text(export_retention),
                    &format!("not longer than {other} ({})", text(value)),
                    format!(
                        "a duration longer than {VAULT_RECONCILE_INTERVAL_VAR} ({}) and {SWEEP_WINDOW_VAR} ({}), {why}",
                        text(reconcile),
                        text(sweep_window)
                    ),
                ));
            }
        }
        Ok(Self {
            aws: AwsSettings::from_env(env)?,
            vault_account: config::required(env, VAULT_ACCOUNT_VAR)?,
            topic_arn: config::required::<TopicArn>(env, TOPIC_ARN_VAR)?.0,
            export_key: workload::export_key(env)?,
            stuck_after,
            export_retention,
            claim_settle,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A valid environment.
    const BASE: &[(&str, &str)] = &[
        (VAULT_ACCOUNT_VAR, "222222222222"),
        (TOPIC_ARN_VAR, "arn:aws:sns:us-east-1:111111111111:offsite"),
        (EXPORT_KEY_VAR, "arn:aws:kms:us-east-1:111111111111:key/k"),
    ];

    fn env(extra: &[(&str, &str)]) -> offsite_common::config::coverage::TestEnv {
        offsite_common::config::coverage::env_over(BASE, extra)
    }

    #[test]
    fn defaults_are_consistent() {
        let settings = ScannerSettings::from_env(&env(&[])).expect("valid");
        assert_eq!(settings.export_retention, DEFAULT_EXPORT_RETENTION);
        assert_eq!(settings.vault_account.as_str(), "222222222222");
    }

    #[test]
    fn retention_must_outlast_reconcile_interval_and_sweep_window() {
        let err = ScannerSettings::from_env(&env(&[(EXPORT_RETENTION_VAR, "1d")])).expect_err("too short");
        assert_eq!(err.variable, EXPORT_RETENTION_VAR);
        assert!(err.problem.contains(VAULT_RECONCILE_INTERVAL_VAR), "{err}");
        let err =
            ScannerSettings::from_env(&env(&[(EXPORT_RETENTION_VAR, "2d"), (VAULT_RECONCILE_INTERVAL_VAR, "6h")]))
                .expect_err("not past the sweep window");
        assert!(err.problem.contains(SWEEP_WINDOW_VAR), "{err}");
    }

    #[test]
    fn every_variable_read_is_refused_when_missing_or_malformed() {
        use offsite_common::aws::AWS_MALFORMED;
        use offsite_common::config::coverage::{check_rule, check_settings};
        let base = [
            (VAULT_ACCOUNT_VAR, "222222222222"),
            (TOPIC_ARN_VAR, "arn:aws:sns:us-east-1:111111111111:offsite"),
            (EXPORT_KEY_VAR, "arn:aws:kms:us-east-1:111111111111:key/k"),
        ];
        let (account, topic, key) = ("a 12-digit AWS account id", "an SNS topic ARN such as", "a KMS key ARN such as");
        let (duration, settle) = ("a duration such as", "a duration from 0s to 30s");
        let own = [
            (VAULT_ACCOUNT_VAR, "vault", account),
            (VAULT_ACCOUNT_VAR, "22222222222", account),
            (TOPIC_ARN_VAR, "arn:aws:sqs:us-east-1:111111111111:q", topic),
            (TOPIC_ARN_VAR, "offsite-announcements", topic),
            (EXPORT_KEY_VAR, "alias/offsite", key),
            (STUCK_AFTER_VAR, "5m", "a duration of at least 1h"),
            (STUCK_AFTER_VAR, "a day", "a duration of at least 1h"),
            // Not longer than the default reconcile interval (24h).
            (EXPORT_RETENTION_VAR, "1d", "a duration longer than OFFSITE_VAULT_RECONCILE_INTERVAL (1d)"),
            (EXPORT_RETENTION_VAR, "week", duration),
            (VAULT_RECONCILE_INTERVAL_VAR, "daily", "a duration of at least 1m"),
            (VAULT_RECONCILE_INTERVAL_VAR, "0s", "a duration of at least 1m"),
            (SWEEP_WINDOW_VAR, "48", "a duration from 1h to 35d"),
            (SWEEP_WINDOW_VAR, "0s", "a duration from 1h to 35d"),
            (CLAIM_SETTLE_VAR, "1m", settle),
            (CLAIM_SETTLE_VAR, "2", settle),
        ];
        let malformed = [own.as_slice(), AWS_MALFORMED].concat();
        let required = [(VAULT_ACCOUNT_VAR, account), (TOPIC_ARN_VAR, topic), (EXPORT_KEY_VAR, key)];
        let read = check_settings(|e| ScannerSettings::from_env(e), &base, &malformed, &required);
        assert_eq!(read.len(), 11, "{read:?}");
        // The retention against the other two, when only they are set: the retention is named.
        for (other, value) in [(VAULT_RECONCILE_INTERVAL_VAR, "8d"), (SWEEP_WINDOW_VAR, "7d")] {
            let rule = format!("{other} ({value})");
            check_rule(|e| ScannerSettings::from_env(e), &base, &[(other, value)], (EXPORT_RETENTION_VAR, None, &rule));
        }
    }
}
