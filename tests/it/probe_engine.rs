//! The probe engine against real servers on loopback: plain and TLS servers with generated
//! certificates, slow, resetting, garbage-answering and redirecting servers, a real HTTP forward
//! proxy (proxy.py, also over TLS) and a real SOCKS5 proxy (pproxy), both with credentials.

use crate::common;

use crate::common::{check, failed_with, proxy, server};

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lookout_app::probe::{ProbeOptions, Prober};
use lookout_app::testing::{closed_port, self_signed, Reply, TestCa, TestServer};
use lookout_core::domain::{ErrorKind, Outcome};
use serde_json::json;

fn open() -> Prober {
    Prober::with_options(ProbeOptions::allow_private()).unwrap()
}

#[tokio::test]
async fn method_headers_and_body_are_sent_as_defined() {
    let s = TestServer::start(|_| Reply::text(201, "made")).await;
    let t = server(
        &format!("{}/items", s.url),
        json!({"method":"POST","headers":{"X-Trace":"abc","Content-Type":"application/json"},
               "body":"{\"n\":1}","expected_status":["200-201"]}),
    );
    let r = check(&t).await;
    assert_eq!(
        (r.outcome, r.status_code, r.attempts),
        (Outcome::Up, Some(201), 1),
        "{r:?}"
    );
    let head = server(&s.url, json!({"method":"HEAD"}));
    assert_eq!(check(&head).await.outcome, Outcome::Up);
    let seen = s.requests();
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].path, "/items");
    assert_eq!(seen[0].header("x-trace"), Some("abc"));
    assert_eq!(seen[0].body, br#"{"n":1}"#);
    assert_eq!(seen[1].method, "HEAD");
}

#[tokio::test]
async fn expected_status_lists_and_ranges_decide() {
    let s = TestServer::start(|r| match r.path.as_str() {
        "/204" => Reply::text(204, ""),
        "/302" => Reply::redirect(302, "/elsewhere"),
        _ => Reply::text(503, "busy"),
    })
    .await;
    let ok = server(
        &format!("{}/204", s.url),
        json!({"expected_status":[200, "201-204"]}),
    );
    assert_eq!(check(&ok).await.outcome, Outcome::Up);
    let bad = check(&server(&format!("{}/503", s.url), json!({}))).await;
    failed_with(&bad, ErrorKind::Status);
    assert_eq!(bad.status_code, Some(503));
    assert!(bad.message.as_deref().unwrap().contains("503"), "{bad:?}");
    let redirect_as_status = server(&format!("{}/302", s.url), json!({"expected_status":[302]}));
    assert_eq!(
        check(&redirect_as_status).await.outcome,
        Outcome::Up,
        "redirects not followed by default"
    );
}

#[tokio::test]
async fn body_and_json_assertions_run_on_the_real_answer() {
    let s = TestServer::start(|r| match r.path.as_str() {
        "/maint" => Reply::text(200, "down for maintenance"),
        _ => Reply::json(200, &json!({"status":"ok","db":{"ok":true,"lag_ms":3}})),
    })
    .await;
    let good = server(
        &s.url,
        json!({"body_contains":"\"status\":\"ok\"","body_not_contains":"maintenance",
               "json_pointer":"/db/ok","json_equals":true}),
    );
    assert_eq!(check(&good).await.outcome, Outcome::Up);
    let wrong_value = check(&server(
        &s.url,
        json!({"json_pointer":"/db/lag_ms","json_equals":0}),
    ))
    .await;
    failed_with(&wrong_value, ErrorKind::Assertion);
    assert!(
        wrong_value
            .message
            .as_deref()
            .unwrap()
            .contains("is 3, expected 0"),
        "{wrong_value:?}"
    );
    let missing = check(&server(&s.url, json!({"json_pointer":"/cache"}))).await;
    failed_with(&missing, ErrorKind::Assertion);
    let maint = server(
        &format!("{}/maint", s.url),
        json!({"body_not_contains":"maintenance"}),
    );
    failed_with(&check(&maint).await, ErrorKind::Assertion);
    let absent = check(&server(&s.url, json!({"body_contains":"healthy"}))).await;
    failed_with(&absent, ErrorKind::Assertion);
}

