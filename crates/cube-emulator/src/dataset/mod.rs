//! Saved data sets: `--import DIR`, `--export-on-exit DIR` and
//! `POST /_emulator/export`. A data set is a folder (format version 1,
//! described in `docs/EMULATOR.md`, "Data sets"):
//!
//! ```text
//! manifest.json          {"format": "cube-emulator-data", "version": 1, "exported_at",
//!                         "clock_offset_seconds", "counts": {...}}
//! applications.jsonl     one application a line, with its settings
//! users.jsonl            one user a line, with the password hash
//! provider_links.jsonl   which user an identity of a provider signs in as
//! files.jsonl            one file record a line
//! files/{uid}            the bytes of each uploaded file
//! ```
//!
//! The folder may hold other files (a README, `.gitattributes`): neither
//! an import nor an export touches them. An export writes only into an
//! empty folder or over a data set it wrote (`target`), writes the new
//! data set whole and synced before it replaces anything, and swaps it in
//! so that a failure or a crash leaves the old data set or the new one
//! (`swap`). An import reads the set without following links or opening
//! special files (`source`), a line at a time within bounds (`lines`),
//! and checks every record by the API's rules (`read`) before it writes
//! anything, and only into an empty data directory.

mod lines;
mod read;
pub(crate) mod source;
mod swap;
mod target;
mod write;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::clock::format_iso;
use crate::files::Files;
use crate::state::State;
use crate::store::Store;

/// The `format` of every manifest.
const FORMAT: &str = "cube-emulator-data";
/// The version this emulator writes and reads.
const VERSION: i64 = 1;
const MANIFEST: &str = "manifest.json";
const APPLICATIONS: &str = "applications.jsonl";
const USERS: &str = "users.jsonl";
const LINKS: &str = "provider_links.jsonl";
const FILE_RECORDS: &str = "files.jsonl";
const FILES_DIR: &str = "files";
/// The record files, in the order they are read.
const RECORD_FILES: [&str; 4] = [APPLICATIONS, USERS, LINKS, FILE_RECORDS];

/// `manifest.json`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    format: String,
    version: i64,
    exported_at: String,
    clock_offset_seconds: i64,
    counts: Counts,
}

/// How many records a data set holds, per kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Counts {
    /// Applications.
    pub applications: u64,
    /// Users.
    pub users: u64,
    /// Provider links.
    pub provider_links: u64,
    /// File records.
    pub files: u64,
}

/// Why a data set could not be imported: the data set (and the item in
/// it, such as `users.jsonl line 3`) and what is wrong. Nothing was
/// written.
#[derive(Debug, thiserror::Error)]
#[error("cannot import the data set {}: {problem}", dir.display())]
pub struct ImportError {
    dir: PathBuf,
    problem: String,
}

impl ImportError {
    fn new(dir: &Path, problem: impl Into<String>) -> Self {
        Self {
            dir: dir.to_path_buf(),
            problem: problem.into(),
        }
    }
}

/// Why an export failed. The target folder holds what it held before:
/// the earlier data set, or whatever made the export refuse it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// The target holds something an export does not write over (it is
    /// not a folder, or it holds files and no data set this emulator
    /// wrote), or the data set would be larger than an import reads.
    #[error("cannot export to {}: {reason}", dir.display())]
    Refused {
        /// The target.
        dir: PathBuf,
        /// Why.
        reason: String,
    },
    /// Reading or writing failed.
    #[error("cannot export to {}: {source}", dir.display())]
    Io {
        /// The target.
        dir: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The database could not be read.
    #[error("cannot export to {}: the database could not be read", dir.display())]
    Store {
        /// The target.
        dir: PathBuf,
    },
}

/// Checks that `target` can take the export on exit (see
/// `write::check`), before the emulator serves anything that would be
/// lost if it could not.
pub(crate) async fn check_export_target(target: PathBuf) -> Result<(), ExportError> {
    let dir = target.clone();
    tokio::task::spawn_blocking(move || write::check(&target))
        .await
        .map_err(|e| ExportError::Io {
            dir,
            source: std::io::Error::other(e.to_string()),
        })?
}

/// Writes the emulator's data into `target` (see the module docs);
/// returns what it holds. The reading and writing run off the runtime's
/// workers.
pub(crate) async fn export(state: &Arc<State>, target: PathBuf) -> Result<Counts, ExportError> {
    // Refreshed `last_request_at` values go in too.
    if let Err(err) = state.flush(false).await {
        tracing::warn!(error = %err, "flush before the export failed");
    }
    let now = state.clock.now();
    let state = state.clone();
    let dir = target.clone();
    tokio::task::spawn_blocking(move || {
        let snapshot = state
            .store
            .read(|db| db.snapshot(|db| crate::store::dataset::read(db, now)))
            .map_err(|_| ExportError::Store {
                dir: target.clone(),
            })?;
        write::write(
            &target,
            snapshot,
            state.uploads.files.dir(),
            format_iso(now),
        )
    })
    .await
    .map_err(|e| ExportError::Io {
        dir,
        source: std::io::Error::other(e.to_string()),
    })?
}

