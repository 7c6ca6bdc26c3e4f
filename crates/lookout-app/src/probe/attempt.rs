//! What one request and one attempt produce: the [`Answer`] of a request, the [`Failure`] of
//! one, and the [`Attempt`] that becomes a check result.

use http::StatusCode;

use super::guard;
use lookout_core::domain::{ErrorKind, Outcome};
use lookout_core::redact::{clip, redact_text};

/// The answer to one request: status, headers, the body read (up to the cap), the bytes
/// transferred, time to the first byte (ms) and the days left of the server's certificate.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: http::HeaderMap,
    pub(crate) body: Vec<u8>,
    pub(crate) bytes: u64,
    pub(crate) ttfb_ms: u64,
    pub(crate) cert_days_left: Option<i64>,
}

/// Why a request failed: the error kind and a message (redacted before it leaves the engine).
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) kind: ErrorKind,
    pub(crate) message: String,
    /// The connection (through any proxy) never opened; false once a request went out.
    pub(crate) connecting: bool,
    /// A proxy answered but could not reach this destination (a refused CONNECT, a SOCKS reply
    /// such as "host unreachable"): the next test URL may still work.
    pub(crate) upstream: bool,
}

impl Failure {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Failure {
            kind,
            message: message.into(),
            connecting: false,
            upstream: false,
        }
    }
}

impl From<guard::Refused> for Failure {
    fn from(r: guard::Refused) -> Self {
        Failure::new(
            ErrorKind::Forbidden,
            clip(&redact_text(&r.to_string()), 200),
        )
    }
}

/// What one attempt produced, before it becomes a [`lookout_core::domain::CheckResult`].
pub(crate) struct Attempt {
    pub(crate) outcome: Outcome,
    pub(crate) status_code: Option<u16>,
    pub(crate) latency_ms: u64,
    pub(crate) ttfb_ms: Option<u64>,
    pub(crate) cert_days_left: Option<i64>,
    pub(crate) bytes: u64,
    pub(crate) error: Option<ErrorKind>,
    pub(crate) message: Option<String>,
}

impl Attempt {
    pub(crate) fn failed(f: Failure, latency_ms: u64) -> Self {
        Attempt {
            outcome: Outcome::Failed,
            status_code: None,
            latency_ms,
            ttfb_ms: None,
            cert_days_left: None,
            bytes: 0,
            error: Some(f.kind),
            message: Some(f.message),
        }
    }

    pub(crate) fn answered(a: &Answer, outcome: Outcome, latency_ms: u64) -> Self {
        Attempt {
            outcome,
            status_code: Some(a.status.as_u16()),
            latency_ms,
            ttfb_ms: Some(a.ttfb_ms),
            cert_days_left: a.cert_days_left,
            bytes: a.bytes,
            error: None,
            message: None,
        }
    }

    pub(crate) fn fail_answered(a: &Answer, f: Failure, latency_ms: u64) -> Self {
        Attempt {
            error: Some(f.kind),
            message: Some(f.message),
            ..Attempt::answered(a, Outcome::Failed, latency_ms)
        }
    }
}
