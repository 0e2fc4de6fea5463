//! The scanner (workload account, scheduled).
//!
//! Finds the pipeline's finished copies, shares them with the vault account, announces them
//! on SNS, reports failed and stuck copies and expires its own copies.
//!
//! - [`decide`]: what to do with each copy (pure).
//! - [`scan`]: one scan against RDS and SNS, with the claim that keeps overlapping scans
//!   from announcing a copy twice.
//! - [`announce`]: `PublishBatch`, 10 notices a call.
//! - [`settings`]: the environment variables it reads at start.

pub mod announce;
pub mod decide;
pub mod scan;
pub mod settings;
pub mod status;
