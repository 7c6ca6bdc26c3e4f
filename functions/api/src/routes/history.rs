//! History: check results (`GET /v1/results`, `GET /v1/targets/{id}/results`, as a JSON page
//! or streamed as JSON Lines with `format=jsonl`), probe run records (`GET /v1/runs`) and
//! alerts (`GET /v1/alerts`).

use axum::extract::State;
use axum::response::{IntoResponse as _, Response};
use lookout_app::ports::{HistoryStore, TargetStore};
use lookout_core::domain::state::DAY_MS;
use lookout_core::domain::{CheckResult, TargetKind};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{params, AppState};
use crate::extract::{Path, Query};
use crate::{ApiError, Json, Store};

/// Query of the results routes (`kind` only on `GET /v1/results`).
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct ResultsQuery {
    /// Start of the window (default an hour before `until`; at most 7 days).
    #[param(value_type = String, format = DateTime)]
    pub since: Option<String>,
    /// End of the window (default now).
    #[param(value_type = String, format = DateTime)]
    pub until: Option<String>,
    /// Only results with this outcome.
    #[param(value_type = super::openapi::Outcome, inline)]
    pub status: Option<String>,
    /// Results in the page, 1 to 1000 (default 100).
    #[param(value_type = u32, minimum = 1, maximum = 1000)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    #[param(value_type = String)]
    pub cursor: Option<String>,
    /// Only results of this kind: `server` or `proxy` (the run), or `tcp`, `tls`, `dns`,
    /// `heartbeat` (the targets whose definition has that kind).
    #[param(value_type = super::openapi::TargetKindFilter, inline)]
    pub kind: Option<String>,
    /// `json` (default, one page) or `jsonl` (JSON Lines, every result of the window streamed).
    #[param(value_type = ResultsFormat, inline)]
    pub format: Option<String>,
}

/// The answer's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum ResultsFormat {
    /// One page of `{"results":[...],"next_cursor"}`.
    Json,
    /// JSON Lines ([`JSONL`]), one result a line.
    Jsonl,
}

/// The content type of the JSON Lines answer.
pub const JSONL: &str = "application/x-ndjson";

/// `format`: `json` when absent.
///
/// # Errors
/// 400 `format must be json or jsonl`.
fn format(value: Option<&str>) -> Result<ResultsFormat, ApiError> {
    match value {
        None | Some("json") => Ok(ResultsFormat::Json),
        Some("jsonl") => Ok(ResultsFormat::Jsonl),
        Some(_) => Err(ApiError::bad_request("format must be json or jsonl")),
    }
}

/// The parameters of `GET /v1/targets/{id}/results`: those of [`ResultsQuery`] but `kind`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
#[allow(dead_code)]
pub struct TargetResultsQuery {
    /// Start of the window (default an hour before `until`; at most 7 days).
    #[param(value_type = String, format = DateTime)]
    since: Option<String>,
    /// End of the window (default now).
    #[param(value_type = String, format = DateTime)]
    until: Option<String>,
    /// Only results with this outcome.
    #[param(value_type = super::openapi::Outcome, inline)]
    status: Option<String>,
    /// Results in the page, 1 to 1000 (default 100).
    #[param(value_type = u32, minimum = 1, maximum = 1000)]
    limit: Option<String>,
    /// `next_cursor` of the previous page.
    #[param(value_type = String)]
    cursor: Option<String>,
    /// `json` (default, one page) or `jsonl` (JSON Lines, every result of the window streamed).
    #[param(value_type = ResultsFormat, inline)]
    format: Option<String>,
}

/// Check results from the history
///
/// `since` and `until` in RFC 3339 (default the last hour, at most 7 days), `status` (an
/// outcome), `kind`, `limit` (default 100, at most 1000) and `cursor` (from `next_cursor`).
/// Oldest first: `{"results":[...],"next_cursor"}`.
///
/// `format=jsonl`: the results as JSON Lines (`application/x-ndjson`), one result a line with
/// the fields of a result of the JSON answer plus `target` (the target's id), in the same order
/// (time, then target id) and with the same filters; without `limit` every result of the window
/// (read and sent an hour of history at a time, never the window whole in memory), with
/// `limit` at most that many lines. The status is sent before the first line, so a failure of
/// the store in the middle of the stream cannot change it any more: the stream then ends with a
/// last line `{"error":{"code","message"}}` (the codes of the JSON errors), and a client must
/// treat such a line as a failed read.
#[utoipa::path(get, path = "/v1/results", tag = "read", params(ResultsQuery),
    responses((status = 200, description = "OK: a page of results, or JSON Lines with `format=jsonl`",
        content(("application/json" = Object), ("application/x-ndjson" = String)))))]
