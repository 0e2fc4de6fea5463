//! The vault's retention: its own policy, its own schedule and role, never a message.
//!
//! Per source database (source account + DB identifier), among the available vault copies,
//! it keeps the newest `keep_last`, the newest copy of each of the last `daily` days,
//! `weekly` ISO weeks and `monthly` calendar months that have copies (grandfather-father-
//! son), and everything younger than `min_age`. Only the importer's copies (marker tag) are
//! ever candidates; copies still being made are never touched.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use offsite_common::ConfigError;
use offsite_common::config::{self, Env};
use offsite_common::metrics::Metrics;
use offsite_common::rds::{RdsError, RdsSnapshots};
use offsite_common::snapshot::{Snapshot, SnapshotKind, SnapshotStatus};
use offsite_common::tags;
use serde::Serialize;

pub const KEEP_LAST_VAR: &str = "OFFSITE_RETENTION_KEEP_LAST";
pub const DAILY_VAR: &str = "OFFSITE_RETENTION_DAILY";
pub const WEEKLY_VAR: &str = "OFFSITE_RETENTION_WEEKLY";
pub const MONTHLY_VAR: &str = "OFFSITE_RETENTION_MONTHLY";
pub const MIN_AGE_VAR: &str = "OFFSITE_RETENTION_MIN_AGE";
pub const DRY_RUN_VAR: &str = "OFFSITE_RETENTION_DRY_RUN";

/// The vault's retention policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub keep_last: u32,
    pub daily: u32,
    pub weekly: u32,
    pub monthly: u32,
    pub min_age: Duration,
    pub dry_run: bool,
}

impl Policy {
    /// Defaults: the last 7, 7 dailies, 5 weeklies, 12 monthlies, nothing under 7 days.
    pub fn from_env(env: &impl Env) -> Result<Self, ConfigError> {
        // Never zero: the newest copy of a database is never deleted.
        let keep_last = config::number_in(env, KEEP_LAST_VAR, 7u32, 1..=1000)?;
        let min_age = config::duration_in(
            env,
            MIN_AGE_VAR,
            Duration::from_secs(7 * 86_400),
            Duration::from_secs(86_400)..=Duration::MAX,
        )?;
        Ok(Self {
            keep_last,
            daily: config::or_default(env, DAILY_VAR, 7)?,
            weekly: config::or_default(env, WEEKLY_VAR, 5)?,
            monthly: config::or_default(env, MONTHLY_VAR, 12)?,
            min_age,
            dry_run: config::or_default(env, DRY_RUN_VAR, false)?,
        })
    }
}

/// A reason to keep, how many buckets it keeps, and the bucket of a day number.
type Bucketing = (&'static str, u32, fn(i64) -> i64);

/// The decision for one vault copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub copy_identifier: String,
    pub source_database: String,
    pub taken: String,
    pub delete: bool,
    pub reason: String,
}

use offsite_common::lineage::import_taken_secs as taken_secs;

/// Decides, for every vault copy, whether the policy keeps it. `marker` is the marker value
/// of the copies concerned (the imports, or their second-region copies).
pub fn plan(copies: &[Snapshot], policy: &Policy, now: DateTime, marker: &str) -> Vec<Verdict> {
    let mut groups: BTreeMap<(String, String), Vec<(&Snapshot, i64)>> = BTreeMap::new();
    let mut verdicts = Vec::new();
    for copy in copies {
        let database = copy.tag(tags::SOURCE_DATABASE).unwrap_or("?").to_owned();
        let verdict = |delete, reason: &str, taken: Option<i64>| Verdict {
            copy_identifier: copy.identifier.clone(),
            source_database: database.clone(),
            taken: taken.and_then(|t| DateTime::from_secs(t).fmt(Format::DateTime).ok()).unwrap_or_default(),
            delete,
            reason: reason.to_owned(),
        };
        if copy.tag(tags::MARKER) != Some(marker) || !offsite_common::lineage::is_genuine_import(copy) {
            verdicts.push(verdict(false, "not an Offsite import: never touched", None));
            continue;
        }
        if copy.status != SnapshotStatus::Available {
            verdicts.push(verdict(false, "not available: never deleted in flight", taken_secs(copy)));
            continue;
        }
        let Some(taken) = taken_secs(copy) else {
            verdicts.push(verdict(false, "no known time: kept", None));
            continue;
        };
        let account = copy.tag(tags::SOURCE_ACCOUNT).unwrap_or("?").to_owned();
        groups.entry((account, database)).or_default().push((copy, taken));
    }
    let min_age = i64::try_from(policy.min_age.as_secs()).unwrap_or(i64::MAX);
    for ((_, database), mut group) in groups {
        group.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.identifier.cmp(&b.0.identifier)));
        let mut keep: BTreeMap<usize, &'static str> = BTreeMap::new();
        for index in 0..group.len().min(policy.keep_last as usize) {
            keep.entry(index).or_insert("among the newest");
        }
        let buckets: [Bucketing; 3] = [
            ("newest of its day", policy.daily, |days| days),
            ("newest of its week", policy.weekly, |days| (days + 3).div_euclid(7)),
            ("newest of its month", policy.monthly, |days| {
                let (year, month) = offsite_common::calendar::year_month(days);
                year * 12 + i64::from(month)
            }),
        ];
        for (reason, count, bucket_of) in buckets {
            let mut seen = BTreeSet::new();
            for (index, (_, taken)) in group.iter().enumerate() {
                if seen.len() as u32 >= count {
                    break;
                }
                if seen.insert(bucket_of(taken.div_euclid(86_400))) {
                    keep.entry(index).or_insert(reason);
                }
            }
        }
        for (index, (copy, taken)) in group.iter().enumerate() {
            let taken_text = DateTime::from_secs(*taken).fmt(Format::DateTime).unwrap_or_default();
            let age = now.secs() - copy.created.map_or(*taken, |c| c.secs()).max(*taken);
            let (delete, reason) = match keep.get(&index) {
                Some(reason) => (false, (*reason).to_owned()),
                None if age < min_age => (false, "younger than the minimum age".to_owned()),
                None => (true, "outside the policy".to_owned()),
            };
            verdicts.push(Verdict {
                copy_identifier: copy.identifier.clone(),
                source_database: database.clone(),
                taken: taken_text,
                delete,
                reason,
            });
        }
    }
    verdicts
}

