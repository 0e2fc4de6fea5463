//! The vault's RDS exports for auditors: Parquet exports of the vault's copies into the
//! auditor's bucket, one per source database and export period, queryable with Athena.
//!
//! - [`plan`]: which copies, which identifiers and prefixes, which order (pure);
//! - [`settings`]: the function's settings, read once at start;
//! - [`run`]: one run: list, decide, start, report;
//! - [`tables_info`]: what an export's own `export_tables_info` files say of its tables;
//! - [`athena`]: the Athena tables over the exports (pure; `offsite athena-ddl --rds`);
//! - [`health`]: each database's exports against an export RPO (the CLI's status and verify).

pub mod athena;
pub mod health;
pub mod plan;
pub mod run;
pub mod settings;
pub mod tables_info;
