//! What the detail page shows, read out of the API's JSON answers: [`DetailPage`] (the
//! template `templates/console/detail.html`) and the latency chart ([`LatencyChart`]).

use serde_json::Value;

use super::super::targets::{status_class, status_word};
use super::super::narrative::NarrativeView;
use super::super::view::Chrome;
use crate::page::labels::Labels;

/// `ms` (epoch) as `2026-12-02 13:38:35 UTC` in the digits of `l`'s language (the status
/// page's [`crate::page::labels`]); empty for 0 or out of range.
pub fn when(l: &Labels, ms: i64) -> String {
    if ms <= 0 {
        return String::new();
    }
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| l.digits(&t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string()))
        .unwrap_or_default()
}

/// A JSON time (epoch ms or RFC 3339) as [`when`] writes it; empty for `null`, the text as it
/// is when not a time.
pub fn when_value(l: &Labels, v: &Value) -> String {
    match v {
        Value::Number(n) => n.as_i64().map(|ms| when(l, ms)).unwrap_or_default(),
        Value::String(s) => s
            .parse::<jiff::Timestamp>()
            .map(|t| when(l, t.as_millisecond()))
            .unwrap_or_else(|_| s.clone()),
        _ => String::new(),
    }
}

/// A JSON value as one line of text: strings as they are, arrays joined by `, `, objects as
/// compact JSON, `null` empty.
pub fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(text).collect::<Vec<_>>().join(", "),
        Value::Object(o) if o.is_empty() => String::new(),
        other => other.to_string(),
    }
}

/// One check result.
pub struct ResultRow {
    /// When, UTC.
    pub at: String,
    /// The outcome as the API spells it (`up`, `failed`, `blocked`...).
    pub outcome: String,
    /// The status page's CSS class of the outcome.
    pub class: &'static str,
    /// Latency, ms.
    pub latency: String,
    /// The HTTP status, if any.
    pub http: String,
    /// The error kind, if any.
    pub error: String,
    /// The message (redacted by the API).
    pub message: String,
}

/// One alert of the target.
pub struct AlertRow {
    /// The alert's key.
    pub key: String,
    /// When, UTC.
    pub at: String,
    /// `critical`, `warning`, `info`.
    pub severity: String,
    /// Its subject.
    pub subject: String,
    /// Its text.
    pub text: String,
    /// Whether it was published.
    pub published: bool,
}

/// One anomaly of the digest.
pub struct AnomalyRow {
    /// The detector's kind.
    pub kind: String,
    /// What was seen against what is usual.
    pub explanation: String,
    /// What to check or do.
    pub recommendation: String,
}

/// The latest digest of the target.
pub struct DigestView {
    /// The hour covered, UTC.
    pub hour: String,
    /// The summary in plain words.
    pub summary: String,
    /// Recommendations, most urgent first.
    pub recommendations: Vec<String>,
    /// Anomalies of the hour.
    pub anomalies: Vec<AnomalyRow>,
    /// A language model's retelling, when one (shown marked as generated).
    pub narrative: Option<NarrativeView>,
}

/// One location's verdict.
pub struct LocationRow {
    /// The location (an AWS region).
    pub location: String,
    /// Its status word.
    pub status: String,
    /// The CSS class of the status.
    pub class: &'static str,
    /// Latency, ms.
    pub latency: String,
    /// When, UTC.
    pub at: String,
}

/// A heartbeat's ping.
pub struct PingRow {
    /// When, UTC.
    pub at: String,
    /// `ok`, `fail`, `start`...
    pub status: String,
    /// Its message (redacted by the API).
    pub message: String,
}

/// The response-time chart: the results' latency, oldest to newest, as an SVG polyline.
pub struct LatencyChart {
    /// `x,y` pairs in the 600×120 view box.
    pub points: String,
    /// Failed results: `(x, y)` of a mark on the base line.
    pub failures: Vec<(u32, u32)>,
    /// The answered results' points as marks too (`x`, `y` with one decimal), so that a chart
    /// of one result, which draws no line, still shows it.
    pub dots: Vec<(String, String)>,
    /// The top of the y axis, ms.
    pub top_ms: u64,
    /// Results drawn.
    pub count: usize,
}

/// Chart width and height in the SVG's units.
const W: f64 = 600.0;
const H: f64 = 120.0;

