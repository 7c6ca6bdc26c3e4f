//! Tests of target definitions: defaults, validation, redaction.

use super::validate::invalid;
use super::*;
use serde_json::json;

fn parse(v: serde_json::Value) -> Result<Target, ValidationError> {
    serde_json::from_value::<Target>(v)
        .map_err(|e| invalid("body", e.to_string()))?
        .validate()
}

#[test]
fn a_minimal_server_gets_the_documented_defaults() {
    let t =
        parse(json!({"id":"a","group":"g","kind":"server","url":"http://127.0.0.1:1/"})).unwrap();
    assert_eq!(
        (t.name.as_str(), t.interval_s, t.failure_threshold),
        ("a", 60, 3)
    );
    assert_eq!(t.degraded_latency_ms, 2000);
    let Check::Server(s) = &t.check else {
        panic!("server")
    };
    assert_eq!(s.method, "GET");
    assert!(s.expected_status[0].contains(204) && !s.expected_status[0].contains(301));
}

#[test]
fn status_ranges_parse_from_numbers_and_text_and_reject_nonsense() {
    let t = parse(
        json!({"id":"a","group":"g","kind":"server","url":"http://h/",
        "expected_status":[200, "301-302"]}),
    )
    .unwrap();
    let Check::Server(s) = &t.check else { panic!() };
    assert!(s.expected_status.iter().any(|r| r.contains(302)));
    let e = serde_json::from_value::<Target>(json!({"id":"a","group":"g","kind":"server",
        "url":"http://h/","expected_status":["299-200"]}))
    .unwrap_err();
    assert!(e.to_string().contains("299-200"), "{e}");
}

#[test]
fn a_bad_definition_names_the_field() {
    let e = parse(json!({"id":"a","group":"g","kind":"server","url":"ftp://h/"})).unwrap_err();
    assert_eq!(e.field, "url");
    let e = parse(json!({"id":"A B","group":"g","kind":"server","url":"http://h/"})).unwrap_err();
    assert_eq!(e.field, "id");
    let e = parse(
        json!({"id":"p","group":"g","kind":"proxy","proxy_url":"http://u:p@h:1",
        "test_urls":["http://x/","nope"]}),
    )
    .unwrap_err();
    assert_eq!(e.field, "test_urls[1]");
    let e = parse(
        json!({"id":"p","group":"g","kind":"proxy","proxy_url":"http://h:1",
        "cost_per_gb": -1, "test_urls":["http://x/"]}),
    )
    .unwrap_err();
    assert_eq!(e.field, "cost_per_gb");
}

#[test]
fn from_json_refuses_unknown_fields_and_impossible_time_budgets() {
    let e = Target::from_json(
        json!({"id":"a","group":"g","kind":"server","url":"http://h/",
        "failure_treshold": 5}),
    )
    .unwrap_err();
    assert_eq!(e.field, "failure_treshold");
    let e = Target::from_json(
        json!({"id":"a","group":"g","kind":"server","url":"http://h/",
        "timeout_ms": 60000, "retries": 2}),
    )
    .unwrap_err();
    assert_eq!(e.field, "timeout_ms");
    let e = Target::from_json(
        json!({"id":"a","group":"g","kind":"server","url":"http://h/",
        "name": "two\nlines"}),
    )
    .unwrap_err();
    assert_eq!(e.field, "name");
    let e = Target::from_json(
        json!({"id":"a","group":"g","kind":"server","url":"http://h/",
        "body": "x".repeat(MAX_DEFINITION_BYTES)}),
    )
    .unwrap_err();
    assert_eq!(e.field, "definition");
    let e = Target::from_json(json!({"id":"a","group":"g","kind":"server"})).unwrap_err();
    assert!(e.message.contains("missing field `url`"), "{e}");
    assert!(
        Target::from_json(json!({"id":"a","group":"g","kind":"server","url":"http://h/"})).is_ok()
    );
}

#[test]
fn server_urls_bodies_and_query_tokens_are_redacted() {
    let s = parse(json!({"id":"s","group":"g","kind":"server",
        "url":"https://bob:pw1@h/x?token=t0k&page=1","body":"{\"password\":\"p2\"}"}))
    .unwrap();
    let shown = serde_json::to_string(&s.redacted()).unwrap();
    assert!(
        !["bob", "pw1", "t0k", "p2"]
            .iter()
            .any(|s| shown.contains(s)),
        "{shown}"
    );
    assert!(shown.contains("page=1"), "{shown}");
}

