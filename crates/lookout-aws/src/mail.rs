//! [`AwsMail`]: e-mail channels' messages through Amazon SES (API v2 `SendEmail`, simple
//! content, a plain-text body) when a sender address is configured (`LOOKOUT_SES_FROM`), else
//! published to the channel's SNS topic, whose e-mail subscribers receive the subject and text.
//!
//! A service's refusal (SES `MessageRejected`, throttling, an SNS `InvalidParameter`) is a
//! [`ProviderAnswer`] with the HTTP status the service answered, so the notifier decides on
//! retrying as it does for every provider; no answer at all (connection, timeout) is a
//! [`SendError`]. Neither carries a secret: e-mail channels hold none.

use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response;

use crate::{sdk_message, LazyClient};
use lookout_app::ports::{MailSender, ProviderAnswer, SendError};
use lookout_core::notify::render::Mail;

/// The setting naming SES's verified sender address; unset: mail goes through SNS topics.
pub const SES_FROM_VAR: &str = "LOOKOUT_SES_FROM";

/// The SNS subject of a message whose own subject SNS would refuse (Arabic, Persian).
const SNS_FALLBACK_SUBJECT: &str = "Lookout alert";
/// The start of a service's error message kept in an answer, bytes.
const ANSWER_BODY_MAX: usize = 1000;

/// Where mail goes.
#[derive(Clone, Debug)]
enum Route {
    /// Answers every message with "e-mail is not configured" (unit tests of other crates).
    Disabled,
    /// SES (when `ses` holds a client and the sender) and SNS.
    Aws {
        ses: Option<(LazyClient<aws_sdk_sesv2::Client>, String)>,
        sns: LazyClient<aws_sdk_sns::Client>,
    },
}

/// Sends e-mail channels' messages (the [`MailSender`] port). Cheap to clone; its SDK clients
/// are made on first use.
#[derive(Clone, Debug)]
pub struct AwsMail(Route);

impl AwsMail {
    /// Mail through SES from `ses_from` (when given; `ses` is its client) and SNS (`sns`).
    pub fn new(
        ses: Option<(impl Into<LazyClient<aws_sdk_sesv2::Client>>, String)>,
        sns: impl Into<LazyClient<aws_sdk_sns::Client>>,
    ) -> Self {
        AwsMail(Route::Aws {
            ses: ses.map(|(c, from)| (c.into(), from)),
            sns: sns.into(),
        })
    }

    /// The functions' sender: SES from `ses_from` (`LOOKOUT_SES_FROM`, endpoint
    /// `AWS_ENDPOINT_URL_SESV2`) when it is set, and SNS, clients from `aws` made on first use.
    pub fn from_config(aws: &aws_config::SdkConfig, ses_from: Option<String>) -> Self {
        AwsMail(Route::Aws {
            ses: ses_from.map(|from| (LazyClient::new(aws, aws_sdk_sesv2::Client::new), from)),
            sns: LazyClient::new(aws, aws_sdk_sns::Client::new),
        })
    }

    /// A sender that sends nothing: every message answers [`SendError`] "e-mail is not
    /// configured".
    pub fn disabled() -> Self {
        AwsMail(Route::Disabled)
    }
}

/// An SDK failure: a service's answer as a [`ProviderAnswer`] with its HTTP status (the
/// notifier retries 429 and 5xx), anything else (no answer) as a [`SendError`].
fn failed<E>(service: &str, e: SdkError<E, Response>) -> Result<ProviderAnswer, SendError>
where
    E: aws_sdk_sns::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    match &e {
        SdkError::ServiceError(se) => {
            let code = se.err().code().unwrap_or("error");
            let message = se.err().message().unwrap_or_default();
            let mut body = format!("{service} {code}: {message}");
            if body.len() > ANSWER_BODY_MAX {
                let mut end = ANSWER_BODY_MAX;
                while !body.is_char_boundary(end) {
                    end -= 1;
                }
                body.truncate(end);
            }
            Ok(ProviderAnswer {
                status: se.raw().status().as_u16(),
                body,
                retry_after_ms: None,
            })
        }
        _ => Err(SendError(format!("{service}: {}", sdk_message(&e)))),
    }
}

