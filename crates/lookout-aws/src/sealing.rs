//! Inline secrets sealed before a target definition is stored, opened when it is read: envelope
//! encryption with AES-256-GCM (ring).
//!
//! What is sealed: the password in `proxy_url` (or a server's `url`) and the values of secret
//! headers (named in `secret_headers`, or recognised by name), unless they hold a secret
//! reference (`lookout_app::secrets`), which is an address, not a secret. The rest of the definition
//! stays readable JSON. A sealed value is self-describing text:
//!
//! ```text
//! enc:v1:local:<key fingerprint, 8 hex>:<base64url(nonce ‖ ciphertext ‖ tag)>
//! enc:v1:kms:<base64url(KMS-encrypted data key)>:<base64url(nonce ‖ ciphertext ‖ tag)>
//! ```
//!
//! The nonce is 12 random bytes, the associated data `lookout:<target id>` (a value moved to
//! another target does not open). Notification channels' secret fields (webhook URLs, bot
//! tokens, routing keys, API keys, signing secrets) are sealed one value at a time
//! ([`Sealer::seal_value`]) with the associated data `lookout:channel:<id>` ([`channel_aad`]). With KMS (`LOOKOUT_KMS_KEY_ID`), one data key from
//! `GenerateDataKey` (encryption context `lookout=target-secrets`) seals for
//! [`DATA_KEY_TTL`] and its encrypted copy travels with every value; opening calls `Decrypt`
//! once per data key and caches the plain key as long. Locally, `LOOKOUT_SECRETS_KEY` (32 bytes,
//! base64) is the key. A dump copies items as stored, so it holds only sealed values, and a
//! restored table opens with the same key.
//!
//! Without any key the store refuses to write an inline secret ([`SealError::NoKey`], the API's
//! 422): storing it in plain text would put it in every dump. Definitions stored before sealing
//! existed are read as they are and sealed on their next write.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom as _, SystemRandom};

pub use lookout_app::config::LocalKey;
use lookout_app::secrets::refs::{has_refs, url_fields, url_userinfo};
use lookout_core::domain::target::Check;
use lookout_core::domain::Target;

/// The prefix of every sealed value (defined in `lookout_app::secrets`, where the notifier
/// refuses to send a value that is still sealed).
pub use lookout_app::secrets::SEALED_PREFIX;

/// How long one KMS data key seals new values, and how long a decrypted data key is kept for
/// opening (5 minutes): at most one `GenerateDataKey` and one `Decrypt` per data key and warm
/// function in that time.
pub const DATA_KEY_TTL: Duration = Duration::from_secs(300);

/// Decrypted data keys kept at once; the cache is emptied when full.
const MAX_OPEN_KEYS: usize = 256;

/// The KMS encryption context of Lookout's data keys (IAM conditions may require it).
pub const KMS_CONTEXT: (&str, &str) = ("lookout", "target-secrets");

/// Why a definition could not be sealed or opened. Never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// An inline secret, and no key to seal it with.
    #[error("{0}")]
    NoKey(String),
    /// KMS failed (network, permissions, throttling): worth retrying.
    #[error("kms: {0}")]
    Kms(String),
    /// A sealed value that does not open: another key, or altered.
    #[error("{0}")]
    Corrupt(String),
}

/// A data key in plain: (plain key, encrypted key, made at).
type SealingKey = ([u8; 32], Vec<u8>, Instant);
/// Encrypted data key → (plain key, decrypted at).
type OpenKeys = HashMap<Vec<u8>, ([u8; 32], Instant)>;

struct Kms {
    client: super::LazyClient<aws_sdk_kms::Client>,
    key_id: String,
    ttl: Duration,
    sealing: tokio::sync::Mutex<Option<SealingKey>>,
    opening: Mutex<OpenKeys>,
}

