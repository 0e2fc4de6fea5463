//! `offsite plan`: the exporter's sweep as a dry run.

use std::collections::BTreeMap;
use std::time::SystemTime;

use aws_smithy_types::DateTime;
use offsite_common::aws::load_sdk_config;
use offsite_common::config::workload::{EXPORT_KEY_VAR, SWEEP_WINDOW_VAR};
use offsite_common::quota::SnapshotQuotas;
use offsite_common::rds::RdsSnapshots;
use offsite_common::snapshot::{SnapshotArn, SnapshotKind};
use offsite_common::table;
use offsite_exporter::export::{Exporter, Outcome, Report};
use offsite_exporter::settings::{ExporterSettings, SELECTION_TAG_KEY_VAR, SELECTION_TAG_VALUE_VAR};

use crate::error::{CliError, named_by_flag};

/// `offsite plan`: the sweep as a dry run.
pub async fn plan(
    env: &BTreeMap<String, String>,
    export_key_arn: Option<String>,
    selection_tag: Option<String>,
    window: Option<String>,
    json: bool,
) -> Result<(), CliError> {
    let mut env = env.clone();
    // The variables a flag replaced, so that an error names the flag the operator typed.
    let mut flags: Vec<(&str, &str)> = Vec::new();
    if let Some(arn) = export_key_arn {
        env.insert(EXPORT_KEY_VAR.to_owned(), arn);
        flags.push((EXPORT_KEY_VAR, "--export-key-arn"));
    }
    if let Some(tag) = selection_tag {
        let (key, value) = selection_tag_parts(&tag)?;
        env.insert(SELECTION_TAG_KEY_VAR.to_owned(), key.to_owned());
        env.insert(SELECTION_TAG_VALUE_VAR.to_owned(), value.to_owned());
        flags.extend([(SELECTION_TAG_KEY_VAR, "--selection-tag"), (SELECTION_TAG_VALUE_VAR, "--selection-tag")]);
    }
    if let Some(window) = window {
        env.insert(SWEEP_WINDOW_VAR.to_owned(), window);
        flags.push((SWEEP_WINDOW_VAR, "--window"));
    }
    let settings = ExporterSettings::from_env(&env).map_err(|error| named_by_flag(error, &flags))?;
    let sdk_config = load_sdk_config(&settings.aws).await;
    let rds = RdsSnapshots::new(aws_sdk_rds::Client::new(&sdk_config));
    let exporter = Exporter::new(rds.clone(), settings);
    let mut report = exporter.sweep(DateTime::from(SystemTime::now()), true).await?;
    // The quotas the copies would count against (README, "Capacity"); unreadable, the plan
    // stands without them.
    let quotas = rds.snapshot_quotas().await;
    report.snapshot_quotas = quotas.as_ref().ok().copied();
    if json {
        println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
    } else {
        print!("{}", plan_table(&report));
        match &quotas {
            Ok(quotas) => {
                println!("{}", quotas.summary(&rds.region()));
                for warning in quota_warnings(&report, quotas) {
                    println!("{warning}");
                }
            }
            Err(error) => println!("manual snapshots in {}: quotas unreadable ({error})", rds.region()),
        }
    }
    Ok(())
}

/// A warning per kind whose copies in `report` would not fit in what its quota has left.
fn quota_warnings(report: &Report, quotas: &SnapshotQuotas) -> Vec<String> {
    [(SnapshotKind::Instance, "DB"), (SnapshotKind::Cluster, "DB cluster")]
        .into_iter()
        .filter_map(|(kind, name)| {
            let copies = report.items.iter().filter(|i| i.kind == kind && i.outcome == Outcome::Copied).count();
            let quota = quotas.of(kind)?;
            let copies = i64::try_from(copies).unwrap_or(i64::MAX);
            (copies > quota.free()).then(|| {
                format!(
                    "warning: the sweep would start {copies} {name} snapshot copies and the quota has room for {} \
                     ({}/{} used): the rest fails with SnapshotQuotaExceeded until retention or a quota increase \
                     makes room (README, \"Capacity\")",
                    quota.free(),
                    quota.used,
                    quota.max
                )
            })
        })
        .collect()
}

/// `KEY=VALUE`, both parts non-empty: an empty part would count as unset and silently select
/// by the default tag instead.
fn selection_tag_parts(tag: &str) -> Result<(&str, &str), CliError> {
    tag.split_once('=')
        .filter(|(key, value)| !key.is_empty() && !value.is_empty())
        .ok_or_else(|| CliError::SelectionTag(tag.to_owned()))
}

/// The report as an aligned table, one snapshot a line, copies first.
fn plan_table(report: &Report) -> String {
    let label = |outcome: &Outcome| match outcome {
        Outcome::Copied => "copy",
        Outcome::AlreadyExported => "exported",
        Outcome::Skipped => "skip",
        Outcome::Deferred => "later",
        Outcome::Failed => "problem",
    };
    let mut rows: Vec<[String; 4]> = report
        .items
        .iter()
        .map(|item| {
            let name =
                item.source_arn.parse::<SnapshotArn>().map(|a| a.name).unwrap_or_else(|_| item.source_arn.clone());
            let detail = match (&item.outcome, &item.copy_identifier) {
                (Outcome::Copied, Some(copy)) => format!("as {copy}"),
                _ => item.reason.clone(),
            };
            [label(&item.outcome).to_owned(), item.kind.to_string(), name, detail]
        })
        .collect();
    rows.sort_by_key(|row| {
        (["copy", "problem", "later", "exported", "skip"].iter().position(|l| *l == row[0]), row[2].clone())
    });
    let mut out = table::render(["ACTION", "KIND", "SNAPSHOT", "DETAIL"], &rows);
    let copies = report.count(&Outcome::Copied);
    out.push_str(&format!(
        "plan: {copies} to copy, {} already exported, {} skipped, {} later, {} problems\n",
        report.count(&Outcome::AlreadyExported),
        report.count(&Outcome::Skipped),
        report.count(&Outcome::Deferred),
        report.count(&Outcome::Failed)
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(result: Result<(), CliError>) -> String {
        match result {
            Err(error) => error.to_string(),
            Ok(()) => panic!("accepted"),
        }
    }

    #[test]
    fn a_selection_tag_needs_both_parts() {
        assert_eq!(selection_tag_parts("backup=offsite").ok(), Some(("backup", "offsite")));
        assert_eq!(selection_tag_parts("k=a=b").ok(), Some(("k", "a=b")));
        for tag in ["backup", "=offsite", "backup=", "="] {
            assert_eq!(
                refusal(selection_tag_parts(tag).map(drop)),
                format!("--selection-tag {tag:?} is not KEY=VALUE")
            );
        }
    }
}
