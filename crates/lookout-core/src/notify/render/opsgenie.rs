//! Opsgenie Alert API: create `POST {api}/v2/alerts`, close
//! `POST {api}/v2/alerts/<alias>/close?identifierType=alias`, both with
//! `Authorization: GenieKey <api key>`.
//!
//! Source: <https://docs.opsgenie.com/docs/alert-api>:
//! - Create alert: `message` (required, at most 130 characters), `alias` (at most 512
//!   characters; one open alert per alias, and the identifier later requests use), `description`
//!   (at most 15,000), `tags` (at most 20 of at most 50 characters), `details` (string map, at
//!   most 8,000 characters in all), `entity`, `source` (at most 100), `priority` `P1`..`P5`.
//! - Close alert: the identifier in the path with `identifierType=alias`; body `source`, `note`.
//! - Authentication: <https://docs.opsgenie.com/docs/authentication> (`GenieKey`).
//!
//! The alias is the incident key of the module `incident`, percent-encoded in the close path
//! (it holds `/`).

use serde_json::{json, Map, Value};

use crate::domain::secret_ref::encode_userinfo;
use crate::domain::Severity;

use super::incident::{Action, Incident};
use super::message::{cut, one_line};
use super::{join, post_json, Outbound};

fn priority(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "P1",
        Severity::Warning => "P3",
        Severity::Info => "P5",
    }
}

/// The request of `incident`: a create for a trigger, a close by alias for a resolve.
pub(super) fn request(api: &str, api_key: &str, incident: &Incident) -> Outbound {
    let headers = vec![("Authorization".to_string(), format!("GenieKey {api_key}"))];
    let alias = cut(&incident.key, 512);
    let m = &incident.message;
    let mut out = match incident.action {
        Action::Resolve => post_json(
            join(
                api,
                &format!(
                    "/v2/alerts/{}/close?identifierType=alias",
                    encode_userinfo(&alias)
                ),
            ),
            headers,
            &json!({"source": "lookout", "note": cut(&m.title, 1000)}),
        ),
        Action::Trigger => {
            let mut tags: Vec<String> = Vec::new();
            for t in ["lookout", incident.class]
                .into_iter()
                .map(str::to_string)
                .chain(incident.tags.iter().cloned())
            {
                let t = one_line(&t, 50);
                if !t.trim().is_empty() && !tags.contains(&t) && tags.len() < 20 {
                    tags.push(t);
                }
            }
            let details: Map<String, Value> = incident
                .details
                .iter()
                .map(|(k, v)| ((*k).to_string(), json!(cut(v, 500))))
                .collect();
            let body = json!({
                "message": one_line(&m.title, 130),
                "alias": alias,
                "description": cut(&m.plain(), 15_000),
                "priority": priority(m.severity),
                "tags": tags,
                "details": details,
                "entity": one_line(&incident.source, 512),
                "source": "lookout",
            });
            post_json(join(api, "/v2/alerts"), headers, &body)
        }
    };
    out.incident = Some((incident.action, alias));
    out
}
