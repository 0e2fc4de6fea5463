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
        let amount: u64 = match digits.parse() {
            Ok(amount) => amount,
            Err(_) if digits.is_empty() => return Err("no leading number".to_owned()),
            Err(_) => return Err("too large".to_owned()),
        };
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

/// The characters AWS allows in tag keys and values (RDS and DynamoDB: Unicode letters,
/// digits, white space and `_ . : / = + - @`).
fn tag_characters(raw: &str) -> Result<(), String> {
    match raw.chars().find(|c| !(c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(*c))) {
        Some(c) => Err(format!("{c:?} is not allowed in a tag")),
        None => Ok(()),
    }
}

/// A tag key (1 to 128 characters of the ones AWS allows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagKey(pub String);

impl Setting for TagKey {
    fn expected() -> String {
        "a tag key of at most 128 letters, digits, spaces and _ . : / = + - @".to_owned()
    }
    fn parse_setting(raw: &str) -> Result<Self, String> {
        if raw.chars().count() > 128 {
            return Err("longer than 128 characters".to_owned());
        }
        tag_characters(raw).map(|()| Self(raw.to_owned()))
    }
}

/// A tag value (at most 256 characters of the ones AWS allows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagValue(pub String);

impl Setting for TagValue {
    fn expected() -> String {
        "a tag value of at most 256 letters, digits, spaces and _ . : / = + - @".to_owned()
    }
    fn parse_setting(raw: &str) -> Result<Self, String> {
        if raw.chars().count() > 256 {
            return Err("longer than 256 characters".to_owned());
        }
        tag_characters(raw).map(|()| Self(raw.to_owned()))
    }
}

/// Test support (feature `test-support`): proves that a settings reader stops the start on
/// every missing or malformed variable it reads, with a message naming the variable, showing
/// the value and saying the expected form. The variables come from what the reader asks a
/// [`Recording`] environment, not from a list kept by hand, so a variable added to a reader
/// without a malformed case fails the test by name.
#[cfg(any(test, feature = "test-support"))]
pub mod coverage {
    use std::collections::{BTreeMap, BTreeSet};
    use std::fmt::Debug;

    use super::Recording;
    use crate::error::ConfigError;

    /// The environment the readers under test see.
    pub type TestEnv = BTreeMap<String, String>;

    /// A malformed value of each variable of [`crate::aws::AwsSettings`], which every
    /// function reads: for the tables of the functions' own tests.
    pub const AWS_MALFORMED: &[(&str, &str, &str)] = &[
        (crate::aws::REGION_VAR, "Europe", "an AWS region name such as"),
        (crate::aws::ENDPOINT_URL_VAR, "127.0.0.1:5000", "an http:// or https:// URL"),
        (crate::aws::MAX_ATTEMPTS_VAR, "0", "a whole number from 1 to 20"),
        (crate::aws::MAX_ATTEMPTS_VAR, "many", "a whole number from 1 to 20"),
    ];