/// The retention run's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RetentionReport {
    pub dry_run: bool,
    pub verdicts: Vec<Verdict>,
    /// Copies actually deleted (empty in a dry run).
    pub deleted: Vec<String>,
    pub errors: Vec<String>,
    /// The region's manual snapshot quotas after the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot_quotas: Option<offsite_common::quota::SnapshotQuotas>,
}

/// Lists the vault's copies, applies the policy and, unless it is a dry run, deletes what
/// the policy does not keep. Only copies with the importer's marker are ever deleted.
///
/// `marker` selects the copies: `tags::MARKER_IMPORT` in the vault's region,
/// `tags::MARKER_IMPORT_DR` in its second region.
pub async fn apply(
    rds: &RdsSnapshots,
    policy: &Policy,
    now: DateTime,
    marker: &str,
) -> Result<RetentionReport, RdsError> {
    let kinds = [SnapshotKind::Instance, SnapshotKind::Cluster];
    let copies = rds.list_marked(&kinds, marker).await?;
    let verdicts = plan(&copies, policy, now, marker);
    let mut report = RetentionReport {
        dry_run: policy.dry_run,
        verdicts: Vec::new(),
        deleted: Vec::new(),
        errors: Vec::new(),
        snapshot_quotas: None,
    };
    for verdict in verdicts {
        let copy = copies.iter().find(|c| c.identifier == verdict.copy_identifier);
        if verdict.delete && !policy.dry_run {
            match copy.filter(|c| c.tag(tags::MARKER) == Some(marker)) {
                Some(copy) => match rds.delete(copy.kind, &copy.identifier).await {
                    Ok(()) => report.deleted.push(copy.identifier.clone()),
                    Err(e) => report.errors.push(e.to_string()),
                },
                None => report.errors.push(format!("{}: refused, not an Offsite import", verdict.copy_identifier)),
            }
        }
        tracing::info!(copy = %verdict.copy_identifier, database = %verdict.source_database, delete = verdict.delete, dry_run = policy.dry_run, reason = %verdict.reason, "retention");
        report.verdicts.push(verdict);
    }
    let mut metrics = Metrics::new("Function", "retention");
    metrics.add("Deleted", report.deleted.len() as f64);
    metrics.add("WouldDelete", report.verdicts.iter().filter(|v| v.delete).count() as f64);
    metrics.add("Kept", report.verdicts.iter().filter(|v| !v.delete).count() as f64);
    metrics.add("RetentionErrors", report.errors.len() as f64);
    metrics.flush();
    report.snapshot_quotas = rds.report_snapshot_quotas("retention").await;
    Ok(report)
}

#[cfg(test)]
mod tests {

    use super::*;

    const DAY: i64 = 86_400;
    const NOW: i64 = 1_800_000_000;

    fn policy() -> Policy {
        Policy {
            keep_last: 2,
            daily: 3,
            weekly: 2,
            monthly: 2,
            min_age: Duration::from_secs(7 * 86_400),
            dry_run: false,
        }
    }

