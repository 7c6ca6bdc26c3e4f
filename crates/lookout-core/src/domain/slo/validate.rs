//! SLOs as an operator writes them: the body of `POST /v1/slos` ([`SloDraft`]) and of
//! `PATCH /v1/slos/{id}` ([`SloPatch`], a JSON merge patch, RFC 7396), parsed and validated
//! with the offending field's JSON path in every refusal (as `domain/incident/validate.rs` does
//! for incidents).
//!
//! The rules: `id` as a target's (1 to 64 characters of `a-z`, `0-9`, `-`, `_`, `.`, not `.`
//! or `..`); `name` 1 to [`MAX_NAME_CHARS`] characters, not blank; `description` at most
//! [`MAX_DESCRIPTION_CHARS`]; exactly one of `target`, `group`, `tag` (1 to
//! [`MAX_SELECTOR_CHARS`] characters); `objective` above 0 and at most [`MAX_OBJECTIVE`]
//! percent; `window` `28d`, `30d` or `calendar_month`; `sli` `{"type": "availability"}` or
//! `{"type": "latency", "threshold_ms": 1..=120000}`.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

use super::{Sli, Slo, SloSelector, SloWindow, MAX_OBJECTIVE};

/// Longest name, characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest description, characters.
pub const MAX_DESCRIPTION_CHARS: usize = 1_000;
/// Longest target id, group or tag a selector names, characters (a target's id and group are
/// at most 64).
pub const MAX_SELECTOR_CHARS: usize = 64;
/// Longest id, characters (as a target's).
pub const MAX_ID_CHARS: usize = 64;
/// Highest latency threshold, ms (2 minutes: longer than any check's timeout).
pub const MAX_THRESHOLD_MS: u64 = 120_000;

/// An SLO draft or patch that is not acceptable, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct SloError {
    /// The offending field's JSON path, e.g. `objective`, `sli.threshold_ms`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> SloError {
    SloError {
        field: field.into(),
        message: message.into(),
    }
}

/// An SLI's `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SliKind {
    /// Successful checks / checks.
    Availability,
    /// Successful checks within `threshold_ms` / successful checks.
    Latency,
}

/// An SLI as written: `{"type": "availability"}` or `{"type": "latency", "threshold_ms": N}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SliBody {
    /// `availability` or `latency`.
    #[serde(rename = "type")]
    pub kind: SliKind,
    /// The latency a good check stays within, ms (1 to [`MAX_THRESHOLD_MS`]); only for
    /// `latency`, where it is required.
    #[serde(default)]
    pub threshold_ms: Option<u64>,
}

/// The body of `POST /v1/slos`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SloDraft {
    /// The SLO's id (as a target's).
    pub id: String,
    /// Its name, 1 to [`MAX_NAME_CHARS`] characters.
    pub name: String,
    /// Words for people, at most [`MAX_DESCRIPTION_CHARS`] characters.
    #[serde(default)]
    pub description: Option<String>,
    /// One target, by id (exactly one of `target`, `group`, `tag`).
    #[serde(default)]
    pub target: Option<String>,
    /// Every target of a group or pool.
    #[serde(default)]
    pub group: Option<String>,
    /// Every target carrying a tag.
    #[serde(default)]
    pub tag: Option<String>,
    /// The objective, percent (above 0, at most [`MAX_OBJECTIVE`]).
    pub objective: f64,
    /// `28d`, `30d` or `calendar_month`.
    pub window: SloWindow,
    /// What a good event is.
    pub sli: SliBody,
    /// Leave checks made in a maintenance window out (default true).
    #[serde(default)]
    pub exclude_maintenance: Option<bool>,
    /// Raise the burn-rate alerts (default true).
    #[serde(default)]
    pub alerts: Option<bool>,
}

/// A new SLI in a patch: a `type` other than the stored one replaces the SLI; without one (or
/// the same one) `threshold_ms` changes the stored latency threshold.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SliPatch {
    /// `availability` or `latency`.
    #[serde(rename = "type", default)]
    pub kind: Option<SliKind>,
    /// The latency threshold, ms.
    #[serde(default)]
    pub threshold_ms: Option<u64>,
}

