//! Reading a Chat Completions answer (OpenAI's API reference, "The chat completion object"):
//!
//! ```json
//! {"id": "chatcmpl-...", "object": "chat.completion", "model": "gpt-4o-mini-2024-07-18",
//!  "choices": [{"index": 0, "finish_reason": "stop",
//!               "message": {"role": "assistant", "content": "...", "refusal": null}}],
//!  "usage": {"prompt_tokens": 812, "completion_tokens": 240, "total_tokens": 1052}}
//! ```
//!
//! - 2xx: `choices[0].message.content`, a string or an array of parts of which the
//!   `{"type": "text", "text": "..."}` ones are joined; a non-null `message.refusal`,
//!   `finish_reason` `content_filter`, or no text (absent, null, blank) is
//!   [`SummaryError::Refused`]; not JSON, or no `choices[0].message`, is
//!   [`SummaryError::Failed`]. A text cut at the token limit (`finish_reason` `length`) is
//!   kept and ends with ` …`. The answered `model` is kept when it names one (Azure answers
//!   the model behind a deployment), else the configured one; `usage`'s tokens are 0 when
//!   absent.
//! - 429: [`SummaryError::RateLimited`] (rate limit or quota), with `Retry-After` when given.
//! - 400 with `error.code` `content_filter` (Azure OpenAI's filtered prompt):
//!   [`SummaryError::Refused`].
//! - Any other status: [`SummaryError::Failed`] with the status and the provider's error
//!   (`{"error": {"message": "..."}}`, else the body's text), scrubbed and clipped to
//!   [`ERROR_TEXT_CHARS`].
//!
//! Every text taken from the answer (errors, refusals, the narrative itself, the model's name)
//! is passed through [`scrub`]: the API key (and a cut part of it) masked, URL credentials
//! masked ([`redact_text`]).

use lookout_core::digest::narrative::Summary;
use lookout_core::digest::report::SummaryError;
use lookout_core::redact::{clip, redact_text};
use serde_json::Value;

/// Characters of a provider's error message (or refusal) kept in a [`SummaryError`].
pub const ERROR_TEXT_CHARS: usize = 300;

/// Characters of an answered model name kept (longer names are cut).
pub const MODEL_CHARS: usize = 200;

/// Shortest part of the key masked when an answer echoes it cut or run into other text.
const KEY_PART_CHARS: usize = 8;

/// The summary in an answer of `status` with `headers` and `body`, asked of `model` with
/// `key` (see the module doc for the rules).
///
/// # Errors
/// As the module doc says: [`SummaryError::RateLimited`], [`SummaryError::Refused`] or
/// [`SummaryError::Failed`]; no text holds `key`.
pub fn read(
    status: u16,
    headers: &http::HeaderMap,
    body: &[u8],
    model: &str,
    key: Option<&str>,
) -> Result<Summary, SummaryError> {
    let json: Option<Value> = serde_json::from_slice(body).ok();
    if status == 429 {
        let wait = headers
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| crate::notify::http::parse_retry_after(v, std::time::SystemTime::now()))
            .map(|ms| format!("; retry after {} s", ms.div_ceil(1000)))
            .unwrap_or_default();
        return Err(SummaryError::RateLimited(format!(
            "HTTP 429{wait}: {}",
            error_text(json.as_ref(), body, key)
        )));
    }
    // Azure OpenAI answers a prompt its content filter stopped with 400 and
    // `error.code` `content_filter` (Azure OpenAI, "Content filtering": "the prompt was
    // filtered"): a refusal, as the filter's verdict on an answer is.
    if status == 400
        && json
            .as_ref()
            .and_then(|j| j.pointer("/error/code"))
            .and_then(Value::as_str)
            == Some("content_filter")
    {
        return Err(SummaryError::Refused(format!(
            "HTTP 400: the provider's content filter refused the prompt: {}",
            error_text(json.as_ref(), body, key)
        )));
    }
    if !(200..300).contains(&status) {
        return Err(SummaryError::Failed(format!(
            "HTTP {status}: {}",
            error_text(json.as_ref(), body, key)
        )));
    }
    let Some(json) = json else {
        return Err(SummaryError::Failed(format!(
            "HTTP {status}: the answer is not JSON (a chat completion was expected)"
        )));
    };
    let Some(choice) = json
        .get("choices")
        .and_then(Value::as_array)
        .and_then(|c| c.first())
    else {
        let why = match json.get("error") {
            Some(_) => error_text(Some(&json), body, key),
            None => "no choices".into(),
        };
        return Err(SummaryError::Failed(format!(
            "HTTP {status}: not a chat completion: {why}"
        )));
    };
    let Some(message) = choice.get("message").filter(|m| m.is_object()) else {
        return Err(SummaryError::Failed(format!(
            "HTTP {status}: not a chat completion: choices[0] has no message"
        )));
    };
    if let Some(refusal) = message.get("refusal").filter(|r| !r.is_null()) {
        let said = refusal
            .as_str()
            .map_or_else(|| refusal.to_string(), str::to_string);
        return Err(SummaryError::Refused(format!(
            "the model refused: {}",
            scrub(&said, key)
        )));
    }
    if choice.get("finish_reason").and_then(Value::as_str) == Some("content_filter") {
        return Err(SummaryError::Refused(
            "the provider's content filter withheld the answer (finish_reason content_filter)"
                .into(),
        ));
    }
    let mut text = content_text(message.get("content"));
    // Cut at the answer's token limit (`finish_reason` `length`): kept, and marked as cut.
    let cut = choice.get("finish_reason").and_then(Value::as_str) == Some("length");
    if cut && !text.trim().is_empty() {
        text = format!("{} …", text.trim_end());
    }
    if text.trim().is_empty() {
        return Err(SummaryError::Refused(if cut {
            "the answer holds no text: the token limit was spent before any (finish_reason \
             length; a reasoning model may need a larger LOOKOUT_LLM_MAX_TOKENS)"
                .into()
        } else {
            "the answer holds no text (choices[0].message.content empty)".into()
        }));
    }
    let answered = json
        .get("model")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|m| !m.is_empty());
    let tokens = |name: &str| {
        json.get("usage")
            .and_then(|u| u.get(name))
            .and_then(Value::as_u64)
            .unwrap_or(0)
    };
    Ok(Summary {
        // Scrubbed whole, not clipped: the narrative's length is `Narrative::from_summary`'s.
        text: redact_text(&mask_key(&text, key)),
        model: answered.map_or_else(|| model.to_string(), |m| scrub_to(m, key, MODEL_CHARS)),
        prompt_tokens: tokens("prompt_tokens"),
        completion_tokens: tokens("completion_tokens"),
    })
}

