//! The probe engine: one check of one target over HTTP(S), directly or through a forward proxy
//! (http, https or socks5).
//!
//! - **Attempts**: each has the target's `timeout_ms` (redirects included) and `connect_timeout_ms`
//!   for opening the connection. A failed attempt is retried `retries` times after
//!   `backoff_ms × 2^(n-1)` scaled by a random factor in [0.5, 1] (equal jitter). The result
//!   records the attempts made and the bytes of all of them.
//! - **Server checks**: method, headers, body; the status must be in `expected_status`; then
//!   `body_contains`, `body_not_contains` and `json_pointer`/`json_equals` are asserted on the
//!   first `max_body_bytes` of the body (the rest is never downloaded). HTTPS certificates'
//!   days to expiry are recorded; under `cert_expiry_warn_days` the result is `degraded`.
//!   A `ca_pem` adds a private CA to the trusted roots. Redirects are followed only with
//!   `follow_redirects`, at most [`MAX_REDIRECTS`], each hop checked by the guard again.
//! - **Proxy checks**: `test_urls` in order through the proxy; the first answer decides:
//!   `accept_status` is `up`, `block_status` is `blocked`, a 407 is `proxy_auth`.
//! - **Safety**: every destination passes the [address guard](guard) unless private targets are
//!   allowed; messages are redacted of credentials before they leave this module.
//! - **Timings**: `latency_ms` (whole attempt), `ttfb_ms` (until the answer's headers) and
//!   `connect_ms` (DNS, TCP, TLS and proxy handshake, measured by [`connect`]).

pub mod connect;
pub mod guard;
mod provenance;
pub(crate) mod transport;

use provenance::{forwarded, provenance};

use std::sync::Arc;
use std::time::{Duration, Instant};

use http::{Method, StatusCode};

use crate::domain::{
    Check, CheckResult, ErrorKind, Outcome, ProxyCheck, ServerCheck, Target, MAX_REDIRECTS,
};
use crate::redact::{clip, redact_text, redact_url_and_query};

/// Body bytes read from a proxy check's answer (64 KiB): the status decides, the body only
/// counts as traffic.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Grace after an attempt's own timeouts before it is cancelled from outside (ms).
pub const ATTEMPT_GRACE_MS: u64 = 500;

/// The longest one check of `target` can take, cancellation grace included (ms): what a run
/// must have left before it starts the check.
pub fn check_budget_ms(target: &Target) -> u64 {
    target
        .max_check_ms()
        .saturating_add(u64::from(target.retries + 1) * ATTEMPT_GRACE_MS)
}

/// Schemes a target URL, a test URL or a redirect may use.
pub const WEB_SCHEMES: &[&str] = &["http", "https"];

/// Schemes a proxy URL may use.
pub const PROXY_SCHEMES: &[&str] = &["http", "https", "socks5", "socks5h"];

/// The `User-Agent` of every probe request.
pub const USER_AGENT: &str = concat!("lookout/", env!("CARGO_PKG_VERSION"));

/// How the engine behaves, from the settings.
#[derive(Debug, Clone, Default)]
pub struct ProbeOptions {
    /// `LOOKOUT_ALLOW_PRIVATE_TARGETS`: turn the address guard off (local stack and tests only).
    pub allow_private_targets: bool,
    /// `LOOKOUT_ALLOWED_CIDRS`: private ranges the guard lets through (see [`guard::Guard`]).
    pub allowed_cidrs: Vec<ipnet::IpNet>,
}

impl ProbeOptions {
    /// The options of the local stack and the tests: loopback targets allowed.
    pub fn allow_private() -> Self {
        ProbeOptions {
            allow_private_targets: true,
            allowed_cidrs: Vec::new(),
        }
    }

    /// The address guard these options ask for.
    pub fn guard(&self) -> guard::Guard {
        guard::Guard {
            allow_private: self.allow_private_targets,
            allowed: self.allowed_cidrs.clone(),
        }
    }
}

