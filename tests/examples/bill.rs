//! Benchmark (not a test): the monthly bill of monitoring N server targets every minute, from
//! what the functions actually consume on the local stack, next to Route 53 health checks and
//! CloudWatch Synthetics for the same N.
//!
//! - **DynamoDB**: every request the probe handler makes goes through an SDK interceptor that
//!   asks for `ReturnConsumedCapacity=TOTAL` and sums the `ConsumedCapacity` DynamoDB Local
//!   returns, as read units (GetItem, Query, Scan, BatchGetItem, TransactGetItems) or write units
//!   (PutItem, UpdateItem, DeleteItem, BatchWriteItem, TransactWriteItems).
//! - **Probe runs**: N targets on a loopback server, two warm-up runs (the first creates every
//!   state item and the snapshot), then ten measured runs (the history read to catch up grows
//!   from one run to ten, as between two snapshot rewrites), plus one snapshot rewrite counted
//!   at one per `SNAPSHOT_EVERY_MS` (ten runs); steady state (every target up) and 5 % flapping (those
//!   targets fail every other run with `failure_threshold` 1, so each flips every run: the
//!   worst case of a state write and an alert per flapping target per run).
//! - **SNS publishes**: the alerts the runs raised (counted by the publisher).
//! - **Lambda**: measured run duration × the template's 256 MB, two invocations a minute (one
//!   rule per kind), plus the requests.
//! - **Digest** (hourly) and **export** (daily dump) are measured at N targets too: the digest
//!   over one hour of one-minute history with an empty baseline, plus the baseline reads modeled
//!   at 7 days (one query per target reading 168 rollups of `ROLLUP_BYTES`); the dump's scan and
//!   S3 PUTs are estimated from the table's steady-state size (packed history kept
//!   `LOOKOUT_HISTORY_TTL_DAYS`, 14 days by default, hourly rollups 35 days, daily ones 400). Storage is
//!   priced at that size.
//! - Not counted: API traffic (depends on the users), CloudWatch alarms (fixed, $0.10 each),
//!   KMS (fixed $1/month for the key), data transfer.
//!
//! Run: `make bench` (part bill), or with the stack up and `local.env` loaded:
//! `cargo run --release -p lookout-tests --example bill [N ...]`.

#[path = "../it/common/mod.rs"]
mod common;
#[path = "support/capacity.rs"]
mod capacity;

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

use capacity::Capacity;

/// Prices, us-east-1, read on 2026-11-22 from the AWS pricing pages named (on-demand, no free
/// tier counted).
mod price {
    /// DynamoDB on-demand, per write request unit: $0.625 per million
    /// (aws.amazon.com/dynamodb/pricing/on-demand/, since the 2024-11-01 price cut).
    pub const WRU: f64 = 0.625 / 1e6;
    /// DynamoDB on-demand, per read request unit: $0.125 per million (same page).
    pub const RRU: f64 = 0.125 / 1e6;
    /// DynamoDB Standard table storage, per GB-month: $0.25 (same page).
    pub const DDB_GB_MONTH: f64 = 0.25;
    /// Lambda on arm64, per GB-second: $0.0000133334 (aws.amazon.com/lambda/pricing/, first
    /// 7.5 billion GB-s).
    pub const GB_SECOND: f64 = 0.000_013_333_4;
    /// Lambda requests: $0.20 per million (same page).
    pub const LAMBDA_REQUEST: f64 = 0.20 / 1e6;
    /// SNS standard topic publishes: $0.50 per million (aws.amazon.com/sns/pricing/).
    pub const SNS_PUBLISH: f64 = 0.50 / 1e6;
    /// S3 Standard PUT, COPY, POST, LIST: $0.005 per 1,000 (aws.amazon.com/s3/pricing/).
    pub const S3_PUT: f64 = 0.005 / 1e3;
    /// S3 Standard storage, per GB-month: $0.023 (same page).
    pub const S3_GB_MONTH: f64 = 0.023;
    /// CloudWatch Logs ingestion, per GB: $0.50 (aws.amazon.com/cloudwatch/pricing/).
    pub const LOGS_GB: f64 = 0.50;
    /// Route 53 health check of a non-AWS endpoint, per month: $0.75; with HTTPS and string
    /// matching $2.75 (aws.amazon.com/route53/pricing/, as the issue gives them).
    pub const ROUTE53_BASIC: f64 = 0.75;
    /// See [`ROUTE53_BASIC`].
    pub const ROUTE53_HTTPS_STRING: f64 = 2.75;
    /// CloudWatch Synthetics, per canary run: $0.0012 (aws.amazon.com/cloudwatch/pricing/).
    pub const SYNTHETICS_RUN: f64 = 0.0012;
}

