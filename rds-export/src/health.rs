//! How the RDS exports stand per source database, for `offsite status --side vault` and
//! `offsite verify --export-rpo`: pure over the states the run computes.

use std::fmt::Write as _;

use offsite_common::calendar::date_text;
use serde::Serialize;

use crate::plan::{DatabaseKey, DatabaseState};

/// One database's line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportRow {
    pub database: DatabaseKey,
    pub newest_export: Option<String>,
    /// The day the newest exported data was taken.
    pub newest_exported_date: Option<String>,
    /// How old that data is (seconds).
    pub age_secs: Option<i64>,
    /// Exports in progress (`offsite cancel-export --task <id>` cancels one).
    pub running: Vec<String>,
    /// Failures since the newest completed export: (task, cause).
    pub failures: Vec<(String, String)>,
    pub skipped_tables: Vec<String>,
    /// `ok`, `stale` (older than the export RPO), `never exported` (its copies are older than
    /// the RPO and none was exported), `not due yet` (its copies are younger than the RPO).
    pub verdict: &'static str,
}

/// Every database's line, and whether all meet the export RPO.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportHealth {
    pub rows: Vec<ExportRow>,
    pub export_rpo_secs: Option<i64>,
    pub ok: bool,
}

/// The databases the export function exports, as its settings restrict them (by name,
/// `OFFSITE_RDS_EXPORT_DATABASES`; by a tag on the source, `OFFSITE_RDS_EXPORT_SOURCE_TAG`,
/// decided from `copies` as the function decides it): `offsite verify --export-rpo` judges
/// only these, so a database left out on purpose is not "never exported".
pub fn selected_states(
    states: Vec<DatabaseState>,
    copies: &[offsite_common::snapshot::Snapshot],
    databases: Option<&[crate::plan::DatabasePattern]>,
    source_tag: Option<&offsite_common::source_tags::SourceTag>,
) -> Vec<DatabaseState> {
    let tagged = source_tag.map(|tag| crate::plan::databases_tagged(copies, tag));
    states
        .into_iter()
        .filter(|s| databases.is_none_or(|list| list.iter().any(|p| p.matches(&s.database))))
        .filter(|s| tagged.as_ref().is_none_or(|set| set.contains(&s.database)))
        .collect()
}

/// Judges each database against `export_rpo_secs` (none: everything is `ok`, the report only).
pub fn export_health(states: &[DatabaseState], now_secs: i64, export_rpo_secs: Option<i64>) -> ExportHealth {
    let rows: Vec<ExportRow> = states
        .iter()
        .map(|state| {
            let age_secs = state.newest_exported_taken.map(|t| (now_secs - t).max(0));
            let exportable_for = state.oldest_import_taken.map(|t| now_secs - t);
            let verdict = match (export_rpo_secs, age_secs) {
                (None, _) => "ok",
                (Some(rpo), Some(age)) if age > rpo => "stale",
                (Some(_), Some(_)) => "ok",
                (Some(rpo), None) if exportable_for.is_some_and(|d| d > rpo) => "never exported",
                (Some(_), None) => "not due yet",
            };
            ExportRow {
                database: state.database.clone(),
                newest_export: state.newest_export.clone(),
                newest_exported_date: state.newest_exported_taken.map(date_text),
                age_secs,
                running: state.running.clone(),
                failures: state.failures.clone(),
                skipped_tables: state.skipped_tables.clone(),
                verdict,
            }
        })
        .collect();
    let ok = rows.iter().all(|r| r.verdict == "ok" || r.verdict == "not due yet");
    ExportHealth { rows, export_rpo_secs, ok }
}