enum Mode {
    /// Stores what it is given; reads sealed values as an error. For tests of other parts.
    Plain,
    /// No key configured: refuses inline secrets.
    Refuse,
    /// Read-only users (the digest): sealed values read as `***`, never opened.
    Masked,
    Local(LocalKey),
    Kms(Box<Kms>),
}

/// Seals and opens the secrets of target definitions and notification channels. Cheap to
/// clone.
#[derive(Clone)]
pub struct Sealer(Arc<Mode>);

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mode = match &*self.0 {
            Mode::Plain => "plain".to_string(),
            Mode::Refuse => "refuse".to_string(),
            Mode::Masked => "masked".to_string(),
            Mode::Local(k) => format!("local:{}", k.fingerprint()),
            Mode::Kms(k) => format!("kms:{}", k.key_id),
        };
        write!(f, "Sealer({mode})")
    }
}

fn aead(key: &[u8; 32]) -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).expect("a 32-byte AES-256 key"))
}

fn aad(target_id: &str) -> String {
    format!("lookout:{target_id}")
}

/// The associated data of a notification channel's secrets: `lookout:channel:<id>` (target
/// ids hold no `:`, so the two never meet).
pub fn channel_aad(channel_id: &str) -> String {
    format!("lookout:channel:{channel_id}")
}

fn encrypt(key: &[u8; 32], aad: &str, plain: &str) -> Result<String, SealError> {
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| SealError::Kms("no random numbers for a nonce".into()))?;
    let mut buf = plain.as_bytes().to_vec();
    aead(key)
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad.as_bytes()),
            &mut buf,
        )
        .map_err(|_| SealError::Corrupt("sealing failed".into()))?;
    let mut out = nonce.to_vec();
    out.extend(buf);
    Ok(B64.encode(out))
}

fn decrypt(key: &[u8; 32], aad: &str, what: &str, payload: &str) -> Result<String, SealError> {
    let bad = || {
        SealError::Corrupt(format!(
            "a sealed secret of {what} does not open (another key, or altered)"
        ))
    };
    let bytes = B64.decode(payload).map_err(|_| bad())?;
    if bytes.len() < NONCE_LEN {
        return Err(bad());
    }
    let (nonce, sealed) = bytes.split_at(NONCE_LEN);
    let mut buf = sealed.to_vec();
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| bad())?;
    let plain = aead(key)
        .open_in_place(nonce, Aad::from(aad.as_bytes()), &mut buf)
        .map_err(|_| bad())?;
    String::from_utf8(plain.to_vec()).map_err(|_| bad())
}

/// The places of a definition that hold secrets, as (is a URL password, text) pairs.
fn for_each_secret(
    t: &mut Target,
    mut f: impl FnMut(&mut String) -> Result<(), SealError>,
) -> Result<(), SealError> {
    for (_, url) in url_fields(&mut t.check) {
        if let Some((_, Some(pass))) = url_userinfo(url) {
            let mut text = url[pass.clone()].to_string();
            if text.is_empty() || has_refs(&text) {
                continue;
            }
            f(&mut text)?;
            url.replace_range(pass, &text);
        }
    }
    match &mut t.check {
        Check::Server(s) => {
            for name in s.secret_header_names() {
                if let Some(value) = s.headers.get_mut(&name) {
                    if !value.is_empty() && !has_refs(value) {
                        f(value)?;
                    }
                }
            }
        }
        // What a TCP check sends may hold a password (Redis `AUTH`).
        Check::Tcp(c) => {
            if let Some(send) = c.send.as_mut() {
                if !send.is_empty() && !has_refs(send) {
                    f(send)?;
                }
            }
        }
        _ => {}
    }
    Ok(())
}

impl Sealer {
    /// Stores definitions as given and cannot open sealed ones (tests of other parts).
    pub fn plain() -> Self {
        Sealer(Arc::new(Mode::Plain))
    }

    /// No key: definitions with inline secrets are refused ([`SealError::NoKey`]).
    pub fn refusing() -> Self {
        Sealer(Arc::new(Mode::Refuse))
    }

