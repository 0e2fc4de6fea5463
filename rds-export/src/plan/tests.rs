use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use offsite_common::lineage::vault_identifier;

use super::*;

const DAY: i64 = 86_400;
/// 2026-12-03T00:00:00Z, a Thursday: a 7d period boundary (the epoch was a Thursday).
const THURSDAY: i64 = 1_796_256_000;
const BUCKET: &str = "auditor-exports";

fn policy() -> Policy {
    Policy {
        period: Period::Every { secs: 7 * DAY },
        grace_secs: 3_600,
        lookback_secs: 35 * DAY,
        databases: None,
        source_tag: None,
        export_only: Vec::new(),
        max_running: MAX_RUNNING_PER_ACCOUNT,
        bucket: BUCKET.to_owned(),
        prefix: "offsite".to_owned(),
    }
}

/// A genuine, available vault import of `database` (account 111111111111) taken at `taken`.
fn import(database: &str, taken: i64, engine: &str) -> Snapshot {
    import_in("111111111111", database, taken, engine, SnapshotKind::Instance)
}

fn import_in(account: &str, database: &str, taken: i64, engine: &str, kind: SnapshotKind) -> Snapshot {
    let shared_arn = format!("arn:aws:rds:eu-west-1:{account}:{}:offsite-{database}-{taken}", kind.arn_resource_type());
    let shared = Snapshot::bare(kind, shared_arn.clone(), "", SnapshotStatus::Available);
    let identifier = vault_identifier(&shared);
    let mut copy = Snapshot::bare(
        kind,
        format!("arn:aws:rds:eu-west-1:222222222222:{}:{identifier}", kind.arn_resource_type()),
        identifier,
        SnapshotStatus::Available,
    );
    copy.engine = Some(engine.to_owned());
    let created = DateTime::from_secs(taken).fmt(Format::DateTime).expect("formattable");
    for (key, value) in [
        (tags::MARKER, tags::MARKER_IMPORT),
        (tags::COPY_ARN, shared_arn.as_str()),
        (tags::SOURCE_ACCOUNT, account),
        (tags::SOURCE_DATABASE, database),
        (tags::SOURCE_CREATED, created.as_str()),
    ] {
        copy.tags.insert(key.to_owned(), value.to_owned());
    }
    copy
}

fn task(identifier: &str, source: &Snapshot, status: &str, started: i64) -> ExportTask {
    ExportTask {
        identifier: identifier.to_owned(),
        source_arn: source.arn.clone(),
        status: TaskStatus::parse(status),
        s3_bucket: BUCKET.to_owned(),
        s3_prefix: "offsite/rds".to_owned(),
        started: Some(started),
        ended: None,
        percent_progress: None,
        failure_cause: (status == "FAILED").then(|| "S3 access denied".to_owned()),
        warning_message: None,
    }
}

fn outcomes(plan: &Plan) -> Vec<(String, String, &'static str)> {
    plan.periods
        .iter()
        .map(|v| {
            let name = match v.outcome {
                Outcome::Exported { .. } => "exported",
                Outcome::Running { .. } => "running",
                Outcome::Start { .. } => "start",
                Outcome::NotStarted { .. } => "not-started",
                Outcome::Deferred { .. } => "deferred",
                Outcome::GaveUp { .. } => "gave-up",
                Outcome::Unsupported { .. } => "unsupported",
            };
            (v.database.database.clone(), v.period.clone(), name)
        })
        .collect()
}

fn start_task(plan: &Plan, copy: &Snapshot) -> String {
    plan.starts.iter().find(|s| s.source_arn == copy.arn).map(|s| s.identifier.clone()).expect("started")
}

#[test]
fn periods_are_fixed_lengths_from_the_epoch_or_calendar_months() {
    let week = Period::Every { secs: 7 * DAY };
    assert_eq!(week.bounds(week.key(THURSDAY + 5 * DAY)), (THURSDAY, THURSDAY + 7 * DAY));
    assert_eq!(week.key(THURSDAY - 1), week.key(THURSDAY) - 1);
    let month = Period::CalendarMonth;
    // 2024-02-29T12:00Z is in February 2024, which has 29 days.
    let leap_day = 1_709_208_000;
    let (start, end) = month.bounds(month.key(leap_day));
    assert_eq!((date_text(start), date_text(end)), ("2024-02-01".to_owned(), "2024-03-01".to_owned()));
    assert_eq!(end - start, 29 * DAY);
    // December to January crosses the year.
    let (start, end) = month.bounds(month.key(THURSDAY));
    assert_eq!((date_text(start), date_text(end)), ("2026-12-01".to_owned(), "2027-01-01".to_owned()));
}

