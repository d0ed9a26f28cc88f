//! SQLite storage: every SQL statement of the emulator lives below this
//! module. Callers hand in and get back typed values ([`users::NewUser`],
//! [`search::UserQuery`], [`sessions::SessionRow`], ...) and the store's
//! own typed errors ([`Error`]: a taken unique value, a closed store, a
//! write not committed, SQLite's failure); they never see a connection,
//! only a [`Db`] that the functions of these modules take. The store knows
//! nothing of HTTP: which status and body a failure answers is decided by
//! the operations (`crate::error` converts an [`Error`]).
//!
//! Writes are closures sent to one writer thread. It runs every closure
//! that is waiting in one transaction, each inside its own savepoint (a
//! failing request is rolled back alone and changes nothing), commits once
//! with `synchronous=FULL`, and only then answers the callers: an
//! acknowledged write is on disk, and a burst of writes shares one fsync.
//! Reads use WAL snapshots on pooled read-only connections (memory-mapped,
//! with cached prepared statements), so they never wait for the writer.
//! A separate thread checkpoints the WAL, so no write waits for a
//! checkpoint either.

pub(crate) mod apps;
pub(crate) mod blobs;
pub(crate) mod counts;
pub(crate) mod dataset;
mod error;
pub(crate) mod links;
pub(crate) mod migrations;
pub(crate) mod providers;
pub(crate) mod search;
pub(crate) mod sessions;
pub(crate) mod users;

#[cfg(test)]
mod totals_tests;
#[cfg(test)]
mod wal_tests;

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use self::counts::CountCache;
pub use self::error::StoreError;
pub(crate) use self::error::{Error, Result, Unique};
use crate::limits::{STATEMENT_CACHE, WRITE_BATCH_MAX};

/// Delivers a write's result once its transaction has committed (`true`)
/// or failed to commit (`false`).
type Completion = Box<dyn FnOnce(bool) + Send>;
/// A write: runs on the writer connection, says whether it succeeded.
type Job = Box<dyn FnOnce(&Db) -> (bool, Completion) + Send>;

/// How much of the database file readers map into memory.
const MMAP_BYTES: i64 = 1 << 30;
/// Each connection's page cache, in KiB (negative: KiB for SQLite).
const CACHE_KIB: i64 = 32 * 1024;
/// How often the WAL is checkpointed (off the writer thread).
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);
/// The most of the WAL file kept once the log starts over.
const WAL_KEEP_BYTES: i64 = 64 << 20;

/// Set by the checkpointer after each round, taken by the writer (see
/// `writer_loop`).
type CheckpointDone = Arc<AtomicBool>;

/// A database connection, usable only through the functions of the store
/// modules.
pub(crate) struct Db {
    conn: Connection,
    /// The search totals of this store (shared by its connections).
    counts: Arc<CountCache>,
    /// The applications whose searches the current write changes.
    touched: RefCell<Touched>,
}

/// Whose search version a write raises when it commits.
#[derive(Default)]
struct Touched {
    all: bool,
    apps: BTreeSet<i64>,
}

impl Db {
    fn new(conn: Connection, counts: Arc<CountCache>) -> Self {
        Self {
            conn,
            counts,
            touched: RefCell::new(Touched::default()),
        }
    }

    fn conn(&self) -> &Connection {
        &self.conn
    }

    fn counts(&self) -> &CountCache {
        &self.counts
    }

    /// Records that the current write adds or removes users of `app_id` or
    /// changes what a search of them can filter on: every store function
    /// that does calls this (or [`Db::touch_all`]), so remembered search
    /// totals of the application are not given again.
    fn touch(&self, app_id: i64) {
        self.touched.borrow_mut().apps.insert(app_id);
    }

    /// [`Db::touch`] for every application.
    fn touch_all(&self) {
        self.touched.borrow_mut().all = true;
    }

