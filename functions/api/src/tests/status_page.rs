//! The status pages (issue 18) against the memory store, through the router: rows problems
//! first with totals, the 90-day bar from the uptime table, "no data", incidents in the reader's
//! words and time zone, several pages, the JSON version and its CORS header, hostile text.

use lookout_app::ports::{DigestStore, IncidentStore, TargetUptime};
use lookout_core::digest::rollup::{DayCell, Uptime};
use lookout_core::domain::incident::{
    AffectedTarget, Incident, IncidentKind, IncidentSource, IncidentStatus, IncidentUpdate,
};
use lookout_core::domain::state::DAY_MS;
use lookout_core::domain::{Status, TargetKind};

use super::*;

const EVIL: &str = "<script>alert(1)</script>\" onmouseover=\"x &amp;";

pub(super) async fn create(app: &Arc<App<MemoryStore>>, targets: Value) {
    let (status, body) = call(
        app,
        request("POST", "/v1/targets", &targets.to_string(), Some(TOKEN)),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

/// Sets the status of each `(id, status)` as a probe run would.
pub(super) async fn states(app: &Arc<App<MemoryStore>>, list: &[(&str, Status)]) {
    let snapshot: Vec<_> = list
        .iter()
        .map(|(id, status)| {
            let mut s = lookout_core::domain::TargetState::new(id);
            s.status = *status;
            s.checks = 10;
            lookout_app::ports::Latest::new(s, None)
        })
        .collect();
    app.store
        .record_run(TargetKind::Server, 1_000, &snapshot, true)
        .await
        .unwrap();
}

/// A server target of `group`.
pub(super) fn server(id: &str, name: &str, group: &str) -> Value {
    json!({"id": id, "name": name, "group": group, "kind": "server", "url": "http://127.0.0.1:9/"})
}

/// Five targets in three groups: `web` all healthy, `db` with one down, `cache` degraded.
async fn fleet(app: &Arc<App<MemoryStore>>) {
    create(
        app,
        json!({"targets": [
            server("web-1", "web-1", "web"),
            server("web-2", "web-2", "web"),
            server("db-1", "db-1", "db"),
            server("db-2", "db-2", "db"),
            server("cache-1", "cache-1", "cache"),
        ]}),
    )
    .await;
    states(
        app,
        &[
            ("web-1", Status::Healthy),
            ("web-2", Status::Healthy),
            ("db-1", Status::Healthy),
            ("db-2", Status::Down),
            ("cache-1", Status::Degraded),
        ],
    )
    .await;
}

pub(super) async fn get(
    app: &Arc<App<MemoryStore>>,
    path: &str,
) -> (StatusCode, String, Response<Body>) {
    let resp = handle(app, request("GET", path, "", None)).await;
    let text = String::from_utf8(resp.body().to_vec()).unwrap();
    (resp.status(), text, resp)
}

/// The bar of a row, one entry per day, oldest first: each day's cell attributes without the
/// span that merges quiet days (`" class=g"`, `" class=a title=\"...\""`, `""` for grey).
pub(super) fn days_of(row: &str) -> Vec<String> {
    let bar = row
        .split("<span class=\"bar\">")
        .nth(1)
        .unwrap()
        .split("</span>")
        .next()
        .unwrap();
    let mut out = Vec::new();
    for cell in bar.split("<i").skip(1) {
        let attrs = cell.split("></i>").next().unwrap();
        let (attrs, n) = match attrs.split_once(" style=\"grid-column:span ") {
            Some((a, rest)) => {
                let (n, tail) = rest.split_once('"').unwrap();
                (format!("{a}{tail}"), n.parse().unwrap())
            }
            None => (attrs.to_string(), 1),
        };
        out.extend(std::iter::repeat_n(attrs, n));
    }
    out
}

pub(super) fn row<'a>(html: &'a str, id: &str) -> &'a str {
    html.split("<li class=\"target\"")
        .find(|r| r.contains(&format!("data-id=\"{id}\"")))
        .unwrap_or_else(|| panic!("{id}'s row in {html}"))
        .split("</li>")
        .next()
        .unwrap()
}

