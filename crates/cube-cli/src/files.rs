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

/// Reads a file, `None` when it does not exist.
pub(crate) fn read_optional(path: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Failure::refused(format!(
            "cannot read {}: {e}",
            path.display()
        ))),
    }
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
