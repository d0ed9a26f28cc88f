//! Files too large to hold in memory: a streamed upload (the multipart
//! framing decided here, the bytes streamed by the adapter between a head
//! and a tail) and a download through the API's one storage redirect.
//!
//! What the adapters add is I/O only: reading the file, counting bytes for
//! progress, an idle timeout ([`DEFAULT_IDLE_TIMEOUT`]) instead of the total
//! timeout of API calls, and cancelling.

use super::storage::{blob_upload_parts, check_uid, upload_target};
use super::{Access, Operation};
use crate::config::Config;
use crate::error::{ApiError, DecodeError, Error, InvalidInput};
use crate::model::{Blob, BlobObjectAccess};
use crate::multipart::{self, Form};
use crate::query;
use crate::secret::Secret;
use crate::wire::{self, Request, RequestContext, Response};
use http::{Method, StatusCode, Uri, header};
use std::time::Duration;

/// Largest file the storage accepts: 100 MiB (`docs/PROTOCOL.md`, "Storage"). A
/// larger file is refused before anything is sent.
pub const MAX_UPLOAD: u64 = 100 << 20;

/// Refuses a file over [`MAX_UPLOAD`] before anything is sent.
///
/// ```
/// use cube_proto::ops::{MAX_UPLOAD, check_file_size};
/// assert!(check_file_size(MAX_UPLOAD).is_ok());
/// assert_eq!(check_file_size(MAX_UPLOAD + 1).unwrap_err().field, "file");
/// ```
pub fn check_file_size(len: u64) -> Result<(), InvalidInput> {
    if len > MAX_UPLOAD {
        return Err(InvalidInput::new(
            "file",
            format!("{len} bytes; the storage takes at most {MAX_UPLOAD} (100 MiB)"),
        ));
    }
    Ok(())
}

/// How long an upload or a download may go without moving a byte before it
/// is abandoned. Transfers have no total time limit: a large file on a slow
/// link takes as long as it takes, as long as it keeps moving.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// The MIME type of a file, guessed from its name's extension;
/// `application/octet-stream` when the extension is unknown or missing.
///
/// ```
/// use cube_proto::ops::guess_content_type;
/// assert_eq!(guess_content_type("cat.JPEG"), "image/jpeg");
/// assert_eq!(guess_content_type("/tmp/notes.txt"), "text/plain");
/// assert_eq!(guess_content_type("blob"), "application/octet-stream");
/// ```
pub fn guess_content_type(file_name: &str) -> String {
    mime_guess::from_path(file_name)
        .first_or_octet_stream()
        .essence_str()
        .to_owned()
}

/// An upload whose bytes the adapter streams: the request head (URL,
/// `Content-Type` with the boundary, `Content-Length`, `CB-SDK`; never a
/// token) and the multipart bytes that go before and after the file.
///
/// The body is `head`, then exactly [`file_len`](Self::file_len) bytes of
/// the file, then `tail`. The boundary comes from the caller's randomness
/// ([`multipart::random_boundary`]), since the file cannot be searched
/// for it before it is sent.
///
/// ```
/// use cube_proto::{Config, model::BlobObjectAccess, ops::StreamedUpload};
/// let config = Config::builder(1, "key").build()?;
/// let access = BlobObjectAccess::new("https://up.example/upload?key=a1b2&policy=p%2Bq");
/// let upload = StreamedUpload::new(&config, &access, "cat.jpeg", "image/jpeg", 4, [7; 16])?;
/// assert_eq!(upload.request().uri(), "https://up.example/upload");
/// assert_eq!(upload.request().headers()["content-length"],
///     (upload.head().len() + 4 + upload.tail().len()).to_string().as_str());
/// assert!(upload.request().headers().get("CB-Token").is_none());
/// let mut body = upload.head().to_vec();
/// body.extend_from_slice(b"JPEG");
/// body.extend_from_slice(upload.tail());
/// let text = String::from_utf8(body).unwrap();
/// assert!(text.contains("name=\"policy\"\r\n\r\np+q\r\n"));
/// assert!(text.ends_with("JPEG\r\n--cube-07070707070707070707070707070707--\r\n"));
/// # Ok::<(), cube_proto::Error>(())
/// ```
pub struct StreamedUpload {
    request: http::Request<()>,
    head: Vec<u8>,
    tail: Vec<u8>,
    file_len: u64,
}

