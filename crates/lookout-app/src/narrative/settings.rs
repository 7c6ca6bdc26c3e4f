//! The narrative's settings (`LOOKOUT_LLM_*`), read with the others by
//! [`crate::config::Settings`]. Unset `LOOKOUT_LLM_BASE_URL`: no narratives (the default).

use lookout_core::digest::narrative::prompt::Language;
use lookout_core::digest::narrative::{NarrationPolicy, NarrativeScopes};
use lookout_core::domain::secret_ref::{find_refs, SecretRef};

use crate::config::ConfigError;

/// Default `LOOKOUT_LLM_TIMEOUT_MS`: 20 s for the whole call, connection included.
pub const DEFAULT_TIMEOUT_MS: u64 = 20_000;
/// Largest `LOOKOUT_LLM_TIMEOUT_MS` accepted (60 s): with the narration window
/// (`crate::usecases::digest_run::narrate::NARRATE_WINDOW`, 90 s) the step ends within 150 s
/// of the digest function's 300 s.
pub const MAX_TIMEOUT_MS: u64 = 60_000;
/// Default `LOOKOUT_LLM_MAX_TOKENS`: 400 tokens of answer (the prompt asks for 150 words;
/// Arabic and Persian take more tokens a word).
pub const DEFAULT_MAX_TOKENS: u32 = 400;
/// Largest `LOOKOUT_LLM_MAX_TOKENS` accepted.
pub const MAX_MAX_TOKENS: u32 = 16_384;
/// Default `LOOKOUT_LLM_MONTHLY_TOKENS`: 2,000,000 tokens a month. One global digest an hour
/// is about 744 calls a month; at about 1,500 tokens a call (a global digest's facts and the
/// answer) that is about 1.1 million.
pub const DEFAULT_MONTHLY_TOKENS: u64 = 2_000_000;

/// How the API key is sent (`LOOKOUT_LLM_AUTH`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AuthHeader {
    /// `Authorization: Bearer <key>` (OpenAI, Amazon Bedrock's OpenAI-compatible endpoint,
    /// Azure OpenAI's v1 API, local servers): `bearer`, the default.
    #[default]
    Bearer,
    /// `api-key: <key>` (Azure OpenAI's deployment URLs): `api-key`.
    ApiKey,
}

/// The request field the answer's length limit goes in (`LOOKOUT_LLM_MAX_TOKENS_FIELD`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MaxTokensField {
    /// `max_tokens`: what every OpenAI-compatible server reads (the default).
    #[default]
    MaxTokens,
    /// `max_completion_tokens`: what OpenAI's reasoning models require instead.
    MaxCompletionTokens,
}

impl MaxTokensField {
    /// The field's name in the request.
    pub fn name(self) -> &'static str {
        match self {
            MaxTokensField::MaxTokens => "max_tokens",
            MaxTokensField::MaxCompletionTokens => "max_completion_tokens",
        }
    }
}

/// Settings of the OpenAI-compatible Chat Completions client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NarrativeSettings {
    /// `LOOKOUT_LLM_BASE_URL`: the API's base, `/chat/completions` appended to its path; its
    /// query is kept (Azure's `?api-version=`). `https://api.openai.com/v1`,
    /// `https://<resource>.openai.azure.com/openai/deployments/<name>?api-version=2024-10-21`,
    /// `https://bedrock-runtime.us-west-2.amazonaws.com/openai/v1`, `http://127.0.0.1:11434/v1`.
    pub base_url: url::Url,
    /// `LOOKOUT_LLM_MODEL`: the `model` of the request (required with a base URL).
    pub model: String,
    /// `LOOKOUT_LLM_API_KEY`: where the key is kept, as a secret reference
    /// (`{{ssm:/lookout/llm-key}}` or `{{secretsmanager:lookout/llm#key}}`); the key itself is
    /// never a setting. Unset: no key is sent (a local server).
    pub api_key: Option<SecretRef>,
    /// `LOOKOUT_LLM_AUTH`: `bearer` (default) or `api-key`.
    pub auth: AuthHeader,
    /// `LOOKOUT_LLM_TIMEOUT_MS`: the whole call, connection included (default 20,000, at
    /// least 100).
    pub timeout_ms: u64,
    /// `LOOKOUT_LLM_MAX_TOKENS`: tokens of answer (default 400, 1 to 16,384).
    pub max_tokens: u32,
    /// `LOOKOUT_LLM_MAX_TOKENS_FIELD`: `max_tokens` (default) or `max_completion_tokens`.
    pub max_tokens_field: MaxTokensField,
    /// `LOOKOUT_LLM_MONTHLY_TOKENS`: the month's budget (default 2,000,000, at least 1).
    pub monthly_tokens: u64,
    /// `LOOKOUT_LLM_SCOPES`: `global` (default) or `notable`.
    pub scopes: NarrativeScopes,
    /// `LOOKOUT_LLM_LANGUAGE`: `en` (default), `ar` or `fa`.
    pub language: Language,
}

impl NarrativeSettings {
    /// The rationing the digest run applies.
    pub fn policy(&self) -> NarrationPolicy {
        NarrationPolicy {
            scopes: self.scopes,
            monthly_token_budget: Some(self.monthly_tokens),
        }
    }

