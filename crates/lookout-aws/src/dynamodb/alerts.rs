//! [`AlertLog`] over the table: alert rows `ALERT#<day>` / `<at>#<key>`, written as `pending`
//! outbox rows (see [`super::outbox`]) and kept with a TTL.

use super::item::{from_attr, item_of, s, to_json, Item};
use super::keys::{alert_pk, alert_sk, ms_key, GSI_PK, GSI_SK, OUTBOX_PENDING, PK, SK, TTL};
use super::DynamoStore;
use lookout_app::ports::{AlertLog, AlertRecord, StoreError};
use lookout_core::domain::Alert;
use lookout_core::time::DAY_MS;

impl DynamoStore {
    /// An alert's outbox row: `ALERT#<day>` / `<at ms>#<key>`, `pending`, in the sparse
    /// `OUTBOX#pending` index until published, with a TTL.
    pub(super) fn alert_row(&self, a: &Alert) -> Result<Item, StoreError> {
        Ok(item_of(vec![
            (PK, s(alert_pk(a.at))),
            (SK, s(alert_sk(a.at, &a.key))),
            ("status", s("pending")),
            ("severity", s(a.severity.as_str())),
            ("alert", to_json(a)?),
            (GSI_PK, s(OUTBOX_PENDING)),
            (GSI_SK, s(alert_sk(a.at, &a.key))),
            (TTL, self.expires_at(a.at)),
        ]))
    }
}

impl AlertLog for DynamoStore {
    async fn alerts(&self, since_ms: i64, until_ms: i64) -> Result<Vec<AlertRecord>, StoreError> {
        let mut out = Vec::new();
        let first_day = since_ms.div_euclid(DAY_MS);
        let last_day = until_ms.div_euclid(DAY_MS);
        for day in first_day..=last_day.min(first_day + 31) {
            let pk = alert_pk(day * DAY_MS);
            let to = format!("{}~", ms_key(until_ms));
            for item in self.query_range(&pk, &ms_key(since_ms), &to).await? {
                let published = item
                    .get("status")
                    .and_then(|v| v.as_s().ok())
                    .is_some_and(|v| v == "published");
                out.push(AlertRecord {
                    alert: from_attr(&item, "alert")?,
                    published,
                });
            }
        }
        Ok(out)
    }
}
