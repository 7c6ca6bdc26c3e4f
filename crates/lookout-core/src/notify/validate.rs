//! Parsing and validation of channel definitions (`POST /v1/channels`, `PATCH`): every refusal
//! names the field by its JSON path (`config.bot_token`, `route.kinds[1]`) and never quotes a
//! secret.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::domain::secret_ref::find_refs;
use crate::domain::target::ValidationError;

use super::channel::{is_secret_ref, Channel, ChannelConfig, Language, Route, MASK};

/// Largest channel definition accepted, as JSON (16 KiB).
pub const MAX_CHANNEL_BYTES: usize = 16 * 1024;

/// Most e-mail recipients of one channel.
pub const MAX_RECIPIENTS: usize = 50;

/// Most entries in each list of a route.
pub const MAX_ROUTE_ENTRIES: usize = 100;

/// The shortest webhook signing secret (characters).
pub const MIN_WEBHOOK_SECRET: usize = 16;

const TOP_FIELDS: &[&str] = &[
    "id",
    "name",
    "kind",
    "config",
    "enabled",
    "language",
    "route",
    "version",
    "created_at",
    "updated_at",
];
const ROUTE_FIELDS: &[&str] = &["min_severity", "kinds", "groups", "tags"];
const KINDS: &[&str] = &[
    "slack",
    "telegram",
    "discord",
    "teams",
    "pagerduty",
    "opsgenie",
    "email",
    "webhook",
];

