//! Helpers of the benchmarks (`tests/benches/`): peak memory of the bench process.

/// Peak resident memory of this process since the last reset, in KiB (Linux `VmHWM`).
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
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
