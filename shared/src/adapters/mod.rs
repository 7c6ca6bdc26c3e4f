//! Implementations of the [`crate::ports`]: DynamoDB, SNS and S3 (the only code that sees
//! aws-sdk types) and in-memory fakes for unit tests.

pub mod dynamodb;
mod error;
pub mod health;
pub mod lambda;
pub mod memory;
pub mod s3;
pub mod sealing;
pub mod secrets;
pub mod sns;
pub mod ssm;

/// The AWS configuration from the environment (region, credentials, `AWS_ENDPOINT_URL_*`), with
/// one HTTPS client for every AWS client: rustls with ring, the crypto the prober already uses.
/// The SDK's default client would bring a second crypto library (aws-lc) into every binary.
pub async fn aws_config() -> aws_config::SdkConfig {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    let https = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(https)
        .load()
        .await
}

pub(crate) use error::{build_error, conditional, found, sdk_message, store_error};
