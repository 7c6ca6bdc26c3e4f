//! Sending alerts to subscribers.

use std::future::Future;

use lookout_core::domain::Alert;

/// A failed publish.
#[derive(Debug, thiserror::Error)]
#[error("publishing alert {key}: {message}")]
pub struct PublishError {
    /// The alert's deduplication key.
    pub key: String,
    /// What went wrong.
    pub message: String,
}

/// Sends alerts to subscribers. A publisher also sends the incidents the alerts open and close
/// to the status page's subscribers ([`super::IncidentNotices`]; one without a status topic
/// sends nothing).
pub trait AlertPublisher: super::IncidentNotices {
    /// Publishes one alert: JSON body, a subject line and filterable attributes.
    fn publish(&self, alert: &Alert) -> impl Future<Output = Result<(), PublishError>> + Send;
}
