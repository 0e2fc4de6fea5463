//! The RDS event table: which events say that a snapshot has just become available.
//!
//! From "Amazon RDS event categories and event messages" (RDS user guide, tables "DB snapshot
//! events"; Aurora user guide, "DB cluster snapshot events"). RDS events carry their id
//! (`detail.EventID` on EventBridge, `"Event ID"` in an SNS notification), except in the form
//! AWS's own examples had until 2021 ("Amazon RDS event examples", RDS user guide, and the
//! Aurora user guide's "DB cluster snapshot events" example): those name the event only by its
//! message, so each row also has the messages the table documents, to tell the event from
//! them.

use offsite_common::snapshot::SnapshotKind;

use super::json::{Ignored, Read, shown};

/// One row of the event table.
#[derive(Debug)]
pub(super) struct RdsEvent {
    pub id: &'static str,
    pub kind: SnapshotKind,
    pub meaning: &'static str,
    /// The event says a snapshot has just become available.
    pub candidate: bool,
    /// The documented messages, lowercase, without the final full stop; `*` stands for a name
    /// or a number in them (or nothing: "Deleted user snapshot" is also documented with the
    /// snapshot's name after it).
    pub messages: &'static [&'static str],
}

const fn event(
    id: &'static str,
    kind: SnapshotKind,
    meaning: &'static str,
    candidate: bool,
    messages: &'static [&'static str],
) -> RdsEvent {
    RdsEvent { id, kind, meaning, candidate, messages }
}

const I: SnapshotKind = SnapshotKind::Instance;
const C: SnapshotKind = SnapshotKind::Cluster;

/// Note that the cross-Region copy events are 0059 started, **0060 finished**, 0061
/// canceled; Aurora documents no copy-finished event for cluster snapshots. The export
/// progress events (0484 and after) are newer than the examples without event ids, and their
/// messages are not listed here.
pub(super) const RDS_SNAPSHOT_EVENTS: &[RdsEvent] = &[
    event("RDS-EVENT-0040", I, "creating manual snapshot", false, &["creating manual snapshot"]),
    // The table says "Deleted user snapshot"; the user guide's example event says "Deleted
    // manual snapshot".
    event("RDS-EVENT-0041", I, "deleted user snapshot", false, &["deleted user snapshot*", "deleted manual snapshot*"]),
    event("RDS-EVENT-0042", I, "manual snapshot created", true, &["manual snapshot created"]),
    event("RDS-EVENT-0043", I, "restored a DB instance from a snapshot", false, &["restored from snapshot *"]),
    event(
        "RDS-EVENT-0059",
        I,
        "cross-Region snapshot copy started",
        false,
        &["started copy of snapshot * from region *"],
    ),
    event(
        "RDS-EVENT-0060",
        I,
        "cross-Region snapshot copy finished",
        true,
        &["finished copy of snapshot * from region * in * minutes"],
    ),
    event(
        "RDS-EVENT-0061",
        I,
        "cross-Region snapshot copy canceled",
        false,
        &["canceled snapshot copy request of * from region *"],
    ),
    event("RDS-EVENT-0090", I, "creating automated snapshot", false, &["creating automated snapshot"]),
    event("RDS-EVENT-0091", I, "automated snapshot created", true, &["automated snapshot created"]),
    event("RDS-EVENT-0159", I, "snapshot export task failed", false, &["the snapshot export task failed"]),
    event("RDS-EVENT-0160", I, "snapshot export task canceled", false, &["the snapshot export task was canceled"]),
    event("RDS-EVENT-0161", I, "snapshot export task completed", false, &["the snapshot export task completed"]),
    event(
        "RDS-EVENT-0190",
        I,
        "same-Region snapshot copy canceled",
        false,
        &["canceled snapshot copy request of * in region *"],
    ),
    event("RDS-EVENT-0196", I, "same-Region snapshot copy started", false, &["started copy of snapshot * in region *"]),
    event(
        "RDS-EVENT-0197",
        I,
        "same-Region snapshot copy finished",
        true,
        &["finished copy of snapshot * in region *"],
    ),
    event("RDS-EVENT-0484", I, "snapshot export table extraction failed", false, &[]),
    event("RDS-EVENT-0486", I, "snapshot export table in single-threaded mode", false, &[]),
    event("RDS-EVENT-0487", I, "snapshot export table in progress", false, &[]),
    event("RDS-EVENT-0488", I, "snapshot export task progress", false, &[]),
    event("RDS-EVENT-0074", C, "creating manual cluster snapshot", false, &["creating manual cluster snapshot"]),
    event("RDS-EVENT-0075", C, "manual cluster snapshot created", true, &["manual cluster snapshot created"]),
    event(
        "RDS-EVENT-0162",
        C,
        "cluster snapshot export task failed",
        false,
        &["the cluster snapshot export task failed"],
    ),
    event(
        "RDS-EVENT-0163",
        C,
        "cluster snapshot export task canceled",
        false,
        &["the cluster snapshot export task was canceled"],
    ),
    event(
        "RDS-EVENT-0164",
        C,
        "cluster snapshot export task completed",
        false,
        &["the cluster snapshot export task completed"],
    ),
    event("RDS-EVENT-0168", C, "creating automated cluster snapshot", false, &["creating automated cluster snapshot"]),
    event("RDS-EVENT-0169", C, "automated cluster snapshot created", true, &["automated cluster snapshot created"]),
    event("RDS-EVENT-0489", C, "cluster snapshot export table extraction failed", false, &[]),
    event("RDS-EVENT-0491", C, "cluster snapshot export table in single-threaded mode", false, &[]),
    event("RDS-EVENT-0492", C, "cluster snapshot export table in progress", false, &[]),
    event("RDS-EVENT-0493", C, "cluster snapshot export task progress", false, &[]),
];

