//! The exporter (workload account).
//!
//! Picks the RDS and Aurora snapshots that carry the selection tag (AWS Backup, automated or
//! manual), copies each with the dedicated export KMS key to a deterministic identifier and
//! tags the copy with the pipeline's marker and the source's ARN.
//!
//! - [`trigger`]: which events mean "look at this snapshot" or "sweep" (pure).
//! - [`selection`] and [`plan`]: what to copy, decided without I/O.
//! - [`export`]: one run against RDS through `offsite_common::rds`.
//! - [`settings`]: the environment variables it reads at start.

pub mod export;
pub mod plan;
pub mod selection;
pub mod settings;
pub mod trigger;
