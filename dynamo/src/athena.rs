//! The Athena table over the layout the export job writes: `offsite athena-ddl` prints it
//! for the auditor to run.
//!
//! One Athena table per DynamoDB table (their items differ), OpenX JSON SerDe over DynamoDB
//! JSON, partition projection over the job's prefix
//! (`account=/region=/table=/kind=/date=`), so new exports are queryable without crawlers
//! or `MSCK REPAIR`. Each partition's location is the `date=` folder: the `data/` folders
//! lie one export id deeper, which projection cannot enumerate, so Athena also reads the
//! manifests beside them; they have none of the data columns, the SerDe's
//! `ignore.malformed.json` skips the checksum files, and queries keep the data lines with
//! `item IS NOT NULL` (full exports) or `keys IS NOT NULL` (incremental exports).
//! Athena skips files whose names start with `_` (the `_started` marker).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use aws_sdk_dynamodb::types::AttributeValue;

/// The DynamoDB JSON shape of one attribute, merged over every value seen: each type
/// descriptor seen (`S`, `N`, `M`, ...) becomes a field of the attribute's struct.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttributeShape {
    scalars: BTreeSet<&'static str>,
    map: Option<BTreeMap<String, AttributeShape>>,
    list: Option<Box<AttributeShape>>,
}

impl AttributeShape {
    /// The shape of a key attribute from its `AttributeType` (`S`, `N` or `B`).
    pub fn key(attribute_type: &str) -> Self {
        let descriptor = match attribute_type {
            "N" => "N",
            "B" => "B",
            _ => "S",
        };
        Self { scalars: BTreeSet::from([descriptor]), ..Self::default() }
    }

    /// Adds what `value` shows.
    pub fn observe(&mut self, value: &AttributeValue) {
        let scalar = match value {
            AttributeValue::S(_) => "S",
            AttributeValue::N(_) => "N",
            AttributeValue::B(_) => "B",
            AttributeValue::Bool(_) => "BOOL",
            AttributeValue::Null(_) => "NULL",
            AttributeValue::Ss(_) => "SS",
            AttributeValue::Ns(_) => "NS",
            AttributeValue::Bs(_) => "BS",
            AttributeValue::M(fields) => {
                let map = self.map.get_or_insert_with(BTreeMap::new);
                for (name, field) in fields {
                    map.entry(name.clone()).or_default().observe(field);
                }
                return;
            }
            AttributeValue::L(elements) => {
                let element = self.list.get_or_insert_with(Box::default);
                for e in elements {
                    element.observe(e);
                }
                return;
            }
            _ => return,
        };
        self.scalars.insert(scalar);
    }

    /// The Hive type, `None` when nothing typeable was seen (an empty map or list only).
    fn hive_type(&self, skipped: &mut Vec<String>, path: &str) -> Option<String> {
        let mut fields = Vec::new();
        for scalar in &self.scalars {
            let hive = match *scalar {
                "BOOL" | "NULL" => "boolean",
                "SS" | "NS" | "BS" => "array<string>",
                // Numbers stay strings: DynamoDB numbers carry up to 38 digits, more than
                // any Athena numeric type; cast them in the query where the values allow.
                _ => "string",
            };
            fields.push(format!("`{scalar}`:{hive}"));
        }
        if let Some(struct_type) = self.map.as_ref().and_then(|map| struct_of(map, skipped, path)) {
            fields.push(format!("`M`:{struct_type}"));
        }
        if let Some(element) = self.list.as_deref().and_then(|e| e.hive_type(skipped, &format!("{path}[]"))) {
            fields.push(format!("`L`:array<{element}>"));
        }
        (!fields.is_empty()).then(|| format!("struct<{}>", fields.join(",")))
    }
}

