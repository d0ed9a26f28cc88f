//! Storage calls for avatars (`docs/PROTOCOL.md`, "Storage"): create a file, upload
//! its bytes, declare it uploaded, read its info, delete it, and build its
//! URLs.

use super::{Access, Operation};
use crate::config::Config;
use crate::error::{Error, InvalidInput};
use crate::model::{Blob, BlobObjectAccess};
use crate::multipart::{FilePart, Form};
use crate::query::{self, Query};
use crate::secret::Secret;
use crate::wire::{self, Request, RequestContext, Response};
use http::{Method, header};
use serde_json::json;

/// `POST /blobs`: creates a file record and returns it with its upload
/// permission ([`Blob::blob_object_access`]). Needs a user session.
///
/// # Avatar recipe
///
/// Create the file, upload the bytes (no session involved), declare the
/// upload, point the user's `avatar` at the uid, then build its URL. An
/// adapter sends each request; here the answers are written out.
///
/// ```
/// use cube_proto::ops::{
///     CompleteBlob, CreateBlob, Operation, UpdateUser, Upload, UserUpdate, blob_private_url,
/// };
/// use cube_proto::{Config, Secret, wire::RequestContext};
///
/// let config = Config::builder(1, "key").base_url("http://127.0.0.1:8080").build()?;
/// let token = Secret::new("user-token");
/// let ctx = RequestContext { config: &config, token: Some(&token),
///     now: time::OffsetDateTime::UNIX_EPOCH, nonce: 0 };
/// let photo = b"\xFF\xD8\xFF\xE0 not really a JPEG".to_vec();
///
/// // 1. Create the file record.
/// let create = CreateBlob::new("image/jpeg", "me.jpeg")?;
/// let _request = create.build(&ctx)?; // POST /blobs
/// let answer = http::Response::builder().status(201).body(
///     br#"{"blob": {"id": 7, "uid": "a1b2c3d4e5", "content_type": "image/jpeg",
///         "name": "me.jpeg", "size": null, "blob_object_access": {"id": 7, "blob_id": 7,
///         "object_access_type": "Write",
///         "params": "http://127.0.0.1:8080/_upload?key=a1b2c3d4e5&policy=cG9s%2Bw%3D%3D"}}}"#
///         .to_vec())?;
/// let blob = create.parse(&answer)?;
///
/// // 2. Upload the bytes: a plain request to the upload URL, no CB-Token.
/// let upload = Upload::for_blob(&blob, photo.clone())?.into_request()?;
/// assert_eq!(upload.uri(), "http://127.0.0.1:8080/_upload");
/// assert!(upload.headers().get("CB-Token").is_none());
///
/// // 3. Declare it uploaded, with its size.
/// let _request = CompleteBlob::new(blob.id, photo.len() as u64).build(&ctx)?;
///
/// // 4. Make it the avatar of the signed-in user (id 81).
/// let uid = blob.uid.as_deref().unwrap();
/// let _request = UpdateUser::new(81, UserUpdate::new().avatar(uid)).build(&ctx)?;
///
/// // 5. Anyone can build its URL from the uid and their own token.
/// assert_eq!(
///     blob_private_url(&config, uid, &token)?,
///     "http://127.0.0.1:8080/blobs/a1b2c3d4e5?token=user-token"
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateBlob {
    content_type: String,
    name: String,
    public: bool,
}

impl CreateBlob {
    /// A private file of this MIME type and name (neither may be empty).
    pub fn new(
        content_type: impl Into<String>,
        name: impl Into<String>,
    ) -> Result<Self, InvalidInput> {
        let (content_type, name) = (content_type.into(), name.into());
        if content_type.trim().is_empty() || content_type.contains(['\r', '\n']) {
            return Err(InvalidInput::new(
                "content_type",
                "a MIME type is required, on one line",
            ));
        }
        if name.trim().is_empty() {
            return Err(InvalidInput::new("name", "a file name is required"));
        }
        Ok(Self {
            content_type,
            name,
            public: false,
        })
    }

    /// A private file named `name`, its MIME type guessed from the name's
    /// extension (`application/octet-stream` when unknown; see
    /// [`guess_content_type`](crate::ops::guess_content_type)).
    ///
    /// ```
    /// use cube_proto::ops::CreateBlob;
    /// assert_eq!(CreateBlob::for_file("me.png")?, CreateBlob::new("image/png", "me.png")?);
    /// # Ok::<(), cube_proto::error::InvalidInput>(())
    /// ```
    pub fn for_file(name: impl Into<String>) -> Result<Self, InvalidInput> {
        let name = name.into();
        Self::new(super::guess_content_type(&name), name)
    }

