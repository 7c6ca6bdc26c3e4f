//! Whether an answer through a proxy is the upstream's or the proxy's own (see
//! [`provenance`]): only an upstream answer proves that a proxy works.

use super::{Answer, Failure};
use lookout_core::domain::{ErrorKind, ProxyCheck};

/// The provenance rule: whether an answer through a proxy came from the upstream (the test URL's
/// server) or is the proxy's own. Only an upstream answer can prove the proxy works.
///
/// - **Over `https` test URLs** the answer came through a `CONNECT` tunnel inside a TLS session
///   verified for the test URL's host: it is the upstream's, whatever its status. The proxy's own
///   answer there is the `CONNECT` reply, read by [`transport`](super::transport) (407, or 401 with a challenge,
///   is `proxy_auth`).
/// - **Over plain `http`** the proxy can answer in the upstream's place. Its own answer is
///   recognised by its authentication challenge: a 407, any answer with `Proxy-Authenticate`,
///   or, when credentials were sent, a 401 with a `Basic`, `Digest`, `Negotiate` or `NTLM`
///   `WWW-Authenticate` challenge and no proof of the upstream (tinyproxy 1.11 answers a wrong
///   password so, a known bug). Through a SOCKS proxy every answer is the upstream's (SOCKS
///   cannot write an HTTP answer). Proof of the upstream is a `Via` header
///   (RFC 9110 §7.6.3: a proxy adds it to what it forwards) or the target's `expect_body`.
/// - **`expect_body`**, when set, must be in every answer that decides the verdict (the judge
///   marker of proxy checkers such as ProxyBroker): without it the answer is the proxy's.
///
/// # Errors
/// A `proxy_auth` or `proxy` [`Failure`] when the answer is the proxy's own.
pub(super) fn provenance(
    p: &ProxyCheck,
    a: &Answer,
    tunneled: bool,
    sent_auth: bool,
) -> Result<(), Failure> {
    let code = a.status.as_u16();
    let header = |name: &str| a.headers.get(name).and_then(|v| v.to_str().ok());
    let marker = p
        .expect_body
        .as_deref()
        .map(|m| String::from_utf8_lossy(&a.body).contains(m));
    if !tunneled {
        if code == 407 || header("proxy-authenticate").is_some() {
            return Err(Failure::new(
                ErrorKind::ProxyAuth,
                format!("the proxy refused the credentials ({code} with a proxy challenge)"),
            ));
        }
        // A proxy's own challenge uses a scheme proxies use (Basic, Digest, Negotiate, NTLM),
        // in any of the answer's challenges; a Bearer challenge is an API's.
        let proxy_like_challenge = a.headers.get_all("www-authenticate").iter().any(|v| {
            let scheme = v.to_str().unwrap_or("").trim_start().to_ascii_lowercase();
            ["basic", "digest", "negotiate", "ntlm"]
                .iter()
                .any(|s| scheme.starts_with(s))
        });
        let proven = forwarded(p, a);
        // Only a proxy we sent credentials to refuses them with a 401 (tinyproxy); without
        // credentials a proxy asks with 407.
        if code == 401 && sent_auth && proxy_like_challenge && !proven {
            return Err(Failure::new(
                ErrorKind::ProxyAuth,
                "the proxy refused the credentials: 401 with a Basic challenge and no proof it \
                 came from the upstream (no Via header, no expect_body); use an https test URL \
                 or set expect_body if the test URL itself answers so",
            ));
        }
    }
    if marker == Some(false) && tunneled {
        // The upstream's own answer, without the marker.
        return Err(Failure::new(
            ErrorKind::Assertion,
            format!("the upstream's answer (HTTP {code}) lacks expect_body"),
        ));
    }
    if marker == Some(false) {
        return Err(Failure::new(
            ErrorKind::Proxy,
            format!(
                "the answer (HTTP {code}) lacks expect_body: it came from the proxy, not the \
                 upstream"
            ),
        ));
    }
    Ok(())
}

/// Whether an answer through an HTTP proxy shows it was forwarded from the upstream: a `Via`
/// header (RFC 9110 §7.6.3) or the target's `expect_body` marker.
pub(super) fn forwarded(p: &ProxyCheck, a: &Answer) -> bool {
    a.headers.contains_key(http::header::VIA)
        || p.expect_body
            .as_deref()
            .is_some_and(|m| String::from_utf8_lossy(&a.body).contains(m))
}
