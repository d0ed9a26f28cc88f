//! The command line, as clap derives it: every command, flag and help text.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

/// The ConnectyCube Auth & Users API from a terminal or a script: profiles,
/// sessions that last between commands, users, avatars, and a local
/// emulator.
#[derive(Debug, Parser)]
#[command(
    name = "cube",
    version,
    after_help = "Start: `cube config set --app-id N --auth-key KEY` (and --endpoint URL for \
                  the emulator), then `cube signup`, `cube login`, `cube whoami`.\n\
                  Settings: stored per profile in the user's config directory \
                  (CUBE_CONFIG_DIR to choose another); CUBE_APP_ID, CUBE_AUTH_KEY, \
                  CUBE_AUTH_SECRET and CUBE_API_URL override them, CUBE_PROFILE picks the \
                  profile.\n\
                  Exit status: 0 done, 1 refused by the server or not found, 2 usage (the \
                  command line or the settings), 3 the server could not be reached.\n\
                  `cube COMMAND --help` tells more about each command."
)]
pub(crate) struct Cli {
    /// The profile to use (settings and session); CUBE_PROFILE when not
    /// given, else `default`.
    #[arg(long, global = true, value_name = "NAME", help_heading = GLOBAL)]
    pub(crate) profile: Option<String>,

    /// Print JSON for scripts: one document, or one line per user for lists.
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub(crate) json: bool,

    /// How long to wait for each answer of the server, and for a transfer
    /// that moves no byte: e.g. 500ms, 10s, 1.5s or 2m (a bare number is
    /// seconds), from 1ms to 1h; 30s when not given.
    #[arg(
        long,
        global = true,
        value_name = "DURATION",
        value_parser = parse_timeout,
        help_heading = GLOBAL
    )]
    pub(crate) timeout: Option<Duration>,

    /// Send each request once. By default a request answered 429, 502, 503
    /// or 504, or whose connection drops, is sent again — up to 3 tries in
    /// all, waiting as the server asks (Retry-After, up to 5s) or a little
    /// longer each time — unless it may have changed data on the server
    /// (a sign-up, an update) and might repeat it.
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub(crate) no_retry: bool,

    /// Print this process's peak memory on stderr at exit (Linux).
    #[arg(long, global = true, hide = true)]
    pub(crate) report_peak_memory: bool,

    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The heading of the options every command takes, apart from its own.
const GLOBAL: &str = "Global options";

/// The longest `--timeout`: an API call that takes longer is lost anyway.
const MAX_TIMEOUT: Duration = Duration::from_secs(3600);

/// Reads `--timeout`: a number, whole or decimal, then `ms`, `s`, `m`, `h`
/// or nothing (seconds); from 1 ms to [`MAX_TIMEOUT`].
pub(crate) fn parse_timeout(text: &str) -> Result<Duration, String> {
    let bad =
        || format!("{text:?} is not a duration: write e.g. 500ms, 10s, 1.5s or 2m (1ms to 1h)");
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let well_formed = match number.split_once('.') {
        None => !number.is_empty(),
        Some((whole, fraction)) => {
            !whole.is_empty() && !fraction.is_empty() && !fraction.contains('.')
        }
    };
    if !well_formed || number.len() > 12 {
        return Err(bad());
    }
    let value: f64 = number.parse().map_err(|_| bad())?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "" | "s" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => return Err(bad()),
    };
    let duration = Duration::try_from_secs_f64(seconds).map_err(|_| bad())?;
    // Whole milliseconds: `1.0004s` is 1s.
    let duration = Duration::from_millis(u64::try_from(duration.as_millis()).map_err(|_| bad())?);
    if duration.is_zero() || duration > MAX_TIMEOUT {
        return Err(bad());
    }
    Ok(duration)
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Store or show a profile's application settings.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Sign in with a login or an e-mail and a password; the session is
    /// kept for the next commands.
    #[command(
        after_help = "The password is asked on the terminal, without echo; scripts \
                            pass --password-stdin and write it on standard input.\n\
                            When the session expires, the next command on a terminal asks \
                            for the password again (same login); without a terminal it \
                            fails and says to sign in again.\n\
                            Example: cube login --login john_doe"
    )]
    Login(LoginArgs),
    /// Sign out: end the session on the server and forget it here.
    Logout,
    /// Show the signed-in user.
    Whoami,
    /// Show the session (kind, user, time left), or destroy sessions.
    Session(SessionArgs),
    /// Create a user with a login, an e-mail or both; sign in afterwards
    /// with `cube login`.
    #[command(
        after_help = "The password is asked twice on the terminal; scripts pass \
                            --password-stdin and write it on standard input.\n\
                            Example: cube signup --login john_doe --full-name 'John Doe' \
                            --tags early,beta"
    )]
    Signup(SignupArgs),
    /// Look users up, search them, update or delete your own.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Change the signed-in user's password.
    #[command(
        after_help = "On a terminal it asks for the current password, then the new \
                            one twice. With --password-stdin it reads two lines: the \
                            current password, then the new one."
    )]
    Passwd(PasswordSource),
    /// Have the server e-mail a password-reset link.
    ResetPassword {
        /// The account's e-mail address.
        email: String,
    },
    /// Set your avatar from an image file, or download a user's avatar.
    #[command(subcommand)]
    Avatar(AvatarCommand),
    /// Run the local emulator in the foreground (the flags of `cube-emulator`).
    Emulator(crate::emulator::EmulatorCommand),
    /// Print a completion script for a shell.
    #[command(after_help = "Example (bash): cube completions bash > \
                            ~/.local/share/bash-completion/completions/cube")]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCommand {
    /// Store settings in the profile (only the ones given change).
    #[command(after_help = "Example, for the emulator: cube config set --app-id 1 \
                            --auth-key emulator-auth-key --endpoint http://127.0.0.1:8080\n\
                            The auth secret is read from standard input: \
                            cube config set --auth-secret-stdin < secret.txt")]
    Set(ConfigSetArgs),
    /// Show the profile's settings and where each comes from; the auth
    /// secret is never shown, only whether it is set.
    Show,
}

