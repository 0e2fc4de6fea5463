//! The exporter's settings, read once at start.

use std::time::Duration;

use offsite_common::ConfigError;
use offsite_common::aws::AwsSettings;
use offsite_common::config::workload::{self, EXPORT_RETENTION_VAR, SWEEP_WINDOW_VAR};
#[cfg(test)]
use offsite_common::config::workload::{DEFAULT_SWEEP_WINDOW, EXPORT_KEY_VAR};
use offsite_common::config::{self, Env, KmsKeyArn, Setting, TagKey, TagValue};
use offsite_common::source_tags::CarriedKeys;

use crate::selection::SelectionTag;

pub const SELECTION_TAG_KEY_VAR: &str = "OFFSITE_SELECTION_TAG_KEY";
pub const SELECTION_TAG_VALUE_VAR: &str = "OFFSITE_SELECTION_TAG_VALUE";
pub const MAX_COPIES_IN_FLIGHT_VAR: &str = "OFFSITE_MAX_COPIES_IN_FLIGHT";
pub const MAX_COPY_ATTEMPTS_VAR: &str = "OFFSITE_MAX_COPY_ATTEMPTS";
/// The source tag keys carried to the vault ([`offsite_common::source_tags`]).
pub const CARRY_SOURCE_TAGS_VAR: &str = "OFFSITE_CARRY_SOURCE_TAGS";

/// Default selection tag: `offsite-export=true`.
pub const DEFAULT_SELECTION_TAG_KEY: &str = "offsite-export";
pub const DEFAULT_SELECTION_TAG_VALUE: &str = "true";
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
    /// The source's tag keys carried onto each copy for the vault (none by default).
    pub carry_source_tags: Vec<String>,
}

impl ExporterSettings {
    pub fn from_env(env: &impl Env) -> Result<Self, ConfigError> {
        let default_key = TagKey(DEFAULT_SELECTION_TAG_KEY.to_owned());
        let TagKey(key) = config::or_default(env, SELECTION_TAG_KEY_VAR, default_key)?;
        if ["aws:", "rds:", "offsite:"].iter().any(|prefix| key.starts_with(prefix)) {
            return Err(config::invalid(
                SELECTION_TAG_KEY_VAR,
                &key,
                "reserved prefix",
                format!("{} not starting with aws:, rds: or offsite:", TagKey::expected()),
            ));
        }
        let default_value = TagValue(DEFAULT_SELECTION_TAG_VALUE.to_owned());
        let TagValue(value) = config::or_default(env, SELECTION_TAG_VALUE_VAR, default_value)?;
        let sweep_window = workload::sweep_window(env)?;
        let retention = workload::export_retention(env)?;
        if sweep_window >= retention {
            let retention = config::duration_text(retention);
            return Err(config::rule_error(
                env,
                SWEEP_WINDOW_VAR,
                &config::duration_text(sweep_window),
                &format!("not shorter than {EXPORT_RETENTION_VAR} ({retention})"),
                format!(
                    "a duration shorter than {EXPORT_RETENTION_VAR} ({retention}), or expired copies would be made again"
                ),
            ));
        }
        Ok(Self {
            max_copies_in_flight: config::number_in(
                env,
                MAX_COPIES_IN_FLIGHT_VAR,
                DEFAULT_MAX_COPIES_IN_FLIGHT,
                1..=20,
            )?,
            max_copy_attempts: config::number_in(env, MAX_COPY_ATTEMPTS_VAR, DEFAULT_MAX_COPY_ATTEMPTS, 1..=10)?,
            aws: AwsSettings::from_env(env)?,
            export_key: workload::export_key(env)?,
            selection: SelectionTag { key, value },
            sweep_window,
            carry_source_tags: config::optional::<CarriedKeys>(env, CARRY_SOURCE_TAGS_VAR)?
                .map(|c| c.0)
                .unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "arn:aws:kms:us-east-1:111111111111:key/0a1b2c3d";

    use offsite_common::config::coverage::env;

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
    fn every_variable_read_is_refused_when_missing_or_malformed() {
        use offsite_common::aws::AWS_MALFORMED;
        use offsite_common::config::coverage::{check_rule, check_settings};
        let base = [(EXPORT_KEY_VAR, KEY)];
        let (long_key, long_value) = ("k".repeat(129), "v".repeat(257));
        let (tag_key, tag_value, window) = ("a tag key of at most 128", "a tag value of at most 256", "from 1h to 35d");
        let own = [
            (EXPORT_KEY_VAR, "alias/offsite", "a KMS key ARN such as"),
            (EXPORT_KEY_VAR, "arn:aws:kms:us-east-1:111111111111:alias/offsite", "a KMS key ARN such as"),
            (SELECTION_TAG_KEY_VAR, "aws:backup", "not starting with aws:, rds: or offsite:"),
            (SELECTION_TAG_KEY_VAR, "offsite:managed-by", "not starting with aws:, rds: or offsite:"),
            (SELECTION_TAG_KEY_VAR, "backup!", tag_key),
            (SELECTION_TAG_KEY_VAR, long_key.as_str(), tag_key),
            (SELECTION_TAG_VALUE_VAR, "yes;no", tag_value),
            (SELECTION_TAG_VALUE_VAR, long_value.as_str(), tag_value),
            (SWEEP_WINDOW_VAR, "10m", window),
            (SWEEP_WINDOW_VAR, "90d", window),
            (SWEEP_WINDOW_VAR, "two days", window),
            // Not shorter than the default retention (7d).
            (SWEEP_WINDOW_VAR, "8d", "shorter than OFFSITE_EXPORT_RETENTION (7d)"),
            (EXPORT_RETENTION_VAR, "a week", "a duration such as"),
            (MAX_COPIES_IN_FLIGHT_VAR, "0", "a whole number from 1 to 20"),
            (MAX_COPIES_IN_FLIGHT_VAR, "50", "a whole number from 1 to 20"),
            (MAX_COPIES_IN_FLIGHT_VAR, "five", "a whole number from 1 to 20"),
            (MAX_COPY_ATTEMPTS_VAR, "0", "a whole number from 1 to 10"),
            (MAX_COPY_ATTEMPTS_VAR, "11", "a whole number from 1 to 10"),
            (CARRY_SOURCE_TAGS_VAR, "data-class,offsite:stage", "comma-separated tag keys"),
            (CARRY_SOURCE_TAGS_VAR, "a,a", "comma-separated tag keys"),
            (CARRY_SOURCE_TAGS_VAR, "a,b,c,d,e,f", "comma-separated tag keys"),
        ];
        let malformed = [own.as_slice(), AWS_MALFORMED].concat();
        let read =
            check_settings(|e| ExporterSettings::from_env(e), &base, &malformed, &[(EXPORT_KEY_VAR, "a KMS key ARN")]);
        assert_eq!(read.len(), 11, "{read:?}");
        // The sweep window against the scanner's retention, also when only the retention is set.
        let rule = "a duration shorter than OFFSITE_EXPORT_RETENTION";
        check_rule(
            |e| ExporterSettings::from_env(e),
            &base,
            &[(EXPORT_RETENTION_VAR, "1d")],
            (SWEEP_WINDOW_VAR, None, rule),
        );
        let equal = [(SWEEP_WINDOW_VAR, "12h"), (EXPORT_RETENTION_VAR, "12h")];
        check_rule(|e| ExporterSettings::from_env(e), &base, &equal, (SWEEP_WINDOW_VAR, Some("12h"), rule));
    }
}
