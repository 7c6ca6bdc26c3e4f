//! [`HttpNotifier`]: the [`HttpSender`] that posts provider requests through the probe engine's
//! transport (the address guard, TLS with the public roots, one HTTP/1.1 exchange).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use lookout_core::domain::ErrorKind;
use lookout_core::notify::Outbound;
use lookout_core::redact::{clip, redact_text};

use crate::config::Settings;
use crate::ports::{HttpSender, ProviderAnswer, SendError};
use crate::probe::transport::{self, Outgoing, Route, TlsConfigs};
use crate::probe::{guard::Guard, ProbeOptions, WEB_SCHEMES};

/// The `User-Agent` of every notification request.
pub const USER_AGENT: &str = concat!("Lookout/", env!("CARGO_PKG_VERSION"));

/// Body bytes read from a provider's answer (16 KiB): enough for any error document (and
/// Telegram's `parameters.retry_after`); the rest is never downloaded.
pub const MAX_ANSWER_BYTES: usize = 16 * 1024;

/// Bytes of the answer's body kept in [`ProviderAnswer::body`] (as text, redacted).
pub const ANSWER_TEXT_BYTES: usize = 1_000;

/// The default timeout of one request, connection included (`LOOKOUT_NOTIFY_TIMEOUT_MS`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest wait a `Retry-After` can ask for that is represented (a day); a provider asking for
/// more is treated as asking for a day (the delivery gives up long before: `max_wait_ms`).
const MAX_RETRY_AFTER_MS: u64 = 86_400_000;

/// Posts provider requests: `POST` with `Content-Type: application/json`,
/// `User-Agent: Lookout/<version>`, the request's own headers and, for a signed webhook,
/// [`super::sign`]'s `X-Lookout-Timestamp` and `X-Lookout-Signature`. Each request has a
/// timeout (connection included; default 10 s) and reads at most [`MAX_ANSWER_BYTES`] of the
/// answer. Every destination passes the address guard as probes do: loopback, private,
/// link-local and metadata addresses are refused unless private targets are allowed
/// (`LOOKOUT_ALLOW_PRIVATE_TARGETS`, `LOOKOUT_ALLOWED_CIDRS`). Redirects are not followed
/// (providers answer webhooks directly; a redirect would carry the body elsewhere).
///
/// The URL is a secret (a webhook URL is a credential, a Telegram token sits in its path): no
/// error names it, or its host. A [`SendError`] says only what kind of failure it was
/// (`timeout: no answer within 10000 ms`, `connect: ...`); the caller names the channel.
/// The answer's body is scrubbed of the URL, its path segments, the header values and the
/// signing secret before it is kept.
#[derive(Clone)]
pub struct HttpNotifier {
    guard: Arc<Guard>,
    tls: TlsConfigs,
    timeout: Duration,
}