pub(super) fn known_rds_event(event_id: &str) -> Option<&'static RdsEvent> {
    RDS_SNAPSHOT_EVENTS.iter().find(|e| e.id == event_id)
}

/// `RDS-EVENT-` followed by 1 to 6 digits.
pub(super) fn parse_event_id(raw: &str) -> Option<&str> {
    let digits = raw.strip_prefix("RDS-EVENT-")?;
    let valid = (1..=6).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
    valid.then_some(raw)
}

/// The row whose documented message `message` is, ignoring case, spacing and a final full stop.
pub(super) fn event_of_message(message: &str) -> Option<&'static RdsEvent> {
    let normalized = normalize(message);
    RDS_SNAPSHOT_EVENTS.iter().find(|e| e.messages.iter().any(|pattern| matches(pattern, &normalized)))
}

fn normalize(message: &str) -> String {
    let words: Vec<&str> = message.split_whitespace().collect();
    let joined = words.join(" ").to_lowercase();
    joined.trim_end_matches('.').trim_end().to_owned()
}

/// `*` in `pattern` stands for any run of characters, the empty one included.
fn matches(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let Some(first) = parts.next() else { return false };
    let Some(mut rest) = text.strip_prefix(first) else { return false };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        // No `*`: the whole text.
        return rest.is_empty();
    };
    for part in middle {
        let Some(found) = rest.find(part) else { return false };
        rest = &rest[found + part.len()..];
    }
    rest.ends_with(last)
}

/// An RDS event, as the event names it: by its id, or only by its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct WhichEvent {
    pub id: String,
    /// The field the id was told by when the event did not carry it where the format puts it
    /// (a message, or an SNS message attribute).
    pub told_by: Option<String>,
}

