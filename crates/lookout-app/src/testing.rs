//! Real HTTP(S) servers on loopback for tests: fixed answers, slow answers, resets, garbage,
//! redirect chains, endless bodies, TLS with generated certificates, and a closed port.
//!
//! Every server records the requests it received ([`TestServer::requests`]) so that tests can
//! check the method, headers and body that were sent, and counts the body bytes it managed to
//! write ([`TestServer::bytes_sent`]) so that tests can prove a client stopped reading.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

pub mod dns;
pub mod logs;

/// Starts a server on 127.0.0.1 that answers every request with `status` and `body`, and returns
/// its base URL (`http://127.0.0.1:<port>`). It runs until the test's runtime ends.
pub async fn serve(status: u16, body: &'static str) -> String {
    serve_abortable(status, body).await.0
}

/// Like [`serve`], and the task's handle: `abort()` it and the port closes (a server that dies).
pub async fn serve_abortable(
    status: u16,
    body: &'static str,
) -> (String, tokio::task::JoinHandle<()>) {
    let s = TestServer::start(move |_| Reply::text(status, body)).await;
    (s.url.clone(), s.handle)
}

/// A loopback URL where nothing listens (a port bound and released).
pub async fn closed_port() -> String {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    drop(listener);
    format!("http://{addr}")
}

/// A request as the server saw it.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// `GET`, `POST` ...
    pub method: String,
    /// Path and query, e.g. `/health?x=1`.
    pub path: String,
    /// Header names (lower case) and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body (as much as `content-length` announced).
    pub body: Vec<u8>,
}

impl Request {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the server does with a request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// An HTTP/1.1 answer with `content-length`.
    Http {
        /// Status code.
        status: u16,
        /// Extra headers.
        headers: Vec<(String, String)>,
        /// Body.
        body: Vec<u8>,
    },
    /// Wait, then do the inner reply.
    Delay(Duration, Box<Reply>),
    /// Close the connection with a TCP reset, without answering.
    Reset,
    /// Write these bytes as they are (not HTTP), then close.
    Raw(Vec<u8>),
    /// A 200 whose body is this many bytes of `x`, written in 16 KiB chunks for as long as the
    /// client reads.
    Endless(u64),
}

impl Reply {
    /// A `text/plain` answer.
    pub fn text(status: u16, body: &str) -> Reply {
        Reply::Http {
            status,
            headers: vec![("content-type".into(), "text/plain".into())],
            body: body.as_bytes().to_vec(),
        }
    }

    /// An `application/json` answer.
    pub fn json(status: u16, value: &serde_json::Value) -> Reply {
        Reply::Http {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: value.to_string().into_bytes(),
        }
    }

    /// A redirect to `location` with `status` (301, 302, 303, 307, 308).
    pub fn redirect(status: u16, location: &str) -> Reply {
        Reply::Http {
            status,
            headers: vec![("location".into(), location.into())],
            body: Vec::new(),
        }
    }
}

/// A certificate and its private key, PEM encoded, made by [`TestCa`] or [`self_signed`].
#[derive(Debug, Clone)]
pub struct TestCert {
    /// The certificate (PEM).
    pub cert_pem: String,
    /// Its private key (PKCS#8 PEM).
    pub key_pem: String,
}

/// A private certificate authority for tests.
pub struct TestCa {
    /// The CA certificate (PEM): what a target's `ca_pem` holds.
    pub cert_pem: String,
    cert: rcgen::Certificate,
    key: rcgen::KeyPair,
}

fn params(valid_days: i64) -> rcgen::CertificateParams {
    let mut p = rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".into()])
        .expect("certificate params");
    // rcgen's dates are the `time` crate's: reached from rcgen's epoch, so that this crate
    // keeps one time crate (jiff).
    let at = |ms: i64| {
        let epoch = rcgen::date_time_ymd(1970, 1, 1);
        let span = std::time::Duration::from_millis(ms.unsigned_abs());
        if ms >= 0 {
            epoch + span
        } else {
            epoch - span
        }
    };
    let now = lookout_core::time::now_ms();
    p.not_before = at(now - 30 * lookout_core::time::DAY_MS);
    p.not_after = at(now + valid_days * lookout_core::time::DAY_MS + lookout_core::time::HOUR_MS);
    p
}

