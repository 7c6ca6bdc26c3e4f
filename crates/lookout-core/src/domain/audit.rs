//! The audit log's entries: who made an admin write, what it changed (a before/after diff by
//! JSON path, secrets already redacted by the caller), when, and how it ended.
//!
//! The diff ([`diff`]) walks two JSON values: objects are recursed field by field, arrays of the
//! same length are compared by index, arrays of different lengths and values of different types
//! are one change of the whole value. An entry is capped at [`MAX_ENTRY_BYTES`] of JSON
//! ([`AuditEntry::capped`]): the changes (then the objects) that do not fit are left out and
//! counted in [`AuditEntry::cut`].

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Largest audit entry kept, in bytes of its JSON (32 KiB): well under DynamoDB's 400 KB item
/// limit, and small enough that a bulk write of thousands of targets stays one readable entry.
pub const MAX_ENTRY_BYTES: usize = 32 * 1024;

/// Who made the request: the token check's caller, never the token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// `admin`, `read` or `anonymous`.
    pub name: String,
    /// The token's fingerprint (`sha256:` and 12 hex digits of its SHA-256); `None` without a
    /// token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuditResult {
    /// 1xx–3xx: done.
    Ok,
    /// 4xx: refused (bad input, conflict, not found); nothing changed.
    Refused,
    /// 5xx: failed.
    Failed,
}

/// The outcome of an audited request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditOutcome {
    /// The HTTP status answered.
    pub status: u16,
    /// `ok`, `refused` or `failed`, from the status.
    pub result: AuditResult,
    /// The error code of the answer (`{"error":{"code"}}`) when refused or failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

impl AuditOutcome {
    /// The outcome of an answer with HTTP `status` and, for an error, its `code`.
    pub fn of_status(status: u16, code: Option<String>) -> Self {
        let result = match status {
            ..=399 => AuditResult::Ok,
            400..=499 => AuditResult::Refused,
            _ => AuditResult::Failed,
        };
        AuditOutcome {
            status,
            result,
            code: if result == AuditResult::Ok {
                None
            } else {
                code
            },
        }
    }
}

/// One changed JSON path: its value before and after (`None`: absent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    /// The object the path is in (`target:web-1`), when the entry names it (the API always
    /// does: an entry of a bulk write holds the changes of several objects).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// The path: field names joined with `.`, array indexes as `[i]` (`check.headers[0]`);
    /// empty for the whole value.
    pub path: String,
    /// The value before; `None` when the path did not exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    /// The value after; `None` when the path no longer exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
}

/// What [`AuditEntry::capped`] left out to stay under [`MAX_ENTRY_BYTES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Cut {
    /// Changes left out (the last ones).
    pub changes: usize,
    /// Objects left out (the last ones).
    pub objects: usize,
}

/// One audit entry: one admin write.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Unique id (32 hex digits).
    pub id: String,
    /// When the request was answered, epoch ms.
    pub at: i64,
    /// Who.
    pub actor: Actor,
    /// The HTTP method (`POST`, `PUT`, `PATCH`, `DELETE`).
    pub method: String,
    /// The route template (`/v1/targets/{id}`).
    pub route: String,
    /// The objects written, `<kind>:<id>` (`target:web-1`, `channel:ops`, `lease:server`);
    /// several for a bulk write, none when the request named none.
    #[serde(default)]
    pub objects: Vec<String>,
    /// The change: each JSON path that changed, with its old and new values (secrets already
    /// redacted). Empty for a refused request or one that changes nothing.
    #[serde(default)]
    pub changes: Vec<FieldChange>,
    /// What was left out to keep the entry under [`MAX_ENTRY_BYTES`]; `None` when nothing was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cut: Option<Cut>,
    /// How it ended.
    pub outcome: AuditOutcome,
}

impl AuditEntry {
    /// Whether `object` is one of the entry's objects: an exact match, or a kind (`target`,
    /// `target:`) matching every object of that kind.
    pub fn names(&self, object: &str) -> bool {
        let kind = object
            .strip_suffix(':')
            .or((!object.contains(':')).then_some(object));
        match kind {
            Some(kind) => self
                .objects
                .iter()
                .any(|o| o.split_once(':').is_some_and(|(k, _)| k == kind)),
            None => self.objects.iter().any(|o| o == object),
        }
    }

    /// The bytes of the entry's JSON.
    pub fn size(&self) -> usize {
        serde_json::to_vec(self).map_or(0, |v| v.len())
    }

    /// The entry under [`MAX_ENTRY_BYTES`]: when larger, the last changes are left out (then,
    /// if the objects alone are too many, the last objects), and [`AuditEntry::cut`] says how
    /// many.
    pub fn capped(self) -> Self {
        self.capped_at(MAX_ENTRY_BYTES)
    }

    /// [`AuditEntry::capped`] with a cap of `max` bytes.
    pub fn capped_at(mut self, max: usize) -> Self {
        if self.size() <= max {
            return self;
        }
        // Room for the `cut` field and its numbers.
        let max = max.saturating_sub(64);
        let changes = std::mem::take(&mut self.changes);
        let objects = std::mem::take(&mut self.objects);
        let mut cut = Cut::default();
        let base = self.size();
        let (objects, left_out) = prefix_within(objects, max.saturating_sub(base) / 2);
        cut.objects = left_out;
        self.objects = objects;
        let room = max.saturating_sub(self.size());
        let (changes, left_out) = prefix_within(changes, room);
        cut.changes = left_out;
        self.changes = changes;
        self.cut = Some(cut);
        self
    }
}

/// The longest prefix of `items` whose JSON (with a separator each) fits in `room` bytes, and
/// how many were left out.
fn prefix_within<T: Serialize>(items: Vec<T>, room: usize) -> (Vec<T>, usize) {
    let total = items.len();
    let mut used = 0usize;
    let mut kept = Vec::new();
    for item in items {
        let bytes = serde_json::to_vec(&item).map_or(usize::MAX, |v| v.len()) + 1;
        if used.saturating_add(bytes) > room {
            break;
        }
        used += bytes;
        kept.push(item);
    }
    let left_out = total - kept.len();
    (kept, left_out)
}

/// The paths that differ from `before` to `after`, in path order. An absent side of an object
/// counts as `{}`, so a created object lists each of its fields as added and a deleted one each
/// as removed. Equal values give no change.
pub fn diff(before: Option<&Value>, after: Option<&Value>) -> Vec<FieldChange> {
    let empty = Value::Object(Map::new());
    let before = before.or(after.filter(|a| a.is_object()).map(|_| &empty));
    let after = after.or(before.filter(|b| b.is_object()).map(|_| &empty));
    let mut out = Vec::new();
    walk(String::new(), before, after, &mut out);
    out
}

fn walk(path: String, before: Option<&Value>, after: Option<&Value>, out: &mut Vec<FieldChange>) {
    match (before, after) {
        (Some(b), Some(a)) if b == a => {}
        (Some(Value::Object(b)), Some(Value::Object(a))) => {
            let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let sub = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                walk(sub, b.get(k), a.get(k), out);
            }
        }
        (Some(Value::Array(b)), Some(Value::Array(a))) if b.len() == a.len() => {
            for (i, (bv, av)) in b.iter().zip(a).enumerate() {
                walk(format!("{path}[{i}]"), Some(bv), Some(av), out);
            }
        }
        (None, None) => {}
        (b, a) => out.push(FieldChange {
            object: None,
            path,
            before: b.cloned(),
            after: a.cloned(),
        }),
    }
}

#[cfg(test)]
mod tests;