#[test]
fn task_identifiers_are_made_of_the_partition_values_and_fit_rds() {
    let db = |account: &str, name: &str| DatabaseKey { account: account.into(), database: name.into() };
    let orders = db("111111111111", "orders");
    let id = task_identifier(&orders, THURSDAY + 3_600, 1).expect("fits");
    assert_eq!(id, "o111111111111-2026-12-03-orders-1");
    assert_eq!(task_identifier(&orders, THURSDAY + 80_000, 1).as_deref(), Some(id.as_str()), "one name per day");
    assert!(is_offsite_task(&id) && !is_offsite_task("orders-export") && !is_offsite_task("o1234-x"));
    for other in [
        task_identifier(&orders, THURSDAY, 2),
        task_identifier(&orders, THURSDAY + DAY, 1),
        task_identifier(&db("333333333333", "orders"), THURSDAY, 1),
        task_identifier(&db("111111111111", "ledger"), THURSDAY, 1),
    ] {
        assert_ne!(Some(id.clone()), other);
    }
    assert_eq!(attempt_of(&format!("{}-3", task_base(&orders, THURSDAY)), &task_base(&orders, THURSDAY)), Some(3));
    assert_eq!(attempt_of(&format!("{}-9", task_base(&orders, THURSDAY)), &task_base(&orders, THURSDAY)), None);
    // 33 characters fit, 34 do not (60 in all).
    let longest = db("111111111111", &"d".repeat(33));
    assert_eq!(task_identifier(&longest, THURSDAY, 1).map(|i| i.len()), Some(60));
    assert_eq!(task_identifier(&db("111111111111", &"d".repeat(34)), THURSDAY, 1), None);
}

#[test]
fn the_prefix_names_account_database_and_the_snapshots_date() {
    let db = DatabaseKey { account: "111111111111".into(), database: "orders".into() };
    let expected = "audit/x/rds/account=111111111111/database=orders/date=2026-12-03";
    assert_eq!(s3_prefix("audit/x/", &db, THURSDAY + 3_600), expected);
    assert_eq!(s3_prefix("", &db, THURSDAY), "rds/account=111111111111/database=orders/date=2026-12-03");
}

#[test]
fn only_the_engines_aws_exports_are_exported() {
    use SnapshotKind::{Cluster, Instance};
    for (kind, engine, family) in [
        (Instance, "postgres", EngineFamily::Postgres),
        (Instance, "mysql", EngineFamily::MySql),
        (Instance, "mariadb", EngineFamily::MySql),
        (Cluster, "aurora-postgresql", EngineFamily::Postgres),
        (Cluster, "aurora-mysql", EngineFamily::MySql),
    ] {
        assert_eq!(engine_family(kind, Some(engine)), Ok(family), "{engine}");
    }
    for (kind, engine, says) in [
        (Instance, Some("oracle-ee"), "engine oracle-ee"),
        (Instance, Some("sqlserver-se"), "engine sqlserver-se"),
        (Instance, Some("db2-se"), "engine db2-se"),
        (Cluster, Some("postgres"), "Multi-AZ DB cluster"),
        (Instance, None, "names no engine"),
    ] {
        let error = engine_family(kind, engine).expect_err("not exportable");
        assert!(error.contains(says), "{engine:?}: {error}");
    }
}

#[test]
fn export_only_entries_take_their_engines_forms() {
    let entries = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    assert!(
        check_export_only(EngineFamily::Postgres, &entries(&["shop", "shop.public", "shop.public.orders"])).is_ok()
    );
    assert!(check_export_only(EngineFamily::MySql, &entries(&["shop", "shop.orders"])).is_ok());
    for (family, bad) in [
        (EngineFamily::MySql, "shop.public.orders"),
        (EngineFamily::Postgres, "shop.public.orders.id"),
        (EngineFamily::Postgres, "shop..orders"),
        (EngineFamily::MySql, ".orders"),
        (EngineFamily::MySql, "shop orders"),
        (EngineFamily::MySql, ""),
    ] {
        let error = check_export_only(family, &entries(&["shop", bad])).expect_err("wrong form");
        assert!(error.contains(&format!("{bad:?}")), "{error}");
    }
}

