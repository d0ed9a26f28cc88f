//! `cube`: the ConnectyCube Auth & Users SDK as a command, for people at a
//! terminal and for scripts.
//!
//! Profiles hold an application's settings; each command resumes the
//! profile's saved session, so that signing in once serves every command
//! after it. Results print as tables, or as JSON with `--json`. Every
//! failure is one line on standard error and an exit status: 1 refused by
//! the server or not found, 2 usage, 3 the server could not be reached.
//! All of it runs on `cube-blocking`: the command decides nothing about the
//! protocol or the session.

mod cli;
mod commands;
mod config;
mod emulator;
mod error;
mod files;
mod filters;
mod image;
mod output;
mod progress;
mod prompt;
mod session;
mod terminal;
mod usage;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return usage_error(&err),
    };
    let report_memory = cli.report_peak_memory;
    let status = match commands::run(cli) {
        Ok(()) => 0,
        Err(failure) => {
            let line = failure.line();
            if failure.status != error::Status::OutputClosed && !line.is_empty() {
                terminal::note(&line);
            }
            failure.status.code()
        }
    };
    if report_memory {
        report_peak_memory();
    }
    ExitCode::from(status)
}

/// Help and version as clap prints them; a mistake on the command line as
/// one line that names what is wrong and the help to read, and status 2.
fn usage_error(err: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = err.print();
        return ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(2));
    }
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    terminal::note(&usage::line(err, &args));
    ExitCode::from(2)
}

/// The process's peak resident memory, on stderr (Linux).
fn report_peak_memory() {
    let peak = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .map(|v| v.trim().to_owned())
        });
    match peak {
        Some(peak) => eprintln!("cube: peak memory {peak}"),
        None => eprintln!("cube: peak memory unknown"),
    }
}
