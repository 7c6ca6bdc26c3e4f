//! The error every store port returns.

/// A storage failure, by cause. The adapters map their backend's errors to these in one place
/// each (for DynamoDB and S3: `lookout_aws::error`), so callers decide on the cause, never
/// on a message.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// What was asked for does not exist where it must (a table, an upload, an object).
    /// Lookups of an item that may be missing answer `Ok(None)` instead.
    #[error("not found: {0}")]
    NotFound(String),
    /// A conditional write lost: the item exists, or its `version` moved on.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The backend refused the request for its rate (throughput exceeded, request limit,
    /// `SlowDown`) after the client's own retries. Worth retrying after a pause.
    #[error("storage throttled: {0}")]
    Throttled(String),
    /// The backend could not be reached: no connection, or no answer within the client's
    /// timeouts. Worth retrying shortly; the API answers it 503.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// A stored item could not be decoded.
    #[error("corrupt item {key}: {message}")]
    Corrupt {
        /// The item's key, `pk/sk`.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// The request is malformed for the backend (a validation error, a request that could not
    /// be built, a value beyond a limit): a bug or a bad input, never an outage.
    #[error("invalid request: {0}")]
    Invalid(String),
    /// The write was refused for what it holds (an inline secret without an encryption key);
    /// the message says why and what to do.
    #[error("refused: {0}")]
    Refused(String),
    /// Any other backend failure (permissions, a server error after the client's retries, an
    /// unexpected answer), with its whole cause chain.
    #[error("storage backend: {0}")]
    Backend(String),
}

impl StoreError {
    /// Whether the same request may succeed if sent again after a pause: throttling and an
    /// unreachable backend. Conflicts, corrupt items, invalid or refused requests and other
    /// backend errors answer the same again.
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Throttled(_) | StoreError::Unavailable(_))
    }
}

pub use lookout_core::redact::error_chain;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_throttling_and_unreachable_backends_are_worth_retrying() {
        assert!(StoreError::Throttled("x".into()).is_retryable());
        assert!(StoreError::Unavailable("x".into()).is_retryable());
        for fatal in [
            StoreError::NotFound("x".into()),
            StoreError::Conflict("x".into()),
            StoreError::Invalid("x".into()),
            StoreError::Refused("x".into()),
            StoreError::Backend("x".into()),
        ] {
            assert!(!fatal.is_retryable(), "{fatal}");
        }
    }
}
