//! The blob (file) object of the storage API (`docs/PROTOCOL.md`, "Storage").

use super::de;
use crate::secret::Secret;
use serde::{Deserialize, Deserializer};
use time::OffsetDateTime;

/// A stored file, as `POST /blobs` and `GET /blobs/{id}` describe it.
///
/// Every field but `id` may be missing or null. Right after creation,
/// [`blob_object_access`](Blob::blob_object_access) carries the upload URL.
///
/// ```
/// let blob: cube_proto::model::Blob = serde_json::from_str(
///     r#"{"id": 7, "uid": "9a1bc2d3e4", "content_type": "image/jpeg", "size": null,
///         "public": false, "blob_object_access": {"id": 7, "blob_id": 7,
///         "object_access_type": "Write", "params": "https://up.example/?key=9a1bc2d3e4"}}"#,
/// )?;
/// assert_eq!(blob.uid.as_deref(), Some("9a1bc2d3e4"));
/// assert_eq!(blob.size, None);
/// let access = blob.blob_object_access.as_ref().unwrap();
/// assert_eq!(access.upload_url(), Some("https://up.example/?key=9a1bc2d3e4"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Blob {
    /// The blob id (for `/blobs/{id}`, `/complete`, delete).
    #[serde(deserialize_with = "de::u64_any")]
    pub id: u64,
    /// The uid (for file URLs and the user's `avatar`).
    #[serde(default, deserialize_with = "de::opt_text")]
    pub uid: Option<String>,
    /// MIME type.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub content_type: Option<String>,
    /// File name.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub name: Option<String>,
    /// Size in bytes, once declared uploaded.
    #[serde(default, deserialize_with = "de::opt_u64")]
    pub size: Option<u64>,
    /// Whether the file is readable without a token.
    #[serde(default, deserialize_with = "de::opt_bool")]
    pub public: Option<bool>,
    /// When it was created.
    #[serde(default, deserialize_with = "de::opt_datetime")]
    pub created_at: Option<OffsetDateTime>,
    /// When it was last changed.
    #[serde(default, deserialize_with = "de::opt_datetime")]
    pub updated_at: Option<OffsetDateTime>,
    /// Upload permission, present right after creation.
    #[serde(default)]
    pub blob_object_access: Option<BlobObjectAccess>,
}

/// The upload permission of a new blob: where and how to send the bytes.
///
/// The upload URL carries a signed policy that lets anyone holding it upload
/// for an hour, so `Debug` does not show it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct BlobObjectAccess {
    /// Its id.
    #[serde(default, deserialize_with = "de::opt_u64")]
    pub id: Option<u64>,
    /// The blob it belongs to.
    #[serde(default, deserialize_with = "de::opt_u64")]
    pub blob_id: Option<u64>,
    /// When the permission ends.
    #[serde(default, deserialize_with = "de::opt_datetime")]
    pub expires: Option<OffsetDateTime>,
    /// `Write` for an upload permission.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub object_access_type: Option<String>,
    /// The upload URL, query and all.
    #[serde(default, deserialize_with = "secret_text")]
    pub params: Option<Secret>,
}

impl BlobObjectAccess {
    /// An upload permission for `upload_url` (for tests and fixtures).
    pub fn new(upload_url: impl Into<String>) -> Self {
        Self {
            id: None,
            blob_id: None,
            expires: None,
            object_access_type: Some("Write".into()),
            params: Some(Secret::new(upload_url)),
        }
    }

    /// The upload URL (`params`).
    pub fn upload_url(&self) -> Option<&str> {
        self.params.as_ref().map(Secret::expose)
    }
}

fn secret_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Secret>, D::Error> {
    Ok(de::opt_text(d)?.filter(|s| !s.is_empty()).map(Secret::new))
}
