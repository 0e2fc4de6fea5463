//! The importer's run over one SQS batch, and the reconciler's run over what is shared.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::{StreamExt, stream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use offsite_common::metrics::Metrics;
use offsite_common::quota::SnapshotQuotas;
use offsite_common::rds::{RdsError, RdsSnapshots};
use offsite_common::rds_error::RdsErrorKind;
use offsite_common::snapshot::{Snapshot, SnapshotArn, SnapshotKind, SnapshotStatus};
use offsite_common::tags;
use serde::Serialize;

use crate::allow::AllowedSource;
use crate::dr::SecondRegion;
use crate::envelope::{self, BatchResponse, ItemFailure, SqsEvent, SqsMessage};
use crate::import::{ImportError, ImportedBy, import, provenance};
use crate::outcome::{Outcome, Verdict, metrics};
use crate::register::{Register, compare, databases_of};
use crate::settings::VaultSettings;
use crate::verify::{Expectations, Rejection, check_notice, check_shared};
use offsite_common::lineage::is_genuine_import;
use offsite_common::notice::Notice;

const KINDS: [SnapshotKind; 2] = [SnapshotKind::Instance, SnapshotKind::Cluster];

/// How long a warm importer trusts its listing of the vault before listing again.
///
/// Listing the whole vault on every SQS batch made each batch's cost grow with the vault
/// (the importer benchmark: 641 listing pages for 1,000 notices). The listing only serves
/// two purposes, and neither needs it fresh to the second: skipping a notice whose copy is
/// already imported is an optimisation (the vault identifier is deterministic and `import`
/// treats "already exists" with the right lineage as done), and the per-account daily cap is a
/// brake on a flooding workload account, which may then overshoot by what other warm
/// containers imported in the last few minutes.
pub const VAULT_LISTING_TTL: Duration = Duration::from_secs(300);

/// The vault side: RDS access plus settings, and the optional second region.
#[derive(Debug, Clone)]
pub struct Vault {
    rds: RdsSnapshots,
    settings: VaultSettings,
    second_region: Option<SecondRegion>,
    /// The reconciler's register of protected databases.
    register: Option<Register>,
    /// The importer's listing of the vault, with when it was made (see
    /// [`VAULT_LISTING_TTL`]); shared by the clones of one warm container.
    listing: Arc<Mutex<Option<(Instant, Existing)>>>,
    /// The importer's SQS client, to send a notice deferred at the quota to its queue again.
    requeue: Option<aws_sdk_sqs::Client>,
}

/// How long a notice deferred at the quota waits in the queue before it is delivered again:
/// SQS's longest `DelaySeconds` (15 minutes, SendMessage API reference).
pub const REQUEUE_DELAY_SECONDS: i32 = 900;

/// The vault's own copies, indexed the ways a run needs them.
#[derive(Debug, Clone)]
struct Existing {
    by_copy_arn: BTreeSet<String>,
    today_by_account: BTreeMap<String, u32>,
    today: String,
}

impl Existing {
    /// The UTC day (`yyyy-mm-dd`) the daily cap counts.
    fn day(now: DateTime) -> String {
        now.fmt(Format::DateTime).unwrap_or_default().chars().take(10).collect()
    }

    fn new(copies: &[Snapshot], now: DateTime) -> Self {
        let today = Self::day(now);
        let mut today_by_account: BTreeMap<String, u32> = BTreeMap::new();
        for copy in copies {
            if copy.tag(tags::IMPORTED_AT).is_some_and(|at| at.starts_with(&today))
                && let Some(account) = copy.tag(tags::SOURCE_ACCOUNT)
            {
                *today_by_account.entry(account.to_owned()).or_default() += 1;
            }
        }
        let by_copy_arn = copies.iter().filter_map(|c| c.tag(tags::COPY_ARN).map(str::to_owned)).collect();
        Self { by_copy_arn, today_by_account, today }
    }

    fn imported_today(&self, account: &str) -> u32 {
        self.today_by_account.get(account).copied().unwrap_or(0)
    }
}

