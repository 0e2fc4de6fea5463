//! What one exporter run should do, decided without I/O.

use std::collections::{BTreeMap, BTreeSet};

use aws_smithy_types::date_time::Format;
use offsite_common::lineage::{attempt_identifier, attempt_of, is_genuine_copy, is_given_up};
use offsite_common::rds::CopyRequest;
use offsite_common::snapshot::{Snapshot, SnapshotKind, SnapshotStatus};
use offsite_common::{source_tags, tags};

use crate::selection::{SelectionTag, Skip, select};

/// RDS tag values hold at most 256 characters ("Tagging Amazon RDS resources"); the source
/// ARN is stored in one.
const MAX_TAG_VALUE: usize = 256;

/// The inputs of a plan besides the snapshots.
#[derive(Debug, Clone)]
pub struct PlanSettings<'a> {
    pub selection: &'a SelectionTag,
    pub export_key: &'a str,
    pub max_copies_in_flight: u32,
    /// Copies of one source tried before giving up (failed or stuck ones count).
    pub max_attempts: u32,
    /// When this run starts its copies (RFC 3339), recorded on each copy: RDS leaves out
    /// `SnapshotCreateTime` while a copy is in progress, so the scanner needs this to see
    /// that a copy is stuck.
    pub started_at: &'a str,
    /// The source's tag keys carried onto the copy for the vault ([`offsite_common::source_tags`]).
    pub carry_source_tags: &'a [String],
}

/// The decision for one source.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Start this copy.
    Copy(CopyRequest),
    /// Not now and maybe never: see the reason.
    Skip(Skip),
    /// Selected and copyable, but the in-flight limit is reached: a later run starts it.
    Defer { copy_identifier: String },
}

/// One source with its decision.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    pub source: Snapshot,
    pub decision: Decision,
}

/// Decides, for each source, whether to copy it now.
///
/// `copies` are the pipeline's existing copies (any status); `persistent_options` maps an
/// option group name to its permanent or persistent options. Sources are deduplicated by
/// ARN and taken newest first, so a limited run protects the most recent data.
pub fn plan(
    sources: &[Snapshot],
    copies: &[Snapshot],
    persistent_options: &BTreeMap<String, Vec<String>>,
    settings: &PlanSettings<'_>,
) -> Vec<Planned> {
    let existing: BTreeMap<&str, &Snapshot> = copies.iter().map(|c| (c.identifier.as_str(), c)).collect();
    let mut by_source: BTreeMap<&str, Vec<&Snapshot>> = BTreeMap::new();
    for copy in copies.iter().filter(|c| is_genuine_copy(c)) {
        if let Some(source) = copy.tag(tags::SOURCE_ARN) {
            by_source.entry(source).or_default().push(copy);
        }
    }
    let mut budget: BTreeMap<SnapshotKind, u32> = [SnapshotKind::Instance, SnapshotKind::Cluster]
        .into_iter()
        .map(|kind| {
            let in_flight =
                copies.iter().filter(|c| c.kind == kind && matches!(c.status, SnapshotStatus::InProgress(_))).count();
            (kind, settings.max_copies_in_flight.saturating_sub(u32::try_from(in_flight).unwrap_or(u32::MAX)))
        })
        .collect();
    let mut ordered: Vec<&Snapshot> = sources.iter().collect();
    ordered.sort_by(|a, b| b.taken_at().cmp(&a.taken_at()).then_with(|| a.arn.cmp(&b.arn)));
    let mut seen = BTreeSet::new();
    ordered
        .into_iter()
        .filter(|s| seen.insert(s.arn.clone()))
        .map(|source| {
            let no_options = Vec::new();
            let options = source.option_group.as_ref().and_then(|g| persistent_options.get(g)).unwrap_or(&no_options);
            let earlier = by_source.get(source.arn.as_str()).map(Vec::as_slice).unwrap_or_default();
            let decision = decide(source, &existing, earlier, options, settings, &mut budget);
            Planned { source: source.clone(), decision }
        })
        .collect()
}

