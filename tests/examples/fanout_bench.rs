//! Benchmark (not a test): a probe run past one invocation. N server targets (100,000, in
//! groups of 10) answered by a loopback server that delays every answer 200 ms, in one table
//! made for the bench on DynamoDB Local; the run fans out (`fanout::dispatch`, per-shard budget
//! 10,000: 10 shard tasks on a bench queue on moto SQS) and W worker PROCESSES of the built
//! probe function (`probe --poll <queue> --until-idle`, `LOOKOUT_PROBE_CONCURRENCY` c each,
//! total concurrency C = W × c) take the tasks.
//!
//! Measured and appended as rows for `make bench`:
//! - wall time from the dispatch to the last shard done (the run record's `shards_done`
//!   reaching the shard count, polled every 100 ms) against the ideal ⌈N / C⌉ × 200 ms;
//! - peak RSS of each worker process: its `VmHWM` (`/proc/<pid>/status`, the high-water mark of
//!   the address space it exec'd), read every 100 ms while it runs and last just before it is
//!   reaped. Not `ru_maxrss` of `wait4`: Linux keeps in it the forked copy of this process's
//!   memory before the exec, so every worker would report at least this harness's RSS;
//! - the machine's CPU busy share over the run (`/proc/stat`, every process: workers, the
//!   delay server, DynamoDB Local and moto), to show whether the CPU was the limit;
//! - DynamoDB read and write units of one run. Worker processes cannot share this process's
//!   SDK interceptor, so the units come from a SEPARATE in-process run of the same fan-out
//!   (the same `dispatch`, then `run_shard` of every task, W at a time, concurrency c each)
//!   through the interceptor of `support/capacity.rs`; the probe binary runs the same
//!   `run_shard`.
//!
//! Before the measured runs: the targets are created, the kind's summary is written with N
//! targets (what the run before would have left: the dispatcher sizes the split from it), and a
//! first in-process run creates every state item (a first run is not a steady run).
//!
//! Modes (bench/parts/25-fanout.sh runs them):
//! - `fanout_bench serve`: the delay server, in its own process; prints its URL, exits after
//!   15 minutes at the latest or when stdin closes.
//! - `fanout_bench run URL N PER_SHARD WORKERS PER_WORKER PROBE_BIN`.

#[path = "support/capacity.rs"]
mod capacity;
#[path = "support/delay_server.rs"]
mod delay_server;
use delay_server::DELAY_MS;

#[path = "../it/common/mod.rs"]
mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use lookout_app::ports::{
    KindSummary, RunStore, ShardQueue, ShardTask, StoreError, SummaryStore, TargetStore,
};
use lookout_app::probe::{ProbeOptions, Prober};
use lookout_app::usecases::probe_run::fanout::{dispatch, run_shard, Dispatch, ShardOutcome};
use lookout_aws::dynamodb::DynamoStore;
use lookout_core::domain::{Target, TargetKind};
use serde_json::json;

use capacity::{Capacity, Units};

/// A queue that only keeps nothing: the in-process runs take their tasks from
/// [`Dispatch::tasks`].
struct InProcess;

impl ShardQueue for InProcess {
    async fn send_tasks(&self, _tasks: &[ShardTask]) -> Result<(), StoreError> {
        Ok(())
    }
}

/// The bench's settings.
struct Setup {
    url: String,
    n: usize,
    per_shard: usize,
    workers: usize,
    per_worker: usize,
    probe_bin: String,
}

impl Setup {
    fn total(&self) -> usize {
        self.workers * self.per_worker
    }

    /// ⌈N / C⌉ × the delay, seconds.
    fn ideal_s(&self) -> f64 {
        self.n.div_ceil(self.total()) as f64 * DELAY_MS as f64 / 1000.0
    }
}

/// Busy and total jiffies of every CPU (`/proc/stat`'s first line).
fn cpu_jiffies() -> (u64, u64) {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let f: Vec<u64> = text
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal ...
    let idle = f.get(3).copied().unwrap_or(0) + f.get(4).copied().unwrap_or(0);
    let total: u64 = f.iter().take(8).sum();
    (total - idle, total)
}

