//! Console sessions: the admin or read token exchanged at sign-in for a signed cookie, and the
//! CSRF token every form carries.
//!
//! The cookie `lookout_session` is `v1.<payload>.<mac>`: the payload is base64url JSON
//! ([`Session`]: role, a random 128-bit session id, expiry in epoch ms, the fingerprint of the
//! role's token: 48 bits of its SHA-256, as the audit log names callers), the MAC is
//! HMAC-SHA256 over `v1.<payload>` with [`key`]. The token itself is in no cookie, page or URL.
//! Attributes: `HttpOnly`, `SameSite=Strict`, `Path=<base>/console`, no `Max-Age` (a browser
//! session cookie, gone when the browser closes; the signed expiry, [`SESSION_TTL_S`], ends it
//! sooner), and `Secure` unless the browser reached a loopback host (`localhost`,
//! `127.0.0.0/8`, `[::1]`) over plain HTTP, where the local stack is (OWASP Session Management
//! Cheat Sheet). Sessions are not stored: sign-out deletes the cookie, and a copied cookie
//! stays valid until its expiry or a token rotation.
//!
//! The key is derived from the tokens themselves (SHA-256 of a fixed label, the admin token and
//! the read token), so every API instance computes the same key with no new secret to keep, and
//! rotating either token ends every session. A session also names its token's fingerprint: a
//! session of a token that is no longer configured is refused.
//!
//! CSRF: the synchronizer token pattern (OWASP CSRF Prevention Cheat Sheet). A session's token
//! is HMAC-SHA256(key, `csrf:<session id>`), put in every form as `_csrf` and checked in
//! constant time on every `POST` ([`crate::console::gate`]); the sign-in form, before any
//! session, carries HMAC(key, `login:<nonce>`) with the nonce in a short-lived cookie of its own.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use hmac::{Hmac, Mac as _};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use crate::App;

/// How long a session lasts, seconds (12 hours: a working day; sign in again after).
pub const SESSION_TTL_S: i64 = 12 * 3600;
/// How long a sign-in form stays valid, seconds.
pub const LOGIN_TTL_S: i64 = 600;
/// The session cookie's name.
pub const SESSION_COOKIE: &str = "lookout_session";
/// The sign-in form's nonce cookie.
pub const LOGIN_COOKIE: &str = "lookout_login";
/// The reader's language cookie (`en`, `ar`, `fa`; not a secret).
pub const LANG_COOKIE: &str = "lookout_lang";

/// What a session may do: everything (the admin token) or look (the read token).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Signed in with `LOOKOUT_ADMIN_TOKEN`: reads and every form.
    Admin,
    /// Signed in with `LOOKOUT_READ_TOKEN`: reads only; every form is refused (403).
    Read,
}

/// A signed-in browser, as its cookie carries it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Session {
    /// Admin or read.
    #[serde(rename = "r")]
    pub role: Role,
    /// 128 random bits, hex: what the CSRF token is bound to.
    #[serde(rename = "s")]
    pub sid: String,
    /// When the session ends, epoch ms.
    #[serde(rename = "e")]
    pub expires_ms: i64,
    /// `sha256:` and 12 hex digits of the role's token (as [`crate::auth::Caller`] names it).
    #[serde(rename = "f")]
    pub fingerprint: String,
}

type HmacSha256 = Hmac<Sha256>;

/// The signing key of the console's cookies and CSRF tokens: SHA-256 of a fixed label, the admin
/// token and the read token (each may be absent). `None` when neither token is set: no one can
/// sign in.
pub fn key<S>(app: &App<S>) -> Option<[u8; 32]> {
    if app.admin_token.is_none() && app.read_token.is_none() {
        return None;
    }
    let mut h = Sha256::new();
    h.update(b"lookout console session key v1\0");
    h.update(app.admin_token.as_deref().unwrap_or("").as_bytes());
    h.update(b"\0");
    h.update(app.read_token.as_deref().unwrap_or("").as_bytes());
    Some(h.finalize().into())
}

fn mac(key: &[u8; 32], data: &[u8]) -> [u8; 32] {
    let mut m = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    m.update(data);
    m.finalize().into_bytes().into()
}

/// 128 random bits in hex (ring's system random).
pub fn random_id() -> String {
    use ring::rand::SecureRandom as _;
    let mut bytes = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .expect("the system random source answers");
    hex::encode(bytes)
}

/// The current time, epoch ms.
pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

impl Session {
    /// A new session of `role` whose token is `token`, from now for [`SESSION_TTL_S`].
    pub fn new(role: Role, token: &str, now_ms: i64) -> Session {
        Session {
            role,
            sid: random_id(),
            expires_ms: now_ms + SESSION_TTL_S * 1000,
            fingerprint: crate::auth::fingerprint(token),
        }
    }

    /// The cookie value: `v1.<payload>.<mac>`.
    pub fn seal(&self, key: &[u8; 32]) -> String {
        let payload = B64.encode(serde_json::to_vec(self).expect("a session serialises"));
        let signed = format!("v1.{payload}");
        let tag = B64.encode(mac(key, signed.as_bytes()));
        format!("{signed}.{tag}")
    }

