//! Typed settings from environment variables.
//!
//! Every function reads its settings once, at start, through [`required`], [`optional`] and
//! [`or_default`]. A missing or malformed value stops the start with a [`ConfigError`] that
//! names the variable and the expected form. An empty variable counts as not set: a
//! CloudFormation parameter left empty should fall back to the default, not be "".
//!
//! The environment is behind the [`Env`] trait so that tests pass a map instead of mutating
//! the process environment (which is unsafe in edition 2024 and racy across test threads).

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Display;
use std::ops::RangeInclusive;
use std::time::Duration;

use crate::account::AccountId;
use crate::error::ConfigError;

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

/// Checks that a setting already read lies in `range`.
pub fn in_range<T: PartialOrd + Display>(name: &str, value: T, range: RangeInclusive<T>) -> Result<T, ConfigError> {
    if range.contains(&value) {
        Ok(value)
    } else {
        let expected = format!("a value from {} to {}", range.start(), range.end());
        Err(invalid(name, &value.to_string(), "out of range", expected))
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

impl Setting for String {
    fn expected() -> String {
        "a non-empty string".to_owned()
    }
    fn parse_setting(raw: &str) -> Result<Self, String> {
        Ok(raw.to_owned())
    }
}

macro_rules! integer_setting {
    ($($t:ty),*) => {$(
        impl Setting for $t {
            fn expected() -> String {
                format!("a whole number from {} to {}", <$t>::MIN, <$t>::MAX)
            }
            fn parse_setting(raw: &str) -> Result<Self, String> {
                raw.parse().map_err(|e| format!("{e}"))
            }
        }
    )*};
}
integer_setting!(u16, u32, u64, usize);

impl Setting for bool {
    fn expected() -> String {
        "true or false".to_owned()
    }
    fn parse_setting(raw: &str) -> Result<Self, String> {
        match raw {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err("not a boolean".to_owned()),
        }
    }
}

impl Setting for AccountId {
    fn expected() -> String {
        "a 12-digit AWS account id".to_owned()
    }
    fn parse_setting(raw: &str) -> Result<Self, String> {
        raw.parse().map_err(|_| "not 12 digits".to_owned())
    }
}

/// Durations are written as a whole number and a unit: `90s`, `45m`, `12h`, `35d`.
impl Setting for Duration {
    fn expected() -> String {
        "a duration such as 90s, 45m, 12h or 35d".to_owned()
    }
    fn parse_setting(raw: &str) -> Result<Self, String> {
        let split = raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len());
        let (digits, unit) = raw.split_at(split);
        let amount: u64 = digits.parse().map_err(|_| "no leading number".to_owned())?;
        let seconds_per_unit = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3_600,
            "d" => 86_400,
            "" => return Err("no unit (s, m, h or d)".to_owned()),
            other => return Err(format!("unknown unit {other:?}")),
        };
        amount.checked_mul(seconds_per_unit).map(Duration::from_secs).ok_or_else(|| "too large".to_owned())
    }
}

/// Lists are comma-separated, without empty items: `111111111111,222222222222`.
impl<T: Setting> Setting for Vec<T> {
    fn expected() -> String {
        format!("a comma-separated list, each item {}", T::expected())
    }
    fn parse_setting(raw: &str) -> Result<Self, String> {
        raw.split(',')
            .enumerate()
            .map(|(index, item)| {
                if item.is_empty() {
                    return Err(format!("item {} is empty", index + 1));
                }
                T::parse_setting(item).map_err(|e| format!("item {} ({item:?}): {e}", index + 1))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

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
        for bad in ["12", "h", "1.5h", "3w", "-1h", "99999999999999999999d"] {
            assert!(required::<Duration>(&env(&[("X", bad)]), "X").is_err(), "{bad}");
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
    fn range_check_names_the_bounds() {
        assert_eq!(in_range("N", 5u32, 1..=10), Ok(5));
        let err = in_range("N", 0u32, 1..=10).expect_err("must be rejected");
        assert_eq!(err.expected, "a value from 1 to 10");
    }

    #[test]
    fn booleans_are_strict() {
        assert_eq!(required::<bool>(&env(&[("B", "true")]), "B"), Ok(true));
        assert!(required::<bool>(&env(&[("B", "yes")]), "B").is_err());
    }
}

/// The ARN of a KMS key (not an alias: key policies and allow-lists need the key itself),
/// `arn:<partition>:kms:<region>:<account>:key/<key-id>`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KmsKeyArn(String);

impl KmsKeyArn {
    /// The ARN as AWS prints it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The account that owns the key.
    pub fn account(&self) -> &str {
        self.0.split(':').nth(4).unwrap_or_default()
    }
}

impl std::fmt::Display for KmsKeyArn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Setting for KmsKeyArn {
    fn expected() -> String {
        "a KMS key ARN such as arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab".to_owned()
    }
    fn parse_setting(raw: &str) -> Result<Self, String> {
        let parts: Vec<&str> = raw.splitn(6, ':').collect();
        let [arn, partition, service, region, account, resource] = parts[..] else {
            return Err("not an ARN".to_owned());
        };
        if arn != "arn" || !partition.starts_with("aws") || service != "kms" || region.is_empty() {
            return Err("not a KMS ARN".to_owned());
        }
        if account.parse::<AccountId>().is_err() {
            return Err("the account is not 12 digits".to_owned());
        }
        match resource.strip_prefix("key/") {
            Some(id) if !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') => {
                Ok(Self(raw.to_owned()))
            }
            _ if resource.starts_with("alias/") => Err("an alias, not a key: use the key's ARN".to_owned()),
            _ => Err("no key/<id> resource".to_owned()),
        }
    }
}

#[cfg(test)]
mod kms_tests {
    use super::*;

    #[test]
    fn kms_key_arns_are_checked() {
        let ok = KmsKeyArn::parse_setting("arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab").expect("valid");
        assert_eq!(ok.account(), "111111111111");
        for (bad, problem) in [
            ("arn:aws:kms:us-east-1:111111111111:alias/export", "an alias"),
            ("1234abcd-12ab", "not an ARN"),
            ("arn:aws:s3:us-east-1:111111111111:key/x", "not a KMS ARN"),
            ("arn:aws:kms:us-east-1:1111:key/x", "12 digits"),
        ] {
            let err = KmsKeyArn::parse_setting(bad).expect_err("invalid");
            assert!(err.contains(problem), "{bad}: {err}");
        }
    }
}
