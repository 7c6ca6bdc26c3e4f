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
//!   `follow_redirects`, at most [`MAX_REDIRECTS`](lookout_core::domain::MAX_REDIRECTS), each hop checked by the guard again.
//! - **Proxy checks**: `test_urls` in order through the proxy; the first answer decides:
//!   `accept_status` is `up`, `block_status` is `blocked`, a 407 is `proxy_auth`.
//! - **Safety**: every destination passes the [address guard](guard) unless private targets are
//!   allowed; messages are redacted of credentials before they leave this module.
//! - **Timings**: `latency_ms` (whole attempt), `ttfb_ms` (until the answer's headers) and
//!   `connect_ms` (DNS, TCP, TLS and proxy handshake, measured by [`connect`]).

mod attempt;
pub mod connect;
mod dns;
pub mod guard;
mod limits;
mod provenance;
mod proxy_check;
pub mod resolve;
mod server;
mod tcp;
mod tls_port;
pub(crate) mod transport;

use std::sync::Arc;
use std::time::{Duration, Instant};

use http::StatusCode;

pub(crate) use attempt::{Answer, Attempt, Failure};
pub use limits::{backoff, concurrency_limit, max_concurrency_for, RESERVED_FDS};
pub use server::AssertionError;

use lookout_core::domain::{Check, CheckResult, ErrorKind, Outcome, Target};

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
    /// `LOOKOUT_PROBE_RESOLVE`: host names the probes connect to at a pinned address instead
    /// of resolving them (see [`resolve`]); still through the guard.
    pub resolve: resolve::Pins,
}

impl ProbeOptions {
    /// The options of the local stack and the tests: loopback targets allowed.
    pub fn allow_private() -> Self {
        ProbeOptions {
            allow_private_targets: true,
            ..ProbeOptions::default()
        }
    }

    /// The address guard these options ask for, without the pins: what notifications use.
    pub fn guard(&self) -> guard::Guard {
        guard::Guard {
            allow_private: self.allow_private_targets,
            allowed: self.allowed_cidrs.clone(),
            pins: resolve::Pins::default(),
        }
    }

    /// The probes' guard: [`ProbeOptions::guard`] with the pinned addresses ([`resolve`]).
    pub fn probe_guard(&self) -> guard::Guard {
        guard::Guard {
            pins: self.resolve.clone(),
            ..self.guard()
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
            guard: Arc::new(options.probe_guard()),
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
                    Check::Tcp(c) => self.check_tcp(target, c, &ctx).await,
                    Check::Tls(c) => self.check_tls(target, c, &ctx).await,
                    Check::Dns(c) => self.check_dns(target, c, &ctx).await,
                    // Nothing to probe: the probe run judges a heartbeat by its pings
                    // (`lookout_core::domain::heartbeat`), never through the prober.
                    Check::Heartbeat(_) => Attempt::failed(
                        Failure::new(
                            ErrorKind::Other,
                            "a heartbeat target is judged by its pings, not probed",
                        ),
                        0,
                    ),
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
}

/// Whole days from now until the certificate's `notAfter` (negative once expired), from its DER.
pub fn cert_days_left(der: &[u8]) -> Option<i64> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let not_after = cert.validity().not_after.timestamp();
    let now = lookout_core::time::now_ms() / 1000;
    Some((not_after - now).div_euclid(86_400))
}