    /// The session a cookie value carries, when its MAC holds, it has not expired at `now_ms`
    /// and its token is still the one `app` has for its role. `None` otherwise (never an
    /// error: a bad cookie is no session).
    pub fn open<S>(app: &App<S>, value: &str, now_ms: i64) -> Option<Session> {
        let key = key(app)?;
        let (signed, tag) = value.rsplit_once('.')?;
        let payload = signed.strip_prefix("v1.")?;
        let tag = B64.decode(tag).ok()?;
        if !bool::from(mac(&key, signed.as_bytes()).as_slice().ct_eq(&tag)) {
            return None;
        }
        let session: Session = serde_json::from_slice(&B64.decode(payload).ok()?).ok()?;
        let token = match session.role {
            Role::Admin => app.admin_token.as_deref(),
            Role::Read => app.read_token.as_deref(),
        }?;
        (session.expires_ms > now_ms && crate::auth::fingerprint(token) == session.fingerprint)
            .then_some(session)
    }

    /// This session's CSRF token (base64url HMAC of its id).
    pub fn csrf(&self, key: &[u8; 32]) -> String {
        B64.encode(mac(key, format!("csrf:{}", self.sid).as_bytes()))
    }

    /// Whether `given` is this session's CSRF token (constant time).
    pub fn csrf_ok(&self, key: &[u8; 32], given: &str) -> bool {
        bool::from(self.csrf(key).as_bytes().ct_eq(given.as_bytes()))
    }

    /// Whether the session may submit forms (admin only).
    pub fn can_write(&self) -> bool {
        self.role == Role::Admin
    }
}

/// The sign-in form's CSRF token for the nonce in its cookie.
pub fn login_csrf(key: &[u8; 32], nonce: &str) -> String {
    B64.encode(mac(key, format!("login:{nonce}").as_bytes()))
}

/// Whether `host` (a `Host` header, with or without its port) is a loopback name or address,
/// where the console's cookies go without `Secure` (plain HTTP on this machine).
pub fn is_loopback_host(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A `Set-Cookie` value: `name=value` with `HttpOnly; SameSite=Strict; Path=path`, `Max-Age`
/// when given (`Some(0)` deletes it; `None`: a browser session cookie) and `Secure` when
/// `secure`.
pub fn cookie(name: &str, value: &str, path: &str, max_age_s: Option<i64>, secure: bool) -> String {
    format!(
        "{name}={value}; Path={path}{}; HttpOnly; SameSite=Strict{}",
        max_age_s.map_or_else(String::new, |s| format!("; Max-Age={s}")),
        if secure { "; Secure" } else { "" }
    )
}

/// The value of cookie `name` in a `Cookie` header, if any.
pub fn read_cookie<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app() -> App<()> {
        App {
            admin_token: Some("admin-secret".into()),
            read_token: Some("read-secret".into()),
            ..App::local(())
        }
    }

    #[test]
    fn a_sealed_session_opens_until_it_expires_and_never_carries_the_token() {
        let app = app();
        let k = key(&app).unwrap();
        let s = Session::new(Role::Admin, "admin-secret", 1_000);
        let value = s.seal(&k);
        assert!(!value.contains("admin-secret"));
        let decoded =
            String::from_utf8(B64.decode(value.split('.').nth(1).unwrap()).unwrap()).unwrap();
        assert!(!decoded.contains("admin-secret"), "{decoded}");
        assert_eq!(Session::open(&app, &value, 2_000), Some(s.clone()));
        assert_eq!(
            Session::open(&app, &value, 1_000 + SESSION_TTL_S * 1000),
            None,
            "expired"
        );
    }

    #[test]
    fn a_changed_cookie_a_rotated_token_or_a_foreign_key_is_no_session() {
        let app = app();
        let k = key(&app).unwrap();
        let value = Session::new(Role::Read, "read-secret", 0).seal(&k);
        // The payload changed to admin, MAC kept.
        let (_, payload, tag) = {
            let mut p = value.split('.');
            (p.next().unwrap(), p.next().unwrap(), p.next().unwrap())
        };
        let mut json: serde_json::Value =
            serde_json::from_slice(&B64.decode(payload).unwrap()).unwrap();
        json["r"] = "admin".into();
        let forged = format!("v1.{}.{tag}", B64.encode(json.to_string()));
        assert_eq!(Session::open(&app, &forged, 1), None);
        let rotated = App {
            read_token: Some("new-read-secret".into()),
            ..app
        };
        assert_eq!(Session::open(&rotated, &value, 1), None, "rotated token");
        assert_eq!(Session::open(&App::local(()), &value, 1), None, "no tokens");
    }

    #[test]
    fn the_csrf_token_is_bound_to_its_session() {
        let app = app();
        let k = key(&app).unwrap();
        let a = Session::new(Role::Admin, "admin-secret", 0);
        let b = Session::new(Role::Admin, "admin-secret", 0);
        assert!(a.csrf_ok(&k, &a.csrf(&k)));
        assert!(!a.csrf_ok(&k, &b.csrf(&k)));
        assert!(!a.csrf_ok(&k, ""));
    }

    #[test]
    fn loopback_hosts_are_told_from_others() {
        for h in [
            "localhost",
            "localhost:9000",
            "127.0.0.1:80",
            "127.9.0.1",
            "[::1]:9000",
        ] {
            assert!(is_loopback_host(h), "{h}");
        }
        for h in [
            "example.com",
            "10.0.0.1:80",
            "[2001:db8::1]:443",
            "localhost.example.com",
        ] {
            assert!(!is_loopback_host(h), "{h}");
        }
    }
}
