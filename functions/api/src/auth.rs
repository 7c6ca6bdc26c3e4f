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

/// Who made a request, as the token check found it: what the audit log and the request log
/// name, never the token itself. Put in the request's and the answer's extensions by
/// [`require`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Caller {
    /// `admin`, `read` or `anonymous` (no token, or a public route open to all).
    pub name: &'static str,
    /// The token's fingerprint, `sha256:` and the first 12 hex digits of the SHA-256 of the
    /// token, so that a rotated token shows as another id; `None` without a token.
    pub id: Option<String>,
}

impl Caller {
    /// No token.
    pub const ANONYMOUS: Caller = Caller {
        name: "anonymous",
        id: None,
    };

    fn token(name: &'static str, token: &str) -> Caller {
        Caller {
            name,
            id: Some(fingerprint(token)),
        }
    }
}

/// A token's fingerprint: `sha256:` and the first 12 hex digits of its SHA-256 (what the audit
/// log and the console's session cookie name a token by).
pub fn fingerprint(token: &str) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(token.as_bytes());
    format!("sha256:{}", &hex::encode(digest)[..12])
}

/// Whether `given` equals `expected`, compared in constant time.
fn same(given: &str, expected: Option<&str>) -> bool {
    expected.is_some_and(|e| bool::from(given.as_bytes().ct_eq(e.as_bytes())))
}

impl<S> App<S> {
    /// Checks a request's headers against a route's access: none or a wrong token is 401, the
    /// read token on an admin route 403.
    ///
    /// On a public route open to all, a valid token still names its caller; a wrong one is
    /// anonymous there.
    ///
    /// # Errors
    /// [`ApiError::Unauthorized`] or [`ApiError::Forbidden`].
    pub fn authorize(&self, headers: &HeaderMap, access: Access) -> Result<Caller, ApiError> {
        let open = access == Access::Public && self.public_status;
        let Some(given) = bearer(headers) else {
            return if open {
                Ok(Caller::ANONYMOUS)
            } else {
                Err(ApiError::Unauthorized)
            };
        };
        let admin = same(given, self.admin_token.as_deref());
        let read = same(given, self.read_token.as_deref());
        match access {
            _ if admin => Ok(Caller::token("admin", given)),
            Access::Admin if read => Err(ApiError::Forbidden),
            Access::Public | Access::Read if read => Ok(Caller::token("read", given)),
            _ if open => Ok(Caller::ANONYMOUS),
            _ => Err(ApiError::Unauthorized),
        }
    }
}

/// Route layer (`from_fn_with_state((app, access), require)`): answers 401/403 unless the
/// request's token opens `access`; puts the [`Caller`] in the request's extensions (for the
/// handlers and the audit log) and in the answer's (for the request log at the edge).
pub async fn require<S: Send + Sync>(
    State((app, access)): State<(Arc<App<S>>, Access)>,
    mut req: Request,
    next: Next,
) -> Response {
    match app.authorize(req.headers(), access) {
        Ok(caller) => {
            req.extensions_mut().insert(caller.clone());
            let mut response = next.run(req).await;
            response.extensions_mut().insert(caller);
            response
        }
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(token: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(t) = token {
            h.insert("authorization", format!("Bearer {t}").parse().unwrap());
        }
        h
    }

    #[test]
    fn the_caller_is_named_by_its_token_kind_and_a_fingerprint_never_the_token() {
        let app = App {
            admin_token: Some("admin-secret".into()),
            read_token: Some("read-secret".into()),
            ..App::local(())
        };
        let admin = app
            .authorize(&headers(Some("admin-secret")), Access::Admin)
            .unwrap();
        assert_eq!(admin.name, "admin");
        let id = admin.id.unwrap();
        assert!(id.starts_with("sha256:") && id.len() == 19, "{id}");
        assert!(!id.contains("admin-secret"));
        let read = app
            .authorize(&headers(Some("read-secret")), Access::Public)
            .unwrap();
        assert_eq!(read.name, "read");
        assert_ne!(read.id.as_deref(), Some(id.as_str()));
        assert_eq!(
            app.authorize(&headers(Some("wrong")), Access::Public).ok(),
            Some(Caller::ANONYMOUS)
        );
        assert!(matches!(
            app.authorize(&headers(None), Access::Read),
            Err(ApiError::Unauthorized)
        ));
        assert!(matches!(
            app.authorize(&headers(Some("read-secret")), Access::Admin),
            Err(ApiError::Forbidden)
        ));
    }
}
