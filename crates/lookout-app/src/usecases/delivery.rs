//! Delivering outbox alerts: claim, publish, mark published. A flow over the ports (the
//! outbox and the publisher), so a use case; `crate::ports` re-exports it.

use std::time::Duration;

use backon::Retryable as _;

use crate::ports::{AlertPublisher, IncidentStore, Outbox, StoreError};
use lookout_core::domain::Alert;

/// How long a delivery's claim of an outbox row holds, ms: while it holds, no other run
/// publishes the alert. Longer than a publish may take ([`DeliveryOptions::publish_timeout_ms`])
/// plus the mark's retries, so a claim never expires under a delivery still at work; short
/// enough that an alert whose delivery crashed between publish and mark goes out again within
/// about two probe schedule periods (one minute each).
pub const OUTBOX_CLAIM_MS: i64 = 120_000;

/// How [`deliver_with`] claims, publishes and marks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryOptions {
    /// How long the claim holds, ms (default [`OUTBOX_CLAIM_MS`]).
    pub claim_ms: i64,
    /// The publish is given up after this long, ms (default 30,000): the claim is released and a
    /// later run publishes. Well under `claim_ms`, so the claim outlasts the publish.
    pub publish_timeout_ms: u64,
    /// Attempts of the mark after a successful publish (default 4).
    pub mark_attempts: u32,
    /// Base of the backoff between mark attempts, ms: between half and all of `base × 2^(n-1)`
    /// (the [`crate::retry`] policy); default 100, so 4 attempts wait about 0.35 to 0.7 s in
    /// all.
    pub mark_backoff_ms: u64,
}

impl Default for DeliveryOptions {
    fn default() -> Self {
        DeliveryOptions {
            claim_ms: OUTBOX_CLAIM_MS,
            publish_timeout_ms: 30_000,
            mark_attempts: 4,
            mark_backoff_ms: 100,
        }
    }
}

/// What [`deliver`] did with one alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Published to the topic and marked `published`.
    Published,
    /// Published, but the mark failed after every attempt: the claim expires after
    /// [`DeliveryOptions::claim_ms`] and a later run publishes the alert again.
    PublishedUnmarked,
    /// Not published: another delivery holds the claim, or the row is published already.
    Claimed,
    /// Not published: the claim or the publish failed; the row stays (or is put back)
    /// `pending` for a later run.
    Failed,
}

impl Delivery {
    /// Whether this delivery sent the alert to the topic.
    pub fn published(self) -> bool {
        matches!(self, Delivery::Published | Delivery::PublishedUnmarked)
    }
}

/// Delivers one outbox alert with the default [`DeliveryOptions`]: see [`deliver_with`].
pub async fn deliver<S: Outbox + IncidentStore, P: AlertPublisher>(
    store: &S,
    publisher: &P,
    alert: &Alert,
) -> Delivery {
    deliver_with(store, publisher, alert, &DeliveryOptions::default()).await
}

