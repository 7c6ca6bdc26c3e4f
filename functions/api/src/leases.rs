//! The run lease routes: `GET /v1/leases` (who holds each kind's probe lease, and until when)
//! and `DELETE /v1/leases/{kind}` (an operator releases a stuck lease, so the next run of the
//! kind starts at once instead of waiting for it to expire).

use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use lookout::domain::TargetKind;
use lookout::ports::RunLease;
use serde_json::{json, Value};

use crate::ApiError;

/// The kind named by the path, or 400 naming the field.
fn kind_of(kind: &str) -> Result<TargetKind, ApiError> {
    TargetKind::parse(kind).ok_or_else(|| {
        ApiError::bad_request(format!(
            "kind: must be server or proxy, got {:?}",
            lookout::redact::clip(kind, 32)
        ))
    })
}

/// `GET /v1/leases`: each kind's run lease, in the order server, proxy:
/// `{"leases":[{"kind","held","holder","until_ms","until","done_event"}]}`. `held` is whether
/// the lease runs now; `holder` is the run's id (`null` when none ever held it or an operator
/// released it); `until_ms` its end in epoch ms (0 when released) and `until` the same in
/// RFC 3339 (`null` when 0); `done_event` the event id the last finished run handled.
pub async fn list<S: RunLease>(store: &S) -> Result<Value, ApiError> {
    let now = lookout::time::now_ms();
    let stored = store.leases().await?;
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
                "until": (until_ms > 0).then(|| lookout::time::rfc3339(until_ms)),
                "done_event": info.and_then(|l| l.done_event.clone()),
            })
        })
        .collect();
    Ok(json!({ "leases": leases }))
}

/// `DELETE /v1/leases/{kind}`: ends the run lease of `kind` whoever holds it; 204 whether a
/// lease was running or not. The holder's next renewal finds it lost and stops renewing; if it
/// is still at work, its writes stay safe beside the next run's (state writes are conditional
/// on the version, alerts are claimed before they are published). The handled event id is kept,
/// so a duplicate tick still runs once.
///
/// # Errors
/// 400 naming `kind` when it is neither `server` nor `proxy`; 500 when the store fails.
pub async fn release<S: RunLease>(store: &S, kind: &str) -> Result<Response<Body>, ApiError> {
    let kind = kind_of(kind)?;
    let was_held = store.break_lease(kind, lookout::time::now_ms()).await?;
    tracing::warn!(
        kind = kind.as_str(),
        was_held,
        "run lease released by an operator"
    );
    Ok(Response::builder()
        .status(StatusCode::NO_CONTENT)
        .header("cache-control", "no-store")
        .body(Body::Empty)
        .unwrap_or_else(|_| Response::new(Body::Empty)))
}
