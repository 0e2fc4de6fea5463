use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use offsite_common::lineage::vault_identifier;

use offsite_common::config::Setting;

use super::*;

const DAY: i64 = 86_400;
/// 2026-12-03T00:00:00Z, a Thursday: a 7d period boundary (the epoch was a Thursday).
const THURSDAY: i64 = 1_796_256_000;
const KEY: &str = "arn:aws:kms:eu-west-1:222222222222:key/import";

fn policy() -> Policy {
    Policy {
        every_secs: 7 * DAY,
        pick: Pick::Latest,
        max_running: 2,
        available_within_secs: 3 * 3_600,
        overdue_after_secs: 12 * 3_600,
        checks: Vec::new(),
    }
}

fn rfc3339(secs: i64) -> String {
    DateTime::from_secs(secs).fmt(Format::DateTime).expect("formattable")
}

/// A genuine, available vault import of `database` (account 111111111111) taken at `taken`.
fn import(database: &str, taken: i64) -> Snapshot {
    let shared_arn = format!("arn:aws:rds:eu-west-1:111111111111:snapshot:offsite-{database}-{taken}");
    let shared = Snapshot::bare(SnapshotKind::Instance, shared_arn.clone(), "", SnapshotStatus::Available);
    let identifier = vault_identifier(&shared);
    let mut copy = Snapshot::bare(
        SnapshotKind::Instance,
        format!("arn:aws:rds:eu-west-1:222222222222:snapshot:{identifier}"),
        identifier,
        SnapshotStatus::Available,
    );
    copy.engine = Some("postgres".into());
    copy.engine_version = Some("16.3".into());
    copy.allocated_storage = Some(20);
    copy.encrypted = true;
    copy.kms_key_id = Some(KEY.into());
    for (key, value) in [
        (tags::MARKER, tags::MARKER_IMPORT.to_owned()),
        (tags::COPY_ARN, shared_arn),
        (tags::SOURCE_ACCOUNT, "111111111111".to_owned()),
        (tags::SOURCE_DATABASE, database.to_owned()),
        (tags::SOURCE_CREATED, rfc3339(taken)),
    ] {
        copy.tags.insert(key.to_owned(), value);
    }
    copy
}

fn tested(mut copy: Snapshot, result: &str, at: i64, period: i64) -> Snapshot {
    copy.tags.insert(tags::RESTORE_TEST.into(), result.into());
    copy.tags.insert(tags::RESTORE_TESTED_AT.into(), rfc3339(at));
    copy.tags.insert(tags::RESTORE_TEST_PERIOD.into(), date_text(period));
    copy
}

fn orders() -> DatabaseKey {
    DatabaseKey { account: "111111111111".into(), database: "orders".into() }
}

/// The tester's restore of `copy`, started at `started`, in `status`.
fn restored(copy: &Snapshot, kind: ResourceKind, status: &str, started: i64) -> Restored {
    let database = database_of(copy).expect("a database");
    let identifier = restore_identifier(&database, period_start(started, 7 * DAY));
    let tags = BTreeMap::from([
        (tags::MARKER.to_owned(), tags::MARKER_RESTORE_TEST.to_owned()),
        (tags::RESTORE_OF.to_owned(), copy.arn.clone()),
        (tags::RESTORE_DATABASE.to_owned(), database.to_string()),
        (tags::RESTORE_PERIOD.to_owned(), date_text(period_start(started, 7 * DAY))),
        (tags::RESTORE_STARTED_AT.to_owned(), rfc3339(started)),
        (tags::RESTORE_STAGE.to_owned(), tags::RESTORE_STAGE_RESTORING.to_owned()),
    ]);
    let resource = match kind {
        ResourceKind::Instance => "db",
        ResourceKind::Cluster => "cluster",
    };
    Restored {
        kind,
        arn: format!("arn:aws:rds:eu-west-1:222222222222:{resource}:{identifier}"),
        identifier,
        status: status.into(),
        tags,
        cluster: None,
        members: Vec::new(),
        engine: copy.engine.clone(),
        engine_version: copy.engine_version.clone(),
        storage_encrypted: true,
        kms_key_id: copy.kms_key_id.clone(),
        allocated_storage: Some(20),
        endpoint: (status == "available").then(|| "db.example".to_owned()),
        port: (status == "available").then_some(5432),
        master_secret: None,
    }
}

