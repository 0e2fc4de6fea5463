use super::*;

const TAKEN: i64 = 1_796_284_800; // 2026-12-03T08:00:00Z

fn parse(raw: &str) -> Result<Vec<DataChecks>, String> {
    CheckList::parse_setting(raw).map(|list| list.0)
}

fn orders() -> DataChecks {
    parse(
        r#"[{"source": "111111111111/orders", "database": "shop",
            "row_counts": [{"table": "public.orders", "min": 2, "max": 10}, {"table": "customers"}],
            "freshness": [{"table": "public.orders", "column": "created_at", "within": "1d"}]}]"#,
    )
    .expect("valid")
    .remove(0)
}

#[test]
fn the_setting_reads_sources_tables_bounds_and_limits() {
    let checks = orders();
    assert_eq!(checks.source, Source::Exact("111111111111/orders".into()));
    assert_eq!(checks.database.as_deref(), Some("shop"));
    assert_eq!(
        checks.row_counts,
        [
            RowCount {
                table: TableName { qualifier: Some("public".into()), name: "orders".into() },
                min: 2,
                max: Some(10)
            },
            RowCount { table: TableName { qualifier: None, name: "customers".into() }, min: 1, max: None },
        ]
    );
    assert_eq!(checks.freshness[0].within_secs, 86_400);
    let any = parse(r#"[{"source": "*", "row_counts": [{"table": "t"}]}]"#).expect("valid");
    assert_eq!(any[0].source, Source::Any);
    let named = parse(r#"[{"source": "Orders", "row_counts": [{"table": "t"}]}]"#).expect("valid");
    assert_eq!(named[0].source, Source::Name("orders".into()));
}

#[test]
fn a_malformed_setting_names_the_field_at_fault() {
    for (raw, field) in [
        (r#"[{"source": "11/orders", "row_counts": [{"table": "t"}]}]"#, "[0].source"),
        (r#"[{"source": "orders"}]"#, "[0]: 0 checks"),
        (r#"[{"source": "orders", "row_counts": [{"table": ""}]}]"#, "[0].row_counts[0].table"),
        (r#"[{"source": "orders", "row_counts": [{"table": "a.b.c"}]}]"#, "[0].row_counts[0].table"),
        (
            r#"[{"source": "orders", "row_counts": [{"table": "t", "min": 5, "max": 2}]}]"#,
            "[0].row_counts[0]: max below min",
        ),
        (
            r#"[{"source": "orders", "freshness": [{"table": "t", "column": "c", "within": "soon"}]}]"#,
            "[0].freshness[0].within",
        ),
        (
            r#"[{"source": "orders", "freshness": [{"table": "t", "column": " c", "within": "1d"}]}]"#,
            "[0].freshness[0].column",
        ),
        (r#"[{"source": "orders", "database": "", "row_counts": [{"table": "t"}]}]"#, "[0].database"),
        (r#"[{"source": "orders", "rows": [{"table": "t"}]}]"#, "unknown field `rows`"),
        (
            r#"[{"source": "orders", "row_counts": [{"table": "t"}]}, {"source": "orders", "row_counts": [{"table": "u"}]}]"#,
            "[1].source",
        ),
    ] {
        let error = parse(raw).expect_err(raw);
        assert!(error.contains(field), "{raw}: {error}");
    }
    let many = format!(r#"[{{"source": "orders", "row_counts": [{}]}}]"#, vec![r#"{"table": "t"}"#; 21].join(","));
    assert!(parse(&many).expect_err("too many").contains("21 checks"));
}

#[test]
fn an_entry_of_the_database_wins_over_one_of_its_name_and_over_the_wildcard() {
    let all = parse(
        r#"[{"source": "*", "row_counts": [{"table": "any"}]},
            {"source": "orders", "row_counts": [{"table": "by_name"}]},
            {"source": "111111111111/orders", "row_counts": [{"table": "exact"}]}]"#,
    )
    .expect("valid");
    let key = |account: &str, database: &str| DatabaseKey { account: account.into(), database: database.into() };
    let table = |c: Option<&DataChecks>| c.map(|c| c.row_counts[0].table.name.clone());
    assert_eq!(table(checks_for(&all, &key("111111111111", "orders"))).as_deref(), Some("exact"));
    assert_eq!(table(checks_for(&all, &key("333333333333", "orders"))).as_deref(), Some("by_name"));
    assert_eq!(table(checks_for(&all, &key("111111111111", "ledger"))).as_deref(), Some("any"));
    assert_eq!(checks_for(&all[1..], &key("111111111111", "ledger")), None);
}

#[test]
fn identifiers_are_quoted_for_each_engine_never_pasted() {
    let hostile = TableName::parse(r#"pub"lic.ord`ers; DROP TABLE x"#).expect("any characters but dot and NUL");
    let count = Query::RowCount { table: hostile };
    assert_eq!(count.sql(Dialect::Postgres), r#"SELECT COUNT(*) FROM "pub""lic"."ord`ers; DROP TABLE x""#);
    assert_eq!(count.sql(Dialect::Mysql), "SELECT COUNT(*) FROM `pub\"lic`.`ord``ers; DROP TABLE x`");
    let newest = Query::Newest { table: TableName::parse("orders").expect("valid"), column: "created_at".into() };
    assert_eq!(newest.sql(Dialect::Postgres), r#"SELECT EXTRACT(EPOCH FROM MAX("created_at"))::float8 FROM "orders""#);
    assert_eq!(newest.sql(Dialect::Mysql), "SELECT CAST(UNIX_TIMESTAMP(MAX(`created_at`)) AS DOUBLE) FROM `orders`");
    assert_eq!(Dialect::of("aurora-postgresql"), Some(Dialect::Postgres));
    assert_eq!(Dialect::of("mariadb"), Some(Dialect::Mysql));
    assert_eq!(Dialect::of("oracle-ee"), None);
}

#[test]
fn answers_within_the_expectations_pass_and_each_miss_says_what_was_found() {
    let checks = orders();
    assert_eq!(checks.queries().len(), 3);
    let fresh = (TAKEN - 3_600) as f64;
    let passed = checks.evaluate(&[Answer::Count(5), Answer::Count(1), Answer::Newest(Some(fresh))], Some(TAKEN));
    assert!(passed.iter().all(|f| f.passed), "{passed:#?}");
    assert_eq!(passed[0].detail, "5 rows (expected 2 to 10)");
    assert_eq!(passed[0].figure, Some(5.into()));
    assert_eq!(passed[2].check, "newest public.orders.created_at");
    assert_eq!(passed[2].detail, "2026-12-03T07:00:00Z, 1h before the snapshot (limit 1d)");

    let stale = (TAKEN - 2 * 86_400) as f64;
    let failed = checks.evaluate(
        &[
            Answer::Count(11),
            Answer::Failed("relation \"customers\" does not exist".into()),
            Answer::Newest(Some(stale)),
        ],
        Some(TAKEN),
    );
    let verdicts: Vec<(bool, &str)> = failed.iter().map(|f| (f.passed, f.detail.as_str())).collect();
    assert_eq!(
        verdicts,
        [
            (false, "11 rows (expected 2 to 10)"),
            (false, "relation \"customers\" does not exist"),
            (false, "2026-12-01T08:00:00Z, 2d before the snapshot (limit 1d)"),
        ]
    );
    let empty = checks.evaluate(&[Answer::Count(0), Answer::Count(0), Answer::Newest(None)], Some(TAKEN));
    assert!(empty.iter().all(|f| !f.passed), "{empty:#?}");
    assert!(empty[2].detail.contains("the table is empty"));
    // Fewer answers than queries (a broken session): the rest fail, never pass.
    let short = checks.evaluate(&[Answer::Count(5)], Some(TAKEN));
    assert_eq!(short.iter().map(|f| f.passed).collect::<Vec<_>>(), [true, false, false]);
    // Without the source's time there is nothing to measure freshness against.
    let unknown = checks.evaluate(&[Answer::Count(5), Answer::Count(1), Answer::Newest(Some(fresh))], None);
    assert!(!unknown[2].passed);
}
