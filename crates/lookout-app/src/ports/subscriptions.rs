//! The status page's subscribers: people who asked, by e-mail, to hear of incidents.

use std::future::Future;

use lookout_core::domain::incident::Incident;

/// What [`IncidentNotices::subscribe_email`] did. The API answers the same for each, so that
/// nobody learns whether an address was subscribed already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscribeOutcome {
    /// Asked: the subscriber gets a confirmation mail and hears nothing until they confirm it
    /// (double opt-in).
    PendingConfirmation,
}

/// Why a subscription or a notice failed.
#[derive(Debug, thiserror::Error)]
pub enum NoticeError {
    /// No subscriber topic is configured (`LOOKOUT_STATUS_TOPIC_ARN`).
    #[error("no status topic is configured (LOOKOUT_STATUS_TOPIC_ARN)")]
    NotConfigured,
    /// The address was refused by the service (it names no field: the caller checked it).
    #[error("the address was refused: {0}")]
    Refused(String),
    /// The service failed or did not answer.
    #[error("{0}")]
    Failed(String),
}

/// Subscriptions to incident notices, and the notices.
pub trait IncidentNotices {
    /// Subscribes `email` (checked by the caller): the service sends its own confirmation mail.
    ///
    /// # Errors
    /// [`NoticeError::NotConfigured`] without a topic; the others as the service answers.
    fn subscribe_email(
        &self,
        email: &str,
    ) -> impl Future<Output = Result<SubscribeOutcome, NoticeError>> + Send;
    /// Sends `text` about `incident` to every confirmed subscriber. Without a topic nothing is
    /// sent and the answer is `Ok`.
    ///
    /// # Errors
    /// [`NoticeError::Failed`] when the service failed.
    fn notify(
        &self,
        incident: &Incident,
        text: &str,
    ) -> impl Future<Output = Result<(), NoticeError>> + Send;
}
