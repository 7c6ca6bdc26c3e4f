//! The OpenAPI document against the hand-written one it replaced, and the routes added since.

use super::*;
use std::collections::BTreeSet;

/// (method, path) → (parameters as (in, name, required), response codes, request body
/// required or absent, security).
type Shape = (
    BTreeSet<(String, String, bool)>,
    BTreeSet<String>,
    Option<bool>,
    Value,
);

fn shapes(doc: &Value) -> std::collections::BTreeMap<(String, String), Shape> {
    let mut out = std::collections::BTreeMap::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let params = op["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    let name = p["name"].as_str().unwrap().to_string();
                    (
                        p["in"].as_str().unwrap().to_string(),
                        name,
                        p["required"] == true,
                    )
                })
                .collect();
            let codes = op["responses"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect();
            let body = op.get("requestBody").map(|b| b["required"] == true);
            let key = (method.clone(), path.clone());
            out.insert(key, (params, codes, body, op["security"].clone()));
        }
    }
    out
}

/// Routes added since `openapi-before.json` was written (issue 16: notification channels).
const ADDED: &[(&str, &str)] = &[
    ("get", "/v1/channels"),
    ("post", "/v1/channels"),
    ("get", "/v1/channels/{id}"),
    ("patch", "/v1/channels/{id}"),
    ("delete", "/v1/channels/{id}"),
    ("post", "/v1/channels/{id}/test"),
    ("get", "/v1/deliveries"),
    ("post", "/v1/deliveries/{id}/retry"),
    // Issue 19: a day's results exported now.
    ("post", "/v1/exports/results"),
];

/// Public routes added since (issue 18: badges, the feed, a target's page).
const ADDED_PUBLIC: &[(&str, &str)] = &[
    ("get", "/badges/targets/{id}/status.svg"),
    ("get", "/badges/targets/{id}/uptime/{window}"),
    ("get", "/badges/targets/{id}/latency.svg"),
    ("get", "/badges/groups/{group}/status.svg"),
    ("get", "/badges/groups/{group}/uptime/{window}"),
    ("get", "/badges/groups/{group}/latency.svg"),
    ("get", "/feed.atom"),
    ("get", "/targets/{id}"),
];

/// Routes added since for the status pages (issue 18).
const ADDED_PAGES: &[(&str, &str)] = &[
    ("get", "/p/{slug}"),
    ("get", "/status.json"),
    ("get", "/p/{slug}/status.json"),
    ("get", "/v1/pages"),
    ("get", "/v1/pages/{slug}"),
    ("put", "/v1/pages/{slug}"),
    ("delete", "/v1/pages/{slug}"),
];

/// The audit log (issue 19).
const ADDED_AUDIT: &[(&str, &str)] = &[("get", "/v1/audit")];

/// SLOs (issue 20).
const ADDED_SLOS: &[(&str, &str)] = &[
    ("get", "/v1/slos"),
    ("get", "/v1/slos/{id}"),
    ("post", "/v1/slos"),
    ("patch", "/v1/slos/{id}"),
    ("delete", "/v1/slos/{id}"),
];

/// The push route and the heartbeats' routes (issue 21).
const ADDED_PUSH: &[(&str, &str)] = &[
    ("get", "/v1/push/{token}"),
    ("post", "/v1/push/{token}"),
    ("get", "/v1/push/{token}/{signal}"),
    ("post", "/v1/push/{token}/{signal}"),
    ("post", "/v1/targets/{id}/push-token"),
    ("get", "/v1/targets/{id}/pings"),
];

/// Routes whose shape changed since (issue 18: `GET /` takes `tz`; issue 19: the results
/// routes take `format`, the status `limit`, `cursor` and `fields`).
const CHANGED: &[(&str, &str)] = &[
    ("get", "/"),
    ("get", "/v1/results"),
    ("get", "/v1/targets/{id}/results"),
    ("get", "/v1/status"),
];

/// Read routes added since (issue 17: probe locations).
const ADDED_READ: &[(&str, &str)] = &[
    ("get", "/v1/locations"),
    // Issue 19: the caches' statistics.
    ("get", "/v1/cache/stats"),
];

