//! The definitions cache of one API instance and the loads of the bulk views (definitions,
//! latest entries, states), shared by the status, the page, the metrics and the listings.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use lookout_app::ports::{Latest, StateStore, TargetStore};
use lookout_core::domain::{Target, TargetKind, TargetState};

use crate::{ApiError, App};

/// Route layer of the write routes: empties the instance's definitions listing and its answer
/// caches ([`crate::cache::Caches::forget`]) after every write (`POST`, `PUT`, `PATCH`,
/// `DELETE`), after it ran, so that a concurrent read cannot refill them with the old data.
pub async fn forget_after_writes<S: Send + Sync>(
    State(app): State<Arc<App<S>>>,
    req: Request,
    next: Next,
) -> Response {
    let writes = matches!(
        *req.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    let response = next.run(req).await;
    if writes {
        app.defs.clear();
        app.cache.forget();
    }
    response
}

/// Target definitions kept by one API instance for the bulk views (status, page, metrics) for
/// [`DEFS_TTL`]; listing 10,000 definitions costs more than the rest of a status answer.
///
/// The instance's own writes show at once: each write empties the listing (and a listing that
/// started before the write is not kept), and the definitions the instance wrote or deleted
/// are laid over every listing for [`DEFS_TTL`], since the index that lists definitions
/// (DynamoDB's `gsi1`) is eventually consistent and may miss a definition just written. Writes
/// through other instances show within [`DEFS_TTL`], or at once to a caller that passes the
/// definitions' version it read ([`load_at`]): a listing of another version is not used.
#[derive(Debug, Default, Clone)]
pub struct DefsCache(std::sync::Arc<DefsInner>);

#[derive(Debug, Default)]
struct DefsInner {
    state: std::sync::Mutex<CacheState>,
    counters: crate::cache::Counters,
}

/// A listing: when it was read, the definitions' version it was read at (`None`: not known),
/// its size in bytes (the definitions' structs without their heap parts, an estimate for the
/// statistics) and the definitions (sorted by id).
#[derive(Debug)]
struct Listing {
    at: std::time::Instant,
    version: Option<u64>,
    bytes: u64,
    defs: Vec<Target>,
}

#[derive(Debug, Default)]
struct CacheState {
    /// The listing kept.
    listed: Option<Listing>,
    /// The newest definitions' version a caller read ([`DefsCache::saw_version`]): a listing
    /// of another version is not used, even by callers that pass none.
    seen: Option<u64>,
    /// Counts this instance's writes: a listing is kept only if none happened while it ran.
    generation: u64,
    /// This instance's recent writes by id: when, and the definition written (`None`: deleted).
    writes: HashMap<String, (std::time::Instant, Option<Target>)>,
}

/// How long [`DefsCache`] keeps definitions, and how long other API instances may show the
/// definitions as they were before a write (15 s).
pub const DEFS_TTL: std::time::Duration = std::time::Duration::from_secs(15);

impl CacheState {
    /// `listed` with this instance's recent writes laid over it: a written definition replaces
    /// an older version (a newer one listed, written elsewhere since, wins), a deleted one goes.
    fn overlay(&mut self, mut listed: Vec<Target>) -> Vec<Target> {
        self.writes.retain(|_, (at, _)| at.elapsed() < DEFS_TTL);
        if self.writes.is_empty() {
            return listed;
        }
        for (id, (_, written)) in &self.writes {
            let at = listed.iter().position(|t| &t.id == id);
            match (written, at) {
                (None, Some(i)) => {
                    listed.remove(i);
                }
                (Some(w), Some(i)) if listed[i].version < w.version => listed[i] = w.clone(),
                (Some(w), None) => listed.push(w.clone()),
                _ => {}
            }
        }
        listed.sort_by(|a, b| a.id.cmp(&b.id));
        listed
    }
}

impl DefsCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, CacheState> {
        self.0.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Hits, misses, the listing kept (one entry) and its age, for `GET /v1/cache/stats`.
    pub fn stats(&self) -> crate::cache::CacheStats {
        let state = self.lock();
        let (entries, bytes, age) = state
            .listed
            .as_ref()
            .filter(|l| l.at.elapsed() < DEFS_TTL)
            .map_or((0, 0, std::time::Duration::ZERO), |l| {
                (1, l.bytes, l.at.elapsed())
            });
        crate::cache::CacheStats::new(&self.0.counters, entries, bytes, age, DEFS_TTL)
    }

    /// Records the definitions' version a request just read (its cache stamp), so that every
    /// later use of the listing, [`load_cached`] included, relists once it is older.
    pub fn saw_version(&self, version: u64) {
        self.lock().seen = Some(version);
    }

    /// Forgets the listing (after any write of this instance).
    pub fn clear(&self) {
        let mut state = self.lock();
        state.listed = None;
        state.generation += 1;
    }

    /// Records a definition this instance just stored (with its new version).
    pub fn wrote(&self, target: &Target) {
        self.lock().writes.insert(
            target.id.clone(),
            (std::time::Instant::now(), Some(target.clone())),
        );
        self.clear();
    }

    /// Records a definition this instance just deleted.
    pub fn deleted(&self, id: &str) {
        self.lock()
            .writes
            .insert(id.to_string(), (std::time::Instant::now(), None));
        self.clear();
    }

    /// The definitions: the listing kept when it is younger than [`DEFS_TTL`] and (when
    /// `version` is given) of that definitions' version, else a new listing.
    async fn get<S: TargetStore>(
        &self,
        store: &S,
        version: Option<u64>,
    ) -> Result<Vec<Target>, ApiError> {
        let (generation, wanted) = {
            let mut state = self.lock();
            if version.is_some() {
                state.seen = version;
            }
            let wanted = version.or(state.seen);
            if let Some(l) = &state.listed {
                if l.at.elapsed() < DEFS_TTL && (wanted.is_none() || l.version == wanted) {
                    let defs = l.defs.clone();
                    self.0.counters.hit();
                    return Ok(state.overlay(defs));
                }
            }
            (state.generation, wanted)
        };
        self.0.counters.miss();
        let defs = store.list_targets(None).await?;
        let bytes = (defs.len() * std::mem::size_of::<Target>()) as u64;
        let mut state = self.lock();
        if state.generation == generation {
            state.listed = Some(Listing {
                at: std::time::Instant::now(),
                version: wanted,
                bytes,
                defs: defs.clone(),
            });
        }
        Ok(state.overlay(defs))
    }
}

/// The definitions alone (no states), through `cache`: what the push route looks a push
/// token up in ([`super::push`]).
///
/// # Errors
/// [`ApiError`] when the store cannot be read.
pub async fn definitions<S: TargetStore>(
    store: &S,
    cache: &DefsCache,
) -> Result<Vec<Target>, ApiError> {
    cache.get(store, None).await
}

/// Like [`load`], with the definitions from `cache`.
pub async fn load_cached<S: TargetStore + StateStore>(
    store: &S,
    cache: &DefsCache,
) -> Result<Loaded, ApiError> {
    let (targets, latest) = tokio::join!(cache.get(store, None), latest_all(store));
    Ok(states_of(targets?, latest?))
}

/// Like [`load_cached`], with a listing of the definitions' `version` (read by the caller,
/// [`crate::cache::Stamp`]): a write by another instance since the listing is seen at once.
pub async fn load_at<S: TargetStore + StateStore>(
    store: &S,
    cache: &DefsCache,
    version: u64,
) -> Result<Loaded, ApiError> {
    let (targets, latest) = tokio::join!(cache.get(store, Some(version)), latest_all(store));
    Ok(states_of(targets?, latest?))
}

/// The definitions (listed now), the latest entry of each checked target and every state.
pub async fn load<S: TargetStore + StateStore>(store: &S) -> Result<Loaded, ApiError> {
    let (targets, latest) = tokio::join!(store.list_targets(None), latest_all(store));
    Ok(states_of(targets?, latest?))
}

/// Targets, the latest entry (state and result) of each checked one, and the state of every
/// target (a never-checked target has the `unknown` state).
pub type Loaded = (
    Vec<Target>,
    HashMap<String, Latest>,
    HashMap<String, TargetState>,
);

/// The latest entries of both kinds with the pending overrides applied, read concurrently.
pub async fn latest_all<S: StateStore>(store: &S) -> Result<HashMap<String, Latest>, ApiError> {
    let (servers, proxies, o_servers, o_proxies) = tokio::join!(
        store.latest(TargetKind::Server),
        store.latest(TargetKind::Proxy),
        store.overrides(TargetKind::Server),
        store.overrides(TargetKind::Proxy),
    );
    let mut latest = servers?;
    latest.extend(proxies?);
    // Overrides not yet taken into a snapshot by a probe run.
    for o in o_servers?.into_iter().chain(o_proxies?) {
        let result = latest.remove(&o.target_id).and_then(|l| l.result);
        latest.insert(o.target_id.clone(), Latest::new(o, result));
    }
    Ok(latest)
}

fn states_of(targets: Vec<Target>, mut latest: HashMap<String, Latest>) -> Loaded {
    lookout_app::ports::catch_up_all(&mut latest, &targets);
    let states = targets
        .iter()
        .map(|t| {
            let state = latest
                .get(&t.id)
                .map_or_else(|| TargetState::new(&t.id), |l| l.state.clone());
            (t.id.clone(), state)
        })
        .collect();
    (targets, latest, states)
}
