//! The CLI's errors, each printed as one line on standard error.

use offsite_importer::settings::REGISTER_PATH_VAR;

/// The CLI's errors; each is printed as one line on standard error.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Config(#[from] offsite_common::ConfigError),
    #[error("cannot reach STS to identify the caller: {0}")]
    Identity(String),
    #[error("--selection-tag {0:?} is not KEY=VALUE")]
    SelectionTag(String),
    #[error(transparent)]
    Export(#[from] offsite_exporter::export::ExportError),
    #[error("cannot list the pipeline's copies: {0}")]
    Listing(#[from] offsite_common::rds::RdsError),
    #[error(transparent)]
    TableShape(#[from] offsite_dynamo::athena::ShapeError),
    #[error("{0}")]
    Athena(String),
    #[error(
        "cannot read the RDS exports for auditors: {0}; `offsite status --side vault` needs rds:DescribeExportTasks"
    )]
    Exports(String),
    #[error("cannot read the restore tests: {0}")]
    RestoreTests(String),
    #[error("{0}; `offsite verify` needs ssm:GetParametersByPath on it (or set {REGISTER_PATH_VAR})")]
    Register(#[from] offsite_importer::register::RegisterError),
}

/// A configuration error about a variable that a flag set names the flag too.
pub fn named_by_flag(mut error: offsite_common::ConfigError, flags: &[(&str, &str)]) -> offsite_common::ConfigError {
    if let Some((variable, flag)) = flags.iter().find(|(variable, _)| *variable == error.variable) {
        error.variable = format!("{flag} ({variable})");
    }
    error
}

#[cfg(test)]
mod tests {
    use offsite_common::config::workload::{EXPORT_KEY_VAR, SWEEP_WINDOW_VAR};

    use super::*;

    #[test]
    fn an_error_about_a_variable_a_flag_set_names_the_flag() {
        let error = offsite_common::config::invalid(SWEEP_WINDOW_VAR, "100d", "out of range", "1h to 35d");
        let named = named_by_flag(error.clone(), &[(SWEEP_WINDOW_VAR, "--window")]);
        assert!(named.to_string().starts_with("configuration: --window (OFFSITE_SWEEP_WINDOW)=\"100d\""), "{named}");
        assert_eq!(named_by_flag(error.clone(), &[(EXPORT_KEY_VAR, "--export-key-arn")]), error);
    }
}
