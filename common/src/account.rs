//! AWS account identifiers.

use std::fmt;
use std::str::FromStr;

/// A 12-digit AWS account id.
///
/// Account ids cross trust boundaries (allow-lists, share lists, notices), so they are
/// validated once where they enter and carried typed from there on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AccountId(String);

/// Why a string is not an account id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an AWS account id (12 digits)")]
pub struct InvalidAccountId(pub String);

impl AccountId {
    /// The id as the 12 digits AWS prints.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for AccountId {
    type Err = InvalidAccountId;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        if raw.len() == 12 && raw.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidAccountId(raw.to_owned()))
        }
    }
}

impl serde::Serialize for AccountId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for AccountId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        raw.parse().map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_exactly_twelve_digits() {
        assert_eq!("111111111111".parse::<AccountId>().map(|a| a.to_string()), Ok("111111111111".to_owned()));
        for bad in ["", "11111111111", "1111111111111", "11111111111a", " 111111111111", "１11111111111"] {
            assert_eq!(bad.parse::<AccountId>(), Err(InvalidAccountId(bad.to_owned())), "{bad:?}");
        }
    }
}
