//! The decision for an RDS snapshot event, whichever way it came (EventBridge or SNS): which
//! event it is, whether that event announces a newly available snapshot, and which snapshot.
//!
//! The snapshot is the one whose ARN the event carries. When it carries none (the SNS form of
//! the aws-samples projects, `"Source ID"` without `"Source ARN"`; the EventBridge sample
//! event whose `detail.SourceArn` is the DB instance's ARN), its identifier is placed in the
//! function's own account and Region ([`Home`]), and only when nothing in the event says it
//! comes from elsewhere. Either way the exporter describes the snapshot through the RDS API
//! before anything else (`Exporter::export_one`), with its own credentials in its own Region,
//! refuses it when the ARN found is not the one named, and decides on selection from the tags
//! RDS returns, never from the event.

use offsite_common::account::AccountId;
use offsite_common::snapshot::{SnapshotArn, SnapshotKind};

use super::home::{Home, Place};
use super::json::{Ignored, Read, shown};
use super::rds_events::{WhichEvent, kind_phrase, not_a_candidate, which_event};

/// What an RDS snapshot event says, with the fields it says it in.
#[derive(Debug, Clone)]
pub(super) struct RdsHint<'a> {
    /// From the detail type or the notification's `"Event Source"`.
    pub kind: SnapshotKind,
    /// `an RDS DB Snapshot Event`, `a "db-snapshot" notification`: for reasons.
    pub context: String,
    pub event_id: Option<Read<'a>>,
    /// The event id from an SNS message attribute ("Amazon RDS event notification tags and
    /// attributes": `EventID`).
    pub event_id_attribute: Option<Read<'a>>,
    pub message: Option<Read<'a>>,
    /// Fields that may hold the snapshot's ARN, in order of precedence.
    pub arns: Vec<Read<'a>>,
    /// Where each absent ARN field would be, for the reason when nothing names the snapshot.
    pub arn_fields: Vec<String>,
    pub identifier: Option<Read<'a>>,
    pub identifier_field: String,
    /// `detail.SourceType` and the value it must have for `kind` (EventBridge only).
    pub source_type: Option<(Read<'a>, &'static str)>,
    /// Where the event says it comes from: checked only when the snapshot is named by its
    /// identifier alone.
    pub claims: Vec<Claim<'a>>,
}

/// A statement in the event about where it comes from.
#[derive(Debug, Clone)]
pub(super) enum Claim<'a> {
    /// An ARN (the SNS topic, the subscription): its partition, Region and account.
    Arn(Read<'a>),
    /// EventBridge's `account` and `region`.
    Envelope { account: Option<Read<'a>>, region: Option<Read<'a>> },
}

/// A snapshot to look at, and how the event named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Decided {
    pub snapshot: SnapshotArn,
    pub event: WhichEvent,
    /// The field whose identifier was placed in the function's own account and Region, when
    /// the event carried no ARN of the snapshot.
    pub named_by: Option<String>,
}

/// A candidate, or the reason why not.
pub(super) fn decide(hint: &RdsHint<'_>, home: Option<&Home>) -> Result<Decided, Ignored> {
    let event = which_event(
        hint.event_id.as_ref(),
        hint.event_id_attribute.as_ref(),
        hint.message.as_ref(),
        kind_phrase(hint.kind),
    )?;
    if let Some(reason) = not_a_candidate(hint.kind, &event.id, &hint.context) {
        return Err(Ignored(match &event.told_by {
            Some(field) => format!("{reason} (told by {field}: the event carries no event id of its own)"),
            None => reason,
        }));
    }
    let (snapshot, named_by) = locate(hint, home)?;
    Ok(Decided { snapshot, event, named_by })
}

