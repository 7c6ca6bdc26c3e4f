//! The probe engine against a real nginx (Debian's `nginx-light`), the web server a user is most
//! likely to point Lookout at: static files, HEAD, chunked answers, `return` codes and
//! redirects, `Connection: close`, JSON assertions, HTTPS with a private CA (trusted, untrusted,
//! wrong name, expiring), nginx as the test URL behind a real forward proxy (proxy.py), and an
//! IPv6 literal target. Each test starts its own nginx on a free loopback port.

use crate::common;

use crate::common::{check, failed_with, proxy, server};

use crate::common::{nginx, Nginx};
use lookout_app::testing::{TestCa, TestCert};
use lookout_core::domain::{CheckResult, ErrorKind, Outcome};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const HEALTH: &[u8] = br#"{"status":"ok","db":{"ok":true,"lag_ms":3}}"#;

fn message(r: &CheckResult) -> &str {
    r.message.as_deref().unwrap_or_default()
}

/// A 4 MiB text file with `needle` only at its very end.
fn big_file() -> Vec<u8> {
    let mut v = vec![b'x'; 4 << 20];
    v.extend_from_slice(b"needle");
    v
}

/// The answer head nginx gives a plain GET of `path` (lower-cased), read with a raw socket, to
/// show what the probe was up against (chunked, `Connection: close`).
async fn raw_head(ngx: &Nginx, path: &str) -> String {
    let mut sock = tokio::net::TcpStream::connect(("127.0.0.1", ngx.port))
        .await
        .unwrap();
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\r\n",
        ngx.port
    );
    sock.write_all(req.as_bytes()).await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.windows(4).any(|w| w == b"\r\n\r\n") && got.len() < 64 * 1024 {
        let n = sock.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&got).to_ascii_lowercase();
    text.split("\r\n\r\n")
        .next()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn a_static_file_is_up_with_its_status_bytes_and_timings() {
    let ngx = nginx(None, false, "", &[("health.json", HEALTH)]).await;
    let r = check(&server(
        &format!("{}/health.json", ngx.url("http")),
        json!({}),
    ))
    .await;
    assert_eq!(
        (r.outcome, r.status_code, r.attempts, r.error),
        (Outcome::Up, Some(200), 1, None),
        "{r:?}"
    );
    assert!(
        r.bytes > HEALTH.len() as u64,
        "body and head counted: {r:?}"
    );
    assert!(r.connect_ms.is_some() && r.ttfb_ms.is_some(), "{r:?}");
    assert!(r.latency_ms >= r.ttfb_ms.unwrap(), "{r:?}");
    assert_eq!(r.cert_days_left, None, "plain HTTP has no certificate");

    let missing = check(&server(
        &format!("{}/nope.json", ngx.url("http")),
        json!({}),
    ))
    .await;
    failed_with(&missing, ErrorKind::Status);
    assert_eq!(missing.status_code, Some(404));
    assert!(message(&missing).contains("404"), "{missing:?}");
}

#[tokio::test]
async fn head_of_a_large_file_is_up_without_downloading_it() {
    let big = big_file();
    let ngx = nginx(None, false, "", &[("big.txt", &big)]).await;
    let r = check(&server(
        &format!("{}/big.txt", ngx.url("http")),
        json!({"method":"HEAD"}),
    ))
    .await;
    assert_eq!(
        (r.outcome, r.status_code),
        (Outcome::Up, Some(200)),
        "{r:?}"
    );
    // nginx announces Content-Length: 4194310 but sends no body to a HEAD: only the head counts,
    // and the probe does not wait for a body that never comes.
    assert!(r.bytes > 0 && r.bytes < 4096, "{r:?}");
    assert!(r.latency_ms < 2000, "{r:?}");
}

