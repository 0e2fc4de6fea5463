//! The scanner's settings, read once at start.

use std::time::Duration;

use offsite_common::aws::AwsSettings;
use offsite_common::config::{self, Env, KmsKeyArn, Setting};
use offsite_common::{AccountId, ConfigError};
pub use offsite_exporter::settings::{
    DEFAULT_EXPORT_RETENTION, DEFAULT_SWEEP_WINDOW, EXPORT_RETENTION_VAR, SWEEP_WINDOW_VAR,
};

pub const VAULT_ACCOUNT_VAR: &str = "OFFSITE_VAULT_ACCOUNT_ID";
pub const TOPIC_ARN_VAR: &str = "OFFSITE_TOPIC_ARN";
pub const EXPORT_KEY_VAR: &str = "OFFSITE_EXPORT_KEY_ARN";
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
        let duration = |name, default| config::or_default(env, name, default);
        let stuck_after = duration(STUCK_AFTER_VAR, DEFAULT_STUCK_AFTER)?;
        let export_retention = duration(EXPORT_RETENTION_VAR, DEFAULT_EXPORT_RETENTION)?;
        let reconcile = duration(VAULT_RECONCILE_INTERVAL_VAR, DEFAULT_VAULT_RECONCILE_INTERVAL)?;
        let sweep_window = duration(SWEEP_WINDOW_VAR, DEFAULT_SWEEP_WINDOW)?;
        let claim_settle = duration(CLAIM_SETTLE_VAR, DEFAULT_CLAIM_SETTLE)?;
        let shown = |d: Duration| format!("{}s", d.as_secs());
        if stuck_after < Duration::from_secs(3600) {
            return Err(config::invalid(STUCK_AFTER_VAR, &shown(stuck_after), "too short", "at least 1h"));
        }
        // A copy deleted before the vault's reconciler ran could be lost if its notice was.
        if export_retention <= reconcile {
            return Err(config::invalid(
                EXPORT_RETENTION_VAR,
                &shown(export_retention),
                &format!("not longer than {VAULT_RECONCILE_INTERVAL_VAR} ({})", shown(reconcile)),
                "a retention longer than the vault's reconcile interval",
            ));
        }
        // A copy deleted while its source is still inside the sweep window is copied again.
        if export_retention <= sweep_window {
            return Err(config::invalid(
                EXPORT_RETENTION_VAR,
                &shown(export_retention),
                &format!("not longer than {SWEEP_WINDOW_VAR} ({})", shown(sweep_window)),
                "a retention longer than the exporter's sweep window",
            ));
        }
        if claim_settle > Duration::from_secs(30) {
            return Err(config::invalid(CLAIM_SETTLE_VAR, &shown(claim_settle), "too long", "0s to 30s"));
        }
        Ok(Self {
            aws: AwsSettings::from_env(env)?,
            vault_account: config::required(env, VAULT_ACCOUNT_VAR)?,
            topic_arn: config::required::<TopicArn>(env, TOPIC_ARN_VAR)?.0,
            export_key: config::required(env, EXPORT_KEY_VAR)?,
            stuck_after,
            export_retention,
            claim_settle,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn env(extra: &[(&str, &str)]) -> BTreeMap<String, String> {
        let mut env: BTreeMap<String, String> = [
            (VAULT_ACCOUNT_VAR, "222222222222"),
            (TOPIC_ARN_VAR, "arn:aws:sns:us-east-1:111111111111:offsite"),
            (EXPORT_KEY_VAR, "arn:aws:kms:us-east-1:111111111111:key/k"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        env.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        env
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
    fn each_required_or_malformed_setting_is_named() {
        for (name, value) in [
            (VAULT_ACCOUNT_VAR, ""),
            (VAULT_ACCOUNT_VAR, "vault"),
            (TOPIC_ARN_VAR, ""),
            (TOPIC_ARN_VAR, "arn:aws:sqs:us-east-1:111111111111:q"),
            (EXPORT_KEY_VAR, ""),
            (STUCK_AFTER_VAR, "5m"),
            (CLAIM_SETTLE_VAR, "1m"),
        ] {
            let err = ScannerSettings::from_env(&env(&[(name, value)])).expect_err(value);
            assert_eq!(err.variable, name, "{value}: {err}");
        }
    }
}