#[derive(Debug, Args)]
pub(crate) struct ConfigSetArgs {
    /// The application id (a number, from the ConnectyCube admin panel).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) app_id: Option<u64>,
    /// The application's auth key.
    #[arg(long, value_name = "KEY")]
    pub(crate) auth_key: Option<String>,
    /// Read the auth secret from standard input (one line), so that it
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
    /// Read the password from standard input, one per line, instead of
    /// asking on the terminal (for scripts).
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
        /// The id of the session to destroy (`cube session` shows this
        /// one's).
        #[arg(long, value_name = "N", conflicts_with = "others")]
        id: Option<u64>,
        /// Destroy every session of yours but this one (other devices are
        /// signed out).
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
    /// The user's full name, as other users see it.
    #[arg(long, value_name = "NAME")]
    pub(crate) full_name: Option<String>,
    /// The user's phone number.
    #[arg(long, value_name = "PHONE")]
    pub(crate) phone: Option<String>,
    /// The user's website.
    #[arg(long, value_name = "URL")]
    pub(crate) website: Option<String>,
    /// Tags, comma-separated; they replace the user's tags.
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
    /// Show one user, by id, login, e-mail or external id.
    #[command(after_help = "Examples: cube users get 42; cube users get --login john_doe")]
    Get(GetArgs),
    /// List users by ids, tags, a full-name prefix or a phone number.
    #[command(
        after_help = "Examples: cube users find --tags beta --sort -created_at; \
                            cube users find --ids 1,2,3 --json"
    )]
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
    /// Change the signed-in user's profile (only the fields given change).
    #[command(after_help = "Example: cube users update --full-name 'John Doe' --tags early,beta")]
    Update(UpdateArgs),
    /// Delete the signed-in user for good (asks first; --yes for scripts).
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
    #[command(
        after_help = "Every user of the app can download your avatar, so only an \
                            image is uploaded: PNG, JPEG, GIF, WebP, AVIF or HEIC/HEIF, \
                            told by the file's first bytes, not its name. --any-file \
                            uploads another file anyway.\n\
                            Example: cube avatar set face.png"
    )]
    Set {
        /// The image file.
        file: PathBuf,
        /// Make the file readable without a session.
        #[arg(long)]
        public: bool,
        /// Upload the file even if it is not an image.
        #[arg(long)]
        any_file: bool,
    },
    /// Download a user's avatar (yours when no user is given).
    #[command(after_help = "Example: cube avatar get john_doe --out face.png\n\
                            `--out -` writes to standard output, which must not be a \
                            terminal: pipe it or redirect it.")]
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
    fn timeouts_read_as_people_write_them() {
        for (text, millis) in [
            ("500ms", 500),
            ("10s", 10_000),
            ("1.5s", 1_500),
            ("2m", 120_000),
            ("3", 3_000),
            ("0.25", 250),
            ("1ms", 1),
            ("1h", 3_600_000),
            ("3600", 3_600_000),
            ("60m", 3_600_000),
        ] {
            match parse_timeout(text) {
                Ok(d) => assert_eq!(d, Duration::from_millis(millis), "{text}"),
                Err(e) => assert_eq!(millis, 0, "{text}: {e}"),
            }
        }
        for bad in [
            "",
            "0",
            "0s",
            "0.0004s",
            "3601",
            "61m",
            "2h",
            "s",
            "1.s",
            ".5s",
            "1..5s",
            "-1s",
            "1 s",
            "10x",
            "1e3",
            "inf",
            "NaN",
            "99999999999999s",
        ] {
            let err = parse_timeout(bad).unwrap_err();
            assert!(err.contains("500ms, 10s"), "{bad}: {err}");
        }
    }

    #[test]
    fn login_takes_one_account() {
        assert!(Cli::try_parse_from(["cube", "login"]).is_err());
        assert!(Cli::try_parse_from(["cube", "login", "--login", "a", "--email", "b"]).is_err());
        assert!(Cli::try_parse_from(["cube", "login", "--email", "b"]).is_ok());
    }
}