fn decide(
    source: &Snapshot,
    existing: &BTreeMap<&str, &Snapshot>,
    earlier_copies: &[&Snapshot],
    persistent_options: &[String],
    settings: &PlanSettings<'_>,
    budget: &mut BTreeMap<SnapshotKind, u32>,
) -> Decision {
    if let Err(skip) = select(source, settings.selection, persistent_options) {
        return Decision::Skip(skip);
    }
    if source.arn.len() > MAX_TAG_VALUE {
        return Decision::Skip(Skip::Unsupported {
            reason: format!(
                "its ARN is longer than {MAX_TAG_VALUE} characters and cannot be recorded in a tag; shorten the snapshot name"
            ),
        });
    }
    if let Some(live) = earlier_copies.iter().find(|c| !is_given_up(c, settings.export_key)) {
        return Decision::Skip(Skip::AlreadyExported { copy_identifier: live.identifier.clone() });
    }
    let attempt = earlier_copies.iter().map(|c| attempt_of(c)).max().map_or(1, |n| n.saturating_add(1));
    if attempt > settings.max_attempts {
        return Decision::Skip(Skip::GaveUp { attempts: attempt - 1 });
    }
    let target = attempt_identifier(source, attempt);
    if let Some(copy) = existing.get(target.as_str()) {
        // Not among this source's copies, so its lineage names another source (or none).
        return Decision::Skip(Skip::Collision {
            copy_identifier: target,
            other_source: copy.tag(tags::SOURCE_ARN).unwrap_or("an unknown source").to_owned(),
        });
    }
    let left = budget.entry(source.kind).or_default();
    if *left == 0 {
        return Decision::Defer { copy_identifier: target };
    }
    *left -= 1;
    let carried = settings.carry_source_tags;
    Decision::Copy(copy_request(source, target, settings.export_key, attempt, settings.started_at, carried))
}

/// The copy of `source`: the export key, and the pipeline's tags (never the selection tag,
/// so a copy can never be selected again), with the source's tags named in `carried` under
/// `offsite:source-tag:<key>` for the vault.
pub fn copy_request(
    source: &Snapshot,
    target_identifier: String,
    export_key: &str,
    attempt: u32,
    started_at: &str,
    carried: &[String],
) -> CopyRequest {
    let mut copy_tags = BTreeMap::from([
        (tags::MARKER.to_owned(), tags::MARKER_EXPORT.to_owned()),
        (tags::SOURCE_ARN.to_owned(), source.arn.clone()),
        (tags::STAGE.to_owned(), tags::STAGE_EXPORTED.to_owned()),
        (tags::ATTEMPT.to_owned(), attempt.to_string()),
        (tags::COPY_STARTED_AT.to_owned(), started_at.to_owned()),
    ]);
    if let Some(taken) = source.taken_at().and_then(|t| t.fmt(Format::DateTime).ok()) {
        copy_tags.insert(tags::SOURCE_CREATED.to_owned(), taken);
    }
    for key in carried {
        // A value RDS holds is a valid tag value; the check keeps the notice's promise anyway.
        if let Some(value) = source.tag(key).filter(|v| source_tags::check_value(v).is_ok()) {
            copy_tags.insert(source_tags::tag_key(key), value.to_owned());
        }
    }
    CopyRequest {
        kind: source.kind,
        source: source.identifier.clone(),
        target_identifier,
        kms_key_id: export_key.to_owned(),
        tags: copy_tags,
        pre_signed_url: None,
    }
}

#[cfg(test)]
mod tests {
    use aws_smithy_types::DateTime;

    use super::*;

    const KEY: &str = "arn:aws:kms:us-east-1:111111111111:key/export";

    fn selection() -> SelectionTag {
        SelectionTag { key: "offsite-export".into(), value: "true".into() }
    }

    fn source(kind: SnapshotKind, name: &str, created: i64) -> Snapshot {
        Snapshot {
            percent_progress: Some(100),
            encrypted: true,
            kms_key_id: Some("arn:aws:kms:us-east-1:111111111111:key/db".into()),
            tags: BTreeMap::from([("offsite-export".to_owned(), "true".to_owned())]),
            created: Some(DateTime::from_secs(created)),
            engine: Some("postgres".into()),
            source_database: Some("orders".into()),
            snapshot_type: Some("manual".into()),
            ..Snapshot::bare(
                kind,
                format!("arn:aws:rds:us-east-1:111111111111:{}:{name}", kind.arn_resource_type()),
                name,
                SnapshotStatus::Available,
            )
        }
    }

    fn copy_of(s: &Snapshot, status: SnapshotStatus) -> Snapshot {
        let request = copy_request(s, attempt_identifier(s, 1), KEY, 1, "2026-11-22T03:00:00Z", &[]);
        Snapshot {
            identifier: request.target_identifier.clone(),
            arn: format!("arn:aws:rds:us-east-1:111111111111:snapshot:{}", request.target_identifier),
            tags: request.tags,
            status,
            kms_key_id: Some(KEY.into()),
            ..s.clone()
        }
    }