#[tokio::test]
async fn a_huge_body_is_read_only_up_to_the_cap() {
    // 512 MiB announced; the probe must stop after max_body_bytes.
    let s = TestServer::start(|_| Reply::Endless(512 << 20)).await;
    let t = server(
        &s.url,
        json!({"body_contains":"needle","max_body_bytes": 65536}),
    );
    let r = check(&t).await;
    failed_with(&r, ErrorKind::Assertion);
    assert!(
        r.message.as_deref().unwrap().contains("first 65536 bytes"),
        "{r:?}"
    );
    assert!(r.bytes < 1 << 20, "counted {} bytes", r.bytes);
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Socket buffers let the server write a few MB ahead at most; never the 512 MiB.
    assert!(
        s.bytes_sent() < 32 << 20,
        "server wrote {} bytes",
        s.bytes_sent()
    );
}

#[tokio::test]
async fn slow_answers_are_slow_and_timeouts_are_cut() {
    let s = TestServer::start(|r| {
        let ms = r.path.trim_start_matches('/').parse().unwrap_or(0);
        Reply::Delay(
            Duration::from_millis(ms),
            Box::new(Reply::text(200, "late")),
        )
    })
    .await;
    let slow = check(&server(
        &format!("{}/300", s.url),
        json!({"degraded_latency_ms": 100}),
    ))
    .await;
    assert_eq!(slow.outcome, Outcome::Slow, "{slow:?}");
    assert!(
        slow.ttfb_ms.unwrap() >= 300 && slow.latency_ms >= slow.ttfb_ms.unwrap(),
        "{slow:?}"
    );
    assert!(slow.connect_ms.unwrap() < 300, "{slow:?}");
    let started = Instant::now();
    let cut = check(&server(
        &format!("{}/5000", s.url),
        json!({"timeout_ms": 300}),
    ))
    .await;
    failed_with(&cut, ErrorKind::Timeout);
    assert!(
        started.elapsed() < Duration::from_millis(2000),
        "cut at {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn the_connect_timeout_cuts_a_handshake_that_never_finishes() {
    // Accepts TCP but never speaks TLS: the connection never opens.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            held.push(sock);
        }
    });
    let t = server(
        &format!("https://{addr}/"),
        json!({"timeout_ms": 5000, "connect_timeout_ms": 300}),
    );
    let started = Instant::now();
    let r = check(&t).await;
    failed_with(&r, ErrorKind::Timeout);
    assert!(
        r.message
            .as_deref()
            .unwrap()
            .contains("connect timed out after 300 ms"),
        "{r:?}"
    );
    assert!(
        started.elapsed() < Duration::from_millis(2000),
        "{:?}",
        started.elapsed()
    );
    hold.abort();
}

#[tokio::test]
async fn retries_back_off_with_jitter_and_count_attempts() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let flaky = TestServer::start(move |_| {
        if c.fetch_add(1, Ordering::SeqCst) == 0 {
            Reply::text(500, "oops")
        } else {
            Reply::text(200, "ok")
        }
    })
    .await;
    let r = check(&server(&flaky.url, json!({"retries": 3, "backoff_ms": 50}))).await;
    assert_eq!((r.outcome, r.attempts), (Outcome::Up, 2), "{r:?}");

    let dead = closed_port().await;
    let started = Instant::now();
    let r = check(&server(&dead, json!({"retries": 2, "backoff_ms": 200}))).await;
    failed_with(&r, ErrorKind::Connect);
    assert_eq!(r.attempts, 3);
    // Backoffs of 200 and 400 ms, each jittered down to no less than half.
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(300) && waited < Duration::from_millis(1500),
        "{waited:?}"
    );
}

#[tokio::test]
async fn resets_garbage_and_tls_mismatch_have_their_own_error_kinds() {
    let s = TestServer::start(|r| match r.path.as_str() {
        "/reset" => Reply::Reset,
        _ => Reply::Raw(b"SSH-2.0-OpenSSH_9.2\r\n\r\n".to_vec()),
    })
    .await;
    failed_with(
        &check(&server(&format!("{}/reset", s.url), json!({}))).await,
        ErrorKind::Connect,
    );
    let garbage = check(&server(&format!("{}/garbage", s.url), json!({}))).await;
    failed_with(&garbage, ErrorKind::Other);
    let tls_to_plain = check(&server(&s.url.replace("http://", "https://"), json!({}))).await;
    failed_with(&tls_to_plain, ErrorKind::Tls);
}

