//! What commands print on standard output: aligned tables for people, JSON
//! with `--json` for scripts (one document per command, one line per user
//! for lists, so that `--all` streams). Notes for people go to standard
//! error.

use crate::error::{Failure, Result, Status};
use crate::terminal;
use cube_blocking::User;
use serde_json::{Value, json};
use std::io::{IsTerminal, Write};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The widest a table cell gets before it is cut with an ellipsis.
const MAX_CELL: usize = 40;

/// Where and how results are printed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Output {
    json: bool,
}

impl Output {
    pub(crate) fn new(json: bool) -> Self {
        Self { json }
    }

    pub(crate) fn is_json(&self) -> bool {
        self.json
    }

    /// One JSON document (with `--json`), indented on a terminal.
    pub(crate) fn document(&self, value: &Value) -> Result<()> {
        let text = terminal::json(value, std::io::stdout().is_terminal());
        write_stdout(&format!("{text}\n"))
    }

    /// A result: the JSON document with `--json`, else a line for people.
    pub(crate) fn result(&self, value: Value, line: &str) -> Result<()> {
        if self.json {
            self.document(&value)
        } else {
            Self::line(line)
        }
    }

    /// A line for people, made safe for a terminal.
    pub(crate) fn line(line: &str) -> Result<()> {
        write_stdout(&format!("{}\n", terminal::text(line)))
    }

    /// Name–value rows, aligned (for people); the values made safe for a
    /// terminal.
    pub(crate) fn fields(&self, rows: &[(&str, String)]) -> Result<()> {
        let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        let mut text = String::new();
        for (name, value) in rows {
            text.push_str(&format!("{name:<width$}  {}\n", terminal::text(value)));
        }
        write_stdout(&text)
    }

    /// A user: its JSON document, or its fields that have a value.
    pub(crate) fn user(&self, user: &User) -> Result<()> {
        if self.json {
            return self.document(&user_json(user));
        }
        let rows: Vec<(&str, String)> = user_fields(user)
            .into_iter()
            .filter_map(|(name, value)| value.map(|v| (name, v)))
            .collect();
        self.fields(&rows)
    }
}

/// Writes to standard output; a reader that went away (`| head`) ends the
/// command quietly.
pub(crate) fn write_stdout(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                Failure::new(Status::OutputClosed, "")
            } else {
                Failure::refused(format!("cannot write to standard output: {e}"))
            }
        })
}

/// A user as JSON: every field, `null` when unset, times in RFC 3339.
pub(crate) fn user_json(u: &User) -> Value {
    json!({
        "id": u.id,
        "login": u.login,
        "email": u.email,
        "full_name": u.full_name,
        "phone": u.phone,
        "website": u.website,
        "user_tags": u.user_tags,
        "external_user_id": u.external_user_id,
        "external_id": u.external_id,
        "facebook_id": u.facebook_id,
        "twitter_id": u.twitter_id,
        "blob_id": u.blob_id,
        "avatar": u.avatar,
        "custom_data": u.custom_data,
        "timezone": u.timezone,
        "is_guest": u.is_guest,
        "created_at": u.created_at.map(rfc3339),
        "updated_at": u.updated_at.map(rfc3339),
        "last_request_at": u.last_request_at.map(rfc3339),
    })
}

fn user_fields(u: &User) -> Vec<(&'static str, Option<String>)> {
    let tags = (!u.user_tags.is_empty()).then(|| u.user_tags.join(","));
    vec![
        ("id", Some(u.id.to_string())),
        ("login", u.login.clone()),
        ("email", u.email.clone()),
        ("full name", u.full_name.clone()),
        ("phone", u.phone.clone()),
        ("website", u.website.clone()),
        ("tags", tags),
        ("external id", u.external_id.clone()),
        (
            "external user id",
            u.external_user_id.map(|id| id.to_string()),
        ),
        ("facebook id", u.facebook_id.clone()),
        ("twitter id", u.twitter_id.clone()),
        ("avatar", u.avatar.clone()),
        ("custom data", u.custom_data.clone()),
        ("timezone", u.timezone.map(|t| t.to_string())),
        ("guest", u.is_guest.filter(|g| *g).map(|_| "yes".to_owned())),
        ("created", u.created_at.map(human_time)),
        ("updated", u.updated_at.map(human_time)),
        ("last request", u.last_request_at.map(human_time)),
    ]
}

pub(crate) fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// `2026-11-24 16:47:57 UTC`.
pub(crate) fn human_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    t.format(&format)
        .map(|s| format!("{s} UTC"))
        .unwrap_or_else(|_| rfc3339(t))
}

