//! Secrets of target definitions.
//!
//! **By reference.** The user or password in `proxy_url` or a server's `url`, and any part of a
//! header value, may name a secret kept elsewhere instead of holding it:
//! - `{{ssm:<parameter name>}}`: an SSM Parameter Store parameter, read with decryption
//!   (SecureString), e.g. `http://bob:{{ssm:/lookout/proxy-dc1}}@10.0.0.5:3128`;
//! - `{{secretsmanager:<secret id>}}`: a Secrets Manager secret's string, or
//!   `{{secretsmanager:<secret id>#<key>}}` the string field `key` of a JSON secret, e.g.
//!   `"Authorization": "Bearer {{secretsmanager:lookout/api#token}}"`.
//!
//! A TCP check's `send` may hold references too (`AUTH {{ssm:/redis/password}}\r\n`): each is
//! replaced by its value as is.
//!
//! The definition keeps the reference; [`Secrets::resolve`] makes a resolved copy when a check
//! runs (surrounding whitespace trimmed, as Prometheus does with `password_file`; in a URL the
//! value is percent-encoded). Values are cached for [`SECRET_CACHE_TTL`], so a rotated secret is
//! used at most that long after the change. [`check`] is the one path every caller (the probe
//! function, the API's manual checks) takes to a [`Prober::check`]: a reference that cannot be
//! resolved makes that check `failed` / `other`, naming the reference, never its value.
//!
//! **At rest.** Inline secrets (the same places, when they hold no reference; header values only
//! of secret headers) are sealed by `lookout_aws::sealing` before a definition is stored.

/// The reference syntax, part of the domain; kept under its old path.
pub use lookout_core::domain::secret_ref as refs;

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;

pub use refs::{find_refs, has_refs, validate_refs, SecretRef};

use crate::probe::Prober;
use lookout_core::domain::target::Check;
use lookout_core::domain::{CheckResult, ErrorKind, Outcome, Target};

/// How long a resolved secret is reused before it is read again (5 minutes): a rotated secret
/// reaches the checks at most this long after the change, and a run of 1,000 targets sharing one
/// secret reads it once.
pub const SECRET_CACHE_TTL: Duration = Duration::from_secs(300);

/// The prefix of a secret sealed at rest (`lookout_aws::sealing`, `enc:v1:...`). A store that
/// cannot open one channel's secrets lists it with its values still sealed, so that the other
/// channels are not held up; nothing is ever sent with such a value
/// ([`crate::usecases::notify::ResolveError::Sealed`]).
pub const SEALED_PREFIX: &str = "enc:v1:";

/// Most secrets cached at once; the cache is emptied when it is full.
pub const MAX_CACHED_SECRETS: usize = 1024;

/// A reference that could not be resolved. Names the reference, never a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("secret {reference} could not be resolved: {problem}")]
pub struct SecretError {
    /// The reference as written, e.g. `{{ssm:/lookout/proxy-dc1}}`.
    pub reference: String,
    /// Why (not found, access denied, empty, not JSON ...), without the value.
    pub problem: String,
}

/// Why a secret could not be read (not found, access denied, not JSON ...), in words, without
/// any secret value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FetchError(pub String);

impl From<String> for FetchError {
    fn from(message: String) -> Self {
        FetchError(message)
    }
}

/// Reads secrets where they are kept (the port; `lookout_aws::secrets::AwsSecrets` on AWS,
/// [`MemorySecrets`] in tests).
pub trait SecretResolver: Send + Sync {
    /// The current value of `reference`.
    ///
    /// # Errors
    /// [`FetchError`]: why it cannot be read, without any secret value in the text.
    fn fetch<'a>(&'a self, reference: &'a SecretRef) -> BoxFuture<'a, Result<String, FetchError>>;
}

/// Secrets held in memory, for tests: counts its fetches.
#[derive(Debug, Default)]
pub struct MemorySecrets {
    values: Mutex<HashMap<SecretRef, String>>,
    fetches: std::sync::atomic::AtomicUsize,
}

impl MemorySecrets {
    /// Sets (or replaces) a secret.
    pub fn set(&self, reference: SecretRef, value: &str) {
        self.values
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(reference, value.to_string());
    }