    /// Whether the file is readable without a token (default: private).
    pub fn public(mut self, public: bool) -> Self {
        self.public = public;
        self
    }
}

impl Operation for CreateBlob {
    type Output = Blob;

    fn name(&self) -> &'static str {
        "create_blob"
    }

    fn access(&self) -> Access {
        Access::Write
    }

    fn build(&self, ctx: &RequestContext<'_>) -> Result<Request, Error> {
        let body = json!({"blob": {
            "content_type": self.content_type,
            "name": self.name,
            "public": self.public,
        }});
        wire::with_json(wire::request(ctx, Method::POST, "/blobs", None)?, &body)
    }

    fn parse(&self, response: &Response) -> Result<Blob, Error> {
        wire::wrapped(response, "blob")
    }
}

/// `PUT /blobs/{id}/complete`: declares the upload done, with its size in
/// bytes (`{"blob": {"size": N}}`). Needs a user session.
///
/// ```
/// use cube_proto::ops::{CompleteBlob, Operation};
/// use cube_proto::{Config, Secret, wire::RequestContext};
/// let config = Config::builder(1, "key").build()?;
/// let token = Secret::new("t");
/// let ctx = RequestContext { config: &config, token: Some(&token),
///     now: time::OffsetDateTime::UNIX_EPOCH, nonce: 0 };
/// let request = CompleteBlob::new(7, 1024).build(&ctx)?;
/// assert_eq!(request.uri().path(), "/blobs/7/complete");
/// assert_eq!(request.body(), br#"{"blob":{"size":1024}}"#);
/// # Ok::<(), cube_proto::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompleteBlob {
    id: u64,
    size: u64,
}

impl CompleteBlob {
    /// Blob `id` now holds `size` bytes.
    pub fn new(id: u64, size: u64) -> Self {
        Self { id, size }
    }
}

impl Operation for CompleteBlob {
    type Output = ();

    fn name(&self) -> &'static str {
        "complete_blob"
    }

    fn access(&self) -> Access {
        Access::Write
    }

    fn build(&self, ctx: &RequestContext<'_>) -> Result<Request, Error> {
        let path = format!("/blobs/{}/complete", self.id);
        let body = json!({"blob": {"size": self.size}});
        wire::with_json(wire::request(ctx, Method::PUT, &path, None)?, &body)
    }

    fn parse(&self, _response: &Response) -> Result<(), Error> {
        Ok(())
    }
}

/// `GET /blobs/{id}`: what the server knows about a file. Any session.
///
/// ```
/// use cube_proto::ops::{GetBlob, Operation};
/// use cube_proto::{Config, Secret, wire::RequestContext};
/// let config = Config::builder(1, "key").build()?;
/// let token = Secret::new("t");
/// let ctx = RequestContext { config: &config, token: Some(&token),
///     now: time::OffsetDateTime::UNIX_EPOCH, nonce: 0 };
/// let op = GetBlob::new(7);
/// assert_eq!(op.build(&ctx)?.uri().path(), "/blobs/7");
/// let blob = op.parse(&http::Response::new(br#"{"blob": {"id": 7, "size": 1024}}"#.to_vec()))?;
/// assert_eq!(blob.size, Some(1024));
/// # Ok::<(), cube_proto::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GetBlob {
    id: u64,
}

impl GetBlob {
    /// Reads blob `id`.
    pub fn new(id: u64) -> Self {
        Self { id }
    }
}

impl Operation for GetBlob {
    type Output = Blob;

    fn name(&self) -> &'static str {
        "get_blob"
    }

    fn access(&self) -> Access {
        Access::Read
    }

    fn build(&self, ctx: &RequestContext<'_>) -> Result<Request, Error> {
        let path = format!("/blobs/{}", self.id);
        wire::empty(wire::request(ctx, Method::GET, &path, None)?)
    }

    fn parse(&self, response: &Response) -> Result<Blob, Error> {
        wire::wrapped(response, "blob")
    }
}

/// `DELETE /blobs/{id}`: deletes a file. Needs a user session.
///
/// ```
/// use cube_proto::ops::{DeleteBlob, Operation};
/// use cube_proto::{Config, Secret, wire::RequestContext};
/// let config = Config::builder(1, "key").build()?;
/// let token = Secret::new("t");
/// let ctx = RequestContext { config: &config, token: Some(&token),
///     now: time::OffsetDateTime::UNIX_EPOCH, nonce: 0 };
/// let request = DeleteBlob::new(7).build(&ctx)?;
/// assert_eq!((request.method().as_str(), request.uri().path()), ("DELETE", "/blobs/7"));
/// # Ok::<(), cube_proto::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeleteBlob {
    id: u64,
}

