//! How the [`Notifier`](super::Notifier) claims, retries and records: its settings and the
//! claim length they need.

use crate::config::Settings;
use lookout_core::notify::Endpoints;

/// How the [`Notifier`](super::Notifier) claims, retries and records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifySettings {
    /// Provider base URLs (`LOOKOUT_TELEGRAM_API_URL`, ...).
    pub endpoints: Endpoints,
    /// How long a claim holds, ms: longer than a delivery with all its retries may take.
    pub claim_ms: i64,
    /// How long a delivery record is kept (TTL), seconds.
    pub record_ttl_s: i64,
    /// Requests per delivery at most (the first and its retries).
    pub attempts: u32,
    /// Base of the exponential backoff between attempts, ms.
    pub backoff_ms: u64,
    /// The longest wait honoured inside one delivery, ms: a `Retry-After` beyond it ends the
    /// delivery as a retryable failure (the queue sends the message again later).
    pub max_wait_ms: u64,
    /// The longest one request (or e-mail) may take, ms (`LOOKOUT_NOTIFY_TIMEOUT_MS`, the HTTP
    /// sender's timeout): with a deadline, no request starts that could outlast it.
    pub timeout_ms: u64,
}

impl Default for NotifySettings {
    /// The defaults of [`NotifySettings::from_settings`] with no variable set: the providers'
    /// URLs, 4 attempts, 1 s backoff base, 30 s longest wait, 10 s per request, records kept
    /// 30 days, claims of [`claim_ms_for`]`(4, 10 s, 30 s)` = 220 s.
    fn default() -> Self {
        NotifySettings {
            endpoints: Endpoints::default(),
            claim_ms: claim_ms_for(4, 10_000, 30_000),
            record_ttl_s: 30 * 86_400,
            attempts: 4,
            backoff_ms: 1_000,
            max_wait_ms: 30_000,
            timeout_ms: 10_000,
        }
    }
}

impl NotifySettings {
    /// From the settings: `LOOKOUT_TELEGRAM_API_URL`, `LOOKOUT_PAGERDUTY_EVENTS_URL`,
    /// `LOOKOUT_OPSGENIE_API_URL`, `LOOKOUT_NOTIFY_ATTEMPTS`, `LOOKOUT_NOTIFY_MAX_WAIT_S`,
    /// `LOOKOUT_DELIVERY_TTL_DAYS`, and a claim long enough for `LOOKOUT_NOTIFY_TIMEOUT_MS`
    /// ([`claim_ms_for`]).
    pub fn from_settings(settings: &Settings) -> Self {
        let max_wait_ms = settings.notify_max_wait_s.saturating_mul(1000);
        NotifySettings {
            endpoints: settings.notify_endpoints(),
            claim_ms: claim_ms_for(
                settings.notify_attempts,
                settings.notify_timeout_ms,
                max_wait_ms,
            ),
            record_ttl_s: i64::from(settings.delivery_ttl_days) * 86_400,
            attempts: settings.notify_attempts.max(1),
            backoff_ms: 1_000,
            max_wait_ms,
            timeout_ms: settings.notify_timeout_ms,
        }
    }
}

/// A claim that outlasts a delivery of one request: `attempts` requests of at most
/// `timeout_ms` each, a wait of at most `max_wait_ms` before each retry, and a minute of margin
/// (the store's own latency, the secret lookups), ms. A channel that sends several requests per
/// alert may need more: the retries stop when the claim is about to end, as a retryable
/// failure, rather than outlive it.
pub fn claim_ms_for(attempts: u32, timeout_ms: u64, max_wait_ms: u64) -> i64 {
    let per = timeout_ms.saturating_add(max_wait_ms);
    let ms = per
        .saturating_mul(u64::from(attempts.max(1)))
        .saturating_add(60_000);
    i64::try_from(ms).unwrap_or(i64::MAX)
}
