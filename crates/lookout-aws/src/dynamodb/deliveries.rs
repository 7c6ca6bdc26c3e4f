//! [`DeliveryLog`] over the table: one item per `(channel, alert key)`,
//! `DELIVERY#<channel>` / `<alert key>`, claimed with one conditional UpdateItem (the write that
//! makes a message go out once per alert per channel), expiring by TTL (`expires_at`), and
//! listed newest first through index `gsi1` (`DELIVERIES#<status>` /
//! `<updated ms>#<channel>#<alert key>`). Beside them, one incident note per `(channel,
//! incident key)`, `INCIDENT#<channel>` / `<incident key>`: the `at` of the latest resolve the
//! channel accepted (`resolved_at`), raised only by a conditional update, expiring by TTL.

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{ReturnValuesOnConditionCheckFailure, Select};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;

use super::item::{corrupt, from_attr, key_of, n, s, to_json, Item};
use super::keys::{
    deliveries_index_pk, deliveries_index_sk, delivery_pk, incident_pk, is_deliveries_index_sk,
    CLAIM_UNTIL, CREATED_AT, DELIVERY_ALERT, DELIVERY_ATTEMPTS, DELIVERY_CHANNEL, DELIVERY_ERROR,
    DELIVERY_KEY, DELIVERY_PROVIDER_STATUS, DELIVERY_STATUS, GSI, GSI_PK, GSI_SK, PK, RESOLVED_AT,
    TTL, UPDATED_AT,
};
use super::DynamoStore;
use crate::{conditional, store_error};
use lookout_app::ports::{Claim, DeliveryLog, DeliveryOutcome, DeliveryPage, StoreError};
use lookout_core::domain::Alert;
use lookout_core::notify::{delivery_id, DeliveryRecord, DeliveryStatus};

/// Records a listing returns at most (the port's contract: 1 to 100).
const MAX_LIMIT: usize = 100;
/// Index items read per request while filtering one status partition by channel.
const FILTER_PAGE: i32 = 100;
/// Requests per status partition in one listing call: a channel whose records are rare in a
/// large partition gets a shorter page and a cursor, never an unbounded read.
const MAX_PAGES: usize = 10;
/// The stored last error, at most this many characters (the record's documented limit).
const MAX_ERROR_CHARS: usize = 500;
/// A cursor longer than this is not one a listing gave (DynamoDB keys are at most 1 KiB).
const MAX_CURSOR: usize = 2048;

const ALL_STATUSES: [DeliveryStatus; 3] = [
    DeliveryStatus::Sending,
    DeliveryStatus::Sent,
    DeliveryStatus::Failed,
];

fn status_of(text: &str) -> Option<DeliveryStatus> {
    ALL_STATUSES.into_iter().find(|s| s.as_str() == text)
}

fn text<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

fn number<T: std::str::FromStr>(item: &Item, name: &str) -> Option<T> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}

/// The status of a stored record.
fn stored_status(item: &Item) -> Result<DeliveryStatus, StoreError> {
    text(item, DELIVERY_STATUS)
        .and_then(status_of)
        .ok_or_else(|| corrupt(item, "no delivery status"))
}

/// The record in `item`.
fn record_of(item: &Item) -> Result<DeliveryRecord, StoreError> {
    let field = |name: &str| {
        text(item, name)
            .map(str::to_string)
            .ok_or_else(|| corrupt(item, format!("no attribute {name}")))
    };
    let channel_id = field(DELIVERY_CHANNEL)?;
    let alert_key = field(DELIVERY_KEY)?;
    Ok(DeliveryRecord {
        id: delivery_id(&channel_id, &alert_key),
        status: stored_status(item)?,
        attempts: number(item, DELIVERY_ATTEMPTS).unwrap_or(0),
        provider_status: number(item, DELIVERY_PROVIDER_STATUS),
        last_error: text(item, DELIVERY_ERROR).map(str::to_string),
        created_at: number(item, CREATED_AT).unwrap_or(0),
        updated_at: number(item, UPDATED_AT).unwrap_or(0),
        alert: from_attr(item, DELIVERY_ALERT)?,
        channel_id,
        alert_key,
    })
}

