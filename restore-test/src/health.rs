//! How the restore tests stand per source database, for `offsite status --side vault` and
//! `offsite verify --restore-tested-within`: pure over the vault's copies (their evidence
//! tags) and the tester's resources.

use std::fmt::Write as _;

use offsite_common::lineage::DatabaseKey;
use offsite_common::snapshot::Snapshot;
use offsite_common::tags;
use serde::Serialize;

use crate::plan::{Restored, imports_by_database, test_history, tests_of};

/// One database's line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TestRow {
    pub database: DatabaseKey,
    /// The newest test: its result, when it concluded (UNIX seconds), the copy it restored.
    pub last_result: Option<String>,
    pub last_tested_at: Option<i64>,
    pub last_copy: Option<String>,
    /// Its figures, or why it failed.
    pub last_figures: Option<String>,
    /// How long since the newest passed test (seconds).
    pub passed_age_secs: Option<i64>,
    /// The restore under way, if any.
    pub running: Option<String>,
    /// `ok`, `stale` (no passed test within the limit), `never passed` (its copies are older
    /// than the limit and no test passed), `not due yet` (its copies are younger).
    pub verdict: &'static str,
}

/// Every database's line, and whether all had a passed test within the limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RestoreHealth {
    /// The vault's second Region these rows are of; `None`: the vault's own Region.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub second_region: Option<String>,
    pub rows: Vec<TestRow>,
    pub tested_within_secs: Option<i64>,
    pub ok: bool,
}

/// Judges each database against `within_secs` (none: everything is `ok`, the report only).
pub fn restore_health(copies: &[Snapshot], restored: &[Restored], now: i64, within_secs: Option<i64>) -> RestoreHealth {
    let tests = tests_of(restored);
    let rows: Vec<TestRow> = imports_by_database(copies)
        .into_iter()
        .map(|(database, list)| {
            let (newest, last_passed) = test_history(&list);
            let passed_age_secs = last_passed.map(|t| (now - t).max(0));
            let testable_for = list.first().map(|(_, taken)| now - taken);
            let verdict = match (within_secs, passed_age_secs) {
                (None, _) => "ok",
                (Some(limit), Some(age)) if age > limit => "stale",
                (Some(_), Some(_)) => "ok",
                (Some(limit), None) if testable_for.is_some_and(|d| d > limit) => "never passed",
                (Some(_), None) => "not due yet",
            };
            let key = database.to_string();
            TestRow {
                last_result: newest.and_then(|(c, _)| c.tag(tags::RESTORE_TEST)).map(str::to_owned),
                last_tested_at: newest.map(|(_, at)| at),
                last_copy: newest.map(|(c, _)| c.identifier.clone()),
                last_figures: newest.and_then(|(c, _)| c.tag(tags::RESTORE_TEST_FIGURES)).map(str::to_owned),
                passed_age_secs,
                running: tests.iter().find(|t| t.database() == Some(key.as_str())).map(|t| t.root.identifier.clone()),
                verdict,
                database,
            }
        })
        .collect();
    let ok = rows.iter().all(|r| r.verdict == "ok" || r.verdict == "not due yet");
    RestoreHealth { second_region: None, rows, tested_within_secs: within_secs, ok }
}

