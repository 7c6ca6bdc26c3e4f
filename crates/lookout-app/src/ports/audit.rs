//! The audit log of admin writes ([`AuditEntry`]): written once per admin request, read newest
//! first with filters and a cursor.

use std::future::Future;

use super::StoreError;
use lookout_core::domain::audit::AuditEntry;
use lookout_core::time::DAY_MS;

/// Entries of a page when the query names no limit.
pub const DEFAULT_AUDIT_LIMIT: usize = 100;
/// Most entries of one page.
pub const MAX_AUDIT_LIMIT: usize = 1000;
/// Days read back from `until` when the query names no `since` (30).
pub const DEFAULT_AUDIT_SPAN_DAYS: i64 = 30;
/// Longest span one query reads, in days (400, the default retention): the DynamoDB adapter
/// asks one partition per day.
pub const MAX_AUDIT_SPAN_DAYS: i64 = 400;

/// Which entries to read: from `since` to `until` (epoch ms, both inclusive), of one actor and
/// one object, at most `limit`, after `cursor`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    /// Oldest `at`, epoch ms.
    pub since: i64,
    /// Newest `at`, epoch ms.
    pub until: i64,
    /// The actor's name (`admin`) or token fingerprint (`sha256:…`); `None`: any.
    pub actor: Option<String>,
    /// An object (`target:web-1`) or a kind of object (`target`); `None`: any
    /// ([`AuditEntry::names`]).
    pub object: Option<String>,
    /// Most entries answered (1 to [`MAX_AUDIT_LIMIT`]).
    pub limit: usize,
    /// The previous page's [`AuditPage::next_cursor`]: only entries older than it.
    pub cursor: Option<AuditCursor>,
}

impl AuditQuery {
    /// The last [`DEFAULT_AUDIT_SPAN_DAYS`] days to `now_ms`, any actor and object,
    /// [`DEFAULT_AUDIT_LIMIT`] entries.
    pub fn recent(now_ms: i64) -> Self {
        AuditQuery {
            since: now_ms - DEFAULT_AUDIT_SPAN_DAYS * DAY_MS,
            until: now_ms,
            actor: None,
            object: None,
            limit: DEFAULT_AUDIT_LIMIT,
            cursor: None,
        }
    }

    /// The newest instant still to read: `until`, or just before the cursor's entry.
    pub fn upper(&self) -> i64 {
        self.cursor
            .as_ref()
            .map_or(self.until, |c| c.at.min(self.until))
    }

    /// Whether `entry` passes the filters (time, actor, object, and older than the cursor).
    pub fn matches(&self, entry: &AuditEntry) -> bool {
        entry.at >= self.since
            && entry.at <= self.until
            && self
                .cursor
                .as_ref()
                .is_none_or(|c| (entry.at, entry.id.as_str()) < (c.at, c.id.as_str()))
            && self.actor.as_ref().is_none_or(|a| {
                entry.actor.name == *a || entry.actor.id.as_deref() == Some(a.as_str())
            })
            && self.object.as_ref().is_none_or(|o| entry.names(o))
    }

    /// The page of `entries` (any order, any filter state): the matching ones, newest first,
    /// at most `limit`, with the cursor of the last one when more match.
    pub fn page(&self, entries: impl IntoIterator<Item = AuditEntry>) -> AuditPage {
        let mut found: Vec<AuditEntry> = entries.into_iter().filter(|e| self.matches(e)).collect();
        found.sort_by(|a, b| (b.at, &b.id).cmp(&(a.at, &a.id)));
        let more = found.len() > self.limit;
        found.truncate(self.limit);
        let next_cursor = if more {
            found.last().map(AuditCursor::after)
        } else {
            None
        };
        AuditPage {
            entries: found,
            next_cursor,
        }
    }
}

/// Where a page ended: the `at` and id of its last (oldest) entry. As text
/// `<at, 13 digits>-<id>`, the sort order of the entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditCursor {
    /// The entry's `at`, epoch ms.
    pub at: i64,
    /// The entry's id.
    pub id: String,
}

impl AuditCursor {
    /// The cursor of the page that ends with `entry`.
    pub fn after(entry: &AuditEntry) -> Self {
        AuditCursor {
            at: entry.at,
            id: entry.id.clone(),
        }
    }

