//! The run lease routes: `GET /v1/leases` (who holds each kind's probe lease, and until when)
//! and `DELETE /v1/leases/{kind}` (an operator releases a stuck lease, so the next run of the
//! kind starts at once instead of waiting for it to expire).

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use lookout_core::domain::TargetKind;
use serde_json::{json, Value};

use super::AppState;
use crate::audit::{AuditChange, AuditExt as _};
use crate::extract::Path;
use crate::{ApiError, Json, Store};

/// The kind named by the path, or 400 naming the field.
fn kind_of(kind: &str) -> Result<TargetKind, ApiError> {
    TargetKind::parse(kind).ok_or_else(|| {
        ApiError::bad_request(format!(
            "kind: must be server or proxy, got {:?}",
            lookout_core::redact::clip(kind, 32)
        ))
    })
}

/// Each kind's probe run lease: holder and until (epoch ms and RFC 3339)
///
/// In the order server, proxy: `{"leases":[{"kind","held","holder","until_ms","until","done_event"}]}`. `held` is whether
/// the lease runs now; `holder` is the run's id (`null` when none ever held it or an operator
/// released it); `until_ms` its end in epoch ms (0 when released) and `until` the same in
/// RFC 3339 (`null` when 0); `done_event` the event id the last finished run handled.
#[utoipa::path(get, path = "/v1/leases", tag = "admin",
    responses((status = 200, description = "OK", body = Object)))]
pub async fn leases<S: Store>(State(app): State<AppState<S>>) -> Result<Json, ApiError> {
    let now = lookout_core::time::now_ms();
    let stored = app.store.leases().await?;
    let leases: Vec<Value> = TargetKind::ALL
        .iter()
        .map(|&kind| {
            let info = stored.iter().find(|l| l.kind == kind);
            let holder = info.and_then(|l| l.holder.clone());
            let until_ms = info.map_or(0, |l| l.until_ms);
            json!({
                "kind": kind.as_str(),
                "held": holder.is_some() && until_ms >= now,
                "holder": holder,
                "until_ms": until_ms,
                "until": (until_ms > 0).then(|| lookout_core::time::rfc3339(until_ms)),
                "done_event": info.and_then(|l| l.done_event.clone()),
            })
        })
        .collect();
    Ok(Json::ok(json!({ "leases": leases })))
}

/// Release a kind's run lease whoever holds it (204), so the next run starts
///
/// Ends the run lease of `kind`; 204 whether a lease was running or not. The holder's next renewal finds it lost and stops renewing; if it
/// is still at work, its writes stay safe beside the next run's (state writes are conditional
/// on the version, alerts are claimed before they are published). The handled event id is kept,
/// so a duplicate tick still runs once.
///
/// # Errors
/// 400 naming `kind` when it is neither `server` nor `proxy`; 500 when the store fails.
#[utoipa::path(delete, path = "/v1/leases/{kind}", tag = "admin",
    params(("kind" = inline(super::openapi::Kind), Path, description = "The kind of the run")),
    responses((status = 204, description = "Released, or nothing was held")))]
pub async fn release_lease<S: Store>(
    State(app): State<AppState<S>>,
    Path(kind): Path<String>,
) -> Result<Response, ApiError> {
    let kind = kind_of(&kind)?;
    let was_held = app
        .store
        .break_lease(kind, lookout_core::time::now_ms())
        .await?;
    tracing::warn!(
        kind = kind.as_str(),
        was_held,
        "run lease released by an operator"
    );
    let change = AuditChange::of(
        "lease",
        kind.as_str(),
        Some(&json!({"held": was_held})),
        Some(&json!({"held": false})),
    );
    Ok((
        StatusCode::NO_CONTENT,
        [(header::CACHE_CONTROL, "no-store")],
    )
        .audited(change)
        .into_response())
}
