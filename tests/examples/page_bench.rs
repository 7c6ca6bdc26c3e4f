//! Benchmark (not a test): the status page, `GET /`, with 1,000 targets in DynamoDB Local, a
//! 90-day uptime table, their states from one real probe round and an open incident; the page
//! rendered 200 times on a warm instance (the definitions cached), side by side with the page
//! as it was before issue 18 (the anchor: `support/page_before/`, a copy of the renderer at
//! main 2873a4e) over the same table in the same run.
//!
//! Prints one table: p50 and p99 server time (ms, from the request to the whole body), the body
//! raw and gzipped (KB = 1,000 bytes; flate2 at level 6, as a CDN compresses), ours against the
//! anchor with the ratios, and the goals of issue 18 (p99 ≤ 100 ms, ≤ 150 KB gzipped) marked
//! met or not. Appends the rows to `$BENCH_OUT` (bench/run.sh).
//!
//! Run: `infra/local/stack.sh up && set -a && . infra/local/local.env && set +a &&
//! cargo run --release -p lookout-tests --example page_bench [targets] [calls]`
//! (bench/parts/55-page.sh; `BENCH_SMOKE=1` there runs 50 targets).

#[path = "../it/common/mod.rs"]
mod common;
#[path = "support/page_before/mod.rs"]
mod page_before;

use std::io::Write as _;
use std::sync::Arc;
use std::time::Instant;

use http_body_util::BodyExt as _;
use lookout_app::ports::{DigestStore, IncidentStore, TargetStore, TargetUptime};
use lookout_app::probe::{ProbeOptions, Prober};
use lookout_aws::dynamodb::DynamoStore;
use lookout_core::digest::rollup::{DayCell, Period, Uptime, BAR_DAYS, DAY_MS, UPTIME_WINDOWS};
use lookout_core::domain::incident::{
    AffectedTarget, Incident, IncidentKind, IncidentSource, IncidentStatus, IncidentUpdate,
};
use lookout_core::domain::{Status, Target, TargetKind};
use serde_json::json;
use tower::ServiceExt as _;

/// Issue 18's goals: p99 server time, ms, and the gzipped body, KB.
const GOAL_P99_MS: f64 = 100.0;
const GOAL_GZ_KB: f64 = 150.0;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Bytes of `body` gzipped at level 6.
fn gzipped(body: &[u8]) -> usize {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    gz.write_all(body).unwrap();
    gz.finish().unwrap().len()
}

/// 90 daily cells per target (every 23rd day with failures) and the windows from them.
fn uptime_row(i: usize, t: &Target, now: i64) -> TargetUptime {
    let today = Period::Day.start_of(now);
    let days: Vec<DayCell> = (0..BAR_DAYS)
        .map(|d| {
            let start = today - (BAR_DAYS - 1 - d) as i64 * DAY_MS;
            let checks = if start == today {
                ((now - today) / 60_000).max(1) as u64
            } else {
                1440
            };
            let failures = if (d * 7 + i * 13).is_multiple_of(23) {
                30
            } else {
                0
            };
            DayCell {
                start,
                checks,
                failures,
            }
        })
        .collect();
    let windows = UPTIME_WINDOWS
        .iter()
        .map(|(name, len)| {
            let since = now - len;
            let (checks, failures) = days
                .iter()
                .filter(|c| c.start + DAY_MS > since)
                .fold((0, 0), |(c, f), x| (c + x.checks, f + x.failures));
            Uptime {
                window: (*name).to_string(),
                since,
                checks,
                failures,
                uptime_percent: (checks > 0)
                    .then(|| 100.0 * (checks - failures) as f64 / checks as f64),
            }
        })
        .collect();
    TargetUptime {
        target_id: t.id.clone(),
        windows,
        days,
    }
}

/// An open operator incident naming three targets, with two updates.
fn incident(targets: &[Target], now: i64) -> Incident {
    let update = |at: i64, status, body: &str| IncidentUpdate {
        at,
        status,
        body: body.into(),
        changes: Vec::new(),
        alert_key: None,
    };
    Incident {
        id: "inc-bench-0001".into(),
        kind: IncidentKind::Incident,
        source: IncidentSource::Operator,
        title: "Payments & checkout errors".into(),
        status: IncidentStatus::Identified,
        targets: targets
            .iter()
            .take(3)
            .map(|t| AffectedTarget {
                id: t.id.clone(),
                name: t.name.clone(),
                status: Status::Down,
            })
            .collect(),
        opened_at: now - 7_200_000,
        resolved_at: None,
        starts_at: None,
        ends_at: None,
        more_targets: 0,
        dropped_updates: 0,
        updates: vec![
            update(
                now - 7_200_000,
                IncidentStatus::Investigating,
                "Looking into it.",
            ),
            update(
                now - 3_600_000,
                IncidentStatus::Identified,
                "A certificate expired.",
            ),
        ],
        postmortem: None,
        version: 1,
    }
}

