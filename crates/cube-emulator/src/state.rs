//! The state shared by every request: storage, clock, applications, the
//! session cache and the refreshes waiting to be flushed.
//!
//! Sessions are cached by token hash, so an authenticated read costs no
//! database query for the session. Reads refresh a session's sliding
//! deadline and its user's `last_request_at` in memory; [`State::flush`]
//! writes them at least once a second (`docs/EMULATOR.md` allows them to reach the
//! disk up to 1 s late). Every other change is written before it is
//! acknowledged.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use tokio::sync::Semaphore;

use crate::clock::Clock;
use crate::crypto::{Passwords, Secret, StoredHash, TokenHash, hash_token};
use crate::error::ApiError;
use crate::files::Files;
use crate::fingerprint::Fingerprints;
use crate::inflow::BodyBudget;
use crate::limits::{Limits, MAX_CACHED_SESSIONS, REQUEST_LOG_DEFAULT, SESSION_TTL};
use crate::providers::Providers;
use crate::requests::RequestLog;
use crate::store::Store;
use crate::store::apps::{self, App};
use crate::store::sessions::{self, SessionRow};
use crate::store::users::{self, User};

#[derive(Default)]
struct Pending {
    /// session id → refreshed deadline
    deadlines: HashMap<i64, i64>,
    /// user id → last request time
    seen: HashMap<i64, i64>,
}

