//! Badges, the Atom feed and a target's page against DynamoDB Local: the router over a
//! `DynamoStore` whose targets, states, rollups, location verdicts and incidents were written
//! through the ports. Badges parse as SVG with the right value and colour, answer 304 to their
//! ETag, and cover groups; the feed parses and lists incidents newest first; the target page
//! shows both charts, the incidents naming it and the certificate days; hostile names stay text
//! in all three.

use std::sync::Arc;

use lookout_app::ports::{
    DigestStore, IncidentStore, Latest, LocationStore, StateStore, TargetStore,
};
use lookout_aws::dynamodb::DynamoStore;
use lookout_core::digest::rollup::{Latency, Period, Rollup, DAY_MS, HOUR_MS};
use lookout_core::domain::incident::{
    AffectedTarget, Incident, IncidentKind, IncidentSource, IncidentStatus, IncidentUpdate,
};
use lookout_core::domain::{
    CheckResult, LocationVerdict, Outcome, Status, Target, TargetKind, TargetState,
};
use serde_json::json;

use crate::common;

const HOSTILE: &str = "<script>alert(1)</script>\" onmouseover=\"x &amp;";
const GROUP: &str = "shop <&>";
/// `GROUP` in a path.
const GROUP_PATH: &str = "shop%20%3C%26%3E";

fn app(store: &DynamoStore) -> Arc<api::App<DynamoStore>> {
    Arc::new(api::App {
        prober: lookout_app::probe::Prober::new().unwrap(),
        admin_token: Some("admin".into()),
        ..api::App::local(store.clone())
    })
}

/// One answer: status, headers and body text.
struct Answer {
    status: u16,
    headers: lambda_http::http::HeaderMap,
    body: String,
}

async fn get(app: &Arc<api::App<DynamoStore>>, path: &str, if_none_match: Option<&str>) -> Answer {
    let mut req = lambda_http::http::Request::builder()
        .method("GET")
        .uri(format!("http://localhost{path}"));
    if let Some(tag) = if_none_match {
        req = req.header("if-none-match", tag);
    }
    let req = req.body(lambda_http::Body::Empty).unwrap();
    let resp = Box::pin(api::handle(app, req)).await;
    let body = match resp.body() {
        lambda_http::Body::Text(t) => t.clone(),
        lambda_http::Body::Binary(b) => String::from_utf8(b.clone()).unwrap(),
        _ => String::new(),
    };
    Answer {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        body,
    }
}

fn target(id: &str, name: &str, group: &str, url: &str, extra: serde_json::Value) -> Target {
    let mut v = json!({"id": id, "name": name, "group": group, "kind": "server", "url": url});
    if let (Some(v), Some(extra)) = (v.as_object_mut(), extra.as_object()) {
        v.extend(extra.clone());
    }
    serde_json::from_value::<Target>(v)
        .unwrap()
        .validate()
        .unwrap()
}

fn latest(id: &str, status: Status, at: i64, latency: Option<u64>, cert: Option<i64>) -> Latest {
    let mut state = TargetState::new(id);
    state.status = status;
    Latest::new(
        state,
        Some(CheckResult {
            target_id: id.into(),
            kind: TargetKind::Server,
            at,
            outcome: if latency.is_some() {
                Outcome::Up
            } else {
                Outcome::Failed
            },
            status_code: latency.map(|_| 200),
            latency_ms: latency.unwrap_or(10_000),
            connect_ms: None,
            ttfb_ms: None,
            cert_days_left: cert,
            bytes: 100,
            attempts: 1,
            error: None,
            message: None,
        }),
    )
}

fn rollup(id: &str, period: Period, start: i64, checks: u64, failures: u64) -> Rollup {
    Rollup {
        checks,
        failures,
        latency: Some(Latency {
            min: 20,
            mean: 120.0,
            p50: 110,
            p95: 340,
            max: 900,
        }),
        ..Rollup::empty(id, TargetKind::Server, period, start)
    }
}

