//! `/blobs` (`docs/PROTOCOL.md`, "Storage"): file records, the S3-style upload of
//! their bytes, and the file URLs avatars are read through.
//!
//! `POST /blobs` answers an upload URL on the emulator whose query carries
//! a policy (which file, which content type, until when) and its HMAC
//! signature, keyed with a secret only the emulator knows — like an S3 POST
//! policy. The upload is a `multipart/form-data` POST of those fields and
//! then the file; it needs no session, only an intact, unexpired policy.

use http::{HeaderMap, StatusCode};
use hyper::body::Body;
use serde_json::{Map, Value, json};

use super::{Ctx, Expiry, Outcome, Reply};
use crate::auth;
use crate::clock::format_iso;
use crate::crypto::{self, constant_time_eq};
use crate::error::{ApiError, ensure};
use crate::inflow::Inflow;
use crate::multipart::{self, FormError, Multipart};
use crate::state::State;
use crate::state::uploads::KeepError;
use crate::store::blobs::BlobRow;
use crate::store::sessions::SessionRow;
use crate::wire::{encode_component, flag, int_like};

/// Path of the upload URL.
pub(crate) const UPLOAD_PATH: &str = "/_storage/upload";
pub(crate) use crate::limits::{DRAIN_CAP, MAX_FIELD, MAX_FIELDS, MAX_FILE, POLICY_TTL};
use crate::limits::{blob_name_ok, content_type_ok};
/// The bucket name in policies and XML answers.
const BUCKET: &str = "cube-emulator";
const NOT_OWNER: &str = "You can change only your own files";

/// `/blobs/{x}`: an all-digit `x` is an id, anything else a uid.
fn is_id(x: &str) -> bool {
    !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit())
}

/// A new uid: 32 hex digits, at least one of them a letter.
fn new_uid() -> Result<String, ApiError> {
    loop {
        let uid = crypto::hex(&crypto::random_bytes::<16>()?);
        if uid.bytes().any(|b| b.is_ascii_alphabetic()) {
            return Ok(uid);
        }
    }
}

/// The policy of one upload: what it may write, until when.
struct Policy {
    blob_id: i64,
    uid: String,
    content_type: String,
    expires: i64,
}

impl Policy {
    fn encode(&self) -> String {
        let json = json!({
            "bucket": BUCKET,
            "blob_id": self.blob_id,
            "key": self.uid,
            "content_type": self.content_type,
            "expires": self.expires,
            "max_size": MAX_FILE,
        });
        crate::b64::encode(json.to_string().as_bytes())
    }

    fn decode(text: &str) -> Option<Self> {
        let json: Value = serde_json::from_slice(&crate::b64::decode(text)?).ok()?;
        Some(Self {
            blob_id: json["blob_id"].as_i64()?,
            uid: json["key"].as_str()?.to_owned(),
            content_type: json["content_type"].as_str()?.to_owned(),
            expires: json["expires"].as_i64()?,
        })
    }
}

/// The upload URL of a blob: `{base}/_storage/upload?key=..&policy=..`.
/// Spaces are `%20` and `+` is `%2B` (`docs/PROTOCOL.md`, "Storage").
fn upload_url(state: &State, base_url: &str, blob: &BlobRow, expires: i64) -> String {
    let policy = Policy {
        blob_id: blob.id,
        uid: blob.uid.clone(),
        content_type: blob.content_type.clone(),
        expires,
    }
    .encode();
    let signature = state.uploads.sign(&policy);
    let fields = [
        ("key", blob.uid.as_str()),
        ("Content-Type", blob.content_type.as_str()),
        ("success_action_status", "201"),
        ("policy", policy.as_str()),
        ("signature", signature.as_str()),
    ];
    let query: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{}={}", encode_component(k), encode_component(v)))
        .collect();
    format!("{base_url}{UPLOAD_PATH}?{}", query.join("&"))
}

fn blob_fields(ctx: &Ctx) -> Result<&Map<String, Value>, ApiError> {
    ctx.body()?
        .get("blob")
        .and_then(Value::as_object)
        .ok_or_else(|| ApiError::invalid_field("blob", "can't be blank"))
}

