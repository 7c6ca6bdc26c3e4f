//! The function's typed event and answer: Lambda's SQS event (only the fields the function
//! reads) and the partial batch response of `ReportBatchItemFailures`, and the alert in a
//! record's body.
//!
//! Shapes from the AWS Lambda Developer Guide, "Using Lambda with Amazon SQS" (the event:
//! `{"Records":[{"messageId","receiptHandle","body","attributes":{...},...}]}`) and
//! "Implementing partial batch responses" (`{"batchItemFailures":[{"itemIdentifier":"<messageId>"}]}`).
//! Smaller than `aws_lambda_events`' types: the function needs three fields of a record.

use lookout_core::domain::Alert;
use serde::Deserialize;

pub use lookout_app::usecases::sqs::{
    BatchItemFailure, SqsAttributes, SqsBatchResponse, SqsEvent, SqsMessage,
};

/// The SNS envelope SQS receives from a subscription with raw message delivery off
/// (`{"Type":"Notification","MessageId",...,"Message":"<the alert JSON>",...}`).
#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "Type")]
    kind: String,
    #[serde(rename = "Message")]
    message: String,
}

/// Why a body holds no alert. The text names the category and position only: serde's own
/// messages may quote the body, which is not logged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// Not JSON at all.
    #[error("the body is not JSON ({0})")]
    NotJson(String),
    /// JSON, but neither an alert nor an SNS notification holding one.
    #[error("the body is neither an alert nor an SNS notification of one ({0})")]
    NotAnAlert(String),
}

/// Where a serde error is, without its message (which may quote the input).
fn position(e: &serde_json::Error) -> String {
    format!(
        "{:?} error at line {} column {}",
        e.classify(),
        e.line(),
        e.column()
    )
}

/// The alert of a record's `body`: the alert JSON itself (raw delivery on), or the `Message`
/// of an SNS `Notification` envelope (raw delivery off).
///
/// # Errors
/// [`BodyError`] for anything else (a CloudWatch alarm's message, a test message, garbage).
pub fn alert_of(body: &str) -> Result<Alert, BodyError> {
    let value: serde_json::Value =
        serde_json::from_str(body).map_err(|e| BodyError::NotJson(position(&e)))?;
    if value.get("Type").is_some() && value.get("Message").is_some() {
        let envelope =
            Envelope::deserialize(&value).map_err(|e| BodyError::NotAnAlert(position(&e)))?;
        if envelope.kind != "Notification" {
            return Err(BodyError::NotAnAlert(
                "an SNS message that is no Notification".into(),
            ));
        }
        return serde_json::from_str(&envelope.message)
            .map_err(|e| BodyError::NotAnAlert(format!("Message: {}", position(&e))));
    }
    Alert::deserialize(&value).map_err(|e| BodyError::NotAnAlert(position(&e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVENT: &str = include_str!("../../../events/notify-sqs.json");

    #[test]
    fn the_fixture_reads_as_two_records_with_the_same_alert_in_both_shapes() {
        let event: SqsEvent = serde_json::from_str(EVENT).unwrap();
        assert_eq!(event.records.len(), 2);
        assert_eq!(event.records[0].receive_count(), 1);
        let enveloped = alert_of(&event.records[0].body).unwrap();
        let raw = alert_of(&event.records[1].body).unwrap();
        assert_eq!(enveloped, raw);
        assert_eq!(enveloped.key, "web#down#1795269600000");
    }

    #[test]
    fn a_body_without_an_alert_is_refused_without_quoting_it() {
        let secret = "https://hooks.slack.com/services/T0/B0/SECRETSECRET";
        for body in [
            format!("not json {secret}"),
            format!(r#"{{"kind": "{secret}"}}"#),
            format!(r#"{{"Type":"Notification","Message":"{{\"key\":\"{secret}\"}}"}}"#),
            format!(r#"{{"Type":"SubscriptionConfirmation","Message":"{secret}"}}"#),
            r#"{"AlarmName":"x","NewStateValue":"ALARM"}"#.to_string(),
            "[]".to_string(),
            String::new(),
        ] {
            let e = alert_of(&body).unwrap_err().to_string();
            assert!(!e.contains("SECRET"), "{e}");
        }
    }

    #[test]
    fn the_answer_names_failed_messages_as_lambda_reads_them() {
        let answer = SqsBatchResponse {
            batch_item_failures: vec![BatchItemFailure {
                item_identifier: "m-1".into(),
            }],
        };
        assert_eq!(
            serde_json::to_value(&answer).unwrap(),
            serde_json::json!({"batchItemFailures": [{"itemIdentifier": "m-1"}]})
        );
        assert_eq!(
            serde_json::to_value(SqsBatchResponse::default()).unwrap(),
            serde_json::json!({"batchItemFailures": []})
        );
    }
}