/// The config fields of a kind: `(name, required)`; all strings except e-mail's `to` (a list).
fn config_fields(kind: &str) -> &'static [(&'static str, bool)] {
    match kind {
        "slack" | "discord" | "teams" => &[("webhook_url", true)],
        "telegram" => &[("bot_token", true), ("chat_id", true)],
        "pagerduty" => &[("routing_key", true)],
        "opsgenie" => &[("api_key", true)],
        "email" => &[("to", false), ("topic_arn", false)],
        "webhook" => &[("url", true), ("secret", true)],
        _ => &[],
    }
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> ValidationError {
    ValidationError {
        field: field.into(),
        message: message.into(),
    }
}

/// The fields besides `kind` and `config`, typed, so a wrong value is named by its path.
#[derive(Deserialize)]
#[allow(dead_code)] // Read for their errors only; the channel is deserialised whole afterwards.
struct Head {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    enabled: Option<bool>,
    #[serde(default)]
    language: Option<Language>,
    #[serde(default)]
    route: Option<Route>,
    #[serde(default)]
    version: Option<u64>,
    #[serde(default)]
    created_at: Option<i64>,
    #[serde(default)]
    updated_at: Option<i64>,
}

impl Channel {
    /// Parses a channel definition from JSON bytes (at most [`MAX_CHANNEL_BYTES`]), refusing
    /// unknown fields by name, then [validates](Channel::validate) it.
    ///
    /// # Errors
    /// [`ValidationError`] naming the field (`channel` when the body is not a JSON object).
    pub fn parse(json: &[u8]) -> Result<Channel, ValidationError> {
        if json.len() > MAX_CHANNEL_BYTES {
            return Err(invalid(
                "channel",
                format!("is over {MAX_CHANNEL_BYTES} bytes"),
            ));
        }
        let value: Value = serde_json::from_slice(json).map_err(|e| {
            invalid(
                "channel",
                format!("is not JSON (line {}, column {})", e.line(), e.column()),
            )
        })?;
        Channel::from_json(value)
    }

    /// As [`Channel::parse`], from a JSON value (a `PATCH` merged into the stored channel).
    ///
    /// # Errors
    /// [`ValidationError`] naming the field.
    pub fn from_json(mut value: Value) -> Result<Channel, ValidationError> {
        if value.to_string().len() > MAX_CHANNEL_BYTES {
            return Err(invalid(
                "channel",
                format!("is over {MAX_CHANNEL_BYTES} bytes"),
            ));
        }
        let obj = value
            .as_object_mut()
            .ok_or_else(|| invalid("channel", "must be a JSON object"))?;
        if let Some(k) = obj.keys().find(|k| !TOP_FIELDS.contains(&k.as_str())) {
            return Err(invalid(k.as_str(), "unknown field (a typo?)"));
        }
        let kind = match obj.get("kind") {
            None => return Err(invalid("kind", "is required")),
            Some(Value::String(k)) if KINDS.contains(&k.as_str()) => k.clone(),
            Some(_) => {
                return Err(invalid(
                    "kind",
                    format!("must be one of {}", KINDS.join(", ")),
                ))
            }
        };
        check_config(&kind, obj.get_mut("config"))?;
        if let Some(route) = obj.get("route") {
            if let Some(k) = route
                .as_object()
                .and_then(|r| r.keys().find(|k| !ROUTE_FIELDS.contains(&k.as_str())))
            {
                return Err(invalid(format!("route.{k}"), "unknown field (a typo?)"));
            }
        }
        let mut head = Map::new();
        for (k, v) in obj.iter() {
            if k != "kind" && k != "config" {
                head.insert(k.clone(), v.clone());
            }
        }
        serde_path_to_error::deserialize::<_, Head>(Value::Object(head)).map_err(|e| {
            let path = e.path().to_string();
            let field = if path == "." { "channel".into() } else { path };
            invalid(field, crate::redact::redact_text(&e.inner().to_string()))
        })?;
        if obj
            .get("name")
            .is_none_or(|n| n.as_str().is_some_and(|s| s.trim().is_empty()))
        {
            let id = obj.get("id").cloned().unwrap_or_default();
            obj.insert("name".into(), id);
        }
        let channel: Channel = serde_json::from_value(value)
            .map_err(|_| invalid("channel", "does not have the shape of a channel"))?;
        channel.validate()
    }

    /// Checks a channel: the id, the name, the route and the kind's settings (URLs, token and
    /// key shapes, recipients). A secret given as a reference (`{{ssm:...}}`,
    /// `{{secretsmanager:...}}`) skips the shape check of its value.
    ///
    /// # Errors
    /// [`ValidationError`] naming the first field that is wrong; the message never quotes a
    /// secret.
    pub fn validate(mut self) -> Result<Channel, ValidationError> {
        let id_ok = (1..=64).contains(&self.id.len())
            && self
                .id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !id_ok {
            return Err(invalid(
                "id",
                "must be 1 to 64 characters of a-z, 0-9, '-' or '_'",
            ));
        }
        if self.name.trim().is_empty() {
            self.name = self.id.clone();
        }
        if self.name.chars().count() > 200 || self.name.chars().any(char::is_control) {
            return Err(invalid(
                "name",
                "must be at most 200 characters without line breaks",
            ));
        }
        validate_route(&self.route)?;
        validate_config(&self.config, Refs::Allowed)?;
        Ok(self)
    }

    /// Checks the settings of a channel whose secret references have been resolved (when a
    /// message is sent): every secret value must have its field's shape, by the same rules as
    /// [`Channel::validate`], taken literally (no value is exempt as a reference). So a Telegram
    /// token from SSM with `/`, `?` or `#` cannot change the request's path, and an Opsgenie key
    /// with a line break cannot reach a header.
    ///
    /// # Errors
    /// [`ValidationError`] naming the first wrong field (`config.bot_token`); the message never
    /// quotes the value.
    pub fn validate_secret_values(&self) -> Result<(), ValidationError> {
        validate_config(&self.config, Refs::Resolved)
    }
}

/// Whether a secret value may be a reference (a definition) or is the value itself (resolved).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Refs {
    /// A definition: a reference skips the shape check.
    Allowed,
    /// Resolved values: each is checked as it is.
    Resolved,
}

