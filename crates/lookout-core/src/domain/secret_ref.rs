//! Secret references inside definition text (`{{ssm:<name>}}`,
//! `{{secretsmanager:<id>[#<key>]}}`): their syntax, where a definition may hold them, and the
//! secret parts of a definition (URL passwords and header values) that both the resolver and the
//! sealing at rest work on. Pure text work: resolving a reference is the application's
//! (`lookout_app::secrets`).

use std::fmt;
use std::ops::Range;

use crate::domain::target::{Check, Target, ValidationError};

/// A reference that is started (`{{ssm:` or `{{secretsmanager:`) but not well formed. The text
/// names the reference (clipped), never a secret value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretRefError {
    /// `{{ssm:...` or `{{secretsmanager:...` without the closing `}}`.
    #[error("a secret reference {{{{... is not closed with }}}}")]
    Unclosed,
    /// `{{ssm:<name>}}` whose name is empty, too long or has other characters.
    #[error(
        "{{{{ssm:{0}}}}} is not a parameter name (1 to {max} of A-Z, a-z, 0-9, _ . - /)",
        max = MAX_NAME
    )]
    BadParameter(String),
    /// `{{secretsmanager:<id>[#<key>]}}` whose id or key is not acceptable.
    #[error(
        "{{{{secretsmanager:{0}}}}} is not a secret id (A-Z, a-z, 0-9, / _ + = . @ : -) with \
         an optional #json_key"
    )]
    BadSecretId(String),
}

/// Where a secret lives: the text `{{ssm:<name>}}` or `{{secretsmanager:<id>[#<key>]}}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SecretRef {
    /// An SSM Parameter Store parameter (String or SecureString, read with decryption).
    Ssm(String),
    /// A Secrets Manager secret's string; with `key`, that string field of the secret read as a
    /// JSON object.
    SecretsManager {
        /// Secret name or ARN.
        id: String,
        /// Field of a JSON secret, after `#`.
        key: Option<String>,
    },
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRef::Ssm(name) => write!(f, "{{{{ssm:{name}}}}}"),
            SecretRef::SecretsManager { id, key: None } => write!(f, "{{{{secretsmanager:{id}}}}}"),
            SecretRef::SecretsManager { id, key: Some(k) } => {
                write!(f, "{{{{secretsmanager:{id}#{k}}}}}")
            }
        }
    }
}

/// Longest parameter name, secret id or ARN accepted in a reference.
const MAX_NAME: usize = 2048;

fn name_ok(name: &str, extra: &str) -> bool {
    (1..=MAX_NAME).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || extra.contains(c))
}

fn parse_inner(inner: &str) -> Result<SecretRef, SecretRefError> {
    if let Some(name) = inner.strip_prefix("ssm:") {
        if !name_ok(name, "_.-/") {
            return Err(SecretRefError::BadParameter(crate::redact::clip(name, 80)));
        }
        return Ok(SecretRef::Ssm(name.to_string()));
    }
    let rest = inner.strip_prefix("secretsmanager:").unwrap_or(inner);
    let (id, key) = match rest.split_once('#') {
        Some((id, key)) => (id, Some(key)),
        None => (rest, None),
    };
    if !name_ok(id, "/_+=.@:-") || key.is_some_and(|k| !name_ok(k, "_.-") || k.len() > 256) {
        return Err(SecretRefError::BadSecretId(crate::redact::clip(rest, 80)));
    }
    Ok(SecretRef::SecretsManager {
        id: id.to_string(),
        key: key.map(str::to_string),
    })
}

/// A reference found in text: its byte range (braces included) and what it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Byte range of `{{...}}` in the text.
    pub span: Range<usize>,
    /// What it names.
    pub reference: SecretRef,
}

/// Every reference in `text`, in order. A `{{` not followed by `ssm:` or `secretsmanager:` is
/// ordinary text.
///
/// # Errors
/// [`SecretRefError`] when text starts a reference (`{{ssm:` or `{{secretsmanager:`) that is
/// not closed or does not name a parameter or secret.
pub fn find_refs(text: &str) -> Result<Vec<Found>, SecretRefError> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = text[from..].find("{{") {
        let start = from + i;
        let body = &text[start + 2..];
        if !(body.starts_with("ssm:") || body.starts_with("secretsmanager:")) {
            from = start + 2;
            continue;
        }
        let Some(len) = body.find("}}") else {
            return Err(SecretRefError::Unclosed);
        };
        let reference = parse_inner(&body[..len])?;
        let end = start + 2 + len + 2;
        out.push(Found {
            span: start..end,
            reference,
        });
        from = end;
    }
    Ok(out)
}

