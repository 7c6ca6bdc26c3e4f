//! Connection timing and the connect timeout, as a layer around the HTTP client's connector.
//!
//! reqwest exposes no per-request connect timeout or connect time, so each check runs inside a
//! task-local [`ConnectContext`] (see [`with_context`]); the layer reads it when the client opens
//! a connection (DNS, TCP, TLS and any proxy handshake), cuts that step at the context's
//! `connect_timeout` and adds the time it took to `connect_ms`. Outside a context the layer only
//! passes through.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What one check's connections are allowed and what they took.
#[derive(Debug, Default)]
pub struct ConnectContext {
    /// Longest a connection may take to open; `None` leaves it to the request's own timeout.
    pub connect_timeout: Option<Duration>,
    /// Time spent opening connections so far, in µs (0 when none was opened).
    pub connect_us: AtomicU64,
    /// Connections opened so far.
    pub connects: AtomicU64,
}

impl ConnectContext {
    /// Time spent opening connections, in whole ms (rounded up), or `None` when none was opened.
    pub fn connect_ms(&self) -> Option<u64> {
        (self.connects.load(Ordering::Relaxed) > 0)
            .then(|| self.connect_us.load(Ordering::Relaxed).div_ceil(1000))
    }
}

tokio::task_local! {
    static CONTEXT: Arc<ConnectContext>;
}

/// Runs `fut` with `ctx` visible to the connector layer.
pub async fn with_context<F: Future>(ctx: Arc<ConnectContext>, fut: F) -> F::Output {
    CONTEXT.scope(ctx, fut).await
}

/// A connection that did not open within the check's `connect_timeout_ms`.
#[derive(Debug, thiserror::Error)]
#[error("connect timed out after {0} ms")]
pub struct ConnectTimeout(u64);

/// The tower layer given to `reqwest::ClientBuilder::connector_layer`.
#[derive(Debug, Clone, Copy, Default)]
pub struct TimedConnectLayer;

impl<S> tower_layer::Layer<S> for TimedConnectLayer {
    type Service = TimedConnect<S>;
    fn layer(&self, inner: S) -> Self::Service {
        TimedConnect { inner }
    }
}

/// The connector wrapped by [`TimedConnectLayer`].
#[derive(Debug, Clone)]
pub struct TimedConnect<S> {
    inner: S,
}

impl<S, R> tower_service::Service<R> for TimedConnect<S>
where
    S: tower_service::Service<R, Error = BoxError>,
    S::Future: Send + 'static,
    S::Response: Send + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: R) -> Self::Future {
        let ctx = CONTEXT.try_with(Arc::clone).ok();
        let fut = self.inner.call(req);
        Box::pin(async move {
            let started = Instant::now();
            let limit = ctx.as_ref().and_then(|c| c.connect_timeout);
            let result = match limit {
                Some(limit) => match tokio::time::timeout(limit, fut).await {
                    Ok(r) => r,
                    Err(_) => Err(Box::new(ConnectTimeout(limit.as_millis() as u64)) as BoxError),
                },
                None => fut.await,
            };
            if let Some(ctx) = ctx {
                ctx.connect_us
                    .fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
                ctx.connects.fetch_add(1, Ordering::Relaxed);
            }
            result
        })
    }
}
