//! The vault account: importer, reconciler and retention.
//!
//! The workload account may be compromised, so every message from it is a hint: the
//! importer re-checks every claim through the RDS API before copying the shared snapshot
//! with the vault's own key. The reconciler imports whatever was shared but not announced;
//! retention applies the vault's own policy and never acts on a message.
//!
//! - [`envelope`]: the SQS batch, the SNS envelope, the partial batch response.
//! - [`allow`]: the allow-list of workload accounts, keys and topics.
//! - [`verify`]: the checks, pure, each rejection with its own reason.
//! - [`import`]: the vault's copy, deterministic and idempotent, with provenance tags.
//! - [`outcome`]: what happened to each message or share (typed), and the run's metrics.
//! - [`run`]: a batch (importer) and a reconcile run.
//! - [`dr`]: the optional second-region copy.
//! - [`retention`]: the vault's retention policy (pure) and its settings.
//! - [`register`]: the databases the vault protects, remembered even with no copy left.
//! - [`capacity`]: the steady state the retention policy implies, against RDS's snapshot quota.

pub mod allow;
pub mod capacity;
pub mod dr;
pub mod envelope;
pub mod health;
pub mod import;
pub mod outcome;
pub mod register;
pub mod retention;
pub mod run;
pub mod settings;
pub mod verify;