/// Delivers one outbox alert: claims its row ([`Outbox::claim_alert`], a conditional write, for
/// a holder id of this call), and only if the claim was won records it in the status page's
/// incidents ([`crate::usecases::incidents::record_alert`], which notifies the page's
/// subscribers of each change) and publishes it, then marks it `published`
/// on the condition that the claim is still this call's, retrying the mark with backoff. A
/// recording that met a conflict or a retryable store error ([`StoreError::is_retryable`]), or
/// a failed publish, gives the claim back, so the next run records (what is left) and sends it;
/// any other recording error is logged and the alert is published all the same (alerts never
/// wait on the status page's record). A concurrent run (another
/// kind's probe, the digest, a duplicate invocation) finds the row claimed and leaves it alone.
///
/// What stays at least once, and why: SNS standard topics have no idempotent publish (no
/// deduplication id; FIFO topics have one but reach only SQS), so nothing can make "publish"
/// and "mark" one step. An alert is published a second time when
/// - the process dies (a Lambda timeout or crash) after SNS accepted the publish and before the
///   mark, or the mark fails all its attempts: the claim expires after `claim_ms` and a later
///   run publishes again;
/// - the publish's answer is lost (a timeout, a reset connection) although SNS accepted it: it
///   counts as failed, the claim is given back and the next run publishes again;
/// - SNS itself delivers a message twice to a subscriber, which standard topics may do.
///
/// Every message carries the alert's key in the `alert_key` message attribute, so subscribers
/// that must act once drop repeats by it.
pub async fn deliver_with<S: Outbox + IncidentStore, P: AlertPublisher>(
    store: &S,
    publisher: &P,
    alert: &Alert,
    options: &DeliveryOptions,
) -> Delivery {
    let holder = uuid::Uuid::new_v4().to_string();
    let now = lookout_core::time::now_ms();
    match store
        .claim_alert(alert, &holder, now, now + options.claim_ms)
        .await
    {
        // A claim whose answer came so late that the publish could outlive it is given back
        // unused: another delivery may take the row once it expires, and two must never
        // publish at once.
        Ok(true)
            if lookout_core::time::now_ms() + options.publish_timeout_ms as i64
                >= now + options.claim_ms =>
        {
            tracing::warn!(key = %alert.key, "the claim answered too late to publish within it; given back");
            let _ = store.release_claim(alert, &holder).await;
            return Delivery::Failed;
        }
        Ok(true) => {}
        Ok(false) => {
            tracing::info!(key = %alert.key, "alert claimed by another delivery or published; left alone");
            return Delivery::Claimed;
        }
        Err(e) => {
            tracing::warn!(key = %alert.key, error = %e, "alert not claimed; left pending for the next run");
            return Delivery::Failed;
        }
    }
    match crate::usecases::incidents::record_alert(store, publisher, alert).await {
        Ok(_) => {}
        // A lost race or a passing outage: the next run records (what is left) and sends it.
        Err(e) if matches!(e, StoreError::Conflict(_)) || e.is_retryable() => {
            tracing::warn!(key = %alert.key, error = %e, "alert not recorded in the incidents; left pending for the next run");
            if let Err(e) = store.release_claim(alert, &holder).await {
                tracing::warn!(key = %alert.key, error = %e, "claim not released; it expires on its own");
            }
            return Delivery::Failed;
        }
        // Anything else (an item refused, a corrupt incident) would hold the alert back for
        // ever: the alert matters more than the status page's record of it, so it goes out.
        Err(e) => {
            tracing::warn!(key = %alert.key, error = %e, "alert not recorded in the incidents; published anyway");
        }
    }
    let timeout = std::time::Duration::from_millis(options.publish_timeout_ms);
    let published = match tokio::time::timeout(timeout, publisher.publish(alert)).await {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(_) => Err(format!(
            "no answer within {} ms",
            options.publish_timeout_ms
        )),
    };
    if let Err(e) = published {
        tracing::warn!(key = %alert.key, error = %e, "alert left pending for the next run");
        if let Err(e) = store.release_claim(alert, &holder).await {
            tracing::warn!(key = %alert.key, error = %e, "claim not released; it expires on its own");
        }
        return Delivery::Failed;
    }
    mark(store, alert, &holder, options).await
}

