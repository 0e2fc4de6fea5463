//! The tags that hold the pipeline's state (design: state lives in the resources).
//!
//! Tag keys use the `offsite:` namespace; RDS forbids only the `aws:` and `rds:` prefixes.
//! Values are at most 256 characters ("Tagging Amazon RDS resources").

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
/// Which attempt at exporting its source this copy is (1, 2, ...); retries of a failed or
/// stuck copy get the next number and their own identifier.
pub const ATTEMPT: &str = "offsite:attempt";

/// When the exporter started the copy (RFC 3339): RDS reports no creation time while a
/// copy is in progress, and the scanner must still tell a stuck copy.
pub const COPY_STARTED_AT: &str = "offsite:copy-started-at";

/// Where the copy is in the pipeline.
pub const STAGE: &str = "offsite:stage";
/// Copy started by the exporter.
pub const STAGE_EXPORTED: &str = "exported";
/// A scanner claimed the copy to share and announce it (see [`CLAIM`]).
pub const STAGE_ANNOUNCING: &str = "announcing";
/// Shared with the vault and announced; retention counts from [`ANNOUNCED_AT`].
pub const STAGE_ANNOUNCED: &str = "announced";
/// Given up by the scanner (stuck too long); the exporter retries its source.
pub const STAGE_FAILED: &str = "failed";

/// The scan that claimed the copy, so that two overlapping scans announce it once.
pub const CLAIM: &str = "offsite:claim";
/// When the claim was made (RFC 3339); an old claim belongs to a scan that died.
pub const CLAIMED_AT: &str = "offsite:claimed-at";
/// When the copy was announced (RFC 3339).
pub const ANNOUNCED_AT: &str = "offsite:announced-at";
/// Why the scanner gave up on a copy.
pub const FAILURE: &str = "offsite:failure";

/// The value of [`MARKER`] on the importer's copies in the vault account: the only
/// snapshots the vault's retention ever deletes.
pub const MARKER_IMPORT: &str = "offsite-import";
/// The account the imported snapshot was shared from (verified through RDS).
pub const SOURCE_ACCOUNT: &str = "offsite:source-account";
/// The workload account's shared copy that was imported (verified through RDS).
pub const COPY_ARN: &str = "offsite:copy-arn";
/// The DB instance or cluster the data comes from (verified: from the shared snapshot).
pub const SOURCE_DATABASE: &str = "offsite:source-database";
/// The notice that announced it (absent when the reconciler found it).
pub const NOTICE_ID: &str = "offsite:notice-id";
/// When the vault started its copy (RFC 3339).
pub const IMPORTED_AT: &str = "offsite:imported-at";
/// `importer` or `reconciler`.
pub const IMPORTED_BY: &str = "offsite:imported-by";

/// The value of [`MARKER`] on the vault's second-region copies.
pub const MARKER_IMPORT_DR: &str = "offsite-import-dr";
/// On a second-region copy: the vault copy (ARN) it was made from.
pub const DR_OF: &str = "offsite:dr-of";

// The vault's restore tests (`offsite-restore-test`): on the DB instances and clusters it
// restores (all set at creation, the stage and result updated as the test moves on) ...

/// The prefix of every restore test tag, on restores and on the copies tested.
pub const RESTORE_PREFIX: &str = "offsite:restore-";
/// The value of [`MARKER`] on the restore tester's DB instances and clusters.
pub const MARKER_RESTORE_TEST: &str = "offsite-restore-test";
/// The vault copy (ARN) a restore was made from.
pub const RESTORE_OF: &str = "offsite:restore-of";
/// The source database (`account/database`) whose copy is tested.
pub const RESTORE_DATABASE: &str = "offsite:restore-database";
/// The test period's first day (`yyyy-mm-dd`).
pub const RESTORE_PERIOD: &str = "offsite:restore-period";
/// When the restore was started (RFC 3339).
pub const RESTORE_STARTED_AT: &str = "offsite:restore-started-at";
/// `restoring`, then `checked` once the result is recorded (then the resource is deleted).
pub const RESTORE_STAGE: &str = "offsite:restore-stage";
pub const RESTORE_STAGE_RESTORING: &str = "restoring";
pub const RESTORE_STAGE_CHECKED: &str = "checked";
/// `passed` or `failed`, once checked.
pub const RESTORE_RESULT: &str = "offsite:restore-result";

// ... and the evidence on the vault copy tested (keys `offsite:restore-test*` only: the
// tester's role may write no others there).

/// `passed` or `failed`: the newest test of this copy.
pub const RESTORE_TEST: &str = "offsite:restore-test";
/// When that test concluded (RFC 3339).
pub const RESTORE_TESTED_AT: &str = "offsite:restore-tested-at";
/// The test period it counts for (`yyyy-mm-dd`).
pub const RESTORE_TEST_PERIOD: &str = "offsite:restore-test-period";
/// From the restore's start to its result, in seconds.
pub const RESTORE_TEST_SECONDS: &str = "offsite:restore-test-seconds";
/// The figures (or the reason of a failure), at most 256 characters.
pub const RESTORE_TEST_FIGURES: &str = "offsite:restore-test-figures";
/// Carried forward onto a database's newest copy, so the evidence outlives the copy tested
/// (retention deletes it in time): when the database's newest passed test concluded (RFC 3339)…
pub const RESTORE_TEST_LAST_PASSED: &str = "offsite:restore-test-last-passed";
/// … and the newest period it was tested in (`yyyy-mm-dd`), whatever the result.
pub const RESTORE_TEST_LAST_PERIOD: &str = "offsite:restore-test-last-period";
