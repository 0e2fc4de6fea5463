//! The restore tests' data checks on the deployed pair, under the tester's template role,
//! against real database servers the emulator runs behind the restored databases (Debian's
//! PostgreSQL 15), holding the rows the snapshot held: RDS manages the restore's master
//! password in Secrets Manager, the tester reads it, connects over TLS verified against the CA
//! bundle it reads from S3, counts rows and measures freshness; a database with the wrong
//! data fails its test with the figures that say why; a server whose certificate does not
//! chain to the bundle is a failed connection, never a pass. Every restore, its secret and
//! its server are gone at the end.

use std::time::{Duration, SystemTime};

use aws_smithy_types::DateTime;
use offsite_common::tags;
use offsite_restore_test::run::{Conclusion, Report, RestoreTester};
use offsite_restore_test::settings::CaBundle;
use offsite_tests::fixtures::{db_instance, vault_import};
use offsite_tests::pipeline::Pipeline;
use offsite_tests::{SnapshotKind, VAULT};
use serde_json::json;

use crate::restore_test::{copy_now, run_until, run_until_gone};

const CA_BUCKET: &str = "offsite-vault-ca";
const CA_KEY: &str = "rds/global-bundle.pem";

/// The data checks the vault's operator configures (RestoreTestChecks): every database is
/// connected to at `shop`, has at least two orders and an order placed within a day before
/// its snapshot.
const CHECKS: &str = r#"[{"source": "*", "database": "shop",
    "row_counts": [{"table": "public.orders", "min": 2}],
    "freshness": [{"table": "public.orders", "column": "placed_at", "within": "1d"}]}]"#;

/// A CA certificate that signed nothing the emulator serves (generated once, no key kept).
const OTHER_CA: &str = "-----BEGIN CERTIFICATE-----
MIIBszCCAVmgAwIBAgIUHnJBZ+/elizRfxMJO0/DqCWS934wCgYIKoZIzj0EAwIw
LjEsMCoGA1UEAwwjT2Zmc2l0ZSB0ZXN0IENBIHRoYXQgc2lnbmVkIG5vdGhpbmcw
IBcNMjYxMjA3MDE0NjQ1WhgPMjEyNjExMTMwMTQ2NDVaMC4xLDAqBgNVBAMMI09m
ZnNpdGUgdGVzdCBDQSB0aGF0IHNpZ25lZCBub3RoaW5nMFkwEwYHKoZIzj0CAQYI
KoZIzj0DAQcDQgAEf6XOUekjkjDR3JKz72JdRL7ONJVdNfyQvwgEp6sTCVT3zi8k
VFehU6d2BAUQCbc9g4UQqJ+roSF/3JvBWIZEk6NTMFEwHQYDVR0OBBYEFMpgQ1qt
PM6jBwp+iFMwqsohmPVvMB8GA1UdIwQYMBaAFMpgQ1qtPM6jBwp+iFMwqsohmPVv
MA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIgD/6CBAwHC/bU7dL+
ULtrja2aFWqSz1CIdaQ5oFRZlIwCIQDZOuUgwzWzrIO7MUVJ+8C37GSmFf2c3ycQ
QKRqfFElog==
-----END CERTIFICATE-----
";

/// `secs` before now as PostgreSQL's `timestamp without time zone` text (UTC).
fn before_now(secs: u64) -> String {
    let at = DateTime::from(SystemTime::now() - Duration::from_secs(secs));
    let text = at.fmt(aws_smithy_types::date_time::Format::DateTime).expect("formattable");
    text.trim_end_matches('Z').replace('T', " ").chars().take(19).collect()
}

/// [`shop`] with orders placed `hours` before now.
pub(crate) fn shop_at_hours(hours: &[u64]) -> serde_json::Value {
    shop(&hours.iter().map(|h| before_now(h * 3_600)).collect::<Vec<_>>())
}

/// A `shop` database whose `public.orders` holds one order per `placed` time.
fn shop(placed: &[String]) -> serde_json::Value {
    let rows: Vec<serde_json::Value> =
        placed.iter().enumerate().map(|(i, at)| json!([i + 1, format!("customer {i}"), at])).collect();
    json!([{
        "name": "shop",
        "tables": [{"schema": "public", "name": "orders",
            "columns": [{"name": "id", "type": "integer"}, {"name": "customer", "type": "text"},
                        {"name": "placed_at", "type": "timestamp without time zone"}],
            "rows": rows}],
    }])
}

