//! `cube-emulator`: a local ConnectyCube Auth & Users server.
//!
//! It speaks the ConnectyCube REST protocol (sessions, users, password
//! reset, identity providers, file storage for avatars) with durable
//! SQLite state and files on disk, plus an admin API under `/_emulator/`
//! for tests: health, applications and settings, a movable clock, the
//! e-mail outbox, fake provider tokens, and a data reset. The repository's
//! `docs/PROTOCOL.md` describes the protocol and `docs/EMULATOR.md` the
//! command line and the admin API.
//!
//! Run it as a binary (`cargo run -p cube-emulator -- --help`) or start it
//! in-process, on a free port of 127.0.0.1, and point the code under test
//! at its base URL:
//!
//! ```
//! use cube_emulator::{Emulator, EmulatorConfig};
//! use serde_json::json;
//!
//! let emulator = Emulator::start_blocking(EmulatorConfig::default())?;
//! // An application session, as any ConnectyCube client asks for one.
//! let mut answer = ureq::post(&format!("{}/session", emulator.base_url()))
//!     .send_json(json!({"application_id": emulator.app_id(), "auth_key": emulator.auth_key()}))?;
//! assert_eq!(answer.status(), 201);
//! assert!(answer.headers().contains_key("CB-Token-ExpirationDate"));
//! let session: serde_json::Value = answer.body_mut().read_json()?;
//! assert_eq!(session["session"]["application_id"], emulator.app_id());
//! drop(emulator); // stops the server and closes its database
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! For an application's own tests, [`testing`] starts one in a line and
//! drives it in process: seed users, move the clock, end sessions, read
//! the outbox and the request log.

mod auth;
mod b64;
pub mod cli;
mod clock;
mod config;
mod conns;
mod crypto;
mod dataset;
mod error;
mod faults;
mod files;
mod fingerprint;
mod form;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
// Built in tests too: they replay every checked-in fuzz seed and crash.
#[cfg(all(test, not(feature = "fuzzing")))]
mod fuzzing;
#[cfg(any(test, feature = "fuzzing"))]
mod harness;
mod head;
mod inflow;
mod limits;
mod multipart;
mod operations;
mod providers;
mod requests;
mod router;
mod server;
mod settings;
mod state;
mod store;
pub mod testing;
mod user_fields;
mod validation;
mod wire;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;

pub use clock::{SystemTimeSource, TimeSource};
pub use config::{
    DEFAULT_APP_ID, DEFAULT_AUTH_KEY, DEFAULT_AUTH_SECRET, EmulatorConfig, PasswordCost, Storage,
};
pub use dataset::{Counts, ExportError, ImportError};
pub use limits::Limits;
pub use store::StoreError;

use crate::clock::Clock;
use crate::crypto::{Passwords, Secret};
use crate::files::Files;
use crate::settings::AppSettings;
use crate::state::State;
use crate::store::Store;
use crate::store::apps::{self, App};

/// Why an emulator could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The database could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Reading or writing the initial state failed.
    #[error("cannot initialise the database: {0}")]
    Init(String),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The data set given to import is refused (nothing was imported).
    #[error(transparent)]
    Import(#[from] ImportError),
    /// The runtime or its thread could not be created (blocking start).
    #[error("cannot start the emulator runtime: {0}")]
    Runtime(std::io::Error),
    /// A setting of [`EmulatorConfig`] cannot be used.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The folder of [`EmulatorConfig::export_on_exit`] cannot take an
    /// export: refused before anything is served, so nothing is lost.
    #[error(transparent)]
    ExportTarget(ExportError),
}

/// Starts emulators. See [`Emulator::start`] and [`Emulator::start_blocking`].
#[derive(Debug)]
pub struct Emulator;

