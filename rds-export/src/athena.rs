//! The Athena tables over the RDS exports: one `CREATE EXTERNAL TABLE … STORED AS PARQUET`
//! per source table, typed from the export's own metadata (`export_tables_info_*.json`,
//! `perTableStatus[].schemaMetadata.originalTypeMappings`), with partition projection over
//! the source account, the source database, the snapshot's day and the export's attempt, so
//! every new export is queryable without a crawler (Athena User Guide, "Partition projection
//! with Amazon Athena"; "Supported types for partition projection").
//!
//! The files of one source table live at
//! `<prefix>/rds/account=<a>/database=<d>/date=<day>/o<a>-<day>-<d>-<attempt>/<db>/<schema.table>/…`
//! ("File naming conventions" of the RDS export user guide: RDS adds the export id, the
//! database and the table folders below the task's prefix); the export id is made of the
//! partition values (`plan::task_identifier`), so `storage.location.template` can name it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

pub use crate::tables_info::{ColumnMapping, SchemaMetadata, TableInfo, TablesInfo};

/// The partition columns, in the template's order.
pub const PARTITIONS: [&str; 4] = ["source_account", "source_database", "export_date", "export_attempt"];

/// Where an export's files are: read from the key of its `export_tables_info` file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ExportPlace {
    pub account: String,
    pub database: String,
    pub date: String,
    pub export_id: String,
}

/// Reads `<prefix>/rds/account=<a>/database=<d>/date=<day>/<id>/export_tables_info_…json`.
pub fn export_place(prefix: &str, key: &str) -> Option<ExportPlace> {
    let lead = if prefix.is_empty() { "rds/".to_owned() } else { format!("{}/rds/", prefix.trim_end_matches('/')) };
    let rest = key.strip_prefix(&lead)?;
    let parts: Vec<&str> = rest.split('/').collect();
    let [account, database, date, export_id, file] = parts[..] else { return None };
    if !file.starts_with("export_tables_info_") || !file.ends_with(".json") {
        return None;
    }
    Some(ExportPlace {
        account: account.strip_prefix("account=")?.to_owned(),
        database: database.strip_prefix("database=")?.to_owned(),
        date: date.strip_prefix("date=")?.to_owned(),
        export_id: export_id.to_owned(),
    })
}

/// The Hive (Athena) type of a column RDS exported as `exported` (the `expectedExportedType`
/// spellings: a Parquet physical type and its logical annotation, "Data conversion when
/// exporting to an Amazon S3 bucket").
pub fn hive_type(exported: &str) -> Result<String, String> {
    let lower = exported.trim().to_ascii_lowercase();
    let (physical, annotation) = match lower.split_once(" (") {
        Some((physical, rest)) => (physical, rest.strip_suffix(')').unwrap_or(rest)),
        None => (lower.as_str(), ""),
    };
    if let Some(decimal) = annotation.strip_prefix("decimal(").and_then(|d| d.strip_suffix(')')) {
        let mut parts = decimal.split(',').map(str::trim);
        let (Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(format!("unreadable decimal type {exported:?}"));
        };
        if p.parse::<u8>().is_err() || s.parse::<u8>().is_err() {
            return Err(format!("unreadable decimal type {exported:?}"));
        }
        return Ok(format!("decimal({p},{s})"));
    }
    let hive = match (physical, annotation) {
        ("binary" | "byte_array", "utf8" | "string" | "json" | "enum") => "string",
        ("binary" | "byte_array", "") => "binary",
        ("boolean", "") => "boolean",
        ("int32", "") => "int",
        ("int32", "int_16") => "smallint",
        ("int32", "int_8") => "tinyint",
        ("int32", "date") => "date",
        ("int64", "") => "bigint",
        ("int64", "timestamp_micros" | "timestamp_millis") => "timestamp",
        ("float", "") => "float",
        ("double", "") => "double",
        _ => return Err(format!("exported type {exported:?} has no Athena type here")),
    };
    Ok(hive.to_owned())
}