/// The config object: present, an object, only the kind's fields, of the right JSON types. A
/// numeric Telegram `chat_id` is taken as its text.
fn check_config(kind: &str, config: Option<&mut Value>) -> Result<(), ValidationError> {
    let Some(config) = config else {
        return Err(invalid("config", format!("is required for kind {kind}")));
    };
    let Some(obj) = config.as_object_mut() else {
        return Err(invalid("config", "must be an object"));
    };
    let fields = config_fields(kind);
    if let Some(k) = obj
        .keys()
        .find(|k| !fields.iter().any(|(f, _)| *f == k.as_str()))
    {
        return Err(invalid(
            format!("config.{k}"),
            format!("unknown field for kind {kind} (a typo?)"),
        ));
    }
    for (name, required) in fields {
        let path = format!("config.{name}");
        match (obj.get_mut(*name), *name) {
            (None, _) if *required => return Err(invalid(path, "is required")),
            (None, _) | (Some(Value::Null), "topic_arn") => {}
            (Some(Value::Array(list)), "to") => {
                if let Some(i) = list.iter().position(|v| !v.is_string()) {
                    return Err(invalid(format!("config.to[{i}]"), "must be a string"));
                }
            }
            (Some(_), "to") => return Err(invalid(path, "must be a list of addresses")),
            (Some(v @ Value::Number(_)), "chat_id") => *v = Value::String(v.to_string()),
            (Some(Value::String(_)), _) => {}
            (Some(_), _) => return Err(invalid(path, "must be a string")),
        }
    }
    Ok(())
}

fn validate_route(r: &Route) -> Result<(), ValidationError> {
    for (field, list) in [("groups", &r.groups), ("tags", &r.tags)] {
        if list.len() > MAX_ROUTE_ENTRIES {
            return Err(invalid(
                format!("route.{field}"),
                format!("must list at most {MAX_ROUTE_ENTRIES} entries"),
            ));
        }
        for (i, v) in list.iter().enumerate() {
            if v.trim().is_empty() || v.chars().count() > 64 || v.chars().any(char::is_control) {
                return Err(invalid(
                    format!("route.{field}[{i}]"),
                    "must be 1 to 64 characters without line breaks",
                ));
            }
        }
    }
    Ok(())
}

/// Whether `value` stands for a secret by reference; `Err` for a reference that is malformed
/// or is only part of the value.
fn reference(field: &str, value: &str) -> Result<bool, ValidationError> {
    if is_secret_ref(value) {
        return Ok(true);
    }
    match find_refs(value) {
        Err(e) => Err(invalid(field, e.to_string())),
        Ok(found) if !found.is_empty() => Err(invalid(
            field,
            "a secret reference must be the whole value ({{ssm:/name}} or \
             {{secretsmanager:id#key}})",
        )),
        Ok(_) if value == MASK => Err(invalid(
            field,
            "is *** (masked): give the value, or a secret reference",
        )),
        Ok(_) => Ok(false),
    }
}

/// An `http` or `https` URL with a host, at most 2,048 bytes; the URL is never quoted back.
fn check_url(field: &str, raw: &str, refs: Refs) -> Result<(), ValidationError> {
    if refs == Refs::Allowed && reference(field, raw)? {
        return Ok(());
    }
    if raw.len() > 2048 {
        return Err(invalid(field, "must be at most 2048 bytes"));
    }
    let u = url::Url::parse(raw).map_err(|e| invalid(field, format!("is not a URL ({e})")))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(invalid(field, "must be an http or https URL"));
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err(invalid(field, "has no host"));
    }
    Ok(())
}

/// A secret that is a reference, or whose text `ok` accepts.
fn check_secret(
    field: &str,
    value: &str,
    refs: Refs,
    ok: impl Fn(&str) -> bool,
    shape: &str,
) -> Result<(), ValidationError> {
    if (refs == Refs::Allowed && reference(field, value)?) || ok(value) {
        return Ok(());
    }
    Err(invalid(field, format!("must be {shape}")))
}

fn all(s: &str, allowed: impl Fn(u8) -> bool) -> bool {
    s.bytes().all(allowed)
}

/// A Telegram bot token: `<bot id digits>:<token of A-Z a-z 0-9 _ ->`
/// (<https://core.telegram.org/bots/api#authorizing-your-bot>).
fn telegram_token(t: &str) -> bool {
    t.split_once(':').is_some_and(|(id, secret)| {
        (1..=20).contains(&id.len())
            && all(id, |b| b.is_ascii_digit())
            && (1..=128).contains(&secret.len())
            && all(secret, |b| {
                b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
            })
    })
}

