//! Tests of `dns.rs` against the test kit's loopback DNS server (`testing::dns`, hickory-server):
//! every record type, each expectation passing and failing, the rcodes, a silent server,
//! truncation then TCP, TCP only, and the address guard.

use serde_json::{json, Value};

use crate::probe::{ProbeOptions, Prober};
use crate::testing::dns::{big_txt, DnsMode, DnsServer};
use lookout_core::domain::{CheckResult, ErrorKind, Outcome, Target};

fn target(server: &DnsServer, extra: Value) -> Target {
    let mut v = json!({
        "id": "dns", "group": "g", "kind": "dns", "resolver": server.resolver(),
        "timeout_ms": 2000, "retries": 0,
    });
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    Target::from_json(v).unwrap()
}

async fn check(server: &DnsServer, extra: Value) -> CheckResult {
    let prober = Prober::with_options(ProbeOptions::allow_private()).unwrap();
    prober.check(&target(server, extra), 0).await
}

fn assert_up(r: &CheckResult) {
    assert_eq!(r.outcome, Outcome::Up, "{r:?}");
    assert_eq!(r.error, None, "{r:?}");
}

fn assert_failed(r: &CheckResult, kind: ErrorKind, words: &[&str]) {
    assert_eq!(r.outcome, Outcome::Failed, "{r:?}");
    assert_eq!(r.error, Some(kind), "{r:?}");
    let m = r.message.as_deref().unwrap_or_default();
    for w in words {
        assert!(m.contains(w), "{w:?} not in {m:?}");
    }
}

#[tokio::test]
async fn every_record_type_is_read_as_text() {
    let s = DnsServer::start().await;
    let cases = [
        ("www.lookout.test", "A", json!(["192.0.2.10", "192.0.2.11"])),
        // RFC 5952 text is compared as an address: upper case and a zero group still match.
        ("www.lookout.test.", "AAAA", json!(["2001:DB8:0::10"])),
        ("alias.lookout.test", "CNAME", json!(["WWW.lookout.test."])),
        (
            "lookout.test",
            "MX",
            json!(["10 mx1.lookout.test", "20 MX2.lookout.test."]),
        ),
        // A record's strings are joined with nothing between them.
        ("lookout.test", "TXT", json!(["v=spf1 -all", "hello world"])),
        (
            "lookout.test",
            "NS",
            json!(["ns1.lookout.test", "ns2.lookout.test"]),
        ),
    ];
    for (name, ty, equals) in cases {
        let r = check(
            &s,
            json!({"query_name": name, "record_type": ty, "expect_equals": equals}),
        )
        .await;
        assert_up(&r);
        assert!(r.bytes > 0, "{r:?}");
        assert_eq!(r.connect_ms, None, "UDP opens no connection: {r:?}");
    }
}

#[tokio::test]
async fn txt_data_is_compared_with_its_case() {
    let s = DnsServer::start().await;
    let r = check(
        &s,
        json!({"query_name": "lookout.test", "record_type": "TXT",
            "expect_contains": ["V=SPF1 -ALL"]}),
    )
    .await;
    assert_failed(&r, ErrorKind::Assertion, &["V=SPF1 -ALL"]);
}

#[tokio::test]
async fn an_address_query_through_a_cname_keeps_the_addresses_only() {
    let s = DnsServer::start().await;
    let r = check(
        &s,
        json!({"query_name": "alias.lookout.test", "record_type": "A",
            "expect_equals": ["192.0.2.11", "192.0.2.10"], "expect_count": {"min": 2, "max": 2}}),
    )
    .await;
    assert_up(&r);
}

#[tokio::test]
async fn expect_contains_passes_and_fails_listing_the_answers() {
    let s = DnsServer::start().await;
    let base = json!({"query_name": "www.lookout.test", "record_type": "A"});
    let mut pass = base.clone();
    pass["expect_contains"] = json!(["192.0.2.10"]);
    assert_up(&check(&s, pass).await);
    let mut fail = base;
    fail["expect_contains"] = json!(["192.0.2.10", "198.51.100.1"]);
    let r = check(&s, fail).await;
    assert_failed(
        &r,
        ErrorKind::Assertion,
        &["198.51.100.1", "2 answer(s): 192.0.2.10, 192.0.2.11"],
    );
}

#[tokio::test]
async fn expect_equals_fails_on_a_subset_and_a_superset() {
    let s = DnsServer::start().await;
    for equals in [
        json!(["192.0.2.10"]),
        json!(["192.0.2.10", "192.0.2.11", "192.0.2.12"]),
    ] {
        let r = check(
            &s,
            json!({"query_name": "www.lookout.test", "record_type": "A", "expect_equals": equals}),
        )
        .await;
        assert_failed(&r, ErrorKind::Assertion, &["exactly", "192.0.2.11"]);
    }
}

#[tokio::test]
async fn expect_count_bounds_the_answers() {
    let s = DnsServer::start().await;
    let q = |count: Value| json!({"query_name": "lookout.test", "record_type": "MX", "expect_count": count});
    assert_up(&check(&s, q(json!({"min": 2, "max": 2}))).await);
    assert_up(&check(&s, q(json!({"max": 5}))).await);
    let r = check(&s, q(json!({"min": 3}))).await;
    assert_failed(
        &r,
        ErrorKind::Assertion,
        &["at least 3 MX", "10 mx1.lookout.test"],
    );
    let r = check(&s, q(json!({"max": 1}))).await;
    assert_failed(&r, ErrorKind::Assertion, &["at most 1 MX"]);
    // A count of zero is a way to require that a name has no such record.
    let r = check(
        &s,
        json!({"query_name": "www.lookout.test", "record_type": "MX", "expect_count": {"max": 0}}),
    )
    .await;
    assert_up(&r);
}

