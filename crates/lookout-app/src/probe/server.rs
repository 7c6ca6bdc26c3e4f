//! Server checks: the request (with the target's headers and body, following redirects when the
//! check asks for it) and the verdict on the answer (status, body assertions, certificate expiry,
//! latency).

use std::time::{Duration, Instant};

use http::{Method, StatusCode};

use super::attempt::{Answer, Attempt, Failure};
use super::{connect, transport, Prober, WEB_SCHEMES};
use lookout_core::domain::{ErrorKind, Outcome, ServerCheck, Target, MAX_REDIRECTS};
use lookout_core::redact::{clip, redact_url_and_query};

/// The final answer of a server check's request, the URL it came from and the number of
/// redirects followed to it.
struct Fetched {
    answer: Answer,
    url: url::Url,
    hops: usize,
}

impl Prober {
    /// One attempt of a server check.
    pub(super) async fn check_server(
        &self,
        target: &Target,
        s: &ServerCheck,
        ctx: &connect::ConnectContext,
    ) -> Attempt {
        let started = Instant::now();
        if let Err(f) = self.tls.get(s.ca_pem.as_deref()) {
            return Attempt::failed(f, 0);
        }
        let url = match url::Url::parse(&s.url) {
            Ok(u) => u,
            Err(e) => {
                return Attempt::failed(Failure::new(ErrorKind::Other, format!("bad url: {e}")), 0)
            }
        };
        match self.fetch(target, s, ctx, started, url).await {
            Ok(fetched) => judge(target, s, &fetched, started.elapsed().as_millis() as u64),
            Err(f) => Attempt::failed(f, started.elapsed().as_millis() as u64),
        }
    }

