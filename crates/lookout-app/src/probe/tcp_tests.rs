//! The TCP check against loopback servers this file starts (tokio listeners).

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::probe::{ProbeOptions, Prober};
use crate::secrets::{MemorySecrets, SecretRef, Secrets};
use lookout_core::domain::{CheckResult, ErrorKind, Outcome, Target};

/// A `tcp` target on 127.0.0.1:`port` with the fields of `extra`.
fn tcp(port: u16, extra: serde_json::Value) -> Target {
    let mut v = json!({"id":"t","group":"g","kind":"tcp","host":"127.0.0.1","port":port,
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

/// A server that answers each connection with `reply(what it read first)`, then keeps the
/// connection open for a while (so that a reader only stops on its own terms). Returns the
/// port and everything each connection sent.
async fn responder(
    reply: impl Fn(&[u8]) -> Vec<u8> + Send + Sync + 'static,
    read_first: bool,
) -> (u16, Arc<std::sync::Mutex<Vec<Vec<u8>>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (reply, record) = (Arc::new(reply), seen.clone());
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let (reply, record) = (reply.clone(), record.clone());
            tokio::spawn(async move {
                let mut got = vec![0u8; 8192];
                let n = if read_first {
                    sock.read(&mut got).await.unwrap_or(0)
                } else {
                    0
                };
                record.lock().unwrap().push(got[..n].to_vec());
                let _ = sock.write_all(&reply(&got[..n])).await;
                tokio::time::sleep(Duration::from_secs(30)).await;
            });
        }
    });
    (port, seen)
}

#[tokio::test]
async fn a_port_that_accepts_is_up_with_its_connect_time() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let r = check(&tcp(port, json!({}))).await;
    assert_eq!(
        (r.outcome, r.error, r.attempts),
        (Outcome::Up, None, 1),
        "{r:?}"
    );
    assert!(r.connect_ms.is_some(), "{r:?}");
    assert!(r.latency_ms >= r.connect_ms.unwrap(), "{r:?}");
    assert_eq!((r.status_code, r.cert_days_left), (None, None));
    drop(listener);
}

#[tokio::test]
async fn send_and_a_prefix_met_is_up_and_the_bytes_went_out() {
    let (port, seen) = responder(
        |got| {
            if got == b"PING\r\n" {
                b"+PONG\r\n".to_vec()
            } else {
                b"-ERR\r\n".to_vec()
            }
        },
        true,
    )
    .await;
    let t = tcp(port, json!({"send":"PING\r\n","expect_prefix":"+PONG"}));
    let r = check(&t).await;
    assert_eq!((r.outcome, r.error), (Outcome::Up, None), "{r:?}");
    assert_eq!(seen.lock().unwrap().as_slice(), [b"PING\r\n".to_vec()]);
    assert_eq!(r.bytes, 6 + 7, "sent and read: {r:?}");
}

#[tokio::test]
async fn a_regex_is_met_by_a_banner_sent_in_pieces() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                sock.write_all(b"SSH-2.0-").await.unwrap();
                tokio::time::sleep(Duration::from_millis(50)).await;
                sock.write_all(b"OpenSSH_9.6\r\n").await.unwrap();
                tokio::time::sleep(Duration::from_secs(30)).await;
            });
        }
    });
    let t = tcp(port, json!({"expect_regex":r"^SSH-2\.0-OpenSSH_\d+"}));
    let r = check(&t).await;
    assert_eq!((r.outcome, r.error), (Outcome::Up, None), "{r:?}");
    assert_eq!(r.bytes, 21, "{r:?}");
}

#[tokio::test]
async fn a_different_answer_fails_the_assertion_quoting_it_without_waiting_for_the_timeout() {
    let (port, _) = responder(|_| b"-ERR unknown command 'PING'\r\n".to_vec(), true).await;
    let t = tcp(
        port,
        json!({"send":"PING\r\n","expect_prefix":"+PONG","timeout_ms":60000}),
    );
    let r = check(&t).await;
    assert_eq!(
        (r.outcome, r.error),
        (Outcome::Failed, Some(ErrorKind::Assertion)),
        "{r:?}"
    );
    let m = message(&r);
    assert!(m.contains("\"+PONG\"") && m.contains("-ERR unknown"), "{m}");
    assert!(
        m.contains("the answer differs"),
        "stopped at the mismatch: {m}"
    );
    // A regex that does not match: read until the peer closes.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let _ = sock.write_all(&[b'z'; 200]).await;
        }
    });
    let r = check(&tcp(port, json!({"expect_regex":"^ok$"}))).await;
    assert_eq!(r.error, Some(ErrorKind::Assertion), "{r:?}");
    let m = message(&r);
    assert!(
        m.contains("closed") && m.contains("after 200 byte(s)"),
        "{m}"
    );
    assert!(
        m.contains(&"z".repeat(64)) && !m.contains(&"z".repeat(65)),
        "64 bytes quoted: {m}"
    );
}

#[tokio::test]
async fn an_endless_answer_is_read_up_to_4_kib() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move { while sock.write_all(&[b'x'; 1000]).await.is_ok() {} });
        }
    });
    let r = check(&tcp(
        port,
        json!({"expect_regex":"never","timeout_ms":60000}),
    ))
    .await;
    assert_eq!(r.error, Some(ErrorKind::Assertion), "{r:?}");
    assert_eq!(r.bytes, 4096, "{r:?}");
    assert!(message(&r).contains("most bytes"), "{r:?}");
}