/// Runs checks. Every connection goes through [`transport`] (one guarded resolve-and-connect
/// path); holds the TLS configurations, one per distinct `ca_pem`. Cloning is cheap and shares
/// them.
#[derive(Clone)]
pub struct Prober {
    options: ProbeOptions,
    guard: Arc<guard::Guard>,
    tls: transport::TlsConfigs,
}

/// Why a prober could not be built (the TLS backend failed to initialise).
#[derive(Debug, thiserror::Error)]
#[error("building the HTTP client: {0}")]
pub struct ProberError(String);

struct Answer {
    status: StatusCode,
    headers: http::HeaderMap,
    body: Vec<u8>,
    bytes: u64,
    ttfb_ms: u64,
    cert_days_left: Option<i64>,
}

#[derive(Debug)]
pub(crate) struct Failure {
    kind: ErrorKind,
    message: String,
    /// The connection (through any proxy) never opened; false once a request went out.
    connecting: bool,
    /// A proxy answered but could not reach this destination (a refused CONNECT, a SOCKS reply
    /// such as "host unreachable"): the next test URL may still work.
    upstream: bool,
}

impl Failure {
    fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Failure {
            kind,
            message: message.into(),
            connecting: false,
            upstream: false,
        }
    }
}

impl From<guard::Refused> for Failure {
    fn from(r: guard::Refused) -> Self {
        Failure::new(
            ErrorKind::Forbidden,
            clip(&redact_text(&r.to_string()), 200),
        )
    }
}

/// What one attempt produced, before it becomes a [`CheckResult`].
struct Attempt {
    outcome: Outcome,
    status_code: Option<u16>,
    latency_ms: u64,
    ttfb_ms: Option<u64>,
    cert_days_left: Option<i64>,
    bytes: u64,
    error: Option<ErrorKind>,
    message: Option<String>,
}

impl Attempt {
    fn failed(f: Failure, latency_ms: u64) -> Self {
        Attempt {
            outcome: Outcome::Failed,
            status_code: None,
            latency_ms,
            ttfb_ms: None,
            cert_days_left: None,
            bytes: 0,
            error: Some(f.kind),
            message: Some(f.message),
        }
    }

    fn answered(a: &Answer, outcome: Outcome, latency_ms: u64) -> Self {
        Attempt {
            outcome,
            status_code: Some(a.status.as_u16()),
            latency_ms,
            ttfb_ms: Some(a.ttfb_ms),
            cert_days_left: a.cert_days_left,
            bytes: a.bytes,
            error: None,
            message: None,
        }
    }

    fn fail_answered(a: &Answer, f: Failure, latency_ms: u64) -> Self {
        Attempt {
            error: Some(f.kind),
            message: Some(f.message),
            ..Attempt::answered(a, Outcome::Failed, latency_ms)
        }
    }
}

impl Prober {
    /// A prober with the address guard on (production's default).
    ///
    /// # Errors
    /// [`ProberError`] when the HTTP client cannot be built.
    pub fn new() -> Result<Self, ProberError> {
        Self::with_options(ProbeOptions::default())
    }

    /// A prober with `options`.
    ///
    /// # Errors
    /// [`ProberError`] when the HTTP client cannot be built.
    pub fn with_options(options: ProbeOptions) -> Result<Self, ProberError> {
        let tls = transport::TlsConfigs::default();
        tls.get(None).map_err(|f| ProberError(f.message.clone()))?;
        Ok(Prober {
            guard: Arc::new(options.guard()),
            options,
            tls,
        })
    }

    /// The options this prober was built with.
    pub fn options(&self) -> ProbeOptions {
        self.options.clone()
    }

