//! Deterministic identifiers for the pipeline's copies.
//!
//! A copy's identifier is `<prefix>-<readable>-<hash>`: the prefix names who made it
//! (`offsite` in the workload account, so IAM policies can scope on `snapshot:offsite-*`),
//! the readable part is the sanitised source name, and the hash is 16 hex digits of SHA-256
//! over the *full* source ARN, so two sources never share a target (and a retried or
//! concurrent copy of one source always aims at the same target, which makes the copy
//! idempotent through `AlreadyExists`).
//!
//! RDS rules (CopyDBSnapshot / CopyDBClusterSnapshot API reference,
//! `TargetDBSnapshotIdentifier`): 1 to 255 characters for instance snapshots, 1 to 63 for
//! cluster snapshots; letters, digits and hyphens; the first a letter; no two consecutive
//! hyphens; no trailing hyphen. RDS stores identifiers in lowercase, so we produce lowercase.

use sha2::{Digest, Sha256};

use crate::snapshot::SnapshotKind;

/// Hex digits of the hash: 64 bits, collisions are not a practical concern.
const HASH_LEN: usize = 16;
/// Our identifiers stay under this even where RDS allows 255 (instance snapshots): the
/// copy's ARN (up to ~60 characters of prefix plus the identifier) must fit in a 256-character
/// tag value when the vault records which copy it imported.
pub const MAX_PIPELINE_IDENTIFIER_LEN: usize = 180;

/// Why a prefix cannot start identifiers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} cannot prefix snapshot identifiers: use 1 to 20 lowercase letters, digits or single hyphens, starting with a letter"
)]
pub struct InvalidPrefix(pub String);

/// Checks a prefix for [`copy_identifier`]: short enough to leave room in cluster names.
pub fn validate_prefix(prefix: &str) -> Result<(), InvalidPrefix> {
    let ok = !prefix.is_empty()
        && prefix.len() <= 20
        && prefix.starts_with(|c: char| c.is_ascii_lowercase())
        && prefix.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !prefix.contains("--")
        && !prefix.ends_with('-');
    if ok { Ok(()) } else { Err(InvalidPrefix(prefix.to_owned())) }
}

/// The target identifier for a copy of `source_arn` of `kind`, made by `prefix`.
///
/// `source_name` is the part a human recognises (the source's identifier, e.g.
/// `rds:orders-2024-01-01-00-10`); uniqueness comes from the hash of `source_arn`.
/// `prefix` must pass [`validate_prefix`]; an invalid one is sanitised like the name.
pub fn copy_identifier(prefix: &str, kind: SnapshotKind, source_arn: &str, source_name: &str) -> String {
    let hash = hex_prefix(&Sha256::digest(source_arn.as_bytes()), HASH_LEN);
    let prefix = sanitize(prefix);
    let prefix = if prefix.starts_with(|c: char| c.is_ascii_lowercase()) { prefix } else { format!("c{prefix}") };
    // <prefix>-<readable>-<hash>
    let max_len = kind.max_identifier_len().min(MAX_PIPELINE_IDENTIFIER_LEN);
    let budget = max_len.saturating_sub(prefix.len() + HASH_LEN + 2);
    let readable: String = sanitize(source_name).chars().take(budget).collect();
    let readable = readable.trim_end_matches('-');
    let mut id = prefix;
    if !readable.is_empty() {
        id.push('-');
        id.push_str(readable);
    }
    id.push('-');
    id.push_str(&hash);
    id
}

/// Lowercase letters and digits kept, every other run of characters becomes one hyphen,
/// no leading or trailing hyphen.
fn sanitize(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_owned()
}

fn hex_prefix(bytes: &[u8], len: usize) -> String {
    bytes
        .iter()
        .flat_map(|b| [b >> 4, b & 0x0f])
        .take(len)
        .map(|n| char::from_digit(u32::from(n), 16).unwrap_or('0'))
        .collect()
}