/// A deployed pair with the data checks `checks` on, the emulator's real database servers
/// behind restores, and the CA bundle in the vault's bucket (the emulator's CA, as the RDS
/// bundle would be; the PostgreSQL and MariaDB servers' CAs are one file each, both in it).
pub(crate) async fn pair_with_checks(checks: &str) -> Pipeline {
    pair_with_checks_in(checks, None).await
}

/// [`pair_with_checks`], with the vault's second region `second_region` (its restores
/// checked there too) when given.
async fn pair_with_checks_in(checks: &str, second_region: Option<&str>) -> Pipeline {
    use offsite_tests::deployed::DeployedPair;

    let options = offsite_tests::EmulatorOptions {
        copy_delay: Duration::from_secs(1),
        database_servers: true,
        ..Default::default()
    };
    let bundle = format!("s3://{CA_BUCKET}/{CA_KEY}");
    let mut parameters = vec![("RestoreTestChecks", checks), ("RestoreTestCaBundle", bundle.as_str())];
    let pair = match second_region {
        Some(region) => {
            parameters.push(("RestoreTestSecondRegionChecks", "true"));
            DeployedPair::start_with_second_region(&options, &[], &parameters, region).await
        }
        None => DeployedPair::start(&options, &[], &parameters).await,
    };
    let pair = pair.unwrap_or_else(|e| panic!("deploy the pair: {e}"));
    let mut ca = Vec::new();
    for servers in [pair.emulator.postgres_servers(), pair.emulator.mysql_servers()] {
        let servers = servers.expect("the emulator's database servers");
        assert!(servers.enabled, "the emulator runs PostgreSQL and MariaDB (tests/emulator/install-db-servers.sh)");
        ca.extend(std::fs::read(servers.ca_certificate.expect("the emulator's CA")).expect("read the CA"));
    }
    let s3 = aws_sdk_s3::Client::new(&pair.vault);
    s3.create_bucket().bucket(CA_BUCKET).send().await.expect("the CA bucket");
    s3.put_object().bucket(CA_BUCKET).key(CA_KEY).body(ca.into()).send().await.expect("the CA bundle");
    Pipeline::on(pair).await
}

/// A vault import of the vault's PostgreSQL instance `instance` holding `content`, as the
/// source database `database` (taken now).
async fn import_holding(p: &Pipeline, instance: &str, database: &str, content: serde_json::Value) -> String {
    db_instance(&p.vault, instance, Some(&p.import_key)).await;
    p.emulator.seed_database(VAULT, SnapshotKind::Instance, instance, content).expect("seed the database");
    vault_import(&p.vault, instance, database, 1, SystemTime::now()).await
}

fn concluded_of<'a>(report: &'a Report, database: &str) -> Option<&'a Conclusion> {
    let database = format!("{}/{database}", offsite_tests::WORKLOAD);
    report.tests.iter().find(|t| t.database.as_deref() == Some(database.as_str())).and_then(|t| t.result.as_ref())
}

