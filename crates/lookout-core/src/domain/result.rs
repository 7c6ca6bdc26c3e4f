//! The result of one check of one target.

use serde::{Deserialize, Serialize};

use super::target::TargetKind;

/// What a check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Answered as expected within the degraded-latency limit.
    Up,
    /// Answered as expected, but slower than `degraded_latency_ms`.
    Slow,
    /// Answered as expected, but something needs attention soon (a certificate that expires
    /// within `cert_expiry_warn_days`); `message` says what.
    Degraded,
    /// No acceptable answer: see the error kind.
    Failed,
    /// A proxy answered, but the upstream refused it (a `block_status`).
    Blocked,
}

/// Why a check failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The host name did not resolve.
    Dns,
    /// The TCP connection was refused or reset.
    Connect,
    /// The TLS handshake failed (protocol, cipher, a connection cut during the handshake).
    Tls,
    /// The server's certificate was refused: expired, not yet valid, for another name, or
    /// signed by an authority that is not trusted (see the target's `ca_pem`).
    Cert,
    /// The attempt exceeded `timeout_ms`.
    Timeout,
    /// The proxy failed to relay the request.
    Proxy,
    /// The proxy refused our credentials (407).
    ProxyAuth,
    /// The answer's status was not an expected one.
    Status,
    /// An assertion on the answer failed (`body_contains`, `body_not_contains`, `json_pointer`).
    Assertion,
    /// The address guard refused the destination: a loopback, private, link-local,
    /// unique-local, carrier-grade NAT or cloud metadata address, or a scheme other than http
    /// and https. See `lookout_app::probe::guard`.
    Forbidden,
    /// A heartbeat (push) target's job reported failure: its newest finishing ping was a
    /// `fail` (or carried a non-zero exit code). See `crate::domain::heartbeat::evaluate`.
    Reported,
    /// A heartbeat (push) target is late: no finishing ping within `period_s + grace_s` of the
    /// last one, or a run started and did not finish within `grace_s`. Not [`ErrorKind::Timeout`],
    /// which is one probe attempt outlasting `timeout_ms`.
    Late,
    /// Anything else (a malformed answer, a body that broke mid-way).
    Other,
}

/// One check of one target. Latencies in ms, sizes in bytes, time in epoch ms (UTC).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    /// The target's id.
    pub target_id: String,
    /// The target's kind.
    pub kind: TargetKind,
    /// When the check started, epoch ms.
    pub at: i64,
    /// What the check found.
    pub outcome: Outcome,
    /// HTTP status of the last answer, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    /// Total time of the last attempt, ms (redirects followed included).
    pub latency_ms: u64,
    /// Time to open the connection of the last attempt (DNS, TCP, TLS and any proxy
    /// handshake), ms; absent when no new connection was timed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_ms: Option<u64>,
    /// Time from the start of the last attempt until the answer's status line and headers
    /// arrived (time to first byte), ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttfb_ms: Option<u64>,
    /// For HTTPS: whole days until the server certificate expires (negative once expired).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_days_left: Option<i64>,
    /// Bytes received (headers estimate plus body) over all attempts.
    #[serde(default)]
    pub bytes: u64,
    /// Attempts made (1 plus retries used).
    pub attempts: u32,
    /// Why it failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorKind>,
    /// Short human text, redacted of credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl CheckResult {
    /// Whether the target answered usefully (`up`, `slow` or `degraded`).
    pub fn ok(&self) -> bool {
        matches!(
            self.outcome,
            Outcome::Up | Outcome::Slow | Outcome::Degraded
        )
    }
}