fn incident(id: &str, title: &str, opened_at: i64, targets: &[(&str, Status)]) -> Incident {
    let targets: Vec<AffectedTarget> = targets
        .iter()
        .map(|(id, status)| AffectedTarget {
            id: (*id).into(),
            name: String::new(),
            status: *status,
        })
        .collect();
    Incident {
        id: id.into(),
        kind: IncidentKind::Incident,
        source: if title.is_empty() {
            IncidentSource::Auto
        } else {
            IncidentSource::Operator
        },
        title: title.into(),
        status: IncidentStatus::Investigating,
        targets: targets.clone(),
        more_targets: 0,
        dropped_updates: 0,
        opened_at,
        resolved_at: None,
        starts_at: None,
        ends_at: None,
        updates: vec![IncidentUpdate {
            at: opened_at,
            status: IncidentStatus::Investigating,
            body: if title.is_empty() {
                String::new()
            } else {
                HOSTILE.into()
            },
            changes: if title.is_empty() {
                targets
            } else {
                Vec::new()
            },
            alert_key: None,
        }],
        postmortem: None,
        version: 1,
    }
}

/// The table: `web1` (hostile name, HTTPS, down, 24 hours and 29 days of rollups, two
/// locations), `web2` (healthy, 42 ms) in the hostile group; `edge1` (priority 1, down) and
/// `edge2` (priority 2, healthy) failing over in `edge`; `off`, disabled; three incidents.
async fn seeded() -> (DynamoStore, i64) {
    let aws = common::aws().await;
    let (ddb, table) = common::fresh_table(&aws).await;
    let store = DynamoStore::new(ddb, table, 30);
    let now = lookout_core::time::now_ms();
    for t in [
        target(
            "web1",
            HOSTILE,
            GROUP,
            "https://web1.example/health",
            json!({}),
        ),
        target("web2", "web two", GROUP, "http://web2.example/", json!({})),
        target(
            "edge1",
            "edge one",
            "edge",
            "https://e1.example/",
            json!({"priority": 1}),
        ),
        target(
            "edge2",
            "edge two",
            "edge",
            "https://e2.example/",
            json!({"priority": 2}),
        ),
        target(
            "off",
            "off",
            "idle",
            "https://off.example/",
            json!({"enabled": false}),
        ),
    ] {
        store.create_target(&t).await.unwrap();
    }
    let run = vec![
        latest("web1", Status::Down, now - 30_000, None, Some(21)),
        latest("web2", Status::Healthy, now - 30_000, Some(42), None),
        latest("edge1", Status::Down, now - 30_000, None, None),
        latest("edge2", Status::Healthy, now - 30_000, Some(180), None),
    ];
    store
        .record_run(TargetKind::Server, now - 30_000, &run, true)
        .await
        .unwrap();
    // 24 hours of hourly rollups up to the current one: web1 has 6 failures in one hour.
    let hour = Period::Hour.start_of(now);
    let mut rollups = Vec::new();
    for h in 0..24 {
        let start = hour - h * HOUR_MS;
        rollups.push(rollup(
            "web1",
            Period::Hour,
            start,
            60,
            if h == 3 { 6 } else { 0 },
        ));
        rollups.push(rollup("web2", Period::Hour, start, 60, 0));
    }
    let today = Period::Day.start_of(now);
    for d in 1..30 {
        let failures = if d == 5 { 144 } else { 0 };
        rollups.push(rollup(
            "web1",
            Period::Day,
            today - d * DAY_MS,
            1440,
            failures,
        ));
    }
    store.put_rollups(&rollups).await.unwrap();
    for (location, ms) in [("eu-west-1", 120), ("us-east-1", 240)] {
        let v = LocationVerdict {
            target_id: "web1".into(),
            location: location.into(),
            status: Status::Healthy,
            since: now - HOUR_MS,
            at: now - 30_000,
            latency_ms: Some(ms),
            error: None,
            consecutive_failures: 0,
            consecutive_successes: 3,
        };
        store
            .put_verdicts(TargetKind::Server, location, &[v], now - 30_000)
            .await
            .unwrap();
    }
    let mut maintenance = incident(
        "inc-maint",
        "Database upgrade",
        now - HOUR_MS,
        &[("web2", Status::Healthy)],
    );
    maintenance.kind = IncidentKind::Maintenance;
    maintenance.status = IncidentStatus::Scheduled;
    maintenance.updates[0].status = IncidentStatus::Scheduled;
    maintenance.starts_at = Some(now + DAY_MS);
    maintenance.ends_at = Some(now + DAY_MS + 2 * HOUR_MS);
    for i in [
        incident(
            "inc-op",
            HOSTILE,
            now - 2 * DAY_MS,
            &[("web1", Status::Down)],
        ),
        incident("auto-web1-1", "", now - DAY_MS, &[("web1", Status::Down)]),
        maintenance,
    ] {
        store.put_incident(&i).await.unwrap();
    }
    (store, now)
}