pub async fn results<S: Store>(
    State(app): State<AppState<S>>,
    Query(q): Query<ResultsQuery>,
) -> Result<Response, ApiError> {
    answer(app, None, q).await
}

/// Check results of one target
///
/// As `GET /v1/results`, for one target (404 when there is none), `format=jsonl` included.
#[utoipa::path(get, path = "/v1/targets/{id}/results", tag = "read",
    params(("id" = String, Path, min_length = 1, description = "Target id"), TargetResultsQuery),
    responses((status = 200, description = "OK: a page of results, or JSON Lines with `format=jsonl`",
        content(("application/json" = Object), ("application/x-ndjson" = String)))))]
pub async fn target_results<S: Store>(
    State(app): State<AppState<S>>,
    Path(id): Path<String>,
    Query(q): Query<ResultsQuery>,
) -> Result<Response, ApiError> {
    answer(app, Some(id), ResultsQuery { kind: None, ..q }).await
}

/// The JSON page or the JSON Lines stream, as `format` asks.
async fn answer<S: Store>(
    app: AppState<S>,
    id: Option<String>,
    q: ResultsQuery,
) -> Result<Response, ApiError> {
    match format(q.format.as_deref())? {
        ResultsFormat::Json => Ok(read(&app.store, id.as_deref(), &q).await?.into_response()),
        ResultsFormat::Jsonl => {
            let filter = Filter::parse(&app.store, id.as_deref(), &q, None).await?;
            Ok(jsonl::stream(app, filter))
        }
    }
}

/// Query of `GET /v1/runs`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct RunsQuery {
    /// Only runs of this kind.
    #[param(value_type = super::openapi::Kind, inline)]
    pub kind: Option<String>,
    /// Runs, 1 to 200 (default 20).
    #[param(value_type = u32, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
}

/// Probe run records, newest first
#[utoipa::path(get, path = "/v1/runs", tag = "read", params(RunsQuery),
    responses((status = 200, description = "OK", body = Object)))]
pub async fn runs<S: Store>(
    State(app): State<AppState<S>>,
    Query(q): Query<RunsQuery>,
) -> Result<Json, ApiError> {
    let limit = params::limit(q.limit.as_deref(), 20, 200)?;
    let kinds = params::kind(q.kind.as_deref())?.map_or(TargetKind::ALL.to_vec(), |k| vec![k]);
    let mut out = Vec::new();
    for k in kinds {
        out.extend(app.store.runs(k, limit).await?);
    }
    out.sort_by_key(|r| std::cmp::Reverse(r.started_at));
    out.truncate(limit);
    Ok(Json::ok(json!({"runs": out})))
}

/// Query of `GET /v1/alerts`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct AlertsQuery {
    /// Start of the window (default a day before `until`; at most 31 days).
    #[param(value_type = String, format = DateTime)]
    pub since: Option<String>,
    /// End of the window (default now).
    #[param(value_type = String, format = DateTime)]
    pub until: Option<String>,
    /// Only alerts of this severity.
    #[param(value_type = super::openapi::Severity, inline)]
    pub severity: Option<String>,
    /// Only alerts of this kind.
    #[param(value_type = String)]
    pub kind: Option<String>,
}

/// Alerts raised in a time window
///
/// Default the last 24 hours, at most 31 days; oldest first, with whether each was published.
#[utoipa::path(get, path = "/v1/alerts", tag = "read", params(AlertsQuery),
    responses((status = 200, description = "OK", body = Object)))]
pub async fn alerts<S: Store>(
    State(app): State<AppState<S>>,
    Query(q): Query<AlertsQuery>,
) -> Result<Json, ApiError> {
    let now = lookout_core::time::now_ms();
    let until = params::time(q.until.as_deref(), "until")?.unwrap_or(now);
    let since = params::time(q.since.as_deref(), "since")?.unwrap_or(until - DAY_MS);
    if since > until || until - since > 31 * DAY_MS {
        return Err(ApiError::bad_request(
            "since must be before until, at most 31 days apart",
        ));
    }
    let records: Vec<_> = app
        .store
        .alerts(since, until)
        .await?
        .into_iter()
        .filter(|r| {
            q.severity
                .as_ref()
                .is_none_or(|s| r.alert.severity.as_str() == s)
        })
        .filter(|r| q.kind.as_ref().is_none_or(|k| r.alert.kind.as_str() == k))
        .collect();
    Ok(Json::ok(
        json!({"since": lookout_core::time::rfc3339(since), "until": lookout_core::time::rfc3339(until), "alerts": records}),
    ))
}

