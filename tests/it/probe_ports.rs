//! The `tcp` and `tls` checks against real third-party servers on loopback, each started by
//! its test on a free port: redis-server (`PING` → `+PONG`, `AUTH` with a password that never
//! reaches a message), socat as a TCP echo server, nginx and `openssl s_server` over TLS with
//! short-lived certificates from a test CA, and aiosmtpd (Python) with STARTTLS. One end-to-end
//! run through the probe function against DynamoDB Local and moto: a TCP target whose port
//! closes goes down with one alert.

use std::path::PathBuf;
use std::time::Duration;

use crate::common;
use crate::common::{check, failed_with, start_system_proxy, ForwardProxy};

use lookout_app::testing::{TestCa, TestCert};
use lookout_core::domain::{CheckResult, ErrorKind, Outcome, Target};
use serde_json::json;

fn message(r: &CheckResult) -> &str {
    r.message.as_deref().unwrap_or_default()
}

/// A `kind` target (`tcp` or `tls`) on 127.0.0.1:`port`, timeouts 3,000 ms, with `extra`.
fn port_target(kind: &str, port: u16, extra: serde_json::Value) -> Target {
    let mut v = json!({"id":"t","group":"g","kind":kind,"host":"127.0.0.1","port":port,
        "timeout_ms":3000,"degraded_latency_ms":2500,"retries":0});
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    Target::from_json(v).expect("valid target")
}

fn port_of(p: &ForwardProxy) -> u16 {
    p.addr.rsplit(':').next().unwrap().parse().unwrap()
}