    /// For readers that never need secrets (the digest): sealed values read as `***` without
    /// any key; writing inline secrets is refused.
    pub fn masked() -> Self {
        Sealer(Arc::new(Mode::Masked))
    }

    /// Seals with a local key (`LOOKOUT_SECRETS_KEY`).
    pub fn local(key: LocalKey) -> Self {
        Sealer(Arc::new(Mode::Local(key)))
    }

    /// Seals with data keys of the KMS key `key_id` (id, ARN or `alias/...`), each used and
    /// cached for `ttl` ([`DATA_KEY_TTL`] in production).
    pub fn kms(
        client: impl Into<super::LazyClient<aws_sdk_kms::Client>>,
        key_id: impl Into<String>,
        ttl: Duration,
    ) -> Self {
        Sealer(Arc::new(Mode::Kms(Box::new(Kms {
            client: client.into(),
            key_id: key_id.into(),
            ttl,
            sealing: tokio::sync::Mutex::new(None),
            opening: Mutex::new(HashMap::new()),
        }))))
    }

    /// The functions' sealer: KMS when `LOOKOUT_KMS_KEY_ID` is set (a client from `aws`, so the
    /// same HTTPS client and `AWS_ENDPOINT_URL_KMS`), else the key `LOOKOUT_SECRETS_KEY`, else
    /// [`Sealer::refusing`].
    pub fn from_settings(
        aws: &aws_config::SdkConfig,
        settings: &lookout_app::config::Settings,
    ) -> Self {
        match (&settings.kms_key_id, &settings.secrets_key) {
            (Some(id), _) => {
                let client = super::LazyClient::new(aws, aws_sdk_kms::Client::new);
                Sealer::kms(client, id, DATA_KEY_TTL)
            }
            (None, Some(key)) => Sealer::local(key.clone()),
            (None, None) => Sealer::refusing(),
        }
    }

