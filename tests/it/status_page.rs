//! The status pages over DynamoDB Local, served on loopback (real HTTP): rows problems first
//! with totals, the 90-day bar's cells and titles from a seeded uptime table, "no data" for a
//! new target, incidents in Persian and Tehran time, a page showing only its groups, the JSON
//! version's shape and CORS header, hostile names and titles as text, an unknown zone a 400.

use std::sync::Arc;

use lookout_app::ports::{DigestStore, IncidentStore, Latest, StateStore, TargetUptime};
use lookout_aws::dynamodb::DynamoStore;
use lookout_core::digest::rollup::{DayCell, Uptime};
use lookout_core::domain::incident::{
    AffectedTarget, Incident, IncidentKind, IncidentSource, IncidentStatus, IncidentUpdate,
};
use lookout_core::domain::state::DAY_MS;
use lookout_core::domain::{Status, TargetKind, TargetState};
use serde_json::{json, Value};

use crate::common;

const EVIL: &str = "<script>alert(1)</script>\" onmouseover=\"x &amp;";

async fn app() -> Arc<api::App<DynamoStore>> {
    let aws = common::aws().await;
    let (ddb, table) = common::fresh_table(&aws).await;
    Arc::new(api::App {
        prober: lookout_app::probe::Prober::new().unwrap(),
        admin_token: Some("admin".into()),
        ..api::App::local(DynamoStore::new(ddb, &table, 30))
    })
}

fn server(id: &str, name: &str, group: &str) -> Value {
    json!({"id": id, "name": name, "group": group, "kind": "server", "url": "http://127.0.0.1:9/"})
}

/// The bar of a row, one entry per day, oldest first: each day's cell attributes without the
/// span that merges quiet days (`" class=g"`, `" class=a title=\"...\""`, `""` for grey).
fn days_of(row: &str) -> Vec<String> {
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

fn row<'a>(html: &'a str, id: &str) -> &'a str {
    html.split("<li class=\"target\"")
        .find(|r| r.contains(&format!("data-id=\"{id}\"")))
        .unwrap_or_else(|| panic!("{id}'s row"))
        .split("</li>")
        .next()
        .unwrap()
}

async fn get(base: &str, path: &str) -> (u16, reqwest::header::HeaderMap, String) {
    let resp = reqwest::get(format!("{base}{path}")).await.unwrap();
    let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
    (status, headers, resp.text().await.unwrap())
}

