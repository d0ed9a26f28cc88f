//! The emulator's command line (`docs/EMULATOR.md`), for its binary and
//! for any command that runs it (the `cube emulator` subcommand): the
//! flags and variables as [`EmulatorArgs`], which a parser flattens into
//! its own command (`#[command(flatten)]`), and [`run`], which serves in
//! the foreground until SIGINT or SIGTERM. Both commands take them from
//! here, so their flags cannot drift apart.
//!
//! Parsed by clap: a flag wins over its variable, a variable over the
//! default, and a bad flag or value is a one-line reason and status 2.
//!
//! ```
//! use clap::Parser;
//! use cube_emulator::cli::EmulatorArgs;
//!
//! /// A tool with the emulator as a subcommand of its own.
//! #[derive(Parser)]
//! struct Tool {
//!     #[command(flatten)]
//!     emulator: EmulatorArgs,
//! }
//!
//! let tool = Tool::try_parse_from(["tool", "--in-memory", "--listen", "127.0.0.1:0"])?;
//! let config = tool.emulator.into_config();
//! assert_eq!(config.storage, cube_emulator::Storage::InMemory);
//! # Ok::<(), clap::Error>(())
//! ```

use std::fmt;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, ValueEnum};

use crate::{
    DEFAULT_APP_ID, DEFAULT_AUTH_KEY, DEFAULT_AUTH_SECRET, Emulator, EmulatorConfig, ExportError,
    Limits, PasswordCost, StartError, Storage,
};

/// The `cube-emulator` command: its name, version and the emulator's
/// flags. The binary parses this; other commands flatten [`EmulatorArgs`].
// `--help` shows `about` and `long_about`, written for the people who run
// the command (the doc comment above is for the library's readers).
#[derive(Debug, Parser)]
#[command(
    name = "cube-emulator",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT
)]
pub struct Cli {
    /// The emulator's flags.
    #[command(flatten)]
    pub args: EmulatorArgs,
}

/// The first line of `cube-emulator --help`.
const ABOUT: &str = "A local ConnectyCube Auth & Users server, for tests and for working offline.";

/// What `cube-emulator --help` says before the flags.
const LONG_ABOUT: &str = "A local ConnectyCube Auth & Users server, for tests and for working \
offline.\n\nIt answers the ConnectyCube REST API (sessions, users, password resets, sign-in with \
Facebook, Twitter, Firebase or your own identity provider, and file uploads) and keeps its data \
in a data directory, or only in memory. An admin API and a web UI at /_emulator/ set up \
applications, move the clock, read the e-mails it sent, and save or load data sets.";

/// The emulator's flags and their environment variables. Flatten them into
/// a clap command with `#[command(flatten)]`; [`EmulatorArgs::into_config`]
/// makes the configuration they ask for, [`run`] serves with them.
#[derive(Clone, Args)]
#[command(after_help = "Once it serves, it prints one line on stdout: \
                  cube-emulator listening on http://IP:PORT. Logs go to stderr \
                  (filter them with RUST_LOG). The web UI is at /_emulator/ui/. \
                  SIGINT (Ctrl-C) or SIGTERM stops it cleanly.")]
