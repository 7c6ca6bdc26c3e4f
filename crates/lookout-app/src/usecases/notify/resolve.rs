//! Secret references in a channel's settings, resolved when a message is sent.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::secrets::{find_refs, refs, SecretError, SecretRef, Secrets};
use lookout_core::notify::Channel;

/// `channel` with every secret reference in its secret fields (`{{ssm:/path}}`,
/// `{{secretsmanager:id#key}}`, whole or part of the value) replaced by its value, as probes
/// resolve theirs ([`Secrets::value`]: trimmed, cached for five minutes). Borrowed as is when
/// it holds none. Never stored: the definition keeps its references.
///
/// # Errors
/// [`SecretError`] for the first reference that cannot be resolved (naming the reference,
/// never a value) or that is malformed.
pub async fn resolve_channel<'c>(
    secrets: &Secrets,
    channel: &'c Channel,
) -> Result<Cow<'c, Channel>, SecretError> {
    let mut wanted: Vec<SecretRef> = Vec::new();
    let mut config = channel.config.clone();
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
    Ok(Cow::Owned(resolved))
}