#[tokio::test]
async fn the_status_pages_render_from_dynamodb_over_http() {
    let app = app().await;
    let targets = json!({"targets": [
        server("web-1", "web-1", "web"), server("web-2", "web-2", "web"),
        server("db-1", "db-1", "db"), server("db-2", EVIL, "db"),
        server("new-1", "new-1", "web"),
    ]});
    let (code, body) = common::call(&app, "POST", "/v1/targets", &targets.to_string()).await;
    assert_eq!(code, 201, "{body}");
    let snapshot: Vec<Latest> = [
        ("web-1", Status::Healthy),
        ("web-2", Status::Healthy),
        ("db-1", Status::Healthy),
        ("db-2", Status::Down),
    ]
    .iter()
    .map(|(id, s)| {
        let mut state = TargetState::new(id);
        state.status = *s;
        state.checks = 10;
        Latest::new(state, None)
    })
    .collect();
    app.store
        .record_run(TargetKind::Server, 1_000, &snapshot, true)
        .await
        .unwrap();
    let now = lookout_core::time::now_ms();
    let today = now - now.rem_euclid(DAY_MS);
    let uptime = |id: &str| TargetUptime {
        target_id: id.into(),
        windows: vec![Uptime {
            window: "30d".into(),
            since: now - 30 * DAY_MS,
            checks: 100_000,
            failures: 50,
            uptime_percent: Some(99.95),
        }],
        days: (0..40)
            .map(|back| DayCell {
                start: today - back * DAY_MS,
                checks: 1440,
                failures: if back == 1 { 36 } else { 0 },
            })
            .rev()
            .collect(),
    };
    app.store
        .put_uptime(TargetKind::Server, &[uptime("web-1"), uptime("db-2")])
        .await
        .unwrap();
    // An auto incident naming db-2 (title from its target), opened at 20:45 UTC yesterday.
    let opened = today - DAY_MS + (20 * 60 + 45) * 60_000;
    let affected = vec![AffectedTarget {
        id: "db-2".into(),
        name: String::new(),
        status: Status::Down,
    }];
    app.store
        .put_incident(&Incident {
            id: "auto-db-2-1".into(),
            kind: IncidentKind::Incident,
            source: IncidentSource::Auto,
            title: String::new(),
            status: IncidentStatus::Investigating,
            targets: affected.clone(),
            opened_at: opened,
            resolved_at: None,
            starts_at: None,
            ends_at: None,
            more_targets: 0,
            dropped_updates: 0,
            updates: vec![IncidentUpdate {
                at: opened,
                status: IncidentStatus::Investigating,
                body: String::new(),
                changes: affected,
                alert_key: None,
            }],
            postmortem: None,
            version: 1,
        })
        .await
        .unwrap();
    let page = json!({"title": "Shop", "groups": ["web"], "footer": EVIL});
    let (code, body) = common::call(&app, "PUT", "/v1/pages/shop", &page.to_string()).await;
    assert_eq!(code, 201, "{body}");

    let base = common::serve_api(app.clone()).await;
    let (status, headers, html) = get(&base, "/").await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    // Problems first, the totals, hostile names as text.
    assert!(html.find("data-g=\"db\"").unwrap() < html.find("data-g=\"web\"").unwrap());
    assert!(html.find("data-id=\"db-2\"").unwrap() < html.find("data-id=\"db-1\"").unwrap());
    assert!(html.contains("<b>3</b> operational") && html.contains("<b>1</b> down"));
    assert!(html.contains("<b>1</b> not yet checked"));
    assert!(!html.contains("<script>alert") && html.contains("&lt;script&gt;alert(1)"));
    // The bar: 90 cells, yesterday amber (97.5 %) with its title, today green.
    let web1 = row(&html, "web-1");
    let cells = days_of(web1);
    assert_eq!(cells.len(), 90);
    let yesterday = &lookout_core::time::rfc3339(today - DAY_MS)[..10];
    assert!(
        cells[88] == format!(" class=a title=\"{yesterday} · uptime 97.50% · 0 incidents\""),
        "{}",
        cells[88]
    );
    assert!(cells[89] == " class=g" && cells[49].is_empty());
    assert!(web1.contains("99.95%"));
    assert!(days_of(row(&html, "db-2"))[89].contains("1 incidents"));
    let new = row(&html, "new-1");
    assert!(new.contains("no data") && !new.contains('%'), "{new}");
    // The incident, titled from its target, in Persian and Tehran time (+03:30).
    let (_, _, fa) = get(&base, "/?lang=fa&tz=Asia/Tehran").await;
    assert!(fa.contains("lang=\"fa\" dir=\"rtl\"") && fa.contains("زمان‌ها به وقت Asia/Tehran"));
    let local = fa.split("id=\"open-h\"").nth(1).unwrap();
    assert!(local.contains("&lt;script&gt;alert(1)") && local.contains("از کار افتاده"));
    let tehran = jiff::Timestamp::from_millisecond(opened)
        .unwrap()
        .to_zoned(jiff::tz::TimeZone::get("Asia/Tehran").unwrap())
        .strftime("%Y-%m-%d %H:%M")
        .to_string();
    let persian: String = tehran
        .chars()
        .map(|c| {
            c.to_digit(10)
                .map_or(c, |d| char::from_u32(0x06F0 + d).unwrap())
        })
        .collect();
    assert!(local.contains(&persian), "{persian} in {local}");
    // The shop page shows only web, with its footer as text.
    let (status, _, shop) = get(&base, "/p/shop").await;
    assert_eq!(status, 200);
    assert!(shop.contains("data-g=\"web\"") && !shop.contains("data-g=\"db\""));
    assert!(shop.contains("<title>Shop</title>"));
    assert!(
        shop.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot; onmouseover=&quot;x &amp;amp;")
    );
    assert!(
        !shop.contains("auto-db-2-1"),
        "an incident of another group"
    );
    assert_eq!(get(&base, "/p/none").await.0, 404);
    // The JSON version, with CORS; names as given.
    let (status, headers, text) = get(&base, "/status.json?days=90").await;
    assert_eq!(status, 200);
    assert_eq!(headers["access-control-allow-origin"], "*");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["overall"], "down");
    assert_eq!(body["totals"]["down"], 1);
    assert_eq!(body["groups"][0]["rows"][0]["name"], EVIL);
    assert_eq!(
        body["groups"][0]["rows"][0]["days"][88]["uptime_percent"],
        97.5
    );
    assert_eq!(body["groups"][0]["rows"][0]["days"][88]["date"], yesterday);
    assert_eq!(body["incidents"][0]["title"], format!("{EVIL} is down"));
    let (_, headers, text) = get(&base, "/p/shop/status.json").await;
    assert_eq!(headers["access-control-allow-origin"], "*");
    let shop: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(shop["page"]["footer"], EVIL);
    assert_eq!(shop["groups"].as_array().unwrap().len(), 1);
    // An unknown zone: 400 naming tz.
    let (status, _, text) = get(&base, "/?tz=Mars%2FOlympus").await;
    assert_eq!(status, 400);
    assert!(text.contains("\"message\":\"tz: "), "{text}");
}

/// The template's optional custom domain: two parameters (empty by default), a condition, the
/// API Gateway domain and its mapping to the HTTP API created only with it, and the rule that a
/// domain needs its certificate.
#[test]
fn the_template_documents_an_optional_custom_domain_for_the_http_api() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/template.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    let t: serde_norway::Value = serde_norway::from_str(&text).unwrap();
    for p in ["DomainName", "CertificateArn"] {
        assert_eq!(t["Parameters"][p]["Default"].as_str(), Some(""), "{p}");
    }
    assert!(!t["Conditions"]["HasDomain"].is_null());
    let domain = &t["Resources"]["ApiDomain"];
    assert_eq!(
        domain["Type"].as_str(),
        Some("AWS::ApiGatewayV2::DomainName")
    );
    assert_eq!(domain["Condition"].as_str(), Some("HasDomain"));
    let mapping = &t["Resources"]["ApiDomainMapping"];
    assert_eq!(
        mapping["Type"].as_str(),
        Some("AWS::ApiGatewayV2::ApiMapping")
    );
    assert_eq!(mapping["Condition"].as_str(), Some("HasDomain"));
    assert_eq!(mapping["Properties"]["Stage"].as_str(), Some("$default"));
    // The mapping names the HTTP API the functions' events use, and that API exists.
    let api = format!("{:?}", mapping["Properties"]["ApiId"]);
    assert!(api.contains("HttpApi"), "{api}");
    assert_eq!(
        t["Resources"]["HttpApi"]["Type"].as_str(),
        Some("AWS::Serverless::HttpApi")
    );
    assert!(!t["Rules"]["DomainNeedsCertificate"].is_null());
}
