//! `offsite status --side workload|vault` and `offsite verify --rpo`.

use std::collections::BTreeMap;
use std::time::SystemTime;

use aws_smithy_types::DateTime;
use offsite_common::aws::{AwsSettings, load_sdk_config};
use offsite_common::rds::RdsSnapshots;
use offsite_common::snapshot::SnapshotKind;
use offsite_common::tags;
use offsite_importer::allow::AllowList;
use offsite_importer::capacity::{capacity_plan, capacity_table};
use offsite_importer::health::{health, health_table};
use offsite_importer::register::{Register, RegisterPath};
use offsite_importer::retention::Policy;
use offsite_importer::settings::{ALLOWED_SOURCES_VAR, REGISTER_PATH_VAR};
use offsite_rds_export::health::{export_health, export_table};
use offsite_restore_test::health::{restore_health, restore_table};
use offsite_scanner::status::{status_rows, status_table};

use crate::error::CliError;

/// `offsite status --side workload`: the exporter's copies in this account.
pub async fn status_workload(env: &BTreeMap<String, String>, json: bool) -> Result<(), CliError> {
    let settings = AwsSettings::from_env(env)?;
    let sdk_config = load_sdk_config(&settings).await;
    let rds = RdsSnapshots::new(aws_sdk_rds::Client::new(&sdk_config));
    let kinds = [SnapshotKind::Instance, SnapshotKind::Cluster];
    let copies = rds.list_marked(&kinds, tags::MARKER_EXPORT).await?;
    let rows = status_rows(&copies, DateTime::from(SystemTime::now()));
    if json {
        println!("{}", serde_json::to_string_pretty(&rows).unwrap_or_default());
    } else {
        print!("{}", status_table(&rows));
        println!("{}", quota_line(&rds).await);
    }
    Ok(())
}

/// A duration given on the command line, checked like a setting and named by its flag.
fn duration_flag(
    env: &mut BTreeMap<String, String>,
    flag: &str,
    value: Option<String>,
) -> Result<Option<std::time::Duration>, CliError> {
    let Some(value) = value else { return Ok(None) };
    let variable = format!("OFFSITE_CLI_{}", flag.trim_start_matches('-').replace('-', "_").to_ascii_uppercase());
    env.insert(variable.clone(), value);
    let duration = offsite_common::config::required::<std::time::Duration>(env, &variable).map_err(|mut e| {
        e.variable = flag.to_owned();
        e
    })?;
    Ok(Some(duration))
}

/// `offsite verify`'s limits besides the RPO (none: reported, not judged).
#[derive(Debug, Clone, Default)]
pub struct Limits {
    /// `--export-rpo`: the age of each database's newest RDS export for auditors.
    pub export_rpo: Option<String>,
    /// `--restore-tested-within`: the age of each database's newest passed restore test.
    pub restore_tested_within: Option<String>,
}

