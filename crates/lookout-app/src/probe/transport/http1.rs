//! One HTTP/1.1 exchange over a connection [`open`](super::open) made, through hyper's client
//! connection: the answer's head and at most a cap of its body.

use super::*;

/// A request to send over an [`Opened`] connection.
pub(crate) struct Outgoing<'a> {
    pub method: http::Method,
    pub url: &'a url::Url,
    pub headers: Vec<(&'a str, &'a str)>,
    pub body: Option<Vec<u8>>,
}

/// The answer to one request: head, the first `cap` bytes of the body, and the bytes counted.
pub(crate) struct Exchanged {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Vec<u8>,
    /// Bytes received: status line and headers (approximate) plus the whole body read.
    pub bytes: u64,
    /// From `started` to the answer's head, in ms.
    pub ttfb_ms: u64,
}

/// Aborts a spawned task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);
impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Sends one HTTP/1.1 request over `opened` and reads the answer's head and at most `cap` body
/// bytes (the rest is never downloaded).
///
/// # Errors
/// A [`Failure`]: `connect` when the peer closed before a full answer, `other` for an answer
/// that is not HTTP.
pub(crate) async fn exchange(
    opened: Opened,
    out: Outgoing<'_>,
    started: Instant,
    cap: usize,
) -> Result<Exchanged, Failure> {
    // Title-case header names (`Proxy-Authorization`): some proxies (pproxy) look them up
    // case-sensitively.
    let (mut sender, conn) = hyper::client::conn::http1::Builder::new()
        .title_case_headers(true)
        .handshake(TokioIo::new(opened.io))
        .await
        .map_err(|e| hyper_failure(&e))?;
    let _conn = AbortOnDrop(tokio::spawn(async move {
        let _ = conn.await;
    }));
    let req = build_request(
        out,
        opened.absolute_form,
        opened.proxy_authorization.as_deref(),
    )?;
    let resp = sender
        .send_request(req)
        .await
        .map_err(|e| hyper_failure(&e))?;
    let ttfb_ms = started.elapsed().as_millis() as u64;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let head_bytes: u64 = 12
        + headers
            .iter()
            .map(|(k, v)| (k.as_str().len() + v.len() + 4) as u64)
            .sum::<u64>();
    let (body, body_bytes) = read_capped(resp.into_body(), cap).await?;
    Ok(Exchanged {
        status,
        headers,
        body,
        bytes: head_bytes + body_bytes,
        ttfb_ms,
    })
}

/// The request line's target: the bare absolute URL (no userinfo, no fragment) for a proxy,
/// else path and query.
fn request_target(url: &url::Url, absolute_form: bool) -> String {
    if absolute_form {
        // Never the test URL's own userinfo or fragment: proxies log request lines.
        let mut bare = url.clone();
        let _ = bare.set_username("");
        let _ = bare.set_password(None);
        bare.set_fragment(None);
        bare.as_str().to_string()
    } else {
        let mut t = url.path().to_string();
        if let Some(q) = url.query() {
            t.push('?');
            t.push_str(q);
        }
        t
    }
}

/// The request with the default headers, then the target's own (which replace the defaults).
///
/// # Errors
/// An `other` [`Failure`] (`bad request: ...`) for a header name or value that is not valid.
fn build_request(
    out: Outgoing<'_>,
    absolute_form: bool,
    proxy_authorization: Option<&str>,
) -> Result<http::Request<http_body_util::Full<bytes::Bytes>>, Failure> {
    let target = request_target(out.url, absolute_form);
    let host = match (out.url.host_str(), out.url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        _ => String::new(),
    };
    let mut req = http::Request::builder()
        .method(out.method)
        .uri(target)
        .header(http::header::HOST, host)
        .header(http::header::USER_AGENT, crate::probe::USER_AGENT)
        .header(http::header::ACCEPT, "*/*");
    if let Some(a) = proxy_authorization {
        req = req.header("proxy-authorization", a);
    }
    let body = out.body.unwrap_or_default();
    if !body.is_empty() {
        req = req.header(http::header::CONTENT_LENGTH, body.len());
    }
    let mut req = req
        .body(http_body_util::Full::new(bytes::Bytes::from(body)))
        .map_err(|e| Failure::new(ErrorKind::Other, clip(&format!("bad request: {e}"), 200)))?;
    // The target's own headers replace the defaults (`Host`, `User-Agent`, `Accept`): one of
    // each on the wire.
    let mut added = std::collections::HashSet::new();
    for (k, v) in &out.headers {
        let (Ok(name), Ok(value)) = (
            http::header::HeaderName::from_bytes(k.as_bytes()),
            http::header::HeaderValue::from_str(v),
        ) else {
            return Err(Failure::new(
                ErrorKind::Other,
                format!("bad request: header {:?} is not valid", clip(k, 60)),
            ));
        };
        if added.insert(name.clone()) {
            req.headers_mut().insert(name, value);
        } else {
            req.headers_mut().append(name, value);
        }
    }
    Ok(req)
}

/// Reads the body until `cap` bytes are kept or it ends; returns the kept bytes and the count
/// of all bytes received.
async fn read_capped(
    mut incoming: hyper::body::Incoming,
    cap: usize,
) -> Result<(Vec<u8>, u64), Failure> {
    let mut bytes: u64 = 0;
    let mut body = Vec::new();
    while body.len() < cap {
        match incoming.frame().await {
            Some(Ok(frame)) => {
                if let Ok(chunk) = frame.into_data() {
                    bytes += chunk.len() as u64;
                    let room = cap - body.len();
                    body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                }
            }
            None => break,
            Some(Err(e)) => return Err(hyper_failure(&e)),
        }
    }
    Ok((body, bytes))
}

/// Maps a hyper error to a failure kind.
pub(super) fn hyper_failure(e: &hyper::Error) -> Failure {
    let mut text = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        text = format!("{text}: {s}");
        src = s.source();
    }
    let (kind, word) = if e.is_incomplete_message() || e.is_canceled() || e.is_closed() {
        (ErrorKind::Connect, "connect")
    } else if e.is_parse() || e.is_parse_status() {
        (ErrorKind::Other, "not an HTTP answer")
    } else if e.is_timeout() {
        (ErrorKind::Timeout, "timeout")
    } else if text.to_ascii_lowercase().contains("reset") {
        (ErrorKind::Connect, "connect")
    } else {
        (ErrorKind::Other, "error")
    };
    Failure::new(kind, clip(&redact_text(&format!("{word}: {text}")), 200))
}