    /// The request to `url`, and to each redirect when the check follows them (at most
    /// [`MAX_REDIRECTS`], each checked by the guard again), within the attempt's `timeout_ms`.
    async fn fetch(
        &self,
        target: &Target,
        s: &ServerCheck,
        ctx: &connect::ConnectContext,
        started: Instant,
        mut url: url::Url,
    ) -> Result<Fetched, Failure> {
        let deadline = started + Duration::from_millis(target.timeout_ms);
        let mut method = Method::from_bytes(s.method.as_bytes()).unwrap_or(Method::GET);
        let mut body = s.body.clone();
        let origin = url.origin();
        let mut hops = 0;
        loop {
            self.guard.check_url(&url, WEB_SCHEMES)?;
            // Credentials go only to the target's own origin, never to a redirect elsewhere.
            let home = url.origin() == origin;
            // `user:password@` in the URL is HTTP Basic authentication (as curl and reqwest
            // send it), unless the target sets its own `Authorization`.
            let userinfo_auth = userinfo_basic(&url).filter(|_| {
                home && !s
                    .headers
                    .keys()
                    .any(|k| k.eq_ignore_ascii_case("authorization"))
            });
            let mut headers: Vec<(&str, &str)> = s
                .headers
                .iter()
                .filter(|(k, _)| home || !s.is_secret_header(k))
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            if let Some(a) = &userinfo_auth {
                headers.push(("Authorization", a));
            }
            let out = transport::Outgoing {
                method: method.clone(),
                url: &url,
                headers,
                body: body.as_ref().map(|b| b.clone().into_bytes()),
            };
            let left = deadline.saturating_duration_since(Instant::now());
            let answer = self
                .send(None, s.ca_pem.as_deref(), out, ctx, left, s.max_body_bytes)
                .await?;
            let location = answer
                .headers
                .get(http::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let redirect = matches!(answer.status.as_u16(), 301 | 302 | 303 | 307 | 308);
            let Some(location) = location.filter(|_| s.follow_redirects && redirect) else {
                return Ok(Fetched { answer, url, hops });
            };
            hops += 1;
            if hops > MAX_REDIRECTS {
                let message = format!("more than {MAX_REDIRECTS} redirects");
                return Err(Failure::new(ErrorKind::Other, message));
            }
            let next = url.join(&location).map_err(|e| {
                Failure::new(ErrorKind::Other, format!("bad redirect location: {e}"))
            })?;
            let cross_origin = next.origin() != origin;
            redirect_request(answer.status, cross_origin, &mut method, &mut body)?;
            url = next;
        }
    }
}

/// The method and body of the request that follows a redirect with `status`.
///
/// # Errors
/// A 307/308 to another origin with a body (it would resend the body, which may hold
/// credentials).
fn redirect_request(
    status: StatusCode,
    cross_origin: bool,
    method: &mut Method,
    body: &mut Option<String>,
) -> Result<(), Failure> {
    if body.is_some() && cross_origin && matches!(status.as_u16(), 307 | 308) {
        return Err(Failure::new(
            ErrorKind::Other,
            format!("a {status} redirect to another origin would resend the body; not followed"),
        ));
    }
    // RFC 9110 §15.4: 303 always, and 301/302 after a POST, continue as a GET.
    if status == StatusCode::SEE_OTHER
        || (*method == Method::POST
            && matches!(status, StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND))
    {
        if *method != Method::HEAD {
            *method = Method::GET;
        }
        *body = None;
    }
    Ok(())
}

/// The verdict on a server's answer: the status must be expected and the body assertions hold;
/// then an expiring certificate makes it `degraded` and a slow answer `slow`.
fn judge(target: &Target, s: &ServerCheck, fetched: &Fetched, latency_ms: u64) -> Attempt {
    let Fetched { answer, url, hops } = fetched;
    let code = answer.status.as_u16();
    if !s.expected_status.iter().any(|r| r.contains(code)) {
        let mut message = format!("unexpected HTTP status {code}");
        if *hops > 0 {
            message.push_str(&format!(
                " after {hops} redirect(s) to {}",
                clip(&redact_url_and_query(url.as_str()), 120)
            ));
        }
        let f = Failure::new(ErrorKind::Status, message);
        return Attempt::fail_answered(answer, f, latency_ms);
    }
    if let Err(e) = assert_body(s, &answer.body) {
        let f = Failure::new(ErrorKind::Assertion, e.to_string());
        return Attempt::fail_answered(answer, f, latency_ms);
    }
    let mut attempt = Attempt::answered(answer, Outcome::Up, latency_ms);
    match answer.cert_days_left {
        Some(days) if s.cert_expiry_warn_days > 0 && days < i64::from(s.cert_expiry_warn_days) => {
            attempt.outcome = Outcome::Degraded;
            attempt.message = Some(format!(
                "certificate expires in {days} day(s), under cert_expiry_warn_days {}",
                s.cert_expiry_warn_days
            ));
        }
        _ if latency_ms > target.degraded_latency_ms => {
            attempt.outcome = Outcome::Slow;
            attempt.message = Some(format!(
                "answered in {latency_ms} ms, over degraded_latency_ms {}",
                target.degraded_latency_ms
            ));
        }
        _ => {}
    }
    attempt
}

/// `Basic <base64(user:password)>` from a URL's userinfo (percent-decoded), if it has one.
fn userinfo_basic(url: &url::Url) -> Option<String> {
    use base64::Engine as _;
    if url.username().is_empty() && url.password().is_none() {
        return None;
    }
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    let pair = format!(
        "{}:{}",
        decode(url.username()),
        decode(url.password().unwrap_or(""))
    );
    Some(format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    ))
}

