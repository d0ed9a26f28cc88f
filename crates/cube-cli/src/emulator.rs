//! `cube emulator`: the local ConnectyCube server in the foreground, and
//! `cube emulator exec`, which runs a command against a fresh one. Their
//! flags and variables are the `cube-emulator` binary's own
//! (`cube_emulator::cli::EmulatorArgs`, flattened here), and the server
//! runs through the same entry function, so they cannot drift apart.

mod exec;

use crate::error::{Failure, Result};
use clap::{Args, Subcommand};
use cube_emulator::cli::{self, EmulatorArgs};

/// The flags of `cube-emulator`, or `exec` and its own.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, disable_help_subcommand = true)]
pub(crate) struct EmulatorCommand {
    #[command(subcommand)]
    action: Option<Action>,
    #[command(flatten)]
    args: EmulatorArgs,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Start a fresh emulator, run CMD against it, stop the emulator, and
    /// exit with CMD's status.
    #[command(after_help = "CMD gets CUBE_API_URL, CUBE_APP_ID, CUBE_AUTH_KEY and \
                            CUBE_AUTH_SECRET naming the emulator. It is in memory and on a \
                            free port of 127.0.0.1 unless --data-dir, --in-memory or --listen \
                            (or their variables) say otherwise; --import starts it from a data \
                            set, --export-on-exit saves one when CMD has ended. The status is \
                            CMD's, or 128 + the signal that ended it (127: CMD not found). \
                            SIGINT or SIGTERM is passed on to CMD, which is killed if it has \
                            not ended 10 s later; then the emulator stops.\n\
                            Example: cube emulator exec -- cargo test")]
    Exec(Box<exec::ExecCommand>),
}

/// Serves until Ctrl-C or SIGTERM; the ready line goes to stdout, logs to
/// stderr. A start-up failure is status 1. With `exec`, runs the command
/// against a fresh emulator instead.
pub(crate) fn run(command: EmulatorCommand) -> Result<()> {
    match command.action {
        Some(Action::Exec(exec)) => exec::run(*exec),
        None => cli::run(command.args).map_err(|e| Failure::refused(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use cube_emulator::{PasswordCost, Storage};
    use std::time::Duration;

    #[derive(Debug, Parser)]
    struct Wrap {
        #[command(flatten)]
        command: EmulatorCommand,
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
        let config = wrap.command.args.into_config();
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
