//! Redaction of secrets (proxy credentials, secret headers) before anything is logged, stored in a
//! result, alerted or answered by the API.

/// Replaces the user and password of a URL with `***`: `http://u:p@host:3128` becomes
/// `http://***:***@host:3128`. A URL without credentials comes back unchanged; text that is not
/// a URL comes back with anything between `://` and `@` masked.
pub fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut u) => {
            if u.username().is_empty() && u.password().is_none() {
                return raw.to_string();
            }
            let _ = u.set_username("***");
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            u.to_string()
        }
        Err(_) => redact_text(raw),
    }
}

/// Masks every `scheme://user:pass@` credential found inside free text (error messages quote
/// URLs), keeping the rest of the text. Everything from `://` to the last `@` before the next
/// whitespace, `"`, `<` or `>` is masked, so a password with an unencoded `/`, `:` or `@` is masked
/// whole (a path holding an `@` is masked too: safe rather than sorry).
pub fn redact_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| c.is_whitespace() || c == '"' || c == '<' || c == '>')
            .unwrap_or(tail.len());
        match tail[..end].rfind('@') {
            Some(at) => {
                out.push_str("***@");
                rest = &tail[at + 1..];
            }
            None => rest = tail,
        }
    }
    out.push_str(rest);
    out
}

/// At most `max` characters of `text` with control characters (line breaks included) replaced by
/// spaces: safe for subjects and one-line messages whatever the script (never splits a UTF-8
/// character).
pub fn clip(text: &str, max: usize) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max)
        .collect()
}

/// Masks the values of query parameters whose names look secret (`?api_key=...`, `?token=...`)
/// and any credentials of a URL. Text that is not a URL is masked as [`redact_text`] does.
pub fn redact_url_and_query(raw: &str) -> String {
    let masked = redact_url(raw);
    let Ok(mut u) = url::Url::parse(&masked) else {
        return masked;
    };
    if u.query().is_none() || !u.query_pairs().any(|(k, _)| is_secret_header(&k)) {
        return masked;
    }
    let pairs: Vec<(String, String)> = u
        .query_pairs()
        .map(|(k, v)| {
            let v = if is_secret_header(&k) {
                "***".to_string()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    u.query_pairs_mut().clear().extend_pairs(pairs);
    u.to_string()
}

/// Whether a header's value is a secret to be masked in API answers and logs: credentials,
/// cookies, and any header whose name mentions a token, key, secret or password.
pub fn is_secret_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    matches!(
        n.as_str(),
        "authorization" | "proxy-authorization" | "cookie" | "set-cookie"
    ) || ["token", "key", "secret", "password", "auth"]
        .iter()
        .any(|w| n.contains(w))
}

/// Renders an error with its whole cause chain, `outer: inner: ...` (the `Display` of SDK and
/// HTTP client errors alone says only "service error" or "error sending request").
pub fn error_chain<E: std::error::Error + ?Sized>(e: &E) -> String {
    let mut text = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        text.push_str(": ");
        text.push_str(&s.to_string());
        src = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_credentials_are_masked_and_host_kept() {
        let r = redact_url("http://alice:s3cr3t@127.0.0.1:3128");
        assert!(!r.contains("alice") && !r.contains("s3cr3t"), "{r}");
        assert!(r.contains("127.0.0.1:3128"));
        assert_eq!(
            redact_url("http://127.0.0.1:8080/x"),
            "http://127.0.0.1:8080/x"
        );
    }

    #[test]
    fn credentials_inside_error_text_are_masked() {
        let r = redact_text("error sending request for url (http://bob:pw@10.0.0.1:8080/): boom");
        assert!(!r.contains("bob") && !r.contains("pw@"), "{r}");
        assert!(r.contains("10.0.0.1:8080/): boom"));
    }

    #[test]
    fn clip_never_splits_a_character_and_flattens_line_breaks() {
        let name = "Сервер".repeat(30);
        assert_eq!(clip(&name, 99).chars().count(), 99);
        assert_eq!(clip("a\nb", 10), "a b");
    }

    #[test]
    fn secret_query_parameters_and_url_credentials_are_masked() {
        let r = redact_url_and_query("https://u:pw@api.example/x?api_key=k123&page=2");
        assert!(
            !r.contains("k123") && !r.contains("pw@") && r.contains("page=2"),
            "{r}"
        );
        assert_eq!(
            redact_url_and_query("http://h/x?page=2"),
            "http://h/x?page=2"
        );
    }

    use proptest::prelude::*;

    fn encode(s: &str) -> String {
        url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        /// Credentials of any shape (with `@`, `/`, `:`, `%` and more inside, percent-encoded
        /// or not, empty user or password, IPv6 hosts) never survive redaction, and the host
        /// does.
        #[test]
        fn credentials_never_survive_redaction(
            user in "[a-z]{0,2}[A-Za-z0-9@/:%!$&'()*+,;=.~-]{0,10}",
            pass in "[A-Za-z0-9@/:%!$&'()*+,;=.~-]{0,12}(://)?[A-Za-z0-9@/:]{0,4}",
            host in prop_oneof![
                Just("127.0.0.1".to_string()),
                Just("[::1]".to_string()),
                Just("[2001:db8::7]".to_string()),
                "[a-z]{1,8}(\\.[a-z]{2,5}){0,2}",
            ],
            port in proptest::option::of(1u16..),
            scheme in prop_oneof![Just("http"), Just("https"), Just("socks5")],
        ) {
            let secret = format!("Zq{pass}");
            let user = format!("Uu{user}");
            let port = port.map(|p| format!(":{p}")).unwrap_or_default();
            // As stored: percent-encoded, a valid URL.
            let encoded = format!("{scheme}://{}:{}@{host}{port}/path?q=1", encode(&user), encode(&secret));
            let shown = redact_url(&encoded);
            prop_assert!(!shown.contains("Zq") && !shown.contains("Uu"), "{shown}");
            prop_assert!(shown.contains(host.trim_start_matches('[').split(']').next().unwrap()), "{shown}");
            // As a person might paste it, unencoded, inside an error message.
            let raw = format!("{scheme}://{user}:{secret}@{host}{port}/x");
            for text in [
                format!("error sending request for url ({raw}): connection refused"),
                format!("proxy \"{raw}\" failed"),
                format!("{raw} and {encoded}"),
            ] {
                let masked = redact_text(&text);
                // Not even a part: the markers that start user and password are gone.
                prop_assert!(!masked.contains("Zq") && !masked.contains("Uu"), "{masked}");
                prop_assert!(!masked.contains(&encode(&secret)), "{masked}");
            }
            // A password only, or a user only.
            let only_pass = redact_url(&format!("{scheme}://:{}@{host}{port}", encode(&secret)));
            prop_assert!(!only_pass.contains(&encode(&secret)), "{only_pass}");
            let only_user = redact_url(&format!("{scheme}://{}@{host}{port}", encode(&secret)));
            prop_assert!(!only_user.contains(&encode(&secret)), "{only_user}");
        }
    }

    #[test]
    fn secret_headers_are_recognised() {
        assert!(is_secret_header("Authorization"));
        assert!(is_secret_header("X-Api-Key"));
        assert!(!is_secret_header("Accept"));
    }
}
