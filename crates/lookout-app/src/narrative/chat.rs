//! [`ChatCompletions`]: the OpenAI-compatible Chat Completions client (skeleton: helper A
//! writes the request and the answer's reading).

use lookout_core::digest::narrative::{NarrationPolicy, Summary};
use lookout_core::digest::report::{Digest, Summariser, SummaryError};

use super::NarrativeSettings;
use crate::probe::ProbeOptions;
use crate::secrets::Secrets;

/// The client.
#[derive(Debug, Clone)]
pub struct ChatCompletions {
    settings: NarrativeSettings,
    #[allow(dead_code)]
    secrets: Secrets,
    #[allow(dead_code)]
    options: ProbeOptions,
}

impl ChatCompletions {
    /// A client of `settings`, reading the API key through `secrets`, its destination checked
    /// by the address guard of `options`.
    pub fn new(settings: NarrativeSettings, secrets: Secrets, options: ProbeOptions) -> Self {
        ChatCompletions {
            settings,
            secrets,
            options,
        }
    }
}

impl Summariser for ChatCompletions {
    fn policy(&self) -> NarrationPolicy {
        self.settings.policy()
    }

    fn token_bound(&self, digest: &Digest) -> u64 {
        lookout_core::digest::narrative::prompt::build(digest, self.settings.language)
            .estimated_tokens()
            + u64::from(self.settings.max_tokens)
    }

    async fn summarise(&self, _digest: &Digest) -> Result<Summary, SummaryError> {
        Err(SummaryError::Failed(
            "the chat client is not written yet".into(),
        ))
    }
}
