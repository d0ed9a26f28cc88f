//! The folder an export writes into: what it may hold, and the lock that
//! keeps two exports (or an export and an import) from meeting there.
//!
//! An export writes only into a folder that is missing, empty, or holds a
//! data set this emulator wrote (its manifest names the format and this
//! version). There it replaces only the data set's own entries, the
//! manifest, the four record files and the files its `files.jsonl` lists,
//! and leaves everything else as it is. Anything else is refused with the
//! reason, and nothing in the folder is touched.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use serde_json::Value;

use super::lines::Lines;
use super::swap::{self, Disk, Recovered, STAGING};
use super::{FILE_RECORDS, FILES_DIR, FORMAT, MANIFEST, RECORD_FILES, VERSION};
use crate::files::is_uid;
use crate::limits::{LINE_MAX_BYTES, MANIFEST_MAX_BYTES, RECORDS_MAX_BYTES};

/// Why a folder is not used, or failed.
#[derive(Debug)]
pub(super) enum Problem {
    /// It holds what an export must not replace; nothing was touched.
    Refused(String),
    /// Reading or writing it failed.
    Io(io::Error),
}

impl From<io::Error> for Problem {
    fn from(err: io::Error) -> Self {
        Problem::Io(err)
    }
}

fn refused<T>(reason: impl Into<String>) -> Result<T, Problem> {
    Err(Problem::Refused(reason.into()))
}

/// A held lock on a data set's folder (none where locks are unknown),
/// released when dropped.
pub(super) struct Lock {
    _held: Option<File>,
}

/// Locks the folder `dir`: exclusively to write it, shared to read it.
/// Waits for a holder of the other kind (exports are short).
pub(super) fn lock(dir: &Path, exclusive: bool) -> io::Result<Lock> {
    #[cfg(unix)]
    {
        let file = File::open(dir)?;
        if exclusive {
            file.lock()?;
        } else {
            file.lock_shared()?;
        }
        Ok(Lock { _held: Some(file) })
    }
    #[cfg(not(unix))]
    {
        let _ = (dir, exclusive);
        Ok(Lock { _held: None })
    }
}

/// Makes `target` ready to export into: created when missing (its
/// parents too), refused when it is not a folder, locked, and cleared of
/// what an interrupted export left (finished or rolled back).
pub(super) fn prepare(target: &Path) -> Result<Lock, Problem> {
    match std::fs::symlink_metadata(target) {
        Ok(meta) if meta.is_symlink() => {
            return refused("it is a symbolic link; name the folder itself");
        }
        Ok(meta) if !meta.is_dir() => return refused("it exists and is not a folder"),
        Ok(_) => {}
        Err(err) if err.kind() == io::ErrorKind::NotFound => std::fs::create_dir_all(target)?,
        Err(err) => return Err(err.into()),
    }
    let lock = lock(target, true)?;
    settle(target)?;
    Ok(lock)
}

/// Finishes an interrupted export in `target` (locked exclusively).
pub(super) fn settle(target: &Path) -> io::Result<()> {
    match swap::recover(target, &mut Disk)? {
        Recovered::Nothing => {}
        Recovered::Dropped => {
            tracing::info!(dir = %target.display(), "removed the files of an export that stopped before it replaced anything");
        }
        Recovered::Finished => {
            tracing::warn!(dir = %target.display(), "finished an export that had stopped half-way: the data set is the one it was writing");
        }
        Recovered::RolledBack => {
            tracing::warn!(dir = %target.display(), "finished undoing an export that had failed: the data set is the one from before it");
        }
    }
    Ok(())
}

/// Whether `target` has an interrupted export to finish.
pub(super) fn unsettled(target: &Path) -> bool {
    std::fs::symlink_metadata(target.join(STAGING)).is_ok()
}

/// What an export found in its (prepared) target.
pub(super) enum Found {
    /// Nothing: a new data set goes in.
    Empty,
    /// A data set it wrote, whose `files.jsonl` lists these uids.
    DataSet(HashSet<String>),
}

const NOT_OURS: &str = "an export writes only into an empty folder or over a data set it wrote";

