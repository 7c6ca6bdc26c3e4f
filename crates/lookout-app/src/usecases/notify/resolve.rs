//! Secret references in a channel's settings, resolved when a message is sent.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::secrets::{find_refs, refs, SecretError, SecretRef, Secrets};
use lookout_core::domain::target::ValidationError;
use lookout_core::notify::Channel;

/// Why a channel's secret references could not be resolved into settings fit to send with.
/// Names the reference or the field, never a value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ResolveError {
    /// A reference that cannot be resolved or is malformed: retryable (the secret store may
    /// answer again, or the reference be fixed, before the message comes back).
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// A resolved value without its field's shape ([`Channel::validate_secret_values`]), e.g.
    /// a Telegram token with `/` or an Opsgenie key with a line break: not retryable, nothing
    /// is sent with it.
    #[error("the secret behind {}: {}", .0.field, .0.message)]
    Shape(ValidationError),
    /// A secret field still sealed: the store could not open it (another key, an altered
    /// value, or KMS refusing). Retryable: the key may be fixed, or the secret entered again,
    /// before the message comes back; nothing is sent with a sealed value.
    #[error("config.{0} could not be opened (sealed with another key, altered, or KMS refused); fix the key or enter the secret again")]
    Sealed(&'static str),
}

impl ResolveError {
    /// Whether a later try may succeed: a reference that did not resolve, yes; a value of the
    /// wrong shape, no.
    pub fn is_retryable(&self) -> bool {
        matches!(self, ResolveError::Secret(_) | ResolveError::Sealed(_))
    }
}

