//! The status page's e-mail subscribers on an SNS topic (`LOOKOUT_STATUS_TOPIC_ARN`):
//! `Subscribe` with protocol `email` (SNS mails the address a confirmation link and delivers
//! nothing until it is followed: the double opt-in), and one `Publish` per incident change.

use aws_sdk_sns::Client;

use crate::sdk_message;
use lookout_app::ports::{IncidentNotices, NoticeError, SubscribeOutcome};
use lookout_core::domain::incident::Incident;

/// The subscriber topic, or none (nothing subscribed, nothing sent).
#[derive(Clone, Debug)]
pub struct SnsIncidentNotices {
    /// The client and the topic; `None` when no topic is configured.
    topic: Option<(crate::LazyClient<Client>, String)>,
}

impl SnsIncidentNotices {
    /// Notices to `topic_arn` (`None`: none configured) with a client from `aws`, made on
    /// first use.
    pub fn from_config(aws: &aws_config::SdkConfig, topic_arn: Option<String>) -> Self {
        SnsIncidentNotices {
            topic: topic_arn.map(|t| (crate::LazyClient::new(aws, Client::new), t)),
        }
    }

    /// Notices to `topic_arn`.
    pub fn new(client: impl Into<crate::LazyClient<Client>>, topic_arn: impl Into<String>) -> Self {
        SnsIncidentNotices {
            topic: Some((client.into(), topic_arn.into())),
        }
    }

    /// No topic: subscribing answers [`NoticeError::NotConfigured`], notices are not sent.
    pub fn none() -> Self {
        SnsIncidentNotices { topic: None }
    }

    /// The topic, when one is configured.
    pub fn topic_arn(&self) -> Option<&str> {
        self.topic.as_ref().map(|(_, t)| t.as_str())
    }
}

/// The mail subject of a notice: its first line as SNS takes it ([`super::subject::sns_subject`]).
fn subject(text: &str) -> String {
    super::subject::sns_subject(text, "Status update")
}

impl IncidentNotices for SnsIncidentNotices {
    async fn subscribe_email(&self, email: &str) -> Result<SubscribeOutcome, NoticeError> {
        let (client, topic) = self.topic.as_ref().ok_or(NoticeError::NotConfigured)?;
        client
            .subscribe()
            .topic_arn(topic)
            .protocol("email")
            .endpoint(email)
            .send()
            .await
            .map_err(|e| match e.as_service_error() {
                Some(s) if s.is_invalid_parameter_exception() => {
                    NoticeError::Refused(sdk_message(&e))
                }
                _ => NoticeError::Failed(sdk_message(&e)),
            })?;
        Ok(SubscribeOutcome::PendingConfirmation)
    }

    async fn notify(&self, incident: &Incident, text: &str) -> Result<(), NoticeError> {
        let Some((client, topic)) = self.topic.as_ref() else {
            return Ok(());
        };
        client
            .publish()
            .topic_arn(topic)
            .subject(subject(text))
            .message(text)
            .message_attributes(
                "incident_id",
                aws_sdk_sns::types::MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value(&incident.id)
                    .build()
                    .map_err(|e| NoticeError::Failed(e.to_string()))?,
            )
            .send()
            .await
            .map_err(|e| NoticeError::Failed(sdk_message(&e)))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::subject;

    #[test]
    fn a_notice_subject_is_its_first_line_in_printable_ascii_under_100_characters() {
        assert_eq!(
            subject("Incident: web — down\nweb: down"),
            "Incident: web - down"
        );
        let arabic = subject(&format!(
            "Incident: {} — investigating",
            "خادم الويب ".repeat(20)
        ));
        assert_eq!(arabic, "Incident: - investigating");
        let long = subject(&format!("Incident: {} — investigating", "web, ".repeat(40)));
        assert!(
            long.len() <= 99 && long.bytes().all(|b| (b' '..=b'~').contains(&b)),
            "{long}"
        );
        assert_eq!(subject("a\u{7}b"), "ab");
        assert_eq!(subject(""), "Status update");
    }
}