/// The text of `content`: a string as is, or the `text` of its `{"type": "text"}` parts joined
/// (other parts, such as a `refusal` part, are left out); empty for anything else.
fn content_text(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter(|p| p.get("type").and_then(Value::as_str) == Some("text"))
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(""),
        _ => String::new(),
    }
}

/// The provider's error in words: `error.message` (or `error` when it is a string, or a
/// top-level `message`), else the body's text; "no error message" for an empty body.
fn error_text(json: Option<&Value>, body: &[u8], key: Option<&str>) -> String {
    let from_json = json.and_then(|j| {
        let e = j.get("error");
        e.and_then(|e| e.get("message"))
            .or_else(|| e.filter(|e| e.is_string()))
            .or_else(|| j.get("message"))
            .and_then(Value::as_str)
            .map(str::to_string)
    });
    let text = from_json.unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    if text.trim().is_empty() {
        return "no error message".into();
    }
    scrub(&text, key)
}

/// `text` made safe to keep: [`scrub_to`] at [`ERROR_TEXT_CHARS`].
pub fn scrub(text: &str, key: Option<&str>) -> String {
    scrub_to(text, key, ERROR_TEXT_CHARS)
}

/// `text` with the key masked (`***`: the whole key, and any word of at least 8 characters
/// that is a part of it, as an answer that echoes the key cut short would hold), URL
/// credentials masked ([`redact_text`]), then cut to `max` characters with line breaks made
/// spaces ([`clip`]). Masked before it is cut, so no part of a secret straddling the cut is
/// kept.
fn scrub_to(text: &str, key: Option<&str>, max: usize) -> String {
    clip(&redact_text(&mask_key(text, key)), max)
        .trim()
        .to_string()
}

fn mask_key(text: &str, key: Option<&str>) -> String {
    let Some(key) = key.filter(|k| !k.is_empty()) else {
        return text.to_string();
    };
    let whole = text.replace(key, "***");
    let is_word_break = |c: char| c.is_whitespace() || "\"'`,;()[]{}<>".contains(c);
    let mut out = String::with_capacity(whole.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        let part = word.trim_end_matches(['.', ':']);
        if part.chars().count() >= KEY_PART_CHARS && key.contains(part) {
            out.push_str("***");
            out.push_str(&word[part.len()..]);
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in whole.chars() {
        if is_word_break(c) {
            flush(&mut word, &mut out);
            out.push(c);
        } else {
            word.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "sk-test-0123456789abcdefghij";

    #[test]
    fn the_key_whole_cut_or_run_into_text_is_masked() {
        let said = format!(
            "Incorrect API key provided: {KEY}. Also {}, \"{}\" and key={KEY}&x",
            &KEY[..15],
            &KEY[5..]
        );
        let got = scrub(&said, Some(KEY));
        assert!(!got.contains("0123456789"), "{got}");
        assert!(!got.contains("sk-test-0"), "{got}");
        assert!(got.starts_with("Incorrect API key provided: ***."), "{got}");
        // Short words that happen to be in the key are kept (a word is not a secret).
        assert_eq!(scrub("test abc", Some(KEY)), "test abc");
        assert_eq!(scrub("a\nb", None), "a b");
    }

    #[test]
    fn content_as_parts_is_joined_and_other_parts_are_left_out() {
        let parts = serde_json::json!([
            {"type": "text", "text": "Two targets "},
            {"type": "refusal", "refusal": "no"},
            {"type": "text", "text": "failed."}
        ]);
        assert_eq!(content_text(Some(&parts)), "Two targets failed.");
        assert_eq!(content_text(Some(&Value::Null)), "");
        assert_eq!(content_text(None), "");
    }
}
