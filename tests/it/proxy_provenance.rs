//! A proxy's own refusal never counts as healthy: real third-party proxies (Debian's tinyproxy
//! 1.11 and microsocks, PyPI's proxy.py and pproxy) with the right, a wrong and no credentials,
//! over a plain-`http` and an `https` test URL. Only the right credentials are `up`; the others
//! are `proxy_auth`, which takes the proxy out of the failover order at once.

use crate::common;

use std::future::Future;

use lookout_app::probe::{ProbeOptions, Prober};
use lookout_app::testing::{Reply, TestCa, TestServer};
use lookout_core::domain::state::{next_state, Status, TargetState};
use lookout_core::domain::{CheckResult, ErrorKind, Outcome, Target};
use serde_json::json;

use crate::common::ForwardProxy;

const USER: &str = "lookout";
const GOOD: &str = "s3cr3t-pw";
const BAD: &str = "wrong-pw";

/// The upstream test URLs: plain HTTP and HTTPS (a private CA, host `localhost`), both
/// answering `200 upstream-ok`.
struct Upstreams {
    http: TestServer,
    https: TestServer,
    ca_pem: String,
}

async fn upstreams() -> Upstreams {
    let ca = TestCa::new();
    let cert = ca.issue(60);
    Upstreams {
        http: TestServer::start(|_| Reply::text(200, "upstream-ok")).await,
        https: TestServer::start_tls(&cert, |_| Reply::text(200, "upstream-ok")).await,
        ca_pem: ca.cert_pem,
    }
}

fn proxy_target(proxy_url: &str, test_url: &str, ca_pem: Option<&str>) -> Target {
    Target::from_json(
        json!({"id":"p","group":"pool","kind":"proxy","proxy_url": proxy_url,
        "test_urls": [test_url], "timeout_ms": 4000, "degraded_latency_ms": 3500,
        "ca_pem": ca_pem, "failure_threshold": 3}),
    )
    .expect("valid target")
}

async fn check(t: &Target) -> CheckResult {
    Prober::with_options(ProbeOptions::allow_private())
        .unwrap()
        .check(t, 1)
        .await
}

/// Runs the matrix for one proxy implementation. `start` starts a fresh proxy (some remember
/// a client once it authenticated); `url(addr, credentials)` is its proxy URL.
async fn matrix<F, Fut>(name: &str, start: F, url: impl Fn(&str, Option<&str>) -> String)
where
    F: Fn() -> Fut,
    Fut: Future<Output = ForwardProxy>,
{
    let up = upstreams().await;
    let https_url = format!(
        "{}/ip",
        up.https
            .url
            .replace("127.0.0.1", "localhost")
            .replace("http://", "https://")
    );
    let test_urls = [
        ("http", format!("{}/ip", up.http.url)),
        ("https", https_url),
    ];
    for (creds, password) in [("right", Some(GOOD)), ("wrong", Some(BAD)), ("no", None)] {
        for (scheme, test_url) in &test_urls {
            let proxy = start().await;
            let t = proxy_target(&url(&proxy.addr, password), test_url, Some(&up.ca_pem));
            let r = check(&t).await;
            let case = format!("{name}, {creds} credentials, {scheme} test URL: {r:?}");
            if password == Some(GOOD) {
                assert_eq!(r.outcome, Outcome::Up, "{case}");
                continue;
            }
            assert_eq!(
                (r.outcome, r.error),
                (Outcome::Failed, Some(ErrorKind::ProxyAuth)),
                "{case}"
            );
            assert!(
                !format!("{r:?}").contains(BAD),
                "the password leaked: {case}"
            );
            let healthy = TargetState {
                status: Status::Healthy,
                ..TargetState::new("p")
            };
            let (after, _) = next_state(&healthy, &r, &t);
            assert!(
                !after.status.eligible(),
                "a proxy_auth proxy left in the failover order: {case}"
            );
        }
    }
    let got = up.http.requests().len() + up.https.requests().len();
    assert_eq!(
        got, 2,
        "{name}: only the right credentials reached the upstream"
    );
}

fn http_url(addr: &str, password: Option<&str>) -> String {
    match password {
        Some(p) => format!("http://{USER}:{p}@{addr}"),
        None => format!("http://{addr}"),
    }
}

fn socks_url(addr: &str, password: Option<&str>) -> String {
    match password {
        Some(p) => format!("socks5://{USER}:{p}@{addr}"),
        None => format!("socks5://{addr}"),
    }
}

fn socks_h_url(addr: &str, password: Option<&str>) -> String {
    socks_url(addr, password).replacen("socks5://", "socks5h://", 1)
}

#[tokio::test]
async fn tinyproxy_answers_a_wrong_password_with_401_and_that_is_proxy_auth() {
    matrix("tinyproxy", || common::tinyproxy(USER, GOOD), http_url).await;
}

#[tokio::test]
async fn proxy_py_refusals_are_proxy_auth() {
    let auth = format!("{USER}:{GOOD}");
    matrix("proxy.py", || common::forward_proxy(&auth), http_url).await;
}

#[tokio::test]
async fn pproxy_http_refusals_are_proxy_auth() {
    let auth = format!("{USER}:{GOOD}");
    matrix("pproxy http", || common::pproxy_http(&auth), http_url).await;
}

#[tokio::test]
async fn pproxy_socks5_refusals_are_proxy_auth() {
    let auth = format!("{USER}:{GOOD}");
    matrix("pproxy socks5", || common::socks_proxy(&auth), socks_url).await;
}