/// `offsite status --side vault` (no RPO) and `offsite verify --rpo [--export-rpo]
/// [--restore-tested-within]` (returns whether the vault is healthy).
pub async fn vault_health(
    env: &BTreeMap<String, String>,
    rpo: Option<String>,
    limits: Limits,
    json: bool,
) -> Result<bool, CliError> {
    let mut env = env.clone();
    let rpo = duration_flag(&mut env, "--rpo", rpo)?;
    let export_rpo = duration_flag(&mut env, "--export-rpo", limits.export_rpo)?;
    let tested_within = duration_flag(&mut env, "--restore-tested-within", limits.restore_tested_within)?;
    let allow: Option<AllowList> = offsite_common::config::optional(&env, ALLOWED_SOURCES_VAR)?;
    // The retention policy the capacity plan assumes: retention's own settings, as the
    // operator deployed them (OFFSITE_RETENTION_*), else its defaults.
    let policy = Policy::from_env(&env)?;
    let settings = AwsSettings::from_env(&env)?;
    let sdk_config = load_sdk_config(&settings).await;
    let rds = RdsSnapshots::new(aws_sdk_rds::Client::new(&sdk_config));
    let kinds = [SnapshotKind::Instance, SnapshotKind::Cluster];
    let copies = rds.list_marked(&kinds, tags::MARKER_IMPORT).await?;
    let mut shared = Vec::new();
    for kind in kinds {
        shared.extend(rds.list(kind, Some("shared")).await?);
    }
    // The databases the vault protects (the reconciler's register, importer/src/register.rs).
    let path: RegisterPath = offsite_common::config::or_default(&env, REGISTER_PATH_VAR, RegisterPath::default())?;
    let register = Register::new(aws_sdk_ssm::Client::new(&sdk_config), path);
    let remembered = register.remembered().await?;
    let now = DateTime::from(SystemTime::now());
    let health = health(&copies, &shared, allow.as_ref(), &remembered, rpo, now);
    // The RDS exports for auditors (rds-export/): into the configured bucket, or any.
    let bucket: Option<String> = offsite_common::config::optional(&env, offsite_rds_export::settings::BUCKET_VAR)?;
    let states = offsite_rds_export::run::database_states(&aws_sdk_rds::Client::new(&sdk_config), bucket.as_deref())
        .await
        .map_err(|e| CliError::Exports(format!("{e}; `offsite status --side vault` needs rds:DescribeExportTasks")))?;
    // As the export function is restricted (its settings, when given), so is the judgement.
    let databases: Option<Vec<offsite_rds_export::plan::DatabasePattern>> =
        offsite_common::config::optional(&env, offsite_rds_export::settings::DATABASES_VAR)?;
    let source_tag: Option<offsite_common::source_tags::SourceTag> =
        offsite_common::config::optional(&env, offsite_rds_export::settings::SOURCE_TAG_VAR)?;
    let states =
        offsite_rds_export::health::selected_states(states, &copies, databases.as_deref(), source_tag.as_ref());
    let secs = |d: std::time::Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
    let exports = export_health(&states, now.secs(), export_rpo.map(secs));
    let exporting = bucket.is_some() || export_rpo.is_some() || states.iter().any(|s| s.newest_export.is_some());
    // The restore tests (restore-test/): the copies' evidence and the tester's restores.
    // The tester's restores under way: needed to judge `--restore-tested-within`; otherwise a
    // credential without rds:DescribeDBInstances only loses that column.
    let restores = match offsite_restore_test::run::restored(&aws_sdk_rds::Client::new(&sdk_config)).await {
        Ok(restores) => restores,
        Err(e) if tested_within.is_none() => {
            eprintln!(
                "restore tests under way: unreadable ({e}; needs rds:DescribeDBInstances and rds:DescribeDBClusters)"
            );
            Vec::new()
        }
        Err(e) => {
            return Err(CliError::RestoreTests(format!(
                "{e}; --restore-tested-within needs rds:DescribeDBInstances and rds:DescribeDBClusters"
            )));
        }
    };
    let tests = restore_health(&copies, &restores, now.secs(), tested_within.map(secs));
    let testing = tested_within.is_some() || tests.rows.iter().any(|r| r.last_result.is_some() || r.running.is_some());
    // The second Region's tests, when the tester is configured for them (its settings).
    // Unreadable there, `status` says so and goes on (as with the vault's region above);
    // `verify --restore-tested-within` cannot judge without it.
    let second_tests = match second_region_tested(&env)? {
        Some(region) => match second_region_health(&settings, &region, now.secs(), tested_within.map(secs)).await {
            Ok(health) => Some(health),
            Err(e) if tested_within.is_none() => {
                eprintln!("restore tests in the second Region {region}: unreadable ({e})");
                None
            }
            Err(e) => return Err(CliError::RestoreTests(format!("{e}; --restore-tested-within judges it"))),
        },
        None => None,
    };
    if json {
        let mut value = serde_json::to_value(&health).unwrap_or_default();
        if let (Some(object), Ok(quotas)) = (value.as_object_mut(), rds.snapshot_quotas().await) {
            let (_, plans) = capacity_plan(&copies, &quotas, &policy, now);
            object.insert("snapshot_quotas".to_owned(), serde_json::to_value(quotas).unwrap_or_default());
            object.insert("capacity".to_owned(), serde_json::to_value(plans).unwrap_or_default());
        }
        if let Some(object) = value.as_object_mut() {
            object.insert("rds_exports".to_owned(), serde_json::to_value(&exports).unwrap_or_default());
            object.insert("restore_tests".to_owned(), serde_json::to_value(&tests).unwrap_or_default());
            if let Some(second) = &second_tests {
                object
                    .insert("restore_tests_second_region".to_owned(), serde_json::to_value(second).unwrap_or_default());
            }
        }
        println!("{}", serde_json::to_string_pretty(&value).unwrap_or_default());
    } else {
        if exporting {
            print!("{}", export_table(&exports));
        }
        if testing {
            print!("{}", restore_table(&tests, now.secs()));
        }
        if let Some(second) = &second_tests {
            print!("{}", restore_table(second, now.secs()));
        }
        print!("{}", health_table(&health));
        match rds.snapshot_quotas().await {
            Ok(quotas) => {
                println!("{}", quotas.summary(&rds.region()));
                let (_, plans) = capacity_plan(&copies, &quotas, &policy, DateTime::from(SystemTime::now()));
                print!("{}", capacity_table(&plans));
            }
            Err(error) => println!("manual snapshots in {}: quotas unreadable ({error})", rds.region()),
        }
    }
    let second_ok = second_tests.as_ref().is_none_or(|t| t.ok);
    Ok((health.ok || rpo.is_none()) && exports.ok && tests.ok && second_ok)
}