/// What the records of one batch (or the shares of one reconciler run) share while they are
/// handled at once: the vault's copies, the imports reserved against the caps, the copies in
/// flight and the kinds whose quota was met. Held only between awaits (a std mutex, never
/// across a call), so each record's decisions see every other record's.
#[derive(Debug)]
struct RunState {
    existing: Existing,
    /// Imports reserved against the per-invocation cap: started, or starting.
    started: u32,
    /// Copies a record of this run is importing now (a batch may hold one notice twice).
    in_flight: BTreeSet<String>,
    /// The kinds whose manual snapshot quota this run met: the rest of that kind is deferred
    /// without trying (one clear state, not a failure per notice); the other kind has its own.
    walls: BTreeSet<SnapshotKind>,
}

/// Why a record may not start an import now.
enum Hold {
    AlreadyImported(&'static str),
    AtQuota,
    Deferred(String),
}

impl RunState {
    fn new(existing: Existing) -> Mutex<Self> {
        Mutex::new(Self { existing, started: 0, in_flight: BTreeSet::new(), walls: BTreeSet::new() })
    }

    /// Reserves an import of `copy_arn` from `account` against both caps, or says why not.
    /// A reservation is released when the import does not start ([`Self::release`]) and
    /// kept when it does ([`Self::imported`]): the caps count what started, exactly once.
    fn reserve(
        &mut self,
        settings: &VaultSettings,
        kind: SnapshotKind,
        account: &str,
        copy_arn: &str,
    ) -> Result<(), Hold> {
        if self.existing.by_copy_arn.contains(copy_arn) {
            return Err(Hold::AlreadyImported("a redelivery or replay: this copy is in the vault already"));
        }
        if self.in_flight.contains(copy_arn) {
            return Err(Hold::AlreadyImported("another record of this run is importing this copy"));
        }
        if self.walls.contains(&kind) {
            return Err(Hold::AtQuota);
        }
        if self.started >= settings.max_per_invocation {
            return Err(Hold::Deferred(format!("{} imports per invocation", settings.max_per_invocation)));
        }
        if self.existing.imported_today(account) >= settings.max_per_source_per_day {
            return Err(Hold::Deferred(format!(
                "{} imports from {account} on {}",
                settings.max_per_source_per_day, self.existing.today
            )));
        }
        self.started += 1;
        *self.existing.today_by_account.entry(account.to_owned()).or_default() += 1;
        self.in_flight.insert(copy_arn.to_owned());
        Ok(())
    }

    /// The import did not start: its reservation goes back.
    fn release(&mut self, account: &str, copy_arn: &str) {
        self.started = self.started.saturating_sub(1);
        if let Some(count) = self.existing.today_by_account.get_mut(account) {
            *count = count.saturating_sub(1);
        }
        self.in_flight.remove(copy_arn);
    }

    /// The import started: it counts, and its copy is in the vault.
    fn imported(&mut self, copy_arn: &str) {
        self.in_flight.remove(copy_arn);
        self.existing.by_copy_arn.insert(copy_arn.to_owned());
    }
}

/// Locks the run's state; a poisoned lock (a panic elsewhere) still holds consistent counts.
fn lock(state: &Mutex<RunState>) -> std::sync::MutexGuard<'_, RunState> {
    state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The result of a batch: the partial batch response and what happened to each message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchReport {
    pub response: BatchResponse,
    pub outcomes: Vec<Outcome>,
    pub day: String,
    /// The vault's manual snapshot quotas before the batch, when it read them (with a fresh
    /// listing of the vault).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot_quotas: Option<SnapshotQuotas>,
}

impl Vault {
    pub fn new(rds: RdsSnapshots, settings: VaultSettings) -> Self {
        Self { rds, settings, second_region: None, register: None, listing: Arc::new(Mutex::new(None)), requeue: None }
    }

    /// The reconciler remembers every database it sees an import of, and reports those
    /// with no copy left.
    pub fn with_register(mut self, register: Register) -> Self {
        self.register = Some(register);
        self
    }

    /// The importer sends a notice it deferred at the manual snapshot quota to its queue
    /// again with this client (its role may `sqs:SendMessage` to its own queue): a new
    /// message, so waiting for room never counts receives toward the dead-letter queue.
    pub fn with_requeue(mut self, sqs: aws_sdk_sqs::Client) -> Self {
        self.requeue = Some(sqs);
        self
    }

