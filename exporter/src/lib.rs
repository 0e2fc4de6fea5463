//! The exporter (workload account).
//!
//! Picks the RDS and Aurora snapshots that carry the selection tag (AWS Backup, automated or
//! manual), copies each with the dedicated export KMS key to a deterministic identifier and
//! tags the copy with the pipeline's marker and the source's ARN. Its Lambda binary and
//! selection logic arrive with the exporter issue; this crate is its home in the workspace.
