//! One run of the restore tester: list the vault's imports and the tester's restores,
//! decide ([`crate::plan`]), move each test one step, start what is due, report.
//!
//! Calls (RDS API reference): DescribeDBSnapshots / DescribeDBClusterSnapshots (manual, paged,
//! tags included), DescribeDBInstances and DescribeDBClusters (paged, tags included: the
//! tester's state), then per test at most: CreateDBInstance (a cluster's primary), the
//! evidence (AddTagsToResource on the copy, PutObject of the record), AddTagsToResource on the
//! restore (stage `checked`), DeleteDBInstance / DeleteDBCluster; per start one
//! RestoreDBInstanceFromDBSnapshot or RestoreDBClusterFromSnapshot. Every call is idempotent:
//! a restore or instance that exists is checked (ours: a rerun; not ours: a finding), a delete
//! of what is gone is done.

use aws_sdk_rds::Client;
use aws_sdk_rds::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_rds::types::{DbCluster, DbInstance, Tag};
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use offsite_common::lineage::import_taken_secs;
use offsite_common::metrics::Metrics;
use offsite_common::rds::{RdsError, RdsSnapshots};
use offsite_common::snapshot::{Snapshot, SnapshotKind, tag_map};
use offsite_common::tags;
use serde::Serialize;

use crate::checks::{DataChecks, Dialect};
use crate::data;
use crate::plan::{self, DatabaseState, Finding, MasterSecret, ResourceKind, Restored, Start, Step, Test};
use crate::settings::{CaBundle, Evidence, RestoreTestSettings};

/// Failures that stop a run as a whole (nothing can be decided without the listings).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("listing the vault's copies: {0}")]
    Copies(#[from] RdsError),
    #[error("{what}: {message}")]
    Listing { what: &'static str, message: String },
    #[error("in the second Region {region}: {source}")]
    SecondRegion { region: String, source: Box<RunError> },
}

/// What became of one test this run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TestReport {
    pub restore: String,
    pub database: Option<String>,
    pub step: Step,
    /// Set when the test concluded this run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<Conclusion>,
    /// What a call answered when it failed (the next run tries again).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

/// A test's result, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conclusion {
    pub passed: bool,
    pub copy_arn: Option<String>,
    pub findings: Vec<Finding>,
    pub figures: String,
    pub seconds: Option<i64>,
}

/// What became of one start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StartResult {
    Started,
    /// The restore exists and is this test's (a rerun, or a concurrent tester).
    AlreadyStarted,
    /// A DB instance or cluster of that name is not the tester's: a finding, never touched.
    Collision,
    /// RDS refused for a reason of the copy itself (its key unusable, its state): a failed
    /// test, recorded on the copy for the period like any other result.
    Failed,
    /// RDS refused for a reason of the set-up (permissions, network, capacity): not the copy's
    /// result; the next run tries again. The reason says why.
    Refused,
}

/// Data checks one run makes at most: each may take `data::MAX_SECONDS` (connection and
/// queries), and five of them (675 s) leave room in the function's 900 s for the rest.
pub const MAX_DATA_CHECKS_PER_RUN: usize = 5;

/// How an error that is a security finding starts.
const SECURITY: &str = "SECURITY: ";

