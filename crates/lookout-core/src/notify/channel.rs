//! A notification channel: a provider, its settings (some of them secret), a route and a
//! language.

use serde::{Deserialize, Serialize};

use crate::domain::{Alert, AlertKind, Severity};

/// The kind of a channel: which provider and which request format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// Slack incoming webhook (Block Kit).
    Slack,
    /// Telegram Bot API `sendMessage` (HTML parse mode).
    Telegram,
    /// Discord webhook (embeds).
    Discord,
    /// Microsoft Teams workflow webhook (Adaptive Card).
    Teams,
    /// PagerDuty Events API v2 (trigger and resolve by `dedup_key`).
    Pagerduty,
    /// Opsgenie Alert API (create, close by alias).
    Opsgenie,
    /// E-mail through SES (when `LOOKOUT_SES_FROM` is set) or an SNS topic with e-mail
    /// subscriptions.
    Email,
    /// A generic webhook: JSON body signed with HMAC-SHA256 (`X-Lookout-Signature`).
    Webhook,
}

impl ChannelKind {
    /// Whether this kind opens and closes incidents (`pagerduty`, `opsgenie`) rather than
    /// posting messages.
    pub fn is_incident(self) -> bool {
        matches!(self, ChannelKind::Pagerduty | ChannelKind::Opsgenie)
    }

    /// The snake_case name (`slack`, `pagerduty`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Slack => "slack",
            ChannelKind::Telegram => "telegram",
            ChannelKind::Discord => "discord",
            ChannelKind::Teams => "teams",
            ChannelKind::Pagerduty => "pagerduty",
            ChannelKind::Opsgenie => "opsgenie",
            ChannelKind::Email => "email",
            ChannelKind::Webhook => "webhook",
        }
    }
}

/// The language of a channel's messages. The seeds' users read Arabic and Persian.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// English.
    #[default]
    En,
    /// Arabic (right to left).
    Ar,
    /// Persian (right to left).
    Fa,
}

/// A provider's settings. Fields named in [`ChannelConfig::secret_fields`] are secrets: sealed
/// at rest, `***` in every answer, log and dump listing. A secret may also be a reference
/// (`{{ssm:/path}}`, `{{secretsmanager:id#key}}`), resolved when a message is sent.
///
/// JSON: `{"kind": "slack", "config": {"webhook_url": "https://hooks.slack.com/..."}}` (adjacent
/// tagging, flattened into the channel).
///
/// `Debug` shows every secret field as [`MASK`] (a secret reference as written), so a channel
/// can be logged with `?`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "config", rename_all = "snake_case")]
pub enum ChannelConfig {
    /// Slack incoming webhook: `webhook_url` (secret), `https://hooks.slack.com/services/...`.
    Slack {
        /// The incoming webhook's URL (secret).
        webhook_url: String,
    },
    /// Telegram: `bot_token` (secret, from @BotFather) and the `chat_id` to post in (a number,
    /// or `@channelname`). Requests go to `{LOOKOUT_TELEGRAM_API_URL}/bot<token>/sendMessage`.
    Telegram {
        /// The bot's token (secret).
        bot_token: String,
        /// The chat, group or channel id.
        chat_id: String,
    },
    /// Discord webhook: `webhook_url` (secret), `https://discord.com/api/webhooks/<id>/<token>`.
    Discord {
        /// The webhook's URL (secret).
        webhook_url: String,
    },
    /// Microsoft Teams workflow ("Post to a channel when a webhook request is received"):
    /// `webhook_url` (secret).
    Teams {
        /// The workflow's URL (secret).
        webhook_url: String,
    },
    /// PagerDuty Events API v2: `routing_key` (secret, the integration key of a service).
    Pagerduty {
        /// The integration's routing key (secret, 32 characters).
        routing_key: String,
    },
    /// Opsgenie Alert API: `api_key` (secret, a `GenieKey` of an API integration).
    Opsgenie {
        /// The API integration's key (secret).
        api_key: String,
    },
    /// E-mail: the addresses (SES), or the SNS topic whose e-mail subscribers receive it.
    Email {
        /// Recipients, when sent through SES.
        #[serde(default)]
        to: Vec<String>,
        /// An SNS topic ARN with e-mail subscriptions, when SES is not configured.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        topic_arn: Option<String>,
    },
    /// Generic webhook: `url` (secret) and the HMAC-SHA256 signing `secret`.
    Webhook {
        /// Where the JSON is posted (secret: such URLs often hold tokens).
        url: String,
        /// The signing secret (secret), at least 16 characters.
        secret: String,
    },
}