/// The table `offsite status --side vault` prints.
pub fn export_table(health: &ExportHealth) -> String {
    let mut out = String::from("RDS exports for auditors\n");
    if health.rows.is_empty() {
        out.push_str("  no vault copies to export\n");
        return out;
    }
    let _ = writeln!(
        out,
        "  {:<40} {:<12} {:>8} {:>7} {:<16} problems",
        "source database", "newest data", "age", "running", "verdict"
    );
    for row in &health.rows {
        let age = row.age_secs.map_or_else(|| "-".to_owned(), |a| format!("{}h", a / 3_600));
        let mut problems: Vec<String> =
            row.failures.iter().map(|(task, cause)| format!("{task} failed: {cause}")).collect();
        if !row.skipped_tables.is_empty() {
            problems.push(format!("skipped: {}", row.skipped_tables.join(", ")));
        }
        let _ = writeln!(
            out,
            "  {:<40} {:<12} {:>8} {:>7} {:<16} {}",
            row.database.to_string(),
            row.newest_exported_date.as_deref().unwrap_or("-"),
            age,
            row.running.len(),
            row.verdict,
            problems.join("; ")
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(database: &str, oldest: Option<i64>, newest: Option<i64>) -> DatabaseState {
        DatabaseState {
            database: DatabaseKey { account: "111111111111".into(), database: database.into() },
            oldest_import_taken: oldest,
            newest_exported_taken: newest,
            newest_export: newest.map(|_| format!("offsite-{database}-1")),
            newest_export_tables: None,
            running: Vec::new(),
            failures: Vec::new(),
            warnings: Vec::new(),
            skipped_tables: Vec::new(),
        }
    }

    const NOW: i64 = 1_796_284_800;
    const DAY: i64 = 86_400;

    #[test]
    fn databases_are_judged_against_the_export_rpo() {
        let states = [
            state("fresh", Some(NOW - 30 * DAY), Some(NOW - 3 * DAY)),
            state("stale", Some(NOW - 30 * DAY), Some(NOW - 10 * DAY)),
            state("never", Some(NOW - 30 * DAY), None),
            state("new", Some(NOW - DAY), None),
        ];
        let health = export_health(&states, NOW, Some(8 * DAY));
        let verdicts: Vec<(&str, &str)> =
            health.rows.iter().map(|r| (r.database.database.as_str(), r.verdict)).collect();
        assert_eq!(
            verdicts,
            [("fresh", "ok"), ("stale", "stale"), ("never", "never exported"), ("new", "not due yet")]
        );
        assert!(!health.ok);
        assert!(export_health(&states[..1], NOW, Some(8 * DAY)).ok);
        assert!(export_health(&states[3..], NOW, Some(8 * DAY)).ok, "a database too young to be exported passes");
        assert!(export_health(&states, NOW, None).ok, "without an RPO it only reports");
        assert_eq!(health.rows[0].newest_exported_date.as_deref(), Some("2026-11-30"));
    }

    #[test]
    fn only_the_databases_the_function_exports_are_judged() {
        use crate::plan::DatabasePattern;
        let states = vec![state("orders", Some(NOW - 40 * DAY), None), state("scratch", Some(NOW - 40 * DAY), None)];
        let only_orders = [DatabasePattern { account: None, database: "orders".into() }];
        let kept = selected_states(states.clone(), &[], Some(&only_orders), None);
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].database.database, "orders");
        // A tag no copy carries selects nothing (as the function exports nothing).
        let tag = offsite_common::source_tags::SourceTag { key: "data-class".into(), value: "audited".into() };
        assert!(selected_states(states.clone(), &[], None, Some(&tag)).is_empty());
        assert_eq!(selected_states(states, &[], None, None).len(), 2);
    }

    #[test]
    fn the_table_names_failures_and_skipped_tables() {
        let mut failing = state("orders", Some(NOW - 30 * DAY), Some(NOW - 3 * DAY));
        failing.failures = vec![("offsite-x-2".into(), "S3 access denied".into())];
        failing.skipped_tables = vec!["shop.public.bad table".into()];
        let table = export_table(&export_health(&[failing], NOW, None));
        assert!(table.contains("111111111111/orders"), "{table}");
        assert!(table.contains("offsite-x-2 failed: S3 access denied"), "{table}");
        assert!(table.contains("skipped: shop.public.bad table"), "{table}");
        assert!(export_table(&export_health(&[], NOW, None)).contains("no vault copies"));
    }
}
