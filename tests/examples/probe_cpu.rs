//! Benchmark (not a test): CPU per probe of Lookout's prober against Prometheus's
//! blackbox_exporter, both probing the same nginx `/health` on loopback with a new connection per
//! probe, at the same concurrency (32 and 256) for the same time. Run by `bench/parts/10-probe-cpu.sh`,
//! which starts nginx and the exporter.
//!
//! - `all NGINX_URL STATUS_URL EXPORTER_URL EXPORTER_PID ANCHOR_NAME`: for each concurrency, runs
//!   this binary again as `lookout` (a fresh process, so its peak RSS is that run's), then drives
//!   the exporter itself over HTTP (`/probe?target=NGINX_URL&module=http_2xx`, the answer must
//!   hold `probe_success 1`). Prints a table and appends rows to `BENCH_OUT`.
//! - `lookout NGINX_URL STATUS_URL CONCURRENCY SECONDS WARMUP`: probes with `Prober::check` in
//!   this process and prints one JSON line: successful and failed probes, this process's CPU time
//!   (utime + stime from `/proc/self/stat`) over the measured window, its peak RSS (`VmHWM`).
//!
//! Both sides are measured the same way: a warm-up at the same concurrency, then a window of
//! SECONDS in which the successful probes that ended and the prober's CPU time (its own process,
//! all threads, from `/proc/PID/stat`) are counted; the driver's CPU is not counted for the
//! exporter. Each window is bounded by its time and by [`MAX_PROBES`]. nginx's `stub_status`
//! (accepted connections / requests over the window) shows that each probe opened a connection.

#[path = "../it/common/mod.rs"]
mod common;

use std::future::Future;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lookout_app::probe::{ProbeOptions, Prober};
use lookout_core::domain::{Outcome, Target};
use serde_json::{json, Value};

/// Most probes started in one run (warm-up and window), whatever the time.
const MAX_PROBES: u64 = 3_000_000;

const CONCURRENCIES: [usize; 2] = [32, 256];

/// The prober's CPU time so far (user + system, all threads), µs, from `/proc/PID/stat`.
fn cpu_us(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .unwrap_or_else(|e| panic!("/proc/{pid}/stat: {e}"));
    // Fields after the command name (which may hold spaces) in parentheses: state is field 3,
    // utime 14 and stime 15 (in clock ticks).
    let rest = &stat[stat.rfind(')').expect("/proc stat") + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
    let hz: f64 = std::env::var("CLK_TCK")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100.0);
    ticks as f64 * 1e6 / hz
}

/// Peak resident set size of the process, MiB (`VmHWM`).
fn peak_rss_mib(pid: &str) -> f64 {
    common::proc_status_kib(pid, "VmHWM:") as f64 / 1024.0
}

/// nginx's accepted connections and requests so far (`stub_status`).
async fn nginx_counts(client: &reqwest::Client, status_url: &str) -> (u64, u64) {
    let text = client
        .get(status_url)
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .expect("nginx stub_status")
        .text()
        .await
        .unwrap();
    // "Active connections: N \nserver accepts handled requests\n A H R \n..."
    let n: Vec<u64> = text
        .lines()
        .nth(2)
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect();
    (n[0], n[2])
}

/// One measured run.
struct Window {
    ok: u64,
    failed: u64,
    secs: f64,
    cpu_us: f64,
    /// New connections nginx accepted per request it served in the window.
    conns_per_request: f64,
}