/// Refusals of a restore that say the copy itself cannot be restored (RDS API Reference,
/// RestoreDBInstanceFromDBSnapshot and RestoreDBClusterFromSnapshot, Errors).
const COPY_FAILURES: [&str; 4] =
    ["KMSKeyNotAccessibleFault", "InvalidDBSnapshotState", "InvalidDBClusterSnapshotStateFault", "InvalidRestoreFault"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StartReport {
    #[serde(flatten)]
    pub start: Start,
    pub result: StartResult,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The run's result: returned by the function and logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The second Region whose copies this report tested; `None`: the vault's own Region.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub second_region: Option<String>,
    /// Data checks this run made (each counts against [`MAX_DATA_CHECKS_PER_RUN`]).
    pub data_checks: usize,
    pub tests: Vec<TestReport>,
    pub starts: Vec<StartReport>,
    pub databases: Vec<DatabaseState>,
    /// The tester's resources older than the overdue limit: (identifier, age in seconds).
    pub overdue: Vec<(String, i64)>,
    pub security: Vec<String>,
    /// Calls that failed outside a test (carrying the evidence forward): the next run retries.
    pub errors: Vec<String>,
    /// When the run decided (UNIX seconds).
    pub now: i64,
}

impl Report {
    pub fn count(&self, result: &StartResult) -> usize {
        self.starts.iter().filter(|s| s.result == *result).count()
    }

    /// Tests that concluded this run with `passed`.
    pub fn concluded(&self, passed: bool) -> usize {
        self.tests.iter().filter(|t| t.result.as_ref().is_some_and(|r| r.passed == passed)).count()
    }

    /// How long since each database's newest passed test (never passed: since its oldest
    /// copy, which could have been tested that long).
    pub fn passed_ages(&self) -> impl Iterator<Item = (&DatabaseState, Option<i64>)> {
        self.databases.iter().map(|d| (d, d.last_passed.or(d.oldest_import_taken).map(|t| (self.now - t).max(0))))
    }

    /// The run's metrics (EMF); see [`metrics_of`].
    pub fn metrics(&self) -> Vec<Metrics> {
        metrics_of(std::slice::from_ref(self))
    }
}

/// One run's metrics (EMF) over its reports (the vault's Region, the second Region): one line
/// for the function, the counts summed and the stalest database's age the greatest, so each
/// alarm sees the run whole (a refusal in either Region keeps `RestoreTestsRefused` above
/// zero); per database the age of its newest passed test, the second Region's under a
/// `Region` dimension of their own.
pub fn metrics_of(reports: &[Report]) -> Vec<Metrics> {
    let mut m = Metrics::new("Function", "restore-test");
    let mut per_database = Vec::new();
    for report in reports {
        m.add("RestoreTestsStarted", report.count(&StartResult::Started) as f64);
        m.add("RestoreTestsRefused", report.count(&StartResult::Refused) as f64);
        m.add("RestoreTestsPassed", report.concluded(true) as f64);
        m.add("RestoreTestsFailed", (report.concluded(false) + report.count(&StartResult::Failed)) as f64);
        m.add("RestoreTestsRunning", report.tests.iter().filter(|t| t.result.is_none()).count() as f64);
        m.add("RestoreTestResourcesOverdue", report.overdue.len() as f64);
        let errors = report.tests.iter().map(|t| t.errors.len()).sum::<usize>() + report.errors.len();
        m.add("RestoreTestErrors", errors as f64);
        m.add("SecurityFindings", report.security.len() as f64);
        let never = report.databases.iter().filter(|d| d.last_passed.is_none()).count();
        m.add("DatabasesWithoutPassedRestoreTest", never as f64);
        let oldest = report.passed_ages().filter_map(|(_, age)| age).max().unwrap_or_default();
        m.max("OldestPassedRestoreTestAgeSeconds", oldest as f64);
        let ages = report.passed_ages().filter_map(|(state, age)| Some((&state.database, age? as f64)));
        let lines = Metrics::per_database("PassedRestoreTestAgeSeconds", ages);
        per_database.extend(lines.into_iter().map(|line| match &report.second_region {
            Some(region) => line.with_dimension("Region", region),
            None => line,
        }));
    }
    let mut all = vec![m];
    all.extend(per_database);
    all
}

/// Where a tester restores: the vault's own Region, or its second Region, whose copies the
/// reconciler makes (importer/src/dr.rs) under their own marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Site {
    Vault,
    SecondRegion(String),
}

impl Site {
    /// The marker of the copies tested there.
    fn marker(&self) -> &'static str {
        match self {
            Self::Vault => tags::MARKER_IMPORT,
            Self::SecondRegion(_) => tags::MARKER_IMPORT_DR,
        }
    }

    fn second_region(&self) -> Option<&str> {
        match self {
            Self::Vault => None,
            Self::SecondRegion(region) => Some(region),
        }
    }
}

/// The restore tester: the vault's RDS and S3 clients and its settings.
#[derive(Debug, Clone)]
pub struct RestoreTester {
    site: Site,
    rds: RdsSnapshots,
    client: Client,
    s3: aws_sdk_s3::Client,
    secrets: aws_sdk_secretsmanager::Client,
    settings: RestoreTestSettings,
}

impl RestoreTester {
    pub fn new(
        client: Client,
        s3: aws_sdk_s3::Client,
        secrets: aws_sdk_secretsmanager::Client,
        settings: RestoreTestSettings,
    ) -> Self {
        Self { site: Site::Vault, rds: RdsSnapshots::new(client.clone()), client, s3, secrets, settings }
    }

    /// This tester, for the copies of the vault's second Region `region` (its clients must be
    /// of that Region, but for S3).
    pub fn for_second_region(self, region: impl Into<String>) -> Self {
        Self { site: Site::SecondRegion(region.into()), ..self }
    }

    /// The tester of the second Region's copies (`settings` of
    /// [`RestoreTestSettings::in_second_region`]): RDS and Secrets Manager there (RDS keeps
    /// a database's managed secret in its Region), S3 (the evidence bucket, the CA bundle)
    /// through `vault_config`, the vault's Region.
    pub fn in_second_region(
        vault_config: &aws_types::SdkConfig,
        second_config: &aws_types::SdkConfig,
        settings: RestoreTestSettings,
    ) -> Self {
        let region = settings.aws.region.clone().unwrap_or_default();
        Self::new(
            Client::new(second_config),
            aws_sdk_s3::Client::new(vault_config),
            aws_sdk_secretsmanager::Client::new(second_config),
            settings,
        )
        .for_second_region(region)
    }

    /// The tester with clients of one SDK configuration (the function's role).
    pub fn from_config(config: &aws_types::SdkConfig, settings: RestoreTestSettings) -> Self {
        Self::new(
            Client::new(config),
            aws_sdk_s3::Client::new(config),
            aws_sdk_secretsmanager::Client::new(config),
            settings,
        )
    }

    /// One run at `now`, its metrics flushed.
    pub async fn run(&self, now: DateTime) -> Result<Report, RunError> {
        let report = self.pass(now, MAX_DATA_CHECKS_PER_RUN).await?;
        for line in report.metrics() {
            line.flush();
        }
        Ok(report)
    }

