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
        return read_stdin_lines(prompts.len());
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
                return Err(Failure::usage("the two passwords differ"));
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
        return Err(Failure::usage("no password given"));
    }
    Ok(text)
}

/// `n` lines of standard input, without their line ends.
pub(crate) fn read_stdin_lines(n: usize) -> Result<Vec<String>> {
    let stdin = std::io::stdin();
    let mut lines = stdin.lock();
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let mut line = String::new();
        let read = lines
            .read_line(&mut line)
            .map_err(|e| Failure::usage(format!("cannot read standard input: {e}")))?;
        let line = line.trim_end_matches(['\n', '\r']).to_owned();
        if read == 0 || line.is_empty() {
            let which = if n == 1 {
                "a line".to_owned()
            } else {
                format!("line {} of {n}", i + 1)
            };
            return Err(Failure::usage(format!(
                "standard input ended before {which}: give one password per line"
            )));
        }
        out.push(line);
    }
    Ok(out)
}

/// Asks a yes-or-no question on the terminal; only "y" or "yes" is yes.
pub(crate) fn confirm(question: &str) -> Result<bool> {
    let mut stderr = std::io::stderr();
    let _ = write!(stderr, "{question} [y/N] ");
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
