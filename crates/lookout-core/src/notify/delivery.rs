//! The record of one alert's delivery to one channel: what makes "exactly one message per alert
//! per channel" checkable and a failed delivery retryable.

use serde::{Deserialize, Serialize};

use crate::domain::Alert;

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Claimed by a sender that is at work (or died: the claim expires).
    Sending,
    /// The provider accepted the message.
    Sent,
    /// Every attempt failed; kept for `POST /v1/deliveries/{id}/retry` (and the SQS message
    /// goes to the dead-letter queue after its last receive).
    Failed,
}

impl DeliveryStatus {
    /// `sending`, `sent` or `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Sending => "sending",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Failed => "failed",
        }
    }
}

/// One alert's delivery to one channel, keyed by `(channel_id, alert.key)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    /// [`delivery_id`] of the channel and the alert key.
    pub id: String,
    /// The channel.
    pub channel_id: String,
    /// The alert's deduplication key.
    pub alert_key: String,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Attempts made (HTTP requests that got an answer or failed), over every try.
    pub attempts: u32,
    /// The last provider status code, if one answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_status: Option<u16>,
    /// The last error, redacted (no URL secret, no token), at most 500 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// First claimed, epoch ms.
    pub created_at: i64,
    /// Last changed, epoch ms.
    pub updated_at: i64,
    /// The alert, as published (its text is redacted already): what a retry sends again.
    pub alert: Alert,
}

/// The id of a delivery in the API: `<channel id>.<alert key in lower-case hex>` (URL-safe,
/// and reversible by [`parse_delivery_id`]).
pub fn delivery_id(channel_id: &str, alert_key: &str) -> String {
    let mut id = String::with_capacity(channel_id.len() + 1 + alert_key.len() * 2);
    id.push_str(channel_id);
    id.push('.');
    for b in alert_key.bytes() {
        id.push_str(&format!("{b:02x}"));
    }
    id
}

/// The channel id and alert key of a [`delivery_id`]; `None` for anything else.
pub fn parse_delivery_id(id: &str) -> Option<(String, String)> {
    let (channel, hex) = id.split_once('.')?;
    if channel.is_empty() || hex.is_empty() || hex.len() % 2 != 0 {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect();
    Some((channel.to_string(), String::from_utf8(bytes?).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delivery_id_reads_back_and_nothing_else_does() {
        let id = delivery_id("ops-slack", "web#down#1700000000000");
        assert_eq!(
            parse_delivery_id(&id),
            Some(("ops-slack".into(), "web#down#1700000000000".into()))
        );
        for bad in ["", "x", "x.", ".00", "x.0", "x.zz", "x.ff"] {
            assert_eq!(parse_delivery_id(bad), None, "{bad}");
        }
    }
}
