//! [`MemoryPublisher`]: an [`AlertPublisher`] that records what it sends.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use crate::ports::{AlertPublisher, IncidentNotices, NoticeError, PublishError, SubscribeOutcome};
use lookout_core::domain::incident::Incident;
use lookout_core::domain::Alert;

/// A publisher that records what it sends (alerts, incident notices, e-mail subscriptions), and
/// can be told to fail.
#[derive(Default)]
pub struct MemoryPublisher {
    sent: Mutex<Vec<Alert>>,
    failing: AtomicBool,
    notices: Mutex<Vec<(Incident, String)>>,
    subscribers: Mutex<Vec<String>>,
}

impl MemoryPublisher {
    /// Alerts sent so far.
    pub fn sent(&self) -> Vec<Alert> {
        self.sent.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Incident notices sent so far, with their texts.
    pub fn notices(&self) -> Vec<(Incident, String)> {
        self.notices
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Addresses subscribed so far.
    pub fn subscribers(&self) -> Vec<String> {
        self.subscribers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Makes every later publish fail (`true`) or succeed again (`false`).
    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }
}

impl AlertPublisher for MemoryPublisher {
    async fn publish(&self, alert: &Alert) -> Result<(), PublishError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(PublishError {
                key: alert.key.clone(),
                message: "publisher is failing".into(),
            });
        }
        self.sent
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(alert.clone());
        Ok(())
    }
}

impl IncidentNotices for MemoryPublisher {
    async fn subscribe_email(&self, email: &str) -> Result<SubscribeOutcome, NoticeError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(NoticeError::Failed("publisher is failing".into()));
        }
        self.subscribers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(email.to_owned());
        Ok(SubscribeOutcome::PendingConfirmation)
    }

    async fn notify(&self, incident: &Incident, text: &str) -> Result<(), NoticeError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(NoticeError::Failed("publisher is failing".into()));
        }
        self.notices
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((incident.clone(), text.to_owned()));
        Ok(())
    }
}