fn incident(id: &str, title: &str, opened_at: i64, targets: &[(&str, Status)]) -> Incident {
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
        targets: targets
            .iter()
            .map(|(id, s)| AffectedTarget {
                id: id.to_string(),
                name: String::new(),
                status: *s,
            })
            .collect(),
        opened_at,
        resolved_at: None,
        starts_at: None,
        ends_at: None,
        more_targets: 0,
        dropped_updates: 0,
        updates: vec![IncidentUpdate {
            at: opened_at,
            status: IncidentStatus::Investigating,
            body: String::new(),
            changes: targets
                .iter()
                .map(|(id, s)| AffectedTarget {
                    id: id.to_string(),
                    name: String::new(),
                    status: *s,
                })
                .collect(),
            alert_key: None,
        }],
        postmortem: None,
        version: 1,
    }
}

#[tokio::test]
async fn rows_come_problems_first_with_totals_and_groups_open_only_when_troubled() {
    let app = app();
    fleet(&app).await;
    let (status, html, _) = get(&app, "/").await;
    assert_eq!(status, StatusCode::OK);
    // Groups: db (a target down) before cache (degraded) before web (healthy).
    let at = |s: &str| html.find(s).unwrap_or_else(|| panic!("{s} in {html}"));
    assert!(at("data-g=\"db\"") < at("data-g=\"cache\""));
    assert!(at("data-g=\"cache\"") < at("data-g=\"web\""));
    // Within db, the down target first.
    assert!(at("data-id=\"db-2\"") < at("data-id=\"db-1\""));
    assert!(html.contains("<b>3</b> operational") && html.contains("<b>1</b> down"));
    assert!(html.contains("<b>1</b> degraded") && html.contains("Some systems are down"));
    assert!(row(&html, "db-2").contains("dot down"));
    // Few rows: every group open; the db group's summary counts its rows.
    assert!(html.contains("<details class=\"grp bad\" data-g=\"db\" open>"));
    assert!(html.contains("<details class=\"grp\" data-g=\"web\" open>"));
    assert!(html.contains("1 operational · 1 down"), "{html}");
    // Landmarks and the progressive search box.
    for tag in ["<header>", "<main>", "<nav>", "<footer>", "id=\"q\""] {
        assert!(html.contains(tag), "{tag}");
    }
    // More than 20 rows: healthy groups close, troubled ones stay open.
    let many: Vec<Value> = (0..20)
        .map(|i| server(&format!("m-{i}"), &format!("m-{i}"), "many"))
        .collect();
    create(&app, json!({ "targets": many })).await;
    let (_, html, _) = get(&app, "/").await;
    assert!(html.contains("<details class=\"grp\" data-g=\"web\">"));
    assert!(html.contains("<details class=\"grp bad\" data-g=\"db\" open>"));
}

