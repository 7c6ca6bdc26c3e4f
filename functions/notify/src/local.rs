//! `notify --poll <queue url>`: the local stand-in of the SQS event source mapping (the local
//! stack has none). Each round receives a batch ([`lookout_aws::sqs::QueuePoller`]: up to 10,
//! long poll 1 s), hands it to [`crate::handle`] as the SQS event Lambda would, and deletes the
//! messages not reported as failed; failed ones come back after the queue's visibility timeout
//! and go to its dead-letter queue after `maxReceiveCount` receives.
//!
//! Options after the URL: `--rounds N` stops after N rounds, `--until-idle` after the first
//! round that receives nothing (the demo and tests); by default it polls until killed.

pub use lookout_aws::sqs::{event_of, PollArgs};
use lookout_aws::sqs::{PollReport, QueueError, QueuePoller};

use crate::{handle, Deliver, HandlerError};

/// One round: receive, handle, delete the successes.
///
/// # Errors
/// [`QueueError`] when receiving or deleting fails.
pub async fn poll_once<N: Deliver + Sync>(
    poller: &QueuePoller,
    notifier: &N,
) -> Result<PollReport, QueueError> {
    poller
        .poll_once(|messages| async move {
            handle(notifier, event_of(&messages), None)
                .await
                .map(|answer| answer.failed_ids())
                .map_err(|e: HandlerError| e.to_string())
        })
        .await
}

/// Polls as `args` say ([`QueuePoller::poll_rounds`]); answers the totals.
pub async fn run<N: Deliver + Sync>(
    poller: &QueuePoller,
    notifier: &N,
    args: &PollArgs,
) -> PollReport {
    tracing::info!(queue = %poller.queue_url(), "polling the notify queue (local event source mapping)");
    poller
        .poll_rounds(args, || poll_once(poller, notifier))
        .await
}