impl std::fmt::Debug for HttpNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpNotifier")
            .field("allow_private", &self.guard.allow_private)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl HttpNotifier {
    /// A sender with the address guard of `options` and a per-request `timeout`.
    pub fn new(options: &ProbeOptions, timeout: Duration) -> Self {
        HttpNotifier {
            guard: Arc::new(options.guard()),
            tls: TlsConfigs::default(),
            timeout,
        }
    }

    /// The sender the settings ask for: the probes' address guard
    /// (`LOOKOUT_ALLOW_PRIVATE_TARGETS`, `LOOKOUT_ALLOWED_CIDRS`) and
    /// `LOOKOUT_NOTIFY_TIMEOUT_MS`.
    pub fn from_settings(settings: &Settings) -> Self {
        Self::new(
            &settings.probe_options(),
            Duration::from_millis(settings.notify_timeout_ms),
        )
    }

    /// A sender that may post to loopback and private addresses (tests, the local stack), with
    /// the default timeout.
    pub fn allow_private() -> Self {
        Self::new(&ProbeOptions::allow_private(), DEFAULT_TIMEOUT)
    }

    /// The same sender with another per-request timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    async fn send(&self, request: &Outbound) -> Result<ProviderAnswer, SendError> {
        let url = url::Url::parse(&request.url)
            .map_err(|_| SendError("bad url: the channel's URL does not parse".into()))?;
        self.guard
            .check_url(&url, WEB_SCHEMES)
            .map_err(|_| failure(ErrorKind::Forbidden, self.timeout))?;
        let tls = self
            .tls
            .get(None)
            .map_err(|f| failure(f.kind, self.timeout))?;
        let signed = request.sign_with.as_deref().map(|secret| {
            let now_s = lookout_core::time::now_ms().div_euclid(1000);
            super::sign::headers(secret, now_s, &request.body)
        });
        // The request's own headers replace these defaults (one of each on the wire).
        let mut headers: Vec<(&str, &str)> = [
            ("Content-Type", "application/json"),
            ("User-Agent", USER_AGENT),
            ("Accept", "application/json"),
        ]
        .into_iter()
        .filter(|(d, _)| {
            !request
                .headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case(d))
        })
        .collect();
        headers.extend(
            request
                .headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        );
        if let Some(signed) = &signed {
            headers.extend(signed.iter().map(|(k, v)| (*k, v.as_str())));
        }
        let out = Outgoing {
            method: http::Method::POST,
            url: &url,
            headers,
            body: Some(request.body.clone()),
        };
        let route = Route {
            url: &url,
            proxy: None,
            tls,
            guard: &self.guard,
            proxy_up: Default::default(),
        };
        let (answer, _) = transport::request(&route, out, None, self.timeout, MAX_ANSWER_BYTES)
            .await
            .map_err(|f| failure(f.kind, self.timeout))?;
        let retry_after_ms = retry_after_ms(&answer.headers, &answer.body, SystemTime::now());
        // Scrubbed whole, then cut: a secret straddling the cut would leave its start unmasked.
        let body = scrub(&String::from_utf8_lossy(&answer.body), request);
        Ok(ProviderAnswer {
            status: answer.status,
            body,
            retry_after_ms,
        })
    }
}

impl HttpSender for HttpNotifier {
    fn post(
        &self,
        request: &Outbound,
    ) -> impl std::future::Future<Output = Result<ProviderAnswer, SendError>> + Send {
        self.send(request)
    }
}

/// What went wrong, by kind only: the transport's own messages may quote the host or the
/// server name, which are part of the secret URL.
fn failure(kind: ErrorKind, timeout: Duration) -> SendError {
    SendError(match kind {
        ErrorKind::Dns => "dns: the host name did not resolve".into(),
        ErrorKind::Connect => "connect: the connection was refused, reset or closed".into(),
        ErrorKind::Tls => "tls: the TLS handshake failed".into(),
        ErrorKind::Cert => "certificate: the server's certificate was refused".into(),
        ErrorKind::Timeout => format!("timeout: no answer within {} ms", timeout.as_millis()),
        ErrorKind::Forbidden => {
            "forbidden: the address guard refused the destination (loopback, private or \
             metadata address, or a scheme other than http and https)"
                .into()
        }
        _ => "error: the request could not be sent or the answer was not HTTP".into(),
    })
}

/// `text` with every secret part of `request` masked (`***`): the whole URL, its path
/// segments and query of 8 characters or more (tokens), the header values, the signing
/// secret; then [`redact_text`] (credentials in URLs); then cut to at most
/// [`ANSWER_TEXT_BYTES`] characters (after masking, so no secret is cut in two and half-kept).
fn scrub(text: &str, request: &Outbound) -> String {
    let mut secrets: Vec<&str> = vec![request.url.as_str()];
    if let Ok(u) = url::Url::parse(&request.url) {
        let path = u.path();
        if path.len() > 1 {
            if let Some(i) = request.url.find(path) {
                secrets.push(&request.url[i..]);
            }
        }
        if let Some(q) = u.query() {
            if let Some(i) = request.url.find(q) {
                secrets.push(&request.url[i..i + q.len()]);
            }
        }
        if let Some(segments) = request.url.get(request.url.find(path).unwrap_or(0)..) {
            secrets.extend(segments.split(['/', '?', '&', '=']));
        }
    }
    secrets.extend(request.headers.iter().map(|(_, v)| v.as_str()));
    secrets.extend(request.sign_with.as_deref());
    secrets.retain(|s| s.len() >= 8);
    // Longest first, so a part of a longer secret is not masked before the whole.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = text.to_string();
    for s in secrets {
        if out.contains(s) {
            out = out.replace(s, "***");
        }
    }
    clip(&redact_text(&out), ANSWER_TEXT_BYTES)
}