/// What the results routes select: the window, the filters and the kinds to read, checked
/// before any answer is sent.
#[derive(Debug, Clone)]
struct Filter {
    /// Start of the window, epoch ms.
    since: i64,
    /// End of the window, epoch ms.
    until: i64,
    /// At most this many results (`None`: every one, JSON Lines without `limit`).
    limit: Option<usize>,
    /// Only results with this outcome.
    outcome: Option<lookout_core::domain::Outcome>,
    /// Only results after this `(at, target id)`.
    cursor: Option<(i64, String)>,
    /// Only the results of this target.
    id: Option<String>,
    /// The kinds to read, each with its number of targets.
    kinds: Vec<(TargetKind, usize)>,
    /// Only the results of these targets (`kind` a definition's kind, `tcp` ...).
    only: Option<std::collections::HashSet<String>>,
}

impl Filter {
    /// Reads and checks the query; `default_limit` is the limit without `limit` (`None`: none).
    async fn parse<S: TargetStore>(
        store: &S,
        id: Option<&str>,
        q: &ResultsQuery,
        default_limit: Option<usize>,
    ) -> Result<Filter, ApiError> {
        let now = lookout_core::time::now_ms();
        let until = params::time(q.until.as_deref(), "until")?.unwrap_or(now);
        let since = params::time(q.since.as_deref(), "since")?.unwrap_or(until - 3_600_000);
        if since > until || until - since > 7 * DAY_MS {
            return Err(ApiError::bad_request(
                "since must be before until, at most 7 days apart",
            ));
        }
        let limit = match (q.limit.as_deref(), default_limit) {
            (None, None) => None,
            (value, default) => Some(params::limit(value, default.unwrap_or(100), 1000)?),
        };
        let outcome = q
            .status
            .as_ref()
            .map(|s| {
                serde_json::from_value::<lookout_core::domain::Outcome>(Value::String(s.clone()))
                    .map_err(|_| {
                        ApiError::bad_request(
                            "status must be up, slow, degraded, failed or blocked",
                        )
                    })
            })
            .transpose()?;
        let cursor = q
            .cursor
            .as_ref()
            .map(|c| {
                c.split_once(':')
                    .and_then(|(at, id)| Some((at.parse::<i64>().ok()?, id.to_string())))
                    .ok_or_else(|| ApiError::bad_request("cursor is not one this API gave"))
            })
            .transpose()?;
        let targets = store.list_targets(None).await?;
        let mut only = None;
        let kinds = match id {
            Some(id) => vec![targets
                .iter()
                .find(|t| t.id == id)
                .ok_or_else(|| {
                    ApiError::not_found(format!("no target {}", lookout_core::redact::clip(id, 64)))
                })?
                .kind()],
            None => match params::kind_filter(q.kind.as_deref())? {
                None => TargetKind::ALL.to_vec(),
                Some(params::KindFilter::Run(k)) => vec![k],
                Some(params::KindFilter::Check(c)) => {
                    only = Some(
                        targets
                            .iter()
                            .filter(|t| t.check_kind() == c)
                            .map(|t| t.id.clone())
                            .collect(),
                    );
                    vec![c.run_kind()]
                }
            },
        };
        let kinds = kinds
            .into_iter()
            .map(|k| (k, targets.iter().filter(|t| t.kind() == k).count()))
            .collect();
        Ok(Filter {
            since,
            until,
            limit,
            outcome,
            cursor,
            id: id.map(str::to_string),
            kinds,
            only,
        })
    }

    /// Whether `r` is selected (the limit aside).
    fn keeps(&self, r: &CheckResult) -> bool {
        self.id.as_deref().is_none_or(|id| r.target_id == id)
            && self
                .only
                .as_ref()
                .is_none_or(|ids| ids.contains(&r.target_id))
            && self.outcome.is_none_or(|o| r.outcome == o)
            && self
                .cursor
                .as_ref()
                .is_none_or(|(at, cid)| (r.at, &r.target_id) > (*at, cid))
    }
}

/// The results of one target or all, filtered and paged.
async fn read<S: TargetStore + HistoryStore>(
    store: &S,
    id: Option<&str>,
    q: &ResultsQuery,
) -> Result<Json, ApiError> {
    let f = Filter::parse(store, id, q, Some(100)).await?;
    let limit = f.limit.unwrap_or(100);
    let mut all = Vec::new();
    for (kind, n) in &f.kinds {
        all.extend(store.history(*kind, f.since, f.until, *n).await?);
    }
    all.sort_by(|a, b| (a.at, &a.target_id).cmp(&(b.at, &b.target_id)));
    let mut page: Vec<_> = all
        .into_iter()
        .filter(|r| f.keeps(r))
        .take(limit + 1)
        .collect();
    let next = (page.len() > limit).then(|| {
        page.truncate(limit);
        page.last().map(|r| format!("{}:{}", r.at, r.target_id))
    });
    Ok(Json::ok(
        json!({"results": page, "next_cursor": next.flatten()}),
    ))
}

