//! A digest's narrative as the console shows it: the block under the built-in summary on the
//! digests page and on a target's page (`templates/console/narrative.html`, included by
//! both), the global digest's narration counts in one line, and the month's tokens.
//!
//! The block is always marked as generated: a label naming the model and the time, saying the
//! text can be wrong and that the summary above is the one computed from the checks. The text
//! is the model's, so it is printed auto-escaped (never `|safe`) in `<p dir="auto">`: the
//! model may answer in another script than the page's.

use serde_json::Value;

use super::ops::{num, when};
use super::view::Chrome;

/// A digest's narrative, read from the API's `narrative` (`{"generated": true, "model",
/// "text", "generated_at", ...}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NarrativeView {
    /// The model that wrote it (`?` when the API named none).
    pub model: String,
    /// The text as the model wrote it (escaped by the template).
    pub text: String,
    /// When it was written, `YYYY-MM-DD HH:MM UTC` in the reader's digits (empty when
    /// unknown).
    pub at: String,
}

impl NarrativeView {
    /// The narrative of `digest` (a digest's JSON), `None` when it has none or its text is
    /// blank.
    pub fn of(c: &Chrome, digest: &Value) -> Option<NarrativeView> {
        let n = digest.get("narrative")?;
        let text = n["text"]
            .as_str()
            .map(str::trim)
            .filter(|t| !t.is_empty())?;
        Some(NarrativeView {
            model: n["model"]
                .as_str()
                .map(str::trim)
                .filter(|m| !m.is_empty())
                .unwrap_or("?")
                .to_string(),
            text: text.to_string(),
            at: when(c, n["generated_at"].as_i64().unwrap_or(0)),
        })
    }
}

/// The global digest's `narration` in one line: `Narratives this run: 1 written, 1 failed,
/// 812 tokens.`, only the counts that are not zero (`none` when all are); `None` when the
/// digest has no `narration` (no model configured, or a target's digest).
pub fn narration_line(c: &Chrome, digest: &Value) -> Option<String> {
    let n = digest.get("narration").filter(|n| n.is_object())?;
    let counts: [(&str, &str); 11] = [
        ("written", c.t("written", "مكتوبة", "نوشته‌شده")),
        ("reused", c.t("reused", "مُعاد استخدامها", "بازاستفاده")),
        (
            "already_tried",
            c.t(
                "already tried this hour",
                "جُرّبت في هذه الساعة",
                "در این ساعت آزموده‌شده",
            ),
        ),
        (
            "over_budget",
            c.t(
                "over the token budget",
                "فوق ميزانية الرموز",
                "فراتر از بودجهٔ توکن",
            ),
        ),
        (
            "deferred",
            c.t(
                "deferred (the run's window passed)",
                "مؤجلة (انقضت مهلة التشغيل)",
                "به تعویق افتاده (مهلت اجرا گذشت)",
            ),
        ),
        ("failed", c.t("failed", "فاشلة", "ناموفق")),
        ("timed_out", c.t("timed out", "انتهت مهلتها", "پایان مهلت")),
        ("refused", c.t("refused", "مرفوضة", "ردشده")),
        (
            "rate_limited",
            c.t(
                "rate limited (429)",
                "محدودة المعدل (429)",
                "محدودیت نرخ (429)",
            ),
        ),
        (
            "store_errors",
            c.t("storage errors", "أخطاء تخزين", "خطای ذخیره‌سازی"),
        ),
        ("tokens", c.t("tokens", "رمزًا", "توکن")),
    ];
    let parts: Vec<String> = counts
        .iter()
        .filter_map(|(key, word)| {
            let count = n[*key].as_u64().filter(|v| *v > 0)?;
            Some(format!("{} {word}", num(c, count)))
        })
        .collect();
    let list = if parts.is_empty() {
        c.t("none", "لا شيء", "هیچ").to_string()
    } else {
        parts.join(c.t(", ", "، ", "، "))
    };
    Some(format!(
        "{} {list}.",
        c.t(
            "Narratives this run:",
            "السرديات في هذا التشغيل:",
            "روایت‌های این اجرا:"
        )
    ))
}

/// The month's tokens of the budget, from `GET /v1/digests`'s `narratives`: `Language model
/// tokens in 2026-12: 1234 of 2000000.`; `None` when no model is configured.
pub fn tokens_line(c: &Chrome, narratives: &Value) -> Option<String> {
    if narratives["configured"].as_bool() != Some(true) {
        return None;
    }
    let budget = narratives["monthly_token_budget"].as_u64()?;
    Some(format!(
        "{} {}: {} {} {}.",
        c.t(
            "Language model tokens in",
            "رموز النموذج اللغوي في",
            "توکن‌های مدل زبانی در"
        ),
        num(c, narratives["month"].as_str().unwrap_or("")),
        num(c, narratives["tokens_used"].as_u64().unwrap_or(0)),
        c.t("of", "من", "از"),
        num(c, budget),
    ))
}

#[cfg(test)]
mod tests;