impl ChannelConfig {
    /// Which provider.
    pub fn kind(&self) -> ChannelKind {
        match self {
            ChannelConfig::Slack { .. } => ChannelKind::Slack,
            ChannelConfig::Telegram { .. } => ChannelKind::Telegram,
            ChannelConfig::Discord { .. } => ChannelKind::Discord,
            ChannelConfig::Teams { .. } => ChannelKind::Teams,
            ChannelConfig::Pagerduty { .. } => ChannelKind::Pagerduty,
            ChannelConfig::Opsgenie { .. } => ChannelKind::Opsgenie,
            ChannelConfig::Email { .. } => ChannelKind::Email,
            ChannelConfig::Webhook { .. } => ChannelKind::Webhook,
        }
    }

    /// The names of this kind's secret fields (inside `config`).
    pub fn secret_fields(&self) -> &'static [&'static str] {
        match self {
            ChannelConfig::Slack { .. }
            | ChannelConfig::Discord { .. }
            | ChannelConfig::Teams { .. } => &["webhook_url"],
            ChannelConfig::Telegram { .. } => &["bot_token"],
            ChannelConfig::Pagerduty { .. } => &["routing_key"],
            ChannelConfig::Opsgenie { .. } => &["api_key"],
            ChannelConfig::Email { .. } => &[],
            ChannelConfig::Webhook { .. } => &["url", "secret"],
        }
    }

    /// Calls `f` on every secret value, mutably (sealing, opening, masking, resolving).
    pub fn for_each_secret_mut<E>(
        &mut self,
        mut f: impl FnMut(&'static str, &mut String) -> Result<(), E>,
    ) -> Result<(), E> {
        match self {
            ChannelConfig::Slack { webhook_url }
            | ChannelConfig::Discord { webhook_url }
            | ChannelConfig::Teams { webhook_url } => f("webhook_url", webhook_url),
            ChannelConfig::Telegram { bot_token, .. } => f("bot_token", bot_token),
            ChannelConfig::Pagerduty { routing_key } => f("routing_key", routing_key),
            ChannelConfig::Opsgenie { api_key } => f("api_key", api_key),
            ChannelConfig::Email { .. } => Ok(()),
            ChannelConfig::Webhook { url, secret } => {
                f("url", url)?;
                f("secret", secret)
            }
        }
    }
}

/// A secret field's value as `Debug` shows it: [`MASK`], or the reference it is.
struct Secret<'a>(&'a str);

impl std::fmt::Debug for Secret<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if is_secret_ref(self.0) {
            std::fmt::Debug::fmt(self.0, f)
        } else {
            std::fmt::Debug::fmt(MASK, f)
        }
    }
}

impl std::fmt::Debug for ChannelConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChannelConfig::Slack { webhook_url } => f
                .debug_struct("Slack")
                .field("webhook_url", &Secret(webhook_url))
                .finish(),
            ChannelConfig::Telegram { bot_token, chat_id } => f
                .debug_struct("Telegram")
                .field("bot_token", &Secret(bot_token))
                .field("chat_id", chat_id)
                .finish(),
            ChannelConfig::Discord { webhook_url } => f
                .debug_struct("Discord")
                .field("webhook_url", &Secret(webhook_url))
                .finish(),
            ChannelConfig::Teams { webhook_url } => f
                .debug_struct("Teams")
                .field("webhook_url", &Secret(webhook_url))
                .finish(),
            ChannelConfig::Pagerduty { routing_key } => f
                .debug_struct("Pagerduty")
                .field("routing_key", &Secret(routing_key))
                .finish(),
            ChannelConfig::Opsgenie { api_key } => f
                .debug_struct("Opsgenie")
                .field("api_key", &Secret(api_key))
                .finish(),
            ChannelConfig::Email { to, topic_arn } => f
                .debug_struct("Email")
                .field("to", to)
                .field("topic_arn", topic_arn)
                .finish(),
            ChannelConfig::Webhook { url, secret } => f
                .debug_struct("Webhook")
                .field("url", &Secret(url))
                .field("secret", &Secret(secret))
                .finish(),
        }
    }
}

