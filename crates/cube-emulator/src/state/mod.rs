//! The state shared by every request, one handle per concern. Each
//! handle owns its part and the rules that keep it right: the session
//! cache and the refreshes waiting to be written ([`sessions`],
//! [`refreshes`]), users read with those refreshes applied ([`users`]),
//! the applications cache ([`apps`]), password hashing ([`passwords`]),
//! file records and bytes and the key that signs uploads ([`uploads`]), what
//! clients may send ([`Intake`]), the identity providers' client and
//! caches, the request log, the fault rules. Operations use these handles, and the
//! [`Store`] itself for the data no handle caches.
//!
//! Reads refresh a session's sliding deadline and its user's
//! `last_request_at` in memory; [`State::flush`] writes them at least once
//! a second (`docs/EMULATOR.md` allows them to reach the disk up to 1 s
//! late). Every other change is written before it is acknowledged.

pub(crate) mod apps;
pub(crate) mod passwords;
pub(crate) mod refreshes;
pub(crate) mod sessions;
pub(crate) mod uploads;
pub(crate) mod users;

use std::sync::Arc;

use self::apps::Apps;
use self::passwords::Hashing;
use self::refreshes::Refreshes;
use self::sessions::Sessions;
use self::uploads::Uploads;
use self::users::Users;
use crate::clock::Clock;
use crate::crypto::{Passwords, Secret};
use crate::faults::Faults;
use crate::files::Files;
use crate::fingerprint::Fingerprints;
use crate::inflow::BodyBudget;
use crate::limits::{Limits, REQUEST_LOG_DEFAULT};
use crate::providers::Providers;
use crate::requests::RequestLog;
use crate::store::apps::App;
use crate::store::{self, Store};

/// Everything a request may use.
pub(crate) struct State {
    /// Every SQL statement; the data no handle below caches (users'
    /// writes, file records, reset tokens, the outbox, provider tokens)
    /// is read and written here directly.
    pub(crate) store: Arc<Store>,
    pub(crate) clock: Clock,
    /// The emulator's own URL (its fake providers' default address).
    pub(crate) base_url: String,
    /// The token the admin API asks for, when one was set.
    pub(crate) admin_token: Option<Secret>,
    pub(crate) apps: Apps,
    pub(crate) sessions: Sessions,
    pub(crate) users: Users,
    pub(crate) passwords: Hashing,
    pub(crate) uploads: Uploads,
    /// What names a session in lists and logs, instead of its token.
    pub(crate) fingerprints: Arc<Fingerprints>,
    /// The HTTP client and key caches of the identity providers.
    pub(crate) providers: Providers,
    pub(crate) intake: Intake,
    /// The last requests of the ConnectyCube API.
    pub(crate) requests: Arc<RequestLog>,
    /// The fault rules set (`/_emulator/faults`, `--fault`).
    pub(crate) faults: Faults,
}

/// What clients may send and hold while they do.
pub(crate) struct Intake {
    pub(crate) limits: Limits,
    /// The memory request bodies share.
    pub(crate) body_budget: Arc<BodyBudget>,
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
        let store = Arc::new(store);
        let refreshes = Arc::new(Refreshes::default());
        Self {
            apps: Apps::new(store.clone(), apps),
            sessions: Sessions::new(store.clone(), refreshes.clone()),
            users: Users::new(store.clone(), refreshes),
            clock,
            base_url,
            admin_token,
            passwords: Hashing::new(passwords),
            fingerprints: Arc::new(Fingerprints::new(&upload_key)),
            uploads: Uploads::new(store.clone(), files, upload_key),
            providers,
            intake: Intake {
                body_budget: Arc::new(BodyBudget::new(limits.body_memory)),
                limits,
            },
            requests: Arc::new(RequestLog::new(REQUEST_LOG_DEFAULT)),
            faults: Faults::new(),
            store,
        }
    }

    /// This state with a request log of `entries` (`0`: none).
    pub(crate) fn with_request_log(mut self, entries: usize) -> Self {
        self.requests = Arc::new(RequestLog::new(entries));
        self
    }

    /// Writes the refreshes reads made; with `sweep`, also collects
    /// garbage (expired sessions, guests, nonces, reset tokens).
    pub(crate) async fn flush(&self, sweep: bool) -> store::Result<()> {
        let horizon = self.apps.nonce_horizon();
        self.sessions.flush(self.clock.now(), horizon, sweep).await
    }
}