pub(crate) struct State {
    pub(crate) store: Store,
    pub(crate) clock: Clock,
    pub(crate) base_url: String,
    pub(crate) admin_token: Option<Secret>,
    /// Uploaded files.
    pub(crate) files: Files,
    /// Signs upload policies.
    pub(crate) upload_key: Secret,
    /// The HTTP client and key caches of the identity providers.
    pub(crate) providers: Providers,
    /// What clients may hold.
    pub(crate) limits: Limits,
    /// The memory request bodies share.
    pub(crate) body_budget: Arc<BodyBudget>,
    /// The last requests of the ConnectyCube API.
    pub(crate) requests: RequestLog,
    /// What names a session in lists and logs, instead of its token.
    pub(crate) fingerprints: Fingerprints,
    passwords: Passwords,
    /// A hash at the current cost of no one's password: checking a
    /// password for a login that does not exist costs what a wrong
    /// password costs, so timing does not tell which logins exist.
    decoy_hash: tokio::sync::OnceCell<String>,
    /// Password checks run (decoys included), for tests.
    password_checks: AtomicU64,
    /// Bounds concurrent dear argon2 runs (the `production` cost) to the
    /// cores, so a burst of sign-ins queues instead of allocating argon2
    /// memory on hundreds of threads. Cheap ones run inline and need none.
    hashing: Semaphore,
    apps: RwLock<HashMap<i64, App>>,
    sessions: Mutex<HashMap<TokenHash, SessionRow>>,
    /// Bumped whenever sessions are deleted, so a cache fill that raced
    /// with a delete is dropped instead of resurrecting the session.
    generation: AtomicU64,
    pending: Mutex<Pending>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl State {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        store: Store,
        clock: Clock,
        base_url: String,
        admin_token: Option<Secret>,
        files: Files,
        upload_key: Secret,
        providers: Providers,
        passwords: Passwords,
        apps: Vec<App>,
        limits: Limits,
    ) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Self {
            store,
            clock,
            base_url,
            admin_token,
            files,
            requests: RequestLog::new(REQUEST_LOG_DEFAULT),
            fingerprints: Fingerprints::new(&upload_key),
            upload_key,
            providers,
            body_budget: Arc::new(BodyBudget::new(limits.body_memory)),
            limits,
            passwords,
            decoy_hash: tokio::sync::OnceCell::new(),
            password_checks: AtomicU64::new(0),
            hashing: Semaphore::new(cores),
            apps: RwLock::new(apps.into_iter().map(|a| (a.id, a)).collect()),
            sessions: Mutex::new(HashMap::new()),
            generation: AtomicU64::new(0),
            pending: Mutex::new(Pending::default()),
        }
    }

    /// This state with a request log of `entries` (`0`: none).
    pub(crate) fn with_request_log(mut self, entries: usize) -> Self {
        self.requests = RequestLog::new(entries);
        self
    }

    // ---- applications ----

    pub(crate) fn app(&self, id: i64) -> Option<App> {
        self.apps
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
            .cloned()
    }

    pub(crate) fn app_by_key(&self, auth_key: &str) -> Option<App> {
        self.apps
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .find(|a| crate::crypto::constant_time_eq(a.auth_key.as_bytes(), auth_key.as_bytes()))
            .cloned()
    }

    pub(crate) fn put_app(&self, app: App) {
        self.apps
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(app.id, app);
    }

    /// The Twitter consumer secrets of the applications using `consumer_key`
    /// (the fake Twitter API checks a signature against each).
    pub(crate) fn twitter_consumer_secrets(&self, consumer_key: &str) -> Vec<Secret> {
        self.apps
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .filter(|a| a.settings.twitter_consumer_key == consumer_key)
            .map(|a| Secret::new(a.settings.twitter_consumer_secret.clone()))
            .collect()
    }

    fn nonce_horizon(&self) -> i64 {
        self.apps
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .map(|a| a.settings.signature_window_seconds)
            .max()
            .unwrap_or(3600)
    }

    // ---- sessions ----

    /// The live session of `token`, its deadline re-armed (not for guests),
    /// and its user's `last_request_at` refreshed. `None`: no such session.
    pub(crate) fn authenticate(
        &self,
        token: &str,
        now: i64,
    ) -> Result<Option<SessionRow>, ApiError> {
        let hash = hash_token(token);
        let cached = {
            let mut cache = lock(&self.sessions);
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
            None => match self.load_session(&hash, now)? {
                Some(row) => row,
                None => return Ok(None),
            },
        };
        let mut pending = lock(&self.pending);
        if !row.is_guest {
            pending.deadlines.insert(row.id, row.deadline);
        }
        if let Some(user_id) = row.user_id {
            pending.seen.insert(user_id, now);
        }
        Ok(Some(row))
    }

    /// A cache miss (e.g. after a restart): reads the session from disk and
    /// caches it, unless sessions were deleted meanwhile (the row read may
    /// be one of them).
    fn load_session(&self, hash: &TokenHash, now: i64) -> Result<Option<SessionRow>, ApiError> {
        let generation = self.generation.load(Ordering::Acquire);
        let Some(mut row) = self.store.read(|db| Ok(sessions::find(db, hash)?))? else {
            return Ok(None);
        };
        if now >= row.deadline {
            return Ok(None);
        }
        if !row.is_guest {
            row.deadline = now + SESSION_TTL;
        }
        let mut cache = lock(&self.sessions);
        if self.generation.load(Ordering::Acquire) == generation {
            cache_insert(&mut cache, *hash, row.clone(), now);
        }
        Ok(Some(row))
    }

    /// Caches a session just created (its token is known to no one else yet).
    pub(crate) fn remember_session(&self, token: &str, row: SessionRow, now: i64) {
        cache_insert(&mut lock(&self.sessions), hash_token(token), row, now);
    }

    /// How many sessions the cache holds.
    #[cfg(test)]
    pub(crate) fn cached_sessions(&self) -> usize {
        lock(&self.sessions).len()
    }

    /// Updates a cached session after a sign-in or sign-out; an entry that is
    /// gone (deleted, or never loaded) stays gone.
    pub(crate) fn update_session(&self, token: &str, row: SessionRow) {
        if let Some(entry) = lock(&self.sessions).get_mut(&hash_token(token)) {
            *entry = row;
        }
    }

    pub(crate) fn forget_sessions(&self, hashes: &[TokenHash]) {
        let mut cache = lock(&self.sessions);
        self.generation.fetch_add(1, Ordering::AcqRel);
        for hash in hashes {
            cache.remove(hash);
        }
    }

    /// Marks `user_id` as seen now (after a sign-in).
    pub(crate) fn seen(&self, user_id: i64, now: i64) {
        lock(&self.pending).seen.insert(user_id, now);
    }

    /// Applies a not-yet-flushed `last_request_at` to a row read from disk.
    pub(crate) fn overlay(&self, mut user: User) -> User {
        if let Some(&at) = lock(&self.pending).seen.get(&user.id) {
            user.last_request_at = Some(user.last_request_at.map_or(at, |db| db.max(at)));
        }
        user
    }

    /// [`State::overlay`] for a page of users, taking the lock once.
    pub(crate) fn overlay_all(&self, users: &mut [User]) {
        let pending = lock(&self.pending);
        for user in users {
            if let Some(&at) = pending.seen.get(&user.id) {
                user.last_request_at = Some(user.last_request_at.map_or(at, |db| db.max(at)));
            }
        }
    }

    /// Forgets every cached session and pending refresh (data reset).
    pub(crate) fn clear_caches(&self) {
        let mut cache = lock(&self.sessions);
        self.generation.fetch_add(1, Ordering::AcqRel);
        cache.clear();
        *lock(&self.pending) = Pending::default();
    }

    /// Writes pending refreshes; with `sweep`, also collects garbage on
    /// disk (expired sessions, guests, nonces, reset tokens) and in the cache.
    pub(crate) async fn flush(&self, sweep: bool) -> Result<(), ApiError> {
        let pending = std::mem::take(&mut *lock(&self.pending));
        if pending.deadlines.is_empty() && pending.seen.is_empty() && !sweep {
            return Ok(());
        }
        let now = self.clock.now();
        if sweep {
            lock(&self.sessions).retain(|_, row| row.deadline > now);
        }
        let horizon = self.nonce_horizon();
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

    // ---- passwords ----

    pub(crate) async fn hash_password(&self, password: String) -> Result<String, ApiError> {
        let passwords = self.passwords;
        if passwords.hashes_inline() {
            return passwords.hash(&password);
        }
        let _permit = self
            .hashing
            .acquire()
            .await
            .map_err(|_| ApiError::unavailable("the emulator is stopping"))?;
        tokio::task::spawn_blocking(move || passwords.hash(&password))
            .await
            .map_err(|_| ApiError::unavailable("password hashing failed"))?
    }

    /// Whether `password` matches the stored hash (a malformed one matches
    /// nothing). A cheap hash is checked right here; a dear one waits for
    /// a core on the blocking pool.
    pub(crate) async fn verify_password(&self, password: String, stored: String) -> bool {
        self.password_checks.fetch_add(1, Ordering::Relaxed);
        let Some(hash) = StoredHash::parse(&stored) else {
            return false;
        };
        if hash.checks_inline() {
            return hash.matches(&password);
        }
        let Ok(_permit) = self.hashing.acquire().await else {
            return false;
        };
        tokio::task::spawn_blocking(move || hash.matches(&password))
            .await
            .unwrap_or(false)
    }

    /// Checks `password` against no one's hash, as long as a real check
    /// takes, and fails: what a login that does not exist costs.
    pub(crate) async fn verify_decoy(&self, password: String) {
        let decoy = self
            .decoy_hash
            .get_or_try_init(|| self.hash_password("no one's password".into()))
            .await;
        if let Ok(decoy) = decoy {
            self.verify_password(password, decoy.clone()).await;
        }
    }

    /// Password checks run so far (decoys included).
    #[cfg(test)]
    pub(crate) fn password_checks(&self) -> u64 {
        self.password_checks.load(Ordering::Relaxed)
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
                .remember_session(&format!("fake-{i}"), row(-1 - i as i64, now), now);
        }
        assert_eq!(h.state.cached_sessions(), MAX_CACHED_SESSIONS);
        // One past it makes room; no number of sessions grows it further.
        h.state.remember_session("one-more", row(-1, now), now);
        let after = h.state.cached_sessions();
        assert!(
            (MAX_CACHED_SESSIONS * 3 / 4..=MAX_CACHED_SESSIONS).contains(&after),
            "{after}"
        );
        for i in 0..MAX_CACHED_SESSIONS {
            h.state
                .remember_session(&format!("more-{i}"), row(-1, now), now);
        }
        assert!(h.state.cached_sessions() <= MAX_CACHED_SESSIONS);
        // Sessions pushed out of the cache are read back from the database.
        for token in &real {
            assert!(h.state.authenticate(token, now).unwrap().is_some());
        }
        assert!(h.state.cached_sessions() <= MAX_CACHED_SESSIONS);
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
            h.state.remember_session(&format!("old-{i}"), expired, now);
        }
        h.state.remember_session("new", row(-2, now), now);
        // Only the live one and the new one remain.
        assert_eq!(h.state.cached_sessions(), 2);
    }
}
