//! The announcement the scanner publishes and the importer verifies.
//!
//! A notice is a *hint*: the importer re-checks every claim through the RDS API. It is
//! versioned, strict (unknown fields are refused, every ARN must agree with the others) and
//! small, so a hostile workload account cannot make the vault parse anything large or vague.
//!
//! ```json
//! {"version":1,"notice_id":"n-…","kind":"db-snapshot",
//!  "copy_arn":"arn:aws:rds:eu-west-1:111111111111:snapshot:offsite-orders-…",
//!  "source_account":"111111111111","source_region":"eu-west-1",
//!  "export_key_arn":"arn:aws:kms:eu-west-1:111111111111:key/…",
//!  "source_snapshot_arn":"arn:aws:rds:eu-west-1:111111111111:snapshot:rds:orders-…",
//!  "source_database":"orders","engine":"postgres",
//!  "original_create_time":"2026-11-22T03:00:00Z","announce_time":"2026-11-22T04:10:00Z",
//!  "source_tags":{"data-class":"audited"}}
//! ```
//!
//! `source_tags` (the source's tags the exporter carries, [`crate::source_tags`]) is optional
//! and left out when empty, so a notice without carried tags reads as before; an importer older
//! than the field refuses a notice that has it: upgrade the vault before the workload.

use std::collections::BTreeMap;

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::account::AccountId;
use crate::config::{KmsKeyArn, Setting};
use crate::snapshot::{SnapshotArn, SnapshotKind};

/// The only schema version this code reads and writes.
pub const NOTICE_VERSION: u32 = 1;
/// Upper bound of a serialised notice; real ones are under 1 KiB, and the largest carried
/// source tags ([`crate::source_tags`]: 5 keys of 64 and values of 256 characters, 4 bytes
/// each at most) add under 6.5 KiB.
pub const MAX_NOTICE_BYTES: usize = 8192;

/// The announcement of one shared copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notice {
    pub version: u32,
    /// Deterministic per copy ([`Notice::id_for`]): re-announcements carry the same id.
    pub notice_id: String,
    pub kind: SnapshotKind,
    /// The shared copy in the workload account.
    pub copy_arn: String,
    pub source_account: AccountId,
    pub source_region: String,
    /// The key the copy is encrypted with; the vault expects one per source account.
    pub export_key_arn: String,
    /// The snapshot the copy was made from.
    pub source_snapshot_arn: String,
    pub source_database: Option<String>,
    pub engine: Option<String>,
    /// When the data was snapshotted (RFC 3339), if known.
    pub original_create_time: Option<String>,
    /// When the scanner announced it (RFC 3339).
    pub announce_time: String,
    /// The source's tags the exporter carried (claims of the workload, for selection only).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub source_tags: BTreeMap<String, String>,
}

/// Why a message is not a valid notice.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoticeError {
    #[error("notice is {0} bytes; at most {MAX_NOTICE_BYTES} are accepted")]
    TooLarge(usize),
    #[error("notice is not a JSON object of the expected form: {0}")]
    Malformed(String),
    #[error("notice version {0} is not supported (this importer reads version {NOTICE_VERSION})")]
    UnsupportedVersion(String),
    #[error("notice field {field}: {problem}")]
    Invalid { field: &'static str, problem: String },
}

fn invalid(field: &'static str, problem: impl Into<String>) -> NoticeError {
    NoticeError::Invalid { field, problem: problem.into() }
}

impl Notice {
    /// The notice id of a copy: `n-` and 32 hex digits of SHA-256 over its ARN.
    pub fn id_for(copy_arn: &str) -> String {
        let digest = Sha256::digest(copy_arn.as_bytes());
        let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
        format!("n-{hex}")
    }

