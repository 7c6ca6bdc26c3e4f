//! The request each provider documents for an alert, built here as data (URL, headers, JSON
//! body) so it is tested without a network; `lookout-app` sends it. One file per provider,
//! each citing the documentation it follows; `message` holds what they all say (in the
//! channel's language, through [`super::i18n`]) and [`incident`] how alerts map to incidents
//! (which alerts trigger and resolve, and the incident keys).

mod discord;
mod email;
pub mod incident;
mod message;
mod opsgenie;
mod pagerduty;
mod slack;
mod teams;
mod telegram;
mod webhook;

#[cfg(test)]
mod tests;

use crate::domain::{Alert, Severity};

use super::channel::{Channel, ChannelConfig};
use incident::{Action, Incident};
use message::Message;

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
    /// For PagerDuty and Opsgenie: the incident event this request is, its action and its
    /// incident key as the provider gets it (`dedup_key`, `alias`), so the sender can keep
    /// triggers and resolves in order per incident. `None` for every other request.
    pub incident: Option<(Action, String)>,
}

impl std::fmt::Debug for Outbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbound")
            .field("url", &origin(&self.url))
            .field(
                "headers",
                &self.headers.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .field("body_bytes", &self.body.len())
            .field("signed", &self.sign_with.is_some())
            .field("incident", &self.incident)
            .finish()
    }
}

/// Where a request goes, without what may be secret: `scheme://host[:port]/…` (webhook URLs
/// hold their token in the path, Telegram's holds the bot token, some hold it in the query).
pub fn origin(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => match (u.host_str(), u.port()) {
            (Some(h), Some(p)) => format!("{}://{h}:{p}/…", u.scheme()),
            (Some(h), None) => format!("{}://{h}/…", u.scheme()),
            (None, _) => "(a URL)".into(),
        },
        Err(_) => "(not a URL)".into(),
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

/// The request(s) `channel` sends for `alert`, in the channel's language. The channel's secrets
/// must be resolved already (references replaced by their values).
///
/// Chat channels (Slack, Telegram, Discord, Teams), e-mail and webhooks send every alert; the
/// incident channels (PagerDuty, Opsgenie) open and close incidents as [`incident`]
/// documents, and answer [`Rendered::Skip`] for alerts that are no incident (a daily report, a
/// change to `degraded`).
pub fn render(channel: &Channel, alert: &Alert, endpoints: &Endpoints) -> Rendered {
    let lang = channel.language;
    let incidents = || incident::incidents(alert, lang);
    match &channel.config {
        ChannelConfig::Pagerduty { routing_key } => match incidents() {
            Ok(list) => Rendered::Http(
                list.iter()
                    .map(|i| pagerduty::event(&endpoints.pagerduty, routing_key, i))
                    .collect(),
            ),
            Err(why) => Rendered::Skip(why),
        },
        ChannelConfig::Opsgenie { api_key } => match incidents() {
            Ok(list) => Rendered::Http(
                list.iter()
                    .map(|i| opsgenie::request(&endpoints.opsgenie, api_key, i))
                    .collect(),
            ),
            Err(why) => Rendered::Skip(why),
        },
        ChannelConfig::Webhook { url, secret } => Rendered::Http(vec![webhook::alert(
            url,
            secret,
            alert,
            &Message::of(alert, lang),
        )]),
        _ => chat(channel, &Message::of(alert, lang), endpoints),
    }
}

/// The message `POST /v1/channels/{id}/test` sends through `channel` at `now_ms` (epoch ms),
/// in its language. PagerDuty and Opsgenie get a trigger and then its resolve (close), under
/// the incident key `lookout/test/<channel id>/<now_ms>`, so no test incident stays open; a
/// webhook gets `{"version":1,"type":"test","channel":<id>,"at":<now_ms>,"text":...}`, signed.
pub fn render_test(channel: &Channel, endpoints: &Endpoints, now_ms: i64) -> Rendered {
    let msg = Message::test(&channel.name, channel.language, now_ms);
    let trigger = Incident {
        action: Action::Trigger,
        key: format!("lookout/test/{}/{now_ms}", channel.id),
        message: msg.clone(),
        source: "lookout".into(),
        group: "test".into(),
        class: "test",
        details: vec![("channel", channel.id.clone())],
        tags: vec!["test".into()],
    };
    let resolve = Incident {
        action: Action::Resolve,
        ..trigger.clone()
    };
    match &channel.config {
        ChannelConfig::Pagerduty { routing_key } => Rendered::Http(
            [trigger, resolve]
                .iter()
                .map(|i| pagerduty::event(&endpoints.pagerduty, routing_key, i))
                .collect(),
        ),
        ChannelConfig::Opsgenie { api_key } => Rendered::Http(
            [trigger, resolve]
                .iter()
                .map(|i| opsgenie::request(&endpoints.opsgenie, api_key, i))
                .collect(),
        ),
        ChannelConfig::Webhook { url, secret } => {
            Rendered::Http(vec![webhook::test(url, secret, &channel.id, &msg)])
        }
        _ => chat(channel, &msg, endpoints),
    }
}

/// The one message of a chat channel or an e-mail.
fn chat(channel: &Channel, msg: &Message, endpoints: &Endpoints) -> Rendered {
    match &channel.config {
        ChannelConfig::Slack { webhook_url } => Rendered::Http(vec![slack::post(webhook_url, msg)]),
        ChannelConfig::Telegram { bot_token, chat_id } => {
            Rendered::Http(vec![telegram::send_message(
                &endpoints.telegram,
                bot_token,
                chat_id,
                msg,
            )])
        }
        ChannelConfig::Discord { webhook_url } => {
            Rendered::Http(vec![discord::execute(webhook_url, msg)])
        }
        ChannelConfig::Teams { webhook_url } => Rendered::Http(vec![teams::post(webhook_url, msg)]),
        ChannelConfig::Email { to, topic_arn } => {
            Rendered::Mail(email::mail(to, topic_arn.as_deref(), msg))
        }
        // Sent by `render` and `render_test` themselves.
        ChannelConfig::Pagerduty { .. }
        | ChannelConfig::Opsgenie { .. }
        | ChannelConfig::Webhook { .. } => Rendered::Skip("not a chat channel"),
    }
}

/// A JSON `POST` to `url` with `headers`.
fn post_json(url: String, headers: Vec<(String, String)>, body: &serde_json::Value) -> Outbound {
    Outbound {
        url,
        headers,
        // Serialising a `Value` cannot fail (its map keys are strings).
        body: serde_json::to_vec(body).unwrap_or_default(),
        sign_with: None,
        incident: None,
    }
}

/// `base` (without trailing `/`) followed by `path` (starting with `/`).
fn join(base: &str, path: &str) -> String {
    format!("{}{path}", base.trim_end_matches('/'))
}

/// The colour of a severity, `0xRRGGBB`: red for critical, amber for warning, green for info
/// (recoveries are info).
fn colour(s: Severity) -> u32 {
    match s {
        Severity::Critical => 0xD0_00_00,
        Severity::Warning => 0xF2_C7_44,
        Severity::Info => 0x2E_B6_7D,
    }
}
