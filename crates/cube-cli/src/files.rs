//! Where the command keeps its files, and how it writes them: readable by
//! the owner only (they hold the auth secret and session tokens), and
//! replaced whole, so that a crash never leaves half a file.

use crate::error::{Failure, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The command's folder: `CUBE_CONFIG_DIR`, or `cube` in the user's config
/// directory (`$XDG_CONFIG_HOME`, else `~/.config`; `%APPDATA%` on Windows).
pub(crate) fn config_dir() -> Result<PathBuf> {
    if let Some(dir) = non_empty_var("CUBE_CONFIG_DIR") {
        return Ok(PathBuf::from(dir));
    }
    let base = if cfg!(windows) {
        non_empty_var("APPDATA").map(PathBuf::from)
    } else {
        non_empty_var("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            // The XDG rules ignore a relative path.
            .filter(|p| p.is_absolute())
            .or_else(|| non_empty_var("HOME").map(|home| Path::new(&home).join(".config")))
    };
    base.map(|b| b.join("cube")).ok_or_else(|| {
        Failure::usage("cannot tell where the user's config directory is: set CUBE_CONFIG_DIR")
    })
}

fn non_empty_var(name: &str) -> Option<std::ffi::OsString> {
    std::env::var_os(name).filter(|v| !v.is_empty())
}

/// The most a settings or session file may hold. They hold a few hundred
/// bytes; a larger one is not ours, and is not read whole.
pub(crate) const MAX_FILE: u64 = 1024 * 1024;

/// Why a settings or session file could not be read.
#[derive(Debug)]
pub(crate) enum ReadError {
    Io(std::io::Error),
    NotAFile,
    TooLarge,
    NotUtf8,
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Io(e) => write!(f, "cannot be read ({e})"),
            ReadError::NotAFile => f.write_str("is not a regular file"),
            ReadError::TooLarge => write!(f, "is larger than {} MiB", MAX_FILE >> 20),
            ReadError::NotUtf8 => f.write_str("is not UTF-8 text"),
        }
    }
}

/// Reads a settings or session file, `None` when it does not exist. Only a
/// regular file of [`MAX_FILE`] bytes at most, in UTF-8, is read: a FIFO,
/// a device or `/dev/zero` behind a link is refused, not waited on.
pub(crate) fn read_optional(path: &Path) -> Result<Option<String>, ReadError> {
    use std::io::Read;
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(ReadError::Io(e)),
    };
    if !meta.is_file() {
        return Err(ReadError::NotAFile);
    }
    let file = std::fs::File::open(path).map_err(ReadError::Io)?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > MAX_FILE {
        return Err(ReadError::TooLarge);
    }
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| ReadError::NotUtf8)
}

/// Writes `bytes` to `path` with mode 0600, in a folder of mode 0700: a
/// fresh file beside it, then renamed over it.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| std::io::Error::other("the path has no folder"))?;
    create_private_dir(dir)?;
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("the path names no file"))?;
    let temp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let written = (|| {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&temp)?;
        // A leftover temporary file may have other bits: set them anyway.
        #[cfg(unix)]
        file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}

/// Removes a file; one already gone is fine.
pub(crate) fn remove(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("cube-files-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_file_is_read_up_to_the_limit_and_refused_past_it() {
        let dir = temp("limit");
        let path = dir.join("config.json");
        let at = MAX_FILE as usize;
        std::fs::write(&path, " ".repeat(at)).unwrap();
        let read = read_optional(&path).map(|t| t.map(|t| t.len()));
        std::fs::write(&path, " ".repeat(at + 1)).unwrap();
        let past = read_optional(&path);
        std::fs::write(&path, b"{\"a\": \"\xff\"}").unwrap();
        let not_utf8 = read_optional(&path);
        let missing = read_optional(&dir.join("none.json"));
        let folder = read_optional(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(read.unwrap(), Some(at));
        assert!(matches!(past, Err(ReadError::TooLarge)), "{past:?}");
        assert!(matches!(not_utf8, Err(ReadError::NotUtf8)), "{not_utf8:?}");
        assert!(matches!(missing, Ok(None)), "{missing:?}");
        assert!(matches!(folder, Err(ReadError::NotAFile)), "{folder:?}");
    }

    #[cfg(unix)]
    #[test]
    fn a_device_behind_a_link_is_not_read() {
        let dir = temp("device");
        let link = dir.join("config.json");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        let read = read_optional(&link);
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(matches!(read, Err(ReadError::NotAFile)), "{read:?}");
    }

    #[cfg(unix)]
    #[test]
    fn private_files_are_the_owners_alone_even_over_an_open_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("cube-files-{}", std::process::id()));
        let path = dir.join("sub").join("secret.json");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_private(&path, b"new").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        let text = std::fs::read_to_string(&path).unwrap();
        let left: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!((mode, text.as_str()), (0o600, "new"));
        assert_eq!(left.len(), 1, "no temporary file is left: {left:?}");
    }
}