/// The JSON Lines stream.
mod jsonl {
    use axum::body::Body;
    use axum::http::{header, HeaderValue};
    use axum::response::Response;
    use lookout_app::dump::results::{ResultLine, ResultWalk};

    use super::{AppState, Filter, JSONL};
    use crate::{ApiError, Store};

    /// Where the stream is.
    struct Lines<S: Store> {
        app: AppState<S>,
        walk: ResultWalk,
        filter: Filter,
        /// Lines still allowed (`None`: no limit).
        left: Option<usize>,
        /// Bytes sent so far.
        sent: usize,
        done: bool,
    }

    /// Most bytes of one JSON Lines answer (5 MiB): Lambda answers at most 6 MB
    /// synchronously (lambda_http buffers the body; AWS Lambda quotas, "Invocation payload
    /// (request and response)"), so a longer window ends with a `{"truncated":...}` line.
    pub const MAX_JSONL_BYTES: usize = 5 * 1024 * 1024;

    /// The last line of an answer cut at [`MAX_JSONL_BYTES`]: where to go on from
    /// (`next_since`, the time of the first result not sent; results of that very millisecond
    /// already sent come again, so a reader drops repeats by target and time).
    fn truncated_line(next_since_ms: i64, sent: usize) -> Vec<u8> {
        let line = serde_json::json!({"truncated": {
            "bytes": sent,
            "next_since": lookout_core::time::rfc3339(next_since_ms),
        }});
        let mut out = line.to_string().into_bytes();
        out.push(b'\n');
        out
    }

    /// The last line of a stream cut short by `e`: `{"error":{"code","message"}}`.
    fn error_line(e: ApiError) -> Vec<u8> {
        let line = serde_json::json!({"error": {"code": e.code(), "message": e.to_string()}});
        let mut out = line.to_string().into_bytes();
        out.push(b'\n');
        out
    }

    /// The next chunk: the lines of the next hour that has any, the error line, or the end.
    async fn next<S: Store>(
        mut st: Lines<S>,
    ) -> Option<(Result<Vec<u8>, std::io::Error>, Lines<S>)> {
        while !st.done {
            let hour = match st.walk.next(&st.app.store).await {
                Ok(Some(hour)) => hour,
                Ok(None) => return None,
                Err(e) => {
                    st.done = true;
                    return Some((Ok(error_line(ApiError::from(e))), st));
                }
            };
            let mut out = Vec::new();
            for r in hour.iter().filter(|r| st.filter.keeps(r)) {
                if st.left == Some(0) {
                    break;
                }
                let mut line = match serde_json::to_vec(&ResultLine::new(r)) {
                    Ok(line) => line,
                    Err(e) => {
                        st.done = true;
                        out.extend(error_line(ApiError::internal(e)));
                        return Some((Ok(out), st));
                    }
                };
                line.push(b'\n');
                if st.sent + out.len() + line.len() > MAX_JSONL_BYTES {
                    st.done = true;
                    st.sent += out.len();
                    out.extend(truncated_line(r.at, st.sent));
                    return Some((Ok(out), st));
                }
                out.extend(line);
                st.left = st.left.map(|n| n - 1);
            }
            st.sent += out.len();
            st.done = st.left == Some(0);
            if !out.is_empty() {
                return Some((Ok(out), st));
            }
        }
        None
    }

    /// A 200 whose body is the selected results as JSON Lines, read as it is sent.
    pub(super) fn stream<S: Store>(app: AppState<S>, filter: Filter) -> Response {
        let walk = ResultWalk::new(filter.kinds.clone(), filter.since, filter.until);
        let left = filter.limit;
        let lines = Lines {
            app,
            walk,
            filter,
            left,
            sent: 0,
            done: left == Some(0),
        };
        let mut response = Response::new(Body::from_stream(futures::stream::unfold(lines, next)));
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(JSONL));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        // lambda_http sends a content type it does not know as text only when told (else
        // base64, a third larger against the 6 MB limit).
        headers.insert(
            "x-lambda-http-content-encoding",
            HeaderValue::from_static("text"),
        );
        response
    }
}
