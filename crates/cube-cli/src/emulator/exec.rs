//! `cube emulator exec [FLAGS] -- CMD ARGS…`: a fresh emulator for the
//! length of one command, the way `firebase emulators:exec` wraps a test
//! run. The emulator starts (in memory and on a free port unless the
//! flags say otherwise), CMD runs with `CUBE_API_URL`, `CUBE_APP_ID`,
//! `CUBE_AUTH_KEY` and `CUBE_AUTH_SECRET` naming it, the emulator stops
//! (saving its data set with `--export-on-exit`), and `cube` exits with
//! CMD's status: its exit code, or 128 + the signal that killed it, as
//! shells report. SIGINT or SIGTERM to `cube` is passed on to CMD; once
//! CMD has ended (killed if it outlives [`GRACE`] or a second signal) the
//! emulator stops too.

use std::ffi::OsString;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitStatus;
use std::time::Duration;

use clap::parser::ValueSource;
use clap::{Arg, ArgMatches, Args, Command, FromArgMatches};
use cube_emulator::cli::EmulatorArgs;
use cube_emulator::{Emulator, EmulatorConfig, Storage};

use crate::error::{Failure, Result, Status};

/// How long CMD has to end after `cube` passed a stop signal on to it,
/// before it is killed.
const GRACE: Duration = Duration::from_secs(10);
/// The id of the command's argument.
const COMMAND: &str = "command";
/// The shells' statuses for a command that could not be run.
const NOT_FOUND: u8 = 127;
const NOT_EXECUTABLE: u8 = 126;

/// The emulator's own flags, and the command to run. Whether the storage
/// and the address were given (by flag or variable) is kept: unless they
/// were, the emulator is in memory on a free port.
#[derive(Debug)]
pub(crate) struct ExecCommand {
    args: EmulatorArgs,
    storage_given: bool,
    listen_given: bool,
    command: Vec<OsString>,
}

impl FromArgMatches for ExecCommand {
    fn from_arg_matches(matches: &ArgMatches) -> std::result::Result<Self, clap::Error> {
        let given = |id: &str| {
            matches!(
                matches.value_source(id),
                Some(ValueSource::CommandLine | ValueSource::EnvVariable)
            )
        };
        Ok(Self {
            args: EmulatorArgs::from_arg_matches(matches)?,
            storage_given: given("data_dir") || given("in_memory"),
            listen_given: given("listen"),
            command: matches
                .get_many::<OsString>(COMMAND)
                .map(|values| values.cloned().collect())
                .unwrap_or_default(),
        })
    }

    fn update_from_arg_matches(
        &mut self,
        matches: &ArgMatches,
    ) -> std::result::Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl Args for ExecCommand {
    fn augment_args(command: Command) -> Command {
        EmulatorArgs::augment_args(command).arg(
            Arg::new(COMMAND)
                .value_name("CMD")
                .help("The command to run against the emulator, and its arguments (after --)")
                .num_args(1..)
                .last(true)
                .required(true)
                .value_parser(clap::value_parser!(OsString)),
        )
    }

    fn augment_args_for_update(command: Command) -> Command {
        Self::augment_args(command)
    }
}

/// Runs CMD against a fresh emulator; `Ok` when CMD succeeded, otherwise
/// a failure whose status is CMD's (or `cube`'s own, with a reason, when
/// the emulator or CMD could not start, or the data set was not saved).
pub(crate) fn run(command: ExecCommand) -> Result<()> {
    let ExecCommand {
        args,
        storage_given,
        listen_given,
        command,
    } = command;
    let mut config = args.into_config();
    if !storage_given {
        config.storage = Storage::InMemory;
    }
    if !listen_given {
        config.listen = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::refused(format!("cannot start the runtime: {e}")))?;
    runtime.block_on(run_against(config, command))
}

async fn run_against(config: EmulatorConfig, command: Vec<OsString>) -> Result<()> {
    let (program, arguments) = command
        .split_first()
        .ok_or_else(|| Failure::usage("no command to run: give one after --"))?;
    // Listened to before anything starts, so that no signal is missed.
    let mut signals = signals::Signals::new()
        .map_err(|e| Failure::refused(format!("cannot listen to SIGINT and SIGTERM: {e}")))?;
    let emulator = tokio::select! {
        started = Emulator::start(config) => {
            started.map_err(|e| Failure::refused(format!("cannot start the emulator: {e}")))?
        }
        signal = signals.next() => return Err(Failure::exit(signal_status(signal))),
    };
    let spawned = tokio::process::Command::new(program)
        .args(arguments)
        .env("CUBE_API_URL", emulator.base_url())
        .env("CUBE_APP_ID", emulator.app_id().to_string())
        .env("CUBE_AUTH_KEY", emulator.auth_key())
        .env("CUBE_AUTH_SECRET", emulator.auth_secret())
        .kill_on_drop(true)
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(err) => {
            let _ = emulator.shutdown().await;
            let status = if err.kind() == std::io::ErrorKind::NotFound {
                NOT_FOUND
            } else {
                NOT_EXECUTABLE
            };
            return Err(Failure::new(
                Status::Exit(status),
                format!("cannot run {}: {err}", program.to_string_lossy()),
            ));
        }
    };
    let ended = wait(&mut child, &mut signals).await;
    let exported = emulator.shutdown().await;
    let status = match ended {
        Ok(status) => exit_status(status),
        Err(err) => {
            return Err(Failure::refused(format!(
                "lost track of {}: {err}",
                program.to_string_lossy()
            )));
        }
    };
    match exported {
        Err(err) => Err(Failure::new(
            Status::Exit(if status == 0 { 1 } else { status }),
            format!("the emulator stopped, but its data set was not saved: {err}"),
        )),
        Ok(()) if status == 0 => Ok(()),
        Ok(()) => Err(Failure::exit(status)),
    }
}