/// Which RDS event this is: from its id when it has one (`id`, or `attribute` for SNS message
/// attributes), else from its message. An id that is there but is no RDS event id is refused
/// (no AWS event has one); a message that is none of the documented ones leaves the event
/// unknown, and so ignored.
pub(super) fn which_event(
    id: Option<&Read<'_>>,
    attribute: Option<&Read<'_>>,
    message: Option<&Read<'_>>,
    kind_phrase: &str,
) -> Result<WhichEvent, Ignored> {
    if let Some(Read { field, value }) = id {
        return match parse_event_id(value) {
            Some(id) => Ok(WhichEvent { id: id.to_owned(), told_by: None }),
            None => {
                Err(Ignored(format!("{field}: {} is not an RDS event id; expected RDS-EVENT-<number>", shown(value))))
            }
        };
    }
    if let Some(Read { field, value }) = attribute {
        return match parse_event_id(value) {
            Some(id) => Ok(WhichEvent { id: id.to_owned(), told_by: Some(field.clone()) }),
            None => {
                Err(Ignored(format!("{field}: {} is not an RDS event id; expected RDS-EVENT-<number>", shown(value))))
            }
        };
    }
    let Some(Read { field, value }) = message else {
        return Err(Ignored(format!(
            "the {kind_phrase} event has neither an event id nor a message: nothing says what happened to the snapshot"
        )));
    };
    match event_of_message(value) {
        Some(known) => Ok(WhichEvent { id: known.id.to_owned(), told_by: Some(field.clone()) }),
        None => Err(Ignored(format!(
            "the event has no event id, and its {field} {} is none of the documented messages of snapshot events \
             the exporter acts on",
            shown(value)
        ))),
    }
}

/// `Some(reason)` unless `event_id` says a snapshot of `kind` has just become available.
pub(super) fn not_a_candidate(kind: SnapshotKind, event_id: &str, context: &str) -> Option<String> {
    match known_rds_event(event_id) {
        Some(known) if known.kind == kind && known.candidate => None,
        Some(known) if known.kind == kind => {
            Some(format!("{event_id} ({}) does not announce a newly available snapshot", known.meaning))
        }
        Some(known) => Some(format!(
            "{event_id} ({}) is a {} event, unexpected in {context}",
            known.meaning,
            kind_phrase(known.kind)
        )),
        None => Some(format!("{event_id} is not a {} event the exporter acts on", kind_phrase(kind))),
    }
}