impl Emulator {
    /// Starts an emulator on the current tokio runtime and returns once it
    /// accepts connections. It stops when the returned handle is dropped
    /// (or on [`RunningEmulator::stop`]).
    pub async fn start(config: EmulatorConfig) -> Result<RunningEmulator, StartError> {
        if config.admin_token.as_deref() == Some("") {
            return Err(StartError::Config(
                "the admin token must not be empty; leave it unset to serve loopback peers only"
                    .into(),
            ));
        }
        if !limits::id_ok(config.app_id) {
            return Err(StartError::Config(format!(
                "the application id must be from 1 to {}",
                limits::ID_MAX
            )));
        }
        if let Some(target) = config.export_on_exit.clone() {
            dataset::check_export_target(target)
                .await
                .map_err(StartError::ExportTarget)?;
        }
        if !limits::request_log_ok(config.request_log) {
            return Err(StartError::Config(format!(
                "the request log keeps at most {} requests",
                limits::REQUEST_LOG_MAX
            )));
        }
        let rules = faults::rules_of(&config.faults).map_err(StartError::Config)?;
        let dir = match &config.storage {
            Storage::InMemory => None,
            Storage::DataDir(dir) => Some(dir.clone()),
        };
        let (store, files) = tokio::task::spawn_blocking(move || {
            let store = Store::open(dir.as_deref())?;
            let files =
                Files::open(store.dir().join("blobs"), store.durable()).map_err(|source| {
                    StoreError::Io {
                        path: store.dir().join("blobs"),
                        source,
                    }
                })?;
            Ok::<_, StoreError>((store, files))
        })
        .await
        .map_err(|e| StartError::Init(e.to_string()))??;
        if let Some(dir) = config.import.clone() {
            let counts = dataset::import(&store, &files, dir.clone()).await?;
            tracing::info!(dir = %dir.display(), ?counts, "imported");
        }
        let initial = App {
            id: config.app_id,
            auth_key: config.auth_key.clone(),
            auth_secret: Secret::new(config.auth_secret.clone()),
            settings: AppSettings::default(),
        };
        let candidate_key = crypto::random_bytes::<32>()
            .map(|bytes| Secret::new(crypto::hex(&bytes)))
            .map_err(|e| StartError::Init(e.to_string()))?;
        let (offset, apps, upload_key, uids) = store
            .write(move |db| {
                apps::ensure_exists(db, &initial)?;
                Ok((
                    apps::clock_offset(db)?,
                    apps::load_all(db)?,
                    apps::upload_key(db, &candidate_key)?,
                    store::blobs::all_uids(db)?,
                ))
            })
            .await
            .map_err(|e| StartError::Init(e.to_string()))?;
        let sweeper = files.clone();
        match tokio::task::spawn_blocking(move || sweeper.retain(&uids)).await {
            Ok(Ok(0)) => {}
            Ok(Ok(removed)) => tracing::info!(removed, "removed files without a record"),
            Ok(Err(err)) => tracing::warn!(error = %err, "cannot check the files directory"),
            Err(_) => {}
        }
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| StartError::Bind {
                    addr: config.listen,
                    source,
                })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: config.listen,
            source,
        })?;
        // The emulator's own URL (the ready line, and how it reaches its
        // fake providers): a wildcard address names no host, so it is the
        // loopback address of the same family.
        let base_url = match addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => {
                format!(
                    "http://{}",
                    SocketAddr::from((Ipv4Addr::LOCALHOST, addr.port()))
                )
            }
            IpAddr::V6(ip) if ip.is_unspecified() => {
                format!(
                    "http://{}",
                    SocketAddr::from((Ipv6Addr::LOCALHOST, addr.port()))
                )
            }
            _ => format!("http://{addr}"),
        };
        // The application as stored wins over the flags (an existing one is kept).
        let app = apps.iter().find(|a| a.id == config.app_id).cloned();
        let state = Arc::new(
            State::new(
                store,
                Clock::new(config.time_source.clone(), offset),
                base_url.clone(),
                config.admin_token.clone().map(Secret::new),
                files,
                upload_key,
                providers::Providers::new(config.provider_timeout),
                Passwords::new(config.password_cost),
                apps,
                config.limits.clone(),
            )
            .with_request_log(config.request_log),
        );
        for rule in rules {
            // Counted above: the table has room for every one.
            let _ = state.faults.add(rule);
        }
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(server::run(
            listener,
            state.clone(),
            stop_rx,
            config.export_on_exit.clone(),
        ));
        tracing::info!(%addr, storage = ?config.storage, "listening");
        Ok(RunningEmulator {
            addr,
            base_url,
            app_id: config.app_id,
            auth_key: app.as_ref().map_or(config.auth_key, |a| a.auth_key.clone()),
            auth_secret: Secret::new(
                app.map_or(config.auth_secret, |a| a.auth_secret.expose().to_owned()),
            ),
            admin_token: config.admin_token.map(Secret::new),
            stop,
            task: Some(task),
            thread: None,
            state,
            runtime: tokio::runtime::Handle::current(),
        })
    }

    /// Starts an emulator on a runtime of its own, in a background thread,
    /// for code that is not async (examples, blocking tests). Dropping the
    /// handle stops the server and waits for the thread, so do not drop it
    /// inside an async task.
    pub fn start_blocking(config: EmulatorConfig) -> Result<RunningEmulator, StartError> {
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("cube-emulator".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_multi_thread()
                    .enable_all()
                    .thread_name("cube-emulator-worker")
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(err) => {
                        let _ = tx.send(Err(StartError::Runtime(err)));
                        return Ok(());
                    }
                };
                runtime.block_on(async move {
                    match Emulator::start(config).await {
                        Ok(mut running) => {
                            let task = running.task.take();
                            let _ = tx.send(Ok(running));
                            match task {
                                Some(task) => task.await.unwrap_or(Ok(())),
                                None => Ok(()),
                            }
                        }
                        Err(err) => {
                            let _ = tx.send(Err(err));
                            Ok(())
                        }
                    }
                })
            })
            .map_err(StartError::Runtime)?;
        let received = rx.recv().map_err(|_| {
            StartError::Runtime(std::io::Error::other("the emulator thread ended early"))
        })?;
        let mut running = received?;
        running.thread = Some(thread);
        Ok(running)
    }
}