/// `struct<`name`:type, ...>` over named attributes; names Hive cannot hold are skipped
/// and listed.
fn struct_of(attributes: &BTreeMap<String, AttributeShape>, skipped: &mut Vec<String>, path: &str) -> Option<String> {
    let mut seen_lowercase = BTreeSet::new();
    let mut fields = Vec::new();
    for (name, shape) in attributes {
        let full = if path.is_empty() { name.clone() } else { format!("{path}.{name}") };
        if !usable_name(name) {
            skipped.push(format!("{full} (a name Hive cannot quote)"));
            continue;
        }
        // Hive field names are case-insensitive and the SerDe matches JSON keys that way.
        if !seen_lowercase.insert(name.to_lowercase()) {
            skipped.push(format!("{full} (differs from another attribute only by case)"));
            continue;
        }
        if let Some(hive) = shape.hive_type(skipped, &full) {
            fields.push(format!("`{name}`:{hive}"));
        }
    }
    (!fields.is_empty()).then(|| format!("struct<{}>", fields.join(",")))
}

/// Letters, digits, `_`, `-` and `.`: what a backtick-quoted Hive struct field holds
/// without escapes.
fn usable_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Everything the statement depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AthenaLayout {
    /// The Glue/Athena database.
    pub database: String,
    /// The DynamoDB table name (as in the `table=` folder).
    pub table: String,
    pub bucket: String,
    /// The job's `OFFSITE_EXPORT_PREFIX`.
    pub prefix: String,
    /// The workload accounts whose exports the table covers.
    pub accounts: Vec<String>,
    pub regions: Vec<String>,
    /// The first day of the date projection (`yyyy-mm-dd`).
    pub since: String,
    /// The key attributes, in key-schema order.
    pub keys: Vec<String>,
    /// Every attribute known (keys and sampled items).
    pub attributes: BTreeMap<String, AttributeShape>,
}

impl AthenaLayout {
    /// The Athena table's name: lowercase letters, digits and `_`.
    pub fn athena_table(&self) -> String {
        self.table.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect()
    }

    fn root(&self) -> String {
        let prefix = self.prefix.trim_matches('/');
        if prefix.is_empty() { format!("s3://{}/", self.bucket) } else { format!("s3://{}/{prefix}/", self.bucket) }
    }

    /// The `CREATE EXTERNAL TABLE` statement (HiveQL, as Athena DDL is), with a comment
    /// naming any attribute left out.
    pub fn create_table(&self) -> String {
        let mut skipped = Vec::new();
        let item = struct_of(&self.attributes, &mut skipped, "").unwrap_or_else(|| "struct<>".to_owned());
        let key_shapes: BTreeMap<String, AttributeShape> =
            self.keys.iter().filter_map(|k| Some((k.clone(), self.attributes.get(k)?.clone()))).collect();
        let keys = struct_of(&key_shapes, &mut Vec::new(), "").unwrap_or_else(|| "struct<>".to_owned());
        let root = self.root();
        let mut sql = String::new();
        let _ = writeln!(sql, "-- Exports of DynamoDB table {} written by the Offsite export job.", self.table);
        let _ = writeln!(sql, "-- Full exports: one row per item in `item`. Incremental exports: `keys`, `newimage`,");
        let _ = writeln!(sql, "-- `oldimage`, `metadata` per changed item. Filter on export_kind and export_date.");
        skipped.sort();
        skipped.dedup();
        for name in &skipped {
            let _ = writeln!(sql, "-- Not a column: {name}");
        }
        let _ = writeln!(sql, "CREATE EXTERNAL TABLE IF NOT EXISTS `{}`.`{}` (", self.database, self.athena_table());
        let _ = writeln!(sql, "  `Item` {item},");
        let _ = writeln!(sql, "  `Keys` {keys},");
        let _ = writeln!(sql, "  `NewImage` {item},");
        let _ = writeln!(sql, "  `OldImage` {item},");
        let _ = writeln!(sql, "  `Metadata` struct<`WriteTimestampMicros`:struct<`N`:string>>");
        let _ = writeln!(sql, ")");
        let _ = writeln!(
            sql,
            "PARTITIONED BY (`account` string, `region` string, `export_kind` string, `export_date` string)"
        );
        let _ = writeln!(sql, "ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'");
        let _ = writeln!(sql, "WITH SERDEPROPERTIES ('ignore.malformed.json' = 'true')");
        let _ = writeln!(sql, "STORED AS INPUTFORMAT 'org.apache.hadoop.mapred.TextInputFormat'");
        let _ = writeln!(sql, "OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'");
        let _ = writeln!(sql, "LOCATION '{root}'");
        let _ = writeln!(sql, "TBLPROPERTIES (");
        let properties = [
            ("projection.enabled", "true".to_owned()),
            ("projection.account.type", "enum".to_owned()),
            ("projection.account.values", self.accounts.join(",")),
            ("projection.region.type", "enum".to_owned()),
            ("projection.region.values", self.regions.join(",")),
            ("projection.export_kind.type", "enum".to_owned()),
            ("projection.export_kind.values", "full,incremental".to_owned()),
            ("projection.export_date.type", "date".to_owned()),
            ("projection.export_date.format", "yyyy-MM-dd".to_owned()),
            ("projection.export_date.range", format!("{},NOW", self.since)),
            ("projection.export_date.interval", "1".to_owned()),
            ("projection.export_date.interval.unit", "DAYS".to_owned()),
            (
                "storage.location.template",
                format!(
                    "{root}account=${{account}}/region=${{region}}/table={}/kind=${{export_kind}}/date=${{export_date}}/",
                    self.table
                ),
            ),
        ];
        let last = properties.len() - 1;
        for (i, (key, value)) in properties.iter().enumerate() {
            let _ = writeln!(sql, "  '{key}' = '{value}'{}", if i == last { "" } else { "," });
        }
        sql.push_str(");\n");
        sql
    }