/// The table `offsite status --side vault` prints.
pub fn restore_table(health: &RestoreHealth, now: i64) -> String {
    let mut out = match &health.second_region {
        Some(region) => format!("Restore tests in the second Region {region}\n"),
        None => String::from("Restore tests\n"),
    };
    if health.rows.is_empty() {
        out.push_str("  no vault copies to test\n");
        return out;
    }
    let _ = writeln!(
        out,
        "  {:<40} {:<8} {:>10} {:>12} {:<26} {:<14} figures",
        "source database", "last", "tested", "last passed", "running", "verdict"
    );
    let ago = |secs: Option<i64>| secs.map_or_else(|| "-".to_owned(), |s| format!("{}h ago", s / 3_600));
    for row in &health.rows {
        let _ = writeln!(
            out,
            "  {:<40} {:<8} {:>10} {:>12} {:<26} {:<14} {}",
            row.database.to_string(),
            row.last_result.as_deref().unwrap_or("-"),
            ago(row.last_tested_at.map(|t| now - t)),
            ago(row.passed_age_secs),
            row.running.as_deref().unwrap_or("-"),
            row.verdict,
            row.last_figures.as_deref().unwrap_or("")
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use aws_smithy_types::DateTime;
    use aws_smithy_types::date_time::Format;
    use offsite_common::lineage::vault_identifier;
    use offsite_common::snapshot::{SnapshotKind, SnapshotStatus};

    use super::*;

    const NOW: i64 = 1_796_256_000;
    const DAY: i64 = 86_400;

    fn import(database: &str, taken: i64, tested: Option<(&str, i64)>) -> Snapshot {
        let shared_arn = format!("arn:aws:rds:eu-west-1:111111111111:snapshot:offsite-{database}-{taken}");
        let shared = Snapshot::bare(SnapshotKind::Instance, shared_arn.clone(), "", SnapshotStatus::Available);
        let identifier = vault_identifier(&shared);
        let mut copy = Snapshot::bare(
            SnapshotKind::Instance,
            format!("arn:aws:rds:eu-west-1:222222222222:snapshot:{identifier}"),
            identifier,
            SnapshotStatus::Available,
        );
        let time = |secs: i64| DateTime::from_secs(secs).fmt(Format::DateTime).expect("formattable");
        for (key, value) in [
            (tags::MARKER, tags::MARKER_IMPORT.to_owned()),
            (tags::COPY_ARN, shared_arn),
            (tags::SOURCE_ACCOUNT, "111111111111".to_owned()),
            (tags::SOURCE_DATABASE, database.to_owned()),
            (tags::SOURCE_CREATED, time(taken)),
        ] {
            copy.tags.insert(key.to_owned(), value);
        }
        if let Some((result, at)) = tested {
            copy.tags.insert(tags::RESTORE_TEST.into(), result.into());
            copy.tags.insert(tags::RESTORE_TESTED_AT.into(), time(at));
            copy.tags.insert(tags::RESTORE_TEST_FIGURES.into(), "postgres 16.3 / 20 GiB".into());
        }
        copy
    }

    #[test]
    fn each_database_is_judged_by_its_newest_passed_test() {
        let copies = [
            import("fresh", NOW - 3 * DAY, Some(("passed", NOW - 2 * DAY))),
            import("stale", NOW - 60 * DAY, Some(("passed", NOW - 40 * DAY))),
            // A failure after a pass: the pass still counts, the failure is shown.
            import("failing", NOW - 10 * DAY, Some(("passed", NOW - 9 * DAY))),
            import("failing", NOW - 2 * DAY, Some(("failed", NOW - DAY))),
            import("never", NOW - 45 * DAY, None),
            import("young", NOW - 2 * DAY, None),
        ];
        let health = restore_health(&copies, &[], NOW, Some(30 * DAY));
        let verdicts: Vec<(&str, &str)> =
            health.rows.iter().map(|r| (r.database.database.as_str(), r.verdict)).collect();
        assert_eq!(
            verdicts,
            [
                ("failing", "ok"),
                ("fresh", "ok"),
                ("never", "never passed"),
                ("stale", "stale"),
                ("young", "not due yet")
            ]
        );
        assert!(!health.ok);
        let failing = &health.rows[0];
        assert_eq!((failing.last_result.as_deref(), failing.passed_age_secs), (Some("failed"), Some(9 * DAY)));
        assert!(restore_health(&copies, &[], NOW, None).ok, "without a limit: the report only");
        let table = restore_table(&health, NOW);
        assert!(table.contains("111111111111/stale") && table.contains("never passed"), "{table}");
    }
}
