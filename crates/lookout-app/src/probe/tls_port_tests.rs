//! The TLS check against loopback servers: the test kit's HTTPS server for direct TLS, and
//! tiny STARTTLS responders (SMTP, IMAP, POP3, PostgreSQL) this file starts, which speak the
//! plain-text dialogue and then accept TLS with a test certificate.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::probe::{ProbeOptions, Prober};
use crate::testing::{self_signed, Reply, TestCa, TestCert, TestServer};
use lookout_core::domain::{CheckResult, ErrorKind, Outcome, Target};

/// A `tls` target on 127.0.0.1:`port` with the fields of `extra`.
fn tls(port: u16, extra: serde_json::Value) -> Target {
    let mut v = json!({"id":"t","group":"g","kind":"tls","host":"127.0.0.1","port":port,
        "retries":0});
    v.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    Target::from_json(v).unwrap()
}

async fn check(t: &Target) -> CheckResult {
    Prober::with_options(ProbeOptions::allow_private())
        .unwrap()
        .check(t, 1)
        .await
}

fn message(r: &CheckResult) -> &str {
    r.message.as_deref().unwrap_or_default()
}

async fn https(cert: &TestCert) -> u16 {
    let s = TestServer::start_tls(cert, |_| Reply::text(200, "ok")).await;
    let port = url::Url::parse(&s.url).unwrap().port().unwrap();
    std::mem::forget(s.handle);
    port
}