/// Whether `id` is a valid RDS snapshot identifier of `kind`.
pub fn is_valid_identifier(kind: SnapshotKind, id: &str) -> bool {
    !id.is_empty()
        && id.len() <= kind.max_identifier_len()
        && id.starts_with(|c: char| c.is_ascii_alphabetic())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !id.contains("--")
        && !id.ends_with('-')
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const ARN: &str = "arn:aws:rds:us-east-1:111111111111:snapshot:";

    #[test]
    fn identifiers_against_rds_rules() {
        for valid in ["a", "offsite-orders-1", &"a".repeat(63)] {
            assert!(is_valid_identifier(SnapshotKind::Cluster, valid), "{valid}");
        }
        assert!(is_valid_identifier(SnapshotKind::Instance, &"a".repeat(255)));
        for (kind, invalid) in [
            (SnapshotKind::Instance, String::new()),
            (SnapshotKind::Instance, "1orders".to_owned()),
            (SnapshotKind::Instance, "-orders".to_owned()),
            (SnapshotKind::Instance, "orders_1".to_owned()),
            (SnapshotKind::Instance, "orders--1".to_owned()),
            (SnapshotKind::Instance, "orders-".to_owned()),
            (SnapshotKind::Instance, "a".repeat(256)),
            (SnapshotKind::Cluster, "a".repeat(64)),
        ] {
            assert!(!is_valid_identifier(kind, &invalid), "{kind:?} {invalid:?}");
        }
    }

    #[test]
    fn copy_identifiers_are_pinned() {
        // Persistent format (ARCHITECTURE.md, "Persistent formats"): the values below are
        // written out by hand, from the documented rule, never computed by the code under test.
        // If this test fails, the code now names things differently than every copy, notice or
        // export already in AWS: do not update the values; keep the old form recognised (a
        // migration) or revert.
        let instance = "arn:aws:rds:us-east-1:111111111111:snapshot:orders-nightly";
        assert_eq!(
            copy_identifier("offsite", SnapshotKind::Instance, instance, "orders-nightly"),
            "offsite-orders-nightly-0924fa2c75cf54b6"
        );
        let backup = "awsbackup:job-8c0f9a8e-3b9b-4c8e-9a67-2f1d0b5f7e11";
        assert_eq!(
            copy_identifier("offsite", SnapshotKind::Instance, &format!("{ARN}{backup}"), backup),
            "offsite-awsbackup-job-8c0f9a8e-3b9b-4c8e-9a67-2f1d0b5f7e11-28ceff2f6065d5e1"
        );
        // Cluster snapshot identifiers have 63 characters at most: the readable part is cut.
        let name = "rds:ledger-2026-12-01-04-00-with-a-rather-long-cluster-name";
        let cluster = format!("arn:aws:rds:us-east-1:111111111111:cluster-snapshot:{name}");
        assert_eq!(
            copy_identifier("offsite", SnapshotKind::Cluster, &cluster, name),
            "offsite-rds-ledger-2026-12-01-04-00-with-a-rat-ce9292ad15e2074e"
        );
    }

    #[test]
    fn automated_and_backup_names_map_readably() {
        let id = copy_identifier(
            "offsite",
            SnapshotKind::Instance,
            &format!("{ARN}rds:orders-2024-01-01-00-10"),
            "rds:orders-2024-01-01-00-10",
        );
        assert!(id.starts_with("offsite-rds-orders-2024-01-01-00-10-"), "{id}");
        let name = "awsbackup:job-8c0f9a8e-3b9b-4c8e-9a67-2f1d0b5f7e11";
        let id = copy_identifier("offsite", SnapshotKind::Instance, &format!("{ARN}{name}"), name);
        assert!(id.starts_with("offsite-awsbackup-job-8c0f9a8e-3b9b-4c8e-9a67-2f1d0b5f7e11-"), "{id}");
        let cluster = copy_identifier("offsite", SnapshotKind::Cluster, &format!("{ARN}{name}"), name);
        assert!(cluster.len() <= 63 && cluster.len() >= 60, "{cluster}");
        assert!(cluster.starts_with("offsite-awsbackup-job-8c0f9a8e-3b9b-4c8e"), "{cluster}");
    }

    #[test]
    fn same_source_same_identifier() {
        let a = copy_identifier("offsite", SnapshotKind::Cluster, "arn:x", "Orders--Weekly");
        assert_eq!(a, copy_identifier("offsite", SnapshotKind::Cluster, "arn:x", "Orders--Weekly"));
        assert!(a.starts_with("offsite-orders-weekly-"), "{a}");
    }

    #[test]
    fn prefixes_are_checked() {
        assert_eq!(validate_prefix("offsite"), Ok(()));
        assert_eq!(validate_prefix("vault-1"), Ok(()));
        for bad in ["", "1abc", "Off", "a--b", "a-", "a_b", "abcdefghijklmnopqrstu"] {
            assert!(validate_prefix(bad).is_err(), "{bad}");
        }
    }

    fn kinds() -> impl Strategy<Value = SnapshotKind> {
        prop_oneof![Just(SnapshotKind::Instance), Just(SnapshotKind::Cluster)]
    }

    proptest! {
        #[test]
        fn always_valid_by_rds_rules(kind in kinds(), name in any::<String>(), arn in any::<String>(), prefix in "[a-z][a-z0-9]{0,7}(-[a-z0-9]{1,5}){0,2}") {
            let id = copy_identifier(&prefix, kind, &arn, &name);
            prop_assert!(is_valid_identifier(kind, &id), "{id:?} from {name:?}");
            prop_assert!(id.len() <= MAX_PIPELINE_IDENTIFIER_LEN);
        }

        #[test]
        fn always_valid_even_with_a_bad_prefix(kind in kinds(), name in ".{0,300}", prefix in ".{0,30}") {
            let id = copy_identifier(&prefix, kind, "arn:aws:rds:us-east-1:111111111111:snapshot:x", &name);
            prop_assert!(is_valid_identifier(kind, &id), "{id:?}");
        }

        #[test]
        fn different_sources_different_identifiers(kind in kinds(), name in "[a-z:-]{0,80}", a in ".{1,100}", b in ".{1,100}") {
            prop_assume!(a != b);
            // Same readable name on purpose: only the ARN tells them apart.
            prop_assert_ne!(copy_identifier("offsite", kind, &a, &name), copy_identifier("offsite", kind, &b, &name));
        }
    }
}