    /// One pass over this site's copies at `now`, making at most `data_check_budget` data
    /// checks; the metrics are the caller's ([`run_sites`]).
    async fn pass(&self, now: DateTime, data_check_budget: usize) -> Result<Report, RunError> {
        let kinds = [SnapshotKind::Instance, SnapshotKind::Cluster];
        let copies = self.rds.list_marked(&kinds, self.site.marker()).await?;
        let restored = restored(&self.client).await?;
        let decided = plan::plan(&copies, &restored, &self.settings.policy, now.secs());
        let mut report = Report {
            second_region: self.site.second_region().map(str::to_owned),
            data_checks: 0,
            tests: Vec::new(),
            starts: Vec::new(),
            databases: decided.databases,
            overdue: decided.overdue,
            security: Vec::new(),
            errors: Vec::new(),
            now: now.secs(),
        };
        // The evidence outlives the copies tested (retention deletes them in time).
        for carry in &decided.carries {
            let pairs: Vec<(&str, &str)> = carry.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            if let Err(e) = self.add_tags(&carry.copy_arn, &pairs).await {
                report.errors.push(format!("carrying the restore test evidence forward: {e}"));
            }
        }
        for (test, mut step) in decided.tests {
            // Each data check may take its connection and queries' limits; past
            // MAX_DATA_CHECKS_PER_RUN the rest wait for the next run, inside Lambda's 15 minutes.
            if step == Step::Check && self.settings.policy.checks_of(&test).is_some() {
                if report.data_checks < data_check_budget {
                    report.data_checks += 1;
                } else {
                    let why = format!("left for the next run ({MAX_DATA_CHECKS_PER_RUN} data checks per run)");
                    step = Step::Wait { why };
                }
            }
            let copy = test.copy_arn().and_then(|arn| copies.iter().find(|c| c.arn == arn));
            let mut advanced = self.advance(&test, step, copy, now).await;
            let (findings, errors) = advanced.errors.drain(..).partition(|e| e.starts_with(SECURITY));
            advanced.errors = errors;
            report.security.extend(findings);
            report.tests.push(advanced);
        }
        // The due tests in their order until the free slots hold a restore: a start RDS refuses
        // holds none, so one database RDS cannot restore never keeps the others waiting.
        let mut held = 0;
        for start in decided.starts {
            if held >= decided.slots {
                break;
            }
            let (mut result, mut reason) = self.start(&start, now).await;
            if result == StartResult::Failed {
                let copy = copies.iter().find(|c| c.arn == start.copy_arn);
                if let Err(e) = self.record_refusal(&start, copy, reason.as_deref().unwrap_or_default(), now).await {
                    // Not recorded: the next run meets the same refusal and tries again.
                    (result, reason) = (StartResult::Refused, Some(format!("{}; {e}", reason.unwrap_or_default())));
                }
            }
            if matches!(result, StartResult::Started | StartResult::AlreadyStarted) {
                held += 1;
                if let Some(state) = report.databases.iter_mut().find(|d| d.database == start.database) {
                    state.outcome = plan::Outcome::Start { restore: start.identifier.clone() };
                }
            }
            if result == StartResult::Collision {
                report.security.push(format!(
                    "{} exists and is not a restore test of {}: {}",
                    start.identifier,
                    start.database,
                    reason.clone().unwrap_or_default()
                ));
            }
            report.starts.push(StartReport { start, result, reason });
        }
        Ok(report)
    }

    /// Moves `test` one step.
    async fn advance(&self, test: &Test, step: Step, copy: Option<&Snapshot>, now: DateTime) -> TestReport {
        let mut out = TestReport {
            restore: test.root.identifier.clone(),
            database: test.database().map(str::to_owned),
            step: step.clone(),
            result: None,
            errors: Vec::new(),
        };
        let concluded = match step {
            Step::Wait { .. } | Step::Deleting => return out,
            Step::CreateInstance { identifier } => {
                if let Err(e) = self.create_cluster_instance(test, &identifier).await {
                    out.errors.push(e);
                }
                return out;
            }
            Step::Delete => {
                out.errors.extend(self.delete(test).await);
                return out;
            }
            Step::ManagePassword => {
                if let Err(e) = self.manage_password(test).await {
                    out.errors.push(e);
                }
                return out;
            }
            Step::Check => match copy {
                Some(copy) => {
                    let mut findings = plan::api_checks(test, copy);
                    if let Some(checks) = self.settings.policy.checks_of(test) {
                        match self.data_checks(test, copy, checks).await {
                            Ok(data) => findings.extend(data),
                            // The set-up failed (the secret, the CA bundle): no result; the
                            // next run tries again, up to the overdue limit.
                            Err(e) => {
                                out.errors.push(e);
                                return out;
                            }
                        }
                        // A database that stopped answering may have been concluded and
                        // deleted by another tester meanwhile: its result stands, not this one.
                        if findings.iter().any(|f| !f.passed) && self.concluded_elsewhere(test).await {
                            out.step = Step::Deleting;
                            return out;
                        }
                    }
                    self.conclusion(test, findings, now)
                }
                // The copy is gone (retention): there is nothing left to vouch for.
                None => self.conclusion(test, vec![copy_gone(test)], now),
            },
            Step::Fail { reason } => {
                let finding = Finding::new("restore", false, reason);
                self.conclusion(test, vec![finding], now)
            }
        };
        // Evidence first, then the stage: a crash between the two checks again, the same way.
        out.errors.extend(self.record(test, copy, &concluded, now).await);
        // A record that keeps failing must not keep a billed database: past the overdue limit
        // it is deleted all the same (what was recorded stays; the errors say what was not).
        let overdue =
            test.root.started_secs().is_some_and(|s| now.secs() - s > self.settings.policy.overdue_after_secs);
        if out.errors.is_empty() || overdue {
            let result = if concluded.passed { "passed" } else { "failed" };
            let stage = [(tags::RESTORE_STAGE, tags::RESTORE_STAGE_CHECKED), (tags::RESTORE_RESULT, result)];
            if let Err(e) = self.add_tags(&test.root.arn, &stage).await {
                out.errors.push(e);
            }
            if out.errors.is_empty() || overdue {
                out.errors.extend(self.delete(test).await);
            }
        }
        // Counted once: only when recorded (a run that could not record it tries again).
        if out.errors.is_empty() {
            out.result = Some(concluded);
        }
        out
    }

