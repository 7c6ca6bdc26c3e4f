//! The probe engine: one check of one target over HTTP, directly or through a forward proxy.
//!
//! Every attempt has the target's `timeout_ms`; a failed attempt is retried `retries` times with
//! exponential backoff (200 ms, 400 ms, ...). Redirects are not followed: a 3xx is judged like any
//! other status. Error messages are redacted before they leave this module.

use std::time::{Duration, Instant};

use reqwest::{Client, Method, StatusCode};

use crate::domain::{Check, CheckResult, ErrorKind, Outcome, ProxyCheck, ServerCheck, Target};
use crate::redact::redact_text;

/// At most this many body bytes are read from an answer (64 KiB): enough for assertions, and a
/// huge body cannot exhaust the function's memory.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// First retry delay; each later retry doubles it.
pub const BACKOFF_BASE_MS: u64 = 200;

/// Runs checks. Holds one shared HTTP client for direct server checks; proxy checks build a
/// client per proxy, since the proxy is a property of the client.
#[derive(Clone)]
pub struct Prober {
    direct: Client,
}

/// Why a prober could not be built (the TLS backend failed to initialise).
#[derive(Debug, thiserror::Error)]
#[error("building the HTTP client: {0}")]
pub struct ProberError(String);

fn client_builder() -> reqwest::ClientBuilder {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("lookout/", env!("CARGO_PKG_VERSION")))
        .pool_max_idle_per_host(0)
}

struct Answer {
    status: StatusCode,
    body: Vec<u8>,
    bytes: u64,
}

struct Failure {
    kind: ErrorKind,
    message: String,
}

impl Prober {
    /// A prober with its shared client.
    ///
    /// # Errors
    /// [`ProberError`] when the HTTP client cannot be built.
    pub fn new() -> Result<Self, ProberError> {
        let direct = client_builder()
            .build()
            .map_err(|e| ProberError(e.to_string()))?;
        Ok(Prober { direct })
    }

    /// Checks a target once (with its retries) and returns the result; never fails: every problem
    /// is a `failed` result with an error kind.
    pub async fn check(&self, target: &Target, now_ms: i64) -> CheckResult {
        let mut attempts = 0;
        let mut bytes = 0;
        loop {
            attempts += 1;
            let started = Instant::now();
            let mut result = match &target.check {
                Check::Server(s) => self.check_server(target, s).await,
                Check::Proxy(p) => check_proxy(target, p).await,
            };
            result.target_id.clone_from(&target.id);
            result.at = now_ms;
            result.attempts = attempts;
            bytes += result.bytes;
            result.bytes = bytes;
            if result.latency_ms == 0 {
                result.latency_ms = started.elapsed().as_millis() as u64;
            }
            if result.outcome != Outcome::Failed || attempts > target.retries {
                return result;
            }
            tokio::time::sleep(Duration::from_millis(
                BACKOFF_BASE_MS << (attempts - 1).min(6),
            ))
            .await;
        }
    }

    async fn check_server(&self, target: &Target, s: &ServerCheck) -> CheckResult {
        let method = Method::from_bytes(s.method.as_bytes()).unwrap_or(Method::GET);
        let mut req = self
            .direct
            .request(method, &s.url)
            .timeout(Duration::from_millis(target.timeout_ms));
        for (k, v) in &s.headers {
            req = req.header(k, v);
        }
        if let Some(b) = &s.body {
            req = req.body(b.clone());
        }
        let started = Instant::now();
        let answer = fetch(req).await;
        let latency_ms = started.elapsed().as_millis() as u64;
        match answer {
            Err(f) => failed(target, latency_ms, 0, None, f),
            Ok(a) => {
                let code = a.status.as_u16();
                if !s.expected_status.iter().any(|r| r.contains(code)) {
                    let f = Failure {
                        kind: ErrorKind::Status,
                        message: format!("unexpected HTTP status {code}"),
                    };
                    return failed(target, latency_ms, a.bytes, Some(code), f);
                }
                let _ = &a.body; // assertions on the body come with the full probe engine
                answered(target, Outcome::Up, latency_ms, a.bytes, code)
            }
        }
    }
}

