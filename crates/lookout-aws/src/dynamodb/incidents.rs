//! [`IncidentStore`] and [`StatusPageStore`] over the table: one item per incident,
//! `INCIDENTS` / `<id>`, and one per status page, `STATUSPAGE` / `<slug>`, each the JSON of the
//! value (`def`) with its `version`; writes conditional on the version. An incident expires
//! [`INCIDENT_TTL_DAYS`] days after it closes (`expires_at`).

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::item::{from_attr, item_of, key_of, n, s, to_json, ttl_after, Item};
use super::keys::{INCIDENTS_PK, PK, SK, STATUS_PAGE_PK, TTL, VERSION};
use super::DynamoStore;
use crate::{conditional, store_error};
use lookout_app::ports::{IncidentStore, StatusPageStore, StoreError};
use lookout_core::domain::incident::{newest_first, Incident, INCIDENT_TTL_DAYS};
use lookout_core::domain::status_page::StatusPage;

impl DynamoStore {
    /// Puts `item` (partition `pk`, sort key `sk`) on the condition that the stored item has
    /// version `version - 1` (none stored when `version` is 1).
    pub(super) async fn put_versioned(
        &self,
        pk: &str,
        sk: &str,
        version: u64,
        mut item: Item,
    ) -> Result<(), StoreError> {
        item.insert(PK.into(), s(pk));
        item.insert(SK.into(), s(sk));
        item.insert(VERSION.into(), n(version));
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .expression_attribute_names("#k", PK);
        let put = if version <= 1 {
            put.condition_expression("attribute_not_exists(#k)")
        } else {
            put.condition_expression("attribute_exists(#k) AND #v = :v")
                .expression_attribute_names("#v", VERSION)
                .expression_attribute_values(":v", n(version - 1))
        };
        match conditional(put.send().await)? {
            Some(_) => Ok(()),
            None => Err(StoreError::Conflict(format!(
                "{pk}/{sk} is not at version {}",
                version.saturating_sub(1)
            ))),
        }
    }

    /// The value in attribute `def` of item `pk`/`sk`, read strongly consistent.
    pub(super) async fn get_def<T: DeserializeOwned>(
        &self,
        pk: &str,
        sk: &str,
    ) -> Result<Option<T>, StoreError> {
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_of(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(store_error)?;
        got.item.as_ref().map(|i| from_attr(i, "def")).transpose()
    }

    /// Every value in attribute `def` of partition `pk`, in sort-key order.
    pub(super) async fn all_defs<T: DeserializeOwned>(
        &self,
        pk: &str,
    ) -> Result<Vec<T>, StoreError> {
        let items = self.query(None, pk, true, None).await?;
        items.iter().map(|i| from_attr(i, "def")).collect()
    }
}

/// The item holding `v` as JSON in `def`.
fn def_item<T: Serialize>(v: &T) -> Result<Item, StoreError> {
    Ok(item_of(vec![("def", to_json(v)?)]))
}

impl IncidentStore for DynamoStore {
    async fn put_incident(&self, incident: &Incident) -> Result<(), StoreError> {
        let mut item = def_item(incident)?;
        if let Some(closed) = incident.resolved_at.or(incident.ends_at) {
            item.insert(TTL.into(), ttl_after(closed, INCIDENT_TTL_DAYS));
        }
        self.put_versioned(INCIDENTS_PK, &incident.id, incident.version, item)
            .await
    }

    async fn incident(&self, id: &str) -> Result<Option<Incident>, StoreError> {
        self.get_def(INCIDENTS_PK, id).await
    }

    async fn incidents(&self, since_ms: i64, until_ms: i64) -> Result<Vec<Incident>, StoreError> {
        let mut out: Vec<Incident> = self
            .all_defs::<Incident>(INCIDENTS_PK)
            .await?
            .into_iter()
            .filter(|i| i.open_between(since_ms, until_ms))
            .collect();
        newest_first(&mut out);
        Ok(out)
    }

    async fn open_incidents(&self) -> Result<Vec<Incident>, StoreError> {
        let mut out: Vec<Incident> = self
            .all_defs::<Incident>(INCIDENTS_PK)
            .await?
            .into_iter()
            .filter(|i| !i.status.is_closed())
            .collect();
        newest_first(&mut out);
        Ok(out)
    }

    async fn delete_incident(&self, id: &str) -> Result<bool, StoreError> {
        self.delete_existing(INCIDENTS_PK, id).await
    }
}

impl StatusPageStore for DynamoStore {
    async fn put_status_page(&self, page: &StatusPage) -> Result<(), StoreError> {
        self.put_versioned(STATUS_PAGE_PK, &page.slug, page.version, def_item(page)?)
            .await
    }

    async fn status_page(&self, slug: &str) -> Result<Option<StatusPage>, StoreError> {
        self.get_def(STATUS_PAGE_PK, slug).await
    }

    async fn status_pages(&self) -> Result<Vec<StatusPage>, StoreError> {
        self.all_defs(STATUS_PAGE_PK).await
    }

    async fn delete_status_page(&self, slug: &str) -> Result<bool, StoreError> {
        self.delete_existing(STATUS_PAGE_PK, slug).await
    }
}