    /// The reconciler also copies every available import into this second region.
    pub fn with_second_region(mut self, second_region: SecondRegion) -> Self {
        self.second_region = Some(second_region);
        self
    }

    pub fn settings(&self) -> &VaultSettings {
        &self.settings
    }

    /// The vault's own copies (both kinds), with tags; snapshots that only carry the
    /// marker are left out.
    pub async fn vault_copies(&self) -> Result<Vec<Snapshot>, RdsError> {
        let marked = self.rds.list_marked(&KINDS, tags::MARKER_IMPORT).await?;
        Ok(marked.into_iter().filter(is_genuine_import).collect())
    }

    /// Handles one SQS batch: every record is verified and imported on its own; only the
    /// failed ones are returned to the queue. Fails as a whole only when the vault's own
    /// copies cannot be listed (then the whole batch comes back).
    pub async fn handle_batch(&self, event: &SqsEvent, now: DateTime) -> Result<BatchReport, RdsError> {
        let (listed_at, existing, listed_now) = self.recent_listing(now).await?;
        // The quotas with the vault's listing: at most every VAULT_LISTING_TTL per warm
        // container (one call, not one per batch), before the batch's own calls.
        let snapshot_quotas = if listed_now { self.rds.report_snapshot_quotas("importer").await } else { None };
        let expect = Expectations {
            allow: &self.settings.allow,
            region: &self.settings.region,
            now,
            max_notice_age: self.settings.max_notice_age,
        };
        // The records at once, at most `import_concurrency` in flight, their outcomes in the
        // batch's order: each reserves its import against the caps when it is first polled,
        // in order, before its first call.
        let state = RunState::new(existing);
        let mut outcomes: Vec<Outcome> = stream::iter(&event.records)
            .map(|record| self.handle_record(record, &expect, &state, now))
            .buffered(self.settings.import_concurrency)
            .collect()
            .await;
        let RunState { existing, walls, .. } = state.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
        if !walls.is_empty() {
            tracing::error!("the vault's manual snapshot quota is reached: notices deferred (README, \"Capacity\")");
            self.requeue(event, &mut outcomes).await;
        }
        for outcome in &outcomes {
            outcome.log();
        }
        let response = BatchResponse {
            batch_item_failures: outcomes
                .iter()
                .filter(|o| o.failed())
                .map(|o| ItemFailure { item_identifier: o.item.clone() })
                .collect(),
        };
        let day = existing.today.clone();
        // This batch's imports count for the next batches of this container.
        if let Ok(mut listing) = self.listing.lock() {
            *listing = Some((listed_at, existing));
        }
        let report = BatchReport { response, outcomes, day, snapshot_quotas };
        metrics(&report.outcomes, "importer").flush();
        Ok(report)
    }

    /// Sends each notice deferred at the quota to its queue again, delayed; one that cannot
    /// be sent stays failed (it comes back by the visibility timeout, as any failure).
    async fn requeue(&self, event: &SqsEvent, outcomes: &mut [Outcome]) {
        let Some(sqs) = &self.requeue else { return };
        let mut queue_urls: BTreeMap<String, Option<String>> = BTreeMap::new();
        for (record, outcome) in event.records.iter().zip(outcomes.iter_mut()) {
            if outcome.result != Verdict::AtQuota {
                continue;
            }
            let Some(arn) = record.event_source_arn.as_deref() else {
                tracing::warn!(item = %outcome.item, "the record names no queue (eventSourceARN): the deferred notice comes back by the visibility timeout");
                continue;
            };
            if !queue_urls.contains_key(arn) {
                let url = queue_url(sqs, arn).await;
                queue_urls.insert(arn.to_owned(), url);
            }
            let Some(Some(url)) = queue_urls.get(arn) else { continue };
            let sent = sqs
                .send_message()
                .queue_url(url)
                .message_body(&record.body)
                .delay_seconds(REQUEUE_DELAY_SECONDS)
                .send()
                .await;
            match sent {
                Ok(_) => outcome.requeued = true,
                Err(e) => {
                    tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(&e), item = %outcome.item, "cannot send the deferred notice again; it comes back by the visibility timeout")
                }
            }
        }
    }

