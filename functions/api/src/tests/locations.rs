//! Probe locations in the API (issue 17): each location's verdicts in `GET /v1/status`, on the
//! status page and in `/metrics`, and `GET /v1/locations`, against the memory store.

use lookout_app::ports::LocationStore;
use lookout_app::usecases::probe_run::LocationSetup;
use lookout_core::domain::location::LocationVerdict;
use lookout_core::domain::{Status, TargetKind};

use super::*;

/// `app` with three locations deployed (home `eu-west-1`), grace `grace_s`.
fn located_app(grace_s: i64) -> Arc<App<MemoryStore>> {
    Arc::new(App {
        locations: Some(LocationSetup {
            name: "eu-west-1".into(),
            home: "eu-west-1".into(),
            all: vec!["eu-west-1".into(), "us-east-1".into(), "ap-south-1".into()],
            grace_ms: grace_s * 1000,
        }),
        ..Arc::into_inner(app()).unwrap()
    })
}

async fn create(app: &Arc<App<MemoryStore>>, targets: Value) {
    let (status, body) = call(
        app,
        request("POST", "/v1/targets", &targets.to_string(), Some(TOKEN)),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

fn verdict(target: &str, location: &str, status: Status, at: i64, latency: u64) -> LocationVerdict {
    LocationVerdict {
        target_id: target.into(),
        location: location.into(),
        status,
        since: at - 60_000,
        at,
        latency_ms: Some(latency),
        error: (status == Status::Down).then(|| "connection refused".to_string()),
        consecutive_failures: u32::from(status == Status::Down) * 3,
        consecutive_successes: u32::from(status == Status::Healthy) * 3,
    }
}

/// Targets `web` (probed from three locations, one failing) and `solo` (no verdicts).
async fn seed_located(app: &Arc<App<MemoryStore>>, now: i64) {
    create(
        app,
        json!([
            {"id":"web","name":"Web","group":"front","kind":"server","url":"http://127.0.0.1:9/"},
            {"id":"solo","group":"front","kind":"server","url":"http://127.0.0.1:9/"}
        ]),
    )
    .await;
    for (location, status, latency) in [
        ("us-east-1", Status::Healthy, 120),
        ("eu-west-1", Status::Healthy, 35),
        ("ap-south-1", Status::Down, 5000),
    ] {
        app.store
            .put_verdicts(
                TargetKind::Server,
                location,
                &[verdict("web", location, status, now, latency)],
                now,
            )
            .await
            .unwrap();
    }
}

fn target<'a>(body: &'a Value, id: &str) -> &'a Value {
    body["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .unwrap_or_else(|| panic!("no {id} in {body}"))
}

#[tokio::test]
async fn status_shows_each_locations_verdict_and_leaves_other_targets_as_they_were() {
    let app = located_app(180);
    let now = lookout_core::time::now_ms();
    seed_located(&app, now).await;
    let (status, body) = call(&app, request("GET", "/v1/status", "", None)).await;
    assert_eq!(status, StatusCode::OK);
    let web = &target(&body, "web")["locations"];
    let names: Vec<&str> = web
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["location"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ap-south-1", "eu-west-1", "us-east-1"]);
    assert_eq!(
        web[0],
        json!({
            "location": "ap-south-1",
            "status": "down",
            "since": lookout_core::time::rfc3339(now - 60_000),
            "at": lookout_core::time::rfc3339(now),
            "latency_ms": 5000,
            "error": "connection refused",
        })
    );
    assert_eq!(web[1]["latency_ms"], 35);
    assert_eq!(web[1]["error"], Value::Null);
    assert!(
        target(&body, "solo").get("locations").is_none(),
        "a target no location reported on has no locations field"
    );
}

#[tokio::test]
async fn without_verdicts_the_status_answer_has_no_locations_anywhere() {
    let app = app();
    create(
        &app,
        json!([{"id":"a","group":"g","kind":"server","url":"http://127.0.0.1:9/"}]),
    )
    .await;
    let (_, body) = call(&app, request("GET", "/v1/status", "", None)).await;
    assert!(!body.to_string().contains("\"locations\""), "{body}");
}

#[tokio::test]
async fn locations_lists_each_dead_mans_switch_with_overdue_from_the_grace() {
    let app = located_app(300);
    let now = lookout_core::time::now_ms();
    // eu-west-1 reported just now; us-east-1 ten minutes ago and was declared silent;
    // ap-south-1 is deployed and never reported.
    assert!(!app.store.heartbeat("eu-west-1", now).await.unwrap());
    app.store
        .heartbeat("us-east-1", now - 600_000)
        .await
        .unwrap();
    assert!(app
        .store
        .mark_silent("us-east-1", now - 600_000)
        .await
        .unwrap());
    // The read group: no token is 401, the read token works.
    let (status, _) = call(&app, request("GET", "/v1/locations", "", None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = call(&app, request("GET", "/v1/locations", "", Some(READ))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["grace_s"], 300);
    let list = body["locations"].as_array().unwrap();
    let by = |name: &str| {
        list.iter()
            .find(|l| l["location"] == name)
            .unwrap_or_else(|| panic!("no {name} in {body}"))
            .clone()
    };
    let names: Vec<&str> = list
        .iter()
        .map(|l| l["location"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ap-south-1", "eu-west-1", "us-east-1"]);
    let eu = by("eu-west-1");
    assert_eq!(
        (
            eu["overdue"].as_bool(),
            eu["silent"].as_bool(),
            eu["home"].as_bool()
        ),
        (Some(false), Some(false), Some(true))
    );
    assert_eq!(eu["last_seen"], lookout_core::time::rfc3339(now));
    assert_eq!(eu["last_seen_ms"], now);
    let us = by("us-east-1");
    assert_eq!(
        (
            us["overdue"].as_bool(),
            us["silent"].as_bool(),
            us["home"].as_bool()
        ),
        (Some(true), Some(true), Some(false))
    );
    let ap = by("ap-south-1");
    assert_eq!(
        (
            ap["overdue"].as_bool(),
            ap["last_seen"].is_null(),
            ap["last_seen_ms"].as_i64()
        ),
        (Some(true), true, Some(0))
    );
    // A longer grace makes the same silence not overdue.
    let patient = located_app(3600);
    patient
        .store
        .heartbeat("us-east-1", now - 600_000)
        .await
        .unwrap();
    let (_, body) = call(&patient, request("GET", "/v1/locations", "", Some(READ))).await;
    let us = body["locations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["location"] == "us-east-1")
        .unwrap()
        .clone();
    assert_eq!(
        (us["overdue"].as_bool(), body["grace_s"].as_i64()),
        (Some(false), Some(3600))
    );
}

#[tokio::test]
async fn without_locations_set_up_the_grace_is_180_s_and_only_reporters_are_listed() {
    let app = app();
    let now = lookout_core::time::now_ms();
    let (_, body) = call(&app, request("GET", "/v1/locations", "", Some(READ))).await;
    assert_eq!(body["grace_s"], 180);
    assert_eq!(body["locations"], json!([]));
    app.store
        .heartbeat("eu-west-1", now - 170_000)
        .await
        .unwrap();
    app.store
        .heartbeat("us-east-1", now - 190_000)
        .await
        .unwrap();
    let (_, body) = call(&app, request("GET", "/v1/locations", "", Some(READ))).await;
    let overdue: Vec<(String, bool, bool)> = body["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["location"].as_str().unwrap().to_string(),
                l["overdue"].as_bool().unwrap(),
                l["home"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        overdue,
        [
            ("eu-west-1".into(), false, false),
            ("us-east-1".into(), true, false)
        ]
    );
}

#[tokio::test]
async fn metrics_give_each_locations_latency_and_whether_it_reports() {
    let app = located_app(180);
    let now = lookout_core::time::now_ms();
    seed_located(&app, now).await;
    app.store.heartbeat("eu-west-1", now).await.unwrap();
    app.store
        .heartbeat("ap-south-1", now - 400_000)
        .await
        .unwrap();
    let resp = handle(&app, request("GET", "/metrics", "", None)).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let text = String::from_utf8(resp.body().to_vec()).unwrap();
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string())))
        .expect("valid exposition format");
    let value = |name: &str, labels: &[(&str, &str)]| {
        scrape
            .samples
            .iter()
            .find(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
            .map(|s| match s.value {
                prometheus_parse::Value::Gauge(v) => v,
                _ => f64::NAN,
            })
    };
    let latency = |location| {
        value(
            "lookout_location_latency_ms",
            &[
                ("target", "web"),
                ("kind", "server"),
                ("location", location),
            ],
        )
    };
    assert_eq!(latency("eu-west-1"), Some(35.0));
    assert_eq!(latency("us-east-1"), Some(120.0));
    assert_eq!(latency("ap-south-1"), Some(5000.0));
    assert!(
        value("lookout_location_latency_ms", &[("target", "solo")]).is_none(),
        "a target without verdicts has no location latency"
    );
    assert_eq!(
        value("lookout_location_up", &[("location", "eu-west-1")]),
        Some(1.0)
    );
    assert_eq!(
        value("lookout_location_up", &[("location", "ap-south-1")]),
        Some(0.0)
    );
}

#[tokio::test]
async fn the_status_page_shows_each_locations_latency_in_every_language() {
    let app = located_app(180);
    let now = lookout_core::time::now_ms();
    seed_located(&app, now).await;
    let html = page(&app, "/").await;
    let row = html
        .split("<li class=\"target\"")
        .find(|r| r.contains("data-id=\"web\""))
        .expect("web's row");
    assert!(row.contains("By location:"), "{row}");
    for (location, latency) in [
        ("ap-south-1", "5000 ms"),
        ("eu-west-1", "35 ms"),
        ("us-east-1", "120 ms"),
    ] {
        assert!(
            row.contains(&format!("data-location=\"{location}\""))
                && row.contains(&format!("{location} {latency}")),
            "{location} {latency} in {row}"
        );
    }
    assert!(row.find("ap-south-1").unwrap() < row.find("us-east-1").unwrap());
    let solo = html
        .split("<li class=\"target\"")
        .find(|r| r.contains("data-id=\"solo\""))
        .expect("solo's row");
    assert!(!solo.contains("class=\"locs\""), "{solo}");
    assert!(page(&app, "/?lang=fa").await.contains("به تفکیک مکان:"));
    assert!(page(&app, "/?lang=ar").await.contains("حسب الموقع:"));
}
