//! Reading the event's JSON with paths, so that every problem names the field it is about.
//!
//! The reader checks JSON types only. Whether a type problem makes the event malformed (the
//! envelope: an invocation error) or merely not for the exporter (a field inside an event of a
//! known type: ignored) is the caller's decision, made by converting [`FieldError`] into
//! [`MalformedEvent`] or [`Ignored`].

use std::fmt;

use offsite_common::logging::{json_type, quoted};
use serde_json::{Map, Value};

use super::{MalformedEvent, Trigger};

/// A field that is missing or of the wrong JSON type: `field` is its path in the event
/// (`detail.SourceArn`, `Records[0].Sns.Message["Event ID"]`, `$` for the event itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct FieldError {
    pub field: String,
    pub problem: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.problem)
    }
}

impl From<FieldError> for MalformedEvent {
    fn from(error: FieldError) -> Self {
        Self { field: error.field, problem: error.problem }
    }
}

/// A decision not to act, with its reason: the event is of a known type, but it announces no
/// snapshot the exporter may look at. Used with `?` inside the decision; it ends as
/// [`Trigger::Ignore`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Ignored(pub String);

impl From<FieldError> for Ignored {
    fn from(error: FieldError) -> Self {
        Self(error.to_string())
    }
}

impl From<Ignored> for Trigger {
    fn from(Ignored(reason): Ignored) -> Self {
        Self::Ignore { reason }
    }
}

/// A string field that was read, with its path, for decisions that name where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Read<'a> {
    pub field: String,
    pub value: &'a str,
}

impl<'a> Read<'a> {
    pub fn new(field: impl Into<String>, value: &'a str) -> Self {
        Self { field: field.into(), value }
    }
}

/// A JSON object and its path in the event.
#[derive(Debug, Clone)]
pub(super) struct Obj<'a> {
    map: &'a Map<String, Value>,
    path: String,
}

impl<'a> Obj<'a> {
    pub fn root(map: &'a Map<String, Value>) -> Self {
        Self::new(map, String::new())
    }

    pub fn new(map: &'a Map<String, Value>, path: String) -> Self {
        Self { map, path }
    }

    pub fn map(&self) -> &'a Map<String, Value> {
        self.map
    }

    /// The path of `key` in this object: `detail.SourceArn`, `…Message["Event ID"]`.
    pub fn path(&self, key: &str) -> String {
        let plain = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        match (self.path.is_empty(), plain) {
            (true, true) => key.to_owned(),
            (true, false) => format!("[{key:?}]"),
            (false, true) => format!("{}.{key}", self.path),
            (false, false) => format!("{}[{key:?}]", self.path),
        }
    }

    /// Whether `key` is there, even as null.
    pub fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    /// The value of `key` unless it is absent or null.
    pub fn present(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// A string that may be absent or null (then `None`), but not of another type. Empty
    /// strings are returned: whether one is usable is the caller's business.
    pub fn opt_str(&self, key: &str, expected: &str) -> Result<Option<&'a str>, FieldError> {
        match self.present(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(wrong_type(self.path(key), other, expected)),
        }
    }

    /// A string that must be there and not empty.
    pub fn str(&self, key: &str, expected: &str) -> Result<&'a str, FieldError> {
        match self.map.get(key) {
            None => Err(field_error(self.path(key), format!("missing; expected {expected}"))),
            Some(Value::Null) => Err(field_error(self.path(key), format!("is null; expected {expected}"))),
            Some(Value::String(s)) if s.is_empty() => {
                Err(field_error(self.path(key), format!("is an empty string; expected {expected}")))
            }
            Some(Value::String(s)) => Ok(s),
            Some(other) => Err(wrong_type(self.path(key), other, expected)),
        }
    }

    /// A string field as [`Read`], absent or null as `None`.
    pub fn read(&self, key: &str, expected: &str) -> Result<Option<Read<'a>>, FieldError> {
        Ok(self.opt_str(key, expected)?.map(|value| Read::new(self.path(key), value)))
    }

    /// An object that may be absent (then `None`), but not null or of another type.
    pub fn opt_obj(&self, key: &str, expected: &str) -> Result<Option<Obj<'a>>, FieldError> {
        match self.map.get(key) {
            None => Ok(None),
            Some(Value::Object(map)) => Ok(Some(Obj::new(map, self.path(key)))),
            Some(other) => Err(wrong_type(self.path(key), other, expected)),
        }
    }

    /// An object that must be there.
    pub fn obj(&self, key: &str, expected: &str) -> Result<Obj<'a>, FieldError> {
        self.opt_obj(key, expected)?.ok_or_else(|| field_error(self.path(key), format!("missing; expected {expected}")))
    }
}

