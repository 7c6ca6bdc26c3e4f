//! A digest's optional second text: a language model's retelling (the `narrative`), and what a
//! digest run counts of its attempts.
//!
//! The built-in summary ([`super::report::Digest::summary`]) is the record: it is computed from
//! the checks and is always there. A narrative is generated from the digest's facts only (see
//! [`prompt`]), marked as generated wherever it is shown, and left out when the call fails.

use serde::{Deserialize, Serialize};

pub mod prompt;

/// A language model's retelling of one digest, stored in [`super::report::Digest::narrative`].
///
/// JSON: `{"generated": true, "model": "gpt-4o-mini", "text": "...", "generated_at": <epoch
/// ms>, "prompt_tokens": 812, "completion_tokens": 240}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Narrative {
    /// Always `true`: the text was written by a language model, not computed from the checks.
    /// Readers (API clients, the console) show it as such.
    pub generated: bool,
    /// The model named in the request (`LOOKOUT_LLM_MODEL`), or the one the server answered
    /// with when it names one.
    pub model: String,
    /// The model's answer, trimmed; at most [`MAX_NARRATIVE_CHARS`] characters.
    pub text: String,
    /// When the answer came, epoch ms.
    pub generated_at: i64,
    /// Tokens of the request as the server counted them (`usage.prompt_tokens`; 0 when it
    /// did not say).
    #[serde(default)]
    pub prompt_tokens: u64,
    /// Tokens of the answer (`usage.completion_tokens`; 0 when the server did not say).
    #[serde(default)]
    pub completion_tokens: u64,
}

/// Longest narrative kept, in characters (longer answers are cut at a character boundary).
pub const MAX_NARRATIVE_CHARS: usize = 8_000;

impl Narrative {
    /// The narrative of `summary`, answered at `now` (epoch ms): the text trimmed and cut to
    /// [`MAX_NARRATIVE_CHARS`].
    pub fn from_summary(summary: Summary, now: i64) -> Self {
        let text: String = summary
            .text
            .trim()
            .chars()
            .take(MAX_NARRATIVE_CHARS)
            .collect();
        Narrative {
            generated: true,
            model: summary.model,
            text,
            generated_at: now,
            prompt_tokens: summary.prompt_tokens,
            completion_tokens: summary.completion_tokens,
        }
    }

    /// Tokens the call used (request and answer).
    pub fn tokens(&self) -> u64 {
        self.prompt_tokens + self.completion_tokens
    }
}

/// A summariser's answer for one digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// The retelling.
    pub text: String,
    /// The model that wrote it.
    pub model: String,
    /// Tokens of the request (`usage.prompt_tokens`; 0 when not said).
    pub prompt_tokens: u64,
    /// Tokens of the answer (`usage.completion_tokens`; 0 when not said).
    pub completion_tokens: u64,
}

/// Which digests get a narrative (`LOOKOUT_LLM_SCOPES`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NarrativeScopes {
    /// Only the global digest of each hour (the default): one call an hour.
    #[default]
    Global,
    /// The global digest and every target digest that is stored (those with something to
    /// say: [`super::report::Digest::is_notable`]).
    Notable,
}

impl NarrativeScopes {
    /// `global` or `notable`.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "global" => Some(NarrativeScopes::Global),
            "notable" => Some(NarrativeScopes::Notable),
            _ => None,
        }
    }
}

/// How narratives are rationed, from the settings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NarrationPolicy {
    /// Which digests get one.
    pub scopes: NarrativeScopes,
    /// Tokens (request and answer) all calls of a calendar month (UTC) may use together
    /// (`LOOKOUT_LLM_MONTHLY_TOKENS`); `None` is no limit. A call is made only when its
    /// bound ([`super::report::Summariser::token_bound`]) still fits; the bound is reserved
    /// before the call and the unused part given back after it, so concurrent calls never
    /// take the month over the budget; only a call that used more than its bound adds the
    /// excess.
    pub monthly_token_budget: Option<u64>,
}

/// What a digest run did about narratives, stored on the global digest (`narration`) and
/// returned in the run's report. Every digest considered lands in exactly one of the counts
/// after `considered`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NarrationCounts {
    /// Digests that could get a narrative in this run (by [`NarrativeScopes`]).
    pub considered: u32,
    /// Calls made that answered with a narrative, now stored.
    pub written: u32,
    /// Narratives of an earlier run of the same hour, kept without a call (at most one call
    /// per scope and hour).
    pub reused: u32,
    /// No call: an earlier run of the same hour already called and got none (it failed, or
    /// its run ended before it finished).
    pub already_tried: u32,
    /// No call: the month's token budget would be passed.
    pub over_budget: u32,
    /// No call and no claim: the run's narration window had passed (a slow model, many
    /// digests); a later run of the hour may call.
    #[serde(default)]
    pub deferred: u32,
    /// Calls that failed: an HTTP error other than 429, an answer that is not a chat
    /// completion, a connection failure, an API key that could not be read.
    pub failed: u32,
    /// Calls cut at the timeout (`LOOKOUT_LLM_TIMEOUT_MS`).
    pub timed_out: u32,
    /// Calls the model refused (a `refusal`, `finish_reason` `content_filter`, or no text).
    pub refused: u32,
    /// Calls answered 429 (rate limited or out of quota); not retried within the hour.
    pub rate_limited: u32,
    /// No call: the store could not claim the hour or reserve tokens (a storage failure).
    pub store_errors: u32,
    /// Tokens the calls of this run used (as the server counted them).
    pub tokens: u64,
}
