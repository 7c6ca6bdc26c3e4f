//! The view behind `GET /v1/status`: every target's row serialised once, field by field, so
//! that the whole answer, a page of it (`limit`, `cursor`) and a choice of fields (`fields`)
//! are cut from the same text without building a `serde_json::Value` per row.

use std::ops::Range;

use lookout_app::ports::{LocationStore, StateStore, TargetStore};
use lookout_core::domain::failover::choose_all;
use lookout_core::domain::{Target, TargetState};
use lookout_core::time::rfc3339;
use serde::Serialize;

use super::DefsCache;
use crate::cache::Stamp;
use crate::ApiError;

/// The row fields of `GET /v1/status`, in the order a row lists them.
pub const FIELDS: [&str; 15] = [
    "id",
    "name",
    "kind",
    "group",
    "enabled",
    "priority",
    "status",
    "status_since",
    "uptime_percent",
    "ewma_latency_ms",
    "maintenance",
    "state",
    "last_result",
    "locations",
    "check_kind",
];

/// Most rows a page may ask for (`limit`).
pub const MAX_LIMIT: usize = 10_000;

/// What part of the view a request asks for: the rows after a cursor, how many, which fields.
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// The id the page starts after (`None`: the first page).
    after: Option<String>,
    /// Rows at most (`None`: all).
    limit: Option<usize>,
    /// Indexes into [`FIELDS`] to keep (`None`: all).
    fields: Option<Vec<usize>>,
    /// Only the rows of this kind (`None`: all).
    kind: Option<super::params::KindFilter>,
}

impl Page {
    /// The page `q` asks for.
    ///
    /// # Errors
    /// 400 naming `limit` (not 1 to 10,000), `cursor` (not a `next_cursor` of this API),
    /// `fields` (an unknown field) or `kind` (not a kind).
    pub fn of(q: &super::status::StatusQuery) -> Result<Page, ApiError> {
        let limit = q
            .limit
            .as_deref()
            .map(|l| super::params::limit(Some(l), MAX_LIMIT, MAX_LIMIT))
            .transpose()?;
        let after = q.cursor.as_deref().map(decode_cursor).transpose()?;
        let fields = q
            .fields
            .as_deref()
            .map(|list| {
                let mut keep = vec![0];
                for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                    let i = FIELDS.iter().position(|f| *f == name).ok_or_else(|| {
                        ApiError::bad_request(format!(
                            "fields: unknown field {:?}; the fields are {}",
                            lookout_core::redact::clip(name, 40),
                            FIELDS.join(", ")
                        ))
                    })?;
                    if !keep.contains(&i) {
                        keep.push(i);
                    }
                }
                keep.sort_unstable();
                Ok::<_, ApiError>(keep)
            })
            .transpose()?;
        let kind = super::params::kind_filter(q.kind.as_deref())?;
        Ok(Page {
            after,
            limit,
            fields,
            kind,
        })
    }

    fn paged(&self) -> bool {
        self.after.is_some() || self.limit.is_some()
    }
}

/// A cursor: `c` and the hex of the last id of the page before.
fn encode_cursor(id: &str) -> String {
    format!("c{}", hex::encode(id))
}

fn decode_cursor(cursor: &str) -> Result<String, ApiError> {
    let bad = || ApiError::bad_request("cursor: not a next_cursor of GET /v1/status");
    let bytes = cursor
        .strip_prefix('c')
        .filter(|h| !h.is_empty())
        .and_then(|h| hex::decode(h).ok())
        .ok_or_else(bad)?;
    String::from_utf8(bytes).map_err(|_| bad())
}

/// One target's row: `"name":value` pairs joined by commas (UTF-8 JSON text), and where each
/// field's pair is.
#[derive(Debug)]
struct Row {
    id: String,
    /// The run and the definition's kind, for the `kind` filter.
    kinds: (
        lookout_core::domain::TargetKind,
        lookout_core::domain::target::CheckKind,
    ),
    text: Vec<u8>,
    /// `(index into FIELDS, byte range of its pair in text)`.
    spans: Vec<(usize, Range<usize>)>,
}

/// The status view of one stamp: rows by id, the groups' choices, when it was built.
#[derive(Debug)]
pub struct StatusView {
    generated_at: String,
    rows: Vec<Row>,
    groups: String,
}

impl StatusView {
    /// The answer of `page`, as JSON text (UTF-8 bytes).
    pub fn render(&self, page: &Page) -> Vec<u8> {
        let start = page.after.as_deref().map_or(0, |after| {
            self.rows.partition_point(|r| r.id.as_str() <= after)
        });
        let mut rows: Vec<&Row> = Vec::new();
        let mut more = false;
        for r in self.rows.get(start..).unwrap_or_default() {
            if !page
                .kind
                .is_none_or(|k| k.keeps_kinds(r.kinds.0, r.kinds.1))
            {
                continue;
            }
            if page.limit.is_some_and(|l| rows.len() >= l) {
                more = true;
                break;
            }
            rows.push(r);
        }
        let bytes: usize = rows.iter().map(|r| r.text.len() + 3).sum();
        let mut out = Vec::with_capacity(bytes + self.groups.len() + 128);
        out.extend_from_slice(b"{\"generated_at\":\"");
        out.extend_from_slice(self.generated_at.as_bytes());
        out.extend_from_slice(b"\",\"targets\":[");
        for (i, row) in rows.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.push(b'{');
            match &page.fields {
                None => out.extend_from_slice(&row.text),
                Some(keep) => {
                    let mut first = true;
                    for (f, span) in &row.spans {
                        if keep.contains(f) {
                            if !first {
                                out.push(b',');
                            }
                            first = false;
                            out.extend_from_slice(&row.text[span.clone()]);
                        }
                    }
                }
            }
            out.push(b'}');
        }
        out.push(b']');
        if page.after.is_none() {
            out.extend_from_slice(b",\"groups\":");
            out.extend_from_slice(self.groups.as_bytes());
        }
        if page.paged() {
            out.extend_from_slice(b",\"next_cursor\":");
            match rows.last().filter(|_| more) {
                Some(last) => {
                    out.push(b'"');
                    out.extend_from_slice(encode_cursor(&last.id).as_bytes());
                    out.push(b'"');
                }
                None => out.extend_from_slice(b"null"),
            }
        }
        out.push(b'}');
        out
    }
}

