//! Timeouts and retries of a DynamoDB client. The scheduled functions keep the SDK's defaults
//! (three attempts, backoff up to 20 s: a run may wait out a throttle); an HTTP API must answer
//! while its caller waits, so it gives up on an endpoint that does not answer within about a
//! second and says so (503), instead of a 500 after several seconds of retries.

use std::time::Duration;

use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::Client;

/// How long a DynamoDB client waits and how often it tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientLimits {
    /// Time to open a connection (TCP and TLS).
    pub connect_timeout: Duration,
    /// Time for one attempt of a request, connecting included.
    pub attempt_timeout: Duration,
    /// Time for one request, every attempt and backoff included.
    pub operation_timeout: Duration,
    /// Attempts per request, the first included (the SDK's standard retry mode: throttles,
    /// 5xx answers and connection failures are retried).
    pub max_attempts: u32,
    /// Base of the backoff between attempts.
    pub initial_backoff: Duration,
}

impl ClientLimits {
    /// The API's: connect 400 ms, an attempt 1 s, a request 1.8 s, two attempts 50 ms apart
    /// (jittered). A closed port fails at once; an endpoint that drops packets fails in about
    /// 0.9 s (two connect timeouts). A healthy in-region DynamoDB answers in milliseconds.
    pub const INTERACTIVE: ClientLimits = ClientLimits {
        connect_timeout: Duration::from_millis(400),
        attempt_timeout: Duration::from_millis(1_000),
        operation_timeout: Duration::from_millis(1_800),
        max_attempts: 2,
        initial_backoff: Duration::from_millis(50),
    };

    /// A client of `aws` (region, credentials, endpoint) with these limits.
    pub fn client(&self, aws: &aws_config::SdkConfig) -> Client {
        let config = aws_sdk_dynamodb::config::Builder::from(aws)
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(self.connect_timeout)
                    .operation_attempt_timeout(self.attempt_timeout)
                    .operation_timeout(self.operation_timeout)
                    .build(),
            )
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(self.max_attempts)
                    .with_initial_backoff(self.initial_backoff),
            )
            .build();
        Client::from_conf(config)
    }
}
