//! How an emulator is set up: where it listens, where it keeps its state,
//! the application created at first start, and the password-hash cost.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::{SystemTimeSource, TimeSource};
use crate::limits::Limits;

/// Where the emulator keeps its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    /// Nothing survives the process: the database lives in a private
    /// temporary directory that is removed when the emulator stops.
    InMemory,
    /// A durable SQLite database (WAL) in this directory, created if missing.
    DataDir(PathBuf),
}

/// The argon2id cost used for new password hashes (`--password-cost`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PasswordCost {
    /// Cheap, for fast local test runs (≥ 1,000 password sign-ins/s on 2 cores).
    #[default]
    Dev,
    /// OWASP's recommended argon2id parameters (19 MiB, 2 passes).
    Production,
}

impl FromStr for PasswordCost {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "dev" => Ok(Self::Dev),
            "production" => Ok(Self::Production),
            other => Err(format!(
                "invalid password cost {other:?} (expected dev or production)"
            )),
        }
    }
}

/// Default application id (`--app-id`).
pub const DEFAULT_APP_ID: i64 = 1;
/// Default auth key (`--auth-key`).
pub const DEFAULT_AUTH_KEY: &str = "emulator-auth-key";
/// Default auth secret (`--auth-secret`).
pub const DEFAULT_AUTH_SECRET: &str = "emulator-auth-secret";

/// Everything an emulator needs to start.
///
/// Start from [`EmulatorConfig::default`] (in-memory, `127.0.0.1:0`, the
/// default application, `dev` password cost) and change what you need:
///
/// ```
/// use cube_emulator::{EmulatorConfig, Storage};
/// let config = EmulatorConfig {
///     storage: Storage::DataDir("./.cube-emulator".into()),
///     ..EmulatorConfig::default()
/// };
/// # let _ = config;
/// ```
#[derive(Clone)]
pub struct EmulatorConfig {
    /// Address to listen on; port `0` picks a free port.
    pub listen: SocketAddr,
    /// Where state is kept.
    pub storage: Storage,
    /// Id of the application created at first start (an existing one is kept).
    pub app_id: i64,
    /// Its auth key.
    pub auth_key: String,
    /// Its auth secret (signs create-session requests).
    pub auth_secret: String,
    /// Cost of new password hashes.
    pub password_cost: PasswordCost,
    /// When set, `/_emulator/*` needs `Authorization: Bearer <token>`;
    /// when unset, it answers loopback peers only.
    pub admin_token: Option<String>,
    /// The base of the emulator's clock (the admin API adds an offset).
    pub time_source: Arc<dyn TimeSource>,
    /// How long a call to an identity provider (Facebook, Twitter, a
    /// Firebase key set, the custom identity provider) may take before the
    /// sign-in is refused (`401`). Default 5 s (`docs/PROTOCOL.md`, "Identity providers").
    pub provider_timeout: Duration,
    /// What clients may hold: connections, body memory, body pace.
    pub limits: Limits,
    /// A saved data set to start from (`--import`): read and checked
    /// whole, then loaded into the (empty) storage before the emulator
    /// serves. A data directory that already holds data is refused.
    pub import: Option<PathBuf>,
    /// Where to save a data set when the emulator stops cleanly
    /// (`--export-on-exit`): on [`crate::RunningEmulator::stop`] (and
    /// `shutdown`), when a handle of [`crate::Emulator::start_blocking`]
    /// is dropped, and in the binary on SIGINT or SIGTERM. An existing
    /// data set there is replaced; anything else there is left alone and
    /// the export fails.
    pub export_on_exit: Option<PathBuf>,
    /// How many requests the request log keeps (`--request-log`), at most
    /// 100,000; `0` keeps none. The newest are kept; each entry is a few
    /// hundred bytes at most (`GET /_emulator/requests`). Default 1,000.
    pub request_log: usize,
    /// Fault rules set before the emulator serves (`--fault`), in the
    /// text form of `docs/EMULATOR.md`, "Faults" — `GET /users/*
    /// status=503 times=2` — at most 100. A rule that does not parse stops
    /// the start ([`crate::StartError::Config`]). Default: none.
    pub faults: Vec<String>,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            storage: Storage::InMemory,
            app_id: DEFAULT_APP_ID,
            auth_key: DEFAULT_AUTH_KEY.to_owned(),
            auth_secret: DEFAULT_AUTH_SECRET.to_owned(),
            password_cost: PasswordCost::Dev,
            admin_token: None,
            time_source: Arc::new(SystemTimeSource),
            provider_timeout: crate::limits::PROVIDER_TIMEOUT_DEFAULT,
            limits: Limits::default(),
            import: None,
            export_on_exit: None,
            request_log: crate::limits::REQUEST_LOG_DEFAULT,
            faults: Vec::new(),
        }
    }
}

impl fmt::Debug for EmulatorConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Secrets stay out of Debug output (and so out of logs).
        f.debug_struct("EmulatorConfig")
            .field("listen", &self.listen)
            .field("storage", &self.storage)
            .field("app_id", &self.app_id)
            .field("auth_key", &self.auth_key)
            .field("auth_secret", &"[redacted]")
            .field("password_cost", &self.password_cost)
            .field("provider_timeout", &self.provider_timeout)
            .field("limits", &self.limits)
            .field(
                "admin_token",
                &self.admin_token.as_ref().map(|_| "[redacted]"),
            )
            .field("import", &self.import)
            .field("export_on_exit", &self.export_on_exit)
            .field("request_log", &self.request_log)
            .field("faults", &self.faults)
            .finish_non_exhaustive()
    }
}
