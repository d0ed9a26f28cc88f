//! Shared request building and response decoding for every operation.

use crate::config::Config;
use crate::error::{DecodeError, Error};
use crate::secret::Secret;
use http::{HeaderName, Method, header};
use serde::de::DeserializeOwned;
use serde_json::Value;
use time::OffsetDateTime;

/// An HTTP request ready to send: what every operation builds.
pub type Request = http::Request<Vec<u8>>;
/// An HTTP response as received: what every operation parses.
pub type Response = http::Response<Vec<u8>>;

/// The `CB-Token` request header.
pub const TOKEN_HEADER: &str = "CB-Token";
/// The `CB-AuthKey` request header (sign-up without a session).
pub const AUTH_KEY_HEADER: &str = "CB-AuthKey";
/// The `CB-SDK` request header.
pub const SDK_HEADER: &str = "CB-SDK";

/// The largest answer an adapter reads into memory: 16 MiB, far above any
/// answer of the API (a page of 100 users is about 50 KiB). A larger one
/// is refused with [`answer_too_large`] instead of filling memory; file
/// downloads stream and are not bound by it. Our choice: the service
/// documents no limit.
pub const MAX_ANSWER_BYTES: usize = 16 << 20;

/// The error for an answer larger than [`MAX_ANSWER_BYTES`]: a
/// [`DecodeError`] with the answer's status, whose body (never read past
/// the limit) is empty.
///
/// ```
/// use cube_proto::wire::{answer_too_large, MAX_ANSWER_BYTES};
/// let e = answer_too_large(http::StatusCode::OK);
/// assert!(e.to_string().contains(&MAX_ANSWER_BYTES.to_string()), "{e}");
/// ```
pub fn answer_too_large(status: http::StatusCode) -> Error {
    Error::Decode(DecodeError::new(
        status,
        format!("the answer is larger than {MAX_ANSWER_BYTES} bytes, the most read into memory"),
        b"",
    ))
}

// The same names, ready to send (checked once, at compile time).
const SDK_NAME: HeaderName = HeaderName::from_static("cb-sdk");
const TOKEN_NAME: HeaderName = HeaderName::from_static("cb-token");

/// Everything a request may depend on besides the operation itself. Time and
/// randomness come in here, so building is pure.
#[derive(Debug, Clone, Copy)]
pub struct RequestContext<'a> {
    /// The application configuration.
    pub config: &'a Config,
    /// The session token to send, if the call runs under a session.
    pub token: Option<&'a Secret>,
    /// The time to sign with (a session request's `timestamp`): the
    /// device's clock, or the server's once it refused the device's (see
    /// [`crate::server_time`]).
    pub now: OffsetDateTime,
    /// A fresh random nonce (signed session requests).
    pub nonce: u32,
}

/// Starts a request: URL, method, `CB-SDK`, and `CB-Token` when the context
/// carries one.
pub(crate) fn request(
    ctx: &RequestContext<'_>,
    method: Method,
    path: &str,
    query: Option<&str>,
) -> Result<http::request::Builder, Error> {
    let mut builder = http::Request::builder()
        .method(method)
        .uri(ctx.config.uri(path, query)?);
    // `None` only for a builder already in error, which `finish` reports.
    if let Some(headers) = builder.headers_mut() {
        stamp(ctx, headers)?;
    }
    Ok(builder)
}

/// A whole request without a body, as [`request`] and [`empty`] would make
/// it, put together in place: the builder moves its half-made request
/// through every step, which costs a look-up its time again.
pub(crate) fn bodiless(
    ctx: &RequestContext<'_>,
    method: Method,
    path: &str,
    query: Option<&str>,
) -> Result<Request, Error> {
    let mut request = http::Request::new(Vec::new());
    *request.method_mut() = method;
    *request.uri_mut() = ctx.config.uri(path, query)?;
    stamp(ctx, request.headers_mut())?;
    Ok(request)
}

/// The headers every request carries: `CB-SDK`, and `CB-Token` when the
/// context holds one.
fn stamp(ctx: &RequestContext<'_>, headers: &mut http::HeaderMap) -> Result<(), Error> {
    headers.insert(SDK_NAME, ctx.config.sdk_header().clone());
    if let Some(token) = ctx.token {
        headers.insert(TOKEN_NAME, header_value(token.expose(), "session token")?);
    }
    Ok(())
}

/// A header value from a string the server gave us or the user typed.
pub(crate) fn header_value(value: &str, what: &'static str) -> Result<http::HeaderValue, Error> {
    http::HeaderValue::from_str(value).map_err(|_| {
        Error::InvalidInput(crate::error::InvalidInput::new(
            what,
            "not a valid header value",
        ))
    })
}

/// Finishes a request with a JSON body.
pub(crate) fn with_json(builder: http::request::Builder, body: &Value) -> Result<Request, Error> {
    // Room for a session request or a profile update in one go.
    let mut bytes = Vec::with_capacity(512);
    serde_json::to_writer(&mut bytes, body).map_err(|e| Error::Config(e.to_string()))?;
    finish(
        builder.header(header::CONTENT_TYPE, "application/json"),
        bytes,
    )
}

/// Finishes a request without a body.
pub(crate) fn empty(builder: http::request::Builder) -> Result<Request, Error> {
    finish(builder, Vec::new())
}

fn finish(builder: http::request::Builder, body: Vec<u8>) -> Result<Request, Error> {
    // Every part was validated when it went in (base URL at config time,
    // paths built from numbers or encoded text), so this only fails on a bug;
    // report it as a configuration problem rather than panic.
    builder
        .body(body)
        .map_err(|e| Error::Config(format!("could not build the request: {e}")))
}

/// Decodes a 2xx JSON body. The body is checked to be UTF-8 once, as a
/// whole, rather than string by string as the parser reads it.
pub(crate) fn json<T: DeserializeOwned>(response: &Response) -> Result<T, Error> {
    let decode_error =
        |why: String| Error::Decode(DecodeError::new(response.status(), why, response.body()));
    let text = std::str::from_utf8(response.body()).map_err(|e| decode_error(e.to_string()))?;
    serde_json::from_str(text).map_err(|e| decode_error(e.to_string()))
}

/// Decodes `{"<key>": T}`, or a bare `T` (what older servers send).
pub(crate) fn wrapped<T: DeserializeOwned>(response: &Response, key: &str) -> Result<T, Error> {
    let value: Value = json(response)?;
    let inner = match value {
        Value::Object(mut map) if map.contains_key(key) => map.remove(key).unwrap_or(Value::Null),
        other => other,
    };
    serde_json::from_value(inner).map_err(|e| {
        Error::Decode(DecodeError::new(
            response.status(),
            e.to_string(),
            response.body(),
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ready_names_are_the_documented_headers() {
        assert_eq!(
            SDK_NAME,
            HeaderName::from_bytes(SDK_HEADER.as_bytes()).unwrap()
        );
        assert_eq!(
            TOKEN_NAME,
            HeaderName::from_bytes(TOKEN_HEADER.as_bytes()).unwrap()
        );
    }
}