#[test]
fn derived_proxy_priority_orders_a_pool_cheapest_first() {
    let mk = |ty: &str, cost: f64| {
        parse(
            json!({"id":"p","group":"g","kind":"proxy","proxy_url":"http://h:1",
            "proxy_type": ty, "cost_per_gb": cost, "test_urls":["http://x/"]}),
        )
        .unwrap()
    };
    let (vps, dc, res) = (
        mk("vps", 0.0),
        mk("datacenter", 0.5),
        mk("residential", 8.0),
    );
    assert_eq!(
        (vps.priority(), dc.priority(), res.priority()),
        (10, 25, 80)
    );
    assert_eq!(mk("datacenter", 9.0).priority(), 40);
    assert_eq!(mk("residential", 0.1).priority(), 41);
}

#[test]
fn redacted_targets_hide_credentials_and_secret_headers() {
    let p = parse(
        json!({"id":"p","group":"g","kind":"proxy","proxy_url":"http://user:pw@h:1",
        "test_urls":["http://x/"]}),
    )
    .unwrap();
    let shown = serde_json::to_string(&p.redacted()).unwrap();
    assert!(!shown.contains("user") && !shown.contains("pw@"), "{shown}");
    let s = parse(
        json!({"id":"s","group":"g","kind":"server","url":"http://h/",
        "headers":{"Authorization":"Bearer abc","Accept":"text/plain"}}),
    )
    .unwrap();
    let shown = serde_json::to_string(&s.redacted()).unwrap();
    assert!(
        !shown.contains("abc") && shown.contains("text/plain"),
        "{shown}"
    );
}

#[test]
fn every_probe_option_is_validated_with_the_field_named() {
    let base = json!({"id":"s","group":"g","kind":"server","url":"https://h/"});
    let with = |extra: serde_json::Value| {
        let mut v = base.clone();
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        Target::from_json(v)
    };
    for (extra, field) in [
        (json!({"timeout_ms": 0}), "timeout_ms"),
        (json!({"timeout_ms": 120_001}), "timeout_ms"),
        (json!({"url": "gopher://h/"}), "url"),
        (json!({"url": "not a url"}), "url"),
        (json!({"connect_timeout_ms": 0}), "connect_timeout_ms"),
        (
            json!({"timeout_ms": 1000, "connect_timeout_ms": 2000}),
            "connect_timeout_ms",
        ),
        (json!({"backoff_ms": 0}), "backoff_ms"),
        (json!({"retries": 11}), "retries"),
        (
            json!({"timeout_ms": 30000, "retries": 3, "backoff_ms": 10000}),
            "timeout_ms",
        ),
        (json!({"json_pointer": "status"}), "json_pointer"),
        (json!({"json_equals": 1}), "json_equals"),
        (json!({"body_contains": ""}), "body_contains"),
        (json!({"max_body_bytes": 0}), "max_body_bytes"),
        (json!({"max_body_bytes": 2 << 20}), "max_body_bytes"),
        (
            json!({"cert_expiry_warn_days": 400}),
            "cert_expiry_warn_days",
        ),
        (json!({"ca_pem": "hello"}), "ca_pem"),
        (
            json!({"ca_pem": "-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----"}),
            "ca_pem",
        ),
        (
            json!({"secret_headers": ["bad header"]}),
            "secret_headers[0]",
        ),
        (json!({"follow_redirect": true}), "follow_redirect"),
    ] {
        let e = with(extra.clone()).expect_err(&extra.to_string());
        assert_eq!(e.field, field, "{extra}: {e}");
    }
    let t = with(
        json!({"connect_timeout_ms": 500, "backoff_ms": 100, "retries": 2,
        "body_contains": "ok", "body_not_contains": "error", "json_pointer": "/status",
        "json_equals": "ok", "max_body_bytes": 4096, "cert_expiry_warn_days": 30,
        "follow_redirects": true}),
    )
    .unwrap();
    assert_eq!(t.max_check_ms(), 10_000 * 3 + 100 + 200);
    let p = Target::from_json(json!({"id":"p","group":"g","kind":"proxy",
        "proxy_url":"ftp://h:1","test_urls":["http://x/"]}))
    .unwrap_err();
    assert_eq!(p.field, "proxy_url");
    let p = Target::from_json(json!({"id":"p","group":"g","kind":"proxy",
        "proxy_url":"socks5://u:pw@h:1080","test_urls":[]}))
    .unwrap_err();
    assert_eq!(p.field, "test_urls");
}

#[test]
fn headers_marked_secret_are_masked_too() {
    let s = Target::from_json(
        json!({"id":"s","group":"g","kind":"server","url":"http://h/",
        "headers":{"X-Tenant":"acme-7781","Accept":"text/plain"},
        "secret_headers":["x-tenant"]}),
    )
    .unwrap();
    let shown = serde_json::to_string(&s.redacted()).unwrap();
    assert!(
        !shown.contains("acme-7781") && shown.contains("text/plain"),
        "{shown}"
    );
}

