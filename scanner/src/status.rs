//! `offsite status --side workload`: the pipeline's copies as an operator sees them.

use aws_smithy_types::DateTime;
use offsite_common::snapshot::{Snapshot, SnapshotArn, SnapshotKind};
use offsite_common::tags;
use serde::Serialize;

/// One copy, ready to print.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusRow {
    pub copy_identifier: String,
    pub kind: SnapshotKind,
    /// `exported`, `announcing`, `announced`, `failed` (the pipeline's stage tag).
    pub stage: String,
    /// The RDS status (`creating`, `available`, `failed`, ...).
    pub status: String,
    pub progress: Option<i32>,
    pub age_seconds: Option<u64>,
    pub attempt: u32,
    /// The source snapshot's name (its full ARN is in `source_arn`).
    pub source: String,
    pub source_arn: Option<String>,
}

/// Rows for `copies`, oldest first.
pub fn status_rows(copies: &[Snapshot], now: DateTime) -> Vec<StatusRow> {
    let mut rows: Vec<StatusRow> = copies
        .iter()
        .map(|c| {
            let source_arn = c.tag(tags::SOURCE_ARN).map(str::to_owned);
            let source = source_arn
                .as_deref()
                .and_then(|a| a.parse::<SnapshotArn>().ok())
                .map(|a| a.name)
                .unwrap_or_else(|| "?".to_owned());
            StatusRow {
                copy_identifier: c.identifier.clone(),
                kind: c.kind,
                stage: c.tag(tags::STAGE).unwrap_or("?").to_owned(),
                status: c.status.as_str().to_owned(),
                progress: c.percent_progress,
                age_seconds: c.created.map(|t| u64::try_from(now.secs().saturating_sub(t.secs())).unwrap_or(0)),
                attempt: offsite_common::lineage::attempt_of(c),
                source,
                source_arn,
            }
        })
        .collect();
    rows.sort_by(|a, b| b.age_seconds.cmp(&a.age_seconds).then_with(|| a.copy_identifier.cmp(&b.copy_identifier)));
    rows
}

/// The rows as an aligned table with a header.
pub fn status_table(rows: &[StatusRow]) -> String {
    let cells: Vec<[String; 8]> = rows
        .iter()
        .map(|r| {
            [
                r.copy_identifier.clone(),
                r.kind.to_string(),
                r.stage.clone(),
                r.status.clone(),
                r.progress.map_or_else(|| "-".to_owned(), |p| format!("{p}%")),
                r.age_seconds.map_or_else(|| "-".to_owned(), offsite_common::table::short_age),
                r.attempt.to_string(),
                r.source.clone(),
            ]
        })
        .collect();
    let mut out =
        offsite_common::table::render(["COPY", "KIND", "STAGE", "STATUS", "PROGRESS", "AGE", "TRY", "SOURCE"], &cells);
    out.push_str(&format!("status: {} copies\n", rows.len()));
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use offsite_common::snapshot::SnapshotStatus;

    use super::*;

    fn copy(id: &str, created: i64, stage: &str, status: SnapshotStatus) -> Snapshot {
        Snapshot {
            percent_progress: Some(60),
            encrypted: true,
            tags: BTreeMap::from([
                (tags::STAGE.to_owned(), stage.to_owned()),
                (
                    tags::SOURCE_ARN.to_owned(),
                    "arn:aws:rds:us-east-1:111111111111:cluster-snapshot:rds:ledger-1".to_owned(),
                ),
            ]),
            created: Some(DateTime::from_secs(created)),
            ..Snapshot::bare(
                SnapshotKind::Cluster,
                format!("arn:aws:rds:us-east-1:111111111111:cluster-snapshot:{id}"),
                id,
                status,
            )
        }
    }

    #[test]
    fn rows_are_oldest_first_with_stage_progress_and_source() {
        let now = DateTime::from_secs(10_000);
        let rows = status_rows(
            &[
                copy("young", 9_000, tags::STAGE_EXPORTED, SnapshotStatus::InProgress("creating".into())),
                copy("old", 100, tags::STAGE_ANNOUNCED, SnapshotStatus::Available),
            ],
            now,
        );
        assert_eq!(rows[0].copy_identifier, "old");
        assert_eq!(rows[1].stage, "exported");
        assert_eq!(rows[1].age_seconds, Some(1_000));
        assert_eq!(rows[1].source, "rds:ledger-1");
        let table = status_table(&rows);
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[0].starts_with("COPY") && lines[0].contains("PROGRESS"), "{table}");
        assert!(lines[2].contains("creating") && lines[2].contains("60%") && lines[2].contains("16m"), "{table}");
        assert_eq!(lines[3], "status: 2 copies");
    }
}
