//! Delivery records of alerts to notification channels (issue 16): list them (the failed ones,
//! typically) and send a failed one again.

use axum::extract::State;
use lookout_app::ports::StoreError;
use lookout_app::usecases::notify::RetryError;
use lookout_core::notify::{parse_delivery_id, DeliveryRecord, DeliveryStatus};
use serde::Deserialize;
use serde_json::{json, Value};

use super::channels::{api_deadline, is_channel_id, notifier, scrub, secrets_of};
use super::{params, AppState};
use crate::audit::{AuditChange, AuditExt as _, Audited};
use crate::extract::{Path, Query};
use crate::{ApiError, Json, Store};

/// Most records one page holds.
pub const MAX_PAGE: usize = 100;

/// Records in a page when `limit` is not given.
pub const DEFAULT_PAGE: usize = 50;

/// Longest alert key a delivery id may carry, in bytes (keys are `<target id>#<status>#<ms>`
/// or a grouped alert's; DynamoDB sort keys end at 1,024 bytes).
const MAX_ALERT_KEY: usize = 512;

/// Longest `cursor` accepted, in bytes.
const MAX_CURSOR: usize = 2048;

/// `status` values of a delivery.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatusName {
    /// Being sent (claimed).
    Sending,
    /// The provider accepted it.
    Sent,
    /// Every attempt failed; `POST /v1/deliveries/{id}/retry` sends it again.
    Failed,
}

/// Query of `GET /v1/deliveries`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct DeliveriesQuery {
    /// Only deliveries with this status.
    #[param(value_type = DeliveryStatusName, inline)]
    pub status: Option<String>,
    /// Only deliveries to this channel.
    #[param(value_type = String)]
    pub channel: Option<String>,
    /// Records in the page, 1 to 100 (default 50).
    #[param(value_type = u32, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    #[param(value_type = String)]
    pub cursor: Option<String>,
}

/// Delivery records of alerts to channels, newest first
///
/// `status` (`sending`, `sent`, `failed`), `channel` (an id), `limit` (1 to 100, default 50)
/// and `cursor` (from `next_cursor`): `{"deliveries":[{"id","channel_id","alert_key","status",
/// "attempts","provider_status","last_error","created_at","updated_at","alert"}],
/// "next_cursor"}`. No secret appears. A bad `status`, `channel`, `limit` or `cursor` is a 400
/// naming it.
#[utoipa::path(get, path = "/v1/deliveries", tag = "admin", params(DeliveriesQuery),
    responses((status = 200, description = "OK", body = Object)))]
pub async fn deliveries<S: Store>(
    State(app): State<AppState<S>>,
    Query(q): Query<DeliveriesQuery>,
) -> Result<Json, ApiError> {
    let status = q.status.as_deref().map(status).transpose()?;
    let limit = params::limit(q.limit.as_deref(), DEFAULT_PAGE, MAX_PAGE)?;
    if q.channel.as_deref().is_some_and(|c| !is_channel_id(c)) {
        return Err(ApiError::bad_request(
            "channel must be a channel id: 1 to 64 characters of a-z, 0-9, _ and -",
        ));
    }
    let cursor = q.cursor.as_deref();
    if cursor.is_some_and(|c| c.is_empty() || c.len() > MAX_CURSOR || !c.is_ascii()) {
        return Err(bad_cursor());
    }
    let page = match app
        .store
        .deliveries(status, q.channel.as_deref(), limit, cursor)
        .await
    {
        Ok(page) => page,
        // A cursor the store cannot read is the caller's mistake, not an outage.
        Err(StoreError::Invalid(_) | StoreError::Corrupt { .. }) if cursor.is_some() => {
            return Err(bad_cursor())
        }
        Err(e) => return Err(e.into()),
    };
    let secrets = if page.records.is_empty() {
        Vec::new()
    } else {
        all_secrets(&app.store).await?
    };
    let records: Vec<Value> = page.records.iter().map(|r| shown(r, &secrets)).collect();
    Ok(Json::ok(
        json!({"deliveries": records, "next_cursor": page.next}),
    ))
}

/// Send a failed delivery again
///
/// Claims the delivery, sends the alert it holds to its channel (with the usual retries, cut
/// short after 15 s: then `failed` again, and the queue or another retry sends it later) and
/// answers `{"delivery": ...}`, the record afterwards (`sent`, or `failed` again). A delivery
/// left `sending` by a sender that was stopped can be retried once its claim has passed. 404
/// when there is no such delivery; 409 when it is sent, or being sent under a live claim, or
/// its channel was deleted.
#[utoipa::path(post, path = "/v1/deliveries/{id}/retry", tag = "admin",
    params(("id" = String, Path, min_length = 1, description = "Delivery id (from the listing)")),
    responses((status = 200, description = "The record after the retry", body = Object)))]
pub async fn retry_delivery<S: Store>(
    State(app): State<AppState<S>>,
    Path(id): Path<String>,
) -> Result<Audited<Json>, ApiError> {
    let not_found = || {
        ApiError::not_found(format!(
            "no delivery {}",
            lookout_core::redact::clip(&id, 200)
        ))
    };
    // An id that cannot be a delivery's is not sent to the table (whose keys have limits).
    let plausible = parse_delivery_id(&id)
        .is_some_and(|(channel, key)| is_channel_id(&channel) && key.len() <= MAX_ALERT_KEY);
    if !plausible {
        return Err(not_found());
    }
    let record = notifier(&app)
        .retry_by(&id, Some(api_deadline()))
        .await
        .map_err(|e| match e {
            RetryError::NotFound(_) => not_found(),
            RetryError::NotFailed(_, status) => ApiError::Conflict(format!(
                "the delivery is {status}, not failed: only a failed delivery, or one left \
             sending past its claim, is sent again"
            )),
            RetryError::NoChannel(channel) => ApiError::Conflict(format!(
                "channel {} no longer exists",
                lookout_core::redact::clip(&channel, 64)
            )),
            RetryError::Store(e) => e.into(),
        })?;
    let secrets = all_secrets(&app.store).await?;
    let shown = shown(&record, &secrets);
    let after = json!({"status": shown["status"], "attempts": shown["attempts"]});
    let change = AuditChange::of("delivery", &id, None::<&Value>, Some(&after));
    Ok(Json::ok(json!({"delivery": shown})).audited(change))
}

/// `status`: `sending`, `sent` or `failed`.
fn status(value: &str) -> Result<DeliveryStatus, ApiError> {
    [
        DeliveryStatus::Sending,
        DeliveryStatus::Sent,
        DeliveryStatus::Failed,
    ]
    .into_iter()
    .find(|s| s.as_str() == value)
    .ok_or_else(|| ApiError::bad_request("status must be sending, sent or failed"))
}

/// 400 naming the cursor.
fn bad_cursor() -> ApiError {
    ApiError::bad_request("cursor: not a next_cursor of this listing")
}

/// Every channel's secrets: what no record may show, whatever a provider echoed.
async fn all_secrets<S: Store>(store: &S) -> Result<Vec<String>, ApiError> {
    Ok(store
        .channels()
        .await?
        .iter()
        .flat_map(secrets_of)
        .collect())
}

/// A record as answered: scrubbed of every secret.
fn shown(record: &DeliveryRecord, secrets: &[String]) -> Value {
    let mut v = serde_json::to_value(record).unwrap_or(Value::Null);
    scrub(&mut v, secrets);
    v
}