#[tokio::test]
async fn a_chunked_answer_is_read_whole_and_a_large_one_only_up_to_the_cap() {
    let big = big_file();
    // sub_filter rewrites the body, so nginx drops Content-Length and sends it chunked.
    let ngx = nginx(
        None,
        false,
        "location /chunked/ { rewrite ^/chunked/(.*)$ /$1 break; sub_filter_types *; \
         sub_filter 'lag_ms' 'lag_in_ms'; chunked_transfer_encoding on; gzip off; }",
        &[("health.json", HEALTH), ("big.txt", &big)],
    )
    .await;
    let head = raw_head(&ngx, "/chunked/health.json").await;
    assert!(head.contains("transfer-encoding: chunked"), "{head}");
    assert!(!head.contains("content-length"), "{head}");

    let r = check(&server(
        &format!("{}/chunked/health.json", ngx.url("http")),
        json!({"json_pointer":"/db/lag_in_ms","json_equals":3}),
    ))
    .await;
    assert_eq!(
        (r.outcome, r.status_code),
        (Outcome::Up, Some(200)),
        "{r:?}"
    );
    assert!(r.bytes > HEALTH.len() as u64, "{r:?}");

    let start = check(&server(
        &format!("{}/chunked/big.txt", ngx.url("http")),
        json!({"body_contains":"xxxxxxxx","max_body_bytes": 65536}),
    ))
    .await;
    assert_eq!(start.outcome, Outcome::Up, "{start:?}");
    assert!(start.bytes < 1 << 20, "read {} bytes of 4 MiB", start.bytes);

    let end = check(&server(
        &format!("{}/chunked/big.txt", ngx.url("http")),
        json!({"body_contains":"needle","max_body_bytes": 65536}),
    ))
    .await;
    failed_with(&end, ErrorKind::Assertion);
    assert_eq!(end.status_code, Some(200));
    assert!(message(&end).contains("first 65536 bytes"), "{end:?}");
    assert!(end.bytes < 1 << 20, "read {} bytes of 4 MiB", end.bytes);

    // The same file with Content-Length (served as is): the cap holds too.
    let plain = check(&server(
        &format!("{}/big.txt", ngx.url("http")),
        json!({"body_contains":"needle","max_body_bytes": 65536}),
    ))
    .await;
    failed_with(&plain, ErrorKind::Assertion);
    assert!(plain.bytes < 1 << 20, "read {} bytes of 4 MiB", plain.bytes);
}

#[tokio::test]
async fn return_503_is_a_status_failure_unless_expected() {
    let ngx = nginx(
        None,
        false,
        "location = /busy { return 503 \"busy\\n\"; }",
        &[],
    )
    .await;
    let url = format!("{}/busy", ngx.url("http"));
    let r = check(&server(&url, json!({}))).await;
    failed_with(&r, ErrorKind::Status);
    assert_eq!(r.status_code, Some(503));
    assert!(message(&r).contains("unexpected HTTP status 503"), "{r:?}");
    assert!(r.ttfb_ms.is_some() && r.bytes > 0, "{r:?}");

    let expected = check(&server(
        &url,
        json!({"expected_status":[503],"body_contains":"busy"}),
    ))
    .await;
    assert_eq!(
        (expected.outcome, expected.status_code),
        (Outcome::Up, Some(503)),
        "{expected:?}"
    );
}

#[tokio::test]
async fn return_444_closes_without_an_answer_and_is_a_connect_failure() {
    let ngx = nginx(None, false, "location = /drop { return 444; }", &[]).await;
    let r = check(&server(&format!("{}/drop", ngx.url("http")), json!({}))).await;
    failed_with(&r, ErrorKind::Connect);
    assert_eq!((r.status_code, r.ttfb_ms), (None, None), "{r:?}");
    assert!(
        r.connect_ms.is_some(),
        "the connection itself opened: {r:?}"
    );
}

