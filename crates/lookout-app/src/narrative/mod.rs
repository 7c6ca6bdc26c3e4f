//! Narratives: a language model's retelling of a digest through an OpenAI-compatible Chat
//! Completions API (OpenAI, Azure OpenAI, Amazon Bedrock's OpenAI-compatible endpoint, or a
//! local server). Optional and off by default (`LOOKOUT_LLM_BASE_URL` unset).
//!
//! - [`settings`]: the `LOOKOUT_LLM_*` settings.
//! - [`chat`]: [`ChatCompletions`], the client: the prompt of
//!   [`lookout_core::digest::narrative::prompt`] (the digest's facts only), one `POST
//!   <base>/chat/completions` with the API key read from SSM or Secrets Manager, the answer or
//!   why there is none.
//!
//! Which digests get one, at most one call per scope and hour and the monthly token budget are
//! the digest run's (`crate::usecases::digest_run::narrate`).

pub mod chat;
pub mod settings;

pub use chat::ChatCompletions;
pub use settings::NarrativeSettings;
