//! Benchmark (not a test): the digest function's run over N targets (default 1,000) with one
//! hour of one-minute history and 7 days of hourly baseline rollups in DynamoDB Local. Prints
//! the wall time of the run and its peak RSS (the process's high-water mark is reset after the
//! data is written, so seeding does not count), and the run's figures.
//!
//! Run: `make bench-digest`, or `infra/local/stack.sh up && set -a && . infra/local/local.env &&
//! set +a && cargo run --release -p lookout-tests --example digest_bench [targets] [baseline hours]`

#[path = "../it/common/mod.rs"]
mod common;

use std::time::Instant;

use lookout_app::ports::{DigestStore, StateStore, TargetStore};
use lookout_aws::dynamodb::DynamoStore;
use lookout_core::digest::report::NoSummariser;
use lookout_core::digest::rollup::{Latency, Period, Rollup, HOUR_MS};
use lookout_core::domain::{Target, TargetKind};
use serde_json::json;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1_000);
    let baseline_hours: i64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(168);
    let aws = common::aws().await;
    let (ddb, table) = common::fresh_table(&aws).await;
    let store = DynamoStore::new(ddb, table, 30);
    let ids: Vec<String> = (0..n).map(|i| format!("t{i:05}")).collect();
    let started = Instant::now();
    for chunk in ids.chunks(64) {
        futures::future::try_join_all(chunk.iter().map(|id| {
            let t = Target::from_json(json!({"id": id, "group": format!("g{}", id.len() % 7),
                "kind": "server", "url": format!("https://{id}.example/health")}))
            .unwrap();
            let store = &store;
            async move { store.create_target(&t).await }
        }))
        .await
        .unwrap();
    }
    let now = lookout_core::time::now_ms();
    let hour = Period::Hour.start_of(now) - HOUR_MS;
    // Every 50th target is three times slower than its baseline this hour, every 70th fails
    // one check in five.
    let base = |id: &str| 50 + id[1..].parse::<u64>().unwrap_or(0) % 400;
    let runs = lookout_app::testing::minute_runs(&ids, TargetKind::Server, hour, |id, m| {
        let i: u64 = id[1..].parse().unwrap_or(0);
        if i.is_multiple_of(70) && m % 5 == 0 {
            return None;
        }
        let slow = if i.is_multiple_of(50) { 3 } else { 1 };
        Some(base(id) * slow + (m as u64 * 7) % 20)
    });
    for (at, latest) in &runs {
        store
            .record_run(TargetKind::Server, *at, latest, true)
            .await
            .unwrap();
    }
    drop(runs);
    let seeded_history = started.elapsed().as_secs_f64();
    let mut rollups = Vec::with_capacity(10_000);
    let mut written = 0usize;
    for id in &ids {
        for h in 1..=baseline_hours {
            let b = base(id) + 20;
            rollups.push(Rollup {
                checks: 60,
                latency: Some(Latency {
                    min: b / 2,
                    mean: b as f64 * 0.8,
                    p50: b * 3 / 4,
                    p95: b + (h as u64 % 7) * b / 40,
                    max: b * 2,
                }),
                ..Rollup::empty(id, TargetKind::Server, Period::Hour, hour - h * HOUR_MS)
            });
        }
        if rollups.len() >= 10_000 {
            store.put_rollups(&rollups).await.unwrap();
            written += rollups.len();
            rollups.clear();
        }
    }
    store.put_rollups(&rollups).await.unwrap();
    written += rollups.len();
    drop(rollups);
    println!(
        "seeded {n} targets, 60 runs of one-minute history in {seeded_history:.1} s, \
         {written} baseline rollups in {:.1} s",
        started.elapsed().as_secs_f64() - seeded_history
    );
    // Reset the peak RSS (Linux: writing 5 to clear_refs resets VmHWM to the current RSS).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let rss_before = common::proc_status_kib("self", "VmRSS:");
    let publisher = lookout_app::memory::MemoryPublisher::default();
    let t = Instant::now();
    let report = Box::pin(digest::run(&store, &publisher, &NoSummariser, hour, now))
        .await
        .unwrap();
    let wall = t.elapsed().as_secs_f64();
    let peak = common::proc_status_kib("self", "VmHWM:");
    println!();
    println!("| digest of 1 hour | value |");
    println!("| --- | ---: |");
    println!("| targets | {} |", report.targets);
    println!("| baseline hours per target | {baseline_hours} |");
    println!("| rollups written | {} |", report.rollups);
    let mut by_kind: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for a in &report.global.anomalies {
        *by_kind
            .entry(format!(
                "{:?}{}",
                a.kind,
                if a.target_id == "*" { " (all)" } else { "" }
            ))
            .or_default() += 1;
    }
    println!("| anomalies found | {} {by_kind:?} |", report.anomalies);
    println!("| injected | 20 latency (every 50th target); 15 targets failing one check in five (every 70th), which is an error-rate spike and flapping (24 changes in 60 checks) |");
    println!("| wall time | {wall:.2} s |");
    println!(
        "| per target | {:.2} ms |",
        wall * 1000.0 / report.targets.max(1) as f64
    );
    println!(
        "| RSS before the run | {:.1} MiB |",
        rss_before as f64 / 1024.0
    );
    println!(
        "| peak RSS during the run | {:.1} MiB |",
        peak as f64 / 1024.0
    );
    println!();
    println!("global digest: {}", report.global.summary);
    common::bench_row(
        json!({"part": "digest", "name": format!("hourly digest, {n} targets"),
        "unit": "s", "lookout": wall,
        "note": format!("{baseline_hours} baseline hours per target, {} anomalies", report.anomalies)}),
    );
    common::bench_row(
        json!({"part": "digest", "name": format!("hourly digest peak RSS, {n} targets"),
        "unit": "MiB", "lookout": peak as f64 / 1024.0}),
    );
}