/// Loads the data set in `dir` into a store that was just opened (and so
/// is not serving): checks all of it, refuses a store that holds data,
/// copies the files, then writes every record in one transaction.
pub(crate) async fn import(
    store: &Store,
    files: &Files,
    dir: PathBuf,
) -> Result<Counts, ImportError> {
    let empty = store
        .read(crate::store::dataset::is_empty)
        .map_err(|_| ImportError::new(&dir, "the data directory cannot be read"))?;
    if !empty {
        return Err(ImportError::new(
            &dir,
            format!(
                "the data directory {} already holds data; import into a new data \
                 directory, or with --in-memory",
                store.dir().display()
            ),
        ));
    }
    let files = files.clone();
    let source = dir.clone();
    let snapshot = tokio::task::spawn_blocking(move || {
        let fail = |problem: String| ImportError::new(&source, problem);
        let _lock = lock_for_reading(&source).map_err(|e| fail(e.to_string()))?;
        let folder = source::Folder::open(&source).map_err(fail)?;
        let snapshot = read::read(&folder).map_err(fail)?;
        // Files first: if the records then fail to commit, the next start
        // removes files that have no record.
        read::install_files(&folder, &snapshot, &files).map_err(fail)?;
        Ok::<_, ImportError>(snapshot)
    })
    .await
    .map_err(|e| ImportError::new(&dir, e.to_string()))??;
    let counts = read::counts(&snapshot);
    store
        .write(move |db| crate::store::dataset::write(db, &snapshot))
        .await
        .map_err(|e| ImportError::new(&dir, format!("the database refused it: {e}")))?;
    Ok(counts)
}

/// Locks the data set's folder `dir` against exports while it is read,
/// after finishing an export into it that was interrupted (which needs
/// the folder to itself). A missing folder or a link is left to the
/// reader to refuse.
fn lock_for_reading(dir: &Path) -> std::io::Result<Option<target::Lock>> {
    if !std::fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir()) {
        return Ok(None);
    }
    if target::unsettled(dir) {
        let _exclusive = target::lock(dir, true)?;
        target::settle(dir)?;
    }
    target::lock(dir, false).map(Some)
}

/// A data set in memory from `data`: its files one after another, each
/// ended by a NUL byte — the manifest, the four record files, then the
/// uid and the bytes of each file of `files/` (the fuzz target's input).
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn from_parts(data: &[u8]) -> source::InMemory {
    let mut parts = data.split(|b| *b == 0);
    let mut set = source::InMemory::default();
    for name in [MANIFEST].iter().chain(RECORD_FILES.iter()) {
        if let Some(part) = parts.next() {
            set.files.insert((*name).to_owned(), part.to_vec());
        }
    }
    while let (Some(uid), Some(bytes)) = (parts.next(), parts.next()) {
        let uid = String::from_utf8_lossy(uid);
        set.files
            .insert(format!("{FILES_DIR}/{uid}"), bytes.to_vec());
    }
    set
}

/// Reads the data set `data` as an import does, never writing anything:
/// `Ok(None)` when it is refused. When it is accepted, writes it back out
/// as an export would and reads that again, which must accept it with the
/// same records (`Err` says how that failed).
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn read_and_write_back(data: &source::InMemory) -> Result<Option<Counts>, String> {
    let Ok(snapshot) = read::read(data) else {
        return Ok(None);
    };
    let mut written = write::render(&snapshot).map_err(|e| format!("written back: {e}"))?;
    let records = written.files.clone();
    for file in snapshot.files.iter().filter(|f| f.bytes.is_some()) {
        let path = format!("{FILES_DIR}/{}", file.uid);
        let bytes = data.files.get(&path).cloned().unwrap_or_default();
        written.files.insert(path, bytes);
    }
    let again = read::read(&written).map_err(|e| format!("read back: {e}"))?;
    let rewritten = write::render(&again).map_err(|e| format!("written again: {e}"))?;
    if rewritten.files != records {
        return Err("written back, read and written again, the data set changed".into());
    }
    if read::counts(&again) != read::counts(&snapshot) {
        return Err("read back, the data set holds other records".into());
    }
    Ok(Some(read::counts(&snapshot)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fuzz target's seed made by an export is accepted whole, so the
    /// fuzzer starts from a data set that goes all the way through.
    #[test]
    fn the_exported_seed_is_accepted_and_survives_its_export() {
        let seed = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fuzz/seeds/emulator_data_set/exported");
        let counts = read_and_write_back(&from_parts(&std::fs::read(seed).unwrap()));
        assert_eq!(
            counts,
            Ok(Some(Counts {
                applications: 2,
                users: 4,
                provider_links: 1,
                files: 2
            }))
        );
    }
}
