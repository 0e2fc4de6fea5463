//! The exporter's settings, read once at start.

use std::time::Duration;

use offsite_common::ConfigError;
use offsite_common::aws::AwsSettings;
use offsite_common::config::{self, Env, KmsKeyArn};

use crate::selection::SelectionTag;

pub const EXPORT_KEY_VAR: &str = "OFFSITE_EXPORT_KEY_ARN";
pub const SELECTION_TAG_KEY_VAR: &str = "OFFSITE_SELECTION_TAG_KEY";
pub const SELECTION_TAG_VALUE_VAR: &str = "OFFSITE_SELECTION_TAG_VALUE";
pub const SWEEP_WINDOW_VAR: &str = "OFFSITE_SWEEP_WINDOW";
pub const MAX_COPIES_IN_FLIGHT_VAR: &str = "OFFSITE_MAX_COPIES_IN_FLIGHT";
pub const MAX_COPY_ATTEMPTS_VAR: &str = "OFFSITE_MAX_COPY_ATTEMPTS";
/// The scanner's export retention: read here too, because a copy deleted while its source
/// is still inside the sweep window would be copied again.
pub const EXPORT_RETENTION_VAR: &str = "OFFSITE_EXPORT_RETENTION";
/// A week of shared copies in the workload account: long enough for the vault to pull them
/// even after a lost notice and a few missed reconciles.
pub const DEFAULT_EXPORT_RETENTION: Duration = Duration::from_secs(7 * 86_400);

/// Default selection tag: `offsite-export=true`.
pub const DEFAULT_SELECTION_TAG_KEY: &str = "offsite-export";
pub const DEFAULT_SELECTION_TAG_VALUE: &str = "true";
/// How far back the scheduled sweep looks: two days catches a missed event over a weekend
/// of daily backups without re-reading the whole history.
pub const DEFAULT_SWEEP_WINDOW: Duration = Duration::from_secs(48 * 3600);
/// Copies in flight per kind: Aurora allows 5 per destination region per account, RDS 20
/// ("Copying a DB snapshot" / "Copying a DB cluster snapshot"); 5 is safe for both.
pub const DEFAULT_MAX_COPIES_IN_FLIGHT: u32 = 5;
/// Copies of one source tried before the exporter gives up and reports it.
pub const DEFAULT_MAX_COPY_ATTEMPTS: u32 = 3;

/// Everything the exporter needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExporterSettings {
    pub aws: AwsSettings,
    /// The dedicated export key every copy is encrypted with.
    pub export_key: KmsKeyArn,
    pub selection: SelectionTag,
    pub sweep_window: Duration,
    /// Copies of one kind that may be in flight at once, the pipeline's own included.
    pub max_copies_in_flight: u32,
    /// Copies of one source tried before giving up (failed or stuck ones count).
    pub max_copy_attempts: u32,
}

impl ExporterSettings {
    pub fn from_env(env: &impl Env) -> Result<Self, ConfigError> {
        let key = config::or_default(env, SELECTION_TAG_KEY_VAR, DEFAULT_SELECTION_TAG_KEY.to_owned())?;
        if key.len() > 128 || key.starts_with("aws:") || key.starts_with("rds:") || key.starts_with("offsite:") {
            return Err(config::invalid(
                SELECTION_TAG_KEY_VAR,
                &key,
                "reserved prefix or longer than 128 characters",
                "a tag key of at most 128 characters not starting with aws:, rds: or offsite:",
            ));
        }
        let value = config::or_default(env, SELECTION_TAG_VALUE_VAR, DEFAULT_SELECTION_TAG_VALUE.to_owned())?;
        if value.len() > 256 {
            return Err(config::invalid(
                SELECTION_TAG_VALUE_VAR,
                &value,
                "too long",
                "a tag value of at most 256 characters",
            ));
        }
        let sweep_window = config::or_default(env, SWEEP_WINDOW_VAR, DEFAULT_SWEEP_WINDOW)?;
        if !(Duration::from_secs(3600)..=Duration::from_secs(35 * 86_400)).contains(&sweep_window) {
            return Err(config::invalid(
                SWEEP_WINDOW_VAR,
                &format!("{}s", sweep_window.as_secs()),
                "out of range",
                "a duration from 1h to 35d",
            ));
        }
        let retention = config::or_default(env, EXPORT_RETENTION_VAR, DEFAULT_EXPORT_RETENTION)?;
        if sweep_window >= retention {
            return Err(config::invalid(
                SWEEP_WINDOW_VAR,
                &format!("{}s", sweep_window.as_secs()),
                &format!("not shorter than {EXPORT_RETENTION_VAR} ({}s)", retention.as_secs()),
                "a sweep window shorter than the export retention, or expired copies would be made again",
            ));
        }
        let max_copies_in_flight = config::or_default(env, MAX_COPIES_IN_FLIGHT_VAR, DEFAULT_MAX_COPIES_IN_FLIGHT)?;
        let max_copy_attempts = config::or_default(env, MAX_COPY_ATTEMPTS_VAR, DEFAULT_MAX_COPY_ATTEMPTS)?;
        Ok(Self {
            aws: AwsSettings::from_env(env)?,
            export_key: config::required(env, EXPORT_KEY_VAR)?,
            selection: SelectionTag { key, value },
            sweep_window,
            max_copies_in_flight: config::in_range(MAX_COPIES_IN_FLIGHT_VAR, max_copies_in_flight, 1..=20)?,
            max_copy_attempts: config::in_range(MAX_COPY_ATTEMPTS_VAR, max_copy_attempts, 1..=10)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    const KEY: &str = "arn:aws:kms:us-east-1:111111111111:key/0a1b2c3d";

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn only_the_export_key_is_required() {
        let settings = ExporterSettings::from_env(&env(&[(EXPORT_KEY_VAR, KEY)])).expect("valid");
        assert_eq!(settings.export_key.as_str(), KEY);
        assert_eq!(settings.selection, SelectionTag { key: "offsite-export".into(), value: "true".into() });
        assert_eq!(settings.sweep_window, DEFAULT_SWEEP_WINDOW);
        assert_eq!(settings.max_copies_in_flight, 5);
        let missing = ExporterSettings::from_env(&env(&[])).expect_err("no key");
        assert_eq!(missing.variable, EXPORT_KEY_VAR);
    }

    #[test]
    fn each_malformed_setting_is_named() {
        for (name, value) in [
            (EXPORT_KEY_VAR, "alias/offsite"),
            (SELECTION_TAG_KEY_VAR, "aws:backup"),
            (SELECTION_TAG_KEY_VAR, "offsite:managed-by"),
            (SWEEP_WINDOW_VAR, "10m"),
            (SWEEP_WINDOW_VAR, "90d"),
            (SWEEP_WINDOW_VAR, "8d"),
            (SWEEP_WINDOW_VAR, "two days"),
            (MAX_COPIES_IN_FLIGHT_VAR, "0"),
            (MAX_COPIES_IN_FLIGHT_VAR, "50"),
            (MAX_COPY_ATTEMPTS_VAR, "0"),
        ] {
            let mut e = env(&[(EXPORT_KEY_VAR, KEY)]);
            e.insert(name.to_owned(), value.to_owned());
            let err = ExporterSettings::from_env(&e).expect_err(value);
            assert_eq!(err.variable, name, "{value}: {err}");
        }
    }
}