/// Looks at the prepared folder `target` (see the module docs).
pub(super) fn inspect(target: &Path) -> Result<Found, Problem> {
    if std::fs::read_dir(target)?.next().is_none() {
        return Ok(Found::Empty);
    }
    let manifest = target.join(MANIFEST);
    let meta = match std::fs::symlink_metadata(&manifest) {
        Ok(meta) => meta,
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            return refused(format!(
                "it holds other files and no data set (no {MANIFEST}); {NOT_OURS}; it is left \
                 alone"
            ));
        }
        Err(err) => return Err(err.into()),
    };
    if !meta.is_file() {
        return refused(format!("its {MANIFEST} is not a regular file; {NOT_OURS}"));
    }
    let mut text = Vec::new();
    File::open(&manifest)?
        .take(MANIFEST_MAX_BYTES + 1)
        .read_to_end(&mut text)?;
    let value: Option<Value> = serde_json::from_slice(&text).ok();
    if value.as_ref().and_then(|v| v.get("format")?.as_str()) != Some(FORMAT) {
        return refused(format!(
            "its {MANIFEST} is not that of a data set of this emulator; {NOT_OURS}; it is \
             left alone"
        ));
    }
    match value.as_ref().and_then(|v| v.get("version")?.as_i64()) {
        Some(VERSION) => {}
        other => {
            return refused(format!(
                "it holds a data set of version {}, which this emulator (version {VERSION}) \
                 does not write over",
                other.map_or_else(|| "unknown".to_owned(), |v| v.to_string())
            ));
        }
    }
    for name in RECORD_FILES {
        match std::fs::symlink_metadata(target.join(name)) {
            Ok(meta) if !meta.is_file() => {
                return refused(format!(
                    "its {name} is not a regular file; it is left alone"
                ));
            }
            Ok(_) => {}
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => return Err(err.into()),
        }
    }
    match std::fs::symlink_metadata(target.join(FILES_DIR)) {
        Ok(meta) if !meta.is_dir() => {
            return refused(format!("its {FILES_DIR} is not a folder; it is left alone"));
        }
        Ok(_) => {}
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            return Ok(Found::DataSet(HashSet::new()));
        }
        Err(err) => return Err(err.into()),
    }
    let listed = listed_files(target)?;
    for uid in &listed {
        match std::fs::symlink_metadata(target.join(FILES_DIR).join(uid)) {
            Ok(meta) if !meta.is_file() => {
                return refused(format!(
                    "its {FILES_DIR}/{uid} is not a regular file; it is left alone"
                ));
            }
            _ => {}
        }
    }
    Ok(Found::DataSet(listed))
}

/// The uids the data set's `files.jsonl` lists.
fn listed_files(target: &Path) -> Result<HashSet<String>, Problem> {
    let mut listed = HashSet::new();
    let file = match File::open(target.join(FILE_RECORDS)) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(listed),
        Err(err) => return Err(err.into()),
    };
    let mut budget = RECORDS_MAX_BYTES;
    let mut lines = Lines::new(file, LINE_MAX_BYTES, &mut budget);
    loop {
        let line = match lines.next_line() {
            Ok(Some((_, line))) => line,
            Ok(None) => return Ok(listed),
            Err(problem) => {
                return refused(format!(
                    "its {FILE_RECORDS} cannot be read ({problem}), so which of its files \
                     are the data set's is unknown; it is left alone"
                ));
            }
        };
        let uid = serde_json::from_slice::<Value>(line)
            .ok()
            .and_then(|record| record.get("uid")?.as_str().map(str::to_owned))
            .filter(|uid| is_uid(uid));
        if let Some(uid) = uid {
            listed.insert(uid);
        }
    }
}

/// Refuses when a file of the new data set would replace an entry of
/// `files/` that the old data set does not list.
pub(super) fn check_new_files(target: &Path, found: &Found, new: &[String]) -> Result<(), Problem> {
    let listed = match found {
        Found::Empty => return Ok(()),
        Found::DataSet(listed) => listed,
    };
    for uid in new {
        if !listed.contains(uid)
            && std::fs::symlink_metadata(target.join(FILES_DIR).join(uid)).is_ok()
        {
            return refused(format!(
                "its {FILES_DIR}/{uid} is not one of the data set's files (its {FILE_RECORDS} \
                 does not list it), and the export would replace it; it is left alone"
            ));
        }
    }
    Ok(())
}