/// The head holds the signed upload policy: `Debug` shows sizes only.
impl std::fmt::Debug for StreamedUpload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamedUpload")
            .field("file_len", &self.file_len)
            .field("content_length", &self.content_length())
            .finish_non_exhaustive()
    }
}

impl StreamedUpload {
    /// The name of a streamed upload in logs and spans.
    pub const OPERATION: &'static str = "upload_stream";

    /// The upload of `file_len` bytes under a blob's permission, with the
    /// file's name and content type; `random` makes the boundary. A file
    /// over [`MAX_UPLOAD`] is refused.
    pub fn new(
        config: &Config,
        access: &BlobObjectAccess,
        file_name: &str,
        content_type: &str,
        file_len: u64,
        random: [u8; 16],
    ) -> Result<Self, Error> {
        check_file_size(file_len)?;
        let (url, form): (Secret, Form) = upload_target(access)?;
        let boundary = multipart::random_boundary(random);
        let head = form.encode_head(file_name, content_type, &boundary)?;
        let tail = multipart::encode_tail(&boundary);
        let length = head.len() as u64 + file_len + tail.len() as u64;
        let request = http::Request::builder()
            .method(Method::POST)
            .uri(url.expose())
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .header(header::CONTENT_LENGTH, length)
            .header(
                wire::SDK_HEADER,
                wire::header_value(config.sdk_identity(), "SDK identity")?,
            )
            .body(())
            .map_err(|e| Error::Config(format!("could not build the upload request: {e}")))?;
        Ok(Self {
            request,
            head,
            tail,
            file_len,
        })
    }

    /// The upload of `file_len` bytes for a freshly created blob, under the
    /// blob's name and content type.
    pub fn for_blob(
        config: &Config,
        blob: &Blob,
        file_len: u64,
        random: [u8; 16],
    ) -> Result<Self, Error> {
        let (access, name, content_type) = blob_upload_parts(blob)?;
        Self::new(config, access, &name, &content_type, file_len, random)
    }

    /// The request head; its body is `head`, the file, `tail`.
    pub fn request(&self) -> &http::Request<()> {
        &self.request
    }

    /// The bytes before the file.
    pub fn head(&self) -> &[u8] {
        &self.head
    }

    /// The bytes after the file.
    pub fn tail(&self) -> &[u8] {
        &self.tail
    }

    /// How many bytes of the file go between head and tail.
    pub fn file_len(&self) -> u64 {
        self.file_len
    }

    /// The whole body's length (the `Content-Length`).
    pub fn content_length(&self) -> u64 {
        self.head.len() as u64 + self.file_len + self.tail.len() as u64
    }

    /// The request head, head bytes and tail bytes, to send.
    pub fn into_parts(self) -> (http::Request<()>, Vec<u8>, Vec<u8>) {
        (self.request, self.head, self.tail)
    }
}

/// What a storage answer (the upload's, or the file's after the redirect)
/// means: any 2xx is success, anything else the server's error, with the
/// messages of `body` (the first bytes of the answer; S3-style XML gives
/// none).
///
/// ```
/// use cube_proto::ops::file_answer;
/// use http::StatusCode;
/// assert!(file_answer(StatusCode::CREATED, b"<PostResponse/>").is_ok());
/// let refused = file_answer(StatusCode::FORBIDDEN, b"<Error>policy</Error>").unwrap_err();
/// assert_eq!(refused.status(), Some(StatusCode::FORBIDDEN));
/// ```
pub fn file_answer(status: StatusCode, body: &[u8]) -> Result<(), Error> {
    if status.is_success() {
        Ok(())
    } else {
        Err(ApiError::from_parts(status, body).into())
    }
}

