//! Proxy checks: the test URLs requested in order through the proxy; the first answer decides
//! (`accept_status` up, `block_status` blocked, the proxy's own answers told apart by the
//! provenance rule).

use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use http::Method;

use super::attempt::{Answer, Attempt, Failure};
use super::provenance::{forwarded, provenance};
use super::{connect, transport, Prober, MAX_BODY_BYTES, PROXY_SCHEMES, WEB_SCHEMES};
use lookout_core::domain::{ErrorKind, Outcome, ProxyCheck, Target};

impl Prober {
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

    /// A test URL parsed and let through by the guard (its literal address and its name).
    async fn test_url(&self, raw: &str) -> Result<url::Url, Failure> {
        let u = url::Url::parse(raw)
            .map_err(|e| Failure::new(ErrorKind::Other, format!("bad test url: {e}")))?;
        self.guard.check_url(&u, WEB_SCHEMES)?;
        self.guard_destination_name(&u).await?;
        Ok(u)
    }

    /// One attempt of a proxy check.
    pub(super) async fn check_proxy(
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
            let test_url = match self.test_url(raw).await {
                Ok(u) => u,
                Err(f) => {
                    last = Some(Attempt::failed(f, 0));
                    continue;
                }
            };
            let out = transport::Outgoing {
                method: Method::GET,
                url: &test_url,
                headers: Vec::new(),
                body: None,
            };
            let timeout = Duration::from_millis(target.timeout_ms);
            let answer = self
                .send(
                    Some(&spec),
                    p.ca_pem.as_deref(),
                    out,
                    ctx,
                    timeout,
                    MAX_BODY_BYTES,
                )
                .await;
            let latency_ms = started.elapsed().as_millis() as u64;
            match answer {
                Ok(a) => match judge(target, p, &spec, &test_url, &a, latency_ms) {
                    ControlFlow::Break(decided) => return decided,
                    ControlFlow::Continue(next) => last = Some(next),
                },
                Err(f) => {
                    let (f, proxy_itself) = through_proxy(f, &host);
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

/// The verdict on the answer `a` from `test_url` through the proxy `spec`: `Break` when it
/// decides the check, `Continue` with the failure when the next test URL may still work (the
/// proxy's own gateway error).
fn judge(
    target: &Target,
    p: &ProxyCheck,
    spec: &transport::ProxySpec,
    test_url: &url::Url,
    a: &Answer,
    latency_ms: u64,
) -> ControlFlow<Attempt, Attempt> {
    // Over a CONNECT tunnel with TLS, or through SOCKS (which cannot write an HTTP answer), the
    // answer is the upstream's.
    let tunneled = test_url.scheme() == "https"
        || matches!(
            spec.scheme,
            transport::ProxyScheme::Socks5 | transport::ProxyScheme::Socks5h
        );
    if let Err(f) = provenance(p, a, tunneled, spec.auth.is_some()) {
        // The proxy's own answer decides: its refusal, not the upstream's.
        return ControlFlow::Break(Attempt::fail_answered(a, f, latency_ms));
    }
    let code = a.status.as_u16();
    if p.accept_status.contains(&code) {
        let outcome = if latency_ms > target.degraded_latency_ms {
            Outcome::Slow
        } else {
            Outcome::Up
        };
        return ControlFlow::Break(Attempt::answered(a, outcome, latency_ms));
    }
    if p.block_status.contains(&code) {
        let mut r = Attempt::answered(a, Outcome::Blocked, latency_ms);
        r.message = Some(format!("upstream refused the proxy with HTTP {code}"));
        return ControlFlow::Break(r);
    }
    if !tunneled && matches!(code, 502 | 504) && !forwarded(p, a) {
        // The proxy's own gateway error: it could not reach this test URL (as a refused CONNECT
        // over https); the next test URL may still work.
        let f = Failure::new(
            ErrorKind::Proxy,
            format!(
                "proxy {} could not reach the test URL (its own HTTP {code})",
                spec.display()
            ),
        );
        return ControlFlow::Continue(Attempt::fail_answered(a, f, latency_ms));
    }
    let f = Failure::new(
        ErrorKind::Status,
        format!("unexpected HTTP status {code} through the proxy"),
    );
    // The first answer decides.
    ControlFlow::Break(Attempt::fail_answered(a, f, latency_ms))
}

/// A request failure through the proxy `host`, named as the proxy's when the proxy could not be
/// reached, and whether it was the proxy itself that failed (then no other test URL can help).
fn through_proxy(mut f: Failure, host: &str) -> (Failure, bool) {
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
    (f, proxy_itself)
}