    /// The vault's copies as listed at most [`VAULT_LISTING_TTL`] ago (and on the same
    /// UTC day), plus this container's imports since; lists again when older.
    /// The third value says whether the vault was listed now.
    async fn recent_listing(&self, now: DateTime) -> Result<(Instant, Existing, bool), RdsError> {
        let cached = self.listing.lock().ok().and_then(|listing| listing.clone());
        if let Some((listed_at, existing)) = cached {
            let today = Existing::day(now);
            if listed_at.elapsed() < VAULT_LISTING_TTL && existing.today == today {
                return Ok((listed_at, existing, false));
            }
        }
        Ok((Instant::now(), Existing::new(&self.vault_copies().await?, now), true))
    }

    async fn handle_record(
        &self,
        record: &SqsMessage,
        expect: &Expectations<'_>,
        state: &Mutex<RunState>,
        now: DateTime,
    ) -> Outcome {
        let message_id = record.message_id.as_str();
        let checked = envelope::open(&record.body).map_err(Rejection::from).and_then(|e| check_notice(&e, expect));
        let (notice, source) = match checked {
            Ok(checked) => checked,
            Err(rejection) => return Outcome::rejected(message_id, None, &rejection),
        };
        let copy_arn = Some(notice.copy_arn.clone());
        let account = source.account.to_string();
        let reserved = lock(state).reserve(&self.settings, notice.kind, &account, &notice.copy_arn);
        if let Err(hold) = reserved {
            return held(message_id, copy_arn, hold);
        }
        let outcome = self.verify_and_import(&notice, source, message_id, state, now).await;
        settle(state, &outcome, &account, &notice.copy_arn, notice.kind);
        outcome
    }

    /// The notice's claims re-read from RDS, then the copy (its reservation held).
    async fn verify_and_import(
        &self,
        notice: &Notice,
        source: &AllowedSource,
        message_id: &str,
        state: &Mutex<RunState>,
        now: DateTime,
    ) -> Outcome {
        let copy_arn = Some(notice.copy_arn.clone());
        let found = match self.rds.describe(notice.kind, &notice.copy_arn, Some("shared")).await {
            Ok(found) => found,
            Err(error) => return errored(message_id, copy_arn, &ImportError::Rds(error)),
        };
        if let Err(rejection) = check_shared(found.as_ref(), &notice.copy_arn, notice.kind, source) {
            return Outcome::rejected(message_id, copy_arn, &rejection);
        }
        let Some(shared) = found else {
            return Outcome::rejected(message_id, copy_arn, &Rejection::NotShared(notice.copy_arn.clone()));
        };
        // Another record met the quota meanwhile: this one waits as well.
        if lock(state).walls.contains(&notice.kind) {
            return Outcome::at_quota(message_id, copy_arn);
        }
        let tags = provenance(&shared, source, Some(notice), ImportedBy::Importer, now);
        match import(&self.rds, &self.settings.import_key, &shared, tags).await {
            Ok(imported) => Outcome::imported(message_id, copy_arn, imported),
            Err(error) => errored(message_id, copy_arn, &error),
        }
    }