/// The Athena name of a source table: `<database>_<schema>_<table>` (or `<database>_<table>`),
/// lower case, every character other than a letter, digit or `_` as `_`.
pub fn table_name(target: &str) -> String {
    target.to_ascii_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect()
}

/// What the DDL needs to know about one source table across its exports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceTable {
    pub target: String,
    /// The columns of its newest export.
    pub columns: Vec<ColumnMapping>,
    /// The accounts and databases it was exported from (the projection's values).
    pub accounts: BTreeSet<String>,
    pub databases: BTreeSet<String>,
    /// Whether it came from a PostgreSQL export (schema in the target).
    pub postgres: bool,
}

/// Folds every export's tables into one entry per source table (`target`), the newest
/// export's columns winning (exports sorted by date). Skipped or failed tables are left out.
pub fn source_tables(exports: &[(ExportPlace, TablesInfo)]) -> Vec<SourceTable> {
    let mut sorted: Vec<&(ExportPlace, TablesInfo)> = exports.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut tables: BTreeMap<String, SourceTable> = BTreeMap::new();
    let mut by_date: BTreeMap<String, String> = BTreeMap::new();
    for (place, info) in sorted {
        for table in info.tables.iter().filter(|t| t.status.eq_ignore_ascii_case("COMPLETE")) {
            let entry = tables.entry(table.target.clone()).or_insert_with(|| SourceTable {
                target: table.target.clone(),
                columns: Vec::new(),
                accounts: BTreeSet::new(),
                databases: BTreeSet::new(),
                postgres: table.target.split('.').count() == 3,
            });
            entry.accounts.insert(place.account.clone());
            entry.databases.insert(place.database.clone());
            let newer = by_date.get(&table.target).is_none_or(|d| *d <= place.date);
            if newer {
                entry.columns.clone_from(&table.schema.columns);
                by_date.insert(table.target.clone(), place.date.clone());
            }
        }
    }
    tables.into_values().collect()
}

/// What the statements are made for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DdlTarget {
    /// The Glue (Athena) database.
    pub glue_database: String,
    pub bucket: String,
    /// The exports' prefix (`OFFSITE_RDS_EXPORT_PREFIX`).
    pub prefix: String,
    /// The first day the date projection covers.
    pub since: String,
}

fn quoted(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\'', "\\'")
}

/// The `CREATE EXTERNAL TABLE` of one source table, or why it cannot be written.
pub fn create_table(table: &SourceTable, target: &DdlTarget) -> Result<String, String> {
    if table.columns.is_empty() {
        return Err(format!("{}: no columns in its export metadata", table.target));
    }
    let mut columns = Vec::new();
    for column in &table.columns {
        let hive = hive_type(&column.exported_type).map_err(|e| format!("{}.{}: {e}", table.target, column.name))?;
        if column.name.contains('`') {
            return Err(format!("{}.{}: a backtick in a column name", table.target, column.name));
        }
        columns.push(format!(
            "  `{}` {hive} COMMENT '{}'",
            column.name.to_ascii_lowercase(),
            quoted(&column.original_type)
        ));
    }
    let folder = match table.target.split_once('.') {
        Some((database, rest)) => format!("{database}/{rest}"),
        None => return Err(format!("{}: not <database>.<table>", table.target)),
    };
    let base = if target.prefix.is_empty() {
        format!("s3://{}/rds", target.bucket)
    } else {
        format!("s3://{}/{}/rds", target.bucket, target.prefix.trim_end_matches('/'))
    };
    let template = format!(
        "{base}/account=${{source_account}}/database=${{source_database}}/date=${{export_date}}/\
         o${{source_account}}-${{export_date}}-${{source_database}}-${{export_attempt}}/{folder}/"
    );
    let join = |set: &BTreeSet<String>| set.iter().cloned().collect::<Vec<_>>().join(",");
    let mut out = String::new();
    let _ = writeln!(
        out,
        "-- Source table {} ({} export)",
        table.target,
        if table.postgres { "PostgreSQL" } else { "MySQL" }
    );
    if table.postgres {
        let _ = writeln!(
            out,
            "-- PostgreSQL numeric, date, time and timestamp types, json, uuid and arrays arrive as strings: cast them."
        );
    }
    let _ = writeln!(
        out,
        "CREATE EXTERNAL TABLE IF NOT EXISTS `{}`.`{}` (",
        target.glue_database,
        table_name(&table.target)
    );
    let _ = writeln!(out, "{}", columns.join(",\n"));
    let _ = writeln!(out, ")");
    let partitions: Vec<String> = PARTITIONS.iter().map(|p| format!("`{p}` string")).collect();
    let _ = writeln!(out, "PARTITIONED BY ({})", partitions.join(", "));
    let _ = writeln!(out, "STORED AS PARQUET");
    let _ = writeln!(out, "LOCATION '{base}/'");
    let properties = [
        ("projection.enabled", "true".to_owned()),
        ("projection.source_account.type", "enum".to_owned()),
        ("projection.source_account.values", join(&table.accounts)),
        ("projection.source_database.type", "enum".to_owned()),
        ("projection.source_database.values", join(&table.databases)),
        ("projection.export_date.type", "date".to_owned()),
        ("projection.export_date.format", "yyyy-MM-dd".to_owned()),
        ("projection.export_date.range", format!("{},NOW", target.since)),
        ("projection.export_date.interval", "1".to_owned()),
        ("projection.export_date.interval.unit", "DAYS".to_owned()),
        ("projection.export_attempt.type", "integer".to_owned()),
        ("projection.export_attempt.range", format!("1,{}", crate::plan::MAX_ATTEMPTS)),
        ("storage.location.template", template),
    ];
    let properties: Vec<String> = properties.iter().map(|(k, v)| format!("  '{k}'='{}'", quoted(v))).collect();
    let _ = writeln!(out, "TBLPROPERTIES (\n{}\n);", properties.join(",\n"));
    Ok(out)
}