#[test]
fn the_newest_copy_of_each_closed_period_is_exported() {
    let now = THURSDAY + 2 * 3_600; // two hours into the week: last week closed, grace over
    let last_week_old = import("orders", THURSDAY - 6 * DAY, "postgres");
    let last_week_new = import("orders", THURSDAY - DAY, "postgres");
    let week_before = import("orders", THURSDAY - 10 * DAY, "postgres");
    let this_week = import("orders", THURSDAY + 3_600, "postgres");
    let too_old = import("orders", THURSDAY - 40 * DAY, "postgres");
    let copies = [last_week_old, last_week_new.clone(), week_before.clone(), this_week, too_old];
    let plan = plan(&copies, &[], &policy(), now);
    assert_eq!(
        outcomes(&plan),
        vec![
            ("orders".to_owned(), "2026-11-26".to_owned(), "start"),
            ("orders".to_owned(), "2026-11-19".to_owned(), "start"),
        ],
        "the open week and the week past the lookback are not exported"
    );
    assert_eq!(plan.starts.len(), 2);
    let newest = &plan.starts[0];
    assert_eq!(newest.source_arn, last_week_new.arn, "the newest copy of its week, the newest week first");
    assert_eq!(newest.s3_prefix, "offsite/rds/account=111111111111/database=orders/date=2026-12-02");
    assert_eq!(plan.starts[1].source_arn, week_before.arn);
    // Within the grace, last week waits for copies still on their way.
    let early = super::plan(&copies, &[], &policy(), THURSDAY + 600);
    assert!(early.starts.iter().all(|s| s.source_arn != last_week_new.arn));
}

#[test]
fn a_period_with_an_export_is_not_exported_again_and_failures_are_retried_three_times() {
    let now = THURSDAY + 2 * 3_600;
    let older = import("orders", THURSDAY - 6 * DAY, "postgres");
    let newer = import("orders", THURSDAY - DAY, "postgres");
    let copies = [older.clone(), newer.clone()];
    let first = plan(&copies, &[], &policy(), now);
    let id = start_task(&first, &newer);
    // A complete export of the older copy of the week covers the week (another setting made it).
    let covered = plan(
        &copies,
        &[task(
            &format!("{}-1", task_base(&database_of(&older).expect("db"), THURSDAY - 6 * DAY)),
            &older,
            "COMPLETE",
            now,
        )],
        &policy(),
        now,
    );
    assert_eq!(outcomes(&covered)[0].2, "exported");
    assert!(covered.starts.is_empty());
    let running = plan(&copies, &[task(&id, &newer, "IN_PROGRESS", now)], &policy(), now);
    assert_eq!(outcomes(&running)[0].2, "running");
    // A failure: the next attempt, under the next identifier.
    let failed = [task(&id, &newer, "FAILED", now)];
    let retry = plan(&copies, &failed, &policy(), now);
    let second = start_task(&retry, &newer);
    assert_eq!(second, format!("{}-2", id.trim_end_matches("-1")));
    let cancelled = [task(&id, &newer, "CANCELED", now), task(&second, &newer, "FAILED", now + 1)];
    let third = start_task(&plan(&copies, &cancelled, &policy(), now), &newer);
    assert!(third.ends_with("-3"), "{third}");
    let all = [
        task(&id, &newer, "FAILED", now),
        task(&second, &newer, "FAILED", now + 1),
        task(&third, &newer, "FAILED", now + 2),
    ];
    let given_up = plan(&copies, &all, &policy(), now);
    assert!(given_up.starts.is_empty());
    assert_eq!(
        given_up.periods[0].outcome,
        Outcome::GaveUp { task: third.clone(), failure_cause: "S3 access denied".to_owned() }
    );
    assert_eq!(given_up.databases[0].failures.len(), 3, "reported until a later export completes");
}

