//! The audit log's recording: a route layer on the admin routes ([`record`]) that writes one
//! [`AuditEntry`] per POST, PUT, PATCH or DELETE after the handler has answered: the caller
//! (the token check's [`Caller`], never the token), the route template, the objects (from the
//! handler's [`AuditChange`]s, else from the path), the change (the diff of each
//! [`AuditChange`]'s before and after, which the handler already redacted) and the outcome
//! (status, `ok`/`refused`/`failed`, the error code). A refused or failed request is recorded
//! with no change.
//!
//! `POST /v1/checks`, `POST /v1/channels/{id}/test` and `POST /v1/dumps/{id}/verify` change
//! nothing: they are recorded as admin actions with no change.
//!
//! A failed audit write is retried ([`lookout_app::retry`], the one retry policy); when it
//! still fails, an error line holding the entry (already redacted) is logged so the operator's
//! logs keep it. The admin write itself is not undone.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{FromRequestParts as _, MatchedPath, RawPathParams, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use lookout_app::ports::{new_audit_id, AuditLog, StoreError};
use lookout_app::retry::{retry_policy, until_all_done};
use lookout_core::domain::audit::{
    diff, Actor, AuditEntry, AuditOutcome, AuditResult, FieldChange,
};
use serde::Serialize;
use serde_json::Value;

use crate::auth::Caller;
use crate::routes::AppState;
use crate::Store;

/// Attempts of one audit write, the first included.
const WRITE_ATTEMPTS: u32 = 3;
/// Largest error body read for its code, in bytes (error answers are a few hundred).
const ERROR_BODY_BYTES: usize = 64 * 1024;
/// Longest object id kept in an entry, in characters.
const MAX_ID_CHARS: usize = 200;

/// What an admin write changed on one object, put by the handler in the answer's extensions
/// (through [`Audited`]): the object (`target:web-1`) and its JSON before and after (`None`:
/// absent, created or deleted), already redacted as the API shows it (targets through
/// `Target::redacted`, channels with `***`).
#[derive(Debug, Clone, PartialEq)]
pub struct AuditChange {
    /// `<kind>:<id>`.
    pub object: String,
    /// The object before the write (redacted); `None` when it did not exist.
    pub before: Option<Value>,
    /// The object after the write (redacted); `None` when it no longer exists.
    pub after: Option<Value>,
    /// Paths whose secret changed while the redacted values stay equal (a new proxy password
    /// behind the same `***`): recorded as `***` → [`SECRET_CHANGED`], never the values.
    pub secrets_changed: Vec<String>,
}

/// The `after` of a secret that changed behind its mask.
pub const SECRET_CHANGED: &str = "*** (changed)";

impl AuditChange {
    /// The change of `kind:id` from `before` to `after`, as JSON (a value that does not
    /// serialize counts as absent).
    pub fn of<B: Serialize, A: Serialize>(
        kind: &str,
        id: &str,
        before: Option<&B>,
        after: Option<&A>,
    ) -> Self {
        AuditChange {
            object: object(kind, id),
            before: before.and_then(|b| serde_json::to_value(b).ok()),
            after: after.and_then(|a| serde_json::to_value(a).ok()),
            secrets_changed: Vec::new(),
        }
    }

    /// This change with the secrets that changed between `raw_before` and `raw_after` (the
    /// objects unredacted) where the redacted before and after show no change: only their
    /// paths are kept.
    pub fn with_secrets_of<T: Serialize>(mut self, raw_before: &T, raw_after: &T) -> Self {
        let (Ok(b), Ok(a)) = (
            serde_json::to_value(raw_before),
            serde_json::to_value(raw_after),
        ) else {
            return self;
        };
        let shown: Vec<String> = diff(self.before.as_ref(), self.after.as_ref())
            .into_iter()
            .map(|c| c.path)
            .collect();
        self.secrets_changed = diff(Some(&b), Some(&a))
            .into_iter()
            .map(|c| c.path)
            .filter(|p| !shown.contains(p))
            .collect();
        self
    }

    /// An object named with no change to show (`lease:server` released, `dump:…` made).
    pub fn named(kind: &str, id: &str) -> Self {
        AuditChange {
            object: object(kind, id),
            before: None,
            after: None,
            secrets_changed: Vec::new(),
        }
    }
}

/// `<kind>:<id>`, the id clipped to [`MAX_ID_CHARS`].
fn object(kind: &str, id: &str) -> String {
    format!(
        "{kind}:{}",
        id.chars().take(MAX_ID_CHARS).collect::<String>()
    )
}

/// The changes of one answer, in its extensions.
#[derive(Debug, Clone, Default)]
pub struct AuditChanges(pub Vec<AuditChange>);