/// The accepted answer: 200 and the message id.
fn accepted(id: Option<String>) -> ProviderAnswer {
    ProviderAnswer {
        status: 200,
        body: id.unwrap_or_default(),
        retry_after_ms: None,
    }
}

/// The SNS subject and message of `mail`: a subject SNS refuses (see [`crate::sns::subject`])
/// is made into one it takes ([`crate::sns::subject::sns_subject`], [`SNS_FALLBACK_SUBJECT`]
/// when nothing of it is left) and leads the message as written, so that nothing of it is
/// lost.
fn sns_parts(mail: &Mail) -> (String, String) {
    let subject = mail.subject.trim();
    if crate::sns::subject::fits(subject) {
        (subject.to_string(), mail.text.clone())
    } else {
        (
            crate::sns::subject::sns_subject(subject, SNS_FALLBACK_SUBJECT),
            format!("{subject}\n\n{}", mail.text),
        )
    }
}

fn utf8(text: &str) -> Result<Content, SendError> {
    Content::builder()
        .data(text)
        .charset("UTF-8")
        .build()
        .map_err(|e| SendError(format!("ses: {e}")))
}

impl MailSender for AwsMail {
    async fn send_mail(&self, mail: &Mail) -> Result<ProviderAnswer, SendError> {
        let Route::Aws { ses, sns } = &self.0 else {
            return Err(SendError("e-mail is not configured".into()));
        };
        match (ses, &mail.topic_arn) {
            (Some((client, from)), _) if !mail.to.is_empty() => {
                let content = EmailContent::builder()
                    .simple(
                        Message::builder()
                            .subject(utf8(&mail.subject)?)
                            .body(Body::builder().text(utf8(&mail.text)?).build())
                            .build(),
                    )
                    .build();
                let sent = client
                    .send_email()
                    .from_email_address(from)
                    .destination(
                        Destination::builder()
                            .set_to_addresses(Some(mail.to.clone()))
                            .build(),
                    )
                    .content(content)
                    .send()
                    .await;
                match sent {
                    Ok(out) => Ok(accepted(out.message_id)),
                    Err(e) => failed("ses", e),
                }
            }
            (_, Some(topic)) => {
                let (subject, message) = sns_parts(mail);
                let sent = sns
                    .publish()
                    .topic_arn(topic)
                    .subject(subject)
                    .message(message)
                    .send()
                    .await;
                match sent {
                    Ok(out) => Ok(accepted(out.message_id)),
                    Err(e) => failed("sns", e),
                }
            }
            (Some(_), None) => Err(SendError(
                "e-mail channel has no recipients (`to`) and no SNS topic (`topic_arn`)".into(),
            )),
            (None, None) => Err(SendError(format!(
                "e-mail channel has no SNS topic (`topic_arn`), and SES is not configured \
                 ({SES_FROM_VAR})"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(subject: &str) -> Mail {
        Mail {
            to: vec![],
            topic_arn: None,
            subject: subject.into(),
            text: "body".into(),
        }
    }

    #[test]
    fn a_subject_sns_would_refuse_leads_the_message_instead() {
        assert_eq!(
            sns_parts(&mail("[Lookout] web is down")),
            ("[Lookout] web is down".into(), "body".into())
        );
        for (refused, made) in [
            ("وب از کار افتاد", SNS_FALLBACK_SUBJECT),
            ("", SNS_FALLBACK_SUBJECT),
            ("two\nlines", "two"),
            (&"x".repeat(100), &"x".repeat(99)),
            ("[Lookout] web — وب", "[Lookout] web -"),
        ] {
            let (subject, text) = sns_parts(&mail(refused));
            assert_eq!(subject, made);
            assert!(crate::sns::subject::fits(&subject), "{subject:?}");
            assert!(text.starts_with(refused.trim()) && text.ends_with("body"));
        }
    }

    #[tokio::test]
    async fn a_disabled_sender_and_a_mail_with_nowhere_to_go_are_errors() {
        let e = AwsMail::disabled().send_mail(&mail("s")).await.unwrap_err();
        assert_eq!(e.0, "e-mail is not configured");
        let aws = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        let e = AwsMail::from_config(&aws, None)
            .send_mail(&mail("s"))
            .await
            .unwrap_err();
        assert!(
            e.0.contains("topic_arn") && e.0.contains(SES_FROM_VAR),
            "{e}"
        );
    }
}