    /// The reconciler: imports what is shared with the vault by allowed accounts and not
    /// imported yet; reports shares from unknown accounts (never imported); emits the
    /// freshness of each source database.
    pub async fn reconcile(&self, now: DateTime) -> Result<ReconcileReport, RdsError> {
        let copies = self.vault_copies().await?;
        let state = RunState::new(Existing::new(&copies, now));
        let mut outcomes = Vec::new();
        for kind in KINDS {
            // Not imported yet, at most `import_concurrency` at once; at RDS's quota of this
            // kind the rest of it waits for the next run (the share stays).
            let shared = self.rds.list(kind, Some("shared")).await?;
            let pending: Vec<&Snapshot> =
                shared.iter().filter(|s| !lock(&state).existing.by_copy_arn.contains(&s.arn)).collect();
            let handled: Vec<Outcome> = stream::iter(pending)
                .map(|shared| self.reconcile_one(shared, &state, now))
                .buffered(self.settings.import_concurrency)
                .collect()
                .await;
            for outcome in handled {
                outcome.log();
                outcomes.push(outcome);
            }
        }
        if let Some(second) = &self.second_region {
            for outcome in second.replicate(&copies).await {
                outcome.log();
                outcomes.push(outcome);
            }
        }
        let mut freshness = freshness(&copies, now);
        let (lost_databases, register_error) = match &self.register {
            Some(register) => check_register(register, &copies, now).await,
            None => (Vec::new(), None),
        };
        // A database with no copy left has the age of nothing: beyond any RPO.
        freshness.extend(lost_databases.iter().map(|(source_account, source_database)| Freshness {
            source_account: source_account.clone(),
            source_database: source_database.clone(),
            newest_age_seconds: u64::try_from(now.secs()).unwrap_or(0),
            copies: 0,
        }));
        for database in &freshness {
            let mut metrics = Metrics::with_dimensions(&[
                ("SourceAccount", &database.source_account),
                ("SourceDatabase", &database.source_database),
            ]);
            metrics.add("NewestVaultCopyAgeSeconds", database.newest_age_seconds as f64);
            metrics.flush();
        }
        let mut run_metrics = metrics(&outcomes, "reconciler");
        run_metrics.add("LostDatabases", lost_databases.len() as f64);
        run_metrics.flush();
        let lost_databases =
            lost_databases.into_iter().map(|(account, database)| format!("{account}/{database}")).collect();
        let mut snapshot_quotas = BTreeMap::new();
        if let Some(quotas) = self.rds.report_snapshot_quotas("reconciler").await {
            snapshot_quotas.insert(self.rds.region(), quotas);
        }
        if let Some(second) = &self.second_region
            && let Some(quotas) = second.report_snapshot_quotas().await
        {
            snapshot_quotas.insert(second.region(), quotas);
        }
        Ok(ReconcileReport { outcomes, freshness, lost_databases, register_error, snapshot_quotas })
    }

    async fn reconcile_one(&self, shared: &Snapshot, state: &Mutex<RunState>, now: DateTime) -> Outcome {
        let item = shared.arn.clone();
        let copy_arn = Some(shared.arn.clone());
        let account = match shared.arn.parse::<SnapshotArn>() {
            Ok(arn) => arn.account,
            Err(e) => return Outcome::rejected(&item, copy_arn, &Rejection::NotShareFromSource(e.to_string())),
        };
        let Some(source) = self.settings.allow.get(&account) else {
            return Outcome::rejected(&item, copy_arn, &Rejection::AccountNotAllowed(account.to_string()));
        };
        if let Err(rejection) = check_shared(Some(shared), &shared.arn, shared.kind, source) {
            return Outcome::rejected(&item, copy_arn, &rejection);
        }
        let account = account.to_string();
        if let Err(hold) = lock(state).reserve(&self.settings, shared.kind, &account, &shared.arn) {
            return held(&item, copy_arn, hold);
        }
        let tags = provenance(shared, source, None, ImportedBy::Reconciler, now);
        let outcome = match import(&self.rds, &self.settings.import_key, shared, tags).await {
            Ok(imported) => Outcome::imported(&item, copy_arn, imported),
            Err(error) => errored(&item, copy_arn, &error),
        };
        settle(state, &outcome, &account, &shared.arn, shared.kind);
        outcome
    }
}

/// The outcome of a record that may not start its import now.
fn held(item: &str, copy_arn: Option<String>, hold: Hold) -> Outcome {
    match hold {
        Hold::AlreadyImported(reason) => {
            Outcome::new(item, copy_arn, Verdict::AlreadyImported, None, reason.to_owned())
        }
        Hold::AtQuota => Outcome::at_quota(item, copy_arn),
        Hold::Deferred(why) => Outcome::rejected(item, copy_arn, &Rejection::Deferred(why)),
    }
}

