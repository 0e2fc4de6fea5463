//! Helpers of the benchmarks (`tests/benches/`): their settings, the calls the emulator
//! counted, peak memory of the bench process.

use std::collections::BTreeMap;

use crate::Emulator;

/// A benchmark's whole-number setting from the environment, `default` when unset or unreadable.
pub fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The calls `account` made since the counts were last reset: the total and per
/// `service:Action`.
pub fn calls_in(emulator: &Emulator, account: &str) -> (u64, BTreeMap<String, u64>) {
    let counts = emulator.request_counts().expect("counts");
    let by_action: BTreeMap<String, u64> = counts
        .counts
        .iter()
        .filter(|c| c.account == account)
        .map(|c| (format!("{}:{}", c.service, c.action), c.count))
        .collect();
    (by_action.values().sum(), by_action)
}

/// Peak resident memory of this process since the last reset, in KiB (Linux `VmHWM`).
pub fn peak_rss_kib() -> Option<u64> {
    vm_hwm_kib(&std::fs::read_to_string("/proc/self/status").ok()?)
}

/// `VmHWM` (peak resident set) of a `/proc/<pid>/status` text, in KiB.
fn vm_hwm_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// `VmHWM` of a `/proc/<pid>/status` text, in MiB.
pub fn vm_hwm_mib(status: &str) -> Option<f64> {
    #[allow(clippy::cast_precision_loss)]
    vm_hwm_kib(status).map(|k| k as f64 / 1024.0)
}

/// The Cargo profile the figures come from (the harness runs the binaries of its own profile).
pub use crate::lambda::PROFILE;

/// Writes a scenario's result to `target/bench/<name>.json`, with the profile it was
/// measured in, and prints it.
pub fn write_result(name: &str, mut result: serde_json::Value) {
    if let Some(fields) = result.as_object_mut() {
        fields.insert("profile".to_owned(), serde_json::Value::from(PROFILE));
    }
    println!("{}", serde_json::to_string_pretty(&result).unwrap_or_default());
    let dir = crate::workspace_root().join("target/bench");
    let _ = std::fs::create_dir_all(&dir);
    if let Err(e) = std::fs::write(dir.join(format!("{name}.json")), result.to_string()) {
        eprintln!("bench: cannot write target/bench/{name}.json: {e}");
    }
}

/// Resets the peak so that set-up does not count ("5" to `clear_refs`, Linux 4.0+).
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// The peak in MiB, for the results.
pub fn peak_rss_mib() -> Option<f64> {
    #[allow(clippy::cast_precision_loss)]
    peak_rss_kib().map(|k| k as f64 / 1024.0)
}

/// Seeding runs 16 requests at a time: once `pending` holds `at_least` tasks (0: any), waits
/// for all of them and panics on the first failure, naming `what`.
pub async fn settle<E: std::fmt::Debug>(
    pending: &mut Vec<tokio::task::JoinHandle<Result<(), E>>>,
    at_least: usize,
    what: &str,
) {
    if pending.len() < at_least.max(1) {
        return;
    }
    for task in pending.drain(..) {
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("{what}: {e:?}"),
            Err(e) => panic!("{what}: task failed: {e}"),
        }
    }
}
