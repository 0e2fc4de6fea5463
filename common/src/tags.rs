//! The tags that hold the pipeline's state (design: state lives in the resources).
//!
//! Tag keys use the `offsite:` namespace; RDS forbids only the `aws:` and `rds:` prefixes.

/// Marks a snapshot as one of the pipeline's own copies; its value names the stage of the
/// pipeline that made it. Never selected as a source, the only snapshots ever deleted.
pub const MARKER: &str = "offsite:managed-by";
/// The value of [`MARKER`] on the exporter's copies in the workload account.
pub const MARKER_EXPORT: &str = "offsite-export";
/// The ARN of the snapshot a copy was made from (the lineage AWS does not always record).
pub const SOURCE_ARN: &str = "offsite:source-arn";
/// When the source snapshot was taken (RFC 3339), so retention and freshness work on the
/// age of the data, not of the copy.
pub const SOURCE_CREATED: &str = "offsite:source-created";
/// Where the copy is in the pipeline: `exported`, then `announced` (set by the scanner).
pub const STAGE: &str = "offsite:stage";
/// Stage value written by the exporter.
pub const STAGE_EXPORTED: &str = "exported";
/// How many times this source's export has been attempted (the scanner counts failures).
pub const ATTEMPT: &str = "offsite:attempt";