impl DeleteBlob {
    /// Deletes blob `id`.
    pub fn new(id: u64) -> Self {
        Self { id }
    }
}

impl Operation for DeleteBlob {
    type Output = ();

    fn name(&self) -> &'static str {
        "delete_blob"
    }

    fn access(&self) -> Access {
        Access::Write
    }

    fn build(&self, ctx: &RequestContext<'_>) -> Result<Request, Error> {
        let path = format!("/blobs/{}", self.id);
        wire::empty(wire::request(ctx, Method::DELETE, &path, None)?)
    }

    fn parse(&self, _response: &Response) -> Result<(), Error> {
        Ok(())
    }
}

/// The upload of a file's bytes: a `multipart/form-data` `POST` to the
/// upload URL of [`BlobObjectAccess::params`], without its query. Every
/// query parameter of that URL, percent-decoded (`+` stays a plus, as
/// JavaScript's `decodeURIComponent` leaves it), becomes a form field in
/// order, then the bytes go last as field `file`.
///
/// It is not an [`Operation`]: the upload URL is another host, and the
/// request needs **no session** and carries no `CB-Token` (the URL holds a
/// signed policy valid for an hour). An adapter sends the request as it is;
/// the storage answers `201` with an XML body.
///
/// The multipart boundary is derived from the content (no randomness), or
/// set with [`Upload::boundary`].
///
/// ```
/// use cube_proto::model::BlobObjectAccess;
/// use cube_proto::ops::Upload;
/// let access = BlobObjectAccess::new(
///     "https://up.example/?Content-Type=image%2Fjpeg&key=a1b2&policy=ab%2Bc%3D&x=a+b");
/// let request = Upload::new(&access, "cat.jpeg", "image/jpeg", b"JPEG".to_vec())?
///     .boundary("XyZ")
///     .into_request()?;
/// assert_eq!(request.method(), "POST");
/// assert_eq!(request.uri(), "https://up.example/");
/// assert_eq!(request.headers()["content-type"], "multipart/form-data; boundary=XyZ");
/// let body = String::from_utf8(request.into_body()).unwrap();
/// assert!(body.contains("name=\"policy\"\r\n\r\nab+c=\r\n"));
/// assert!(body.contains("name=\"x\"\r\n\r\na+b\r\n"));
/// assert!(body.ends_with("JPEG\r\n--XyZ--\r\n"));
/// # Ok::<(), cube_proto::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    url: Secret,
    form: Form,
    file: FilePart,
    boundary: Option<String>,
}

impl Upload {
    /// The upload of `bytes` under a blob's permission, with its file name
    /// and content type.
    pub fn new(
        access: &BlobObjectAccess,
        file_name: impl Into<String>,
        content_type: impl Into<String>,
        bytes: Vec<u8>,
    ) -> Result<Self, InvalidInput> {
        let (target, form) = upload_target(access)?;
        Ok(Self {
            url: target,
            form,
            file: FilePart::new(file_name, content_type, bytes),
            boundary: None,
        })
    }

    /// The upload of `bytes` for a freshly created blob, with the blob's
    /// name and content type (`application/octet-stream` when it has none).
    pub fn for_blob(blob: &Blob, bytes: Vec<u8>) -> Result<Self, InvalidInput> {
        let (access, name, content_type) = blob_upload_parts(blob)?;
        Self::new(access, name, content_type, bytes)
    }

    /// Uses this multipart boundary instead of the derived one.
    pub fn boundary(mut self, boundary: impl Into<String>) -> Self {
        self.boundary = Some(boundary.into());
        self
    }

    /// The form fields taken from the upload URL, in order.
    pub fn fields(&self) -> &[(String, String)] {
        self.form.fields()
    }

    /// The request to send to the upload URL.
    pub fn into_request(self) -> Result<Request, Error> {
        let boundary = match self.boundary {
            Some(b) => b,
            None => self.form.derive_boundary(&self.file)?,
        };
        let body = self.form.encode(&self.file, &boundary)?;
        http::Request::builder()
            .method(Method::POST)
            .uri(self.url.expose())
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
            .map_err(|e| Error::Config(format!("could not build the upload request: {e}")))
    }
}