/// `channel` with every secret reference in its secret fields (`{{ssm:/path}}`,
/// `{{secretsmanager:id#key}}`, whole or part of the value) replaced by its value, as probes
/// resolve theirs ([`Secrets::value`]: trimmed, cached for five minutes). Borrowed as is when
/// it holds none. Never stored: the definition keeps its references. The resolved values are
/// checked against their fields' shapes ([`Channel::validate_secret_values`]; values given
/// as they are were checked when the channel was saved).
///
/// # Errors
/// [`ResolveError::Secret`] for the first reference that cannot be resolved (naming the
/// reference, never a value) or that is malformed; [`ResolveError::Shape`] naming the first
/// field (`config.bot_token`) whose resolved value has the wrong shape.
pub async fn resolve_channel<'c>(
    secrets: &Secrets,
    channel: &'c Channel,
) -> Result<Cow<'c, Channel>, ResolveError> {
    let mut wanted: Vec<SecretRef> = Vec::new();
    let mut config = channel.config.clone();
    config.for_each_secret_mut(|field, value| {
        if value.starts_with(crate::secrets::SEALED_PREFIX) {
            Err(ResolveError::Sealed(field))
        } else {
            Ok(())
        }
    })?;
    config.for_each_secret_mut(|field, value| match find_refs(value) {
        Ok(found) => {
            wanted.extend(found.into_iter().map(|f| f.reference));
            Ok(())
        }
        Err(e) => Err(SecretError {
            reference: format!("config.{field}"),
            problem: e.to_string(),
        }),
    })?;
    if wanted.is_empty() {
        return Ok(Cow::Borrowed(channel));
    }
    let mut values: HashMap<SecretRef, String> = HashMap::new();
    for r in wanted {
        if let std::collections::hash_map::Entry::Vacant(slot) = values.entry(r) {
            let v = secrets.value(slot.key()).await?;
            slot.insert(v);
        }
    }
    config.for_each_secret_mut(|_, value| {
        let found = find_refs(value).unwrap_or_default();
        if !found.is_empty() {
            *value = refs::substitute(value, &found, |r| {
                values.get(r).cloned().unwrap_or_default()
            });
        }
        Ok::<(), SecretError>(())
    })?;
    let mut resolved = channel.clone();
    resolved.config = config;
    resolved
        .validate_secret_values()
        .map_err(ResolveError::Shape)?;
    Ok(Cow::Owned(resolved))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::secrets::MemorySecrets;

    fn channel(kind: &str, config: serde_json::Value) -> Channel {
        serde_json::from_value(serde_json::json!({"id": "c", "name": "C", "kind": kind,
            "config": config}))
        .unwrap()
    }

    type TestNotifier<'a> = crate::usecases::notify::Notifier<
        &'a crate::memory::MemoryStore,
        &'a crate::memory::MemoryStore,
        crate::notify::HttpNotifier,
        crate::memory::MemoryMail,
    >;

    const NOW: i64 = 1_700_000_000_000;

    fn notifier(store: &crate::memory::MemoryStore, secrets: Secrets) -> TestNotifier<'_> {
        crate::usecases::notify::Notifier {
            channels: store,
            log: store,
            http: crate::notify::HttpNotifier::allow_private(),
            mail: crate::memory::MemoryMail::default(),
            clock: Arc::new(crate::clock::ManualClock::at(NOW)),
            settings: crate::usecases::notify::NotifySettings::default(),
            secrets,
        }
    }

    fn alert() -> lookout_core::domain::Alert {
        use lookout_core::domain::{Alert, AlertKind, Severity, Status, TargetKind};
        Alert {
            key: "web#down#1".into(),
            kind: AlertKind::StatusChange,
            severity: Severity::Critical,
            target_id: "web".into(),
            target_name: "Web".into(),
            target_kind: TargetKind::Server,
            group: "g".into(),
            old_status: Status::Healthy,
            new_status: Status::Down,
            at: NOW,
            subject: "Web is down".into(),
            text: "Web is down".into(),
            targets: Vec::new(),
            changes: Vec::new(),
            tags: Vec::new(),
            locations: None,
            slo: None,
        }
    }

    fn secrets(pairs: &[(&str, &str)]) -> Secrets {
        let mem = MemorySecrets::default();
        for (path, value) in pairs {
            mem.set(SecretRef::Ssm((*path).into()), value);
        }
        Secrets::new(Arc::new(mem))
    }

    #[tokio::test]
    async fn a_resolved_value_of_the_wrong_shape_fails_for_good_naming_the_field() {
        let token = "123:abc/../../bot9:other/sendMessage?x=";
        let s = secrets(&[("/tg", token), ("/og", "key-1\r\nX-Evil: yes")]);
        let tg = channel(
            "telegram",
            serde_json::json!({"bot_token": "{{ssm:/tg}}", "chat_id": "-1"}),
        );
        let e = resolve_channel(&s, &tg).await.unwrap_err();
        assert!(!e.is_retryable(), "{e:?}");
        assert!(matches!(&e, ResolveError::Shape(v) if v.field == "config.bot_token"));
        assert!(
            e.to_string()
                .starts_with("the secret behind config.bot_token: must be"),
            "{e}"
        );
        assert!(
            !e.to_string().contains("abc") && !format!("{e:?}").contains("abc"),
            "{e}"
        );
        let og = channel("opsgenie", serde_json::json!({"api_key": "{{ssm:/og}}"}));
        let e = resolve_channel(&s, &og).await.unwrap_err();
        assert!(matches!(&e, ResolveError::Shape(v) if v.field == "config.api_key"));
        assert!(!e.to_string().contains("Evil"), "{e}");
    }

    #[tokio::test]
    async fn a_delivery_with_a_misshapen_secret_fails_without_retry_and_sends_nothing() {
        use crate::memory::MemoryStore;
        use crate::usecases::notify::ChannelResult;

        let store = MemoryStore::default();
        let n = notifier(&store, secrets(&[("/tg", "123:abc/x#")]));
        let tg = channel(
            "telegram",
            serde_json::json!({"bot_token": "{{ssm:/tg}}", "chat_id": "-1"}),
        );
        let alert = alert();
        let r = n.deliver(&tg, &alert).await;
        assert!(
            matches!(&r, ChannelResult::Failed { retryable: false, error }
                if error.contains("config.bot_token") && !error.contains("abc")),
            "{r:?}"
        );
    }

    #[tokio::test]
    async fn a_value_the_store_could_not_open_is_never_sent_and_the_failure_is_retryable() {
        use crate::memory::MemoryStore;
        use crate::ports::DeliveryLog as _;
        use crate::testing::{Reply, TestServer};
        use crate::usecases::notify::ChannelResult;
        use lookout_core::notify::DeliveryStatus;

        let server = TestServer::start(|_| Reply::text(200, "ok")).await;
        // As a store lists a channel whose secrets did not open: the value is still sealed.
        let sealed = format!(
            "{}local:0011aabb:c2VhbGVkLXZhbHVl",
            crate::secrets::SEALED_PREFIX
        );
        let hook = channel(
            "webhook",
            serde_json::json!({"url": format!("{}/hook", server.url), "secret": sealed}),
        );
        let e = resolve_channel(&Secrets::none(), &hook).await.unwrap_err();
        assert!(e.is_retryable(), "{e:?}");
        assert!(matches!(e, ResolveError::Sealed("secret")), "{e:?}");
        assert!(!e.to_string().contains("c2Vh"), "{e}");

        let store = MemoryStore::default();
        let n = notifier(&store, Secrets::none());
        let alert = alert();
        let r = n.deliver(&hook, &alert).await;
        assert!(
            matches!(&r, ChannelResult::Failed { retryable: true, error } if error.contains("config.secret")),
            "{r:?}"
        );
        assert!(server.requests().is_empty(), "a sealed value was sent");
        let record = store.delivery("c", "web#down#1").await.unwrap().unwrap();
        assert_eq!(record.status, DeliveryStatus::Failed);
    }

    #[tokio::test]
    async fn a_resolved_value_of_the_right_shape_is_used_and_a_missing_one_is_retryable() {
        let s = secrets(&[("/tg", "123:AA-b_c")]);
        let tg = channel(
            "telegram",
            serde_json::json!({"bot_token": "{{ssm:/tg}}", "chat_id": "-1"}),
        );
        let got = resolve_channel(&s, &tg).await.unwrap();
        assert!(matches!(&got.config,
            lookout_core::notify::ChannelConfig::Telegram { bot_token, .. } if bot_token == "123:AA-b_c"));
        let gone = channel(
            "telegram",
            serde_json::json!({"bot_token": "{{ssm:/gone}}", "chat_id": "-1"}),
        );
        let e = resolve_channel(&s, &gone).await.unwrap_err();
        assert!(e.is_retryable(), "{e:?}");
        assert!(e.to_string().contains("{{ssm:/gone}}"), "{e}");
    }
}
