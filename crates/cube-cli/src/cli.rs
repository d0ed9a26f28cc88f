//! The command line, as clap derives it: every command, flag and help text.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// The ConnectyCube Auth & Users API from a terminal or a script: profiles,
/// sessions that last between commands, users, avatars, and a local
/// emulator.
#[derive(Debug, Parser)]
#[command(
    name = "cube",
    version,
    after_help = "Settings: `cube config set` stores them per profile in the user's config \
                  directory (CUBE_CONFIG_DIR to choose another); CUBE_APP_ID, CUBE_AUTH_KEY, \
                  CUBE_AUTH_SECRET and CUBE_API_URL override them, CUBE_PROFILE picks the \
                  profile.\n\
                  Exit status: 0 done, 1 refused by the server or not found, 2 usage, \
                  3 the server could not be reached."
)]
pub(crate) struct Cli {
    /// The profile to use (settings and session).
    #[arg(long, global = true, value_name = "NAME", env = "CUBE_PROFILE")]
    pub(crate) profile: Option<String>,

    /// Print JSON for scripts: one document, or one line per user for lists.
    #[arg(long, global = true)]
    pub(crate) json: bool,

    /// Print this process's peak memory on stderr at exit (Linux).
    #[arg(long, global = true, hide = true)]
    pub(crate) report_peak_memory: bool,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Store or show a profile's application settings.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Sign in with a login or an e-mail and a password; the session is
    /// kept for the next commands.
    Login(LoginArgs),
    /// End the session on the server and forget it here.
    Logout,
    /// Show the signed-in user.
    Whoami,
    /// Show the session (kind, user, time left), or destroy sessions.
    Session(SessionArgs),
    /// Create a user with a login, an e-mail or both (it is not signed in).
    Signup(SignupArgs),
    /// Look users up, search them, update or delete your own.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Change the signed-in user's password.
    Passwd(PasswordSource),
    /// Have the server e-mail a password-reset link.
    ResetPassword {
        /// The account's e-mail address.
        email: String,
    },
    /// Set or download an avatar.
    #[command(subcommand)]
    Avatar(AvatarCommand),
    /// Run the local emulator in the foreground (the flags of `cube-emulator`).
    Emulator(crate::emulator::EmulatorCommand),
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCommand {
    /// Store settings in the profile (only the ones given change).
    Set(ConfigSetArgs),
    /// Show the profile's settings and where each comes from; the auth
    /// secret is never shown, only whether it is set.
    Show,
}

#[derive(Debug, Args)]
pub(crate) struct ConfigSetArgs {
    /// The application id.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) app_id: Option<u64>,
    /// The application's auth key.
    #[arg(long, value_name = "KEY")]
    pub(crate) auth_key: Option<String>,
    /// The auth secret, read from standard input (one line), so that it
    /// stays out of the shell's history.
    #[arg(long, conflicts_with = "clear_auth_secret")]
    pub(crate) auth_secret_stdin: bool,
    /// Forget the auth secret (session requests go unsigned).
    #[arg(long)]
    pub(crate) clear_auth_secret: bool,
    /// The API endpoint, e.g. http://127.0.0.1:8080 for the emulator.
    #[arg(long, value_name = "URL")]
    pub(crate) endpoint: Option<String>,
    /// Forget the endpoint (back to the production service).
    #[arg(long, conflicts_with = "endpoint")]
    pub(crate) clear_endpoint: bool,
}

/// A login or an e-mail: exactly one.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub(crate) struct AccountArgs {
    /// The user's login.
    #[arg(long, value_name = "LOGIN")]
    pub(crate) login: Option<String>,
    /// The user's e-mail address.
    #[arg(long, value_name = "EMAIL")]
    pub(crate) email: Option<String>,
}

/// Where a password comes from.
#[derive(Debug, Args)]
pub(crate) struct PasswordSource {
    /// Read the password(s) from standard input, one per line, instead of
    /// asking on the terminal.
    #[arg(long)]
    pub(crate) password_stdin: bool,
}

