//! The settings the workload's functions must agree on. The exporter copies what the sweep
//! window covers and the scanner expires copies after the export retention: each reads both
//! and refuses to start when a copy could expire while its source is still inside the window
//! (it would be copied again). Both use the export key: the exporter copies with it, the
//! scanner shares only copies under it.

use std::ops::RangeInclusive;
use std::time::Duration;

use super::{Env, KmsKeyArn};
use crate::error::ConfigError;

pub const EXPORT_KEY_VAR: &str = "OFFSITE_EXPORT_KEY_ARN";
pub const SWEEP_WINDOW_VAR: &str = "OFFSITE_SWEEP_WINDOW";
pub const EXPORT_RETENTION_VAR: &str = "OFFSITE_EXPORT_RETENTION";

/// How far back the scheduled sweep looks: two days catches a missed event over a weekend
/// of daily backups without re-reading the whole history.
pub const DEFAULT_SWEEP_WINDOW: Duration = Duration::from_secs(48 * 3600);
/// The sweep windows accepted: at least an hour, at most RDS's longest automated backup
/// retention (35 days).
pub const SWEEP_WINDOW_RANGE: RangeInclusive<Duration> = Duration::from_secs(3600)..=Duration::from_secs(35 * 86_400);
/// A week of shared copies in the workload account: long enough for the vault to pull them
/// even after a lost notice and a few missed reconciles.
pub const DEFAULT_EXPORT_RETENTION: Duration = Duration::from_secs(7 * 86_400);

/// `OFFSITE_EXPORT_KEY_ARN` (required).
pub fn export_key(env: &impl Env) -> Result<KmsKeyArn, ConfigError> {
    super::required(env, EXPORT_KEY_VAR)
}

/// `OFFSITE_SWEEP_WINDOW`, within [`SWEEP_WINDOW_RANGE`].
pub fn sweep_window(env: &impl Env) -> Result<Duration, ConfigError> {
    super::duration_in(env, SWEEP_WINDOW_VAR, DEFAULT_SWEEP_WINDOW, SWEEP_WINDOW_RANGE)
}

/// `OFFSITE_EXPORT_RETENTION`.
pub fn export_retention(env: &impl Env) -> Result<Duration, ConfigError> {
    super::or_default(env, EXPORT_RETENTION_VAR, DEFAULT_EXPORT_RETENTION)
}
