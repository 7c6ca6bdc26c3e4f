//! [`Aws`]: every adapter a function needs, built from the environment through one value, so
//! that the function crates never name an aws-sdk type (Cargo keeps them out: only this crate
//! depends on `aws-sdk-*`).
//!
//! Building an adapter makes no SDK client: each one is created on first use
//! ([`crate::LazyClient`]), so a function's init does no AWS work before its first event.

use lookout_app::config::{ConfigError, Settings};
use lookout_app::secrets::Secrets;

use crate::dynamodb::{ClientLimits, DynamoStore};
use crate::health::AwsHealth;
use crate::lambda::AsyncInvoker;
use crate::mail::AwsMail;
use crate::s3::S3DumpStore;
use crate::sealing::Sealer;
use crate::sns::SnsPublisher;
use crate::ssm::{Tokens, TokensError};
use crate::LazyClient;

/// The AWS configuration (region, credentials, `AWS_ENDPOINT_URL_*` endpoints) and the
/// adapters made from it. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Aws {
    config: aws_config::SdkConfig,
}

impl Aws {
    /// The configuration from the environment ([`crate::aws_config`]): one lazily started
    /// HTTPS client on rustls for every SDK client.
    pub async fn from_env() -> Self {
        Aws {
            config: crate::aws_config().await,
        }
    }

    /// An explicit configuration (tests point one service at another endpoint this way).
    pub fn from_sdk_config(config: aws_config::SdkConfig) -> Self {
        Aws { config }
    }

    /// The SDK configuration, for the adapters' own constructors.
    pub fn sdk_config(&self) -> &aws_config::SdkConfig {
        &self.config
    }

    /// The table (`LOOKOUT_TABLE`, in `LOOKOUT_TABLE_REGION` when set) with the SDK's default
    /// retries; target secrets sealed with the settings' key ([`Sealer::from_settings`]).
    pub fn store(&self, settings: &Settings) -> DynamoStore {
        DynamoStore::from_settings(&self.config, settings)
    }

    /// The table for reads while a caller waits ([`ClientLimits::INTERACTIVE`]: an outage is a
    /// 503 in about a second, not a 500 after several seconds of retries).
    pub fn interactive_store(&self, settings: &Settings) -> DynamoStore {
        DynamoStore::from_settings_with(&self.config, settings, &ClientLimits::INTERACTIVE)
    }

    /// The table for a function that never needs a target's secret: sealed values read as
    /// `***`, so it needs no key ([`Sealer::masked`]).
    pub fn masked_store(&self, settings: &Settings) -> DynamoStore {
        self.store(settings).with_sealer(Sealer::masked())
    }

    /// The alert topic (`LOOKOUT_TOPIC_ARN`), with the status page's subscriber topic
    /// (`LOOKOUT_STATUS_TOPIC_ARN`, when set) for the incident notices.
    ///
    /// # Errors
    /// [`ConfigError`] naming `LOOKOUT_TOPIC_ARN` when it is not set.
    pub fn publisher(&self, settings: &Settings) -> Result<SnsPublisher, ConfigError> {
        Ok(
            SnsPublisher::from_config(&self.config, settings.require_topic()?)
                .with_notices(self.incident_notices(settings)),
        )
    }

    /// The status page's subscriber topic (`LOOKOUT_STATUS_TOPIC_ARN`; unset: nothing is
    /// subscribed or sent). The client is made on first use.
    pub fn incident_notices(&self, settings: &Settings) -> crate::sns::SnsIncidentNotices {
        crate::sns::SnsIncidentNotices::from_config(&self.config, settings.status_topic_arn.clone())
    }

    /// The probe's shard-task queue (`LOOKOUT_PROBE_QUEUE_URL`), when it is set: without it a
    /// probe run never fans out. The client is made on first use.
    pub fn shard_queue(&self, settings: &Settings) -> Option<crate::sqs::SqsShardQueue> {
        settings
            .probe_queue_url
            .as_ref()
            .map(|url| crate::sqs::SqsShardQueue::from_config(&self.config, url))
    }

    /// The e-mail channels' sender: SES from `LOOKOUT_SES_FROM` (`settings.ses_from`) when it
    /// is set, else SNS topics; clients made on first use.
    pub fn mail_sender(&self, settings: &Settings) -> AwsMail {
        AwsMail::from_config(&self.config, settings.ses_from.clone())
    }

    /// The dump bucket (`LOOKOUT_BUCKET`).
    ///
    /// # Errors
    /// [`ConfigError`] naming `LOOKOUT_BUCKET` when it is not set.
    pub fn dump_store(&self, settings: &Settings) -> Result<S3DumpStore, ConfigError> {
        Ok(S3DumpStore::new(
            crate::s3::lazy_client(&self.config),
            settings.require_bucket()?,
        ))
    }

    /// Secret references resolved from SSM Parameter Store and Secrets Manager, cached for
    /// five minutes.
    pub fn secrets(&self) -> Secrets {
        crate::secrets::AwsSecrets::cached(&self.config)
    }

    /// What `GET /v1/health` checks: the table (interactive limits, its region), and the topic and bucket
    /// when they are set.
    pub fn health(&self, settings: &Settings) -> AwsHealth {
        let limits = ClientLimits::INTERACTIVE;
        AwsHealth {
            table: (
                LazyClient::new(&crate::table_config(&self.config, settings), move |aws| {
                    limits.client(aws)
                }),
                settings.table.clone(),
            ),
            topic: settings
                .topic_arn
                .clone()
                .map(|t| (LazyClient::new(&self.config, aws_sdk_sns::Client::new), t)),
            bucket: settings
                .bucket
                .clone()
                .map(|b| (crate::s3::lazy_client(&self.config), b)),
        }
    }

    /// Invokes the dump function (`LOOKOUT_DUMP_FUNCTION`) asynchronously, when it is set.
    pub fn dump_runner(&self, settings: &Settings) -> Option<AsyncInvoker> {
        settings.dump_function.clone().map(|f| {
            AsyncInvoker::new(
                LazyClient::new(&self.config, aws_sdk_lambda::Client::new),
                f,
            )
        })
    }

    /// The API tokens from the SSM parameter `name` (`LOOKOUT_TOKEN_PARAM`); see
    /// [`crate::ssm::read_tokens`] for its shape.
    ///
    /// # Errors
    /// [`TokensError`] naming the parameter that cannot be read or is empty (never its value).
    pub async fn read_tokens(&self, name: &str) -> Result<Tokens, TokensError> {
        crate::ssm::read_tokens(&aws_sdk_ssm::Client::new(&self.config), name).await
    }
}