/// An answer with the [`AuditChange`]s of its write: `Ok(Json::ok(..).audited(change))`.
#[derive(Debug)]
pub struct Audited<R>(pub R, pub Vec<AuditChange>);

impl<R: IntoResponse> IntoResponse for Audited<R> {
    fn into_response(self) -> Response {
        let mut response = self.0.into_response();
        response.extensions_mut().insert(AuditChanges(self.1));
        response
    }
}

/// Attaches [`AuditChange`]s to any answer.
pub trait AuditExt: Sized {
    /// This answer with one change.
    fn audited(self, change: AuditChange) -> Audited<Self> {
        Audited(self, vec![change])
    }
    /// This answer with several changes (a bulk write).
    fn audited_all(self, changes: Vec<AuditChange>) -> Audited<Self> {
        Audited(self, changes)
    }
}

impl<R: IntoResponse> AuditExt for R {}

/// The kind of object a route's first path parameter names: `/v1/<resource>/…` →
/// `target`, `channel`, …; proxies are targets.
fn route_kind(route: &str) -> Option<&'static str> {
    let resource = route.strip_prefix("/v1/")?.split('/').next()?;
    Some(match resource {
        "targets" | "proxies" => "target",
        "channels" => "channel",
        "incidents" => "incident",
        "pages" => "page",
        "dumps" => "dump",
        "leases" => "lease",
        "deliveries" => "delivery",
        _ => return None,
    })
}

/// Admin writes that are telemetry, not changes an operator makes: `POST
/// /v1/proxies/{id}/usage` is the client library's report after every request it sends
/// through a proxy (`lookout_client`), so auditing it would write one entry per application
/// request; its effect is the proxy's state (traffic, cost, status), shown by `/v1/status`.
pub const NOT_AUDITED: &[(&str, &str)] = &[("POST", "/v1/proxies/{id}/usage")];

/// Route layer (`from_fn_with_state(app, record)`) on the admin routes, outside the token check:
/// records one entry for every POST, PUT, PATCH and DELETE once it has been answered, but the
/// [`NOT_AUDITED`] ones and those the token check refuses with 401 (no or a wrong token: in the
/// request log only). A 403 (the read token on an admin write) is recorded as refused, by `read`.
pub async fn record<S: Store>(
    State(app): State<AppState<S>>,
    req: Request,
    next: Next,
) -> Response {
    if !matches!(
        *req.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    ) {
        return next.run(req).await;
    }
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| req.uri().path().to_string(), |m| m.as_str().to_string());
    if NOT_AUDITED.contains(&(method.as_str(), route.as_str())) {
        return next.run(req).await;
    }
    // The layer runs outside the token check: a write the check refuses with 403 came with the
    // read token, which names its caller here; the check itself names the caller it let in.
    let token_caller = app.authorize(req.headers(), crate::Access::Read).ok();
    let (mut parts, body) = req.into_parts();
    let path_object = match (
        route_kind(&route),
        RawPathParams::from_request_parts(&mut parts, &()).await,
    ) {
        (Some(kind), Ok(params)) => params.iter().next().map(|(_, id)| object(kind, id)),
        _ => None,
    };
    let response = next.run(Request::from_parts(parts, body)).await;
    if response.status() == axum::http::StatusCode::UNAUTHORIZED {
        // Anyone can send these: recording them would let anyone write to the table. They are
        // in the request log.
        return response;
    }
    let caller = response
        .extensions()
        .get::<Caller>()
        .cloned()
        .or(token_caller)
        .unwrap_or(Caller::ANONYMOUS);
    let (response, code) = error_code(response).await;
    let outcome = AuditOutcome::of_status(response.status().as_u16(), code);
    let attached = response
        .extensions()
        .get::<AuditChanges>()
        .map(|c| c.0.clone())
        .unwrap_or_default();
    let mut objects: Vec<String> = attached.iter().map(|c| c.object.clone()).collect();
    objects.dedup();
    if objects.is_empty() {
        objects.extend(path_object);
    }
    let changes = if outcome.result == AuditResult::Ok {
        attached
            .iter()
            .flat_map(|c| {
                let masked = c.secrets_changed.iter().map(|path| FieldChange {
                    object: None,
                    path: path.clone(),
                    before: Some(Value::from("***")),
                    after: Some(Value::from(SECRET_CHANGED)),
                });
                diff(c.before.as_ref(), c.after.as_ref())
                    .into_iter()
                    .chain(masked)
                    .map(|mut f| {
                        f.object = Some(c.object.clone());
                        f
                    })
            })
            .collect()
    } else {
        Vec::new()
    };
    let entry = AuditEntry {
        id: new_audit_id(),
        at: lookout_core::time::now_ms(),
        actor: Actor {
            name: caller.name.to_string(),
            id: caller.id,
        },
        method,
        route,
        objects,
        changes,
        cut: None,
        outcome,
    }
    .capped();
    write(&app.store, entry).await;
    response
}