    /// An Athena query for the items of a day's full export, key attributes as columns.
    pub fn full_export_query(&self, date: &str) -> String {
        let columns: Vec<String> = self
            .keys
            .iter()
            .filter_map(|k| {
                let shape = self.attributes.get(k)?;
                let descriptor = shape.scalars.iter().next()?.to_lowercase();
                Some(format!("\"item\".\"{}\".\"{descriptor}\" AS \"{}\"", k.to_lowercase(), k.to_lowercase()))
            })
            .chain(["\"item\"".to_owned()])
            .collect();
        format!(
            "SELECT {} FROM \"{}\".\"{}\" WHERE export_kind = 'full' AND export_date = '{date}' AND \"item\" IS NOT NULL;",
            columns.join(", "),
            self.database,
            self.athena_table()
        )
    }
}

/// Refuses a table name Athena could not tell from another one.
pub fn check_unique_names(layouts: &[AthenaLayout]) -> Result<(), String> {
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    for layout in layouts {
        if let Some(other) = seen.insert(layout.athena_table(), &layout.table) {
            return Err(format!(
                "DynamoDB tables {other} and {} both become Athena table {}: print them one at a time with --database",
                layout.table,
                layout.athena_table()
            ));
        }
    }
    Ok(())
}

/// Everything that goes into the printed statement verbatim must fit where it goes (a
/// backtick-quoted name, a single-quoted location, a comma-separated projection), so that no
/// argument can end a quote and add SQL of its own: the guard beside the writer of those
/// quotes. `offsite athena-ddl` checks its arguments with it before any AWS call; the
/// message names the flag.
pub fn check_statement_inputs(
    database: &str,
    tables: &[String],
    accounts: &[String],
    bucket: &str,
    prefix: &str,
) -> Result<(), String> {
    let refuse = |what: String| Err(what);
    if database.is_empty()
        || database.len() > 255
        || !database.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return refuse(format!(
            "--database {database:?} is not an Athena database name (1 to 255 lowercase letters, digits or _)"
        ));
    }
    for table in tables {
        if !(3..=255).contains(&table.len())
            || !table.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        {
            return refuse(format!(
                "--table {table:?} is not a DynamoDB table name (3 to 255 letters, digits, _, - or .)"
            ));
        }
    }
    for account in accounts {
        if account.parse::<offsite_common::AccountId>().is_err() {
            return refuse(format!("--account {account:?} is not a 12-digit AWS account id"));
        }
    }
    let bucket_ok = (3..=63).contains(&bucket.len())
        && bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && bucket.starts_with(|c: char| c.is_ascii_alphanumeric())
        && bucket.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !bucket_ok {
        return refuse(format!(
            "bucket {bucket:?} (--bucket or OFFSITE_EXPORT_BUCKET) is not an S3 bucket name (3 to 63 lowercase letters, digits, dots or hyphens)"
        ));
    }
    if prefix.len() > 200 || prefix.contains("//") || prefix.chars().any(|c| matches!(c, '\'' | '\\') || c.is_control())
    {
        return refuse(format!(
            "prefix {prefix:?} (--prefix or OFFSITE_EXPORT_PREFIX) is not a key prefix the statement can hold (at most 200 characters, no empty segment, quote, backslash or control character)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    /// `check_statement_inputs` over string slices.
    fn check(database: &str, tables: &[&str], accounts: &[&str], bucket: &str, prefix: &str) -> Result<(), String> {
        let owned = |items: &[&str]| items.iter().map(|i| (*i).to_owned()).collect::<Vec<String>>();
        check_statement_inputs(database, &owned(tables), &owned(accounts), bucket, prefix)
    }

    fn refusal(result: Result<(), String>) -> String {
        result.expect_err("accepted")
    }

    #[test]
    fn the_statement_takes_only_names_that_fit_their_quotes() {
        let tables = ["orders-2024", "ledger.v2"];
        assert!(check("offsite_dynamodb", &tables, &["444444444444"], "auditor-exports", "offsite/dynamodb").is_ok());
        assert!(check("offsite_dynamodb", &tables, &[], "auditor-exports", "").is_ok());
        let refused: [(&str, &str, &str, &str, &str, &str); 10] = [
            ("x`; DROP DATABASE audit; --", "orders", "", "auditor-exports", "offsite", "--database"),
            ("Offsite", "orders", "", "auditor-exports", "offsite", "--database"),
            ("offsite", "orders'", "", "auditor-exports", "offsite", "--table"),
            ("offsite", "orders", "12", "auditor-exports", "offsite", "--account"),
            ("offsite", "orders", "1' OR '1", "auditor-exports", "offsite", "--account"),
            ("offsite", "orders", "", "evil' bucket", "offsite", "--bucket"),
            ("offsite", "orders", "", "Auditor_Exports", "offsite", "--bucket"),
            ("offsite", "orders", "", "auditor-exports", "x'; DROP TABLE t; --", "--prefix"),
            ("offsite", "orders", "", "auditor-exports", "a//b", "--prefix"),
            ("offsite", "orders", "", "auditor-exports", "a\nb", "--prefix"),
        ];
        for (database, table, account, bucket, prefix, flag) in refused {
            let accounts: &[&str] = if account.is_empty() { &[] } else { &[account] };
            let message = refusal(check(database, &[table], accounts, bucket, prefix));
            assert!(message.contains(flag), "{flag}: {message}");
        }
    }

    fn layout(attributes: BTreeMap<String, AttributeShape>) -> AthenaLayout {
        AthenaLayout {
            database: "offsite_dynamodb".into(),
            table: "Orders-2024".into(),
            bucket: "auditor-exports".into(),
            prefix: "/offsite/".into(),
            accounts: vec!["111111111111".into(), "444444444444".into()],
            regions: vec!["eu-west-1".into()],
            since: "2024-01-01".into(),
            keys: vec!["pk".into(), "sk".into()],
            attributes,
        }
    }

    #[test]
    fn shapes_merge_every_type_seen_including_nested_maps_and_lists() {
        let mut shape = AttributeShape::default();
        shape.observe(&AttributeValue::S("a".into()));
        shape.observe(&AttributeValue::N("1".into()));
        let nested = HashMap::from([
            ("city".to_owned(), AttributeValue::S("Paris".into())),
            ("bad:name".to_owned(), AttributeValue::S("x".into())),
        ]);
        shape.observe(&AttributeValue::M(nested));
        shape.observe(&AttributeValue::L(vec![AttributeValue::Bool(true), AttributeValue::Ss(vec!["x".into()])]));
        let mut skipped = Vec::new();
        assert_eq!(
            shape.hive_type(&mut skipped, "address").as_deref(),
            Some(
                "struct<`N`:string,`S`:string,`M`:struct<`city`:struct<`S`:string>>,`L`:array<struct<`BOOL`:boolean,`SS`:array<string>>>>"
            )
        );
        assert_eq!(skipped, ["address.bad:name (a name Hive cannot quote)"]);
        // Only an empty map seen: no type, the attribute is left out.
        let mut empty = AttributeShape::default();
        empty.observe(&AttributeValue::M(HashMap::new()));
        assert_eq!(empty.hive_type(&mut Vec::new(), "e"), None);
    }

    #[test]
    fn the_statement_projects_the_jobs_prefix_and_names_what_it_leaves_out() {
        let attributes = BTreeMap::from([
            ("pk".to_owned(), AttributeShape::key("S")),
            ("sk".to_owned(), AttributeShape::key("N")),
            ("Pk".to_owned(), AttributeShape::key("S")),
        ]);
        let layout = layout(attributes);
        assert_eq!(layout.athena_table(), "orders_2024");
        let sql = layout.create_table();
        assert!(sql.contains("CREATE EXTERNAL TABLE IF NOT EXISTS `offsite_dynamodb`.`orders_2024` ("), "{sql}");
        assert!(sql.contains("`Item` struct<`Pk`:struct<`S`:string>,`sk`:struct<`N`:string>>,"), "{sql}");
        assert!(sql.contains("-- Not a column: pk (differs from another attribute only by case)"), "{sql}");
        assert!(sql.contains("`Keys` struct<`pk`:struct<`S`:string>,`sk`:struct<`N`:string>>,"), "{sql}");
        assert!(sql.contains("LOCATION 's3://auditor-exports/offsite/'"), "{sql}");
        assert!(sql.contains("'projection.account.values' = '111111111111,444444444444'"), "{sql}");
        assert!(
            sql.contains("'storage.location.template' = 's3://auditor-exports/offsite/account=${account}/region=${region}/table=Orders-2024/kind=${export_kind}/date=${export_date}/'"),
            "{sql}"
        );
        assert!(sql.trim_end().ends_with(");"), "{sql}");
        let query = layout.full_export_query("2026-11-22");
        assert!(query.contains("\"item\".\"pk\".\"s\" AS \"pk\", \"item\".\"sk\".\"n\" AS \"sk\""), "{query}");
    }

    #[test]
    fn two_tables_with_one_athena_name_are_refused() {
        let a = layout(BTreeMap::new());
        let b = AthenaLayout { table: "orders.2024".into(), ..a.clone() };
        assert!(check_unique_names(std::slice::from_ref(&a)).is_ok());
        let err = check_unique_names(&[a, b]).expect_err("collision");
        assert!(err.contains("orders_2024"), "{err}");
    }
}

/// Why the table's shape could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{operation} {table}: {message}")]
pub struct ShapeError {
    pub operation: &'static str,
    pub table: String,
    pub message: String,
}

/// The table's key attributes (`DescribeTable`) and the attributes of up to `sample` items
/// (one `Scan` page; 0 reads no item).
pub async fn table_shape(
    ddb: &aws_sdk_dynamodb::Client,
    table: &str,
    sample: i32,
) -> Result<(Vec<String>, BTreeMap<String, AttributeShape>), ShapeError> {
    let error = |operation, e: String| ShapeError { operation, table: table.to_owned(), message: e };
    let described = ddb
        .describe_table()
        .table_name(table)
        .send()
        .await
        .map_err(|e| error("DescribeTable", aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string()))?;
    let description = described.table.unwrap_or_else(|| aws_sdk_dynamodb::types::TableDescription::builder().build());
    let keys: Vec<String> = description.key_schema().iter().map(|k| k.attribute_name().to_owned()).collect();
    let mut attributes: BTreeMap<String, AttributeShape> = description
        .attribute_definitions()
        .iter()
        .filter(|d| keys.iter().any(|k| k == d.attribute_name()))
        .map(|d| (d.attribute_name().to_owned(), AttributeShape::key(d.attribute_type().as_str())))
        .collect();
    if sample > 0 {
        let scanned = ddb
            .scan()
            .table_name(table)
            .limit(sample)
            .send()
            .await
            .map_err(|e| error("Scan", aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string()))?;
        for item in scanned.items() {
            for (name, value) in item {
                attributes.entry(name.clone()).or_default().observe(value);
            }
        }
    }
    Ok((keys, attributes))
}