/// The badge's texts (label, value) and the value box's colour.
fn badge(svg: &str) -> (String, String, String) {
    let doc = roxmltree::Document::parse(svg).unwrap();
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    let texts: Vec<String> = root
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| n.text().unwrap_or("").to_string())
        .collect();
    let fill = root
        .descendants()
        .filter(|n| n.has_tag_name("rect") && n.attribute("x").is_some())
        .find_map(|n| n.attribute("fill"))
        .unwrap()
        .to_string();
    (texts[0].clone(), texts[2].clone(), fill)
}

#[tokio::test]
async fn badges_show_status_uptime_and_latency_of_targets_and_groups() {
    let (store, _) = seeded().await;
    let app = app(&store);
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "/badges/targets/web1/status.svg",
            "status",
            "down",
            "#e05d44",
        ),
        ("/badges/targets/web2/status.svg", "status", "up", "#4c1"),
        (
            "/badges/targets/off/status.svg",
            "status",
            "paused",
            "#9f9f9f",
        ),
        // The worst of the group's targets; the active one of a group that fails over.
        (
            &format!("/badges/groups/{GROUP_PATH}/status.svg"),
            "status",
            "down",
            "#e05d44",
        ),
        ("/badges/groups/edge/status.svg", "status", "up", "#4c1"),
        // 24 hours: 1,440 checks, 6 failed; the group checks-weighted over 2,880.
        (
            "/badges/targets/web1/uptime/24h.svg",
            "uptime 24h",
            "99.58%",
            "#97ca00",
        ),
        (
            "/badges/targets/web2/uptime/7d.svg",
            "uptime 7d",
            "100%",
            "#4c1",
        ),
        (
            &format!("/badges/groups/{GROUP_PATH}/uptime/24h.svg"),
            "uptime 24h",
            "99.79%",
            "#97ca00",
        ),
        (
            "/badges/targets/edge1/uptime/30d.svg",
            "uptime 30d",
            "no data",
            "#9f9f9f",
        ),
        (
            "/badges/targets/web2/latency.svg",
            "latency",
            "42 ms",
            "#4c1",
        ),
        (
            "/badges/targets/web1/latency.svg",
            "latency",
            "no data",
            "#9f9f9f",
        ),
        (
            "/badges/groups/edge/latency.svg",
            "latency",
            "180 ms",
            "#97ca00",
        ),
    ];
    for (path, label, value, colour) in cases {
        let a = get(&app, path, None).await;
        assert_eq!(a.status, 200, "{path}: {}", a.body);
        assert_eq!(a.headers["content-type"], "image/svg+xml", "{path}");
        assert_eq!(a.headers["cache-control"], "public, max-age=60", "{path}");
        assert_eq!(
            badge(&a.body),
            (label.to_string(), value.to_string(), colour.to_string()),
            "{path}"
        );
    }
    // 30 days of web1: 29 whole days from their rollups (144 failures in 41,760 checks) and
    // today's hours (how many depends on the time of day; 6 more failures if 03:00 is today).
    let a = get(&app, "/badges/targets/web1/uptime/30d.svg", None).await;
    let (_, value, colour) = badge(&a.body);
    let percent: f64 = value.trim_end_matches('%').parse().unwrap();
    assert!((99.6..99.7).contains(&percent), "{value}");
    assert_eq!(colour, "#97ca00", "{value}");
}

