//! Live sessions: cached in memory by token hash, so an authenticated
//! request costs no database query for its session. Every write that ends
//! sessions goes through [`Sessions::ending`], which drops them from the
//! cache once it has committed; a cache fill that raced with it is dropped
//! too, so an ended session never comes back.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::refreshes::Refreshes;
use crate::crypto::{TokenHash, hash_token};
use crate::limits::{MAX_CACHED_SESSIONS, SESSION_TTL};
use crate::store::apps;
use crate::store::sessions::{self, SessionRow};
use crate::store::users;
use crate::store::{self, Db, Store};

/// What a write that ends sessions returns: the hashes of the sessions it
/// ended (to drop from the cache), with whatever else it says.
pub(crate) trait Ended {
    /// The sessions ended.
    fn ended(&self) -> &[TokenHash];
}

impl Ended for Vec<TokenHash> {
    fn ended(&self) -> &[TokenHash] {
        self
    }
}

impl Ended for Option<TokenHash> {
    fn ended(&self) -> &[TokenHash] {
        self.as_slice()
    }
}

impl Ended for Option<Vec<TokenHash>> {
    fn ended(&self) -> &[TokenHash] {
        self.as_deref().unwrap_or_default()
    }
}

/// The session cache, in front of the store.
pub(crate) struct Sessions {
    store: Arc<Store>,
    refreshes: Arc<Refreshes>,
    cache: Mutex<HashMap<TokenHash, SessionRow>>,
    /// Bumped whenever sessions are deleted, so a cache fill that raced
    /// with a delete is dropped instead of resurrecting the session.
    generation: AtomicU64,
}

impl Sessions {
    pub(crate) fn new(store: Arc<Store>, refreshes: Arc<Refreshes>) -> Self {
        Self {
            store,
            refreshes,
            cache: Mutex::new(HashMap::new()),
            generation: AtomicU64::new(0),
        }
    }

    fn cache(&self) -> MutexGuard<'_, HashMap<TokenHash, SessionRow>> {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The live session of `token`, its deadline re-armed (not for guests),
    /// and its user's `last_request_at` refreshed. `None`: no such session.
    pub(crate) fn authenticate(&self, token: &str, now: i64) -> store::Result<Option<SessionRow>> {
        let hash = hash_token(token);
        let cached = {
            let mut cache = self.cache();
            // Refreshed in place: a concurrent delete that removed the entry
            // must not see it come back.
            match cache.get_mut(&hash) {
                Some(row) if now >= row.deadline => {
                    cache.remove(&hash);
                    return Ok(None);
                }
                Some(row) => {
                    if !row.is_guest {
                        row.deadline = now + SESSION_TTL;
                    }
                    Some(row.clone())
                }
                None => None,
            }
        };
        let row = match cached {
            Some(row) => row,
            None => match self.load(&hash, now)? {
                Some(row) => row,
                None => return Ok(None),
            },
        };
        self.refreshes.used(&row, now);
        Ok(Some(row))
    }

    /// A cache miss (e.g. after a restart): reads the session from disk and
    /// caches it, unless sessions were deleted meanwhile (the row read may
    /// be one of them).
    fn load(&self, hash: &TokenHash, now: i64) -> store::Result<Option<SessionRow>> {
        let generation = self.generation.load(Ordering::Acquire);
        let Some(mut row) = self.store.read(|db| sessions::find(db, hash))? else {
            return Ok(None);
        };
        if now >= row.deadline {
            return Ok(None);
        }
        if !row.is_guest {
            row.deadline = now + SESSION_TTL;
        }
        let mut cache = self.cache();
        if self.generation.load(Ordering::Acquire) == generation {
            cache_insert(&mut cache, *hash, row.clone(), now);
        }
        Ok(Some(row))
    }

    /// Caches a session just created (its token is known to no one else yet).
    pub(crate) fn remember(&self, token: &str, row: SessionRow, now: i64) {
        cache_insert(&mut self.cache(), hash_token(token), row, now);
    }

    /// How many sessions the cache holds.
    #[cfg(test)]
    pub(crate) fn cached(&self) -> usize {
        self.cache().len()
    }

    /// Updates a cached session after a sign-in or sign-out; an entry that is
    /// gone (deleted, or never loaded) stays gone.
    pub(crate) fn update(&self, token: &str, row: SessionRow) {
        if let Some(entry) = self.cache().get_mut(&hash_token(token)) {
            *entry = row;
        }
    }

    /// Runs `f`, a write that ends sessions, and then drops the sessions it
    /// ended from the cache.
    pub(crate) async fn ending<T, F>(&self, f: F) -> store::Result<T>
    where
        T: Ended + Send + 'static,
        F: FnOnce(&Db) -> store::Result<T> + Send + 'static,
    {
        let ended = self.store.write(f).await?;
        self.forget(ended.ended());
        Ok(ended)
    }

