//! Telegram Bot API `sendMessage`: `POST {api}/bot<token>/sendMessage`.
//!
//! Sources (<https://core.telegram.org/bots/api>):
//! - Making requests: `https://api.telegram.org/bot<token>/METHOD_NAME`, JSON body accepted.
//! - `sendMessage`: `chat_id` (Integer or String `@channelusername`), `text` (1 to 4096
//!   characters after entities parsing), `parse_mode`, `disable_web_page_preview`.
//! - Formatting options, HTML style: only the tags `b`, `strong`, `i`, `em`, `u`, `ins`, `s`,
//!   `strike`, `del`, `span class="tg-spoiler"`, `tg-spoiler`, `a href`, `tg-emoji`, `code`,
//!   `pre`, `blockquote` are supported; every `<`, `>` and `&` that is not part of a tag or an
//!   entity must be replaced with `&lt;`, `&gt;`, `&amp;`; the named entities supported are
//!   `&lt;`, `&gt;`, `&amp;` and `&quot;`.
//!
//! Only `<b>` is used, around the headline and the labels; every interpolated text is escaped
//! (`"` as `&quot;` too, so it is safe inside an attribute as well). The whole text is kept
//! within 4,096 UTF-16 code units *before* entities are parsed (so certainly after): the
//! technical text at the end is cut between two of its characters, with `…`, so the cut never
//! falls inside an entity or a tag.

use serde_json::json;

use super::message::{fit, Count, Message};
use super::{join, post_json, Outbound};

/// Telegram's limit on a message's text.
pub(crate) const MAX_TEXT: usize = 4096;

/// Appends `c` escaped for Telegram HTML.
fn html(c: char, out: &mut String) {
    match c {
        '&' => out.push_str("&amp;"),
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        '"' => out.push_str("&quot;"),
        c => out.push(c),
    }
}

/// `raw` escaped for Telegram HTML (no cut).
pub(crate) fn esc(raw: &str) -> String {
    fit(raw, usize::MAX, Count::Utf16, html)
}

/// The HTML text of `msg`, at most [`MAX_TEXT`] UTF-16 code units.
pub(crate) fn text(msg: &Message) -> String {
    let mut head = format!("<b>{}</b>", esc(&super::message::cut(&msg.title, 300)));
    for (label, value) in &msg.fields {
        head.push_str(&format!(
            "\n<b>{}:</b> {}",
            esc(label),
            esc(&super::message::cut(value, 300))
        ));
    }
    if msg.text.is_empty() {
        return head;
    }
    head.push_str("\n\n");
    let budget = MAX_TEXT.saturating_sub(head.encode_utf16().count());
    head.push_str(&fit(&msg.text, budget, Count::Utf16, html));
    head
}

/// `sendMessage` of `msg` to `chat_id` through the bot `token`.
pub(super) fn send_message(api: &str, token: &str, chat_id: &str, msg: &Message) -> Outbound {
    // A numeric id goes as a number, a `@channelusername` as a string (both are documented).
    let chat = chat_id
        .parse::<i64>()
        .map_or_else(|_| json!(chat_id), |n| json!(n));
    let body = json!({
        "chat_id": chat,
        "text": text(msg),
        "parse_mode": "HTML",
        "disable_web_page_preview": true,
    });
    post_json(
        join(api, &format!("/bot{token}/sendMessage")),
        Vec::new(),
        &body,
    )
}
