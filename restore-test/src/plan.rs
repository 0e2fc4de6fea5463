//! What one run of the restore tester does, decided without I/O: which tests to start, and
//! the next step of each test under way.
//!
//! A test is a DB instance restored from a vault copy of an instance snapshot, or a DB
//! cluster restored from a cluster snapshot plus its primary instance (RestoreDBClusterFromSnapshot
//! creates no instance). Its state lives in its own tags ([`offsite_common::tags`]:
//! `offsite:restore-*`) and RDS's status, so no invocation waits for RDS:
//!
//! ```text
//! restoring (RDS: creating …) ─► available ─► checked (result and evidence recorded) ─► deleting ─► gone
//!      └─ failed status, or not available in time ─► checked (failed) ─┘
//! ```
//!
//! At most one test per source database and period (`OFFSITE_RESTORE_TEST_EVERY`): the
//! restore's identifier is derived from the database and the period, so a rerun or a second
//! tester meets its own restore instead of starting another.

use std::collections::BTreeMap;

use offsite_common::calendar::date_text;
use offsite_common::lineage::{DatabaseKey, database_of, import_taken_secs, is_genuine_import};
use offsite_common::snapshot::{Snapshot, SnapshotKind, SnapshotStatus};
use offsite_common::tags;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::checks::{DataChecks, checks_for};

/// The prefix of every resource the tester creates; its role may delete nothing else.
pub const RESTORE_PREFIX: &str = "rt-";
/// The suffix of a restored cluster's primary instance.
pub const CLUSTER_INSTANCE_SUFFIX: &str = "-i";

/// Statuses from which a restore never becomes available (RDS User Guide, "Viewing Amazon RDS
/// DB instance status"; Aurora User Guide, "Viewing DB cluster status").
const FAILED_STATUSES: [&str; 8] = [
    "failed",
    "incompatible-restore",
    "incompatible-parameters",
    "incompatible-network",
    "incompatible-option-group",
    "inaccessible-encryption-credentials",
    "inaccessible-encryption-credentials-recoverable",
    "storage-full",
];

/// Which copy of a database a test restores, as AWS Backup's restore testing chooses
/// (`LATEST_WITHIN_WINDOW`, `RANDOM_WITHIN_WINDOW`); the window is one test period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pick {
    Latest,
    Random,
}

/// The decisions' settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// One test per source database per period of this many seconds (from the epoch).
    pub every_secs: i64,
    pub pick: Pick,
    /// Tests under way at once (each holds a DB instance, billed while it lives).
    pub max_running: u32,
    /// A restore not available this long after its start has failed.
    pub available_within_secs: i64,
    /// A resource of the tester older than this is reported: a leak costs money.
    pub overdue_after_secs: i64,
    /// The data checks (`OFFSITE_RESTORE_TEST_CHECKS`); a database without an entry is
    /// checked through the API only.
    pub checks: Vec<DataChecks>,
}

impl Policy {
    /// The data checks of `test`'s database, if it has any.
    pub fn checks_of(&self, test: &Test) -> Option<&DataChecks> {
        let (account, database) = test.database()?.split_once('/')?;
        checks_for(&self.checks, &DatabaseKey { account: account.to_owned(), database: database.to_owned() })
    }
}

/// Whether a restored resource is a DB instance or a DB cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResourceKind {
    Instance,
    Cluster,
}

/// A DB instance or cluster as the tester sees it (DescribeDBInstances, DescribeDBClusters).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Restored {
    pub kind: ResourceKind,
    pub identifier: String,
    pub arn: String,
    /// RDS's status, lowercase (`creating`, `available`, `deleting`, …).
    pub status: String,
    pub tags: BTreeMap<String, String>,
    /// An instance's cluster.
    pub cluster: Option<String>,
    /// A cluster's instances.
    pub members: Vec<String>,
    pub engine: Option<String>,
    pub engine_version: Option<String>,
    pub storage_encrypted: bool,
    pub kms_key_id: Option<String>,
    pub allocated_storage: Option<i32>,
    /// The endpoint's address (a cluster's: its writer endpoint).
    pub endpoint: Option<String>,
    pub port: Option<i32>,
    /// The master user's password secret, once RDS manages it (`MasterUserSecret`): a DB
    /// instance's own, or a cluster's (its instances have none).
    pub master_secret: Option<MasterSecret>,
}