    fn copy(id: &str, days_ago: i64, database: &str) -> Snapshot {
        let taken = DateTime::from_secs(NOW - days_ago * DAY).fmt(Format::DateTime).expect("time");
        let mut copy = Snapshot {
            tags: [
                (tags::MARKER, tags::MARKER_IMPORT),
                (tags::SOURCE_ACCOUNT, "111111111111"),
                (tags::SOURCE_DATABASE, database),
                (tags::SOURCE_CREATED, taken.as_str()),
                (tags::COPY_ARN, &format!("arn:aws:rds:us-east-1:111111111111:snapshot:{id}")),
            ]
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
            created: Some(DateTime::from_secs(NOW - days_ago * DAY)),
            ..Snapshot::bare(SnapshotKind::Instance, "", "", SnapshotStatus::Available)
        };
        // The identifier the importer gives it, so that it counts as a genuine import.
        let shared = Snapshot::bare(
            SnapshotKind::Instance,
            copy.tag(tags::COPY_ARN).unwrap_or_default(),
            id,
            SnapshotStatus::Available,
        );
        copy.identifier = offsite_common::lineage::vault_identifier(&shared);
        copy.arn = format!("arn:aws:rds:us-east-1:222222222222:snapshot:{}", copy.identifier);
        copy
    }

    /// The names (`c00`, ...) of the copies the policy deletes.
    fn deleted(verdicts: &[Verdict]) -> Vec<String> {
        let mut names: Vec<String> = verdicts.iter().filter(|v| v.delete).map(|v| name(&v.copy_identifier)).collect();
        names.sort_unstable();
        names
    }

    /// `vault-<name>-<16 hex>` back to `<name>`.
    fn name(identifier: &str) -> String {
        let inner = identifier.strip_prefix("vault-").unwrap_or(identifier);
        inner.get(..inner.len().saturating_sub(17)).unwrap_or(inner).to_owned()
    }

    /// Every verdict that keeps a copy: (name, reason), newest first.
    fn kept(verdicts: &[Verdict]) -> Vec<(String, String)> {
        verdicts.iter().filter(|v| !v.delete).map(|v| (name(&v.copy_identifier), v.reason.clone())).collect()
    }

    #[test]
    fn grandfather_father_son_per_database() {
        // One copy a day for 90 days, at 08:00 UTC. Day 0 (NOW) is Friday 2027-01-15.
        let copies: Vec<Snapshot> = (0..90).map(|d| copy(&format!("c{d:02}"), d, "orders")).collect();
        // The minimum age keeps only the copy of today: the buckets decide the rest.
        let one_day = Policy { min_age: Duration::from_secs(86_400), ..policy() };
        let verdicts = plan(&copies, &one_day, DateTime::from_secs(NOW), tags::MARKER_IMPORT);
        let reasons: Vec<(&str, &str)> = [
            ("c00", "among the newest"),
            ("c01", "among the newest"),
            // The third daily: days 0, 1 and 2.
            ("c02", "newest of its day"),
            // ISO weeks start on Monday: the week before this one ends on Sunday 2027-01-10.
            ("c05", "newest of its week"),
            // Calendar months: December 2026 ends on the 31st.
            ("c15", "newest of its month"),
        ]
        .to_vec();
        let expected: Vec<(String, String)> = reasons.iter().map(|(n, r)| ((*n).to_owned(), (*r).to_owned())).collect();
        assert_eq!(kept(&verdicts), expected);
        assert_eq!(deleted(&verdicts).len(), 85);

        // Under the default-like minimum age of 7 days, the week's copies stay as well.
        let verdicts = plan(&copies, &policy(), DateTime::from_secs(NOW), tags::MARKER_IMPORT);
        let young: Vec<String> = kept(&verdicts)
            .into_iter()
            .filter(|(_, reason)| reason == "younger than the minimum age")
            .map(|(n, _)| n)
            .collect();
        assert_eq!(young, ["c03", "c04", "c06"], "c07 is exactly 7 days old: no longer young");
    }

    #[test]
    fn a_copys_own_age_counts_not_only_its_datas() {
        // The reconciler has just imported a copy of 100-day-old data (a lost notice, found
        // late): its data is old, the copy is minutes old. It stays until the copy itself is
        // older than the minimum age, so a fresh copy is never deleted on its first run.
        let newest = copy("newest", 0, "orders");
        let mut late = copy("late", 100, "orders");
        late.created = Some(DateTime::from_secs(NOW - 600));
        let strict = Policy { keep_last: 1, daily: 0, weekly: 0, monthly: 0, ..policy() };
        let copies = [newest, late];
        let verdicts = plan(&copies, &strict, DateTime::from_secs(NOW), tags::MARKER_IMPORT);
        assert_eq!(
            kept(&verdicts),
            [
                ("newest".to_owned(), "among the newest".to_owned()),
                ("late".to_owned(), "younger than the minimum age".to_owned())
            ]
        );
        let a_week_later = DateTime::from_secs(NOW - 600 + 7 * DAY);
        assert_eq!(deleted(&plan(&copies, &strict, a_week_later, tags::MARKER_IMPORT)), ["late"]);
    }