/// Routes added since (issue 18: incidents and subscriptions).
const ADDED_INCIDENTS: &[(&str, &str)] = &[
    ("get", "/v1/incidents"),
    ("get", "/v1/incidents/{id}"),
    ("post", "/v1/incidents"),
    ("patch", "/v1/incidents/{id}"),
    ("delete", "/v1/incidents/{id}"),
    ("post", "/v1/subscriptions"),
];

#[test]
fn the_generated_document_has_the_routes_parameters_and_answers_of_the_hand_written_one() {
    let before: Value = serde_json::from_str(include_str!("openapi-before.json")).unwrap();
    let (before, now) = (shapes(&before), shapes(&document()));
    let mut expected: Vec<(String, String)> = before.keys().cloned().collect();
    expected.extend(
        ADDED
            .iter()
            .chain(ADDED_READ)
            .chain(ADDED_INCIDENTS)
            .chain(ADDED_PUBLIC)
            .chain(ADDED_PAGES)
            .chain(ADDED_AUDIT)
            .chain(ADDED_SLOS)
            .chain(ADDED_PUSH)
            .map(|(m, p)| (m.to_string(), p.to_string())),
    );
    expected.sort();
    assert_eq!(expected, now.keys().cloned().collect::<Vec<_>>());
    for (route, shape) in &before {
        if CHANGED.contains(&(route.0.as_str(), route.1.as_str())) {
            continue;
        }
        assert_eq!(&now[route], shape, "{route:?}");
    }
}

#[test]
fn the_notification_routes_are_admin_routes_with_the_shared_answers() {
    let now = shapes(&document());
    for (method, path) in ADDED {
        let (params, codes, _, security) = &now[&(method.to_string(), path.to_string())];
        assert_eq!(security, &json!([{"bearer": []}]), "{method} {path}");
        for code in ["400", "401", "403", "404", "422", "503"] {
            assert!(codes.contains(code), "{method} {path} lacks {code}");
        }
        if path.contains("{id}") {
            assert!(params.contains(&("path".into(), "id".into(), true)));
        }
    }
    let (params, ..) = &now[&("get".to_string(), "/v1/deliveries".to_string())];
    for name in ["status", "channel", "limit", "cursor"] {
        assert!(
            params.contains(&("query".into(), name.into(), false)),
            "{name}"
        );
    }
}

#[test]
fn the_badge_feed_and_target_page_routes_are_public_and_declare_their_documents() {
    let doc = document();
    let now = shapes(&doc);
    for (method, path) in ADDED_PUBLIC {
        let (_, codes, body, security) = &now[&(method.to_string(), path.to_string())];
        assert_eq!(security, &json!([{}, {"bearer": []}]), "{path}");
        assert!(body.is_none());
        for code in ["200", "400", "503"] {
            assert!(codes.contains(code), "{path} lacks {code}");
        }
        let op = &doc["paths"][path]["get"];
        let ok = op["responses"]["200"]["content"].as_object().unwrap();
        let expected = if path.starts_with("/badges") {
            "image/svg+xml"
        } else if *path == "/feed.atom" {
            "application/atom+xml; charset=utf-8"
        } else {
            "text/html"
        };
        assert!(ok.contains_key(expected), "{path}: {ok:?}");
        if *path != "/feed.atom" {
            let missing = op["responses"]["404"]["content"].as_object().unwrap();
            assert!(missing.contains_key(expected), "{path}: a {expected} 404");
        }
    }
    let window = doc["paths"]["/badges/targets/{id}/uptime/{window}"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "window")
        .unwrap()
        .clone();
    assert_eq!(
        window["schema"]["enum"],
        json!(["24h.svg", "7d.svg", "30d.svg"]),
        "{window}"
    );
    // Every schema reference of these routes resolves.
    let text: String = ADDED_PUBLIC
        .iter()
        .map(|(_, path)| doc["paths"][path].to_string())
        .collect();
    for r in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = &r[..r.find('"').unwrap()];
        assert!(doc["components"]["schemas"][name].is_object(), "{name}");
    }
}

