//! Structured JSON logs through `tracing`, one line per event, for CloudWatch Logs Insights.

/// Variable with the log filter (`tracing_subscriber::EnvFilter` syntax), default `info`.
pub const LOG_VAR: &str = "OFFSITE_LOG";

/// Installs the JSON subscriber once; later calls do nothing (tests may call it repeatedly).
pub fn init_json() {
    let filter = tracing_subscriber::EnvFilter::try_from_env(LOG_VAR)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_target(false)
        .without_time()
        .try_init();
}
