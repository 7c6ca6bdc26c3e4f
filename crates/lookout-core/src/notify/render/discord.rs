//! Discord webhook: `POST <webhook_url>?wait=true` with embeds.
//!
//! Sources:
//! - Execute Webhook: <https://discord.com/developers/docs/resources/webhook#execute-webhook>
//!   (`wait=true` query parameter: the answer carries the created message, so a failure is
//!   seen; JSON `embeds` up to 10, `allowed_mentions`).
//! - Embed object and limits:
//!   <https://discord.com/developers/docs/resources/message#embed-object-embed-limits> (`title`
//!   256, `description` 4,096, up to 25 `fields` of `name` 256 and `value` 1,024, `footer.text`
//!   2,048, 6,000 characters in all; `color` an integer; `timestamp` ISO 8601).
//! - Allowed mentions: <https://discord.com/developers/docs/resources/message#allowed-mentions-object>
//!   (`"parse": []` parses no mention at all, so alert text can never ping `@everyone`,
//!   `@here`, a role or a user).
//! - Markdown: <https://support.discord.com/hc/en-us/articles/210298617> (a backslash before a
//!   markdown character shows it as itself). Field values and the description render markdown
//!   (masked links, emphasis, headers), so the characters that start markdown are escaped there:
//!   an alert's text shows as written, and a name cannot become a link.

use serde_json::json;

use super::message::{cut, escape_markdown as esc, Message};
use super::{colour, post_json, Outbound};

const TOTAL: usize = 6000;
const FOOTER: &str = "Lookout";

/// `url` with `wait=true` in its query (replacing any `wait` already there), the rest of the
/// query and any fragment kept as written.
pub(crate) fn with_wait(url: &str) -> String {
    let (base, fragment) = match url.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (url, None),
    };
    let (path, query) = match base.split_once('?') {
        Some((p, q)) => (p, q),
        None => (base, ""),
    };
    let mut pairs: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty() && *p != "wait" && !p.starts_with("wait="))
        .collect();
    pairs.push("wait=true");
    let mut out = format!("{path}?{}", pairs.join("&"));
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

/// The embed message of `msg`, posted to the webhook.
pub(super) fn execute(webhook_url: &str, msg: &Message) -> Outbound {
    let title = cut(&msg.title, 256);
    let fields: Vec<(String, String)> = msg
        .fields
        .iter()
        .take(25)
        .map(|(l, v)| (cut(l, 256), esc(v, 1024)))
        .collect();
    let used = title.chars().count()
        + FOOTER.len()
        + fields
            .iter()
            .map(|(l, v)| l.chars().count() + v.chars().count())
            .sum::<usize>();
    let description = esc(&msg.text, 4096.min(TOTAL.saturating_sub(used)));
    let mut embed = json!({
        "title": title,
        "color": colour(msg.severity),
        "timestamp": crate::time::rfc3339(msg.at),
        "fields": fields.iter().map(|(l, v)| json!({"name": l, "value": v, "inline": true}))
            .collect::<Vec<_>>(),
        "footer": {"text": FOOTER},
    });
    if !description.is_empty() {
        embed["description"] = json!(description);
    }
    let body = json!({
        "embeds": [embed],
        "allowed_mentions": {"parse": []},
    });
    post_json(with_wait(webhook_url), Vec::new(), &body)
}