/// A `MasterUserSecret` (API_MasterUserSecret): its ARN and `SecretStatus` (`creating`,
/// `active`, `rotating`, `impaired`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MasterSecret {
    pub arn: String,
    pub status: String,
}

impl Restored {
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags.get(key).map(String::as_str)
    }

    /// The tester's own: its marker and its name prefix (an operator's database that merely
    /// carries the tags is never touched).
    pub fn is_ours(&self) -> bool {
        self.tag(tags::MARKER) == Some(tags::MARKER_RESTORE_TEST) && self.identifier.starts_with(RESTORE_PREFIX)
    }

    /// When the test started (its tag), UNIX seconds.
    pub fn started_secs(&self) -> Option<i64> {
        let text = self.tag(tags::RESTORE_STARTED_AT)?;
        aws_smithy_types::DateTime::from_str(text, aws_smithy_types::date_time::Format::DateTime).ok().map(|t| t.secs())
    }

    fn is(&self, status: &str) -> bool {
        self.status.eq_ignore_ascii_case(status)
    }
}

/// One test under way: its root resource (the restored instance or cluster) and, for a
/// cluster, its instances.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Test {
    pub root: Restored,
    pub members: Vec<Restored>,
}

impl Test {
    pub fn database(&self) -> Option<&str> {
        self.root.tag(tags::RESTORE_DATABASE)
    }

    pub fn period(&self) -> Option<&str> {
        self.root.tag(tags::RESTORE_PERIOD)
    }

    pub fn copy_arn(&self) -> Option<&str> {
        self.root.tag(tags::RESTORE_OF)
    }

    fn all(&self) -> impl Iterator<Item = &Restored> {
        std::iter::once(&self.root).chain(&self.members)
    }
}

/// The next step of a test under way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "step", rename_all = "kebab-case")]
pub enum Step {
    /// RDS is working on it; nothing to do this run.
    Wait { why: String },
    /// The restored cluster is available and has no instance: create its primary.
    CreateInstance { identifier: String },
    /// Everything is available and the data is to be checked, but RDS does not manage the
    /// master password yet: ask it to (ModifyDBInstance / ModifyDBCluster
    /// `ManageMasterUserPassword`), so the tester reads it from Secrets Manager.
    ManagePassword,
    /// Everything is available (and the password secret active, for a data check): check it,
    /// record the result, delete it.
    Check,
    /// The restore failed (a failed status, or not available in time): record it, delete it.
    Fail { reason: String },
    /// The result is recorded: delete what is not being deleted yet (instances first).
    Delete,
    /// Everything is being deleted; the test is done when it is gone.
    Deleting,
}

/// Groups the tester's resources into tests (a cluster with its instances).
pub fn tests_of(restored: &[Restored]) -> Vec<Test> {
    let ours: Vec<&Restored> = restored.iter().filter(|r| r.is_ours()).collect();
    let mut tests = Vec::new();
    for root in ours.iter().filter(|r| r.kind == ResourceKind::Cluster || r.cluster.is_none()) {
        let members = ours
            .iter()
            .filter(|m| m.kind == ResourceKind::Instance && m.cluster.as_deref() == Some(root.identifier.as_str()))
            .map(|m| (*m).clone())
            .collect();
        tests.push(Test { root: (*root).clone(), members });
    }
    tests
}

/// The next step of `test` at `now`.
pub fn step(test: &Test, now: i64, policy: &Policy) -> Step {
    let checked = test.root.tag(tags::RESTORE_STAGE) == Some(tags::RESTORE_STAGE_CHECKED);
    if checked || test.root.is("deleting") {
        return if test.all().all(|r| r.is("deleting")) { Step::Deleting } else { Step::Delete };
    }
    if let Some(failed) = test.all().find(|r| FAILED_STATUSES.iter().any(|s| r.is(s))) {
        return Step::Fail { reason: format!("{} {} is {}", kind_name(failed.kind), failed.identifier, failed.status) };
    }
    let all_available =
        test.all().all(|r| r.is("available")) && (test.root.kind == ResourceKind::Instance || !test.members.is_empty());
    let secret = test.root.master_secret.as_ref();
    let needs_secret = policy.checks_of(test).is_some();
    if all_available && (!needs_secret || secret.is_some_and(|s| s.status.eq_ignore_ascii_case("active"))) {
        return Step::Check;
    }
    if all_available && secret.is_none() {
        return Step::ManagePassword;
    }
    let mut busy: Vec<String> =
        test.all().filter(|r| !r.is("available")).map(|r| format!("{} {}", r.identifier, r.status)).collect();
    if let Some(secret) = secret.filter(|s| needs_secret && !s.status.eq_ignore_ascii_case("active")) {
        busy.push(format!("the master user secret is {}", secret.status));
    }
    // A restored cluster RDS made available waits for the tester, not for RDS: its primary is
    // created whatever the time (a slow schedule is not a failed restore), and the limit then
    // judges the instance.
    if test.root.kind == ResourceKind::Cluster && test.root.is("available") && test.members.is_empty() {
        return Step::CreateInstance { identifier: format!("{}{CLUSTER_INSTANCE_SUFFIX}", test.root.identifier) };
    }
    let age = test.root.started_secs().map(|s| now - s);
    if let Some(age) = age.filter(|a| *a > policy.available_within_secs) {
        let why = if busy.is_empty() { String::new() } else { format!(": {}", busy.join(", ")) };
        return Step::Fail {
            reason: format!(
                "not available {} after the restore started (limit {}){why}",
                duration_text(age),
                duration_text(policy.available_within_secs)
            ),
        };
    }
    Step::Wait { why: busy.join(", ") }
}

