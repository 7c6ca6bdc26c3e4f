//! What every renderer says about an alert, in the channel's language: a headline, the fields
//! (target, group, status, severity, time) and the alert's own text, plus the helpers that
//! escape text for a markup and cut it to a provider's limit.

use crate::domain::{Alert, AlertKind, Severity, Status};
use crate::notify::channel::Language;
use crate::notify::i18n::{self, Label, Subject};

/// An alert (or a test) as words: what each provider's renderer lays out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Message {
    /// One line: `web is down`, in the language.
    pub title: String,
    /// How urgent (colours, priorities).
    pub severity: Severity,
    /// `(label, value)` in display order, labels in the language; values never empty.
    pub fields: Vec<(&'static str, String)>,
    /// The technical reason (the alert's text, English, redacted already), may hold line breaks.
    pub text: String,
    /// When it happened, epoch ms.
    pub at: i64,
    /// The language.
    pub lang: Language,
}

impl Message {
    /// The message for `alert` in `lang`.
    pub fn of(alert: &Alert, lang: Language) -> Message {
        let group_alert = matches!(
            alert.kind,
            AlertKind::GroupCritical | AlertKind::GroupRecovered
        );
        let name = if group_alert {
            i18n::group_name(lang, alert.target_kind, &alert.group)
        } else if alert.kind.is_location() {
            alert.group.clone()
        } else if alert.target_name.trim().is_empty() {
            alert.target_id.clone()
        } else {
            alert.target_name.clone()
        };
        let count = if alert.targets.is_empty() {
            alert
                .changes
                .iter()
                .filter(|c| !c.target_id.is_empty())
                .count()
        } else {
            alert.targets.len()
        };
        let title = i18n::title(
            lang,
            &Subject {
                kind: alert.kind,
                name: &crate::redact::clip(&name, 120),
                target_kind: alert.target_kind,
                new_status: alert.new_status,
                count,
            },
        );
        let mut fields = Vec::new();
        if !alert.target_id.is_empty() {
            fields.push((
                i18n::label(lang, Label::Target),
                format!("{} ({})", alert.target_name, alert.target_id),
            ));
            fields.push((
                i18n::label(lang, Label::Kind),
                i18n::target_kind(lang, alert.target_kind).to_string(),
            ));
        }
        if !alert.group.is_empty() {
            let label = if alert.kind.is_location() {
                Label::Location
            } else {
                Label::Group
            };
            fields.push((i18n::label(lang, label), alert.group.clone()));
        }
        if matches!(
            alert.kind,
            AlertKind::StatusChange
                | AlertKind::Recovery
                | AlertKind::GroupCritical
                | AlertKind::GroupRecovered
        ) {
            fields.push((
                i18n::label(lang, Label::Status),
                transition(lang, alert.old_status, alert.new_status),
            ));
        }
        if let Some(split) = &alert.locations {
            fields.push((
                i18n::label(lang, Label::Locations),
                i18n::locations(lang, split, alert.new_status),
            ));
        }
        fields.push((
            i18n::label(lang, Label::Severity),
            i18n::severity(lang, alert.severity).to_string(),
        ));
        fields.push((
            i18n::label(lang, Label::Time),
            crate::time::rfc3339(alert.at),
        ));
        Message {
            title,
            severity: alert.severity,
            fields,
            text: alert.text.clone(),
            at: alert.at,
            lang,
        }
    }

    /// The test message of the channel named `channel_name`, sent at `now_ms`.
    pub fn test(channel_name: &str, lang: Language, now_ms: i64) -> Message {
        Message {
            title: i18n::test_title(lang, &crate::redact::clip(channel_name, 120)),
            severity: Severity::Info,
            fields: vec![
                (
                    i18n::label(lang, Label::Severity),
                    i18n::severity(lang, Severity::Info).to_string(),
                ),
                (i18n::label(lang, Label::Time), crate::time::rfc3339(now_ms)),
            ],
            text: i18n::test_text(lang).to_string(),
            at: now_ms,
            lang,
        }
    }

    /// Plain text: the headline, one `label: value` line per field, a blank line and the text.
    pub fn plain(&self) -> String {
        let mut out = self.title.clone();
        for (label, value) in &self.fields {
            out.push('\n');
            out.push_str(label);
            out.push_str(": ");
            out.push_str(value);
        }
        if !self.text.is_empty() {
            out.push_str("\n\n");
            out.push_str(&self.text);
        }
        out
    }
}

