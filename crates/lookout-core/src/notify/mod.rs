//! Notification channels: where alerts go besides the SNS topic (Slack, Telegram, Discord,
//! Microsoft Teams, PagerDuty, Opsgenie, e-mail, signed webhooks), which alerts each takes
//! (its [`Route`]), in which language, and the record of each delivery.
//!
//! Pure: a channel's definition and validation ([`channel`]), route matching, the request each
//! provider documents for an alert ([`render`](mod@render)), the texts in English, Arabic and Persian
//! ([`i18n`]), and the delivery record ([`delivery`]). Sending, retrying and storing live in
//! `lookout-app` and `lookout-aws`.

pub mod channel;
pub mod delivery;
pub mod i18n;
pub mod render;
pub mod validate;

pub use channel::{is_secret_ref, Channel, ChannelConfig, ChannelKind, Language, Route, MASK};
pub use delivery::{delivery_id, parse_delivery_id, DeliveryRecord, DeliveryStatus};
pub use render::{render, render_test, Endpoints, Mail, Outbound, Rendered};
