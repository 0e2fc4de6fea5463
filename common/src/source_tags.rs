//! Tags of a source snapshot that travel with it to the vault, so that the vault can select
//! by them (the RDS exports for auditors, restricted by a tag on the source).
//!
//! The vault cannot read the workload's tags: a snapshot shared with it shows none of its
//! owner's tags, and the vault has no role in the workload. So the exporter copies the
//! configured keys (`OFFSITE_CARRY_SOURCE_TAGS`) onto its copy as `offsite:source-tag:<key>`,
//! the scanner puts them into the notice (`source_tags`), and the importer records them on the
//! vault copy under the same keys. They are the workload's *claims*: good for choosing what to
//! export, never for a security decision (the reconciler's imports, made without a notice,
//! carry none).

use std::collections::BTreeMap;

use crate::config::{Setting, TagKey, TagValue};

/// The prefix of a carried tag's key on the pipeline's copies (`offsite:source-tag:<key>`).
pub const PREFIX: &str = "offsite:source-tag:";
/// At most this many tags are carried (the notice stays small; RDS allows 50 tags a snapshot).
pub const MAX_CARRIED: usize = 5;
/// A carried key's length, so that `offsite:source-tag:<key>` stays a valid RDS tag key.
pub const MAX_KEY_CHARS: usize = 64;

/// Whether `key` may be carried: 1 to [`MAX_KEY_CHARS`] characters AWS allows in a tag key,
/// not one of AWS's (`aws:`, `rds:`) or the pipeline's own (`offsite:`).
pub fn check_key(key: &str) -> Result<(), String> {
    if key.is_empty() || key.chars().count() > MAX_KEY_CHARS {
        return Err(format!("a carried tag key has 1 to {MAX_KEY_CHARS} characters"));
    }
    let lower = key.to_ascii_lowercase();
    if ["aws:", "rds:", "offsite:"].iter().any(|reserved| lower.starts_with(reserved)) {
        return Err(format!("{key:?} is reserved (aws:, rds:, offsite:)"));
    }
    TagKey::parse_setting(key).map(drop)
}

/// Whether `value` is a tag value AWS allows (at most 256 characters).
pub fn check_value(value: &str) -> Result<(), String> {
    TagValue::parse_setting(value).map(drop)
}

/// Whether a set of carried tags is one the pipeline could have carried.
pub fn check(tags: &BTreeMap<String, String>) -> Result<(), String> {
    if tags.len() > MAX_CARRIED {
        return Err(format!("{} tags; at most {MAX_CARRIED} are carried", tags.len()));
    }
    for (key, value) in tags {
        check_key(key).map_err(|e| format!("key {key:?}: {e}"))?;
        check_value(value).map_err(|e| format!("value of {key:?}: {e}"))?;
    }
    Ok(())
}

/// The key a carried tag has on the pipeline's copies.
pub fn tag_key(key: &str) -> String {
    format!("{PREFIX}{key}")
}

/// The carried tags among a copy's tags, under their source keys.
pub fn carried(tags: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    tags.iter().filter_map(|(k, v)| k.strip_prefix(PREFIX).map(|key| (key.to_owned(), v.clone()))).collect()
}

/// The source tag keys the exporter carries (`OFFSITE_CARRY_SOURCE_TAGS`, comma-separated).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CarriedKeys(pub Vec<String>);

impl Setting for CarriedKeys {
    fn expected() -> String {
        format!(
            "up to {MAX_CARRIED} comma-separated tag keys of at most {MAX_KEY_CHARS} characters, \
             not starting with aws:, rds: or offsite:, e.g. data-class,team"
        )
    }
    fn parse_setting(raw: &str) -> Result<Self, String> {
        let keys: Vec<String> = raw.split(',').map(str::to_owned).collect();
        if keys.len() > MAX_CARRIED {
            return Err(format!("{} keys", keys.len()));
        }
        for (i, key) in keys.iter().enumerate() {
            check_key(key)?;
            if keys[..i].contains(key) {
                return Err(format!("{key:?} is named twice"));
            }
        }
        Ok(Self(keys))
    }
}