#[derive(Debug, Args)]
pub(crate) struct LoginArgs {
    #[command(flatten)]
    pub(crate) account: AccountArgs,
    #[command(flatten)]
    pub(crate) password: PasswordSource,
}

#[derive(Debug, Args)]
pub(crate) struct SessionArgs {
    #[command(subcommand)]
    pub(crate) command: Option<SessionCommand>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum SessionCommand {
    /// Destroy the current session (as `cube logout`), another one of
    /// yours by id, or all the others.
    Destroy {
        /// The session to destroy.
        #[arg(long, value_name = "N", conflicts_with = "others")]
        id: Option<u64>,
        /// Destroy every session of yours but this one.
        #[arg(long)]
        others: bool,
    },
}

/// A new user's login, e-mail, or both.
#[derive(Debug, Args)]
#[group(required = true, multiple = true)]
pub(crate) struct NewAccountArgs {
    /// The new user's login.
    #[arg(long, value_name = "LOGIN")]
    pub(crate) login: Option<String>,
    /// The new user's e-mail address.
    #[arg(long, value_name = "EMAIL")]
    pub(crate) email: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct SignupArgs {
    #[command(flatten)]
    pub(crate) account: NewAccountArgs,
    #[command(flatten)]
    pub(crate) password: PasswordSource,
    #[command(flatten)]
    pub(crate) profile: ProfileFields,
}

/// The profile fields a user sets at sign-up or later.
#[derive(Debug, Args, Default)]
pub(crate) struct ProfileFields {
    /// Full name.
    #[arg(long, value_name = "NAME")]
    pub(crate) full_name: Option<String>,
    /// Phone number.
    #[arg(long, value_name = "PHONE")]
    pub(crate) phone: Option<String>,
    /// Website.
    #[arg(long, value_name = "URL")]
    pub(crate) website: Option<String>,
    /// Tags, comma-separated (replaces them all).
    #[arg(long, value_name = "TAG,…", value_delimiter = ',')]
    pub(crate) tags: Option<Vec<String>>,
    /// The app's own id for the user.
    #[arg(long, value_name = "ID")]
    pub(crate) external_id: Option<String>,
    /// The older `external_user_id`, kept apart from --external-id.
    #[arg(long, value_name = "ID")]
    pub(crate) external_user_id: Option<u64>,
    /// Free-form data the app keeps with the user.
    #[arg(long, value_name = "TEXT")]
    pub(crate) custom_data: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum UsersCommand {
    /// One user, by id, login, e-mail or external id.
    Get(GetArgs),
    /// Users by ids, tags, a full-name prefix or a phone number.
    Find(FindArgs),
    /// Search with filters: --where 'FIELD OP VALUE' (repeatable).
    #[command(
        after_help = "FIELD: id, login, email, full_name, phone, external_id, \
                      facebook_id, twitter_id, user_tags, created_at, updated_at, \
                      last_request_at.\n\
                      OP: eq (=), in, nin (not_in), start_with, gt (>), lt (<), gte (>=), \
                      lte (<=); in and nin take comma-separated values; dates are \
                      YYYY-MM-DD or RFC 3339.\n\
                      The server needs one eq, in or start_with on a field that is not a date; \
                      start_with takes 4 characters or more and answers pages of 5.\n\
                      Example: cube users search --where 'login start_with john' \
                      --where 'created_at gt 2026-01-01' --sort -created_at --limit 20"
    )]
    Search(SearchArgs),
    /// Change the signed-in user's profile.
    Update(UpdateArgs),
    /// Delete the signed-in user (asks first; --yes for scripts).
    DeleteMe {
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Args)]
#[group(id = "by", required = true, multiple = false, args = ["id", "login", "email", "external_id"])]
pub(crate) struct GetArgs {
    /// The user's id.
    pub(crate) id: Option<u64>,
    /// The user's login.
    #[arg(long, value_name = "LOGIN")]
    pub(crate) login: Option<String>,
    /// The user's e-mail address.
    #[arg(long, value_name = "EMAIL")]
    pub(crate) email: Option<String>,
    /// The app's own id for the user.
    #[arg(long, value_name = "ID")]
    pub(crate) external_id: Option<String>,
}

/// Which page, sorted how, or every page.
#[derive(Debug, Args)]
pub(crate) struct PageArgs {
    /// Sort by a field: `created_at` ascending, `-created_at` descending.
    #[arg(long, value_name = "[-]FIELD", allow_hyphen_values = true)]
    pub(crate) sort: Option<String>,
    /// Users per page (1 to 100).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100))]
    pub(crate) limit: Option<u32>,
    /// Skip this many users.
    #[arg(long, value_name = "N")]
    pub(crate) offset: Option<u64>,
    /// Fetch every page, printing each as it comes.
    #[arg(long)]
    pub(crate) all: bool,
}

#[derive(Debug, Args)]
#[group(id = "what", required = true, multiple = false, args = ["ids", "tags", "full_name", "phone"])]
pub(crate) struct FindArgs {
    /// User ids, comma-separated (any number, in the order given).
    #[arg(long, value_name = "ID,…", value_delimiter = ',')]
    pub(crate) ids: Option<Vec<u64>>,
    /// Users with any of these tags, comma-separated.
    #[arg(long, value_name = "TAG,…", value_delimiter = ',')]
    pub(crate) tags: Option<Vec<String>>,
    /// Users whose full name starts with this (4 characters or more; an
    /// exact match under 4).
    #[arg(long, value_name = "PREFIX")]
    pub(crate) full_name: Option<String>,
    /// Users with this phone number.
    #[arg(long, value_name = "PHONE")]
    pub(crate) phone: Option<String>,
    #[command(flatten)]
    pub(crate) page: PageArgs,
}

#[derive(Debug, Args)]
pub(crate) struct SearchArgs {
    /// A filter, `FIELD OP VALUE`, e.g. 'login start_with john'.
    #[arg(long = "where", value_name = "FILTER", required = true)]
    pub(crate) filters: Vec<String>,
    #[command(flatten)]
    pub(crate) page: PageArgs,
}

#[derive(Debug, Args)]
pub(crate) struct UpdateArgs {
    /// A new login.
    #[arg(long, value_name = "LOGIN")]
    pub(crate) login: Option<String>,
    /// A new e-mail address.
    #[arg(long, value_name = "EMAIL")]
    pub(crate) email: Option<String>,
    #[command(flatten)]
    pub(crate) profile: ProfileFields,
}

#[derive(Debug, Subcommand)]
pub(crate) enum AvatarCommand {
    /// Upload an image and make it your avatar (a progress bar on a
    /// terminal; the file is streamed, never held in memory).
    Set {
        /// The image file.
        file: PathBuf,
        /// Make the file readable without a session.
        #[arg(long)]
        public: bool,
    },
    /// Download a user's avatar (yours when no user is given).
    Get {
        /// The user: an id, or a login.
        user: Option<String>,
        /// Where to write it; `-` for standard output.
        #[arg(long, short, value_name = "FILE")]
        out: PathBuf,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn a_sort_may_start_with_a_dash() {
        let cli = Cli::try_parse_from([
            "cube", "users", "search", "--where", "id in 1", "--sort", "-id",
        ])
        .unwrap();
        match cli.command {
            Command::Users(UsersCommand::Search(args)) => {
                assert_eq!(args.page.sort.as_deref(), Some("-id"))
            }
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn login_takes_one_account() {
        assert!(Cli::try_parse_from(["cube", "login"]).is_err());
        assert!(Cli::try_parse_from(["cube", "login", "--login", "a", "--email", "b"]).is_err());
        assert!(Cli::try_parse_from(["cube", "login", "--email", "b"]).is_ok());
    }
}