#[tokio::test]
async fn microsocks_refusals_are_proxy_auth_with_local_and_remote_dns() {
    matrix("microsocks", || common::microsocks(USER, GOOD), socks_url).await;
    matrix(
        "microsocks socks5h",
        || common::microsocks(USER, GOOD),
        socks_h_url,
    )
    .await;
}

/// Over plain HTTP an upstream's own 401 still proves the proxy works when the answer shows it
/// was forwarded (tinyproxy adds `Via`) or carries `expect_body`; a Bearer challenge is never
/// a proxy's. A marker missing from the answer means the answer is not the upstream's.
#[tokio::test]
async fn an_upstream_401_through_a_proxy_is_up_when_its_provenance_is_shown() {
    let upstream = TestServer::start(|r| match r.path.as_str() {
        "/basic" => Reply::Http {
            status: 401,
            headers: vec![("www-authenticate".into(), "Basic realm=\"api\"".into())],
            body: b"api-marker: login first".to_vec(),
        },
        _ => Reply::Http {
            status: 401,
            headers: vec![("www-authenticate".into(), "Bearer realm=\"api\"".into())],
            body: b"api-marker: token refused".to_vec(),
        },
    })
    .await;
    let tiny = common::tinyproxy(USER, GOOD).await;
    let via_tiny = proxy_target(
        &http_url(&tiny.addr, Some(GOOD)),
        &format!("{}/basic", upstream.url),
        None,
    );
    let r = check(&via_tiny).await;
    assert_eq!(
        (r.outcome, r.status_code),
        (Outcome::Up, Some(401)),
        "Via: {r:?}"
    );

    let py = common::forward_proxy(&format!("{USER}:{GOOD}")).await;
    let bearer = proxy_target(
        &http_url(&py.addr, Some(GOOD)),
        &format!("{}/bearer", upstream.url),
        None,
    );
    assert_eq!(
        check(&bearer).await.outcome,
        Outcome::Up,
        "a Bearer challenge"
    );

    let basic_no_proof = proxy_target(
        &http_url(&py.addr, Some(GOOD)),
        &format!("{}/basic", upstream.url),
        None,
    );
    let r = check(&basic_no_proof).await;
    assert_eq!(
        r.error,
        Some(ErrorKind::ProxyAuth),
        "unproven Basic 401: {r:?}"
    );
    let mut marked = basic_no_proof.clone();
    if let lookout_core::domain::target::Check::Proxy(p) = &mut marked.check {
        p.expect_body = Some("api-marker".into());
    }
    assert_eq!(
        check(&marked).await.outcome,
        Outcome::Up,
        "expect_body proves it"
    );

    let mut wrong_marker = bearer.clone();
    if let lookout_core::domain::target::Check::Proxy(p) = &mut wrong_marker.check {
        p.expect_body = Some("not-in-the-answer".into());
    }
    let r = check(&wrong_marker).await;
    assert_eq!(r.error, Some(ErrorKind::Proxy), "{r:?}");
}

/// No false `proxy_auth`: through SOCKS (which cannot write an HTTP answer) and through an HTTP
/// proxy we sent no credentials to, an upstream's Basic 401 proves the path works.
#[tokio::test]
async fn an_upstream_basic_401_is_up_through_socks_and_through_a_proxy_without_credentials() {
    let upstream = TestServer::start(|_| Reply::Http {
        status: 401,
        headers: vec![("www-authenticate".into(), "Basic realm=\"api\"".into())],
        body: b"login first".to_vec(),
    })
    .await;
    let test_url = format!("{}/basic", upstream.url);
    let socks = common::microsocks(USER, GOOD).await;
    let r = check(&proxy_target(
        &socks_url(&socks.addr, Some(GOOD)),
        &test_url,
        None,
    ))
    .await;
    assert_eq!(
        (r.outcome, r.status_code),
        (Outcome::Up, Some(401)),
        "socks: {r:?}"
    );
    let open = common::pproxy_http_open().await;
    let r = check(&proxy_target(&http_url(&open.addr, None), &test_url, None)).await;
    assert_eq!(
        (r.outcome, r.status_code),
        (Outcome::Up, Some(401)),
        "no credentials: {r:?}"
    );
}

/// A plain-HTTP proxy's own 502 (it could not reach the test URL) moves on to the next test
/// URL, as a refused CONNECT does; an upstream's 502 forwarded with `Via` decides.
#[tokio::test]
async fn a_proxys_own_gateway_error_moves_on_to_the_next_test_url() {
    let dead = lookout_app::testing::closed_port().await;
    let upstream = TestServer::start(|r| match r.path.as_str() {
        "/bad-gateway" => Reply::text(502, "upstream's own 502"),
        _ => Reply::text(200, "upstream-ok"),
    })
    .await;
    let py = common::forward_proxy(&format!("{USER}:{GOOD}")).await;
    let mut t = proxy_target(
        &http_url(&py.addr, Some(GOOD)),
        &format!("{dead}/first"),
        None,
    );
    if let lookout_core::domain::target::Check::Proxy(p) = &mut t.check {
        p.test_urls.push(format!("{}/second", upstream.url));
    }
    let r = check(&t).await;
    assert_eq!(r.outcome, Outcome::Up, "the second test URL decides: {r:?}");

    let tiny = common::tinyproxy(USER, GOOD).await;
    let forwarded = proxy_target(
        &http_url(&tiny.addr, Some(GOOD)),
        &format!("{}/bad-gateway", upstream.url),
        None,
    );
    let r = check(&forwarded).await;
    assert_eq!(
        (r.outcome, r.error, r.status_code),
        (Outcome::Failed, Some(ErrorKind::Status), Some(502)),
        "the upstream's 502 (Via) decides: {r:?}"
    );
}