/// The position a cursor names (an index sort key), checked.
fn decode_cursor(cursor: &str) -> Result<String, StoreError> {
    let bad = || StoreError::Invalid("cursor: not one a delivery listing gave".into());
    if cursor.len() > MAX_CURSOR {
        return Err(bad());
    }
    let bytes = B64.decode(cursor).map_err(|_| bad())?;
    let sk = String::from_utf8(bytes).map_err(|_| bad())?;
    if is_deliveries_index_sk(&sk) {
        Ok(sk)
    } else {
        Err(bad())
    }
}

fn encode_cursor(sk: &str) -> String {
    B64.encode(sk)
}

/// What one status partition gave for a listing.
struct Scanned {
    /// `(index sort key, item)`, newest first.
    matches: Vec<(String, Item)>,
    /// The page budget ran out here (an index sort key): items older than this were not read.
    stopped_at: Option<String>,
    /// More items may follow the matches.
    more: bool,
}

impl DynamoStore {
    /// Up to `limit` records of `status` (of `channel` only, when given) older than `before`,
    /// newest first, in at most [`MAX_PAGES`] requests.
    async fn scan_status(
        &self,
        status: DeliveryStatus,
        channel: Option<&str>,
        limit: usize,
        before: Option<&str>,
    ) -> Result<Scanned, StoreError> {
        let mut matches = Vec::new();
        let mut start: Option<Item> = None;
        for _ in 0..MAX_PAGES {
            let mut q = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(GSI)
                .scan_index_forward(false)
                .select(Select::AllAttributes)
                .expression_attribute_names("#gpk", GSI_PK)
                .expression_attribute_values(":gpk", s(deliveries_index_pk(status)))
                .set_exclusive_start_key(start.take());
            q = match before {
                Some(b) => q
                    .key_condition_expression("#gpk = :gpk AND #gsk < :before")
                    .expression_attribute_names("#gsk", GSI_SK)
                    .expression_attribute_values(":before", s(b)),
                None => q.key_condition_expression("#gpk = :gpk"),
            };
            q = match channel {
                Some(c) => q
                    .filter_expression("#ch = :ch")
                    .expression_attribute_names("#ch", DELIVERY_CHANNEL)
                    .expression_attribute_values(":ch", s(c))
                    .limit(FILTER_PAGE),
                None => q.limit(i32::try_from(limit - matches.len()).unwrap_or(FILTER_PAGE)),
            };
            let page = q.send().await.map_err(store_error)?;
            for item in page.items.unwrap_or_default() {
                let sk = text(&item, GSI_SK)
                    .ok_or_else(|| corrupt(&item, "no index sort key"))?
                    .to_string();
                matches.push((sk, item));
            }
            start = page.last_evaluated_key.filter(|k| !k.is_empty());
            if matches.len() >= limit || start.is_none() {
                let more = start.is_some() || matches.len() > limit;
                return Ok(Scanned {
                    matches,
                    stopped_at: None,
                    more,
                });
            }
        }
        let stopped_at = start
            .as_ref()
            .and_then(|k| text(k, GSI_SK))
            .map(str::to_string);
        Ok(Scanned {
            matches,
            more: true,
            stopped_at,
        })
    }
}