    /// Raises the search versions the current write touched, in its own
    /// transaction, so the versions change exactly when the data does.
    fn save_touched(&self) -> Result<()> {
        let touched = self.touched.take();
        if touched.all {
            self.conn
                .prepare_cached(
                    "INSERT INTO search_versions (app_id, version) SELECT id, 1 FROM apps WHERE true
                     ON CONFLICT(app_id) DO UPDATE SET version = version + 1",
                )?
                .execute([])?;
            return Ok(());
        }
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO search_versions (app_id, version) VALUES (?1, 1)
             ON CONFLICT(app_id) DO UPDATE SET version = version + 1",
        )?;
        for app_id in touched.apps {
            stmt.execute([app_id])?;
        }
        Ok(())
    }
}

pub(crate) struct Store {
    path: PathBuf,
    /// The data directory (or the private temporary one).
    dir: PathBuf,
    /// Whether commits and files are fsynced (not in in-memory mode).
    durable: bool,
    writer: Mutex<Option<mpsc::Sender<Job>>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    /// Dropped to stop the checkpointer.
    checkpoint_stop: Mutex<Option<mpsc::Sender<()>>>,
    readers: Mutex<Vec<Db>>,
    /// Search totals, shared by the readers.
    counts: Arc<CountCache>,
    /// Set for in-memory mode: the private directory removed on close.
    temp_dir: Option<PathBuf>,
    /// Held (locked) while the store is open: one emulator per directory.
    _lock: std::fs::File,
}

