//! Implementations of the [`crate::ports`]: DynamoDB, SNS and S3 (the only code that sees
//! aws-sdk types) and in-memory fakes for unit tests.

pub mod dynamodb;
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

/// Renders an SDK error with its whole cause chain (the SDK's `Display` alone says only
/// "service error").
pub(crate) fn sdk_message<E: std::error::Error>(e: &E) -> String {
    let mut text = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        text.push_str(": ");
        text.push_str(&s.to_string());
        src = s.source();
    }
    text
}

/// An SDK error as a [`crate::ports::StoreError`]: no connection or no answer in time (the
/// request was never dispatched, or a connect, attempt or operation timeout fired) is
/// [`Unavailable`](crate::ports::StoreError::Unavailable), anything else
/// [`Backend`](crate::ports::StoreError::Backend); both carry the whole cause chain.
pub(crate) fn store_error<E, R>(
    e: aws_sdk_dynamodb::error::SdkError<E, R>,
) -> crate::ports::StoreError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_dynamodb::error::SdkError;
    match e {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
            crate::ports::StoreError::Unavailable(sdk_message(&e))
        }
        _ => crate::ports::StoreError::Backend(sdk_message(&e)),
    }
}
