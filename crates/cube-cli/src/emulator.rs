//! `cube emulator`: the local ConnectyCube server in the foreground, with
//! the flags and variables of the `cube-emulator` binary
//! (`docs/EMULATOR.md`), started through the emulator's library.
//!
//! The flags are declared here because the emulator's own command line is
//! private to its binary; once the emulator's library offers its arguments,
//! this module becomes a `#[command(flatten)]` of them and a call of its
//! entry function, so that the two cannot drift.

use crate::error::{Failure, Result};
use clap::{Args, ValueEnum};
use cube_emulator::{
    DEFAULT_APP_ID, DEFAULT_AUTH_KEY, DEFAULT_AUTH_SECRET, Emulator, EmulatorConfig, PasswordCost,
    Storage,
};
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// The flags of `cube-emulator`.
#[derive(Debug, Args)]
#[command(after_help = "Once it serves, it prints one line on stdout: \
                  `cube-emulator listening on http://IP:PORT`. Logs go to stderr \
                  (filter them with RUST_LOG). Ctrl-C or SIGTERM stops it cleanly.")]
pub(crate) struct EmulatorArgs {
    // The variables' values stay out of `--help`: one is the admin token.
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

    /// The directory of the SQLite database and the uploaded files.
    #[arg(
        long,
        value_name = "DIR",
        env = "CUBE_EMULATOR_DATA_DIR",
        hide_env_values = true,
        default_value = "./.cube-emulator"
    )]
    data_dir: PathBuf,

    /// Keep nothing after exit (wins over --data-dir).
    #[arg(long)]
    in_memory: bool,

    /// The id of the application created at the first start.
    #[arg(
        long,
        value_name = "N",
        default_value_t = DEFAULT_APP_ID,
        value_parser = clap::value_parser!(i64).range(1..)
    )]
    app_id: i64,

    /// That application's auth key.
    #[arg(long, value_name = "KEY", default_value = DEFAULT_AUTH_KEY)]
    auth_key: String,

    /// That application's auth secret.
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

    /// Require `Authorization: Bearer TOKEN` on /_emulator/*; without one,
    /// only loopback clients may use it.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "CUBE_EMULATOR_ADMIN_TOKEN",
        hide_env_values = true,
        value_parser = parse_admin_token
    )]
    admin_token: Option<String>,

    /// Seconds an identity provider may take to answer (more than 0, at
    /// most 600).
    #[arg(
        long,
        value_name = "SECS",
        env = "CUBE_EMULATOR_PROVIDER_TIMEOUT",
        hide_env_values = true,
        default_value = "5",
        value_parser = parse_timeout
    )]
    provider_timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Cost {
    /// Cheap hashes, for fast local runs.
    Dev,
    /// OWASP's recommended parameters.
    Production,
}

impl EmulatorArgs {
    fn into_config(self) -> EmulatorConfig {
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
            ..EmulatorConfig::default()
        }
    }
}

fn parse_addr(text: &str) -> std::result::Result<SocketAddr, String> {
    text.parse()
        .map_err(|_| "expected IP:PORT, such as 127.0.0.1:8080".to_owned())
}

/// An empty token would match an empty header: refused.
fn parse_admin_token(text: &str) -> std::result::Result<String, String> {
    if text.is_empty() {
        return Err("the admin token must not be empty".to_owned());
    }
    Ok(text.to_owned())
}

fn parse_timeout(text: &str) -> std::result::Result<Duration, String> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|s| *s > 0.0 && *s <= 600.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| "expected seconds, more than 0 and at most 600".to_owned())
}

/// Serves until Ctrl-C or SIGTERM; the ready line goes to stdout, logs to
/// stderr.
pub(crate) fn run(args: EmulatorArgs) -> Result<()> {
    let config = args.into_config();
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .try_init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::refused(format!("cannot start the runtime: {e}")))?;
    runtime.block_on(async move {
        let emulator = Emulator::start(config)
            .await
            .map_err(|e| Failure::refused(e.to_string()))?;
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "cube-emulator listening on {}", emulator.base_url());
        let _ = stdout.flush();
        drop(stdout);
        wait_for_signal().await;
        emulator.stop().await;
        Ok(())
    })
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Wrap {
        #[command(flatten)]
        args: EmulatorArgs,
    }

    #[test]
    fn the_emulators_flags_make_its_config() {
        let wrap = Wrap::try_parse_from([
            "x",
            "--listen",
            "127.0.0.1:0",
            "--in-memory",
            "--app-id",
            "3",
            "--password-cost",
            "production",
            "--provider-timeout",
            "0.5",
        ])
        .unwrap();
        let config = wrap.args.into_config();
        assert_eq!(config.listen.port(), 0);
        assert_eq!(config.storage, Storage::InMemory);
        assert_eq!(config.app_id, 3);
        assert_eq!(config.password_cost, PasswordCost::Production);
        assert_eq!(config.provider_timeout, Duration::from_millis(500));
    }

    #[test]
    fn bad_values_are_refused() {
        for args in [
            ["x", "--app-id", "0"],
            ["x", "--provider-timeout", "601"],
            ["x", "--listen", "localhost"],
            ["x", "--admin-token", ""],
        ] {
            assert!(Wrap::try_parse_from(args).is_err(), "{args:?}");
        }
    }
}
