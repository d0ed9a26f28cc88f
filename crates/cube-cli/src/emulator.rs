//! `cube emulator`: the local ConnectyCube server in the foreground. Its
//! flags and variables are the `cube-emulator` binary's own
//! (`cube_emulator::cli::EmulatorArgs`, flattened here), and it runs
//! through the same entry function, so the two cannot drift apart.

use crate::error::{Failure, Result};
use clap::Args;
use cube_emulator::cli::{self, EmulatorArgs};

/// The flags of `cube-emulator`.
#[derive(Debug, Args)]
pub(crate) struct EmulatorCommand {
    #[command(flatten)]
    args: EmulatorArgs,
}

/// Serves until Ctrl-C or SIGTERM; the ready line goes to stdout, logs to
/// stderr. A start-up failure is status 1.
pub(crate) fn run(command: EmulatorCommand) -> Result<()> {
    cli::run(command.args).map_err(|e| Failure::refused(e.to_string()))
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