pub struct EmulatorArgs {
    // Every variable is named in `--help`, never its value (one holds the
    // admin token): hence `hide_env_values`.
    /// Where to listen (IP:PORT); port 0 takes a free one.
    #[arg(
        long,
        value_name = "ADDR",
        env = "CUBE_EMULATOR_LISTEN",
        hide_env_values = true,
        default_value = "127.0.0.1:8080",
        value_parser = parse_addr
    )]
    listen: SocketAddr,

    /// The directory of the SQLite database and the uploaded files
    /// (created when missing).
    #[arg(
        long,
        value_name = "DIR",
        env = "CUBE_EMULATOR_DATA_DIR",
        hide_env_values = true,
        default_value = "./.cube-emulator"
    )]
    data_dir: PathBuf,

    /// Keep nothing after exit: the database and uploads live in a private
    /// temporary directory, removed at a clean stop (wins over --data-dir).
    #[arg(long)]
    in_memory: bool,

    /// The id of the application created at the first start (one already
    /// stored is kept).
    #[arg(
        long,
        value_name = "N",
        default_value_t = DEFAULT_APP_ID,
        value_parser = clap::value_parser!(i64).range(1..=crate::limits::ID_MAX)
    )]
    app_id: i64,

    /// That application's auth key.
    #[arg(long, value_name = "KEY", default_value = DEFAULT_AUTH_KEY)]
    auth_key: String,

    /// That application's auth secret (signs create-session requests).
    #[arg(long, value_name = "SECRET", default_value = DEFAULT_AUTH_SECRET)]
    auth_secret: String,

    /// The argon2id cost of new password hashes.
    #[arg(
        long,
        value_name = "COST",
        env = "CUBE_EMULATOR_PASSWORD_COST",
        hide_env_values = true,
        default_value = "dev"
    )]
    password_cost: Cost,

    /// Require the header "Authorization: Bearer TOKEN" on /_emulator/*
    /// (the admin API and the web UI); without a token, only clients on
    /// this computer may use them.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "CUBE_EMULATOR_ADMIN_TOKEN",
        hide_env_values = true,
        value_parser = parse_admin_token
    )]
    admin_token: Option<String>,

    /// How many seconds an identity provider may take to answer (more than
    /// 0, at most 600; fractions allowed).
    #[arg(
        long,
        value_name = "SECS",
        env = "CUBE_EMULATOR_PROVIDER_TIMEOUT",
        hide_env_values = true,
        default_value = "5",
        value_parser = parse_timeout
    )]
    provider_timeout: Duration,

    /// Most client connections served at once (at least 1). When full, a
    /// new connection closes the one that has waited longest on its
    /// client, or is answered 503 if every one is busy. Default: half of
    /// the open-files limit left after 64, at least 16.
    #[arg(
        long,
        value_name = "N",
        env = "CUBE_EMULATOR_MAX_CONNECTIONS",
        hide_env_values = true,
        value_parser = parse_connections
    )]
    max_connections: Option<usize>,

    /// Start from the data set saved in DIR (by --export-on-exit or
    /// POST /_emulator/export). All of it is checked first, by the rules
    /// the API applies; a bad one stops the start, naming the file and line
    /// at fault (status 1). The data directory must hold no data yet.
    #[arg(
        long,
        value_name = "DIR",
        env = "CUBE_EMULATOR_IMPORT",
        hide_env_values = true
    )]
    import: Option<PathBuf>,

    /// Save a data set in DIR at a clean stop (SIGINT, SIGTERM). DIR must be
    /// missing, empty or hold a data set the emulator saved, which is then
    /// replaced, leaving its other files (a README) alone; anything else is
    /// refused at start. DIR may be the --import one.
    #[arg(
        long,
        value_name = "DIR",
        env = "CUBE_EMULATOR_EXPORT_ON_EXIT",
        hide_env_values = true
    )]
    export_on_exit: Option<PathBuf>,

    /// How many of the latest API requests the request log keeps (GET
    /// /_emulator/requests, the web UI's Requests view), at most 100000;
    /// 0 keeps none.
    #[arg(
        long,
        value_name = "N",
        env = "CUBE_EMULATOR_REQUEST_LOG",
        hide_env_values = true,
        default_value_t = crate::limits::REQUEST_LOG_DEFAULT,
        value_parser = parse_request_log
    )]
    request_log: usize,

    /// Make the requests a rule matches fail on purpose, from the start
    /// (repeatable, at most 100 rules): a method, a path and what to do,
    /// such as "GET /users/* status=503 times=2" or "POST /users
    /// status=429 header=Retry-After:1". The rule format is in
    /// docs/EMULATOR.md, "Faults"; GET /_emulator/faults lists the rules.
    #[arg(
        long = "fault",
        value_name = "RULE",
        action = clap::ArgAction::Append,
        value_parser = parse_fault
    )]
    faults: Vec<String>,
}

/// `--password-cost`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Cost {
    /// Cheap hashes, for fast local test runs.
    Dev,
    /// OWASP's recommended parameters (19 MiB, 2 passes).
    Production,
}