/// Settles a reservation by its outcome: an import that started keeps it; anything else
/// gives it back, and a copy refused at the quota walls its kind off for the rest of the run.
fn settle(state: &Mutex<RunState>, outcome: &Outcome, account: &str, copy_arn: &str, kind: SnapshotKind) {
    let mut state = lock(state);
    match outcome.result {
        Verdict::Imported => state.imported(copy_arn),
        // The vault copy existed (a redelivery after a crash): nothing started, nothing counts.
        Verdict::AlreadyImported => {
            state.release(account, copy_arn);
            state.existing.by_copy_arn.insert(copy_arn.to_owned());
        }
        _ => state.release(account, copy_arn),
    }
    if outcome.result == Verdict::AtQuota {
        state.walls.insert(kind);
    }
}

/// The reconciler's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReconcileReport {
    pub outcomes: Vec<Outcome>,
    /// Per protected database; a lost one (no copy left) with 0 copies and the age of nothing.
    pub freshness: Vec<Freshness>,
    /// Databases the register remembers and the vault holds no copy of (`account/database`).
    pub lost_databases: Vec<String>,
    /// The register could not be read or written: the run's imports stand, the invocation
    /// fails so that the error alarm says so.
    pub register_error: Option<String>,
    /// The vault's manual snapshot quotas after the run, in its region and (when configured)
    /// its second region.
    pub snapshot_quotas: BTreeMap<String, SnapshotQuotas>,
}

/// Remembers the databases of `copies` the register does not hold yet; returns the ones it
/// holds with no copy left (each logged as a security finding), and the register's error.
async fn check_register(
    register: &Register,
    copies: &[Snapshot],
    now: DateTime,
) -> (Vec<(String, String)>, Option<String>) {
    let remembered = match register.remembered().await {
        Ok(remembered) => remembered,
        Err(error) => {
            tracing::error!(error = %error, "the register of protected databases cannot be read");
            return (Vec::new(), Some(error.to_string()));
        }
    };
    let (new, lost) = compare(&remembered, &databases_of(copies));
    let mut register_error = None;
    for key in &new {
        if let Err(error) = register.remember(key, now).await {
            tracing::error!(error = %error, "a protected database cannot be remembered");
            register_error.get_or_insert(error.to_string());
        }
    }
    for (account, database) in &lost {
        tracing::error!(source_account = %account, source_database = %database, "SECURITY: the vault holds no copy of a database it protects");
    }
    (lost, register_error)
}

/// How old the newest vault copy of one source database is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Freshness {
    pub source_account: String,
    pub source_database: String,
    /// Age of the data in the newest available vault copy (from the original snapshot time).
    pub newest_age_seconds: u64,
    pub copies: usize,
}

/// Freshness per (source account, source database) over the available vault copies.
pub fn freshness(copies: &[Snapshot], now: DateTime) -> Vec<Freshness> {
    let mut by_database: BTreeMap<(String, String), (i64, usize)> = BTreeMap::new();
    for copy in copies.iter().filter(|c| c.status == SnapshotStatus::Available) {
        let account = copy.tag(tags::SOURCE_ACCOUNT).unwrap_or("?").to_owned();
        let database = copy.tag(tags::SOURCE_DATABASE).unwrap_or("?").to_owned();
        let taken = copy
            .tag(tags::SOURCE_CREATED)
            .and_then(|t| DateTime::from_str(t, Format::DateTime).ok())
            .or(copy.created)
            .map_or(0, |t| t.secs());
        let entry = by_database.entry((account, database)).or_insert((i64::MIN, 0));
        entry.0 = entry.0.max(taken);
        entry.1 += 1;
    }
    by_database
        .into_iter()
        .map(|((source_account, source_database), (newest, count))| Freshness {
            source_account,
            source_database,
            newest_age_seconds: u64::try_from(now.secs().saturating_sub(newest)).unwrap_or(0),
            copies: count,
        })
        .collect()
}

fn errored(item: &str, copy_arn: Option<String>, error: &ImportError) -> Outcome {
    match error {
        ImportError::Rejected(rejection) => Outcome::rejected(item, copy_arn, rejection),
        ImportError::Rds(rds) if rds.kind == RdsErrorKind::QuotaExceeded => Outcome::at_quota(item, copy_arn),
        ImportError::Rds(rds) => Outcome::error(item, copy_arn, rds),
    }
}

