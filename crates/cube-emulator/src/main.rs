//! The `cube-emulator` binary: its command line (`cube_emulator::cli`),
//! then the emulator in the foreground until SIGINT or SIGTERM.

use std::process::ExitCode;

use clap::Parser;
use cube_emulator::cli::{self, Cli};

fn main() -> ExitCode {
    // Help and version go to stdout with status 0; a bad flag or value is
    // a one-line reason and a usage line on stderr, with status 2.
    let args = match Cli::try_parse() {
        Ok(cli) => cli.args,
        Err(err) => {
            let _ = err.print();
            return ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(2));
        }
    };
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("cube-emulator: {err}");
            ExitCode::FAILURE
        }
    }
}