impl fmt::Debug for EmulatorArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Secrets stay out of Debug output, as in `EmulatorConfig`.
        f.debug_struct("EmulatorArgs")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("in_memory", &self.in_memory)
            .field("app_id", &self.app_id)
            .field("auth_key", &self.auth_key)
            .field("auth_secret", &"[redacted]")
            .field("password_cost", &self.password_cost)
            .field(
                "admin_token",
                &self.admin_token.as_ref().map(|_| "[redacted]"),
            )
            .field("provider_timeout", &self.provider_timeout)
            .field("max_connections", &self.max_connections)
            .field("import", &self.import)
            .field("export_on_exit", &self.export_on_exit)
            .field("request_log", &self.request_log)
            .field("faults", &self.faults)
            .finish()
    }
}

impl EmulatorArgs {
    /// The emulator this command line asks for.
    pub fn into_config(self) -> EmulatorConfig {
        EmulatorConfig {
            listen: self.listen,
            storage: if self.in_memory {
                Storage::InMemory
            } else {
                Storage::DataDir(self.data_dir)
            },
            app_id: self.app_id,
            auth_key: self.auth_key,
            auth_secret: self.auth_secret,
            password_cost: match self.password_cost {
                Cost::Dev => PasswordCost::Dev,
                Cost::Production => PasswordCost::Production,
            },
            admin_token: self.admin_token,
            provider_timeout: self.provider_timeout,
            limits: Limits {
                max_connections: self.max_connections,
                ..Limits::default()
            },
            import: self.import,
            export_on_exit: self.export_on_exit,
            request_log: self.request_log,
            faults: self.faults,
            ..EmulatorConfig::default()
        }
    }
}

/// Why [`run`] failed: a start-up failure (a bad data set to import
/// among them) or a failed export on exit. A command exits with status 1
/// on any of them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// The runtime could not be created.
    #[error("cannot start the runtime: {0}")]
    Runtime(std::io::Error),
    /// The stop signals could not be listened to.
    #[error("cannot listen to SIGINT and SIGTERM: {0}")]
    Signals(std::io::Error),
    /// The emulator could not start.
    #[error(transparent)]
    Start(#[from] StartError),
    /// The emulator stopped, but its data set could not be saved.
    #[error(transparent)]
    Export(#[from] ExportError),
}

/// Serves in the foreground: logs to stderr (filtered by `RUST_LOG`,
/// `info` by default; installed unless the process already has a
/// subscriber), the ready line on stdout once it serves, and a clean stop
/// on SIGINT or SIGTERM. Returns when the emulator has stopped.
pub fn run(args: EmulatorArgs) -> Result<(), RunError> {
    let config = args.into_config();
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        // Colour only for a person at a terminal: log files and pipes get
        // plain text (and NO_COLOR is honoured).
        .with_ansi(
            std::io::IsTerminal::is_terminal(&std::io::stderr())
                && std::env::var_os("NO_COLOR").is_none(),
        )
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .try_init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(RunError::Runtime)?;
    runtime.block_on(async move {
        let stop = stop_signals().map_err(RunError::Signals)?;
        let emulator = Emulator::start(config).await?;
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "cube-emulator listening on {}", emulator.base_url());
        let _ = stdout.flush();
        drop(stdout);
        stop.await;
        tracing::info!("stopping");
        emulator.shutdown().await?;
        Ok(())
    })
}

/// Resolves on SIGINT or SIGTERM (Ctrl-C elsewhere). The handlers are
/// installed when this is called, not when it is first awaited, so a
/// signal sent as soon as the ready line is read is not missed (its
/// default action would kill the process without its clean stop).
#[cfg(unix)]
fn stop_signals() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}

#[cfg(not(unix))]
fn stop_signals() -> std::io::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}

fn parse_addr(text: &str) -> Result<SocketAddr, String> {
    text.parse()
        .map_err(|_| "expected IP:PORT, such as 127.0.0.1:8080 or [::1]:0".to_owned())
}

