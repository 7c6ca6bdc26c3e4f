//! S3 dump store: objects under the bucket, uploads verified with an SHA-256 checksum.

use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart, Delete, ObjectIdentifier,
};
use aws_sdk_s3::Client;

use crate::{build_error, sdk_message, store_error};
use lookout_app::ports::{DumpStore, ObjectStream, StoreError, UploadedPart};

/// An S3 client with path-style addressing (`endpoint/bucket/key`), which S3 accepts and local
/// emulators such as moto need.
pub fn client(aws: &aws_config::SdkConfig) -> Client {
    Client::from_conf(
        aws_sdk_s3::config::Builder::from(aws)
            .force_path_style(true)
            .build(),
    )
}

/// [`client`], made on first use.
pub fn lazy_client(aws: &aws_config::SdkConfig) -> crate::LazyClient<Client> {
    crate::LazyClient::new(aws, client)
}

/// Dumps in one bucket.
#[derive(Clone, Debug)]
pub struct S3DumpStore {
    client: crate::LazyClient<Client>,
    bucket: String,
}

impl S3DumpStore {
    /// A store over `bucket`.
    pub fn new(client: impl Into<crate::LazyClient<Client>>, bucket: impl Into<String>) -> Self {
        S3DumpStore {
            client: client.into(),
            bucket: bucket.into(),
        }
    }
}

/// A body stream that broke off while reading: the connection, not the request.
fn body_error<E: std::error::Error>(e: E) -> StoreError {
    StoreError::Unavailable(sdk_message(&e))
}

/// The most parts of one multipart upload, S3's limit.
const MAX_PARTS: i32 = 10_000;

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
            .map_err(store_error)?;
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let out = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => out,
            Err(SdkError::ServiceError(e)) if e.err().is_no_such_key() => return Ok(None),
            Err(e) => return Err(store_error(e)),
        };
        let body = out.body.collect().await.map_err(body_error)?;
        Ok(Some(body.into_bytes().to_vec()))
    }

    async fn open(&self, key: &str) -> Result<ObjectStream, StoreError> {
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(store_error)?;
        let chunks = futures::stream::try_unfold(out.body, |mut body| async move {
            match body.try_next().await {
                Ok(Some(chunk)) => Ok(Some((chunk.to_vec(), body))),
                Ok(None) => Ok(None),
                Err(e) => Err(body_error(e)),
            }
        });
        Ok(Box::pin(chunks))
    }

    async fn start_upload(&self, key: &str, content_type: &str) -> Result<String, StoreError> {
        let out = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .send()
            .await
            .map_err(store_error)?;
        out.upload_id
            .ok_or_else(|| StoreError::Backend(format!("no upload id for {key}")))
    }

    async fn upload_part(
        &self,
        key: &str,
        upload_id: &str,
        number: i32,
        body: Vec<u8>,
        sha256_b64: &str,
    ) -> Result<UploadedPart, StoreError> {
        if !(1..=MAX_PARTS).contains(&number) {
            return Err(StoreError::Invalid(format!(
                "part {number} of {key}: S3 takes parts 1 to {MAX_PARTS}"
            )));
        }
        let out = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .part_number(number)
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .checksum_sha256(sha256_b64)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(store_error)?;
        Ok(UploadedPart {
            number,
            etag: out.e_tag.unwrap_or_default(),
            sha256_b64: sha256_b64.to_string(),
        })
    }

    async fn finish_upload(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[UploadedPart],
    ) -> Result<(), StoreError> {
        let parts = parts
            .iter()
            .map(|p| {
                CompletedPart::builder()
                    .part_number(p.number)
                    .e_tag(&p.etag)
                    .checksum_sha256(&p.sha256_b64)
                    .build()
            })
            .collect();
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map_err(store_error)?;
        Ok(())
    }

    async fn abort_upload(&self, key: &str, upload_id: &str) -> Result<(), StoreError> {
        self.client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .send()
            .await
            .map_err(store_error)?;
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
            let page = page.map_err(store_error)?;
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
                .map(|k| {
                    ObjectIdentifier::builder()
                        .key(k)
                        .build()
                        .map_err(build_error)
                })
                .collect::<Result<Vec<_>, _>>()?;
            let delete = Delete::builder()
                .set_objects(Some(objects))
                .quiet(true)
                .build()
                .map_err(build_error)?;
            let out = self
                .client
                .delete_objects()
                .bucket(&self.bucket)
                .delete(delete)
                .send()
                .await
                .map_err(store_error)?;
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
