//! Benchmark (not a test): `GET /v1/summary` and `GET /v1/status` through the API handler with
//! 10,000 targets and their latest results in DynamoDB Local. Prints p50 and p99 in ms.
//!
//! Run: `infra/local/stack.sh up && set -a && . infra/local/local.env && set +a &&
//! cargo run --release -p lookout-tests --example api_bench [targets]`

#[path = "../it/common/mod.rs"]
mod common;

use std::time::Instant;

use lookout_app::ports::TargetStore;
use lookout_app::probe::{ProbeOptions, Prober};
use lookout_aws::dynamodb::DynamoStore;
use lookout_core::domain::{Target, TargetKind};
use serde_json::json;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    let aws = common::aws().await;
    let (ddb, table) = common::fresh_table(&aws).await;
    let store = DynamoStore::new(ddb, table, 30);
    let started = Instant::now();
    let targets: Vec<Target> = (0..n)
        .map(|i| {
            Target::from_json(
                json!({"id": format!("t{i:05}"), "group": format!("g{}", i % 50),
                "kind": "server", "url": format!("http://127.0.0.1:9/{i}")}),
            )
            .unwrap()
        })
        .collect();
    for chunk in targets.chunks(64) {
        futures::future::try_join_all(chunk.iter().map(|t| store.create_target(t)))
            .await
            .unwrap();
    }
    println!(
        "created {n} targets in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // One real probe round: every target answers "connection refused" on loopback port 9; the
    // round writes the snapshot, the history and the summary as in production.
    let publisher = lookout_app::memory::MemoryPublisher::default();
    let prober = Prober::with_options(ProbeOptions::allow_private()).unwrap();
    let request = probe::ProbeRequest::forced(&[TargetKind::Server]);
    let config = probe::RunConfig {
        storm_threshold: 10,
        ..probe::RunConfig::new(lookout_app::probe::concurrency_limit(256))
    };
    let t = Instant::now();
    let report = probe::run(&store, &publisher, &prober, &request, &config)
        .await
        .unwrap();
    println!(
        "probe round: {} targets checked in {:.1} s",
        report.runs[0].checked,
        t.elapsed().as_secs_f64()
    );
    let app = std::sync::Arc::new(api::App {
        prober: Prober::with_options(ProbeOptions::default()).unwrap(),
        admin_token: Some("t".into()),
        ..api::App::local(store)
    });
    println!("| route | calls | first call ms | p50 ms | p99 ms | target p99 |");
    println!("|---|---|---|---|---|---|");
    for (path, calls, goal) in [("/v1/summary", 100, 50.0), ("/v1/status", 100, 500.0)] {
        let mut times = Vec::new();
        // The first call lists the definitions; the next ones find them in the instance's
        // cache (15 s), as a warm Lambda instance does.
        for _ in 0..=calls {
            let req = lambda_http::http::Request::builder()
                .uri(format!("https://lookout.example{path}"))
                .body(lambda_http::Body::Empty)
                .unwrap();
            let t = Instant::now();
            let resp = api::handle(&app, req).await;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(resp.status(), 200);
        }
        let first = times.remove(0);
        times.sort_by(f64::total_cmp);
        let (p50, p99) = (percentile(&times, 0.5), percentile(&times, 0.99));
        println!("| GET {path} | {calls} | {first:.1} | {p50:.1} | {p99:.1} | {goal:.0} |");
        common::bench_row(
            json!({"part": "api", "name": format!("GET {path} p50, {n} targets"),
            "unit": "ms", "lookout": p50}),
        );
        common::bench_row(
            json!({"part": "api", "name": format!("GET {path} p99, {n} targets"),
            "unit": "ms", "lookout": p99, "goal": format!("≤ {goal:.0} ms"), "met": p99 <= goal,
            "note": format!("{calls} calls through the handler, DynamoDB Local")}),
        );
    }
}