async fn check_proxy(target: &Target, p: &ProxyCheck) -> CheckResult {
    let client = match reqwest::Proxy::all(&p.proxy_url)
        .and_then(|proxy| client_builder().proxy(proxy).build())
    {
        Ok(c) => c,
        Err(e) => {
            let f = Failure {
                kind: ErrorKind::Proxy,
                message: format!("bad proxy: {}", redact_text(&e.to_string())),
            };
            return failed(target, 0, 0, None, f);
        }
    };
    let mut last = None;
    for url in &p.test_urls {
        let started = Instant::now();
        let req = client
            .get(url)
            .timeout(Duration::from_millis(target.timeout_ms));
        let answer = fetch(req).await;
        let latency_ms = started.elapsed().as_millis() as u64;
        match answer {
            Ok(a) => {
                let code = a.status.as_u16();
                if p.accept_status.contains(&code) {
                    return answered(target, Outcome::Up, latency_ms, a.bytes, code);
                }
                if p.block_status.contains(&code) {
                    let mut r = answered(target, Outcome::Blocked, latency_ms, a.bytes, code);
                    r.message = Some(format!("upstream refused the proxy with HTTP {code}"));
                    return r;
                }
                let f = if code == 407 {
                    Failure {
                        kind: ErrorKind::ProxyAuth,
                        message: "the proxy refused the credentials (407)".into(),
                    }
                } else {
                    Failure {
                        kind: ErrorKind::Status,
                        message: format!("unexpected HTTP status {code} through the proxy"),
                    }
                };
                // The first answer decides.
                return failed(target, latency_ms, a.bytes, Some(code), f);
            }
            Err(mut f) => {
                if f.kind == ErrorKind::Connect {
                    f.kind = ErrorKind::Proxy;
                    f.message = format!(
                        "proxy {} unreachable: {}",
                        proxy_host(&p.proxy_url),
                        f.message
                    );
                } else if !matches!(f.kind, ErrorKind::Proxy | ErrorKind::ProxyAuth) {
                    f.message =
                        format!("through proxy {}: {}", proxy_host(&p.proxy_url), f.message);
                }
                let proxy_itself = matches!(f.kind, ErrorKind::Proxy | ErrorKind::ProxyAuth);
                last = Some((latency_ms, f));
                if proxy_itself {
                    // Another test URL cannot help when the proxy itself failed.
                    break;
                }
            }
        }
    }
    let (latency_ms, f) = last.unwrap_or((
        0,
        Failure {
            kind: ErrorKind::Other,
            message: "no test URL".into(),
        },
    ));
    failed(target, latency_ms, 0, None, f)
}

/// Sends a request and reads at most [`MAX_BODY_BYTES`] of the body.
async fn fetch(req: reqwest::RequestBuilder) -> Result<Answer, Failure> {
    let resp = req.send().await.map_err(classify)?;
    let status = resp.status();
    let mut bytes: u64 = 12
        + resp
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().len() + v.len() + 4) as u64)
            .sum::<u64>();
    let mut body = Vec::new();
    let mut resp = resp;
    while let Some(chunk) = resp.chunk().await.map_err(classify)? {
        bytes += chunk.len() as u64;
        let room = MAX_BODY_BYTES.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= MAX_BODY_BYTES {
            break;
        }
    }
    Ok(Answer {
        status,
        body,
        bytes,
    })
}

/// Maps a reqwest error to an error kind and a short redacted message: the kind's word and the
/// innermost cause, e.g. `connect: Connection refused (os error 111)`.
fn classify(e: reqwest::Error) -> Failure {
    // Match on the causes only: the top-level text quotes the URL, whose host or path could
    // contain words like "tls" or "reset".
    let mut chain = String::new();
    let mut innermost = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        innermost = s.to_string();
        chain.push_str(": ");
        chain.push_str(&innermost);
        src = s.source();
    }
    let lower = chain.to_ascii_lowercase();
    let (kind, word) = if lower.contains("proxy authorization required") {
        // hyper-util's CONNECT tunnel reports a 407 this way (https test URLs).
        (ErrorKind::ProxyAuth, "proxy auth")
    } else if lower.contains("tunnel error") {
        (ErrorKind::Proxy, "proxy CONNECT refused")
    } else if e.is_timeout() || lower.contains("timed out") {
        (ErrorKind::Timeout, "timeout")
    } else if lower.contains("dns error") || lower.contains("failed to lookup") {
        (ErrorKind::Dns, "dns")
    } else if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake")
    {
        (ErrorKind::Tls, "tls")
    } else if e.is_connect() || lower.contains("connection refused") || lower.contains("reset") {
        (ErrorKind::Connect, "connect")
    } else {
        (ErrorKind::Other, "error")
    };
    let message = crate::redact::clip(&redact_text(&format!("{word}: {innermost}")), 200);
    Failure { kind, message }
}

/// `host:port` of a proxy URL, without credentials, for messages.
fn proxy_host(proxy_url: &str) -> String {
    url::Url::parse(proxy_url)
        .ok()
        .and_then(|u| Some(format!("{}:{}", u.host_str()?, u.port_or_known_default()?)))
        .unwrap_or_else(|| "(unparsable)".into())
}

fn answered(
    target: &Target,
    outcome: Outcome,
    latency_ms: u64,
    bytes: u64,
    code: u16,
) -> CheckResult {
    let outcome = if outcome == Outcome::Up && latency_ms > target.degraded_latency_ms {
        Outcome::Slow
    } else {
        outcome
    };
    CheckResult {
        target_id: target.id.clone(),
        kind: target.kind(),
        at: 0,
        outcome,
        status_code: Some(code),
        latency_ms,
        bytes,
        attempts: 1,
        error: None,
        message: None,
    }
}

fn failed(
    target: &Target,
    latency_ms: u64,
    bytes: u64,
    code: Option<u16>,
    f: Failure,
) -> CheckResult {
    CheckResult {
        target_id: target.id.clone(),
        kind: target.kind(),
        at: 0,
        outcome: Outcome::Failed,
        status_code: code,
        latency_ms,
        bytes,
        attempts: 1,
        error: Some(f.kind),
        message: Some(f.message),
    }
}
