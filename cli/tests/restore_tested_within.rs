//! `offsite verify --restore-tested-within` and `offsite status --side vault`: a database whose
//! copies are older than the limit and that never passed a restore test fails the check; once
//! the restore tester has restored, checked and deleted its copy of the period, it passes, and
//! the status shows the test with its figures.

mod support;

use std::process::Output;
use std::time::{Duration, SystemTime};

use aws_smithy_types::DateTime;
use offsite_tests::fixtures::{db_instance, vault_import};
use offsite_tests::pipeline::Pipeline;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_without_a_passed_restore_test_fails_verify_until_one_passes() {
    let p = Pipeline::start(Duration::ZERO).await;
    // The vault's copies of `orders`: one of 40 days ago, one of an hour ago, under the
    // vault's key (as the importer makes them).
    db_instance(&p.vault, "orders-source", Some(&p.import_key)).await;
    let now = SystemTime::now();
    vault_import(&p.vault, "orders-source", "orders", 1, now - Duration::from_secs(40 * 86_400)).await;
    vault_import(&p.vault, "orders-source", "orders", 2, now - Duration::from_secs(3_600)).await;

    let env = p.emulator.process_env(&p.vault).await.expect("vault environment");
    let offsite = |args: &[&str]| support::offsite(&env, args);
    let verify = ["verify", "--rpo", "1000d", "--restore-tested-within", "30d", "--json"];
    let before = offsite(&verify);
    assert_eq!(before.status.code(), Some(1), "{}", String::from_utf8_lossy(&before.stderr));
    let json: Value = serde_json::from_slice(&before.stdout).expect("JSON");
    assert_eq!(json["restore_tests"]["rows"][0]["verdict"], "never passed", "{json:#}");

    // The tester restores the hour-old copy, checks it, records it, deletes it.
    let tester = p.restore_tester().await;
    for _ in 0..50 {
        let report = tester.run(DateTime::from(SystemTime::now())).await.expect("run");
        if report.tests.is_empty()
            && report.starts.is_empty()
            && report.databases.iter().all(|d| d.last_passed.is_some())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let after = offsite(&verify);
    assert!(
        after.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&after.stdout),
        String::from_utf8_lossy(&after.stderr)
    );
    let json: Value = serde_json::from_slice(&after.stdout).expect("JSON");
    let row = &json["restore_tests"]["rows"][0];
    assert_eq!((&row["verdict"], &row["last_result"]), (&Value::from("ok"), &Value::from("passed")), "{json:#}");
    let status = offsite(&["status", "--side", "vault"]);
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(
        text.contains("Restore tests") && text.contains("111111111111/orders") && text.contains("passed"),
        "{text}"
    );
}

/// With the restore tests in the vault's second region: `verify` judges that region's copies
/// too, in a table of its own, and passes only once both regions have a passed test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_second_regions_copies_need_their_own_passed_test() {
    use offsite_restore_test::run::run_sites;
    use offsite_tests::deployed::DeployedPair;

    let pair =
        DeployedPair::start_with_second_region(&offsite_tests::EmulatorOptions::default(), &[], &[], "us-west-2")
            .await
            .unwrap_or_else(|e| panic!("deploy the pair: {e}"));
    let p = Pipeline::on(pair).await;
    db_instance(&p.vault, "orders-source", Some(&p.import_key)).await;
    let now = SystemTime::now();
    vault_import(&p.vault, "orders-source", "orders", 1, now - Duration::from_secs(40 * 86_400)).await;
    vault_import(&p.vault, "orders-source", "orders", 2, now - Duration::from_secs(3_600)).await;
    let reconciled = p.reconciler_with_second_region().await.reconcile(DateTime::from(now)).await.expect("reconcile");
    assert_eq!(reconciled.outcomes.iter().filter(|o| o.result.as_str() == "replicated").count(), 2, "{reconciled:#?}");

    let mut env = p.emulator.process_env(&p.vault).await.expect("vault environment");
    let function = p.function_env("offsite-restore-test").expect("the function's environment");
    for name in ["OFFSITE_DR_REGION", "OFFSITE_RESTORE_TEST_SECOND_REGION_SUBNET_GROUP"] {
        env.push((name.to_owned(), function.get(name).cloned().expect("set by the template")));
    }
    let offsite = |args: &[&str]| support::offsite(&env, args);
    let verify = ["verify", "--rpo", "1000d", "--restore-tested-within", "30d", "--json"];
    let verdicts = |out: &Output| -> (Value, Value) {
        let json: Value = serde_json::from_slice(&out.stdout).expect("JSON");
        (
            json["restore_tests"]["rows"][0]["verdict"].clone(),
            json["restore_tests_second_region"]["rows"][0]["verdict"].clone(),
        )
    };
    let before = offsite(&verify);
    assert_eq!(before.status.code(), Some(1), "{}", String::from_utf8_lossy(&before.stderr));
    assert_eq!(verdicts(&before), ("never passed".into(), "never passed".into()));

    // The vault's region tested alone: the second region's copies still fail the check.
    let vault = p.restore_tester().await;
    let second = p.second_region_restore_tester().await;
    let tested = |reports: &[offsite_restore_test::run::Report]| {
        reports.iter().all(|r| r.tests.is_empty() && r.starts.is_empty())
            && reports.iter().flat_map(|r| &r.databases).all(|d| d.last_passed.is_some())
    };
    for _ in 0..50 {
        if tested(&[vault.run(DateTime::from(SystemTime::now())).await.expect("run")]) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let half = offsite(&verify);
    assert_eq!(half.status.code(), Some(1), "{}", String::from_utf8_lossy(&half.stdout));
    assert_eq!(verdicts(&half), ("ok".into(), "never passed".into()));

    // Both regions: passed.
    for _ in 0..50 {
        let (reports, errors) = run_sites(&[&vault, &second], DateTime::from(SystemTime::now())).await;
        assert!(errors.is_empty(), "{errors:?}");
        if tested(&reports) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let after = offsite(&verify);
    assert!(after.status.success(), "{}", String::from_utf8_lossy(&after.stdout));
    assert_eq!(verdicts(&after), ("ok".into(), "ok".into()));
    let status = offsite(&["status", "--side", "vault"]);
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains("Restore tests in the second Region us-west-2"), "{text}");
}
