//! [`RunLease`] over the table: one lease item `LEASE#<kind>` / `LEASE` per kind, and one
//! `LEASE#<kind>` / `LEASE#<index>of<of>` per shard of a run that fanned out (a narrowed view's
//! lease), taken, renewed and released with conditional updates. One partition per kind, so
//! that [`RunLease::leases`] is one query per kind.

use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;

use super::item::{key_of, n, s, Item};
use super::keys::{lease_of_sk, lease_pk, lease_sk, LEASE_DONE, LEASE_HOLDER, LEASE_UNTIL, PK, SK};
use super::DynamoStore;
use crate::{conditional, store_error};
use lookout_app::ports::{Lease, LeaseInfo, RunLease, StoreError};
use lookout_core::domain::{Shard, TargetKind};

/// A lease item's fields (`shard`: the shard its sort key names, `None` for the whole lease).
fn lease_info(
    kind: TargetKind,
    shard: Option<Shard>,
    location: Option<String>,
    item: &Item,
) -> LeaseInfo {
    let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
    LeaseInfo {
        kind,
        holder: text(LEASE_HOLDER),
        until_ms: item
            .get(LEASE_UNTIL)
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        done_event: text(LEASE_DONE),
        shard,
        location,
    }
}

impl DynamoStore {
    /// The shard this view's lease is of (`None` for the whole view).
    fn lease_shard(&self) -> Option<Shard> {
        (!self.shard.is_whole()).then_some(self.shard)
    }

    /// An UpdateItem of this view's lease item of `kind`.
    fn lease_update(&self, kind: TargetKind) -> UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_of(
                lease_pk(kind),
                lease_sk(self.shard, self.location.as_deref()),
            )))
    }

    /// This view's lease item of `kind` (strongly consistent), empty when there is none.
    async fn lease_item(&self, kind: TargetKind) -> Result<Item, StoreError> {
        Ok(self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_of(
                lease_pk(kind),
                lease_sk(self.shard, self.location.as_deref()),
            )))
            .consistent_read(true)
            .send()
            .await
            .map_err(store_error)?
            .item
            .unwrap_or_default())
    }
}

impl RunLease for DynamoStore {
    async fn acquire_lease(
        &self,
        kind: TargetKind,
        holder: &str,
        now_ms: i64,
        until_ms: i64,
        event_id: Option<&str>,
    ) -> Result<Lease, StoreError> {
        let taken = self
            .lease_update(kind)
            .update_expression("SET #holder = :holder, #until = :until")
            .condition_expression(
                "(attribute_not_exists(#until) OR #until < :now) \
                 AND (attribute_not_exists(#done) OR #done <> :event)",
            )
            .expression_attribute_names("#holder", LEASE_HOLDER)
            .expression_attribute_names("#until", LEASE_UNTIL)
            .expression_attribute_names("#done", LEASE_DONE)
            .expression_attribute_values(":holder", s(holder))
            .expression_attribute_values(":until", n(until_ms))
            .expression_attribute_values(":now", n(now_ms))
            // No event id: a value no event has, so only the time condition counts.
            .expression_attribute_values(":event", s(event_id.unwrap_or("\u{0}")))
            .send()
            .await;
        if conditional(taken)?.is_some() {
            return Ok(Lease::Acquired);
        }
        let info = lease_info(
            kind,
            self.lease_shard(),
            self.location.clone(),
            &self.lease_item(kind).await?,
        );
        if info.until_ms < now_ms && event_id.is_some() && info.done_event.as_deref() == event_id {
            Ok(Lease::AlreadyDone)
        } else {
            Ok(Lease::Busy {
                until_ms: info.until_ms,
            })
        }
    }

    async fn renew_lease(
        &self,
        kind: TargetKind,
        holder: &str,
        until_ms: i64,
    ) -> Result<bool, StoreError> {
        let renewed = self
            .lease_update(kind)
            .update_expression("SET #until = :until")
            // Released leases (until 0) stay released, even if a renewal was in flight.
            .condition_expression("#holder = :holder AND #until > :zero")
            .expression_attribute_names("#holder", LEASE_HOLDER)
            .expression_attribute_names("#until", LEASE_UNTIL)
            .expression_attribute_values(":holder", s(holder))
            .expression_attribute_values(":until", n(until_ms))
            .expression_attribute_values(":zero", n(0))
            .send()
            .await;
        match conditional(renewed)? {
            Some(_) => Ok(true),
            None => Ok(false),
        }
    }

    async fn release_lease(
        &self,
        kind: TargetKind,
        holder: &str,
        event_id: Option<&str>,
    ) -> Result<(), StoreError> {
        let mut update = self
            .lease_update(kind)
            .condition_expression("#holder = :holder")
            .expression_attribute_names("#holder", LEASE_HOLDER)
            .expression_attribute_names("#until", LEASE_UNTIL)
            .expression_attribute_values(":holder", s(holder))
            .expression_attribute_values(":zero", n(0));
        update = match event_id {
            Some(ev) => update
                .update_expression("SET #until = :zero, #done = :event")
                .expression_attribute_names("#done", LEASE_DONE)
                .expression_attribute_values(":event", s(ev)),
            None => update.update_expression("SET #until = :zero"),
        };
        // The condition fails when the lease expired and another run took it meanwhile:
        // nothing of ours to release.
        conditional(update.send().await)?;
        Ok(())
    }

    async fn break_lease(&self, kind: TargetKind, now_ms: i64) -> Result<bool, StoreError> {
        let broken = self
            .lease_update(kind)
            .update_expression("SET #until = :zero REMOVE #holder")
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#holder", LEASE_HOLDER)
            .expression_attribute_names("#until", LEASE_UNTIL)
            .expression_attribute_values(":zero", n(0))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await;
        match conditional(broken)? {
            Some(out) => {
                let old = lease_info(
                    kind,
                    self.lease_shard(),
                    self.location.clone(),
                    &out.attributes.unwrap_or_default(),
                );
                Ok(old.holder.is_some() && old.until_ms >= now_ms)
            }
            // No lease item: nothing was ever held.
            None => Ok(false),
        }
    }

    async fn leases(&self) -> Result<Vec<LeaseInfo>, StoreError> {
        let mut out = Vec::new();
        for kind in TargetKind::ALL {
            let mut of_kind: Vec<LeaseInfo> = self
                .query(None, &lease_pk(kind), true, None)
                .await?
                .iter()
                .filter_map(|item| {
                    let sk = item.get(SK)?.as_s().ok()?;
                    let (shard, location) = lease_of_sk(sk)?;
                    let shard = (!shard.is_whole()).then_some(shard);
                    Some(lease_info(kind, shard, location, item))
                })
                .collect();
            of_kind.sort_by_key(|l| (l.location.clone(), l.shard));
            out.extend(of_kind);
        }
        Ok(out)
    }
}
