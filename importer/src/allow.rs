//! The vault's allow-list: which workload accounts may send it snapshots, under which key,
//! through which topic.
//!
//! Set as JSON in `OFFSITE_ALLOWED_SOURCES`:
//! `[{"account":"111111111111","export_key_arn":"arn:aws:kms:…:key/…","topic_arn":"arn:aws:sns:…"}]`
//! (`topic_arn` optional: without it, that account's notices are refused and only the
//! reconciler imports its shares).

use std::collections::BTreeMap;

use offsite_common::AccountId;
use offsite_common::config::{KmsKeyArn, Setting};
use serde::Deserialize;

/// One allowed workload account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedSource {
    pub account: AccountId,
    pub export_key_arn: KmsKeyArn,
    pub topic_arn: Option<String>,
}

/// The allowed workload accounts, by account id.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AllowList(BTreeMap<AccountId, AllowedSource>);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    account: String,
    export_key_arn: String,
    #[serde(default)]
    topic_arn: Option<String>,
}

impl AllowList {
    /// The entry for `account`, if it is allowed.
    pub fn get(&self, account: &AccountId) -> Option<&AllowedSource> {
        self.0.get(account)
    }

    /// Whether `topic_arn` is the allowed topic of some account.
    pub fn topic_account(&self, topic_arn: &str) -> Option<&AllowedSource> {
        self.0.values().find(|s| s.topic_arn.as_deref() == Some(topic_arn))
    }

    /// Every allowed source.
    pub fn sources(&self) -> impl Iterator<Item = &AllowedSource> {
        self.0.values()
    }
}

impl Setting for AllowList {
    fn expected() -> String {
        r#"a JSON list such as [{"account":"111111111111","export_key_arn":"arn:aws:kms:eu-west-1:111111111111:key/…","topic_arn":"arn:aws:sns:eu-west-1:111111111111:offsite"}]"#
            .to_owned()
    }

    fn parse_setting(raw: &str) -> Result<Self, String> {
        let entries: Vec<Entry> = serde_json::from_str(raw).map_err(|e| format!("not that JSON: {e}"))?;
        if entries.is_empty() {
            return Err("the list is empty: no workload account could ever be imported".to_owned());
        }
        let mut sources = BTreeMap::new();
        for (index, entry) in entries.into_iter().enumerate() {
            let at = |problem: String| format!("entry {}: {problem}", index + 1);
            let account: AccountId = entry.account.parse().map_err(|e| at(format!("{e}")))?;
            let key =
                KmsKeyArn::parse_setting(&entry.export_key_arn).map_err(|e| at(format!("export_key_arn: {e}")))?;
            if key.account() != account.as_str() {
                return Err(at(format!("export_key_arn belongs to {}, not to {account}", key.account())));
            }
            if let Some(topic) = &entry.topic_arn {
                let owner = topic.split(':').nth(4);
                if !topic.starts_with("arn:")
                    || topic.split(':').nth(2) != Some("sns")
                    || owner != Some(account.as_str())
                {
                    return Err(at(format!("topic_arn {topic:?} is not an SNS topic of {account}")));
                }
            }
            let source = AllowedSource { account: account.clone(), export_key_arn: key, topic_arn: entry.topic_arn };
            if sources.insert(account.clone(), source).is_some() {
                return Err(at(format!("account {account} is listed twice")));
            }
        }
        Ok(Self(sources))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"[{"account":"111111111111","export_key_arn":"arn:aws:kms:us-east-1:111111111111:key/k","topic_arn":"arn:aws:sns:us-east-1:111111111111:offsite"},
        {"account":"444444444444","export_key_arn":"arn:aws:kms:us-east-1:444444444444:key/k"}]"#;

    #[test]
    fn parses_accounts_keys_and_topics() {
        let list = AllowList::parse_setting(GOOD).expect("valid");
        let account: AccountId = "111111111111".parse().expect("id");
        assert_eq!(
            list.get(&account).map(|s| s.export_key_arn.as_str()),
            Some("arn:aws:kms:us-east-1:111111111111:key/k")
        );
        assert_eq!(
            list.topic_account("arn:aws:sns:us-east-1:111111111111:offsite").map(|s| &s.account),
            Some(&account)
        );
        assert_eq!(list.sources().count(), 2);
    }

    #[test]
    fn refuses_inconsistent_entries_with_their_position() {
        for (raw, problem) in [
            ("[]", "empty"),
            ("{}", "not that JSON"),
            (r#"[{"account":"1","export_key_arn":"arn:aws:kms:us-east-1:111111111111:key/k"}]"#, "entry 1"),
            (
                r#"[{"account":"111111111111","export_key_arn":"arn:aws:kms:us-east-1:222222222222:key/k"}]"#,
                "belongs to 222222222222",
            ),
            (
                r#"[{"account":"111111111111","export_key_arn":"arn:aws:kms:us-east-1:111111111111:key/k","topic_arn":"arn:aws:sns:us-east-1:999999999999:t"}]"#,
                "not an SNS topic of",
            ),
            (
                r#"[{"account":"111111111111","export_key_arn":"arn:aws:kms:us-east-1:111111111111:key/k","extra":1}]"#,
                "unknown field",
            ),
        ] {
            let err = AllowList::parse_setting(raw).expect_err(raw);
            assert!(err.contains(problem), "{raw}: {err}");
        }
        let twice = format!(
            "[{0},{0}]",
            r#"{"account":"111111111111","export_key_arn":"arn:aws:kms:us-east-1:111111111111:key/k"}"#
        );
        assert!(AllowList::parse_setting(&twice).expect_err("dup").contains("twice"));
    }
}