/// Minutes in a month of 30 days: probe runs per kind.
const RUNS_PER_MONTH: f64 = 43_200.0;
/// Hours in a month: digest runs.
const HOURS_PER_MONTH: f64 = 720.0;
/// The probe function's memory in the template (Globals), GB.
const PROBE_GB: f64 = 0.25;
/// Bytes of one stored rollup item (measured on the digest bench's items: JSON with latency and
/// keys), for the modeled baseline reads.
const ROLLUP_BYTES: f64 = 300.0;
/// Bytes the probe logs per invocation (three JSON lines of about 200 bytes).
const LOG_BYTES_PER_RUN: f64 = 600.0;

/// What one probe run consumed on average.
struct PerRun {
    rru: f64,
    wru: f64,
    seconds: f64,
    publishes: f64,
    /// Units and requests per run by operation.
    by_operation: String,
    /// Mean bytes of one result as the history stores it (packed).
    result_bytes: f64,
}

async fn store_with_counter(n: usize, url: &str, flapping: usize) -> (DynamoStore, Capacity) {
    let aws = common::aws().await;
    let (_, table) = common::fresh_table(&aws).await;
    let capacity = Capacity::default();
    let store = DynamoStore::new(
        capacity.client(&aws),
        table,
        lookout_app::config::DEFAULT_HISTORY_TTL_DAYS,
    );
    for chunk in (0..n).collect::<Vec<_>>().chunks(64) {
        futures::future::try_join_all(chunk.iter().map(|&i| {
            let path = if i < flapping { "flap" } else { "ok" };
            let t = Target::from_json(
                json!({"id": format!("t{i:05}"), "group": format!("g{}", i % 50),
                "kind": "server", "url": format!("{url}/{path}/{i}"), "failure_threshold": 1}),
            )
            .unwrap();
            let store = &store;
            async move { store.create_target(&t).await }
        }))
        .await
        .unwrap();
    }
    capacity.take();
    (store, capacity)
}

async fn probe_runs(
    store: &DynamoStore,
    capacity: &Capacity,
    phase: &AtomicU64,
    measured: usize,
) -> PerRun {
    let prober = Prober::with_options(ProbeOptions::allow_private()).unwrap();
    let publisher = MemoryPublisher::default();
    let config = probe::RunConfig::new(lookout_app::probe::concurrency_limit(256));
    let request = probe::ProbeRequest::forced(&[TargetKind::Server]);
    let mut seconds = 0.0;
    let mut published = 0;
    for run in 0..2 + measured {
        phase.fetch_add(1, Ordering::SeqCst);
        if run == 2 {
            capacity.take();
            published = publisher.sent().len();
        }
        let t = Instant::now();
        Box::pin(probe::run(store, &publisher, &prober, &request, &config))
            .await
            .unwrap();
        if run >= 2 {
            seconds += t.elapsed().as_secs_f64();
        }
    }
    let u = capacity.take();
    let m = measured as f64;
    // The snapshot: rewritten once the results to replay reach back `SNAPSHOT_EVERY_MS`, which
    // back-to-back runs never do. Written once here and counted per run at that rate.
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
    let runs_per_snapshot = (lookout_app::ports::SNAPSHOT_EVERY_MS / 60_000) as f64;
    let snapshot_wru = capacity.take().write / runs_per_snapshot;
    let sizes: Vec<usize> = latest
        .values()
        .filter_map(|l| l.result.as_ref())
        .map(|r| lookout_aws::dynamodb::packed::pack_history([(r, 1)]).map_or(0, |v| v.len() - 2))
        .collect();
    let result_bytes = sizes.iter().sum::<usize>() as f64 / sizes.len().max(1) as f64;
    capacity.take();
    let mut by_operation = u.per_run(m);
    by_operation.push_str(&format!(
        "; snapshot {snapshot_wru:.1} units (one rewrite every {runs_per_snapshot:.0} runs)"
    ));
    PerRun {
        by_operation,
        result_bytes,
        rru: u.read / m,
        wru: u.write / m + snapshot_wru,
        seconds: seconds / m,
        publishes: (publisher.sent().len() - published) as f64 / m,
    }
}

/// Capacity of one digest run over a full hour of one-minute history of N targets.
async fn digest_hour(n: usize) -> (f64, f64, f64) {
    let (store, capacity) = store_with_counter(n, "http://127.0.0.1:9", 0).await;
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
    (u.read + baseline, u.write, seconds)
}

