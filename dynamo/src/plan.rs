//! The deterministic parts of an export: which slot, which prefix, which token, which time,
//! and (for incremental exports) where the chain of exports continues. Plain functions over
//! plain data; `run` feeds them what DynamoDB reports.

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// DynamoDB's bounds on an incremental export's window (API_IncrementalExportSpecification;
/// "Requesting a table export in DynamoDB"): at least 15 minutes, at most 24 hours.
pub const MIN_INCREMENTAL_SECS: f64 = 15.0 * 60.0;
pub const MAX_INCREMENTAL_SECS: f64 = 24.0 * 3600.0;

/// A full snapshot of the table, or the changes over a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExportKind {
    Full,
    Incremental,
}

impl ExportKind {
    /// The value of the `kind=` folder in the prefix (and of Athena's `export_kind`).
    pub fn folder(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Incremental => "incremental",
        }
    }

    /// DynamoDB's `ExportType`.
    pub fn export_type(self) -> &'static str {
        match self {
            Self::Full => "FULL_EXPORT",
            Self::Incremental => "INCREMENTAL_EXPORT",
        }
    }

    pub fn from_export_type(value: &str) -> Self {
        if value == "INCREMENTAL_EXPORT" { Self::Incremental } else { Self::Full }
    }
}

/// What the job exports each slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportMode {
    /// A full export every slot.
    Full,
    /// A full export in the slots that start at a multiple of `full_every_secs` since the
    /// epoch (and whenever the chain is broken), incremental exports from the previous
    /// export's end in the others.
    Incremental { full_every_secs: i64 },
}

/// The start of the schedule slot that `now` falls in (slots of `period_secs`, from the
/// epoch): every run in one slot asks for the same moment.
pub fn slot_start(now_secs: i64, period_secs: i64) -> i64 {
    now_secs.div_euclid(period_secs.max(1)) * period_secs.max(1)
}

/// `<base>/account=<id>/region=<region>/table=<name>/kind=<full|incremental>/date=<yyyy-mm-dd>`:
/// Hive-style keys, so Athena's partition projection can address any day of any table
/// directly. DynamoDB writes `AWSDynamoDB/<export id>/…` below it.
pub fn prefix(base: &str, account: &str, region: &str, table: &str, kind: ExportKind, slot_secs: i64) -> String {
    let base = base.trim_matches('/');
    let date = date_of(slot_secs);
    format!("{base}/account={account}/region={region}/table={table}/kind={}/date={date}", kind.folder())
}

/// `yyyy-mm-dd` (UTC) of an epoch second.
pub fn date_of(secs: i64) -> String {
    DateTime::from_secs(secs).fmt(Format::DateTime).unwrap_or_default().chars().take(10).collect()
}

/// The `ClientToken` of a table's export for a slot: 32 hex digits of SHA-256 over
/// everything that defines the export, so a retry in the same slot is the same request
/// (DynamoDB keeps a token 8 hours after the export ends). The prefix names the kind, so a
/// slot's full and incremental exports have different tokens.
pub fn client_token(table_arn: &str, slot_secs: i64, bucket: &str, prefix: &str) -> String {
    let digest = Sha256::digest(format!("{table_arn}\n{slot_secs}\n{bucket}\n{prefix}").as_bytes());
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// The moment to export (seconds, fractional): the slot's start, or the earliest
/// restorable time when PITR was enabled later than that, since `ExportTime` must lie in the
/// PITR window (`InvalidExportTimeException`). `None` when that moment is not restorable
/// yet (PITR enabled moments ago): the next run exports.
pub fn export_time(slot_secs: i64, earliest: Option<f64>, latest: Option<f64>) -> Option<f64> {
    #[allow(clippy::cast_precision_loss)]
    let slot = slot_secs as f64;
    // The earliest time is reported rounded and compared unrounded: clamp to the next whole
    // second after it, never onto it.
    let time = earliest.map_or(slot, |earliest| slot.max(earliest.floor() + 1.0));
    match latest {
        Some(latest) if time > latest => None,
        _ => Some(time),
    }
}

/// How far an export got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExportState {
    InProgress,
    Completed,
    Failed,
}