impl LatencyChart {
    /// The chart of `results` (newest first, as the page lists them).
    pub fn of(results: &[Value]) -> LatencyChart {
        let ordered: Vec<&Value> = results.iter().rev().collect();
        let top = ordered
            .iter()
            .filter_map(|r| r["latency_ms"].as_u64())
            .max()
            .unwrap_or(0);
        let top_ms = crate::target_page::chart::nice_ceiling(top.max(1));
        let n = ordered.len();
        let x = |i: usize| {
            if n <= 1 {
                W / 2.0
            } else {
                i as f64 * W / (n - 1) as f64
            }
        };
        let mut points = Vec::new();
        let mut failures = Vec::new();
        let mut dots = Vec::new();
        for (i, r) in ordered.iter().enumerate() {
            let up = matches!(r["outcome"].as_str(), Some("up" | "slow" | "degraded"));
            if !up {
                failures.push((x(i).round() as u32, H as u32 - 4));
                continue;
            }
            let ms = r["latency_ms"].as_u64().unwrap_or(0) as f64;
            let y = H - (ms / top_ms as f64) * (H - 8.0) - 4.0;
            points.push(format!("{:.1},{:.1}", x(i), y));
            dots.push((format!("{:.1}", x(i)), format!("{y:.1}")));
        }
        LatencyChart {
            points: points.join(" "),
            failures,
            dots,
            top_ms,
            count: n,
        }
    }
}

/// `templates/console/detail.html`.
#[derive(askama::Template)]
#[template(path = "console/detail.html")]
pub struct DetailPage<'a> {
    /// The frame.
    pub c: &'a Chrome,
    /// The target's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its definition's kind.
    pub kind: String,
    /// Its group.
    pub group: String,
    /// Its failover priority (lower first), from the status row.
    pub priority: String,
    /// Whether it is enabled.
    pub enabled: bool,
    /// Its status as the API spells it.
    pub status: String,
    /// The CSS class of the status.
    pub class: &'static str,
    /// Since when, UTC.
    pub since: String,
    /// The last error (the state's).
    pub reason: String,
    /// Consecutive failures.
    pub consecutive_failures: u64,
    /// Checks and failures counted.
    pub checks: String,
    /// Whether it is flapping.
    pub flapping: bool,
    /// The maintenance window now, if one.
    pub maintenance: Option<String>,
    /// The definition's fields as the API answered them (redacted), name and value.
    pub facts: Vec<(String, String)>,
    /// The newest results first.
    pub results: Vec<ResultRow>,
    /// The target's alerts, newest first.
    pub alerts: Vec<AlertRow>,
    /// The latest digest.
    pub digest: Option<DigestView>,
    /// Uptime windows: name and percent.
    pub uptime: Vec<(String, String)>,
    /// Per-location verdicts.
    pub locations: Vec<LocationRow>,
    /// The certificate: days left, or `None` when there is no certificate to speak of.
    pub cert_days: Option<i64>,
    /// The certificate's words (a TLS check's message: subject, issuer).
    pub cert_text: String,
    /// Whether the target has a certificate at all (HTTPS, TLS, a TLS proxy...).
    pub has_cert: bool,
    /// A heartbeat's last pings.
    pub pings: Vec<PingRow>,
    /// The response-time chart.
    pub chart: LatencyChart,
}

