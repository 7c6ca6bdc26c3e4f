//! The answers one warm API instance keeps: `GET /v1/status`, `GET /v1/summary`, `GET /metrics`
//! and the status pages (HTML and JSON), each a [`moka`] cache of finished answers (status,
//! headers, body bytes) keyed by the route and every query parameter that changes the answer
//! (`lang`, `tz`, `days`, `fields`, `limit`, `cursor`, the page's slug).
//!
//! An entry is served only while all of these hold:
//! - **the store has not moved on**: each request reads a [`Stamp`] (two small concurrent
//!   reads: the definitions' version item, moved on by every definitions write of any
//!   instance, and the kinds' summaries, whose `at` a probe round moves whenever it changed
//!   something the summary shows: a status, an override, the counts, a group's members; and
//!   at least every 10 minutes, `SUMMARY_REFRESH_MS`) and an entry answers only a request of
//!   the same stamp. A status change or a definitions write made through another instance is
//!   therefore seen by the next request, not after a delay; a quiet round's new latencies and
//!   check times show within [`MAX_AGE`];
//! - **this instance wrote nothing since**: every admin write of this instance (targets,
//!   actions and overrides, channels, incidents, pages, dumps, leases) empties every cache once
//!   it answered ([`Caches::forget`], from `defs::forget_after_writes`), and an answer built
//!   while such a write ran is not kept (a generation counter), so a change this instance made
//!   is never served stale;
//! - **it is younger than [`MAX_AGE`]** (60 s), the backstop for what the stamp does not
//!   cover: overrides and location verdicts written by other instances or locations between
//!   two probe rounds, the SLO records each round rewrites (the page's SLO section and the
//!   `lookout_slo_*` gauges), the hourly digest and uptime tables, incidents written elsewhere, a
//!   definitions version bump that failed (logged by the adapter), and a listing read just
//!   after another instance's write while DynamoDB's index (`gsi1`, eventually consistent)
//!   did not show it yet.
//!
//! Each cache holds at most [`MAX_BYTES`] of bodies (moka evicts by size). Hits and misses are
//! counted since the instance started; `GET /v1/cache/stats` and `/metrics`
//! (`lookout_cache_*`) show them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use lookout_app::ports::{SummaryStore, TargetStore};
use serde::Serialize;

use crate::routes::status_view::StatusView;
use crate::ApiError;

/// How long an answer is kept at most, whatever the stamp says (60 s).
pub const MAX_AGE: Duration = Duration::from_secs(60);

/// Bodies each cache keeps at most, bytes (64 MiB): a status answer of 10,000 targets is
/// about 5 MB, so a dozen variants fit in a 1 GB Lambda instance.
pub const MAX_BYTES: u64 = 64 * 1024 * 1024;

/// What a cached answer was built from: the definitions' version and the newest probe round
/// (`at` of the kinds' summaries, epoch ms; 0 before the first round).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stamp {
    /// [`TargetStore::definitions_version`].
    pub defs_version: u64,
    /// The newest `at` of [`SummaryStore::summaries`], epoch ms.
    pub runs_at: i64,
}

impl Stamp {
    /// Reads the stamp: the definitions' version and the summaries, concurrently.
    ///
    /// # Errors
    /// [`ApiError`] when the store cannot be read.
    pub async fn read<S: TargetStore + SummaryStore>(store: &S) -> Result<Stamp, ApiError> {
        let (version, summaries) = tokio::join!(store.definitions_version(), store.summaries());
        Ok(Stamp {
            defs_version: version?,
            runs_at: summaries?.iter().map(|k| k.at).max().unwrap_or(0),
        })
    }
}

/// Hits and misses of one cache since the instance started.
#[derive(Debug, Default)]
pub struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
}

impl Counters {
    /// Counts a hit.
    pub fn hit(&self) {
        self.hits.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a miss.
    pub fn miss(&self) {
        self.misses.fetch_add(1, Ordering::Relaxed);
    }

    /// `(hits, misses)`.
    pub fn read(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }
}

/// One cache's statistics, as `GET /v1/cache/stats` answers them.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct CacheStats {
    /// Requests answered from the cache since the instance started.
    pub hits: u64,
    /// Requests that built their answer (nothing kept, or it was stale).
    pub misses: u64,
    /// `hits / (hits + misses)`, 0 to 1; `null` before the first request.
    pub hit_rate: Option<f64>,
    /// Entries kept now.
    pub entries: u64,
    /// Bytes kept now (answer bodies and keys).
    pub bytes: u64,
    /// Age of the oldest entry, s (0 when empty).
    pub age_s: f64,
    /// How long an entry is kept at most, s.
    pub max_age_s: u64,
}

impl CacheStats {
    /// The statistics of `counters` with what is kept now.
    pub fn new(
        counters: &Counters,
        entries: u64,
        bytes: u64,
        age: Duration,
        max_age: Duration,
    ) -> Self {
        let (hits, misses) = counters.read();
        let calls = hits + misses;
        CacheStats {
            hits,
            misses,
            hit_rate: (calls > 0).then(|| hits as f64 / calls as f64),
            entries,
            bytes,
            age_s: (age.as_secs_f64() * 1000.0).round() / 1000.0,
            max_age_s: max_age.as_secs(),
        }
    }
}

/// A finished answer: status, headers and body.
#[derive(Debug, Clone)]
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

#[derive(Debug)]
struct Entry {
    stamp: Stamp,
    at: Instant,
    answer: Answer,
}