/// Runs `probe` in `concurrency` loops: `warmup` seconds, then a window of `secs` in which the
/// probes that end and the CPU time of process `pid` are counted. Stops at `MAX_PROBES`.
async fn load<F, Fut>(
    probe: F,
    concurrency: usize,
    warmup: f64,
    secs: f64,
    pid: &str,
    status_url: &str,
) -> Window
where
    F: Fn() -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send,
{
    let stop = Arc::new(AtomicBool::new(false));
    let started = Arc::new(AtomicU64::new(0));
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let finished = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (probe, stop, started, ok, failed, finished) = (
            probe.clone(),
            stop.clone(),
            started.clone(),
            ok.clone(),
            failed.clone(),
            finished.clone(),
        );
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed)
                && started.fetch_add(1, Ordering::Relaxed) < MAX_PROBES
            {
                if probe().await {
                    ok.fetch_add(1, Ordering::Relaxed);
                } else {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
            finished.fetch_add(1, Ordering::Relaxed);
        }));
    }
    let status = reqwest::Client::new();
    let wait = |secs: f64| {
        let finished = finished.clone();
        async move {
            let end = Instant::now() + Duration::from_secs_f64(secs);
            while Instant::now() < end && finished.load(Ordering::Relaxed) < concurrency as u64 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    wait(warmup).await;
    let (conns0, reqs0) = nginx_counts(&status, status_url).await;
    let (ok0, failed0, cpu0, t0) = (
        ok.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed),
        cpu_us(pid),
        Instant::now(),
    );
    wait(secs).await;
    let (ok1, failed1, cpu1, t1) = (
        ok.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed),
        cpu_us(pid),
        Instant::now(),
    );
    let (conns1, reqs1) = nginx_counts(&status, status_url).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    Window {
        ok: ok1 - ok0,
        failed: failed1 - failed0,
        secs: (t1 - t0).as_secs_f64(),
        cpu_us: cpu1 - cpu0,
        // One of the requests is the first stub_status call.
        conns_per_request: (conns1 - conns0) as f64
            / (reqs1 - reqs0).saturating_sub(1).max(1) as f64,
    }
}

/// `lookout` mode: Lookout's prober in this process; prints the window as one JSON line.
async fn lookout_mode(args: &[String]) {
    let [url, status_url, concurrency, secs, warmup] = args else {
        panic!("usage: probe_cpu lookout NGINX_URL STATUS_URL CONCURRENCY SECONDS WARMUP");
    };
    let target = Arc::new(
        Target::from_json(json!({"id": "nginx", "group": "bench", "kind": "server",
            "url": url, "timeout_ms": 5000, "retries": 0}))
        .unwrap(),
    );
    let prober = Prober::with_options(ProbeOptions::allow_private()).unwrap();
    let probe = move || {
        let (prober, target) = (prober.clone(), target.clone());
        async move {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis() as i64;
            // Degraded (slow) is an answered 200 too: only failed checks are not counted.
            prober.check(&target, now).await.outcome != Outcome::Failed
        }
    };
    let w = load(
        probe,
        concurrency.parse().unwrap(),
        warmup.parse().unwrap(),
        secs.parse().unwrap(),
        "self",
        status_url,
    )
    .await;
    println!(
        "{}",
        json!({"ok": w.ok, "failed": w.failed, "secs": w.secs, "cpu_us": w.cpu_us,
            "conns_per_request": w.conns_per_request, "peak_rss_mib": peak_rss_mib("self")})
    );
}

fn per_second(ok: u64, secs: f64) -> f64 {
    ok as f64 / secs
}

fn per_probe(cpu_us: f64, ok: u64) -> Option<f64> {
    (ok > 0).then(|| cpu_us / ok as f64)
}

