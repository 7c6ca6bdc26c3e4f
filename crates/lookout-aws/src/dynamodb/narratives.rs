//! [`NarrativeLedger`] over the table: a scope's call of an hour `NARRATIVE#<scope>` / `<hour
//! start>` (attribute `outcome`: `claimed`, `done`, or why there is none; `narrative`: the
//! answer as JSON when `done`; `claimed_at`: epoch ms; TTL the hour start plus
//! [`NARRATIVE_CALL_TTL_DAYS`]), and a month's tokens `NARRATIVE_TOKENS` / `<YYYY-MM>`
//! (attribute `tokens`; TTL the month's first day plus [`TOKEN_MONTH_TTL_DAYS`]).
//!
//! Every decision is one conditional write: the claim (`attribute_not_exists`), the
//! reservation (`tokens <= budget - bound`), the release (`outcome = claimed`), a give-back
//! (`tokens >= -delta`).

use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;

use super::item::{from_attr, item_of, key_of, n, s, to_json, ttl_after, Item};
use super::keys::{
    ms_key, narrative_pk, NARRATIVE_CLAIMED_AT, NARRATIVE_OUTCOME as OUTCOME,
    NARRATIVE_TEXT as NARRATIVE, NARRATIVE_TOKENS as TOKENS, NARRATIVE_TOKENS_PK, PK, SK, TTL,
};
use super::DynamoStore;
use crate::{conditional, store_error};
use lookout_app::ports::{
    NarrativeClaim, NarrativeLedger, StoreError, CLAIMED, MAX_REASON_CHARS,
    NARRATIVE_CALL_TTL_DAYS, TOKEN_MONTH_TTL_DAYS,
};
use lookout_core::digest::narrative::Narrative;

/// The outcome of a call with its narrative.
const DONE: &str = "done";

fn claim_of(item: &Item) -> Result<NarrativeClaim, StoreError> {
    let outcome = item
        .get(OUTCOME)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_else(|| CLAIMED.into());
    if outcome == DONE {
        Ok(NarrativeClaim::Done(from_attr(item, NARRATIVE)?))
    } else {
        Ok(NarrativeClaim::Tried(outcome))
    }
}

/// The TTL of a month's token count: its first day (UTC) plus [`TOKEN_MONTH_TTL_DAYS`]; a
/// month that does not read as `YYYY-MM` counts from now.
fn month_ttl(month: &str) -> aws_sdk_dynamodb::types::AttributeValue {
    let start = lookout_core::time::parse_compact(&format!("{}01T000000Z", month.replace('-', "")))
        .unwrap_or_else(lookout_core::time::now_ms);
    ttl_after(start, TOKEN_MONTH_TTL_DAYS)
}