/// p50, p99 (ms), first call (ms) and the last body of `calls` + 1 timed calls of `render`.
async fn time<F, Fut>(calls: usize, mut render: F) -> (f64, f64, f64, Vec<u8>)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Vec<u8>>,
{
    let mut times = Vec::with_capacity(calls + 1);
    let mut body = Vec::new();
    for _ in 0..=calls {
        let t = Instant::now();
        body = render().await;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let first = times.remove(0);
    times.sort_by(f64::total_cmp);
    (
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        first,
        body,
    )
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1_000);
    let calls: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(200);
    let aws = common::aws().await;
    let (ddb, table) = common::fresh_table(&aws).await;
    let store = DynamoStore::new(ddb, table, 30);
    let started = Instant::now();
    // Every 20th target is down (a closed loopback port); the others answer 200 on loopback.
    let up = lookout_app::testing::serve(200, "ok").await;
    let dead = lookout_app::testing::closed_port().await;
    let targets: Vec<Target> = (0..n)
        .map(|i| {
            let url = if i % 20 == 3 { &dead } else { &up };
            Target::from_json(json!({
                "id": format!("t{i:05}"), "name": format!("Service {i:05}"),
                "group": format!("group-{:02}", i % 50), "kind": "server",
                "url": format!("{url}/health/{i}"), "failure_threshold": 1,
                "timeout_ms": 3000, "degraded_latency_ms": 30_000,
            }))
            .unwrap()
        })
        .collect();
    for chunk in targets.chunks(64) {
        futures::future::try_join_all(chunk.iter().map(|t| store.create_target(t)))
            .await
            .unwrap();
    }
    let now = lookout_core::time::now_ms();
    let uptime: Vec<TargetUptime> = targets
        .iter()
        .enumerate()
        .map(|(i, t)| uptime_row(i, t, now))
        .collect();
    store
        .put_uptime(TargetKind::Server, &uptime)
        .await
        .expect("the uptime table (90 days per target)");
    store.put_incident(&incident(&targets, now)).await.unwrap();
    let publisher = lookout_app::memory::MemoryPublisher::default();
    let prober = Prober::with_options(ProbeOptions::allow_private()).unwrap();
    let config = probe::RunConfig {
        storm_threshold: 10,
        ..probe::RunConfig::new(lookout_app::probe::concurrency_limit(256))
    };
    let report = probe::run(
        &store,
        &publisher,
        &prober,
        &probe::ProbeRequest::forced(&[TargetKind::Server]),
        &config,
    )
    .await
    .unwrap();
    println!(
        "{n} targets, 90-day uptime table, one probe round ({} checked), one incident: {:.1} s",
        report.runs[0].checked,
        started.elapsed().as_secs_f64()
    );
    let app = Arc::new(api::App {
        prober: Prober::with_options(ProbeOptions::default()).unwrap(),
        admin_token: Some("t".into()),
        ..api::App::local(store)
    });
    // Ours: GET / through the API's router, built once as the Lambda function builds it; the
    // first call lists the definitions, the next ones find them in the instance's cache.
    let router = api::router(app.clone());
    let ours = time(calls, || {
        let router = router.clone();
        async move {
            let req = lambda_http::http::Request::builder()
                .uri("https://status.example/")
                .body(http_body_util::Empty::<hyper::body::Bytes>::new())
                .unwrap();
            let resp = router.oneshot(req).await.unwrap();
            assert_eq!(resp.status(), 200, "GET /");
            resp.into_body()
                .collect()
                .await
                .unwrap()
                .to_bytes()
                .to_vec()
        }
    })
    .await;
    // The anchor: the page before issue 18, over the same store, its own warm cache.
    let cache = page_before::DefsCache::default();
    let anchor = time(calls, || async {
        page_before::page(&app.store, &cache, None)
            .await
            .expect("the anchor page")
            .into_bytes()
    })
    .await;

    let kb = |b: usize| b as f64 / 1000.0;
    let (ours_raw, anchor_raw) = (kb(ours.3.len()), kb(anchor.3.len()));
    let (ours_gz, anchor_gz) = (kb(gzipped(&ours.3)), kb(gzipped(&anchor.3)));
    let met = |ok: bool| if ok { "met" } else { "NOT met" };
    println!(
        "| GET /, {n} targets, {calls} warm calls | ours | before (main 2873a4e) | ratio | goal |"
    );
    println!("|---|---|---|---|---|");
    let rows = [
        ("first call, ms", ours.2, anchor.2, String::new()),
        ("p50, ms", ours.0, anchor.0, String::new()),
        (
            "p99, ms",
            ours.1,
            anchor.1,
            format!("≤ {GOAL_P99_MS:.0} ms: {}", met(ours.1 <= GOAL_P99_MS)),
        ),
        ("body raw, KB", ours_raw, anchor_raw, String::new()),
        (
            "body gzip -6, KB",
            ours_gz,
            anchor_gz,
            format!("≤ {GOAL_GZ_KB:.0} KB: {}", met(ours_gz <= GOAL_GZ_KB)),
        ),
    ];
    for (name, o, a, goal) in &rows {
        println!("| {name} | {o:.1} | {a:.1} | {:.2} | {goal} |", o / a);
    }
    let anchor_name = "the page before issue 18 (main 2873a4e)";
    let note =
        format!("{calls} warm calls through the router, DynamoDB Local, 90-day uptime table");
    for (name, unit, o, a, goal) in [
        ("GET / p50", "ms", ours.0, anchor.0, None),
        (
            "GET / p99",
            "ms",
            ours.1,
            anchor.1,
            Some((GOAL_P99_MS, "ms")),
        ),
        ("GET / body", "KB", ours_raw, anchor_raw, None),
        (
            "GET / body gzipped",
            "KB",
            ours_gz,
            anchor_gz,
            Some((GOAL_GZ_KB, "KB")),
        ),
    ] {
        let mut row = json!({"part": "page", "name": format!("{name}, {n} targets"),
            "unit": unit, "lookout": o, "anchor": a, "anchor_name": anchor_name, "note": note});
        if let Some((g, u)) = goal {
            row["goal"] = json!(format!("≤ {g:.0} {u}"));
            row["met"] = json!(o <= g);
        }
        common::bench_row(row);
    }
}
