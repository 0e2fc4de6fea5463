//! Structured JSON logs through `tracing`, one line per event, for CloudWatch Logs Insights.

use serde_json::Value;
use tracing_subscriber::EnvFilter;

use crate::config::{self, Env, Setting};
use crate::error::ConfigError;

/// Variable with the log filter (`tracing_subscriber::EnvFilter` syntax), default `info`.
pub const LOG_VAR: &str = "OFFSITE_LOG";

/// The message a scheduled function (scanner, reconciler, retention, DynamoDB job) logs for
/// every invocation, next to [`trigger_of`] its event: the event says why the run happens,
/// never what it does, so a crafted payload (`{"dry_run": false}`, a forged event) is on
/// record as ignored.
pub const EVENT_NOT_READ: &str = "the event's content is not read: every invocation runs the scheduled job";

/// The functions' log filter when [`LOG_VAR`] is not set.
pub const DEFAULT_FILTER: &str = "info";

const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];

/// A log filter: comma-separated `tracing` EnvFilter directives, each with a level (`info`,
/// `offsite_scanner=debug`). EnvFilter itself takes a bare word as a target to trace, so a
/// misspelt level (`verbose`, `debu`) would silently switch every log line off; here it is
/// refused, like a directive EnvFilter cannot parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFilter(pub String);

impl Setting for LogFilter {
    fn expected() -> String {
        "a log level (off, error, warn, info, debug or trace) or comma-separated target=level directives \
         such as info,offsite_scanner=debug"
            .to_owned()
    }
    fn parse_setting(raw: &str) -> Result<Self, String> {
        for directive in raw.split(',') {
            let level = directive.rsplit_once('=').map_or(directive, |(_, level)| level);
            if !LEVELS.iter().any(|l| l.eq_ignore_ascii_case(level)) {
                return Err(format!("{directive:?} has no level"));
            }
        }
        EnvFilter::builder().parse(raw).map_err(|e| format!("not a filter: {e}"))?;
        Ok(Self(raw.to_owned()))
    }
}

/// The log filter from [`LOG_VAR`], `default` when it is not set.
pub fn filter_from_env(env: &impl Env, default: &str) -> Result<EnvFilter, ConfigError> {
    let filter = config::optional::<LogFilter>(env, LOG_VAR)?.map_or_else(|| default.to_owned(), |f| f.0);
    Ok(EnvFilter::new(filter))
}

/// Installs the JSON subscriber once; later calls do nothing (tests may call it repeatedly).
/// A malformed [`LOG_VAR`] is a start-up error like any other setting: the subscriber is
/// installed with the default filter, so that the caller can log the error, and the error
/// is returned.
pub fn init_json(env: &impl Env) -> Result<(), ConfigError> {
    let (filter, result) = match filter_from_env(env, DEFAULT_FILTER) {
        Ok(filter) => (filter, Ok(())),
        Err(error) => (EnvFilter::new(DEFAULT_FILTER), Err(error)),
    };
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_target(false)
        .without_time()
        .try_init();
    result
}

/// What invoked a function, for its log, in one short line whatever the payload: an
/// EventBridge event's detail type and source (`"Scheduled Event" from "aws.events"`), or
/// `direct invocation with …` and the payload's shape (its first keys).
pub fn trigger_of(payload: &Value) -> String {
    const MAX_CHARS: usize = 64;
    let Value::Object(map) = payload else {
        return format!("direct invocation with {}", json_type(payload));
    };
    match (map.get("detail-type").and_then(Value::as_str), map.get("source").and_then(Value::as_str)) {
        (Some(detail_type), Some(source)) => {
            format!("{} from {}", quoted(detail_type, MAX_CHARS), quoted(source, MAX_CHARS))
        }
        _ if map.is_empty() => "direct invocation with an empty object".to_owned(),
        _ => format!("direct invocation with keys {}", key_list(map, 5)),
    }
}

/// What kind of JSON value `value` is, for messages about a payload of the wrong shape.
pub fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A value from a payload for a message or a log line: quoted and escaped (so it stays on one
/// line) and cut after `max_chars` characters.
pub fn quoted(raw: &str, max_chars: usize) -> String {
    match raw.char_indices().nth(max_chars) {
        None => format!("{raw:?}"),
        Some((end, _)) => format!("{:?}…", &raw[..end]),
    }
}

/// The first `max_keys` keys of an object (quoted), for messages that say what an unknown
/// payload is; `none` for an empty one.
pub fn key_list(map: &serde_json::Map<String, Value>, max_keys: usize) -> String {
    if map.is_empty() {
        return "none".to_owned();
    }
    let mut keys: Vec<String> = map.keys().take(max_keys).map(|k| quoted(k, 120)).collect();
    if map.len() > max_keys {
        keys.push(format!("and {} more", map.len() - max_keys));
    }
    keys.join(", ")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn names_eventbridge_events_by_detail_type_and_source() {
        let scheduled = json!({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}});
        assert_eq!(trigger_of(&scheduled), r#""Scheduled Event" from "aws.events""#);
    }

    #[test]
    fn describes_anything_else_by_its_shape_on_one_short_line() {
        assert_eq!(trigger_of(&json!(null)), "direct invocation with null");
        assert_eq!(trigger_of(&json!(["x"])), "direct invocation with an array");
        assert_eq!(trigger_of(&json!({})), "direct invocation with an empty object");
        assert_eq!(trigger_of(&json!({"dry_run": false})), r#"direct invocation with keys "dry_run""#);
        let many: serde_json::Map<String, Value> = (0..9).map(|i| (format!("k{i}"), json!(i))).collect();
        assert!(trigger_of(&Value::Object(many)).ends_with(", and 4 more"));
        // A forged detail type: shortened, escaped, never a second line.
        let forged = json!({"detail-type": format!("x\n{}", "y".repeat(100_000)), "source": "aws.events"});
        let line = trigger_of(&forged);
        assert!(line.len() < 200 && !line.contains('\n'), "{line}");
    }
}

#[cfg(test)]
mod filter_tests {
    use super::*;
    use crate::config::coverage::{check_settings, env};

    #[test]
    fn a_malformed_filter_stops_the_start() {
        let form = "a log level (off, error, warn, info, debug or trace)";
        let malformed = [
            (LOG_VAR, "verbose", form),
            (LOG_VAR, "debu", form),
            (LOG_VAR, "offsite_scanner", form),
            (LOG_VAR, "offsite_scanner=lots", form),
            (LOG_VAR, "offsite=", form),
            (LOG_VAR, "info,", form),
            (LOG_VAR, "[span{x=1}]", form),
        ];
        let read = check_settings(|e| filter_from_env(e, DEFAULT_FILTER), &[], &malformed, &[]);
        assert_eq!(read.len(), 1, "{read:?}");
        for good in ["info", "DEBUG", "warn,offsite_scanner=debug", "offsite_importer[import]=trace", "off"] {
            assert!(filter_from_env(&env(&[(LOG_VAR, good)]), DEFAULT_FILTER).is_ok(), "{good}");
        }
    }
}