    /// How many times a value was fetched.
    pub fn fetches(&self) -> usize {
        self.fetches.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl SecretResolver for MemorySecrets {
    fn fetch<'a>(&'a self, reference: &'a SecretRef) -> BoxFuture<'a, Result<String, FetchError>> {
        self.fetches
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let got = self
            .values
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(reference)
            .cloned()
            .ok_or_else(|| FetchError("not found".into()));
        Box::pin(async move { got })
    }
}

impl<T: SecretResolver + ?Sized> SecretResolver for Arc<T> {
    fn fetch<'a>(&'a self, reference: &'a SecretRef) -> BoxFuture<'a, Result<String, FetchError>> {
        (**self).fetch(reference)
    }
}

type Cache = HashMap<SecretRef, (String, Instant)>;

/// A resolver with its cache. Cheap to clone (shared cache); the default resolves nothing (a
/// reference then fails its check with "no secret resolver configured").
#[derive(Clone)]
pub struct Secrets {
    resolver: Option<Arc<dyn SecretResolver>>,
    ttl: Duration,
    cache: Arc<Mutex<Cache>>,
}

impl Default for Secrets {
    fn default() -> Self {
        Secrets::none()
    }
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("resolver", &self.resolver.is_some())
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl Secrets {
    /// Resolves no reference (definitions without references need none).
    pub fn none() -> Self {
        Secrets {
            resolver: None,
            ttl: SECRET_CACHE_TTL,
            cache: Arc::default(),
        }
    }

    /// Resolves through `resolver`, caching values for [`SECRET_CACHE_TTL`].
    pub fn new(resolver: impl SecretResolver + 'static) -> Self {
        Secrets {
            resolver: Some(Arc::new(resolver)),
            ..Secrets::none()
        }
    }

    /// The same, with values cached for `ttl` instead (tests use a short one).
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The value of `reference`, from the cache while it is younger than the TTL.
    ///
    /// # Errors
    /// [`SecretError`] when it cannot be read or is empty.
    pub async fn value(&self, reference: &SecretRef) -> Result<String, SecretError> {
        let fail = |problem: String| SecretError {
            reference: reference.to_string(),
            problem: lookout_core::redact::clip(&lookout_core::redact::redact_text(&problem), 300),
        };
        if let Some((v, at)) = self
            .cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(reference)
        {
            if at.elapsed() < self.ttl {
                return Ok(v.clone());
            }
        }
        let resolver = self
            .resolver
            .as_ref()
            .ok_or_else(|| fail("no secret resolver is configured here".into()))?;
        let value = resolver.fetch(reference).await.map_err(|e| fail(e.0))?;
        let value = value.trim().to_string();
        if value.is_empty() {
            return Err(fail("the value is empty".into()));
        }
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= MAX_CACHED_SECRETS {
            cache.clear();
        }
        cache.insert(reference.clone(), (value.clone(), Instant::now()));
        Ok(value)
    }

    /// `target` with every reference replaced by its value (borrowed as is when it has none).
    /// Never stored: the definition keeps its references.
    ///
    /// # Errors
    /// [`SecretError`] for the first reference that cannot be resolved, or whose value cannot
    /// stand in a header.
    pub async fn resolve<'t>(&self, target: &'t Target) -> Result<Cow<'t, Target>, SecretError> {
        let mut t = Cow::Borrowed(target);
        let mut check = target.check.clone();
        let mut changed = false;
        for (_, url) in refs::url_fields(&mut check) {
            let found = find_refs(url).unwrap_or_default();
            if found.is_empty() {
                continue;
            }
            let values = self.values(&found).await?;
            *url = refs::substitute(url, &found, |r| refs::encode_userinfo(&values[r]));
            changed = true;
        }
        if let Check::Server(s) = &mut check {
            let mut secret_names = Vec::new();
            for (name, value) in s.headers.iter_mut() {
                let found = find_refs(value).unwrap_or_default();
                if found.is_empty() {
                    continue;
                }
                // A header that held a reference holds a secret now, whatever its name: masked
                // in answers and never sent to another origin on a redirect.
                secret_names.push(name.clone());
                let values = self.values(&found).await?;
                let resolved = refs::substitute(value, &found, |r| values[r].clone());
                if http::header::HeaderValue::from_str(&resolved).is_err() {
                    return Err(SecretError {
                        reference: found[0].reference.to_string(),
                        problem: "the value cannot stand in a header (a line break or a control \
                                  character)"
                            .into(),
                    });
                }
                *value = resolved;
                changed = true;
            }
            for name in secret_names {
                if !s.is_secret_header(&name) {
                    s.secret_headers.push(name);
                }
            }
        }
        // What a TCP check sends (`AUTH {{ssm:/redis/password}}\r\n`): the value as is.
        if let Check::Tcp(c) = &mut check {
            if let Some(send) = c.send.as_mut() {
                let found = find_refs(send).unwrap_or_default();
                if !found.is_empty() {
                    let values = self.values(&found).await?;
                    *send = refs::substitute(send, &found, |r| values[r].clone());
                    changed = true;
                }
            }
        }
        if changed {
            t.to_mut().check = check;
        }
        Ok(t)
    }

    async fn values(
        &self,
        found: &[refs::Found],
    ) -> Result<HashMap<SecretRef, String>, SecretError> {
        let mut out = HashMap::new();
        for f in found {
            if !out.contains_key(&f.reference) {
                let v = self.value(&f.reference).await?;
                out.insert(f.reference.clone(), v);
            }
        }
        Ok(out)
    }
}

/// A `failed` / `other` result of `target` for a secret that could not be resolved.
pub fn unresolved(target: &Target, now_ms: i64, e: &SecretError) -> CheckResult {
    CheckResult {
        target_id: target.id.clone(),
        kind: target.kind(),
        at: now_ms,
        outcome: Outcome::Failed,
        status_code: None,
        latency_ms: 0,
        connect_ms: None,
        ttfb_ms: None,
        cert_days_left: None,
        bytes: 0,
        attempts: 1,
        error: Some(ErrorKind::Other),
        message: Some(lookout_core::redact::clip(&e.to_string(), 300)),
    }
}

/// Checks `target` with its secret references resolved: the path every check takes (the probe
/// function's runs, the API's manual checks). A reference that cannot be resolved makes the
/// result `failed` / `other` with a message naming it ([`unresolved`]); nothing is probed then.
pub async fn check(
    prober: &Prober,
    secrets: &Secrets,
    target: &Target,
    now_ms: i64,
) -> CheckResult {
    match secrets.resolve(target).await {
        Ok(resolved) => prober.check(&resolved, now_ms).await,
        Err(e) => {
            tracing::warn!(target = %target.id, error = %e, "secret reference not resolved");
            unresolved(target, now_ms, &e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn proxy(url: &str) -> Target {
        Target::from_json(json!({"id":"p","group":"g","kind":"proxy","proxy_url":url,
            "test_urls":["http://x/"]}))
        .unwrap()
    }

    #[tokio::test]
    async fn references_resolve_into_a_copy_encoded_for_urls_and_raw_in_headers() {
        let mem = Arc::new(MemorySecrets::default());
        mem.set(SecretRef::Ssm("/lookout/p".into()), "p@ss:/w\n");
        mem.set(
            SecretRef::SecretsManager {
                id: "lookout/api".into(),
                key: None,
            },
            "t0k",
        );
        let secrets = Secrets::new(mem.clone());
        let t = proxy("http://bob:{{ssm:/lookout/p}}@h:3128");
        let r = secrets.resolve(&t).await.unwrap();
        assert_eq!(
            r.proxy().unwrap().proxy_url,
            "http://bob:p%40ss%3A%2Fw@h:3128"
        );
        assert!(
            t.proxy().unwrap().proxy_url.contains("{{ssm:"),
            "the definition keeps it"
        );
        let s = Target::from_json(
            json!({"id":"s","group":"g","kind":"server","url":"http://h/",
            "headers":{"Authorization":"Bearer {{secretsmanager:lookout/api}}"}}),
        )
        .unwrap();
        let r = secrets.resolve(&s).await.unwrap();
        let Check::Server(c) = &r.check else { panic!() };
        assert_eq!(c.headers["Authorization"], "Bearer t0k");
        // A header of an ordinary name that held a reference is a secret header after it.
        let plain_name = Target::from_json(
            json!({"id":"s","group":"g","kind":"server","url":"http://h/",
            "headers":{"X-Customer":"{{secretsmanager:lookout/api}}"}}),
        )
        .unwrap();
        let r = secrets.resolve(&plain_name).await.unwrap();
        let Check::Server(c) = &r.check else { panic!() };
        assert!(c.is_secret_header("X-Customer"), "{:?}", c.secret_headers);
        // Cached: a second resolve reads nothing.
        let before = mem.fetches();
        secrets.resolve(&t).await.unwrap();
        assert_eq!(mem.fetches(), before);
        // No reference: borrowed, nothing read.
        let plain = proxy("http://bob:pw@h:3128");
        assert!(matches!(
            secrets.resolve(&plain).await.unwrap(),
            Cow::Borrowed(_)
        ));
    }

    #[tokio::test]
    async fn the_cache_expires_after_its_ttl() {
        let mem = Arc::new(MemorySecrets::default());
        let r = SecretRef::Ssm("/lookout/x".into());
        mem.set(r.clone(), "one");
        let secrets = Secrets::new(mem.clone()).with_ttl(Duration::from_millis(50));
        assert_eq!(secrets.value(&r).await.unwrap(), "one");
        mem.set(r.clone(), "two");
        assert_eq!(secrets.value(&r).await.unwrap(), "one");
        tokio::time::sleep(Duration::from_millis(80)).await;
        assert_eq!(secrets.value(&r).await.unwrap(), "two");
    }

    #[tokio::test]
    async fn an_unresolvable_reference_fails_the_check_naming_it() {
        let prober = Prober::new().unwrap();
        let t = proxy("http://bob:{{ssm:/lookout/missing}}@127.0.0.1:9");
        for secrets in [Secrets::none(), Secrets::new(MemorySecrets::default())] {
            let r = check(&prober, &secrets, &t, 1).await;
            assert_eq!(
                (r.outcome, r.error),
                (Outcome::Failed, Some(ErrorKind::Other))
            );
            let m = r.message.unwrap();
            assert!(m.contains("{{ssm:/lookout/missing}}"), "{m}");
        }
        let mem = MemorySecrets::default();
        mem.set(SecretRef::Ssm("/lookout/h".into()), "line\nbreak-secret");
        let s = Target::from_json(json!({"id":"s","group":"g","kind":"server",
            "url":"http://127.0.0.1:9/","headers":{"X-Token":"{{ssm:/lookout/h}}"}}))
        .unwrap();
        let r = check(&prober, &Secrets::new(mem), &s, 1).await;
        assert!(!r.message.unwrap().contains("break-secret"));
    }
}
