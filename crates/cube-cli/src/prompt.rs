//! Asking the person at the terminal: passwords without echo, and yes or
//! no; or, for scripts, passwords read from standard input.

use crate::cli::PasswordSource;
use crate::error::{Failure, Result};
use std::io::{BufRead, IsTerminal, Write};

/// Whether someone can be asked: standard input is a terminal.
pub(crate) fn interactive() -> bool {
    std::io::stdin().is_terminal()
}

/// Asks for a password on the terminal, without echo.
pub(crate) fn password(prompt: &str) -> std::io::Result<String> {
    rpassword::prompt_password(prompt)
}

/// The passwords a command needs, in the order of `prompts`: from standard
/// input (one per line) with `--password-stdin`, else asked on the
/// terminal. A `new` password is asked twice on the terminal.
pub(crate) fn passwords(source: &PasswordSource, prompts: &[(&str, Kind)]) -> Result<Vec<String>> {
    if source.password_stdin {
        let names: Vec<String> = prompts
            .iter()
            .map(|(prompt, _)| prompt.trim_end_matches([':', ' ']).to_lowercase())
            .collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        return read_stdin_lines(&names);
    }
    if !interactive() {
        return Err(Failure::usage(
            "no terminal to ask for the password on: pass --password-stdin and write it to standard input",
        ));
    }
    let mut out = Vec::with_capacity(prompts.len());
    for (prompt, kind) in prompts {
        let first = ask(prompt)?;
        if *kind == Kind::New {
            let again = ask("Repeat it: ")?;
            if again != first {
                return Err(Failure::usage(
                    "the password typed again differs from the first: nothing was sent",
                ));
            }
        }
        out.push(first);
    }
    Ok(out)
}

/// Whether a password is an existing one or a new one (asked twice).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Current,
    New,
}

fn ask(prompt: &str) -> Result<String> {
    let text =
        password(prompt).map_err(|e| Failure::usage(format!("cannot read the password: {e}")))?;
    if text.is_empty() {
        return Err(Failure::usage(
            "the password typed was empty: nothing was sent",
        ));
    }
    Ok(text)
}

/// One line of standard input for each of `what` (e.g. "password", "new
/// password"), without their line ends; an empty line or a missing one
/// is refused, saying which.
pub(crate) fn read_stdin_lines(what: &[&str]) -> Result<Vec<String>> {
    let stdin = std::io::stdin();
    let mut lines = stdin.lock();
    let mut out = Vec::with_capacity(what.len());
    for (i, name) in what.iter().enumerate() {
        let mut line = String::new();
        let read = lines.read_line(&mut line).map_err(|e| {
            Failure::usage(format!("cannot read the {name} from standard input: {e}"))
        })?;
        if read == 0 {
            return Err(Failure::usage(if i == 0 {
                format!("standard input is empty: the {name} was to be its first line")
            } else {
                format!(
                    "standard input ended after line {i}: the {name} was to be line {} of {}",
                    i + 1,
                    what.len()
                )
            }));
        }
        let line = line.trim_end_matches(['\n', '\r']).to_owned();
        if line.is_empty() {
            return Err(Failure::usage(format!(
                "the {name} on line {} of standard input is empty",
                i + 1
            )));
        }
        out.push(line);
    }
    Ok(out)
}

/// Asks a yes-or-no question on the terminal; only "y" or "yes" is yes.
pub(crate) fn confirm(question: &str) -> Result<bool> {
    let mut stderr = std::io::stderr();
    let _ = write!(stderr, "{} [y/N] ", crate::terminal::text(question));
    let _ = stderr.flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Failure::usage(format!("cannot read the answer: {e}")))?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}