    /// A copy of `t` with its inline secrets sealed.
    ///
    /// # Errors
    /// [`SealError::NoKey`] for an inline secret without a key; [`SealError::Kms`] when no data
    /// key could be made.
    pub async fn seal(&self, t: &Target) -> Result<Target, SealError> {
        let mut out = t.clone();
        let mut plain = Vec::new();
        for_each_secret(&mut out, |v| {
            plain.push(v.clone());
            Ok(())
        })?;
        if plain.is_empty() {
            return Ok(out);
        }
        let Some((key, key_ref)) = self
            .sealing_key(
                "an inline secret (a password in the URL or a secret header value) needs an \
                 encryption key to be stored: set LOOKOUT_KMS_KEY_ID or LOOKOUT_SECRETS_KEY, \
                 or name the secret with {{ssm:/name}} or {{secretsmanager:name}}",
            )
            .await?
        else {
            return Ok(out);
        };
        let aad = aad(&t.id);
        for_each_secret(&mut out, |v| {
            *v = format!("{SEALED_PREFIX}{key_ref}:{}", encrypt(&key, &aad, v)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// The key that seals now and its reference in sealed values (`local:<fingerprint>` or
    /// `kms:<encrypted data key>`); `None` for [`Sealer::plain`] (store as given).
    ///
    /// # Errors
    /// [`SealError::NoKey`] with `no_key` when there is no key; [`SealError::Kms`].
    async fn sealing_key(&self, no_key: &str) -> Result<Option<([u8; 32], String)>, SealError> {
        match &*self.0 {
            Mode::Plain => Ok(None),
            Mode::Refuse | Mode::Masked => Err(SealError::NoKey(no_key.into())),
            Mode::Local(k) => Ok(Some((*k.bytes(), format!("local:{}", k.fingerprint())))),
            Mode::Kms(kms) => {
                let (key, blob) = kms.sealing_key().await?;
                Ok(Some((key, format!("kms:{}", B64.encode(blob)))))
            }
        }
    }

    /// Seals one secret value with associated data `aad` (a channel's: [`channel_aad`]), so
    /// that it opens only under the same `aad`. Empty values and secret references
    /// (`{{ssm:...}}`) are addresses, not secrets: they stay as they are, as do values sealed
    /// already. [`Sealer::plain`] answers the value as given.
    ///
    /// # Errors
    /// [`SealError::NoKey`] for an inline secret without a key (a message that says which
    /// settings to set; never the value); [`SealError::Kms`] when no data key could be made.
    pub async fn seal_value(&self, aad: &str, value: &str) -> Result<String, SealError> {
        if value.is_empty() || has_refs(value) || value.starts_with(SEALED_PREFIX) {
            return Ok(value.to_string());
        }
        let Some((key, key_ref)) = self
            .sealing_key(
                "an inline secret (a webhook URL, token or key) needs an encryption key to be \
                 stored: set LOOKOUT_KMS_KEY_ID or LOOKOUT_SECRETS_KEY, or name the secret \
                 with {{ssm:/name}} or {{secretsmanager:name}}",
            )
            .await?
        else {
            return Ok(value.to_string());
        };
        Ok(format!(
            "{SEALED_PREFIX}{key_ref}:{}",
            encrypt(&key, aad, value)?
        ))
    }

    /// Opens a value [`Sealer::seal_value`] sealed under `aad`; any other value (plain, a
    /// reference) is answered as it is. [`Sealer::masked`] answers `***` for a sealed value.
    ///
    /// # Errors
    /// [`SealError::Corrupt`] when it does not open (another key, another `aad`, altered) or
    /// no key for it is configured; [`SealError::Kms`] when KMS cannot decrypt the data key.
    pub async fn open_value(&self, aad: &str, value: &str) -> Result<String, SealError> {
        if !value.starts_with(SEALED_PREFIX) {
            return Ok(value.to_string());
        }
        self.open_sealed(aad, aad, value).await
    }

    /// `t` with its sealed secrets opened (plain values, from before sealing, stay as they are).
    ///
    /// # Errors
    /// [`SealError::Corrupt`] when a value does not open or this sealer has no key for it;
    /// [`SealError::Kms`] when KMS cannot decrypt the data key now.
    pub async fn open(&self, mut t: Target) -> Result<Target, SealError> {
        let mut sealed = Vec::new();
        for_each_secret(&mut t, |v| {
            if v.starts_with(SEALED_PREFIX) {
                sealed.push(v.clone());
            }
            Ok(())
        })?;
        if sealed.is_empty() {
            return Ok(t);
        }
        let mut opened = HashMap::new();
        for v in sealed {
            let plain = self
                .open_sealed(&aad(&t.id), &format!("target {}", t.id), &v)
                .await?;
            opened.insert(v, plain);
        }
        for_each_secret(&mut t, |v| {
            if let Some(p) = opened.get(v.as_str()) {
                v.clone_from(p);
            }
            Ok(())
        })?;
        Ok(t)
    }

    /// Opens `value` (it starts with [`SEALED_PREFIX`]) under `aad`; errors name `what`.
    async fn open_sealed(&self, aad: &str, what: &str, value: &str) -> Result<String, SealError> {
        let corrupt = |m: &str| SealError::Corrupt(format!("{what}: {m}"));
        let rest = &value[SEALED_PREFIX.len()..];
        let mut parts = rest.splitn(3, ':');
        let (scheme, key_ref, payload) = match (parts.next(), parts.next(), parts.next()) {
            (Some(s), Some(k), Some(p)) => (s, k, p),
            _ => return Err(corrupt("a sealed secret is malformed")),
        };
        match (&*self.0, scheme) {
            (Mode::Masked, _) => Ok("***".into()),
            (Mode::Local(k), "local") => {
                if key_ref != k.fingerprint() {
                    return Err(corrupt(&format!(
                        "a secret is sealed with key {key_ref}, but LOOKOUT_SECRETS_KEY is key {}",
                        k.fingerprint()
                    )));
                }
                decrypt(k.bytes(), aad, what, payload)
            }
            (Mode::Kms(kms), "kms") => {
                let blob = B64
                    .decode(key_ref)
                    .map_err(|_| corrupt("a sealed secret's data key is malformed"))?;
                let key = kms.opening_key(blob).await?;
                decrypt(&key, aad, what, payload)
            }
            (_, scheme) => Err(corrupt(&format!(
                "a secret is sealed ({scheme}), and no key for it is configured here \
                 (LOOKOUT_KMS_KEY_ID or LOOKOUT_SECRETS_KEY)"
            ))),
        }
    }
}

impl Kms {
    async fn sealing_key(&self) -> Result<([u8; 32], Vec<u8>), SealError> {
        let mut current = self.sealing.lock().await;
        if let Some((key, blob, at)) = &*current {
            if at.elapsed() < self.ttl {
                return Ok((*key, blob.clone()));
            }
        }
        let made = self
            .client
            .generate_data_key()
            .key_id(&self.key_id)
            .key_spec(aws_sdk_kms::types::DataKeySpec::Aes256)
            .encryption_context(KMS_CONTEXT.0, KMS_CONTEXT.1)
            .send()
            .await
            .map_err(|e| SealError::Kms(super::sdk_message(&e)))?;
        let key: [u8; 32] = made
            .plaintext
            .map(|b| b.into_inner())
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| SealError::Kms("GenerateDataKey returned no 32-byte key".into()))?;
        let blob = made
            .ciphertext_blob
            .map(|b| b.into_inner())
            .ok_or_else(|| SealError::Kms("GenerateDataKey returned no encrypted key".into()))?;
        self.remember(&blob, key);
        *current = Some((key, blob.clone(), Instant::now()));
        Ok((key, blob))
    }

    fn remember(&self, blob: &[u8], key: [u8; 32]) {
        let mut cache = self.opening.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= MAX_OPEN_KEYS {
            cache.clear();
        }
        cache.insert(blob.to_vec(), (key, Instant::now()));
    }

    async fn opening_key(&self, blob: Vec<u8>) -> Result<[u8; 32], SealError> {
        if let Some((key, at)) = self
            .opening
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&blob)
        {
            if at.elapsed() < self.ttl {
                return Ok(*key);
            }
        }
        let got = self
            .client
            .decrypt()
            // Only this key may open it, even if the role could ever use others.
            .key_id(&self.key_id)
            .ciphertext_blob(aws_smithy_types::Blob::new(blob.clone()))
            .encryption_context(KMS_CONTEXT.0, KMS_CONTEXT.1)
            .send()
            .await
            .map_err(|e| SealError::Kms(super::sdk_message(&e)))?;
        let key: [u8; 32] = got
            .plaintext
            .map(|b| b.into_inner())
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| SealError::Kms("Decrypt returned no 32-byte key".into()))?;
        self.remember(&blob, key);
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(n: u8) -> LocalKey {
        LocalKey::from_bytes([n; 32])
    }

    fn targets() -> (Target, Target) {
        let p = Target::from_json(json!({"id":"p","group":"g","kind":"proxy",
            "proxy_url":"http://bob:pa%40ss-9@10.0.0.5:3128","test_urls":["http://x/"]}))
        .unwrap();
        let s = Target::from_json(json!({"id":"s","group":"g","kind":"server",
            "url":"https://h/x","secret_headers":["X-Tenant"],
            "headers":{"Authorization":"Bearer tok-7","X-Tenant":"acme-1","Accept":"text/plain",
                       "X-Api-Key":"{{ssm:/lookout/k}}"}}))
        .unwrap();
        (p, s)
    }

    #[tokio::test]
    async fn secrets_are_sealed_and_open_again_the_rest_stays_readable() {
        let sealer = Sealer::local(key(7));
        let (p, s) = targets();
        let sp = sealer.seal(&p).await.unwrap();
        let url = &sp.proxy().unwrap().proxy_url;
        assert!(
            url.starts_with("http://bob:enc:v1:local:") && url.ends_with("@10.0.0.5:3128"),
            "{url}"
        );
        assert!(!url.contains("pa%40ss"), "{url}");
        assert_eq!(sealer.open(sp).await.unwrap(), p);
        let ss = sealer.seal(&s).await.unwrap();
        let text = serde_json::to_string(&ss).unwrap();
        assert!(
            !text.contains("tok-7") && !text.contains("acme-1"),
            "{text}"
        );
        assert!(
            text.contains("text/plain") && text.contains("{{ssm:/lookout/k}}"),
            "{text}"
        );
        assert_eq!(sealer.open(ss).await.unwrap(), s);
    }

    #[tokio::test]
    async fn another_key_a_moved_value_or_no_key_does_not_open() {
        let (p, _) = targets();
        let sealed = Sealer::local(key(1)).seal(&p).await.unwrap();
        let e = Sealer::local(key(2))
            .open(sealed.clone())
            .await
            .unwrap_err();
        assert!(matches!(e, SealError::Corrupt(_)), "{e}");
        let mut moved = sealed.clone();
        moved.id = "q".into();
        assert!(Sealer::local(key(1)).open(moved).await.is_err());
        assert!(Sealer::refusing().open(sealed.clone()).await.is_err());
        let masked = Sealer::masked().open(sealed).await.unwrap();
        assert_eq!(
            masked.proxy().unwrap().proxy_url,
            "http://bob:***@10.0.0.5:3128"
        );
        let e = Sealer::refusing().seal(&p).await.unwrap_err();
        assert!(matches!(e, SealError::NoKey(_)), "{e}");
        // No inline secret: nothing to refuse.
        let (_, s) = targets();
        let mut no_inline = s.clone();
        if let Check::Server(c) = &mut no_inline.check {
            c.headers.retain(|k, _| k == "Accept" || k == "X-Api-Key");
        }
        assert!(Sealer::refusing().seal(&no_inline).await.is_ok());
    }

    #[tokio::test]
    async fn a_channel_value_opens_only_under_its_own_channel() {
        let sealer = Sealer::local(key(4));
        let aad = channel_aad("ops");
        let sealed = sealer.seal_value(&aad, "xoxb-123").await.unwrap();
        assert!(sealed.starts_with("enc:v1:local:") && !sealed.contains("xoxb"));
        assert_eq!(sealer.open_value(&aad, &sealed).await.unwrap(), "xoxb-123");
        assert!(sealer
            .open_value(&channel_aad("dev"), &sealed)
            .await
            .is_err());
        // A target with the same id is another subject.
        assert!(sealer.open_value("lookout:ops", &sealed).await.is_err());
        assert_eq!(
            Sealer::masked().open_value(&aad, &sealed).await.unwrap(),
            "***"
        );
        for kept in ["", "{{ssm:/lookout/slack}}"] {
            assert_eq!(
                Sealer::refusing().seal_value(&aad, kept).await.unwrap(),
                kept
            );
        }
        let e = Sealer::refusing().seal_value(&aad, "xoxb-123").await;
        assert!(matches!(e, Err(SealError::NoKey(m)) if !m.contains("xoxb")));
        assert_eq!(sealer.open_value(&aad, "plain").await.unwrap(), "plain");
    }

    #[test]
    fn local_keys_parse_from_base64_of_32_bytes() {
        let k = LocalKey::parse(&base64::engine::general_purpose::STANDARD.encode([3u8; 32]));
        assert_eq!(k.unwrap(), key(3));
        assert!(LocalKey::parse("c2hvcnQ=")
            .unwrap_err()
            .to_string()
            .contains("32"));
        assert!(!format!("{:?}", key(3)).contains("3, 3"));
    }
}
