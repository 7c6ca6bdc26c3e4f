//! Access levels and the token check, as a route layer ([`require`]): the bearer token compared
//! in constant time ([`subtle`]) with the admin and read tokens.
//!
//! | access | no or wrong token | read token | admin token |
//! | --- | --- | --- | --- |
//! | public (`LOOKOUT_PUBLIC_STATUS`, default true) | open | open | open |
//! | public (`LOOKOUT_PUBLIC_STATUS=false`), read | 401 | open | open |
//! | admin | 401 | 403 | open |

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use crate::{ApiError, App};

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, unless `LOOKOUT_PUBLIC_STATUS=false` (then the read token).
    Public,
    /// The read token or the admin token.
    Read,
    /// The admin token.
    Admin,
}

/// The bearer token of the request, if any.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
}

/// Whether `given` equals `expected`, compared in constant time.
fn same(given: &str, expected: Option<&str>) -> bool {
    expected.is_some_and(|e| bool::from(given.as_bytes().ct_eq(e.as_bytes())))
}

impl<S> App<S> {
    /// Checks a request's headers against a route's access: none or a wrong token is 401, the
    /// read token on an admin route 403.
    ///
    /// # Errors
    /// [`ApiError::Unauthorized`] or [`ApiError::Forbidden`].
    pub fn authorize(&self, headers: &HeaderMap, access: Access) -> Result<(), ApiError> {
        if access == Access::Public && self.public_status {
            return Ok(());
        }
        let given = bearer(headers).ok_or(ApiError::Unauthorized)?;
        let admin = same(given, self.admin_token.as_deref());
        let read = same(given, self.read_token.as_deref());
        match access {
            _ if admin => Ok(()),
            Access::Admin if read => Err(ApiError::Forbidden),
            Access::Public | Access::Read if read => Ok(()),
            _ => Err(ApiError::Unauthorized),
        }
    }
}

/// Route layer (`from_fn_with_state((app, access), require)`): answers 401/403 unless the
/// request's token opens `access`.
pub async fn require<S: Send + Sync>(
    State((app, access)): State<(Arc<App<S>>, Access)>,
    req: Request,
    next: Next,
) -> Response {
    match app.authorize(req.headers(), access) {
        Ok(()) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}
