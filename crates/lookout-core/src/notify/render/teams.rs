//! Microsoft Teams workflow webhook ("Post to a channel when a webhook request is received"):
//! `POST <webhook_url>` with a message carrying one Adaptive Card.
//!
//! Sources:
//! - Create incoming webhooks with Workflows for Microsoft Teams:
//!   <https://support.microsoft.com/en-us/office/create-incoming-webhooks-with-workflows-for-microsoft-teams-8ae491c7-0394-4861-ba59-055e33f75498>
//!   and the request format of the workflow's trigger
//!   <https://learn.microsoft.com/en-us/connectors/teams/?tabs=text1#microsoft-teams-webhook>:
//!   `{"type":"message","attachments":[{"contentType":"application/vnd.microsoft.card.adaptive",
//!   "contentUrl":null,"content":{<AdaptiveCard>}}]}`.
//! - Adaptive Card schema: <https://adaptivecards.io/explorer/AdaptiveCard.html> (`version`;
//!   `rtl`, since 1.5: show the card right to left), `TextBlock` (`weight`, `size`, `color`
//!   `Good`/`Warning`/`Attention`, `wrap`), `FactSet` (`facts` of `title` and `value`).
//! - Teams renders cards up to version 1.5:
//!   <https://learn.microsoft.com/en-us/microsoftteams/platform/task-modules-and-cards/cards/cards-reference#adaptive-card>.
//! - Text formatting: `TextBlock` text and `FactSet` values render a Markdown subset (bold,
//!   italic, lists, `[text](url)` links):
//!   <https://learn.microsoft.com/en-us/adaptive-cards/authoring-cards/text-features>. Target
//!   names and alert text go in with Markdown backslash-escaped, so they show as written and a
//!   name cannot become a link (as for Discord).

use serde_json::json;

use crate::domain::Severity;

use super::message::{escape_markdown, Message};
use super::{post_json, Outbound};

/// The Adaptive Card schema version sent (the first with `rtl`).
pub(crate) const CARD_VERSION: &str = "1.5";

/// The card of `msg`, posted to the workflow.
pub(super) fn post(webhook_url: &str, msg: &Message) -> Outbound {
    let color = match msg.severity {
        Severity::Critical => "Attention",
        Severity::Warning => "Warning",
        Severity::Info => "Good",
    };
    let mut body = vec![
        json!({"type": "TextBlock", "text": escape_markdown(&msg.title, 300), "weight": "Bolder",
               "size": "Medium", "color": color, "wrap": true}),
        json!({"type": "FactSet", "facts": msg.fields.iter()
            .map(|(l, v)| json!({"title": l, "value": escape_markdown(v, 500)})).collect::<Vec<_>>()}),
    ];
    if !msg.text.trim().is_empty() {
        body.push(
            json!({"type": "TextBlock", "text": escape_markdown(&msg.text, 10_000), "wrap": true}),
        );
    }
    let mut card = json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "msteams": {"width": "Full"},
        "body": body,
    });
    if msg.lang.rtl() {
        card["rtl"] = json!(true);
    }
    let payload = json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": card,
        }],
    });
    post_json(webhook_url.to_string(), Vec::new(), &payload)
}