/// A tag the source must carry (`key=value`), as the vault's settings name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceTag {
    pub key: String,
    pub value: String,
}

impl SourceTag {
    /// Whether a vault copy's carried tags include this one.
    pub fn matches(&self, carried: &BTreeMap<String, String>) -> bool {
        carried.get(&self.key) == Some(&self.value)
    }
}

impl Setting for SourceTag {
    fn expected() -> String {
        "key=value: a carried source tag key (as in the workload's OFFSITE_CARRY_SOURCE_TAGS) and its value, \
         e.g. data-class=audited"
            .to_owned()
    }
    fn parse_setting(raw: &str) -> Result<Self, String> {
        let (key, value) = raw.split_once('=').ok_or("no '='")?;
        check_key(key)?;
        check_value(value)?;
        Ok(Self { key: key.to_owned(), value: value.to_owned() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_aws_tag_keys_short_enough_and_not_reserved() {
        assert!(check_key("data-class").is_ok());
        assert!(check_key("team:owner @x").is_ok());
        assert!(check_key(&"k".repeat(MAX_KEY_CHARS)).is_ok());
        assert!(check_key(&"k".repeat(MAX_KEY_CHARS + 1)).is_err());
        assert!(check_key("").is_err());
        for reserved in ["aws:x", "RDS:x", "offsite:managed-by", "Offsite:x"] {
            assert!(check_key(reserved).is_err(), "{reserved}");
        }
        assert!(check_key("semi;colon").is_err());
        assert!(tag_key("data-class").len() <= 128);
        assert!(tag_key(&"k".repeat(MAX_KEY_CHARS)).chars().count() <= 128);
    }

    #[test]
    fn carried_tags_are_read_back_under_their_source_keys() {
        let tags = BTreeMap::from([
            (tag_key("data-class"), "audited".to_owned()),
            ("offsite:managed-by".to_owned(), "offsite-export".to_owned()),
            ("team".to_owned(), "payments".to_owned()),
        ]);
        assert_eq!(carried(&tags), BTreeMap::from([("data-class".to_owned(), "audited".to_owned())]));
        assert!(check(&carried(&tags)).is_ok());
        let too_many: BTreeMap<String, String> = (0..=MAX_CARRIED).map(|i| (format!("k{i}"), String::new())).collect();
        assert!(check(&too_many).is_err());
        let bad_value = BTreeMap::from([("k".to_owned(), "a;b".to_owned())]);
        assert!(check(&bad_value).expect_err("a bad value").contains("value of \"k\""));
    }

    #[test]
    fn settings_name_keys_and_a_key_value() {
        assert_eq!(
            CarriedKeys::parse_setting("data-class,team"),
            Ok(CarriedKeys(vec!["data-class".into(), "team".into()]))
        );
        assert!(CarriedKeys::parse_setting("a,a").expect_err("twice").contains("twice"));
        assert!(CarriedKeys::parse_setting("a,,b").is_err());
        assert!(CarriedKeys::parse_setting("a,b,c,d,e,f").is_err());
        assert!(CarriedKeys::parse_setting("offsite:stage").is_err());
        let tag = SourceTag::parse_setting("data-class=audited").expect("valid");
        assert_eq!((tag.key.as_str(), tag.value.as_str()), ("data-class", "audited"));
        assert!(tag.matches(&BTreeMap::from([("data-class".into(), "audited".into())])));
        assert!(!tag.matches(&BTreeMap::from([("data-class".into(), "public".into())])));
        assert!(!tag.matches(&BTreeMap::new()));
        assert_eq!(SourceTag::parse_setting("k=").map(|t| t.value), Ok(String::new()));
        assert!(SourceTag::parse_setting("data-class").is_err());
        assert!(SourceTag::parse_setting("aws:x=1").is_err());
    }
}