#[tokio::test]
async fn the_bar_has_ninety_cells_coloured_by_uptime_with_titles_and_no_data_for_new_targets() {
    let app = app();
    fleet(&app).await;
    create(&app, json!([server("new-1", "new-1", "web")])).await;
    let now = lookout_core::time::now_ms();
    let today = now - now.rem_euclid(DAY_MS);
    let days = vec![
        DayCell {
            start: today - 3 * DAY_MS,
            checks: 1440,
            failures: 0,
        },
        DayCell {
            start: today - 2 * DAY_MS,
            checks: 1000,
            failures: 5,
        },
        DayCell {
            start: today - DAY_MS,
            checks: 400,
            failures: 10,
        },
        DayCell {
            start: today,
            checks: 100,
            failures: 40,
        },
    ];
    let window = |name: &str, checks: u64, pct: Option<f64>| Uptime {
        window: name.into(),
        since: now - 30 * DAY_MS,
        checks,
        failures: 0,
        uptime_percent: pct,
    };
    app.store
        .put_uptime(
            TargetKind::Server,
            &[
                TargetUptime {
                    target_id: "web-1".into(),
                    windows: vec![window("30d", 2940, Some(98.2))],
                    days,
                },
                TargetUptime {
                    target_id: "web-2".into(),
                    windows: vec![window("30d", 0, None)],
                    days: vec![],
                },
            ],
        )
        .await
        .unwrap();
    // An incident on web-1 yesterday.
    let mut inc = incident(
        "inc-1",
        "Slow disks",
        today - DAY_MS + 3_600_000,
        &[("web-1", Status::Down)],
    );
    inc.status = IncidentStatus::Resolved;
    inc.resolved_at = Some(today - DAY_MS + 7_200_000);
    app.store.put_incident(&inc).await.unwrap();
    let (_, html, _) = get(&app, "/").await;
    let web1 = row(&html, "web-1");
    let cells = days_of(web1);
    assert_eq!(cells.len(), 90, "{web1}");
    // Oldest first; the last four days: perfect (g), 99.5 (l), 97.5 (a), 60 (r).
    assert_eq!(cells[86], " class=g");
    assert!(cells[87].starts_with(" class=l title="), "{}", cells[87]);
    assert!(cells[88].starts_with(" class=a title="), "{}", cells[88]);
    assert!(cells[89].starts_with(" class=r title="), "{}", cells[89]);
    assert_eq!(cells[85], "", "no checks: grey");
    // The 86 quiet days before are one grey cell: a quiet bar is a few bytes.
    assert!(
        web1.contains("<i style=\"grid-column:span 86\"></i><i class=g>"),
        "{web1}"
    );
    let yesterday = lookout_core::time::rfc3339(today - DAY_MS)[..10].to_string();
    assert!(
        cells[88].contains(&format!("{yesterday} · uptime 97.50% · 1 incidents")),
        "{}",
        cells[88]
    );
    assert!(cells[89].contains("uptime 60.00% · 0 incidents"));
    assert!(
        web1.contains("98.20%")
            && web1.contains(&format!(
                "since {}",
                &lookout_core::time::rfc3339(today - 3 * DAY_MS)[..10]
            ))
    );
    // A window without checks and a target the digest has not seen: no data, never 100 %.
    for id in ["web-2", "new-1"] {
        let r = row(&html, id);
        assert!(r.contains("no data") && !r.contains('%'), "{r}");
        assert_eq!(days_of(r), vec![String::new(); 90], "only grey cells: {r}");
    }
    // Past incidents of the last 14 days at the bottom.
    let past = html.split("id=\"past-h\"").nth(1).unwrap();
    assert!(past.contains("Slow disks") && past.contains("resolved"));
}

#[tokio::test]
async fn incidents_are_titled_from_their_targets_in_the_readers_language_and_time_zone() {
    let app = app();
    let names: Vec<Value> = (1..=5)
        .map(|i| server(&format!("api-{i}"), &format!("api-{i}"), "api"))
        .collect();
    create(&app, json!({ "targets": names })).await;
    let down: Vec<(String, Status)> = (1..=5)
        .map(|i| (format!("api-{i}"), Status::Down))
        .collect();
    let down: Vec<(&str, Status)> = down.iter().map(|(id, s)| (id.as_str(), *s)).collect();
    states(&app, &down).await;
    // 2026-11-30T20:45:00Z is 2026-12-01 00:15 in Tehran (+03:30).
    let at = 1_796_071_500_000;
    assert_eq!(lookout_core::time::rfc3339(at), "2026-11-30T20:45:00Z");
    let auto = incident("auto-api-1", "", at, &down);
    app.store.put_incident(&auto).await.unwrap();
    let (_, html, _) = get(&app, "/").await;
    let open = html.split("id=\"open-h\"").nth(1).expect("open incidents");
    assert!(
        open.contains("api-1, api-2, api-3 and 2 more are down"),
        "{open}"
    );
    assert!(open.contains("investigating") && open.contains("2026-11-30 20:45"));
    assert!(html.contains("Times in UTC"));
    let (_, tehran, _) = get(&app, "/?tz=Asia/Tehran").await;
    assert!(tehran.contains("Times in Asia/Tehran") && tehran.contains("2026-12-01 00:15"));
    let (_, fa, _) = get(&app, "/?lang=fa&tz=Asia/Tehran").await;
    assert!(fa.contains("lang=\"fa\" dir=\"rtl\"") && fa.contains("زمان‌ها به وقت Asia/Tehran"));
    assert!(fa.contains("۲۰۲۶-۱۲-۰۱ ۰۰:۱۵"), "Persian digits");
    assert!(
        fa.contains("api-1، api-2، api-3 و ۲ مورد دیگر: از کار افتاده"),
        "{fa}"
    );
    assert!(fa.contains("در حال بررسی") && fa.contains("رخدادهای باز"));
    let (_, ar, _) = get(&app, "/?lang=ar").await;
    assert!(ar.contains("lang=\"ar\" dir=\"rtl\"") && ar.contains("قيد التحقيق"));
    assert!(ar.contains("٢٠٢٦-١١-٣٠ ٢٠:٤٥") && ar.contains("حوادث جارية"));
    // The language links keep the zone.
    assert!(tehran.contains("href=\"?lang=ar&amp;tz=Asia%2FTehran\""));
    // An unknown zone is a 400 naming tz, in JSON.
    for path in [
        "/?tz=Mars/Olympus",
        "/status.json?tz=Mars/Olympus",
        "/p/default?tz=nowhere",
    ] {
        let (status, body) = call(&app, request("GET", path, "", None)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("tz: "),
            "{body}"
        );
    }
}