#[test]
fn a_redacted_definition_sent_back_keeps_the_stored_secrets() {
    let old = Target::from_json(json!({"id":"p","group":"g","kind":"proxy",
        "proxy_url":"http://user:pw9@h:1","test_urls":["http://x/?token=t0k"]}))
    .unwrap();
    let mut edited = old.redacted();
    edited.interval_s = 30;
    edited.restore_secrets(&old);
    assert_eq!(edited.proxy().unwrap().proxy_url, "http://user:pw9@h:1");
    assert_eq!(edited.proxy().unwrap().test_urls[0], "http://x/?token=t0k");
    let s = Target::from_json(
        json!({"id":"s","group":"g","kind":"server","url":"http://h/",
        "headers":{"Authorization":"Bearer abc"},"body":"{\"password\":\"p\"}"}),
    )
    .unwrap();
    let mut back = s.redacted();
    back.restore_secrets(&s);
    assert_eq!(back, s);
    // A new value is kept.
    let mut changed = s.redacted();
    if let Check::Server(c) = &mut changed.check {
        c.headers
            .insert("Authorization".into(), "Bearer new".into());
    }
    changed.restore_secrets(&s);
    assert!(serde_json::to_string(&changed)
        .unwrap()
        .contains("Bearer new"));
}

#[test]
fn a_mistyped_secret_field_is_named_but_its_text_is_not_echoed() {
    let e = Target::from_json(serde_json::json!({"id":"a","group":"g","kind":"server",
        "url":"http://h/","headers":"Authorization: Bearer hunter2"}))
    .unwrap_err();
    assert_eq!(e.field, "headers");
    assert!(!e.message.contains("hunter2"), "{}", e.message);
    assert!(e.message.contains("invalid type"), "{}", e.message);
}

#[test]
fn a_value_of_the_wrong_type_is_named_by_its_json_path() {
    let server = |extra: serde_json::Value| {
        let mut v = json!({"id":"a","group":"g","kind":"server","url":"http://h/"});
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        Target::from_json(v).unwrap_err()
    };
    for (extra, field, says) in [
        (
            json!({"timeout_ms":"fast"}),
            "timeout_ms",
            "invalid type: string \"fast\", expected u64",
        ),
        (json!({"enabled":"yes"}), "enabled", "expected a boolean"),
        (json!({"tags":"a"}), "tags", "expected a sequence"),
        (json!({"tags":["a", 1]}), "tags[1]", "expected a string"),
        (json!({"headers":["X: 1"]}), "headers", "expected a map"),
        (
            json!({"headers":{"X-Token": 1}}),
            "headers.X-Token",
            "expected a string",
        ),
        (json!({"interval_s":-5}), "interval_s", "-5"),
        (json!({"priority":1.5}), "priority", "1.5"),
        (json!({"url":42}), "url", "expected a string"),
        (
            json!({"expected_status":["999-100"]}),
            "expected_status[0]",
            "999-100",
        ),
        (
            json!({"maintenance":[{"start": 5}]}),
            "maintenance[0].start",
            "",
        ),
    ] {
        let e = server(extra.clone());
        assert_eq!(e.field, field, "{extra}: {e}");
        assert!(e.message.contains(says), "{extra}: {e}");
    }
    let e = Target::from_json(json!({"id":"p","group":"g","kind":"proxy",
        "proxy_url":"http://h:1","test_urls":["http://x/"],"cost_per_gb":"cheap"}))
    .unwrap_err();
    assert_eq!(e.field, "cost_per_gb", "{e}");
    // No single field to name: the whole definition.
    let e = Target::from_json(json!({"id":"a","group":"g","kind":"server"})).unwrap_err();
    assert_eq!(e.to_string(), "definition: missing field `url`");
}

#[test]
fn dot_ids_and_tunnel_or_echo_methods_are_refused() {
    for id in [".", ".."] {
        let e = Target::from_json(json!({"id": id,"group":"g","kind":"server","url":"http://h/"}))
            .unwrap_err();
        assert_eq!(e.field, "id", "{id}");
    }
    assert!(
        Target::from_json(json!({"id":"a.b","group":"g","kind":"server","url":"http://h/"}))
            .is_ok()
    );
    for method in ["CONNECT", "TRACE", "trace"] {
        let e = Target::from_json(json!({"id":"a","group":"g","kind":"server",
            "url":"http://h/","method": method}))
        .unwrap_err();
        assert_eq!(e.field, "method", "{method}");
    }
    for method in ["GET", "HEAD", "OPTIONS", "PURGE"] {
        assert!(
            Target::from_json(json!({"id":"a","group":"g","kind":"server",
            "url":"http://h/","method": method}))
            .is_ok()
        );
    }
}

mod kinds {
    use super::super::*;
    use serde_json::json;

