//! Password hashing: at the configured cost, off the async threads when it
//! is dear, and with a decoy so that a login without a password costs what
//! a wrong password does.

use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{OnceCell, Semaphore};

use crate::crypto::{self, Passwords, StoredHash};

/// Hashes and checks passwords for requests.
pub(crate) struct Hashing {
    passwords: Passwords,
    /// A hash at the current cost of no one's password: checking a
    /// password for a login that does not exist costs what a wrong
    /// password costs, so timing does not tell which logins exist.
    decoy_hash: OnceCell<String>,
    /// Password checks run (decoys included), for tests.
    checks: AtomicU64,
    /// Bounds concurrent dear argon2 runs (the `production` cost) to the
    /// cores, so a burst of sign-ins queues instead of allocating argon2
    /// memory on hundreds of threads. Cheap ones run inline and need none.
    permits: Semaphore,
}

impl Hashing {
    pub(crate) fn new(passwords: Passwords) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Self {
            passwords,
            decoy_hash: OnceCell::new(),
            checks: AtomicU64::new(0),
            permits: Semaphore::new(cores),
        }
    }

    /// A new hash of `password`.
    pub(crate) async fn hash(&self, password: String) -> Result<String, crypto::Error> {
        let passwords = self.passwords;
        if passwords.hashes_inline() {
            return passwords.hash(&password);
        }
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| crypto::Error::Stopping)?;
        tokio::task::spawn_blocking(move || passwords.hash(&password))
            .await
            .map_err(|_| crypto::Error::Hashing)?
    }

    /// Whether `password` matches the stored hash (a malformed one matches
    /// nothing). A cheap hash is checked right here; a dear one waits for
    /// a core on the blocking pool.
    pub(crate) async fn verify(&self, password: String, stored: String) -> bool {
        self.checks.fetch_add(1, Ordering::Relaxed);
        let Some(hash) = StoredHash::parse(&stored) else {
            return false;
        };
        if hash.checks_inline() {
            return hash.matches(&password);
        }
        let Ok(_permit) = self.permits.acquire().await else {
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
            .get_or_try_init(|| self.hash("no one's password".into()))
            .await;
        if let Ok(decoy) = decoy {
            self.verify(password, decoy.clone()).await;
        }
    }

    /// Password checks run so far (decoys included).
    #[cfg(test)]
    pub(crate) fn checks(&self) -> u64 {
        self.checks.load(Ordering::Relaxed)
    }
}