/// The body of `PATCH /v1/slos/{id}` without its `version`: a JSON merge patch (RFC 7396) of
/// the fields an operator may change. An absent field stays; `null` removes an optional one
/// (`description`) or restores a default (`exclude_maintenance`, `alerts`) and is refused for a
/// required one. A selector given (`target`, `group` or `tag`) replaces the stored one: an SLO
/// has exactly one, so the others need not be set to `null`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SloPatch {
    /// The id: accepted only unchanged.
    #[serde(default)]
    pub id: Option<String>,
    /// A new name.
    #[serde(default, deserialize_with = "present")]
    pub name: Option<Option<String>>,
    /// A new description; `null` removes it.
    #[serde(default, deserialize_with = "present")]
    pub description: Option<Option<String>>,
    /// A new target (the selector becomes this target).
    #[serde(default, deserialize_with = "present")]
    pub target: Option<Option<String>>,
    /// A new group.
    #[serde(default, deserialize_with = "present")]
    pub group: Option<Option<String>>,
    /// A new tag.
    #[serde(default, deserialize_with = "present")]
    pub tag: Option<Option<String>>,
    /// A new objective, percent.
    #[serde(default, deserialize_with = "present")]
    pub objective: Option<Option<f64>>,
    /// A new window.
    #[serde(default, deserialize_with = "present")]
    pub window: Option<Option<SloWindow>>,
    /// A new SLI, or a new latency threshold.
    #[serde(default, deserialize_with = "present")]
    pub sli: Option<Option<SliPatch>>,
    /// Leave maintenance out; `null`: the default (true).
    #[serde(default, deserialize_with = "present")]
    pub exclude_maintenance: Option<Option<bool>>,
    /// Raise the burn-rate alerts; `null`: the default (true).
    #[serde(default, deserialize_with = "present")]
    pub alerts: Option<Option<bool>>,
}

/// A field that is present (even `null`) as `Some`, so that `null` can mean "remove".
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// `value` as `T`, a refusal naming the field's path (`.` for the whole body).
fn parse<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, SloError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let message = e.inner().to_string();
        let mut path = e.path().to_string();
        // A missing field is reported at its parent: name the field itself.
        if let Some(name) = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
        {
            path = if path == "." {
                name.to_owned()
            } else {
                format!("{path}.{name}")
            };
        }
        invalid(path, message)
    })
}

impl SloDraft {
    /// The draft in a JSON body.
    ///
    /// # Errors
    /// A missing or unknown field, a field of the wrong type, an unknown window or SLI type,
    /// named by its path.
    pub fn parse(value: serde_json::Value) -> Result<Self, SloError> {
        parse(value)
    }
}

impl SloPatch {
    /// The patch in a JSON body (without `version`).
    ///
    /// # Errors
    /// As [`SloDraft::parse`].
    pub fn parse(value: serde_json::Value) -> Result<Self, SloError> {
        parse(value)
    }
}

/// Checks `id`: 1 to 64 characters of `a-z`, `0-9`, `-`, `_`, `.`, not `.` or `..` (a target's
/// id rules, so that it is a path segment as it stands).
///
/// # Errors
/// [`SloError`] naming `id`.
pub fn check_id(id: &str) -> Result<(), SloError> {
    let ok = (1..=MAX_ID_CHARS).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b))
        && id != "."
        && id != "..";
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "id",
            "1 to 64 characters of a-z, 0-9, '-', '_' or '.' (not \".\" or \"..\")",
        ))
    }
}

/// Checks a text's length and characters (line feeds and tabs allowed when `lines`).
fn check_text(
    field: &str,
    text: &str,
    min: usize,
    max: usize,
    lines: bool,
) -> Result<(), SloError> {
    let chars = text.chars().count();
    if chars < min || chars > max {
        return Err(invalid(
            field,
            format!("{min} to {max} characters, not {chars}"),
        ));
    }
    if min > 0 && text.trim().is_empty() {
        return Err(invalid(field, "must not be blank"));
    }
    if text
        .chars()
        .any(|c| c.is_control() && !(lines && (c == '\n' || c == '\r' || c == '\t')))
    {
        return Err(invalid(field, "control characters are not allowed"));
    }
    Ok(())
}

fn check_objective(objective: f64) -> Result<(), SloError> {
    if objective.is_finite() && objective > 0.0 && objective <= MAX_OBJECTIVE {
        Ok(())
    } else {
        Err(invalid(
            "objective",
            format!("a percentage above 0 and at most {MAX_OBJECTIVE}, not {objective}"),
        ))
    }
}

/// The one selector of `target`, `group`, `tag`.
fn selector(
    target: Option<String>,
    group: Option<String>,
    tag: Option<String>,
) -> Result<SloSelector, SloError> {
    let given: Vec<SloSelector> = [
        target.map(SloSelector::Target),
        group.map(SloSelector::Group),
        tag.map(SloSelector::Tag),
    ]
    .into_iter()
    .flatten()
    .collect();
    match given.as_slice() {
        [] => Err(invalid(
            "target",
            "an SLO needs exactly one of target, group or tag",
        )),
        [one] => {
            check_text(one.field(), one.value(), 1, MAX_SELECTOR_CHARS, false)?;
            Ok(one.clone())
        }
        [first, second, ..] => Err(invalid(
            second.field(),
            format!(
                "exactly one of target, group or tag: {} is given too",
                first.field()
            ),
        )),
    }
}