    fn conclusion(&self, test: &Test, findings: Vec<Finding>, now: DateTime) -> Conclusion {
        Conclusion {
            passed: findings.iter().all(|f| f.passed),
            copy_arn: test.copy_arn().map(str::to_owned),
            figures: plan::figures(&findings, test),
            seconds: test.root.started_secs().map(|s| (now.secs() - s).max(0)),
            findings,
        }
    }

    /// The test's evidence: tags on the copy tested (`offsite:restore-test*`), and the JSON
    /// record in the evidence bucket when one is configured.
    async fn record(&self, test: &Test, copy: Option<&Snapshot>, concluded: &Conclusion, now: DateTime) -> Vec<String> {
        let mut errors = Vec::new();
        let at = now.fmt(Format::DateTime).unwrap_or_default();
        let result = if concluded.passed { "passed" } else { "failed" };
        let seconds = concluded.seconds.map(|s| s.to_string()).unwrap_or_default();
        if let Some(copy) = copy {
            let evidence = [
                (tags::RESTORE_TEST, result),
                (tags::RESTORE_TESTED_AT, at.as_str()),
                (tags::RESTORE_TEST_PERIOD, test.period().unwrap_or_default()),
                (tags::RESTORE_TEST_SECONDS, seconds.as_str()),
                (tags::RESTORE_TEST_FIGURES, concluded.figures.as_str()),
            ];
            if let Err(e) = self.add_tags(&copy.arn, &evidence).await {
                errors.push(format!("evidence on {}: {e}", copy.identifier));
            }
        }
        if let Some(evidence) = &self.settings.evidence
            && let Err(e) = self.put_record(evidence, test, concluded, &at).await
        {
            errors.push(e);
        }
        errors
    }

    /// A restore RDS refused because of the copy: the failed test's evidence on the copy (and
    /// its record), for the period, so the alarm on failed tests sees it and the copy is not
    /// tried again until the next period.
    async fn record_refusal(
        &self,
        start: &Start,
        copy: Option<&Snapshot>,
        reason: &str,
        now: DateTime,
    ) -> Result<(), String> {
        let at = now.fmt(Format::DateTime).unwrap_or_default();
        let figures = plan::tag_value(&format!("restore refused: {reason}"));
        let Some(copy) = copy else { return Err("the copy is gone".to_owned()) };
        // The record first, the copy's tags last: the tags are what makes the period tested.
        if let Some(evidence) = &self.settings.evidence {
            let concluded = Conclusion {
                passed: false,
                copy_arn: Some(copy.arn.clone()),
                findings: vec![Finding::new("restore", false, reason.to_owned())],
                figures: figures.clone(),
                seconds: Some(0),
            };
            let test = Test { root: refused_restore(start, &at), members: Vec::new() };
            self.put_record(evidence, &test, &concluded, &at).await?;
        }
        let evidence = [
            (tags::RESTORE_TEST, "failed"),
            (tags::RESTORE_TESTED_AT, at.as_str()),
            (tags::RESTORE_TEST_PERIOD, start.period.as_str()),
            (tags::RESTORE_TEST_SECONDS, "0"),
            (tags::RESTORE_TEST_FIGURES, figures.as_str()),
        ];
        self.add_tags(&copy.arn, &evidence).await
    }

