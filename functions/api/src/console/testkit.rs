//! A browser for the console's unit tests: keeps cookies, follows no redirects by itself, finds
//! the `_csrf` field of the page it read last. Requests go through [`crate::handle`] (the whole
//! router, edge layer included) over an in-memory store.

use std::collections::BTreeMap;
use std::sync::Arc;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request};
use lookout_app::memory::MemoryStore;

use crate::{handle, App};

/// The admin token of [`app`].
pub const ADMIN: &str = "console-admin-token";
/// The read token of [`app`].
pub const READ: &str = "console-read-token";

/// An API over an empty in-memory store with both tokens set.
pub fn app() -> Arc<App<MemoryStore>> {
    Arc::new(App {
        admin_token: Some(ADMIN.into()),
        read_token: Some(READ.into()),
        ..App::local(MemoryStore::default())
    })
}

/// One answer: status, headers, body as text.
#[derive(Debug)]
pub struct Page {
    /// The status.
    pub status: StatusCode,
    /// The `Location` header, if any.
    pub location: Option<String>,
    /// The body as text.
    pub body: String,
    /// The answer's headers.
    pub headers: lambda_http::http::HeaderMap,
}

impl Page {
    /// The value of the first `name="_csrf" value="..."` in the body.
    pub fn csrf(&self) -> Option<String> {
        let at = self.body.find("name=\"_csrf\" value=\"")? + "name=\"_csrf\" value=\"".len();
        let rest = &self.body[at..];
        Some(rest[..rest.find('"')?].to_string())
    }
}

/// A cookie jar in front of the router, as `host`.
pub struct Browser {
    /// The API.
    pub app: Arc<App<MemoryStore>>,
    /// Cookies by name.
    pub cookies: BTreeMap<String, String>,
    /// The `Host` the requests name (`127.0.0.1:9000` by default: loopback, no `Secure`).
    pub host: String,
    /// The CSRF token of the last page that had one.
    pub csrf: Option<String>,
}

impl Browser {
    /// A browser with no cookies.
    pub fn new(app: Arc<App<MemoryStore>>) -> Browser {
        Browser {
            app,
            cookies: BTreeMap::new(),
            host: "127.0.0.1:9000".into(),
            csrf: None,
        }
    }

    /// A browser signed in with `token` (through the sign-in form).
    pub async fn signed_in(app: Arc<App<MemoryStore>>, token: &str) -> Browser {
        let mut b = Browser::new(app);
        b.get("/console/login").await;
        let csrf = b.csrf.clone().expect("the sign-in form has a CSRF token");
        let p = b
            .post("/console/login", &[("_csrf", &csrf), ("token", token)])
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
        let list = b.get("/console/targets").await;
        assert_eq!(list.status, StatusCode::OK, "{}", list.body);
        b
    }

    async fn send(&mut self, req: Request) -> Page {
        let resp = handle(&self.app, req).await;
        let status = resp.status();
        let headers = resp.headers().clone();
        for v in headers.get_all("set-cookie") {
            let v = v.to_str().unwrap();
            let (pair, attrs) = v.split_once(';').unwrap_or((v, ""));
            let (k, val) = pair.split_once('=').unwrap();
            if val.is_empty() || attrs.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_string(), val.to_string());
            }
        }
        let body = match resp.body() {
            Body::Text(t) => t.clone(),
            Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
            Body::Empty => String::new(),
            _ => String::new(),
        };
        let page = Page {
            status,
            location: headers
                .get("location")
                .map(|v| v.to_str().unwrap().to_string()),
            body,
            headers,
        };
        if let Some(c) = page.csrf() {
            self.csrf = Some(c);
        }
        page
    }

    fn builder(&self, method: &str, path: &str) -> lambda_http::http::request::Builder {
        let mut b = lambda_http::http::Request::builder()
            .method(method)
            .uri(format!("http://{}{path}", self.host))
            .header("host", &self.host);
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            b = b.header("cookie", jar.join("; "));
        }
        b
    }

    /// `GET path`.
    pub async fn get(&mut self, path: &str) -> Page {
        let req = self.builder("GET", path).body(Body::Empty).unwrap();
        self.send(req).await
    }

    /// `POST path` with `fields` URL-encoded (add `("_csrf", ..)` yourself, or use
    /// [`Browser::submit`]).
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in fields {
            s.append_pair(k, v);
        }
        let req = self
            .builder("POST", path)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::Text(s.finish()))
            .unwrap();
        self.send(req).await
    }

    /// `POST path` with `fields` and the session's CSRF token.
    pub async fn submit(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = self
            .csrf
            .clone()
            .expect("a page with a CSRF token was read");
        let mut all = vec![("_csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post(path, &all).await
    }

    /// A target created through the API with the admin token (`definition` is its JSON).
    pub async fn create_target(&self, definition: serde_json::Value) {
        let req = lambda_http::http::Request::builder()
            .method("POST")
            .uri("/v1/targets")
            .header("authorization", format!("Bearer {ADMIN}"))
            .header("content-type", "application/json")
            .body(Body::Text(definition.to_string()))
            .unwrap();
        let resp = handle(&self.app, req).await;
        assert_eq!(resp.status(), StatusCode::CREATED, "{:?}", resp.body());
    }
}
