//! Benchmark (not a test): `GET /v1/summary` and `GET /v1/status` through the API handler with
//! 10,000 targets and their latest results in DynamoDB Local. Prints p50 and p99 in ms.
//!
//! Run: `infra/local/stack.sh up && set -a && . infra/local/local.env && set +a &&
//! cargo run --release -p lookout-tests --example api_bench [targets]`

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Instant;

use lookout::adapters::dynamodb::DynamoStore;
use lookout::domain::{CheckResult, Outcome, Status, Target, TargetKind, TargetState};
use lookout::ports::{Latest, StateStore, TargetStore};
use lookout::probe::{ProbeOptions, Prober};
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
    let mut latest = Vec::with_capacity(n);
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
    for t in &targets {
        let mut s = TargetState::new(&t.id);
        s.status = Status::Healthy;
        s.checks = 100;
        let r = CheckResult {
            target_id: t.id.clone(),
            kind: TargetKind::Server,
            at: 1_000,
            outcome: Outcome::Up,
            status_code: Some(200),
            latency_ms: 42,
            connect_ms: Some(1),
            ttfb_ms: Some(40),
            cert_days_left: None,
            bytes: 120,
            attempts: 1,
            error: None,
            message: None,
        };
        latest.push(Latest {
            state: s,
            result: Some(r),
        });
    }
    store
        .record_run(TargetKind::Server, 1_000, &latest)
        .await
        .unwrap();
    println!(
        "loaded {n} targets with results in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let app = api::App {
        store,
        prober: Prober::with_options(ProbeOptions::default()).unwrap(),
        admin_token: Some("t".into()),
        read_token: None,
        public_status: true,
        health: None,
        concurrency: 4,
    };
    println!("| route | calls | p50 ms | p99 ms | target p99 |");
    println!("|---|---|---|---|---|");
    for (path, calls, goal) in [("/v1/summary", 50, 50.0), ("/v1/status", 20, 500.0)] {
        let mut times = Vec::new();
        for _ in 0..calls {
            let req = lambda_http::http::Request::builder()
                .uri(format!("https://lookout.example{path}"))
                .body(lambda_http::Body::Empty)
                .unwrap();
            let t = Instant::now();
            let resp = api::handle(&app, req).await;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(resp.status(), 200);
        }
        times.sort_by(f64::total_cmp);
        println!(
            "| GET {path} | {calls} | {:.1} | {:.1} | {goal:.0} |",
            percentile(&times, 0.5),
            percentile(&times, 0.99)
        );
    }
}
