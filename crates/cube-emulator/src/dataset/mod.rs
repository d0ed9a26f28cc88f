//! Saved data sets: `--import DIR`, `--export-on-exit DIR` and
//! `POST /_emulator/export`. A data set is a directory (format version 1,
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
//! An export reads everything in one snapshot, writes it into a temporary
//! directory beside the target, the manifest last, fsyncs it, and only
//! then renames it into place: a crash leaves either the old data set or
//! the new one, and a directory without a manifest is never taken for a
//! data set. An import reads and checks the whole data set before it
//! writes anything, and only into an empty data directory.

mod read;
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

/// Why an export failed. The target directory is left as it was.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// The target exists and is not a data set (nor an empty directory),
    /// so it is not replaced.
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

/// Writes the emulator's data into `target` (see the module docs);
/// returns what it holds. The reading and writing run off the runtime's
/// workers.
pub(crate) async fn export(state: &Arc<State>, target: PathBuf) -> Result<Counts, ExportError> {
    // Refreshed `last_request_at` values go in too.
    if let Err(err) = state.flush(false).await {
        tracing::warn!(error = ?err.errors, "flush before the export failed");
    }
    let now = state.clock.now();
    let state = state.clone();
    let dir = target.clone();
    tokio::task::spawn_blocking(move || {
        let snapshot = state
            .store
            .read(|db| Ok(db.snapshot(|db| crate::store::dataset::read(db, now))?))
            .map_err(|_| ExportError::Store {
                dir: target.clone(),
            })?;
        write::write(&target, snapshot, state.files.dir(), format_iso(now))
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
        .read(|db| Ok(crate::store::dataset::is_empty(db)?))
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
        let snapshot = read::read(&source)?;
        // Files first: if the records then fail to commit, the next start
        // removes files that have no record.
        read::install_files(&source, &snapshot, &files)?;
        Ok::<_, ImportError>(snapshot)
    })
    .await
    .map_err(|e| ImportError::new(&dir, e.to_string()))??;
    let counts = read::counts(&snapshot);
    store
        .write(move |db| Ok(crate::store::dataset::write(db, &snapshot)?))
        .await
        .map_err(|e| ImportError::new(&dir, format!("the database refused it: {:?}", e.errors)))?;
    Ok(counts)
}
