//! Where an import reads a data set's bytes from. A [`Folder`] opens each
//! file of the set so that nothing in the set can lead the reader out of
//! it or stall it: the set's folder, `files/` and every file it reads are
//! reached without following a symbolic link, and each must be a real
//! folder or a regular file (a device, pipe or socket is refused before it
//! is opened). Entries the set does not name (a README, `.git`) are never
//! opened.

use std::io::Read;
use std::path::Path;

use super::FILES_DIR;

/// An open file of a data set: its bytes and its length when opened.
pub(crate) struct Opened<'a> {
    pub(crate) reader: Box<dyn Read + 'a>,
    pub(crate) len: u64,
}

/// A data set's files, by their path inside the set (`["users.jsonl"]`,
/// `["files", uid]`). A failure is what is wrong, for a message that
/// names the file.
pub(crate) trait Source {
    fn open(&self, path: &[&str]) -> Result<Opened<'_>, String>;
}

/// What an entry of the set turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    File,
    Folder,
    Symlink,
    Special,
}

/// Why an entry that is not what the set needs is refused.
fn refusal(found: Kind) -> String {
    match found {
        Kind::Symlink => {
            "is a symbolic link; a data set holds only its own files and folders".into()
        }
        Kind::Folder => "is a folder where a file belongs".into(),
        Kind::File => "is a file where a folder belongs".into(),
        Kind::Special => "is not a regular file (a device, pipe or socket)".into(),
    }
}

/// Why an entry could not be opened.
enum Missing {
    /// It does not exist.
    Yes,
    /// It exists and cannot be used, for this reason.
    No(String),
}

fn not_found() -> String {
    "does not exist".into()
}

/// A data set in a folder on disk.
pub(crate) struct Folder {
    dir: sys::Dir,
    /// `files/`, opened when the set has one.
    files: Option<sys::Dir>,
}

impl Folder {
    /// Opens the folder `path` (itself not a symbolic link) and its
    /// `files/` when it has one.
    pub(crate) fn open(path: &Path) -> Result<Self, String> {
        let dir = sys::open_folder(path).map_err(|missing| match missing {
            Missing::Yes => not_found(),
            Missing::No(_) if std::fs::symlink_metadata(path).is_ok_and(|m| m.is_symlink()) => {
                "is a symbolic link; name the data set's folder itself".into()
            }
            Missing::No(problem) => problem,
        })?;
        let files = match sys::open_folder_at(&dir, FILES_DIR) {
            Ok(files) => Some(files),
            Err(Missing::Yes) => None,
            Err(Missing::No(problem)) => return Err(format!("{FILES_DIR}/ {problem}")),
        };
        Ok(Self { dir, files })
    }
}

impl Source for Folder {
    fn open(&self, path: &[&str]) -> Result<Opened<'_>, String> {
        let (dir, name) = match path {
            [name] => (&self.dir, *name),
            [FILES_DIR, name] => (self.files.as_ref().ok_or_else(not_found)?, *name),
            _ => return Err("is not a file of a data set".into()),
        };
        let file = sys::open_file_at(dir, name).map_err(|missing| match missing {
            Missing::Yes => not_found(),
            Missing::No(problem) => problem,
        })?;
        let len = file.metadata().map_err(|e| e.to_string())?.len();
        Ok(Opened {
            reader: Box::new(file),
            len,
        })
    }
}

#[cfg(unix)]
mod sys {
    //! Every entry is looked at (`fstatat` without following links)
    //! before it is opened, opened relative to its open folder without
    //! following a link, and checked to be the entry looked at: a pipe is
    //! never opened (which would wait for a writer), and an entry swapped
    //! meanwhile is refused.

    use std::fs::File;
    use std::os::fd::AsFd;
    use std::path::Path;

    use rustix::fs::{AtFlags, FileType, Mode, OFlags, Stat};

    use super::{Kind, Missing, refusal};

    /// An open folder.
    pub(super) struct Dir(File);