#[test]
fn failures_are_reported_until_a_later_export_of_the_database_completes() {
    let now = THURSDAY + 2 * 3_600;
    let week1 = import("orders", THURSDAY - 13 * DAY, "postgres");
    let week2 = import("orders", THURSDAY - DAY, "postgres");
    let mut done = task("o111111111111-a-1", &week2, "COMPLETE", now - 100);
    done.ended = Some(now - 50);
    let failed_before = task("o111111111111-b-1", &week1, "FAILED", now - 200);
    let state = &plan(&[week1.clone(), week2.clone()], &[failed_before, done], &policy(), now).databases[0];
    assert!(state.failures.is_empty(), "{state:?}");
    assert_eq!(state.newest_export.as_deref(), Some("o111111111111-a-1"));
    assert_eq!(state.newest_exported_taken, Some(THURSDAY - DAY));
    let failed_after = task("o111111111111-c-1", &week1, "FAILED", now - 10);
    let mut done = task("o111111111111-a-1", &week2, "COMPLETE", now - 100);
    done.ended = Some(now - 50);
    done.warning_message = Some("skipped table shop.public.bad".to_owned());
    let state = &plan(&[week1, week2], &[failed_after, done], &policy(), now).databases[0];
    assert_eq!(state.failures, vec![("o111111111111-c-1".to_owned(), "S3 access denied".to_owned())]);
    assert_eq!(state.warnings, vec![("o111111111111-a-1".to_owned(), "skipped table shop.public.bad".to_owned())]);
}

#[test]
fn slots_go_to_the_stalest_database_first_and_never_two_exports_of_one_snapshot() {
    let now = THURSDAY + 2 * 3_600;
    let last_week = |db: &str| import(db, THURSDAY - DAY, "postgres");
    let fresh = last_week("fresh");
    let stale = last_week("stale");
    let never = last_week("never");
    let fresh_before = import("fresh", THURSDAY - 8 * DAY, "postgres");
    let stale_before = import("stale", THURSDAY - 30 * DAY, "postgres");
    let copies = [fresh.clone(), stale.clone(), never.clone(), fresh_before.clone(), stale_before.clone()];
    let others: Vec<ExportTask> = (0..3)
        .map(|n| {
            let mut t = task(&format!("someone-else-{n}"), &fresh, "IN_PROGRESS", now);
            t.source_arn = format!("arn:aws:rds:eu-west-1:222222222222:snapshot:manual-{n}");
            t.s3_bucket = "another-bucket".to_owned();
            t
        })
        .collect();
    let mut tasks = others.clone();
    tasks.push(task("o111111111111-f-1", &fresh_before, "COMPLETE", now - DAY));
    tasks.push(task("o111111111111-s-1", &stale_before, "COMPLETE", now - 20 * DAY));
    let plan = plan(&copies, &tasks, &policy(), now);
    assert_eq!(plan.running, 3, "every running task of the account counts");
    let started: Vec<&str> = plan.starts.iter().map(|s| s.database.database.as_str()).collect();
    assert_eq!(started, ["never", "stale"], "two slots free: never exported, then the stalest");
    let deferred = plan.periods.iter().find(|v| v.database.database == "fresh").expect("fresh");
    assert!(
        matches!(&deferred.outcome, Outcome::Deferred { reason, .. } if reason.contains("no slot")),
        "{deferred:?}"
    );

    // A snapshot that someone else is exporting waits, and does not take a slot.
    let mut busy = task("manual-export", &never, "STARTING", now);
    busy.s3_bucket = "another-bucket".to_owned();
    let plan = super::plan(&[never.clone(), stale.clone()], &[busy], &policy(), now);
    assert_eq!(plan.starts.iter().map(|s| s.database.database.as_str()).collect::<Vec<_>>(), ["stale"]);
    let waiting = plan.periods.iter().find(|v| v.copy_arn == never.arn).expect("never");
    assert!(matches!(&waiting.outcome, Outcome::Deferred { reason, .. } if reason.contains("this snapshot")));
}

#[test]
fn a_lower_cap_leaves_slots_to_others() {
    let now = THURSDAY + 2 * 3_600;
    let copies: Vec<Snapshot> = (0..4).map(|n| import(&format!("db{n}"), THURSDAY - DAY, "postgres")).collect();
    let capped = Policy { max_running: 2, ..policy() };
    assert_eq!(plan(&copies, &[], &capped, now).starts.len(), 2);
    assert_eq!(plan(&copies, &[], &policy(), now).starts.len(), 4);
}