/// Which alerts a channel takes. Every list that is not empty must match (an empty list
/// matches everything); within a list, any entry matches. Maintenance windows and storm
/// grouping are applied before an alert is published, so a channel sees what the topic sees.
///
/// Incident channels (`pagerduty`, `opsgenie`) also take every alert that closes an incident
/// (a `recovery`, a `status_change` to `healthy`, a `group_recovered`, or a `storm` with one
/// such change; see [`render::incident`](crate::notify::render::incident)) whatever
/// `min_severity` and `kinds` say, so a paging route such as `{"min_severity": "critical"}`
/// still closes the incidents it opened; `groups` and `tags` still apply. A resolve of an
/// incident that was never opened is accepted and ignored by both providers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// The lowest severity taken (`info` takes all); none: all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_severity: Option<Severity>,
    /// Alert kinds taken (`status_change`, `recovery`, ...); empty: all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kinds: Vec<AlertKind>,
    /// Groups (or pools) taken, exact names; empty: all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Target tags: an alert whose target has any of them is taken; empty: all. Grouped
    /// alerts (storm, group, daily report) carry no tags and pass only an empty list.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

impl Route {
    /// Whether `alert` goes through this route: all four filters match (see
    /// [`Channel::takes`] for the incident channels' exception).
    pub fn matches(&self, alert: &Alert) -> bool {
        self.min_severity.is_none_or(|m| alert.severity >= m)
            && (self.kinds.is_empty() || self.kinds.contains(&alert.kind))
            && self.matches_scope(alert)
    }

    /// Whether `alert` is about what this route covers: its `groups` and `tags` match
    /// (`min_severity` and `kinds` not asked).
    pub fn matches_scope(&self, alert: &Alert) -> bool {
        (self.groups.is_empty() || self.groups.contains(&alert.group))
            && (self.tags.is_empty() || self.tags.iter().any(|t| alert.tags.contains(t)))
    }
}

/// A notification channel, as stored and as the API shows it (secrets masked there). Its
/// `Debug` masks the secrets ([`ChannelConfig`]'s `Debug`).
///
/// JSON: `{"id", "name", "kind", "config": {...}, "enabled", "language", "route": {...},
/// "version", "created_at", "updated_at"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Channel {
    /// `[a-z0-9_-]`, 1 to 64 characters; unique.
    pub id: String,
    /// Human name, at most 200 characters.
    pub name: String,
    /// The provider and its settings.
    #[serde(flatten)]
    pub config: ChannelConfig,
    /// Whether alerts are sent (a disabled channel still answers `test`).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The messages' language.
    #[serde(default)]
    pub language: Language,
    /// Which alerts it takes.
    #[serde(default)]
    pub route: Route,
    /// Bumped on every write; writes are conditional on it.
    #[serde(default)]
    pub version: u64,
    /// Created, epoch ms.
    #[serde(default)]
    pub created_at: i64,
    /// Last changed, epoch ms.
    #[serde(default)]
    pub updated_at: i64,
}

fn yes() -> bool {
    true
}

impl Channel {
    /// Which provider.
    pub fn kind(&self) -> ChannelKind {
        self.config.kind()
    }

