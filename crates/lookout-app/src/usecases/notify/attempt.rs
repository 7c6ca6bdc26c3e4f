//! One request (or e-mail) sent with retries: the [`crate::retry`] policy's delays, or the
//! provider's `Retry-After` when it asks for longer, within the claim, `max_wait_ms` and the
//! caller's deadline.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use backon::Retryable as _;

use super::Notifier;
use crate::ports::{ProviderAnswer, SendError};

/// What sending one alert to one channel came to, for its delivery record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Attempted {
    /// Every request was accepted (or there was none to send).
    pub ok: bool,
    /// When not `ok`: whether a later try may succeed.
    pub retryable: bool,
    /// Requests made.
    pub attempts: u32,
    /// The last provider status.
    pub provider_status: Option<u16>,
    /// The last error, redacted (the URL is never in it).
    pub error: Option<String>,
}

impl Attempted {
    /// Nothing failed (yet).
    pub fn sent() -> Self {
        Attempted {
            ok: true,
            ..Attempted::default()
        }
    }

    /// Failed before any request.
    pub fn failed(retryable: bool, error: String) -> Self {
        Attempted {
            ok: false,
            retryable,
            error: Some(error),
            ..Attempted::default()
        }
    }

    /// Adds the next request's outcome to this one.
    pub fn then(&mut self, next: Attempted) {
        self.attempts = self.attempts.saturating_add(next.attempts);
        self.provider_status = next.provider_status.or(self.provider_status);
        self.ok = next.ok;
        self.retryable = next.retryable;
        self.error = next.error;
    }
}

/// One request's failure, as the retry loop sees it.
enum Try {
    /// The provider answered, but not 2xx.
    Answered(ProviderAnswer),
    /// No answer (connection, TLS, timeout, a refused address).
    NoAnswer(SendError),
}

impl Try {
    fn retryable(&self) -> bool {
        match self {
            Try::Answered(a) => a.retryable(),
            Try::NoAnswer(_) => true,
        }
    }
}

/// Most characters of a provider's answer quoted in an error.
const QUOTED_ANSWER_CHARS: usize = 200;

impl<C, D, H, M> Notifier<C, D, H, M> {
    /// Sends with `send` until it is accepted, a failure is not retryable, the attempts are
    /// used up, the provider asks to wait longer than `max_wait_ms`, the next wait would
    /// reach the end of the claim (`claim_ms` after `started`), or the next wait and request
    /// (`timeout_ms`) could not end by `ends` (the deadline less its margin). Cut short by
    /// `ends`, or with no time for even the first request (nothing sent), it is a retryable
    /// failure. `what` names the request in errors (`POST to slack`).
    pub(super) async fn attempt<F, Fut>(
        &self,
        what: &str,
        started: Instant,
        ends: Option<Instant>,
        mut send: F,
    ) -> Attempted
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<ProviderAnswer, SendError>>,
    {
        let s = &self.settings;
        if !self.fits(ends, Duration::ZERO) {
            return Attempted::failed(
                true,
                format!("{what} not sent: no time left before the deadline"),
            );
        }
        let out_of_time = AtomicBool::new(false);
        let attempts = AtomicU32::new(0);
        // A wait the provider asked for that is longer than allowed (ms), or 0.
        let too_long = AtomicU64::new(0);
        let out_of_claim = AtomicBool::new(false);
        let claim = Duration::from_millis(u64::try_from(s.claim_ms).unwrap_or(0));
        let max_wait = Duration::from_millis(s.max_wait_ms);
        let policy = crate::retry::retry_policy(
            Duration::from_millis(s.backoff_ms),
            Duration::from_millis(s.backoff_ms.saturating_mul(64))
                .min(max_wait.max(Duration::from_millis(1))),
            s.attempts.max(1),
        );
        let result = (|| {
            attempts.fetch_add(1, Ordering::SeqCst);
            let sending = send();
            async move {
                match sending.await {
                    Ok(a) if a.accepted() => Ok(a),
                    Ok(a) => Err(Try::Answered(a)),
                    Err(e) => Err(Try::NoAnswer(e)),
                }
            }
        })
        .retry(policy)
        .when(Try::retryable)
        .adjust(|e, delay| {
            let mut wait = delay?;
            if let Try::Answered(ProviderAnswer {
                retry_after_ms: Some(ms),
                ..
            }) = e
            {
                if *ms > s.max_wait_ms {
                    too_long.store(*ms, Ordering::SeqCst);
                    return None;
                }
                wait = wait.max(Duration::from_millis(*ms));
            }
            if started.elapsed() + wait >= claim {
                out_of_claim.store(true, Ordering::SeqCst);
                return None;
            }
            if !self.fits(ends, wait) {
                out_of_time.store(true, Ordering::SeqCst);
                return None;
            }
            Some(wait)
        })
        .notify(|e, wait| {
            let status = match e {
                Try::Answered(a) => Some(a.status),
                Try::NoAnswer(_) => None,
            };
            tracing::info!(what, status, wait_ms = wait.as_millis() as u64, "retrying");
        })
        .await;
        let attempts = attempts.load(Ordering::SeqCst);
        let (answer, error) = match result {
            Ok(a) => {
                return Attempted {
                    ok: true,
                    retryable: false,
                    attempts,
                    provider_status: Some(a.status),
                    error: None,
                }
            }
            Err(Try::Answered(a)) => {
                let quoted = lookout_core::redact::clip(a.body.trim(), QUOTED_ANSWER_CHARS);
                let e = if quoted.is_empty() {
                    format!("{what} answered {}", a.status)
                } else {
                    format!("{what} answered {}: {quoted}", a.status)
                };
                (Some(a), e)
            }
            Err(Try::NoAnswer(e)) => (None, format!("{what} failed: {e}")),
        };
        let cut_short = out_of_time.load(Ordering::SeqCst);
        let retryable = cut_short || answer.as_ref().is_none_or(ProviderAnswer::retryable);
        let mut error = format!("{error} (after {attempts} attempt(s))");
        let asked = too_long.load(Ordering::SeqCst);
        if asked > 0 {
            error.push_str(&format!(
                "; the provider asked to wait {} s, longer than the {} s allowed",
                asked.div_ceil(1000),
                s.max_wait_ms / 1000
            ));
        } else if out_of_claim.load(Ordering::SeqCst) {
            error.push_str("; no time left in the delivery's claim for another attempt");
        } else if cut_short {
            error.push_str("; no time left before the deadline for another attempt");
        }
        Attempted {
            ok: false,
            retryable,
            attempts,
            provider_status: answer.map(|a| a.status),
            error: Some(error),
        }
    }
}
