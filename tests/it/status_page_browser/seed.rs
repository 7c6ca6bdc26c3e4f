//! The data of the browser test: 200 targets in 12 groups with their fates (up, slow, dead),
//! a 90-day uptime table and an open operator incident, in a fresh DynamoDB Local table; the
//! states from one real probe run against loopback servers and proxy.py.

use std::sync::Arc;
use std::time::Duration;

use lookout_app::ports::{DigestStore, IncidentStore, TargetStore, TargetUptime};
use lookout_app::probe::{ProbeOptions, Prober};
use lookout_app::testing::{closed_port, Reply, TestServer};
use lookout_aws::dynamodb::DynamoStore;
use lookout_core::digest::rollup::{DayCell, Period, Uptime, BAR_DAYS, DAY_MS, UPTIME_WINDOWS};
use lookout_core::domain::incident::{
    AffectedTarget, Incident, IncidentKind, IncidentSource, IncidentStatus, IncidentUpdate,
};
use lookout_core::domain::{Status, Target, TargetKind};
use serde_json::json;

use crate::common;

/// The hostile target name: markup and an attribute break-out that must stay text.
pub const HOSTILE: &str = "<script>alert(1)</script>\" onmouseover=\"x";
/// A name that is already an entity: shown as the eight characters `R&amp;D`, not as `R&D`.
pub const ENTITY_NAME: &str = "R&amp;D portal";
/// A long Arabic name (under the 100-character limit of names).
pub const ARABIC_NAME: &str =
    "بوابة خدمات العملاء الإلكترونية الموحدة للمدفوعات والفواتير والاشتراكات الشهرية";
/// The open incident's title (with an `&` that must be escaped once).
pub const INCIDENT_TITLE: &str = "Payments & checkout errors in the EU";
/// Targets, groups.
const TARGETS: usize = 200;
const SERVER_GROUPS: usize = 10;
const PROXIES: usize = 30;

/// What one target is made to be by the probe run.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fate {
    Up,
    Slow,
    Dead,
}

fn fate(i: usize) -> Fate {
    match i % 20 {
        3 | 11 => Fate::Dead,
        7 => Fate::Slow,
        _ => Fate::Up,
    }
}

/// The 200 definitions: 170 servers in 10 groups, 30 proxies in 2 pools.
fn definitions(up: &str, slow: &str, dead: &str, proxy: &str, dead_proxy: &str) -> Vec<Target> {
    let now = lookout_core::time::now_ms();
    (0..TARGETS)
        .map(|i| {
            let name = match i {
                5 => HOSTILE.to_string(),
                6 => ARABIC_NAME.to_string(),
                8 => ENTITY_NAME.to_string(),
                _ => format!("Service {i:03}"),
            };
            let f = fate(i);
            let common = json!({
                "id": format!("t{i:03}"), "name": name, "timeout_ms": 3000,
                "failure_threshold": 1,
                "degraded_latency_ms": if f == Fate::Slow { 5 } else { 30_000 },
            });
            let mut v = if i < TARGETS - PROXIES {
                let url = match f {
                    Fate::Up => up,
                    Fate::Slow => slow,
                    Fate::Dead => dead,
                };
                json!({"kind": "server", "group": format!("group-{:02}", i % SERVER_GROUPS),
                       "url": format!("{url}/health/{i}")})
            } else {
                let proxy_url = if f == Fate::Dead { dead_proxy } else { proxy };
                json!({"kind": "proxy", "group": format!("pool-{}", i % 2),
                       "proxy_url": proxy_url, "test_urls": [format!("{up}/ip")]})
            };
            for (k, val) in common.as_object().into_iter().flatten() {
                v[k] = val.clone();
            }
            if i == 12 {
                v["maintenance"] = json!([{
                    "start": lookout_core::time::rfc3339(now - 3_600_000),
                    "end": lookout_core::time::rfc3339(now + 3_600_000),
                    "reason": "Database upgrade <b>v2</b>",
                }]);
            }
            Target::from_json(v).unwrap_or_else(|e| panic!("target {i}: {e}"))
        })
        .collect()
}