/// A row's short state.
#[derive(Serialize)]
struct ShortState<'a> {
    version: u64,
    checks: u64,
    failures: u64,
    last_check: Option<String>,
    last_error: &'a Option<String>,
    traffic_bytes: u64,
    cost: f64,
}

/// A row's latest result.
#[derive(Serialize)]
struct LastResult<'a> {
    at: String,
    outcome: &'a lookout_core::domain::Outcome,
    status_code: Option<u16>,
    latency_ms: u64,
    error: &'a Option<lookout_core::domain::ErrorKind>,
    message: &'a Option<String>,
}

/// Appends `"name":value` to the row's text, records its span.
fn field(row: &mut Row, i: usize, value: &impl Serialize) {
    if !row.text.is_empty() {
        row.text.push(b',');
    }
    let from = row.text.len();
    row.text.push(b'"');
    row.text.extend_from_slice(FIELDS[i].as_bytes());
    row.text.extend_from_slice(b"\":");
    let value_at = row.text.len();
    // These plain values always serialise; were one not to, its value is `null`.
    if serde_json::to_writer(&mut row.text, value).is_err() {
        row.text.truncate(value_at);
        row.text.extend_from_slice(b"null");
    }
    row.spans.push((i, from..row.text.len()));
}

fn row(
    t: &Target,
    state: &TargetState,
    latest: Option<&lookout_app::ports::Latest>,
    verdicts: Option<&Vec<lookout_core::domain::LocationVerdict>>,
    now: i64,
) -> Row {
    let mut r = Row {
        id: t.id.clone(),
        kinds: (t.kind(), t.check_kind()),
        text: Vec::with_capacity(640),
        spans: Vec::with_capacity(FIELDS.len()),
    };
    field(&mut r, 0, &t.id);
    field(&mut r, 1, &t.name);
    field(&mut r, 2, &t.kind());
    field(&mut r, 3, &t.group);
    field(&mut r, 4, &t.enabled);
    field(&mut r, 5, &t.priority());
    field(&mut r, 6, &state.status);
    field(
        &mut r,
        7,
        &(state.status_since > 0).then(|| rfc3339(state.status_since)),
    );
    field(&mut r, 8, &state.uptime_percent());
    field(&mut r, 9, &state.ewma_latency_ms.map(f64::round));
    field(
        &mut r,
        10,
        &t.maintenance_at(now).map(|w| {
            serde_json::json!({"active": true, "reason": w.reason.as_deref().unwrap_or("maintenance")})
        }),
    );
    // The whole definition and state are at GET /v1/targets/{id}; the status keeps what a
    // dashboard shows, so that 10,000 targets stay one quick answer.
    field(
        &mut r,
        11,
        &ShortState {
            version: state.version,
            checks: state.checks,
            failures: state.failures,
            last_check: state.last_check.map(rfc3339),
            last_error: &state.last_error,
            traffic_bytes: state.traffic_bytes,
            cost: state.cost,
        },
    );
    field(
        &mut r,
        12,
        &latest.and_then(|l| l.result.as_ref()).map(|x| LastResult {
            at: rfc3339(x.at),
            outcome: &x.outcome,
            status_code: x.status_code,
            latency_ms: x.latency_ms,
            error: &x.error,
            message: &x.message,
        }),
    );
    if let Some(list) = verdicts.filter(|l| !l.is_empty()) {
        let list: Vec<_> = list.iter().map(super::locations::verdict_json).collect();
        field(&mut r, 13, &list);
    }
    field(&mut r, 14, &t.check_kind());
    r
}

/// Builds the view: the definitions of the stamp's version (through `defs`), the latest
/// states and the locations' verdicts, read concurrently; every row serialised once.
///
/// # Errors
/// [`ApiError`] when the store cannot be read.
pub async fn build_view<S: TargetStore + StateStore + LocationStore>(
    store: &S,
    defs: &DefsCache,
    stamp: Stamp,
) -> Result<StatusView, ApiError> {
    let (loaded, verdicts) = tokio::join!(
        super::load_at(store, defs, stamp.defs_version),
        super::locations::verdicts_all(store)
    );
    let (targets, latest, states) = loaded?;
    let verdicts = verdicts?;
    let now = lookout_core::time::now_ms();
    let rows = targets
        .iter()
        .map(|t| {
            let fresh;
            let state = match states.get(&t.id) {
                Some(s) => s,
                None => {
                    fresh = TargetState::new(&t.id);
                    &fresh
                }
            };
            row(t, state, latest.get(&t.id), verdicts.get(&t.id), now)
        })
        .collect();
    let groups =
        serde_json::to_string(&choose_all(&targets, &states)).map_err(ApiError::internal)?;
    Ok(StatusView {
        generated_at: rfc3339(now),
        rows,
        groups,
    })
}