#[test]
fn the_status_pages_routes_are_documented_with_their_schemas() {
    let doc = document();
    let now = shapes(&doc);
    for (method, path) in ADDED_PAGES {
        let (params, codes, _, security) = &now[&(method.to_string(), path.to_string())];
        let public = !path.starts_with("/v1/");
        let want = if public {
            json!([{}, {"bearer": []}])
        } else {
            json!([{"bearer": []}])
        };
        assert_eq!(security, &want, "{method} {path}");
        for code in ["200", "400", "404", "503"] {
            assert!(
                codes.contains(code) || *method != "get",
                "{method} {path} lacks {code}"
            );
        }
        if path.contains("{slug}") {
            assert!(params.contains(&("path".into(), "slug".into(), true)));
        }
        if public {
            assert!(params.contains(&("query".into(), "tz".into(), false)));
        }
    }
    // The HTML 404 of an unknown page is declared as HTML.
    assert!(
        doc["paths"]["/p/{slug}"]["get"]["responses"]["404"]["content"]["text/html"].is_object()
    );
    // Every schema the pages' answers and bodies name (and those name) is in the document.
    let mut text: String = ADDED_PAGES
        .iter()
        .map(|(m, p)| doc["paths"][*p][*m].to_string())
        .collect();
    for name in [
        "StatusJson",
        "GroupJson",
        "RowJson",
        "IncidentJson",
        "PageBody",
    ] {
        text.push_str(&doc["components"]["schemas"][name].to_string());
    }
    for name in text.split("#/components/schemas/").skip(1) {
        let name = name.split('"').next().unwrap();
        assert!(doc["components"]["schemas"][name].is_object(), "{name}");
    }
    let row = &doc["components"]["schemas"]["RowJson"]["properties"];
    for field in ["id", "name", "status", "uptime_30d", "days"] {
        assert!(row[field].is_object(), "{field} in {row}");
    }
}

#[test]
fn the_locations_route_is_a_read_route_with_its_answer_described() {
    let doc = document();
    let now = shapes(&doc);
    for (method, path) in ADDED_READ {
        let (params, codes, body, security) = &now[&(method.to_string(), path.to_string())];
        assert_eq!(security, &json!([{"bearer": []}]), "{method} {path}");
        assert!(params.is_empty() && body.is_none());
        for code in ["200", "401", "503"] {
            assert!(codes.contains(code), "{method} {path} lacks {code}");
        }
        assert!(!codes.contains("403"), "a read route");
    }
    let schema = &doc["components"]["schemas"]["LocationView"]["properties"];
    for field in ["location", "last_seen", "silent", "overdue", "home"] {
        assert!(schema[field].is_object(), "{field} in {schema}");
    }
}

