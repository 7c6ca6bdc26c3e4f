//! The request each provider documents for an alert, built here as data (URL, headers, JSON
//! body) so it is tested without a network; `lookout-app` sends it.

use crate::domain::Alert;

use super::channel::{Channel, ChannelConfig};

/// Provider base URLs. Settings (`LOOKOUT_TELEGRAM_API_URL`, `LOOKOUT_PAGERDUTY_EVENTS_URL`,
/// `LOOKOUT_OPSGENIE_API_URL`) that tests point at loopback servers; the defaults are the
/// providers' own. Slack, Discord, Teams and webhooks post to the URL the channel holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// Telegram Bot API, default `https://api.telegram.org`.
    pub telegram: String,
    /// PagerDuty Events API, default `https://events.pagerduty.com`.
    pub pagerduty: String,
    /// Opsgenie API, default `https://api.opsgenie.com` (EU accounts: `https://api.eu.opsgenie.com`).
    pub opsgenie: String,
}

impl Default for Endpoints {
    fn default() -> Self {
        Endpoints {
            telegram: "https://api.telegram.org".into(),
            pagerduty: "https://events.pagerduty.com".into(),
            opsgenie: "https://api.opsgenie.com".into(),
        }
    }
}

/// One HTTP `POST` to a provider.
#[derive(Clone, PartialEq, Eq)]
pub struct Outbound {
    /// The full URL. May hold a secret (a webhook URL, a bot token in the path): never logged
    /// or shown; errors name the channel instead.
    pub url: String,
    /// Headers besides `Content-Type: application/json` (which is always sent), e.g.
    /// `Authorization: GenieKey ...` (secret).
    pub headers: Vec<(String, String)>,
    /// The JSON body.
    pub body: Vec<u8>,
    /// For a generic webhook: the signing secret. The sender adds `X-Lookout-Timestamp` (epoch
    /// seconds) and `X-Lookout-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<body>">` when
    /// it sends, so a retry is signed with its own time.
    pub sign_with: Option<String>,
}

impl std::fmt::Debug for Outbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbound")
            .field("url", &crate::redact::redact_url_and_query(&self.url))
            .field(
                "headers",
                &self.headers.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .field("body_bytes", &self.body.len())
            .field("signed", &self.sign_with.is_some())
            .finish()
    }
}

/// An e-mail: through SES to `to` (when configured), else published to `topic_arn`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// Recipients (SES).
    pub to: Vec<String>,
    /// The SNS topic with e-mail subscriptions (without SES).
    pub topic_arn: Option<String>,
    /// One line, at most 100 characters (the SNS subject limit).
    pub subject: String,
    /// Plain text.
    pub text: String,
}

/// What a channel sends for one alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rendered {
    /// HTTP requests, in order (PagerDuty and Opsgenie send one per target of a storm).
    Http(Vec<Outbound>),
    /// An e-mail.
    Mail(Mail),
    /// Nothing to send for this alert on this kind of channel (a daily report to PagerDuty),
    /// with the reason; the delivery is recorded as sent.
    Skip(&'static str),
}

/// The request(s) `channel` sends for `alert`, in the channel's language.
pub fn render(channel: &Channel, alert: &Alert, endpoints: &Endpoints) -> Rendered {
    let _ = endpoints;
    match &channel.config {
        ChannelConfig::Webhook { url, secret } => Rendered::Http(vec![Outbound {
            url: url.clone(),
            headers: Vec::new(),
            body: serde_json::to_vec(alert).unwrap_or_default(),
            sign_with: Some(secret.clone()),
        }]),
        _ => Rendered::Skip("not built yet"),
    }
}