    /// Checks a target (with its retries) and returns the result; never fails: every problem is
    /// a `failed` result with an error kind. An attempt that outlives its `timeout_ms` (plus
    /// 500 ms of grace) is cancelled and recorded as `timeout`.
    pub async fn check(&self, target: &Target, now_ms: i64) -> CheckResult {
        let mut attempts = 0;
        let mut bytes = 0;
        loop {
            attempts += 1;
            let ctx = Arc::new(connect::ConnectContext {
                connect_timeout: target.connect_timeout_ms.map(Duration::from_millis),
                ..Default::default()
            });
            let started = Instant::now();
            let limit = Duration::from_millis(
                target.timeout_ms.saturating_mul(
                    target
                        .proxy()
                        .map_or(1, |p| p.test_urls.len().max(1) as u64),
                ) + ATTEMPT_GRACE_MS,
            );
            let attempt = async {
                match &target.check {
                    Check::Server(s) => self.check_server(target, s, &ctx).await,
                    Check::Proxy(p) => self.check_proxy(target, p, &ctx).await,
                }
            };
            let attempt = tokio::time::timeout(limit, attempt)
                .await
                .unwrap_or_else(|_| {
                    let f = Failure::new(
                        ErrorKind::Timeout,
                        format!("timeout: no answer within {} ms", target.timeout_ms),
                    );
                    Attempt::failed(f, started.elapsed().as_millis() as u64)
                });
            bytes += attempt.bytes;
            let result = CheckResult {
                target_id: target.id.clone(),
                kind: target.kind(),
                at: now_ms,
                outcome: attempt.outcome,
                status_code: attempt.status_code,
                latency_ms: attempt.latency_ms,
                connect_ms: ctx.connect_ms(),
                ttfb_ms: attempt.ttfb_ms,
                cert_days_left: attempt.cert_days_left,
                bytes,
                attempts,
                error: attempt.error,
                message: attempt.message,
            };
            if result.outcome != Outcome::Failed || attempts > target.retries {
                return result;
            }
            tokio::time::sleep(backoff(target.backoff_ms, attempts)).await;
        }
    }

    /// One request through [`transport`]: to `out.url`, directly or through `proxy`.
    async fn send(
        &self,
        proxy: Option<&transport::ProxySpec>,
        ca_pem: Option<&str>,
        out: transport::Outgoing<'_>,
        ctx: &connect::ConnectContext,
        timeout: Duration,
        cap: usize,
    ) -> Result<Answer, Failure> {
        let route = transport::Route {
            url: out.url,
            proxy,
            tls: self.tls.get(ca_pem)?,
            guard: &self.guard,
            proxy_up: Default::default(),
        };
        let (x, leaf) = transport::request(&route, out, Some(ctx), timeout, cap).await?;
        Ok(Answer {
            status: StatusCode::from_u16(x.status).unwrap_or(StatusCode::BAD_GATEWAY),
            headers: x.headers,
            body: x.body,
            bytes: x.bytes,
            ttfb_ms: x.ttfb_ms,
            cert_days_left: leaf.as_deref().and_then(cert_days_left),
        })
    }