fn acceptor(cert: &TestCert) -> tokio_rustls::TlsAcceptor {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_slice_iter(cert.cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(cert.key_pem.as_bytes()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

/// One line from `sock` (byte by byte, so nothing after it is taken from the TLS handshake).
async fn line(sock: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let mut b = [0u8; 1];
    while sock.read(&mut b).await.unwrap_or(0) == 1 {
        out.push(b[0]);
        if b[0] == b'\n' {
            break;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A server that writes `greeting`, then for each `(command, reply)` reads one line (or, for
/// PostgreSQL, 8 bytes), records it and writes `reply`; then accepts TLS with `cert` when
/// `upgrade`. Returns its port and what it read.
async fn responder(
    cert: &TestCert,
    greeting: &'static str,
    steps: Vec<&'static str>,
    binary_request: bool,
    upgrade: bool,
) -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (acceptor, record) = (acceptor(cert), seen.clone());
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let (acceptor, record, steps) = (acceptor.clone(), record.clone(), steps.clone());
            tokio::spawn(async move {
                sock.write_all(greeting.as_bytes()).await.unwrap();
                for reply in steps {
                    let got = if binary_request {
                        let mut req = [0u8; 8];
                        sock.read_exact(&mut req).await.unwrap();
                        format!("{req:02x?}")
                    } else {
                        line(&mut sock).await
                    };
                    record.lock().unwrap().push(got);
                    sock.write_all(reply.as_bytes()).await.unwrap();
                }
                if upgrade {
                    if let Ok(mut tls) = acceptor.accept(sock).await {
                        let _ = tls.read(&mut [0u8; 16]).await;
                    }
                } else {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                }
            });
        }
    });
    (port, seen)
}

#[tokio::test]
async fn a_five_day_certificate_is_degraded_with_its_days_and_issuer() {
    let ca = TestCa::new();
    let port = https(&ca.issue(5)).await;
    let r = check(&tls(port, json!({"ca_pem": ca.cert_pem}))).await;
    assert_eq!((r.outcome, r.error), (Outcome::Degraded, None), "{r:?}");
    assert_eq!(r.cert_days_left, Some(5), "{r:?}");
    let m = message(&r);
    assert!(
        m.contains("issued by CN=Lookout test CA") && m.contains("5 day(s) left"),
        "{m}"
    );
    assert!(m.contains("under cert_expiry_warn_days 14"), "{m}");
    assert!(
        r.connect_ms.is_some() && r.latency_ms >= r.connect_ms.unwrap(),
        "{r:?}"
    );
    // Warnings off: up, with the same words.
    let off = check(&tls(
        port,
        json!({"ca_pem": ca.cert_pem, "cert_expiry_warn_days": 0}),
    ))
    .await;
    assert_eq!(
        (off.outcome, off.cert_days_left),
        (Outcome::Up, Some(5)),
        "{off:?}"
    );
    assert!(message(&off).starts_with("certificate CN="), "{off:?}");
}

#[tokio::test]
async fn an_expired_certificate_is_cert() {
    let ca = TestCa::new();
    let port = https(&ca.issue(-2)).await;
    let r = check(&tls(port, json!({"ca_pem": ca.cert_pem}))).await;
    assert_eq!(
        (r.outcome, r.error),
        (Outcome::Failed, Some(ErrorKind::Cert)),
        "{r:?}"
    );
    assert!(message(&r).contains("Expired"), "{r:?}");
}

#[tokio::test]
async fn a_certificate_for_another_name_is_cert() {
    let ca = TestCa::new();
    let port = https(&ca.issue(90)).await;
    let r = check(&tls(
        port,
        json!({"ca_pem": ca.cert_pem, "server_name": "db.internal"}),
    ))
    .await;
    assert_eq!(
        (r.outcome, r.error),
        (Outcome::Failed, Some(ErrorKind::Cert)),
        "{r:?}"
    );
    let same = check(&tls(
        port,
        json!({"ca_pem": ca.cert_pem, "server_name": "localhost"}),
    ))
    .await;
    assert_eq!(
        same.outcome,
        Outcome::Up,
        "SNI localhost is in the certificate: {same:?}"
    );
}

#[tokio::test]
async fn an_untrusted_issuer_is_cert_until_ca_pem_trusts_it() {
    let ca = TestCa::new();
    let port = https(&ca.issue(90)).await;
    let r = check(&tls(port, json!({}))).await;
    assert_eq!(
        (r.outcome, r.error),
        (Outcome::Failed, Some(ErrorKind::Cert)),
        "{r:?}"
    );
    assert!(message(&r).contains("UnknownIssuer"), "{r:?}");
    let trusted = check(&tls(port, json!({"ca_pem": ca.cert_pem}))).await;
    assert_eq!(
        (trusted.outcome, trusted.error),
        (Outcome::Up, None),
        "{trusted:?}"
    );
    assert!(
        trusted.cert_days_left.is_some_and(|d| d >= 89),
        "{trusted:?}"
    );
    // A self-signed certificate is trusted by naming itself.
    let own = self_signed(30);
    let port = https(&own).await;
    let r = check(&tls(port, json!({"ca_pem": own.cert_pem}))).await;
    assert_eq!(r.outcome, Outcome::Up, "{r:?}");
}

#[tokio::test]
async fn each_starttls_dialogue_upgrades_and_the_certificate_is_checked() {
    let ca = TestCa::new();
    let cert = ca.issue(60);
    let cases = [
        (
            "smtp",
            "220-mail.test ESMTP\r\n220 ready\r\n",
            vec![
                "250-mail.test\r\n250-SIZE 1000\r\n250 STARTTLS\r\n",
                "220 go ahead\r\n",
            ],
            vec!["EHLO lookout\r\n", "STARTTLS\r\n"],
            false,
        ),
        (
            "imap",
            "* OK IMAP4rev1 ready\r\n",
            vec!["* CAPABILITY IMAP4rev1 STARTTLS\r\na OK Begin TLS now\r\n"],
            vec!["a STARTTLS\r\n"],
            false,
        ),
        (
            "pop3",
            "+OK POP3 ready\r\n",
            vec!["+OK Begin TLS\r\n"],
            vec!["STLS\r\n"],
            false,
        ),
        (
            "postgres",
            "",
            vec!["S"],
            vec!["[00, 00, 00, 08, 04, d2, 16, 2f]"],
            true,
        ),
    ];
    for (protocol, greeting, replies, want, binary) in cases {
        let (port, seen) = responder(&cert, greeting, replies, binary, true).await;
        let r = check(&tls(
            port,
            json!({"ca_pem": ca.cert_pem, "starttls": protocol}),
        ))
        .await;
        assert_eq!(
            (r.outcome, r.error),
            (Outcome::Up, None),
            "{protocol}: {r:?}"
        );
        assert_eq!(r.cert_days_left, Some(60), "{protocol}: {r:?}");
        assert_eq!(*seen.lock().unwrap(), want, "{protocol}");
        // Without the upgrade the same port is no TLS port.
        let plain = check(&tls(
            port,
            json!({"ca_pem": ca.cert_pem, "timeout_ms": 1000}),
        ))
        .await;
        assert_eq!(plain.outcome, Outcome::Failed, "{protocol}: {plain:?}");
    }
}

#[tokio::test]
async fn a_server_that_refuses_starttls_fails_with_its_reply() {
    let cert = self_signed(30);
    let (port, _) = responder(
        &cert,
        "220 mail ready\r\n",
        vec!["250 mail\r\n", "454 4.7.0 TLS not available\r\n"],
        false,
        false,
    )
    .await;
    let r = check(&tls(port, json!({"starttls": "smtp"}))).await;
    assert_eq!(
        (r.outcome, r.error),
        (Outcome::Failed, Some(ErrorKind::Tls)),
        "{r:?}"
    );
    assert!(message(&r).contains("454 4.7.0 TLS not available"), "{r:?}");
    let (port, _) = responder(&cert, "", vec!["N"], true, false).await;
    let r = check(&tls(port, json!({"starttls": "postgres"}))).await;
    assert_eq!(r.error, Some(ErrorKind::Tls), "{r:?}");
    assert!(message(&r).contains("does not accept SSL"), "{r:?}");
    let (port, _) = responder(&cert, "* BYE busy\r\n", vec![], false, false).await;
    let r = check(&tls(port, json!({"starttls": "imap"}))).await;
    assert_eq!(r.error, Some(ErrorKind::Tls), "{r:?}");
    assert!(message(&r).contains("BYE busy"), "{r:?}");
    // Untagged lines without end are cut like one reply (review, issue 21).
    let flood: &'static str = Box::leak(
        "* CAPABILITY IMAP4rev1 STARTTLS\r\n"
            .repeat(200)
            .into_boxed_str(),
    );
    let (port, _) = responder(&cert, "* OK ready\r\n", vec![flood], false, false).await;
    let r = check(&tls(port, json!({"starttls": "imap", "timeout_ms": 10000}))).await;
    assert_eq!(r.error, Some(ErrorKind::Tls), "{r:?}");
    assert!(message(&r).contains("untagged"), "{r:?}");
}

#[tokio::test]
async fn a_silent_server_is_a_timeout() {
    let cert = self_signed(30);
    let (port, _) = responder(&cert, "", vec![], false, false).await;
    for extra in [json!({}), json!({"starttls": "smtp"})] {
        let mut t = tls(port, extra);
        t.timeout_ms = 300;
        let r = check(&t).await;
        assert_eq!(
            (r.outcome, r.error),
            (Outcome::Failed, Some(ErrorKind::Timeout)),
            "{r:?}"
        );
    }
}

#[tokio::test]
async fn the_guard_refuses_loopback_unless_private_targets_are_allowed() {
    let cert = self_signed(30);
    let port = https(&cert).await;
    let r = Prober::new().unwrap().check(&tls(port, json!({})), 1).await;
    assert_eq!(
        (r.outcome, r.error),
        (Outcome::Failed, Some(ErrorKind::Forbidden)),
        "{r:?}"
    );
}
