//! SQLite storage: one writer thread that group-commits, and a pool of
//! read connections used in place.
//!
//! Writes are closures sent to the writer thread. It runs every closure
//! that is waiting in one transaction, each inside its own savepoint (a
//! failing request is rolled back alone and changes nothing), commits once
//! with `synchronous=FULL`, and only then answers the callers: an
//! acknowledged write is on disk, and a burst of writes shares one fsync.
//! Reads use WAL snapshots on short-lived borrowed connections, so they
//! never wait for the writer.

pub(crate) mod admin;
pub(crate) mod apps;
pub(crate) mod blobs;
pub(crate) mod providers;
pub(crate) mod schema;
pub(crate) mod sessions;
pub(crate) mod users;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Mutex, PoisonError};
use std::thread::JoinHandle;

use rusqlite::{Connection, OpenFlags};

use crate::error::ApiError;

/// Delivers a write's result once its transaction has committed (`true`)
/// or failed to commit (`false`).
type Completion = Box<dyn FnOnce(bool) + Send>;
/// A write: runs on the writer connection, says whether it succeeded.
type Job = Box<dyn FnOnce(&Connection) -> (bool, Completion) + Send>;

/// Most writes that share one transaction (and one fsync).
const MAX_BATCH: usize = 256;

/// Errors opening the database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite refused to open or migrate the database.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// Another emulator is using this data directory.
    #[error("the data directory {0} is in use by another emulator")]
    InUse(PathBuf),
    /// The data directory could not be created.
    #[error("cannot create data directory {path}: {source}")]
    Io {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

pub(crate) struct Store {
    path: PathBuf,
    /// The data directory (or the private temporary one).
    dir: PathBuf,
    /// Whether commits and files are fsynced (not in in-memory mode).
    durable: bool,
    writer: Mutex<Option<mpsc::Sender<Job>>>,
    writer_thread: Mutex<Option<JoinHandle<()>>>,
    readers: Mutex<Vec<Connection>>,
    /// Set for in-memory mode: the private directory removed on close.
    temp_dir: Option<PathBuf>,
    /// Held (locked) while the store is open: one emulator per directory.
    _lock: std::fs::File,
}

impl Store {
    /// Opens (creating and migrating) the database in `dir`, or in a fresh
    /// private temporary directory when `dir` is `None`.
    pub(crate) fn open(dir: Option<&Path>) -> Result<Self, StoreError> {
        let (dir, temp_dir, durable) = match dir {
            Some(dir) => (dir.to_path_buf(), None, true),
            None => {
                let name = format!(
                    "cube-emulator-{}-{}",
                    std::process::id(),
                    crate::crypto::hex(&crate::crypto::random_bytes::<8>().unwrap_or_default())
                );
                let dir = std::env::temp_dir().join(name);
                (dir.clone(), Some(dir), false)
            }
        };
        std::fs::create_dir_all(&dir).map_err(|source| StoreError::Io {
            path: dir.clone(),
            source,
        })?;
        let io_error = |source| StoreError::Io {
            path: dir.clone(),
            source,
        };
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("emulator.lock"))
            .map_err(io_error)?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Err(StoreError::InUse(dir)),
            Err(std::fs::TryLockError::Error(source)) => return Err(io_error(source)),
        }
        let path = dir.join("emulator.sqlite3");
        let conn = Connection::open(&path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // FULL: a commit is fsynced before the write is acknowledged. The
        // in-memory mode has nothing to keep, so it skips the fsync.
        conn.pragma_update(None, "synchronous", if durable { "FULL" } else { "OFF" })?;
        conn.pragma_update(None, "foreign_keys", true)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        schema::migrate(&conn)?;

        let (tx, rx) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("cube-emulator-writer".into())
            .spawn(move || writer_loop(&conn, &rx))
            .map_err(io_error)?;
        Ok(Self {
            path,
            dir,
            durable,
            writer: Mutex::new(Some(tx)),
            writer_thread: Mutex::new(Some(thread)),
            readers: Mutex::new(Vec::new()),
            temp_dir,
            _lock: lock,
        })
    }

    /// The data directory (the private temporary one in in-memory mode).
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether writes are fsynced before they are acknowledged.
    pub(crate) fn durable(&self) -> bool {
        self.durable
    }

    /// Runs `f` in the next write transaction and waits until it is durable.
    /// An `Err` from `f` rolls back everything `f` did.
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, ApiError> + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let result = f(conn);
            let ok = result.is_ok();
            let completion: Completion = Box::new(move |committed| {
                let result = if committed || result.is_err() {
                    result
                } else {
                    Err(ApiError::unavailable("storage error"))
                };
                let _ = reply.send(result);
            });
            (ok, completion)
        });
        let sent = self
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .is_some_and(|tx| tx.send(job).is_ok());
        if !sent {
            return Err(ApiError::unavailable("the emulator is stopping"));
        }
        answer
            .await
            .unwrap_or_else(|_| Err(ApiError::unavailable("storage error")))
    }

    /// Runs `f` on a read connection (a consistent WAL snapshot).
    pub(crate) fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let pooled = self
            .readers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let conn = match pooled {
            Some(conn) => conn,
            None => self.open_reader()?,
        };
        let result = f(&conn);
        self.readers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(conn);
        result
    }

    fn open_reader(&self) -> Result<Connection, ApiError> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(conn)
    }

    /// Finishes queued writes, stops the writer and closes the database.
    pub(crate) fn close(&self) {
        drop(
            self.writer
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
        if let Some(thread) = self
            .writer_thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            let _ = thread.join();
        }
        self.readers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        if let Some(dir) = &self.temp_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        self.close();
    }
}

fn writer_loop(conn: &Connection, rx: &mpsc::Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        run_batch(conn, batch);
    }
}

fn run_batch(conn: &Connection, batch: Vec<Job>) {
    if let Err(err) = conn.execute_batch("BEGIN IMMEDIATE") {
        tracing::error!(error = %err, "cannot begin a write transaction");
        // Dropping the jobs drops their reply channels: callers get 503.
        return;
    }
    let mut completions = Vec::with_capacity(batch.len());
    for job in batch {
        if conn.execute_batch("SAVEPOINT job").is_err() {
            continue;
        }
        match catch_unwind(AssertUnwindSafe(|| job(conn))) {
            Ok((ok, completion)) => {
                if !ok {
                    let _ = conn.execute_batch("ROLLBACK TO job");
                }
                completions.push(completion);
            }
            Err(_) => {
                tracing::error!("a write panicked; it was rolled back");
                let _ = conn.execute_batch("ROLLBACK TO job");
            }
        }
        let _ = conn.execute_batch("RELEASE job");
    }
    let committed = match conn.execute_batch("COMMIT") {
        Ok(()) => true,
        Err(err) => {
            tracing::error!(error = %err, "commit failed");
            let _ = conn.execute_batch("ROLLBACK");
            false
        }
    };
    for completion in completions {
        completion(committed);
    }
}