    fn forget(&self, hashes: &[TokenHash]) {
        if hashes.is_empty() {
            return;
        }
        let mut cache = self.cache();
        self.generation.fetch_add(1, Ordering::AcqRel);
        for hash in hashes {
            cache.remove(hash);
        }
    }

    /// Forgets every cached session and pending refresh (data reset).
    pub(crate) fn clear(&self) {
        let mut cache = self.cache();
        self.generation.fetch_add(1, Ordering::AcqRel);
        cache.clear();
        self.refreshes.clear();
    }

    /// Writes pending refreshes; with `sweep`, also collects garbage on
    /// disk (expired sessions, guests, nonces older than `horizon`, reset
    /// tokens) and in the cache.
    pub(crate) async fn flush(&self, now: i64, horizon: i64, sweep: bool) -> store::Result<()> {
        let pending = self.refreshes.take();
        if pending.deadlines.is_empty() && pending.seen.is_empty() && !sweep {
            return Ok(());
        }
        if sweep {
            self.cache().retain(|_, row| row.deadline > now);
        }
        let deadlines: Vec<(i64, i64)> = pending.deadlines.into_iter().collect();
        let seen: Vec<(i64, i64)> = pending.seen.into_iter().collect();
        self.store
            .write(move |db| {
                sessions::save_deadlines(db, &deadlines)?;
                users::save_last_requests(db, &seen)?;
                if sweep {
                    apps::sweep(db, now, horizon)?;
                }
                Ok(())
            })
            .await
    }
}

/// Caches `row`, making room first when the cache is full: expired
/// entries go, then (if that was not enough) a quarter of the rest.
fn cache_insert(
    cache: &mut HashMap<TokenHash, SessionRow>,
    hash: TokenHash,
    row: SessionRow,
    now: i64,
) {
    if cache.len() >= MAX_CACHED_SESSIONS && !cache.contains_key(&hash) {
        cache.retain(|_, cached| cached.deadline > now);
        if cache.len() >= MAX_CACHED_SESSIONS {
            let excess = cache.len() + 1 - MAX_CACHED_SESSIONS * 3 / 4;
            let victims: Vec<TokenHash> = cache.keys().take(excess).copied().collect();
            for victim in victims {
                cache.remove(&victim);
            }
        }
    }
    cache.insert(hash, row);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::Harness;

    fn row(id: i64, now: i64) -> SessionRow {
        SessionRow {
            id,
            app_id: 1,
            user_id: None,
            is_guest: false,
            nonce: None,
            ts: None,
            created_at: now,
            updated_at: now,
            deadline: now + SESSION_TTL,
        }
    }

    #[test]
    fn the_session_cache_is_bounded_and_forgets_only_what_the_database_keeps() {
        let h = Harness::new();
        let real: Vec<String> = (0..3)
            .map(|i| h.session(Some(&format!("cached-{i}"))))
            .collect();
        let now = h.state.clock.now();
        // Up to the limit, everything is kept.
        for i in 0..MAX_CACHED_SESSIONS - real.len() {
            h.state
                .sessions
                .remember(&format!("fake-{i}"), row(-1 - i as i64, now), now);
        }
        assert_eq!(h.state.sessions.cached(), MAX_CACHED_SESSIONS);
        // One past it makes room; no number of sessions grows it further.
        h.state.sessions.remember("one-more", row(-1, now), now);
        let after = h.state.sessions.cached();
        assert!(
            (MAX_CACHED_SESSIONS * 3 / 4..=MAX_CACHED_SESSIONS).contains(&after),
            "{after}"
        );
        for i in 0..MAX_CACHED_SESSIONS {
            h.state
                .sessions
                .remember(&format!("more-{i}"), row(-1, now), now);
        }
        assert!(h.state.sessions.cached() <= MAX_CACHED_SESSIONS);
        // Sessions pushed out of the cache are read back from the database.
        for token in &real {
            assert!(h.state.sessions.authenticate(token, now).unwrap().is_some());
        }
        assert!(h.state.sessions.cached() <= MAX_CACHED_SESSIONS);
    }

    #[test]
    fn a_full_cache_drops_expired_sessions_first() {
        let h = Harness::new();
        let now = h.state.clock.now();
        for i in 0..MAX_CACHED_SESSIONS {
            let mut expired = row(-1, now - 2 * SESSION_TTL);
            if i == 0 {
                expired.deadline = now + SESSION_TTL;
            }
            h.state.sessions.remember(&format!("old-{i}"), expired, now);
        }
        h.state.sessions.remember("new", row(-2, now), now);
        // Only the live one and the new one remain.
        assert_eq!(h.state.sessions.cached(), 2);
    }
}
