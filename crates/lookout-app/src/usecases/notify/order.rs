//! Triggers and resolves in order, per incident and channel (PagerDuty, Opsgenie).
//!
//! The alert queue does not keep order (SQS standard queues), and a trigger that failed
//! retryably comes back minutes later, possibly after the recovery that followed it was
//! delivered. Sent then, it would reopen an incident that is over. So each channel notes the
//! latest resolve it accepted per incident key ([`DeliveryLog::note_resolved`], the alert's
//! `at`), and:
//! - a trigger request whose incident key has a noted resolve with `at` at or after the
//!   alert's `at` is not sent: it is superseded, and counts as sent (logged, nothing recorded
//!   besides the delivery's `sent`);
//! - a resolve request the provider accepted is noted.
//!
//! Both steps fail open: a store that cannot be read sends the trigger (a stale page beats a
//! lost one), and a note that cannot be written is logged. Requests of other channels carry no
//! incident ([`Outbound::incident`]) and pass untouched.

use std::time::Duration;

use backon::Retryable as _;

use super::Notifier;
use crate::ports::{DeliveryLog, StoreError};
use lookout_core::domain::Alert;
use lookout_core::notify::render::incident::Action;
use lookout_core::notify::{Channel, Outbound};

impl<C, D, H, M> Notifier<C, D, H, M>
where
    D: DeliveryLog + Sync,
{
    /// Whether `request` (of `alert`, on `channel`) is a trigger that a resolve `channel`
    /// already accepted supersedes: one of the same incident key for an alert at or after
    /// `alert.at`. Such a request is not to be sent.
    pub(super) async fn superseded(
        &self,
        channel: &Channel,
        alert: &Alert,
        request: &Outbound,
    ) -> bool {
        let Some((Action::Trigger, incident)) = &request.incident else {
            return false;
        };
        match self.log.resolved_at(&channel.id, incident).await {
            Ok(Some(resolved)) if resolved >= alert.at => {
                tracing::info!(channel = %channel.id, key = %alert.key, incident = %incident,
                    alert_at_ms = alert.at, resolved_at_ms = resolved,
                    "trigger superseded by a later resolve already sent; not sent");
                true
            }
            Ok(_) => false,
            Err(e) => {
                tracing::warn!(channel = %channel.id, key = %alert.key, incident = %incident,
                    error = %e, "resolves sent could not be read; the trigger is sent");
                false
            }
        }
    }

    /// After the provider accepted `request` (of `alert`, on `channel`): when it is a resolve,
    /// notes it with the alert's `at` (retried while the store's errors are retryable, as
    /// delivery records are; a note that still fails is logged).
    pub(super) async fn note_accepted(&self, channel: &Channel, alert: &Alert, request: &Outbound) {
        let Some((Action::Resolve, incident)) = &request.incident else {
            return;
        };
        let expires_at_s = self
            .clock
            .now_ms()
            .div_euclid(1000)
            .saturating_add(self.settings.record_ttl_s);
        let policy =
            crate::retry::retry_policy(Duration::from_millis(100), Duration::from_millis(3_200), 4);
        let noted = (|| {
            self.log
                .note_resolved(&channel.id, incident, alert.at, expires_at_s)
        })
        .retry(policy)
        .when(StoreError::is_retryable)
        .await;
        if let Err(e) = noted {
            tracing::warn!(channel = %channel.id, key = %alert.key, incident = %incident,
                error = %e, "resolve sent but not noted: a late trigger of this incident may \
                 reopen it");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::ManualClock;
    use crate::memory::{MemoryMail, MemoryStore};
    use crate::notify::HttpNotifier;
    use crate::secrets::Secrets;
    use crate::testing::{Reply, TestServer};
    use crate::usecases::notify::{ChannelResult, NotifySettings};
    use lookout_core::domain::{AlertKind, Change, Severity, Status, TargetKind};
    use lookout_core::notify::DeliveryStatus;

    const NOW: i64 = 1_700_000_000_000;
    const INCIDENT: &str = "lookout/target/web";

    type TestNotifier<'a> = Notifier<&'a MemoryStore, &'a MemoryStore, HttpNotifier, MemoryMail>;

    fn notifier<'a>(store: &'a MemoryStore, server: &TestServer) -> TestNotifier<'a> {
        let mut settings = NotifySettings {
            attempts: 1,
            ..NotifySettings::default()
        };
        settings.endpoints.pagerduty = server.url.clone();
        settings.endpoints.opsgenie = server.url.clone();
        Notifier {
            channels: store,
            log: store,
            http: HttpNotifier::allow_private(),
            mail: MemoryMail::default(),
            clock: Arc::new(ManualClock::at(NOW)),
            settings,
            secrets: Secrets::none(),
        }
    }

    fn channel(kind: &str) -> Channel {
        let config = match kind {
            "pagerduty" => serde_json::json!({"routing_key": "R0UTINGKEY0123456789abcdef012345"}),
            "opsgenie" => serde_json::json!({"api_key": "0123abcd-0123-abcd-0123-0123456789ab"}),
            _ => {
                serde_json::json!({"url": "https://example.net/hook", "secret": "0123456789abcdef"})
            }
        };
        serde_json::from_value(serde_json::json!({"id": kind, "name": kind, "kind": kind,
            "config": config}))
        .unwrap()
    }

    /// `web` goes down (`down: true`, a trigger) or recovers (a resolve) at `at`.
    fn alert(down: bool, at: i64) -> Alert {
        let (kind, severity, old, new) = if down {
            (
                AlertKind::StatusChange,
                Severity::Critical,
                Status::Healthy,
                Status::Down,
            )
        } else {
            (
                AlertKind::Recovery,
                Severity::Info,
                Status::Down,
                Status::Healthy,
            )
        };
        Alert {
            key: format!("web#{}#{at}", new.as_str()),
            kind,
            severity,
            target_id: "web".into(),
            target_name: "Web".into(),
            target_kind: TargetKind::Server,
            group: "g".into(),
            old_status: old,
            new_status: new,
            at,
            subject: "Web".into(),
            text: "Web".into(),
            targets: Vec::new(),
            changes: Vec::new(),
            tags: Vec::new(),
            locations: None,
            slo: None,
        }
    }

    /// How many requests the server got whose body or path names a trigger (not a resolve).
    fn triggers(server: &TestServer) -> usize {
        server
            .requests()
            .iter()
            .filter(|r| {
                let body = String::from_utf8_lossy(&r.body);
                body.contains("\"trigger\"") || r.path.ends_with("/v2/alerts")
            })
            .count()
    }

    #[tokio::test]
    async fn a_trigger_arriving_after_its_resolve_is_not_sent_and_counts_as_sent() {
        for kind in ["pagerduty", "opsgenie"] {
            let server = TestServer::start(|_| Reply::json(202, &serde_json::json!({}))).await;
            let store = MemoryStore::default();
            let n = notifier(&store, &server);
            let c = channel(kind);
            // The recovery (at NOW + 60 s) is delivered before the trigger it followed.
            assert_eq!(
                n.deliver(&c, &alert(false, NOW + 60_000)).await,
                ChannelResult::Sent
            );
            assert_eq!(
                store.resolved_at(kind, INCIDENT).await.unwrap(),
                Some(NOW + 60_000)
            );
            let late = alert(true, NOW);
            assert_eq!(n.deliver(&c, &late).await, ChannelResult::Sent, "{kind}");
            assert_eq!(
                server.requests().len(),
                1,
                "{kind}: only the resolve went out"
            );
            let r = store.delivery(kind, &late.key).await.unwrap().unwrap();
            assert_eq!((r.status, r.attempts), (DeliveryStatus::Sent, 0), "{kind}");
            // A new outage after the recovery opens a new incident.
            assert_eq!(
                n.deliver(&c, &alert(true, NOW + 120_000)).await,
                ChannelResult::Sent
            );
            assert_eq!(triggers(&server), 1, "{kind}");
        }
    }

    #[tokio::test]
    async fn the_note_keeps_the_latest_resolve_and_a_refused_resolve_is_not_noted() {
        let server = TestServer::start(|_| Reply::json(202, &serde_json::json!({}))).await;
        let store = MemoryStore::default();
        let n = notifier(&store, &server);
        let c = channel("pagerduty");
        n.deliver(&c, &alert(false, NOW + 60_000)).await;
        // An older recovery delivered late does not lower the note.
        n.deliver(&c, &alert(false, NOW + 30_000)).await;
        assert_eq!(
            store.resolved_at("pagerduty", INCIDENT).await.unwrap(),
            Some(NOW + 60_000)
        );
        // Notes are per channel: the same incident on another channel is its own.
        assert_eq!(store.resolved_at("opsgenie", INCIDENT).await.unwrap(), None);

        let refusing = TestServer::start(|_| Reply::json(400, &serde_json::json!({}))).await;
        let store = MemoryStore::default();
        let n = notifier(&store, &refusing);
        let result = n.deliver(&c, &alert(false, NOW + 60_000)).await;
        assert!(matches!(result, ChannelResult::Failed { .. }), "{result:?}");
        assert_eq!(
            store.resolved_at("pagerduty", INCIDENT).await.unwrap(),
            None
        );
    }

    #[tokio::test]
    async fn a_storm_skips_only_the_superseded_triggers_and_other_channels_are_untouched() {
        let server = TestServer::start(|_| Reply::json(202, &serde_json::json!({}))).await;
        let store = MemoryStore::default();
        let n = notifier(&store, &server);
        let c = channel("pagerduty");
        n.deliver(&c, &alert(false, NOW + 60_000)).await;
        let change = |id: &str| Change {
            target_id: id.into(),
            target_name: id.into(),
            group: "g".into(),
            kind: AlertKind::StatusChange,
            old_status: Status::Healthy,
            new_status: Status::Down,
        };
        let storm = Alert {
            key: format!("storm#{NOW}"),
            kind: AlertKind::Storm,
            changes: vec![change("web"), change("db")],
            ..alert(true, NOW)
        };
        assert_eq!(n.deliver(&c, &storm).await, ChannelResult::Sent);
        let sent: Vec<String> = server
            .requests()
            .iter()
            .map(|r| String::from_utf8_lossy(&r.body).into_owned())
            .collect();
        assert_eq!(
            sent.len(),
            2,
            "the resolve, and the storm's trigger of db only"
        );
        assert!(sent[1].contains("lookout/target/db"), "{}", sent[1]);

        // A webhook request carries no incident: nothing is read or noted for it.
        let hook = lookout_core::notify::render::render(
            &channel("webhook"),
            &alert(true, NOW),
            &n.settings.endpoints,
        );
        let lookout_core::notify::render::Rendered::Http(requests) = hook else {
            panic!("a webhook posts");
        };
        assert!(requests.iter().all(|r| r.incident.is_none()));
    }
}