    async fn put_record(
        &self,
        evidence: &Evidence,
        test: &Test,
        concluded: &Conclusion,
        at: &str,
    ) -> Result<(), String> {
        let (account, database) = test.database().and_then(|d| d.split_once('/')).unwrap_or(("unknown", "unknown"));
        // The second Region's test of a period has the same identifier as the vault's.
        let region_suffix = self.site.second_region().map(|r| format!(".{r}")).unwrap_or_default();
        let key = format!(
            "{}/restore-tests/account={account}/database={database}/period={}/{}{region_suffix}.json",
            evidence.prefix,
            test.period().unwrap_or("unknown"),
            test.root.identifier
        );
        let region = self.client.config().region().map(ToString::to_string);
        let record = serde_json::json!({
            "restore": test.root.identifier,
            "kind": test.root.kind,
            "source_account": account,
            "source_database": database,
            "region": region,
            "second_region": self.site.second_region().is_some(),
            "period": test.period(),
            "copy_arn": concluded.copy_arn,
            "started_at": test.root.tag(tags::RESTORE_STARTED_AT),
            "concluded_at": at,
            "seconds": concluded.seconds,
            "result": if concluded.passed { "passed" } else { "failed" },
            "checks": concluded.findings,
            "figures": concluded.figures,
            "engine": test.root.engine,
            "engine_version": test.root.engine_version,
        });
        self.s3
            .put_object()
            .bucket(&evidence.bucket)
            .key(&key)
            .content_type("application/json")
            .body(record.to_string().into_bytes().into())
            .send()
            .await
            .map(drop)
            .map_err(|e| format!("evidence record s3://{}/{key}: {}", evidence.bucket, DisplayErrorContext(e)))
    }

    async fn add_tags(&self, arn: &str, pairs: &[(&str, &str)]) -> Result<(), String> {
        let tags = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        self.rds.add_tags(arn, &tags).await.map_err(|e| e.to_string())
    }

    /// Deletes what is not being deleted yet: a cluster's instances first, then the cluster
    /// (RDS refuses a cluster whose instances are not deleting); no final snapshot, no
    /// automated backups kept. What is gone already is done.
    async fn delete(&self, test: &Test) -> Vec<String> {
        let mut errors = Vec::new();
        let pending = |r: &&Restored| !r.status.eq_ignore_ascii_case("deleting");
        for member in test.members.iter().filter(pending) {
            let answer = self.client.delete_db_instance().db_instance_identifier(&member.identifier).send().await;
            if let Err(e) = self.settled(ResourceKind::Instance, &member.identifier, answer.map(drop)).await {
                errors.push(format!("DeleteDBInstance {}: {e}", member.identifier));
            }
        }
        if !errors.is_empty() || !pending(&&test.root) {
            return errors;
        }
        let (root, kind) = (&test.root.identifier, test.root.kind);
        let answer = match kind {
            ResourceKind::Instance => {
                let answer = self
                    .client
                    .delete_db_instance()
                    .db_instance_identifier(root)
                    .skip_final_snapshot(true)
                    .delete_automated_backups(true)
                    .send()
                    .await;
                self.settled(kind, root, answer.map(drop)).await
            }
            ResourceKind::Cluster => {
                let answer = self
                    .client
                    .delete_db_cluster()
                    .db_cluster_identifier(root)
                    .skip_final_snapshot(true)
                    .delete_automated_backups(true)
                    .send()
                    .await;
                self.settled(kind, root, answer.map(drop)).await
            }
        };
        if let Err(e) = answer {
            errors.push(format!("deleting {root}: {e}"));
        }
        errors
    }

