//! Benchmark: each Lambda binary's start, as Lambda starts it (a process polling the local
//! Runtime API, with its template's environment): process start → first poll (ready), and
//! process start → first event handled, median of `OFFSITE_BENCH_STARTS` (default 5) starts;
//! and the zipped size of its package.
//!
//! Runs the binaries of the bench's own profile (`make bench`: release, the profile `make
//! package` ships; said in each figure); the zip sizes are `make package`'s, when it ran.
//! Writes `target/bench/lambda_start.json`.

use std::time::{Duration, Instant};

use offsite_tests::deployed::DeployedPair;
use offsite_tests::events::scheduled;
use offsite_tests::lambda::{LambdaFunction, Outcome};
use offsite_tests::{EmulatorOptions, VAULT, WORKLOAD, workspace_root};
use serde_json::{Value, json};

fn median(mut values: Vec<Duration>) -> f64 {
    values.sort();
    values.get(values.len() / 2).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() {
    let starts: usize = std::env::var("OFFSITE_BENCH_STARTS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
    let pair = DeployedPair::start(&EmulatorOptions::default(), &[], &[]).await.expect("deployed pair");
    // A first event each function handles: the events they receive most.
    let functions: [(&str, Value); 8] = [
        ("offsite-exporter", scheduled(WORKLOAD, "offsite-exporter-sweep")),
        ("offsite-scanner", scheduled(WORKLOAD, "offsite-scanner")),
        ("offsite-dynamo-export", scheduled(WORKLOAD, "offsite-dynamo-export")),
        ("offsite-importer", json!({ "Records": [] })),
        ("offsite-reconciler", scheduled(VAULT, "offsite-reconciler")),
        ("offsite-retention", scheduled(VAULT, "offsite-retention")),
        ("offsite-rds-export", scheduled(VAULT, "offsite-rds-export")),
        ("offsite-restore-test", scheduled(VAULT, "offsite-restore-test")),
    ];
    let mut results = Vec::new();
    for (name, event) in &functions {
        let path = offsite_tests::lambda::binary(name).unwrap_or_else(|e| panic!("{e}"));
        let build = offsite_tests::bench::PROFILE;
        let env = pair.function_env(name).expect("environment");
        let arn = pair.function_arn(name).expect("function ARN");
        let (mut ready, mut handled) = (Vec::new(), Vec::new());
        for _ in 0..starts {
            let started = Instant::now();
            let mut function = LambdaFunction::start(&path, name, &arn, &env).expect("starts");
            let outcome = function.invoke(event, Duration::from_secs(60)).expect("handled");
            handled.push(started.elapsed());
            assert!(matches!(outcome, Outcome::Response(_)), "{name}: {outcome:?}\n{}", function.output());
            ready.push(function.time_to_ready().unwrap_or_default());
        }
        let zip = workspace_root().join("target/package").join(format!("{name}.zip"));
        let zipped = std::fs::metadata(&zip).ok().map(|m| m.len());
        let unzipped = std::fs::metadata(&path).ok().map(|m| m.len());
        let row = json!({
            "function": name,
            "build": build,
            "ready_ms_median": median(ready),
            "first_event_handled_ms_median": median(handled),
            "zipped_mib": zipped.map(|b| b as f64 / 1_048_576.0),
            "binary_mib": unzipped.map(|b| b as f64 / 1_048_576.0),
        });
        println!(
            "bench lambda start: {name:<22} {build:<7} ready {:>6.1} ms, first event handled {:>7.1} ms, zip {}",
            row["ready_ms_median"].as_f64().unwrap_or_default(),
            row["first_event_handled_ms_median"].as_f64().unwrap_or_default(),
            zipped.map_or("(run make package)".to_owned(), |b| format!("{:.1} MiB", b as f64 / 1_048_576.0)),
        );
        results.push(row);
    }
    let result = json!({ "scenario": "lambda start", "starts_per_function": starts, "functions": results });
    offsite_tests::bench::write_result("lambda_start", result);
}
