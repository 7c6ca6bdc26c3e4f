//! A small client of the Lookout API for applications that send their own calls through a proxy
//! pool: it asks the API for the pool's proxies in failover order (cheapest usable first), tries
//! them in turn for a real request, and reports each outcome and its bytes back, so that real
//! traffic counts in the proxies' state and cost like probes do.
//!
//! ```no_run
//! # async fn demo() -> Result<(), lookout_client::ClientError> {
//! let lookout = lookout_client::Client::new("https://status.example.com", "admin-token")?;
//! let answer = lookout
//!     .request_with_failover("scraper-pool", reqwest::Method::GET, "https://api.example.com/x", None)
//!     .await?;
//! println!("{} through {}", answer.status, answer.proxy_id);
//! # Ok(()) }
//! ```

use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::json;

use lookout_core::redact::{clip, redact_text};

/// Statuses that mean the upstream refuses the proxy (`blocked`), as the probe's default
/// `block_status`.
pub const BLOCK_STATUS: [u16; 2] = [403, 429];

/// Most body bytes read from an answer (10 MiB).
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// A proxy as `GET /v1/proxies/active` lists it, credentials included.
#[derive(Debug, Clone, Deserialize)]
pub struct ActiveProxy {
    /// The target id.
    pub id: String,
    /// Its URL with `user:password@`.
    pub proxy_url: String,
    /// Price per GB.
    #[serde(default)]
    pub cost_per_gb: f64,
    /// Failover priority, lower first.
    #[serde(default)]
    pub priority: u32,
}

#[derive(Deserialize)]
struct ActiveAnswer {
    order: Vec<ActiveProxy>,
}

/// What went wrong. Messages never hold proxy credentials.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The Lookout API answered with an error.
    #[error("lookout API answered {status}: {message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// The API's error message.
        message: String,
    },
    /// The Lookout API could not be reached, or the request could not be built.
    #[error("lookout API: {0}")]
    Http(String),
    /// The pool has no usable proxy.
    #[error("pool {0} has no usable proxy")]
    NoProxy(String),
    /// Every proxy was tried and failed; (proxy id, why) in the order tried.
    #[error("every proxy failed: {0:?}")]
    AllProxiesFailed(Vec<(String, String)>),
}

/// The answer of a request that went through a proxy.
#[derive(Debug, Clone)]
pub struct FailoverResponse {
    /// The proxy that carried it.
    pub proxy_id: String,
    /// HTTP status of the upstream answer.
    pub status: u16,
    /// The body (at most [`MAX_BODY_BYTES`]).
    pub body: Vec<u8>,
    /// The proxies tried before, and why each was left: (id, reason).
    pub failed: Vec<(String, String)>,
}

/// A Lookout API client with the admin token (the active-proxy answer needs it).
#[derive(Clone, Debug)]
pub struct Client {
    base: String,
    token: String,
    http: reqwest::Client,
    /// Timeout of each attempt through a proxy.
    pub attempt_timeout: Duration,
}

fn http_error(e: &reqwest::Error) -> ClientError {
    ClientError::Http(clip(
        &redact_text(&lookout_core::redact::error_chain(e)),
        200,
    ))
}

