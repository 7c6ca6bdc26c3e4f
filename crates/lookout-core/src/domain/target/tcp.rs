//! What a TCP check asks: connect to `host:port`, optionally send bytes and expect an answer.
//!
//! JSON: `{"kind": "tcp", "host": "db.internal", "port": 5432}` or, with a conversation,
//! `{"kind": "tcp", "host": "127.0.0.1", "port": 6379, "send": "PING\r\n", "expect_prefix": "+PONG"}`.
//! The result's `connect_ms` and `latency_ms` are the connect time and the whole exchange.

use serde::{Deserialize, Serialize};

use super::validate::{invalid, valid_host, ValidationError};

/// Most bytes a TCP check sends (`send`) or reads while waiting for its expectation (4 KiB).
pub const MAX_TCP_BYTES: usize = 4096;

/// How to check a TCP port.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TcpCheck {
    /// Host name or IP address (no scheme, no port). Resolved and checked by the address guard
    /// like a server URL's host.
    pub host: String,
    /// Port, 1 to 65 535.
    pub port: u16,
    /// Text sent once connected (at most [`MAX_TCP_BYTES`] bytes; JSON escapes such as `\r\n`
    /// carry control bytes). Unset: the check only connects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send: Option<String>,
    /// The answer must start with this text (at most 1024 bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_prefix: Option<String>,
    /// The answer (the first [`MAX_TCP_BYTES`] bytes, read as UTF-8 with invalid bytes
    /// replaced) must match this regular expression (Rust `regex` syntax, at most 1024 bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_regex: Option<String>,
}

impl TcpCheck {
    /// Whether the check reads an answer (it expects something).
    pub fn expects_answer(&self) -> bool {
        self.expect_prefix.is_some() || self.expect_regex.is_some()
    }
}

/// The fields a `tcp` definition may carry besides the common ones.
pub(super) const FIELDS: &[&str] = &["host", "port", "send", "expect_prefix", "expect_regex"];

/// `host`, `port`, `send`, `expect_prefix` and `expect_regex`.
pub(super) fn validate(c: &TcpCheck) -> Result<(), ValidationError> {
    valid_host("host", &c.host)?;
    if c.port == 0 {
        return Err(invalid("port", "must be between 1 and 65535"));
    }
    if c.send
        .as_ref()
        .is_some_and(|s| s.is_empty() || s.len() > MAX_TCP_BYTES)
    {
        return Err(invalid(
            "send",
            format!("must be 1 to {MAX_TCP_BYTES} bytes of text"),
        ));
    }
    if c.expect_prefix
        .as_ref()
        .is_some_and(|s| s.is_empty() || s.len() > 1024)
    {
        return Err(invalid("expect_prefix", "must be 1 to 1024 bytes of text"));
    }
    if let Some(re) = &c.expect_regex {
        if re.is_empty() || re.len() > 1024 {
            return Err(invalid("expect_regex", "must be 1 to 1024 bytes"));
        }
        regex::RegexBuilder::new(re)
            .size_limit(1 << 20)
            .build()
            .map_err(|e| invalid("expect_regex", format!("is not a regular expression: {e}")))?;
    }
    Ok(())
}