/// A body assertion that failed, in words (the check's message). Quoted texts are clipped to
/// 60 characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssertionError {
    /// `body_contains` is not in the body read.
    #[error("body does not contain {needle:?} in the first {read} bytes")]
    Missing {
        /// The text looked for.
        needle: String,
        /// Body bytes read.
        read: usize,
    },
    /// `body_not_contains` is in the body.
    #[error("body contains {needle:?}")]
    Present {
        /// The text that must not be there.
        needle: String,
    },
    /// `json_pointer` is set and the body is not JSON.
    #[error("body is not JSON: {error}{cut}")]
    NotJson {
        /// The parser's message.
        error: String,
        /// ` (only the first N bytes were read)` when the body was cut at `max_body_bytes`.
        cut: String,
    },
    /// Nothing at `json_pointer`.
    #[error("JSON has nothing at {pointer:?}")]
    Nothing {
        /// The pointer.
        pointer: String,
    },
    /// The value at `json_pointer` is not `json_equals`.
    #[error("JSON at {pointer:?} is {found}, expected {want}")]
    NotEqual {
        /// The pointer.
        pointer: String,
        /// The value found (JSON text).
        found: String,
        /// The value expected (JSON text).
        want: String,
    },
}

/// The assertions on the body: `body_contains`, `body_not_contains`, `json_pointer` and
/// `json_equals`.
///
/// # Errors
/// The first that fails ([`AssertionError`]).
fn assert_body(s: &ServerCheck, body: &[u8]) -> Result<(), AssertionError> {
    let text = String::from_utf8_lossy(body);
    if let Some(needle) = &s.body_contains {
        if !text.contains(needle.as_str()) {
            return Err(AssertionError::Missing {
                needle: clip(needle, 60),
                read: body.len(),
            });
        }
    }
    if let Some(needle) = &s.body_not_contains {
        if text.contains(needle.as_str()) {
            return Err(AssertionError::Present {
                needle: clip(needle, 60),
            });
        }
    }
    let Some(pointer) = &s.json_pointer else {
        return Ok(());
    };
    let doc: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| AssertionError::NotJson {
            error: e.to_string(),
            cut: if body.len() >= s.max_body_bytes {
                format!(" (only the first {} bytes were read)", body.len())
            } else {
                String::new()
            },
        })?;
    match (doc.pointer(pointer), &s.json_equals) {
        (None, _) => Err(AssertionError::Nothing {
            pointer: clip(pointer, 60),
        }),
        (Some(found), Some(want)) if found != want => Err(AssertionError::NotEqual {
            pointer: clip(pointer, 60),
            found: clip(&found.to_string(), 60),
            want: clip(&want.to_string(), 60),
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lookout_core::domain::Check;

    fn server(extra: serde_json::Value) -> ServerCheck {
        let mut v = serde_json::json!({"id":"s","group":"g","kind":"server","url":"http://h/"});
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        match Target::from_json(v).unwrap().check {
            Check::Server(s) => s,
            _ => unreachable!(),
        }
    }

    #[test]
    fn body_assertions_pass_and_fail_with_a_reason() {
        let s = server(
            serde_json::json!({"body_contains":"ok","body_not_contains":"maintenance",
            "json_pointer":"/db/ok","json_equals":true}),
        );
        assert_eq!(
            assert_body(&s, br#"{"status":"ok","db":{"ok":true}}"#),
            Ok(())
        );
        let e = assert_body(&s, br#"{"status":"ok","db":{"ok":false}}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("/db/ok") && e.contains("false"), "{e}");
        let e = assert_body(&s, b"down for maintenance, ok?")
            .unwrap_err()
            .to_string();
        assert!(e.contains("maintenance"), "{e}");
        let e = assert_body(&s, b"nope").unwrap_err().to_string();
        assert!(e.contains("does not contain"), "{e}");
        let only_pointer = server(serde_json::json!({"json_pointer":"/a/1"}));
        assert_eq!(assert_body(&only_pointer, br#"{"a":[0,null]}"#), Ok(()));
        assert!(assert_body(&only_pointer, br#"{"a":[0]}"#).is_err());
        assert!(assert_body(&only_pointer, b"<html>")
            .unwrap_err()
            .to_string()
            .contains("not JSON"));
    }
}
