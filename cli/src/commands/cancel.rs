//! `offsite cancel-export`: cancels an RDS export for auditors in progress. The export
//! function never cancels (its role cannot); an operator does, with the vault's credentials
//! (`rds:CancelExportTask`, an action without resource type).

use std::collections::BTreeMap;

use aws_sdk_rds::error::{DisplayErrorContext, ProvideErrorMetadata};
use offsite_common::aws::{AwsSettings, load_sdk_config};

use crate::error::CliError;

/// Cancels the export task `identifier`; prints its state as RDS answers it.
pub async fn cancel_export(env: &BTreeMap<String, String>, identifier: &str) -> Result<(), CliError> {
    let settings = AwsSettings::from_env(env)?;
    let sdk_config = load_sdk_config(&settings).await;
    let answer =
        aws_sdk_rds::Client::new(&sdk_config).cancel_export_task().export_task_identifier(identifier).send().await;
    match answer {
        Ok(task) => {
            println!(
                "export task {identifier}: {} (files already written stay in the bucket; the next export of its database starts on schedule)",
                task.status().unwrap_or("?")
            );
            Ok(())
        }
        Err(error) => {
            // CancelExportTask, Errors: ExportTaskNotFound, InvalidExportTaskStateFault.
            let fix = match error.code() {
                Some(code) if code.starts_with("ExportTaskNotFound") => {
                    " (no such task in this account and region: see `offsite status --side vault`)"
                }
                Some(code) if code.starts_with("InvalidExportTaskState") => {
                    " (it has already ended: a complete, failed or cancelled export cannot be cancelled)"
                }
                _ => "",
            };
            Err(CliError::Exports(format!(
                "cannot cancel export task {identifier}: {}{fix}",
                DisplayErrorContext(&error)
            )))
        }
    }
}
