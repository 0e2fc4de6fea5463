//! Typed settings from environment variables.
//!
//! Every function reads its settings once, at start, through [`required`], [`optional`] and
//! [`or_default`]. A missing or malformed value stops the start with a [`ConfigError`] that
//! names the variable and the expected form. An empty variable counts as not set: a
//! CloudFormation parameter left empty should fall back to the default, not be "".
//!
//! The environment is behind the [`Env`] trait so that tests pass a map instead of mutating
//! the process environment (which is unsafe in edition 2024 and racy across test threads).
//!
//! - [`values`]: the [`Setting`] forms (durations, lists, KMS key ARNs, tags, ...);
//! - [`workload`]: the settings the workload's functions must agree on;
//! - [`coverage`] (feature `test-support`): the readers' tests.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Display;
use std::ops::RangeInclusive;
use std::time::Duration;

use crate::error::ConfigError;

#[cfg(any(test, feature = "test-support"))]
pub mod coverage;
mod values;
pub mod workload;

pub use values::{BucketName, KmsKeyArn, RoleArn, TagKey, TagValue};

/// A source of environment variables.
pub trait Env {
    /// The raw value of `name`; `Ok(None)` when unset or empty.
    fn var(&self, name: &str) -> Result<Option<String>, ConfigError>;
}

/// The process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Result<Option<String>, ConfigError> {
        match std::env::var_os(name) {
            None => Ok(None),
            Some(raw) => match raw.into_string() {
                Ok(value) if value.is_empty() => Ok(None),
                Ok(value) => Ok(Some(value)),
                Err(raw) => Err(ConfigError {
                    variable: name.to_owned(),
                    value: Some(raw.to_string_lossy().into_owned()),
                    problem: "not valid UTF-8".to_owned(),
                    expected: "a UTF-8 string".to_owned(),
                }),
            },
        }
    }
}

impl Env for BTreeMap<String, String> {
    fn var(&self, name: &str) -> Result<Option<String>, ConfigError> {
        Ok(self.get(name).filter(|v| !v.is_empty()).cloned())
    }
}

impl Env for HashMap<String, String> {
    fn var(&self, name: &str) -> Result<Option<String>, ConfigError> {
        Ok(self.get(name).filter(|v| !v.is_empty()).cloned())
    }
}

/// An environment that remembers which variables were asked for: lets a test prove that
/// every variable a deployment template sets is one the function reads (a misspelled
/// optional variable would otherwise be silently ignored).
#[derive(Debug)]
pub struct Recording<'a, E> {
    inner: &'a E,
    asked: RefCell<BTreeSet<String>>,
}

impl<'a, E: Env> Recording<'a, E> {
    pub fn new(inner: &'a E) -> Self {
        Self { inner, asked: RefCell::new(BTreeSet::new()) }
    }

    /// The variables asked for so far.
    pub fn asked(&self) -> BTreeSet<String> {
        self.asked.borrow().clone()
    }
}

impl<E: Env> Env for Recording<'_, E> {
    fn var(&self, name: &str) -> Result<Option<String>, ConfigError> {
        self.asked.borrow_mut().insert(name.to_owned());
        self.inner.var(name)
    }
}

/// A type that can be read from one environment variable.
pub trait Setting: Sized {
    /// The expected form, for error messages ("a 12-digit AWS account id").
    fn expected() -> String;
    /// Parses the raw value; the error says what is wrong with it.
    fn parse_setting(raw: &str) -> Result<Self, String>;
}

/// Reads a setting that must be present.
pub fn required<T: Setting>(env: &impl Env, name: &str) -> Result<T, ConfigError> {
    optional(env, name)?.ok_or_else(|| ConfigError {
        variable: name.to_owned(),
        value: None,
        problem: "required".to_owned(),
        expected: T::expected(),
    })
}

/// Reads a setting that may be absent.
pub fn optional<T: Setting>(env: &impl Env, name: &str) -> Result<Option<T>, ConfigError> {
    let Some(raw) = env.var(name)? else {
        return Ok(None);
    };
    if raw.trim() != raw {
        return Err(invalid(name, &raw, "leading or trailing whitespace", T::expected()));
    }
    T::parse_setting(&raw).map(Some).map_err(|problem| invalid(name, &raw, &problem, T::expected()))
}

/// Reads a setting, falling back to `default` when absent.
pub fn or_default<T: Setting>(env: &impl Env, name: &str, default: T) -> Result<T, ConfigError> {
    Ok(optional(env, name)?.unwrap_or(default))
}

/// Reads a whole number that must lie in `range`, `default` when absent. A malformed and an
/// out-of-range value are both refused with the range as the expected form (not the type's).
pub fn number_in<T>(env: &impl Env, name: &str, default: T, range: RangeInclusive<T>) -> Result<T, ConfigError>
where
    T: Setting + PartialOrd + Display,
{
    let expected = format!("a whole number from {} to {}", range.start(), range.end());
    let value = or_default(env, name, default).map_err(|e| ConfigError { expected: expected.clone(), ..e })?;
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(rule_error(env, name, &value.to_string(), "out of range", expected))
    }
}

