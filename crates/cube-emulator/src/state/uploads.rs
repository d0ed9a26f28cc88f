//! Uploaded files: their records in the store and their bytes on disk,
//! kept in step (a record's bytes go when it does; bytes whose record went
//! meanwhile are not kept), and the key that signs their upload policies,
//! which never leaves this handle.

use std::io;
use std::sync::Arc;

use crate::crypto::{Secret, hmac_sha256_hex};
use crate::files::{Files, Partial};
use crate::store::blobs::{self, BlobRow};
use crate::store::{self, Store};

/// File records and bytes.
pub(crate) struct Uploads {
    store: Arc<Store>,
    /// The bytes.
    pub(crate) files: Files,
    key: Secret,
}

/// Why the bytes of an upload were not kept.
#[derive(Debug)]
pub(crate) enum KeepError {
    /// Writing them failed.
    Io(io::Error),
    /// The record could not be read.
    Store(store::Error),
    /// The record was deleted while they arrived: they went too.
    Gone,
}

impl Uploads {
    pub(crate) fn new(store: Arc<Store>, files: Files, key: Secret) -> Self {
        Self { store, files, key }
    }

    /// The signature of an upload policy.
    pub(crate) fn sign(&self, policy: &str) -> String {
        hmac_sha256_hex(self.key.expose(), policy)
    }

    /// Stores a new record (its id is set).
    pub(crate) async fn create(&self, mut blob: BlobRow) -> store::Result<BlobRow> {
        self.store
            .write(move |c| {
                blobs::insert(c, &mut blob)?;
                Ok(blob)
            })
            .await
    }

    /// The record `id` of application `app_id`.
    pub(crate) fn by_id(&self, app_id: i64, id: i64) -> store::Result<Option<BlobRow>> {
        self.store.read(|c| blobs::by_id(c, app_id, id))
    }

    /// The record of `uid`, whatever its application.
    pub(crate) fn by_uid(&self, uid: &str) -> store::Result<Option<BlobRow>> {
        self.store.read(|c| blobs::by_uid(c, uid))
    }

    /// Records that the upload of `id` is complete, with its size.
    pub(crate) async fn complete(&self, id: i64, size: i64, now: i64) -> store::Result<()> {
        self.store
            .write(move |c| blobs::complete(c, id, size, now))
            .await
    }

    /// Deletes the record, then the bytes.
    pub(crate) async fn delete(&self, blob: &BlobRow) -> store::Result<()> {
        let id = blob.id;
        self.store.write(move |c| blobs::delete(c, id)).await?;
        self.files.remove(&blob.uid).await;
        Ok(())
    }

    /// Puts the bytes of `partial` in place as the file of `uid` and
    /// returns their size; if the record was deleted meanwhile, the bytes
    /// go too (a delete that raced with the upload wins: no file without a
    /// record).
    pub(crate) async fn keep(&self, partial: Partial, uid: &str) -> Result<u64, KeepError> {
        let size = self
            .files
            .commit(partial, uid)
            .await
            .map_err(KeepError::Io)?;
        if self.by_uid(uid).map_err(KeepError::Store)?.is_none() {
            self.files.remove(uid).await;
            return Err(KeepError::Gone);
        }
        Ok(size)
    }
}
