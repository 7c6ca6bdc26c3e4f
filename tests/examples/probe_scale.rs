//! Benchmark (not a test): the scale of one probe invocation. N server targets (10,000 and
//! 1,000) answered by a loopback server that delays every answer 200 ms, probed by the probe
//! handler (`probe::run`, in-memory store: the storage writes are measured by the bill part) at
//! concurrency 500. Prints the wall time against the ideal ⌈N / 500⌉ × 200 ms, the CPU time and
//! the peak RSS of the run, and appends rows for `make bench`.
//!
//! Modes (bench/parts/20-scale.sh runs them):
//! - `probe_scale serve`: the delay server, in its own process so that its work is not counted;
//!   prints its URL, and exits after 15 minutes at the latest or when stdin closes.
//! - `probe_scale run URL N CONCURRENCY`: one forced probe run of N targets at URL.

#[path = "support/delay_server.rs"]
mod delay_server;
use delay_server::DELAY_MS;

#[path = "../it/common/mod.rs"]
mod common;

use std::time::Instant;

use lookout_app::memory::{MemoryPublisher, MemoryStore};
use lookout_app::ports::TargetStore;
use lookout_app::probe::{ProbeOptions, Prober};
use lookout_core::domain::{Target, TargetKind};
use serde_json::json;

/// User + system CPU time of this process so far, seconds.
fn cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes the struct we own.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(u.ru_utime) + tv(u.ru_stime)
}

async fn run(url: &str, n: usize, concurrency: usize) {
    let store = MemoryStore::default();
    for i in 0..n {
        let t = Target::from_json(
            json!({"id": format!("t{i:05}"), "group": format!("g{}", i % 50),
            "kind": "server", "url": format!("{url}/t/{i}"), "timeout_ms": 10_000}),
        )
        .unwrap();
        store.create_target(&t).await.unwrap();
    }
    let effective = lookout_app::probe::concurrency_limit(concurrency);
    let prober = Prober::with_options(ProbeOptions::allow_private()).unwrap();
    let publisher = MemoryPublisher::default();
    let request = probe::ProbeRequest::forced(&[TargetKind::Server]);
    let config = probe::RunConfig::new(effective);
    // Peak RSS of the run only: reset the high-water mark (Linux: 5 > clear_refs).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let rss_before = common::proc_status_kib("self", "VmRSS:");
    let cpu = cpu_seconds();
    let t = Instant::now();
    let report = probe::run(&store, &publisher, &prober, &request, &config)
        .await
        .unwrap();
    let wall = t.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu;
    let peak_mib = common::proc_status_kib("self", "VmHWM:") as f64 / 1024.0;
    let ok: usize = report.runs.iter().map(|r| r.ok).sum();
    let checked: usize = report.runs.iter().map(|r| r.checked).sum();
    // Waves of `effective` checks, each one delay long.
    let ideal = n.div_ceil(effective) as f64 * DELAY_MS as f64 / 1000.0;
    println!("| {n} targets, concurrency {effective} | value |");
    println!("| --- | ---: |");
    println!("| checked / ok | {checked} / {ok} |");
    println!("| wall time | {wall:.2} s |");
    println!("| ideal ⌈N / concurrency⌉ × {DELAY_MS} ms | {ideal:.2} s |");
    println!("| wall / ideal | {:.2} |", wall / ideal);
    println!(
        "| CPU time (user + system) | {cpu:.2} s ({:.0} µs per check) |",
        cpu * 1e6 / checked.max(1) as f64
    );
    println!(
        "| RSS before the run | {:.1} MiB |",
        rss_before as f64 / 1024.0
    );
    println!("| peak RSS of the run | {peak_mib:.1} MiB |");
    println!();
    let note = format!("{checked} checked, {ok} ok, concurrency {effective}");
    common::bench_row(
        json!({"part": "scale", "name": format!("wall time, {n} targets"),
        "unit": "s", "lookout": wall, "anchor": ideal,
        "anchor_name": format!("ideal ⌈{n} / {effective}⌉ × {DELAY_MS} ms"),
        "goal": "≤ 1.2 × ideal", "met": wall <= 1.2 * ideal && ok == n, "note": note}),
    );
    common::bench_row(
        json!({"part": "scale", "name": format!("peak RSS, {n} targets"),
        "unit": "MiB", "lookout": peak_mib, "goal": "≤ 100 MB (95.4 MiB)",
        "met": peak_mib * 1_048_576.0 <= 100e6}),
    );
    common::bench_row(
        json!({"part": "scale", "name": format!("CPU time, {n} targets"),
        "unit": "s", "lookout": cpu,
        "note": format!("{:.0} µs per check", cpu * 1e6 / checked.max(1) as f64)}),
    );
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("serve") => delay_server::serve().await,
        Some("run") if args.len() == 4 => {
            let n = args[2].parse().expect("N");
            let c = args[3].parse().expect("CONCURRENCY");
            run(&args[1], n, c).await;
        }
        _ => {
            eprintln!("usage: probe_scale serve | probe_scale run URL N CONCURRENCY");
            std::process::exit(2);
        }
    }
}
