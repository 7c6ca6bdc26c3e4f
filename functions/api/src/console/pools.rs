//! `GET /console/pools`: every proxy pool (the proxies of one `group`), its proxies in cost
//! order, the active proxy and the failover order as it stands now, and the proxies' traffic
//! and cost; then the server groups' failover (primary and backups) the same way.
//!
//! Read through the API: `GET /v1/status` (status, priority, EWMA latency, traffic and cost
//! since the last reset, per proxy; the groups), `GET /v1/targets?kind=proxy` (type and
//! `cost_per_gb`, redacted), `GET /v1/groups/{group}/active` (the active proxy and the order:
//! `crates/lookout-core/src/domain/failover.rs`), `GET /v1/targets/{id}` (the day's traffic and
//! cost of each proxy, for the first [`MAX_DAY_READS`] proxies) and `GET /v1/summary` (the
//! totals). The answers with credentials (`GET /v1/proxies/active`) and the usage reports
//! (`POST /v1/proxies/{id}/usage`) need the admin token and are for applications: the page
//! names them and shows no credentials.
//!
//! The order rule (failover.rs): only enabled proxies whose status is `healthy` or `degraded`
//! are eligible; they are tried by lowest priority (derived from type and cost when unset),
//! then lowest `cost_per_gb`, then fewest failures, then id. The first is the active one.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::Value;

use super::client::Api;
use super::session::Session;
use super::targets::status_class;
use super::view::{html, Chrome};
use crate::routes::AppState;
use crate::Store;

/// Proxies whose day figures are read one by one (`GET /v1/targets/{id}`); the others show
/// their totals since the last reset only.
pub const MAX_DAY_READS: usize = 100;

/// The pools' routes.
pub fn routes<S: Store>() -> Router<AppState<S>> {
    Router::new().route("/console/pools", get(pools::<S>))
}

/// One member of a pool or group.
#[derive(Debug, Clone)]
pub struct Member {
    /// Its id.
    pub id: String,
    /// Its name (the id when it has none).
    pub name: String,
    /// Its status as the API spells it.
    pub status: String,
    /// The CSS class of the status.
    pub class: &'static str,
    /// Whether it is enabled.
    pub enabled: bool,
    /// `vps`, `datacenter`, `residential` (proxies).
    pub proxy_type: String,
    /// Cost per GB, in the definitions' currency (proxies).
    pub cost_per_gb: f64,
    /// Failover priority, lower first.
    pub priority: u64,
    /// Failures counted since the last reset.
    pub failures: u64,
    /// EWMA latency, `123 ms`, or empty.
    pub latency: String,
    /// Traffic today (UTC), formatted, or `–` when not read.
    pub day_traffic: String,
    /// Cost today, or `–` when not read.
    pub day_cost: String,
    /// Traffic since the last reset, formatted.
    pub traffic: String,
    /// Cost since the last reset.
    pub cost: String,
}

/// One pool (proxies) or server group.
#[derive(Debug, Clone)]
pub struct Pool {
    /// The group's name.
    pub group: String,
    /// The active member's id (`None`: none eligible, the group is critical).
    pub active: Option<String>,
    /// The eligible ids in failover order, the active first.
    pub order: Vec<String>,
    /// The members in cost order (priority, cost per GB, failures, id: failover's keys).
    pub members: Vec<Member>,
}

impl Pool {
    /// The member `id`.
    pub fn member(&self, id: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.id == id)
    }

    /// The members failover would not try now (not enabled, or neither healthy nor degraded).
    pub fn not_tried(&self) -> Vec<&Member> {
        self.members
            .iter()
            .filter(|m| !self.order.contains(&m.id))
            .collect()
    }
}

/// `templates/console/pools.html`.
#[derive(askama::Template)]
#[template(path = "console/pools.html")]
struct PoolsPage<'a> {
    c: &'a Chrome,
    pools: Vec<Pool>,
    groups: Vec<Pool>,
    total_traffic: String,
    total_cost: String,
    day_traffic: String,
    day_cost: String,
}

impl PoolsPage<'_> {
    fn word(&self, status: &str) -> String {
        super::detail::view::word(self.c, status)
    }
    fn target(&self, id: &str) -> String {
        self.c.href(&format!("/targets/{}", path_segment(id)))
    }
}

/// `s` percent-encoded for one path segment (everything but `A-Za-z0-9-_.~`).
pub fn path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `bytes` as `0 B`, `1.5 kB`, `2.25 GB` (powers of 1000, as the cost per GB counts them).
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1000.0 && unit < UNITS.len() - 1 {
        v /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.2} {}", UNITS[unit])
    }
}

/// A cost with 4 decimals (a fraction of a cent counts for small traffic).
pub fn money(v: f64) -> String {
    format!("{v:.4}")
}

fn member_of(row: &Value, def: Option<&Value>) -> Member {
    let s = |v: &Value| v.as_str().unwrap_or("").to_string();
    let status = row["status"].as_str().unwrap_or("unknown").to_string();
    let state = &row["state"];
    Member {
        id: s(&row["id"]),
        name: row["name"]
            .as_str()
            .filter(|n| !n.is_empty())
            .map_or_else(|| s(&row["id"]), str::to_string),
        class: status_class(&status),
        status,
        enabled: row["enabled"].as_bool().unwrap_or(true),
        proxy_type: def.map(|d| s(&d["proxy_type"])).unwrap_or_default(),
        cost_per_gb: def.and_then(|d| d["cost_per_gb"].as_f64()).unwrap_or(0.0),
        priority: row["priority"].as_u64().unwrap_or(u64::MAX),
        failures: state["failures"].as_u64().unwrap_or(0),
        latency: row["ewma_latency_ms"]
            .as_f64()
            .map(|ms| format!("{} ms", ms.round()))
            .unwrap_or_default(),
        day_traffic: "–".into(),
        day_cost: "–".into(),
        traffic: bytes(state["traffic_bytes"].as_u64().unwrap_or(0)),
        cost: money(state["cost"].as_f64().unwrap_or(0.0)),
    }
}