    /// A delete's answer, settled: what is gone is done, and so is what RDS refuses because
    /// it is deleting already (`InvalidDBInstanceState` / `InvalidDBClusterStateFault`: another
    /// tester's delete got there first; RDS API Reference, DeleteDBInstance and DeleteDBCluster,
    /// Errors), once a describe shows it deleting or gone.
    async fn settled<E>(
        &self,
        kind: ResourceKind,
        identifier: &str,
        answer: Result<(), aws_sdk_rds::error::SdkError<E>>,
    ) -> Result<(), String>
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let Err(error) = answer else { return Ok(()) };
        match error.code() {
            Some("DBInstanceNotFound" | "DBClusterNotFoundFault") => Ok(()),
            Some("InvalidDBInstanceState" | "InvalidDBClusterStateFault") => {
                match self.existing(kind, identifier).await {
                    Ok(None) => Ok(()),
                    Ok(Some(now)) if now.status.eq_ignore_ascii_case("deleting") => Ok(()),
                    _ => Err(DisplayErrorContext(error).to_string()),
                }
            }
            _ => Err(DisplayErrorContext(error).to_string()),
        }
    }

    /// Asks RDS to manage the master user's password in Secrets Manager (the password of the
    /// restored database is the source's, which the vault does not know): RDS generates one,
    /// sets it in the database and stores it in a secret the tester reads (RDS User Guide,
    /// "Password management with Amazon RDS and AWS Secrets Manager"). An Aurora cluster's
    /// password is the cluster's. The secret is encrypted with `aws/secretsmanager` and
    /// deleted with the database.
    async fn manage_password(&self, test: &Test) -> Result<(), String> {
        let root = &test.root.identifier;
        match test.root.kind {
            ResourceKind::Instance => self
                .client
                .modify_db_instance()
                .db_instance_identifier(root)
                .manage_master_user_password(true)
                .apply_immediately(true)
                .send()
                .await
                .map(drop)
                .map_err(|e| format!("ModifyDBInstance {root} ManageMasterUserPassword: {}", DisplayErrorContext(e))),
            ResourceKind::Cluster => self
                .client
                .modify_db_cluster()
                .db_cluster_identifier(root)
                .manage_master_user_password(true)
                .apply_immediately(true)
                .send()
                .await
                .map(drop)
                .map_err(|e| format!("ModifyDBCluster {root} ManageMasterUserPassword: {}", DisplayErrorContext(e))),
        }
    }

    /// The data checks: the credentials from the secret, a read-only TLS session on the
    /// restored database (a cluster's writer endpoint), the configured queries. `Err` when the
    /// set-up fails (no result yet); a database that cannot be reached or answers wrongly is a
    /// failed finding.
    async fn data_checks(&self, test: &Test, copy: &Snapshot, checks: &DataChecks) -> Result<Vec<Finding>, String> {
        let engine = test.root.engine.as_deref().unwrap_or_default();
        let Some(dialect) = Dialect::of(engine) else {
            let detail = format!("the tester has no client for engine {engine:?} (PostgreSQL and MySQL engines only)");
            return Ok(vec![Finding::new("data", false, detail)]);
        };
        let secret = test.root.master_secret.as_ref().ok_or("no master user secret")?;
        let credentials = data::credentials(&self.secrets, &secret.arn).await?;
        let cas = self.trusted_cas().await?;
        let (Some(host), Some(port)) = (test.root.endpoint.clone(), test.root.port.and_then(|p| u16::try_from(p).ok()))
        else {
            return Ok(vec![Finding::new("connect", false, "the restore reports no endpoint and port".to_owned())]);
        };
        let database = checks.database.clone().or_else(|| dialect.default_database().map(str::to_owned));
        let target = data::Target { dialect, host, port, database };
        let queries = checks.queries();
        Ok(match data::ask(&target, &credentials, &cas, &queries).await {
            Ok(answers) => checks.evaluate(&answers, import_taken_secs(copy)),
            Err(e) => vec![Finding::new("connect", false, e)],
        })
    }

    /// Whether `test` has moved on since the listing (checked, deleting or gone): another
    /// tester concluded it. An error reading it is "no" (this run's result is recorded).
    async fn concluded_elsewhere(&self, test: &Test) -> bool {
        match self.existing(test.root.kind, &test.root.identifier).await {
            Ok(None) => true,
            Ok(Some(now)) => {
                now.status.eq_ignore_ascii_case("deleting")
                    || now.tag(tags::RESTORE_STAGE) == Some(tags::RESTORE_STAGE_CHECKED)
            }
            Err(_) => false,
        }
    }

    /// The CA bundle, from its file or its S3 object.
    async fn trusted_cas(&self) -> Result<data::TrustedCas, String> {
        let bundle = self.settings.ca_bundle.as_ref().ok_or("no CA bundle configured")?;
        let pem = match bundle {
            CaBundle::File(path) => {
                std::fs::read(path).map_err(|e| format!("reading the CA bundle {}: {e}", path.display()))?
            }
            CaBundle::S3 { bucket, key } => {
                let out =
                    self.s3.get_object().bucket(bucket).key(key).send().await.map_err(|e| {
                        format!("reading the CA bundle s3://{bucket}/{key}: {}", DisplayErrorContext(e))
                    })?;
                let body =
                    out.body.collect().await.map_err(|e| format!("reading the CA bundle s3://{bucket}/{key}: {e}"))?;
                body.into_bytes().to_vec()
            }
        };
        data::TrustedCas::from_pem(pem, &bundle.to_string())
    }

    async fn create_cluster_instance(&self, test: &Test, identifier: &str) -> Result<(), String> {
        let answer = self
            .client
            .create_db_instance()
            .db_instance_identifier(identifier)
            .db_cluster_identifier(&test.root.identifier)
            .engine(test.root.engine.clone().unwrap_or_default())
            .db_instance_class(&self.settings.cluster_instance_class)
            .publicly_accessible(false)
            .auto_minor_version_upgrade(false)
            .set_tags(Some(inherited_tags(&test.root)))
            .send()
            .await;
        match answer {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("DBInstanceAlreadyExists") => {
                // Ours (a rerun, a concurrent tester) if it carries the marker in this cluster.
                let out = self.client.describe_db_instances().db_instance_identifier(identifier).send().await;
                let existing = out.ok().and_then(|o| o.db_instances().first().map(instance_of));
                match existing {
                    Some(i) if i.is_ours() && i.cluster.as_deref() == Some(test.root.identifier.as_str()) => Ok(()),
                    _ => Err(format!(
                        "{SECURITY}DB instance {identifier} exists and is not the primary of restore test {}",
                        test.root.identifier
                    )),
                }
            }
            Err(e) => Err(format!("CreateDBInstance {identifier}: {}", DisplayErrorContext(e))),
        }
    }

    /// Starts one restore; an existing resource of that name is checked, never replaced.
    async fn start(&self, start: &Start, now: DateTime) -> (StartResult, Option<String>) {
        let tags = start_tags(start, now);
        let security_groups = Some(self.settings.security_groups.clone());
        let answer = match start.kind {
            ResourceKind::Instance => self
                .client
                .restore_db_instance_from_db_snapshot()
                .db_instance_identifier(&start.identifier)
                .db_snapshot_identifier(&start.copy_identifier)
                .db_instance_class(&self.settings.instance_class)
                .db_subnet_group_name(&self.settings.subnet_group)
                .set_vpc_security_group_ids(security_groups)
                .publicly_accessible(false)
                .multi_az(false)
                .deletion_protection(false)
                .auto_minor_version_upgrade(false)
                .copy_tags_to_snapshot(false)
                .set_tags(Some(tags))
                .send()
                .await
                .map(drop)
                .map_err(|e| (e.code().map(str::to_owned), DisplayErrorContext(e).to_string())),
            ResourceKind::Cluster => self
                .client
                .restore_db_cluster_from_snapshot()
                .db_cluster_identifier(&start.identifier)
                .snapshot_identifier(&start.copy_identifier)
                .engine(start.engine.clone().unwrap_or_default())
                // The copy's version, not the Region's default (an upgrade is another test).
                .set_engine_version(start.engine_version.clone())
                .db_subnet_group_name(&self.settings.subnet_group)
                .set_vpc_security_group_ids(security_groups)
                .deletion_protection(false)
                .copy_tags_to_snapshot(false)
                .set_tags(Some(tags))
                .send()
                .await
                .map(drop)
                .map_err(|e| (e.code().map(str::to_owned), DisplayErrorContext(e).to_string())),
        };
        let (code, message) = match answer {
            Ok(()) => return (StartResult::Started, None),
            Err(error) => error,
        };
        if code.as_deref().is_some_and(|c| COPY_FAILURES.contains(&c)) {
            return (StartResult::Failed, Some(message));
        }
        if !matches!(code.as_deref(), Some("DBInstanceAlreadyExists" | "DBClusterAlreadyExistsFault")) {
            return (StartResult::Refused, Some(message));
        }
        match self.existing(start.kind, &start.identifier).await {
            Ok(Some(existing)) if existing.is_ours() => {
                if existing.tag(tags::RESTORE_DATABASE) == Some(start.database.to_string().as_str()) {
                    (StartResult::AlreadyStarted, None)
                } else {
                    (StartResult::Collision, Some(format!("it tests {:?}", existing.tag(tags::RESTORE_DATABASE))))
                }
            }
            Ok(Some(_)) => (StartResult::Collision, Some("it does not carry the tester's marker".to_owned())),
            Ok(None) => (StartResult::Refused, Some(message)),
            Err(e) => (StartResult::Refused, Some(format!("checking the existing resource: {e}"))),
        }
    }

    /// The DB instance or cluster `identifier` as RDS describes it now, if it exists.
    async fn existing(&self, kind: ResourceKind, identifier: &str) -> Result<Option<Restored>, String> {
        match kind {
            ResourceKind::Instance => {
                let out = self.client.describe_db_instances().db_instance_identifier(identifier).send().await;
                match out {
                    Ok(out) => Ok(out.db_instances().first().map(instance_of)),
                    Err(e) if e.code() == Some("DBInstanceNotFound") => Ok(None),
                    Err(e) => Err(DisplayErrorContext(e).to_string()),
                }
            }
            ResourceKind::Cluster => {
                let out = self.client.describe_db_clusters().db_cluster_identifier(identifier).send().await;
                match out {
                    Ok(out) => Ok(out.db_clusters().first().map(cluster_of)),
                    Err(e) if e.code() == Some("DBClusterNotFoundFault") => Ok(None),
                    Err(e) => Err(DisplayErrorContext(e).to_string()),
                }
            }
        }
    }
}

