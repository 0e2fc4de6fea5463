//! Test support (feature `test-support`): proves that a settings reader stops the start on
//! every missing or malformed variable it reads, with a message naming the variable, showing
//! the value and saying the expected form. The variables come from what the reader asks a
//! [`Recording`] environment, not from a list kept by hand, so a variable added to a reader
//! without a malformed case fails the test by name.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;

use super::Recording;
use crate::error::ConfigError;

/// The environment the readers under test see.
pub type TestEnv = BTreeMap<String, String>;

/// `pairs` as an environment.
pub fn env(pairs: &[(&str, &str)]) -> TestEnv {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

/// `extra` set on top of `base`: a crate's valid environment with a test's changes.
pub fn env_over(base: &[(&str, &str)], extra: &[(&str, &str)]) -> TestEnv {
    let mut e = env(base);
    e.extend(env(extra));
    e
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
        assert_refused(read(&Recording::new(&e)), variable, Some(value), expected, &format!("{variable}={value:?}"));
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    use crate::config::{Env, duration_in, duration_text, optional, or_default, required, rule_error};

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
        let set = env(&[("W", "10m")]);
        let err = duration_in(&set, "W", Duration::from_secs(7200), Duration::from_secs(3600)..=Duration::MAX)
            .expect_err("too short");
        assert_eq!(
            err.to_string(),
            "configuration: W=\"10m\" is invalid (too short); expected a duration of at least 1h such as 2h (s, m, h or d)"
        );
        let err = rule_error(&env(&[]), "W", "2h", "not shorter than R (1h)", "a duration shorter than R");
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
