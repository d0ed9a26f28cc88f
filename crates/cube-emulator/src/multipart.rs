//! A streaming `multipart/form-data` reader (RFC 7578 / RFC 2046): parts
//! are read one at a time straight from the request body, so a file part
//! flows to disk in chunks and is never held whole in memory.
//!
//! It accepts what browsers, curl and the SDK send: CRLF line ends, a
//! quoted or bare boundary, a preamble, transport padding after a
//! delimiter, any extra part headers (ignored), and an epilogue.

use bytes::{Buf, Bytes, BytesMut};
use hyper::body::Body;

use crate::inflow::{BodyError, Inflow};
use crate::limits::{MAX_PART_HEADERS, UPLOAD_SHARE};

/// Why a form could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FormError {
    /// Not a well-formed multipart body.
    Malformed(&'static str),
    /// A text field is longer than allowed.
    FieldTooLong,
    /// The body could not be read: the client went away, was too slow,
    /// or the emulator had no memory to hold it.
    Body(BodyError),
}

impl From<BodyError> for FormError {
    fn from(err: BodyError) -> Self {
        FormError::Body(err)
    }
}

/// The headers of one part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Part {
    pub(crate) name: String,
    pub(crate) filename: Option<String>,
    pub(crate) content_type: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum At {
    /// Before the first delimiter, or inside a part's content.
    Content,
    /// Just after a delimiter.
    Delimiter,
    /// After the closing delimiter.
    End,
}

/// Reads the parts of a multipart body.
pub(crate) struct Multipart<B> {
    body: Inflow<B>,
    buf: BytesMut,
    /// `\r\n--BOUNDARY`.
    delimiter: Vec<u8>,
    at: At,
    /// Bytes read from the body so far.
    read: u64,
}

/// The boundary of a `multipart/form-data` content type, if it is one.
pub(crate) fn boundary(content_type: &str) -> Option<String> {
    let (mime, rest) = content_type.split_once(';').unwrap_or((content_type, ""));
    if !mime.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params(rest)
        .into_iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v)
        .filter(|b| (1..=70).contains(&b.len()) && !b.contains(['\r', '\n']))
}

/// `; a=b; c="d;e"` → `[("a", "b"), ("c", "d;e")]`: separators inside
/// quotes are text, `\` escapes inside quotes.
fn params(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        // Skip separators and spaces.
        while chars.peek().is_some_and(|c| *c == ';' || c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            return out;
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c == ';' {
                break;
            }
            key.push(c);
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'=') {
            chars.next();
            while chars.peek().is_some_and(|c| *c == ' ' || *c == '\t') {
                chars.next();
            }
            if chars.peek() == Some(&'"') {
                chars.next();
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => {
                            if let Some(escaped) = chars.next() {
                                value.push(escaped);
                            }
                        }
                        c => value.push(c),
                    }
                }
                // Anything between the closing quote and the next `;` is dropped.
                while chars.peek().is_some_and(|c| *c != ';') {
                    chars.next();
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if c == ';' {
                        break;
                    }
                    value.push(c);
                    chars.next();
                }
                value = value.trim_end().to_owned();
            }
        }
        out.push((key.trim().to_owned(), value));
    }
}

fn parse_headers(block: &[u8]) -> Result<Part, FormError> {
    let text = String::from_utf8_lossy(block);
    let mut name = None;
    let mut filename = None;
    let mut content_type = None;
    for line in text.split("\r\n").filter(|l| !l.is_empty()) {
        let (header, value) = line
            .split_once(':')
            .ok_or(FormError::Malformed("a part header has no colon"))?;
        let header = header.trim();
        if header.eq_ignore_ascii_case("content-disposition") {
            let (kind, rest) = value.split_once(';').unwrap_or((value, ""));
            if !kind.trim().eq_ignore_ascii_case("form-data") {
                return Err(FormError::Malformed("a part is not form-data"));
            }
            for (k, v) in params(rest) {
                if k.eq_ignore_ascii_case("name") {
                    name = Some(v);
                } else if k.eq_ignore_ascii_case("filename") {
                    filename = Some(v);
                }
            }
        } else if header.eq_ignore_ascii_case("content-type") {
            content_type = Some(value.trim().to_owned());
        }
    }
    Ok(Part {
        name: name.ok_or(FormError::Malformed("a part has no name"))?,
        filename,
        content_type,
    })
}