#[tokio::test]
async fn https_records_days_to_expiry_trusts_a_private_ca_and_refuses_bad_certificates() {
    let ca = TestCa::new();
    let fresh = TestServer::start_tls(&ca.issue(100), |_| Reply::text(200, "ok")).await;
    let with_ca = json!({"ca_pem": ca.cert_pem});
    let r = check(&server(&fresh.url, with_ca.clone())).await;
    assert_eq!(r.outcome, Outcome::Up, "{r:?}");
    assert_eq!(r.cert_days_left, Some(100), "{r:?}");

    let untrusted = check(&server(&fresh.url, json!({}))).await;
    failed_with(&untrusted, ErrorKind::Cert);

    let expiring = TestServer::start_tls(&ca.issue(5), |_| Reply::text(200, "ok")).await;
    let r = check(&server(
        &expiring.url,
        json!({"ca_pem": ca.cert_pem, "cert_expiry_warn_days": 14}),
    ))
    .await;
    assert_eq!(
        (r.outcome, r.cert_days_left),
        (Outcome::Degraded, Some(5)),
        "{r:?}"
    );
    assert!(
        r.message.as_deref().unwrap().contains("expires in 5 day"),
        "{r:?}"
    );
    let off = check(&server(
        &expiring.url,
        json!({"ca_pem": ca.cert_pem, "cert_expiry_warn_days": 0}),
    ))
    .await;
    assert_eq!(off.outcome, Outcome::Up);

    let expired = TestServer::start_tls(&ca.issue(-2), |_| Reply::text(200, "ok")).await;
    let r = check(&server(&expired.url, with_ca)).await;
    failed_with(&r, ErrorKind::Cert);
    assert!(
        r.message
            .as_deref()
            .unwrap()
            .to_lowercase()
            .contains("expired"),
        "{r:?}"
    );

    let selfie = TestServer::start_tls(&self_signed(30), |_| Reply::text(200, "ok")).await;
    failed_with(
        &check(&server(&selfie.url, json!({}))).await,
        ErrorKind::Cert,
    );
}

#[tokio::test]
async fn redirects_are_followed_only_when_asked_at_most_five_and_keep_credentials_home() {
    let other = TestServer::start(|_| Reply::text(200, "landed")).await;
    let other_url = other.url.clone();
    let s = TestServer::start(move |r| {
        let p = r.path.as_str();
        if let Some(n) = p.strip_prefix("/hop/") {
            let n: u32 = n.parse().unwrap_or(0);
            if n == 0 {
                Reply::text(200, "home")
            } else {
                Reply::redirect(302, &format!("/hop/{}", n - 1))
            }
        } else if p == "/away" {
            Reply::redirect(307, &format!("{other_url}/there"))
        } else if p == "/see-other" {
            Reply::redirect(303, "/hop/0")
        } else {
            Reply::redirect(301, "file:///etc/passwd")
        }
    })
    .await;
    let not_followed = check(&server(&format!("{}/hop/2", s.url), json!({}))).await;
    failed_with(&not_followed, ErrorKind::Status);
    assert_eq!(not_followed.status_code, Some(302));

    let five = check(&server(
        &format!("{}/hop/5", s.url),
        json!({"follow_redirects": true}),
    ))
    .await;
    assert_eq!(
        (five.outcome, five.status_code),
        (Outcome::Up, Some(200)),
        "{five:?}"
    );
    let six = check(&server(
        &format!("{}/hop/6", s.url),
        json!({"follow_redirects": true}),
    ))
    .await;
    failed_with(&six, ErrorKind::Other);
    assert!(
        six.message
            .as_deref()
            .unwrap()
            .contains("more than 5 redirects"),
        "{six:?}"
    );

    let away = server(
        &format!("{}/away", s.url),
        json!({"follow_redirects": true, "headers": {"Authorization": "Bearer s3cret", "X-Plain": "1"}}),
    );
    assert_eq!(check(&away).await.outcome, Outcome::Up);
    let landed = &other.requests()[0];
    assert_eq!(landed.header("x-plain"), Some("1"));
    assert_eq!(
        landed.header("authorization"),
        None,
        "credentials stay with the target's origin"
    );

    let post = server(
        &format!("{}/see-other", s.url),
        json!({"follow_redirects": true, "method": "POST", "body": "x"}),
    );
    assert_eq!(check(&post).await.outcome, Outcome::Up);
    let last = s.requests().last().unwrap().clone();
    assert_eq!(
        (last.method.as_str(), last.body.len()),
        ("GET", 0),
        "303 continues as a GET without the body"
    );

    let body_away = server(
        &format!("{}/away", s.url),
        json!({"follow_redirects": true, "method": "POST", "body": "{\"password\":\"p\"}"}),
    );
    let r = check(&body_away).await;
    failed_with(&r, ErrorKind::Other);
    assert!(
        r.message
            .as_deref()
            .unwrap()
            .contains("would resend the body"),
        "{r:?}"
    );
    assert_eq!(
        other.requests().len(),
        1,
        "the body never left for the other origin"
    );

    let scheme = check(&server(
        &format!("{}/file", s.url),
        json!({"follow_redirects": true}),
    ))
    .await;
    failed_with(&scheme, ErrorKind::Forbidden);
}