#[tokio::test]
async fn with_no_expectation_an_empty_answer_fails() {
    let s = DnsServer::start().await;
    assert_up(
        &check(
            &s,
            json!({"query_name": "www.lookout.test", "record_type": "A"}),
        )
        .await,
    );
    let r = check(
        &s,
        json!({"query_name": "www.lookout.test", "record_type": "MX"}),
    )
    .await;
    assert_failed(
        &r,
        ErrorKind::Assertion,
        &["no MX answer for www.lookout.test"],
    );
}

#[tokio::test]
async fn nxdomain_servfail_and_refused_are_dns_errors_naming_the_rcode() {
    let s = DnsServer::start().await;
    let r = check(
        &s,
        json!({"query_name": "nope.lookout.test", "record_type": "A"}),
    )
    .await;
    assert_failed(&r, ErrorKind::Dns, &["NXDOMAIN", "nope.lookout.test A"]);
    s.set_mode(DnsMode::ServFail);
    let r = check(
        &s,
        json!({"query_name": "www.lookout.test", "record_type": "A"}),
    )
    .await;
    assert_failed(&r, ErrorKind::Dns, &["SERVFAIL"]);
    s.set_mode(DnsMode::Refused);
    let r = check(
        &s,
        json!({"query_name": "www.lookout.test", "record_type": "A"}),
    )
    .await;
    assert_failed(&r, ErrorKind::Dns, &["REFUSED"]);
}

#[tokio::test]
async fn a_silent_server_is_a_timeout_and_each_retry_is_one_datagram() {
    let s = DnsServer::start().await;
    s.set_mode(DnsMode::Silent);
    let r = check(
        &s,
        json!({"query_name": "www.lookout.test", "record_type": "A",
            "timeout_ms": 800, "retries": 1, "backoff_ms": 10}),
    )
    .await;
    // (hickory's UDP client resends every 333 ms by default: 3 datagrams in 800 ms.)
    assert_failed(&r, ErrorKind::Timeout, &["timeout", "800 ms"]);
    assert_eq!(r.attempts, 2);
    assert_eq!(s.udp_queries(), 2, "one query per attempt, no resend");
    assert_eq!(s.tcp_queries(), 0);
}

#[tokio::test]
async fn a_truncated_udp_answer_is_asked_again_over_tcp() {
    let s = DnsServer::start().await;
    let r = check(
        &s,
        json!({"query_name": "big.lookout.test", "record_type": "TXT",
            "expect_count": {"min": 1, "max": 1}}),
    )
    .await;
    assert_up(&r);
    assert_eq!((s.udp_queries(), s.tcp_queries()), (1, 1));
    // The whole record came back (an expectation holds 255 characters at most).
    assert!(r.bytes > big_txt().len() as u64, "{r:?}");
    assert!(r.connect_ms.is_some(), "the TCP connection is timed: {r:?}");
}

#[tokio::test]
async fn transport_tcp_asks_over_tcp_only() {
    let s = DnsServer::start().await;
    let r = check(
        &s,
        json!({"query_name": "www.lookout.test", "record_type": "A", "transport": "tcp",
            "expect_contains": ["192.0.2.11"]}),
    )
    .await;
    assert_up(&r);
    assert_eq!((s.udp_queries(), s.tcp_queries()), (0, 1));
    assert!(r.connect_ms.is_some(), "{r:?}");
}

#[tokio::test]
async fn the_guard_refuses_a_loopback_resolver_before_asking() {
    let s = DnsServer::start().await;
    let prober = Prober::new().unwrap();
    let t = target(
        &s,
        json!({"query_name": "www.lookout.test", "record_type": "A"}),
    );
    let r = prober.check(&t, 0).await;
    assert_failed(
        &r,
        ErrorKind::Forbidden,
        &["resolver 127.0.0.1 is a loopback address"],
    );
    // A private resolver is refused too, unless its range is allowed.
    let mut private = t.clone();
    let lookout_core::domain::Check::Dns(d) = &mut private.check else {
        panic!()
    };
    d.resolver = "10.0.0.53".into();
    let r = prober.check(&private, 0).await;
    assert_failed(
        &r,
        ErrorKind::Forbidden,
        &["10.0.0.53 is a private address"],
    );
    assert_eq!((s.udp_queries(), s.tcp_queries()), (0, 0));
}

#[test]
fn a_failure_lists_five_answers_at_most() {
    let c: lookout_core::domain::DnsCheck = serde_json::from_value(json!({
        "query_name": "x.test", "record_type": "A", "resolver": "192.0.2.53",
        "expect_contains": ["192.0.2.99"],
    }))
    .unwrap();
    let answers: Vec<String> = (1..=7).map(|i| format!("192.0.2.{i}")).collect();
    let m = super::expectations(&c, &answers).unwrap_err();
    assert!(
        m.contains("7 answer(s): 192.0.2.1, 192.0.2.2, 192.0.2.3, 192.0.2.4, 192.0.2.5 and 2 more"),
        "{m}"
    );
    assert!(!m.contains("192.0.2.6"), "{m}");
}
