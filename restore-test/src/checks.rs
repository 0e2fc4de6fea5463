//! The data checks of a restore test, decided without I/O: what to ask a restored database
//! (row counts of named tables, the newest value of a timestamp column), in which SQL, and
//! whether the answers meet the operator's expectations.
//!
//! The checks come from `OFFSITE_RESTORE_TEST_CHECKS`, a JSON list, one entry per source
//! database (`<account>/<database>`, a database name of any account, or `*`):
//!
//! ```json
//! [{"source": "111111111111/orders", "database": "shop",
//!   "row_counts": [{"table": "public.orders", "min": 1000}],
//!   "freshness": [{"table": "public.orders", "column": "created_at", "within": "1d"}]}]
//! ```
//!
//! A freshness check compares the column's newest value with the time the source snapshot was
//! taken (not the time of the test): a copy restored months later is still judged on what it
//! held. Identifiers are quoted for the engine, never pasted: a table name is data, not SQL.

use std::fmt;
use std::time::Duration;

use offsite_common::config::Setting;
use offsite_common::lineage::DatabaseKey;
use serde::{Deserialize, Serialize};

use crate::plan::{Finding, duration_text};

/// At most this many entries, and this many queries per entry: a test runs in one invocation.
pub const MAX_ENTRIES: usize = 50;
pub const MAX_QUERIES: usize = 20;

/// The SQL dialect of an engine, when the tester has a client for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Dialect {
    /// RDS for PostgreSQL, Aurora PostgreSQL.
    Postgres,
    /// RDS for MySQL, RDS for MariaDB, Aurora MySQL.
    Mysql,
}

impl Dialect {
    /// The dialect of an RDS engine name (API_DBInstance, Engine).
    pub fn of(engine: &str) -> Option<Self> {
        match engine {
            "postgres" | "aurora-postgresql" => Some(Self::Postgres),
            "mysql" | "mariadb" | "aurora-mysql" | "aurora" => Some(Self::Mysql),
            _ => None,
        }
    }

    /// The database connected to when the entry names none: PostgreSQL needs one (`postgres`
    /// exists on every RDS for PostgreSQL instance); MySQL connects to none.
    pub fn default_database(self) -> Option<&'static str> {
        match self {
            Self::Postgres => Some("postgres"),
            Self::Mysql => None,
        }
    }

    /// `name` as a quoted identifier: PostgreSQL doubles `"`, MySQL doubles `` ` ``.
    fn quote(self, name: &str) -> String {
        match self {
            Self::Postgres => format!("\"{}\"", name.replace('"', "\"\"")),
            Self::Mysql => format!("`{}`", name.replace('`', "``")),
        }
    }
}

/// A table, optionally qualified: `schema.table` (PostgreSQL) or `database.table` (MySQL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableName {
    pub qualifier: Option<String>,
    pub name: String,
}

impl TableName {
    fn parse(raw: &str) -> Result<Self, String> {
        let (qualifier, name) = match raw.split_once('.') {
            Some((q, n)) => (Some(q), n),
            None => (None, raw),
        };
        for part in qualifier.iter().chain([&name]) {
            identifier(part)?;
        }
        Ok(Self { qualifier: qualifier.map(str::to_owned), name: name.to_owned() })
    }

    fn sql(&self, dialect: Dialect) -> String {
        match &self.qualifier {
            Some(q) => format!("{}.{}", dialect.quote(q), dialect.quote(&self.name)),
            None => dialect.quote(&self.name),
        }
    }
}

impl fmt::Display for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.qualifier {
            Some(q) => write!(f, "{q}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// An identifier both engines accept: 1 to 63 characters (PostgreSQL's limit, under MySQL's
/// 64), no NUL, no dot (the qualifier's separator), no surrounding spaces.
fn identifier(raw: &str) -> Result<(), String> {
    if raw.is_empty() || raw.chars().count() > 63 {
        return Err(format!("{raw:?}: an identifier has 1 to 63 characters"));
    }
    if raw.contains('\0') || raw.contains('.') || raw.trim() != raw {
        return Err(format!("{raw:?}: no NUL, dot or surrounding space in an identifier"));
    }
    Ok(())
}

/// The number of rows of a table, within bounds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowCount {
    pub table: TableName,
    pub min: u64,
    pub max: Option<u64>,
}

/// The newest value of a timestamp (or date) column, no older than `within_secs` before the
/// source snapshot was taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Freshness {
    pub table: TableName,
    pub column: String,
    pub within_secs: i64,
}

/// The data checks of the databases an entry names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataChecks {
    pub source: Source,
    /// The database to connect to (PostgreSQL: `postgres` unless named).
    pub database: Option<String>,
    pub row_counts: Vec<RowCount>,
    pub freshness: Vec<Freshness>,
}