fn kind_name(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::Instance => "DB instance",
        ResourceKind::Cluster => "DB cluster",
    }
}

/// `3h`, `2d5h`, `40m`: durations in reports.
pub fn duration_text(secs: i64) -> String {
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3_600, secs % 3_600 / 60);
    match (d, h, m) {
        (0, 0, m) => format!("{m}m"),
        (0, h, 0) => format!("{h}h"),
        (0, h, m) => format!("{h}h{m}m"),
        (d, 0, _) => format!("{d}d"),
        (d, h, _) => format!("{d}d{h}h"),
    }
}

/// One check of a restored database against the copy it comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub check: String,
    pub passed: bool,
    pub detail: String,
    /// The figure measured, for the evidence record (a row count; the newest value's epoch
    /// seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub figure: Option<serde_json::Number>,
}

impl Finding {
    pub fn new(check: &str, passed: bool, detail: String) -> Self {
        Self { check: check.to_owned(), passed, detail, figure: None }
    }

    pub fn measured(check: &str, passed: bool, detail: String, figure: Option<serde_json::Number>) -> Self {
        Self { figure, ..Self::new(check, passed, detail) }
    }
}

/// The checks the RDS API answers: every resource available, the engine and its version the
/// copy's, the storage encrypted under the copy's key, at least the copy's storage (DB
/// instances; an Aurora cluster's volume grows by itself), an endpoint to connect to.
pub fn api_checks(test: &Test, copy: &Snapshot) -> Vec<Finding> {
    let root = &test.root;
    let mut out = Vec::new();
    let not_available: Vec<&str> = test.all().filter(|r| !r.is("available")).map(|r| r.identifier.as_str()).collect();
    out.push(Finding::new("available", not_available.is_empty(), format!("not available: {not_available:?}")));
    let same = |a: &Option<String>, b: &Option<String>| a.is_some() && a == b;
    out.push(Finding::new(
        "engine",
        same(&root.engine, &copy.engine),
        format!("restored {:?}, copy {:?}", root.engine, copy.engine),
    ));
    out.push(Finding::new(
        "engine version",
        same(&root.engine_version, &copy.engine_version),
        format!("restored {:?}, copy {:?}", root.engine_version, copy.engine_version),
    ));
    let keyed = root.storage_encrypted && same(&root.kms_key_id, &copy.kms_key_id);
    out.push(Finding::new(
        "encryption",
        keyed,
        format!("restored under {:?}, copy under {:?}", root.kms_key_id, copy.kms_key_id),
    ));
    if root.kind == ResourceKind::Instance {
        let enough = matches!((root.allocated_storage, copy.allocated_storage), (Some(r), Some(c)) if r >= c);
        out.push(Finding::new(
            "storage",
            enough,
            format!("restored {:?} GiB, copy {:?} GiB", root.allocated_storage, copy.allocated_storage),
        ));
    }
    let endpoints = test.all().all(|r| r.endpoint.as_deref().is_some_and(|e| !e.is_empty()));
    out.push(Finding::new("endpoint", endpoints, "a resource without an endpoint".to_owned()));
    out
}