/// The snapshot's ARN, and the identifier field it was built from, if it was.
fn locate(hint: &RdsHint<'_>, home: Option<&Home>) -> Result<(SnapshotArn, Option<String>), Ignored> {
    let elsewhere = match snapshot_in_arns(hint)? {
        Ok(snapshot) => return Ok((snapshot, None)),
        Err(elsewhere) => elsewhere,
    };
    let not_a_snapshot: Vec<String> = elsewhere
        .iter()
        .map(|(read, _)| {
            format!(
                "{} {} is the ARN of a {}, not of a snapshot",
                read.field,
                shown(read.value),
                resource_type(read.value).unwrap_or("resource")
            )
        })
        .collect();
    let Some(identifier) = &hint.identifier else {
        return Err(Ignored(if not_a_snapshot.is_empty() {
            let mut fields = hint.arn_fields.clone();
            fields.push(hint.identifier_field.clone());
            let (first, rest) = fields.split_first().map_or(("the event", &[][..]), |(f, r)| (f.as_str(), r));
            format!(
                "{first}: missing, and the event has no {} either; expected the snapshot's ARN or identifier",
                rest.join(" or ")
            )
        } else {
            format!(
                "{}, and the event has no {}: it names no snapshot",
                not_a_snapshot.join("; "),
                hint.identifier_field
            )
        }));
    };
    if let Err(problem) = check_identifier(identifier.value) {
        return Err(Ignored(format!(
            "{}: {} is not a snapshot identifier ({problem})",
            identifier.field,
            shown(identifier.value)
        )));
    }
    let placed = place_at_home(hint, home, &elsewhere).map_err(|why| {
        let mut reason = not_a_snapshot.join("; ");
        if !reason.is_empty() {
            reason.push_str("; ");
        }
        reason.push_str(&format!(
            "{} {} names the snapshot only by its identifier, and {why}",
            identifier.field,
            shown(identifier.value)
        ));
        Ignored(reason)
    })?;
    let raw = format!(
        "arn:{}:rds:{}:{}:{}:{}",
        placed.partition(),
        placed.region(),
        placed.account(),
        hint.kind.arn_resource_type(),
        identifier.value
    );
    let snapshot = snapshot_arn(&identifier.field, &raw)?;
    Ok((snapshot, Some(identifier.field.clone())))
}

/// ARN fields holding the RDS ARN of another resource than a snapshot, with its place.
type Elsewhere<'h, 'a> = Vec<(&'h Read<'a>, Place)>;

/// The first ARN field that holds a snapshot ARN (`Ok`), after any that hold the RDS ARN of
/// another resource (`Err`: not the snapshot, but they still say where the event comes from;
/// the EventBridge sample event's `SourceArn` is a DB instance's). An ARN field holding
/// anything else is a reason.
fn snapshot_in_arns<'h, 'a>(hint: &'h RdsHint<'a>) -> Result<Result<SnapshotArn, Elsewhere<'h, 'a>>, Ignored> {
    let mut elsewhere: Elsewhere<'h, 'a> = Vec::new();
    for read in &hint.arns {
        if let Some(place) = Place::of_arn(read.value)
            && place.service == "rds"
            && !matches!(resource_type(read.value), Some("snapshot" | "cluster-snapshot"))
        {
            // `resources[0]` usually repeats `detail.SourceArn`: one mention is enough.
            if elsewhere.iter().all(|(seen, _)| seen.value != read.value) {
                elsewhere.push((read, place));
            }
            continue;
        }
        let snapshot = snapshot_arn(&read.field, read.value)?;
        check_kind(&read.field, &snapshot, hint.kind, &hint.context)?;
        return Ok(Ok(snapshot));
    }
    Ok(Err(elsewhere))
}

