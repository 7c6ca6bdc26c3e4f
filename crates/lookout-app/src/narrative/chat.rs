//! [`ChatCompletions`]: the [`Summariser`] over an OpenAI-compatible Chat Completions API
//! (OpenAI, Azure OpenAI, Amazon Bedrock's OpenAI-compatible endpoint, a local server).
//!
//! One call per digest, no retry (the digest run allows one call per scope and hour):
//! `POST <base URL path>/chat/completions` with the base URL's query kept (Azure's
//! `?api-version=`), through the probe engine's transport and its address guard, as
//! notifications are sent ([`crate::notify::http::HttpNotifier`]). The request follows
//! OpenAI's API reference, "Create chat completion":
//!
//! ```json
//! {"model": "gpt-4o-mini",
//!  "messages": [{"role": "system", "content": "..."}, {"role": "user", "content": "{...}"}],
//!  "max_tokens": 400, "n": 1, "stream": false}
//! ```
//!
//! (`max_completion_tokens` instead of `max_tokens` when `LOOKOUT_LLM_MAX_TOKENS_FIELD` says
//! so; no `temperature`: OpenAI's reasoning models refuse one.) The messages are
//! [`lookout_core::digest::narrative::prompt::build`]'s: the digest's facts only, never a
//! target's URL, credentials, headers or secrets.
//!
//! Headers: `Content-Type: application/json`, `Accept: application/json`, `User-Agent:
//! Lookout/<version>`, and the API key (read through [`Secrets::value`], cached 5 minutes) as
//! `Authorization: Bearer <key>` or `api-key: <key>`; none without `LOOKOUT_LLM_API_KEY`.
//! How the answer is read: [`answer`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use lookout_core::digest::narrative::prompt::{self, Prompt};
use lookout_core::digest::narrative::{NarrationPolicy, Summary};
use lookout_core::digest::report::{Digest, Summariser, SummaryError};
use lookout_core::domain::ErrorKind;

use super::settings::AuthHeader;
use super::NarrativeSettings;
use crate::probe::guard::Guard;
use crate::probe::transport::{self, Outgoing, Route, TlsConfigs};
use crate::probe::{Failure, ProbeOptions, WEB_SCHEMES};
use crate::secrets::Secrets;

pub mod answer;

/// The `User-Agent` of every call: `Lookout/<version>`.
pub const USER_AGENT: &str = crate::notify::http::USER_AGENT;

/// Body bytes read from an answer (256 KiB): a chat completion of 16,384 tokens is about
/// 64 KiB of text; the rest of a longer answer is never downloaded (it then fails as not JSON).
pub const MAX_ANSWER_BYTES: usize = 256 * 1024;

/// The client: one chat completion per [`Summariser::summarise`]. Cheap to clone (the key's
/// cache and the TLS configuration are shared).
#[derive(Clone)]
pub struct ChatCompletions {
    settings: NarrativeSettings,
    secrets: Secrets,
    guard: Arc<Guard>,
    tls: TlsConfigs,
}

impl std::fmt::Debug for ChatCompletions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The settings hold the key's reference, never the key.
        f.debug_struct("ChatCompletions")
            .field("settings", &self.settings)
            .field("allow_private", &self.guard.allow_private)
            .finish_non_exhaustive()
    }
}

impl ChatCompletions {
    /// A client of `settings`, reading the API key through `secrets`, its destination checked
    /// by the address guard of `options`, as notifications are: a private base URL needs
    /// `LOOKOUT_ALLOWED_CIDRS` (or `LOOKOUT_ALLOW_PRIVATE_TARGETS`), a loopback one (a server
    /// on the same host) `LOOKOUT_ALLOW_PRIVATE_TARGETS`; link-local and metadata addresses
    /// are refused whatever the list says.
    pub fn new(settings: NarrativeSettings, secrets: Secrets, options: ProbeOptions) -> Self {
        ChatCompletions {
            settings,
            guard: Arc::new(options.guard()),
            secrets,
            tls: TlsConfigs::default(),
        }
    }

    /// The settings the client was made with.
    pub fn settings(&self) -> &NarrativeSettings {
        &self.settings
    }

    /// The URL of the call: `/chat/completions` appended to the base URL's path (one `/`
    /// between them), its query kept: `https://api.openai.com/v1` gives
    /// `https://api.openai.com/v1/chat/completions`,
    /// `https://r.openai.azure.com/openai/deployments/d?api-version=2024-10-21` gives
    /// `https://r.openai.azure.com/openai/deployments/d/chat/completions?api-version=2024-10-21`.
    pub fn endpoint(&self) -> url::Url {
        let mut url = self.settings.base_url.clone();
        let path = format!("{}/chat/completions", url.path().trim_end_matches('/'));
        url.set_path(&path);
        url.set_fragment(None);
        url
    }

    /// The request's JSON body for `prompt` (see the module doc).
    pub fn body(&self, prompt: &Prompt) -> Vec<u8> {
        let mut body = serde_json::Map::new();
        body.insert("model".into(), self.settings.model.clone().into());
        body.insert(
            "messages".into(),
            serde_json::json!([
                {"role": "system", "content": prompt.system},
                {"role": "user", "content": prompt.user},
            ]),
        );
        body.insert(
            self.settings.max_tokens_field.name().into(),
            self.settings.max_tokens.into(),
        );
        body.insert("n".into(), 1.into());
        body.insert("stream".into(), false.into());
        serde_json::Value::Object(body).to_string().into_bytes()
    }