/// The upload goes to the upload URL, not the API: it carries no token and
/// needs no session, and any 2xx (the S3-style XML answer) means stored.
impl Operation for Upload {
    type Output = ();

    fn name(&self) -> &'static str {
        "upload"
    }

    fn access(&self) -> Access {
        Access::Public
    }

    /// The request of [`Upload::into_request`], identified by `CB-SDK` (it
    /// carries no token).
    fn build(&self, ctx: &RequestContext<'_>) -> Result<Request, Error> {
        let mut request = self.clone().into_request()?;
        request.headers_mut().insert(
            wire::SDK_HEADER,
            wire::header_value(ctx.config.sdk_identity(), "SDK identity")?,
        );
        Ok(request)
    }

    fn parse(&self, _response: &Response) -> Result<(), Error> {
        Ok(())
    }
}

/// Where an upload goes and the form fields it carries: the upload URL
/// without its query, and every query parameter, percent-decoded (`+` stays
/// a plus), in order.
pub(crate) fn upload_target(access: &BlobObjectAccess) -> Result<(Secret, Form), InvalidInput> {
    let url = access.upload_url().ok_or_else(|| {
        InvalidInput::new("blob_object_access", "the blob has no upload URL (params)")
    })?;
    let (target, query) = match url.split_once('?') {
        Some((target, query)) => (target, query),
        None => (url, ""),
    };
    let query = query.split_once('#').map_or(query, |(q, _)| q);
    let bad_url = || InvalidInput::new("blob_object_access", "the upload URL is not valid");
    let uri: http::Uri = target.parse().map_err(|_| bad_url())?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.authority().is_none() {
        return Err(bad_url());
    }
    let mut form = Form::new();
    for (name, value) in query::pairs(query).ok_or_else(bad_url)? {
        form.field(name, value);
    }
    Ok((Secret::new(target), form))
}

/// The upload permission of a freshly created blob, and its name and type
/// (`file` and `application/octet-stream` when it has none).
pub(crate) fn blob_upload_parts(
    blob: &Blob,
) -> Result<(&BlobObjectAccess, String, String), InvalidInput> {
    let access = blob.blob_object_access.as_ref().ok_or_else(|| {
        InvalidInput::new(
            "blob_object_access",
            "the blob has no upload permission: use the answer of CreateBlob",
        )
    })?;
    let name = blob.name.clone().unwrap_or_else(|| "file".into());
    let content_type = blob
        .content_type
        .clone()
        .unwrap_or_else(|| "application/octet-stream".into());
    Ok((access, name, content_type))
}

pub(crate) fn check_uid(uid: &str) -> Result<(), InvalidInput> {
    if uid.is_empty() {
        return Err(InvalidInput::new("uid", "cannot be empty"));
    }
    if uid.bytes().all(|b| b.is_ascii_digit()) {
        // `/blobs/123` means blob id 123, not a uid.
        return Err(InvalidInput::new(
            "uid",
            "an all-digit uid would be read as a blob id",
        ));
    }
    Ok(())
}

/// The URL of a private file: `{base}/blobs/{uid}?token={token}`. Any valid
/// session token will do; the URL carries it, so treat the URL as a secret.
///
/// ```
/// use cube_proto::{Config, Secret, ops::blob_private_url};
/// let config = Config::builder(1, "key").build()?;
/// let url = blob_private_url(&config, "a1b2c3", &Secret::new("83153a14"))?;
/// assert_eq!(url, "https://api.connectycube.com/blobs/a1b2c3?token=83153a14");
/// # Ok::<(), cube_proto::Error>(())
/// ```
pub fn blob_private_url(config: &Config, uid: &str, token: &Secret) -> Result<String, Error> {
    check_uid(uid)?;
    let mut q = Query::new();
    q.push("token", token.expose());
    Ok(config.url(&format!("/blobs/{}", query::segment(uid)), q.as_option()))
}

/// The URL of a public file: `{base}/blobs/{uid}`, no token needed.
///
/// ```
/// use cube_proto::{Config, ops::blob_public_url};
/// let config = Config::builder(1, "key").build()?;
/// assert_eq!(blob_public_url(&config, "a1b2c3")?, "https://api.connectycube.com/blobs/a1b2c3");
/// # Ok::<(), cube_proto::Error>(())
/// ```
pub fn blob_public_url(config: &Config, uid: &str) -> Result<String, Error> {
    check_uid(uid)?;
    Ok(config.url(&format!("/blobs/{}", query::segment(uid)), None))
}
