//! `offsite --endpoint-url URL …` reaches that endpoint, like OFFSITE_AWS_ENDPOINT_URL.

mod support;

use offsite_tests::{Emulator, WORKLOAD};

#[tokio::test]
async fn the_endpoint_flag_points_every_call_at_the_emulator() {
    let emulator = Emulator::start().expect("emulator starts");
    let workload = emulator.account(WORKLOAD).await.expect("workload credentials");
    let env: Vec<(String, String)> = emulator
        .process_env(&workload)
        .await
        .expect("environment")
        .into_iter()
        .filter(|(k, _)| k != "OFFSITE_AWS_ENDPOINT_URL")
        .collect();
    let output = support::offsite(&env, &["whoami", "--endpoint-url", emulator.endpoint()]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let identity: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(identity["account"], WORKLOAD);
    assert_eq!(identity["endpoint"], emulator.endpoint());
}