/// `GET /blobs/{uid}/download` with the session's token in `CB-Token` (not
/// in the URL): the server answers with a redirect to the bytes, which
/// [`Redirect::request`] follows once. Any session may read a private file
/// of its application.
///
/// ```
/// use cube_proto::ops::{BlobLocation, DownloadBlob, Operation};
/// use cube_proto::{Config, Secret, wire::RequestContext};
/// let config = Config::builder(1, "key").base_url("https://api.example").build()?;
/// let token = Secret::new("t0k");
/// let ctx = RequestContext { config: &config, token: Some(&token),
///     now: time::OffsetDateTime::UNIX_EPOCH, nonce: 0 };
/// let op = DownloadBlob::new("a1b2c3")?;
/// let request = op.build(&ctx)?;
/// assert_eq!(request.uri(), "https://api.example/blobs/a1b2c3/download");
/// assert_eq!(request.headers()["CB-Token"], "t0k");
///
/// let answer = http::Response::builder().status(301)
///     .header("Location", "https://files.example/a1b2c3?X-Signature=s").body(Vec::new())?;
/// assert!(op.accepts(answer.status()));
/// let BlobLocation::Redirect(redirect) = op.parse(&answer)? else { unreachable!() };
/// // Another host: the token stays home.
/// let next = redirect.request(&config, Some(&token))?;
/// assert_eq!(next.uri(), "https://files.example/a1b2c3?X-Signature=s");
/// assert!(next.headers().get("CB-Token").is_none());
/// assert!(next.headers().contains_key("CB-SDK"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadBlob {
    uid: String,
}

impl DownloadBlob {
    /// The download of file `uid` (not a blob id: uids hold a letter).
    pub fn new(uid: impl Into<String>) -> Result<Self, InvalidInput> {
        let uid = uid.into();
        check_uid(&uid)?;
        Ok(Self { uid })
    }

    fn path(&self) -> String {
        format!("/blobs/{}/download", query::segment(&self.uid))
    }
}

/// Where a file's bytes are, as the download answer says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlobLocation {
    /// The server sent the bytes themselves (the answer was a 2xx).
    Here(Vec<u8>),
    /// The server sent a redirect: fetch it with [`Redirect::request`].
    Redirect(Redirect),
}

/// The storage redirect of a download: one hop, no further.
#[derive(Clone, PartialEq, Eq)]
pub struct Redirect {
    status: StatusCode,
    /// The `Location` as sent, possibly relative to the download URL. It
    /// may carry a token (`?token=`), so `Debug` does not show it.
    location: Secret,
    download_path: String,
}

impl std::fmt::Debug for Redirect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redirect")
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl Redirect {
    /// The name of a download's storage fetch in logs and spans.
    pub const OPERATION: &'static str = "download_file";

    /// The request for the bytes. It carries `CB-SDK`, and `CB-Token` only
    /// when the target has the API's own origin (scheme, host and port of
    /// the base URL): the token never goes to another host. A redirect from
    /// an HTTPS API to plain HTTP, or to anything but HTTP(S), is refused.
    /// The answer is one to stream: a 2xx holds the bytes, anything else is
    /// an error ([`file_answer`]) — a second redirect is not followed.
    pub fn request(&self, config: &Config, token: Option<&Secret>) -> Result<Request, Error> {
        let base: Uri = config
            .url(&self.download_path, None)
            .parse()
            .map_err(|_| Error::Config("the base URL is not a valid URI".into()))?;
        let target = resolve(&base, self.location.expose())
            .ok_or_else(|| self.refused("its Location is not a usable http(s) URL"))?;
        if base.scheme_str() == Some("https") && target.scheme_str() != Some("https") {
            return Err(self.refused("it leaves HTTPS for plain HTTP"));
        }
        let mut builder = http::Request::builder()
            .method(Method::GET)
            .uri(target.clone())
            .header(
                wire::SDK_HEADER,
                wire::header_value(config.sdk_identity(), "SDK identity")?,
            );
        if let Some(token) = token.filter(|_| same_origin(&base, &target)) {
            builder = builder.header(
                wire::TOKEN_HEADER,
                wire::header_value(token.expose(), "session token")?,
            );
        }
        builder
            .body(Vec::new())
            .map_err(|e| Error::Config(format!("could not build the file request: {e}")))
    }

    fn refused(&self, why: &str) -> Error {
        DecodeError::new(
            self.status,
            format!("the download redirect was not followed: {why}"),
            b"",
        )
        .into()
    }
}

impl Operation for DownloadBlob {
    type Output = BlobLocation;

