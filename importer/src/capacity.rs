//! The vault's capacity plan against RDS's manual snapshot quota (README, "Capacity"): per
//! source database, how many copies the retention policy keeps once it has run long enough
//! (computed by running the same [`retention::plan`] over a synthetic history at the
//! database's backup interval), summed per kind, beside the quota and the date the wall is
//! reached at the current import rate. Pure: the CLI feeds it the vault's copies and quotas.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use offsite_common::lineage::{is_genuine_import, vault_identifier};
use offsite_common::quota::SnapshotQuotas;
use offsite_common::snapshot::{Snapshot, SnapshotKind, SnapshotStatus};
use offsite_common::tags;
use serde::Serialize;

use crate::retention::{self, Policy};

const DAY: i64 = 86_400;
/// The shortest backup interval the plan assumes (more frequent copies are not a pattern the
/// pipeline produces: it copies each selected snapshot once).
const MIN_INTERVAL: Duration = Duration::from_secs(3600);
/// At most this many synthetic copies per database (an hourly interval over the longest
/// horizon stays far below).
const MAX_SYNTHETIC: u64 = 50_000;

/// The copies `policy` keeps of one database backed up every `interval`, once its history is
/// longer than every bucket of the policy reaches back.
pub fn steady_state_copies(policy: &Policy, interval: Duration) -> usize {
    let interval = interval.max(MIN_INTERVAL).as_secs();
    let reach_days = [
        (u64::from(policy.monthly) + 2) * 31,
        (u64::from(policy.weekly) + 2) * 7,
        u64::from(policy.daily) + 2,
        policy.min_age.as_secs().div_ceil(86_400) + 2,
    ];
    let horizon = reach_days.into_iter().max().unwrap_or(0) * 86_400 + (u64::from(policy.keep_last) + 2) * interval;
    let count = (horizon / interval).min(MAX_SYNTHETIC);
    let now = 2_000_000_000_i64;
    let history: Vec<Snapshot> =
        (0..count).map(|n| synthetic_copy(now - i64::try_from(n * interval).unwrap_or(i64::MAX), n)).collect();
    retention::plan(&history, policy, DateTime::from_secs(now), tags::MARKER_IMPORT)
        .iter()
        .filter(|v| !v.delete)
        .count()
}

/// A genuine vault copy of one database's data taken at `taken`.
fn synthetic_copy(taken: i64, n: u64) -> Snapshot {
    let arn = format!("arn:aws:rds:us-east-1:111111111111:snapshot:offsite-steady-{n}");
    let shared = Snapshot::bare(SnapshotKind::Instance, arn.clone(), "", SnapshotStatus::Available);
    let time = DateTime::from_secs(taken);
    let mut copy = Snapshot::bare(SnapshotKind::Instance, "", vault_identifier(&shared), SnapshotStatus::Available);
    copy.created = Some(time);
    copy.tags = [
        (tags::MARKER, tags::MARKER_IMPORT.to_owned()),
        (tags::SOURCE_ACCOUNT, "111111111111".to_owned()),
        (tags::SOURCE_DATABASE, "steady".to_owned()),
        (tags::SOURCE_CREATED, time.fmt(Format::DateTime).unwrap_or_default()),
        (tags::COPY_ARN, arn),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    copy
}

/// One source database's need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DatabaseNeed {
    pub source_account: String,
    pub source_database: String,
    pub kind: SnapshotKind,
    pub copies_now: usize,
    /// The median gap between its copies' data (one day when it has fewer than two).
    pub interval_secs: u64,
    /// What the policy keeps of it at steady state.
    pub steady_state: usize,
}

/// The plan of one kind against its quota.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KindPlan {
    pub kind: SnapshotKind,
    /// Manual snapshots of this kind in the account now, and the quota (when RDS reported it).
    pub used: Option<i64>,
    pub max: Option<i64>,
    /// What the account will hold at steady state: the policy's copies of every database,
    /// plus the manual snapshots that are not the vault's imports.
    pub needed: i64,
    /// Imports of this kind per day over the last 7 days.
    pub imports_per_day: f64,
    /// When `needed` exceeds the quota: the day the quota is full at `imports_per_day`
    /// (`yyyy-mm-dd`; today when it is full already).
    pub wall: Option<String>,
}