/// How long the provider asks to wait, ms: the `Retry-After` header (RFC 9110 §10.2.3:
/// delta-seconds, or an HTTP-date, counted from `now`), else Telegram's
/// `{"ok":false,"error_code":429,"parameters":{"retry_after":N}}` (Bot API, "ResponseParameters":
/// seconds). `None` when neither is there or they do not parse; at most a day.
pub fn retry_after_ms(headers: &http::HeaderMap, body: &[u8], now: SystemTime) -> Option<u64> {
    let from_header = headers
        .get(http::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, now));
    from_header
        .or_else(|| telegram_retry_after(body))
        .map(|ms| ms.min(MAX_RETRY_AFTER_MS))
}

/// A `Retry-After` value in ms: delta-seconds (`120`) or an HTTP-date (`Fri, 31 Dec 1999
/// 23:59:59 GMT`, and the obsolete RFC 850 and asctime forms), 0 for a date already past.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<u64> {
    let value = value.trim();
    if let Ok(s) = value.parse::<u64>() {
        return Some(s.saturating_mul(1000));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(now)
            .map_or(0, |d| d.as_millis().min(u128::from(u64::MAX)) as u64),
    )
}

/// Telegram's `parameters.retry_after` (seconds) in ms.
fn telegram_retry_after(body: &[u8]) -> Option<u64> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let s = v.get("parameters")?.get("retry_after")?.as_u64()?;
    Some(s.saturating_mul(1000))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Reply, TestServer};

    fn outbound(url: &str) -> Outbound {
        Outbound {
            url: url.into(),
            headers: vec![("Authorization".into(), "GenieKey k-0123456789".into())],
            body: br#"{"text":"web is down"}"#.to_vec(),
            sign_with: None,
            incident: None,
        }
    }

    #[test]
    fn retry_after_reads_seconds_an_http_date_and_telegrams_parameters() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after("1", now), Some(1_000));
        assert_eq!(parse_retry_after(" 120 ", now), Some(120_000));
        // 1_700_000_000 is Tue, 14 Nov 2023 22:13:20 GMT.
        assert_eq!(
            parse_retry_after("Tue, 14 Nov 2023 22:13:50 GMT", now),
            Some(30_000)
        );
        assert_eq!(
            parse_retry_after("Tuesday, 14-Nov-23 22:13:30 GMT", now),
            Some(10_000)
        );
        assert_eq!(
            parse_retry_after("Tue Nov 14 22:13:25 2023", now),
            Some(5_000)
        );
        assert_eq!(
            parse_retry_after("Tue, 14 Nov 2023 22:00:00 GMT", now),
            Some(0)
        );
        for bad in ["", "-1", "soon", "1.5"] {
            assert_eq!(parse_retry_after(bad, now), None, "{bad}");
        }
        let telegram = br#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}}"#;
        assert_eq!(
            retry_after_ms(&http::HeaderMap::new(), telegram, now),
            Some(7_000)
        );
        assert_eq!(
            retry_after_ms(&http::HeaderMap::new(), b"not json", now),
            None
        );
        let mut h = http::HeaderMap::new();
        h.insert(http::header::RETRY_AFTER, "99999999999".parse().unwrap());
        assert_eq!(retry_after_ms(&h, b"", now), Some(MAX_RETRY_AFTER_MS));
    }

    #[tokio::test]
    async fn a_post_carries_json_the_user_agent_the_headers_and_a_verifiable_signature() {
        let server =
            TestServer::start(|_| Reply::json(200, &serde_json::json!({"ok": true}))).await;
        let mut req = outbound(&format!(
            "{}/hooks/T0TEST/B0TEST/hook-token-1234",
            server.url
        ));
        req.sign_with = Some("whsec_0123456789abcdef".into());
        let answer = HttpNotifier::allow_private().post(&req).await.unwrap();
        assert!(answer.accepted(), "{answer:?}");
        let got = &server.requests()[0];
        assert_eq!(
            (got.method.as_str(), got.path.as_str()),
            ("POST", "/hooks/T0TEST/B0TEST/hook-token-1234")
        );
        assert_eq!(got.header("content-type"), Some("application/json"));
        assert_eq!(got.header("user-agent"), Some(USER_AGENT));
        assert_eq!(got.header("authorization"), Some("GenieKey k-0123456789"));
        assert_eq!(got.body, req.body);
        let ts = got.header("x-lookout-timestamp").unwrap();
        let sig = got.header("x-lookout-signature").unwrap();
        let now_s = lookout_core::time::now_ms() / 1000;
        assert_eq!(
            super::super::sign::verify("whsec_0123456789abcdef", ts, &got.body, sig, now_s, 300),
            Ok(())
        );
    }

    #[tokio::test]
    async fn private_addresses_are_refused_by_default_without_naming_the_url() {
        let server = TestServer::start(|_| Reply::text(200, "ok")).await;
        let url = format!("{}/bot123456:AAE-secret-token/sendMessage", server.url);
        let e = HttpNotifier::new(&ProbeOptions::default(), DEFAULT_TIMEOUT)
            .post(&outbound(&url))
            .await
            .unwrap_err();
        assert!(e.0.starts_with("forbidden"), "{e}");
        assert!(
            !e.0.contains("secret-token") && !e.0.contains("127.0.0.1"),
            "{e}"
        );
        assert!(server.requests().is_empty());
    }

    #[tokio::test]
    async fn a_hanging_server_is_a_timeout_and_a_long_body_is_read_up_to_the_cap() {
        let hang = TestServer::start(|_| {
            Reply::Delay(Duration::from_secs(30), Box::new(Reply::text(200, "late")))
        })
        .await;
        let started = std::time::Instant::now();
        let e = HttpNotifier::allow_private()
            .with_timeout(Duration::from_millis(300))
            .post(&outbound(&format!("{}/x", hang.url)))
            .await
            .unwrap_err();
        assert_eq!(e.0, "timeout: no answer within 300 ms");
        assert!(started.elapsed() < Duration::from_secs(3));
        let endless = TestServer::start(|_| Reply::Endless(50 * 1024 * 1024)).await;
        let a = HttpNotifier::allow_private()
            .post(&outbound(&format!("{}/x", endless.url)))
            .await
            .unwrap();
        assert_eq!(a.body.len(), ANSWER_TEXT_BYTES);
        assert!(endless.bytes_sent() < 10 * 1024 * 1024, "stopped reading");
    }

    #[tokio::test]
    async fn an_answer_that_echoes_the_url_or_a_header_is_scrubbed() {
        let server = TestServer::start(|r| {
            Reply::text(
                404,
                &format!(
                    "no webhook at {} (auth {})",
                    r.path,
                    r.header("authorization").unwrap_or("")
                ),
            )
        })
        .await;
        let url = format!("{}/api/webhooks/123/tok-abcdefghijkl", server.url);
        let a = HttpNotifier::allow_private()
            .post(&outbound(&url))
            .await
            .unwrap();
        assert_eq!(a.status, 404);
        assert!(!a.body.contains("tok-abcdefghijkl"), "{}", a.body);
        assert!(!a.body.contains("k-0123456789"), "{}", a.body);
    }

    #[tokio::test]
    async fn a_secret_echoed_across_the_cut_of_the_answer_leaves_no_part_of_itself() {
        let token = "tok-abcdefghijkl";
        // The token starts 5 characters before the cut: scrubbing after cutting kept `tok-a`.
        let pad = "x".repeat(ANSWER_TEXT_BYTES - 5);
        let server =
            TestServer::start(move |r| Reply::text(400, &format!("{pad}{}", r.path))).await;
        let url = format!("{}/{token}", server.url);
        let a = HttpNotifier::allow_private()
            .post(&outbound(&url))
            .await
            .unwrap();
        assert_eq!(a.status, 400);
        assert!(a.body.chars().count() <= ANSWER_TEXT_BYTES);
        assert!(!a.body.contains("tok-"), "{}", &a.body[a.body.len() - 20..]);
        assert!(a.body.ends_with("***"), "{}", &a.body[a.body.len() - 20..]);
    }
}