/// Creates the N targets (groups of 10), 128 writes at a time, within `limit`.
async fn create_targets(store: &DynamoStore, s: &Setup, limit: Duration) {
    let t = Instant::now();
    let created = tokio::time::timeout(
        limit,
        futures::stream::iter(0..s.n)
            .map(|i| {
                let target = Target::from_json(json!({
                    "id": format!("t{i:06}"), "group": format!("g{:05}", i / 10),
                    "kind": "server", "url": format!("{}/t/{i}", s.url), "timeout_ms": 10_000,
                }))
                .expect("a valid target");
                async move { store.create_target(&target).await }
            })
            .buffer_unordered(128)
            .fold(0usize, |n, r| async move {
                r.expect("create target");
                n + 1
            }),
    )
    .await
    .expect("targets created in time");
    println!(
        "created {created} targets in {:.1} s",
        t.elapsed().as_secs_f64()
    );
}

/// What the dispatcher reads to size the split: the summary a run of N targets leaves.
async fn write_summary(store: &DynamoStore, n: usize) {
    store
        .put_summary(&KindSummary {
            kind: TargetKind::Server,
            at: lookout_core::time::now_ms(),
            targets: n,
            by_status: Default::default(),
            groups: Vec::new(),
            traffic_bytes: 0,
            cost: 0.0,
            last_run: None,
        })
        .await
        .expect("put summary");
}

fn forced() -> probe::ProbeRequest {
    probe::ProbeRequest::forced(&[TargetKind::Server])
}

/// One fanned-out run in this process: dispatch, then every shard task, `workers` at a time,
/// each at `per_worker` concurrency. Returns (wall seconds, checked, ok).
async fn in_process_run(store: &DynamoStore, s: &Setup, limit: Duration) -> (f64, usize, usize) {
    let prober = Prober::with_options(ProbeOptions::allow_private()).expect("prober");
    let publisher = lookout_app::memory::MemoryPublisher::default();
    let config = probe::RunConfig::new(lookout_app::probe::concurrency_limit(s.per_worker));
    let t = Instant::now();
    let d: Dispatch = dispatch(store, &InProcess, &forced(), s.per_shard)
        .await
        .expect("dispatch");
    assert!(!d.tasks.is_empty(), "the run fanned out: {d:?}");
    let outcomes: Vec<ShardOutcome> = tokio::time::timeout(
        limit,
        futures::stream::iter(&d.tasks)
            .map(|task| run_shard(store, &publisher, &prober, task, &config, None))
            .buffer_unordered(s.workers)
            .map(|r| r.expect("shard run"))
            .collect(),
    )
    .await
    .expect("in-process run in time");
    let (mut checked, mut ok) = (0, 0);
    for o in &outcomes {
        if let ShardOutcome::Ran { report, .. } = o {
            checked += report.runs.iter().map(|r| r.checked).sum::<usize>();
            ok += report.runs.iter().map(|r| r.ok).sum::<usize>();
        }
    }
    (t.elapsed().as_secs_f64(), checked, ok)
}

/// A worker process's end: peak RSS (KiB, its last `VmHWM` read) and CPU seconds (`wait4`).
struct Ended {
    peak_kib: u64,
    cpu_s: f64,
    status: i32,
}