/// Runs the tester until both databases' tests concluded; their conclusions.
async fn conclude_both(tester: &RestoreTester) -> (Conclusion, Conclusion) {
    let mut orders = None;
    let mut ledger = None;
    run_until(tester, "both tests to conclude", |r| {
        // Each concludes in one run; keep the first conclusion of each.
        orders = orders.take().or_else(|| concluded_of(r, "orders").cloned());
        ledger = ledger.take().or_else(|| concluded_of(r, "ledger").cloned());
        orders.is_some() && ledger.is_some()
    })
    .await;
    (orders.expect("orders"), ledger.expect("ledger"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_is_read_through_the_managed_password_and_wrong_data_fails_the_test() {
    let p = pair_with_checks(CHECKS).await;
    let hour = 3_600;
    let good = import_holding(&p, "orders-db", "orders", shop(&[before_now(2 * hour), before_now(hour)])).await;
    // One order, three days old: too few rows, and stale.
    let bad = import_holding(&p, "ledger-db", "ledger", shop(&[before_now(72 * hour)])).await;
    let tester = p.restore_tester().await;

    let (orders, ledger) = conclude_both(&tester).await;
    assert!(orders.passed, "{orders:#?}");
    let rows = orders.findings.iter().find(|f| f.check == "rows public.orders").expect("the row count");
    assert_eq!(
        (rows.detail.as_str(), rows.figure.as_ref().map(ToString::to_string)),
        ("2 rows (expected at least 2)", Some("2".into()))
    );
    let fresh = orders.findings.iter().find(|f| f.check == "newest public.orders.placed_at").expect("freshness");
    assert!(fresh.passed && fresh.detail.contains("before the snapshot (limit 1d)"), "{fresh:#?}");
    assert!(orders.figures.contains("public.orders 2 rows"), "{}", orders.figures);

    assert!(!ledger.passed, "{ledger:#?}");
    let failed: Vec<(&str, &str)> =
        ledger.findings.iter().filter(|f| !f.passed).map(|f| (f.check.as_str(), f.detail.as_str())).collect();
    assert_eq!(failed.len(), 2, "{failed:#?}");
    assert_eq!(failed[0], ("rows public.orders", "1 rows (expected at least 2)"));
    assert!(
        failed[1].0 == "newest public.orders.placed_at" && failed[1].1.contains("3d before the snapshot"),
        "{failed:#?}"
    );
    // The API checks passed all the same: the copy restores, its data is what is wrong.
    assert!(ledger.findings.iter().filter(|f| f.check == "engine" || f.check == "available").all(|f| f.passed));

    // The evidence on the copies says the same.
    let copies = p.vault_copies().await;
    let tagged = |identifier: &str, key: &str| {
        copies.iter().find(|c| c.identifier == identifier).and_then(|c| c.tag(key).map(str::to_owned))
    };
    assert_eq!(tagged(&good, tags::RESTORE_TEST).as_deref(), Some("passed"));
    assert_eq!(tagged(&bad, tags::RESTORE_TEST).as_deref(), Some("failed"));
    let figures = tagged(&bad, tags::RESTORE_TEST_FIGURES).unwrap_or_default();
    assert!(figures.contains("rows public.orders: 1 rows"), "{figures}");

    // Nothing left: the restores, their password secrets, their servers.
    run_until_gone(&p, &tester, None, "the restores to be gone").await;
    let secrets = aws_sdk_secretsmanager::Client::new(&p.vault).list_secrets().send().await.expect("list secrets");
    let managed: Vec<&str> =
        secrets.secret_list().iter().filter_map(|s| s.name()).filter(|n| n.starts_with("rds!")).collect();
    assert!(managed.is_empty(), "the managed secrets go with their databases: {managed:?}");
    let servers = offsite_tests::fixtures::wait_for("the servers to stop", Duration::from_secs(120), || async {
        Some(p.emulator.postgres_servers().expect("report")).filter(|s| s.servers.is_empty())
    })
    .await;
    assert!(servers.servers.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_whose_certificate_does_not_chain_to_the_bundle_fails_the_data_check() {
    let p = pair_with_checks(CHECKS).await;
    let copy = import_holding(&p, "orders-db", "orders", shop(&[before_now(60), before_now(30)])).await;
    // The tester as deployed, but trusting another CA (a bundle of the wrong Region, say).
    let mut settings = offsite_restore_test::settings::RestoreTestSettings::from_env(
        &p.function_env("offsite-restore-test").expect("the function's environment"),
    )
    .expect("the template's settings");
    let other = std::env::temp_dir().join(format!("offsite-other-ca-{}.pem", std::process::id()));
    std::fs::write(&other, OTHER_CA).expect("write the other CA");
    settings.ca_bundle = Some(CaBundle::File(other.clone()));
    let role = p.role_config("offsite-restore-test").await.expect("the function's role");
    let tester = RestoreTester::from_config(&role, settings);

    let report = run_until(&tester, "the test to conclude", |r| r.tests.iter().any(|t| t.result.is_some())).await;
    let _ = std::fs::remove_file(&other);
    let result = report.tests.iter().find_map(|t| t.result.as_ref()).expect("a result");
    assert!(!result.passed, "{result:#?}");
    let connect = result.findings.iter().find(|f| f.check == "connect").expect("the connection's finding");
    assert!(!connect.passed && connect.detail.contains("certificate"), "{connect:#?}");
    assert_eq!(
        copy_now(&p, &result.copy_arn.clone().unwrap_or_default()).await.tag(tags::RESTORE_TEST),
        Some("failed")
    );
    assert!(p.vault_copies().await.iter().any(|c| c.identifier == copy));
    run_until_gone(&p, &tester, None, "the restore to be gone").await;
}

/// MySQL-family data checks: a database named `shop` with its `orders` (no schema).
const MYSQL_CHECKS: &str = r#"[
    {"source": "payments", "database": "shop",
     "row_counts": [{"table": "orders", "min": 2, "max": 2}],
     "freshness": [{"table": "orders", "column": "placed_at", "within": "1d"}]},
    {"source": "ledger", "database": "shop", "row_counts": [{"table": "shop.refunds"}]}]"#;

/// The MySQL shape of [`shop`]: the tables sit in the database.
fn mysql_shop(placed: &[String]) -> serde_json::Value {
    let rows: Vec<serde_json::Value> =
        placed.iter().enumerate().map(|(i, at)| json!([i + 1, format!("customer {i}"), at])).collect();
    json!([{
        "name": "shop",
        "tables": [{"name": "orders",
            "columns": [{"name": "id", "type": "int"}, {"name": "customer", "type": "varchar(64)"},
                        {"name": "placed_at", "type": "datetime"}],
            "rows": rows}],
    }])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_and_aurora_mysql_restores_are_checked_through_the_mysql_client() {
    let p = pair_with_checks(MYSQL_CHECKS).await;
    let rds = aws_sdk_rds::Client::new(&p.vault);
    // RDS for MySQL: an instance; Aurora MySQL: a cluster, whose password is the cluster's.
    rds.create_db_instance()
        .db_instance_identifier("payments-db")
        .db_instance_class("db.t4g.micro")
        .engine("mysql")
        .engine_version("8.0.40")
        .allocated_storage(20)
        .master_username("offsite")
        .master_user_password("not-a-secret-1")
        .storage_encrypted(true)
        .kms_key_id(&p.import_key)
        .send()
        .await
        .expect("the MySQL instance");
    rds.create_db_cluster()
        .db_cluster_identifier("ledger-cluster")
        .engine("aurora-mysql")
        .engine_version("8.0.mysql_aurora.3.05.2")
        .master_username("offsite")
        .master_user_password("not-a-secret-1")
        .storage_encrypted(true)
        .kms_key_id(&p.import_key)
        .send()
        .await
        .expect("the Aurora MySQL cluster");
    let fresh = [before_now(600), before_now(300)];
    p.emulator.seed_database(VAULT, SnapshotKind::Instance, "payments-db", mysql_shop(&fresh)).expect("seed");
    p.emulator.seed_database(VAULT, SnapshotKind::Cluster, "ledger-cluster", mysql_shop(&fresh)).expect("seed");
    let payments = vault_import(&p.vault, "payments-db", "payments", 1, SystemTime::now()).await;
    let ledger = offsite_tests::fixtures::vault_import_of(
        &p.vault,
        SnapshotKind::Cluster,
        "ledger-cluster",
        "ledger",
        1,
        SystemTime::now(),
    )
    .await;
    let tester = p.restore_tester().await;

    let mut results = std::collections::BTreeMap::new();
    run_until(&tester, "both tests to conclude", |r| {
        for database in ["payments", "ledger"] {
            if let Some(c) = concluded_of(r, database) {
                results.entry(database).or_insert_with(|| c.clone());
            }
        }
        results.len() == 2
    })
    .await;
    let paid = &results["payments"];
    assert!(paid.passed, "{paid:#?}");
    let rows = paid.findings.iter().find(|f| f.check == "rows orders").expect("the row count");
    assert_eq!(rows.detail, "2 rows (expected 2 to 2)");
    assert!(paid.findings.iter().any(|f| f.check == "newest orders.placed_at" && f.passed), "{paid:#?}");
    // The cluster: reached at its endpoint with the cluster's managed password; the table the
    // operator expects is missing, and the database says so.
    let audited = &results["ledger"];
    assert!(!audited.passed, "{audited:#?}");
    let missing = audited.findings.iter().find(|f| f.check == "rows shop.refunds").expect("the check");
    assert!(!missing.passed && missing.detail.contains("refunds"), "{missing:#?}");
    assert!(audited.findings.iter().filter(|f| f.check != "rows shop.refunds").all(|f| f.passed), "{audited:#?}");
    for (copy, result) in [(&payments, "passed"), (&ledger, "failed")] {
        let tagged = p.vault_copies().await.into_iter().find(|c| &c.identifier == copy).expect("the copy");
        assert_eq!(tagged.tag(tags::RESTORE_TEST), Some(result));
    }
    run_until_gone(&p, &tester, None, "the restores to be gone").await;
    let servers = offsite_tests::fixtures::wait_for("the servers to stop", Duration::from_secs(120), || async {
        Some(p.emulator.mysql_servers().expect("report")).filter(|s| s.servers.is_empty())
    })
    .await;
    assert!(servers.servers.is_empty());
}

/// With `RestoreTestSecondRegionChecks` (a route between the VPCs assumed): the second
/// region's restore gets its managed password there, and its data is read and checked like
/// the vault's, under the tester's role (the second region's statements).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_second_regions_restore_is_checked_there_when_asked() {
    use offsite_common::rds::RdsSnapshots;
    use offsite_restore_test::run::restored;

    const WEST: &str = "us-west-2";
    let p = pair_with_checks_in(CHECKS, Some(WEST)).await;
    let hour = 3_600;
    import_holding(&p, "orders-db", "orders", shop(&[before_now(2 * hour), before_now(hour)])).await;
    // Once the vault's copy is available (the emulator's copy time), the reconciler copies
    // it to the second region; a bound on runs, not on time.
    let reconciler = p.reconciler_with_second_region().await;
    let mut replicated = 0;
    for _ in 0..100 {
        let report = reconciler.reconcile(DateTime::from(SystemTime::now())).await.expect("reconcile");
        replicated += report.outcomes.iter().filter(|o| o.result.as_str() == "replicated").count();
        if replicated > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(replicated, 1);
    let west = p.vault.clone().into_builder().region(aws_config::Region::new(WEST)).build();

    let second = p.second_region_restore_tester().await;
    let report =
        run_until(&second, "the second region's test to conclude", |r| concluded_of(r, "orders").is_some()).await;
    let orders = concluded_of(&report, "orders").expect("concluded");
    assert!(orders.passed, "{orders:#?}");
    let rows = orders.findings.iter().find(|f| f.check == "rows public.orders").expect("the data was read there");
    assert_eq!(rows.detail, "2 rows (expected at least 2)");
    let kinds = [SnapshotKind::Instance, SnapshotKind::Cluster];
    let there = RdsSnapshots::new(aws_sdk_rds::Client::new(&west));
    let copies = there.list_marked(&kinds, tags::MARKER_IMPORT_DR).await.expect("the second region's copies");
    assert_eq!(copies[0].tag(tags::RESTORE_TEST), Some("passed"), "{copies:#?}");

    // Nothing left there: the restore and its password secret.
    let rds_west = aws_sdk_rds::Client::new(&west);
    for _ in 0..600 {
        if restored(&rds_west).await.expect("list").iter().all(|r| !r.is_ours()) {
            break;
        }
        let _ = second.run(DateTime::from(SystemTime::now())).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(restored(&rds_west).await.expect("list").iter().all(|r| !r.is_ours()), "the restore is gone");
    let secrets = aws_sdk_secretsmanager::Client::new(&west).list_secrets().send().await.expect("list secrets");
    let managed: Vec<&str> =
        secrets.secret_list().iter().filter_map(|s| s.name()).filter(|n| n.starts_with("rds!")).collect();
    assert!(managed.is_empty(), "the managed secret goes with its database: {managed:?}");
}