/// The figures a passed test records, or the failed checks' details: at most 256 characters
/// (an RDS tag value).
pub fn figures(findings: &[Finding], test: &Test) -> String {
    let failed: Vec<String> =
        findings.iter().filter(|f| !f.passed).map(|f| format!("{}: {}", f.check, f.detail)).collect();
    // The data's figures, short: `public.orders 1234 rows`, `public.orders.created_at 2026-…`.
    let data = findings.iter().filter(|f| f.figure.is_some()).map(|f| match f.check.split_once(' ') {
        Some(("rows", table)) => {
            format!(" / {table} {} rows", f.figure.as_ref().map(ToString::to_string).unwrap_or_default())
        }
        Some((_, column)) => format!(" / {column} {}", f.detail.split(',').next().unwrap_or_default()),
        None => String::new(),
    });
    let data: String = data.collect();
    let text = if failed.is_empty() {
        format!(
            "{} {} / {}{data}",
            test.root.engine.as_deref().unwrap_or("?"),
            test.root.engine_version.as_deref().unwrap_or("?"),
            // An Aurora cluster's AllocatedStorage is always 1 (API_DBCluster): its volume grows.
            match (test.root.kind, test.root.allocated_storage) {
                (ResourceKind::Instance, Some(gib)) => format!("{gib} GiB"),
                (ResourceKind::Instance, None) => "storage unknown".to_owned(),
                (ResourceKind::Cluster, _) => "cluster volume".to_owned(),
            }
        )
    } else {
        failed.join(" / ")
    };
    tag_value(&text)
}

/// `text` as an RDS tag value: only the characters one may hold (letters, digits, spaces and
/// `_ . : / = + - @`), at most 256 ("Tagging Amazon RDS resources").
pub fn tag_value(text: &str) -> String {
    text.chars().filter(|c| c.is_alphanumeric() || " _.:/=+-@".contains(*c)).take(256).collect()
}

/// A test to start: a restore of `copy` for `database` in the period starting `period`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Start {
    pub database: DatabaseKey,
    pub kind: ResourceKind,
    /// The restore's identifier (a cluster's; its instance gets [`CLUSTER_INSTANCE_SUFFIX`]).
    pub identifier: String,
    pub copy_arn: String,
    pub copy_identifier: String,
    pub engine: Option<String>,
    pub engine_version: Option<String>,
    /// The period's first day, `yyyy-mm-dd`.
    pub period: String,
}

/// How a database's restore tests stand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DatabaseState {
    pub database: DatabaseKey,
    /// The newest test of any of its copies: (copy identifier, `passed`/`failed`, when).
    pub last_test: Option<(String, String, i64)>,
    /// When its newest passed test concluded.
    pub last_passed: Option<i64>,
    /// When the data of its oldest vault copy was taken: how long it could have been tested.
    pub oldest_import_taken: Option<i64>,
    /// The test under way (its restore's identifier), if any.
    pub running: Option<String>,
    /// What this run decided for it.
    pub outcome: Outcome,
}

/// What a run decides for a database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum Outcome {
    /// This period's test is done.
    Tested { result: String },
    /// This period's test is under way.
    Running { restore: String },
    /// Started in this run.
    Start { restore: String },
    /// Due, not started this run: the cap on tests at once is reached, or RDS refused (the
    /// run's `starts` say which); a later run starts it.
    Deferred { restore: String },
    /// No genuine, available copy within the window (one period): nothing to test.
    NoCopyInWindow,
}

/// The whole decision of one run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub tests: Vec<(Test, Step)>,
    /// Every due test, in the order they may start (stalest database first).
    pub starts: Vec<Start>,
    /// How many of them may hold a restore this run (the cap less the tests under way).
    pub slots: u32,
    /// Evidence to carry forward onto the databases' newest copies.
    pub carries: Vec<Carry>,
    pub databases: Vec<DatabaseState>,
    /// The tester's resources older than the overdue limit (identifier, age in seconds).
    pub overdue: Vec<(String, i64)>,
}

/// The period containing `now`: its first second.
pub fn period_start(now: i64, every_secs: i64) -> i64 {
    now - now.rem_euclid(every_secs.max(1))
}

/// The restore identifier of `database`'s test in the period starting `period_start`:
/// `rt-<yyyymmdd>-<12 hex of SHA-256("<account>/<database>")>`, 24 characters (DB instance
/// and cluster identifiers: 1 to 63 letters, digits and hyphens, a letter first).
pub fn restore_identifier(database: &DatabaseKey, period_start: i64) -> String {
    let digest = Sha256::digest(database.to_string().as_bytes());
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("{RESTORE_PREFIX}{}-{hex}", date_text(period_start).replace('-', ""))
}