    /// Whether this channel sends `alert`: enabled, and its route matches; for an incident
    /// channel (`pagerduty`, `opsgenie`), an alert that closes an incident needs only the
    /// route's `groups` and `tags` to match (see [`Route`]).
    pub fn takes(&self, alert: &Alert) -> bool {
        self.enabled
            && (self.route.matches(alert)
                || (self.kind().is_incident()
                    && self.route.matches_scope(alert)
                    && super::render::incident::resolves(alert)))
    }

    /// A copy safe to show (API answers, logs, dump listings): every secret field
    /// ([`ChannelConfig::secret_fields`]) is [`MASK`], except a secret reference
    /// (`{{ssm:...}}`, `{{secretsmanager:...}}`), which is an address, not a secret, and stays
    /// shown, as in target definitions.
    pub fn redacted(&self) -> Channel {
        let mut c = self.clone();
        let _ = c.config.for_each_secret_mut(|_, value| {
            if !is_secret_ref(value) {
                *value = MASK.to_string();
            }
            Ok::<(), std::convert::Infallible>(())
        });
        c
    }

    /// Puts back the secrets of `old` where `self` carries [`MASK`] (a channel read from the
    /// API, edited and sent back): a `***` keeps the stored value. Only between channels of
    /// the same kind; anything else in `self` wins (a `***` left over then fails validation).
    pub fn restore_secrets(&mut self, old: &Channel) {
        if self.kind() != old.kind() {
            return;
        }
        let mut stored: Vec<(&'static str, String)> = Vec::new();
        let mut old = old.config.clone();
        let _ = old.for_each_secret_mut(|name, value| {
            stored.push((name, std::mem::take(value)));
            Ok::<(), std::convert::Infallible>(())
        });
        let _ = self.config.for_each_secret_mut(|name, value| {
            if value == MASK {
                if let Some((_, v)) = stored.iter().find(|(n, _)| *n == name) {
                    value.clone_from(v);
                }
            }
            Ok::<(), std::convert::Infallible>(())
        });
    }
}

/// What a secret looks like in an answer.
pub const MASK: &str = "***";

/// Whether `value` is exactly one well-formed secret reference (`{{ssm:/a/b}}`,
/// `{{secretsmanager:id#key}}`), and nothing else.
pub fn is_secret_ref(value: &str) -> bool {
    crate::domain::secret_ref::find_refs(value)
        .is_ok_and(|f| f.len() == 1 && f[0].span == (0..value.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_channel_reads_and_writes_the_documented_json() {
        let json = r#"{"id":"ops","name":"Ops","kind":"telegram",
            "config":{"bot_token":"123:abc","chat_id":"-100"},"language":"fa",
            "route":{"min_severity":"warning","tags":["pool-a"]}}"#;
        let c: Channel = serde_json::from_str(json).unwrap();
        assert_eq!(c.kind(), ChannelKind::Telegram);
        assert_eq!(c.language, Language::Fa);
        assert!(c.enabled);
        let back = serde_json::to_value(&c).unwrap();
        assert_eq!(back["kind"], "telegram");
        assert_eq!(back["config"]["chat_id"], "-100");
    }
}

#[cfg(test)]
mod redaction_tests {
    use super::*;
    use proptest::prelude::*;

    fn with(config: ChannelConfig) -> Channel {
        Channel {
            id: "c".into(),
            name: "C".into(),
            config,
            enabled: true,
            language: Language::En,
            route: Route::default(),
            version: 3,
            created_at: 1,
            updated_at: 2,
        }
    }

    /// One channel of every kind with secret `s` in every secret field.
    fn every_kind(s: &str) -> Vec<Channel> {
        vec![
            with(ChannelConfig::Slack {
                webhook_url: format!("https://hooks.slack.com/{s}"),
            }),
            with(ChannelConfig::Telegram {
                bot_token: format!("1:{s}"),
                chat_id: "-1".into(),
            }),
            with(ChannelConfig::Discord {
                webhook_url: format!("https://d/api/webhooks/1/{s}"),
            }),
            with(ChannelConfig::Teams {
                webhook_url: format!("https://t/w?sig={s}"),
            }),
            with(ChannelConfig::Pagerduty {
                routing_key: s.into(),
            }),
            with(ChannelConfig::Opsgenie { api_key: s.into() }),
            with(ChannelConfig::Webhook {
                url: format!("https://h/{s}"),
                secret: format!("{s}!"),
            }),
        ]
    }

    #[test]
    fn secret_references_stay_shown_and_everything_else_secret_is_masked() {
        let c = with(ChannelConfig::Webhook {
            url: "{{ssm:/lookout/hook}}".into(),
            secret: "0123456789abcdef".into(),
        });
        let r = c.redacted();
        assert_eq!(
            r.config,
            ChannelConfig::Webhook {
                url: "{{ssm:/lookout/hook}}".into(),
                secret: MASK.into()
            }
        );
        let t = with(ChannelConfig::Telegram {
            bot_token: "1:abc".into(),
            chat_id: "-5".into(),
        });
        assert_eq!(
            t.redacted().config,
            ChannelConfig::Telegram {
                bot_token: MASK.into(),
                chat_id: "-5".into()
            }
        );
        // A value that only holds a reference is still a secret.
        let p = with(ChannelConfig::Pagerduty {
            routing_key: "k{{ssm:/a}}".into(),
        });
        assert_eq!(
            p.redacted().config,
            ChannelConfig::Pagerduty {
                routing_key: MASK.into()
            }
        );
    }

    #[test]
    fn debug_masks_secrets_and_shows_references_and_the_rest() {
        let c = with(ChannelConfig::Webhook {
            url: "{{ssm:/lookout/hook}}".into(),
            secret: "0123456789abcdef-signing".into(),
        });
        let shown = format!("{c:?}");
        assert!(shown.contains(r#"url: "{{ssm:/lookout/hook}}""#), "{shown}");
        assert!(shown.contains(r#"secret: "***""#), "{shown}");
        assert!(!shown.contains("0123456789abcdef"), "{shown}");
        assert!(
            shown.contains(r#"id: "c""#) && shown.contains("version: 3"),
            "{shown}"
        );
        let t = with(ChannelConfig::Telegram {
            bot_token: "1:abcdefgh".into(),
            chat_id: "-5".into(),
        });
        assert_eq!(
            format!("{:?}", t.config),
            r#"Telegram { bot_token: "***", chat_id: "-5" }"#
        );
    }

    #[test]
    fn a_mask_sent_back_keeps_the_stored_secret_and_a_new_value_wins() {
        let old = with(ChannelConfig::Webhook {
            url: "https://h/a".into(),
            secret: "s".repeat(16),
        });
        let mut edited = old.redacted();
        edited.config = ChannelConfig::Webhook {
            url: "https://h/new".into(),
            secret: MASK.into(),
        };
        edited.restore_secrets(&old);
        assert_eq!(
            edited.config,
            ChannelConfig::Webhook {
                url: "https://h/new".into(),
                secret: "s".repeat(16)
            }
        );
        // Another kind takes nothing from the old channel.
        let mut other = with(ChannelConfig::Slack {
            webhook_url: MASK.into(),
        });
        other.restore_secrets(&old);
        assert_eq!(
            other.config,
            ChannelConfig::Slack {
                webhook_url: MASK.into()
            }
        );
    }

    proptest! {
        #[test]
        fn redaction_never_leaks_a_secret_and_restoring_gives_the_original(
            secret in "[A-Za-z0-9_-]{12,40}",
        ) {
            for c in every_kind(&secret) {
                let shown = c.redacted();
                let json = serde_json::to_string(&shown).unwrap();
                prop_assert!(!json.contains(&secret), "{}", json);
                let debug = format!("{:?}", shown);
                prop_assert!(!debug.contains(&secret));
                let debug = format!("{:?} {:?}", c, c.config);
                prop_assert!(!debug.contains(&secret), "{}", debug);
                prop_assert!(debug.contains(MASK));
                let mut back = shown.clone();
                back.restore_secrets(&c);
                prop_assert_eq!(back, c);
            }
        }
    }
}
