//! Writing a data set: the folder checked and locked (`target`), the new
//! data set written whole beside the old one (inside the folder's staging
//! folder) and synced, then swapped in entry by entry (`swap`), so that
//! what the folder held before is either replaced by a whole data set or
//! left as it was.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use serde::Serialize;

use super::swap::{self, Disk, Journal, Moves};
use super::target::{self, Found, Problem};
use super::{
    APPLICATIONS, Counts, ExportError, FILE_RECORDS, FILES_DIR, FORMAT, LINKS, MANIFEST, Manifest,
    USERS, VERSION,
};
use crate::files::sync_dir;
use crate::limits::{LINE_MAX_BYTES, RECORDS_MAX_BYTES};
use crate::store::dataset::Snapshot;

fn export_error(target: &Path, problem: Problem) -> ExportError {
    match problem {
        Problem::Refused(reason) => ExportError::Refused {
            dir: target.to_path_buf(),
            reason,
        },
        Problem::Io(source) => ExportError::Io {
            dir: target.to_path_buf(),
            source,
        },
    }
}

/// Checks at start that `target` can take an export (see `target`):
/// creates it when missing, finishes an interrupted export there, refuses
/// a folder an export would not write into, and makes and removes the
/// staging folder to see that it can write there.
pub(super) fn check(target: &Path) -> Result<(), ExportError> {
    let fail = |problem| export_error(target, problem);
    let _lock = target::prepare(target).map_err(fail)?;
    target::inspect(target).map_err(fail)?;
    let staging = swap::staging(target);
    std::fs::create_dir(&staging).map_err(|e| fail(e.into()))?;
    std::fs::remove_dir(&staging).map_err(|e| fail(e.into()))?;
    Ok(())
}

/// Writes `snapshot`, with the bytes of its files from `blobs`, as the
/// data set in `target`.
pub(super) fn write(
    target: &Path,
    mut snapshot: Snapshot,
    blobs: &Path,
    exported_at: String,
) -> Result<Counts, ExportError> {
    write_with(target, &mut snapshot, blobs, exported_at, &mut Disk)
}

/// [`write`], with the swap's renames made by `moves`.
pub(super) fn write_with(
    target: &Path,
    snapshot: &mut Snapshot,
    blobs: &Path,
    exported_at: String,
    moves: &mut dyn Moves,
) -> Result<Counts, ExportError> {
    let fail = |problem| export_error(target, problem);
    let _lock = target::prepare(target).map_err(fail)?;
    let found = target::inspect(target).map_err(fail)?;
    let staging = swap::staging(target);
    let filled = std::fs::create_dir(&staging)
        .map_err(Problem::Io)
        .and_then(|()| fill(&swap::new_dir(target), snapshot, blobs, exported_at));
    let counts = match filled {
        Ok(counts) => counts,
        Err(problem) => {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(fail(problem));
        }
    };
    let new: Vec<String> = snapshot
        .files
        .iter()
        .filter(|f| f.bytes.is_some())
        .map(|f| f.uid.clone())
        .collect();
    if let Err(problem) = target::check_new_files(target, &found, &new) {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(fail(problem));
    }
    let retire = match found {
        Found::Empty => Vec::new(),
        Found::DataSet(listed) => {
            let mut retire: Vec<String> = listed
                .into_iter()
                .filter(|uid| !new.contains(uid))
                .collect();
            retire.sort();
            retire
        }
    };
    let journal = Journal { new, retire };
    if let Err(err) = swap::write_journal(target, &journal) {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(fail(err.into()));
    }
    if let Err(err) = swap::forward(target, &journal, moves) {
        return Err(match swap::back(target, &journal, moves) {
            Ok(()) => {
                let _ = std::fs::remove_dir_all(&staging);
                fail(err.into())
            }
            Err(back) => fail(Problem::Io(io::Error::other(format!(
                "{err}; putting the earlier data set back failed too ({back}): it waits in \
                 {}, and the next export into this folder or import from it puts it back",
                staging.display()
            )))),
        });
    }
    if let Err(err) = std::fs::remove_dir_all(&staging) {
        tracing::warn!(dir = %staging.display(), error = %err, "the data set is written, but its staging folder could not be removed; the next export removes it");
    }
    Ok(counts)
}

/// Why a data set could not be written.
fn too_large(reason: String) -> Problem {
    Problem::Refused(reason)
}