/// Marks a published alert, retrying with the [`crate::retry`] policy unless the claim was
/// lost ([`StoreError::Conflict`]: a retry cannot succeed, and the delivery that holds the claim
/// now marks the row).
async fn mark<S: Outbox>(
    store: &S,
    alert: &Alert,
    holder: &str,
    options: &DeliveryOptions,
) -> Delivery {
    let policy = crate::retry::retry_policy(
        Duration::from_millis(options.mark_backoff_ms),
        Duration::from_millis(options.mark_backoff_ms.saturating_mul(64)),
        options.mark_attempts.max(1),
    );
    let marked = (|| store.mark_published(alert, holder))
        .retry(policy)
        .when(|e| !matches!(e, StoreError::Conflict(_)))
        .notify(|e, _| {
            tracing::info!(key = %alert.key, error = %e, "marking the alert published failed; retrying");
        })
        .await;
    match marked {
        Ok(()) => Delivery::Published,
        Err(StoreError::Conflict(m)) => {
            tracing::warn!(key = %alert.key, error = %m, "alert published but its claim was lost");
            Delivery::PublishedUnmarked
        }
        Err(e) => {
            tracing::warn!(key = %alert.key, error = %e, attempts = options.mark_attempts,
                "alert published but not marked; it is published again once its claim expires");
            Delivery::PublishedUnmarked
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::{MemoryPublisher, MemoryStore};
    use lookout_core::domain::{AlertKind, Severity, Status, TargetKind};

    fn alert() -> Alert {
        Alert {
            key: "web#down#1000".into(),
            kind: AlertKind::StatusChange,
            severity: Severity::Critical,
            target_id: "web".into(),
            target_name: "web".into(),
            target_kind: TargetKind::Server,
            group: "g".into(),
            old_status: Status::Healthy,
            new_status: Status::Down,
            at: 1_000,
            subject: "web is down".into(),
            text: "down".into(),
            targets: Vec::new(),
            changes: Vec::new(),
            tags: Vec::new(),
            locations: None,
            slo: None,
        }
    }

    #[tokio::test]
    async fn a_claimed_alert_is_left_to_its_delivery_and_a_published_one_is_never_sent_again() {
        let (store, publisher) = (MemoryStore::default(), MemoryPublisher::default());
        let a = alert();
        store.enqueue(std::slice::from_ref(&a)).await.unwrap();
        let now = lookout_core::time::now_ms();
        assert!(store
            .claim_alert(&a, "other-run", now, now + 60_000)
            .await
            .unwrap());
        assert_eq!(deliver(&store, &publisher, &a).await, Delivery::Claimed);
        assert!(publisher.sent().is_empty());
        store.release_claim(&a, "other-run").await.unwrap();
        assert_eq!(deliver(&store, &publisher, &a).await, Delivery::Published);
        assert_eq!(deliver(&store, &publisher, &a).await, Delivery::Claimed);
        assert_eq!(publisher.sent().len(), 1);
        assert!(store.pending_alerts(0).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_claim_too_short_for_the_publish_is_given_back_unused() {
        // As a claim whose answer came late: what is left of it is shorter than a publish may
        // take, so publishing could overlap another delivery's.
        let (store, publisher) = (MemoryStore::default(), MemoryPublisher::default());
        let a = alert();
        store.enqueue(std::slice::from_ref(&a)).await.unwrap();
        let late = DeliveryOptions {
            claim_ms: 1_000,
            publish_timeout_ms: 5_000,
            ..DeliveryOptions::default()
        };
        assert_eq!(
            deliver_with(&store, &publisher, &a, &late).await,
            Delivery::Failed
        );
        assert!(publisher.sent().is_empty());
        assert_eq!(deliver(&store, &publisher, &a).await, Delivery::Published);
    }

    #[tokio::test]
    async fn a_failed_publish_leaves_the_alert_pending_and_unclaimed() {
        let (store, publisher) = (MemoryStore::default(), MemoryPublisher::default());
        let a = alert();
        store.enqueue(std::slice::from_ref(&a)).await.unwrap();
        publisher.set_failing(true);
        assert_eq!(deliver(&store, &publisher, &a).await, Delivery::Failed);
        assert_eq!(store.pending_alerts(0).await.unwrap().len(), 1);
        publisher.set_failing(false);
        assert_eq!(deliver(&store, &publisher, &a).await, Delivery::Published);
    }

    #[tokio::test]
    async fn an_incident_write_refused_for_good_does_not_hold_the_alert_back() {
        let (store, publisher) = (MemoryStore::default(), MemoryPublisher::default());
        let a = alert();
        store.enqueue(std::slice::from_ref(&a)).await.unwrap();
        store.set_refusing_incidents(true);
        assert_eq!(deliver(&store, &publisher, &a).await, Delivery::Published);
        assert_eq!(publisher.sent().len(), 1);
        assert!(store.pending_alerts(0).await.unwrap().is_empty());
        assert!(store.open_incidents().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn an_incident_write_that_may_pass_later_gives_the_claim_back() {
        let (store, publisher) = (MemoryStore::default(), MemoryPublisher::default());
        let a = alert();
        store.enqueue(std::slice::from_ref(&a)).await.unwrap();
        store.set_failing_incidents(true);
        assert_eq!(deliver(&store, &publisher, &a).await, Delivery::Failed);
        assert!(publisher.sent().is_empty());
        assert_eq!(store.pending_alerts(0).await.unwrap().len(), 1);
        store.set_failing_incidents(false);
        assert_eq!(deliver(&store, &publisher, &a).await, Delivery::Published);
        assert_eq!(store.open_incidents().await.unwrap().len(), 1);
    }
}