/// A running emulator: its address and the credentials of its default
/// application. Dropping it stops the server.
pub struct RunningEmulator {
    addr: SocketAddr,
    base_url: String,
    app_id: i64,
    auth_key: String,
    auth_secret: Secret,
    admin_token: Option<Secret>,
    stop: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<Result<(), ExportError>>>,
    thread: Option<std::thread::JoinHandle<Result<(), ExportError>>>,
    /// What the testing API drives, in process.
    state: Arc<State>,
    /// The runtime it serves on.
    runtime: tokio::runtime::Handle,
}

impl std::fmt::Debug for RunningEmulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningEmulator")
            .field("base_url", &self.base_url)
            .field("app_id", &self.app_id)
            .field("auth_key", &self.auth_key)
            .finish_non_exhaustive()
    }
}

impl RunningEmulator {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://IP:PORT`, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The default application's id.
    pub fn app_id(&self) -> i64 {
        self.app_id
    }

    /// The default application's auth key.
    pub fn auth_key(&self) -> &str {
        &self.auth_key
    }

    /// The default application's auth secret (for signed sessions).
    pub fn auth_secret(&self) -> &str {
        self.auth_secret.expose()
    }

    /// The admin token, when one was configured.
    pub fn admin_token(&self) -> Option<&str> {
        self.admin_token.as_ref().map(Secret::expose)
    }

    /// Stops the server: in-flight requests finish, pending writes reach the
    /// disk, the data set of [`EmulatorConfig::export_on_exit`] is written
    /// (a failure is logged), the database is closed. Returns when all of
    /// that is done. [`RunningEmulator::shutdown`] also says whether the
    /// export succeeded.
    pub async fn stop(self) {
        let _ = self.shutdown().await;
    }

    /// [`RunningEmulator::stop`], returning the failure of the export on
    /// exit, if there was one.
    pub async fn shutdown(mut self) -> Result<(), ExportError> {
        let _ = self.stop.send(true);
        let mut result = Ok(());
        if let Some(task) = self.task.take() {
            result = task.await.unwrap_or(Ok(()));
        }
        if let Some(thread) = self.thread.take() {
            result = tokio::task::spawn_blocking(move || thread.join())
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or(Ok(()));
        }
        result
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