#[test]
fn only_genuine_available_imports_of_selected_databases_count() {
    let now = THURSDAY + 2 * 3_600;
    let taken = THURSDAY - DAY;
    let genuine = import("orders", taken, "postgres");
    let mut impostor = import("orders", taken + 60, "postgres");
    impostor.identifier = "vault-impostor".to_owned();
    let mut creating = import("orders", taken + 120, "postgres");
    creating.status = SnapshotStatus::InProgress("creating".to_owned());
    let mut foreign_marker = import("orders", taken + 180, "postgres");
    foreign_marker.tags.insert(tags::MARKER.to_owned(), "someone".to_owned());
    let mut nameless = import("orders", taken + 240, "postgres");
    nameless.tags.remove(tags::SOURCE_DATABASE);
    let other_account = import_in("333333333333", "orders", taken, "postgres", SnapshotKind::Instance);
    let ledger = import("ledger", taken, "postgres");
    let copies = [genuine.clone(), impostor, creating, foreign_marker, nameless.clone(), other_account.clone(), ledger];
    let all = plan(&copies, &[], &policy(), now);
    assert_eq!(all.unplaced, vec![nameless.identifier.clone()]);
    let sources: BTreeSet<&str> = all.starts.iter().map(|s| s.source_arn.as_str()).collect();
    assert_eq!(sources.len(), 3);
    assert!(sources.contains(genuine.arn.as_str()) && sources.contains(other_account.arn.as_str()));
    let only = Policy {
        databases: Some(vec![DatabasePattern { account: Some("111111111111".into()), database: "orders".into() }]),
        ..policy()
    };
    let selected = plan(&copies, &[], &only, now);
    assert_eq!(selected.starts.iter().map(|s| s.source_arn.as_str()).collect::<Vec<_>>(), [genuine.arn.as_str()]);
}

#[test]
fn unsupported_engines_and_wrong_export_only_forms_are_reported_not_attempted() {
    let now = THURSDAY + 2 * 3_600;
    let taken = THURSDAY - DAY;
    let oracle = import("erp", taken, "oracle-ee");
    let mysql = import("shop", taken, "mysql");
    let aurora = import_in("111111111111", "ledger", taken, "aurora-postgresql", SnapshotKind::Cluster);
    let pattern = |db: &str| DatabasePattern { account: None, database: db.to_owned() };
    let with_only = Policy {
        export_only: vec![
            (pattern("shop"), vec!["shop.public.orders".to_owned()]),
            (pattern("ledger"), vec!["ledger.public.entries".to_owned()]),
        ],
        ..policy()
    };
    let plan = plan(&[oracle, mysql, aurora.clone()], &[], &with_only, now);
    let by_db: BTreeMap<&str, &Outcome> =
        plan.periods.iter().map(|v| (v.database.database.as_str(), &v.outcome)).collect();
    assert!(matches!(by_db["erp"], Outcome::Unsupported { reason } if reason.contains("oracle-ee")));
    assert!(matches!(by_db["shop"], Outcome::Unsupported { reason } if reason.contains("shop.public.orders")));
    assert_eq!(plan.starts.len(), 1);
    assert_eq!(plan.starts[0].source_arn, aurora.arn);
    assert_eq!(plan.starts[0].export_only, vec!["ledger.public.entries".to_owned()]);
}

#[test]
fn calendar_months_export_the_month_end_copy() {
    let monthly = Policy { period: Period::CalendarMonth, ..policy() };
    let now = 1_796_256_000 + 2 * 3_600; // 2026-12-03T02:00Z: November closed
    let december = 1_796_083_200; // 2026-12-01T00:00Z
    let nov_30 = import("orders", december - 3_600, "postgres");
    let nov_29 = import("orders", december - 3_600 - DAY, "postgres");
    let dec_1 = import("orders", december + 3_600, "postgres");
    let plan = plan(&[nov_29, nov_30.clone(), dec_1], &[], &monthly, now);
    assert_eq!(plan.starts.len(), 1);
    assert_eq!(plan.starts[0].source_arn, nov_30.arn);
    assert_eq!(plan.periods[0].period, "2026-11-01");
}

#[test]
fn task_status_is_read_case_insensitively_and_unknown_states_hold_a_slot() {
    assert_eq!(TaskStatus::parse("complete"), TaskStatus::Complete);
    assert_eq!(TaskStatus::parse("IN_PROGRESS"), TaskStatus::InProgress);
    assert!(TaskStatus::parse("PAUSED").is_running());
    assert!(TaskStatus::Canceling.is_running() && !TaskStatus::Failed.is_running());
    assert!(TaskStatus::Canceled.is_lost() && !TaskStatus::Complete.is_lost());
}