#[tokio::test]
async fn badges_answer_304_to_their_etag_and_404_with_a_grey_badge() {
    let (store, _) = seeded().await;
    let app = app(&store);
    let path = "/badges/targets/web2/status.svg?style=flat-square";
    let first = get(&app, path, None).await;
    let etag = first.headers["etag"].to_str().unwrap().to_string();
    assert!(etag.starts_with('"') && etag.len() == 66, "{etag}");
    let again = get(&app, path, Some(&etag)).await;
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    assert_eq!(again.headers["etag"], etag.as_str());
    let list = format!("\"other\", {etag}");
    assert_eq!(get(&app, path, Some(&list)).await.status, 304);
    assert_eq!(get(&app, path, Some("\"other\"")).await.status, 200);
    // Another style is another body, so another tag.
    let flat = get(&app, "/badges/targets/web2/status.svg", None).await;
    assert_ne!(flat.headers["etag"], etag.as_str());
    for path in [
        "/badges/targets/nope/status.svg",
        "/badges/groups/nope/uptime/7d.svg",
        "/badges/targets/nope/latency.svg",
    ] {
        let a = get(&app, path, None).await;
        assert_eq!(a.status, 404, "{path}");
        assert_eq!(a.headers["content-type"], "image/svg+xml");
        let (_, value, colour) = badge(&a.body);
        assert_eq!((value.as_str(), colour.as_str()), ("not found", "#9f9f9f"));
    }
    // Bad queries are JSON errors naming the field.
    for (path, field) in [
        (
            format!("/badges/targets/web1/status.svg?label={}", "x".repeat(41)),
            "label",
        ),
        (
            "/badges/targets/web1/status.svg?style=plastic".into(),
            "style",
        ),
        ("/badges/targets/web1/uptime/90d.svg".into(), "window"),
    ] {
        let (status, body) = common::call(&app, "GET", &path, "").await;
        assert_eq!(status, 400, "{path}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with(field),
            "{body}"
        );
    }
}

#[tokio::test]
async fn hostile_labels_and_names_stay_text_in_badges() {
    let (store, _) = seeded().await;
    let app = app(&store);
    // A custom label (at most 40 characters) with markup, a quote and an entity.
    let label = "%3Cscript%3Ex%3C%2Fscript%3E%22%20onmouseover%3D%22x%20%26amp%3B";
    let a = get(
        &app,
        &format!("/badges/groups/{GROUP_PATH}/status.svg?label={label}"),
        None,
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(!a.body.contains("<script>"), "{}", a.body);
    let (text, value, _) = badge(&a.body);
    assert_eq!(
        (text.as_str(), value.as_str()),
        ("<script>x</script>\" onmouseover=\"x &amp;", "down")
    );
    let doc = roxmltree::Document::parse(&a.body).unwrap();
    assert!(doc
        .descendants()
        .all(|n| n.attribute("onmouseover").is_none()));
}

#[tokio::test]
async fn the_feed_lists_incidents_newest_first_as_valid_atom() {
    let (store, now) = seeded().await;
    let app = app(&store);
    let a = get(&app, "/feed.atom", None).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(
        a.headers["content-type"],
        "application/atom+xml; charset=utf-8"
    );
    assert!(!a.body.contains("<script>"));
    let doc = roxmltree::Document::parse(&a.body).unwrap();
    let root = doc.root_element();
    assert_eq!(
        root.tag_name().namespace(),
        Some("http://www.w3.org/2005/Atom")
    );
    let text = |n: roxmltree::Node<'_, '_>, name: &str| {
        n.children()
            .find(|c| c.has_tag_name(name))
            .and_then(|c| c.text())
            .unwrap_or("")
            .to_string()
    };
    let entries: Vec<_> = root
        .children()
        .filter(|n| n.has_tag_name("entry"))
        .collect();
    let ids: Vec<String> = entries.iter().map(|e| text(*e, "id")).collect();
    assert_eq!(
        ids,
        [
            "urn:lookout:incident:inc-maint",
            "urn:lookout:incident:auto-web1-1",
            "urn:lookout:incident:inc-op"
        ]
    );
    assert_eq!(text(entries[0], "title"), "Database upgrade");
    assert_eq!(text(entries[1], "title"), format!("Down: {HOSTILE}"));
    assert_eq!(text(entries[2], "title"), HOSTILE);
    assert!(text(entries[2], "content").contains(HOSTILE));
    assert_eq!(
        text(root, "updated"),
        lookout_core::time::rfc3339(now - HOUR_MS)
    );
    // In Persian, the words the feed writes itself.
    let fa = get(&app, "/feed.atom?lang=fa", None).await;
    let doc = roxmltree::Document::parse(&fa.body).unwrap();
    let titles: Vec<String> = doc
        .descendants()
        .filter(|n| n.has_tag_name("entry"))
        .map(|e| text(e, "title"))
        .collect();
    assert_eq!(titles[1], format!("از کار افتاده: {HOSTILE}"));
    let (status, body) = common::call(&app, "GET", "/feed.atom?lang=xx", "").await;
    assert_eq!(status, 400);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("lang"));
}