pub(super) fn kind_phrase(kind: SnapshotKind) -> &'static str {
    match kind {
        SnapshotKind::Instance => "DB instance snapshot (db-snapshot)",
        SnapshotKind::Cluster => "DB cluster snapshot (db-cluster-snapshot)",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_event_table_is_consistent() {
        for (i, a) in RDS_SNAPSHOT_EVENTS.iter().enumerate() {
            assert_eq!(parse_event_id(a.id), Some(a.id), "{}", a.id);
            assert!(RDS_SNAPSHOT_EVENTS[i + 1..].iter().all(|b| b.id != a.id), "{} twice", a.id);
            for message in a.messages {
                assert_eq!(normalize(message), *message, "{}: patterns are normalized", a.id);
            }
        }
        let candidates: Vec<&str> = RDS_SNAPSHOT_EVENTS.iter().filter(|e| e.candidate).map(|e| e.id).collect();
        assert_eq!(
            candidates,
            [
                "RDS-EVENT-0042",
                "RDS-EVENT-0060",
                "RDS-EVENT-0091",
                "RDS-EVENT-0197",
                "RDS-EVENT-0075",
                "RDS-EVENT-0169"
            ]
        );
    }

    #[test]
    fn documented_messages_name_their_event() {
        for (message, id) in [
            // "Amazon RDS event examples" (RDS user guide, 2020–2021), no EventID.
            ("Deleted manual snapshot", "RDS-EVENT-0041"),
            // "DB cluster snapshot events" example (Aurora user guide, 2020–2021), no EventID.
            ("Creating manual cluster snapshot", "RDS-EVENT-0074"),
            // The EventBridge sample for "RDS DB Snapshot Event".
            ("Automated snapshot created", "RDS-EVENT-0091"),
            ("Manual snapshot created.", "RDS-EVENT-0042"),
            ("  manual   SNAPSHOT created ", "RDS-EVENT-0042"),
            ("Deleted user snapshot.", "RDS-EVENT-0041"),
            ("Deleted user snapshot orders-2024", "RDS-EVENT-0041"),
            ("Finished copy of snapshot orders from region us-west-2 in 12 minutes.", "RDS-EVENT-0060"),
            ("Finished copy of snapshot orders-copy in region us-east-1.", "RDS-EVENT-0197"),
            ("Started copy of snapshot orders from region us-west-2.", "RDS-EVENT-0059"),
            ("Started copy of snapshot orders in region us-east-1.", "RDS-EVENT-0196"),
            ("Canceled snapshot copy request of orders from region us-west-2.", "RDS-EVENT-0061"),
            ("Canceled snapshot copy request of orders in region us-east-1.", "RDS-EVENT-0190"),
            ("Automated cluster snapshot created", "RDS-EVENT-0169"),
            ("Manual cluster snapshot created.", "RDS-EVENT-0075"),
            ("The cluster snapshot export task completed.", "RDS-EVENT-0164"),
        ] {
            assert_eq!(event_of_message(message).map(|e| e.id), Some(id), "{message}");
        }
        for unknown in
            ["", ".", "Finished DB Instance backup", "manual snapshot created and deleted", "Started copy of snapshot"]
        {
            assert_eq!(event_of_message(unknown).map(|e| e.id), None, "{unknown}");
        }
    }

    #[test]
    fn wildcards_stand_for_any_run_of_characters() {
        assert!(matches("a * b", "a x b"));
        assert!(matches("x*", "xy") && matches("x*", "x"));
        assert!(!matches("x*", "yx"));
        assert!(matches("a * b * c", "a 1 b 2 c"));
        assert!(!matches("a * b * c", "a 1 c 2 b"));
        assert!(!matches("a*bc", "abc d"));
        assert!(matches("abc", "abc") && !matches("abc", "abcd"));
    }

    #[test]
    fn the_event_is_told_by_its_id_then_an_attribute_then_its_message() {
        let id = Read::new("detail.EventID", "RDS-EVENT-0042");
        let message = Read::new("detail.Message", "Automated snapshot created");
        let attribute = Read::new("a.EventID", "RDS-EVENT-0091");
        let by_id = which_event(Some(&id), None, Some(&message), "k");
        assert_eq!(by_id, Ok(WhichEvent { id: "RDS-EVENT-0042".into(), told_by: None }));
        let by_attribute = which_event(None, Some(&attribute), None, "k");
        assert_eq!(by_attribute, Ok(WhichEvent { id: "RDS-EVENT-0091".into(), told_by: Some("a.EventID".into()) }));
        let by_message = which_event(None, None, Some(&message), "k");
        assert_eq!(by_message, Ok(WhichEvent { id: "RDS-EVENT-0091".into(), told_by: Some("detail.Message".into()) }));
        assert_eq!(
            which_event(Some(&Read::new("detail.EventID", "0042")), None, None, "k"),
            Err(Ignored("detail.EventID: \"0042\" is not an RDS event id; expected RDS-EVENT-<number>".into()))
        );
        let backup = Read::new("detail.Message", "Finished DB Instance backup");
        let Err(Ignored(reason)) = which_event(None, None, Some(&backup), "k") else {
            panic!("an unknown message is not an event");
        };
        assert!(
            reason.contains("detail.Message \"Finished DB Instance backup\" is none of the documented"),
            "{reason}"
        );
        let Err(Ignored(reason)) = which_event(None, None, None, "RDS DB Snapshot Event") else {
            panic!("no id and no message");
        };
        assert!(reason.contains("neither an event id nor a message"), "{reason}");
    }
}