/// An empty token would let every client in (`""` equals `""`): refused.
fn parse_admin_token(text: &str) -> Result<String, String> {
    if text.is_empty() {
        return Err(
            "the admin token must not be empty; leave it unset to serve loopback clients only"
                .to_owned(),
        );
    }
    Ok(text.to_owned())
}

/// A positive number of connections.
fn parse_connections(text: &str) -> Result<usize, String> {
    text.trim()
        .parse::<usize>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| "expected a positive number of connections".to_owned())
}

/// A number of requests, at most [`crate::limits::REQUEST_LOG_MAX`].
fn parse_request_log(text: &str) -> Result<usize, String> {
    text.trim()
        .parse::<usize>()
        .ok()
        .filter(|n| crate::limits::request_log_ok(*n))
        .ok_or_else(|| {
            format!(
                "expected a number of requests, at most {}",
                crate::limits::REQUEST_LOG_MAX
            )
        })
}

/// A fault rule in the text form, checked now (a bad one is a usage
/// error) and kept in its canonical form.
fn parse_fault(text: &str) -> Result<String, String> {
    crate::faults::parse_text(text)
        .map(|rule| rule.to_text())
        .map_err(|err| err.to_string())
}

/// Seconds, fractions allowed, more than 0 and at most 600.
fn parse_timeout(text: &str) -> Result<Duration, String> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|s| *s > 0.0 && *s <= 600.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| "expected seconds, more than 0 and at most 600".to_owned())
}

#[cfg(test)]
mod tests {
    //! The flags alone: the variables are read from the process
    //! environment, so they are checked against the binary
    //! (`tests/command_line.rs`), and cleared here.

    use clap::{CommandFactory, FromArgMatches};

    use super::*;

    fn parse(args: &[&str]) -> Result<EmulatorConfig, clap::Error> {
        let command = Cli::command().mut_args(|arg| arg.env(None));
        let matches = command
            .try_get_matches_from(std::iter::once("cube-emulator").chain(args.iter().copied()))?;
        Ok(Cli::from_arg_matches(&matches)?.args.into_config())
    }

