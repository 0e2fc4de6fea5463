//! `offsite status --side vault` and `offsite verify`: is every source database's newest
//! vault copy within the RPO, is everything shared with the vault imported, and does every
//! database the vault has protected (its register) still have a copy?

use std::collections::BTreeSet;
use std::time::Duration;

use aws_smithy_types::DateTime;
use offsite_common::snapshot::{Snapshot, SnapshotArn, SnapshotStatus};
use offsite_common::table;
use offsite_common::tags;
use serde::Serialize;

use crate::allow::AllowList;
use crate::register::{DatabaseKey, compare, databases_of};
use crate::run::{Freshness, freshness};

/// One source database in the vault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DatabaseHealth {
    #[serde(flatten)]
    pub freshness: Freshness,
    /// Older than the RPO.
    pub stale: bool,
}

/// The vault's health.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Health {
    pub databases: Vec<DatabaseHealth>,
    /// Available snapshots shared with the vault (by allowed accounts, when an allow-list is
    /// given) that have no vault copy.
    pub not_imported: Vec<String>,
    /// Databases the register remembers with no vault copy left (`account/database`).
    pub lost: Vec<String>,
    pub rpo_seconds: Option<u64>,
    pub ok: bool,
}

/// Computes the health from the vault's copies, what is shared with it and the databases
/// its register remembers.
pub fn health(
    copies: &[Snapshot],
    shared: &[Snapshot],
    allow: Option<&AllowList>,
    remembered: &BTreeSet<DatabaseKey>,
    rpo: Option<Duration>,
    now: DateTime,
) -> Health {
    let imported: BTreeSet<&str> = copies.iter().filter_map(|c| c.tag(tags::COPY_ARN)).collect();
    let not_imported: Vec<String> = shared
        .iter()
        .filter(|s| s.status == SnapshotStatus::Available && !imported.contains(s.arn.as_str()))
        .filter(|s| match (allow, s.arn.parse::<SnapshotArn>()) {
            (Some(allow), Ok(arn)) => allow.get(&arn.account).is_some(),
            (Some(_), Err(_)) => false,
            (None, _) => true,
        })
        .map(|s| s.arn.clone())
        .collect();
    let databases: Vec<DatabaseHealth> = freshness(copies, now)
        .into_iter()
        .map(|f| {
            let stale = rpo.is_some_and(|rpo| f.newest_age_seconds > rpo.as_secs());
            DatabaseHealth { freshness: f, stale }
        })
        .collect();
    let (_, lost) = compare(remembered, &databases_of(copies));
    let lost: Vec<String> = lost.into_iter().map(|(account, database)| format!("{account}/{database}")).collect();
    let ok = not_imported.is_empty() && lost.is_empty() && databases.iter().all(|d| !d.stale);
    Health { databases, not_imported, lost, rpo_seconds: rpo.map(|r| r.as_secs()), ok }
}

/// The health as a table and a closing line.
pub fn health_table(health: &Health) -> String {
    let rows: Vec<[String; 5]> = health
        .databases
        .iter()
        .map(|d| {
            [
                d.freshness.source_account.clone(),
                d.freshness.source_database.clone(),
                d.freshness.copies.to_string(),
                offsite_common::table::short_age(d.freshness.newest_age_seconds),
                if d.stale { "STALE".to_owned() } else { "ok".to_owned() },
            ]
        })
        .collect();
    let mut out = table::render(["ACCOUNT", "DATABASE", "COPIES", "NEWEST", "STATE"], &rows);
    for arn in &health.not_imported {
        out.push_str(&format!("not imported: {arn}\n"));
    }
    for database in &health.lost {
        out.push_str(&format!("LOST: {database} is protected and has no vault copy left\n"));
    }
    let stale = health.databases.iter().filter(|d| d.stale).count();
    out.push_str(&format!(
        "vault: {} databases, {stale} older than the RPO, {} shared snapshots not imported{}\n",
        health.databases.len(),
        health.not_imported.len(),
        if health.lost.is_empty() { String::new() } else { format!(", {} lost", health.lost.len()) }
    ));
    out
}

#[cfg(test)]
mod tests {
    use offsite_common::snapshot::SnapshotKind;

    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn vault_copy(database: &str, hours_old: i64, copy_arn: &str) -> Snapshot {
        let taken =
            DateTime::from_secs(NOW - hours_old * 3600).fmt(aws_smithy_types::date_time::Format::DateTime).expect("t");
        Snapshot {
            tags: [
                (tags::SOURCE_ACCOUNT, "111111111111"),
                (tags::SOURCE_DATABASE, database),
                (tags::SOURCE_CREATED, taken.as_str()),
                (tags::COPY_ARN, copy_arn),
            ]
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
            ..Snapshot::bare(
                SnapshotKind::Instance,
                "arn:aws:rds:us-east-1:222222222222:snapshot:v",
                "v",
                SnapshotStatus::Available,
            )
        }
    }

    fn shared(arn: &str) -> Snapshot {
        Snapshot::bare(SnapshotKind::Instance, arn, "s", SnapshotStatus::Available)
    }

    #[test]
    fn a_protected_database_with_no_copy_left_fails_verification() {
        let a = "arn:aws:rds:us-east-1:111111111111:snapshot:offsite-a";
        let mut orders = vault_copy("orders", 2, a);
        orders.identifier = offsite_common::lineage::vault_identifier(&shared(a));
        let key = |database: &str| ("111111111111".to_owned(), database.to_owned());
        let remembered = BTreeSet::from([key("orders"), key("ledger")]);
        let h = health(&[orders], &[shared(a)], None, &remembered, None, DateTime::from_secs(NOW));
        assert_eq!(h.lost, ["111111111111/ledger"]);
        assert!(!h.ok);
        let table = health_table(&h);
        assert!(table.contains("LOST: 111111111111/ledger is protected and has no vault copy left"), "{table}");
        assert!(table.trim_end().ends_with("0 shared snapshots not imported, 1 lost"), "{table}");
    }

    #[test]
    fn stale_databases_and_unimported_shares_fail_verification() {
        let a = "arn:aws:rds:us-east-1:111111111111:snapshot:offsite-a";
        let b = "arn:aws:rds:us-east-1:111111111111:snapshot:offsite-b";
        let copies = [vault_copy("orders", 2, a), vault_copy("ledger", 50, "x")];
        let fine = health(
            &copies[..1],
            &[shared(a)],
            None,
            &BTreeSet::new(),
            Some(Duration::from_secs(26 * 3600)),
            DateTime::from_secs(NOW),
        );
        assert!(fine.ok, "{fine:?}");
        let stale = health(
            &copies,
            &[shared(a)],
            None,
            &BTreeSet::new(),
            Some(Duration::from_secs(26 * 3600)),
            DateTime::from_secs(NOW),
        );
        assert!(!stale.ok && stale.databases.iter().any(|d| d.stale && d.freshness.source_database == "ledger"));
        let missing =
            health(&copies[..1], &[shared(a), shared(b)], None, &BTreeSet::new(), None, DateTime::from_secs(NOW));
        assert_eq!(missing.not_imported, [b]);
        assert!(!missing.ok);
        assert!(
            health_table(&missing)
                .ends_with("vault: 1 databases, 0 older than the RPO, 1 shared snapshots not imported\n")
        );
    }
}
