//! Generic webhook: `POST <url>` with a JSON body the sender signs (`X-Lookout-Timestamp`,
//! `X-Lookout-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<body>">`, as Stripe and Slack
//! sign theirs: <https://docs.stripe.com/webhooks#verify-manually>,
//! <https://api.slack.com/authentication/verifying-requests-from-slack>).
//!
//! Body of an alert: `{"version":1,"type":"alert","alert":<the alert as published>,
//! "text":<the message in the channel's language, plain text>}`; of a test:
//! `{"version":1,"type":"test","channel":<channel id>,"at":<epoch ms>,"text":...}`.

use serde_json::json;

use crate::domain::Alert;

use super::message::Message;
use super::{post_json, Outbound};

fn signed(url: &str, secret: &str, body: &serde_json::Value) -> Outbound {
    Outbound {
        sign_with: Some(secret.to_string()),
        ..post_json(url.to_string(), Vec::new(), body)
    }
}

/// The signed alert body.
pub(super) fn alert(url: &str, secret: &str, alert: &Alert, msg: &Message) -> Outbound {
    signed(
        url,
        secret,
        &json!({"version": 1, "type": "alert", "alert": alert, "text": msg.plain()}),
    )
}

/// The signed test body.
pub(super) fn test(url: &str, secret: &str, channel_id: &str, msg: &Message) -> Outbound {
    signed(
        url,
        secret,
        &json!({"version": 1, "type": "test", "channel": channel_id, "at": msg.at,
                "text": msg.plain()}),
    )
}