/// The capacity plan of the vault from its genuine imports (`copies`), its quotas and
/// `policy`, at `now`.
pub fn capacity_plan(
    copies: &[Snapshot],
    quotas: &SnapshotQuotas,
    policy: &Policy,
    now: DateTime,
) -> (Vec<DatabaseNeed>, Vec<KindPlan>) {
    let mut by_database: BTreeMap<(SnapshotKind, String, String), Vec<i64>> = BTreeMap::new();
    for copy in copies.iter().filter(|c| is_genuine_import(c)) {
        let key = (
            copy.kind,
            copy.tag(tags::SOURCE_ACCOUNT).unwrap_or("?").to_owned(),
            copy.tag(tags::SOURCE_DATABASE).unwrap_or("?").to_owned(),
        );
        let taken = copy
            .tag(tags::SOURCE_CREATED)
            .and_then(|t| DateTime::from_str(t, Format::DateTime).ok())
            .or(copy.created)
            .map_or(0, |t| t.secs());
        by_database.entry(key).or_default().push(taken);
    }
    let mut steady_by_interval: BTreeMap<u64, usize> = BTreeMap::new();
    let needs: Vec<DatabaseNeed> = by_database
        .into_iter()
        .map(|((kind, source_account, source_database), mut times)| {
            times.sort_unstable();
            let mut gaps: Vec<i64> = times.windows(2).map(|w| w[1] - w[0]).filter(|g| *g > 0).collect();
            gaps.sort_unstable();
            let interval_secs = gaps.get(gaps.len() / 2).map_or(86_400, |g| u64::try_from(*g).unwrap_or(86_400));
            let steady_state = *steady_by_interval
                .entry(interval_secs)
                .or_insert_with(|| steady_state_copies(policy, Duration::from_secs(interval_secs)));
            DatabaseNeed { source_account, source_database, kind, copies_now: times.len(), interval_secs, steady_state }
        })
        .collect();
    let week_ago = now.secs() - 7 * DAY;
    let plans = [SnapshotKind::Instance, SnapshotKind::Cluster]
        .into_iter()
        .map(|kind| {
            let ours: Vec<&Snapshot> = copies.iter().filter(|c| c.kind == kind && is_genuine_import(c)).collect();
            let recent = ours
                .iter()
                .filter(|c| {
                    c.tag(tags::IMPORTED_AT)
                        .and_then(|t| DateTime::from_str(t, Format::DateTime).ok())
                        .is_some_and(|t| t.secs() >= week_ago)
                })
                .count();
            let imports_per_day = recent as f64 / 7.0;
            let quota = quotas.of(kind);
            let steady: usize = needs.iter().filter(|n| n.kind == kind).map(|n| n.steady_state).sum();
            let others =
                quota.map_or(0, |q| q.used.saturating_sub(i64::try_from(ours.len()).unwrap_or(i64::MAX)).max(0));
            let needed = i64::try_from(steady).unwrap_or(i64::MAX).saturating_add(others);
            let wall = quota.filter(|q| needed > q.max).map(|q| {
                let days = if q.free() == 0 || imports_per_day <= 0.0 {
                    0
                } else {
                    (q.free() as f64 / imports_per_day).ceil() as i64
                };
                if q.free() > 0 && imports_per_day <= 0.0 {
                    "when imports resume".to_owned()
                } else {
                    let day = DateTime::from_secs(now.secs() + days * DAY).fmt(Format::DateTime).unwrap_or_default();
                    day.chars().take(10).collect()
                }
            });
            KindPlan { kind, used: quota.map(|q| q.used), max: quota.map(|q| q.max), needed, imports_per_day, wall }
        })
        .collect();
    (needs, plans)
}

/// The plan as a table (a line per kind), for `offsite status --side vault`.
pub fn capacity_table(plans: &[KindPlan]) -> String {
    let rows: Vec<[String; 6]> = plans
        .iter()
        .map(|p| {
            let kind = match p.kind {
                SnapshotKind::Instance => "DB",
                SnapshotKind::Cluster => "DB cluster",
            };
            let shown = |v: Option<i64>| v.map_or("?".to_owned(), |v| v.to_string());
            [
                kind.to_owned(),
                shown(p.used),
                shown(p.max),
                p.needed.to_string(),
                format!("{:.1}", p.imports_per_day),
                p.wall.clone().unwrap_or_else(|| "fits".to_owned()),
            ]
        })
        .collect();
    offsite_common::table::render(["SNAPSHOTS", "USED", "QUOTA", "NEEDED", "IMPORTS/DAY", "WALL"], &rows)
}

#[cfg(test)]
mod tests {
    use offsite_common::quota::Quota;

    use super::*;

    fn policy(keep_last: u32, daily: u32, weekly: u32, monthly: u32) -> Policy {
        Policy { keep_last, daily, weekly, monthly, min_age: Duration::from_secs(7 * 86_400), dry_run: false }
    }