#[tokio::test]
async fn maintenance_is_announced_ahead_from_incidents_and_targets_own_windows() {
    let app = app();
    let now = lookout_core::time::now_ms();
    let start = lookout_core::time::rfc3339(now + 2 * DAY_MS);
    let end = lookout_core::time::rfc3339(now + 2 * DAY_MS + 3_600_000);
    create(
        &app,
        json!([{"id":"db-1","group":"db","kind":"server","url":"http://127.0.0.1:9/",
            "maintenance":[{"start": start, "end": end, "reason": "Disk swap"}]},
            {"id":"db-2","group":"db","kind":"server","url":"http://127.0.0.1:9/",
            "maintenance":[{"start": lookout_core::time::rfc3339(now + 9 * DAY_MS),
                "end": lookout_core::time::rfc3339(now + 10 * DAY_MS), "reason": "Too far"}]}]),
    )
    .await;
    let mut m = incident(
        "inc-m",
        "Network upgrade",
        now - 60_000,
        &[("db-1", Status::Healthy)],
    );
    m.kind = IncidentKind::Maintenance;
    m.status = IncidentStatus::Scheduled;
    m.starts_at = Some(now + DAY_MS);
    m.ends_at = Some(now + DAY_MS + 7_200_000);
    m.updates[0].status = IncidentStatus::Scheduled;
    m.updates[0].body = "We swap the core routers.".into();
    app.store.put_incident(&m).await.unwrap();
    let (_, html, _) = get(&app, "/").await;
    let up = html
        .split("id=\"up-h\"")
        .nth(1)
        .expect("scheduled maintenance");
    let up = up.split("</section>").next().unwrap();
    assert!(
        up.contains("Network upgrade") && up.contains("scheduled"),
        "{up}"
    );
    assert!(up.contains("We swap the core routers."));
    assert!(
        up.contains("db-1: Disk swap") && !up.contains("Too far"),
        "{up}"
    );
    assert!(
        !html.contains("id=\"open-h\""),
        "not an open incident: {html}"
    );
    let (_, text, _) = get(&app, "/status.json").await;
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["maintenance"][0]["id"], "inc-m");
    assert_eq!(body["windows"][0]["target"], "db-1");
    assert_eq!(body["windows"][0]["starts_at"], start.as_str());
}