#[tokio::test]
async fn the_wrong_scheme_for_the_port_is_nginx_s_400_or_a_tls_failure() {
    let ca = TestCa::new();
    let tls = nginx(Some(&ca.issue(30)), false, "", &[("health.json", HEALTH)]).await;
    let plain_to_tls = check(&server(
        &format!("{}/health.json", tls.url("http")),
        json!({}),
    ))
    .await;
    // nginx answers "400 The plain HTTP request was sent to HTTPS port" in plain HTTP.
    failed_with(&plain_to_tls, ErrorKind::Status);
    assert_eq!(plain_to_tls.status_code, Some(400));

    let plain = nginx(None, false, "", &[("health.json", HEALTH)]).await;
    let tls_to_plain = check(&server(
        &format!("{}/health.json", plain.url("https")),
        json!({"ca_pem": ca.cert_pem}),
    ))
    .await;
    failed_with(&tls_to_plain, ErrorKind::Tls);
}

#[tokio::test]
async fn return_301_is_followed_only_when_asked() {
    let ngx = nginx(
        None,
        false,
        "location = /old { return 301 /health.json; }",
        &[("health.json", HEALTH)],
    )
    .await;
    let url = format!("{}/old", ngx.url("http"));
    let head = raw_head(&ngx, "/old").await;
    assert!(
        head.contains(&format!(
            "location: http://127.0.0.1:{}/health.json",
            ngx.port
        )),
        "{head}"
    );

    let not_followed = check(&server(&url, json!({}))).await;
    failed_with(&not_followed, ErrorKind::Status);
    assert_eq!(not_followed.status_code, Some(301));

    let as_status = check(&server(&url, json!({"expected_status":[301]}))).await;
    assert_eq!(as_status.outcome, Outcome::Up, "{as_status:?}");

    let followed = check(&server(
        &url,
        json!({"follow_redirects": true, "json_pointer":"/status","json_equals":"ok"}),
    ))
    .await;
    assert_eq!(
        (followed.outcome, followed.status_code),
        (Outcome::Up, Some(200)),
        "{followed:?}"
    );
}

#[tokio::test]
async fn connection_close_after_every_answer_is_up() {
    let ngx = nginx(
        None,
        false,
        "keepalive_timeout 0;\nlocation /chunked/ { rewrite ^/chunked/(.*)$ /$1 break; sub_filter_types *; \
         sub_filter 'ok' 'fine'; }",
        &[("health.json", HEALTH)],
    )
    .await;
    let head = raw_head(&ngx, "/health.json").await;
    assert!(head.contains("connection: close"), "{head}");
    for (path, method, needle) in [
        ("/health.json", "GET", Some("\"ok\"")),
        ("/health.json", "HEAD", None),
        ("/chunked/health.json", "GET", Some("\"fine\"")),
    ] {
        let mut extra = json!({ "method": method });
        if let Some(needle) = needle {
            extra["body_contains"] = json!(needle);
        }
        let r = check(&server(&format!("{}{path}", ngx.url("http")), extra)).await;
        assert_eq!(
            (r.outcome, r.status_code),
            (Outcome::Up, Some(200)),
            "{method} {path}: {r:?}"
        );
    }
}

#[tokio::test]
async fn body_and_json_assertions_run_on_a_static_json_file() {
    let ngx = nginx(
        None,
        false,
        "",
        &[
            ("health.json", HEALTH),
            ("maint.html", b"<h1>down for maintenance</h1>"),
        ],
    )
    .await;
    let url = format!("{}/health.json", ngx.url("http"));
    let good = check(&server(
        &url,
        json!({"body_contains":"\"status\":\"ok\"","body_not_contains":"maintenance",
               "json_pointer":"/db/ok","json_equals":true}),
    ))
    .await;
    assert_eq!(good.outcome, Outcome::Up, "{good:?}");

    let wrong = check(&server(
        &url,
        json!({"json_pointer":"/db/lag_ms","json_equals":0}),
    ))
    .await;
    failed_with(&wrong, ErrorKind::Assertion);
    assert_eq!(wrong.status_code, Some(200));
    assert!(message(&wrong).contains("is 3, expected 0"), "{wrong:?}");

    let missing = check(&server(&url, json!({"json_pointer":"/cache"}))).await;
    failed_with(&missing, ErrorKind::Assertion);
    assert!(message(&missing).contains("nothing at"), "{missing:?}");

    let maint = check(&server(
        &format!("{}/maint.html", ngx.url("http")),
        json!({"body_not_contains":"maintenance"}),
    ))
    .await;
    failed_with(&maint, ErrorKind::Assertion);
    let not_json = check(&server(
        &format!("{}/maint.html", ngx.url("http")),
        json!({"json_pointer":"/status"}),
    ))
    .await;
    failed_with(&not_json, ErrorKind::Assertion);
    assert!(message(&not_json).contains("not JSON"), "{not_json:?}");
}