    #[test]
    fn the_steady_state_is_what_the_retention_code_keeps() {
        // Daily backups: the last 7 (which are the 7 dailies), then up to 5 weeklies and 12
        // monthlies that are not already kept: between 20 and 25.
        let daily = steady_state_copies(&policy(7, 7, 5, 12), Duration::from_secs(86_400));
        assert!((20..=25).contains(&daily), "{daily}");
        // Keep-last alone: that many, and what is younger than the minimum age.
        let last_three = Policy { min_age: Duration::from_secs(86_400), ..policy(3, 0, 0, 0) };
        assert_eq!(steady_state_copies(&last_three, Duration::from_secs(86_400)), 3);
        assert_eq!(steady_state_copies(&policy(3, 0, 0, 0), Duration::from_secs(86_400)), 7, "a week of dailies");
        // Weekly backups: the 7 newest cover 7 weeks, the monthlies reach back a year.
        let weekly = steady_state_copies(&policy(7, 7, 5, 12), Duration::from_secs(7 * 86_400));
        assert!((12..=20).contains(&weekly), "{weekly}");
        assert!(weekly < daily);
    }

    /// A fleet's vault copies: `count` copies of `database` at `every` days, imported `age`
    /// days ago for the newest.
    fn fleet(kind: SnapshotKind, database: &str, count: i64, every: i64, now: i64) -> Vec<Snapshot> {
        (0..count)
            .map(|n| {
                let mut copy = synthetic_copy(now - n * every * DAY, u64::try_from(n).unwrap_or(0));
                let arn = format!("arn:aws:rds:us-east-1:111111111111:snapshot:offsite-{database}-{n}");
                let shared = Snapshot::bare(kind, arn.clone(), "", SnapshotStatus::Available);
                copy.kind = kind;
                copy.identifier = vault_identifier(&shared);
                copy.tags.insert(tags::COPY_ARN.to_owned(), arn);
                copy.tags.insert(tags::SOURCE_DATABASE.to_owned(), database.to_owned());
                let imported = DateTime::from_secs(now - n * every * DAY).fmt(Format::DateTime).unwrap_or_default();
                copy.tags.insert(tags::IMPORTED_AT.to_owned(), imported);
                copy
            })
            .collect()
    }

    #[test]
    fn the_plan_of_a_mixed_fleet_sums_the_retention_codes_steady_state_per_kind() {
        let now = 2_000_000_000_i64;
        let mut copies = fleet(SnapshotKind::Instance, "orders", 10, 1, now);
        copies.extend(fleet(SnapshotKind::Instance, "billing", 4, 7, now));
        copies.extend(fleet(SnapshotKind::Cluster, "ledger", 30, 1, now));
        let policy = policy(7, 7, 5, 12);
        let quotas =
            SnapshotQuotas { instance: Some(Quota { used: 20, max: 100 }), cluster: Some(Quota { used: 15, max: 18 }) };
        let (needs, plans) = capacity_plan(&copies, &quotas, &policy, DateTime::from_secs(now));
        let daily = steady_state_copies(&policy, Duration::from_secs(86_400));
        let weekly = steady_state_copies(&policy, Duration::from_secs(7 * 86_400));
        let by_name: BTreeMap<&str, (u64, usize)> =
            needs.iter().map(|n| (n.source_database.as_str(), (n.interval_secs, n.steady_state))).collect();
        assert_eq!(by_name["orders"], (86_400, daily));
        assert_eq!(by_name["billing"], (7 * 86_400, weekly));
        assert_eq!(by_name["ledger"], (86_400, daily));
        // Instances: orders and billing, plus the 6 manual snapshots that are not imports.
        let instance = &plans[0];
        assert_eq!(instance.needed, i64::try_from(daily + weekly).expect("small") + 6);
        assert_eq!(instance.wall, None, "fits under 100: {instance:?}");
        // Clusters: a steady state of 20 or more against a quota of 18, 3 free, 8 imports in
        // the last 7 days: full in ceil(3 / (8/7)) = 3 days.
        let cluster = &plans[1];
        assert_eq!(cluster.needed, i64::try_from(daily).expect("small"));
        assert!((cluster.imports_per_day - 8.0 / 7.0).abs() < 1e-9, "{cluster:?}");
        let expected = DateTime::from_secs(now + 3 * DAY).fmt(Format::DateTime).expect("date");
        assert_eq!(cluster.wall.as_deref(), Some(&expected[..10]), "{cluster:?}");
        let table = capacity_table(&plans);
        assert!(table.starts_with("SNAPSHOTS"), "{table}");
        assert!(table.contains("DB cluster"), "{table}");
    }
}