impl TestCa {
    /// A new CA, valid for a year.
    pub fn new() -> TestCa {
        let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).expect("ca params");
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        p.distinguished_name
            .push(rcgen::DnType::CommonName, "Lookout test CA");
        let key = rcgen::KeyPair::generate().expect("ca key");
        let cert = p.self_signed(&key).expect("ca cert");
        TestCa {
            cert_pem: cert.pem(),
            cert,
            key,
        }
    }

    /// A server certificate for `localhost` and `127.0.0.1` that expires in `valid_days` days
    /// (and an hour; negative for one already expired).
    pub fn issue(&self, valid_days: i64) -> TestCert {
        let key = rcgen::KeyPair::generate().expect("leaf key");
        let cert = params(valid_days)
            .signed_by(&key, &self.cert, &self.key)
            .expect("leaf cert");
        TestCert {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }
}

impl Default for TestCa {
    fn default() -> Self {
        Self::new()
    }
}

/// A self-signed server certificate for `localhost` and `127.0.0.1`, valid `valid_days` days.
pub fn self_signed(valid_days: i64) -> TestCert {
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = params(valid_days).self_signed(&key).expect("cert");
    TestCert {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    }
}

/// A running test server.
pub struct TestServer {
    /// Base URL, `http://127.0.0.1:<port>` or `https://127.0.0.1:<port>`.
    pub url: String,
    /// The accept loop; `abort()` closes the port.
    pub handle: tokio::task::JoinHandle<()>,
    requests: Arc<Mutex<Vec<Request>>>,
    sent: Arc<AtomicU64>,
}

type Handler = Arc<dyn Fn(&Request) -> Reply + Send + Sync>;

impl TestServer {
    /// A plain HTTP server answering each request with `handler(request)`.
    pub async fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> TestServer {
        Self::spawn(Arc::new(handler), None).await
    }

    /// An HTTPS server with `cert`, answering each request with `handler(request)`.
    pub async fn start_tls(
        cert: &TestCert,
        handler: impl Fn(&Request) -> Reply + Send + Sync + 'static,
    ) -> TestServer {
        use tokio_rustls::rustls;
        let certs: Vec<_> = rustls_pemfile_certs(&cert.cert_pem);
        let key = rustls::pki_types::PrivateKeyDer::try_from(pem_body(&cert.key_pem))
            .expect("private key");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .expect("server certificate");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        Self::spawn(Arc::new(handler), Some(acceptor)).await
    }

    async fn spawn(handler: Handler, tls: Option<tokio_rustls::TlsAcceptor>) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let https = tls.is_some();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let sent = Arc::new(AtomicU64::new(0));
        let (reqs, count) = (requests.clone(), sent.clone());
        let handle = tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let (handler, reqs, count, tls) =
                    (handler.clone(), reqs.clone(), count.clone(), tls.clone());
                tokio::spawn(async move {
                    let _ = sock.set_nodelay(true);
                    match tls {
                        None => {
                            let mut sock = sock;
                            if serve_conn(&mut sock, handler, reqs, count).await {
                                // SO_LINGER 0: closing sends a TCP reset.
                                let _ = sock.set_zero_linger();
                            }
                        }
                        Some(acceptor) => {
                            if let Ok(mut stream) = acceptor.accept(sock).await {
                                if serve_conn(&mut stream, handler, reqs, count).await {
                                    let _ = stream.get_ref().0.set_zero_linger();
                                }
                            }
                        }
                    }
                });
            }
        });
        let scheme = if https { "https" } else { "http" };
        TestServer {
            url: format!("{scheme}://{addr}"),
            handle,
            requests,
            sent,
        }
    }

    /// The requests received so far, oldest first.
    pub fn requests(&self) -> Vec<Request> {
        self.requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Body bytes written to clients so far.
    pub fn bytes_sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }
}

fn pem_body(pem: &str) -> Vec<u8> {
    use base64::Engine as _;
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .expect("PEM body")
}

fn rustls_pemfile_certs(
    pem: &str,
) -> Vec<tokio_rustls::rustls::pki_types::CertificateDer<'static>> {
    vec![tokio_rustls::rustls::pki_types::CertificateDer::from(
        pem_body(pem),
    )]
}

