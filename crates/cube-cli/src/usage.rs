//! A mistake on the command line as one line for people: what is wrong or
//! missing, named, and the help of the (sub)command it concerns.

use crate::cli::Cli;
use clap::CommandFactory;
use clap::error::{ContextKind, ContextValue, ErrorKind};
use std::ffi::OsStr;

/// The line to print (without the `cube: ` prefix) for a parse error of
/// the command line `args` (the program's name first).
pub(crate) fn line<S: AsRef<OsStr>>(err: &clap::Error, args: &[S]) -> String {
    let command = command_path(args);
    let see = format!("see `{command} --help`");
    if err.kind() == ErrorKind::MissingRequiredArgument
        && let Some(ContextValue::Strings(missing)) = err.get(ContextKind::InvalidArg)
        && !missing.is_empty()
    {
        let wanted: Vec<String> = missing.iter().map(|m| alternatives(m)).collect();
        return format!("`{command}` needs {}; {see}", wanted.join(" and "));
    }
    let text = err.to_string();
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or("invalid command line");
    let mut line = first.strip_prefix("error: ").unwrap_or(first).to_owned();
    for tip in lines.filter(|l| l.starts_with("tip:")) {
        line.push_str(&format!(" ({tip})"));
    }
    format!("{line}; {see}")
}

/// The (sub)command `args` name, e.g. `cube users get`: the subcommand
/// names found walking the command line, skipping flags and their values.
fn command_path<S: AsRef<OsStr>>(args: &[S]) -> String {
    let mut command = Cli::command();
    command.build();
    let mut path = vec!["cube".to_owned()];
    let mut args = args.iter().skip(1).map(|a| a.as_ref().to_string_lossy());
    while let Some(arg) = args.next() {
        if arg == "--" {
            break;
        }
        let takes_value = if let Some(long) = arg.strip_prefix("--") {
            !long.contains('=')
                && command
                    .get_arguments()
                    .find(|a| a.get_long() == Some(long))
                    .is_some_and(|a| a.get_action().takes_values())
        } else if let Some(short) = arg.strip_prefix('-').filter(|s| !s.is_empty()) {
            // `-o FILE`, not `-oFILE`.
            let mut chars = short.chars();
            let flag = chars.next();
            chars.next().is_none()
                && command
                    .get_arguments()
                    .find(|a| a.get_short() == flag)
                    .is_some_and(|a| a.get_action().takes_values())
        } else {
            match command.find_subcommand(arg.as_ref()).cloned() {
                Some(sub) => {
                    path.push(sub.get_name().to_owned());
                    command = sub;
                }
                // A positional value, or an unknown word: the path so far.
                None if command.has_subcommands() => break,
                None => {}
            }
            false
        };
        if takes_value {
            args.next();
        }
    }
    path.join(" ")
}

/// A missing argument as clap names it, with a group of alternatives
/// (`<--login <LOGIN>|--email <EMAIL>>`) read as `--login <LOGIN> or
/// --email <EMAIL>`.
fn alternatives(missing: &str) -> String {
    let inner = missing
        .strip_prefix('<')
        .and_then(|m| m.strip_suffix('>'))
        .unwrap_or(missing);
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '<' | '[' => depth += 1,
            '>' | ']' => depth = depth.saturating_sub(1),
            '|' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    if parts.len() < 2 {
        return missing.to_owned();
    }
    let last = parts.pop().unwrap_or_default();
    format!("{} or {last}", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn error_line(args: &[&str]) -> String {
        let err = Cli::try_parse_from(args).unwrap_err();
        line(&err, args)
    }

    #[test]
    fn what_is_missing_is_named_with_the_subcommands_help() {
        assert_eq!(
            error_line(&["cube", "login"]),
            "`cube login` needs --login <LOGIN> or --email <EMAIL>; see `cube login --help`"
        );
        assert_eq!(
            error_line(&["cube", "avatar", "get"]),
            "`cube avatar get` needs --out <FILE>; see `cube avatar get --help`"
        );
        assert_eq!(
            error_line(&["cube", "users", "get"]),
            "`cube users get` needs ID, --login <LOGIN>, --email <EMAIL> or --external-id <ID>; \
             see `cube users get --help`"
        );
    }

    #[test]
    fn other_mistakes_point_at_the_subcommands_help_too() {
        let typo = error_line(&["cube", "login", "--logn", "x"]);
        assert!(typo.contains("'--logn'") && typo.contains("tip:"), "{typo}");
        assert!(typo.ends_with("see `cube login --help`"), "{typo}");
        let unknown = error_line(&["cube", "nonsense"]);
        assert!(unknown.ends_with("see `cube --help`"), "{unknown}");
        let value = error_line(&["cube", "--profile", "users", "users", "get", "seven"]);
        assert!(value.ends_with("see `cube users get --help`"), "{value}");
        let out = error_line(&["cube", "avatar", "get", "-o", "set", "--bad"]);
        assert!(out.ends_with("see `cube avatar get --help`"), "{out}");
        let shell = error_line(&["cube", "completions", "tcsh"]);
        assert!(shell.contains("'tcsh'"), "{shell}");
        assert!(shell.ends_with("see `cube completions --help`"), "{shell}");
    }

    #[test]
    fn groups_read_as_alternatives() {
        assert_eq!(alternatives("--out <FILE>"), "--out <FILE>");
        assert_eq!(alternatives("<SHELL>"), "<SHELL>");
        assert_eq!(
            alternatives("<--a <A>|--b <B>|<C>>"),
            "--a <A>, --b <B> or <C>"
        );
    }
}
