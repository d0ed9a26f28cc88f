//! One module per group of commands; each runs on the SDK and prints
//! through [`Output`].

mod avatar;
mod config;
mod session;
mod users;

use crate::cli::{Cli, Command};
use crate::config::{Place, Settings};
use crate::error::Result;
use crate::output::Output;
use crate::session::{Connected, Restore};
use cube_blocking::RetryPolicy;
use std::time::Duration;

/// One run of a command: the profile's place, the output mode, the
/// `--timeout` given and the retry policy (`--no-retry`).
pub(crate) struct Invocation {
    pub(crate) place: Place,
    pub(crate) out: Output,
    pub(crate) timeout: Option<Duration>,
    pub(crate) retry: RetryPolicy,
}

impl Invocation {
    /// The profile's settings, the variables over the stored ones.
    pub(crate) fn settings(&self) -> Result<Settings> {
        Settings::resolve(&self.place, &self.place.load()?)
    }

    /// A client with the profile's session resumed.
    pub(crate) fn connect(&self, restore: Restore) -> Result<Connected> {
        Connected::open(
            &self.place,
            self.settings()?,
            restore,
            self.timeout,
            self.retry,
        )
    }
}

/// Runs the command.
pub(crate) fn run(cli: Cli) -> Result<()> {
    let profile = cli.profile;
    let out = Output::new(cli.json);
    let timeout = cli.timeout;
    let retry = if cli.no_retry {
        RetryPolicy::none()
    } else {
        RetryPolicy::standard()
    };
    let invocation = || -> Result<Invocation> {
        Ok(Invocation {
            place: Place::new(profile.clone())?,
            out,
            timeout,
            retry,
        })
    };
    match cli.command {
        Command::Config(command) => config::run(&invocation()?, command),
        Command::Login(args) => session::login(&invocation()?, args),
        Command::Logout => session::logout(&invocation()?),
        Command::Whoami => session::whoami(&invocation()?),
        Command::Session(args) => session::run(&invocation()?, args),
        Command::Signup(args) => users::signup(&invocation()?, args),
        Command::Users(command) => users::run(&invocation()?, command),
        Command::Passwd(source) => users::passwd(&invocation()?, &source),
        Command::ResetPassword { email } => users::reset_password(&invocation()?, &email),
        Command::Avatar(command) => avatar::run(&invocation()?, command),
        Command::Emulator(args) => crate::emulator::run(args),
        Command::Completions { shell } => completions(shell),
    }
}

/// Prints the completion script of `shell` for the whole command line.
fn completions(shell: clap_complete::Shell) -> Result<()> {
    use clap::CommandFactory;
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "cube", &mut script);
    crate::output::write_stdout(&String::from_utf8_lossy(&script))
}
