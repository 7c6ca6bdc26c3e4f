//! PagerDuty Events API v2: `POST {events}/v2/enqueue`.
//!
//! Source: <https://developer.pagerduty.com/docs/send-alert-event> and
//! <https://developer.pagerduty.com/api-reference/368ae3d938c9e-send-an-event-to-pager-duty>:
//! - `routing_key` (the integration key, 32 characters), `event_action` `trigger`,
//!   `acknowledge` or `resolve`, `dedup_key` (at most 255 characters; a `resolve` closes the
//!   alert opened with the same key), `client`;
//! - `payload` (required for `trigger` only): `summary` (at most 1,024 characters), `source`,
//!   `severity` (`critical`, `error`, `warning` or `info`), `timestamp` (ISO 8601), `group`,
//!   `class`, `custom_details` (an object).
//!
//! Keys and which alerts trigger or resolve: the module `incident`.

use serde_json::{json, Map, Value};

use crate::domain::Severity;

use super::incident::{Action, Incident};
use super::message::{cut, one_line};
use super::{join, post_json, Outbound};

/// PagerDuty's limit on a `dedup_key`.
const MAX_DEDUP_KEY: usize = 255;

fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "critical",
        Severity::Warning => "warning",
        Severity::Info => "info",
    }
}

/// The event of `incident`, sent with `routing_key`.
pub(super) fn event(events: &str, routing_key: &str, incident: &Incident) -> Outbound {
    let key = cut(&incident.key, MAX_DEDUP_KEY);
    let body = match incident.action {
        Action::Resolve => json!({
            "routing_key": routing_key,
            "event_action": "resolve",
            "dedup_key": key,
        }),
        Action::Trigger => {
            let m = &incident.message;
            let summary = if m.text.is_empty() {
                m.title.clone()
            } else {
                format!("{}: {}", m.title, m.text)
            };
            let mut details: Map<String, Value> = incident
                .details
                .iter()
                .map(|(k, v)| ((*k).to_string(), json!(v)))
                .collect();
            if !incident.tags.is_empty() {
                details.insert("tags".into(), json!(incident.tags));
            }
            json!({
                "routing_key": routing_key,
                "event_action": "trigger",
                "dedup_key": key,
                "client": "Lookout",
                "payload": {
                    "summary": one_line(&summary, 1024),
                    "source": incident.source,
                    "severity": severity(m.severity),
                    "timestamp": crate::time::rfc3339(m.at),
                    "group": incident.group,
                    "class": incident.class,
                    "custom_details": details,
                },
            })
        }
    };
    let mut out = post_json(join(events, "/v2/enqueue"), Vec::new(), &body);
    out.incident = Some((incident.action, key));
    out
}