#[tokio::test]
async fn the_address_guard_refuses_internal_destinations_unless_allowed() {
    let s = TestServer::start(|_| Reply::text(200, "ok")).await;
    let port = s.url.rsplit(':').next().unwrap().to_string();
    let guarded = Prober::new().unwrap();
    for url in [
        s.url.clone(),
        format!("http://localhost:{port}/"),
        format!("http://[::ffff:127.0.0.1]:{port}/"),
        format!("http://0x7f.0.0.1:{port}/"),
        "http://169.254.169.254/latest/meta-data/".to_string(),
        "http://[fd00:ec2::254]/".to_string(),
    ] {
        let r = guarded.check(&server(&url, json!({})), 1).await;
        failed_with(&r, ErrorKind::Forbidden);
        assert!(
            r.message.as_deref().unwrap().contains("address guard"),
            "{r:?}"
        );
    }
    // The proxy host passes the guard too (the test URL is only ever seen by the proxy).
    for scheme in ["http", "socks5"] {
        let via_local_proxy = proxy(
            &format!("{scheme}://u:pw@localhost:{port}"),
            &["http://example.invalid/".to_string()],
            json!({}),
        );
        let r = guarded.check(&via_local_proxy, 1).await;
        failed_with(&r, ErrorKind::Forbidden);
        let message = r.message.as_deref().unwrap();
        assert!(message.contains("localhost resolves to"), "{r:?}");
        assert!(!message.contains("pw"), "{r:?}");
    }
    assert_eq!(s.requests().len(), 0, "nothing reached the server");
    let allowed = open()
        .check(&server(&format!("http://localhost:{port}/"), json!({})), 1)
        .await;
    assert_eq!(allowed.outcome, Outcome::Up, "{allowed:?}");
}