/// nginx over TLS with `cert`, serving `health.json`.
async fn tls_nginx(cert: &TestCert) -> Nginx {
    nginx(Some(cert), false, "", &[("health.json", HEALTH)]).await
}

#[tokio::test]
async fn https_with_a_private_ca_is_up_and_records_the_days_left() {
    let ca = TestCa::new();
    let ngx = tls_nginx(&ca.issue(100)).await;
    for host in ["127.0.0.1", "localhost"] {
        let url = format!("https://{host}:{}/health.json", ngx.port);
        let r = check(&server(
            &url,
            json!({"ca_pem": ca.cert_pem, "json_pointer":"/status","json_equals":"ok"}),
        ))
        .await;
        assert_eq!(
            (r.outcome, r.status_code, r.cert_days_left),
            (Outcome::Up, Some(200), Some(100)),
            "{host}: {r:?}"
        );
        assert!(
            r.bytes > HEALTH.len() as u64 && r.connect_ms.is_some() && r.ttfb_ms.is_some(),
            "{r:?}"
        );
    }
}

#[tokio::test]
async fn https_without_the_ca_is_a_certificate_failure() {
    let ca = TestCa::new();
    let ngx = tls_nginx(&ca.issue(100)).await;
    let r = check(&server(
        &format!("{}/health.json", ngx.url("https")),
        json!({}),
    ))
    .await;
    failed_with(&r, ErrorKind::Cert);
    assert_eq!(r.status_code, None);
    assert!(message(&r).contains("UnknownIssuer"), "{r:?}");

    let other_ca = TestCa::new();
    let r = check(&server(
        &format!("{}/health.json", ngx.url("https")),
        json!({"ca_pem": other_ca.cert_pem}),
    ))
    .await;
    failed_with(&r, ErrorKind::Cert);
}

/// A CA of our own and a certificate it signs for `other.example` only: (CA PEM, leaf).
fn cert_for_another_name() -> (String, TestCert) {
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "Lookout mismatch CA");
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["other.example".to_string()])
        .unwrap()
        .signed_by(&key, &ca_cert, &ca_key)
        .unwrap();
    (
        ca_cert.pem(),
        TestCert {
            cert_pem: leaf.pem(),
            key_pem: key.serialize_pem(),
        },
    )
}

#[tokio::test]
async fn https_with_a_certificate_for_another_name_is_refused() {
    let (ca_pem, cert) = cert_for_another_name();
    let ngx = tls_nginx(&cert).await;
    let r = check(&server(
        &format!("{}/health.json", ngx.url("https")),
        json!({"ca_pem": ca_pem}),
    ))
    .await;
    assert_eq!(r.outcome, Outcome::Failed, "{r:?}");
    assert!(
        matches!(r.error, Some(ErrorKind::Cert | ErrorKind::Tls)),
        "{r:?}"
    );
    assert!(message(&r).contains("NotValidForName"), "{r:?}");
}