    /// Reads a cursor's text; `None` when it is not one.
    pub fn parse(text: &str) -> Option<Self> {
        let (at, id) = text.split_once('-')?;
        let ok = at.len() == 13
            && at.bytes().all(|b| b.is_ascii_digit())
            && !id.is_empty()
            && id.len() <= 64
            && id.bytes().all(|b| b.is_ascii_alphanumeric());
        ok.then(|| AuditCursor {
            at: at.parse().unwrap_or_default(),
            id: id.to_string(),
        })
    }
}

impl std::fmt::Display for AuditCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:013}-{}", self.at.max(0), self.id)
    }
}

/// One page of the audit log, newest first.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AuditPage {
    /// The entries.
    pub entries: Vec<AuditEntry>,
    /// The cursor of the next page; `None` on the last one.
    pub next_cursor: Option<AuditCursor>,
}

/// A new entry id: 32 hex digits (a random UUID v4, without dashes).
pub fn new_audit_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// The audit log. Entries are kept for a retention set on the adapter
/// (`LOOKOUT_AUDIT_RETENTION_DAYS`, default 400 days) and dumped with the table.
pub trait AuditLog {
    /// Writes one entry (already capped, [`AuditEntry::capped`]).
    ///
    /// # Errors
    /// The store's; [`StoreError::is_retryable`] says whether sending it again may succeed.
    fn record_audit(
        &self,
        entry: &AuditEntry,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The entries that match `query`, newest first ([`AuditQuery::page`]).
    fn audit_entries(
        &self,
        query: &AuditQuery,
    ) -> impl Future<Output = Result<AuditPage, StoreError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;
    use lookout_core::domain::audit::{Actor, AuditOutcome};

    fn entry(at: i64, id: &str, actor: &str, object: &str) -> AuditEntry {
        AuditEntry {
            id: id.into(),
            at,
            actor: Actor {
                name: actor.into(),
                id: Some(format!("sha256:{actor}")),
            },
            method: "POST".into(),
            route: "/v1/targets".into(),
            objects: vec![object.into()],
            changes: vec![],
            cut: None,
            outcome: AuditOutcome::of_status(201, None),
        }
    }

    #[test]
    fn a_page_is_newest_first_and_the_cursor_goes_on_where_it_ended() {
        let all: Vec<AuditEntry> = (0..5)
            .map(|i| entry(1000 + i, &format!("e{i}"), "admin", "target:a"))
            .collect();
        let mut q = AuditQuery {
            limit: 2,
            ..AuditQuery::recent(10_000)
        };
        let first = q.page(all.clone());
        let ids: Vec<&str> = first.entries.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["e4", "e3"]);
        let cursor = first.next_cursor.expect("more");
        assert_eq!(
            AuditCursor::parse(&cursor.to_string()),
            Some(cursor.clone())
        );
        q.cursor = Some(cursor);
        let second = q.page(all.clone());
        let ids: Vec<&str> = second.entries.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["e2", "e1"]);
        q.cursor = second.next_cursor;
        let last = q.page(all);
        assert_eq!(last.entries.len(), 1);
        assert_eq!(last.next_cursor, None);
    }

    #[test]
    fn filters_keep_the_actor_the_object_and_the_time_asked_for() {
        let all = vec![
            entry(100, "a", "admin", "target:web"),
            entry(200, "b", "other", "channel:ops"),
            entry(300, "c", "admin", "channel:ops"),
        ];
        let q = AuditQuery {
            actor: Some("sha256:admin".into()),
            object: Some("channel".into()),
            ..AuditQuery::recent(1000)
        };
        assert_eq!(q.page(all.clone()).entries[0].id, "c");
        assert_eq!(q.page(all.clone()).entries.len(), 1);
        let q = AuditQuery {
            since: 150,
            until: 250,
            ..AuditQuery::recent(1000)
        };
        let page = q.page(all);
        assert_eq!(page.entries.len(), 1);
        assert_eq!(page.entries[0].id, "b");
    }

    #[test]
    fn a_cursor_of_another_shape_is_refused() {
        for bad in [
            "",
            "12-a",
            "abcdefghijklm-x",
            "0000000001000-",
            "0000000001000-a#b",
        ] {
            assert_eq!(AuditCursor::parse(bad), None, "{bad}");
        }
    }
}