fn tune(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(Duration::from_secs(5))?;
    // A statement's plan never depends on the values bound to it (the store
    // chooses the index itself), so SQLite need not prepare a statement
    // again each time its values change.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    conn.pragma_update(None, "mmap_size", MMAP_BYTES)?;
    conn.pragma_update(None, "cache_size", -CACHE_KIB)?;
    // Savepoints (one per write) and sorts keep their scratch pages in
    // memory, not in temporary files.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(())
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
        let mut conn = Connection::open(&path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // FULL: a commit is fsynced before the write is acknowledged. The
        // in-memory mode has nothing to keep, so it skips the fsync.
        conn.pragma_update(None, "synchronous", if durable { "FULL" } else { "OFF" })?;
        conn.pragma_update(None, "foreign_keys", true)?;
        // The checkpointer thread does this work; a commit never waits for it.
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        // A restart that readers hold off lets the log run past its usual
        // length; the next restart cuts the file back to this.
        conn.pragma_update(None, "journal_size_limit", WAL_KEEP_BYTES)?;
        tune(&conn)?;
        migrations::migrate(&mut conn)?;

        let checkpointer = Connection::open(&path)?;
        checkpointer.busy_timeout(Duration::from_secs(5))?;
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let checkpointed = CheckpointDone::default();
        let round_done = Arc::clone(&checkpointed);
        let checkpoint_thread = std::thread::Builder::new()
            .name("cube-emulator-checkpoint".into())
            .spawn(move || checkpoint_loop(&checkpointer, &stop_rx, &round_done))
            .map_err(io_error)?;

        let (tx, rx) = mpsc::channel::<Job>();
        let counts = Arc::new(CountCache::default());
        let db = Db::new(conn, Arc::clone(&counts));
        let writer_thread = std::thread::Builder::new()
            .name("cube-emulator-writer".into())
            .spawn(move || writer_loop(&db, &rx, &checkpointed))
            .map_err(io_error)?;
        Ok(Self {
            path,
            dir,
            durable,
            writer: Mutex::new(Some(tx)),
            threads: Mutex::new(vec![writer_thread, checkpoint_thread]),
            checkpoint_stop: Mutex::new(Some(stop_tx)),
            readers: Mutex::new(Vec::new()),
            counts,
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
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Db) -> Result<T> + Send + 'static,
    {
        self.write_checked(f).await
    }

    /// [`Store::write`] for a closure that may also refuse with a reason of
    /// the caller's own, `E` (a precondition checked inside the
    /// transaction, against what it sees): the refusal rolls back
    /// everything `f` did and reaches the caller as it is. The store's own
    /// failures reach it as `E::from(`[`Error`]`)`.
    pub(crate) async fn write_checked<T, E, F>(&self, f: F) -> std::result::Result<T, E>
    where
        T: Send + 'static,
        E: From<Error> + Send + 'static,
        F: FnOnce(&Db) -> std::result::Result<T, E> + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |db| {
            // Marks left by an earlier write that failed went with it.
            db.touched.take();
            let result = f(db).and_then(|value| {
                db.save_touched()?;
                Ok(value)
            });
            let ok = result.is_ok();
            let completion: Completion = Box::new(move |committed| {
                let result = if committed || result.is_err() {
                    result
                } else {
                    Err(E::from(Error::NotCommitted))
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
            return Err(E::from(Error::Closed));
        }
        answer
            .await
            .unwrap_or_else(|_| Err(E::from(Error::NotCommitted)))
    }

    /// Runs `f` on a read connection (a WAL snapshot per statement; see
    /// [`Db::snapshot`] for several statements that must agree).
    pub(crate) fn read<T>(&self, f: impl FnOnce(&Db) -> Result<T>) -> Result<T> {
        let pooled = self
            .readers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let db = match pooled {
            Some(db) => db,
            None => self.open_reader()?,
        };
        let result = f(&db);
        self.readers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(db);
        result
    }

    fn open_reader(&self) -> rusqlite::Result<Db> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        tune(&conn)?;
        Ok(Db::new(conn, Arc::clone(&self.counts)))
    }

    /// Finishes queued writes, stops the writer and the checkpointer and
    /// closes the database.
    pub(crate) fn close(&self) {
        drop(
            self.writer
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
        drop(
            self.checkpoint_stop
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
        let threads =
            std::mem::take(&mut *self.threads.lock().unwrap_or_else(PoisonError::into_inner));
        for thread in threads {
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

impl Db {
    /// Runs `f` inside one read transaction, so that its statements see
    /// the same snapshot (a page and its total agree).
    pub(crate) fn snapshot<T>(&self, f: impl FnOnce(&Db) -> Result<T>) -> Result<T> {
        self.conn.prepare_cached("BEGIN")?.execute([])?;
        let result = f(self);
        let end = self
            .conn
            .prepare_cached("COMMIT")
            .and_then(|mut s| s.execute([]));
        match (result, end) {
            (Ok(value), Ok(_)) => Ok(value),
            (Err(err), _) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(err)
            }
            (Ok(_), Err(err)) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(err.into())
            }
        }
    }
}

fn writer_loop(db: &Db, rx: &mpsc::Receiver<Job>, checkpointed: &CheckpointDone) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < WRITE_BATCH_MAX {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        run_batch(db, batch);
        // SQLite starts the WAL over from its first frame only when a write
        // begins with every frame already copied. The checkpointer alone
        // never gets there while writes go on (each round is overtaken by
        // the commits made during it), and the log then grows by every page
        // ever written: a load test of sign-ins grew it by 30 MB a second.
        // So after each of its rounds the writer copies the few frames
        // committed since, between two transactions, and the next write
        // starts the log over.
        if checkpointed.swap(false, Ordering::Relaxed) {
            checkpoint(&db.conn);
        }
    }
}

/// Copies committed frames from the WAL into the database, as many as no
/// reader still needs, without waiting for anyone (`PASSIVE`).
fn checkpoint(conn: &Connection) {
    if let Err(err) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
        tracing::debug!(error = %err, "checkpoint skipped");
    }
}

fn run_batch(db: &Db, batch: Vec<Job>) {
    let conn = &db.conn;
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
        match catch_unwind(AssertUnwindSafe(|| job(db))) {
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

/// Copies committed pages from the WAL into the database file every
/// [`CHECKPOINT_EVERY`], without blocking the writer or the readers
/// (`PASSIVE`), then asks the writer to copy the rest (see `writer_loop`)
/// so the WAL starts over and stays small.
fn checkpoint_loop(conn: &Connection, stop: &mpsc::Receiver<()>, done: &CheckpointDone) {
    while let Err(mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(CHECKPOINT_EVERY) {
        checkpoint(conn);
        done.store(true, Ordering::Relaxed);
    }
}
