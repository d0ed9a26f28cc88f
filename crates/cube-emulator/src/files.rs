//! Uploaded files on disk: `{data dir}/blobs/{uid}`. An upload streams into
//! a private temporary file in the same directory and is renamed over the
//! final name only once it is complete (and, for a durable data dir,
//! fsynced), so a reader never sees half a file and an acknowledged upload
//! survives `kill -9`. Responses stream files back in chunks.

use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWriteExt, ReadBuf};

use crate::crypto::{hex, random_bytes};

/// Prefix of in-progress uploads (never a uid: uids are hex).
const PARTIAL_PREFIX: &str = ".partial-";

/// The directory of uploaded files.
#[derive(Debug, Clone)]
pub(crate) struct Files {
    dir: PathBuf,
    durable: bool,
}

impl Files {
    /// Creates the directory if needed and removes uploads left unfinished
    /// by a previous run.
    pub(crate) fn open(dir: PathBuf, durable: bool) -> io::Result<Self> {
        std::fs::create_dir_all(&dir)?;
        for entry in std::fs::read_dir(&dir)?.flatten() {
            if entry
                .file_name()
                .to_str()
                .is_some_and(|n| n.starts_with(PARTIAL_PREFIX))
            {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        Ok(Self { dir, durable })
    }

    /// Removes files whose uid has no record (a crash between a record's
    /// delete and its file's), at start.
    pub(crate) fn retain(&self, uids: &std::collections::HashSet<String>) -> io::Result<usize> {
        let mut removed = 0;
        for entry in std::fs::read_dir(&self.dir)?.flatten() {
            let name = entry.file_name();
            let known = name.to_str().is_some_and(|n| uids.contains(n));
            if !known && entry.file_type().is_ok_and(|t| t.is_file()) {
                std::fs::remove_file(entry.path())?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// The directory the files are in.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the file of `uid` lives; `None` for a name that is not a uid.
    fn path_of(&self, uid: &str) -> Option<PathBuf> {
        is_uid(uid).then(|| self.dir.join(uid))
    }

    /// Copies the `len` bytes of `from` in as the file of `uid` (an
    /// import), through a temporary file renamed into place. A source
    /// with more or fewer bytes (it changed since it was checked) is
    /// refused.
    pub(crate) fn install(&self, uid: &str, from: &mut dyn io::Read, len: u64) -> io::Result<()> {
        let target = self
            .path_of(uid)
            .ok_or_else(|| io::Error::other("not a uid"))?;
        let temp = self.dir.join(format!("{PARTIAL_PREFIX}{uid}"));
        let result = (|| {
            let mut out = std::fs::File::create(&temp)?;
            let mut bounded = io::Read::take(&mut *from, len.saturating_add(1));
            let copied = io::copy(&mut bounded, &mut out)?;
            if copied != len {
                return Err(io::Error::other(format!(
                    "it has {copied} bytes where it had {len}: it changed while it was copied"
                )));
            }
            if self.durable {
                out.sync_all()?;
            }
            drop(out);
            std::fs::rename(&temp, &target)?;
            if self.durable {
                sync_dir(&self.dir)?;
            }
            Ok(())
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&temp);
        }
        result
    }

    /// Starts an upload into a temporary file.
    pub(crate) async fn start(&self) -> io::Result<Partial> {
        let name = format!(
            "{PARTIAL_PREFIX}{}",
            hex(&random_bytes::<12>().map_err(|_| io::Error::other("randomness unavailable"))?)
        );
        let path = self.dir.join(name);
        let file = tokio::fs::File::create(&path).await?;
        Ok(Partial {
            file: Some(file),
            path,
            written: 0,
        })
    }

    /// Makes a finished upload the file of `uid` (replacing an older one).
    /// Returns its size.
    pub(crate) async fn commit(&self, mut partial: Partial, uid: &str) -> io::Result<u64> {
        let target = self
            .path_of(uid)
            .ok_or_else(|| io::Error::other("not a uid"))?;
        let file = partial
            .file
            .take()
            .ok_or_else(|| io::Error::other("upload already finished"))?;
        let result = self.finish(file, &partial.path, &target).await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(&partial.path).await;
        }
        result.map(|()| partial.written)
    }

    async fn finish(&self, mut file: tokio::fs::File, from: &Path, to: &Path) -> io::Result<()> {
        file.flush().await?;
        if self.durable {
            file.sync_all().await?;
        }
        drop(file);
        tokio::fs::rename(from, to).await?;
        if self.durable {
            let dir = self.dir.clone();
            tokio::task::spawn_blocking(move || sync_dir(&dir))
                .await
                .map_err(io::Error::other)??;
        }
        Ok(())
    }

    /// Opens the file of `uid` for reading: the file and its length.
    pub(crate) async fn open_file(&self, uid: &str) -> Option<(tokio::fs::File, u64)> {
        let path = self.path_of(uid)?;
        let file = tokio::fs::File::open(path).await.ok()?;
        let len = file.metadata().await.ok()?.len();
        Some((file, len))
    }

    /// Removes the file of `uid`, if any.
    pub(crate) async fn remove(&self, uid: &str) {
        if let Some(path) = self.path_of(uid) {
            let _ = tokio::fs::remove_file(path).await;
        }
    }

    /// Removes every file (data reset).
    pub(crate) async fn remove_all(&self) -> io::Result<()> {
        let mut entries = tokio::fs::read_dir(&self.dir).await?;
        while let Some(entry) = entries.next_entry().await? {
            if entry.file_type().await.is_ok_and(|t| t.is_file()) {
                let _ = tokio::fs::remove_file(entry.path()).await;
            }
        }
        Ok(())
    }
}

/// Whether `name` can be a file's uid: 1 to 64 hex digits (so never a
/// path).
pub(crate) fn is_uid(name: &str) -> bool {
    !name.is_empty() && name.len() <= 64 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// An upload in progress. Dropped unfinished, it removes its file.
pub(crate) struct Partial {
    file: Option<tokio::fs::File>,
    path: PathBuf,
    written: u64,
}

impl Partial {
    pub(crate) async fn write(&mut self, data: &[u8]) -> io::Result<()> {
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| io::Error::other("upload already finished"))?;
        file.write_all(data).await?;
        self.written += data.len() as u64;
        Ok(())
    }

    pub(crate) fn written(&self) -> u64 {
        self.written
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// A response body that streams a file in chunks.
pub(crate) struct FileBody {
    file: tokio::fs::File,
    remaining: u64,
    buf: Box<[u8]>,
}

impl FileBody {
    pub(crate) fn new(file: tokio::fs::File, len: u64) -> Self {
        Self {
            file,
            remaining: len,
            buf: vec![0; 64 * 1024].into_boxed_slice(),
        }
    }
}

impl Body for FileBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        if this.remaining == 0 {
            return Poll::Ready(None);
        }
        let want =
            usize::try_from(this.remaining).map_or(this.buf.len(), |r| r.min(this.buf.len()));
        let mut buf = ReadBuf::new(&mut this.buf[..want]);
        match Pin::new(&mut this.file).poll_read(cx, &mut buf) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(err)) => Poll::Ready(Some(Err(err))),
            Poll::Ready(Ok(())) => {
                let filled = buf.filled();
                if filled.is_empty() {
                    // The file shrank under us: end the body short (the
                    // connection is closed, the client sees a short read).
                    return Poll::Ready(Some(Err(io::Error::from(io::ErrorKind::UnexpectedEof))));
                }
                this.remaining -= filled.len() as u64;
                Poll::Ready(Some(Ok(Frame::data(Bytes::copy_from_slice(filled)))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}
