//! [`MemoryPublisher`]: an [`AlertPublisher`] that records what it sends.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use crate::ports::{AlertPublisher, PublishError};
use lookout_core::domain::Alert;

/// A publisher that records what it sends, and can be told to fail.
#[derive(Default)]
pub struct MemoryPublisher {
    sent: Mutex<Vec<Alert>>,
    failing: AtomicBool,
}

impl MemoryPublisher {
    /// Alerts sent so far.
    pub fn sent(&self) -> Vec<Alert> {
        self.sent.lock().unwrap_or_else(|p| p.into_inner()).clone()
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
