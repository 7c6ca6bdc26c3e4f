//! SNS publisher: one message per alert, JSON body, `Subject` for e-mail, the message
//! attributes `severity`, `kind`, `target_kind` and `group` (left out when the alert has none)
//! for subscription filter policies,
//! and `alert_key` (the alert's deduplication key) so that subscribers drop the repeats an
//! at-least-once delivery may send (see [`lookout_app::ports::deliver_with`]).

use aws_sdk_sns::types::MessageAttributeValue;
use aws_sdk_sns::Client;

use crate::sdk_message;
use lookout_app::ports::{
    AlertPublisher, IncidentNotices, NoticeError, PublishError, SubscribeOutcome,
};
use lookout_core::domain::incident::Incident;
use lookout_core::domain::Alert;

pub mod subject;
pub mod subscriptions;

pub use subscriptions::SnsIncidentNotices;

/// Publishes to one topic; the incidents the alerts change go to the status page's subscriber
/// topic when one is set ([`SnsPublisher::with_notices`]).
#[derive(Clone, Debug)]
pub struct SnsPublisher {
    client: crate::LazyClient<Client>,
    topic_arn: String,
    notices: SnsIncidentNotices,
}

impl SnsPublisher {
    /// A publisher to `topic_arn` with a client from `aws`, made on first use.
    pub fn from_config(aws: &aws_config::SdkConfig, topic_arn: impl Into<String>) -> Self {
        Self::new(crate::LazyClient::new(aws, Client::new), topic_arn)
    }

    /// A publisher to `topic_arn`.
    pub fn new(client: impl Into<crate::LazyClient<Client>>, topic_arn: impl Into<String>) -> Self {
        SnsPublisher {
            client: client.into(),
            topic_arn: topic_arn.into(),
            notices: SnsIncidentNotices::none(),
        }
    }

    /// The same publisher, sending incident notices through `notices` (none by default).
    pub fn with_notices(mut self, notices: SnsIncidentNotices) -> Self {
        self.notices = notices;
        self
    }
}

impl IncidentNotices for SnsPublisher {
    async fn subscribe_email(&self, email: &str) -> Result<SubscribeOutcome, NoticeError> {
        self.notices.subscribe_email(email).await
    }

    async fn notify(&self, incident: &Incident, text: &str) -> Result<(), NoticeError> {
        self.notices.notify(incident, text).await
    }
}

fn attr(value: &str) -> Result<MessageAttributeValue, PublishError> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(|e| PublishError {
            key: String::new(),
            message: e.to_string(),
        })
}

impl AlertPublisher for SnsPublisher {
    async fn publish(&self, alert: &Alert) -> Result<(), PublishError> {
        let fail = |message: String| PublishError {
            key: alert.key.clone(),
            message,
        };
        let body = serde_json::to_string(alert).map_err(|e| fail(e.to_string()))?;
        let mut publish = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(subject::sns_subject(&alert.subject, "Lookout alert"))
            .message(body)
            .message_attributes("severity", attr(alert.severity.as_str())?)
            .message_attributes("kind", attr(alert.kind.as_str())?)
            .message_attributes("target_kind", attr(alert.target_kind.as_str())?)
            .message_attributes("alert_key", attr(&alert.key)?);
        // SNS refuses an empty string attribute: an alert of no group (an SLO over a target or
        // a tag) goes without `group`, which a filter policy on it then does not match.
        if !alert.group.is_empty() {
            publish = publish.message_attributes("group", attr(&alert.group)?);
        }
        publish.send().await.map_err(|e| fail(sdk_message(&e)))?;
        Ok(())
    }
}