/// Waits for CMD to end. A stop signal is passed on to it; if it is still
/// running [`GRACE`] later, or when a second signal comes, it is killed.
async fn wait(
    child: &mut tokio::process::Child,
    signals: &mut signals::Signals,
) -> std::io::Result<ExitStatus> {
    let pid = child.id();
    let mut kill_at: Option<tokio::time::Instant> = None;
    loop {
        let deadline = kill_at.unwrap_or_else(|| tokio::time::Instant::now() + GRACE);
        tokio::select! {
            status = child.wait() => return status,
            signal = signals.next() => {
                if kill_at.is_some() {
                    signals::kill(pid);
                } else {
                    signals::pass_on(pid, signal);
                    kill_at = Some(tokio::time::Instant::now() + GRACE);
                }
            }
            () = tokio::time::sleep_until(deadline), if kill_at.is_some() => {
                signals::kill(pid);
                kill_at = None;
            }
        }
    }
}

/// The status a shell reports for CMD: its exit code, or 128 + the signal
/// that ended it.
fn exit_status(status: ExitStatus) -> u8 {
    if let Some(code) = status.code() {
        return u8::try_from(code & 0xff).unwrap_or(1);
    }
    #[cfg(unix)]
    if let Some(signal) = std::os::unix::process::ExitStatusExt::signal(&status) {
        return signal_status(signal);
    }
    1
}

/// 128 + `signal`, as shells report a command a signal ended.
fn signal_status(signal: i32) -> u8 {
    u8::try_from(128 + signal).unwrap_or(u8::MAX)
}

#[cfg(unix)]
mod signals {
    //! SIGINT and SIGTERM, received and passed on.

    use rustix::process::{Pid, Signal, kill_process};
    use tokio::signal::unix::{SignalKind, signal};

    pub(super) struct Signals {
        interrupt: tokio::signal::unix::Signal,
        terminate: tokio::signal::unix::Signal,
    }

    impl Signals {
        pub(super) fn new() -> std::io::Result<Self> {
            Ok(Self {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }

        /// The number of the next stop signal received.
        pub(super) async fn next(&mut self) -> i32 {
            tokio::select! {
                _ = self.interrupt.recv() => Signal::INT.as_raw(),
                _ = self.terminate.recv() => Signal::TERM.as_raw(),
            }
        }
    }

    fn send(pid: Option<u32>, signal: Signal) {
        let pid = pid
            .and_then(|p| i32::try_from(p).ok())
            .and_then(Pid::from_raw);
        if let Some(pid) = pid {
            // It may have ended meanwhile (not yet reaped: the id is still
            // its own); then there is nothing to do.
            let _ = kill_process(pid, signal);
        }
    }

    /// Sends CMD the signal `cube` received.
    pub(super) fn pass_on(pid: Option<u32>, number: i32) {
        let signal = if number == Signal::INT.as_raw() {
            Signal::INT
        } else {
            Signal::TERM
        };
        send(pid, signal);
    }

    /// Ends CMD now.
    pub(super) fn kill(pid: Option<u32>) {
        send(pid, Signal::KILL);
    }
}

#[cfg(not(unix))]
mod signals {
    //! Ctrl-C, where there are no signals to pass on: CMD is ended.

    pub(super) struct Signals;

    impl Signals {
        pub(super) fn new() -> std::io::Result<Self> {
            Ok(Self)
        }

        pub(super) async fn next(&mut self) -> i32 {
            let _ = tokio::signal::ctrl_c().await;
            2
        }
    }

    pub(super) fn pass_on(pid: Option<u32>, _number: i32) {
        kill(pid);
    }

    pub(super) fn kill(pid: Option<u32>) {
        if let Some(pid) = pid {
            let _ = std::process::Command::new("taskkill")
                .args(["/F", "/PID", &pid.to_string()])
                .status();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, Parser};

    #[derive(Debug, Parser)]
    struct Wrap {
        #[command(flatten)]
        exec: ExecCommand,
    }

    /// The flags alone (the process's variables left out).
    fn parse(args: &[&str]) -> std::result::Result<ExecCommand, clap::Error> {
        let matches = Wrap::command()
            .mut_args(|arg| arg.env(None))
            .try_get_matches_from(std::iter::once("exec").chain(args.iter().copied()))?;
        Ok(Wrap::from_arg_matches(&matches)?.exec)
    }

    #[test]
    fn the_emulators_flags_then_the_command() {
        let exec = parse(&["--app-id", "3", "--", "sh", "-c", "exit 7", "--listen"]).unwrap();
        assert_eq!(exec.command, ["sh", "-c", "exit 7", "--listen"]);
        assert!(!exec.storage_given && !exec.listen_given);
        assert_eq!(exec.args.into_config().app_id, 3);
        let exec = parse(&["--data-dir", "d", "--listen", "127.0.0.1:9", "--", "true"]).unwrap();
        assert!(exec.storage_given && exec.listen_given);
        assert!(parse(&["--in-memory", "--", "true"]).unwrap().storage_given);
        for bad in [
            &[][..],
            &["--"],
            &["true"],
            &["--app-id", "0", "--", "true"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn statuses_are_the_shells() {
        assert_eq!(signal_status(15), 143);
        assert_eq!(signal_status(2), 130);
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            assert_eq!(exit_status(ExitStatus::from_raw(7 << 8)), 7);
            assert_eq!(exit_status(ExitStatus::from_raw(9)), 137);
        }
    }
}