/// One cache of finished answers, keyed by route and query.
pub struct AnswerCache {
    entries: moka::sync::Cache<String, Arc<Entry>>,
    counters: Counters,
}

impl std::fmt::Debug for AnswerCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnswerCache")
            .field("entries", &self.entries.entry_count())
            .field("counters", &self.counters)
            .finish()
    }
}

impl Default for AnswerCache {
    fn default() -> Self {
        let entries = moka::sync::Cache::builder()
            .max_capacity(MAX_BYTES)
            .weigher(|k: &String, v: &Arc<Entry>| {
                u32::try_from(k.len() + v.answer.body.len()).unwrap_or(u32::MAX)
            })
            .time_to_live(MAX_AGE)
            .build();
        AnswerCache {
            entries,
            counters: Counters::default(),
        }
    }
}

impl AnswerCache {
    /// The statistics now.
    pub fn stats(&self) -> CacheStats {
        self.entries.run_pending_tasks();
        let oldest = self
            .entries
            .iter()
            .map(|(_, e)| e.at.elapsed())
            .max()
            .unwrap_or_default();
        CacheStats::new(
            &self.counters,
            self.entries.entry_count(),
            self.entries.weighted_size(),
            oldest,
            MAX_AGE,
        )
    }
}

/// The instance's answer caches.
#[derive(Debug, Default)]
pub struct Caches {
    /// `GET /v1/status`.
    pub status: AnswerCache,
    /// `GET /v1/summary`.
    pub summary: AnswerCache,
    /// `GET /metrics` (without the `lookout_cache_*` series, added to each answer).
    pub metrics: AnswerCache,
    /// The status pages, HTML and JSON.
    pub page: AnswerCache,
    /// Moved on by every [`Caches::forget`]: an answer built across one is not kept.
    generation: AtomicU64,
    /// The status view the status answers are cut from: its stamp, when it was built, the
    /// view (one, the newest).
    status_view: std::sync::Mutex<Option<(Stamp, Instant, Arc<StatusView>)>>,
}

impl Caches {
    /// Empties every cache: after each write of this instance, once it answered.
    pub fn forget(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        for c in [&self.status, &self.summary, &self.metrics, &self.page] {
            c.entries.invalidate_all();
        }
        *self.view_slot() = None;
    }

    /// The number [`Caches::forget`] moves on; read it before building something to keep.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    fn view_slot(&self) -> std::sync::MutexGuard<'_, Option<(Stamp, Instant, Arc<StatusView>)>> {
        self.status_view
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The status view of `stamp`, when one younger than [`MAX_AGE`] is kept.
    pub fn status_view(&self, stamp: Stamp) -> Option<Arc<StatusView>> {
        self.view_slot()
            .as_ref()
            .filter(|(s, at, _)| *s == stamp && at.elapsed() < MAX_AGE)
            .map(|(_, _, v)| Arc::clone(v))
    }

    /// Keeps the status view of `stamp`, built from generation `generation` (not kept when a
    /// write of this instance happened since).
    pub fn keep_status_view(&self, stamp: Stamp, generation: u64, view: Arc<StatusView>) {
        let mut slot = self.view_slot();
        if self.generation() == generation {
            *slot = Some((stamp, Instant::now(), view));
        }
    }

    /// The answer kept in `cache` under `key` for `stamp`, or the one `build` makes (kept when
    /// it is a 200 and no write of this instance happened meanwhile). A hit or a miss is
    /// counted.
    ///
    /// # Errors
    /// The error of `build` (not kept).
    pub async fn answer<F>(
        &self,
        cache: &AnswerCache,
        key: String,
        stamp: Stamp,
        build: F,
    ) -> Result<Response, ApiError>
    where
        F: std::future::Future<Output = Result<Response, ApiError>>,
    {
        if let Some(e) = cache.entries.get(&key).filter(|e| e.stamp == stamp) {
            cache.counters.hit();
            return Ok(respond(&e.answer));
        }
        cache.counters.miss();
        let generation = self.generation.load(Ordering::SeqCst);
        // On the heap: a page's build is a large future, and debug builds' threads have 2 MiB.
        let response = Box::pin(build).await?;
        if response.status() != StatusCode::OK {
            return Ok(response);
        }
        let (parts, body) = response.into_parts();
        let body = axum::body::to_bytes(body, usize::MAX)
            .await
            .map_err(ApiError::internal)?;
        let answer = Answer {
            status: parts.status,
            headers: parts.headers,
            body,
        };
        let out = respond(&answer);
        if self.generation.load(Ordering::SeqCst) == generation {
            cache.entries.insert(
                key,
                Arc::new(Entry {
                    stamp,
                    at: Instant::now(),
                    answer,
                }),
            );
        }
        Ok(out)
    }
}

fn respond(a: &Answer) -> Response {
    let mut r = (a.status, Body::from(a.body.clone())).into_response();
    *r.headers_mut() = a.headers.clone();
    r
}

/// The cache key of a route: its path and its query's pairs that change the answer, sorted
/// (so `?a=1&b=2` and `?b=2&a=1` share an entry; the first value of a repeated name counts, as
/// the query extractor reads it).
pub fn key(path: &str, query: Option<&str>, names: &[&str]) -> String {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        if names.contains(&k.as_ref()) && !pairs.iter().any(|(n, _)| *n == k) {
            pairs.push((k.into_owned(), v.into_owned()));
        }
    }
    pairs.sort();
    let mut key = path.to_string();
    for (k, v) in pairs {
        key.push('\u{0}');
        key.push_str(&k);
        key.push('=');
        key.push_str(&v);
    }
    key
}
