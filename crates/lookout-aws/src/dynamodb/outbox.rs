//! [`Outbox`] over the table: alert rows go `pending` (in the sparse `OUTBOX#pending` index),
//! `claimed` by one delivery, then `published` (out of the index), each step one conditional
//! write.

use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;

use super::item::{from_attr, key_of, n, s};
use super::keys::{
    alert_pk, alert_sk, CLAIMED_BY, CLAIM_UNTIL, GSI_PK, GSI_SK, OUTBOX_PENDING, PK,
};
use super::DynamoStore;
use crate::conditional;
use lookout_app::ports::{Outbox, StoreError};
use lookout_core::domain::Alert;

impl DynamoStore {
    /// An UpdateItem of an alert's outbox row (`ALERT#<day>` / `<at>#<key>`).
    fn alert_update(&self, a: &Alert) -> UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_of(alert_pk(a.at), alert_sk(a.at, &a.key))))
    }
}

impl Outbox for DynamoStore {
    async fn pending_alerts(&self, _now_ms: i64) -> Result<Vec<Alert>, StoreError> {
        // Pending rows carry the sparse index key `OUTBOX#pending`; publishing removes it, so
        // this reads only what is still to send, however old.
        self.query_index(OUTBOX_PENDING)
            .await?
            .iter()
            .map(|item| from_attr::<Alert>(item, "alert"))
            .collect()
    }

    async fn claim_alert(
        &self,
        alert: &Alert,
        holder: &str,
        now_ms: i64,
        claim_until_ms: i64,
    ) -> Result<bool, StoreError> {
        let claimed = self
            .alert_update(alert)
            .update_expression("SET #st = :claimed, #by = :holder, #cu = :until")
            .condition_expression(
                "attribute_exists(#pk) AND (#st = :pending OR (#st = :claimed AND #cu < :now))",
            )
            .expression_attribute_names("#st", "status")
            .expression_attribute_names("#by", CLAIMED_BY)
            .expression_attribute_names("#cu", CLAIM_UNTIL)
            .expression_attribute_names("#pk", PK)
            .expression_attribute_values(":claimed", s("claimed"))
            .expression_attribute_values(":pending", s("pending"))
            .expression_attribute_values(":holder", s(holder))
            .expression_attribute_values(":until", n(claim_until_ms))
            .expression_attribute_values(":now", n(now_ms))
            .send()
            .await;
        match conditional(claimed)? {
            Some(_) => Ok(true),
            None => Ok(false),
        }
    }

    async fn mark_published(&self, alert: &Alert, holder: &str) -> Result<(), StoreError> {
        let marked = self
            .alert_update(alert)
            .update_expression("SET #st = :published REMOVE #gpk, #gsk, #by, #cu")
            .condition_expression("#st = :claimed AND #by = :holder")
            .expression_attribute_names("#gpk", GSI_PK)
            .expression_attribute_names("#gsk", GSI_SK)
            .expression_attribute_names("#st", "status")
            .expression_attribute_names("#by", CLAIMED_BY)
            .expression_attribute_names("#cu", CLAIM_UNTIL)
            .expression_attribute_values(":published", s("published"))
            .expression_attribute_values(":claimed", s("claimed"))
            .expression_attribute_values(":holder", s(holder))
            .send()
            .await;
        match conditional(marked)? {
            Some(_) => Ok(()),
            None => Err(StoreError::Conflict(format!(
                "alert {} is not claimed by {holder}",
                alert.key
            ))),
        }
    }

    async fn release_claim(&self, alert: &Alert, holder: &str) -> Result<(), StoreError> {
        let released = self
            .alert_update(alert)
            .update_expression("SET #st = :pending REMOVE #by, #cu")
            .condition_expression("#st = :claimed AND #by = :holder")
            .expression_attribute_names("#st", "status")
            .expression_attribute_names("#by", CLAIMED_BY)
            .expression_attribute_names("#cu", CLAIM_UNTIL)
            .expression_attribute_values(":pending", s("pending"))
            .expression_attribute_values(":claimed", s("claimed"))
            .expression_attribute_values(":holder", s(holder))
            .send()
            .await;
        // Not ours any more (the condition failed): nothing to give back.
        conditional(released)?;
        Ok(())
    }

    async fn enqueue(&self, alerts: &[Alert]) -> Result<Vec<Alert>, StoreError> {
        let mut new = Vec::new();
        for a in alerts {
            let written = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(self.alert_row(a)?))
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", PK)
                .send()
                .await;
            // A row that exists already (the same alert computed again) is left alone.
            if conditional(written)?.is_some() {
                new.push(a.clone());
            }
        }
        Ok(new)
    }
}