    /// The settings through `text` (a setting's value, blank as unset); `None` without
    /// `LOOKOUT_LLM_BASE_URL`.
    ///
    /// # Errors
    /// [`ConfigError`] naming the variable that is missing or malformed.
    pub fn from_lookup(
        text: impl Fn(&'static str) -> Option<String>,
    ) -> Result<Option<Self>, ConfigError> {
        let Some(raw) = text("LOOKOUT_LLM_BASE_URL") else {
            return Ok(None);
        };
        let err = |name: &'static str, problem: String| ConfigError { name, problem };
        let base_url = url::Url::parse(raw.trim())
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.username().is_empty() && u.password().is_none())
            .ok_or_else(|| {
                err(
                    "LOOKOUT_LLM_BASE_URL",
                    format!(
                        "expected an http(s) URL without credentials like https://api.openai.com/v1, got {:?}",
                        shown(&raw)
                    ),
                )
            })?;
        let model = text("LOOKOUT_LLM_MODEL").map(|m| m.trim().to_string()).ok_or_else(|| {
            err(
                "LOOKOUT_LLM_MODEL",
                "is not set; it names the model (like gpt-4o-mini) when LOOKOUT_LLM_BASE_URL is set".into(),
            )
        })?;
        let api_key = match text("LOOKOUT_LLM_API_KEY") {
            None => None,
            Some(v) => Some(secret_ref(&v).ok_or_else(|| {
                err(
                    "LOOKOUT_LLM_API_KEY",
                    "expected a secret reference like {{ssm:/lookout/llm-key}} or \
                     {{secretsmanager:lookout/llm#key}}; the key itself is not a setting"
                        .into(),
                )
            })?),
        };
        let auth = match text("LOOKOUT_LLM_AUTH").as_deref().map(str::trim) {
            None | Some("bearer") => AuthHeader::Bearer,
            Some("api-key") => AuthHeader::ApiKey,
            Some(other) => {
                return Err(err(
                    "LOOKOUT_LLM_AUTH",
                    format!("expected bearer or api-key, got {other:?}"),
                ))
            }
        };
        let max_tokens_field = match text("LOOKOUT_LLM_MAX_TOKENS_FIELD")
            .as_deref()
            .map(str::trim)
        {
            None | Some("max_tokens") => MaxTokensField::MaxTokens,
            Some("max_completion_tokens") => MaxTokensField::MaxCompletionTokens,
            Some(other) => {
                return Err(err(
                    "LOOKOUT_LLM_MAX_TOKENS_FIELD",
                    format!("expected max_tokens or max_completion_tokens, got {other:?}"),
                ))
            }
        };
        let number =
            |name: &'static str, default: u64, min: u64, max: u64| -> Result<u64, ConfigError> {
                match text(name) {
                    None => Ok(default),
                    Some(v) => v
                        .trim()
                        .parse::<u64>()
                        .ok()
                        .filter(|n| (min..=max).contains(n))
                        .ok_or_else(|| {
                            err(
                                name,
                                format!("expected a whole number from {min} to {max}, got {v:?}"),
                            )
                        }),
                }
            };
        let scopes = match text("LOOKOUT_LLM_SCOPES") {
            None => NarrativeScopes::Global,
            Some(v) => NarrativeScopes::parse(&v).ok_or_else(|| {
                err(
                    "LOOKOUT_LLM_SCOPES",
                    format!("expected global or notable, got {v:?}"),
                )
            })?,
        };
        let language = match text("LOOKOUT_LLM_LANGUAGE") {
            None => Language::En,
            Some(v) => Language::parse(&v).ok_or_else(|| {
                err(
                    "LOOKOUT_LLM_LANGUAGE",
                    format!("expected en, ar or fa, got {v:?}"),
                )
            })?,
        };
        Ok(Some(NarrativeSettings {
            base_url,
            model,
            api_key,
            auth,
            timeout_ms: number(
                "LOOKOUT_LLM_TIMEOUT_MS",
                DEFAULT_TIMEOUT_MS,
                100,
                MAX_TIMEOUT_MS,
            )?,
            max_tokens: number(
                "LOOKOUT_LLM_MAX_TOKENS",
                DEFAULT_MAX_TOKENS.into(),
                1,
                MAX_MAX_TOKENS.into(),
            )? as u32,
            max_tokens_field,
            monthly_tokens: number(
                "LOOKOUT_LLM_MONTHLY_TOKENS",
                DEFAULT_MONTHLY_TOKENS,
                1,
                u64::MAX / 2,
            )?,
            scopes,
            language,
        }))
    }
}

/// `text` when it is exactly one secret reference (spaces around it allowed).
fn secret_ref(text: &str) -> Option<SecretRef> {
    let text = text.trim();
    let found = find_refs(text).ok()?;
    match found.as_slice() {
        [one] if one.span == (0..text.len()) => Some(one.reference.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests;

/// A refused base URL as an error may show it: its credentials masked, and anything before an
/// `@` masked too when it does not parse as a URL with a scheme (`user:pw@host` reads as the
/// scheme `user`, whose "path" [`lookout_core::redact::redact_url`] would leave as it is).
fn shown(raw: &str) -> String {
    let masked = lookout_core::redact::redact_url(raw.trim());
    match masked.rfind('@') {
        Some(at) if !masked[..at].contains("***") => format!("***@{}", &masked[at + 1..]),
        _ => masked,
    }
}