    fn name(&self) -> &'static str {
        "download_blob"
    }

    fn access(&self) -> Access {
        Access::Read
    }

    fn build(&self, ctx: &RequestContext<'_>) -> Result<Request, Error> {
        wire::empty(wire::request(ctx, Method::GET, &self.path(), None)?)
    }

    /// Every 2xx and the redirects that keep the method (301, 302, 303,
    /// 307, 308).
    fn accepts(&self, status: StatusCode) -> bool {
        status.is_success()
            || matches!(
                status,
                StatusCode::MOVED_PERMANENTLY
                    | StatusCode::FOUND
                    | StatusCode::SEE_OTHER
                    | StatusCode::TEMPORARY_REDIRECT
                    | StatusCode::PERMANENT_REDIRECT
            )
    }

    fn parse(&self, response: &Response) -> Result<BlobLocation, Error> {
        let status = response.status();
        if status.is_success() {
            return Ok(BlobLocation::Here(response.body().clone()));
        }
        let location = response
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| {
                Error::from(DecodeError::new(
                    status,
                    "a redirect without a usable Location header",
                    response.body(),
                ))
            })?;
        Ok(BlobLocation::Redirect(Redirect {
            status,
            location: Secret::new(location.trim()),
            download_path: self.path(),
        }))
    }
}

/// `location` resolved against `base` (RFC 3986 section 5.2, without dot
/// segments, which a storage never sends): absolute, scheme-relative,
/// absolute-path or relative-path. `None` unless the result is http(s).
fn resolve(base: &Uri, location: &str) -> Option<Uri> {
    let scheme = base.scheme_str()?;
    let authority = base.authority()?.as_str();
    let text = if location.starts_with("//") {
        format!("{scheme}:{location}")
    } else if location.starts_with('/') {
        format!("{scheme}://{authority}{location}")
    } else if has_scheme(location) {
        location.to_owned()
    } else {
        let path = base.path();
        let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
        format!("{scheme}://{authority}{dir}{location}")
    };
    let uri: Uri = text.parse().ok()?;
    let web = matches!(uri.scheme_str(), Some("http" | "https"));
    (web && uri.authority().is_some_and(|a| !a.host().is_empty())).then_some(uri)
}

/// Whether a reference starts with a scheme (`ALPHA *( ALPHA / DIGIT / "+"
/// / "-" / "." ) ":"`), making it absolute.
fn has_scheme(reference: &str) -> bool {
    let Some((scheme, _)) = reference.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
}

fn same_origin(a: &Uri, b: &Uri) -> bool {
    let port = |u: &Uri| {
        u.port_u16().or(match u.scheme_str() {
            Some("https") => Some(443),
            Some("http") => Some(80),
            _ => None,
        })
    };
    let host = |u: &Uri| u.host().map(str::to_ascii_lowercase);
    a.scheme_str() == b.scheme_str() && host(a) == host(b) && port(a) == port(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(s: &str) -> Uri {
        s.parse().unwrap()
    }

    #[test]
    fn locations_resolve_against_the_download_url() {
        let base = uri("https://api.example:8443/blobs/u1/download");
        let cases = [
            ("https://files.example/x?a=1", "https://files.example/x?a=1"),
            ("//cdn.example/x", "https://cdn.example/x"),
            (
                "/blobs/u1?token=t",
                "https://api.example:8443/blobs/u1?token=t",
            ),
            ("file", "https://api.example:8443/blobs/u1/file"),
        ];
        for (location, expected) in cases {
            assert_eq!(
                resolve(&base, location).unwrap(),
                uri(expected),
                "{location}"
            );
        }
        for bad in [
            "ftp://files.example/x",
            "javascript:alert(1)",
            "http://",
            "//",
        ] {
            assert!(resolve(&base, bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn origins_compare_scheme_host_and_effective_port() {
        assert!(same_origin(
            &uri("https://a.example/x"),
            &uri("https://A.example:443/y")
        ));
        assert!(same_origin(
            &uri("http://127.0.0.1:8080/x"),
            &uri("http://127.0.0.1:8080/y")
        ));
        assert!(!same_origin(
            &uri("http://127.0.0.1:8080/x"),
            &uri("http://127.0.0.1:8081/y")
        ));
        assert!(!same_origin(
            &uri("http://a.example/x"),
            &uri("https://a.example/x")
        ));
        assert!(!same_origin(
            &uri("https://a.example/x"),
            &uri("https://a.example.evil/x")
        ));
    }
}
