//! `GET /feed.atom`: the Atom feed of incidents and maintenance ([`crate::feed`]).

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::AppState;
use crate::extract::Query;
use crate::target_page::labels::labels;
use crate::{ApiError, Store};

/// Query of the feed.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct FeedQuery {
    /// Language of the words the feed writes itself (titles of incidents opened from status
    /// changes, statuses); operators' titles and updates are as written.
    #[param(value_type = super::openapi::Lang, inline)]
    pub lang: Option<String>,
}

/// Atom feed of incidents and maintenance (RFC 4287)
///
/// The incidents and maintenance windows open at some time in the last 90 days, newest opened
/// first (at most 200): one entry each, `updated` its newest update, the timeline as text.
#[utoipa::path(get, path = "/feed.atom", tag = "public", params(FeedQuery), responses(
    (status = 200, description = "OK", body = String, content_type = "application/atom+xml; charset=utf-8"),
))]
pub async fn feed<S: Store>(
    State(app): State<AppState<S>>,
    Query(q): Query<FeedQuery>,
) -> Result<Response, ApiError> {
    let l = labels(q.lang.as_deref())?;
    let now = lookout_core::time::now_ms();
    let body = crate::feed::feed(
        &app.store,
        &app.defs,
        &app.incidents,
        l,
        q.lang.as_deref(),
        now,
    )
    .await?;
    let mut response = body.into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/atom+xml; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60"),
    );
    Ok(response)
}