impl NarrativeLedger for DynamoStore {
    async fn claim_narrative(
        &self,
        scope: &str,
        hour: i64,
        now: i64,
    ) -> Result<NarrativeClaim, StoreError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item_of(vec![
                (PK, s(narrative_pk(scope))),
                (SK, s(ms_key(hour))),
                (OUTCOME, s(CLAIMED)),
                (NARRATIVE_CLAIMED_AT, n(now)),
                (TTL, ttl_after(hour, NARRATIVE_CALL_TTL_DAYS)),
            ])))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let old = match put {
            Ok(_) => return Ok(NarrativeClaim::Granted),
            Err(e) => match e.as_service_error() {
                Some(
                    aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(
                        c,
                    ),
                ) => c.item.clone(),
                _ => return Err(store_error(e)),
            },
        };
        let old = match old.filter(|i| !i.is_empty()) {
            Some(item) => item,
            None => self
                .client
                .get_item()
                .table_name(&self.table)
                .set_key(Some(key_of(narrative_pk(scope), ms_key(hour))))
                .consistent_read(true)
                .send()
                .await
                .map_err(store_error)?
                .item
                .unwrap_or_default(),
        };
        claim_of(&old)
    }

    async fn release_narrative(&self, scope: &str, hour: i64) -> Result<(), StoreError> {
        let sent = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_of(narrative_pk(scope), ms_key(hour))))
            .condition_expression("#o = :claimed")
            .expression_attribute_names("#o", OUTCOME)
            .expression_attribute_values(":claimed", s(CLAIMED))
            .send()
            .await;
        conditional(sent)?;
        Ok(())
    }

    async fn record_narrative(
        &self,
        scope: &str,
        hour: i64,
        outcome: Result<&Narrative, &str>,
    ) -> Result<(), StoreError> {
        let mut fields = vec![
            (PK, s(narrative_pk(scope))),
            (SK, s(ms_key(hour))),
            (TTL, ttl_after(hour, NARRATIVE_CALL_TTL_DAYS)),
        ];
        match outcome {
            Ok(narrative) => {
                fields.push((OUTCOME, s(DONE)));
                fields.push((NARRATIVE, to_json(narrative)?));
            }
            Err(why) => fields.push((
                OUTCOME,
                s(lookout_core::redact::clip(why, MAX_REASON_CHARS)),
            )),
        }
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item_of(fields)))
            .send()
            .await
            .map_err(store_error)?;
        Ok(())
    }

    async fn reserve_tokens(
        &self,
        month: &str,
        tokens: u64,
        budget: u64,
    ) -> Result<bool, StoreError> {
        if tokens > budget {
            return Ok(false);
        }
        let sent = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_of(NARRATIVE_TOKENS_PK, month)))
            .update_expression("ADD #t :t SET #ttl = if_not_exists(#ttl, :exp)")
            .condition_expression("attribute_not_exists(#t) OR #t <= :room")
            .expression_attribute_names("#t", TOKENS)
            .expression_attribute_names("#ttl", TTL)
            .expression_attribute_values(":t", n(tokens))
            .expression_attribute_values(":room", n(budget - tokens))
            .expression_attribute_values(":exp", month_ttl(month))
            .send()
            .await;
        Ok(conditional(sent)?.is_some())
    }

    async fn adjust_tokens(&self, month: &str, delta: i64) -> Result<(), StoreError> {
        if delta == 0 {
            return Ok(());
        }
        let key = key_of(NARRATIVE_TOKENS_PK, month);
        if delta > 0 {
            self.client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key))
                .update_expression("ADD #t :d SET #ttl = if_not_exists(#ttl, :exp)")
                .expression_attribute_names("#t", TOKENS)
                .expression_attribute_names("#ttl", TTL)
                .expression_attribute_values(":d", n(delta))
                .expression_attribute_values(":exp", month_ttl(month))
                .send()
                .await
                .map_err(store_error)?;
            return Ok(());
        }
        // A give-back: ADD of a negative number while the count holds it. An `ADD` on no
        // record would create a negative count (and a budget that grows), so the record must
        // exist; a count smaller than the give-back is set to 0.
        let floor = n(delta.unsigned_abs());
        let sent = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key.clone()))
            .update_expression("ADD #t :d")
            .condition_expression("#t >= :floor")
            .expression_attribute_names("#t", TOKENS)
            .expression_attribute_values(":d", n(delta))
            .expression_attribute_values(":floor", floor.clone())
            .send()
            .await;
        if conditional(sent)?.is_some() {
            return Ok(());
        }
        let sent = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression("SET #t = :zero")
            .condition_expression("#t < :floor")
            .expression_attribute_names("#t", TOKENS)
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":floor", floor)
            .send()
            .await;
        conditional(sent)?;
        Ok(())
    }

    async fn tokens_used(&self, month: &str) -> Result<u64, StoreError> {
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_of(NARRATIVE_TOKENS_PK, month)))
            .consistent_read(true)
            .send()
            .await
            .map_err(store_error)?;
        Ok(got
            .item
            .as_ref()
            .and_then(|i| i.get(TOKENS))
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0))
    }
}