/// `POST /blobs {"blob": {"content_type", "name", "public"?}}`.
pub(crate) async fn create(ctx: &Ctx) -> Outcome {
    let owner_id = ctx.user_id()?;
    let app_id = ctx.session()?.app_id;
    let fields = blob_fields(ctx)?;
    let text = |k: &str| {
        fields
            .get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let mut errors = crate::validation::FieldErrors::default();
    let content_type = text("content_type").filter(|ct| content_type_ok(ct));
    if content_type.is_none() {
        errors.add("content_type", "can't be blank");
    }
    let name = text("name").filter(|n| blob_name_ok(n));
    if name.is_none() {
        errors.add("name", "is invalid");
    }
    let public = match fields.get("public") {
        None | Some(Value::Null) => Some(false),
        Some(value) => flag(value),
    };
    if public.is_none() {
        errors.add("public", "is not a boolean");
    }
    errors.into_result()?;
    let public = public.unwrap_or_default();
    let now = ctx.now;
    let blob = BlobRow {
        id: 0,
        app_id,
        uid: new_uid()?,
        owner_id,
        content_type: content_type.unwrap_or_default(),
        name: name.unwrap_or_default(),
        public,
        size: None,
        completed_at: None,
        created_at: now,
        updated_at: now,
    };
    let blob = ctx.state.uploads.create(blob).await?;
    let expires = now + POLICY_TTL;
    let mut body = super::render::blob(&blob);
    body["blob_object_access"] = json!({
        "id": blob.id,
        "blob_id": blob.id,
        "expires": format_iso(expires),
        "object_access_type": "Write",
        "params": upload_url(&ctx.state, &ctx.base_url, &blob, expires),
    });
    Ok(Reply::created(json!({ "blob": body })))
}

/// The blob named by `x` (id or uid) in the caller's application.
fn find(ctx: &Ctx, app_id: i64, x: &str) -> Result<BlobRow, ApiError> {
    let found = if is_id(x) {
        let id = x.parse().map_err(|_| ApiError::not_found())?;
        ctx.state.uploads.by_id(app_id, id)?
    } else {
        ctx.state.uploads.by_uid(x)?.filter(|b| b.app_id == app_id)
    };
    found.ok_or_else(ApiError::not_found)
}

/// `GET /blobs/{id}`: the record.
pub(crate) async fn show(ctx: &Ctx, id: &str) -> Outcome {
    let blob = find(ctx, ctx.session()?.app_id, id)?;
    Ok(Reply::ok(json!({ "blob": super::render::blob(&blob) })))
}

/// `PUT /blobs/{id}/complete` with `{"blob": {"size": N}}` or `{"size": N}`.
pub(crate) async fn complete(ctx: &Ctx, id: &str) -> Outcome {
    let me = ctx.user_id()?;
    let blob = find(ctx, ctx.session()?.app_id, id)?;
    ensure(blob.owner_id == me, || ApiError::forbidden(NOT_OWNER))?;
    let body = ctx.body()?;
    let size = body
        .get("blob")
        .and_then(|b| b.get("size"))
        .or_else(|| body.get("size"))
        .and_then(int_like)
        .ok_or_else(|| ApiError::invalid_field("size", "can't be blank"))?;
    ensure(size >= 0, || {
        ApiError::invalid_field("size", "must be greater than or equal to 0")
    })?;
    ctx.state.uploads.complete(blob.id, size, ctx.now).await?;
    Ok(Reply::empty())
}

/// `DELETE /blobs/{id}`: the record, then the bytes.
pub(crate) async fn delete(ctx: &Ctx, id: &str) -> Outcome {
    let me = ctx.user_id()?;
    let blob = find(ctx, ctx.session()?.app_id, id)?;
    ensure(blob.owner_id == me, || ApiError::forbidden(NOT_OWNER))?;
    ctx.state.uploads.delete(&blob).await?;
    Ok(Reply::empty())
}

/// The session a file request is made with: `?token=` or `CB-Token`.
/// `Ok(None)`: no token at all; an unknown or expired token is `401`.
fn file_session(ctx: &Ctx) -> Result<Option<SessionRow>, ApiError> {
    match ctx.query("token").filter(|t| !t.is_empty()) {
        Some(token) => auth::session_of(&ctx.state.sessions, token, ctx.now).map(Some),
        None => Ok(ctx.caller.session.clone()),
    }
}

/// The blob of a file URL, if the caller may read it: a public file needs
/// nothing, a private one a live session of its application.
fn readable(ctx: &Ctx, uid: &str) -> Result<(BlobRow, Option<SessionRow>), ApiError> {
    let session = file_session(ctx)?;
    let blob = ctx
        .state
        .uploads
        .by_uid(uid)?
        .ok_or_else(ApiError::not_found)?;
    match &session {
        Some(s) => ensure(s.app_id == blob.app_id, ApiError::not_found)?,
        None => ensure(blob.public, ApiError::no_token)?,
    }
    Ok((blob, session))
}

fn expiry_of(session: Option<&SessionRow>) -> Expiry {
    session.map_or(Expiry::FromRequest, |s| Expiry::At(s.deadline))
}

/// `GET /blobs/{uid}` (public) or `GET /blobs/{uid}?token=T`: the bytes.
pub(crate) async fn file(ctx: &Ctx, uid: &str) -> Outcome {
    let (blob, session) = readable(ctx, uid)?;
    let (file, len) = ctx
        .state
        .uploads
        .files
        .open_file(&blob.uid)
        .await
        .ok_or_else(ApiError::not_found)?;
    let disposition = disposition(&blob.content_type, &blob.name);
    Ok(Reply::file(file, len, blob.content_type, disposition)
        .with_expiry(expiry_of(session.as_ref())))
}

/// Types a browser shows without running anything: pictures (not SVG,
/// which is a document), sound, video and plain text.
fn shows_inert(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    (essence.starts_with("image/") && !essence.starts_with("image/svg"))
        || essence.starts_with("audio/")
        || essence.starts_with("video/")
        || essence == "text/plain"
}

/// `Content-Disposition` of a stored file: `inline` for inert types, else
/// `attachment`, so that a stored page is downloaded rather than opened on
/// the emulator's origin; the name as an ASCII fallback and as RFC 5987
/// UTF-8.
pub(crate) fn disposition(content_type: &str, name: &str) -> String {
    let kind = if shows_inert(content_type) {
        "inline"
    } else {
        "attachment"
    };
    let ascii: String = name
        .chars()
        .map(|c| match c {
            ' '..='~' if c != '"' && c != '\\' => c,
            _ => '_',
        })
        .collect();
    format!(
        "{kind}; filename=\"{ascii}\"; filename*=UTF-8''{}",
        encode_component(name)
    )
}

/// `GET /blobs/{uid}/download`: `301` to the file's URL (with `?token=`
/// for a private file, taken from `CB-Token` or `?token=`).
pub(crate) async fn download(ctx: &Ctx, uid: &str) -> Outcome {
    let (blob, session) = readable(ctx, uid)?;
    let base = format!("{}/blobs/{}", ctx.base_url, encode_component(&blob.uid));
    let token = ctx
        .query("token")
        .filter(|t| !t.is_empty())
        .or(ctx.caller.token.as_deref());
    let location = match (blob.public, token) {
        (false, Some(token)) => format!("{base}?token={}", encode_component(token)),
        _ => base,
    };
    Ok(Reply::redirect(location).with_expiry(expiry_of(session.as_ref())))
}

fn form_error(err: FormError) -> ApiError {
    match err {
        FormError::Malformed(why) => ApiError::bad_request(format!("Malformed upload form: {why}")),
        FormError::FieldTooLong => {
            ApiError::bad_request("Malformed upload form: a field is too long")
        }
        FormError::Body(err) => err.into(),
    }
}

/// Checks the form fields against their signed policy: `403` for a
/// missing, altered or expired one.
fn check_policy(state: &State, fields: &[(String, String)], now: i64) -> Result<Policy, ApiError> {
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let invalid = || ApiError::forbidden("Invalid upload policy");
    let encoded = field("policy").ok_or_else(invalid)?;
    let signature = field("signature").ok_or_else(invalid)?;
    let expected = state.uploads.sign(encoded);
    ensure(
        constant_time_eq(
            expected.as_bytes(),
            signature.to_ascii_lowercase().as_bytes(),
        ),
        invalid,
    )?;
    let policy = Policy::decode(encoded).ok_or_else(invalid)?;
    ensure(field("key") == Some(policy.uid.as_str()), invalid)?;
    if let Some(content_type) = field("content-type") {
        ensure(content_type == policy.content_type, invalid)?;
    }
    ensure(now < policy.expires, || {
        ApiError::forbidden("The upload policy has expired")
    })?;
    Ok(policy)
}

/// `POST /_storage/upload` (multipart): the policy fields, then `file`.
/// The file streams to disk; the answer is S3's XML `PostResponse`.
pub(crate) async fn upload<B>(
    state: &State,
    base_url: &str,
    headers: &HeaderMap,
    body: Inflow<B>,
    now: i64,
) -> Outcome
where
    B: Body<Data = bytes::Bytes>,
{
    let boundary = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(multipart::boundary)
        .ok_or_else(|| ApiError::bad_request("The upload must be multipart/form-data"))?;
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let mut form = Multipart::new(body, &boundary);
    // A declared length far above the limit is refused without a write. A
    // client waiting for `100 Continue` is answered at once (its body is
    // never asked for); any other is read to the end first.
    if declared.is_some_and(|n| n > MAX_FILE + (1 << 20)) {
        let waits = headers
            .get(http::header::EXPECT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"));
        if !waits {
            form.drain(DRAIN_CAP).await;
        }
        return Err(ApiError::too_large());
    }
    let result = receive(state, base_url, &mut form, now).await;
    if let Err(err) = &result
        && err.status != StatusCode::REQUEST_TIMEOUT
    {
        // Let the client finish sending, so that it reads the answer
        // (unless it was too slow: then it is not waited for).
        form.drain(DRAIN_CAP).await;
    }
    result
}

async fn receive<B>(state: &State, base_url: &str, form: &mut Multipart<B>, now: i64) -> Outcome
where
    B: Body<Data = bytes::Bytes>,
{
    let mut fields: Vec<(String, String)> = Vec::new();
    loop {
        let part = form
            .next_part()
            .await
            .map_err(form_error)?
            .ok_or_else(|| ApiError::bad_request("Malformed upload form: no file"))?;
        if part.name == "file" {
            break;
        }
        ensure(fields.len() < MAX_FIELDS, || {
            ApiError::bad_request("Malformed upload form: too many fields")
        })?;
        let value = form.text(MAX_FIELD).await.map_err(form_error)?;
        fields.push((part.name, value));
    }
    let policy = check_policy(state, &fields, now)?;
    let blob = state
        .uploads
        .by_uid(&policy.uid)?
        .filter(|b| b.id == policy.blob_id)
        .ok_or_else(ApiError::not_found)?;
    let storage_error = |err: std::io::Error| {
        tracing::error!(error = %err, "cannot store an upload");
        ApiError::unavailable("storage error")
    };
    let mut partial = state.uploads.files.start().await.map_err(storage_error)?;
    while let Some(chunk) = form.chunk().await.map_err(form_error)? {
        if partial.written() + chunk.len() as u64 > MAX_FILE {
            return Err(ApiError::too_large());
        }
        partial.write(&chunk).await.map_err(storage_error)?;
    }
    // Fields after the file are ignored (as S3 does); the rest is read so
    // the connection can be reused.
    while form.next_part().await.map_err(form_error)?.is_some() {}
    let size = match state.uploads.keep(partial, &blob.uid).await {
        Ok(size) => size,
        Err(KeepError::Io(err)) => return Err(storage_error(err)),
        Err(KeepError::Store(err)) => return Err(err.into()),
        Err(KeepError::Gone) => return Err(ApiError::not_found()),
    };
    tracing::debug!(blob = blob.id, size, "upload stored");
    let location = format!("{base_url}/blobs/{}", blob.uid);
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<PostResponse><Location>{}</Location>\
         <Bucket>{BUCKET}</Bucket><Key>{}</Key><ETag>\"{}-{size}\"</ETag></PostResponse>",
        xml_escape(&location),
        xml_escape(&blob.uid),
        xml_escape(&blob.uid),
    );
    Ok(Reply::xml(StatusCode::CREATED, xml))
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