    #[test]
    fn the_command_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn defaults() {
        let c = parse(&[]).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.storage, Storage::DataDir("./.cube-emulator".into()));
        assert_eq!(c.password_cost, PasswordCost::Dev);
        assert_eq!(c.app_id, 1);
        assert_eq!(c.auth_key, DEFAULT_AUTH_KEY);
        assert_eq!(c.auth_secret, DEFAULT_AUTH_SECRET);
        assert!(c.admin_token.is_none());
        assert_eq!(c.provider_timeout, Duration::from_secs(5));
        assert_eq!((c.import, c.export_on_exit), (None, None));
        assert_eq!(c.limits.max_connections, None);
        assert_eq!(c.request_log, crate::limits::REQUEST_LOG_DEFAULT);
    }

    #[test]
    fn every_flag_is_read() {
        let c = parse(&[
            "--listen",
            "[::1]:0",
            "--data-dir=/tmp/x",
            "--app-id",
            "7",
            "--auth-key",
            "k",
            "--auth-secret",
            "s",
            "--password-cost=production",
            "--admin-token",
            "t",
            "--provider-timeout",
            "0.5",
            "--import",
            "/tmp/in",
            "--export-on-exit=/tmp/out",
            "--max-connections",
            "1",
        ])
        .unwrap();
        assert_eq!(c.limits.max_connections, Some(1));
        assert_eq!(c.import, Some("/tmp/in".into()));
        assert_eq!(c.export_on_exit, Some("/tmp/out".into()));
        assert_eq!(c.listen.to_string(), "[::1]:0");
        assert_eq!(c.storage, Storage::DataDir("/tmp/x".into()));
        assert_eq!(c.app_id, 7);
        assert_eq!((c.auth_key.as_str(), c.auth_secret.as_str()), ("k", "s"));
        assert_eq!(c.password_cost, PasswordCost::Production);
        assert_eq!(c.admin_token.as_deref(), Some("t"));
        assert_eq!(c.provider_timeout, Duration::from_millis(500));
        assert_eq!(
            parse(&["--app-id", "9007199254740991"]).unwrap().app_id,
            (1 << 53) - 1
        );
        let c = parse(&["--data-dir", "/tmp/x", "--in-memory"]).unwrap();
        assert_eq!(c.storage, Storage::InMemory);
    }

    #[test]
    fn rejects_nonsense_with_status_2() {
        for args in [
            &["--bogus"][..],
            &["--listen"],
            &["--listen", "localhost"],
            &["--password-cost", "cheap"],
            &["--app-id", "0"],
            &["--app-id", "9007199254740992"],
            &["--app-id", "x"],
            &["--admin-token", ""],
            &["--admin-token="],
            &["--in-memory=yes"],
            &["extra"],
        ] {
            let err = parse(args).expect_err(&format!("{args:?}"));
            assert_eq!(err.exit_code(), 2, "{args:?}");
        }
        for bad in ["0", "-1", "x", ""] {
            let err = parse(&["--max-connections", bad]).expect_err(bad);
            assert_eq!(err.exit_code(), 2, "{bad}");
        }
        // The request log: none, up to its limit, not past it.
        let max = crate::limits::REQUEST_LOG_MAX;
        for good in [0, 1, max] {
            let c = parse(&["--request-log", &good.to_string()]).unwrap();
            assert_eq!(c.request_log, good);
        }
        for bad in [&(max + 1).to_string()[..], "-1", "x", ""] {
            let err = parse(&["--request-log", bad]).expect_err(bad);
            assert_eq!(err.exit_code(), 2, "{bad}");
        }
        for bad in ["0", "-1", "x", "601", "NaN", "inf"] {
            let err = parse(&["--provider-timeout", bad]).expect_err(bad);
            assert_eq!(err.exit_code(), 2, "{bad}");
        }
        let err = parse(&["--admin-token", ""]).unwrap_err().to_string();
        assert!(err.contains("the admin token must not be empty"), "{err}");
    }

    #[test]
    fn fault_rules_are_read_checked_and_kept_in_their_canonical_form() {
        assert!(parse(&[]).unwrap().faults.is_empty());
        let c = parse(&[
            "--fault",
            "get /users/* status=503 times=2",
            "--fault=POST /users status=429 header=Retry-After:1",
            "--fault",
            r#"* /blobs/** latency=1.5s body="x" status=500"#,
        ])
        .unwrap();
        assert_eq!(
            c.faults,
            [
                "GET /users/* status=503 times=2",
                "POST /users status=429 header=retry-after:1",
                "* /blobs/** latency=1500ms status=500 body=x",
            ]
        );
        let limits = |body: usize, latency_ms: u128| {
            format!(
                "GET /x latency={latency_ms}ms status=503 body={}",
                "b".repeat(body)
            )
        };
        let (body, latency) = (
            crate::limits::FAULT_BODY_MAX_BYTES,
            crate::limits::FAULT_LATENCY_MAX.as_millis(),
        );
        assert!(parse(&["--fault", &limits(body, latency)]).is_ok());
        for bad in [
            limits(body + 1, latency),
            limits(body, latency + 1),
            String::new(),
            "GET".into(),
            "GET /x".into(),
            "GET /x status=5O3".into(),
            "GET /_emulator/health status=503".into(),
            "GET /x status=503 cut=before-headers".into(),
            "GET /x status=503 colour=red".into(),
        ] {
            let err = parse(&["--fault", &bad]).expect_err(&bad);
            assert_eq!(err.exit_code(), 2, "{bad}");
            assert!(err.to_string().contains("--fault"), "{err}");
        }
        let err = parse(&["--fault", "GET /x status=600"]).unwrap_err();
        assert!(
            err.to_string()
                .contains("status must be a number from 200 to 599"),
            "{err}"
        );
    }

    #[test]
    fn help_and_version_are_not_errors() {
        for flag in ["--help", "-h", "--version", "-V"] {
            let err = parse(&[flag]).unwrap_err();
            assert_eq!(err.exit_code(), 0, "{flag}");
        }
    }
}