#[test]
fn the_push_routes_need_no_token_and_declare_their_answers() {
    let doc = document();
    let now = shapes(&doc);
    for (method, path) in &ADDED_PUSH[..4] {
        let (params, codes, body, security) = &now[&(method.to_string(), path.to_string())];
        assert_eq!(security, &json!([{}]), "{method} {path}: no bearer token");
        for code in ["200", "400", "404", "413", "503"] {
            assert!(codes.contains(code), "{method} {path} lacks {code}");
        }
        assert!(
            !codes.contains("401") && !codes.contains("403"),
            "{method} {path}"
        );
        assert!(params.contains(&("path".into(), "token".into(), true)));
        for name in ["status", "msg", "exit_code"] {
            assert!(
                params.contains(&("query".into(), name.into(), false)),
                "{name}"
            );
        }
        assert_eq!(body.is_some(), *method == "post", "{method} {path}");
        let ok = &doc["paths"][path][method]["responses"]["200"]["content"]["application/json"];
        assert_eq!(ok["schema"]["$ref"], "#/components/schemas/PushAnswer");
    }
    assert!(doc["components"]["schemas"]["PushAnswer"]["properties"]["status"].is_object());
    // Every schema reference of these routes resolves.
    let text: String = ADDED_PUSH
        .iter()
        .map(|(m, p)| doc["paths"][*p][*m].to_string())
        .chain(
            [
                "PushAnswer",
                "PingsAnswer",
                "PingView",
                "PushTokenAnswer",
                "TargetDefinition",
            ]
            .map(|n| doc["components"]["schemas"][n].to_string()),
        )
        .collect();
    for r in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = &r[..r.find('"').unwrap()];
        assert!(doc["components"]["schemas"][name].is_object(), "{name}");
    }
    let (_, codes, _, security) = &now[&("post".into(), "/v1/targets/{id}/push-token".into())];
    assert_eq!(security, &json!([{"bearer": []}]));
    assert!(codes.contains("403"));
    let (_, codes, _, _) = &now[&("get".into(), "/v1/targets/{id}/pings".into())];
    assert!(codes.contains("404") && !codes.contains("403"));
    // The listings' `kind` takes the definitions' kinds too.
    for path in ["/v1/targets", "/v1/status"] {
        let kind = doc["paths"][path]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "kind")
            .unwrap()
            .to_string();
        for k in ["server", "proxy", "tcp", "tls", "dns", "heartbeat"] {
            assert!(kind.contains(&format!("\"{k}\"")), "{path}: {kind}");
        }
    }
}

#[test]
fn the_target_definition_schema_has_each_kind_with_its_fields() {
    let doc = document();
    let schemas = &doc["components"]["schemas"];
    let kinds: Vec<String> = schemas["TargetDefinition"]["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let name = r["$ref"].as_str().unwrap().rsplit('/').next().unwrap();
            schemas[name]["properties"]["kind"]["enum"][0]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(kinds, ["server", "proxy", "tcp", "tls", "dns", "heartbeat"]);
    for (name, fields) in [
        (
            "TcpCheck",
            &["host", "port", "send", "expect_prefix", "expect_regex"][..],
        ),
        (
            "TlsCheck",
            &[
                "host",
                "port",
                "server_name",
                "starttls",
                "cert_expiry_warn_days",
                "ca_pem",
            ],
        ),
        (
            "DnsCheck",
            &[
                "query_name",
                "record_type",
                "resolver",
                "transport",
                "expect_contains",
                "expect_equals",
                "expect_count",
            ],
        ),
        (
            "HeartbeatCheck",
            &["period_s", "grace_s", "token", "token_sha256"],
        ),
    ] {
        for f in fields
            .iter()
            .chain(&["id", "group", "interval_s", "failure_threshold"])
        {
            assert!(schemas[name]["properties"][f].is_object(), "{name}.{f}");
        }
    }
    // Every field a definition may carry is in its kind's schema, and no other.
    for (name, base) in [
        ("TcpCheck", json!({"kind": "tcp", "host": "h", "port": 1})),
        ("TlsCheck", json!({"kind": "tls", "host": "h", "port": 1})),
        (
            "DnsCheck",
            json!({"kind": "dns", "query_name": "a", "record_type": "A", "resolver": "10.0.0.2"}),
        ),
        (
            "HeartbeatCheck",
            json!({"kind": "heartbeat", "period_s": 60}),
        ),
    ] {
        let kind = base["kind"].clone();
        let props = schemas[name]["properties"].as_object().unwrap();
        for field in props.keys() {
            let mut t = base.clone();
            t["id"] = json!("a");
            t["group"] = json!("g");
            if t.get(field).is_none() {
                t[field] = json!(null);
            }
            let e = lookout_core::domain::Target::from_json(t).err();
            assert!(
                e.as_ref()
                    .is_none_or(|e| !e.message.contains("unknown field")),
                "{kind}: {field}: {e:?}"
            );
        }
    }
    for method in ["post", "put"] {
        let body = &doc["paths"]["/v1/targets"][method]["requestBody"]["content"]
            ["application/json"]["schema"];
        assert_eq!(body["anyOf"].as_array().unwrap().len(), 3, "{method}");
    }
}