/// The URL of the queue `arn` names (`arn:<partition>:sqs:<region>:<account>:<name>`).
async fn queue_url(sqs: &aws_sdk_sqs::Client, arn: &str) -> Option<String> {
    let parts: Vec<&str> = arn.split(':').collect();
    let [_, _, "sqs", _, account, name] = parts[..] else {
        tracing::warn!(event_source_arn = %arn, "not an SQS queue ARN: the deferred notice cannot be sent again");
        return None;
    };
    match sqs.get_queue_url().queue_name(name).queue_owner_aws_account_id(account).send().await {
        Ok(found) => found.queue_url,
        Err(e) => {
            tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(&e), queue = %arn, "cannot find the queue to send the deferred notice again");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use offsite_common::config::coverage::env;

    use super::*;
    use offsite_common::aws::REGION_VAR;

    use crate::settings::{ALLOWED_SOURCES_VAR, IMPORT_KEY_VAR, MAX_PER_INVOCATION_VAR, MAX_PER_SOURCE_PER_DAY_VAR};

    fn settings(per_run: &str, per_day: &str) -> VaultSettings {
        VaultSettings::from_env(&env(&[
            (REGION_VAR, "us-east-1"),
            (IMPORT_KEY_VAR, "arn:aws:kms:us-east-1:222222222222:key/import"),
            (
                ALLOWED_SOURCES_VAR,
                r#"[{"account":"111111111111","export_key_arn":"arn:aws:kms:us-east-1:111111111111:key/k"}]"#,
            ),
            (MAX_PER_INVOCATION_VAR, per_run),
            (MAX_PER_SOURCE_PER_DAY_VAR, per_day),
        ]))
        .expect("valid")
    }

    fn state() -> RunState {
        let existing =
            Existing { by_copy_arn: BTreeSet::new(), today_by_account: BTreeMap::new(), today: "2026-12-07".into() };
        RunState { existing, started: 0, in_flight: BTreeSet::new(), walls: BTreeSet::new() }
    }

    const A: &str = "111111111111";
    const I: SnapshotKind = SnapshotKind::Instance;

    #[test]
    fn reservations_hold_the_caps_and_only_started_imports_keep_them() {
        let s = settings("2", "50");
        let mut state = state();
        assert!(state.reserve(&s, I, A, "c1").is_ok());
        assert!(state.reserve(&s, I, A, "c2").is_ok());
        // Both slots held while their imports run: the third waits.
        assert!(matches!(state.reserve(&s, I, A, "c3"), Err(Hold::Deferred(why)) if why == "2 imports per invocation"));
        // c2's copy did not start (a rejection, an error): its slot goes to c3.
        state.release(A, "c2");
        assert!(state.reserve(&s, I, A, "c3").is_ok());
        state.imported("c1");
        state.imported("c3");
        assert_eq!((state.started, state.existing.imported_today(A)), (2, 2), "counted once each");
        assert!(state.in_flight.is_empty());
        assert!(matches!(state.reserve(&s, I, A, "c1"), Err(Hold::AlreadyImported(_))));
    }

    #[test]
    fn a_copy_in_flight_is_not_imported_twice_and_a_wall_stops_its_kind_only() {
        let s = settings("20", "2");
        let mut state = state();
        assert!(state.reserve(&s, I, A, "c1").is_ok());
        let twice = state.reserve(&s, I, A, "c1");
        assert!(matches!(twice, Err(Hold::AlreadyImported(why)) if why.contains("another record")));
        // The per-account, per-day cap counts the reservation too.
        assert!(state.reserve(&s, I, A, "c2").is_ok());
        assert!(matches!(state.reserve(&s, I, A, "c3"), Err(Hold::Deferred(why)) if why.contains("2 imports from")));
        state.walls.insert(I);
        state.release(A, "c2");
        assert!(matches!(state.reserve(&s, I, A, "c4"), Err(Hold::AtQuota)));
        assert!(state.reserve(&s, SnapshotKind::Cluster, A, "k1").is_ok(), "the other kind has its own quota");
    }
}