/// Which source databases an entry applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `<account>/<database>`.
    Exact(String),
    /// A database name in any source account.
    Name(String),
    /// Every database without an entry of its own.
    Any,
}

impl DataChecks {
    /// The queries, in order: the row counts, then the freshness checks.
    pub fn queries(&self) -> Vec<Query> {
        let counts = self.row_counts.iter().map(|c| Query::RowCount { table: c.table.clone() });
        let newest = self.freshness.iter().map(|f| Query::Newest { table: f.table.clone(), column: f.column.clone() });
        counts.chain(newest).collect()
    }

    /// The findings of the answers (one per query, in [`Self::queries`]'s order), against the
    /// time the source snapshot was taken.
    pub fn evaluate(&self, answers: &[Answer], taken_secs: Option<i64>) -> Vec<Finding> {
        let mut out = Vec::new();
        let mut answers = answers.iter();
        for count in &self.row_counts {
            let check = format!("rows {}", count.table);
            let expected = match count.max {
                Some(max) => format!("{} to {max}", count.min),
                None => format!("at least {}", count.min),
            };
            out.push(match answers.next() {
                Some(Answer::Count(n)) => {
                    let within = u64::try_from(*n).is_ok_and(|n| n >= count.min && count.max.is_none_or(|m| n <= m));
                    Finding::measured(&check, within, format!("{n} rows (expected {expected})"), Some((*n).into()))
                }
                other => unanswered(&check, other),
            });
        }
        for fresh in &self.freshness {
            let check = format!("newest {}.{}", fresh.table, fresh.column);
            let limit = duration_text(fresh.within_secs);
            out.push(match (answers.next(), taken_secs) {
                (Some(Answer::Newest(None)), _) => {
                    Finding::new(&check, false, format!("no value: the table is empty (limit {limit})"))
                }
                (Some(Answer::Newest(Some(newest))), Some(taken)) => {
                    let newest_secs = newest.floor() as i64;
                    let behind = taken - newest_secs;
                    let at = aws_smithy_types::DateTime::from_secs(newest_secs)
                        .fmt(aws_smithy_types::date_time::Format::DateTime)
                        .unwrap_or_else(|_| newest_secs.to_string());
                    let detail = if behind > 0 {
                        format!("{at}, {} before the snapshot (limit {limit})", duration_text(behind))
                    } else {
                        format!("{at}, not before the snapshot (limit {limit})")
                    };
                    Finding::measured(
                        &check,
                        behind <= fresh.within_secs,
                        detail,
                        serde_json::Number::from_f64(*newest),
                    )
                }
                (Some(Answer::Newest(Some(_))), None) => {
                    Finding::new(&check, false, "the copy does not say when its source was taken".to_owned())
                }
                (other, _) => unanswered(&check, other),
            });
        }
        out
    }
}

fn unanswered(check: &str, answer: Option<&Answer>) -> Finding {
    let detail = match answer {
        Some(Answer::Failed(error)) => error.clone(),
        Some(other) => format!("unexpected answer {other:?}"),
        None => "not asked".to_owned(),
    };
    Finding::new(check, false, detail)
}

/// One question to a restored database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    RowCount { table: TableName },
    Newest { table: TableName, column: String },
}

impl Query {
    /// The statement, read-only, identifiers quoted for `dialect`. The newest value comes back
    /// as seconds since the epoch (a `timestamp without time zone` / `DATETIME` read as UTC:
    /// the PostgreSQL session runs in UTC, the MySQL one sets `time_zone` to `+00:00`).
    pub fn sql(&self, dialect: Dialect) -> String {
        match (self, dialect) {
            (Self::RowCount { table }, _) => format!("SELECT COUNT(*) FROM {}", table.sql(dialect)),
            (Self::Newest { table, column }, Dialect::Postgres) => {
                format!("SELECT EXTRACT(EPOCH FROM MAX({}))::float8 FROM {}", dialect.quote(column), table.sql(dialect))
            }
            (Self::Newest { table, column }, Dialect::Mysql) => format!(
                "SELECT CAST(UNIX_TIMESTAMP(MAX({})) AS DOUBLE) FROM {}",
                dialect.quote(column),
                table.sql(dialect)
            ),
        }
    }
}

/// What a database answered to one [`Query`].
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Count(i64),
    /// Seconds since the epoch of the newest value; `None` for an empty table.
    Newest(Option<f64>),
    /// The statement failed (a missing table, a column of another type): the error as the
    /// database gave it.
    Failed(String),
}

