//! What every Offsite function shares.
//!
//! - [`config`]: typed settings read once from environment variables, with errors that name
//!   the variable, the value and the expected form.
//! - [`aws`]: the SDK configuration, built from an explicit endpoint setting and with the
//!   SDK's retries configured, so that no stray variable silently redirects a function.
//! - [`account`]: AWS account identifiers, validated where they enter.
//! - [`snapshot`], [`identifier`], [`lineage`], [`tags`], [`notice`]: the contracts both
//!   sides of an account pair keep (the snapshot model, copy names and their lineage, the
//!   state tags, the notice on the wire), as plain functions over plain data;
//!   [`source_tags`]: the source's tags the pipeline carries to the vault.
//! - [`rds`], [`rds_error`], [`presign`]: the thin RDS adapter both sides call (one method
//!   per API call, both snapshot kinds, errors folded to one kind), and `copy_once`.
//! - [`quota`]: RDS's manual snapshot quotas, read once per run and emitted as metrics.
//! - [`metrics`], [`logging`], [`table`]: EMF metrics, JSON logs, the CLI's tables.
//!
//! AWS calls of other services (SNS, SQS, SSM, DynamoDB) live in thin adapters in the
//! function crate that alone uses them.

pub mod account;
pub mod aws;
pub mod calendar;
pub mod config;
mod error;
#[cfg(any(test, feature = "test-support"))]
pub mod fixtures;
pub mod identifier;
pub mod lineage;
pub mod logging;
pub mod metrics;
pub mod notice;
pub mod presign;
pub mod quota;
pub mod rds;
pub mod rds_error;
pub mod snapshot;
pub mod source_tags;
pub mod table;
pub mod tags;

pub use account::AccountId;
pub use error::ConfigError;
