//! The store's failures: [`StoreError`] when a database cannot be opened,
//! [`Error`] when a call fails. Neither knows of HTTP: what a failure
//! answers to a client is decided above the store (`crate::error`).

use std::path::PathBuf;

/// Errors opening the database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite refused to open or migrate the database.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The database was written by a newer emulator.
    #[error("the database has schema version {found}; this emulator knows versions up to {known}")]
    TooNew {
        /// The version found in the database.
        found: i64,
        /// The newest version this emulator knows.
        known: i64,
    },
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

/// A value that must be unique (per application, for user fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unique {
    Login,
    Email,
    ExternalId,
    FacebookId,
    TwitterId,
    /// An application's id or auth key.
    Application,
}

impl Unique {
    /// The wire name of the field.
    pub(crate) fn field(self) -> &'static str {
        match self {
            Unique::Login => "login",
            Unique::Email => "email",
            Unique::ExternalId => "external_id",
            Unique::FacebookId => "facebook_id",
            Unique::TwitterId => "twitter_id",
            Unique::Application => "base",
        }
    }
}

/// Why a storage call failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// A unique value is held by another record.
    #[error("{} is already taken", .0.field())]
    Taken(Unique),
    /// The store is closing: no more writes are taken.
    #[error("the store is closed")]
    Closed,
    /// The transaction holding the write could not commit.
    #[error("the write was not committed")]
    NotCommitted,
    /// SQLite failed (disk, corruption, a bug in a statement).
    #[error("storage failure: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

/// Result of a storage call.
pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;