fn member_of(cluster: &Restored, status: &str) -> Restored {
    Restored {
        kind: ResourceKind::Instance,
        identifier: format!("{}{CLUSTER_INSTANCE_SUFFIX}", cluster.identifier),
        arn: format!("{}{CLUSTER_INSTANCE_SUFFIX}", cluster.arn.replace(":cluster:", ":db:")),
        status: status.into(),
        cluster: Some(cluster.identifier.clone()),
        endpoint: (status == "available").then(|| "i.example".to_owned()),
        allocated_storage: None,
        ..cluster.clone()
    }
}

#[test]
fn identifiers_are_short_valid_and_one_per_database_and_period() {
    let id = restore_identifier(&orders(), THURSDAY);
    assert!(id.starts_with("rt-20261203-") && id.len() == 24, "{id}");
    assert!(id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') && !id.contains("--"));
    assert_eq!(restore_identifier(&orders(), period_start(THURSDAY + 3 * DAY, 7 * DAY)), id, "same period, same name");
    assert_ne!(restore_identifier(&orders(), THURSDAY + 7 * DAY), id);
    let ledger = DatabaseKey { account: "111111111111".into(), database: "ledger".into() };
    assert_ne!(restore_identifier(&ledger, THURSDAY), id);
    // Persistent format (computed by hand: sha256("111111111111/orders")): the vault's IAM
    // scopes on rt-*, and a rerun must find its restore.
    assert_eq!(id, "rt-20261203-c7cd0a855f0d");
}

#[test]
fn the_newest_copy_in_the_window_is_tested_once_per_period() {
    let now = THURSDAY + 2 * DAY;
    let copies =
        [import("orders", THURSDAY - 10 * DAY), import("orders", THURSDAY - DAY), import("orders", THURSDAY + DAY)];
    let decided = plan(&copies, &[], &policy(), now);
    assert_eq!(decided.starts.len(), 1, "{decided:#?}");
    let start = &decided.starts[0];
    assert_eq!(start.copy_arn, copies[2].arn, "the latest within the window");
    assert_eq!((start.kind, start.period.as_str()), (ResourceKind::Instance, "2026-12-03"));
    assert_eq!(start.identifier, restore_identifier(&orders(), THURSDAY));
    // Its test under way: nothing more starts, the test is waited for.
    let under_way = restored(&copies[2], ResourceKind::Instance, "creating", now);
    let decided = plan(&copies, std::slice::from_ref(&under_way), &policy(), now + 600);
    assert!(decided.starts.is_empty());
    assert!(matches!(decided.tests[0].1, Step::Wait { .. }), "{decided:#?}");
    // Tested in this period (evidence on a copy): nothing more until the next period.
    let copies = [copies[0].clone(), copies[1].clone(), tested(copies[2].clone(), "failed", now, THURSDAY)];
    let decided = plan(&copies, &[], &policy(), now + DAY);
    assert!(decided.starts.is_empty(), "{decided:#?}");
    assert_eq!(decided.databases[0].outcome, Outcome::Tested { result: "failed".into() });
    let next_week = plan(&copies, &[], &policy(), THURSDAY + 7 * DAY + 12 * 3_600);
    assert_eq!(next_week.starts.len(), 1, "the next period tests again");
}

#[test]
fn no_copy_within_the_window_is_no_test() {
    let copies = [import("orders", THURSDAY - 20 * DAY)];
    let decided = plan(&copies, &[], &policy(), THURSDAY + DAY);
    assert!(decided.starts.is_empty());
    assert_eq!(decided.databases[0].outcome, Outcome::NoCopyInWindow);
}

#[test]
fn a_random_pick_is_one_of_the_window_and_the_same_for_every_run_of_the_period() {
    let copies: Vec<Snapshot> = (0..6).map(|i| import("orders", THURSDAY + i * 3_600)).collect();
    let random = Policy { pick: Pick::Random, ..policy() };
    let first = plan(&copies, &[], &random, THURSDAY + DAY).starts[0].copy_arn.clone();
    assert!(copies.iter().any(|c| c.arn == first));
    for later in [THURSDAY + 2 * DAY, THURSDAY + 6 * DAY] {
        let window: Vec<Snapshot> = copies.clone();
        assert_eq!(plan(&window, &[], &random, later).starts[0].copy_arn, first, "stable within the period");
    }
    // Not the latest for every database: over twenty databases the choices spread.
    let many: Vec<Snapshot> =
        (0..20).flat_map(|d| (0..6).map(move |i| import(&format!("db-{d}"), THURSDAY + i * 3_600))).collect();
    let decided = plan(&many, &[], &random, THURSDAY + DAY);
    let newest_of = |database: &str| import(database, THURSDAY + 5 * 3_600).arn;
    let latest = decided.starts.iter().filter(|s| s.copy_arn == newest_of(&s.database.database)).count();
    let picked: std::collections::BTreeSet<&str> = decided.starts.iter().map(|s| s.copy_identifier.as_str()).collect();
    assert_eq!(picked.len(), 20);
    assert!(latest < 20, "a random pick is not always the newest copy: {decided:#?}");
    assert_eq!(
        plan(&many, &[], &policy(), THURSDAY + DAY)
            .starts
            .iter()
            .filter(|s| s.copy_arn == newest_of(&s.database.database))
            .count(),
        20,
        "latest: always the newest"
    );
}

#[test]
fn the_cap_defers_the_rest_stalest_database_first() {
    let now = THURSDAY + 2 * DAY;
    let mut copies = Vec::new();
    for (database, passed) in [("a", Some(THURSDAY - 7 * DAY)), ("b", None), ("c", Some(THURSDAY - 14 * DAY))] {
        let copy = import(database, THURSDAY + DAY);
        copies.push(copy);
        if let Some(at) = passed {
            copies.push(tested(import(database, at - DAY), "passed", at, period_start(at, 7 * DAY)));
        }
    }
    let capped = Policy { max_running: 2, ..policy() };
    let decided = plan(&copies, &[], &capped, now);
    // Every due test in order (the run starts them until the slots hold restores, so a start
    // RDS refuses never keeps the others waiting), and two slots.
    let order: Vec<&str> = decided.starts.iter().map(|s| s.database.database.as_str()).collect();
    assert_eq!(order, ["b", "c", "a"], "never tested first, then the oldest pass");
    assert_eq!(decided.slots, 2);
    let a = decided.databases.iter().find(|d| d.database.database == "a").expect("a");
    assert!(matches!(a.outcome, Outcome::Deferred { .. }), "until the run starts it: {a:#?}");
    // Tests under way hold slots.
    let running = restored(&copies[0], ResourceKind::Instance, "creating", now);
    let decided = plan(&copies, std::slice::from_ref(&running), &capped, now);
    assert_eq!((decided.starts.len(), decided.slots), (2, 1), "{decided:#?}");
}

#[test]
fn the_evidence_is_carried_onto_the_newest_copy_and_outlives_the_copy_tested() {
    let now = THURSDAY + 2 * DAY;
    let tested_copy = tested(import("orders", THURSDAY + 3_600), "passed", THURSDAY + DAY, THURSDAY);
    let newer = import("orders", THURSDAY + DAY + 3_600);
    let decided = plan(&[tested_copy.clone(), newer.clone()], &[], &policy(), now);
    assert_eq!(decided.carries.len(), 1, "{decided:#?}");
    let carry = &decided.carries[0];
    assert_eq!(carry.copy_arn, newer.arn);
    assert_eq!(carry.tags.get(tags::RESTORE_TEST_LAST_PASSED), Some(&rfc3339(THURSDAY + DAY)));
    assert_eq!(carry.tags.get(tags::RESTORE_TEST_LAST_PERIOD), Some(&date_text(THURSDAY)));
    // Retention deletes the copy tested: the newest copy still says the period is tested and
    // when the last test passed; nothing starts, nothing more to carry.
    let mut carried = newer.clone();
    carried.tags.extend(carry.tags.clone());
    let decided = plan(std::slice::from_ref(&carried), &[], &policy(), now);
    assert!(decided.starts.is_empty() && decided.carries.is_empty(), "{decided:#?}");
    assert_eq!(decided.databases[0].last_passed, Some(THURSDAY + DAY));
    assert!(matches!(decided.databases[0].outcome, Outcome::Tested { .. }), "{decided:#?}");
    // The next period tests again.
    assert_eq!(plan(std::slice::from_ref(&carried), &[], &policy(), THURSDAY + 7 * DAY + 3_600).starts.len(), 1);
}

#[test]
fn an_instance_test_moves_from_restoring_to_checked_to_deleted() {
    let copy = import("orders", THURSDAY);
    let now = THURSDAY + DAY;
    let test = |status: &str, stage: Option<&str>| {
        let mut root = restored(&copy, ResourceKind::Instance, status, now - 600);
        if let Some(stage) = stage {
            root.tags.insert(tags::RESTORE_STAGE.into(), stage.into());
        }
        Test { root, members: Vec::new() }
    };
    assert!(matches!(step(&test("creating", None), now, &policy()), Step::Wait { .. }));
    assert_eq!(step(&test("available", None), now, &policy()), Step::Check);
    assert_eq!(step(&test("available", Some(tags::RESTORE_STAGE_CHECKED)), now, &policy()), Step::Delete);
    assert_eq!(step(&test("deleting", Some(tags::RESTORE_STAGE_CHECKED)), now, &policy()), Step::Deleting);
    assert_eq!(step(&test("deleting", None), now, &policy()), Step::Deleting, "deleted by someone: done");
    let failed = step(&test("incompatible-restore", None), now, &policy());
    assert!(matches!(&failed, Step::Fail { reason } if reason.contains("incompatible-restore")), "{failed:?}");
    // Too slow: failed, whatever RDS says next.
    let slow = step(&test("creating", None), now + 4 * 3_600, &policy());
    assert!(matches!(&slow, Step::Fail { reason } if reason.contains("limit 3h")), "{slow:?}");
}

#[test]
fn a_data_check_waits_for_the_managed_password_then_checks() {
    let copy = import("orders", THURSDAY);
    let now = THURSDAY + DAY;
    let checks = crate::checks::CheckList::parse_setting(r#"[{"source": "orders", "row_counts": [{"table": "t"}]}]"#)
        .expect("valid")
        .0;
    let with_checks = Policy { checks, ..policy() };
    let test = |status: &str, secret: Option<&str>| {
        let mut root = restored(&copy, ResourceKind::Instance, status, now - 600);
        root.master_secret = secret.map(|s| MasterSecret {
            arn: "arn:aws:secretsmanager:eu-west-1:222222222222:secret:rds!db-1".into(),
            status: s.into(),
        });
        Test { root, members: Vec::new() }
    };
    assert_eq!(step(&test("available", None), now, &with_checks), Step::ManagePassword);
    assert_eq!(step(&test("available", None), now, &policy()), Step::Check, "no data check: no password needed");
    let modifying = step(&test("modifying", Some("creating")), now, &with_checks);
    assert!(matches!(&modifying, Step::Wait { why } if why.contains("secret is creating")), "{modifying:?}");
    let creating = step(&test("available", Some("creating")), now, &with_checks);
    assert!(matches!(&creating, Step::Wait { .. }), "{creating:?}");
    assert_eq!(step(&test("available", Some("active")), now, &with_checks), Step::Check);
    // A secret that never becomes active fails the test at the restore's limit.
    let impaired = step(&test("available", Some("impaired")), now + 4 * 3_600, &with_checks);
    assert!(matches!(&impaired, Step::Fail { reason } if reason.contains("secret is impaired")), "{impaired:?}");
    // Another database's entry does not apply.
    let other = restored(&import("ledger", THURSDAY), ResourceKind::Instance, "available", now - 600);
    assert_eq!(step(&Test { root: other, members: Vec::new() }, now, &with_checks), Step::Check);
}

#[test]
fn a_cluster_test_creates_its_instance_then_checks_then_deletes_both() {
    let mut copy = import("orders", THURSDAY);
    copy.kind = SnapshotKind::Cluster;
    copy.engine = Some("aurora-postgresql".into());
    let now = THURSDAY + DAY;
    let mut cluster = restored(&copy, ResourceKind::Cluster, "available", now - 600);
    cluster.allocated_storage = Some(1);
    let alone = Test { root: cluster.clone(), members: Vec::new() };
    let expected = format!("{}-i", cluster.identifier);
    assert_eq!(step(&alone, now, &policy()), Step::CreateInstance { identifier: expected.clone() });
    // A run long after (a slow schedule): the cluster RDS made available still gets its
    // primary; the limit judges what RDS has not made available.
    let late = now + 2 * policy().available_within_secs;
    assert_eq!(step(&alone, late, &policy()), Step::CreateInstance { identifier: expected });
    let creating_late = Test { root: cluster.clone(), members: vec![member_of(&cluster, "creating")] };
    assert!(matches!(step(&creating_late, late, &policy()), Step::Fail { .. }));
    let creating = Test { root: cluster.clone(), members: vec![member_of(&cluster, "creating")] };
    assert!(matches!(step(&creating, now, &policy()), Step::Wait { .. }));
    let ready = Test { root: cluster.clone(), members: vec![member_of(&cluster, "available")] };
    assert_eq!(step(&ready, now, &policy()), Step::Check);
    let findings = api_checks(&ready, &copy);
    assert!(findings.iter().all(|f| f.passed), "{findings:#?}");
    assert!(!findings.iter().any(|f| f.check == "storage"), "an Aurora volume has no size to compare");
    let mut checked = cluster.clone();
    checked.tags.insert(tags::RESTORE_STAGE.into(), tags::RESTORE_STAGE_CHECKED.into());
    let deleting_member = Test { root: checked.clone(), members: vec![member_of(&cluster, "deleting")] };
    assert_eq!(step(&deleting_member, now, &policy()), Step::Delete, "the cluster is not deleting yet");
    let mut gone = checked;
    gone.status = "deleting".into();
    assert_eq!(
        step(&Test { root: gone, members: vec![member_of(&cluster, "deleting")] }, now, &policy()),
        Step::Deleting
    );
    // The grouping: the cluster with its instance, an instance restore alone.
    let instance = restored(&import("ledger", THURSDAY), ResourceKind::Instance, "available", now);
    let grouped = tests_of(&[cluster.clone(), member_of(&cluster, "available"), instance.clone()]);
    assert_eq!(grouped.len(), 2);
    assert_eq!(grouped.iter().find(|t| t.root.kind == ResourceKind::Cluster).map(|t| t.members.len()), Some(1));
}

#[test]
fn the_api_checks_name_what_differs_from_the_copy() {
    let copy = import("orders", THURSDAY);
    let mut root = restored(&copy, ResourceKind::Instance, "available", THURSDAY);
    let test = |root: &Restored| Test { root: root.clone(), members: Vec::new() };
    let passed = api_checks(&test(&root), &copy);
    assert!(passed.iter().all(|f| f.passed), "{passed:#?}");
    assert_eq!(figures(&passed, &test(&root)), "postgres 16.3 / 20 GiB");
    root.kms_key_id = Some("arn:aws:kms:eu-west-1:222222222222:key/other".into());
    root.engine_version = Some("16.4".into());
    root.allocated_storage = Some(10);
    root.endpoint = None;
    let failed = api_checks(&test(&root), &copy);
    let names: Vec<&str> = failed.iter().filter(|f| !f.passed).map(|f| f.check.as_str()).collect();
    assert_eq!(names, ["engine version", "encryption", "storage", "endpoint"]);
    let text = figures(&failed, &test(&root));
    assert!(text.starts_with("engine version: restored") && text.chars().count() <= 256, "{text}");
}

#[test]
fn resources_older_than_the_limit_are_overdue_and_others_are_never_touched() {
    let copy = import("orders", THURSDAY);
    let now = THURSDAY + DAY;
    let old = restored(&copy, ResourceKind::Instance, "creating", now - 13 * 3_600);
    let mut operators = restored(&import("ledger", THURSDAY), ResourceKind::Instance, "available", now);
    operators.identifier = "ledger-prod".into();
    let mut unmarked = restored(&import("billing", THURSDAY), ResourceKind::Instance, "available", now);
    unmarked.tags.remove(tags::MARKER);
    let decided = plan(&[copy], &[old.clone(), operators, unmarked], &policy(), now);
    assert_eq!(decided.tests.len(), 1, "only the tester's own: {decided:#?}");
    assert_eq!(decided.overdue, [(old.identifier.clone(), 13 * 3_600)]);
    assert!(matches!(decided.tests[0].1, Step::Fail { .. }), "and long failed: {decided:#?}");
}

#[test]
fn durations_read_as_people_write_them() {
    assert_eq!(duration_text(40 * 60), "40m");
    assert_eq!(duration_text(3 * 3_600), "3h");
    assert_eq!(duration_text(3 * 3_600 + 300), "3h5m");
    assert_eq!(duration_text(2 * DAY), "2d");
    assert_eq!(duration_text(2 * DAY + 5 * 3_600), "2d5h");
}
