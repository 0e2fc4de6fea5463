use std::fmt;

/// A setting that is missing or malformed.
///
/// Its message names the variable, shows the value (shortened) and says what form was
/// expected, so that the operator can fix the deployment without reading code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// The environment variable at fault.
    pub variable: String,
    /// The value found, if any (`None`: the variable is not set).
    pub value: Option<String>,
    /// What is wrong with the value.
    pub problem: String,
    /// The expected form, e.g. "a 12-digit AWS account id".
    pub expected: String,
}

/// Values longer than this are shortened in messages: they may be whole policies pasted by
/// mistake, and logs should stay readable.
pub(crate) const MAX_SHOWN_VALUE: usize = 120;

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            None => {
                write!(f, "configuration: {} is not set ({}); set it to {}", self.variable, self.problem, self.expected)
            }
            Some(value) => {
                let shown: String = value.chars().take(MAX_SHOWN_VALUE).collect();
                let ellipsis = if value.chars().count() > MAX_SHOWN_VALUE { "..." } else { "" };
                write!(
                    f,
                    "configuration: {}={:?}{} is invalid ({}); expected {}",
                    self.variable, shown, ellipsis, self.problem, self.expected
                )
            }
        }
    }
}