    /// `pairs` as an environment.
    pub fn env(pairs: &[(&str, &str)]) -> TestEnv {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    /// Asserts that `result` is the start-up error for `variable`: named, showing `shown`
    /// (`None`: reported as not set) and with an expected form that contains `expected`.
    pub fn assert_refused<T: Debug>(
        result: Result<T, ConfigError>,
        variable: &str,
        shown: Option<&str>,
        expected: &str,
        context: &str,
    ) {
        let err = match result {
            Ok(settings) => panic!("{context}: accepted, but must be refused naming {variable}: {settings:?}"),
            Err(err) => err,
        };
        let message = err.to_string();
        assert_eq!(err.variable, variable, "{context}: the error names another variable: {message}");
        assert_eq!(err.value.as_deref(), shown, "{context}: the error shows another value: {message}");
        let named = match shown {
            // Long values are shortened in the message.
            Some(value) => {
                let start: String = value.chars().take(crate::error::MAX_SHOWN_VALUE).collect();
                format!("{variable}={start:?}")
            }
            None => format!("{variable} is not set"),
        };
        assert!(message.contains(&named), "{context}: the message does not say {named}: {message}");
        assert!(!err.problem.is_empty(), "{context}: no problem stated: {message}");
        assert!(
            !expected.is_empty() && err.expected.contains(expected) && message.contains(&err.expected),
            "{context}: the message does not give the expected form ({expected:?}): {message}"
        );
    }

    /// Checks a settings reader against tables of refusals, over `base` (a valid environment):
    ///
    /// - every variable the reader reads from `base` has at least one `malformed` case
    ///   (`(variable, value, fragment of the expected form)`), and every case is read;
    /// - each case, set on top of `base`, is refused naming its variable, showing its value
    ///   and the expected form;
    /// - `required` (`(variable, fragment of the expected form)`) are exactly the variables
    ///   whose absence (unset or empty) stops the start, and it is refused naming them; every
    ///   other variable of `base` may be removed.
    ///
    /// Returns the variables read.
    pub fn check_settings<T: Debug>(
        read: impl Fn(&Recording<'_, TestEnv>) -> Result<T, ConfigError>,
        base: &[(&str, &str)],
        malformed: &[(&str, &str, &str)],
        required: &[(&str, &str)],
    ) -> BTreeSet<String> {
        let base = env(base);
        let recording = Recording::new(&base);
        if let Err(err) = read(&recording) {
            panic!("the base environment must be valid: {err}");
        }
        let asked = recording.asked();
        let uncovered: Vec<&String> =
            asked.iter().filter(|name| !malformed.iter().any(|(variable, _, _)| variable == name)).collect();
        assert!(uncovered.is_empty(), "read but without a malformed case in the table: {uncovered:?}");
        for (variable, value, expected) in malformed {
            assert!(asked.contains(*variable), "{variable} has malformed cases but is not read");
            let mut e = base.clone();
            e.insert((*variable).to_owned(), (*value).to_owned());
            assert_refused(
                read(&Recording::new(&e)),
                variable,
                Some(value),
                expected,
                &format!("{variable}={value:?}"),
            );
        }
        let mut found_required = BTreeSet::new();
        for name in &asked {
            let mut e = base.clone();
            e.remove(name);
            match read(&Recording::new(&e)) {
                Ok(_) => {}
                Err(err) if err.variable == *name && err.value.is_none() => {
                    found_required.insert(name.as_str());
                }
                Err(err) => panic!("without {name}, the error names something else: {err}"),
            }
        }
        let listed: BTreeSet<&str> = required.iter().map(|(variable, _)| *variable).collect();
        assert_eq!(found_required, listed, "the required variables (stop the start when missing)");
        for (variable, expected) in required {
            for unset in [None, Some("")] {
                let mut e = base.clone();
                match unset {
                    None => e.remove(*variable),
                    Some(empty) => e.insert((*variable).to_owned(), empty.to_owned()),
                };
                assert_refused(read(&Recording::new(&e)), variable, None, expected, &format!("{variable} {unset:?}"));
            }
        }
        asked
    }

    /// Asserts that `set` on top of `base` (a rule between settings broken) is refused naming
    /// `variable`, showing `shown` and with the expected form containing `expected`.
    pub fn check_rule<T: Debug>(
        read: impl Fn(&Recording<'_, TestEnv>) -> Result<T, ConfigError>,
        base: &[(&str, &str)],
        set: &[(&str, &str)],
        (variable, shown, expected): (&str, Option<&str>, &str),
    ) {
        let mut e = env(base);
        e.extend(env(set));
        assert_refused(read(&Recording::new(&e)), variable, shown, expected, &format!("{set:?}"));
    }
}

#[cfg(test)]
mod coverage_tests {
    use super::coverage::check_settings;
    use super::*;

    /// Reads `A` (a number, default 1) and `B` (optional); `C` is required.
    fn read(env: &impl Env) -> Result<(u32, Option<u32>, u32), ConfigError> {
        Ok((or_default(env, "A", 1)?, optional(env, "B")?, required(env, "C")?))
    }

    const BASE: &[(&str, &str)] = &[("C", "3")];
    const NUMBER: &str = "a whole number";

    #[test]
    fn a_complete_table_passes() {
        let malformed = [("A", "x", NUMBER), ("B", "-1", NUMBER), ("C", "c", NUMBER)];
        let read = check_settings(|e| read(e), BASE, &malformed, &[("C", NUMBER)]);
        assert_eq!(read.len(), 3);
    }

    #[test]
    #[should_panic(expected = "read but without a malformed case in the table: [\"B\"]")]
    fn a_variable_read_without_a_malformed_case_fails_by_name() {
        check_settings(|e| read(e), BASE, &[("A", "x", NUMBER), ("C", "c", NUMBER)], &[("C", NUMBER)]);
    }

    #[test]
    #[should_panic(expected = "the required variables")]
    fn a_required_variable_not_listed_fails() {
        check_settings(|e| read(e), BASE, &[("A", "x", NUMBER), ("B", "-1", NUMBER), ("C", "c", NUMBER)], &[]);
    }

    #[test]
    #[should_panic(expected = "accepted, but must be refused naming B")]
    fn a_malformed_value_accepted_fails() {
        let malformed = [("A", "x", NUMBER), ("B", "7", NUMBER), ("C", "c", NUMBER)];
        check_settings(|e| read(e), BASE, &malformed, &[("C", NUMBER)]);
    }

    #[test]
    #[should_panic(expected = "does not give the expected form")]
    fn a_message_without_the_expected_form_fails() {
        let malformed = [("A", "x", "a duration"), ("B", "-1", NUMBER), ("C", "c", NUMBER)];
        check_settings(|e| read(e), BASE, &malformed, &[("C", NUMBER)]);
    }

    #[test]
    fn rule_errors_show_the_value_as_written_or_the_default() {
        let set = coverage::env(&[("W", "10m")]);
        let err = duration_in(&set, "W", Duration::from_secs(7200), Duration::from_secs(3600)..=Duration::MAX)
            .expect_err("too short");
        assert_eq!(
            err.to_string(),
            "configuration: W=\"10m\" is invalid (too short); expected a duration of at least 1h such as 2h (s, m, h or d)"
        );
        let err = rule_error(&coverage::env(&[]), "W", "2h", "not shorter than R (1h)", "a duration shorter than R");
        assert_eq!(
            err.to_string(),
            "configuration: W is not set (its default 2h: not shorter than R (1h)); set it to a duration shorter than R"
        );
        assert_eq!(
            [0, 90, 2_700, 43_200, 172_800, 90_000].map(|s| duration_text(Duration::from_secs(s))),
            ["0s", "90s", "45m", "12h", "2d", "25h"]
        );
    }
}