    /// The API key, or `None` when none is configured; read within `timeout`.
    async fn key(&self, timeout: Duration) -> Result<Option<String>, SummaryError> {
        let Some(reference) = &self.settings.api_key else {
            return Ok(None);
        };
        match tokio::time::timeout(timeout, self.secrets.value(reference)).await {
            Ok(Ok(key)) => Ok(Some(key)),
            // Names the reference and why, never a value (`SecretError`).
            Ok(Err(e)) => Err(SummaryError::NotSent(format!("the API key: {e}"))),
            Err(_) => Err(SummaryError::NotSent(format!(
                "the API key: secret {reference} could not be read within {} ms",
                timeout.as_millis()
            ))),
        }
    }

    async fn call(&self, digest: &Digest) -> Result<Summary, SummaryError> {
        let started = Instant::now();
        let timeout = Duration::from_millis(self.settings.timeout_ms);
        let url = self.endpoint();
        // Refused before the key is read: a call that cannot go out reads no secret.
        self.guard
            .check_url(&url, WEB_SCHEMES)
            .map_err(|r| SummaryError::NotSent(r.to_string()))?;
        let key = self.key(timeout).await?;
        let tls = self.tls.get(None).map_err(|f| failed(&f, key.as_deref()))?;
        let prompt = prompt::build(digest, self.settings.language);
        let auth = key.as_deref().map(|k| match self.settings.auth {
            AuthHeader::Bearer => ("Authorization", format!("Bearer {k}")),
            AuthHeader::ApiKey => ("api-key", k.to_string()),
        });
        let mut headers = vec![
            ("Content-Type", "application/json"),
            ("Accept", "application/json"),
            ("User-Agent", USER_AGENT),
        ];
        if let Some((name, value)) = &auth {
            headers.push((name, value.as_str()));
        }
        let out = Outgoing {
            method: http::Method::POST,
            url: &url,
            headers,
            body: Some(self.body(&prompt)),
        };
        let route = Route {
            url: &url,
            proxy: None,
            tls,
            guard: &self.guard,
            proxy_up: Default::default(),
        };
        // The whole call, the key's read included, within the timeout.
        let left = timeout
            .saturating_sub(started.elapsed())
            .max(Duration::from_millis(1));
        let (exchanged, _) = transport::request(&route, out, None, left, MAX_ANSWER_BYTES)
            .await
            .map_err(|f| match f.kind {
                ErrorKind::Timeout => SummaryError::TimedOut(format!(
                    "no answer within {} ms",
                    self.settings.timeout_ms
                )),
                _ => failed(&f, key.as_deref()),
            })?;
        answer::read(
            exchanged.status,
            &exchanged.headers,
            &exchanged.body,
            &self.settings.model,
            key.as_deref(),
        )
    }
}

/// A transport failure in words (the engine's message, `connect: ...`, `tls: ...`, already
/// redacted), scrubbed of the key as well: [`SummaryError::NotSent`] when the request cannot
/// have reached the server (DNS, connection, TLS, certificate, the guard), else
/// [`SummaryError::Failed`].
fn failed(f: &Failure, key: Option<&str>) -> SummaryError {
    let text = answer::scrub(&f.message, key);
    match (f.kind, f.connecting) {
        // A connection closed after the request went out: the server may have counted it.
        (ErrorKind::Connect, false) => SummaryError::Failed(text),
        (
            ErrorKind::Dns
            | ErrorKind::Connect
            | ErrorKind::Tls
            | ErrorKind::Cert
            | ErrorKind::Forbidden,
            _,
        ) => SummaryError::NotSent(text),
        _ => SummaryError::Failed(text),
    }
}

impl Summariser for ChatCompletions {
    fn policy(&self) -> NarrationPolicy {
        self.settings.policy()
    }

    /// The prompt's estimate ([`Prompt::estimated_tokens`]) plus `LOOKOUT_LLM_MAX_TOKENS`: the
    /// same prompt [`ChatCompletions::summarise`] sends, and the answer's limit it asks for.
    fn token_bound(&self, digest: &Digest) -> u64 {
        prompt::build(digest, self.settings.language).estimated_tokens()
            + u64::from(self.settings.max_tokens)
    }

    /// One chat completion for `digest` (see the module doc); no retry.
    ///
    /// # Errors
    /// - [`SummaryError::TimedOut`]: no full answer within `LOOKOUT_LLM_TIMEOUT_MS`
    ///   (connection included);
    /// - [`SummaryError::RateLimited`]: a 429 (with its `Retry-After` when given);
    /// - [`SummaryError::Refused`]: a `refusal`, `finish_reason` `content_filter`, no text, or
    ///   Azure's 400 `content_filter`;
    /// - [`SummaryError::NotSent`]: the request never left: a destination the address guard
    ///   refuses, an API key that cannot be read (naming its reference), DNS, the connection,
    ///   TLS;
    /// - [`SummaryError::Failed`]: another HTTP status (with the provider's `error.message`,
    ///   clipped and scrubbed), an answer that is not a chat completion, a connection closed
    ///   after the request went out.
    ///
    /// No error text holds the API key.
    async fn summarise(&self, digest: &Digest) -> Result<Summary, SummaryError> {
        self.call(digest).await
    }
}

#[cfg(test)]
mod tests;