impl Client {
    /// A client of the API at `base` (e.g. `https://status.example.com`).
    ///
    /// # Errors
    /// [`ClientError::Http`] when the HTTP client cannot be built.
    pub fn new(base: &str, token: &str) -> Result<Self, ClientError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| http_error(&e))?;
        Ok(Client {
            base: base.trim_end_matches('/').to_string(),
            token: token.to_string(),
            http,
            attempt_timeout: Duration::from_secs(30),
        })
    }

    async fn api(&self, req: reqwest::RequestBuilder) -> Result<serde_json::Value, ClientError> {
        let resp = req
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| http_error(&e))?;
        let status = resp.status().as_u16();
        let body: serde_json::Value = resp.json().await.map_err(|e| http_error(&e))?;
        if status >= 400 {
            let message = body["error"]["message"].as_str().unwrap_or("").to_string();
            return Err(ClientError::Api { status, message });
        }
        Ok(body)
    }

    /// The proxies of `group` in failover order.
    ///
    /// # Errors
    /// [`ClientError::Api`] (404 for an unknown pool) or [`ClientError::Http`].
    pub async fn active_proxies(&self, group: &str) -> Result<Vec<ActiveProxy>, ClientError> {
        let url = format!("{}/v1/proxies/active", self.base);
        let body = self
            .api(self.http.get(url).query(&[("group", group)]))
            .await?;
        serde_json::from_value::<ActiveAnswer>(body)
            .map(|a| a.order)
            .map_err(|e| ClientError::Http(format!("unexpected answer: {e}")))
    }

    /// Reports one request through proxy `id`: `outcome` is `ok`, `failed` or `blocked`.
    ///
    /// # Errors
    /// [`ClientError::Api`] or [`ClientError::Http`].
    pub async fn report_usage(
        &self,
        id: &str,
        outcome: &str,
        bytes: u64,
        latency_ms: u64,
        status_code: Option<u16>,
    ) -> Result<(), ClientError> {
        let url = format!("{}/v1/proxies/{id}/usage", self.base);
        let body = json!({"outcome": outcome, "bytes": bytes, "latency_ms": latency_ms,
                          "status_code": status_code});
        self.api(self.http.post(url).json(&body)).await.map(|_| ())
    }

    /// Sends `method url` (with `body`) through the proxies of `group` in failover order until
    /// one answers with a status that is not a block status (403, 429) and not a 407; reports
    /// each attempt's outcome and bytes to the API (a failed report is logged, never fatal).
    ///
    /// # Errors
    /// [`ClientError::NoProxy`] when the pool has no usable proxy,
    /// [`ClientError::AllProxiesFailed`] when each failed, or an API error.
    pub async fn request_with_failover(
        &self,
        group: &str,
        method: reqwest::Method,
        url: &str,
        body: Option<Vec<u8>>,
    ) -> Result<FailoverResponse, ClientError> {
        let proxies = self.active_proxies(group).await?;
        if proxies.is_empty() {
            return Err(ClientError::NoProxy(group.to_string()));
        }
        let mut failed = Vec::new();
        for p in proxies {
            let started = Instant::now();
            let attempt = self.attempt(&p, method.clone(), url, body.clone()).await;
            let latency_ms = started.elapsed().as_millis() as u64;
            let sent = body.as_ref().map_or(0, Vec::len) as u64;
            let received = attempt.as_ref().map_or(0, |(_, b)| b.len()) as u64;
            let code = attempt.as_ref().ok().map(|(s, _)| *s);
            let (outcome, why, answer) = match attempt {
                Ok((status, _)) if BLOCK_STATUS.contains(&status) => (
                    "blocked",
                    format!("upstream refused the proxy with HTTP {status}"),
                    None,
                ),
                Ok((407, _)) => (
                    "failed",
                    "the proxy refused the credentials (407)".into(),
                    None,
                ),
                Ok(answer) => ("ok", String::new(), Some(answer)),
                Err(e) => ("failed", e, None),
            };
            if let Err(e) = self
                .report_usage(&p.id, outcome, sent + received, latency_ms, code)
                .await
            {
                tracing::warn!(proxy = %p.id, error = %e, "usage not reported");
            }
            match answer {
                Some((status, body)) => {
                    return Ok(FailoverResponse {
                        proxy_id: p.id,
                        status,
                        body,
                        failed,
                    })
                }
                None => failed.push((p.id, why)),
            }
        }
        Err(ClientError::AllProxiesFailed(failed))
    }

    async fn attempt(
        &self,
        p: &ActiveProxy,
        method: reqwest::Method,
        url: &str,
        body: Option<Vec<u8>>,
    ) -> Result<(u16, Vec<u8>), String> {
        let words =
            |e: &reqwest::Error| clip(&redact_text(&lookout_core::redact::error_chain(e)), 200);
        let proxy = reqwest::Proxy::all(&p.proxy_url).map_err(|e| words(&e))?;
        let client = reqwest::Client::builder()
            .proxy(proxy)
            .timeout(self.attempt_timeout)
            .build()
            .map_err(|e| words(&e))?;
        let mut req = client.request(method, url);
        if let Some(b) = body {
            req = req.body(b);
        }
        let mut resp = req.send().await.map_err(|e| words(&e))?;
        let status = resp.status().as_u16();
        let mut out = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| words(&e))? {
            let room = MAX_BODY_BYTES.saturating_sub(out.len());
            out.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if out.len() >= MAX_BODY_BYTES {
                break;
            }
        }
        Ok((status, out))
    }
}