#[tokio::test]
async fn several_pages_show_only_their_groups_with_their_words_escaped() {
    let app = app();
    fleet(&app).await;
    let page = json!({"title": EVIL, "description": format!("desc {EVIL}"),
        "logo_url": "https://cdn.example/logo.png?a=1&b=\"2\"", "groups": ["web", "cache"],
        "footer": format!("foot {EVIL}")});
    let put = |body: Value| request("PUT", "/v1/pages/shop", &body.to_string(), Some(TOKEN));
    let (status, body) = call(&app, put(page.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["page"]["version"], 1);
    // A stale version is a conflict; the right one changes it.
    let (status, _) = call(&app, put(page.clone())).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let mut next = page.clone();
    next["version"] = json!(1);
    let (status, body) = call(&app, put(next)).await;
    assert_eq!(
        (status, body["page"]["version"].clone()),
        (StatusCode::OK, json!(2))
    );
    let (status, html, _) = get(&app, "/p/shop").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("data-g=\"web\"") && html.contains("data-g=\"cache\""));
    assert!(
        !html.contains("data-g=\"db\"") && !html.contains("db-2"),
        "only its groups"
    );
    assert!(html.contains("<b>1</b> degraded") && !html.contains("<b>1</b> down"));
    let escaped = "&lt;script&gt;alert(1)&lt;/script&gt;&quot; onmouseover=&quot;x &amp;amp;";
    assert!(
        html.contains(&format!("<title>{escaped}</title>")),
        "{html}"
    );
    assert!(html.contains(&format!("desc {escaped}")) && html.contains(&format!("foot {escaped}")));
    assert!(html.contains("<img src=\"https://cdn.example/logo.png?a=1&amp;b=&quot;2&quot;\""));
    assert!(!html.contains("<script>alert") && !html.contains("\" onmouseover"));
    // The default page still shows everything; an unknown page is a 404 page.
    let (_, all, _) = get(&app, "/").await;
    assert!(all.contains("data-g=\"db\"") && all.contains("Service status"));
    let (status, missing, resp) = get(&app, "/p/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(resp.headers()["content-type"], "text/html; charset=utf-8");
    assert!(missing.contains("No such status page."));
    // The admin listing, reading and deleting.
    let (_, list) = call(&app, request("GET", "/v1/pages", "", Some(TOKEN))).await;
    assert_eq!(list["pages"][0]["slug"], "shop");
    let (status, one) = call(&app, request("GET", "/v1/pages/shop", "", Some(TOKEN))).await;
    assert_eq!(
        (status, one["page"]["title"].as_str()),
        (StatusCode::OK, Some(EVIL))
    );
    let resp = handle(&app, request("DELETE", "/v1/pages/shop", "", Some(TOKEN))).await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(get(&app, "/p/shop").await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_json_version_has_the_documented_shape_hostile_names_as_text_and_cors() {
    let app = app();
    fleet(&app).await;
    create(&app, json!([server("evil", EVIL, "web")])).await;
    let now = lookout_core::time::now_ms();
    app.store
        .put_incident(&incident(
            "inc-e",
            EVIL,
            now - 60_000,
            &[("evil", Status::Down)],
        ))
        .await
        .unwrap();
    let (status, text, resp) = get(&app, "/status.json?days=90").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(resp.headers()["access-control-allow-origin"], "*");
    assert_eq!(resp.headers()["content-type"], "application/json");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["overall"], "down");
    assert_eq!(
        body["totals"],
        json!({"operational": 3, "degraded": 1, "down": 1,
        "maintenance": 0, "unknown": 1})
    );
    assert_eq!(body["groups"][0]["name"], "db");
    let first = &body["groups"][0]["rows"][0];
    assert_eq!(
        (first["id"].as_str(), first["status"].as_str()),
        (Some("db-2"), Some("down"))
    );
    assert!(first["uptime_30d"].is_null());
    let days = first["days"].as_array().unwrap();
    assert_eq!(days.len(), 90);
    assert!(days[89]["uptime_percent"].is_null() && days[89]["checks"] == 0);
    assert_eq!(days[89]["date"], lookout_core::time::rfc3339(now)[..10]);
    let evil = body["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rows"].as_array().unwrap())
        .find(|r| r["id"] == "evil")
        .unwrap();
    assert_eq!(evil["name"], EVIL, "the name as given, text in JSON");
    assert_eq!(body["incidents"][0]["title"], EVIL);
    assert_eq!(body["incidents"][0]["targets"][0]["name"], EVIL);
    // The page of HTML escapes the same incident.
    let (_, html, _) = get(&app, "/").await;
    assert!(!html.contains("<script>alert") && html.contains("&lt;script&gt;alert(1)"));
    // A page's JSON version; an unknown one is a 404 with CORS too.
    let (status, _, resp) = get(&app, "/p/nope/status.json").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(resp.headers()["access-control-allow-origin"], "*");
    // Without `?days=` the last 7 days (JSON_DAYS).
    let (_, text, _) = get(&app, "/status.json").await;
    let body: Value = serde_json::from_str(&text).unwrap();
    let days = body["groups"][0]["rows"][0]["days"].as_array().unwrap();
    assert_eq!(days.len(), 7);
    assert_eq!(days[6]["date"], lookout_core::time::rfc3339(now)[..10]);
    for bad in ["91", "-1", "x"] {
        let (status, body) = call(
            &app,
            request("GET", &format!("/status.json?days={bad}"), "", None),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("days "),
            "{body}"
        );
    }
    let (status, text, _) = get(&app, "/p/default/status.json?lang=ar").await;
    assert_eq!(status, StatusCode::OK);
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["page"]["title"], "حالة الخدمة");
}
