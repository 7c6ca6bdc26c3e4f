//! SLOs through the API (issue 20), against the memory store: the routes, every refusal naming
//! its field, the tokens, the status of a synthetic history, the audit entries, and each
//! answer against the schema the OpenAPI document declares for it.

use lookout_app::ports::SloStore as _;
use lookout_core::domain::slo::{Firing, SliCounts, Slo, SloRecord, MAX_SLOS};
use lookout_core::time::{DAY_MS, HOUR_MS, MINUTE_MS};

use super::*;

#[path = "slos_schema.rs"]
pub(super) mod schema;
use schema::conforms;

fn checkout() -> Value {
    json!({"id": "checkout", "name": "Checkout API", "group": "checkout",
           "objective": 99.9, "window": "30d", "sli": {"type": "availability"}})
}

async fn send(
    app: &Arc<App<MemoryStore>>,
    method: &str,
    path: &str,
    body: Value,
) -> (StatusCode, Value) {
    let body = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    call(app, request(method, path, &body, Some(TOKEN))).await
}

async fn with_target(app: &Arc<App<MemoryStore>>, id: &str, group: &str) {
    let body = json!({"id": id, "kind": "server", "group": group,
        "url": "http://127.0.0.1:18080/health", "tags": ["prod"]});
    let (status, body) = send(app, "POST", "/v1/targets", body).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn an_slo_is_created_read_listed_patched_and_deleted() {
    let app = app();
    with_target(&app, "pay-1", "checkout").await;
    let resp = handle(
        &app,
        request("POST", "/v1/slos", &checkout().to_string(), Some(TOKEN)),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_eq!(resp.headers()["location"], "/v1/slos/checkout");
    let body: Value = serde_json::from_slice(resp.body().as_ref()).unwrap();
    let slo = &body["slo"];
    assert_eq!(
        (&slo["id"], &slo["group"], &slo["objective"]),
        (&json!("checkout"), &json!("checkout"), &json!(99.9))
    );
    assert_eq!(
        (&slo["version"], &slo["alerts"], &slo["exclude_maintenance"]),
        (&json!(1), &json!(true), &json!(true))
    );
    assert_eq!(body["warnings"], json!([]), "the group has a target");
    assert_eq!(slo["status"]["events"], 0);
    assert_eq!(slo["status"]["sli"], Value::Null);
    assert_eq!(slo["firing"], json!({"page": null, "ticket": null}));

    let (status, again) = send(&app, "POST", "/v1/slos", checkout()).await;
    assert_eq!(
        (status, &again["error"]["code"]),
        (StatusCode::CONFLICT, &json!("conflict"))
    );

    // A selector naming no target is accepted with a warning.
    let fast = json!({"id": "api-fast", "name": "API under 300 ms", "target": "api-1",
        "objective": 99, "window": "calendar_month", "sli": {"type": "latency", "threshold_ms": 300}});
    let (status, body) = send(&app, "POST", "/v1/slos", fast).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let warning = body["warnings"][0].as_str().unwrap();
    assert!(
        warning.starts_with("target:") && warning.contains("api-1"),
        "{warning}"
    );
    assert_eq!(
        body["slo"]["sli"],
        json!({"type": "latency", "threshold_ms": 300})
    );

    let (status, list) = call(&app, request("GET", "/v1/slos", "", Some(READ))).await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<&str> = list["slos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["api-fast", "checkout"], "by id");
    let (status, one) = call(&app, request("GET", "/v1/slos/checkout", "", Some(READ))).await;
    assert_eq!(
        (status, &one["slo"]["name"]),
        (StatusCode::OK, &json!("Checkout API"))
    );

    // A merge patch, sent as application/merge-patch+json, with the version read.
    let mut req = request(
        "PATCH",
        "/v1/slos/checkout",
        &json!({"version": 1, "objective": 99.5, "tag": "prod", "description": "the pay path"})
            .to_string(),
        Some(TOKEN),
    );
    req.headers_mut().insert(
        "content-type",
        "application/merge-patch+json".parse().unwrap(),
    );
    let (status, body) = call(&app, req).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let slo = &body["slo"];
    assert_eq!(
        (&slo["objective"], &slo["tag"], &slo["version"]),
        (&json!(99.5), &json!("prod"), &json!(2))
    );
    assert!(
        slo.get("group").is_none(),
        "the tag replaced the group: {slo}"
    );
    assert_eq!(body["warnings"], json!([]), "pay-1 is tagged prod");
    // The same version again is stale; no version is taken as it stands.
    let (status, _) = send(
        &app,
        "PATCH",
        "/v1/slos/checkout",
        json!({"version": 1, "name": "x"}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, body) = send(
        &app,
        "PATCH",
        "/v1/slos/checkout",
        json!({"group": "nobody"}),
    )
    .await;
    assert_eq!(
        (status, &body["slo"]["version"]),
        (StatusCode::OK, &json!(3))
    );
    assert!(
        body["warnings"][0]
            .as_str()
            .unwrap()
            .contains("no target in group nobody"),
        "{body}"
    );
    let stored = app.store.slo("checkout").await.unwrap().unwrap();
    assert_eq!((stored.objective, stored.version), (99.5, 3));

    let (status, _) = send(&app, "PATCH", "/v1/slos/nope", json!({"name": "x"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let resp = handle(
        &app,
        request("DELETE", "/v1/slos/checkout", "", Some(TOKEN)),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    for (method, token) in [("DELETE", TOKEN), ("GET", READ)] {
        let (status, body) =
            call(&app, request(method, "/v1/slos/checkout", "", Some(token))).await;
        assert_eq!(
            (status, &body["error"]["code"]),
            (StatusCode::NOT_FOUND, &json!("not_found")),
            "{method}"
        );
    }
    let (status, _) = call(&app, request("GET", "/v1/slos/..", "", Some(READ))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn every_bad_slo_is_a_4xx_naming_the_field() {
    let app = app();
    let with = |field: &str, value: Value| {
        let mut v = checkout();
        v[field] = value;
        v
    };
    let cases = [
        (with("objective", json!(100)), "objective"),
        (with("objective", json!(0)), "objective"),
        (with("target", json!("pay-1")), "group"),
        (with("colour", json!("red")), "colour"),
        (with("window", json!("7d")), "window"),
        (with("sli", json!({"type": "latency"})), "sli.threshold_ms"),
        (
            with("sli", json!({"type": "latency", "threshold_ms": 120_001})),
            "sli.threshold_ms",
        ),
        (with("id", json!("Check Out")), "id"),
        (with("name", json!("")), "name"),
        (json!({"id": "x"}), "name"),
    ];
    for (body, field) in cases {
        let (status, answer) = send(&app, "POST", "/v1/slos", body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
        assert_eq!(answer["error"]["field"], field, "{body}: {answer}");
    }
    for bad in ["{not json", "", "[1]"] {
        let (status, answer) = call(&app, request("POST", "/v1/slos", bad, Some(TOKEN))).await;
        assert!(
            status == StatusCode::BAD_REQUEST || status == StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {answer}"
        );
    }

    let (status, _) = send(&app, "POST", "/v1/slos", checkout()).await;
    assert_eq!(status, StatusCode::CREATED);
    for (patch, field) in [
        (json!({"version": "one"}), "version"),
        (json!({"objective": 99.9999}), "objective"),
        (json!({"window": null}), "window"),
        (json!({"group": "a", "tag": "b"}), "tag"),
        (json!({"sli": {"type": "latency"}}), "sli.threshold_ms"),
        (json!({"status": {}}), "status"),
        (json!({"id": "other"}), "id"),
        (json!([]), "body"),
    ] {
        let (status, answer) = send(&app, "PATCH", "/v1/slos/checkout", patch.clone()).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{patch}: {answer}"
        );
        assert_eq!(answer["error"]["field"], field, "{patch}: {answer}");
    }
    assert_eq!(
        app.store.slo("checkout").await.unwrap().unwrap().version,
        1,
        "nothing changed"
    );
}

#[tokio::test]
async fn the_read_token_reads_slos_and_cannot_write_them() {
    let app = app();
    let (status, _) = send(&app, "POST", "/v1/slos", checkout()).await;
    assert_eq!(status, StatusCode::CREATED);
    for path in ["/v1/slos", "/v1/slos/checkout"] {
        let (status, _) = call(&app, request("GET", path, "", Some(READ))).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        let (status, _) = call(&app, request("GET", path, "", None)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
    }
    for (method, path) in [
        ("POST", "/v1/slos"),
        ("PATCH", "/v1/slos/checkout"),
        ("DELETE", "/v1/slos/checkout"),
    ] {
        let (status, body) = call(
            &app,
            request(method, path, &checkout().to_string(), Some(READ)),
        )
        .await;
        assert_eq!(
            (status, &body["error"]["code"]),
            (StatusCode::FORBIDDEN, &json!("forbidden")),
            "{method} {path}"
        );
    }
    assert_eq!(app.store.slo("checkout").await.unwrap().unwrap().version, 1);
}

/// A record of `slo_id` holding, before `now`: 99,000 checks 48 hours ago with 40 bad, and
/// 1,000 checks 10 minutes ago with 10 bad; the page alert firing since an hour ago.
fn record(slo_id: &str, now: i64) -> SloRecord {
    let mut r = SloRecord::new(slo_id);
    r.version = 1;
    r.series.add_counts(
        now - 48 * HOUR_MS,
        SliCounts {
            good: 98_960,
            total: 99_000,
            excluded: 3,
        },
    );
    r.series.add_counts(
        now - 10 * MINUTE_MS,
        SliCounts {
            good: 990,
            total: 1_000,
            excluded: 0,
        },
    );
    let firing = Firing {
        since: now - HOUR_MS,
        rules: vec!["page_6h".into()],
        burn_long: 10.0,
        burn_short: 10.0,
        silenced: false,
    };
    r.alerts.firing.insert("page".into(), firing);
    r
}

fn near(actual: &Value, expected: f64, what: &str) {
    let a = actual
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: {actual} is not a number"));
    assert!(
        (a - expected).abs() < 1e-6 * expected.abs().max(1.0),
        "{what}: {a}, expected {expected}"
    );
}

#[tokio::test]
async fn the_status_of_a_synthetic_history_has_the_budget_it_should() {
    let app = app();
    let (status, _) = send(&app, "POST", "/v1/slos", checkout()).await;
    assert_eq!(status, StatusCode::CREATED);
    let now = lookout_core::time::now_ms();
    app.store
        .commit_slo_record(&record("checkout", now), &[])
        .await
        .unwrap();
    // As old as its window: its budget in minutes counts the whole window.
    let mut slo = app.store.slo("checkout").await.unwrap().unwrap();
    slo.created_at = now - 40 * DAY_MS;
    slo.version += 1;
    app.store.put_slo(&slo).await.unwrap();

    let (status, body) = call(&app, request("GET", "/v1/slos/checkout", "", Some(READ))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let s = &body["slo"]["status"];
    assert_eq!(
        (&s["events"], &s["good"], &s["excluded"]),
        (&json!(100_000), &json!(99_950), &json!(3))
    );
    near(&s["sli"], 99.95, "sli");
    let b = &s["budget"];
    assert_eq!(b["bad"], 50);
    near(&b["allowed_bad"], 100.0, "allowed_bad (0.1 % of 100,000)");
    near(&b["spent_share"], 0.5, "spent_share");
    near(&b["remaining_share"], 0.5, "remaining_share");
    near(
        &b["total_minutes"],
        43.2,
        "total_minutes (0.1 % of 30 days)",
    );
    near(&b["spent_minutes"], 21.6, "spent_minutes");
    near(&b["remaining_minutes"], 21.6, "remaining_minutes");
    let rates: Vec<(&str, f64, u64)> = s["burn_rates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["window"].as_str().unwrap(),
                r["rate"].as_f64().unwrap(),
                r["events"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rates.iter().map(|r| (r.0, r.2)).collect::<Vec<_>>(),
        [
            ("1h", 1_000),
            ("6h", 1_000),
            ("24h", 1_000),
            ("3d", 100_000)
        ]
    );
    for (window, rate, expected) in rates
        .iter()
        .map(|r| (r.0, r.1, if r.0 == "3d" { 0.5 } else { 10.0 }))
    {
        near(&json!(rate), expected, window);
    }
    // Half the budget left at 10x while the window's far end gives back its half share:
    // 30 d × 0.5 / (10 - 0.5) = 1.58 days.
    let at = s["at"].as_i64().unwrap();
    let left = s["exhausted_at"].as_i64().unwrap() - at;
    let expected = (30.0 * DAY_MS as f64 * 0.5 / 9.5) as i64;
    assert!((left - expected).abs() <= 1, "{left} ms");
    assert_eq!(body["slo"]["firing"]["page"]["since"], json!(now - HOUR_MS));
    assert_eq!(body["slo"]["firing"]["page"]["rules"], json!(["page_6h"]));
    assert_eq!(body["slo"]["firing"]["ticket"], Value::Null);

    let (_, list) = call(&app, request("GET", "/v1/slos", "", Some(READ))).await;
    assert_eq!(
        list["slos"][0]["status"]["budget"]["bad"], 50,
        "the listing reads the records too"
    );
}

#[tokio::test]
async fn every_slo_write_is_audited_with_its_change() {
    let app = app();
    send(&app, "POST", "/v1/slos", checkout()).await;
    send(
        &app,
        "PATCH",
        "/v1/slos/checkout",
        json!({"objective": 99.5}),
    )
    .await;
    let deleted = handle(
        &app,
        request("DELETE", "/v1/slos/checkout", "", Some(TOKEN)),
    )
    .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    send(&app, "POST", "/v1/slos", json!({"id": "x"})).await;
    let log = app.store.audit_log();
    let routes: Vec<(&str, &str)> = log
        .iter()
        .map(|e| (e.method.as_str(), e.route.as_str()))
        .collect();
    assert_eq!(
        routes,
        [
            ("POST", "/v1/slos"),
            ("PATCH", "/v1/slos/{id}"),
            ("DELETE", "/v1/slos/{id}"),
            ("POST", "/v1/slos")
        ]
    );
    for e in &log[..3] {
        assert_eq!(e.objects, ["slo:checkout"], "{e:?}");
    }
    let objective = log[1]
        .changes
        .iter()
        .find(|c| c.path == "objective")
        .expect("objective changed");
    assert_eq!(
        (&objective.before, &objective.after),
        (&Some(json!(99.9)), &Some(json!(99.5)))
    );
    assert!(log[0]
        .changes
        .iter()
        .any(|c| c.path == "group" && c.before.is_none()));
    assert!(!log[2].changes.is_empty() && log[2].changes.iter().all(|c| c.after.is_none()));
    assert_eq!(
        log[3].outcome.status, 422,
        "a refused write is recorded too"
    );
    assert!(log[3].changes.is_empty());
}

#[tokio::test]
async fn no_slo_is_created_beyond_the_limit() {
    let app = app();
    let template: Slo = serde_json::from_value(json!({"id": "x", "name": "x", "group": "g",
        "objective": 99.0, "window": "30d", "sli": {"type": "availability"}, "version": 1}))
    .unwrap();
    for i in 0..MAX_SLOS {
        app.store
            .put_slo(&Slo {
                id: format!("slo-{i}"),
                ..template.clone()
            })
            .await
            .unwrap();
    }
    let (status, body) = send(&app, "POST", "/v1/slos", checkout()).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("invalid_request")),
        "{body}"
    );
    assert!(app.store.slo("checkout").await.unwrap().is_none());
}

#[tokio::test]
async fn every_slo_answer_matches_the_schema_the_document_declares() {
    let doc = crate::openapi::document();
    let app = app();
    with_target(&app, "pay-1", "checkout").await;
    let answer_schema = |path: &str, method: &str, code: &str| {
        doc["paths"][path][method]["responses"][code]["content"]["application/json"]["schema"]
            .clone()
    };
    let (status, created) = send(&app, "POST", "/v1/slos", checkout()).await;
    assert_eq!(status, StatusCode::CREATED);
    send(
        &app,
        "POST",
        "/v1/slos",
        json!({"id": "api-fast", "name": "Fast", "target": "nope",
        "objective": 99, "window": "calendar_month", "description": "d", "alerts": false,
        "sli": {"type": "latency", "threshold_ms": 300}}),
    )
    .await;
    let now = lookout_core::time::now_ms();
    app.store
        .commit_slo_record(&record("checkout", now), &[])
        .await
        .unwrap();
    let (_, list) = call(&app, request("GET", "/v1/slos", "", Some(READ))).await;
    let (_, one) = call(&app, request("GET", "/v1/slos/checkout", "", Some(READ))).await;
    let (_, patched) = send(
        &app,
        "PATCH",
        "/v1/slos/api-fast",
        json!({"sli": {"threshold_ms": 500}}),
    )
    .await;
    let (_, missing) = call(&app, request("GET", "/v1/slos/nope", "", Some(READ))).await;
    let (_, refused) = send(&app, "POST", "/v1/slos", json!({"id": 1})).await;
    for (value, path, method, code) in [
        (&created, "/v1/slos", "post", "201"),
        (&list, "/v1/slos", "get", "200"),
        (&one, "/v1/slos/{id}", "get", "200"),
        (&patched, "/v1/slos/{id}", "patch", "200"),
        (&missing, "/v1/slos/{id}", "get", "404"),
        (&refused, "/v1/slos", "post", "422"),
    ] {
        let schema = answer_schema(path, method, code);
        assert!(
            schema.is_object(),
            "{method} {path} {code} declares no schema"
        );
        if let Err(e) = conforms(&doc, &schema, value, "$") {
            panic!("{method} {path} {code}: {e}\n{value}");
        }
    }
    assert_eq!(list["slos"].as_array().unwrap().len(), 2);
    // A wrong answer is caught: the check is not vacuous.
    let mut wrong = one.clone();
    wrong["slo"]["status"]["budget"]["bad"] = json!("fifty");
    assert!(conforms(
        &doc,
        &answer_schema("/v1/slos/{id}", "get", "200"),
        &wrong,
        "$"
    )
    .is_err());

    // OpenAPI 3.0: `exclusiveMinimum` is a boolean (schemathesis cannot read a number there).
    let body = &doc["components"]["schemas"]["SloBody"]["properties"]["objective"];
    assert_eq!(
        (&body["minimum"], body.get("exclusiveMinimum")),
        (&json!(0.001), None),
        "{body}"
    );
    let patch = &doc["paths"]["/v1/slos/{id}"]["patch"];
    let types = patch["requestBody"]["content"].as_object().unwrap();
    assert!(
        types.contains_key("application/merge-patch+json")
            && types.contains_key("application/json")
    );
    for (method, path) in [
        ("get", "/v1/slos"),
        ("get", "/v1/slos/{id}"),
        ("post", "/v1/slos"),
        ("patch", "/v1/slos/{id}"),
        ("delete", "/v1/slos/{id}"),
    ] {
        let op = &doc["paths"][path][method];
        let tag = if method == "get" { "read" } else { "admin" };
        assert_eq!(op["tags"][0], tag, "{method} {path}");
        assert_eq!(op["security"], json!([{"bearer": []}]), "{method} {path}");
    }
}

/// The pending `slo_burn_resolved` alerts of the memory store's outbox, by key.
async fn pending_resolves(app: &Arc<App<MemoryStore>>) -> Vec<String> {
    use lookout_app::ports::Outbox as _;
    let mut keys: Vec<String> = app
        .store
        .pending_alerts(lookout_core::time::now_ms())
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.kind == lookout_core::domain::AlertKind::SloBurnResolved)
        .map(|a| a.key)
        .collect();
    keys.sort();
    keys
}

#[tokio::test]
async fn deleting_an_slo_resolves_the_alerts_it_had_sent_and_not_the_silenced_ones() {
    let app = app();
    let (status, _) = send(&app, "POST", "/v1/slos", checkout()).await;
    assert_eq!(status, StatusCode::CREATED);
    let now = lookout_core::time::now_ms();
    let mut r = record("checkout", now);
    let silenced = Firing {
        since: now - 2 * HOUR_MS,
        rules: vec!["ticket_3d".into()],
        burn_long: 1.5,
        burn_short: 1.5,
        silenced: true,
    };
    r.alerts.firing.insert("ticket".into(), silenced);
    app.store.commit_slo_record(&r, &[]).await.unwrap();

    let resp = handle(
        &app,
        request("DELETE", "/v1/slos/checkout", "", Some(TOKEN)),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        pending_resolves(&app).await,
        vec![format!("slo#checkout#page#{}#resolved", now - HOUR_MS)]
    );
    assert!(app.store.slo_record("checkout").await.unwrap().is_none());
}

#[tokio::test]
async fn an_slo_whose_targets_change_counts_afresh_and_resolves_its_alerts() {
    let app = app();
    let (status, _) = send(&app, "POST", "/v1/slos", checkout()).await;
    assert_eq!(status, StatusCode::CREATED);
    let now = lookout_core::time::now_ms();
    app.store
        .commit_slo_record(&record("checkout", now), &[])
        .await
        .unwrap();

    // The objective alone: the counts stay.
    let (status, body) = send(
        &app,
        "PATCH",
        "/v1/slos/checkout",
        json!({"objective": 99.5}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["slo"]["status"]["events"], json!(100_000));
    assert!(pending_resolves(&app).await.is_empty());

    // Another group: the record starts afresh, the page alert is resolved in the same write.
    let (status, body) = send(
        &app,
        "PATCH",
        "/v1/slos/checkout",
        json!({"group": "payments"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["slo"]["status"]["events"], json!(0));
    assert_eq!(body["slo"]["firing"]["page"], Value::Null);
    assert_eq!(
        pending_resolves(&app).await,
        vec![format!("slo#checkout#page#{}#resolved", now - HOUR_MS)]
    );
    let stored = app.store.slo_record("checkout").await.unwrap().unwrap();
    assert_eq!(stored.version, 2);
}

#[tokio::test]
async fn an_objective_too_low_for_the_page_rules_is_taken_with_a_warning() {
    let app = app();
    with_target(&app, "pay-1", "checkout").await;
    let (status, body) = send(
        &app,
        "POST",
        "/v1/slos",
        json!({"id": "loose", "name": "Loose",
        "group": "checkout", "objective": 90, "window": "30d", "sli": {"type": "availability"}}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let warnings = body["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{body}");
    assert!(warnings[0]
        .as_str()
        .unwrap()
        .contains("page_1h can never fire"));
    let (status, body) = send(&app, "PATCH", "/v1/slos/loose", json!({"objective": 99})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["warnings"], json!([]));
}