#[tokio::test]
async fn http_and_https_proxies_with_credentials_accept_block_and_refuse() {
    let upstream = TestServer::start(|r| match r.path.as_str() {
        "/blocked" => Reply::text(429, "slow down"),
        "/unauth" => Reply::text(401, "token?"),
        _ => Reply::text(200, "your ip"),
    })
    .await;
    let fwd = common::forward_proxy("lookout:s3cr3t-pw").await;
    let url = |p: &str| format!("{}{p}", upstream.url);
    let good = proxy(
        &format!("http://lookout:s3cr3t-pw@{}", fwd.addr),
        &[url("/ip")],
        json!({}),
    );
    let r = check(&good).await;
    assert_eq!(r.outcome, Outcome::Up, "{r:?}");
    assert!(r.bytes > 0 && r.connect_ms.is_some(), "{r:?}");
    let unauth = proxy(
        &format!("http://lookout:s3cr3t-pw@{}", fwd.addr),
        &[url("/unauth")],
        json!({}),
    );
    assert_eq!(
        check(&unauth).await.outcome,
        Outcome::Up,
        "401 is in accept_status"
    );
    let blocked = proxy(
        &format!("http://lookout:s3cr3t-pw@{}", fwd.addr),
        &[url("/blocked")],
        json!({}),
    );
    let r = check(&blocked).await;
    assert_eq!(
        (r.outcome, r.status_code),
        (Outcome::Blocked, Some(429)),
        "{r:?}"
    );
    let wrong = proxy(
        &format!("http://lookout:wrong-pw@{}", fwd.addr),
        &[url("/ip")],
        json!({}),
    );
    let r = check(&wrong).await;
    failed_with(&r, ErrorKind::ProxyAuth);
    assert!(!format!("{r:?}").contains("wrong-pw"), "{r:?}");

    let ca = TestCa::new();
    let tls = common::tls_forward_proxy("lookout:tls-pw", &ca.issue(60)).await;
    let https = proxy(
        &format!(
            "https://lookout:tls-pw@{}",
            tls.addr.replace("127.0.0.1", "localhost")
        ),
        &[url("/ip")],
        json!({"ca_pem": ca.cert_pem}),
    );
    let r = check(&https).await;
    assert_eq!(r.outcome, Outcome::Up, "{r:?}");

    // TLS inside TLS: an https test URL through the https proxy (CONNECT over TLS, then TLS
    // to the upstream inside it), both certificates from the private CA.
    let secure_upstream =
        TestServer::start_tls(&ca.issue(60), |_| Reply::text(200, "tls ip")).await;
    let nested = proxy(
        &format!(
            "https://lookout:tls-pw@{}",
            tls.addr.replace("127.0.0.1", "localhost")
        ),
        &[format!(
            "{}/ip",
            secure_upstream
                .url
                .replace("https://127.0.0.1", "https://localhost")
        )],
        json!({"ca_pem": ca.cert_pem}),
    );
    let r = check(&nested).await;
    assert_eq!(
        (r.outcome, r.status_code),
        (Outcome::Up, Some(200)),
        "{r:?}"
    );
    assert_eq!(secure_upstream.requests().len(), 1);
}

#[tokio::test]
async fn socks5_proxies_with_credentials_and_test_urls_in_order() {
    let upstream = TestServer::start(|_| Reply::text(200, "your ip")).await;
    let dead = closed_port().await;
    let socks = common::socks_proxy("sockuser:sock-pw").await;
    let t = proxy(
        &format!("socks5://sockuser:sock-pw@{}", socks.addr),
        &[format!("{dead}/first"), format!("{}/second", upstream.url)],
        json!({}),
    );
    let r = check(&t).await;
    assert_eq!(r.outcome, Outcome::Up, "the second URL answered: {r:?}");
    assert_eq!(upstream.requests()[0].path, "/second");

    // pproxy drops the connection on bad credentials without an RFC 1929 answer: a refusal of
    // the credentials (`proxy_auth`), and the other test URLs are not tried.
    let fresh = common::socks_proxy("sockuser:sock-pw").await;
    let wrong = proxy(
        &format!("socks5://sockuser:bad-pw@{}", fresh.addr),
        &[format!("{}/x", upstream.url), format!("{}/y", upstream.url)],
        json!({}),
    );
    let r = check(&wrong).await;
    failed_with(&r, ErrorKind::ProxyAuth);
    assert!(r.message.as_deref().unwrap().contains("socks"), "{r:?}");
    assert!(!format!("{r:?}").contains("bad-pw"), "{r:?}");
    assert_eq!(
        upstream.requests().len(),
        1,
        "nothing went through with bad credentials"
    );
}

/// A SOCKS5 stub for the answers pproxy never gives: it refuses user/password authentication
/// with the RFC 1929 status (`auth_ok` false), or accepts it and answers every CONNECT with
/// reply code 5, "connection refused" (RFC 1928). Returns its address and a CONNECT counter.
async fn socks_stub(auth_ok: bool) -> (String, Arc<AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let connects = Arc::new(AtomicUsize::new(0));
    let counter = connects.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 512];
                // Greeting: VER NMETHODS METHODS; choose 0x02 (username/password).
                if sock.read(&mut buf).await.unwrap_or(0) == 0 {
                    return;
                }
                let _ = sock.write_all(&[5, 2]).await;
                // RFC 1929 request; answer 0 (success) or 1 (failure).
                if sock.read(&mut buf).await.unwrap_or(0) == 0 {
                    return;
                }
                let _ = sock.write_all(&[1, if auth_ok { 0 } else { 1 }]).await;
                if !auth_ok {
                    return;
                }
                if sock.read(&mut buf).await.unwrap_or(0) > 0 {
                    counter.fetch_add(1, Ordering::SeqCst);
                    let _ = sock.write_all(&[5, 5, 0, 1, 0, 0, 0, 0, 0, 0]).await;
                }
            });
        }
    });
    (addr, connects)
}