    fn parse(v: serde_json::Value) -> Result<Target, ValidationError> {
        let mut base = json!({"id": "t", "group": "g"});
        base.as_object_mut()
            .unwrap()
            .extend(v.as_object().unwrap().clone());
        Target::from_json(base)
    }

    #[test]
    fn each_new_kind_parses_and_runs_with_the_servers() {
        let tcp = parse(json!({"kind":"tcp","host":"127.0.0.1","port":6379,
            "send":"PING\r\n","expect_prefix":"+PONG"}))
        .unwrap();
        let tls = parse(json!({"kind":"tls","host":"smtp.example.com","port":587,
            "starttls":"smtp"}))
        .unwrap();
        let dns = parse(
            json!({"kind":"dns","query_name":"example.com.","record_type":"MX",
            "resolver":"[::1]:5353","expect_count":{"min":1}}),
        )
        .unwrap();
        let hb = parse(json!({"kind":"heartbeat","period_s":3600,
            "token":"abcdefghijklmnopqrstuvwxyz012345"}))
        .unwrap();
        for (t, k) in [
            (&tcp, CheckKind::Tcp),
            (&tls, CheckKind::Tls),
            (&dns, CheckKind::Dns),
            (&hb, CheckKind::Heartbeat),
        ] {
            assert_eq!(t.check_kind(), k);
            assert_eq!(t.kind(), TargetKind::Server);
            let back: Target = serde_json::from_value(serde_json::to_value(t).unwrap()).unwrap();
            assert_eq!(&back, t, "{k:?} round-trips through JSON");
        }
        assert_eq!(tls.cert_expiry_warn_days(), 14);
        assert_eq!(tcp.cert_expiry_warn_days(), 0);
        let Check::Dns(d) = &dns.check else { panic!() };
        assert_eq!(d.resolver_addr(), Some("[::1]:5353".parse().unwrap()));
        // The token is kept as its hash only, and one failed look is enough to be down.
        let h = hb.heartbeat().unwrap();
        assert_eq!(h.token, None);
        assert_eq!(
            h.token_sha256.as_deref(),
            Some(push_token_hash("abcdefghijklmnopqrstuvwxyz012345").as_str())
        );
        assert!(!serde_json::to_string(&hb).unwrap().contains("abcdefghij"));
        assert_eq!(hb.failure_threshold, 1);
        assert_eq!(h.grace_s, 300);
    }

    #[test]
    fn each_new_kind_refuses_with_the_field_named() {
        let cases = [
            (json!({"kind":"tcp","host":"http://x","port":1}), "host"),
            (json!({"kind":"tcp","host":"x","port":0}), "port"),
            (json!({"kind":"tcp","host":"x","port":70000}), "port"),
            (
                json!({"kind":"tcp","host":"x","port":1,"expect_regex":"("}),
                "expect_regex",
            ),
            (
                json!({"kind":"tcp","host":"x","port":1,"url":"http://x"}),
                "url",
            ),
            (
                json!({"kind":"tls","host":"x","port":1,"starttls":"ftp"}),
                "starttls",
            ),
            (
                json!({"kind":"tls","host":"x","port":1,"server_name":"a b"}),
                "server_name",
            ),
            (
                json!({"kind":"dns","query_name":"a..b","record_type":"A","resolver":"1.1.1.1"}),
                "query_name",
            ),
            (
                json!({"kind":"dns","query_name":"a","record_type":"SRV","resolver":"1.1.1.1"}),
                "record_type",
            ),
            (
                json!({"kind":"dns","query_name":"a","record_type":"A","resolver":"ns.example"}),
                "resolver",
            ),
            (
                json!({"kind":"dns","query_name":"a","record_type":"A","resolver":"1.1.1.1",
                "expect_count":{"min":3,"max":1}}),
                "expect_count.min",
            ),
            (json!({"kind":"heartbeat","period_s":10}), "period_s"),
            (
                json!({"kind":"heartbeat","period_s":60,"token":"short"}),
                "token",
            ),
            (
                json!({"kind":"heartbeat","period_s":60,"grace_s":0}),
                "grace_s",
            ),
            (
                json!({"kind":"heartbeat","period_s":3600,"grace_s":300,"interval_s":600}),
                "interval_s",
            ),
        ];
        for (v, field) in cases {
            let e = parse(v.clone()).expect_err(&v.to_string());
            assert_eq!(e.field, field, "{v}: {e}");
        }
    }

    #[test]
    fn a_tcp_send_is_masked_and_put_back_on_edit() {
        let t =
            parse(json!({"kind":"tcp","host":"x","port":6379,"send":"AUTH s3cret\r\n"})).unwrap();
        let shown = t.redacted();
        assert!(!serde_json::to_string(&shown).unwrap().contains("s3cret"));
        let mut edited = shown.clone();
        edited.restore_secrets(&t);
        assert_eq!(edited, t);
    }
}