impl<'a> DetailPage<'a> {
    /// The page of target `id` from the API's answers.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        c: &'a Chrome,
        id: &str,
        one: &Value,
        results: &[Value],
        alerts: &[Value],
        digest: Option<Value>,
        uptime: &Value,
        row: &Value,
        pings: Option<Value>,
        chart: LatencyChart,
    ) -> DetailPage<'a> {
        let l = crate::page::labels::labels(Some(c.code()));
        let t = &one["target"];
        let st = &one["state"];
        let s = |v: &Value| v.as_str().unwrap_or("").to_string();
        let status = st["status"].as_str().unwrap_or("unknown").to_string();
        let kind = s(&t["kind"]);
        let facts = t
            .as_object()
            .map(|o| {
                o.iter()
                    .filter(|(k, _)| !matches!(k.as_str(), "id" | "name" | "kind" | "group"))
                    .map(|(k, v)| (k.clone(), text(v)))
                    .filter(|(_, v)| !v.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let last = &one["last_result"];
        let cert_days = last["cert_days_left"].as_i64();
        let address = [&t["url"], &t["proxy_url"]]
            .iter()
            .find_map(|v| v.as_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        let has_cert = cert_days.is_some()
            || kind == "tls"
            || address.starts_with("https://")
            || t["test_urls"].as_array().is_some_and(|u| {
                u.iter()
                    .any(|u| u.as_str().is_some_and(|u| u.starts_with("https://")))
            });
        DetailPage {
            c,
            id: id.to_string(),
            name: t["name"]
                .as_str()
                .filter(|n| !n.is_empty())
                .unwrap_or(id)
                .to_string(),
            group: s(&t["group"]),
            priority: text(&row["priority"]),
            enabled: t["enabled"].as_bool().unwrap_or(true),
            class: status_class(&status),
            since: when_value(l, &st["status_since"]),
            reason: s(&st["last_error"]),
            consecutive_failures: st["consecutive_failures"].as_u64().unwrap_or(0),
            checks: format!(
                "{} / {}",
                st["checks"].as_u64().unwrap_or(0),
                st["failures"].as_u64().unwrap_or(0)
            ),
            flapping: st["flapping"].as_bool().unwrap_or(false),
            maintenance: one["maintenance"]
                .is_object()
                .then(|| text(&one["maintenance"]["reason"])),
            status,
            kind,
            facts,
            results: results.iter().map(|r| result_row(l, r)).collect(),
            alerts: alerts.iter().map(|a| alert_row(l, a)).collect(),
            digest: digest.map(|d| digest_view(c, l, &d)),
            uptime: uptime["windows"]
                .as_array()
                .map(|w| {
                    w.iter()
                        .map(|w| {
                            (
                                s(&w["window"]),
                                w["uptime_percent"]
                                    .as_f64()
                                    .map_or_else(|| "–".to_string(), |p| format!("{p:.3} %")),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default(),
            locations: row["locations"]
                .as_array()
                .map(|list| {
                    list.iter()
                        .map(|v| {
                            let st = s(&v["status"]);
                            LocationRow {
                                location: s(&v["location"]),
                                class: status_class(&st),
                                status: st,
                                latency: v["latency_ms"]
                                    .as_u64()
                                    .map(|m| format!("{m} ms"))
                                    .unwrap_or_default(),
                                at: when_value(l, &v["at"]),
                            }
                        })
                        .collect()
                })
                .unwrap_or_default(),
            cert_days,
            cert_text: if one["target"]["kind"].as_str() == Some("tls") {
                s(&last["message"])
            } else {
                String::new()
            },
            has_cert,
            pings: pings
                .and_then(|p| p["pings"].as_array().cloned())
                .map(|p| {
                    p.iter()
                        .map(|p| PingRow {
                            at: when_value(l, &p["at"]),
                            status: s(&p["status"]),
                            message: text(&p["message"]),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            chart,
        }
    }

    /// A status word in the reader's language.
    pub fn word(&self, status: &str) -> String {
        word(self.c, status)
    }

    /// `c.href("/targets/<id>")` + `tail`.
    pub fn here(&self, tail: &str) -> String {
        self.c.href(&format!("/targets/{}{tail}", self.id))
    }
}

/// A status word of the API (`healthy`, `degraded`, `down`, `blocked`, `unknown`, or the list's
/// `up`) in the reader's language; other words as they are.
pub fn word(c: &Chrome, status: &str) -> String {
    status_word(c, status)
}

fn result_row(l: &Labels, r: &Value) -> ResultRow {
    let outcome = r["outcome"].as_str().unwrap_or("").to_string();
    ResultRow {
        at: when_value(l, &r["at"]),
        class: status_class(match outcome.as_str() {
            "failed" | "blocked" => "down",
            "slow" => "degraded",
            o => o,
        }),
        latency: text(&r["latency_ms"]),
        http: text(&r["status_code"]),
        error: text(&r["error"]),
        message: text(&r["message"]),
        outcome,
    }
}

fn alert_row(l: &Labels, r: &Value) -> AlertRow {
    let a = &r["alert"];
    AlertRow {
        key: text(&a["key"]),
        at: when_value(l, &a["at"]),
        severity: text(&a["severity"]),
        subject: text(&a["subject"]),
        text: text(&a["text"]),
        published: r["published"].as_bool().unwrap_or(false),
    }
}

fn digest_view(c: &Chrome, l: &Labels, d: &Value) -> DigestView {
    DigestView {
        narrative: NarrativeView::of(c, d),
        hour: format!(
            "{} – {}",
            when_value(l, &d["start"]),
            when_value(l, &d["end"])
        ),
        summary: text(&d["summary"]),
        recommendations: d["recommendations"]
            .as_array()
            .map(|r| r.iter().map(text).collect())
            .unwrap_or_default(),
        anomalies: d["anomalies"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|a| AnomalyRow {
                        kind: text(&a["kind"]),
                        explanation: text(&a["explanation"]),
                        recommendation: text(&a["recommendation"]),
                    })
                    .collect()
            })
            .unwrap_or_default(),
    }
}