/// The function's own place, where an identifier may be placed: only when the event's source
/// type fits, the function's account and Region are known, and every place the event states
/// (other resources' ARNs, the SNS topic, EventBridge's `account` and `region`) is there.
/// `Err` says why not, to follow "… names the snapshot only by its identifier, and ".
fn place_at_home<'h>(
    hint: &RdsHint<'_>,
    home: Option<&'h Home>,
    elsewhere: &[(&Read<'_>, Place)],
) -> Result<&'h Home, String> {
    if let Some((read, expected)) = &hint.source_type
        && read.value != *expected
    {
        return Err(format!(
            "{} {} is not the source type of {} ({expected})",
            read.field,
            shown(read.value),
            hint.context
        ));
    }
    let Some(home) = home else {
        return Err("this function's own account and Region are not known, so no ARN can be built for it (offsite \
                    explain-event takes them from --function-arn)"
            .to_owned());
    };
    let not_here = |field: &str, place: &Place| {
        format!(
            "by {field} the event comes from {place}, not from this function's {home}: the exporter looks only at its \
             own snapshots"
        )
    };
    for (read, place) in elsewhere {
        if !home.contains(place) {
            return Err(not_here(&read.field, place));
        }
    }
    for claim in &hint.claims {
        let (field, place) = match claim {
            Claim::Arn(read) => match Place::of_arn(read.value) {
                Some(place) => (read.field.clone(), place),
                None => {
                    return Err(format!(
                        "{} {} is not an ARN, so where the event comes from is unknown",
                        read.field,
                        shown(read.value)
                    ));
                }
            },
            Claim::Envelope { account, region } => {
                let fields: Vec<&str> = [account, region].into_iter().flatten().map(|r| r.field.as_str()).collect();
                if fields.is_empty() {
                    continue;
                }
                let unreadable = [
                    account.as_ref().filter(|r| r.value.parse::<AccountId>().is_err()),
                    region.as_ref().filter(|r| !is_region(r.value)),
                ];
                if let Some(read) = unreadable.into_iter().flatten().next() {
                    return Err(format!(
                        "{} {} is not an account id or Region, so where the event comes from is unknown",
                        read.field,
                        shown(read.value)
                    ));
                }
                let place =
                    Place::of_envelope(home, region.as_ref().map(|r| r.value), account.as_ref().map(|r| r.value));
                (fields.join(" and "), place)
            }
        };
        if !home.contains(&place) {
            return Err(not_here(&field, &place));
        }
    }
    Ok(home)
}

/// Lowercase letters, digits and hyphens, as AWS names Regions (`us-east-1`, `cn-north-1`).
fn is_region(raw: &str) -> bool {
    (1..=40).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The resource type of an ARN (`snapshot`, `db`, …), if it has one.
fn resource_type(arn: &str) -> Option<&str> {
    arn.split(':').nth(5)
}

/// A DB snapshot or DB cluster snapshot identifier as RDS names them: letters, digits and
/// hyphens, the first a letter, no two hyphens in a row, no final hyphen ("CreateDBSnapshot" /
/// "CreateDBClusterSnapshot" API references), after `rds:` for automated snapshots or
/// `awsbackup:` for AWS Backup's ("DescribeDBSnapshots": `SnapshotType`).
pub(super) fn check_identifier(raw: &str) -> Result<(), &'static str> {
    if raw.len() > 255 {
        return Err("longer than 255 characters");
    }
    let name = raw.strip_prefix("rds:").or_else(|| raw.strip_prefix("awsbackup:")).unwrap_or(raw);
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Err("it does not start with a letter, after an optional rds: or awsbackup: prefix");
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err("only letters, digits and hyphens are allowed");
    }
    if name.contains("--") || name.ends_with('-') {
        return Err("two hyphens in a row or a final hyphen");
    }
    Ok(())
}

pub(super) fn snapshot_arn(field: &str, raw: &str) -> Result<SnapshotArn, Ignored> {
    raw.parse::<SnapshotArn>().map_err(|error| {
        Ignored(format!(
            "{field}: {} is not an RDS snapshot ARN ({}); expected arn:<partition>:rds:<region>:<account>:snapshot:<name> \
             or …:cluster-snapshot:<name>",
            shown(raw),
            error.problem
        ))
    })
}

