//! `GET /v1/system`: this function instance's CPU, load, memory, RSS, uptime and /tmp, each
//! with a level against classic monitoring thresholds.

use serde_json::{json, Value};

use crate::Json;

/// CPU, load, memory, RSS, uptime and /tmp of this function instance
///
/// CPU count, load average, memory, process RSS, uptime and /tmp disk, each with its level
/// (`ok`, `warning`, `critical`) against [`LOAD_PER_CPU`] and [`USED_PERCENT`].
#[utoipa::path(get, path = "/v1/system", tag = "read", responses(
    (status = 200, description = "OK", body = Object),
))]
pub async fn system() -> Json {
    Json::ok(report())
}

/// Warning and critical thresholds of `GET /v1/system`, as a classic system monitor sets them
/// (Nagios `check_load` per core, `check_disk`, memory): load per CPU 0.7 / 1.0, memory, process
/// RSS (of the function's memory size) and /tmp 80 % / 90 %.
pub const LOAD_PER_CPU: (f64, f64) = (0.7, 1.0);
/// Percent used: warning, critical.
pub const USED_PERCENT: (f64, f64) = (80.0, 90.0);

/// The level of `value` against (warning, critical): `ok`, `warning` or `critical`.
pub fn level(value: f64, (warning, critical): (f64, f64)) -> &'static str {
    if value >= critical {
        "critical"
    } else if value >= warning {
        "warning"
    } else {
        "ok"
    }
}

/// The report of `GET /v1/system`.
fn report() -> Value {
    use sysinfo::{Disks, ProcessesToUpdate, System};
    let mut sys = System::new();
    sys.refresh_memory();
    let pid = sysinfo::get_current_pid().ok();
    if let Some(pid) = pid {
        sys.refresh_processes(ProcessesToUpdate::Some(&[pid]), true);
    }
    let rss = pid
        .and_then(|p| sys.process(p))
        .map(sysinfo::Process::memory)
        .unwrap_or(0);
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let load = System::load_average();
    let per_cpu = load.one / cpus as f64;
    let mem_pct = 100.0 * sys.used_memory() as f64 / sys.total_memory().max(1) as f64;
    // Lambda's configured memory is the real limit of the process.
    let limit = std::env::var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        .ok()
        .and_then(|m| m.parse::<u64>().ok())
        .map_or(sys.total_memory(), |mb| mb * 1024 * 1024);
    let rss_pct = 100.0 * rss as f64 / limit.max(1) as f64;
    let disks = Disks::new_with_refreshed_list();
    let tmp = disks
        .iter()
        .filter(|d| std::path::Path::new("/tmp").starts_with(d.mount_point()))
        .max_by_key(|d| d.mount_point().as_os_str().len())
        .map(|d| {
            let used = d.total_space().saturating_sub(d.available_space());
            let pct = 100.0 * used as f64 / d.total_space().max(1) as f64;
            json!({"mount": d.mount_point(), "total_bytes": d.total_space(),
                   "available_bytes": d.available_space(), "used_percent": (pct * 10.0).round() / 10.0,
                   "level": level(pct, USED_PERCENT)})
        });
    json!({
        "cpus": cpus,
        "load_average": [load.one, load.five, load.fifteen],
        "load": {"per_cpu": (per_cpu * 100.0).round() / 100.0, "level": level(per_cpu, LOAD_PER_CPU)},
        "memory_total_bytes": sys.total_memory(),
        "memory_used_bytes": sys.used_memory(),
        "memory": {"used_percent": (mem_pct * 10.0).round() / 10.0, "level": level(mem_pct, USED_PERCENT)},
        "process_rss_bytes": rss,
        "process": {"limit_bytes": limit, "used_percent": (rss_pct * 10.0).round() / 10.0, "level": level(rss_pct, USED_PERCENT)},
        "tmp": tmp,
        "uptime_s": System::uptime(),
        "thresholds": {"load_per_cpu": LOAD_PER_CPU, "used_percent": USED_PERCENT},
    })
}
