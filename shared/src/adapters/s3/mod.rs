//! S3 dump store: objects under the bucket, uploads verified with an SHA-256 checksum.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, Delete, ObjectIdentifier};
use aws_sdk_s3::Client;

use crate::adapters::sdk_message;
use crate::ports::{DumpStore, StoreError};

/// An S3 client with path-style addressing (`endpoint/bucket/key`), which S3 accepts and local
/// emulators such as moto need.
pub fn client(aws: &aws_config::SdkConfig) -> Client {
    Client::from_conf(
        aws_sdk_s3::config::Builder::from(aws)
            .force_path_style(true)
            .build(),
    )
}

/// Dumps in one bucket.
#[derive(Clone, Debug)]
pub struct S3DumpStore {
    client: Client,
    bucket: String,
}

impl S3DumpStore {
    /// A store over `bucket`.
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        S3DumpStore {
            client,
            bucket: bucket.into(),
        }
    }
}

fn backend<E: std::error::Error>(e: E) -> StoreError {
    StoreError::Backend(sdk_message(&e))
}

impl DumpStore for S3DumpStore {
    async fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
        sha256_b64: &str,
    ) -> Result<(), StoreError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .checksum_sha256(sha256_b64)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let mut keys = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(backend)?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_string)),
            );
        }
        Ok(keys)
    }

    async fn delete(&self, keys: &[String]) -> Result<(), StoreError> {
        for batch in keys.chunks(1000) {
            let objects = batch
                .iter()
                .map(|k| ObjectIdentifier::builder().key(k).build().map_err(backend))
                .collect::<Result<Vec<_>, _>>()?;
            let delete = Delete::builder()
                .set_objects(Some(objects))
                .quiet(true)
                .build()
                .map_err(backend)?;
            let out = self
                .client
                .delete_objects()
                .bucket(&self.bucket)
                .delete(delete)
                .send()
                .await
                .map_err(backend)?;
            if let Some(e) = out.errors().first() {
                return Err(StoreError::Backend(format!(
                    "deleting {}: {}",
                    e.key().unwrap_or("?"),
                    e.message().unwrap_or("unknown error")
                )));
            }
        }
        Ok(())
    }
}