/// The vault's second Region, when the restore tester tests its copies there
/// (`OFFSITE_RESTORE_TEST_SECOND_REGION_SUBNET_GROUP` and `OFFSITE_DR_REGION`, as the
/// function is deployed).
fn second_region_tested(env: &BTreeMap<String, String>) -> Result<Option<String>, CliError> {
    use offsite_restore_test::settings::{DR_REGION_VAR, SECOND_REGION_SUBNET_GROUP_VAR};
    let configured = env.get(SECOND_REGION_SUBNET_GROUP_VAR).is_some_and(|v| !v.is_empty());
    if !configured {
        return Ok(None);
    }
    let region: Option<offsite_common::aws::RegionName> = offsite_common::config::optional(env, DR_REGION_VAR)?;
    match region {
        Some(region) => Ok(Some(region.0)),
        None => Err(offsite_common::ConfigError {
            variable: DR_REGION_VAR.to_owned(),
            value: None,
            problem: format!("missing: {SECOND_REGION_SUBNET_GROUP_VAR} says the second Region's copies are tested"),
            expected: "the vault's second Region, as the restore tester is deployed with it".to_owned(),
        }
        .into()),
    }
}

/// How the restore tests of the second Region's copies stand: its copies' evidence and the
/// tester's restores there.
async fn second_region_health(
    settings: &AwsSettings,
    region: &str,
    now: i64,
    within_secs: Option<i64>,
) -> Result<offsite_restore_test::health::RestoreHealth, String> {
    let config = load_sdk_config(&AwsSettings { region: Some(region.to_owned()), ..settings.clone() }).await;
    let client = aws_sdk_rds::Client::new(&config);
    let kinds = [SnapshotKind::Instance, SnapshotKind::Cluster];
    let copies = RdsSnapshots::new(client.clone()).list_marked(&kinds, tags::MARKER_IMPORT_DR).await.map_err(|e| {
        format!(
            "in the second Region {region}: {e}; needs rds:DescribeDBSnapshots and rds:DescribeDBClusterSnapshots there"
        )
    })?;
    let restores = offsite_restore_test::run::restored(&client).await.map_err(|e| {
        format!("in the second Region {region}: {e}; needs rds:DescribeDBInstances and rds:DescribeDBClusters there")
    })?;
    let mut health = restore_health(&copies, &restores, now, within_secs);
    health.second_region = Some(region.to_owned());
    Ok(health)
}

/// The account's manual snapshot quotas in this Region (README, "Capacity"), or why they
/// cannot be read (the status itself stands).
async fn quota_line(rds: &RdsSnapshots) -> String {
    match rds.snapshot_quotas().await {
        Ok(quotas) => quotas.summary(&rds.region()),
        Err(error) => format!("manual snapshots in {}: quotas unreadable ({error})", rds.region()),
    }
}