    /// Parses and checks a notice: size, version, schema, and that every field agrees
    /// with the others (same account and region everywhere, the id derived from the copy).
    pub fn parse(raw: &str) -> Result<Self, NoticeError> {
        if raw.len() > MAX_NOTICE_BYTES {
            return Err(NoticeError::TooLarge(raw.len()));
        }
        let value: serde_json::Value = serde_json::from_str(raw).map_err(|e| NoticeError::Malformed(e.to_string()))?;
        match value.get("version") {
            Some(v) if v.as_u64() == Some(u64::from(NOTICE_VERSION)) => {}
            Some(v) => return Err(NoticeError::UnsupportedVersion(v.to_string())),
            None => return Err(invalid("version", "missing")),
        }
        // From the text again, not from `value`: a JSON object keeps only the last of two
        // equal keys, the struct refuses the second ("duplicate field"), so a notice cannot say
        // one thing to this parser and another to a reader that takes the first.
        let notice: Self = serde_json::from_str(raw).map_err(|e| NoticeError::Malformed(e.to_string()))?;
        notice.check()?;
        Ok(notice)
    }

    /// The JSON text published on SNS.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    fn check(&self) -> Result<(), NoticeError> {
        let copy: SnapshotArn = self.copy_arn.parse().map_err(|e| invalid("copy_arn", format!("{e}")))?;
        let source: SnapshotArn =
            self.source_snapshot_arn.parse().map_err(|e| invalid("source_snapshot_arn", format!("{e}")))?;
        if copy.kind != self.kind || source.kind != self.kind {
            return Err(invalid("kind", format!("{} does not match the ARNs", self.kind)));
        }
        for (field, arn) in [("copy_arn", &copy), ("source_snapshot_arn", &source)] {
            if arn.account != self.source_account {
                return Err(invalid(
                    field,
                    format!("account {} is not source_account {}", arn.account, self.source_account),
                ));
            }
            if arn.region != self.source_region {
                return Err(invalid(
                    field,
                    format!("region {} is not source_region {}", arn.region, self.source_region),
                ));
            }
        }
        let key = KmsKeyArn::parse_setting(&self.export_key_arn).map_err(|p| invalid("export_key_arn", p))?;
        if key.account() != self.source_account.as_str() {
            return Err(invalid("export_key_arn", "the key belongs to another account than the source"));
        }
        if self.notice_id != Self::id_for(&self.copy_arn) {
            return Err(invalid("notice_id", "not derived from copy_arn"));
        }
        let timestamp = |field, value: &str| {
            DateTime::from_str(value, Format::DateTime).map(drop).map_err(|e| invalid(field, format!("{value:?}: {e}")))
        };
        timestamp("announce_time", &self.announce_time)?;
        if let Some(created) = &self.original_create_time {
            timestamp("original_create_time", created)?;
        }
        for (field, value) in [("source_database", &self.source_database), ("engine", &self.engine)] {
            if value.as_ref().is_some_and(|v| v.is_empty() || v.len() > 255 || v.chars().any(char::is_control)) {
                return Err(invalid(field, "empty, too long or with control characters"));
            }
        }
        crate::source_tags::check(&self.source_tags).map_err(|e| invalid("source_tags", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn notice_ids_are_pinned() {
        // Persistent format (ARCHITECTURE.md, "Persistent formats"): the values below are
        // written out by hand, from the documented rule, never computed by the code under test.
        // If this test fails, the code now names things differently than every copy, notice or
        // export already in AWS: do not update the values; keep the old form recognised (a
        // migration) or revert.
        let copy = "arn:aws:rds:us-east-1:111111111111:snapshot:offsite-orders-nightly-0924fa2c75cf54b6";
        assert_eq!(Notice::id_for(copy), "n-3a1ca1b32dd741b3c91af3fbbde5a557");
    }

    use super::*;

    const COPY: &str = "arn:aws:rds:eu-west-1:111111111111:snapshot:offsite-orders-0123456789abcdef";

    fn notice() -> Notice {
        Notice {
            version: NOTICE_VERSION,
            notice_id: Notice::id_for(COPY),
            kind: SnapshotKind::Instance,
            copy_arn: COPY.into(),
            source_account: "111111111111".parse().expect("account"),
            source_region: "eu-west-1".into(),
            export_key_arn: "arn:aws:kms:eu-west-1:111111111111:key/1234abcd".into(),
            source_snapshot_arn: "arn:aws:rds:eu-west-1:111111111111:snapshot:rds:orders-2026-11-22-03-00".into(),
            source_database: Some("orders".into()),
            engine: Some("postgres".into()),
            original_create_time: Some("2026-11-22T03:00:00Z".into()),
            announce_time: "2026-11-22T04:10:00Z".into(),
            source_tags: BTreeMap::new(),
        }
    }

    #[test]
    fn round_trips() {
        let n = notice();
        assert_eq!(Notice::parse(&n.to_json()), Ok(n));
    }

    #[test]
    fn carried_source_tags_are_optional_bounded_and_checked() {
        let plain = notice().to_json();
        assert!(!plain.contains("source_tags"), "left out when empty: {plain}");
        let mut tagged = notice();
        tagged.source_tags =
            BTreeMap::from([("data-class".into(), "audited".into()), ("team".into(), "pay ments".into())]);
        assert_eq!(Notice::parse(&tagged.to_json()), Ok(tagged.clone()));
        // The largest carried tags still fit.
        // U+1D538 is a letter of 4 bytes in UTF-8.
        let widest = "\u{1D538}".repeat(256);
        tagged.source_tags = (0..crate::source_tags::MAX_CARRIED)
            .map(|i| (format!("{i}{}", "k".repeat(crate::source_tags::MAX_KEY_CHARS - 1)), widest.clone()))
            .collect();
        assert!(tagged.to_json().len() <= MAX_NOTICE_BYTES, "{}", tagged.to_json().len());
        assert_eq!(Notice::parse(&tagged.to_json()), Ok(tagged.clone()));
        for (key, value, problem) in
            [("offsite:stage", "announced", "reserved"), ("data-class", "a;b", "not allowed"), ("", "x", "1 to 64")]
        {
            let mut bad = notice();
            bad.source_tags = BTreeMap::from([(key.to_owned(), value.to_owned())]);
            match Notice::parse(&bad.to_json()) {
                Err(NoticeError::Invalid { field: "source_tags", problem: p }) => assert!(p.contains(problem), "{p}"),
                other => panic!("{key}={value}: {other:?}"),
            }
        }
        let mut many = notice();
        many.source_tags = (0..6).map(|i| (format!("k{i}"), String::new())).collect();
        assert!(matches!(Notice::parse(&many.to_json()), Err(NoticeError::Invalid { field: "source_tags", .. })));
    }

    #[test]
    fn refuses_unknown_fields_other_versions_and_large_input() {
        let mut value: serde_json::Value = serde_json::from_str(&notice().to_json()).expect("json");
        value["delete_everything"] = serde_json::json!(true);
        assert!(matches!(Notice::parse(&value.to_string()), Err(NoticeError::Malformed(_))));
        value = serde_json::from_str(&notice().to_json()).expect("json");
        value["version"] = serde_json::json!(2);
        assert_eq!(Notice::parse(&value.to_string()), Err(NoticeError::UnsupportedVersion("2".into())));
        let huge = format!("{{\"version\":1,\"pad\":\"{}\"}}", "x".repeat(MAX_NOTICE_BYTES));
        assert!(matches!(Notice::parse(&huge), Err(NoticeError::TooLarge(_))));
        assert!(matches!(Notice::parse("not json"), Err(NoticeError::Malformed(_))));
        assert!(matches!(Notice::parse("{}"), Err(NoticeError::Invalid { field: "version", .. })));
    }

    #[test]
    fn the_size_limit_is_inclusive_and_each_claim_must_agree() {
        // Exactly MAX_NOTICE_BYTES is read (and refused for what it says, not its size).
        let at_limit = format!("{{\"version\":1,\"pad\":\"{}\"}}", "x".repeat(MAX_NOTICE_BYTES - 22));
        assert_eq!(at_limit.len(), MAX_NOTICE_BYTES);
        assert!(matches!(Notice::parse(&at_limit), Err(NoticeError::Malformed(_))));
        let refused = |edit: &dyn Fn(&mut Notice)| {
            let mut n = notice();
            edit(&mut n);
            n.notice_id = Notice::id_for(&n.copy_arn);
            match Notice::parse(&n.to_json()) {
                Err(NoticeError::Invalid { field, .. }) => field,
                other => panic!("expected a refusal, got {other:?}"),
            }
        };
        // The kind must match both ARNs, each on its own.
        assert_eq!(
            refused(&|n| n.source_snapshot_arn = n.source_snapshot_arn.replace(":snapshot:", ":cluster-snapshot:")),
            "kind"
        );
        assert_eq!(refused(&|n| n.copy_arn = n.copy_arn.replace(":snapshot:", ":cluster-snapshot:")), "kind");
        // Names: empty, over 255 characters, or with control characters; 255 are fine.
        assert_eq!(refused(&|n| n.source_database = Some(String::new())), "source_database");
        assert_eq!(refused(&|n| n.engine = Some("e".repeat(256))), "engine");
        assert_eq!(refused(&|n| n.engine = Some("post\ngres".into())), "engine");
        let mut longest = notice();
        longest.source_database = Some("d".repeat(255));
        assert!(Notice::parse(&longest.to_json()).is_ok());
    }

    #[test]
    fn refuses_a_field_given_twice() {
        let good = notice().to_json();
        for (field, first) in
            [("source_database", "\"other\""), ("copy_arn", "\"arn:aws:rds:eu-west-1:111111111111:snapshot:x\"")]
        {
            let twice = good.replacen('{', &format!("{{\"{field}\":{first},"), 1);
            match Notice::parse(&twice) {
                Err(NoticeError::Malformed(why)) => {
                    assert!(why.contains(&format!("duplicate field `{field}`")), "{why}")
                }
                other => panic!("{field} twice: {other:?}"),
            }
        }
        // The version too, whose first value would be refused on its own.
        let twice = good.replacen('{', "{\"version\":9,", 1);
        let refused = Notice::parse(&twice);
        assert!(matches!(&refused, Err(NoticeError::Malformed(why)) if why.contains("duplicate field `version`")));
    }

    #[test]
    fn fields_must_agree() {
        type Mutation = Box<dyn Fn(&mut Notice)>;
        let cases: Vec<(&str, Mutation)> = vec![
            ("kind", Box::new(|n| n.kind = SnapshotKind::Cluster)),
            ("copy_arn", Box::new(|n| n.source_region = "us-east-1".into())),
            ("copy_arn", Box::new(|n| n.source_account = "222222222222".parse().expect("account"))),
            (
                "source_snapshot_arn",
                Box::new(|n| n.source_snapshot_arn = "arn:aws:rds:eu-west-1:333333333333:snapshot:x".into()),
            ),
            ("export_key_arn", Box::new(|n| n.export_key_arn = "arn:aws:kms:eu-west-1:333333333333:key/k".into())),
            ("export_key_arn", Box::new(|n| n.export_key_arn = "alias/aws/rds".into())),
            ("notice_id", Box::new(|n| n.notice_id = "n-0".into())),
            ("announce_time", Box::new(|n| n.announce_time = "yesterday".into())),
            ("source_database", Box::new(|n| n.source_database = Some(String::new()))),
        ];
        for (field, mutate) in cases {
            let mut n = notice();
            mutate(&mut n);
            match Notice::parse(&n.to_json()) {
                Err(NoticeError::Invalid { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: expected invalid, got {other:?}"),
            }
        }
    }
}