/// `1h 59m 58s`.
pub(crate) fn human_duration(seconds: i64) -> String {
    if seconds <= 0 {
        return "0s".to_owned();
    }
    let (h, m, s) = (seconds / 3600, seconds % 3600 / 60, seconds % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m {s:02}s"),
        _ => format!("{h}h {m:02}m {s:02}s"),
    }
}

/// `104857600 bytes` as `100.0 MiB`.
pub(crate) fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// Users printed page by page as they arrive: table rows under one header
/// (the columns sized by the first page), or one JSON line per user.
pub(crate) struct UserList {
    out: Output,
    widths: Option<Vec<usize>>,
    shown: u64,
}

const COLUMNS: [&str; 6] = ["ID", "LOGIN", "EMAIL", "FULL NAME", "TAGS", "CREATED"];

impl UserList {
    pub(crate) fn new(out: Output) -> Self {
        Self {
            out,
            widths: None,
            shown: 0,
        }
    }

    pub(crate) fn page(&mut self, users: &[User]) -> Result<()> {
        self.shown += users.len() as u64;
        let mut text = String::new();
        if self.out.json {
            for user in users {
                text.push_str(&terminal::json(&user_json(user), false));
                text.push('\n');
            }
            return write_stdout(&text);
        }
        if users.is_empty() {
            return Ok(());
        }
        let rows: Vec<[String; 6]> = users.iter().map(row).collect();
        let widths = self.widths.get_or_insert_with(|| {
            let widths: Vec<usize> = (0..COLUMNS.len())
                .map(|i| {
                    rows.iter()
                        .map(|r| r[i].chars().count())
                        .chain([COLUMNS[i].len()])
                        .max()
                        .unwrap_or(0)
                })
                .collect();
            text.push_str(&line(&COLUMNS.map(str::to_owned), &widths));
            widths
        });
        for row in &rows {
            text.push_str(&line(row, widths));
        }
        write_stdout(&text)
    }

    /// Ends the list: says so when it was empty, and (for people) how to
    /// see more when the page, `(offset, total)`, is not all there is.
    pub(crate) fn finish(self, page: Option<(u64, u64)>) -> Result<()> {
        if self.out.json {
            return Ok(());
        }
        if self.shown == 0 {
            return write_stdout("No users found.\n");
        }
        if let Some((skip, total)) = page.filter(|(_, total)| *total > self.shown) {
            eprintln!(
                "Showing users {}-{} of {total}: --all for every page, --offset to move.",
                skip + 1,
                skip + self.shown
            );
        }
        Ok(())
    }
}

/// A user's table row: the server's text made safe for a terminal, then
/// cut to the cell's width.
fn row(u: &User) -> [String; 6] {
    let cell = |v: &str| cut(&terminal::text(v));
    let or_dash = |v: &Option<String>| cell(v.as_deref().unwrap_or("-"));
    [
        u.id.to_string(),
        or_dash(&u.login),
        or_dash(&u.email),
        or_dash(&u.full_name),
        cell(&if u.user_tags.is_empty() {
            "-".to_owned()
        } else {
            u.user_tags.join(",")
        }),
        u.created_at
            .map(|t| t.date().to_string())
            .unwrap_or_else(|| "-".to_owned()),
    ]
}

fn cut(text: &str) -> String {
    if text.chars().count() <= MAX_CELL {
        text.to_owned()
    } else {
        let mut s: String = text.chars().take(MAX_CELL - 1).collect();
        s.push('…');
        s
    }
}

fn line(cells: &[String], widths: &[usize]) -> String {
    let mut text = String::new();
    for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
        if i + 1 == cells.len() {
            text.push_str(cell);
        } else {
            let pad = width.saturating_sub(cell.chars().count());
            text.push_str(cell);
            text.push_str(&" ".repeat(pad + 2));
        }
    }
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_sizes_read_well() {
        assert_eq!(human_duration(7199), "1h 59m 59s");
        assert_eq!(human_duration(61), "1m 01s");
        assert_eq!(human_duration(5), "5s");
        assert_eq!(human_duration(-3), "0s");
        assert_eq!(human_size(1023), "1023 B");
        assert_eq!(human_size(100 * 1024 * 1024), "100.0 MiB");
    }

    #[test]
    fn long_cells_are_cut_and_columns_align() {
        assert_eq!(cut(&"x".repeat(41)).chars().count(), 40);
        let text = line(&["1".into(), "ab".into(), "c".into()], &[3, 2, 1]);
        assert_eq!(text, "1    ab  c\n");
    }

    #[test]
    fn a_user_in_json_has_every_field() {
        let value = user_json(&User::with_id(5));
        assert_eq!(value["id"], 5);
        assert!(value["login"].is_null());
        assert_eq!(value.as_object().unwrap().len(), 19);
    }
}
