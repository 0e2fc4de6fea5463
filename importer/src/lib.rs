//! The importer, reconciler and retention (vault account).
//!
//! Reads announcements from SQS, re-verifies every claim through the RDS API and copies the
//! shared snapshot with the vault's own key; the reconciler imports whatever was shared but
//! not announced. Its Lambda binaries arrive with the importer issue; this crate is its home
//! in the workspace.