    async fn check_server(
        &self,
        target: &Target,
        s: &ServerCheck,
        ctx: &connect::ConnectContext,
    ) -> Attempt {
        let started = Instant::now();
        let elapsed = || started.elapsed().as_millis() as u64;
        if let Err(f) = self.tls.get(s.ca_pem.as_deref()) {
            return Attempt::failed(f, 0);
        }
        let deadline = started + Duration::from_millis(target.timeout_ms);
        let mut method = Method::from_bytes(s.method.as_bytes()).unwrap_or(Method::GET);
        let mut body = s.body.clone();
        let mut url = match url::Url::parse(&s.url) {
            Ok(u) => u,
            Err(e) => {
                return Attempt::failed(Failure::new(ErrorKind::Other, format!("bad url: {e}")), 0)
            }
        };
        let origin = url.origin();
        let mut hops = 0;
        let answer = loop {
            if let Err(r) = self.guard.check_url(&url, WEB_SCHEMES) {
                return Attempt::failed(r.into(), elapsed());
            }
            // Credentials go only to the target's own origin, never to a redirect elsewhere.
            let home = url.origin() == origin;
            let mut headers: Vec<(&str, &str)> = s
                .headers
                .iter()
                .filter(|(k, _)| home || !s.is_secret_header(k))
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            // `user:password@` in the URL is HTTP Basic authentication (as curl and reqwest
            // send it), unless the target sets its own `Authorization`.
            let userinfo_auth = userinfo_basic(&url).filter(|_| {
                home && !headers
                    .iter()
                    .any(|(k, _)| k.eq_ignore_ascii_case("authorization"))
            });
            if let Some(a) = &userinfo_auth {
                headers.push(("Authorization", a));
            }
            let out = transport::Outgoing {
                method: method.clone(),
                url: &url,
                headers,
                body: body.as_ref().map(|b| b.clone().into_bytes()),
            };
            let left = deadline.saturating_duration_since(Instant::now());
            let a = match self
                .send(None, s.ca_pem.as_deref(), out, ctx, left, s.max_body_bytes)
                .await
            {
                Ok(a) => a,
                Err(f) => return Attempt::failed(f, elapsed()),
            };
            let location = a
                .headers
                .get(http::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let redirect = matches!(a.status.as_u16(), 301 | 302 | 303 | 307 | 308);
            if !(s.follow_redirects && redirect && location.is_some()) {
                break a;
            }
            hops += 1;
            if hops > MAX_REDIRECTS {
                let f = Failure::new(
                    ErrorKind::Other,
                    format!("more than {MAX_REDIRECTS} redirects"),
                );
                return Attempt::failed(f, elapsed());
            }
            let status = a.status;
            let next = match url.join(location.as_deref().unwrap_or_default()) {
                Ok(u) => u,
                Err(e) => {
                    let f = Failure::new(ErrorKind::Other, format!("bad redirect location: {e}"));
                    return Attempt::failed(f, elapsed());
                }
            };
            if body.is_some() && next.origin() != origin && matches!(status.as_u16(), 307 | 308) {
                // 307/308 resend the body, which may hold credentials: not to another origin.
                let f = Failure::new(
                    ErrorKind::Other,
                    format!(
                        "a {status} redirect to another origin would resend the body; not followed"
                    ),
                );
                return Attempt::failed(f, elapsed());
            }
            // RFC 9110 §15.4: 303 always, and 301/302 after a POST, continue as a GET.
            if status == StatusCode::SEE_OTHER
                || (method == Method::POST
                    && matches!(status, StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND))
            {
                if method != Method::HEAD {
                    method = Method::GET;
                }
                body = None;
            }
            url = next;
        };
        let latency_ms = elapsed();
        let code = answer.status.as_u16();
        if !s.expected_status.iter().any(|r| r.contains(code)) {
            let mut message = format!("unexpected HTTP status {code}");
            if hops > 0 {
                message.push_str(&format!(
                    " after {hops} redirect(s) to {}",
                    clip(&redact_url_and_query(url.as_str()), 120)
                ));
            }
            let f = Failure::new(ErrorKind::Status, message);
            return Attempt::fail_answered(&answer, f, latency_ms);
        }
        if let Err(message) = assert_body(s, &answer.body) {
            let f = Failure::new(ErrorKind::Assertion, message);
            return Attempt::fail_answered(&answer, f, latency_ms);
        }
        let mut attempt = Attempt::answered(&answer, Outcome::Up, latency_ms);
        match answer.cert_days_left {
            Some(days)
                if s.cert_expiry_warn_days > 0 && days < i64::from(s.cert_expiry_warn_days) =>
            {
                attempt.outcome = Outcome::Degraded;
                attempt.message = Some(format!(
                    "certificate expires in {days} day(s), under cert_expiry_warn_days {}",
                    s.cert_expiry_warn_days
                ));
            }
            _ if latency_ms > target.degraded_latency_ms => {
                attempt.outcome = Outcome::Slow;
                attempt.message = Some(format!(
                    "answered in {latency_ms} ms, over degraded_latency_ms {}",
                    target.degraded_latency_ms
                ));
            }
            _ => {}
        }
        attempt
    }

    /// A test URL named by host name is resolved here too, although the proxy connects to it:
    /// a name that stands only for refused addresses (`localhost`, a name pointing into the
    /// private network) is refused as its literal would be. A name this function cannot
    /// resolve is left to the proxy (names only its network knows).
    async fn guard_destination_name(&self, url: &url::Url) -> Result<(), Failure> {
        if self.guard.allow_private {
            return Ok(());
        }
        let (Some(url::Host::Domain(host)), Some(port)) = (url.host(), url.port_or_known_default())
        else {
            return Ok(());
        };
        match transport::resolve_guarded(host, port, &self.guard).await {
            Err(f) if f.kind == ErrorKind::Forbidden => Err(f),
            _ => Ok(()),
        }
    }

    async fn check_proxy(
        &self,
        target: &Target,
        p: &ProxyCheck,
        ctx: &connect::ConnectContext,
    ) -> Attempt {
        let spec = url::Url::parse(&p.proxy_url)
            .map_err(|e| Failure::new(ErrorKind::Proxy, format!("bad proxy url: {e}")))
            .and_then(|u| Ok(self.guard.check_url(&u, PROXY_SCHEMES)?))
            .and_then(|()| transport::ProxySpec::parse(&p.proxy_url));
        let spec = match spec {
            Ok(s) => s,
            Err(f) => return Attempt::failed(f, 0),
        };
        let host = spec.display();
        let mut last = None;
        for raw in &p.test_urls {
            let started = Instant::now();
            let checked = url::Url::parse(raw)
                .map_err(|e| Failure::new(ErrorKind::Other, format!("bad test url: {e}")))
                .and_then(|u| {
                    self.guard.check_url(&u, WEB_SCHEMES)?;
                    Ok(u)
                });
            let test_url = match checked {
                Ok(u) => u,
                Err(f) => {
                    last = Some(Attempt::failed(f, 0));
                    continue;
                }
            };
            if let Err(f) = self.guard_destination_name(&test_url).await {
                last = Some(Attempt::failed(f, 0));
                continue;
            }
            let out = transport::Outgoing {
                method: Method::GET,
                url: &test_url,
                headers: Vec::new(),
                body: None,
            };
            let answer = self
                .send(
                    Some(&spec),
                    p.ca_pem.as_deref(),
                    out,
                    ctx,
                    Duration::from_millis(target.timeout_ms),
                    MAX_BODY_BYTES,
                )
                .await;
            let latency_ms = started.elapsed().as_millis() as u64;
            match answer {
                Ok(a) => {
                    // Over a CONNECT tunnel with TLS, or through SOCKS (which cannot write an
                    // HTTP answer), the answer is the upstream's.
                    let tunneled = test_url.scheme() == "https"
                        || matches!(
                            spec.scheme,
                            transport::ProxyScheme::Socks5 | transport::ProxyScheme::Socks5h
                        );
                    if let Err(f) = provenance(p, &a, tunneled, spec.auth.is_some()) {
                        // The proxy's own answer decides: its refusal, not the upstream's.
                        return Attempt::fail_answered(&a, f, latency_ms);
                    }
                    let code = a.status.as_u16();
                    if p.accept_status.contains(&code) {
                        let outcome = if latency_ms > target.degraded_latency_ms {
                            Outcome::Slow
                        } else {
                            Outcome::Up
                        };
                        return Attempt::answered(&a, outcome, latency_ms);
                    }
                    if p.block_status.contains(&code) {
                        let mut r = Attempt::answered(&a, Outcome::Blocked, latency_ms);
                        r.message = Some(format!("upstream refused the proxy with HTTP {code}"));
                        return r;
                    }
                    if !tunneled && matches!(code, 502 | 504) && !forwarded(p, &a) {
                        // The proxy's own gateway error: it could not reach this test URL (as a
                        // refused CONNECT over https); the next test URL may still work.
                        let f = Failure::new(
                            ErrorKind::Proxy,
                            format!(
                                "proxy {host} could not reach the test URL (its own HTTP {code})"
                            ),
                        );
                        last = Some(Attempt::fail_answered(&a, f, latency_ms));
                        continue;
                    }
                    let f = Failure::new(
                        ErrorKind::Status,
                        format!("unexpected HTTP status {code} through the proxy"),
                    );
                    // The first answer decides.
                    return Attempt::fail_answered(&a, f, latency_ms);
                }
                Err(mut f) => {
                    if matches!(
                        f.kind,
                        ErrorKind::Connect | ErrorKind::Timeout | ErrorKind::Dns
                    ) && f.connecting
                        && !f.upstream
                    {
                        f.kind = ErrorKind::Proxy;
                        f.message = format!("proxy {host} unreachable: {}", f.message);
                    } else if !matches!(
                        f.kind,
                        ErrorKind::Proxy | ErrorKind::ProxyAuth | ErrorKind::Forbidden
                    ) {
                        f.message = format!("through proxy {host}: {}", f.message);
                    }
                    let proxy_itself = !f.upstream
                        && matches!(
                            f.kind,
                            ErrorKind::Proxy | ErrorKind::ProxyAuth | ErrorKind::Forbidden
                        );
                    last = Some(Attempt::failed(f, latency_ms));
                    if proxy_itself {
                        // Another test URL cannot help when the proxy itself failed.
                        break;
                    }
                }
            }
        }
        last.unwrap_or_else(|| Attempt::failed(Failure::new(ErrorKind::Other, "no test URL"), 0))
    }
}

/// `Basic <base64(user:password)>` from a URL's userinfo (percent-decoded), if it has one.
fn userinfo_basic(url: &url::Url) -> Option<String> {
    use base64::Engine as _;
    if url.username().is_empty() && url.password().is_none() {
        return None;
    }
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    let pair = format!(
        "{}:{}",
        decode(url.username()),
        decode(url.password().unwrap_or(""))
    );
    Some(format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    ))
}