#[tokio::test]
async fn a_target_page_shows_both_charts_its_incidents_and_its_certificate() {
    let (store, _) = seeded().await;
    let app = app(&store);
    let a = get(&app, "/targets/web1?tz=Asia/Tehran", None).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.headers["content-type"], "text/html; charset=utf-8");
    let html = &a.body;
    if let Ok(dir) = std::env::var("LOOKOUT_SAVE_PAGES") {
        std::fs::write(format!("{dir}/target-en.html"), html).unwrap();
        let fa = get(&app, "/targets/web1?lang=fa", None).await.body;
        std::fs::write(format!("{dir}/target-fa.html"), fa).unwrap();
    }
    // Hostile name and titles stay text.
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(!html.contains("\" onmouseover"), "{html}");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot; onmouseover=&quot;x &amp;amp;")
    );
    assert!(html.contains("shop &lt;&amp;&gt;"), "the group");
    // Two charts, each with its p50 and p95 lines and labelled axes.
    assert_eq!(html.matches("<svg class=\"chart\"").count(), 2, "{html}");
    assert_eq!(html.matches("<polyline class=\"p50\"").count(), 2);
    assert_eq!(html.matches("<polyline class=\"p95\"").count(), 2);
    assert!(
        html.contains(">500</text>"),
        "the axis tops at 500 ms over a p95 of 340"
    );
    assert_eq!(html.matches("class=\"unit\">ms</text>").count(), 2);
    // The incidents naming it (the operator's and the auto one), not the maintenance of web2.
    assert!(html.contains("<bdi>Down: &lt;script&gt;"), "{html}");
    assert!(!html.contains("Database upgrade"));
    // Certificate days, both locations, the time zone; no URL.
    assert!(html.contains("expires in 21 days"), "{html}");
    assert!(html.contains("eu-west-1") && html.contains("240 ms"));
    assert!(html.contains("Times in Asia/Tehran"));
    assert!(!html.contains("web1.example"));

    // web2: no certificate line (plain HTTP), the maintenance announced; edge2 (HTTPS, but its
    // check has no certificate days) without incidents; the page of a disabled target.
    let web2 = get(&app, "/targets/web2", None).await.body;
    assert!(!web2.contains("id=\"cert\""));
    assert!(
        web2.contains("Maintenance: <bdi>Database upgrade"),
        "{web2}"
    );
    let edge2 = get(&app, "/targets/edge2", None).await.body;
    assert!(!edge2.contains("id=\"cert\""));
    assert!(edge2.contains("No incidents in the last 30 days."));
    let off = get(&app, "/targets/off?lang=ar", None).await;
    assert_eq!(off.status, 200);
    assert!(off.body.contains("<html lang=\"ar\" dir=\"rtl\">"));
    assert_eq!(
        off.body.matches("لا توجد بيانات").count(),
        2,
        "no data in both charts"
    );
    // Unknown target: an HTML 404; a bad time zone: a JSON 400 naming tz.
    let missing = get(&app, "/targets/nope?lang=fa", None).await;
    assert_eq!(missing.status, 404);
    assert!(missing.body.contains("پیدا نشد"));
    let (status, body) = common::call(&app, "GET", "/targets/web1?tz=Nowhere/City", "").await;
    assert_eq!(status, 400);
    assert!(body["error"]["message"].as_str().unwrap().starts_with("tz"));
}