/// Reads one request; `Err(true)` when the first bytes are not HTTP (a TLS handshake, say).
async fn read_request<S: AsyncRead + Unpin>(sock: &mut S) -> Result<Request, bool> {
    let mut seen = Vec::new();
    let mut buf = vec![0u8; 8192];
    let head_end = loop {
        if seen.first().is_some_and(|b: &u8| !b.is_ascii_uppercase()) {
            return Err(true);
        }
        if let Some(i) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match sock.read(&mut buf).await {
            Ok(0) | Err(_) => return Err(false),
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    };
    let head = String::from_utf8_lossy(&seen[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split(' ');
    let (method, path) = match (first.next(), first.next()) {
        (Some(m), Some(p)) => (m.to_string(), p.to_string()),
        _ => return Err(true),
    };
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = seen[head_end..].to_vec();
    while body.len() < len.min(1 << 20) {
        match sock.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => body.extend_from_slice(&buf[..n]),
        }
    }
    Ok(Request {
        method,
        path,
        headers,
        body,
    })
}

/// Serves one request; returns true when the connection is to be reset.
async fn serve_conn<S: AsyncRead + AsyncWrite + Unpin + Send>(
    sock: &mut S,
    handler: Handler,
    reqs: Arc<Mutex<Vec<Request>>>,
    sent: Arc<AtomicU64>,
) -> bool {
    let req = match read_request(sock).await {
        Ok(r) => r,
        Err(not_http) => {
            if not_http {
                // What nginx does with a TLS handshake on a plain port.
                let bad =
                    "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
                let _ = sock.write_all(bad.as_bytes()).await;
                let _ = sock.shutdown().await;
            }
            return false;
        }
    };
    let mut reply = handler(&req);
    reqs.lock().unwrap_or_else(|p| p.into_inner()).push(req);
    while let Reply::Delay(d, inner) = reply {
        tokio::time::sleep(d).await;
        reply = *inner;
    }
    match reply {
        Reply::Delay(..) => unreachable!("unwrapped above"),
        Reply::Http {
            status,
            headers,
            body,
        } => {
            let mut head = format!(
                "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n",
                body.len()
            );
            for (k, v) in headers {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str("\r\n");
            let _ = sock.write_all(head.as_bytes()).await;
            if sock.write_all(&body).await.is_ok() {
                sent.fetch_add(body.len() as u64, Ordering::Relaxed);
            }
        }
        Reply::Raw(bytes) => {
            let _ = sock.write_all(&bytes).await;
        }
        Reply::Endless(total) => {
            let head =
                format!("HTTP/1.1 200 OK\r\ncontent-length: {total}\r\nconnection: close\r\n\r\n");
            let _ = sock.write_all(head.as_bytes()).await;
            let chunk = vec![b'x'; 16 * 1024];
            let mut left = total;
            while left > 0 {
                let n = left.min(chunk.len() as u64) as usize;
                if sock.write_all(&chunk[..n]).await.is_err() {
                    break;
                }
                sent.fetch_add(n as u64, Ordering::Relaxed);
                left -= n as u64;
            }
        }
        Reply::Reset => return true,
    }
    let _ = sock.shutdown().await;
    false
}

/// Synthetic probe history for digest tests and benchmarks: one run a minute through the hour
/// starting at `hour` (epoch ms), each run one result per id in `ids`, as the probe function
/// hands them to [`crate::ports::StateStore::record_run`]. `latency(id, minute)` gives the
/// result's latency in ms, or `None` for a failed check (a timeout). Returns `(run time,
/// latest)` per minute, oldest first; every state is `healthy`.
pub fn minute_runs(
    ids: &[String],
    kind: lookout_core::domain::TargetKind,
    hour: i64,
    latency: impl Fn(&str, i64) -> Option<u64>,
) -> Vec<(i64, Vec<crate::ports::Latest>)> {
    use lookout_core::domain::{CheckResult, ErrorKind, Outcome, Status, TargetState};
    (0..60)
        .map(|minute| {
            let at = hour + minute * 60_000 + 1_000;
            let latest = ids
                .iter()
                .map(|id| {
                    let l = latency(id, minute);
                    let mut state = TargetState::new(id);
                    state.status = Status::Healthy;
                    let result = CheckResult {
                        target_id: id.clone(),
                        kind,
                        at,
                        outcome: if l.is_some() {
                            Outcome::Up
                        } else {
                            Outcome::Failed
                        },
                        status_code: l.map(|_| 200),
                        latency_ms: l.unwrap_or(10_000),
                        connect_ms: None,
                        ttfb_ms: None,
                        cert_days_left: None,
                        bytes: 500,
                        attempts: 1,
                        error: l.is_none().then_some(ErrorKind::Timeout),
                        message: None,
                    };
                    crate::ports::Latest::new(state, Some(result))
                })
                .collect();
            (at, latest)
        })
        .collect()
}