    fn run(sources: &[Snapshot], copies: &[Snapshot], limit: u32) -> Vec<Planned> {
        let selection = selection();
        let settings = PlanSettings {
            selection: &selection,
            export_key: KEY,
            max_copies_in_flight: limit,
            max_attempts: 3,
            started_at: "2026-11-22T03:00:00Z",
            carry_source_tags: &[],
        };
        plan(sources, copies, &BTreeMap::new(), &settings)
    }

    #[test]
    fn the_configured_source_tags_are_carried_under_the_pipelines_prefix_and_no_others() {
        let mut s = source(SnapshotKind::Instance, "rds:orders-2026-11-22-03-00", 1_700_000_000);
        s.tags.insert("data-class".into(), "audited".into());
        s.tags.insert("team".into(), "payments".into());
        s.tags.insert("odd".into(), "a;b".into());
        let carried = ["data-class".to_owned(), "missing".to_owned(), "odd".to_owned()];
        let request = copy_request(&s, attempt_identifier(&s, 1), KEY, 1, "2026-11-22T03:00:00Z", &carried);
        assert_eq!(request.tags.get("offsite:source-tag:data-class").map(String::as_str), Some("audited"));
        assert!(!request.tags.contains_key("offsite:source-tag:team"), "only the configured keys");
        assert!(!request.tags.contains_key("offsite:source-tag:missing"), "a key the source lacks is not made up");
        assert!(!request.tags.contains_key("offsite:source-tag:odd"), "never a value the notice would refuse");
        assert!(!request.tags.contains_key("data-class") && !request.tags.contains_key("team"));
    }

    #[test]
    fn a_new_selected_source_is_copied_with_the_export_key_and_pipeline_tags() {
        let s = source(SnapshotKind::Instance, "rds:orders-2026-11-22-03-00", 1_700_000_000);
        let planned = run(std::slice::from_ref(&s), &[], 5);
        let Decision::Copy(request) = &planned[0].decision else { panic!("expected a copy: {planned:?}") };
        assert_eq!(request.kms_key_id, KEY);
        assert_eq!(request.source, "rds:orders-2026-11-22-03-00");
        assert!(request.target_identifier.starts_with("offsite-rds-orders-2026-11-22-03-00-"));
        assert_eq!(request.tags.get(tags::MARKER).map(String::as_str), Some(tags::MARKER_EXPORT));
        assert_eq!(request.tags.get(tags::SOURCE_ARN), Some(&s.arn));
        assert_eq!(request.tags.get(tags::SOURCE_CREATED).map(String::as_str), Some("2023-11-14T22:13:20Z"));
        assert!(!request.tags.contains_key("offsite-export"), "the selection tag is never copied");
    }

    #[test]
    fn an_existing_copy_with_this_lineage_means_done() {
        let s = source(SnapshotKind::Cluster, "weekly", 1);
        for status in [SnapshotStatus::Available, SnapshotStatus::InProgress("creating".into())] {
            let planned = run(std::slice::from_ref(&s), &[copy_of(&s, status)], 5);
            assert!(matches!(planned[0].decision, Decision::Skip(Skip::AlreadyExported { .. })), "{planned:?}");
        }
    }

    #[test]
    fn failed_and_stuck_copies_are_retried_under_a_new_identifier_until_the_limit() {
        let s = source(SnapshotKind::Instance, "weekly", 1);
        let first = copy_of(&s, SnapshotStatus::Failed("failed".into()));
        let planned = run(std::slice::from_ref(&s), std::slice::from_ref(&first), 5);
        let Decision::Copy(retry) = &planned[0].decision else { panic!("expected a retry: {planned:?}") };
        assert_ne!(retry.target_identifier, first.identifier);
        assert_eq!(retry.target_identifier, attempt_identifier(&s, 2));
        assert_eq!(retry.tags.get(tags::ATTEMPT).map(String::as_str), Some("2"));

        let mut stuck = copy_of(&s, SnapshotStatus::InProgress("creating".into()));
        stuck.identifier = attempt_identifier(&s, 2);
        stuck.tags.insert(tags::ATTEMPT.into(), "2".into());
        stuck.tags.insert(tags::STAGE.into(), tags::STAGE_FAILED.into());
        let planned = run(std::slice::from_ref(&s), &[first.clone(), stuck.clone()], 5);
        let Decision::Copy(third) = &planned[0].decision else { panic!("expected attempt 3: {planned:?}") };
        assert_eq!(third.tags.get(tags::ATTEMPT).map(String::as_str), Some("3"));

        let mut last = copy_of(&s, SnapshotStatus::Failed("failed".into()));
        last.identifier = attempt_identifier(&s, 3);
        last.tags.insert(tags::ATTEMPT.into(), "3".into());
        let planned = run(std::slice::from_ref(&s), &[first, stuck, last], 5);
        assert_eq!(planned[0].decision, Decision::Skip(Skip::GaveUp { attempts: 3 }));
    }