/// Every export's metadata under `<prefix>/rds/` in `bucket`: the `export_tables_info_*.json`
/// files, read with the caller's credentials (the auditor's: `s3:ListBucket`, `s3:GetObject`).
pub async fn read_exports(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
) -> Result<Vec<(ExportPlace, TablesInfo)>, String> {
    let listed = if prefix.is_empty() { "rds/".to_owned() } else { format!("{}/rds/", prefix.trim_end_matches('/')) };
    let mut exports = Vec::new();
    for key in crate::tables_info::list_keys(s3, bucket, &listed).await? {
        let Some(place) = export_place(prefix, &key) else { continue };
        exports.push((place, crate::tables_info::read_document(s3, bucket, &key).await?));
    }
    Ok(exports)
}

/// The statements `offsite athena-ddl --rds` prints: the database, then one table per source
/// table (or a comment saying why one cannot be described).
pub fn statements(exports: &[(ExportPlace, TablesInfo)], target: &DdlTarget, extra_accounts: &[String]) -> String {
    let mut out = format!("CREATE DATABASE IF NOT EXISTS `{}`;\n\n", target.glue_database);
    for mut table in source_tables(exports) {
        table.accounts.extend(extra_accounts.iter().cloned());
        match create_table(&table, target) {
            Ok(ddl) => {
                out.push_str(&ddl);
                out.push('\n');
            }
            Err(why) => {
                let _ = writeln!(out, "-- {}: not described: {why}\n", table.target);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &str, original: &str, exported: &str) -> ColumnMapping {
        ColumnMapping { name: name.into(), original_type: original.into(), exported_type: exported.into() }
    }

    #[test]
    fn exported_types_map_to_athena_types() {
        for (exported, hive) in [
            ("binary (UTF8)", "string"),
            ("binary", "binary"),
            ("boolean", "boolean"),
            ("int32", "int"),
            ("int32 (INT_16)", "smallint"),
            ("int64", "bigint"),
            ("int64 (TIMESTAMP_MICROS)", "timestamp"),
            ("int64 (DECIMAL(10,2))", "decimal(10,2)"),
            ("fixed_len_byte_array (DECIMAL(20,0))", "decimal(20,0)"),
            ("float", "float"),
            ("double", "double"),
        ] {
            assert_eq!(hive_type(exported).as_deref(), Ok(hive), "{exported}");
        }
        assert!(hive_type("int96").is_err());
        assert!(hive_type("int64 (DECIMAL(x,2))").is_err());
    }

    #[test]
    fn export_places_are_read_from_the_metadata_keys() {
        let key = "audit/rds/account=111111111111/database=orders/date=2026-12-01/o111111111111-2026-12-01-orders-1/\
                   export_tables_info_o111111111111-2026-12-01-orders-1_from_1_to_1.json";
        let place = export_place("audit/", key).expect("an export's metadata");
        assert_eq!(
            (place.account.as_str(), place.database.as_str(), place.date.as_str()),
            ("111111111111", "orders", "2026-12-01")
        );
        assert_eq!(export_place("audit", &key.replace("export_tables_info", "export_info")), None);
        assert_eq!(export_place("other", key), None);
    }

    #[test]
    fn one_table_per_source_table_with_the_newest_columns_and_every_account_and_database() {
        let info = |cols: Vec<ColumnMapping>| TablesInfo {
            tables: vec![
                TableInfo {
                    target: "shop.public.orders".into(),
                    status: "COMPLETE".into(),
                    schema: SchemaMetadata { columns: cols },
                    warning: None,
                },
                TableInfo {
                    target: "shop.public.bad".into(),
                    status: "SKIPPED".into(),
                    schema: SchemaMetadata::default(),
                    warning: Some("skipped".into()),
                },
            ],
        };
        let place = |account: &str, database: &str, date: &str| ExportPlace {
            account: account.into(),
            database: database.into(),
            date: date.into(),
            export_id: format!("o{account}-{date}-{database}-1"),
        };
        let old = vec![column("id", "integer", "int32")];
        let new = vec![column("id", "integer", "int32"), column("total", "numeric", "binary (UTF8)")];
        let tables = source_tables(&[
            (place("111111111111", "orders", "2026-12-01"), info(new.clone())),
            (place("333333333333", "orders-eu", "2026-11-01"), info(old)),
        ]);
        assert_eq!(tables.len(), 1, "skipped tables get no Athena table: {tables:?}");
        assert_eq!(tables[0].columns, new);
        assert_eq!(tables[0].accounts.len(), 2);
        assert!(tables[0].databases.contains("orders-eu") && tables[0].postgres);
    }

    #[test]
    fn the_statement_projects_the_layout_rds_writes() {
        let table = SourceTable {
            target: "shop.public.orders".into(),
            columns: vec![column("ID", "integer", "int32"), column("note", "text", "binary (UTF8)")],
            accounts: ["111111111111".to_owned()].into(),
            databases: ["orders".to_owned()].into(),
            postgres: true,
        };
        let target = DdlTarget {
            glue_database: "offsite_rds".into(),
            bucket: "auditor-exports".into(),
            prefix: "offsite".into(),
            since: "2026-01-01".into(),
        };
        let ddl = create_table(&table, &target).expect("a statement");
        assert!(ddl.contains("CREATE EXTERNAL TABLE IF NOT EXISTS `offsite_rds`.`shop_public_orders` ("), "{ddl}");
        assert!(ddl.contains("  `id` int COMMENT 'integer',\n  `note` string COMMENT 'text'\n)"), "{ddl}");
        assert!(ddl.contains("STORED AS PARQUET\nLOCATION 's3://auditor-exports/offsite/rds/'"), "{ddl}");
        let template = "s3://auditor-exports/offsite/rds/account=${source_account}/database=${source_database}/\
                        date=${export_date}/o${source_account}-${export_date}-${source_database}-${export_attempt}/\
                        shop/public.orders/";
        assert!(ddl.contains(&format!("'storage.location.template'='{template}'")), "{ddl}");
        assert!(ddl.contains("'projection.export_date.range'='2026-01-01,NOW'"), "{ddl}");
        assert!(ddl.contains("-- PostgreSQL numeric"), "{ddl}");
        let odd = SourceTable { columns: vec![column("x", "money", "int96")], ..table };
        assert!(create_table(&odd, &target).expect_err("no type").contains("int96"));
    }
}