#[tokio::test]
async fn an_expiring_certificate_is_degraded_and_an_expired_one_refused() {
    let ca = TestCa::new();
    let ngx = tls_nginx(&ca.issue(5)).await;
    let url = format!("{}/health.json", ngx.url("https"));
    let r = check(&server(
        &url,
        json!({"ca_pem": ca.cert_pem, "cert_expiry_warn_days": 14}),
    ))
    .await;
    assert_eq!(
        (r.outcome, r.status_code, r.cert_days_left),
        (Outcome::Degraded, Some(200), Some(5)),
        "{r:?}"
    );
    assert!(message(&r).contains("expires in 5 day"), "{r:?}");

    let expired = tls_nginx(&ca.issue(-2)).await;
    let r = check(&server(
        &format!("{}/health.json", expired.url("https")),
        json!({"ca_pem": ca.cert_pem}),
    ))
    .await;
    failed_with(&r, ErrorKind::Cert);
    assert!(message(&r).to_lowercase().contains("expired"), "{r:?}");
}

#[tokio::test]
async fn nginx_as_the_test_url_behind_proxy_py_is_up_over_http_and_https() {
    let plain = nginx(
        None,
        false,
        "location = /limited { return 429; }\nlocation = /broken { return 500; }",
        &[("ip.json", br#"{"ip":"127.0.0.1"}"#)],
    )
    .await;
    let ca = TestCa::new();
    let tls = nginx(
        Some(&ca.issue(60)),
        false,
        "",
        &[("ip.json", br#"{"ip":"127.0.0.1"}"#)],
    )
    .await;
    let fwd = common::forward_proxy("lookout:ngx-pw").await;
    let via = format!("http://lookout:ngx-pw@{}", fwd.addr);
    for test_url in [
        format!("{}/ip.json", plain.url("http")),
        format!("{}/ip.json", tls.url("https")),
    ] {
        let r = check(&proxy(
            &via,
            std::slice::from_ref(&test_url),
            json!({"ca_pem": ca.cert_pem, "expect_body": "\"ip\""}),
        ))
        .await;
        assert_eq!(
            (r.outcome, r.status_code, r.error),
            (Outcome::Up, Some(200), None),
            "{test_url}: {r:?}"
        );
        assert!(
            r.bytes > 0 && r.connect_ms.is_some() && r.ttfb_ms.is_some(),
            "{r:?}"
        );
    }
    // nginx's own statuses through the proxy are the upstream's answers: 404 is in the default
    // accept_status (the proxy works), 429 in block_status, 500 in neither.
    for (path, outcome, error) in [
        ("/nope", Outcome::Up, None),
        ("/limited", Outcome::Blocked, None),
        ("/broken", Outcome::Failed, Some(ErrorKind::Status)),
    ] {
        let r = check(&proxy(
            &via,
            &[format!("{}{path}", plain.url("http"))],
            json!({}),
        ))
        .await;
        assert_eq!((r.outcome, r.error), (outcome, error), "{path}: {r:?}");
    }
}

#[tokio::test]
async fn an_ipv6_literal_target_is_up_with_the_host_header_in_brackets() {
    if !common::ipv6_loopback() {
        eprintln!("skipped: [::1] is not available on this machine");
        return;
    }
    let ngx = nginx(
        None,
        true,
        "location = /host { return 200 \"host=$http_host\\n\"; }",
        &[("health.json", HEALTH)],
    )
    .await;
    let r = check(&server(
        &format!("http://[::1]:{}/host", ngx.port),
        json!({"body_contains": format!("host=[::1]:{}\n", ngx.port)}),
    ))
    .await;
    assert_eq!(
        (r.outcome, r.status_code),
        (Outcome::Up, Some(200)),
        "{r:?}"
    );
    let json = check(&server(
        &format!("http://[::1]:{}/health.json", ngx.port),
        json!({"json_pointer":"/db/ok","json_equals":true}),
    ))
    .await;
    assert_eq!(json.outcome, Outcome::Up, "{json:?}");
    assert!(json.connect_ms.is_some() && json.bytes > 0, "{json:?}");
}
