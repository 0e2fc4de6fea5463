//! An export's own account of its tables: the `export_tables_info_<id>_from_<n>_to_<m>.json`
//! files RDS writes beside the data ("Monitoring snapshot exports" and "File naming
//! conventions" of the RDS user guide, USER_ExportSnapshot). Each table has a status; a table
//! whose status is not `COMPLETE` was not exported, whether or not the task's
//! `WarningMessage` says so (AWS skips some tables without failing the export). The Athena
//! DDL reads the column types from the same files ([`crate::athena`]).
//!
//! The run reads the files of each database's newest completed export
//! ([`read_tables_info`], an adapter over S3) and [`note_tables`] adds what they say to the
//! database's state (pure).

use serde::Deserialize;

use crate::plan::DatabaseState;

/// One exported table as an export's `export_tables_info` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TableInfo {
    /// `<database>.<schema>.<table>` (PostgreSQL) or `<database>.<table>` (MySQL).
    pub target: String,
    #[serde(default)]
    pub status: String,
    #[serde(rename = "schemaMetadata", default)]
    pub schema: SchemaMetadata,
    #[serde(rename = "warningMessage", default)]
    pub warning: Option<String>,
}

impl TableInfo {
    /// Whether RDS exported the table (status `COMPLETE`).
    pub fn is_exported(&self) -> bool {
        self.status.eq_ignore_ascii_case("COMPLETE")
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct SchemaMetadata {
    #[serde(rename = "originalTypeMappings", default)]
    pub columns: Vec<ColumnMapping>,
}

/// One column: its name, the database's type, and the Parquet type RDS wrote.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ColumnMapping {
    #[serde(rename = "columnName")]
    pub name: String,
    #[serde(rename = "originalType")]
    pub original_type: String,
    #[serde(rename = "expectedExportedType")]
    pub exported_type: String,
}

/// An `export_tables_info_<id>_from_<n>_to_<m>.json` document.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TablesInfo {
    #[serde(rename = "perTableStatus", default)]
    pub tables: Vec<TableInfo>,
}

/// The key prefix of the `export_tables_info` files of export `task` written under `s3_prefix`
/// (RDS writes them in the export's folder, `<S3Prefix>/<ExportTaskIdentifier>/`).
pub fn tables_info_prefix(s3_prefix: &str, task: &str) -> String {
    let folder = s3_prefix.trim_end_matches('/');
    let file = format!("export_tables_info_{task}_from_");
    if folder.is_empty() { format!("{task}/{file}") } else { format!("{folder}/{task}/{file}") }
}

/// What the newest completed export `task` of a database says of its tables: how many it
/// reports, and each table it did not export (any status but `COMPLETE`) named among the
/// skipped tables. A table the task's `WarningMessage` did not name gets a warning of its own:
/// it was skipped silently.
pub fn note_tables(state: &mut DatabaseState, task: &str, tables: &[TableInfo]) {
    state.newest_export_tables = Some(tables.len());
    for table in tables.iter().filter(|t| !t.is_exported()) {
        if state.skipped_tables.contains(&table.target) {
            continue;
        }
        state.skipped_tables.push(table.target.clone());
        let status = if table.status.is_empty() { "no status" } else { table.status.as_str() };
        let why = table.warning.as_deref().map(|w| format!(": {w}")).unwrap_or_default();
        state.warnings.push((
            task.to_owned(),
            format!("export_tables_info: table {} {status}{why} (not in the task's WarningMessage)", table.target),
        ));
    }
}

/// What the function must be granted to read the files, named when it cannot.
const READ_FIX: &str = "the vault's RDS export function reads export_tables_info_* under the prefix: the auditor \
                        stack admits it in the bucket policy (s3:ListBucket, s3:GetObject) and the key policy \
                        (kms:Decrypt through S3)";

/// The tables an export's `export_tables_info` files list, read from the bucket: the files
/// under [`tables_info_prefix`] (RDS splits a long list over several), in key order. An
/// export that holds no table writes no such file: an empty list.
pub async fn read_tables_info(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    s3_prefix: &str,
    task: &str,
) -> Result<Vec<TableInfo>, String> {
    let with_fix = |e: String| format!("{e} ({READ_FIX})");
    let mut keys = list_keys(s3, bucket, &tables_info_prefix(s3_prefix, task)).await.map_err(with_fix)?;
    keys.sort();
    let mut tables = Vec::new();
    for key in keys.iter().filter(|k| k.ends_with(".json")) {
        tables.extend(read_document(s3, bucket, key).await.map_err(with_fix)?.tables);
    }
    Ok(tables)
}

