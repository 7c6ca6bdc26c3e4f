//! Slack incoming webhook: `POST <webhook_url>` with a JSON message.
//!
//! Sources:
//! - Incoming webhooks: <https://api.slack.com/messaging/webhooks> (the body is a message
//!   payload: `text` and `blocks` or `attachments`).
//! - Secondary attachments: <https://api.slack.com/reference/messaging/attachments> (`color` as
//!   `#RRGGBB`; `blocks` inside an attachment, so the colour bar frames Block Kit content).
//! - Blocks: <https://api.slack.com/reference/block-kit/blocks> (`header`: `plain_text` up to
//!   150 characters; `section`: `text` up to 3,000 characters, `fields` up to 10 of up to 2,000;
//!   `context`: up to 10 elements).
//! - Escaping: <https://api.slack.com/reference/surfaces/formatting#escaping> (in `mrkdwn`
//!   text, `&`, `<` and `>` must be sent as `&amp;`, `&lt;` and `&gt;`; nothing else is
//!   encoded). The top-level `text` (the notification fallback) is `mrkdwn` too.

use serde_json::json;

use super::message::{fit, Count, Message};
use super::{colour, post_json, Outbound};

/// Appends `c` escaped for Slack `mrkdwn`.
fn mrkdwn(c: char, out: &mut String) {
    match c {
        '&' => out.push_str("&amp;"),
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        c => out.push(c),
    }
}

/// `raw` escaped for `mrkdwn`, at most `max` characters after escaping.
fn esc(raw: &str, max: usize) -> String {
    fit(raw, max, Count::Chars, mrkdwn)
}

/// The message for `msg`, posted to the channel's webhook URL.
pub(super) fn post(webhook_url: &str, msg: &Message) -> Outbound {
    let fields: Vec<_> = msg
        .fields
        .iter()
        .take(10)
        .map(|(label, value)| {
            json!({"type": "mrkdwn", "text": format!("*{label}*\n{}", esc(value, 1900))})
        })
        .collect();
    let mut blocks = vec![
        json!({"type": "header",
               "text": {"type": "plain_text", "text": super::message::cut(&msg.title, 150), "emoji": true}}),
        json!({"type": "section", "fields": fields}),
    ];
    if !msg.text.trim().is_empty() {
        blocks.push(json!({"type": "section",
                           "text": {"type": "mrkdwn", "text": esc(&msg.text, 3000)}}));
    }
    blocks.push(json!({"type": "context",
                       "elements": [{"type": "mrkdwn", "text": "Lookout"}]}));
    let body = json!({
        "text": esc(&msg.title, 3000),
        "attachments": [{
            "color": format!("#{:06X}", colour(msg.severity)),
            "blocks": blocks,
        }],
    });
    post_json(webhook_url.to_string(), Vec::new(), &body)
}
