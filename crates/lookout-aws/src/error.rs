//! AWS SDK errors as [`StoreError`], by cause: the one place that reads SDK error kinds and
//! service error codes (DynamoDB's and S3's; both SDKs share the smithy error types).

use aws_sdk_dynamodb::error::{BuildError, ProvideErrorMetadata, SdkError};

use lookout_app::ports::{error_chain, StoreError};

/// Service error codes of a lost condition.
const CONFLICT: &[&str] = &[
    "ConditionalCheckFailedException",
    "TransactionCanceledException",
    "PreconditionFailed",
];
/// Service error codes of a request refused for its rate, after the SDK's own retries.
const THROTTLED: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "ThrottlingException",
    "Throttling",
    "SlowDown",
];
/// Service error codes of something that does not exist (a table, an object, an upload).
const NOT_FOUND: &[&str] = &[
    "ResourceNotFoundException",
    "NoSuchKey",
    "NoSuchUpload",
    "NoSuchBucket",
];
/// Service error codes of a malformed request.
const INVALID: &[&str] = &[
    "ValidationException",
    "InvalidArgument",
    "InvalidPart",
    "InvalidPartOrder",
    "EntityTooSmall",
];

/// Renders an SDK error with its whole cause chain (the SDK's `Display` alone says only
/// "service error").
pub(crate) fn sdk_message<E: std::error::Error>(e: &E) -> String {
    error_chain(e)
}

/// An SDK error as a [`StoreError`]: no connection or no answer in time (the request was never
/// dispatched, or a connect, attempt or operation timeout fired) is
/// [`Unavailable`](StoreError::Unavailable); a service error by its code
/// ([`Conflict`](StoreError::Conflict), [`Throttled`](StoreError::Throttled),
/// [`NotFound`](StoreError::NotFound), [`Invalid`](StoreError::Invalid)); anything else
/// [`Backend`](StoreError::Backend). Each carries the whole cause chain.
pub(crate) fn store_error<E, R>(e: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let message = sdk_message(&e);
    if matches!(e, SdkError::DispatchFailure(_) | SdkError::TimeoutError(_)) {
        return StoreError::Unavailable(message);
    }
    let code = match &e {
        SdkError::ServiceError(s) => s.err().code().unwrap_or_default(),
        _ => "",
    };
    match code {
        c if CONFLICT.contains(&c) => StoreError::Conflict(message),
        c if THROTTLED.contains(&c) => StoreError::Throttled(message),
        c if NOT_FOUND.contains(&c) => StoreError::NotFound(message),
        c if INVALID.contains(&c) => StoreError::Invalid(message),
        _ => StoreError::Backend(message),
    }
}

/// A request that could not be built (a missing required field): a bug, never an outage.
pub(crate) fn build_error(e: BuildError) -> StoreError {
    StoreError::Invalid(sdk_message(&e))
}

/// The outcome of a request: `Some` with its output, `None` when it failed for the cause
/// `expected` accepts; other errors as [`store_error`] maps them.
fn none_when<T, E, R>(
    sent: Result<T, SdkError<E, R>>,
    expected: fn(&StoreError) -> bool,
) -> Result<Option<T>, StoreError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match sent.map_err(store_error) {
        Ok(out) => Ok(Some(out)),
        Err(e) if expected(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The outcome of a conditional write: `Some` with its output when it was written, `None` when
/// its condition failed ([`StoreError::Conflict`]).
pub(crate) fn conditional<T, E, R>(sent: Result<T, SdkError<E, R>>) -> Result<Option<T>, StoreError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    none_when(sent, |e| matches!(e, StoreError::Conflict(_)))
}

/// The outcome of a request on something that may not exist (a table): `None` when it does
/// not ([`StoreError::NotFound`]).
pub(crate) fn found<T, E, R>(sent: Result<T, SdkError<E, R>>) -> Result<Option<T>, StoreError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    none_when(sent, |e| matches!(e, StoreError::NotFound(_)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::operation::put_item::PutItemError;
    use aws_sdk_dynamodb::types::error::{
        ConditionalCheckFailedException, ProvisionedThroughputExceededException,
    };

    fn service(err: PutItemError) -> SdkError<PutItemError, ()> {
        SdkError::service_error(err, ())
    }

    /// The metadata a parsed answer carries: the service's error code.
    fn code(code: &str) -> aws_sdk_dynamodb::error::ErrorMetadata {
        aws_sdk_dynamodb::error::ErrorMetadata::builder()
            .code(code)
            .build()
    }

    #[test]
    fn service_errors_map_to_their_cause() {
        let lost = PutItemError::ConditionalCheckFailedException(
            ConditionalCheckFailedException::builder()
                .meta(code("ConditionalCheckFailedException"))
                .build(),
        );
        assert!(matches!(
            store_error(service(lost)),
            StoreError::Conflict(_)
        ));
        let throttled = PutItemError::ProvisionedThroughputExceededException(
            ProvisionedThroughputExceededException::builder()
                .meta(code("ProvisionedThroughputExceededException"))
                .build(),
        );
        let e = store_error(service(throttled));
        assert!(
            matches!(e, StoreError::Throttled(_)) && e.is_retryable(),
            "{e}"
        );
    }

    #[test]
    fn a_request_never_sent_is_unavailable_and_worth_retrying() {
        let e: SdkError<PutItemError, ()> = SdkError::timeout_error("no answer");
        let e = store_error(e);
        assert!(
            matches!(e, StoreError::Unavailable(_)) && e.is_retryable(),
            "{e}"
        );
    }
}