/// `all` mode: both probers at each concurrency; the table and the rows.
async fn all_mode(args: &[String]) {
    let [url, status_url, exporter, exporter_pid, anchor_name] = args else {
        panic!("usage: probe_cpu all NGINX_URL STATUS_URL EXPORTER_URL EXPORTER_PID ANCHOR_NAME");
    };
    let smoke = common::bench_smoke();
    let (secs, warmup) = if smoke { (0.5, 0.2) } else { (10.0, 1.0) };
    let mut probe_url = url::Url::parse(&format!("{exporter}/probe")).unwrap();
    probe_url
        .query_pairs_mut()
        .append_pair("target", url)
        .append_pair("module", "http_2xx");
    // The driver keeps its connections to the exporter (the exporter's HTTP server is part of
    // what it costs, as when Prometheus scrapes it); the exporter opens one to nginx per probe.
    let driver = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    println!("| concurrency | prober | probes/s | CPU µs/probe | peak RSS MiB | failed | nginx connections/request |");
    println!("|---|---|---|---|---|---|---|");
    for c in CONCURRENCIES {
        let out = Command::new(std::env::current_exe().unwrap())
            .args(["lookout", url, status_url])
            .args([c.to_string(), secs.to_string(), warmup.to_string()])
            .output()
            .expect("running the lookout side");
        assert!(
            out.status.success(),
            "lookout side failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let ours: Value = serde_json::from_slice(&out.stdout).expect("lookout side's JSON line");
        let ours_ok = ours["ok"].as_u64().unwrap();
        let ours_failed = ours["failed"].as_u64().unwrap();
        let ours_rate = per_second(ours_ok, ours["secs"].as_f64().unwrap());
        let ours_cpu = per_probe(ours["cpu_us"].as_f64().unwrap(), ours_ok);
        let ours_rss = ours["peak_rss_mib"].as_f64().unwrap();
        let ours_conns = ours["conns_per_request"].as_f64().unwrap();

        let probe = {
            let (driver, probe_url) = (driver.clone(), probe_url.clone());
            move || {
                let (driver, probe_url) = (driver.clone(), probe_url.clone());
                async move {
                    match driver.get(probe_url).send().await {
                        Ok(r) if r.status().is_success() => r
                            .text()
                            .await
                            .is_ok_and(|b| b.contains("\nprobe_success 1\n")),
                        _ => false,
                    }
                }
            }
        };
        let theirs = load(probe, c, warmup, secs, exporter_pid, status_url).await;
        let theirs_rate = per_second(theirs.ok, theirs.secs);
        let theirs_cpu = per_probe(theirs.cpu_us, theirs.ok);
        let theirs_rss = peak_rss_mib(exporter_pid);

        let f = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{v:.1}"));
        println!(
            "| {c} | lookout | {ours_rate:.0} | {} | {ours_rss:.1} | {ours_failed} | {ours_conns:.2} |",
            f(ours_cpu)
        );
        println!(
            "| {c} | {anchor_name} | {theirs_rate:.0} | {} | {theirs_rss:.1} | {} | {:.2} |",
            f(theirs_cpu),
            theirs.failed,
            theirs.conns_per_request
        );
        let note = format!(
            "{secs} s window after {warmup} s warm-up; successful probes only, failed: ours \
             {ours_failed}, theirs {}; nginx connections per request: ours {ours_conns:.2}, \
             theirs {:.2}",
            theirs.failed, theirs.conns_per_request
        );
        common::bench_row(json!({
            "part": "probe-cpu", "name": format!("probes per second, concurrency {c}"),
            "unit": "probes/s", "lookout": ours_rate, "anchor": theirs_rate,
            "anchor_name": anchor_name, "note": note,
        }));
        let ratio = ours_cpu.zip(theirs_cpu).map(|(o, t)| o / t);
        common::bench_row(json!({
            "part": "probe-cpu", "name": format!("CPU per probe, concurrency {c}"),
            "unit": "µs", "lookout": ours_cpu, "anchor": theirs_cpu,
            "anchor_name": anchor_name, "goal": "≤ 1/3 of blackbox_exporter",
            "met": ratio.map(|r| r <= 1.0 / 3.0),
            "note": "user + system time of the prober's process over the window",
        }));
        common::bench_row(json!({
            "part": "probe-cpu", "name": format!("peak RSS, concurrency {c}"),
            "unit": "MiB", "lookout": ours_rss, "anchor": theirs_rss,
            "anchor_name": anchor_name,
            "note": "VmHWM; ours: a process of its own per concurrency; theirs: since start",
        }));
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("lookout") => lookout_mode(&args[1..]).await,
        Some("all") => all_mode(&args[1..]).await,
        _ => panic!("usage: probe_cpu all|lookout ... (see the file's header)"),
    }
}