#[tokio::main]
async fn main() {
    let mut sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    if sizes.is_empty() {
        sizes = if common::bench_smoke() {
            vec![20]
        } else {
            vec![100, 1_000, 10_000]
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
    for &n in &sizes {
        let (digest_rru, digest_wru, digest_s) = digest_hour(n).await;
        for (scenario, flapping) in [("steady", 0), ("5% flapping", n / 20)] {
            let (store, capacity) = store_with_counter(n, &server.url, flapping).await;
            let r = probe_runs(&store, &capacity, &phase, measured).await;
            let nf = n as f64;
            // Monthly figures. Two probe invocations a minute (one rule per kind; the proxy
            // kind has no targets here and is counted as a request only).
            let ddb_requests = (r.rru * price::RRU + r.wru * price::WRU) * RUNS_PER_MONTH;
            let digest = (digest_rru * price::RRU
                + digest_wru * price::WRU
                + digest_s * PROBE_GB * price::GB_SECOND)
                * HOURS_PER_MONTH;
            // Steady-state table: the packed history of `DEFAULT_HISTORY_TTL_DAYS` plus the
            // rollups, hourly ones kept `HOUR_ROLLUP_TTL_DAYS` and daily ones `ROLLUP_TTL_DAYS`.
            let history_days = f64::from(lookout_app::config::DEFAULT_HISTORY_TTL_DAYS);
            let history_gb = nf * r.result_bytes * 1440.0 * history_days / 1e9;
            let rollups_kept = 24.0 * f64::from(lookout_core::digest::rollup::HOUR_ROLLUP_TTL_DAYS)
                + f64::from(lookout_core::digest::rollup::ROLLUP_TTL_DAYS);
            let rollup_gb = nf * ROLLUP_BYTES * rollups_kept / 1e9;
            let table_gb = history_gb + rollup_gb;
            let storage = table_gb * price::DDB_GB_MONTH;
            // Daily dump: a full scan (0.5 unit per 4 KB), parts of 8 MiB to S3 at about a
            // tenth of the size gzip'd, 7 dumps kept.
            let dump_scan = table_gb * 1e9 / 4096.0 * 0.5 * price::RRU * 30.0;
            let dump_s3 =
                ((table_gb * 0.1 * 1e9 / 8_388_608.0).ceil() + 2.0) * price::S3_PUT * 30.0
                    + table_gb * 0.1 * 7.0 * price::S3_GB_MONTH;
            let lambda = r.seconds * PROBE_GB * price::GB_SECOND * RUNS_PER_MONTH
                + 2.0 * RUNS_PER_MONTH * price::LAMBDA_REQUEST;
            let sns = r.publishes * RUNS_PER_MONTH * price::SNS_PUBLISH;
            let logs = 2.0 * RUNS_PER_MONTH * LOG_BYTES_PER_RUN / 1e9 * price::LOGS_GB;
            let total = ddb_requests + digest + storage + dump_scan + dump_s3 + lambda + sns + logs;
            let (r53, r53s, synth) = (
                nf * price::ROUTE53_BASIC,
                nf * price::ROUTE53_HTTPS_STRING,
                nf * RUNS_PER_MONTH * price::SYNTHETICS_RUN,
            );
            println!(
                "| {n} | {scenario} | {:.1} | {:.1} | {:.2} | {:.1} | {digest_rru:.0} | {digest_wru:.0} | {total:.2} | {r53:.2} | {r53s:.2} | {synth:.0} |",
                r.rru, r.wru, r.seconds, r.publishes
            );
            println!(
                "|  | breakdown | DynamoDB requests {ddb_requests:.2}, digest {digest:.2}, storage {storage:.2} ({table_gb:.2} GB), dump {:.3}, Lambda {lambda:.2}, SNS {sns:.3}, logs {logs:.3} | | | | | | | | | |",
                dump_scan + dump_s3
            );
            println!(
                "|  | per run | {}; a result is {:.0} bytes packed | | | | | | | | | |",
                r.by_operation, r.result_bytes
            );
            let per_1000 = total / nf * 1000.0;
            common::bench_row(
                json!({"part": "bill", "name": format!("monthly, {n} targets, {scenario}"),
                "unit": "USD", "lookout": total, "anchor": r53,
                "anchor_name": "Route 53 health checks ($0.75 each)",
                "goal": "≤ $5 per 1,000 targets", "met": per_1000 <= 5.0,
                "note": format!("${per_1000:.2} per 1,000; RRU {:.1} and WRU {:.1} per run; {:.2} s per run", r.rru, r.wru, r.seconds)}),
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
            }
        }
    }
}
