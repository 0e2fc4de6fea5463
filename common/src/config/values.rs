//! The forms a setting can take: each parses the raw text and says what it expected.

use std::time::Duration;

use super::Setting;
use crate::account::AccountId;

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

/// An S3 bucket name (3–63 lowercase letters, digits, dots and hyphens, starting and ending
/// with a letter or digit: S3 User Guide, "Bucket naming rules").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketName(pub String);

impl Setting for BucketName {
    fn expected() -> String {
        "an S3 bucket name (3 to 63 lowercase letters, digits, dots or hyphens)".to_owned()
    }
    fn parse_setting(raw: &str) -> Result<Self, String> {
        let ok = (3..=63).contains(&raw.len())
            && raw.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
            && raw.starts_with(|c: char| c.is_ascii_alphanumeric())
            && raw.ends_with(|c: char| c.is_ascii_alphanumeric());
        if ok { Ok(Self(raw.to_owned())) } else { Err("not a bucket name".to_owned()) }
    }
}

/// The ARN of an IAM role, `arn:<partition>:iam::<account>:role/<path/>name` (IAM User
/// Guide, "IAM identifiers": names of 1–64 characters of letters, digits and `+=,.@_-`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleArn(pub String);

impl RoleArn {
    /// The account that owns the role.
    pub fn account(&self) -> &str {
        self.0.split(':').nth(4).unwrap_or_default()
    }
}

impl Setting for RoleArn {
    fn expected() -> String {
        "an IAM role ARN such as arn:aws:iam::111111111111:role/offsite-rds-export".to_owned()
    }
    fn parse_setting(raw: &str) -> Result<Self, String> {
        let parts: Vec<&str> = raw.splitn(6, ':').collect();
        let [arn, partition, service, region, account, resource] = parts[..] else {
            return Err("not an ARN".to_owned());
        };
        if arn != "arn" || !partition.starts_with("aws") || service != "iam" || !region.is_empty() {
            return Err("not an IAM ARN".to_owned());
        }
        if account.parse::<AccountId>().is_err() {
            return Err("the account is not 12 digits".to_owned());
        }
        let name = resource.strip_prefix("role/").and_then(|path| path.rsplit('/').next()).unwrap_or_default();
        let valid_name = (1..=64).contains(&name.len())
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b));
        if valid_name { Ok(Self(raw.to_owned())) } else { Err("no role/<name> resource".to_owned()) }
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
