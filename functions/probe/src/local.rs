//! `probe --poll <queue url>`: the local stand-in of the work queue's event source mapping (the
//! local stack has none). Each round receives one task ([`QueuePoller`] with a batch of 1, as
//! the template's `BatchSize: 1`, long poll 1 s), hands it to [`crate::handle_tasks`] as the
//! SQS event Lambda would, and deletes it unless it was reported as failed; a failed one comes
//! back after the queue's visibility timeout and goes to its dead-letter queue after
//! `maxReceiveCount` receives. N workers are N processes (`make dev` runs one).
//!
//! Options after the URL: `--rounds N` stops after N rounds, `--until-idle` after the first
//! round that receives nothing (the demo and tests); by default it polls until killed.

use lookout_app::ports::{AlertPublisher, ShardLayout, Sharded};
use lookout_app::probe::Prober;
use lookout_app::usecases::probe_run::RunConfig;
pub use lookout_aws::sqs::{event_of, PollArgs};
use lookout_aws::sqs::{PollReport, QueueError, QueuePoller};

use crate::{handle_tasks, ProbeStore};

/// A worker: the store, publisher, prober and settings a shard run needs.
pub struct Worker<'a, S, P> {
    /// The table (whole; narrowed per task).
    pub store: &'a S,
    /// Alert publisher.
    pub publisher: &'a P,
    /// Probe engine.
    pub prober: &'a Prober,
    /// Run settings.
    pub config: &'a RunConfig,
}

impl<S, P> Worker<'_, S, P>
where
    S: ProbeStore + Sharded + ShardLayout,
    P: AlertPublisher + Sync,
{
    /// One round: receive, run the tasks, delete those not reported failed. No deadline (the
    /// run's own bound: its window, the longest check and the finishing margin).
    ///
    /// # Errors
    /// [`QueueError`] when receiving or deleting fails.
    pub async fn poll_once(&self, poller: &QueuePoller) -> Result<PollReport, QueueError> {
        poller
            .poll_once(|messages| async move {
                let answer = handle_tasks(
                    self.store,
                    self.publisher,
                    self.prober,
                    self.config,
                    event_of(&messages),
                    None,
                )
                .await;
                Ok::<_, std::convert::Infallible>(answer.failed_ids())
            })
            .await
    }

    /// Polls as `args` say ([`QueuePoller::poll_rounds`]); answers the totals.
    pub async fn run(&self, poller: &QueuePoller, args: &PollArgs) -> PollReport {
        tracing::info!(queue = %poller.queue_url(), "polling the probe work queue (local event source mapping)");
        poller.poll_rounds(args, || self.poll_once(poller)).await
    }
}