    #[test]
    fn copies_under_another_key_or_merely_tagged_do_not_count_as_exported() {
        let s = source(SnapshotKind::Instance, "weekly", 1);
        let mut rotated = copy_of(&s, SnapshotStatus::Available);
        rotated.kms_key_id = Some("arn:aws:kms:us-east-1:111111111111:key/old".into());
        let planned = run(std::slice::from_ref(&s), &[rotated], 5);
        assert!(
            matches!(&planned[0].decision, Decision::Copy(r) if r.tags.get(tags::ATTEMPT).map(String::as_str) == Some("2")),
            "{planned:?}"
        );

        let mut impostor = copy_of(&s, SnapshotStatus::Available);
        impostor.identifier = "someone-elses-copy".into();
        assert!(!is_genuine_copy(&impostor));
        assert!(is_genuine_copy(&copy_of(&s, SnapshotStatus::Available)));
        let planned = run(std::slice::from_ref(&s), &[impostor], 5);
        assert!(matches!(&planned[0].decision, Decision::Copy(_)), "{planned:?}");
    }

    #[test]
    fn a_live_retry_means_done() {
        let s = source(SnapshotKind::Cluster, "weekly", 1);
        let failed = copy_of(&s, SnapshotStatus::Failed("failed".into()));
        let mut retry = copy_of(&s, SnapshotStatus::Available);
        retry.identifier = attempt_identifier(&s, 2);
        retry.tags.insert(tags::ATTEMPT.into(), "2".into());
        let planned = run(std::slice::from_ref(&s), &[failed, retry.clone()], 5);
        assert_eq!(planned[0].decision, Decision::Skip(Skip::AlreadyExported { copy_identifier: retry.identifier }));
    }

    #[test]
    fn an_existing_copy_of_another_source_is_a_collision_never_overwritten() {
        let s = source(SnapshotKind::Instance, "weekly", 1);
        let mut impostor = copy_of(&s, SnapshotStatus::Available);
        impostor.tags.insert(tags::SOURCE_ARN.into(), "arn:aws:rds:us-east-1:111111111111:snapshot:other".into());
        let planned = run(&[s], &[impostor], 5);
        let Decision::Skip(skip @ Skip::Collision { .. }) = &planned[0].decision else { panic!("{planned:?}") };
        assert!(skip.is_finding());
    }

    #[test]
    fn copies_in_flight_count_against_the_limit_per_kind_newest_first() {
        let old = source(SnapshotKind::Instance, "old", 100);
        let new = source(SnapshotKind::Instance, "new", 200);
        let cluster = source(SnapshotKind::Cluster, "c", 50);
        let busy = copy_of(&source(SnapshotKind::Instance, "busy", 10), SnapshotStatus::InProgress("creating".into()));
        let planned = run(&[old, new, cluster], &[busy], 2);
        let by_name: BTreeMap<_, _> = planned.iter().map(|p| (p.source.identifier.as_str(), &p.decision)).collect();
        assert!(matches!(by_name["new"], Decision::Copy(_)), "newest first");
        assert!(matches!(by_name["old"], Decision::Defer { .. }), "limit 2, one busy");
        assert!(matches!(by_name["c"], Decision::Copy(_)), "clusters have their own budget");
    }

    #[test]
    fn duplicates_are_planned_once() {
        let s = source(SnapshotKind::Instance, "twice", 1);
        assert_eq!(run(&[s.clone(), s], &[], 5).len(), 1);
    }

    #[test]
    fn over_long_arns_are_unsupported() {
        let s = source(SnapshotKind::Instance, &"a".repeat(230), 1);
        let planned = run(&[s], &[], 5);
        assert!(matches!(&planned[0].decision, Decision::Skip(Skip::Unsupported { .. })), "{planned:?}");
    }
}
