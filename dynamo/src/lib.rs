//! The DynamoDB export job (workload account, scheduled).
//!
//! Exports the selected tables with `ExportTableToPointInTime` straight into the auditor's
//! bucket (another account, outside the Organization), under a partition-friendly prefix,
//! as of the start of the schedule slot, with a `ClientToken` derived from table and slot so
//! a retried run never starts a second export. Its own crate: another service, another
//! destination account and another IAM role than the RDS functions; nothing but `common` is
//! shared with them.
//!
//! - [`plan`]: slots, prefixes, tokens, export times (pure).
//! - [`run`]: one run against DynamoDB, and the tracking of recent exports.
//! - [`settings`]: the environment variables it reads at start.

pub mod athena;
pub mod plan;
pub mod run;
pub mod settings;
