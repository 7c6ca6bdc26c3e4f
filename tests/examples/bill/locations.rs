//! The bill at 100,000 targets, at one location and at three (issue 17), and the two ways to
//! store three locations' data: one home table the other locations write across Regions, or a
//! DynamoDB global table replicated to the three Regions.
//!
//! - **One location**: the steady runs measured at the two largest sizes (10,000 and 20,000 by
//!   default), read off their line at 100,000 (a run of 100,000 targets on DynamoDB Local
//!   takes too long for `make bench`; fanned out, each of its 10 shards is a run of about
//!   10,000 targets, so the units grow with the targets). Lambda requests: the dispatcher, 10
//!   shard workers and the proxy run a minute; SQS: the shard tasks.
//! - **Three locations**: at each of the same two sizes, one table, three stores with a counter
//!   each: every minute the two other locations run (`RunConfig.locations`, not the home one:
//!   they probe, write their verdicts and beat their dead man's switch) and then the home
//!   location (it reads every location's verdicts and decides by the quorum). Their units,
//!   wall times and the bytes the other two send to and receive from the table are summed per
//!   minute and read off the line at 100,000.
//! - **Home table vs global table** ([`super::cost::monthly`]): the home table bills each write
//!   once and adds the other locations' request and answer bytes across Regions; a global
//!   table bills every write in each of the three Regions (replicated write request units),
//!   stores three copies and replicates each write's bytes to the two other Regions.

use std::time::Instant;

use lookout_app::memory::MemoryPublisher;
use lookout_app::probe::{ProbeOptions, Prober};
use lookout_app::usecases::probe_run::{LocationSetup, DEFAULT_LOCATION_GRACE_S};
use lookout_aws::dynamodb::DynamoStore;
use lookout_core::domain::shard::{shard_count, DEFAULT_TARGETS_PER_SHARD};
use lookout_core::domain::TargetKind;
use serde_json::json;

use super::capacity::Capacity;
use super::common;
use super::cost::{self, price, Deployment, DigestHour, PerRun};

/// The size the issue asks the bill at.
const TARGETS: usize = 100_000;

/// The three locations; the first is the home one.
const LOCATIONS: [&str; 3] = ["us-east-1", "eu-west-1", "ap-south-1"];

/// The run settings of `name`, one of [`LOCATIONS`].
fn config(name: &str) -> probe::RunConfig {
    probe::RunConfig {
        locations: Some(LocationSetup {
            name: name.to_string(),
            home: LOCATIONS[0].to_string(),
            all: LOCATIONS.iter().map(|l| l.to_string()).collect(),
            grace_ms: DEFAULT_LOCATION_GRACE_S * 1000,
        }),
        ..probe::RunConfig::new(lookout_app::probe::concurrency_limit(256))
    }
}

/// One minute of three locations, `measured` times after two warm-up minutes, on `n` targets:
/// the sums per minute.
async fn three_locations(n: usize, url: &str, measured: usize) -> PerRun {
    let aws = common::aws().await;
    let (home, home_units, table) = super::store_with_counter(n, url, 0).await;
    let others: Vec<(DynamoStore, Capacity)> = LOCATIONS[1..]
        .iter()
        .map(|_| super::counted_store(&aws, &table))
        .collect();
    let prober = Prober::with_options(ProbeOptions::allow_private()).unwrap();
    let publisher = MemoryPublisher::default();
    let request = probe::ProbeRequest::forced(&[TargetKind::Server]);
    let configs: Vec<probe::RunConfig> = LOCATIONS.iter().map(|l| config(l)).collect();
    let mut seconds = 0.0;
    let mut published = 0;
    for minute in 0..2 + measured {
        if minute == 2 {
            home_units.take();
            others.iter().for_each(|(_, c)| drop(c.take()));
            published = publisher.sent().len();
        }
        let t = Instant::now();
        for ((store, _), config) in others.iter().zip(&configs[1..]) {
            Box::pin(probe::run(store, &publisher, &prober, &request, config))
                .await
                .unwrap();
        }
        Box::pin(probe::run(
            &home,
            &publisher,
            &prober,
            &request,
            &configs[0],
        ))
        .await
        .unwrap();
        if minute >= 2 {
            seconds += t.elapsed().as_secs_f64();
        }
    }
    let m = measured as f64;
    let h = home_units.take();
    let o: Vec<_> = others.iter().map(|(_, c)| c.take()).collect();
    let (snapshot, result_bytes) = super::snapshot(&home, &home_units).await;
    let runs_per_snapshot = (lookout_app::ports::SNAPSHOT_EVERY_MS / 60_000) as f64;
    let sum = |f: fn(&super::capacity::Units) -> f64| o.iter().map(f).sum::<f64>();
    let other_read = sum(|u| u.read);
    let other_write = sum(|u| u.write);
    let by_operation = format!(
        "home: {}; each other location: RRU {:.1}, WRU {:.1} ({})",
        h.per_run(m),
        other_read / m / o.len() as f64,
        other_write / m / o.len() as f64,
        o.first().map(|u| u.per_run(m)).unwrap_or_default()
    );
    PerRun {
        rru: (h.read + other_read) / m,
        wru: (h.write + other_write) / m + snapshot.write / runs_per_snapshot,
        seconds: seconds / m,
        publishes: (publisher.sent().len() - published) as f64 / m,
        by_operation,
        result_bytes,
        write_bytes: (h.write_bytes as f64 + sum(|u| u.write_bytes as f64)) / m
            + snapshot.write_bytes as f64 / runs_per_snapshot,
        cross_bytes: sum(|u| (u.bytes_sent + u.bytes_received) as f64) / m,
    }
}