/// A past export of one table: what `ListExports` says, completed by `DescribeExport` for the
/// few that matter (see [`worth_describing`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PastExport {
    pub arn: String,
    pub state: ExportState,
    pub kind: ExportKind,
    /// The fields below come from `DescribeExport`; `None` until described.
    pub client_token: Option<String>,
    /// The moment the data reaches: `ExportTime` (full) or `ExportToTime` (incremental).
    pub covers_until: Option<f64>,
    pub end_time: Option<f64>,
    pub item_count: Option<i64>,
    pub billed_bytes: Option<i64>,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
}

impl PastExport {
    /// An export known from its `ListExports` summary only.
    pub fn listed(arn: &str, state: ExportState, kind: ExportKind) -> Self {
        Self {
            arn: arn.to_owned(),
            state,
            kind,
            client_token: None,
            covers_until: None,
            end_time: None,
            item_count: None,
            billed_bytes: None,
            failure_code: None,
            failure_message: None,
        }
    }
}

/// Which of a table's exports (newest first, as `ListExports` orders them) need a
/// `DescribeExport`: the chain's tip (newest export not failed), the newest completed one
/// (for the metrics) and the failures newer than it (still unresolved, reported every run
/// until an export completes again; at most `max_failures`).
pub fn worth_describing(newest_first: &[PastExport], max_failures: usize) -> Vec<usize> {
    let mut picked = Vec::new();
    if let Some(tip) = newest_first.iter().position(|e| e.state != ExportState::Failed) {
        picked.push(tip);
    }
    let completed = newest_first.iter().position(|e| e.state == ExportState::Completed);
    if let Some(completed) = completed.filter(|c| !picked.contains(c)) {
        picked.push(completed);
    }
    let unresolved = completed.unwrap_or(newest_first.len());
    picked.extend(
        newest_first[..unresolved]
            .iter()
            .enumerate()
            .filter(|(_, e)| e.state == ExportState::Failed)
            .map(|(i, _)| i)
            .take(max_failures),
    );
    picked
}

/// The chain's tip: the newest export that did not fail.
pub fn tip(newest_first: &[PastExport]) -> Option<&PastExport> {
    newest_first.iter().find(|e| e.state != ExportState::Failed)
}

/// The newest completed export.
pub fn last_completed(newest_first: &[PastExport]) -> Option<&PastExport> {
    newest_first.iter().find(|e| e.state == ExportState::Completed)
}

/// The failures newer than the newest completed export.
pub fn unresolved_failures(newest_first: &[PastExport]) -> impl Iterator<Item = &PastExport> {
    newest_first.iter().take_while(|e| e.state != ExportState::Completed).filter(|e| e.state == ExportState::Failed)
}

/// Why the slot's moment cannot be exported yet.
fn not_restorable_yet(slot: i64, pitr: PitrWindow) -> String {
    #[allow(clippy::cast_precision_loss)]
    let enabled_after_slot = pitr.earliest.is_some_and(|earliest| earliest > slot as f64);
    if enabled_after_slot {
        "point-in-time recovery was enabled moments ago; the next run exports".to_owned()
    } else {
        // LatestRestorableDateTime trails the clock ("typically 5 minutes before the current
        // time", API_PointInTimeRecoveryDescription): schedule runs some minutes after the
        // slot starts.
        "the slot's start is not restorable yet (DynamoDB's latest restorable time trails the clock by about \
         5 minutes); the next run exports"
            .to_owned()
    }
}

/// The slot's export when it exists: the chain's tip carries one of the slot's tokens.
pub fn this_slots_export<'a>(newest_first: &'a [PastExport], slot_tokens: &[String]) -> Option<&'a PastExport> {
    tip(newest_first).filter(|t| t.client_token.as_ref().is_some_and(|token| slot_tokens.contains(token)))
}

