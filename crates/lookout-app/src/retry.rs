//! The one retry policy of the code that sends a request again after a pause: batch writes and
//! reads that leave items unprocessed (DynamoDB's BatchWriteItem and BatchGetItem, a restore's
//! batches) and marking an outbox row published. It sits on top of the SDK's own request
//! retries, which stay as configured (`lookout_aws::dynamodb::ClientLimits`).
//!
//! The delays come from [`backon`]: exponential, doubling from the base, with jitter so that
//! concurrent writers spread out (AWS Architecture Blog, "Exponential Backoff And Jitter",
//! 2015).

use std::future::Future;
use std::time::Duration;

use backon::{BackoffBuilder as _, ExponentialBuilder};

/// The backoff before retry `n` (1-based) of at most `attempts` attempts in all: between half
/// and all of `base × 2^(n-1)` (backon's jitter over half the base), each delay at most `max`.
pub fn retry_policy(base: Duration, max: Duration, attempts: u32) -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(base / 2)
        .with_factor(2.0)
        .with_max_delay(max / 2)
        .with_max_times(attempts.saturating_sub(1) as usize)
        .with_jitter()
}

/// What [`until_all_done`] sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sent {
    /// Requests sent, the first included.
    pub requests: u64,
    /// Items sent again because a request left them unprocessed or failed.
    pub retried: u64,
}

/// Items still not done after the last attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct NotDone<T, E> {
    /// The items left.
    pub items: Vec<T>,
    /// Attempts made.
    pub attempts: u32,
    /// The error of the last request, `None` when it answered but left items unprocessed.
    pub error: Option<E>,
    /// The last error, or how many items the last request left unprocessed, in words.
    pub last_error: String,
    /// What was sent before giving up.
    pub sent: Sent,
}

impl<T> NotDone<T, crate::ports::StoreError> {
    /// As a store error: the last request's own error, else [`StoreError::Throttled`]
    /// (`crate::ports::StoreError`) saying how many items `what` left unprocessed.
    pub fn into_store_error(self, what: &str) -> crate::ports::StoreError {
        self.error.unwrap_or_else(|| {
            crate::ports::StoreError::Throttled(format!(
                "{} item(s) still unprocessed by {what} after {} attempts",
                self.items.len(),
                self.attempts
            ))
        })
    }
}

/// Sends `items` with `send`, which answers the items it left unprocessed, and sends those
/// again after the delays of `policy` until none is left. A failed request counts as an attempt
/// that left every item; it is retried when `retry_error` says so, else it ends the loop at once
/// (with `attempts` so far).
///
/// # Errors
/// [`NotDone`] with the items left once the policy has no more delays (or on an error not
/// retried).
pub async fn until_all_done<T, E, F, Fut>(
    policy: ExponentialBuilder,
    mut items: Vec<T>,
    retry_error: impl Fn(&E) -> bool,
    mut send: F,
) -> Result<Sent, NotDone<T, E>>
where
    T: Clone,
    E: std::fmt::Display,
    F: FnMut(Vec<T>) -> Fut,
    Fut: Future<Output = Result<Vec<T>, E>>,
{
    let mut delays = policy.build();
    let mut sent = Sent::default();
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        sent.requests += 1;
        let total = items.len();
        let (last_error, error, again) = match send(items.clone()).await {
            Ok(left) if left.is_empty() => return Ok(sent),
            Ok(left) => {
                let message = format!("{} of {total} items unprocessed", left.len());
                items = left;
                (message, None, true)
            }
            Err(e) => {
                let again = retry_error(&e);
                (e.to_string(), Some(e), again)
            }
        };
        match delays.next().filter(|_| again) {
            Some(delay) => {
                sent.retried += items.len() as u64;
                tokio::time::sleep(delay).await;
            }
            None => {
                return Err(NotDone {
                    items,
                    attempts,
                    error,
                    last_error,
                    sent,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_with_jitter_up_to_the_ceiling() {
        let delays: Vec<Duration> =
            retry_policy(Duration::from_millis(100), Duration::from_millis(400), 5)
                .build()
                .collect();
        assert_eq!(delays.len(), 4, "5 attempts wait 4 times");
        for (d, full) in delays.iter().zip([100u64, 200, 400, 400]) {
            let ms = d.as_millis() as u64;
            assert!((full / 2..=full).contains(&ms), "{ms} ms for {full}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn unprocessed_items_are_sent_again_until_none_is_left() {
        let policy = retry_policy(Duration::from_millis(10), Duration::from_secs(1), 5);
        let mut calls = 0;
        let sent = until_all_done(
            policy,
            vec![1, 2, 3],
            |_: &String| true,
            |items| {
                calls += 1;
                let left = if calls < 3 {
                    items[1..].to_vec()
                } else {
                    Vec::new()
                };
                async move { Ok::<_, String>(left) }
            },
        )
        .await
        .unwrap();
        assert_eq!(
            sent,
            Sent {
                requests: 3,
                retried: 3
            }
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_error_not_worth_retrying_ends_at_once_with_every_item_left() {
        let policy = retry_policy(Duration::from_millis(10), Duration::from_secs(1), 5);
        let err = until_all_done(
            policy,
            vec![1, 2],
            |_: &String| false,
            |_| async { Err::<Vec<i32>, _>("denied".to_string()) },
        )
        .await
        .unwrap_err();
        assert_eq!(
            (err.items, err.attempts, err.last_error.as_str()),
            (vec![1, 2], 1, "denied")
        );
    }
}