#[test]
fn skipped_tables_are_named_from_the_warning_json_and_kept_whole_otherwise() {
    let warning = r#"{"skippedTables": [{"target": "shop.public.bad table", "reason": "SKIPPED"}, "shop.x"],
        "skippedObjectives": [{"objective": "shop.public.gone", "reason": "OBJECTIVE_NOT_FOUND"}], "general": []}"#;
    assert_eq!(skipped_tables(warning), ["shop.public.bad table", "shop.x", "shop.public.gone"]);
    assert_eq!(skipped_tables("something odd"), ["something odd"]);
    assert!(skipped_tables(r#"{"skippedTables": [], "general": []}"#).is_empty());
}

#[test]
fn database_states_show_every_database_with_exports_into_any_bucket() {
    let now = THURSDAY + 2 * 3_600;
    let orders = import("orders", THURSDAY - DAY, "postgres");
    let older = import("orders", THURSDAY - 9 * DAY, "postgres");
    let ledger = import("ledger", THURSDAY - DAY, "postgres");
    let mut done = task("o111111111111-a-1", &orders, "COMPLETE", now - 100);
    done.s3_bucket = "elsewhere".to_owned();
    done.warning_message = Some(r#"{"skippedTables": [{"target": "shop.public.bad"}]}"#.to_owned());
    let states = database_states(&[orders, older, ledger], &[done], None);
    let names: Vec<&str> = states.iter().map(|s| s.database.database.as_str()).collect();
    assert_eq!(names, ["ledger", "orders"]);
    assert_eq!(states[1].newest_export.as_deref(), Some("o111111111111-a-1"));
    assert_eq!(states[1].skipped_tables, ["shop.public.bad"]);
    assert_eq!(states[1].oldest_import_taken, Some(THURSDAY - 9 * DAY));
    assert_eq!(states[0].newest_export, None);
    // With the run's bucket, a task into another bucket is not ours.
    let mut other = task("o111111111111-a-1", &import("orders", THURSDAY - DAY, "postgres"), "COMPLETE", now);
    other.s3_bucket = "elsewhere".to_owned();
    let scoped = database_states(&[import("orders", THURSDAY - DAY, "postgres")], &[other], Some(BUCKET));
    assert_eq!(scoped[0].newest_export, None);
}

/// An import that came with a notice carrying `carried` source tags.
fn announced(database: &str, taken: i64, carried: &[(&str, &str)]) -> Snapshot {
    let mut copy = import(database, taken, "postgres");
    copy.tags.insert(tags::NOTICE_ID.to_owned(), format!("n-{database}-{taken}"));
    for (key, value) in carried {
        copy.tags.insert(offsite_common::source_tags::tag_key(key), (*value).to_owned());
    }
    copy
}

#[test]
fn a_source_tag_restriction_follows_the_newest_announced_import_of_each_database() {
    let tag = SourceTag { key: "data-class".into(), value: "audited".into() };
    let week = THURSDAY - 7 * DAY;
    let copies = [
        // Tagged: exported, its reconciled (untagged) import with it.
        announced("orders", week + DAY, &[("data-class", "audited")]),
        import("orders", week + 2 * DAY, "postgres"),
        // Was tagged, no longer: the newest announced import decides.
        announced("ledger", week + DAY, &[("data-class", "audited")]),
        announced("ledger", week + 2 * DAY, &[("data-class", "public")]),
        // Only reconciled: nothing says it carries the tag.
        import("billing", week + DAY, "postgres"),
        // Tagged otherwise.
        announced("scratch", week + DAY, &[("team", "audited")]),
    ];
    let selected = databases_tagged(&copies, &tag);
    let names: Vec<&str> = selected.iter().map(|d| d.database.as_str()).collect();
    assert_eq!(names, ["orders"]);
    let restricted = Policy { source_tag: Some(tag), ..policy() };
    let decided = plan(&copies, &[], &restricted, THURSDAY + 2 * 3_600);
    assert_eq!(decided.starts.len(), 1, "{decided:#?}");
    assert_eq!(decided.starts[0].source_arn, copies[1].arn, "the period's newest copy, reconciled or not");
    assert!(decided.databases.iter().all(|d| d.database.database == "orders"), "{:#?}", decided.databases);
    // Without the restriction every database is due.
    assert_eq!(plan(&copies, &[], &policy(), THURSDAY + 2 * 3_600).starts.len(), 4);
}