/// Writes the whole data set into the new folder `dir`, within the
/// limits an import reads.
fn fill(
    dir: &Path,
    snapshot: &mut Snapshot,
    blobs: &Path,
    exported_at: String,
) -> Result<Counts, Problem> {
    std::fs::create_dir(dir)?;
    let files_dir = dir.join(FILES_DIR);
    std::fs::create_dir(&files_dir)?;
    for file in &mut snapshot.files {
        // Uploaded files are replaced by renames, never written in place,
        // so a copy is one version of the file.
        match std::fs::copy(blobs.join(&file.uid), files_dir.join(&file.uid)) {
            Ok(bytes) => {
                File::open(files_dir.join(&file.uid))?.sync_all()?;
                file.bytes = Some(bytes);
            }
            Err(err) if err.kind() == io::ErrorKind::NotFound => file.bytes = None,
            Err(err) => return Err(err.into()),
        }
    }
    sync_dir(&files_dir)?;
    let mut budget = RECORDS_MAX_BYTES;
    for (name, records) in [
        (APPLICATIONS, &snapshot.apps as &dyn Records),
        (USERS, &snapshot.users),
        (LINKS, &snapshot.links),
        (FILE_RECORDS, &snapshot.files),
    ] {
        let mut out = BufWriter::new(File::create(dir.join(name))?);
        records.write_lines(name, &mut out, &mut budget)?;
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    }
    let counts = super::read::counts(snapshot);
    let mut out = File::create(dir.join(MANIFEST))?;
    out.write_all(&manifest(snapshot, exported_at)?)?;
    out.sync_all()?;
    sync_dir(dir)?;
    Ok(counts)
}

/// `manifest.json` for `snapshot`.
fn manifest(snapshot: &Snapshot, exported_at: String) -> io::Result<Vec<u8>> {
    let manifest = Manifest {
        format: FORMAT.to_owned(),
        version: VERSION,
        exported_at,
        clock_offset_seconds: snapshot.clock_offset,
        counts: super::read::counts(snapshot),
    };
    let mut text = serde_json::to_vec_pretty(&manifest).map_err(io::Error::other)?;
    text.push(b'\n');
    Ok(text)
}

/// A kind of record, written one JSON record a line.
trait Records {
    /// Writes the lines of the file `name` into `out`, each line and all
    /// of them within what an import reads (the largest record the API
    /// makes fits a line).
    fn write_lines(&self, name: &str, out: &mut dyn Write, budget: &mut u64)
    -> Result<(), Problem>;
}

impl<T: Serialize> Records for Vec<T> {
    fn write_lines(
        &self,
        name: &str,
        out: &mut dyn Write,
        budget: &mut u64,
    ) -> Result<(), Problem> {
        let mut line = Vec::new();
        for (number, record) in self.iter().enumerate() {
            line.clear();
            serde_json::to_writer(&mut line, record).map_err(io::Error::other)?;
            line.push(b'\n');
            if line.len() > LINE_MAX_BYTES {
                return Err(too_large(format!(
                    "{name} line {} would take {} bytes, more than a data set's line holds \
                     ({LINE_MAX_BYTES})",
                    number + 1,
                    line.len()
                )));
            }
            *budget = budget.checked_sub(line.len() as u64).ok_or_else(|| {
                too_large(format!(
                    "the data set would take more than {RECORDS_MAX_BYTES} bytes of records, \
                     more than an import reads"
                ))
            })?;
            out.write_all(&line)?;
        }
        Ok(())
    }
}