/// `old → new` (`old ← new` reads the same way in right-to-left text: the arrow points from
/// the old status to the new one).
fn transition(lang: Language, old: Status, new: Status) -> String {
    let arrow = if lang.rtl() { '←' } else { '→' };
    format!(
        "{} {arrow} {}",
        i18n::status(lang, old),
        i18n::status(lang, new)
    )
}

/// How a provider counts the length of text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Count {
    /// Unicode scalar values (Discord, Slack, Opsgenie, PagerDuty).
    Chars,
    /// UTF-16 code units (Telegram counts entity offsets and lengths in them).
    Utf16,
}

impl Count {
    fn of(self, s: &str) -> usize {
        match self {
            Count::Chars => s.chars().count(),
            Count::Utf16 => s.encode_utf16().count(),
        }
    }
}

/// The ellipsis that ends cut text.
pub(crate) const ELLIPSIS: char = '…';

/// `raw` escaped by `escape` (which appends the escaped form of one character), at most
/// `budget` long as `count` measures the escaped text. When it does not fit, it is cut between
/// two characters of `raw` (so never inside an escape such as `&amp;`) and ends with `…`.
pub(crate) fn fit(
    raw: &str,
    budget: usize,
    count: Count,
    escape: impl Fn(char, &mut String),
) -> String {
    let mut out = String::with_capacity(raw.len().min(budget.saturating_mul(4)));
    let mut used = 0;
    let mut piece = String::new();
    let chars: Vec<char> = raw.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        piece.clear();
        escape(*c, &mut piece);
        let n = count.of(&piece);
        // Room for the ellipsis unless this is the last character.
        let reserve = usize::from(i + 1 < chars.len());
        if used + n + reserve > budget {
            if budget > used {
                out.push(ELLIPSIS);
            }
            return out;
        }
        out.push_str(&piece);
        used += n;
    }
    out
}

/// Appends `c`, backslash-escaped when it is a character that starts or ends Markdown
/// (emphasis, code, quotes, headers, lists, links, tables): Discord and Adaptive Cards
/// (Teams) render Markdown, and a backslash before one of these shows it as itself
/// (CommonMark §2.4 backslash escapes, <https://spec.commonmark.org/0.31.2/#backslash-escapes>).
pub(crate) fn markdown(c: char, out: &mut String) {
    if "\\*_~`|>[]()#<-+".contains(c) {
        out.push('\\');
    }
    out.push(c);
}

/// `raw` with Markdown escaped ([`markdown`]), at most `max` characters after escaping.
pub(crate) fn escape_markdown(raw: &str, max: usize) -> String {
    fit(raw, max, Count::Chars, markdown)
}

/// Plain text cut to `max` characters with `…` (no escaping).
pub(crate) fn cut(raw: &str, max: usize) -> String {
    fit(raw, max, Count::Chars, |c, s| s.push(c))
}

/// One line (line breaks and control characters become spaces) of at most `max` characters.
pub(crate) fn one_line(raw: &str, max: usize) -> String {
    let flat: String = raw
        .chars()
        .map(|c| {
            if c.is_control() || c == '\u{2028}' || c == '\u{2029}' {
                ' '
            } else {
                c
            }
        })
        .collect();
    cut(&flat, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn html(c: char, s: &mut String) {
        match c {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            c => s.push(c),
        }
    }

    #[test]
    fn fit_cuts_between_characters_never_inside_an_escape() {
        assert_eq!(fit("a&b", 7, Count::Chars, html), "a&amp;b");
        // "a&amp;" is 6, then b (1) would need room for nothing more: fits exactly at 7.
        assert_eq!(fit("a&bc", 7, Count::Chars, html), "a&amp;…");
        assert_eq!(fit("&&&&", 6, Count::Chars, html), "&amp;…");
        assert_eq!(fit("&&&&", 5, Count::Chars, html), "…");
        for budget in 0..30 {
            let s = fit("x<y&z<<&&w", budget, Count::Utf16, html);
            assert!(s.encode_utf16().count() <= budget.max(1), "{budget} {s}");
            let body = s.trim_end_matches(ELLIPSIS);
            assert!(!body.ends_with('&') && !body.contains("&a…"), "{s}");
        }
        assert_eq!(cut("😀😀😀", 2), "😀…");
        assert_eq!(one_line("a\nb\u{2028}c", 10), "a b c");
    }
}