/// The restore RDS refused to create, as its record names it.
fn refused_restore(start: &Start, at: &str) -> Restored {
    let tags = [
        (tags::RESTORE_OF, start.copy_arn.clone()),
        (tags::RESTORE_DATABASE, start.database.to_string()),
        (tags::RESTORE_PERIOD, start.period.clone()),
        (tags::RESTORE_STARTED_AT, at.to_owned()),
    ];
    Restored {
        kind: start.kind,
        identifier: start.identifier.clone(),
        arn: String::new(),
        status: "refused".into(),
        tags: tags.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        cluster: None,
        members: Vec::new(),
        engine: start.engine.clone(),
        engine_version: start.engine_version.clone(),
        storage_encrypted: false,
        kms_key_id: None,
        allocated_storage: None,
        endpoint: None,
        port: None,
        master_secret: None,
    }
}

fn copy_gone(test: &Test) -> Finding {
    Finding::new("copy", false, format!("the copy {} is no longer in the vault", test.copy_arn().unwrap_or("?")))
}

/// The tags a restore is created with: the marker, the copy, the database, the period, the
/// start, the stage.
fn start_tags(start: &Start, now: DateTime) -> Vec<Tag> {
    let started = now.fmt(Format::DateTime).unwrap_or_default();
    [
        (tags::MARKER, tags::MARKER_RESTORE_TEST.to_owned()),
        (tags::RESTORE_OF, start.copy_arn.clone()),
        (tags::RESTORE_DATABASE, start.database.to_string()),
        (tags::RESTORE_PERIOD, start.period.clone()),
        (tags::RESTORE_STARTED_AT, started),
        (tags::RESTORE_STAGE, tags::RESTORE_STAGE_RESTORING.to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| Tag::builder().key(k).value(v).build())
    .collect()
}

/// A cluster's instance carries its cluster's test tags (an instance is a resource of its own
/// in IAM: the role deletes only what carries the marker).
fn inherited_tags(root: &Restored) -> Vec<Tag> {
    root.tags
        .iter()
        .filter(|(k, _)| *k == tags::MARKER || k.starts_with("offsite:restore-"))
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

fn instance_of(db: &DbInstance) -> Restored {
    Restored {
        kind: ResourceKind::Instance,
        identifier: db.db_instance_identifier().unwrap_or_default().to_owned(),
        arn: db.db_instance_arn().unwrap_or_default().to_owned(),
        status: db.db_instance_status().unwrap_or_default().to_ascii_lowercase(),
        tags: tag_map(Some(db.tag_list())),
        cluster: db.db_cluster_identifier().map(str::to_owned),
        members: Vec::new(),
        engine: db.engine().map(str::to_owned),
        engine_version: db.engine_version().map(str::to_owned),
        storage_encrypted: db.storage_encrypted().unwrap_or(false),
        kms_key_id: db.kms_key_id().map(str::to_owned),
        allocated_storage: db.allocated_storage(),
        endpoint: db.endpoint().and_then(|e| e.address()).map(str::to_owned),
        port: db.endpoint().and_then(|e| e.port()),
        master_secret: db.master_user_secret().and_then(|s| master_secret(s.secret_arn(), s.secret_status())),
    }
}

fn cluster_of(cluster: &DbCluster) -> Restored {
    Restored {
        kind: ResourceKind::Cluster,
        identifier: cluster.db_cluster_identifier().unwrap_or_default().to_owned(),
        arn: cluster.db_cluster_arn().unwrap_or_default().to_owned(),
        status: cluster.status().unwrap_or_default().to_ascii_lowercase(),
        tags: tag_map(Some(cluster.tag_list())),
        cluster: None,
        members: cluster
            .db_cluster_members()
            .iter()
            .filter_map(|m| m.db_instance_identifier().map(str::to_owned))
            .collect(),
        engine: cluster.engine().map(str::to_owned),
        engine_version: cluster.engine_version().map(str::to_owned),
        storage_encrypted: cluster.storage_encrypted().unwrap_or(false),
        kms_key_id: cluster.kms_key_id().map(str::to_owned),
        allocated_storage: cluster.allocated_storage(),
        endpoint: cluster.endpoint().map(str::to_owned),
        port: cluster.port(),
        master_secret: cluster.master_user_secret().and_then(|s| master_secret(s.secret_arn(), s.secret_status())),
    }
}

fn master_secret(arn: Option<&str>, status: Option<&str>) -> Option<MasterSecret> {
    Some(MasterSecret { arn: arn?.to_owned(), status: status.unwrap_or_default().to_ascii_lowercase() })
}

/// Every DB instance and cluster of the account in the client's Region (the plan keeps the
/// tester's own), paged.
pub async fn restored(client: &Client) -> Result<Vec<Restored>, RunError> {
    let listing = |what: &'static str| move |e: String| RunError::Listing { what, message: e };
    let mut all = paged(|marker| async move {
        let out = client.describe_db_instances().max_records(100).set_marker(marker).send().await;
        let out = out.map_err(|e| DisplayErrorContext(e).to_string())?;
        Ok((out.db_instances().iter().map(instance_of).collect(), out.marker))
    })
    .await
    .map_err(listing("DescribeDBInstances"))?;
    let clusters = paged(|marker| async move {
        let out = client.describe_db_clusters().max_records(100).set_marker(marker).send().await;
        let out = out.map_err(|e| DisplayErrorContext(e).to_string())?;
        Ok((out.db_clusters().iter().map(cluster_of).collect(), out.marker))
    })
    .await
    .map_err(listing("DescribeDBClusters"))?;
    all.extend(clusters);
    Ok(all)
}

/// Every page of a listing: `page(marker)` answers a page and the next marker (none or empty
/// at the end).
async fn paged<T, F, Fut>(mut page: F) -> Result<Vec<T>, String>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<T>, Option<String>), String>>,
{
    let mut all = Vec::new();
    let mut marker = None;
    loop {
        let (items, next) = page(marker.take()).await?;
        all.extend(items);
        match next.filter(|m| !m.is_empty()) {
            Some(next) => marker = Some(next),
            None => return Ok(all),
        }
    }
}

/// One run of every site at `now`: the vault's Region first, then the second Region's, the
/// data checks' budget ([`MAX_DATA_CHECKS_PER_RUN`]) shared so the run stays inside Lambda's
/// 15 minutes; one set of metrics for the run. A site whose listing fails does not stop the
/// others: its error is returned beside their reports.
pub async fn run_sites(testers: &[&RestoreTester], now: DateTime) -> (Vec<Report>, Vec<RunError>) {
    let (mut reports, mut errors) = (Vec::new(), Vec::new());
    let mut budget = MAX_DATA_CHECKS_PER_RUN;
    for tester in testers {
        match tester.pass(now, budget).await {
            Ok(report) => {
                budget = budget.saturating_sub(report.data_checks);
                reports.push(report);
            }
            Err(e) => errors.push(match tester.site.second_region() {
                Some(region) => RunError::SecondRegion { region: region.to_owned(), source: Box::new(e) },
                None => e,
            }),
        }
    }
    for line in metrics_of(&reports) {
        line.flush();
    }
    (reports, errors)
}

#[cfg(test)]
mod tests;