/// The rows at 100,000 targets, from the steady measurements `(n, per run, digest hour)`.
pub async fn hundred_thousand(steady: &[(usize, PerRun, DigestHour)], url: &str, measured: usize) {
    let mut sizes: Vec<&(usize, PerRun, DigestHour)> = steady.iter().collect();
    sizes.sort_by_key(|(n, _, _)| *n);
    let [.., (na, ra, da), (nb, rb, db)] = sizes.as_slice() else {
        eprintln!("bill: the 100,000-target rows need two sizes measured");
        return;
    };
    let (na, nb) = (*na, *nb);
    let digest = DigestHour::extrapolate(da, na, db, nb, TARGETS);
    let shards = shard_count(TARGETS, DEFAULT_TARGETS_PER_SHARD);
    let anchor = TARGETS as f64 * price::ROUTE53_BASIC;
    let per_1000 = |total: f64| total / TARGETS as f64 * 1000.0;
    let how = format!("measured at {na} and {nb} targets, extrapolated linearly to {TARGETS}");

    let one = PerRun::extrapolate(ra, na, rb, nb, TARGETS);
    let one_cost = cost::monthly(
        TARGETS,
        &one,
        &digest,
        &Deployment::fanned_out(1, shards, false),
    );
    println!("\n| {TARGETS} targets | $/month | $ per 1,000 | breakdown |");
    println!("|---|---:|---:|---|");
    println!(
        "| one location | {:.0} | {:.2} | {} |",
        one_cost.total(),
        per_1000(one_cost.total()),
        one_cost.breakdown()
    );
    common::bench_row(json!({"part": "bill",
        "name": format!("monthly per 1,000 targets, {TARGETS} targets, one location"),
        "unit": "USD", "lookout": per_1000(one_cost.total()), "anchor": anchor / 100.0,
        "anchor_name": "Route 53 ($0.75 each: $75,000 a month for 100,000)",
        "goal": "≤ $5 per 1,000", "met": per_1000(one_cost.total()) <= 5.0,
        "note": format!("${:.0} a month; {how}; fanned out into {shards} shards; RRU {:.0} and WRU {:.0} a minute",
            one_cost.total(), one.rru, one.wru)}));

    let (ta, tb) = (
        three_locations(na, url, measured).await,
        three_locations(nb, url, measured).await,
    );
    println!(
        "|  | per minute at {nb}, three locations: {} | | |",
        tb.by_operation
    );
    let three = PerRun::extrapolate(&ta, na, &tb, nb, TARGETS);
    let home = cost::monthly(
        TARGETS,
        &three,
        &digest,
        &Deployment::fanned_out(3, shards, false),
    );
    let global = cost::monthly(
        TARGETS,
        &three,
        &digest,
        &Deployment::fanned_out(3, shards, true),
    );
    for (what, c) in [
        ("three locations, one home table", &home),
        ("three locations, global table", &global),
    ] {
        println!(
            "| {what} | {:.0} | {:.2} | {} |",
            c.total(),
            per_1000(c.total()),
            c.breakdown()
        );
    }
    common::bench_row(json!({"part": "bill",
        "name": format!("monthly per 1,000 targets, {TARGETS} targets, three locations"),
        "unit": "USD", "lookout": per_1000(home.total()), "anchor": anchor / 100.0,
        "anchor_name": "Route 53 ($0.75 each: $75,000 a month for 100,000)",
        "goal": "≤ $12 per 1,000", "met": per_1000(home.total()) <= 12.0,
        "note": format!("${:.0} a month, one home table; {how}; the home run and two other locations' runs a minute; RRU {:.0} and WRU {:.0} a minute",
            home.total(), three.rru, three.wru)}));
    common::bench_row(json!({"part": "bill",
        "name": format!("monthly, {TARGETS} targets, three locations, one home table written across Regions"),
        "unit": "USD", "lookout": home.total(), "anchor": global.total(),
        "anchor_name": "a DynamoDB global table replicated to the 3 Regions",
        "note": format!("cross-Region transfer ${:.2} ({:.0} KB a minute to and from the other two locations at $0.02/GB); {how}",
            home.transfer, three.cross_bytes / 1e3)}));
    common::bench_row(json!({"part": "bill",
        "name": format!("monthly, {TARGETS} targets, three locations, DynamoDB global table (3 replicas)"),
        "unit": "USD", "lookout": global.total(),
        "note": format!("every write billed as a replicated write request unit in each of 3 Regions (priced as a WRU: AWS global tables billing page, read 2026-12-01), 3 copies stored, writes' bytes sent to 2 Regions at $0.02/GB (transfer ${:.2}); DynamoDB requests ${:.2} against ${:.2} for the home table; {how}",
            global.transfer, global.ddb_requests, home.ddb_requests)}));
}