#[tokio::test]
async fn what_was_sent_is_masked_where_the_peer_echoes_it() {
    let (port, _) = responder(|got| got.to_vec(), true).await;
    let t = tcp(
        port,
        json!({"send":"AUTH s3cret-passw0rd-that-is-long-enough-to-be-cut-at-64-bytes\r\n",
            "expect_prefix":"+OK"}),
    );
    let r = check(&t).await;
    assert_eq!(r.error, Some(ErrorKind::Assertion), "{r:?}");
    let m = message(&r);
    assert!(!m.contains("s3cret") && m.contains("***"), "{m}");
    // Quoted inside a longer answer.
    let (port, _) = responder(
        |got| [b"-ERR rejected ".as_slice(), got, b" (bad password)"].concat(),
        true,
    )
    .await;
    let r = check(&tcp(
        port,
        json!({"send":"AUTH hunter2","expect_prefix":"+OK"}),
    ))
    .await;
    let m = message(&r);
    assert!(
        !m.contains("hunter2") && m.contains("-ERR rejected *** (bad password)"),
        "{m}"
    );
    // One argument quoted alone, as Redis does for an unknown command (review, issue 21).
    let (port, _) = responder(
        |_| b"-ERR unknown command 'X', with args beginning with: 'hunter22' \r\n".to_vec(),
        true,
    )
    .await;
    let r = check(&tcp(
        port,
        json!({"send":"X hunter22\r\n","expect_prefix":"+OK"}),
    ))
    .await;
    let m = message(&r);
    assert!(!m.contains("hunter22") && m.contains("'***'"), "{m}");
}

#[tokio::test]
async fn a_closed_port_is_connect() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let r = check(&tcp(port, json!({}))).await;
    assert_eq!(
        (r.outcome, r.error),
        (Outcome::Failed, Some(ErrorKind::Connect)),
        "{r:?}"
    );
}

#[tokio::test]
async fn a_silent_server_is_a_timeout() {
    let (port, _) = responder(|_| Vec::new(), false).await;
    let t = tcp(
        port,
        json!({"send":"hello\r\n","expect_prefix":"hi","timeout_ms":300}),
    );
    let r = check(&t).await;
    assert_eq!(
        (r.outcome, r.error),
        (Outcome::Failed, Some(ErrorKind::Timeout)),
        "{r:?}"
    );
    assert!(message(&r).contains("300 ms"), "{r:?}");
    assert!(r.connect_ms.is_some(), "connected first: {r:?}");
}

#[tokio::test]
async fn the_guard_refuses_loopback_unless_private_targets_are_allowed() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let guarded = Prober::new().unwrap();
    for host in ["127.0.0.1", "localhost", "2130706433"] {
        let mut t = tcp(port, json!({}));
        if let lookout_core::domain::Check::Tcp(c) = &mut t.check {
            c.host = host.into();
        }
        let r = guarded.check(&t, 1).await;
        assert_eq!(
            (r.outcome, r.error),
            (Outcome::Failed, Some(ErrorKind::Forbidden)),
            "{host}: {r:?}"
        );
    }
    let r = check(&tcp(port, json!({}))).await;
    assert_eq!(r.outcome, Outcome::Up, "{r:?}");
}

#[tokio::test]
async fn a_slow_answer_is_slow() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(30)).await;
                let _ = sock.write_all(b"220 ready\r\n").await;
                tokio::time::sleep(Duration::from_secs(30)).await;
            });
        }
    });
    let t = tcp(port, json!({"expect_prefix":"220","degraded_latency_ms":1}));
    let r = check(&t).await;
    assert_eq!((r.outcome, r.error), (Outcome::Slow, None), "{r:?}");
    assert!(message(&r).contains("degraded_latency_ms 1"), "{r:?}");
}

#[tokio::test]
async fn a_secret_reference_in_send_is_resolved_when_the_check_runs() {
    let (port, seen) = responder(
        |got| {
            if got == b"AUTH hunter2\r\n" {
                b"+OK\r\n".to_vec()
            } else {
                b"-WRONGPASS\r\n".to_vec()
            }
        },
        true,
    )
    .await;
    let t = tcp(
        port,
        json!({"send":"AUTH {{ssm:/redis/password}}\r\n","expect_prefix":"+OK"}),
    );
    let mem = MemorySecrets::default();
    mem.set(SecretRef::Ssm("/redis/password".into()), "hunter2\n");
    let prober = Prober::with_options(ProbeOptions::allow_private()).unwrap();
    let r = crate::secrets::check(&prober, &Secrets::new(mem), &t, 1).await;
    assert_eq!((r.outcome, r.error), (Outcome::Up, None), "{r:?}");
    assert_eq!(
        seen.lock().unwrap().as_slice(),
        [b"AUTH hunter2\r\n".to_vec()]
    );
    let lookout_core::domain::Check::Tcp(c) = &t.check else {
        unreachable!()
    };
    assert!(
        c.send.as_deref().unwrap().contains("{{ssm:"),
        "the definition keeps it"
    );
}