impl DeliveryLog for DynamoStore {
    async fn claim_delivery(
        &self,
        channel_id: &str,
        alert: &Alert,
        now_ms: i64,
        claim_until_ms: i64,
        expires_at_s: i64,
    ) -> Result<Claim, StoreError> {
        let sending = DeliveryStatus::Sending;
        let claimed = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_of(delivery_pk(channel_id), &alert.key)))
            .update_expression(
                "SET #st = :sending, #cu = :until, #al = :alert, #ch = :ch, #ak = :ak, \
                 #ca = if_not_exists(#ca, :now), #ua = :now, #ttl = :exp, \
                 #at = if_not_exists(#at, :zero), #gpk = :gpk, #gsk = :gsk",
            )
            // One write decides: no record, a failed one (a retry), or a claim that ended
            // (a sender that died).
            .condition_expression(
                "attribute_not_exists(#pk) OR #st = :failed OR (#st = :sending AND #cu < :now)",
            )
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#st", DELIVERY_STATUS)
            .expression_attribute_names("#cu", CLAIM_UNTIL)
            .expression_attribute_names("#al", DELIVERY_ALERT)
            .expression_attribute_names("#ch", DELIVERY_CHANNEL)
            .expression_attribute_names("#ak", DELIVERY_KEY)
            .expression_attribute_names("#ca", CREATED_AT)
            .expression_attribute_names("#ua", UPDATED_AT)
            .expression_attribute_names("#ttl", TTL)
            .expression_attribute_names("#at", DELIVERY_ATTEMPTS)
            .expression_attribute_names("#gpk", GSI_PK)
            .expression_attribute_names("#gsk", GSI_SK)
            .expression_attribute_values(":sending", s(sending.as_str()))
            .expression_attribute_values(":failed", s(DeliveryStatus::Failed.as_str()))
            .expression_attribute_values(":until", n(claim_until_ms))
            .expression_attribute_values(":alert", to_json(alert)?)
            .expression_attribute_values(":ch", s(channel_id))
            .expression_attribute_values(":ak", s(&alert.key))
            .expression_attribute_values(":now", n(now_ms))
            .expression_attribute_values(":exp", n(expires_at_s))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":gpk", s(deliveries_index_pk(sending)))
            .expression_attribute_values(
                ":gsk",
                s(deliveries_index_sk(now_ms, channel_id, &alert.key)),
            )
            .send()
            .await;
        let e = match claimed {
            Ok(_) => return Ok(Claim::Won),
            Err(e) => e,
        };
        let old = match e.as_service_error() {
            Some(UpdateItemError::ConditionalCheckFailedException(c)) => c.item.clone(),
            _ => return Err(store_error(e)),
        };
        // The record that won, as the failed condition saw it; read it when the engine does
        // not return it.
        let old = match old.filter(|i| !i.is_empty()) {
            Some(item) => item,
            None => self
                .client
                .get_item()
                .table_name(&self.table)
                .set_key(Some(key_of(delivery_pk(channel_id), &alert.key)))
                .consistent_read(true)
                .send()
                .await
                .map_err(store_error)?
                .item
                .unwrap_or_default(),
        };
        Ok(Claim::Taken(stored_status(&old)?))
    }

    async fn finish_delivery(
        &self,
        channel_id: &str,
        alert_key: &str,
        claim_until_ms: i64,
        outcome: &DeliveryOutcome,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        if outcome.status == DeliveryStatus::Sending {
            return Err(StoreError::Invalid(
                "a delivery finishes sent or failed, not sending".into(),
            ));
        }
        let mut set = vec![
            "#st = :st",
            "#at = if_not_exists(#at, :zero) + :n",
            "#ua = :now",
            "#gpk = :gpk",
            "#gsk = :gsk",
        ];
        let mut remove = vec!["#cu"];
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_of(delivery_pk(channel_id), alert_key)))
            // The claim this sender holds, and no later one: a sender whose claim ran out and
            // was taken over must not overwrite the new sender's outcome.
            .condition_expression("#st = :sending AND #cu = :until")
            .expression_attribute_values(":until", n(claim_until_ms))
            .expression_attribute_names("#st", DELIVERY_STATUS)
            .expression_attribute_names("#at", DELIVERY_ATTEMPTS)
            .expression_attribute_names("#ua", UPDATED_AT)
            .expression_attribute_names("#gpk", GSI_PK)
            .expression_attribute_names("#gsk", GSI_SK)
            .expression_attribute_names("#cu", CLAIM_UNTIL)
            .expression_attribute_names("#ps", DELIVERY_PROVIDER_STATUS)
            .expression_attribute_names("#le", DELIVERY_ERROR)
            .expression_attribute_values(":st", s(outcome.status.as_str()))
            .expression_attribute_values(":sending", s(DeliveryStatus::Sending.as_str()))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":n", n(outcome.attempts))
            .expression_attribute_values(":now", n(now_ms))
            .expression_attribute_values(":gpk", s(deliveries_index_pk(outcome.status)))
            .expression_attribute_values(
                ":gsk",
                s(deliveries_index_sk(now_ms, channel_id, alert_key)),
            );
        match outcome.provider_status {
            Some(code) => {
                set.push("#ps = :ps");
                update = update.expression_attribute_values(":ps", n(code));
            }
            None => remove.push("#ps"),
        }
        match &outcome.last_error {
            Some(e) => {
                set.push("#le = :le");
                let e: String = e.chars().take(MAX_ERROR_CHARS).collect();
                update = update.expression_attribute_values(":le", s(e));
            }
            None => remove.push("#le"),
        }
        let finished = update
            .update_expression(format!(
                "SET {} REMOVE {}",
                set.join(", "),
                remove.join(", ")
            ))
            .send()
            .await;
        match conditional(finished)? {
            Some(_) => Ok(()),
            None => Err(StoreError::Conflict(format!(
                "delivery {} is not being sent under this claim (no record, it finished \
                 already, or another sender claimed it since)",
                delivery_id(channel_id, alert_key)
            ))),
        }
    }

    async fn delivery(
        &self,
        channel_id: &str,
        alert_key: &str,
    ) -> Result<Option<DeliveryRecord>, StoreError> {
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_of(delivery_pk(channel_id), alert_key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(store_error)?;
        got.item.as_ref().map(record_of).transpose()
    }

    async fn deliveries(
        &self,
        status: Option<DeliveryStatus>,
        channel_id: Option<&str>,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<DeliveryPage, StoreError> {
        let limit = limit.clamp(1, MAX_LIMIT);
        let before = cursor.map(decode_cursor).transpose()?;
        let statuses = status.map_or(ALL_STATUSES.to_vec(), |s| vec![s]);
        let mut all = Vec::new();
        let mut more = false;
        // Items newer than this were read in every partition; older ones may not have been.
        let mut read_down_to: Option<String> = None;
        for st in statuses {
            let got = self
                .scan_status(st, channel_id, limit, before.as_deref())
                .await?;
            more |= got.more;
            if let Some(at) = got.stopped_at {
                read_down_to = read_down_to.max(Some(at));
            }
            all.extend(got.matches);
        }
        // The floor itself was read (it is the last item a request evaluated) and may have
        // matched: it stays, and the next page starts below it (index sort keys are unique).
        if let Some(floor) = &read_down_to {
            all.retain(|(sk, _)| sk >= floor);
        }
        all.sort_by(|a, b| b.0.cmp(&a.0));
        more |= all.len() > limit;
        all.truncate(limit);
        let next = match (all.last(), &read_down_to) {
            (Some((last, _)), _) if all.len() == limit && more => Some(encode_cursor(last)),
            (_, Some(floor)) => Some(encode_cursor(floor)),
            _ => None,
        };
        let records = all
            .iter()
            .map(|(_, item)| record_of(item))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(DeliveryPage { records, next })
    }

    async fn resolved_at(
        &self,
        channel_id: &str,
        incident_key: &str,
    ) -> Result<Option<i64>, StoreError> {
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_of(incident_pk(channel_id), incident_key)))
            .consistent_read(true)
            .projection_expression("#ra")
            .expression_attribute_names("#ra", RESOLVED_AT)
            .send()
            .await
            .map_err(store_error)?;
        match got.item {
            None => Ok(None),
            Some(item) => number(&item, RESOLVED_AT)
                .map(Some)
                .ok_or_else(|| corrupt(&item, "no resolved_at")),
        }
    }

    async fn note_resolved(
        &self,
        channel_id: &str,
        incident_key: &str,
        at_ms: i64,
        expires_at_s: i64,
    ) -> Result<(), StoreError> {
        let noted = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_of(incident_pk(channel_id), incident_key)))
            .update_expression("SET #ra = :at, #ttl = :exp")
            // Only forward: a resolve noted late (an older alert) never lowers the note.
            .condition_expression("attribute_not_exists(#ra) OR #ra < :at")
            .expression_attribute_names("#ra", RESOLVED_AT)
            .expression_attribute_names("#ttl", TTL)
            .expression_attribute_values(":at", n(at_ms))
            .expression_attribute_values(":exp", n(expires_at_s))
            .send()
            .await;
        // A failed condition: an equal or later resolve is noted already, which is the goal.
        conditional(noted).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_and_a_bad_one_is_invalid() {
        let sk = deliveries_index_sk(1_700_000_000_000, "ops", "web#down#1");
        assert_eq!(decode_cursor(&encode_cursor(&sk)).unwrap(), sk);
        let long = "A".repeat(MAX_CURSOR + 1);
        for bad in ["", "!!!", "eA", &encode_cursor("12#ops#k"), &long] {
            assert!(
                matches!(decode_cursor(bad), Err(StoreError::Invalid(_))),
                "{bad}"
            );
        }
    }
}