fn check_kind(field: &str, snapshot: &SnapshotArn, expected: SnapshotKind, context: &str) -> Result<(), Ignored> {
    if snapshot.kind == expected {
        return Ok(());
    }
    Err(Ignored(format!(
        "{field}: {} is a {} ARN, but {context} is about a {}; expected arn:<partition>:rds:<region>:<account>:{}:<name>",
        shown(snapshot.as_str()),
        kind_phrase(snapshot.kind),
        kind_phrase(expected),
        expected.arn_resource_type()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn home() -> Home {
        Home::from_function_arn("arn:aws:lambda:us-east-1:123456789012:function:offsite-exporter").expect("ARN")
    }

    fn read<'a>(field: &str, value: &'a str) -> Read<'a> {
        Read::new(field, value)
    }

    fn hint<'a>(arns: Vec<Read<'a>>, identifier: Option<Read<'a>>, claims: Vec<Claim<'a>>) -> RdsHint<'a> {
        RdsHint {
            kind: SnapshotKind::Instance,
            context: "an RDS DB Snapshot Event".to_owned(),
            event_id: Some(read("detail.EventID", "RDS-EVENT-0091")),
            event_id_attribute: None,
            message: None,
            arns,
            arn_fields: vec!["detail.SourceArn".to_owned(), "resources[0]".to_owned()],
            identifier,
            identifier_field: "detail.SourceIdentifier".to_owned(),
            source_type: Some((read("detail.SourceType", "SNAPSHOT"), "SNAPSHOT")),
            claims,
        }
    }

    fn reason(result: Result<Decided, Ignored>) -> String {
        match result {
            Err(Ignored(reason)) => reason,
            Ok(decided) => panic!("expected a reason, got {decided:?}"),
        }
    }

    #[test]
    fn an_identifier_is_placed_in_the_home_only() {
        let id = Some(read("detail.SourceIdentifier", "rds:orders-2024-05-01-03-10"));
        let decided = decide(&hint(vec![], id.clone(), vec![]), Some(&home())).expect("candidate");
        assert_eq!(
            decided.snapshot.as_str(),
            "arn:aws:rds:us-east-1:123456789012:snapshot:rds:orders-2024-05-01-03-10"
        );
        assert_eq!(decided.named_by.as_deref(), Some("detail.SourceIdentifier"));
        assert!(
            reason(decide(&hint(vec![], id.clone(), vec![]), None)).contains("own account and Region are not known")
        );
        let elsewhere = Claim::Envelope { account: Some(read("account", "210987654321")), region: None };
        assert_eq!(
            reason(decide(&hint(vec![], id.clone(), vec![elsewhere]), Some(&home()))),
            "detail.SourceIdentifier \"rds:orders-2024-05-01-03-10\" names the snapshot only by its identifier, and by \
             account the event comes from account 210987654321, partition aws, not from this function's account \
             123456789012, Region us-east-1, partition aws: the exporter looks only at its own snapshots"
        );
        let topic = Claim::Arn(read("Records[0].Sns.TopicArn", "arn:aws:sns:eu-west-1:123456789012:rds"));
        assert!(reason(decide(&hint(vec![], id.clone(), vec![topic]), Some(&home()))).contains("Region eu-west-1"));
        let unreadable = Claim::Arn(read("Records[0].Sns.TopicArn", "rds-events"));
        assert!(reason(decide(&hint(vec![], id.clone(), vec![unreadable]), Some(&home()))).contains("is not an ARN"));
        let garbled = Claim::Envelope { account: Some(read("account", "x")), region: None };
        assert!(
            reason(decide(&hint(vec![], id.clone(), vec![garbled]), Some(&home())))
                .contains("\"x\" is not an account id")
        );
        let here = Claim::Envelope {
            account: Some(read("account", "123456789012")),
            region: Some(read("region", "us-east-1")),
        };
        assert!(decide(&hint(vec![], id.clone(), vec![here]), Some(&home())).is_ok());
    }

    #[test]
    fn an_rds_arn_of_another_resource_is_a_place_not_the_snapshot() {
        let db = read("detail.SourceArn", "arn:aws:rds:us-east-1:123456789012:db:mysql-instance-2018-10-06-12-24");
        let id = Some(read("detail.SourceIdentifier", "rds:mysql-instance-2018-10-06-12-24"));
        let decided = decide(&hint(vec![db.clone()], id.clone(), vec![]), Some(&home())).expect("candidate");
        assert_eq!(
            decided.snapshot.as_str(),
            "arn:aws:rds:us-east-1:123456789012:snapshot:rds:mysql-instance-2018-10-06-12-24"
        );
        let foreign = read("detail.SourceArn", "arn:aws:rds:us-east-1:210987654321:db:orders");
        assert_eq!(
            reason(decide(&hint(vec![foreign], id.clone(), vec![]), Some(&home()))),
            "detail.SourceArn \"arn:aws:rds:us-east-1:210987654321:db:orders\" is the ARN of a db, not of a snapshot; \
             detail.SourceIdentifier \"rds:mysql-instance-2018-10-06-12-24\" names the snapshot only by its \
             identifier, and by detail.SourceArn the event comes from account 210987654321, Region us-east-1, \
             partition aws, not from this function's account 123456789012, Region us-east-1, partition aws: the \
             exporter looks only at its own snapshots"
        );
        assert_eq!(
            reason(decide(&hint(vec![db.clone()], None, vec![]), Some(&home()))),
            "detail.SourceArn \"arn:aws:rds:us-east-1:123456789012:db:mysql-instance-2018-10-06-12-24\" is the ARN of \
             a db, not of a snapshot, and the event has no detail.SourceIdentifier: it names no snapshot"
        );
    }

    #[test]
    fn a_snapshot_arn_wins_and_is_not_placed() {
        // A snapshot ARN of another account is taken as it is: the exporter's describe call
        // then refuses it (`Exporter::export_one`), as it always has.
        let arn = read("detail.SourceArn", "arn:aws:rds:eu-west-1:210987654321:snapshot:orders");
        let id = Some(read("detail.SourceIdentifier", "something-else"));
        let decided = decide(&hint(vec![arn.clone()], id.clone(), vec![]), Some(&home())).expect("candidate");
        assert_eq!((decided.snapshot.as_str(), decided.named_by), (arn.value, None));
        let not_an_arn = read("detail.SourceArn", "orders-nightly");
        assert!(
            reason(decide(&hint(vec![not_an_arn], id.clone(), vec![]), Some(&home())))
                .starts_with("detail.SourceArn: \"orders-nightly\" is not an RDS snapshot ARN (too few fields)")
        );
        let cluster = read("detail.SourceArn", "arn:aws:rds:us-east-1:123456789012:cluster-snapshot:ledger");
        assert!(
            reason(decide(&hint(vec![cluster], id.clone(), vec![]), Some(&home())))
                .contains("but an RDS DB Snapshot Event is about a DB instance")
        );
    }

    #[test]
    fn nothing_that_names_a_snapshot_is_a_reason() {
        assert_eq!(
            reason(decide(&hint(vec![], None, vec![]), Some(&home()))),
            "detail.SourceArn: missing, and the event has no resources[0] or detail.SourceIdentifier either; \
             expected the snapshot's ARN or identifier"
        );
        let mut cluster = hint(vec![], Some(read("detail.SourceIdentifier", "ledger")), vec![]);
        cluster.source_type = Some((read("detail.SourceType", "CLUSTER_SNAPSHOT"), "SNAPSHOT"));
        assert!(
            reason(decide(&cluster, Some(&home())))
                .contains("detail.SourceType \"CLUSTER_SNAPSHOT\" is not the source type")
        );
    }

    #[test]
    fn identifiers_follow_the_rds_rules() {
        for good in
            ["orders", "rds:orders-2024-05-01-03-10", "awsbackup:job-a827233a-d405-4a86-a440-759fa94f34dd", "A1"]
        {
            assert_eq!(check_identifier(good), Ok(()), "{good}");
        }
        for bad in ["", "<SNAPSHOT_NAME>", "1orders", "rds:", "orders--x", "orders-", "a b", "a:b", "orders\n"] {
            assert!(check_identifier(bad).is_err(), "{bad:?}");
        }
        assert!(check_identifier(&format!("a{}", "b".repeat(255))).is_err());
    }
}