/// The data set `snapshot` as an export writes it, into memory (its
/// files' bytes aside): what the fuzz target reads back.
#[cfg(any(test, feature = "fuzzing"))]
pub(super) fn render(snapshot: &Snapshot) -> Result<super::source::InMemory, String> {
    let mut set = super::source::InMemory::default();
    let mut budget = RECORDS_MAX_BYTES;
    for (name, records) in [
        (APPLICATIONS, &snapshot.apps as &dyn Records),
        (USERS, &snapshot.users),
        (LINKS, &snapshot.links),
        (FILE_RECORDS, &snapshot.files),
    ] {
        let mut out = Vec::new();
        records
            .write_lines(name, &mut out, &mut budget)
            .map_err(|problem| match problem {
                Problem::Refused(reason) => reason,
                Problem::Io(err) => err.to_string(),
            })?;
        set.files.insert(name.to_owned(), out);
    }
    let manifest = manifest(snapshot, "then".into()).map_err(|e| e.to_string())?;
    set.files.insert(MANIFEST.to_owned(), manifest);
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::dataset::AppRecord;

    /// Renames on disk, but the rename after the first `ok` ones fails
    /// (once, or from then on when `lasting`).
    struct Failing {
        ok: usize,
        lasting: bool,
        failed: bool,
    }

    impl Moves for Failing {
        fn rename(&mut self, from: &Path, to: &Path) -> io::Result<()> {
            if self.ok == 0 && (self.lasting || !self.failed) {
                self.failed = true;
                return Err(io::Error::other("the disk is full"));
            }
            self.ok = self.ok.saturating_sub(1);
            std::fs::rename(from, to)
        }
    }

    fn failing(ok: usize, lasting: bool) -> Failing {
        Failing {
            ok,
            lasting,
            failed: false,
        }
    }

    fn snapshot(apps: i64) -> Snapshot {
        Snapshot {
            apps: (1..=apps)
                .map(|id| AppRecord {
                    id,
                    auth_key: format!("key-{id}"),
                    auth_secret: "secret".into(),
                    settings: serde_json::Map::new(),
                })
                .collect(),
            ..Snapshot::default()
        }
    }

    fn listing(dir: &Path) -> Vec<(String, Vec<u8>)> {
        let mut out: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| {
                let path = e.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                let bytes = std::fs::read(&path).unwrap_or_default();
                (name, bytes)
            })
            .collect();
        out.sort();
        out
    }

    #[test]
    fn records_fill_their_budget_exactly_and_one_byte_more_is_refused() {
        let apps = snapshot(3).apps;
        let mut all = Vec::new();
        let mut budget = u64::MAX;
        apps.write_lines(APPLICATIONS, &mut all, &mut budget)
            .unwrap();
        let size = all.len() as u64;
        let mut budget = size;
        apps.write_lines(APPLICATIONS, &mut Vec::new(), &mut budget)
            .unwrap();
        assert_eq!(budget, 0);
        let mut budget = size - 1;
        match apps.write_lines(APPLICATIONS, &mut Vec::new(), &mut budget) {
            Err(Problem::Refused(reason)) => {
                assert!(reason.contains("more than an import reads"), "{reason}");
            }
            _ => panic!("a data set past its budget was written"),
        }
    }

    #[test]
    fn an_export_that_fails_half_way_leaves_the_earlier_data_set_and_no_staging() {
        let root = std::env::temp_dir().join(format!("cube-emulator-write-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let (target, blobs) = (root.join("seed"), root.join("blobs"));
        std::fs::create_dir_all(&blobs).unwrap();
        write(&target, snapshot(1), &blobs, "then".into()).unwrap();
        std::fs::write(target.join("README.md"), "read me").unwrap();
        let before = listing(&target);
        for step in [0, 1, 3, 5] {
            let mut moves = failing(step, false);
            let err = write_with(&target, &mut snapshot(2), &blobs, "now".into(), &mut moves)
                .unwrap_err();
            assert!(err.to_string().contains("the disk is full"), "{err}");
            assert_eq!(listing(&target), before, "failing at step {step}");
        }
        // A failure that lasts: the earlier data set waits in the staging
        // folder, and the next export puts it back before it writes.
        let mut moves = failing(3, true);
        let err = write_with(&target, &mut snapshot(3), &blobs, "now".into(), &mut moves)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("putting the earlier data set back failed too"),
            "{err}"
        );
        assert!(
            !target.join(MANIFEST).exists(),
            "a half-swapped folder reads as no data set"
        );
        let kept = std::fs::read(swap::staging(&target).join("old").join(MANIFEST)).unwrap();
        assert_eq!(
            Some(&kept),
            before.iter().find(|(n, _)| n == MANIFEST).map(|(_, b)| b)
        );
        // Then it works, and keeps the README.
        write(&target, snapshot(2), &blobs, "now".into()).unwrap();
        let apps = std::fs::read_to_string(target.join(APPLICATIONS)).unwrap();
        assert_eq!(apps.lines().count(), 2);
        assert_eq!(
            std::fs::read_to_string(target.join("README.md")).unwrap(),
            "read me"
        );
        std::fs::remove_dir_all(&root).unwrap();
    }
}
