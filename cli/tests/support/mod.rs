//! What the CLI's integration tests share.

use std::process::{Command, Output};

/// Runs `offsite <args>` with exactly `env` (nothing of the test's own environment: the
/// operator's shell is not the emulator's).
pub fn offsite(env: &[(String, String)], args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_offsite"))
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .args(args)
        .output()
        .expect("offsite runs")
}
