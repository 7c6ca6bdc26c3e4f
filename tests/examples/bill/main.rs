//! Benchmark (not a test): the monthly bill of monitoring N server targets every minute, from
//! what the functions actually consume on the local stack, next to Route 53 health checks and
//! CloudWatch Synthetics for the same N.
//!
//! - **DynamoDB**: every request the probe handler makes goes through an SDK interceptor that
//!   asks for `ReturnConsumedCapacity=TOTAL` and sums the `ConsumedCapacity` DynamoDB Local
//!   returns, as read units (GetItem, Query, Scan, BatchGetItem, TransactGetItems) or write units
//!   (PutItem, UpdateItem, DeleteItem, BatchWriteItem, TransactWriteItems).
//! - **Probe runs**: N targets on a loopback server, scheduled runs one a minute on the run's
//!   clock: twelve warm-up runs (the first creates every state item and the snapshot), then ten
//!   measured runs (the history read to catch up grows from one run to ten, and the snapshot is
//!   rewritten once among them, as between two snapshot rewrites); steady state (every target
//!   up), 5 % flapping (those targets fail every other run with `failure_threshold` 1, so each
//!   flips every run; with flap detection, on by default, they have started flapping before
//!   the measured runs: one alert each, then none per flip), and the same with flap detection
//!   off (the worst case: a state write and an alert per flapping target per run).
//! - **SNS publishes**: the alerts the runs raised (counted by the publisher).
//! - **Lambda**: measured run duration × the template's 256 MB, one invocation a minute (one
//!   rule for both kinds), plus the requests.
//! - **Digest** (hourly) and **export** (daily dump) are measured at N targets too: the digest
//!   over one hour of one-minute history with an empty baseline, plus the baseline reads modeled
//!   at 7 days (one query per target reading 168 rollups of `ROLLUP_BYTES`); the dump's scan and
//!   S3 PUTs are estimated from the table's steady-state size (packed history kept
//!   `LOOKOUT_HISTORY_TTL_DAYS`, 14 days by default, hourly rollups 35 days, daily ones 400). Storage is
//!   priced at that size.
//! - **100,000 targets, one and three locations; home table against global table**: see
//!   `locations.rs`. Prices and the monthly model: `cost.rs`.
//! - Not counted: API traffic (depends on the users), CloudWatch alarms (fixed, $0.10 each),
//!   KMS (fixed $1/month for the key), data transfer.
//!
//! Run: `make bench` (part bill), or with the stack up and `local.env` loaded:
//! `cargo run --release -p lookout-tests --example bill [N ...]`.

#[path = "../support/capacity.rs"]
mod capacity;
#[path = "../../it/common/mod.rs"]
mod common;
mod cost;
mod locations;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use lookout_app::memory::MemoryPublisher;
use lookout_app::ports::TargetStore;
use lookout_app::probe::{ProbeOptions, Prober};
use lookout_app::testing::{Reply, TestServer};
use lookout_aws::dynamodb::DynamoStore;
use lookout_core::domain::{Target, TargetKind};
use serde_json::json;

use capacity::{Capacity, Units};
use cost::{price, Deployment, DigestHour, PerRun, ROLLUP_BYTES, RUNS_PER_MONTH};

/// A fresh table with `n` targets (`flapping` of them on the flapping path), and a store over
/// it whose requests the returned counter sees; the table's name.
async fn store_with_counter(
    n: usize,
    url: &str,
    flapping: usize,
) -> (DynamoStore, Capacity, String) {
    store_with_targets(n, url, flapping, true).await
}

/// Like [`store_with_counter`], with every target's `flap_detection` set to `flap_detection`.
async fn store_with_targets(
    n: usize,
    url: &str,
    flapping: usize,
    flap_detection: bool,
) -> (DynamoStore, Capacity, String) {
    let aws = common::aws().await;
    let (_, table) = common::fresh_table(&aws).await;
    let (store, capacity) = counted_store(&aws, &table);
    for chunk in (0..n).collect::<Vec<_>>().chunks(64) {
        futures::future::try_join_all(chunk.iter().map(|&i| {
            let path = if i < flapping { "flap" } else { "ok" };
            let t = Target::from_json(
                json!({"id": format!("t{i:05}"), "group": format!("g{}", i % 50),
                "kind": "server", "url": format!("{url}/{path}/{i}"), "failure_threshold": 1,
                "flap_detection": flap_detection}),
            )
            .unwrap();
            let store = &store;
            async move { store.create_target(&t).await }
        }))
        .await
        .unwrap();
    }
    capacity.take();
    (store, capacity, table)
}

/// A store over `table` with a counter of its own.
fn counted_store(aws: &aws_config::SdkConfig, table: &str) -> (DynamoStore, Capacity) {
    let capacity = Capacity::default();
    let store = DynamoStore::new(
        capacity.client(aws),
        table.to_string(),
        lookout_app::config::DEFAULT_HISTORY_TTL_DAYS,
    );
    (store, capacity)
}