/// 90 daily cells (some targets only 10 days: new ones) and the windows computed from them.
fn uptime_row(i: usize, t: &Target, now: i64) -> TargetUptime {
    let today = Period::Day.start_of(now);
    let first = if i.is_multiple_of(17) {
        BAR_DAYS - 10
    } else {
        0
    };
    let days: Vec<DayCell> = (first..BAR_DAYS)
        .map(|d| {
            let start = today - (BAR_DAYS - 1 - d) as i64 * DAY_MS;
            let checks = if start == today {
                ((now - today) / 60_000).max(1) as u64
            } else {
                1440
            };
            let failures = match (d * 7 + i * 13) % 23 {
                0 => checks / 10,
                1 => 3,
                _ if start == today && fate(i) == Fate::Dead => checks / 2,
                _ => 0,
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
            let cells = days.iter().filter(|c| c.start + DAY_MS > since);
            let (checks, failures) = cells.fold((0, 0), |(c, f), x| (c + x.checks, f + x.failures));
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

/// An operator incident, identified, with two updates, naming three targets.
fn incident(targets: &[Target], now: i64) -> Incident {
    let named = [3usize, 5, 23];
    let update = |at: i64, status, body: &str| IncidentUpdate {
        at,
        status,
        body: body.to_string(),
        changes: Vec::new(),
        alert_key: None,
    };
    Incident {
        id: "inc-browser-0001".into(),
        kind: IncidentKind::Incident,
        source: IncidentSource::Operator,
        title: INCIDENT_TITLE.into(),
        status: IncidentStatus::Identified,
        targets: named
            .iter()
            .map(|&i| AffectedTarget {
                id: targets[i].id.clone(),
                name: targets[i].name.clone(),
                status: Status::Down,
            })
            .collect(),
        opened_at: now - 2 * 3_600_000,
        resolved_at: None,
        starts_at: None,
        ends_at: None,
        more_targets: 0,
        dropped_updates: 0,
        updates: vec![
            update(
                now - 2 * 3_600_000,
                IncidentStatus::Investigating,
                "Card payments fail for some customers; we are looking into it.",
            ),
            update(
                now - 3_600_000,
                IncidentStatus::Identified,
                "A certificate expired on the payment gateway <i>eu-1</i>; a new one is rolling out.",
            ),
        ],
        postmortem: None,
        version: 1,
    }
}

/// Seeds a fresh table and answers the API's `App` over it, with the targets.
pub async fn seeded_app() -> (
    Arc<api::App<DynamoStore>>,
    Vec<Target>,
    common::ForwardProxy,
) {
    let aws = common::aws().await;
    let (ddb, table) = common::fresh_table(&aws).await;
    let store = DynamoStore::new(ddb, table, 30);
    // Servers are kept by the test's runtime; proxy.py lives as long as its guard.
    let up = lookout_app::testing::serve(200, "ok").await;
    let slow = TestServer::start(|_| {
        Reply::Delay(Duration::from_millis(40), Box::new(Reply::text(200, "ok")))
    })
    .await;
    let dead = closed_port().await;
    let proxy = common::forward_proxy("demo:secret").await;
    let dead_proxy = closed_port().await.replace("http://", "");
    let targets = definitions(
        &up,
        &slow.url,
        &dead,
        &format!("http://demo:secret@{}", proxy.addr),
        &format!("http://demo:secret@{dead_proxy}"),
    );
    for chunk in targets.chunks(25) {
        futures::future::try_join_all(chunk.iter().map(|t| store.create_target(t)))
            .await
            .expect("create targets");
    }
    let prober = Prober::with_options(ProbeOptions::allow_private()).unwrap();
    let publisher = lookout_app::memory::MemoryPublisher::default();
    let report = probe::run(
        &store,
        &publisher,
        &prober,
        &probe::ProbeRequest::forced(&TargetKind::ALL),
        &probe::RunConfig::new(32),
    )
    .await
    .expect("one probe run");
    let checked: usize = report.runs.iter().map(|r| r.checked).sum();
    assert_eq!(checked, TARGETS, "the probe run checks every target");
    let now = lookout_core::time::now_ms();
    for kind in TargetKind::ALL {
        let table: Vec<TargetUptime> = targets
            .iter()
            .enumerate()
            .filter(|(_, t)| t.kind() == kind)
            .map(|(i, t)| uptime_row(i, t, now))
            .collect();
        store.put_uptime(kind, &table).await.expect("uptime table");
    }
    store
        .put_incident(&incident(&targets, now))
        .await
        .expect("incident");
    let app = Arc::new(api::App {
        prober: Prober::new().unwrap(),
        admin_token: Some("admin".into()),
        ..api::App::local(store)
    });
    (app, targets, proxy)
}