/// File descriptors kept for everything but probes (the runtime, the AWS clients, logs).
pub const RESERVED_FDS: u64 = 64;

/// Most probes in flight that `nofile` open files allow: each probe holds one socket, and a
/// closed socket's descriptor may linger briefly, so two per probe after [`RESERVED_FDS`].
/// Lambda's limit of 1024 gives 480.
pub fn max_concurrency_for(nofile: u64) -> usize {
    (nofile.saturating_sub(RESERVED_FDS) / 2).max(1) as usize
}

/// `requested` (`LOOKOUT_PROBE_CONCURRENCY`), lowered to what this process's open-file limit
/// (`RLIMIT_NOFILE`, soft) allows; an unlimited soft limit lowers nothing.
pub fn concurrency_limit(requested: usize) -> usize {
    let nofile = rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .current
        .unwrap_or(u64::MAX);
    let allowed = max_concurrency_for(nofile);
    if requested > allowed {
        tracing::warn!(
            requested,
            allowed,
            nofile,
            "probe concurrency lowered to the open-file limit"
        );
    }
    requested.clamp(1, allowed)
}

/// Delay before retry `attempt` (1-based): `backoff_ms × 2^(attempt-1)` (the exponent capped at
/// 6), times a random factor in [0.5, 1] (equal jitter).
pub fn backoff(backoff_ms: u64, attempt: u32) -> Duration {
    let full = backoff_ms.saturating_mul(1 << attempt.saturating_sub(1).min(6)) as f64;
    Duration::from_millis((full * (0.5 + fastrand::f64() * 0.5)) as u64)
}

