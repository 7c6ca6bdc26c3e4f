//! What a heartbeat (push) target expects: a ping at least every `period_s`, with `grace_s`
//! of slack, sent by the job itself to its secret push URL (`POST /v1/push/{token}`). A dead
//! man's switch for cron jobs and batch work, as healthchecks.io does it.
//!
//! JSON: `{"kind": "heartbeat", "period_s": 3600, "grace_s": 300}`. The push token is given as
//! `token` (22 to 128 characters of `A-Z`, `a-z`, `0-9`, `-`, `_`) or made by the API; only its
//! SHA-256 is stored (`token_sha256`), so the push URL is shown once, when the token is set.
//! How pings become check results: [`crate::domain::heartbeat`].

use serde::{Deserialize, Serialize};

use super::validate::{invalid, ValidationError};

fn default_grace_s() -> u32 {
    300
}

/// Shortest `period_s` (60 s: the probe run looks at heartbeats once a minute).
pub const MIN_PERIOD_S: u32 = 60;
/// Shortest `grace_s` (60 s).
pub const MIN_GRACE_S: u32 = 60;
/// Longest `period_s` and `grace_s` (31 days).
pub const MAX_PERIOD_S: u32 = 31 * 86_400;

/// How a heartbeat target is judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeartbeatCheck {
    /// Seconds expected between two pings (60 s to 31 days).
    pub period_s: u32,
    /// Seconds of slack after `period_s` before the target is late, and the longest a job may
    /// run between its `start` ping and its finishing one (default 300, 60 s to 31 days).
    #[serde(default = "default_grace_s")]
    pub grace_s: u32,
    /// The push token, on input only: [`Target::validate`](super::Target::validate) replaces it
    /// by its hash, so it is never stored nor answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Lowercase hex SHA-256 of the push token, set from `token`; ignored on input when
    /// `token` is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_sha256: Option<String>,
}

/// Lowercase hex SHA-256 of a push token: what [`HeartbeatCheck::token_sha256`] holds and
/// what a push is looked up by.
pub fn push_token_hash(token: &str) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `token` has the form of a push token (22 to 128 characters of `A-Z`, `a-z`,
/// `0-9`, `-`, `_`: at least 128 bits when random base64url).
pub fn valid_push_token(token: &str) -> bool {
    (22..=128).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl HeartbeatCheck {
    /// Moves a given `token` into `token_sha256` (the plain token is dropped).
    pub fn seal_token(&mut self) {
        if let Some(t) = self.token.take() {
            self.token_sha256 = Some(push_token_hash(&t));
        }
    }
}

/// The fields a `heartbeat` definition may carry besides the common ones.
pub(super) const FIELDS: &[&str] = &["period_s", "grace_s", "token", "token_sha256"];

/// `period_s`, `grace_s` and the token's form.
pub(super) fn validate(c: &HeartbeatCheck) -> Result<(), ValidationError> {
    if !(MIN_PERIOD_S..=MAX_PERIOD_S).contains(&c.period_s) {
        return Err(invalid(
            "period_s",
            format!("must be between {MIN_PERIOD_S} and {MAX_PERIOD_S} seconds"),
        ));
    }
    // Under a minute, an on-time ping would look late to the rounds a minute apart, and a
    // `start` late at once (healthchecks.io's shortest grace is a minute too).
    if !(MIN_GRACE_S..=MAX_PERIOD_S).contains(&c.grace_s) {
        return Err(invalid(
            "grace_s",
            format!("must be between {MIN_GRACE_S} and {MAX_PERIOD_S} seconds"),
        ));
    }
    if c.token.as_deref().is_some_and(|t| !valid_push_token(t)) {
        return Err(invalid(
            "token",
            "must be 22 to 128 characters of A-Z, a-z, 0-9, '-' or '_'",
        ));
    }
    if c.token_sha256.as_deref().is_some_and(|h| {
        h.len() != 64
            || !h
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    }) {
        return Err(invalid("token_sha256", "must be 64 lowercase hex digits"));
    }
    Ok(())
}