impl<B> Multipart<B>
where
    B: Body<Data = Bytes>,
{
    pub(crate) fn new(body: Inflow<B>, boundary: &str) -> Self {
        // A body may start right with `--BOUNDARY`: a leading CRLF makes that
        // match the delimiter like every later one.
        let mut buf = BytesMut::with_capacity(8 * 1024);
        buf.extend_from_slice(b"\r\n");
        let mut delimiter = b"\r\n--".to_vec();
        delimiter.extend_from_slice(boundary.as_bytes());
        Self {
            body,
            buf,
            delimiter,
            at: At::Content,
            read: 0,
        }
    }

    /// Reads the next piece of the body into the buffer, once the body
    /// memory to hold it is there; `false` at the end of the body.
    async fn fill(&mut self) -> Result<bool, FormError> {
        let Some(data) = self.body.next().await? else {
            return Ok(false);
        };
        self.read += data.len() as u64;
        self.body
            .reserve((self.buf.len() + data.len()).max(UPLOAD_SHARE))
            .await?;
        self.buf.extend_from_slice(&data);
        Ok(true)
    }

    /// The next piece of the current part's content; `None` once the part
    /// ends (the delimiter is consumed).
    pub(crate) async fn chunk(&mut self) -> Result<Option<Bytes>, FormError> {
        if self.at != At::Content {
            return Ok(None);
        }
        loop {
            if let Some(pos) = memchr::memmem::find(&self.buf, &self.delimiter) {
                if pos > 0 {
                    return Ok(Some(self.buf.split_to(pos).freeze()));
                }
                self.buf.advance(self.delimiter.len());
                self.at = At::Delimiter;
                return Ok(None);
            }
            // Keep what could be the start of a delimiter split across frames.
            let keep = self.delimiter.len() - 1;
            if self.buf.len() > keep {
                let n = self.buf.len() - keep;
                return Ok(Some(self.buf.split_to(n).freeze()));
            }
            if !self.fill().await? {
                return Err(FormError::Malformed("the body ends inside a part"));
            }
        }
    }

    /// The current part's content as text of at most `limit` bytes.
    pub(crate) async fn text(&mut self, limit: usize) -> Result<String, FormError> {
        let mut out = Vec::new();
        while let Some(chunk) = self.chunk().await? {
            if out.len() + chunk.len() > limit {
                return Err(FormError::FieldTooLong);
            }
            out.extend_from_slice(&chunk);
        }
        String::from_utf8(out).map_err(|_| FormError::Malformed("a field is not UTF-8"))
    }

    /// Ensures at least `n` bytes are buffered; `false` if the body ends first.
    async fn want(&mut self, n: usize) -> Result<bool, FormError> {
        while self.buf.len() < n {
            if !self.fill().await? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Skips the rest of the current part (or the preamble) and reads the
    /// next part's headers; `None` after the closing delimiter.
    pub(crate) async fn next_part(&mut self) -> Result<Option<Part>, FormError> {
        while self.chunk().await?.is_some() {}
        if self.at == At::End {
            return Ok(None);
        }
        if !self.want(2).await? {
            return Err(FormError::Malformed("the body ends after a delimiter"));
        }
        if self.buf.starts_with(b"--") {
            self.at = At::End;
            return Ok(None);
        }
        // Transport padding, then the CRLF that ends the delimiter line.
        let mut i = 0;
        loop {
            if !self.want(i + 2).await? {
                return Err(FormError::Malformed("the body ends after a delimiter"));
            }
            match self.buf[i] {
                b' ' | b'\t' if i < 256 => i += 1,
                b'\r' if self.buf[i + 1] == b'\n' => break,
                _ => return Err(FormError::Malformed("garbage after a delimiter")),
            }
        }
        self.buf.advance(i);
        // The header block runs from this CRLF to the first CRLFCRLF (an
        // empty block is the CRLFCRLF itself).
        let end = loop {
            if let Some(pos) = memchr::memmem::find(&self.buf, b"\r\n\r\n") {
                break pos;
            }
            if self.buf.len() > MAX_PART_HEADERS {
                return Err(FormError::Malformed("part headers are too long"));
            }
            if !self.fill().await? {
                return Err(FormError::Malformed("the body ends inside part headers"));
            }
        };
        if end > MAX_PART_HEADERS {
            return Err(FormError::Malformed("part headers are too long"));
        }
        let part = parse_headers(&self.buf[2.min(end)..end])?;
        self.buf.advance(end + 4);
        self.at = At::Content;
        Ok(Some(part))
    }

    /// Reads and discards the rest of the body (at the body's pace, holding
    /// none of it), up to `cap` bytes read in all; `true` if the body was
    /// read to its end.
    pub(crate) async fn drain(&mut self, cap: u64) -> bool {
        self.buf = BytesMut::new();
        self.body.memory.release();
        while self.read <= cap {
            match self.body.next().await {
                Ok(Some(data)) => self.read += data.len() as u64,
                Ok(None) => return true,
                Err(_) => return false,
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::convert::Infallible;
    use std::pin::Pin;
    use std::sync::Arc;
    use std::task::{Context, Poll};

    use crate::inflow::BodyBudget;
    use crate::limits::Limits;

    use hyper::body::Frame;

    use super::*;

    /// A body made of given frames.
    struct Frames(VecDeque<Bytes>);

    impl Body for Frames {
        type Data = Bytes;
        type Error = Infallible;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            Poll::Ready(self.0.pop_front().map(|b| Ok(Frame::data(b))))
        }
    }

    /// Every part as (headers, content), the body cut into `piece`-byte frames.
    fn parse(body: &[u8], boundary: &str, piece: usize) -> Result<Vec<(Part, Vec<u8>)>, FormError> {
        let frames = body.chunks(piece).map(Bytes::copy_from_slice).collect();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let inflow = Inflow::new(
                Frames(frames),
                &Limits::default(),
                Arc::new(BodyBudget::new(1 << 20)),
                None,
            );
            let mut form = Multipart::new(inflow, boundary);
            let mut parts = Vec::new();
            while let Some(part) = form.next_part().await? {
                let mut content = Vec::new();
                while let Some(chunk) = form.chunk().await? {
                    content.extend_from_slice(&chunk);
                }
                parts.push((part, content));
            }
            Ok(parts)
        })
    }

    #[test]
    fn the_sdk_form() {
        // Exactly what cube-proto's encoder writes.
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\n9a1bc2d3e4\r\n\
                    --XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"cat.jpeg\"\r\n\
                    Content-Type: image/jpeg\r\n\r\nJPEG\r\n--XyZ--\r\n";
        for piece in [1, 2, 3, 7, 1000] {
            let parts = parse(body.as_bytes(), "XyZ", piece).unwrap();
            assert_eq!(parts.len(), 2, "piece {piece}");
            assert_eq!(parts[0].0.name, "key");
            assert_eq!(parts[0].1, b"9a1bc2d3e4");
            assert_eq!(parts[1].0.name, "file");
            assert_eq!(parts[1].0.filename.as_deref(), Some("cat.jpeg"));
            assert_eq!(parts[1].0.content_type.as_deref(), Some("image/jpeg"));
            assert_eq!(parts[1].1, b"JPEG");
        }
    }

    #[test]
    fn browser_and_curl_forms() {
        // Preamble, padding after a delimiter, extra and oddly cased
        // headers, an empty field, binary content with CR/LF, an epilogue.
        let mut body = b"preamble\r\n--a'b(c)\r\ncontent-disposition: form-data; name=\"policy\"\r\n\
                         X-Extra: 1\r\n\r\n\r\n--a'b(c)  \t\r\nContent-Disposition: form-data; \
                         name=file; filename=\"x \\\"y\\\".bin\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            .to_vec();
        let content = b"\r\n--a'b(\r\n\r\n\x00\xff--".to_vec();
        body.extend_from_slice(&content);
        body.extend_from_slice(b"\r\n--a'b(c)--\r\nepilogue");
        for piece in [1, 5, 4096] {
            let parts = parse(&body, "a'b(c)", piece).unwrap();
            assert_eq!(parts.len(), 2);
            assert_eq!(parts[0].0.name, "policy");
            assert!(parts[0].1.is_empty());
            assert_eq!(parts[1].0.filename.as_deref(), Some("x \"y\".bin"));
            assert_eq!(parts[1].1, content);
        }
        assert_eq!(
            boundary("multipart/form-data; charset=utf-8; boundary=\"a'b(c)\""),
            Some("a'b(c)".to_owned())
        );
        assert_eq!(
            boundary("Multipart/Form-Data;boundary=----WebKitFormBoundary7MA4"),
            Some("----WebKitFormBoundary7MA4".to_owned())
        );
        assert_eq!(boundary("application/json"), None);
        assert_eq!(boundary("multipart/form-data"), None);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]
        /// Any fields and file content (without the boundary), cut into
        /// frames anywhere, read back exactly.
        #[test]
        fn any_form_round_trips(
            fields in proptest::collection::vec(("[a-z_-]{1,8}", "[ -~]{0,20}"), 0..4),
            content in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600),
            piece in 1usize..64,
        ) {
            let boundary = "QbZ7";
            proptest::prop_assume!(!content.windows(boundary.len()).any(|w| w == boundary.as_bytes()));
            let mut body = Vec::new();
            for (name, value) in &fields {
                body.extend_from_slice(
                    format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                        .as_bytes(),
                );
            }
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n\r\n")
                    .as_bytes(),
            );
            body.extend_from_slice(&content);
            body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
            let parts = parse(&body, boundary, piece).unwrap();
            proptest::prop_assert_eq!(parts.len(), fields.len() + 1);
            for ((part, value), (name, expected)) in parts.iter().zip(&fields) {
                proptest::prop_assert_eq!(&part.name, name);
                proptest::prop_assert_eq!(value, expected.as_bytes());
            }
            proptest::prop_assert_eq!(&parts[fields.len()].1, &content);
        }
    }

    #[test]
    fn malformed_forms_are_errors() {
        let cases: [&[u8]; 6] = [
            b"",
            b"--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nno end",
            b"--B\r\nContent-Disposition: form-data\r\n\r\nx\r\n--B--",
            b"--B\r\nno colon here\r\n\r\nx\r\n--B--",
            b"--Bgarbage\r\n\r\nx\r\n--B--",
            b"--B\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nx\r\n--B--",
        ];
        for body in cases {
            assert!(
                parse(body, "B", 3).is_err(),
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
