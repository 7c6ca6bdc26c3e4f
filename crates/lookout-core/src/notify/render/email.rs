//! E-mail: a subject line and a plain-text body, sent through SES to `to` or published to an
//! SNS topic with e-mail subscriptions (the sender in `lookout-app` picks).
//!
//! Limits: an SNS `Subject` must be shorter than 100 characters, without line breaks or
//! control characters (<https://docs.aws.amazon.com/sns/latest/api/API_Publish.html>); an SES
//! subject has no such limit, so the stricter one is kept for both.

use super::message::{one_line, Message};
use super::Mail;

/// The longest subject sent (SNS: "less than 100 characters").
pub(crate) const MAX_SUBJECT: usize = 99;

/// The e-mail of `msg`.
pub(super) fn mail(to: &[String], topic_arn: Option<&str>, msg: &Message) -> Mail {
    let subject = format!(
        "[{}] {}",
        crate::notify::i18n::severity(msg.lang, msg.severity),
        msg.title
    );
    let mut text = msg.plain();
    text.push_str("\n\n-- \nLookout\n");
    Mail {
        to: to.to_vec(),
        topic_arn: topic_arn.map(str::to_string),
        subject: one_line(&subject, MAX_SUBJECT),
        text,
    }
}