/// Warm-up runs before the measured ones: the first creates every state item and the snapshot;
/// by the tenth a target that flips every run has started flapping (its ninth change), so the
/// measured runs see what a target that keeps flapping costs, not the minutes before.
const WARM_UP: usize = 12;

/// `WARM_UP` then `measured` scheduled runs (not forced: what the one-minute schedule does, so a
/// run that changes nothing writes no run record and no summary), one a minute on the run's
/// clock (a manual one, from before now, moved a minute each run: every target is due each run,
/// and the snapshot is rewritten every `SNAPSHOT_EVERY_MS` of it, inside the measured runs).
async fn probe_runs(
    store: &DynamoStore,
    capacity: &Capacity,
    phase: &AtomicU64,
    measured: usize,
) -> PerRun {
    let prober = Prober::with_options(ProbeOptions::allow_private()).unwrap();
    let publisher = MemoryPublisher::default();
    let start = lookout_core::time::now_ms() - ((WARM_UP + measured) as i64 + 2) * 60_000;
    let clock = lookout_app::clock::ManualClock::at(start);
    let config = probe::RunConfig {
        clock: Arc::new(clock.clone()),
        ..probe::RunConfig::new(lookout_app::probe::concurrency_limit(256))
    };
    // Both kinds, as the one schedule sends them: the proxy kind has no targets here, but its
    // lease, reads and summary are counted.
    let request = probe::ProbeRequest {
        force: false,
        ..probe::ProbeRequest::forced(&TargetKind::ALL)
    };
    let mut seconds = 0.0;
    let mut published = 0;
    for run in 0..WARM_UP + measured {
        phase.fetch_add(1, Ordering::SeqCst);
        if run == WARM_UP {
            capacity.take();
            published = publisher.sent().len();
        }
        let t = Instant::now();
        Box::pin(probe::run(store, &publisher, &prober, &request, &config))
            .await
            .unwrap();
        if run >= WARM_UP {
            seconds += t.elapsed().as_secs_f64();
        }
        clock.advance(60_000);
    }
    let u = capacity.take();
    let m = measured as f64;
    let (_, result_bytes) = snapshot(store, capacity).await;
    let runs_per_snapshot = (lookout_app::ports::SNAPSHOT_EVERY_MS / 60_000) as f64;
    let mut by_operation = u.per_run(m);
    by_operation.push_str(&format!(
        "; the snapshot rewritten once every {runs_per_snapshot:.0} runs, inside them"
    ));
    PerRun {
        by_operation,
        result_bytes,
        rru: u.read / m,
        wru: u.write / m,
        seconds: seconds / m,
        publishes: (publisher.sent().len() - published) as f64 / m,
        write_bytes: u.write_bytes as f64 / m,
        cross_bytes: 0.0,
    }
}

/// The snapshot: rewritten once the results to replay reach back `SNAPSHOT_EVERY_MS`, which
/// back-to-back runs never do. Written once here (its units returned, to count per run at that
/// rate), with the mean bytes of one packed result.
async fn snapshot(store: &DynamoStore, capacity: &Capacity) -> (Units, f64) {
    let mut latest = lookout_app::ports::StateStore::latest(store, TargetKind::Server)
        .await
        .unwrap();
    let targets = store.list_targets(Some(TargetKind::Server)).await.unwrap();
    lookout_app::ports::catch_up_all(&mut latest, &targets);
    let mut all: Vec<_> = latest.values().cloned().collect();
    all.sort_by(|a, b| a.state.target_id.cmp(&b.state.target_id));
    capacity.take();
    lookout_app::ports::StateStore::record_run(
        store,
        TargetKind::Server,
        lookout_core::time::now_ms(),
        &all,
        true,
    )
    .await
    .unwrap();
    let units = capacity.take();
    let sizes: Vec<usize> = latest
        .values()
        .filter_map(|l| l.result.as_ref())
        .map(|r| lookout_aws::dynamodb::packed::pack_history([(r, 1)]).map_or(0, |v| v.len() - 2))
        .collect();
    let result_bytes = sizes.iter().sum::<usize>() as f64 / sizes.len().max(1) as f64;
    (units, result_bytes)
}

/// Capacity of one digest run over a full hour of one-minute history of N targets.
async fn digest_hour(n: usize) -> DigestHour {
    let (store, capacity, _) = store_with_counter(n, "http://127.0.0.1:9", 0).await;
    let ids: Vec<String> = (0..n).map(|i| format!("t{i:05}")).collect();
    let hour = lookout_core::digest::rollup::Period::Hour.start_of(lookout_core::time::now_ms())
        - lookout_core::digest::rollup::HOUR_MS;
    let runs = lookout_app::testing::minute_runs(&ids, TargetKind::Server, hour, |_, m| {
        Some(100 + m as u64)
    });
    // The hour's history as the probe writes it (its writes are the probe's, counted there).
    for (at, latest) in &runs {
        lookout_app::ports::StateStore::record_run(&store, TargetKind::Server, *at, latest, true)
            .await
            .unwrap();
    }
    drop(runs);
    capacity.take();
    let t = Instant::now();
    Box::pin(digest::run(
        &store,
        &MemoryPublisher::default(),
        &lookout_core::digest::report::NoSummariser,
        hour,
        lookout_core::time::now_ms(),
    ))
    .await
    .unwrap();
    let seconds = t.elapsed().as_secs_f64();
    let u = capacity.take();
    // The 7-day baseline: one query per target reading 168 rollups, eventually consistent
    // (0.5 read unit per 4 KB).
    let baseline = n as f64 * (168.0 * ROLLUP_BYTES / 4096.0).ceil() * 0.5;
    DigestHour {
        rru: u.read + baseline,
        wru: u.write,
        seconds,
        write_bytes: u.write_bytes as f64,
    }
}