#[tokio::test]
async fn socks_answers_map_to_proxy_auth_or_to_the_next_test_url() {
    let (refusing, _) = socks_stub(false).await;
    let t = proxy(
        &format!("socks5://u:stub-pw@{refusing}"),
        &["http://127.0.0.1:9/".into()],
        json!({}),
    );
    let r = check(&t).await;
    failed_with(&r, ErrorKind::ProxyAuth);
    assert!(!format!("{r:?}").contains("stub-pw"));

    let (unreachable, connects) = socks_stub(true).await;
    let t = proxy(
        &format!("socks5://u:pw@{unreachable}"),
        &["http://127.0.0.1:9/a".into(), "http://127.0.0.1:9/b".into()],
        json!({}),
    );
    let r = check(&t).await;
    failed_with(&r, ErrorKind::Proxy);
    assert_eq!(
        connects.load(Ordering::SeqCst),
        2,
        "a destination refusal moves on to the next URL"
    );
}

#[tokio::test]
async fn a_refused_connect_tunnel_moves_on_to_the_next_test_url() {
    let upstream = TestServer::start(|_| Reply::text(200, "your ip")).await;
    let dead = closed_port().await.replace("http://", "https://");
    let fwd = common::forward_proxy("lookout:pw").await;
    let t = proxy(
        &format!("http://lookout:pw@{}", fwd.addr),
        &[format!("{dead}/tls"), format!("{}/plain", upstream.url)],
        json!({}),
    );
    let r = check(&t).await;
    assert_eq!(r.outcome, Outcome::Up, "{r:?}");
    assert_eq!(upstream.requests().len(), 1);
}

#[tokio::test]
async fn the_targets_own_host_header_replaces_the_default_and_url_userinfo_is_basic_auth() {
    let s = TestServer::start(|_| Reply::text(200, "ok")).await;
    let t = server(
        &s.url,
        json!({"headers": {"Host": "app.example", "User-Agent": "probe/1"}}),
    );
    assert_eq!(check(&t).await.outcome, Outcome::Up);
    let seen = &s.requests()[0];
    let count = |name: &str| seen.headers.iter().filter(|(k, _)| k == name).count();
    assert_eq!((count("host"), count("user-agent")), (1, 1), "{seen:?}");
    assert_eq!(seen.header("host"), Some("app.example"));

    let with_userinfo = server(
        &s.url.replace("http://", "http://al%40ice:p%3Aw@"),
        json!({}),
    );
    assert_eq!(check(&with_userinfo).await.outcome, Outcome::Up);
    // base64("al@ice:p:w")
    assert_eq!(
        s.requests()[1].header("authorization"),
        Some("Basic YWxAaWNlOnA6dw==")
    );
}

#[tokio::test]
async fn a_test_urls_userinfo_never_reaches_the_proxys_request_line() {
    // A plain server standing in for an HTTP proxy records the absolute-form request line.
    let fake_proxy = TestServer::start(|_| Reply::text(200, "relayed")).await;
    let t = proxy(
        &fake_proxy.url,
        &["http://user:t3st-secret@upstream.example/ip#frag".into()],
        json!({}),
    );
    check(&t).await;
    let seen = &fake_proxy.requests()[0];
    assert_eq!(seen.path, "http://upstream.example/ip", "{seen:?}");
}

#[tokio::test]
async fn a_destination_that_stalls_behind_a_working_proxy_is_the_destinations_not_the_proxys() {
    // Accepts TCP and never speaks: the proxy's CONNECT succeeds, TLS inside it stalls.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_addr = silent.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = silent.accept().await {
            held.push(sock);
        }
    });
    let upstream = TestServer::start(|_| Reply::text(200, "your ip")).await;
    let fwd = common::forward_proxy("lookout:pw").await;
    let t = proxy(
        &format!("http://lookout:pw@{}", fwd.addr),
        &[
            format!("https://{silent_addr}/stalls"),
            format!("{}/works", upstream.url),
        ],
        json!({"connect_timeout_ms": 700}),
    );
    let r = check(&t).await;
    assert_eq!(r.outcome, Outcome::Up, "the second test URL decides: {r:?}");
    assert_eq!(upstream.requests().len(), 1);
}