/// Waits for `child` to end (polling `wait4` with `WNOHANG` every 50 ms) until `deadline`; kills
/// it then.
async fn wait_child(child: &mut Child, deadline: Instant) -> Ended {
    let pid = child.id() as libc::pid_t;
    let mut peak_kib = 0;
    loop {
        // VmHWM only grows; read while the process is there (a zombie has no memory lines).
        peak_kib = peak_kib.max(common::proc_status_kib(&pid.to_string(), "VmHWM:"));
        let mut status = 0;
        // SAFETY: wait4 writes only the status and the rusage we own.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let got = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if got == pid {
            let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
            return Ended {
                peak_kib,
                cpu_s: tv(usage.ru_utime) + tv(usage.ru_stime),
                status,
            };
        }
        if got < 0 || Instant::now() > deadline {
            eprintln!("worker {pid} still running at the deadline: killed");
            let _ = child.kill();
            let _ = child.wait();
            return Ended {
                peak_kib,
                cpu_s: 0.0,
                status: -1,
            };
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The measured run: dispatch to the bench queue, W worker processes, until the run record
/// counts every shard. Returns (wall s, record checked, record ok, CPU busy share, workers).
async fn process_run(
    store: &DynamoStore,
    aws: &aws_config::SdkConfig,
    table: &str,
    queue_url: &str,
    s: &Setup,
    limit: Duration,
) -> (f64, usize, usize, f64, Vec<Ended>) {
    let queue = lookout_aws::sqs::SqsShardQueue::from_config(aws, queue_url);
    let logs = std::path::Path::new(".local/bench");
    let _ = std::fs::create_dir_all(logs);
    let cpu0 = cpu_jiffies();
    let t = Instant::now();
    let d = dispatch(store, &queue, &forced(), s.per_shard)
        .await
        .expect("dispatch");
    let fanned = d.fanned_out.first().expect("the run fanned out").clone();
    let mut children: Vec<Child> = (0..s.workers)
        .map(|w| {
            let log = std::fs::File::create(logs.join(format!("fanout-worker-{w}.log")))
                .expect("worker log");
            Command::new(&s.probe_bin)
                .args(["--poll", queue_url, "--until-idle"])
                .env("LOOKOUT_TABLE", table)
                .env("LOOKOUT_PROBE_CONCURRENCY", s.per_worker.to_string())
                .env("LOOKOUT_ALLOW_PRIVATE_TARGETS", "true")
                .env("RUST_LOG", "warn")
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("log"))
                .stderr(log)
                .spawn()
                .expect("start a probe worker")
        })
        .collect();
    // The last shard done: the run record counts every shard.
    let deadline = t + limit;
    let mut record = None;
    let mut peaks = vec![0u64; children.len()];
    while Instant::now() < deadline {
        for (peak, child) in peaks.iter_mut().zip(&children) {
            *peak = (*peak).max(common::proc_status_kib(&child.id().to_string(), "VmHWM:"));
        }
        let runs = store.runs(TargetKind::Server, 50).await.unwrap_or_default();
        if let Some(r) = runs.into_iter().find(|r| r.run_id == fanned.run_id) {
            if r.shards_done.unwrap_or(0) >= fanned.shards {
                record = Some(r);
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let wall = t.elapsed().as_secs_f64();
    let cpu1 = cpu_jiffies();
    let busy = (cpu1.0 - cpu0.0) as f64 / (cpu1.1 - cpu0.1).max(1) as f64;
    // --until-idle: each worker stops after one empty receive (a 1 s long poll).
    let mut ended = Vec::new();
    for (child, peak) in children.iter_mut().zip(peaks) {
        let mut e = wait_child(
            child,
            Instant::now().max(deadline) + Duration::from_secs(30),
        )
        .await;
        e.peak_kib = e.peak_kib.max(peak);
        ended.push(e);
    }
    let record = record.unwrap_or_else(|| {
        panic!(
            "the run did not finish in {} s (see .local/bench/fanout-worker-*.log)",
            limit.as_secs()
        )
    });
    (wall, record.checked, record.ok, busy, ended)
}

async fn run(s: Setup) {
    let aws = common::aws().await;
    let (_, table) = common::fresh_table(&aws).await;
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let queue_url = sqs
        .create_queue()
        .queue_name(common::unique("lookout-bench-work"))
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
            "600",
        )
        .send()
        .await
        .expect("create the bench queue")
        .queue_url
        .expect("queue url");
    let capacity = Capacity::default();
    let store = DynamoStore::new(
        capacity.client(&aws),
        table.clone(),
        lookout_app::config::DEFAULT_HISTORY_TTL_DAYS,
    );
    // Generous bounds: DynamoDB Local is far slower than DynamoDB.
    let limit = Duration::from_secs_f64((s.ideal_s() * 20.0).max(120.0));
    create_targets(&store, &s, Duration::from_secs(1800)).await;
    write_summary(&store, s.n).await;
    let (first_s, first_checked, _) = in_process_run(&store, &s, limit).await;
    let first = capacity.take();
    println!(
        "first run (creates the state items), in process: {first_checked} checked in {first_s:.1} s, RRU {:.0}, WRU {:.0}",
        first.read, first.write
    );

    let (wall, checked, ok, busy, ended) =
        process_run(&store, &aws, &table, &queue_url, &s, limit).await;
    capacity.take();

    let (units_s, units_checked, units_ok) = in_process_run(&store, &s, limit).await;
    let u: Units = capacity.take();
    let _ = sqs.delete_queue().queue_url(&queue_url).send().await;

    let ideal = s.ideal_s();
    let c = s.total();
    let shards = lookout_core::domain::shard::shard_count(s.n, s.per_shard);
    let peaks: Vec<f64> = ended.iter().map(|e| e.peak_kib as f64 / 1024.0).collect();
    let peak = peaks.iter().cloned().fold(0.0, f64::max);
    let worker_cpu: f64 = ended.iter().map(|e| e.cpu_s).sum();
    let failed = ended.iter().filter(|e| e.status != 0).count();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "| {} targets, {shards} shards, {} workers × {} = concurrency {c} | value |",
        s.n, s.workers, s.per_worker
    );
    println!("| --- | ---: |");
    println!("| checked / ok (run record) | {checked} / {ok} |");
    println!("| wall, dispatch to last shard done | {wall:.2} s |");
    println!(
        "| ideal ⌈N / C⌉ × {DELAY_MS} ms | {ideal:.2} s (wall / ideal {:.2}) |",
        wall / ideal
    );
    println!(
        "| CPU busy, whole machine ({cores} cores) | {:.0} % |",
        busy * 100.0
    );
    println!(
        "| workers' CPU (user + system) | {worker_cpu:.1} s ({:.0} µs per check) |",
        worker_cpu * 1e6 / checked.max(1) as f64
    );
    println!(
        "| worker exit statuses | {:?} |",
        ended.iter().map(|e| e.status).collect::<Vec<_>>()
    );
    println!(
        "| peak RSS per worker | {} MiB |",
        peaks
            .iter()
            .map(|p| format!("{p:.1}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "| units run (in process): checked / ok, wall | {units_checked} / {units_ok}, {units_s:.2} s |"
    );
    println!(
        "| DynamoDB units per run | RRU {:.0}, WRU {:.0} ({} requests) |",
        u.read, u.write, u.requests
    );
    println!("| by operation | {} |", u.per_run(1.0));
    println!();
    let setup = format!(
        "{} targets in groups of 10, {shards} shards, {} worker processes × concurrency {}",
        s.n, s.workers, s.per_worker
    );
    common::bench_row(json!({"part": "fanout",
        "name": format!("wall time, {} targets, {} workers", s.n, s.workers), "unit": "s",
        "lookout": wall, "anchor": ideal,
        "anchor_name": format!("ideal ⌈{} / {c}⌉ × {DELAY_MS} ms", s.n),
        "goal": "≤ 1.3 × ideal",
        "met": wall <= 1.3 * ideal && checked == s.n && ok == s.n && failed == 0,
        "note": format!("{setup}; {checked} checked, {ok} ok; whole machine CPU busy {:.0} % of {cores} cores; workers' CPU {:.0} µs per check",
            busy * 100.0, worker_cpu * 1e6 / checked.max(1) as f64)}));
    common::bench_row(json!({"part": "fanout",
        "name": format!("peak RSS per worker, {} targets", s.n), "unit": "MiB",
        "lookout": peak, "goal": "≤ 100 MB (95.4 MiB)",
        "met": peak > 0.0 && peak * 1_048_576.0 <= 100e6,
        "note": format!("largest of {} workers (VmHWM): {} MiB", s.workers,
            peaks.iter().map(|p| format!("{p:.1}")).collect::<Vec<_>>().join(", "))}));
    let units_note = format!(
        "a separate in-process run of the same fan-out through the SDK interceptor ({} requests; {})",
        u.requests,
        u.per_run(1.0)
    );
    common::bench_row(json!({"part": "fanout",
        "name": format!("DynamoDB read units per run, {} targets", s.n), "unit": "RRU",
        "lookout": u.read, "note": units_note}));
    common::bench_row(json!({"part": "fanout",
        "name": format!("DynamoDB write units per run, {} targets", s.n), "unit": "WRU",
        "lookout": u.write,
        "note": format!("same run; {:.2} WRU per target", u.write / s.n as f64)}));
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("serve") => delay_server::serve().await,
        Some("run") if args.len() == 7 => {
            let num = |i: usize, what: &str| -> usize {
                args[i]
                    .parse()
                    .unwrap_or_else(|_| panic!("{what} must be a number"))
            };
            run(Setup {
                url: args[1].clone(),
                n: num(2, "N"),
                per_shard: num(3, "PER_SHARD"),
                workers: num(4, "WORKERS"),
                per_worker: num(5, "PER_WORKER"),
                probe_bin: args[6].clone(),
            })
            .await;
        }
        _ => {
            eprintln!(
                "usage: fanout_bench serve | fanout_bench run URL N PER_SHARD WORKERS PER_WORKER PROBE_BIN"
            );
            std::process::exit(2);
        }
    }
}