/// Whether `text` holds at least one well-formed reference.
pub fn has_refs(text: &str) -> bool {
    find_refs(text).is_ok_and(|f| !f.is_empty())
}

/// `text` with every reference replaced by `value(reference)`.
pub fn substitute(text: &str, found: &[Found], value: impl Fn(&SecretRef) -> String) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for f in found {
        out.push_str(&text[at..f.span.start]);
        out.push_str(&value(&f.reference));
        at = f.span.end;
    }
    out.push_str(&text[at..]);
    out
}

/// Percent-encodes everything but the unreserved characters (RFC 3986), for a URL's userinfo.
pub fn encode_userinfo(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The byte ranges of a URL's user and password (`scheme://USER:PASSWORD@host`), as written
/// (percent-encoded); `None` without userinfo. References count as opaque, so
/// `user:{{ssm:/a/b}}@host` has the password `{{ssm:/a/b}}`.
pub fn url_userinfo(url: &str) -> Option<(Range<usize>, Option<Range<usize>>)> {
    let start = url.find("://")? + 3;
    // Positions of `/ ? #` (end of the authority), `@` and `:` outside references.
    let mut marks = Vec::new();
    let mut i = start;
    while i < url.len() {
        // Only a reference is opaque (as in `find_refs`); any other `{{` is ordinary text, so
        // a password such as `p{{w` is still found (and sealed).
        let rest = &url[i..];
        if rest.starts_with("{{ssm:") || rest.starts_with("{{secretsmanager:") {
            if let Some(len) = rest.find("}}") {
                i += len + 2;
                continue;
            }
        }
        let b = url.as_bytes()[i];
        if b"/?#".contains(&b) {
            break;
        }
        if b == b'@' || b == b':' {
            marks.push((i, b));
        }
        i += 1;
    }
    let at = marks.iter().rev().find(|(_, b)| *b == b'@')?.0;
    let colon = marks
        .iter()
        .find(|(p, b)| *b == b':' && *p < at)
        .map(|(p, _)| *p);
    Some(match colon {
        Some(c) => (start..c, Some(c + 1..at)),
        None => (start..at, None),
    })
}

/// The text with every reference replaced by `x`, for checks that must parse it.
pub fn without_refs(text: &str) -> String {
    match find_refs(text) {
        Ok(found) => substitute(text, &found, |_| "x".into()),
        Err(_) => text.to_string(),
    }
}

/// The URL fields of a check whose userinfo may hold secrets: `proxy_url` of a proxy, `url` of
/// a server, with their field names
/// (none for the other kinds).
pub fn url_fields(check: &mut Check) -> Vec<(&'static str, &mut String)> {
    match check {
        Check::Proxy(p) => vec![("proxy_url", &mut p.proxy_url)],
        Check::Server(s) => vec![("url", &mut s.url)],
        Check::Tcp(_) | Check::Tls(_) | Check::Dns(_) | Check::Heartbeat(_) => Vec::new(),
    }
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> ValidationError {
    ValidationError {
        field: field.into(),
        message: message.into(),
    }
}

/// Checks a definition's references: each well formed; in `proxy_url` and `url` only inside the
/// user or password; in `headers` anywhere in a value; nowhere else.
///
/// # Errors
/// [`ValidationError`] naming the field.
pub fn validate_refs(target: &Target) -> Result<(), ValidationError> {
    let mut check = target.check.clone();
    for (field, url) in url_fields(&mut check) {
        let found = find_refs(url).map_err(|m| invalid(field, m.to_string()))?;
        if found.is_empty() {
            continue;
        }
        let info =
            url_userinfo(url).map(|(user, pass)| user.start..pass.map_or(user.end, |p| p.end));
        if found.iter().any(|f| {
            info.as_ref()
                .is_none_or(|i| f.span.start < i.start || f.span.end > i.end)
        }) {
            return Err(invalid(
                field,
                "a secret reference may stand only for the user or the password \
                 (scheme://user:{{ssm:/name}}@host)",
            ));
        }
    }
    match &target.check {
        Check::Server(s) => {
            for (name, value) in &s.headers {
                find_refs(value).map_err(|m| invalid(format!("headers.{name}"), m.to_string()))?;
            }
            for (field, text) in [("body", s.body.as_deref()), ("ca_pem", s.ca_pem.as_deref())] {
                if text.is_some_and(has_refs) {
                    return Err(invalid(field, "secret references are read only in headers and in the user or password of url"));
                }
            }
        }
        Check::Proxy(p) => {
            for (i, u) in p.test_urls.iter().enumerate() {
                if has_refs(u) {
                    return Err(invalid(
                        format!("test_urls[{i}]"),
                        "secret references are read only in the user or password of proxy_url",
                    ));
                }
            }
        }
        Check::Tcp(c) => {
            if let Some(send) = &c.send {
                find_refs(send).map_err(|m| invalid("send", m.to_string()))?;
            }
            for (field, text) in [
                ("expect_prefix", c.expect_prefix.as_deref()),
                ("expect_regex", c.expect_regex.as_deref()),
            ] {
                if text.is_some_and(has_refs) {
                    return Err(invalid(field, "secret references are read only in send"));
                }
            }
        }
        Check::Tls(c) => {
            if c.ca_pem.as_deref().is_some_and(has_refs) {
                return Err(invalid("ca_pem", "secret references are not read here"));
            }
        }
        Check::Dns(_) | Check::Heartbeat(_) => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn braces_that_are_not_a_reference_do_not_hide_the_password() {
        let url = "http://bob:p{{w@10.0.0.5:3128";
        let (user, pass) = url_userinfo(url).expect("userinfo found");
        assert_eq!(&url[user], "bob");
        assert_eq!(&url[pass.unwrap()], "p{{w");
        let url = "http://u:{{ssm:/a/b}}@h";
        assert_eq!(&url[url_userinfo(url).unwrap().1.unwrap()], "{{ssm:/a/b}}");
    }

    use super::*;

    #[test]
    fn references_are_found_and_other_braces_left_alone() {
        let f = find_refs("Bearer {{ssm:/lookout/t-1}} {{name}} {{secretsmanager:lookout/x#pw}}")
            .unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].reference, SecretRef::Ssm("/lookout/t-1".into()));
        assert_eq!(
            f[1].reference,
            SecretRef::SecretsManager {
                id: "lookout/x".into(),
                key: Some("pw".into())
            }
        );
        assert_eq!(
            f[1].reference.to_string(),
            "{{secretsmanager:lookout/x#pw}}"
        );
        assert!(find_refs("{{ssm:/a").is_err());
        assert!(find_refs("{{ssm:a b}}").is_err());
        assert!(find_refs("{{secretsmanager:}}").is_err());
    }

    #[test]
    fn url_userinfo_skips_references_and_keeps_the_port() {
        let u = "http://bob:{{ssm:/lookout/p@1}}@h:3128/x";
        let (user, pass) = url_userinfo(u).unwrap();
        assert_eq!(
            (&u[user], &u[pass.unwrap()]),
            ("bob", "{{ssm:/lookout/p@1}}")
        );
        let u = "socks5://u:pa%40ss@h:1080";
        let (_, pass) = url_userinfo(u).unwrap();
        assert_eq!(&u[pass.unwrap()], "pa%40ss");
        assert_eq!(url_userinfo("http://h:3128/a@b"), None);
        let u = "http://only@h:1";
        assert_eq!(
            url_userinfo(u).map(|(u2, p)| (&u[u2], p)),
            Some(("only", None))
        );
    }

    #[test]
    fn references_outside_user_and_password_are_refused() {
        let t = |url: &str| {
            serde_json::from_value::<Target>(serde_json::json!({"id":"p","group":"g",
                "kind":"proxy","proxy_url":url,"test_urls":["http://x/"]}))
            .unwrap()
        };
        assert!(validate_refs(&t("http://u:{{ssm:/lookout/a}}@h:1")).is_ok());
        assert_eq!(
            validate_refs(&t("http://{{ssm:/lookout/a}}:1"))
                .unwrap_err()
                .field,
            "proxy_url"
        );
        assert!(validate_refs(&t("http://u:{{ssm:bad name}}@h:1")).is_err());
    }
}