/// The copy a test restores among `candidates` (taken within the window, oldest first).
fn pick<'a>(
    candidates: &[(&'a Snapshot, i64)],
    pick: Pick,
    database: &DatabaseKey,
    period: &str,
) -> Option<&'a Snapshot> {
    match pick {
        Pick::Latest => candidates.last().map(|(c, _)| *c),
        Pick::Random => {
            // The same choice for every run and tester of the period: seeded by it.
            let digest = Sha256::digest(format!("{database}#{period}").as_bytes());
            let seed = digest.iter().take(8).fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
            let n = u64::try_from(candidates.len()).ok().filter(|n| *n > 0)?;
            let index = usize::try_from(seed % n).ok()?;
            candidates.get(index).map(|(c, _)| *c)
        }
    }
}

/// When a copy's newest test concluded (its `offsite:restore-tested-at`), UNIX seconds.
pub fn tested_secs(copy: &Snapshot) -> Option<i64> {
    tag_time(copy, tags::RESTORE_TESTED_AT)
}

/// A time tag (RFC 3339) of a copy, UNIX seconds.
fn tag_time(copy: &Snapshot, key: &str) -> Option<i64> {
    let text = copy.tag(key)?;
    aws_smithy_types::DateTime::from_str(text, aws_smithy_types::date_time::Format::DateTime).ok().map(|t| t.secs())
}

/// The vault's genuine, available imports (or their second-Region copies) per source
/// database, each with the time its data was taken, oldest first.
pub fn imports_by_database(copies: &[Snapshot]) -> BTreeMap<DatabaseKey, Vec<(&Snapshot, i64)>> {
    let mut per_database: BTreeMap<DatabaseKey, Vec<(&Snapshot, i64)>> = BTreeMap::new();
    for copy in copies {
        // The vault's imports, or in its second Region their copies, which carry the
        // imports' lineage tags (importer/src/dr.rs).
        let marked = matches!(copy.tag(tags::MARKER), Some(tags::MARKER_IMPORT | tags::MARKER_IMPORT_DR));
        let genuine = marked && is_genuine_import(copy) && copy.status == SnapshotStatus::Available;
        if let (true, Some(database), Some(taken)) = (genuine, database_of(copy), import_taken_secs(copy)) {
            per_database.entry(database).or_default().push((copy, taken));
        }
    }
    for list in per_database.values_mut() {
        list.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.arn.cmp(&b.0.arn)));
    }
    per_database
}

/// A database's newest test (the copy and when) and when its newest passed test concluded,
/// from its copies' evidence tags, the carried-forward ones included (the copy tested may
/// be gone: retention deletes it in time).
pub fn test_history<'a>(copies: &[(&'a Snapshot, i64)]) -> (Option<(&'a Snapshot, i64)>, Option<i64>) {
    let newest = copies.iter().filter_map(|(c, _)| Some((*c, tested_secs(c)?))).max_by_key(|(_, at)| *at);
    let passed = copies
        .iter()
        .filter(|(c, _)| c.tag(tags::RESTORE_TEST) == Some("passed"))
        .filter_map(|(c, _)| tested_secs(c))
        .chain(copies.iter().filter_map(|(c, _)| tag_time(c, tags::RESTORE_TEST_LAST_PASSED)))
        .max();
    (newest, passed)
}

/// The newest period a database was tested in, from its copies' evidence (carried forward
/// included), `yyyy-mm-dd`.
fn last_tested_period(copies: &[(&Snapshot, i64)]) -> Option<String> {
    copies
        .iter()
        .flat_map(|(c, _)| [c.tag(tags::RESTORE_TEST_PERIOD), c.tag(tags::RESTORE_TEST_LAST_PERIOD)])
        .flatten()
        .max()
        .map(str::to_owned)
}

/// The evidence to carry forward onto a database's newest copy so that it outlives the
/// copies tested: the newest passed test's time and the newest tested period, where the
/// newest copy does not say so yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Carry {
    pub copy_arn: String,
    pub tags: BTreeMap<String, String>,
}

