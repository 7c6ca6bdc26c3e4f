//! The incident list of one API instance, kept [`INCIDENTS_TTL`] for `GET /v1/incidents` and
//! `GET /feed.atom`: the store keeps every incident in one partition (`INCIDENTS`), so each
//! listing reads all of them; a public page polled by many readers would read it at every
//! request.

use lookout_app::ports::IncidentStore;
use lookout_core::domain::incident::Incident;

use crate::ApiError;

/// How long [`IncidentsCache`] keeps the list, and so how long a change made elsewhere (the
/// probe runs' auto incidents, the hourly digest, another API instance) may take to show (60 s).
pub const INCIDENTS_TTL: std::time::Duration = std::time::Duration::from_secs(60);

/// Every stored incident, listed at most once per [`INCIDENTS_TTL`] by this instance. The
/// instance's own incident writes (`POST`, `PATCH`, `DELETE /v1/incidents`) empty it, and a
/// listing that started before such a write is not kept, so they show at once.
#[derive(Debug, Default, Clone)]
pub struct IncidentsCache(std::sync::Arc<std::sync::Mutex<CacheState>>);

#[derive(Debug, Default)]
struct CacheState {
    /// When the incidents were listed, and every incident (newest opened first).
    listed: Option<(std::time::Instant, std::sync::Arc<Vec<Incident>>)>,
    /// Counts this instance's writes: a listing is kept only if none happened while it ran.
    generation: u64,
}

impl IncidentsCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, CacheState> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Forgets the list (after an incident write of this instance, whether it went through or
    /// not: a write whose answer was lost may have been stored).
    pub fn clear(&self) {
        let mut state = self.lock();
        state.listed = None;
        state.generation += 1;
    }

    /// The incidents open at some time from `since_ms` to `until_ms` (epoch ms; as
    /// [`Incident::open_between`]), newest opened first, from the list kept or a new listing.
    ///
    /// # Errors
    /// The store's, as an [`ApiError`], when the incidents cannot be listed.
    pub async fn between<S: IncidentStore>(
        &self,
        store: &S,
        since_ms: i64,
        until_ms: i64,
    ) -> Result<Vec<Incident>, ApiError> {
        let all = self.all(store).await?;
        Ok(all
            .iter()
            .filter(|i| i.open_between(since_ms, until_ms))
            .cloned()
            .collect())
    }

    /// The incidents not closed, newest opened first, from the list kept or a new listing.
    ///
    /// # Errors
    /// As [`IncidentsCache::between`].
    pub async fn open<S: IncidentStore>(&self, store: &S) -> Result<Vec<Incident>, ApiError> {
        let all = self.all(store).await?;
        Ok(all
            .iter()
            .filter(|i| !i.status.is_closed())
            .cloned()
            .collect())
    }

    async fn all<S: IncidentStore>(
        &self,
        store: &S,
    ) -> Result<std::sync::Arc<Vec<Incident>>, ApiError> {
        let generation = {
            let state = self.lock();
            if let Some((at, list)) = &state.listed {
                if at.elapsed() < INCIDENTS_TTL {
                    return Ok(list.clone());
                }
            }
            state.generation
        };
        let list = std::sync::Arc::new(store.incidents(i64::MIN, i64::MAX).await?);
        let mut state = self.lock();
        if state.generation == generation {
            state.listed = Some((std::time::Instant::now(), list.clone()));
        }
        Ok(list)
    }
}