/// Failover's keys for proxies, applied to every member: priority, cost per GB, failures, id.
fn cost_order(members: &mut [Member]) {
    members.sort_by(|a, b| {
        a.priority
            .cmp(&b.priority)
            .then(a.cost_per_gb.total_cmp(&b.cost_per_gb))
            .then(a.failures.cmp(&b.failures))
            .then(a.id.cmp(&b.id))
    });
}

/// Every proxy definition (redacted), by id, read a page of 500 at a time.
async fn proxy_definitions<S: Store>(
    api: &Api<S>,
) -> Result<BTreeMap<String, Value>, super::client::Refusal> {
    let mut out = BTreeMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = "/v1/targets?kind=proxy&limit=500".to_string();
        if let Some(c) = &cursor {
            path.push_str("&cursor=");
            path.extend(url::form_urlencoded::byte_serialize(c.as_bytes()));
        }
        let page = api.get_ok(&path).await?;
        for t in page["targets"].as_array().into_iter().flatten() {
            if let Some(id) = t["id"].as_str() {
                out.insert(id.to_string(), t.clone());
            }
        }
        match page["next_cursor"].as_str() {
            Some(c) if cursor.as_deref() != Some(c) => cursor = Some(c.to_string()),
            _ => return Ok(out),
        }
    }
}

/// `GET /console/pools`.
pub async fn pools<S: Store>(
    State(app): State<AppState<S>>,
    axum::Extension(session): axum::Extension<Session>,
    axum::Extension(c): axum::Extension<Chrome>,
) -> Response {
    let api = super::api(&app, &session);
    let status = match api.get_ok("/v1/status").await {
        Ok(v) => v,
        Err(r) => return c.refused(&r),
    };
    let defs = match proxy_definitions(&api).await {
        Ok(d) => d,
        Err(r) => return c.refused(&r),
    };
    let rows: Vec<&Value> = status["targets"].as_array().into_iter().flatten().collect();
    let is_proxy = |r: &Value| r["kind"].as_str() == Some("proxy");
    // Proxy pools.
    let mut by_group: BTreeMap<String, Vec<Member>> = BTreeMap::new();
    for r in rows.iter().filter(|r| is_proxy(r)) {
        let m = member_of(r, r["id"].as_str().and_then(|id| defs.get(id)));
        by_group
            .entry(r["group"].as_str().unwrap_or("").to_string())
            .or_default()
            .push(m);
    }
    let (mut day_bytes, mut day_money, mut reads) = (0u64, 0.0f64, 0usize);
    let mut pools = Vec::new();
    for (group, mut members) in by_group {
        cost_order(&mut members);
        for m in members.iter_mut() {
            if reads == MAX_DAY_READS {
                break;
            }
            reads += 1;
            if let Ok(one) = api
                .get_ok(&format!("/v1/targets/{}", path_segment(&m.id)))
                .await
            {
                let st = &one["state"];
                let today = lookout_core::time::now_ms() / lookout_core::time::DAY_MS
                    * lookout_core::time::DAY_MS;
                // The day's counters belong to `day_start`; an older day is zero today.
                let current = st["day_start"].as_i64() == Some(today);
                let b = if current {
                    st["day_traffic_bytes"].as_u64().unwrap_or(0)
                } else {
                    0
                };
                let cost = if current {
                    st["day_cost"].as_f64().unwrap_or(0.0)
                } else {
                    0.0
                };
                day_bytes += b;
                day_money += cost;
                m.day_traffic = bytes(b);
                m.day_cost = money(cost);
            }
        }
        let choice = api
            .get_ok(&format!("/v1/groups/{}/active", path_segment(&group)))
            .await
            .ok()
            .and_then(|v| {
                v["choices"]
                    .as_array()?
                    .iter()
                    .find(|ch| ch["kind"].as_str() == Some("proxy"))
                    .cloned()
            })
            .unwrap_or(Value::Null);
        pools.push(Pool {
            active: choice["active"].as_str().map(str::to_string),
            order: ids(&choice["order"]),
            group,
            members,
        });
    }
    // Server groups: the status's own failover choice (primary first, then backups).
    let mut groups = Vec::new();
    for g in status["groups"].as_array().into_iter().flatten() {
        if g["kind"].as_str() != Some("server") {
            continue;
        }
        let group = g["group"].as_str().unwrap_or("").to_string();
        let mut members: Vec<Member> = rows
            .iter()
            .filter(|r| !is_proxy(r) && r["group"].as_str() == Some(group.as_str()))
            .map(|r| member_of(r, None))
            .collect();
        if members.len() < 2 {
            continue;
        }
        cost_order(&mut members);
        groups.push(Pool {
            active: g["active"].as_str().map(str::to_string),
            order: ids(&g["order"]),
            group,
            members,
        });
    }
    let summary = api.get_ok("/v1/summary").await.unwrap_or(Value::Null);
    html(
        StatusCode::OK,
        &PoolsPage {
            c: &c,
            pools,
            groups,
            total_traffic: bytes(summary["proxy_traffic_bytes"].as_u64().unwrap_or(0)),
            total_cost: money(summary["estimated_proxy_cost"].as_f64().unwrap_or(0.0)),
            day_traffic: bytes(day_bytes),
            day_cost: money(day_money),
        },
    )
}

fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