/// A Telegram `chat_id`: an integer (groups and channels are negative), or `@channelusername`
/// (5 to 32 characters of a-z, 0-9 and `_`).
fn chat_id(c: &str) -> bool {
    let digits = c.strip_prefix('-').unwrap_or(c);
    let numeric = (1..=20).contains(&digits.len()) && all(digits, |b| b.is_ascii_digit());
    let username = c.strip_prefix('@').is_some_and(|u| {
        (5..=32).contains(&u.len()) && all(u, |b| b.is_ascii_alphanumeric() || b == b'_')
    });
    numeric || username
}

/// A plausible e-mail address: one `@`, a local part, a domain with a dot, no spaces or
/// control characters, at most 254 bytes (RFC 5321 §4.5.3.1.3).
fn email_address(a: &str) -> bool {
    let Some((local, domain)) = a.rsplit_once('@') else {
        return false;
    };
    a.len() <= 254
        && !local.is_empty()
        && local.len() <= 64
        && !local.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !a
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>,;\"".contains(c))
}

/// An SNS topic ARN: `arn:<partition>:sns:<region>:<12-digit account>:<topic name>`.
fn topic_arn(a: &str) -> bool {
    let parts: Vec<&str> = a.split(':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "sns"
        && !parts[3].is_empty()
        && parts[4].len() == 12
        && all(parts[4], |b| b.is_ascii_digit())
        && (1..=256).contains(&parts[5].len())
        && all(parts[5], |b| {
            b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.'
        })
}

fn validate_config(c: &ChannelConfig, refs: Refs) -> Result<(), ValidationError> {
    match c {
        ChannelConfig::Slack { webhook_url }
        | ChannelConfig::Discord { webhook_url }
        | ChannelConfig::Teams { webhook_url } => {
            check_url("config.webhook_url", webhook_url, refs)
        }
        ChannelConfig::Telegram {
            bot_token,
            chat_id: chat,
        } => {
            check_secret(
                "config.bot_token",
                bot_token,
                refs,
                telegram_token,
                "a bot token <digits>:<token> as @BotFather gives it",
            )?;
            if !chat_id(chat) {
                return Err(invalid(
                    "config.chat_id",
                    "must be a chat id (an integer such as -1001234567890) or @channelusername",
                ));
            }
            Ok(())
        }
        ChannelConfig::Pagerduty { routing_key } => check_secret(
            "config.routing_key",
            routing_key,
            refs,
            |k| k.len() == 32 && all(k, |b| b.is_ascii_alphanumeric()),
            "the 32-character integration key of an Events API v2 integration",
        ),
        ChannelConfig::Opsgenie { api_key } => check_secret(
            "config.api_key",
            api_key,
            refs,
            |k| (1..=128).contains(&k.len()) && all(k, |b| b.is_ascii_alphanumeric() || b == b'-'),
            "the key of an Opsgenie API integration (letters, digits and '-')",
        ),
        ChannelConfig::Email { to, topic_arn: arn } => {
            if to.is_empty() && arn.is_none() {
                return Err(invalid(
                    "config.to",
                    "give at least one of to (addresses) or topic_arn (an SNS topic)",
                ));
            }
            if to.len() > MAX_RECIPIENTS {
                return Err(invalid(
                    "config.to",
                    format!("must list at most {MAX_RECIPIENTS} addresses"),
                ));
            }
            if let Some(i) = to.iter().position(|a| !email_address(a)) {
                return Err(invalid(
                    format!("config.to[{i}]"),
                    "is not an e-mail address",
                ));
            }
            if arn.as_deref().is_some_and(|a| !topic_arn(a)) {
                return Err(invalid(
                    "config.topic_arn",
                    "must be an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)",
                ));
            }
            Ok(())
        }
        ChannelConfig::Webhook { url, secret } => {
            check_url("config.url", url, refs)?;
            check_secret(
                "config.secret",
                secret,
                refs,
                |s| {
                    (MIN_WEBHOOK_SECRET..=256).contains(&s.chars().count())
                        && !s.chars().any(char::is_control)
                },
                "16 to 256 characters without control characters",
            )
        }
    }
}

#[cfg(test)]
mod tests;