/// What one export asks DynamoDB for.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Window {
    /// A full export as of this moment.
    At(f64),
    /// The changes in `[from, to)`.
    Between { from: f64, to: f64 },
}

impl Window {
    pub fn kind(self) -> ExportKind {
        match self {
            Self::At(_) => ExportKind::Full,
            Self::Between { .. } => ExportKind::Incremental,
        }
    }
}

/// What to do with a table this slot.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Start this export; `why` says why this kind.
    Start { window: Window, why: &'static str },
    /// This slot's export exists (its token is the newest export's): nothing to start.
    AlreadyStarted { arn: String },
    /// Nothing can start now; the reason says when it will.
    Wait(String),
}

/// The PITR window DynamoDB reports (`DescribeContinuousBackups`), in epoch seconds.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PitrWindow {
    pub earliest: Option<f64>,
    pub latest: Option<f64>,
}

/// Decides a table's export for the slot starting at `slot`. `slot_tokens` are the tokens
/// this slot's exports of the table would carry (full and incremental): when the chain's tip
/// carries one of them, the slot's export exists. Incremental exports continue from the
/// tip's end; a full export starts the chain again when there is none, when the chain is
/// broken (gap over 24 h, or its end fell out of the PITR window) and in the full slots.
pub fn decide(
    newest_first: &[PastExport],
    slot: i64,
    slot_tokens: &[String],
    pitr: PitrWindow,
    mode: &ExportMode,
) -> Decision {
    if let Some(ours) = this_slots_export(newest_first, slot_tokens) {
        return Decision::AlreadyStarted { arn: ours.arn.clone() };
    }
    let tip = tip(newest_first);
    let full = |why: &'static str| match export_time(slot, pitr.earliest, pitr.latest) {
        Some(at) => Decision::Start { window: Window::At(at), why },
        None => Decision::Wait(not_restorable_yet(slot, pitr)),
    };
    let ExportMode::Incremental { full_every_secs } = mode else {
        return full("full exports every slot");
    };
    // A full export overlaps nothing: it starts even while the previous export runs.
    if slot.rem_euclid((*full_every_secs).max(1)) == 0 {
        return full("this slot takes the periodic full export");
    }
    if let Some(running) = tip.filter(|t| t.state == ExportState::InProgress) {
        return Decision::Wait(format!(
            "the previous export {} is still running; the next incremental export continues from its end",
            running.arn
        ));
    }
    let Some(end) = tip.and_then(|t| t.covers_until) else {
        return full("no earlier export to continue from");
    };
    if pitr.earliest.is_some_and(|earliest| end < earliest) {
        return full("the last export's end is outside the point-in-time recovery window");
    }
    #[allow(clippy::cast_precision_loss)]
    let to = pitr.latest.map_or(slot as f64, |latest| latest.min(slot as f64));
    if to - end > MAX_INCREMENTAL_SECS {
        return full("more than 24 hours since the last export's end: a new chain starts");
    }
    if to - end < MIN_INCREMENTAL_SECS {
        return Decision::Wait(format!(
            "the last export reaches {}: less than 15 minutes to export; the next slot continues",
            DateTime::from_secs_f64(end).fmt(Format::DateTime).unwrap_or_default()
        ));
    }
    Decision::Start { window: Window::Between { from: end, to }, why: "continues from the last export's end" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_tokens_are_pinned() {
        // Persistent format (ARCHITECTURE.md, "Persistent formats"): the values below are
        // written out by hand, from the documented rule, never computed by the code under test.
        // If this test fails, the code now names things differently than every copy, notice or
        // export already in AWS: do not update the values; keep the old form recognised (a
        // migration) or revert.
        let prefix = "offsite/account=111111111111/region=us-east-1/table=orders/kind=full/date=2027-01-15";
        let table = "arn:aws:dynamodb:us-east-1:111111111111:table/orders";
        assert_eq!(
            client_token(table, 1_799_971_200, "offsite-auditor-exports", prefix),
            "89eb92f1ec5e81f6af07d5b87ea637ca"
        );
    }

    #[test]
    fn slots_prefixes_and_tokens_are_deterministic() {
        let day = 86_400;
        assert_eq!(slot_start(1_800_000_123, day), 1_799_971_200);
        assert_eq!(slot_start(1_799_971_200, day), 1_799_971_200);
        let p = prefix("/exports/", "111111111111", "eu-west-1", "orders", ExportKind::Full, 1_799_971_200);
        assert_eq!(p, "exports/account=111111111111/region=eu-west-1/table=orders/kind=full/date=2027-01-15");
        let t = client_token("arn:t", 1, "b", &p);
        assert_eq!(t.len(), 32);
        assert_eq!(t, client_token("arn:t", 1, "b", &p));
        assert_ne!(t, client_token("arn:t", 2, "b", &p));
        assert_ne!(t, client_token("arn:u", 1, "b", &p));
        let incremental = prefix("exports", "1", "r", "orders", ExportKind::Incremental, 1_799_971_200);
        assert_ne!(t, client_token("arn:t", 1, "b", &incremental));
    }

    #[test]
    fn export_time_stays_inside_the_pitr_window() {
        assert_eq!(export_time(100, None, None), Some(100.0));
        assert_eq!(export_time(100, Some(50.5), Some(200.0)), Some(100.0));
        assert_eq!(export_time(100, Some(150.25), Some(200.0)), Some(151.0));
        assert_eq!(export_time(100, Some(150.0), Some(200.0)), Some(151.0));
        assert_eq!(export_time(100, Some(150.25), Some(150.5)), None);
    }

    const HOUR: i64 = 3600;
    const WEEK: i64 = 7 * 24 * HOUR;
    /// A Wednesday 10:00 UTC: not a full slot for weekly fulls (multiples of a week since
    /// the epoch fall on Thursdays 00:00).
    const SLOT: i64 = 2_800 * WEEK + 6 * 24 * HOUR + 10 * HOUR;
    const INCREMENTAL: ExportMode = ExportMode::Incremental { full_every_secs: WEEK };

    fn export(state: ExportState, kind: ExportKind, covers_until: Option<i64>, token: &str) -> PastExport {
        PastExport {
            client_token: Some(token.to_owned()),
            #[allow(clippy::cast_precision_loss)]
            covers_until: covers_until.map(|c| c as f64),
            ..PastExport::listed(&format!("arn:{token}"), state, kind)
        }
    }

    fn pitr() -> PitrWindow {
        #[allow(clippy::cast_precision_loss)]
        PitrWindow { earliest: Some((SLOT - 30 * 24 * HOUR) as f64), latest: Some((SLOT + 60) as f64) }
    }

    fn tokens() -> Vec<String> {
        vec!["this-full".to_owned(), "this-incr".to_owned()]
    }

    #[allow(clippy::cast_precision_loss)]
    fn at(secs: i64) -> f64 {
        secs as f64
    }

    #[test]
    fn full_mode_exports_every_slot_once() {
        let decision = decide(&[], SLOT, &tokens(), pitr(), &ExportMode::Full);
        assert!(matches!(decision, Decision::Start { window: Window::At(t), .. } if t == at(SLOT)), "{decision:?}");
        let ours = export(ExportState::InProgress, ExportKind::Full, Some(SLOT), "this-full");
        assert_eq!(
            decide(&[ours], SLOT, &tokens(), pitr(), &ExportMode::Full),
            Decision::AlreadyStarted { arn: "arn:this-full".to_owned() }
        );
        // An earlier slot's export still running does not hold a full export back.
        let older = export(ExportState::InProgress, ExportKind::Full, Some(SLOT - HOUR), "older");
        assert!(matches!(decide(&[older], SLOT, &tokens(), pitr(), &ExportMode::Full), Decision::Start { .. }));
    }

    #[test]
    fn incremental_exports_continue_the_chain_from_its_end() {
        let previous = export(ExportState::Completed, ExportKind::Incremental, Some(SLOT - HOUR), "prev");
        let decision = decide(std::slice::from_ref(&previous), SLOT, &tokens(), pitr(), &INCREMENTAL);
        assert_eq!(
            decision,
            Decision::Start {
                window: Window::Between { from: at(SLOT - HOUR), to: at(SLOT) },
                why: "continues from the last export's end"
            }
        );
        // A failure after the tip is skipped: the window starts at the last good end, so
        // the failed window is exported again (no hole in the chain).
        let failed = export(ExportState::Failed, ExportKind::Incremental, Some(SLOT - HOUR / 2), "failed");
        assert_eq!(decide(&[failed, previous.clone()], SLOT, &tokens(), pitr(), &INCREMENTAL), decision);
        // The tip still running: wait, never two overlapping windows.
        let running = export(ExportState::InProgress, ExportKind::Incremental, Some(SLOT - HOUR), "running");
        assert!(matches!(decide(&[running], SLOT, &tokens(), pitr(), &INCREMENTAL), Decision::Wait(_)));
        // This slot's incremental export exists.
        let ours = export(ExportState::Completed, ExportKind::Incremental, Some(SLOT), "this-incr");
        assert!(matches!(
            decide(&[ours, previous], SLOT, &tokens(), pitr(), &INCREMENTAL),
            Decision::AlreadyStarted { .. }
        ));
    }

    #[test]
    fn a_full_export_starts_or_restarts_the_chain() {
        let full_start = |d: &Decision| matches!(d, Decision::Start { window: Window::At(_), .. });
        assert!(full_start(&decide(&[], SLOT, &tokens(), pitr(), &INCREMENTAL)), "no chain yet");
        let stale = export(ExportState::Completed, ExportKind::Full, Some(SLOT - 25 * HOUR), "stale");
        assert!(full_start(&decide(&[stale], SLOT, &tokens(), pitr(), &INCREMENTAL)), "gap over 24 h");
        let lost = export(ExportState::Completed, ExportKind::Full, Some(SLOT - 31 * 24 * HOUR), "lost");
        assert!(full_start(&decide(&[lost], SLOT, &tokens(), pitr(), &INCREMENTAL)), "end outside PITR");
        let fresh = export(ExportState::Completed, ExportKind::Incremental, Some(SLOT - HOUR), "fresh");
        let thursday = SLOT - 6 * 24 * HOUR - 10 * HOUR + WEEK;
        let pitr_then = PitrWindow { earliest: pitr().earliest, latest: Some(at(thursday + 60)) };
        let fresh_then = PastExport { covers_until: Some(at(thursday - HOUR)), ..fresh.clone() };
        assert!(full_start(&decide(&[fresh_then], thursday, &tokens(), pitr_then, &INCREMENTAL)), "weekly full");
        // Less than 15 minutes to export: wait.
        let recent = PastExport { covers_until: Some(at(SLOT - 60)), ..fresh };
        assert!(matches!(decide(&[recent], SLOT, &tokens(), pitr(), &INCREMENTAL), Decision::Wait(_)));
    }

    #[test]
    fn only_the_tip_the_last_completion_and_unresolved_failures_are_described() {
        let e = |state, token| export(state, ExportKind::Full, None, token);
        let history = [
            e(ExportState::Failed, "f1"),
            e(ExportState::InProgress, "tip"),
            e(ExportState::Failed, "f2"),
            e(ExportState::Completed, "done"),
            e(ExportState::Failed, "old-failure"),
            e(ExportState::Completed, "older"),
        ];
        assert_eq!(worth_describing(&history, 5), [1, 3, 0, 2]);
        assert_eq!(worth_describing(&history, 1), [1, 3, 0]);
        assert_eq!(unresolved_failures(&history).map(|f| f.arn.as_str()).collect::<Vec<_>>(), ["arn:f1", "arn:f2"]);
        assert_eq!(last_completed(&history).map(|c| c.arn.as_str()), Some("arn:done"));
        assert_eq!(worth_describing(&[], 3), Vec::<usize>::new());
    }
}