    #[test]
    fn the_second_region_applies_the_policy_to_its_own_copies_only() {
        let strict = Policy { keep_last: 1, daily: 0, weekly: 0, monthly: 0, ..policy() };
        let dr = |id: &str, days_ago| {
            let mut c = copy(id, days_ago, "orders");
            c.tags.insert(tags::MARKER.into(), tags::MARKER_IMPORT_DR.into());
            c
        };
        let copies = [dr("d0", 0), dr("d1", 30), dr("d2", 60)];
        let now = DateTime::from_secs(NOW);
        assert_eq!(deleted(&plan(&copies, &strict, now, tags::MARKER_IMPORT_DR)), ["d1", "d2"]);
        // The primary region's run never takes a second-region copy for one of its own, and
        // the reverse.
        assert!(deleted(&plan(&copies, &strict, now, tags::MARKER_IMPORT)).is_empty());
        let primary = [copy("p0", 0, "orders"), copy("p1", 30, "orders")];
        assert!(deleted(&plan(&primary, &strict, now, tags::MARKER_IMPORT_DR)).is_empty());
    }

    #[test]
    fn the_newest_copy_survives_whatever_its_age() {
        let copies = vec![copy("only", 400, "ledger")];
        let strict = Policy { keep_last: 1, daily: 0, weekly: 0, monthly: 0, ..policy() };
        assert!(deleted(&plan(&copies, &strict, DateTime::from_secs(NOW), tags::MARKER_IMPORT)).is_empty());
    }

    #[test]
    fn databases_are_counted_separately_and_foreign_snapshots_never_touched() {
        let mut copies: Vec<Snapshot> = (0..20).map(|d| copy(&format!("o{d:02}"), d * 10, "orders")).collect();
        copies.extend((0..3).map(|d| copy(&format!("l{d}"), d * 100, "ledger")));
        let mut foreign = copy("not-ours", 500, "orders");
        foreign.tags.remove(tags::MARKER);
        copies.push(foreign);
        let mut in_flight = copy("in-flight", 300, "orders");
        in_flight.status = SnapshotStatus::InProgress("creating".into());
        copies.push(in_flight);
        let strict = Policy { keep_last: 1, daily: 0, weekly: 0, monthly: 0, ..policy() };
        let verdicts = plan(&copies, &strict, DateTime::from_secs(NOW), tags::MARKER_IMPORT);
        let gone = deleted(&verdicts);
        let gone_has = |n: &str| gone.iter().any(|g| g == n);
        assert!(!gone_has("o00") && !gone_has("l0"), "the newest of each database stays");
        assert!(gone_has("l1") && gone_has("o19"));
        assert!(!gone_has("not-ours") && !gone_has("in-flight"));
    }

    #[test]
    fn every_month_of_two_years_is_its_own_bucket() {
        // One copy on the 15th of each of 24 months: 24 monthly buckets keep all 24, 23
        // keep all but the oldest (a bucket shared by two months would keep fewer).
        let days: Vec<i64> = (0..24)
            .map(|i| {
                let (year, month) = (2025 + i / 12, 1 + i % 12);
                let days_to = |y: i64, m: i64| {
                    let (y, m) = if m <= 2 { (y - 1, m + 12) } else { (y, m) };
                    365 * y + y / 4 - y / 100 + y / 400 + (153 * (m - 3) + 2) / 5 + 15 - 719_469
                };
                (NOW / DAY) - days_to(year, month)
            })
            .collect();
        let copies: Vec<Snapshot> =
            days.iter().enumerate().map(|(i, d)| copy(&format!("m{i:02}"), *d, "orders")).collect();
        let monthly = |n| Policy {
            keep_last: 1,
            daily: 0,
            weekly: 0,
            monthly: n,
            min_age: Duration::from_secs(86_400),
            dry_run: false,
        };
        let later = DateTime::from_secs(NOW + 800 * DAY);
        assert!(deleted(&plan(&copies, &monthly(24), later, tags::MARKER_IMPORT)).is_empty());
        assert_eq!(deleted(&plan(&copies, &monthly(23), later, tags::MARKER_IMPORT)), ["m00"]);
    }

    #[test]
    fn the_default_policy_keeps_a_week_at_least() {
        let policy = Policy::from_env(&BTreeMap::<String, String>::new()).expect("defaults");
        assert_eq!(
            (policy.keep_last, policy.daily, policy.weekly, policy.monthly, policy.min_age),
            (7, 7, 5, 12, Duration::from_secs(7 * 86_400))
        );
        assert!(!policy.dry_run);
    }
}
