//! Implementations of the [`crate::ports`]: DynamoDB, SNS and S3 (the only code that sees
//! aws-sdk types) and in-memory fakes for unit tests.

pub mod dynamodb;
pub mod health;
pub mod lambda;
pub mod memory;
pub mod s3;
pub mod sns;
pub mod ssm;

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
