//! Writing a data set atomically: everything goes into a temporary
//! directory beside the target (the manifest last), is fsynced, and is
//! renamed into place; an older data set at the target is moved aside
//! first and removed after.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{
    APPLICATIONS, Counts, ExportError, FILE_RECORDS, FILES_DIR, FORMAT, LINKS, MANIFEST, Manifest,
    USERS, VERSION,
};
use crate::crypto::{hex, random_bytes};
use crate::files::sync_dir;
use crate::store::dataset::Snapshot;

/// Writes `snapshot`, with the bytes of its files from `blobs`, as the
/// data set `target`.
pub(super) fn write(
    target: &Path,
    mut snapshot: Snapshot,
    blobs: &Path,
    exported_at: String,
) -> Result<Counts, ExportError> {
    let io_error = |source| ExportError::Io {
        dir: target.to_path_buf(),
        source,
    };
    let refuse = |reason: &str| ExportError::Refused {
        dir: target.to_path_buf(),
        reason: reason.to_owned(),
    };
    let name = target
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| refuse("the path has no directory name"))?;
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let replaces = replaceable(target).map_err(|reason| refuse(&reason))?;
    std::fs::create_dir_all(&parent).map_err(io_error)?;
    let suffix =
        hex(&random_bytes::<6>().map_err(|_| io_error(io::Error::other("no randomness")))?);
    let temp = parent.join(format!(".{name}.export-{suffix}"));
    let counts = match fill(&temp, &mut snapshot, blobs, exported_at) {
        Ok(counts) => counts,
        Err(err) => {
            let _ = std::fs::remove_dir_all(&temp);
            return Err(io_error(err));
        }
    };
    let old = parent.join(format!(".{name}.old-{suffix}"));
    let swapped = (|| {
        if replaces {
            std::fs::rename(target, &old)?;
        }
        std::fs::rename(&temp, target)?;
        sync_dir(&parent)
    })();
    if let Err(err) = swapped {
        let _ = std::fs::remove_dir_all(&temp);
        if replaces && !target.exists() {
            let _ = std::fs::rename(&old, target);
        }
        return Err(io_error(err));
    }
    if replaces {
        let _ = std::fs::remove_dir_all(&old);
    }
    Ok(counts)
}

/// Whether `target` exists and may be replaced: only an earlier data set
/// or an empty directory is.
fn replaceable(target: &Path) -> Result<bool, String> {
    let meta = match std::fs::symlink_metadata(target) {
        Ok(meta) => meta,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(err) => return Err(err.to_string()),
    };
    if !meta.is_dir() {
        return Err("it exists and is not a directory".into());
    }
    let mut entries = std::fs::read_dir(target).map_err(|e| e.to_string())?;
    if entries.next().is_none() || target.join(MANIFEST).is_file() {
        Ok(true)
    } else {
        Err(
            "it is a directory that holds something other than a data set; \
             it is left alone"
                .into(),
        )
    }
}

/// Writes the whole data set into the new directory `dir`.
fn fill(
    dir: &Path,
    snapshot: &mut Snapshot,
    blobs: &Path,
    exported_at: String,
) -> io::Result<Counts> {
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
            Err(err) => return Err(err),
        }
    }
    sync_dir(&files_dir)?;
    lines(&dir.join(APPLICATIONS), &snapshot.apps)?;
    lines(&dir.join(USERS), &snapshot.users)?;
    lines(&dir.join(LINKS), &snapshot.links)?;
    lines(&dir.join(FILE_RECORDS), &snapshot.files)?;
    let counts = super::read::counts(snapshot);
    let manifest = Manifest {
        format: FORMAT.to_owned(),
        version: VERSION,
        exported_at,
        clock_offset_seconds: snapshot.clock_offset,
        counts,
    };
    let mut text = serde_json::to_vec_pretty(&manifest).map_err(io::Error::other)?;
    text.push(b'\n');
    let mut out = File::create(dir.join(MANIFEST))?;
    out.write_all(&text)?;
    out.sync_all()?;
    sync_dir(dir)?;
    Ok(counts)
}

/// One JSON record a line.
fn lines<T: Serialize>(path: &Path, records: &[T]) -> io::Result<()> {
    let mut out = BufWriter::new(File::create(path)?);
    for record in records {
        serde_json::to_writer(&mut out, record).map_err(io::Error::other)?;
        out.write_all(b"\n")?;
    }
    out.into_inner().map_err(|e| e.into_error())?.sync_all()
}