#[tokio::main]
async fn main() {
    let mut sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    if sizes.is_empty() {
        // 10,000 and 20,000 also give the line the 100,000-target rows are read from.
        sizes = if common::bench_smoke() {
            vec![20, 40]
        } else {
            vec![100, 1_000, 10_000, 20_000]
        };
    }
    // Ten runs: the results replayed on top of the snapshot grow from one run to ten, as
    // between two snapshot rewrites.
    let measured = if common::bench_smoke() { 1 } else { 10 };
    // Loopback targets: /ok/<i> always 200; /flap/<i> 200 on even runs, 500 on odd ones.
    let phase = Arc::new(AtomicU64::new(0));
    let p = phase.clone();
    let server = TestServer::start(move |r| {
        if r.path.starts_with("/flap/") && p.load(Ordering::SeqCst) % 2 == 1 {
            Reply::text(500, "down")
        } else {
            Reply::text(200, "ok")
        }
    })
    .await;
    println!("| N | scenario | RRU/run | WRU/run | s/run | publishes/run | digest RRU/h | digest WRU/h | Lookout $/month | Route 53 $0.75 | Route 53 $2.75 | Synthetics |");
    println!("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut steady = Vec::new();
    for &n in &sizes {
        let d = digest_hour(n).await;
        for (scenario, flapping, flap_detection) in [
            ("steady", 0, true),
            ("5% flapping", n / 20, true),
            ("5% flapping, flap detection off", n / 20, false),
        ] {
            let (store, capacity, _) =
                store_with_targets(n, &server.url, flapping, flap_detection).await;
            let r = probe_runs(&store, &capacity, &phase, measured).await;
            let nf = n as f64;
            // One probe invocation a minute for both kinds (the proxy kind has no targets
            // here; its lease and reads are in the units).
            let cost = cost::monthly(n, &r, &d, &Deployment::SINGLE);
            let total = cost.total();
            let (r53, r53s, synth) = (
                nf * price::ROUTE53_BASIC,
                nf * price::ROUTE53_HTTPS_STRING,
                nf * RUNS_PER_MONTH * price::SYNTHETICS_RUN,
            );
            println!(
                "| {n} | {scenario} | {:.1} | {:.1} | {:.2} | {:.1} | {:.0} | {:.0} | {total:.2} | {r53:.2} | {r53s:.2} | {synth:.0} |",
                r.rru, r.wru, r.seconds, r.publishes, d.rru, d.wru
            );
            println!("|  | breakdown | {} | | | | | | | | | |", cost.breakdown());
            println!(
                "|  | per run | {}; a result is {:.0} bytes packed | | | | | | | | | |",
                r.by_operation, r.result_bytes
            );
            let per_1000 = total / nf * 1000.0;
            // The goal is for the default settings; with flap detection off every flip of the
            // flapping targets alerts, and the row says what that costs.
            let (goal, met) = if flap_detection {
                (json!("≤ $5 per 1,000 targets"), json!(per_1000 <= 5.0))
            } else {
                (json!("–"), json!("–"))
            };
            common::bench_row(
                json!({"part": "bill", "name": format!("monthly, {n} targets, {scenario}"),
                "unit": "USD", "lookout": total, "anchor": r53,
                "anchor_name": "Route 53 health checks ($0.75 each)",
                "goal": goal, "met": met,
                "note": format!("${per_1000:.2} per 1,000; RRU {:.1} and WRU {:.1} per run; {:.1} alerts published per run; {:.2} s per run", r.rru, r.wru, r.publishes, r.seconds)}),
            );
            if flapping == 0 {
                common::bench_row(
                    json!({"part": "bill", "name": format!("monthly, {n} targets, against HTTPS + string matching"),
                    "unit": "USD", "lookout": total, "anchor": r53s,
                    "anchor_name": "Route 53 ($2.75 each)"}),
                );
                common::bench_row(
                    json!({"part": "bill", "name": format!("monthly, {n} targets, against Synthetics"),
                    "unit": "USD", "lookout": total, "anchor": synth,
                    "anchor_name": "CloudWatch Synthetics ($0.0012 per run, one canary run a minute per target)"}),
                );
                steady.push((n, r, d.clone()));
            }
        }
    }
    // 100,000 targets at one location and at three, read off the line through the two
    // largest sizes measured.
    locations::hundred_thousand(&steady, &server.url, measured).await;
}
