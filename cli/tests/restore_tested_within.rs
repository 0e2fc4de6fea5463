//! `offsite verify --restore-tested-within` and `offsite status --side vault`: a database whose
//! copies are older than the limit and that never passed a restore test fails the check; once
//! the restore tester has restored, checked and deleted its copy of the period, it passes, and
//! the status shows the test with its figures.

use std::process::{Command, Output};
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
    let offsite = |args: &[&str]| -> Output {
        Command::new(env!("CARGO_BIN_EXE_offsite"))
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k, v)))
            .args(args)
            .output()
            .expect("offsite runs")
    };
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
