//! Command-line flags and environment variables (`docs/EMULATOR.md`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use cube_emulator::{EmulatorConfig, PasswordCost, Storage};

pub(crate) const USAGE: &str = "\
cube-emulator: a local ConnectyCube Auth & Users server

Usage: cube-emulator [OPTIONS]

Options (environment variable in brackets):
  --listen ADDR            address to listen on; port 0 picks a free port
                           [CUBE_EMULATOR_LISTEN] (default 127.0.0.1:8080)
  --data-dir DIR           where the SQLite database lives
                           [CUBE_EMULATOR_DATA_DIR] (default ./.cube-emulator)
  --in-memory              keep no state after exit
  --app-id N               the application created at first start (default 1)
  --auth-key K             its auth key (default emulator-auth-key)
  --auth-secret S          its auth secret (default emulator-auth-secret)
  --password-cost COST     dev or production argon2id cost
                           [CUBE_EMULATOR_PASSWORD_COST] (default dev)
  --admin-token T          require `Authorization: Bearer T` on /_emulator/*
                           [CUBE_EMULATOR_ADMIN_TOKEN] (default: loopback only)
  --provider-timeout SECS  how long an identity provider may take to answer
                           [CUBE_EMULATOR_PROVIDER_TIMEOUT] (default 5)
  --max-connections N      client connections served at once
                           [CUBE_EMULATOR_MAX_CONNECTIONS] (default: half of
                           the open-files limit left after 64)
  -h, --help               print this help
  -V, --version            print the version

Logs go to stderr (filter with RUST_LOG); the ready line goes to stdout.";

/// What the command line asks for.
#[derive(Debug)]
pub(crate) enum Action {
    Run(Box<EmulatorConfig>),
    Help,
    Version,
}

/// Parses flags (`--flag value` or `--flag=value`); flags override the
/// environment, which overrides the defaults.
pub(crate) fn parse(
    args: impl IntoIterator<Item = String>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Action, String> {
    let mut config = EmulatorConfig {
        listen: "127.0.0.1:8080".parse().map_err(|e| format!("{e}"))?,
        storage: Storage::DataDir(PathBuf::from("./.cube-emulator")),
        ..EmulatorConfig::default()
    };
    if let Some(listen) = env("CUBE_EMULATOR_LISTEN") {
        config.listen = parse_addr(&listen)?;
    }
    if let Some(dir) = env("CUBE_EMULATOR_DATA_DIR") {
        config.storage = Storage::DataDir(dir.into());
    }
    if let Some(cost) = env("CUBE_EMULATOR_PASSWORD_COST") {
        config.password_cost = cost.parse::<PasswordCost>()?;
    }
    if let Some(token) = env("CUBE_EMULATOR_ADMIN_TOKEN") {
        config.admin_token = Some(admin_token(token, "CUBE_EMULATOR_ADMIN_TOKEN")?);
    }
    if let Some(seconds) = env("CUBE_EMULATOR_PROVIDER_TIMEOUT") {
        config.provider_timeout = parse_timeout(&seconds)?;
    }
    if let Some(n) = env("CUBE_EMULATOR_MAX_CONNECTIONS") {
        config.limits.max_connections = Some(parse_connections(&n)?);
    }

    let mut in_memory = false;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_owned(), Some(value.to_owned()))
            }
            _ => (arg.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(Action::Help),
            "-V" | "--version" => return Ok(Action::Version),
            "--in-memory" => in_memory = true,
            "--listen" => config.listen = parse_addr(&value()?)?,
            "--data-dir" => config.storage = Storage::DataDir(value()?.into()),
            "--app-id" => {
                let v = value()?;
                config.app_id = v
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("invalid --app-id {v:?}"))?;
            }
            "--auth-key" => config.auth_key = value()?,
            "--auth-secret" => config.auth_secret = value()?,
            "--password-cost" => config.password_cost = value()?.parse()?,
            "--admin-token" => config.admin_token = Some(admin_token(value()?, "--admin-token")?),
            "--provider-timeout" => config.provider_timeout = parse_timeout(&value()?)?,
            "--max-connections" => {
                config.limits.max_connections = Some(parse_connections(&value()?)?);
            }
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    if in_memory {
        config.storage = Storage::InMemory;
    }
    Ok(Action::Run(Box::new(config)))
}

/// An admin token: an empty one would let every peer in (`""` equals
/// `""`), so it is refused rather than guessed at.
fn admin_token(token: String, source: &str) -> Result<String, String> {
    if token.is_empty() {
        return Err(format!(
            "the admin token must not be empty ({source}); leave it unset to serve loopback peers only"
        ));
    }
    Ok(token)
}

/// Seconds, fractions allowed, more than 0 and at most 600.
fn parse_timeout(text: &str) -> Result<Duration, String> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|s| *s > 0.0 && *s <= 600.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| format!("invalid provider timeout {text:?} (seconds, up to 600)"))
}

/// A positive number of connections.
fn parse_connections(text: &str) -> Result<usize, String> {
    text.trim()
        .parse::<usize>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("invalid connection count {text:?} (a positive number)"))
}

fn parse_addr(text: &str) -> Result<SocketAddr, String> {
    text.parse()
        .map_err(|_| format!("invalid listen address {text:?} (expected IP:PORT)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str], env: &[(&str, &str)]) -> Result<EmulatorConfig, String> {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        match parse(args.iter().map(|s| s.to_string()), |k| {
            env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
        })? {
            Action::Run(config) => Ok(*config),
            other => Err(format!("{other:?}")),
        }
    }

    #[test]
    fn defaults() {
        let c = run(&[], &[]).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.storage, Storage::DataDir("./.cube-emulator".into()));
        assert_eq!(c.password_cost, PasswordCost::Dev);
        assert_eq!(c.app_id, 1);
        assert!(c.admin_token.is_none());
        assert_eq!(c.provider_timeout, Duration::from_secs(5));
        let c = run(
            &["--provider-timeout", "0.5"],
            &[("CUBE_EMULATOR_PROVIDER_TIMEOUT", "9")],
        )
        .unwrap();
        assert_eq!(c.provider_timeout, Duration::from_millis(500));
        let c = run(&[], &[("CUBE_EMULATOR_PROVIDER_TIMEOUT", "9")]).unwrap();
        assert_eq!(c.provider_timeout, Duration::from_secs(9));
    }

    #[test]
    fn flags_override_environment() {
        let c = run(
            &[
                "--listen",
                "127.0.0.1:0",
                "--in-memory",
                "--password-cost=production",
                "--app-id",
                "7",
            ],
            &[
                ("CUBE_EMULATOR_LISTEN", "0.0.0.0:9"),
                ("CUBE_EMULATOR_ADMIN_TOKEN", "t"),
            ],
        )
        .unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:0");
        assert_eq!(c.storage, Storage::InMemory);
        assert_eq!(c.password_cost, PasswordCost::Production);
        assert_eq!(c.app_id, 7);
        assert_eq!(c.admin_token.as_deref(), Some("t"));
    }

    #[test]
    fn rejects_nonsense() {
        assert!(run(&["--bogus"], &[]).is_err());
        assert!(run(&["--listen"], &[]).is_err());
        assert!(run(&["--password-cost", "cheap"], &[]).is_err());
        for bad in ["0", "-1", "x", "601", "NaN"] {
            assert!(run(&["--provider-timeout", bad], &[]).is_err(), "{bad}");
        }
        for bad in ["0", "-1", "x", ""] {
            assert!(run(&["--max-connections", bad], &[]).is_err(), "{bad}");
        }
        let c = run(
            &["--max-connections", "8"],
            &[("CUBE_EMULATOR_MAX_CONNECTIONS", "9")],
        )
        .unwrap();
        assert_eq!(c.limits.max_connections, Some(8));
        let c = run(&[], &[("CUBE_EMULATOR_MAX_CONNECTIONS", "9")]).unwrap();
        assert_eq!(c.limits.max_connections, Some(9));
        assert_eq!(run(&[], &[]).unwrap().limits.max_connections, None);
        assert!(matches!(
            parse(["--help".to_string()], |_| None),
            Ok(Action::Help)
        ));
    }

    #[test]
    fn an_empty_admin_token_is_an_error() {
        for (args, env) in [
            (&["--admin-token", ""][..], &[][..]),
            (&["--admin-token="][..], &[][..]),
            (&[][..], &[("CUBE_EMULATOR_ADMIN_TOKEN", "")][..]),
            (
                &["--admin-token", ""][..],
                &[("CUBE_EMULATOR_ADMIN_TOKEN", "t")][..],
            ),
        ] {
            let err = run(args, env).unwrap_err();
            assert!(err.contains("admin token must not be empty"), "{err}");
        }
        let c = run(&["--admin-token", "t"], &[]).unwrap();
        assert_eq!(c.admin_token.as_deref(), Some("t"));
    }
}
