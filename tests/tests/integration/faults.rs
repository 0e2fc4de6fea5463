//! The fault lane itself, against the emulator: injected faults reach the SDK as AWS's own
//! errors and are retried by it, a lost response is a call that happened, and a crash stops an
//! invocation before its next call, one new boundary per crash.

use aws_sdk_rds::Client;
use aws_sdk_rds::error::ProvideErrorMetadata;
use offsite_tests::faults::{Boundary, Crash, Fault, Invoked, Lane};
use offsite_tests::fixtures::{db_instance, describe_db_snapshot};
use offsite_tests::{Emulator, WORKLOAD};

#[tokio::test]
async fn throttling_is_retried_by_the_sdk_and_surfaces_as_aws_would_answer_it() {
    let emulator = Emulator::start().expect("emulator");
    let workload = emulator.account(WORKLOAD).await.expect("credentials");
    let lane = Lane::new("throttled", 1, 1.0);
    lane.set_kinds(&[Fault::Throttle]);
    emulator.reset_request_counts().expect("reset");

    let result = Client::new(&lane.wrap(&workload)).describe_db_snapshots().send().await;

    let error = result.expect_err("every attempt is throttled");
    assert_eq!(error.code(), Some("Throttling"), "{error:?}");
    let stats = lane.stats();
    assert_eq!((stats.calls, stats.attempts), (1, 5), "one call, the SDK's five attempts");
    assert_eq!(stats.faults.get(&Fault::Throttle), Some(&5));
    let counts = emulator.request_counts().expect("counts");
    assert_eq!(counts.of(WORKLOAD, "rds", "DescribeDBSnapshots"), 0, "a throttled attempt never reaches the service");
}

#[tokio::test]
async fn the_rate_is_set_per_service() {
    let emulator = Emulator::start().expect("emulator");
    let workload = emulator.account(WORKLOAD).await.expect("credentials");
    let lane = Lane::new("sns-only", 1, 0.0);
    lane.set_rate("sns", 1.0);
    let config = lane.wrap(&workload);

    Client::new(&config).describe_db_snapshots().send().await.expect("RDS is not faulted");
    let sns = aws_sdk_sns::Client::new(&config).list_topics().send().await;

    assert!(sns.is_err(), "every SNS attempt is faulted");
    let stats = lane.stats();
    assert_eq!((stats.calls, stats.attempts, stats.faults_total()), (2, 6, 5), "{stats:?}");
}

#[tokio::test]
async fn a_lost_response_is_a_call_that_happened() {
    let emulator = Emulator::start().expect("emulator");
    let workload = emulator.account(WORKLOAD).await.expect("credentials");
    db_instance(&workload, "orders", None).await;
    let lane = Lane::new("lossy", 1, 1.0);
    lane.set_kinds(&[Fault::ResponseLost]);

    let result = Client::new(&lane.wrap(&workload))
        .create_db_snapshot()
        .db_instance_identifier("orders")
        .db_snapshot_identifier("orders-lost-answer")
        .send()
        .await;

    assert!(result.is_err(), "no answer ever arrived");
    assert!(describe_db_snapshot(&workload, "orders-lost-answer").await.is_some(), "but the snapshot was made");
    let counts = emulator.request_counts().expect("counts");
    assert_eq!(counts.of(WORKLOAD, "rds", "CreateDBSnapshot"), 5, "and the SDK retried the call four times");
}

#[tokio::test]
async fn at_a_fifth_of_attempts_faulted_the_sdk_retries_see_calls_through() {
    let emulator = Emulator::start().expect("emulator");
    let workload = emulator.account(WORKLOAD).await.expect("credentials");
    let lane = Lane::new("a-fifth", 7, 0.2);
    let rds = Client::new(&lane.wrap(&workload));
    for _ in 0..40 {
        rds.describe_db_snapshots().send().await.expect("retried through");
    }
    let stats = lane.stats();
    assert_eq!(stats.calls, 40);
    assert!(stats.faults_total() > 0 && stats.attempts == 40 + stats.faults_total(), "{stats:?}");
    assert!(stats.faults.len() >= 3, "several kinds: {:?}", stats.faults);
}

/// Three calls; each crash invocation stops at the next boundary no crash hit yet, and the
/// emulator sees exactly the calls made before it.
#[tokio::test]
async fn crashes_walk_every_boundary_once_and_stop_before_the_next_call() {
    let emulator = Emulator::start().expect("emulator");
    let workload = emulator.account(WORKLOAD).await.expect("credentials");
    db_instance(&workload, "orders", None).await;
    let lane = Lane::new("crashing", 1, 0.0);
    let rds = Client::new(&lane.wrap(&workload));
    let three_calls = || async {
        rds.describe_db_instances().send().await.expect("instances");
        rds.describe_db_snapshots().send().await.expect("snapshots");
        let created = rds
            .create_db_snapshot()
            .db_instance_identifier("orders")
            .db_snapshot_identifier("orders-crash")
            .send()
            .await;
        if let Err(e) = created {
            assert_eq!(e.code(), Some("DBSnapshotAlreadyExists"), "made by the invocation that crashed at its end");
        }
    };
    let boundary = |after: &str, before: &str| Boundary { after: after.to_owned(), before: before.to_owned() };
    let expected = [
        (boundary("start", "rds:DescribeDBInstances"), [0, 0, 0]),
        (boundary("rds:DescribeDBInstances", "rds:DescribeDBSnapshots"), [1, 0, 0]),
        (boundary("rds:DescribeDBSnapshots", "rds:CreateDBSnapshot"), [1, 1, 0]),
        (boundary("rds:CreateDBSnapshot", "end"), [1, 1, 1]),
    ];
    for (at, calls_made) in expected {
        emulator.reset_request_counts().expect("reset");
        match lane.invoke(Crash::AtNewBoundary, three_calls()).await {
            Invoked::Crashed(crashed) => assert_eq!(crashed, at),
            Invoked::Completed(()) => panic!("expected a crash at {at}"),
        }
        let counts = emulator.request_counts().expect("counts");
        let made = ["DescribeDBInstances", "DescribeDBSnapshots", "CreateDBSnapshot"]
            .map(|action| counts.of(WORKLOAD, "rds", action));
        assert_eq!(made, calls_made, "calls that reached the emulator before the crash at {at}");
    }
    assert!(matches!(lane.invoke(Crash::AtNewBoundary, three_calls()).await, Invoked::Completed(())));
    let stats = lane.stats();
    assert_eq!(stats.crashes, 4);
    assert!(stats.uncovered().is_empty(), "{:?}", stats.uncovered());
    assert!(describe_db_snapshot(&workload, "orders-crash").await.is_some());
}