/// Whole days from now until the certificate's `notAfter` (negative once expired), from its DER.
pub fn cert_days_left(der: &[u8]) -> Option<i64> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let not_after = cert.validity().not_after.timestamp();
    let now = crate::time::now_ms() / 1000;
    Some((not_after - now).div_euclid(86_400))
}

/// The assertions on the body: `body_contains`, `body_not_contains`, `json_pointer` and
/// `json_equals`. Returns the first that fails, in words.
fn assert_body(s: &ServerCheck, body: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(body);
    let read = || format!("in the first {} bytes", body.len());
    if let Some(needle) = &s.body_contains {
        if !text.contains(needle.as_str()) {
            return Err(format!(
                "body does not contain {:?} {}",
                clip(needle, 60),
                read()
            ));
        }
    }
    if let Some(needle) = &s.body_not_contains {
        if text.contains(needle.as_str()) {
            return Err(format!("body contains {:?}", clip(needle, 60)));
        }
    }
    if let Some(pointer) = &s.json_pointer {
        let doc: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
            let cut = if body.len() >= s.max_body_bytes {
                format!(" (only the first {} bytes were read)", body.len())
            } else {
                String::new()
            };
            format!("body is not JSON: {e}{cut}")
        })?;
        match (doc.pointer(pointer), &s.json_equals) {
            (None, _) => return Err(format!("JSON has nothing at {:?}", clip(pointer, 60))),
            (Some(found), Some(want)) if found != want => {
                return Err(format!(
                    "JSON at {:?} is {}, expected {}",
                    clip(pointer, 60),
                    clip(&found.to_string(), 60),
                    clip(&want.to_string(), 60)
                ))
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrency_stays_within_the_open_file_limit() {
        assert_eq!(max_concurrency_for(1024), 480);
        assert_eq!(max_concurrency_for(10), 1);
        assert!(concurrency_limit(256) <= 256);
        assert!(concurrency_limit(1_000_000) < 1_000_000);
        assert_eq!(concurrency_limit(0), 1);
    }

    #[test]
    fn backoff_doubles_with_equal_jitter() {
        for attempt in 1..=8u32 {
            let full = 100u64 << (attempt - 1).min(6);
            for _ in 0..50 {
                let d = backoff(100, attempt).as_millis() as u64;
                assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d} ms");
            }
        }
        let spread: std::collections::HashSet<_> =
            (0..50).map(|_| backoff(1000, 3).as_millis()).collect();
        assert!(spread.len() > 10, "jitter varies the delay: {spread:?}");
    }

    fn server(extra: serde_json::Value) -> ServerCheck {
        let mut v = serde_json::json!({"id":"s","group":"g","kind":"server","url":"http://h/"});
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        match Target::from_json(v).unwrap().check {
            Check::Server(s) => s,
            Check::Proxy(_) => unreachable!(),
        }
    }

    #[test]
    fn body_assertions_pass_and_fail_with_a_reason() {
        let s = server(
            serde_json::json!({"body_contains":"ok","body_not_contains":"maintenance",
            "json_pointer":"/db/ok","json_equals":true}),
        );
        assert_eq!(
            assert_body(&s, br#"{"status":"ok","db":{"ok":true}}"#),
            Ok(())
        );
        let e = assert_body(&s, br#"{"status":"ok","db":{"ok":false}}"#).unwrap_err();
        assert!(e.contains("/db/ok") && e.contains("false"), "{e}");
        let e = assert_body(&s, b"down for maintenance, ok?").unwrap_err();
        assert!(e.contains("maintenance"), "{e}");
        let e = assert_body(&s, b"nope").unwrap_err();
        assert!(e.contains("does not contain"), "{e}");
        let only_pointer = server(serde_json::json!({"json_pointer":"/a/1"}));
        assert_eq!(assert_body(&only_pointer, br#"{"a":[0,null]}"#), Ok(()));
        assert!(assert_body(&only_pointer, br#"{"a":[0]}"#).is_err());
        assert!(assert_body(&only_pointer, b"<html>")
            .unwrap_err()
            .contains("not JSON"));
    }
}