/// Every key under `prefix` in `bucket`, paged (ListObjectsV2).
pub(crate) async fn list_keys(s3: &aws_sdk_s3::Client, bucket: &str, prefix: &str) -> Result<Vec<String>, String> {
    use aws_sdk_s3::error::DisplayErrorContext;
    let mut keys = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = s3
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .set_continuation_token(token.take())
            .send()
            .await
            .map_err(|e| format!("cannot list s3://{bucket}/{prefix}: {}", DisplayErrorContext(e)))?;
        keys.extend(page.contents().iter().filter_map(|o| o.key().map(str::to_owned)));
        match page.next_continuation_token {
            Some(next) if page.is_truncated == Some(true) => token = Some(next),
            _ => return Ok(keys),
        }
    }
}

/// One `export_tables_info` document (GetObject).
pub(crate) async fn read_document(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Result<TablesInfo, String> {
    use aws_sdk_s3::error::DisplayErrorContext;
    let object = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| format!("cannot read s3://{bucket}/{key}: {}", DisplayErrorContext(e)))?;
    let bytes = object.body.collect().await.map_err(|e| format!("cannot read s3://{bucket}/{key}: {e}"))?;
    serde_json::from_slice(&bytes.into_bytes())
        .map_err(|e| format!("unreadable export metadata s3://{bucket}/{key}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::DatabaseKey;

    fn table(target: &str, status: &str, warning: Option<&str>) -> TableInfo {
        TableInfo {
            target: target.to_owned(),
            status: status.to_owned(),
            schema: SchemaMetadata::default(),
            warning: warning.map(str::to_owned),
        }
    }

    fn state(skipped: &[&str]) -> DatabaseState {
        DatabaseState {
            database: DatabaseKey { account: "111111111111".into(), database: "orders".into() },
            oldest_import_taken: None,
            newest_exported_taken: None,
            newest_export: Some("task".into()),
            newest_export_tables: None,
            running: Vec::new(),
            failures: Vec::new(),
            warnings: Vec::new(),
            skipped_tables: skipped.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn the_prefix_is_the_exports_folder_with_or_without_a_prefix() {
        assert_eq!(
            tables_info_prefix("offsite/rds/account=1/database=d/date=2026-12-01/", "o1-2026-12-01-d-1"),
            "offsite/rds/account=1/database=d/date=2026-12-01/o1-2026-12-01-d-1/export_tables_info_o1-2026-12-01-d-1_from_"
        );
        assert_eq!(tables_info_prefix("", "t"), "t/export_tables_info_t_from_");
    }

    #[test]
    fn tables_not_complete_are_named_once_and_silent_skips_get_a_warning() {
        let mut s = state(&["shop.public.bad table"]);
        let tables = [
            table("shop.public.orders", "COMPLETE", None),
            table("shop.public.bad table", "SKIPPED", Some("column name")),
            table("shop.public.huge", "FAILED", Some("out of space")),
            table("shop.public.odd", "", None),
            table("shop.public.fine", "complete", None),
        ];
        note_tables(&mut s, "task", &tables);
        assert_eq!(s.newest_export_tables, Some(5));
        assert_eq!(s.skipped_tables, ["shop.public.bad table", "shop.public.huge", "shop.public.odd"]);
        assert_eq!(s.warnings.len(), 2, "{:?}", s.warnings);
        assert_eq!(s.warnings[0].0, "task");
        assert!(s.warnings[0].1.contains("shop.public.huge FAILED: out of space"), "{:?}", s.warnings);
        assert!(s.warnings[1].1.contains("shop.public.odd no status"), "{:?}", s.warnings);
    }

    #[test]
    fn a_complete_export_changes_nothing_but_the_count() {
        let mut s = state(&[]);
        note_tables(&mut s, "task", &[table("shop.public.orders", "COMPLETE", None)]);
        assert_eq!(s.newest_export_tables, Some(1));
        assert!(s.skipped_tables.is_empty() && s.warnings.is_empty());
        note_tables(&mut s, "task", &[]);
        assert_eq!(s.newest_export_tables, Some(0));
    }
}