/// Reads a duration that must lie in `range` (`Duration::MAX` as its end: no upper bound),
/// `default` when absent; the expected form names the bounds and the default.
pub fn duration_in(
    env: &impl Env,
    name: &str,
    default: Duration,
    range: RangeInclusive<Duration>,
) -> Result<Duration, ConfigError> {
    let bounds = if *range.end() == Duration::MAX {
        format!("of at least {}", duration_text(*range.start()))
    } else {
        format!("from {} to {}", duration_text(*range.start()), duration_text(*range.end()))
    };
    let expected = format!("a duration {bounds} such as {} (s, m, h or d)", duration_text(default));
    let value = or_default(env, name, default).map_err(|e| ConfigError { expected: expected.clone(), ..e })?;
    let problem = if value < *range.start() {
        "too short"
    } else if value > *range.end() {
        "too long"
    } else {
        return Ok(value);
    };
    Err(rule_error(env, name, &duration_text(value), problem, expected))
}

/// Builds the error for a setting already read that breaks a rule of its own (a range) or
/// one between settings. The message shows the value as written in `env` (`10m`, not its
/// seconds), or, when the variable is not set, says so and that its default `value` is what
/// breaks the rule: the operator must see the text they can find in the deployment.
pub fn rule_error(env: &impl Env, name: &str, value: &str, problem: &str, expected: impl Into<String>) -> ConfigError {
    match env.var(name) {
        Ok(Some(raw)) => invalid(name, &raw, problem, expected),
        _ => ConfigError {
            variable: name.to_owned(),
            value: None,
            problem: format!("its default {value}: {problem}"),
            expected: expected.into(),
        },
    }
}

/// A duration as settings write it, in its largest whole unit: `90s`, `45m`, `12h`, `7d`.
pub fn duration_text(duration: Duration) -> String {
    let secs = duration.as_secs();
    match [(86_400, "d"), (3_600, "h"), (60, "m")].into_iter().find(|(unit, _)| secs > 0 && secs.is_multiple_of(*unit))
    {
        Some((unit, suffix)) => format!("{}{suffix}", secs / unit),
        None => format!("{secs}s"),
    }
}

/// Builds the error for a value that is present but wrong.
pub fn invalid(name: &str, raw: &str, problem: &str, expected: impl Into<String>) -> ConfigError {
    ConfigError {
        variable: name.to_owned(),
        value: Some(raw.to_owned()),
        problem: problem.to_owned(),
        expected: expected.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::coverage::env;
    use super::*;
    use crate::account::AccountId;

    #[test]
    fn missing_required_names_variable_and_form() {
        let err = required::<AccountId>(&env(&[]), "OFFSITE_VAULT_ACCOUNT").expect_err("must be rejected");
        assert_eq!(err.variable, "OFFSITE_VAULT_ACCOUNT");
        assert_eq!(err.value, None);
        let message = err.to_string();
        assert!(message.contains("OFFSITE_VAULT_ACCOUNT is not set"), "{message}");
        assert!(message.contains("12-digit AWS account id"), "{message}");
    }

    #[test]
    fn empty_counts_as_unset() {
        let e = env(&[("X", "")]);
        assert_eq!(optional::<String>(&e, "X"), Ok(None));
        assert_eq!(or_default(&e, "X", 7u32), Ok(7));
    }

    #[test]
    fn malformed_value_is_shown_with_problem() {
        let err = required::<u32>(&env(&[("N", "ten")]), "N").expect_err("must be rejected");
        assert_eq!(err.value.as_deref(), Some("ten"));
        assert!(err.to_string().starts_with("configuration: N=\"ten\" is invalid"), "{err}");
    }

    #[test]
    fn whitespace_is_rejected_not_trimmed() {
        let err = required::<AccountId>(&env(&[("A", "111111111111 ")]), "A").expect_err("must be rejected");
        assert!(err.problem.contains("whitespace"), "{err}");
    }

    #[test]
    fn durations_parse_with_units() {
        let e = env(&[("A", "90s"), ("B", "45m"), ("C", "12h"), ("D", "35d")]);
        assert_eq!(required::<Duration>(&e, "A"), Ok(Duration::from_secs(90)));
        assert_eq!(required::<Duration>(&e, "B"), Ok(Duration::from_secs(2_700)));
        assert_eq!(required::<Duration>(&e, "C"), Ok(Duration::from_secs(43_200)));
        assert_eq!(required::<Duration>(&e, "D"), Ok(Duration::from_secs(3_024_000)));
        for (bad, problem) in [
            ("12", "no unit (s, m, h or d)"),
            ("h", "no leading number"),
            ("1.5h", "unknown unit \".5h\""),
            ("3w", "unknown unit \"w\""),
            ("-1h", "no leading number"),
            ("99999999999999999999d", "too large"),
            ("999999999999999999d", "too large"),
        ] {
            let err = required::<Duration>(&env(&[("X", bad)]), "X").expect_err(bad);
            assert_eq!(err.problem, problem, "{bad}");
        }
    }

    #[test]
    fn lists_name_the_bad_item() {
        let e = env(&[("L", "111111111111,22,333333333333"), ("E", "111111111111,")]);
        let err = required::<Vec<AccountId>>(&e, "L").expect_err("must be rejected");
        assert!(err.problem.contains("item 2 (\"22\")"), "{err}");
        assert!(required::<Vec<AccountId>>(&e, "E").expect_err("must be rejected").problem.contains("item 2 is empty"));
        let ok = required::<Vec<AccountId>>(&env(&[("L", "111111111111,222222222222")]), "L");
        assert_eq!(ok.map(|l| l.len()), Ok(2));
    }

    #[test]
    fn booleans_are_strict() {
        assert_eq!(required::<bool>(&env(&[("B", "true")]), "B"), Ok(true));
        assert!(required::<bool>(&env(&[("B", "yes")]), "B").is_err());
    }
}