fn carry(copies: &[(&Snapshot, i64)], last_passed: Option<i64>) -> Option<Carry> {
    let (newest, _) = copies.last()?;
    let mut tags = BTreeMap::new();
    if let Some(passed) = last_passed.filter(|p| tag_time(newest, tags::RESTORE_TEST_LAST_PASSED) != Some(*p)) {
        let text =
            aws_smithy_types::DateTime::from_secs(passed).fmt(aws_smithy_types::date_time::Format::DateTime).ok()?;
        tags.insert(tags::RESTORE_TEST_LAST_PASSED.to_owned(), text);
    }
    if let Some(period) = last_tested_period(copies).filter(|p| newest.tag(tags::RESTORE_TEST_LAST_PERIOD) != Some(p)) {
        tags.insert(tags::RESTORE_TEST_LAST_PERIOD.to_owned(), period);
    }
    (!tags.is_empty()).then(|| Carry { copy_arn: newest.arn.clone(), tags })
}

/// Decides the run. `copies` are the vault's imports (only genuine, available ones count),
/// `restored` every DB instance and cluster of the account (only the tester's count).
pub fn plan(copies: &[Snapshot], restored: &[Restored], policy: &Policy, now: i64) -> Plan {
    let tests = tests_of(restored);
    let start = period_start(now, policy.every_secs);
    let period = date_text(start);
    let per_database = imports_by_database(copies);
    let running_of = |database: &DatabaseKey| {
        let key = database.to_string();
        tests.iter().find(|t| t.database() == Some(key.as_str())).map(|t| t.root.identifier.clone())
    };
    let running = u32::try_from(tests.len()).unwrap_or(u32::MAX);
    let mut states = Vec::new();
    let mut due = Vec::new();
    let mut carries = Vec::new();
    for (database, list) in per_database {
        let (newest_test, last_passed) = test_history(&list);
        carries.extend(carry(&list, last_passed));
        let identifier = restore_identifier(&database, start);
        let under_way = running_of(&database);
        let tested_period = last_tested_period(&list).filter(|p| *p == period);
        let this_period = tested_period.map(|_| {
            // The result of the newest test (the copy tested may be gone: then unknown).
            newest_test.and_then(|(c, _)| c.tag(tags::RESTORE_TEST)).unwrap_or("unknown").to_owned()
        });
        let in_window: Vec<(&Snapshot, i64)> =
            list.iter().filter(|(_, taken)| *taken > now - policy.every_secs && *taken <= now).copied().collect();
        let outcome = match (&under_way, this_period) {
            (Some(restore), _) => Outcome::Running { restore: restore.clone() },
            (None, Some(result)) => Outcome::Tested { result },
            (None, None) => match pick(&in_window, policy.pick, &database, &period) {
                None => Outcome::NoCopyInWindow,
                Some(copy) => {
                    due.push((last_passed, states.len(), copy));
                    Outcome::Deferred { restore: identifier.clone() }
                }
            },
        };
        states.push(DatabaseState {
            last_test: newest_test
                .map(|(c, at)| (c.identifier.clone(), c.tag(tags::RESTORE_TEST).unwrap_or("unknown").to_owned(), at)),
            last_passed,
            oldest_import_taken: list.first().map(|(_, taken)| *taken),
            running: under_way,
            outcome,
            database,
        });
    }
    // The databases whose newest passed test is the oldest (never: first) start first; the
    // run starts them in this order until the free slots hold a restore (a start RDS refuses
    // holds none, so it never keeps the others waiting).
    due.sort_by_key(|(last_passed, index, _)| (*last_passed, *index));
    let mut starts = Vec::new();
    for (_, index, copy) in due {
        let state = &states[index];
        let identifier = restore_identifier(&state.database, start);
        starts.push(Start {
            database: state.database.clone(),
            kind: match copy.kind {
                SnapshotKind::Instance => ResourceKind::Instance,
                SnapshotKind::Cluster => ResourceKind::Cluster,
            },
            identifier: identifier.clone(),
            copy_arn: copy.arn.clone(),
            copy_identifier: copy.identifier.clone(),
            engine: copy.engine.clone(),
            engine_version: copy.engine_version.clone(),
            period: period.clone(),
        });
    }
    let mut overdue = Vec::new();
    for test in &tests {
        for resource in test.all() {
            let age = resource.started_secs().or(test.root.started_secs()).map(|s| now - s);
            if let Some(age) = age.filter(|a| *a > policy.overdue_after_secs) {
                overdue.push((resource.identifier.clone(), age));
            }
        }
    }
    let steps = tests.into_iter().map(|t| {
        let s = step(&t, now, policy);
        (t, s)
    });
    let slots = policy.max_running.saturating_sub(running);
    Plan { tests: steps.collect(), starts, slots, databases: states, overdue, carries }
}

#[cfg(test)]
mod tests;