fn sli(kind: SliKind, threshold_ms: Option<u64>) -> Result<Sli, SloError> {
    match (kind, threshold_ms) {
        (SliKind::Availability, None) => Ok(Sli::Availability),
        (SliKind::Availability, Some(_)) => Err(invalid(
            "sli.threshold_ms",
            "only for a latency SLI (\"type\": \"latency\")",
        )),
        (SliKind::Latency, None) => Err(invalid(
            "sli.threshold_ms",
            format!("required for a latency SLI: 1 to {MAX_THRESHOLD_MS} ms"),
        )),
        (SliKind::Latency, Some(t)) if (1..=MAX_THRESHOLD_MS).contains(&t) => {
            Ok(Sli::Latency { threshold_ms: t })
        }
        (SliKind::Latency, Some(t)) => Err(invalid(
            "sli.threshold_ms",
            format!("1 to {MAX_THRESHOLD_MS} ms, not {t}"),
        )),
    }
}

fn kind_of(sli: Sli) -> SliKind {
    match sli {
        Sli::Availability => SliKind::Availability,
        Sli::Latency { .. } => SliKind::Latency,
    }
}

fn required<T>(field: &str, value: Option<T>) -> Result<T, SloError> {
    value.ok_or_else(|| invalid(field, "required: it cannot be removed"))
}

impl Slo {
    /// A new SLO from `draft`, created at `now` (epoch ms), version 1.
    ///
    /// # Errors
    /// The first rule the draft breaks, naming the field (see the module's rules).
    pub fn from_draft(draft: SloDraft, now: i64) -> Result<Slo, SloError> {
        check_id(&draft.id)?;
        check_text("name", &draft.name, 1, MAX_NAME_CHARS, false)?;
        if let Some(d) = &draft.description {
            check_text("description", d, 0, MAX_DESCRIPTION_CHARS, true)?;
        }
        let selector = selector(draft.target, draft.group, draft.tag)?;
        check_objective(draft.objective)?;
        let sli = sli(draft.sli.kind, draft.sli.threshold_ms)?;
        Ok(Slo {
            id: draft.id,
            name: draft.name.trim().to_owned(),
            description: draft.description.filter(|d| !d.trim().is_empty()),
            selector,
            objective: draft.objective,
            window: draft.window,
            sli,
            exclude_maintenance: draft.exclude_maintenance.unwrap_or(true),
            alerts: draft.alerts.unwrap_or(true),
            version: 1,
            created_at: now,
            updated_at: now,
        })
    }

    /// Applies an operator's `patch` at `now` (epoch ms): the fields it gives replace the
    /// stored ones, the version goes up by one and `updated_at` is `now`. Nothing changes when
    /// it fails.
    ///
    /// # Errors
    /// As [`Slo::from_draft`]; `id` when it differs; a required field set to `null`; two
    /// selectors given; a selector set to `null` with none given instead.
    pub fn apply_patch(&mut self, patch: SloPatch, now: i64) -> Result<(), SloError> {
        let mut next = self.clone();
        if patch.id.as_ref().is_some_and(|id| *id != self.id) {
            return Err(invalid("id", "cannot change; create another SLO instead"));
        }
        if let Some(name) = patch.name {
            let name = required("name", name)?;
            check_text("name", &name, 1, MAX_NAME_CHARS, false)?;
            next.name = name.trim().to_owned();
        }
        match patch.description {
            Some(Some(d)) => {
                check_text("description", &d, 0, MAX_DESCRIPTION_CHARS, true)?;
                next.description = Some(d).filter(|d| !d.trim().is_empty());
            }
            Some(None) => next.description = None,
            None => {}
        }
        let named = [&patch.target, &patch.group, &patch.tag];
        if named.iter().any(|s| s.is_some()) {
            let given = |s: &Option<Option<String>>| s.clone().flatten();
            if named.iter().any(|s| matches!(s, Some(Some(_)))) {
                next.selector =
                    selector(given(&patch.target), given(&patch.group), given(&patch.tag))?;
            } else {
                // Only `null`s: removing the stored selector leaves the SLO without one.
                let field = self.selector.field();
                let cleared = match field {
                    "target" => patch.target.is_some(),
                    "group" => patch.group.is_some(),
                    _ => patch.tag.is_some(),
                };
                if cleared {
                    return Err(invalid(
                        field,
                        "an SLO needs exactly one of target, group or tag: give another one instead",
                    ));
                }
            }
        }
        if let Some(o) = patch.objective {
            let o = required("objective", o)?;
            check_objective(o)?;
            next.objective = o;
        }
        if let Some(w) = patch.window {
            next.window = required("window", w)?;
        }
        if let Some(s) = patch.sli {
            let s = required("sli", s)?;
            let kind = s.kind.unwrap_or(kind_of(self.sli));
            let threshold = match (s.threshold_ms, self.sli) {
                (Some(t), _) => Some(t),
                (None, Sli::Latency { threshold_ms }) if kind == SliKind::Latency => {
                    Some(threshold_ms)
                }
                (None, _) => None,
            };
            next.sli = sli(kind, threshold)?;
        }
        if let Some(x) = patch.exclude_maintenance {
            next.exclude_maintenance = x.unwrap_or(true);
        }
        if let Some(a) = patch.alerts {
            next.alerts = a.unwrap_or(true);
        }
        next.version = self.version + 1;
        next.updated_at = now;
        *self = next;
        Ok(())
    }
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