/// The entry for `database`: its own (`account/name`), else one for its name, else `*`.
pub fn checks_for<'a>(all: &'a [DataChecks], database: &DatabaseKey) -> Option<&'a DataChecks> {
    let exact = database.to_string();
    let name = exact.split_once('/').map_or(exact.as_str(), |(_, n)| n);
    all.iter()
        .find(|c| c.source == Source::Exact(exact.clone()))
        .or_else(|| all.iter().find(|c| c.source == Source::Name(name.to_owned())))
        .or_else(|| all.iter().find(|c| c.source == Source::Any))
}

// --- the setting -----------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    source: String,
    #[serde(default)]
    database: Option<String>,
    #[serde(default)]
    row_counts: Vec<RawRowCount>,
    #[serde(default)]
    freshness: Vec<RawFreshness>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRowCount {
    table: String,
    #[serde(default = "one")]
    min: u64,
    #[serde(default)]
    max: Option<u64>,
}

fn one() -> u64 {
    1
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFreshness {
    table: String,
    column: String,
    within: String,
}

/// The parsed `OFFSITE_RESTORE_TEST_CHECKS`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CheckList(pub Vec<DataChecks>);

impl Setting for CheckList {
    fn expected() -> String {
        r#"a JSON list such as [{"source": "111111111111/orders", "database": "shop", "row_counts": [{"table": "public.orders", "min": 1000}], "freshness": [{"table": "public.orders", "column": "created_at", "within": "1d"}]}]"#
            .to_owned()
    }

    fn parse_setting(raw: &str) -> Result<Self, String> {
        let entries: Vec<RawEntry> = serde_json::from_str(raw).map_err(|e| format!("not that JSON: {e}"))?;
        if entries.len() > MAX_ENTRIES {
            return Err(format!("{} entries (at most {MAX_ENTRIES})", entries.len()));
        }
        let mut out: Vec<DataChecks> = Vec::new();
        for (i, entry) in entries.into_iter().enumerate() {
            let at = |field: &str| format!("[{i}].{field}");
            let source = source(&entry.source).map_err(|e| format!("{}: {e}", at("source")))?;
            if out.iter().any(|c| c.source == source) {
                return Err(format!("{}: {:?} has an entry already", at("source"), entry.source));
            }
            if let Some(database) = &entry.database {
                identifier(database).map_err(|e| format!("{}: {e}", at("database")))?;
            }
            let queries = entry.row_counts.len() + entry.freshness.len();
            if queries == 0 || queries > MAX_QUERIES {
                return Err(format!("[{i}]: {queries} checks (1 to {MAX_QUERIES} row_counts and freshness)"));
            }
            let mut row_counts = Vec::new();
            for (j, count) in entry.row_counts.into_iter().enumerate() {
                let table = TableName::parse(&count.table)
                    .map_err(|e| format!("{}: {e}", at(&format!("row_counts[{j}].table"))))?;
                if count.max.is_some_and(|max| max < count.min) {
                    return Err(format!("{}: max below min", at(&format!("row_counts[{j}]"))));
                }
                row_counts.push(RowCount { table, min: count.min, max: count.max });
            }
            let mut freshness = Vec::new();
            for (j, fresh) in entry.freshness.into_iter().enumerate() {
                let field = |name: &str| at(&format!("freshness[{j}].{name}"));
                let table = TableName::parse(&fresh.table).map_err(|e| format!("{}: {e}", field("table")))?;
                identifier(&fresh.column).map_err(|e| format!("{}: {e}", field("column")))?;
                let within = Duration::parse_setting(&fresh.within).map_err(|e| {
                    format!("{}: {:?}: {e} (a duration such as 12h or 2d)", field("within"), fresh.within)
                })?;
                let within_secs = i64::try_from(within.as_secs()).unwrap_or(i64::MAX);
                freshness.push(Freshness { table, column: fresh.column, within_secs });
            }
            out.push(DataChecks { source, database: entry.database, row_counts, freshness });
        }
        Ok(Self(out))
    }
}

fn source(raw: &str) -> Result<Source, String> {
    if raw == "*" {
        return Ok(Source::Any);
    }
    let name_ok =
        |name: &str| (1..=63).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    match raw.split_once('/') {
        Some((account, name))
            if account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) && name_ok(name) =>
        {
            Ok(Source::Exact(format!("{account}/{}", name.to_ascii_lowercase())))
        }
        None if name_ok(raw) => Ok(Source::Name(raw.to_ascii_lowercase())),
        _ => Err(format!("{raw:?} is neither <12-digit account>/<DB identifier>, a DB identifier, nor *")),
    }
}

#[cfg(test)]
mod tests;