/// The answer and, for an error answer (4xx, 5xx), its `error.code`: the body is read (at most
/// [`ERROR_BODY_BYTES`]) and put back.
async fn error_code(response: Response) -> (Response, Option<String>) {
    if response.status().as_u16() < 400 {
        return (response, None);
    }
    let (parts, body) = response.into_parts();
    match axum::body::to_bytes(body, ERROR_BODY_BYTES).await {
        Ok(bytes) => {
            let code = serde_json::from_slice::<Value>(&bytes)
                .ok()
                .and_then(|v| v["error"]["code"].as_str().map(str::to_string));
            (Response::from_parts(parts, Body::from(bytes)), code)
        }
        Err(_) => (Response::from_parts(parts, Body::empty()), None),
    }
}

/// Writes `entry`, retrying what may succeed again; when it cannot be written, logs it whole
/// (it holds no secret) at error level so that the operator's logs keep it.
pub async fn write<S: AuditLog + Sync>(store: &S, entry: AuditEntry) {
    let policy = retry_policy(
        Duration::from_millis(50),
        Duration::from_millis(400),
        WRITE_ATTEMPTS,
    );
    let result = until_all_done(
        policy,
        vec![entry],
        StoreError::is_retryable,
        |entries: Vec<AuditEntry>| async move {
            for e in &entries {
                store.record_audit(e).await?;
            }
            Ok::<_, StoreError>(Vec::new())
        },
    )
    .await;
    if let Err(not_done) = result {
        for e in &not_done.items {
            tracing::error!(
                audit_entry = %serde_json::to_string(e).unwrap_or_default(),
                attempts = not_done.attempts,
                error = %not_done.last_error,
                "audit entry not written"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lookout_app::ports::{AuditPage, AuditQuery};
    use std::sync::Mutex;

    /// An audit log that answers the errors of `failures` first, then writes.
    #[derive(Default)]
    struct Flaky {
        failures: Mutex<Vec<StoreError>>,
        attempts: Mutex<u32>,
        written: Mutex<Vec<AuditEntry>>,
    }

    impl AuditLog for Flaky {
        async fn record_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
            *self.attempts.lock().unwrap() += 1;
            if let Some(e) = self.failures.lock().unwrap().pop() {
                return Err(e);
            }
            self.written.lock().unwrap().push(entry.clone());
            Ok(())
        }
        async fn audit_entries(&self, _: &AuditQuery) -> Result<AuditPage, StoreError> {
            Ok(AuditPage::default())
        }
    }

    fn entry() -> AuditEntry {
        AuditEntry {
            id: new_audit_id(),
            at: 1,
            actor: Actor {
                name: "admin".into(),
                id: None,
            },
            method: "DELETE".into(),
            route: "/v1/leases/{kind}".into(),
            objects: vec!["lease:server".into()],
            changes: vec![],
            cut: None,
            outcome: AuditOutcome::of_status(204, None),
        }
    }

    #[tokio::test]
    async fn a_throttled_audit_write_is_sent_again_and_lands() {
        let log = Flaky::default();
        log.failures.lock().unwrap().extend([
            StoreError::Throttled("slow down".into()),
            StoreError::Unavailable("no answer".into()),
        ]);
        write(&log, entry()).await;
        assert_eq!(*log.attempts.lock().unwrap(), 3);
        assert_eq!(log.written.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn an_audit_write_refused_for_what_it_holds_is_not_sent_again() {
        let log = Flaky::default();
        log.failures
            .lock()
            .unwrap()
            .push(StoreError::Invalid("too large".into()));
        write(&log, entry()).await;
        assert_eq!(*log.attempts.lock().unwrap(), 1);
        assert!(log.written.lock().unwrap().is_empty());
    }

    #[test]
    fn the_route_names_the_kind_of_its_object() {
        assert_eq!(route_kind("/v1/targets/{id}"), Some("target"));
        assert_eq!(route_kind("/v1/proxies/{id}/usage"), Some("target"));
        assert_eq!(route_kind("/v1/leases/{kind}"), Some("lease"));
        assert_eq!(route_kind("/v1/checks"), None);
        assert_eq!(object("page", &"x".repeat(300)).len(), 5 + MAX_ID_CHARS);
    }
}
