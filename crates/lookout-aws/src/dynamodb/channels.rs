//! [`ChannelStore`] over the table: one item per notification channel, `CHANNEL` / `<id>`, the
//! definition as JSON (`def`) with every secret field sealed ([`Sealer::seal_value`], associated
//! data `lookout:channel:<id>`) and opened on read; writes conditional on `version`.

use super::item::{from_attr, item_of, n, s, to_json, Item};
use super::keys::{CHANNEL_PK, PK, SK, VERSION};
use super::DynamoStore;
use crate::sealing::{channel_aad, SealError};
use crate::{conditional, store_error};
use lookout_app::ports::{ChannelStore, StoreError};
use lookout_core::notify::Channel;

/// A [`SealError`] of channel `id` as a [`StoreError`]: no key is
/// [`Refused`](StoreError::Refused) (as for targets), KMS a backend failure, a value that does
/// not open [`Corrupt`](StoreError::Corrupt). Never holds a secret.
fn seal_error(id: &str, e: SealError) -> StoreError {
    match e {
        SealError::NoKey(m) => StoreError::Refused(m),
        SealError::Kms(m) => StoreError::Backend(format!("kms: {m}")),
        SealError::Corrupt(m) => StoreError::Corrupt {
            key: format!("{CHANNEL_PK}/{id}"),
            message: m,
        },
    }
}

impl DynamoStore {
    /// `c` with every secret field sealed (`seal`) or opened (`!seal`) by the store's sealer.
    async fn seal_channel(&self, c: &Channel, seal: bool) -> Result<Channel, StoreError> {
        let aad = channel_aad(&c.id);
        let mut values = Vec::new();
        let mut out = c.clone();
        out.config
            .for_each_secret_mut(|_, v| {
                values.push(std::mem::take(v));
                Ok::<_, SealError>(())
            })
            .map_err(|e| seal_error(&c.id, e))?;
        let mut done = Vec::with_capacity(values.len());
        for v in &values {
            let r = if seal {
                self.sealer.seal_value(&aad, v).await
            } else {
                self.sealer.open_value(&aad, v).await
            };
            done.push(r.map_err(|e| seal_error(&c.id, e))?);
        }
        let mut done = done.into_iter();
        out.config
            .for_each_secret_mut(|_, v| {
                *v = done.next().unwrap_or_default();
                Ok::<_, SealError>(())
            })
            .map_err(|e| seal_error(&c.id, e))?;
        Ok(out)
    }

    /// The item of `c`, its secrets sealed.
    async fn channel_item(&self, c: &Channel) -> Result<Item, StoreError> {
        let sealed = self.seal_channel(c, true).await?;
        Ok(item_of(vec![
            (PK, s(CHANNEL_PK)),
            (SK, s(&c.id)),
            (VERSION, n(c.version)),
            ("def", to_json(&sealed)?),
        ]))
    }

    /// The channel in `item`, its secrets opened (`***` with a masked sealer).
    async fn channel_of(&self, item: &Item) -> Result<Channel, StoreError> {
        let c: Channel = from_attr(item, "def")?;
        self.seal_channel(&c, false).await
    }
}

impl ChannelStore for DynamoStore {
    async fn channels(&self) -> Result<Vec<Channel>, StoreError> {
        // Strongly consistent: a channel just written is listed (the notify function reads
        // the list once per batch).
        let items: Vec<Item> = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#k = :k")
            .expression_attribute_names("#k", PK)
            .expression_attribute_values(":k", s(CHANNEL_PK))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(store_error)?;
        let mut out = Vec::with_capacity(items.len());
        for item in &items {
            let sealed: Channel = from_attr(item, "def")?;
            match self.seal_channel(&sealed, false).await {
                Ok(opened) => out.push(opened),
                // One channel whose secrets do not open (another key, an altered value, KMS
                // refusing) must not hold up the others: it is listed with its values still
                // sealed, which the notifier never sends with (a retryable failure, recorded
                // `failed` for that channel alone).
                Err(e) => {
                    tracing::warn!(channel = %sealed.id, error = %e,
                        "channel secrets do not open; listed sealed, nothing is sent to it");
                    out.push(sealed);
                }
            }
        }
        Ok(out)
    }

    async fn channel(&self, id: &str) -> Result<Option<Channel>, StoreError> {
        let got = self.get_consistent(CHANNEL_PK, id).await?;
        match &got {
            Some(item) => Ok(Some(self.channel_of(item).await?)),
            None => Ok(None),
        }
    }

    async fn put_channel(
        &self,
        channel: &Channel,
        expected: Option<u64>,
    ) -> Result<Channel, StoreError> {
        let mut c = channel.clone();
        c.version = expected.map_or(1, |v| v.saturating_add(1));
        let item = self.channel_item(&c).await?;
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .expression_attribute_names("#k", PK);
        let put = match expected {
            None => put.condition_expression("attribute_not_exists(#k)"),
            Some(v) => put
                .condition_expression("attribute_exists(#k) AND #v = :v")
                .expression_attribute_names("#v", VERSION)
                .expression_attribute_values(":v", n(v)),
        };
        match conditional(put.send().await)? {
            Some(_) => Ok(c),
            None => Err(StoreError::Conflict(match expected {
                None => format!("channel {} exists", c.id),
                Some(v) => format!("channel {} is not at version {v}", c.id),
            })),
        }
    }

    async fn delete_channel(&self, id: &str) -> Result<bool, StoreError> {
        self.delete_existing(CHANNEL_PK, id).await
    }
}
