//! Fidelity patch (e) and the harness: request counts by account, service and action, an
//! added latency for benchmarks, and emulators that never outlive their owner.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use offsite_tests::fixtures::wait_for;
use offsite_tests::{Emulator, EmulatorOptions, PYTHON_VAR, VAULT, WORKLOAD, workspace_root};

#[tokio::test]
async fn requests_are_counted_by_account_service_and_action_until_reset() {
    let emulator = Emulator::start().expect("emulator starts");
    let workload = emulator.account(WORKLOAD).await.expect("workload credentials");
    let vault = emulator.account(VAULT).await.expect("vault credentials");
    emulator.reset_request_counts().expect("reset");
    let rds = aws_sdk_rds::Client::new(&workload);
    for _ in 0..3 {
        rds.describe_db_snapshots().send().await.expect("describe");
    }
    aws_sdk_sqs::Client::new(&vault).list_queues().send().await.expect("list queues");

    let counts = emulator.request_counts().expect("counts");
    assert_eq!(counts.of(WORKLOAD, "rds", "DescribeDBSnapshots"), 3);
    assert_eq!(counts.of(VAULT, "sqs", "ListQueues"), 1);
    assert_eq!(counts.of(VAULT, "rds", "DescribeDBSnapshots"), 0);
    assert_eq!(counts.total, 4, "{counts:?}");

    emulator.reset_request_counts().expect("reset");
    assert_eq!(emulator.request_counts().expect("counts").total, 0);
}

#[tokio::test]
async fn latency_is_added_to_every_aws_request() {
    let emulator = Emulator::start_with(&EmulatorOptions { latency: Duration::from_millis(150), ..Default::default() })
        .expect("emulator starts");
    let workload = emulator.account(WORKLOAD).await.expect("workload credentials");
    let rds = aws_sdk_rds::Client::new(&workload);
    let started = Instant::now();
    for _ in 0..2 {
        rds.describe_db_snapshots().send().await.expect("describe");
    }
    // A lower bound only: the latency is added, whatever else the machine does.
    assert!(started.elapsed() >= Duration::from_millis(300), "{:?}", started.elapsed());
}

#[test]
fn dropped_emulator_stops_listening() {
    let emulator = Emulator::start().expect("emulator starts");
    let address = emulator.endpoint().trim_start_matches("http://").to_owned();
    assert!(TcpStream::connect(&address).is_ok(), "listening while owned");
    drop(emulator);
    assert!(TcpStream::connect(&address).is_err(), "stopped once dropped");
}

#[tokio::test]
async fn emulator_exits_when_its_parent_dies() {
    let mut parent = Command::new("sleep").arg("600").spawn().expect("a stand-in parent");
    let root = workspace_root();
    let python = std::env::var_os(PYTHON_VAR).map(Into::into).unwrap_or_else(|| root.join(".venv/bin/python"));
    let mut emulator = Command::new(python)
        .arg(root.join("tests/emulator/offsite_emulator.py"))
        .args(["--port", "0", "--parent-pid", &parent.id().to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("launch");
    let mut ready = String::new();
    let stdout = emulator.stdout.take().expect("stdout pipe");
    BufReader::new(stdout).read_line(&mut ready).expect("read the ready line");
    assert!(ready.starts_with("OFFSITE_EMULATOR_READY port="), "{ready:?}");
    assert!(emulator.try_wait().expect("poll").is_none(), "running while its parent lives");

    parent.kill().expect("kill the parent");
    parent.wait().expect("reap the parent");
    wait_for("the orphaned emulator to exit", Duration::from_secs(20), || {
        let status = emulator.try_wait().expect("poll");
        async move { status }
    })
    .await;
}