/// redis-server on a free loopback port, nothing saved; with `requirepass` when given.
async fn redis(password: Option<&str>) -> ForwardProxy {
    let password = password.map(str::to_string);
    start_system_proxy("redis-server", "redis-server", move |port| {
        let mut args: Vec<String> = [
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        if let Some(p) = &password {
            args.extend(["--requirepass".into(), p.clone()]);
        }
        args
    })
    .await
}

/// A directory holding `cert`'s `cert.pem` and `key.pem`.
fn cert_dir(cert: &TestCert) -> PathBuf {
    let dir = std::env::temp_dir().join(common::unique("lookout-ports"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("cert.pem"), &cert.cert_pem).unwrap();
    std::fs::write(dir.join("key.pem"), &cert.key_pem).unwrap();
    dir
}

/// A process of ours, killed with its process group when dropped.
struct Process(std::process::Child);

impl Drop for Process {
    fn drop(&mut self) {
        // SAFETY: kill only sends a signal to the process group of the child we started.
        unsafe { libc::kill(-(self.0.id() as libc::pid_t), libc::SIGKILL) };
        let _ = self.0.wait();
    }
}

/// aiosmtpd (the project's venv, infra/local/requirements.txt) on a free loopback port, with
/// STARTTLS offered with `cert` when given (else it answers STARTTLS `454`).
async fn aiosmtpd(cert: Option<&TestCert>) -> (Process, u16) {
    let python = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.local/venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run `make test` (it installs the local stack)",
        python.display()
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = cert.map(cert_dir);
    let script = r#"
import ssl, sys, threading
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Sink
port, certs = int(sys.argv[1]), sys.argv[2]
ctx = None
if certs:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(certs + "/cert.pem", certs + "/key.pem")
Controller(Sink(), hostname="127.0.0.1", port=port, tls_context=ctx, ready_timeout=60).start()
threading.Event().wait()
"#;
    use std::os::unix::process::CommandExt as _;
    let child = std::process::Command::new(&python)
        .process_group(0)
        .args(["-c", script, &port.to_string()])
        .arg(
            dir.as_ref()
                .map(|d| d.display().to_string())
                .unwrap_or_default(),
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("start aiosmtpd: {e}"));
    let mut p = Process(child);
    // Ready once it greets (`220`): the port opens before the server answers.
    for _ in 0..300 {
        if let Ok(mut sock) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
            use tokio::io::AsyncReadExt as _;
            let mut greeting = [0u8; 3];
            let read = tokio::time::timeout(Duration::from_secs(5), sock.read_exact(&mut greeting));
            if matches!(read.await, Ok(Ok(_))) && &greeting == b"220" {
                return (p, port);
            }
        }
        if let Ok(Some(status)) = p.0.try_wait() {
            panic!("aiosmtpd exited ({status}): is it installed (pip install -r infra/local/requirements.txt)?");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("aiosmtpd did not start on 127.0.0.1:{port}");
}

#[tokio::test]
async fn redis_answers_ping_with_pong_and_a_refused_auth_never_shows_the_password() {
    let server = redis(None).await;
    let port = port_of(&server);
    let r = check(&port_target(
        "tcp",
        port,
        json!({"send":"PING\r\n","expect_prefix":"+PONG"}),
    ))
    .await;
    assert_eq!((r.outcome, r.error), (Outcome::Up, None), "{r:?}");
    assert!(r.connect_ms.is_some() && r.bytes == 6 + 7, "{r:?}");
    // A regex over a longer answer: INFO's bulk string.
    let r = check(&port_target(
        "tcp",
        port,
        json!({"send":"INFO server\r\n","expect_regex":r"redis_version:7\.\d+"}),
    ))
    .await;
    assert_eq!(r.outcome, Outcome::Up, "{r:?}");

    let locked = redis(Some("right-horse-battery")).await;
    let port = port_of(&locked);
    let ok = check(&port_target(
        "tcp",
        port,
        json!({"send":"AUTH right-horse-battery\r\nPING\r\n","expect_regex":r"^\+OK\r\n\+PONG"}),
    ))
    .await;
    assert_eq!(ok.outcome, Outcome::Up, "{ok:?}");
    let wrong = check(&port_target(
        "tcp",
        port,
        json!({"send":"AUTH wrong-staple-pass\r\nPING\r\n","expect_prefix":"+OK"}),
    ))
    .await;
    failed_with(&wrong, ErrorKind::Assertion);
    let m = message(&wrong);
    assert!(m.contains("-WRONGPASS"), "{m}");
    assert!(!m.contains("staple"), "{m}");
    // The port closes: connect.
    drop(locked);
    let r = check(&port_target("tcp", port, json!({}))).await;
    failed_with(&r, ErrorKind::Connect);
}

#[tokio::test]
async fn socat_echoes_what_is_sent_and_a_wrong_expectation_fails_the_assertion() {
    let echo = start_system_proxy("socat", "socat", |port| {
        vec![
            format!("TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork"),
            "PIPE".into(),
        ]
    })
    .await;
    let port = port_of(&echo);
    let up = check(&port_target(
        "tcp",
        port,
        json!({"send":"hello lookout\n","expect_regex":"(?m)^hello lookout$"}),
    ))
    .await;
    assert_eq!((up.outcome, up.error), (Outcome::Up, None), "{up:?}");
    assert_eq!(up.bytes, 14 * 2, "{up:?}");
    let connect_only = check(&port_target("tcp", port, json!({}))).await;
    assert_eq!(connect_only.outcome, Outcome::Up, "{connect_only:?}");
    // The echo does not start with `bye`: stopped at once, the echoed text masked.
    let wrong = check(&port_target(
        "tcp",
        port,
        json!({"send":"hello lookout\n","expect_prefix":"bye","timeout_ms":60000}),
    ))
    .await;
    failed_with(&wrong, ErrorKind::Assertion);
    let m = message(&wrong);
    assert!(
        m.contains("\"bye\"") && m.contains("***") && !m.contains("hello"),
        "{m}"
    );
}

#[tokio::test]
async fn nginx_over_tls_with_a_three_day_certificate_is_degraded_naming_the_issuer() {
    let ca = TestCa::new();
    let ngx = common::nginx(Some(&ca.issue(3)), false, "", &[]).await;
    let r = check(&port_target(
        "tls",
        ngx.port,
        json!({"ca_pem": ca.cert_pem, "server_name": "localhost"}),
    ))
    .await;
    assert_eq!((r.outcome, r.error), (Outcome::Degraded, None), "{r:?}");
    assert_eq!(r.cert_days_left, Some(3), "{r:?}");
    let m = message(&r);
    assert!(
        m.starts_with("certificate CN=")
            && m.contains("issued by CN=Lookout test CA, 3 day(s) left"),
        "{m}"
    );
    // Untrusted without the CA; a name the certificate is not for.
    failed_with(
        &check(&port_target("tls", ngx.port, json!({}))).await,
        ErrorKind::Cert,
    );
    failed_with(
        &check(&port_target(
            "tls",
            ngx.port,
            json!({"ca_pem": ca.cert_pem, "server_name": "db.internal"}),
        ))
        .await,
        ErrorKind::Cert,
    );
    // The plain-HTTP port of an nginx is no TLS port.
    let plain = common::nginx(None, false, "", &[]).await;
    failed_with(
        &check(&port_target("tls", plain.port, json!({}))).await,
        ErrorKind::Tls,
    );
}

#[tokio::test]
async fn openssl_s_server_is_up_with_a_trusted_certificate_and_cert_when_expired() {
    let ca = TestCa::new();
    for (days, want) in [(40, Ok(40)), (-1, Err(ErrorKind::Cert))] {
        let dir = cert_dir(&ca.issue(days));
        let d = dir.clone();
        let server = start_system_proxy("openssl", "openssl", move |port| {
            vec![
                "s_server".into(),
                "-accept".into(),
                format!("127.0.0.1:{port}"),
                "-cert".into(),
                d.join("cert.pem").display().to_string(),
                "-key".into(),
                d.join("key.pem").display().to_string(),
                "-www".into(),
            ]
        })
        .await;
        let r = check(&port_target(
            "tls",
            port_of(&server),
            json!({"ca_pem": ca.cert_pem}),
        ))
        .await;
        match want {
            Ok(days) => {
                assert_eq!(
                    (r.outcome, r.cert_days_left),
                    (Outcome::Up, Some(days)),
                    "{r:?}"
                );
                assert!(message(&r).contains("Lookout test CA"), "{r:?}");
            }
            Err(kind) => failed_with(&r, kind),
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[tokio::test]
async fn aiosmtpd_upgrades_with_starttls_and_one_without_tls_refuses_it() {
    let ca = TestCa::new();
    let (_smtp, port) = aiosmtpd(Some(&ca.issue(10))).await;
    let r = check(&port_target(
        "tls",
        port,
        json!({"starttls":"smtp","ca_pem": ca.cert_pem}),
    ))
    .await;
    assert_eq!((r.outcome, r.error), (Outcome::Degraded, None), "{r:?}");
    assert_eq!(r.cert_days_left, Some(10), "{r:?}");
    assert!(message(&r).contains("10 day(s) left"), "{r:?}");
    // The SMTP port does not speak TLS at once.
    failed_with(
        &check(&port_target("tls", port, json!({"ca_pem": ca.cert_pem}))).await,
        ErrorKind::Tls,
    );
    let (_plain, port) = aiosmtpd(None).await;
    let r = check(&port_target("tls", port, json!({"starttls":"smtp"}))).await;
    failed_with(&r, ErrorKind::Tls);
    assert!(message(&r).contains("454"), "{r:?}");
}

#[tokio::test]
async fn a_tcp_target_whose_port_closes_goes_down_with_one_alert_through_the_probe_run() {
    use lookout_app::ports::{StateStore, TargetStore};
    use lookout_core::domain::{Status, TargetKind};
    let aws = common::aws().await;
    let (ddb, table) = common::fresh_table(&aws).await;
    let (topic, queue, sqs) = common::fresh_topic(&aws).await;
    let store = lookout_aws::dynamodb::DynamoStore::new(ddb, table, 30);
    let publisher = lookout_aws::sns::SnsPublisher::new(aws_sdk_sns::Client::new(&aws), topic);
    let server = redis(None).await;
    let mut t = port_target(
        "tcp",
        port_of(&server),
        json!({"send":"PING\r\n","expect_prefix":"+PONG","failure_threshold":2}),
    );
    t.id = "cache".into();
    store.create_target(&t).await.unwrap();
    let prober =
        lookout_app::probe::Prober::with_options(lookout_app::probe::ProbeOptions::allow_private())
            .unwrap();
    let all_now = probe::ProbeRequest::forced(&TargetKind::ALL);
    let run = || async {
        probe::run(
            &store,
            &publisher,
            &prober,
            &all_now,
            &probe::RunConfig::new(4),
        )
        .await
        .unwrap()
    };
    let status = || async {
        store.latest(TargetKind::Server).await.unwrap()["cache"]
            .state
            .status
    };
    run().await;
    assert_eq!(status().await, Status::Healthy);
    drop(server);
    for _ in 0..3 {
        run().await;
    }
    assert_eq!(status().await, Status::Down);
    assert!(run().await.alerts.is_empty(), "down once, alerted once");
    let messages = common::drain(&sqs, &queue).await;
    let alerts: Vec<serde_json::Value> = messages
        .iter()
        .map(|m| serde_json::from_str(m["Message"].as_str().unwrap()).unwrap())
        .collect();
    let down: Vec<_> = alerts
        .iter()
        .filter(|a| a["new_status"] == "down")
        .collect();
    assert_eq!(down.len(), 1, "{alerts:?}");
    assert_eq!(down[0]["target_id"], "cache", "{alerts:?}");
}
