//! [`AuditLog`] over the table: one row per entry, `AUDIT#<YYYY-MM-DD>` /
//! `<at, 13-digit ms>#<id>`, the entry as JSON, kept `LOOKOUT_AUDIT_RETENTION_DAYS` by TTL.
//! A read is one query per day, newest day first and newest first within it, from the newest
//! instant asked for (or the cursor) back to `since`, until a page is full; the actor and object
//! filters are applied to the entries read (admin writes are a few hundred a day at most).

use super::item::{from_attr, item_of, s, to_json, ttl_after};
use super::keys::{audit_pk, audit_sk, ms_key, AUDIT_ACTOR, AUDIT_ENTRY, PK, SK, TTL};
use super::DynamoStore;
use crate::store_error;
use lookout_app::ports::{AuditLog, AuditPage, AuditQuery, StoreError, MAX_AUDIT_SPAN_DAYS};
use lookout_core::domain::audit::AuditEntry;
use lookout_core::time::DAY_MS;

impl AuditLog for DynamoStore {
    async fn record_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        self.put(item_of(vec![
            (PK, s(audit_pk(entry.at))),
            (SK, s(audit_sk(entry.at, &entry.id))),
            (AUDIT_ENTRY, to_json(entry)?),
            (AUDIT_ACTOR, s(&entry.actor.name)),
            (TTL, ttl_after(entry.at, self.audit_days)),
        ]))
        .await
    }

    async fn audit_entries(&self, query: &AuditQuery) -> Result<AuditPage, StoreError> {
        let upper = query.upper();
        let mut found = Vec::new();
        if upper < query.since {
            return Ok(AuditPage::default());
        }
        let last_day = upper.div_euclid(DAY_MS);
        let first_day = query
            .since
            .div_euclid(DAY_MS)
            .max(last_day - MAX_AUDIT_SPAN_DAYS);
        let (from, to) = (ms_key(query.since), format!("{}~", ms_key(upper)));
        let mut day = last_day;
        while day >= first_day && found.len() <= query.limit {
            let mut pages = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#k = :k AND #s BETWEEN :a AND :b")
                .expression_attribute_names("#k", PK)
                .expression_attribute_names("#s", SK)
                .expression_attribute_values(":k", s(audit_pk(day * DAY_MS)))
                .expression_attribute_values(":a", s(&from))
                .expression_attribute_values(":b", s(&to))
                .scan_index_forward(false)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                for item in page.map_err(store_error)?.items() {
                    let entry: AuditEntry = from_attr(item, AUDIT_ENTRY)?;
                    if query.matches(&entry) {
                        found.push(entry);
                    }
                }
                if found.len() > query.limit {
                    break;
                }
            }
            day -= 1;
        }
        Ok(query.page(found))
    }
}