pub(super) fn field_error(field: impl Into<String>, problem: impl Into<String>) -> FieldError {
    FieldError { field: field.into(), problem: problem.into() }
}

pub(super) fn wrong_type(field: String, value: &Value, expected: &str) -> FieldError {
    field_error(field, format!("is {}; expected {expected}", json_type(value)))
}

/// A value from the event for a message: quoted, escaped and cut to a readable length.
pub(super) fn shown(raw: &str) -> String {
    quoted(raw, 120)
}

/// The first keys of an object, for reasons that say what an unknown payload is.
pub(super) fn key_list(map: &Map<String, Value>) -> String {
    offsite_common::logging::key_list(map, 8)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn object(value: &Value) -> &Map<String, Value> {
        value.as_object().expect("test value is an object")
    }

    #[test]
    fn paths_name_nested_and_odd_keys() {
        let value = json!({});
        let root = Obj::root(object(&value));
        assert_eq!(root.path("detail"), "detail");
        assert_eq!(root.path("Event ID"), "[\"Event ID\"]");
        let nested = Obj::new(object(&value), "Records[0].Sns.Message".to_owned());
        assert_eq!(nested.path("Event ID"), "Records[0].Sns.Message[\"Event ID\"]");
        assert_eq!(nested.path("TopicArn"), "Records[0].Sns.Message.TopicArn");
    }

    #[test]
    fn types_are_checked_and_named() {
        let value = json!({ "s": "x", "e": "", "n": 7, "z": null, "o": {}, "a": [] });
        let obj = Obj::root(object(&value));
        assert_eq!(obj.opt_str("s", "a string"), Ok(Some("x")));
        assert_eq!(obj.opt_str("e", "a string"), Ok(Some("")));
        assert_eq!(obj.opt_str("z", "a string"), Ok(None));
        assert_eq!(obj.opt_str("missing", "a string"), Ok(None));
        assert_eq!(
            obj.opt_str("n", "a string").map_err(|e| e.to_string()),
            Err("n: is a number; expected a string".into())
        );
        assert_eq!(
            obj.str("e", "a name").map_err(|e| e.to_string()),
            Err("e: is an empty string; expected a name".into())
        );
        assert_eq!(obj.str("z", "a name").map_err(|e| e.to_string()), Err("z: is null; expected a name".into()));
        assert_eq!(obj.str("q", "a name").map_err(|e| e.to_string()), Err("q: missing; expected a name".into()));
        assert!(obj.opt_obj("o", "an object").is_ok_and(|o| o.is_some()));
        assert_eq!(
            obj.opt_obj("z", "an object").map(|o| o.is_some()).map_err(|e| e.to_string()),
            Err("z: is null; expected an object".into())
        );
        assert_eq!(
            obj.obj("a", "an object").map(|_| ()).map_err(|e| e.problem),
            Err("is an array; expected an object".into())
        );
    }

    #[test]
    fn field_errors_become_malformed_events_or_reasons() {
        let error = field_error("detail", "is a string; expected an object");
        assert_eq!(
            MalformedEvent::from(error.clone()).to_string(),
            "malformed event: detail: is a string; expected an object"
        );
        assert_eq!(
            Trigger::from(Ignored::from(error)),
            Trigger::Ignore { reason: "detail: is a string; expected an object".into() }
        );
    }
}