    fn kind(stat: &Stat) -> Kind {
        match FileType::from_raw_mode(stat.st_mode) {
            FileType::RegularFile => Kind::File,
            FileType::Directory => Kind::Folder,
            FileType::Symlink => Kind::Symlink,
            _ => Kind::Special,
        }
    }

    fn text(err: rustix::io::Errno) -> Missing {
        Missing::No(std::io::Error::from(err).to_string())
    }

    fn open(dir: impl AsFd, name: &Path, want: Kind) -> Result<File, Missing> {
        let seen = match rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) => stat,
            Err(rustix::io::Errno::NOENT) => return Err(Missing::Yes),
            Err(err) => return Err(text(err)),
        };
        let found = kind(&seen);
        if found != want {
            return Err(Missing::No(refusal(found)));
        }
        let mut flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK;
        if want == Kind::Folder {
            flags |= OFlags::DIRECTORY;
        }
        let fd = rustix::fs::openat(&dir, name, flags, Mode::empty()).map_err(text)?;
        let now = rustix::fs::fstat(&fd).map_err(text)?;
        if now.st_dev != seen.st_dev || now.st_ino != seen.st_ino || kind(&now) != found {
            return Err(Missing::No("changed while it was opened".into()));
        }
        Ok(File::from(fd))
    }

    pub(super) fn open_folder(path: &Path) -> Result<Dir, Missing> {
        open(rustix::fs::CWD, path, Kind::Folder).map(Dir)
    }

    pub(super) fn open_folder_at(dir: &Dir, name: &str) -> Result<Dir, Missing> {
        open(dir.0.as_fd(), Path::new(name), Kind::Folder).map(Dir)
    }

    pub(super) fn open_file_at(dir: &Dir, name: &str) -> Result<File, Missing> {
        open(dir.0.as_fd(), Path::new(name), Kind::File)
    }
}

#[cfg(not(unix))]
mod sys {
    //! Without `openat`: each entry is looked at without following a
    //! link, then opened by its path.

    use std::fs::File;
    use std::path::{Path, PathBuf};

    use super::{Kind, Missing, refusal};

    /// A folder, by its path.
    pub(super) struct Dir(PathBuf);

    fn look(path: &Path, want: Kind) -> Result<(), Missing> {
        let meta = match std::fs::symlink_metadata(path) {
            Ok(meta) => meta,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Err(Missing::Yes),
            Err(err) => return Err(Missing::No(err.to_string())),
        };
        let t = meta.file_type();
        let found = if t.is_symlink() {
            Kind::Symlink
        } else if t.is_dir() {
            Kind::Folder
        } else if t.is_file() {
            Kind::File
        } else {
            Kind::Special
        };
        if found == want {
            Ok(())
        } else {
            Err(Missing::No(refusal(found)))
        }
    }

    pub(super) fn open_folder(path: &Path) -> Result<Dir, Missing> {
        look(path, Kind::Folder).map(|()| Dir(path.to_path_buf()))
    }

    pub(super) fn open_folder_at(dir: &Dir, name: &str) -> Result<Dir, Missing> {
        open_folder(&dir.0.join(name))
    }

    pub(super) fn open_file_at(dir: &Dir, name: &str) -> Result<File, Missing> {
        let path = dir.0.join(name);
        look(&path, Kind::File)?;
        File::open(&path).map_err(|e| Missing::No(e.to_string()))
    }
}

/// A data set held in memory, by path (`"users.jsonl"`, `"files/ab"`):
/// what the fuzz target and the unit tests read.
#[cfg(any(test, feature = "fuzzing"))]
#[derive(Default)]
pub(crate) struct InMemory {
    pub(crate) files: std::collections::HashMap<String, Vec<u8>>,
}

#[cfg(any(test, feature = "fuzzing"))]
impl Source for InMemory {
    fn open(&self, path: &[&str]) -> Result<Opened<'_>, String> {
        let bytes = self.files.get(&path.join("/")).ok_or_else(not_found)?;
        Ok(Opened {
            reader: Box::new(bytes.as_slice()),
            len: bytes.len() as u64,
        })
    }
}
