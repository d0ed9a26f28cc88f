//! `multipart/form-data` bodies (RFC 7578), built from values: no I/O, no
//! randomness. The boundary is given, or derived from the content with
//! SHA-256 so that the same content always gives the same body.
//!
//! ```
//! use cube_proto::multipart::{FilePart, Form};
//! let mut form = Form::new();
//! form.field("key", "9a1bc2d3e4");
//! let body = form.encode(&FilePart::new("cat.jpeg", "image/jpeg", b"JPEG".to_vec()), "XyZ")?;
//! assert_eq!(
//!     String::from_utf8(body).unwrap(),
//!     "--XyZ\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\n9a1bc2d3e4\r\n\
//!      --XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"cat.jpeg\"\r\n\
//!      Content-Type: image/jpeg\r\n\r\nJPEG\r\n--XyZ--\r\n"
//! );
//! # Ok::<(), cube_proto::error::InvalidInput>(())
//! ```

use crate::error::InvalidInput;
use sha2::{Digest, Sha256};
use std::fmt;

/// The file part of a form: always sent last, as field `file`.
#[derive(Clone, PartialEq, Eq)]
pub struct FilePart {
    /// The file name sent in `filename="…"`.
    pub file_name: String,
    /// Its MIME type.
    pub content_type: String,
    /// The bytes.
    pub bytes: Vec<u8>,
}

impl FilePart {
    /// A file part.
    pub fn new(
        file_name: impl Into<String>,
        content_type: impl Into<String>,
        bytes: Vec<u8>,
    ) -> Self {
        Self {
            file_name: file_name.into(),
            content_type: content_type.into(),
            bytes,
        }
    }
}

impl fmt::Debug for FilePart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FilePart")
            .field("file_name", &self.file_name)
            .field("content_type", &self.content_type)
            .field("len", &self.bytes.len())
            .finish()
    }
}

/// Text fields of a form, in order.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Form {
    fields: Vec<(String, String)>,
}

impl fmt::Debug for Form {
    // Upload forms carry signed policies: show the names only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.fields.iter().map(|(name, _)| name))
            .finish()
    }
}

/// Longest boundary RFC 2046 allows.
const MAX_BOUNDARY: usize = 70;

impl Form {
    /// No fields yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a text field.
    pub fn field(&mut self, name: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.fields.push((name.into(), value.into()));
        self
    }

    /// The fields, in order.
    pub fn fields(&self) -> &[(String, String)] {
        &self.fields
    }

    /// A boundary derived from the content: `cube-` and 40 hex digits of a
    /// SHA-256 over the fields, the file and a counter, the first that does
    /// not occur in the content. The same content gives the same boundary.
    pub fn derive_boundary(&self, file: &FilePart) -> Result<String, InvalidInput> {
        for counter in 0u32..64 {
            let mut hash = Sha256::new();
            hash.update(counter.to_be_bytes());
            for (name, value) in &self.fields {
                hash.update((name.len() as u64).to_be_bytes());
                hash.update(name.as_bytes());
                hash.update((value.len() as u64).to_be_bytes());
                hash.update(value.as_bytes());
            }
            hash.update(file.file_name.as_bytes());
            hash.update(file.content_type.as_bytes());
            hash.update(&file.bytes);
            let digest = hash.finalize();
            let mut boundary = String::from("cube-");
            for byte in &digest[..20] {
                boundary.push_str(&format!("{byte:02x}"));
            }
            if !self.contains(file, &boundary) {
                return Ok(boundary);
            }
        }
        Err(InvalidInput::new(
            "boundary",
            "no boundary absent from the content was found",
        ))
    }

    fn contains(&self, file: &FilePart, boundary: &str) -> bool {
        let needle = boundary.as_bytes();
        let inside = |hay: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
        self.fields
            .iter()
            .any(|(n, v)| inside(n.as_bytes()) || inside(v.as_bytes()))
            || inside(file.file_name.as_bytes())
            || inside(file.content_type.as_bytes())
            || inside(&file.bytes)
    }

    /// The body: every field in order, then `file`. The boundary must be 1
    /// to 70 characters of `A-Z a-z 0-9 '()+_,-./:=?`, and must not occur in
    /// the content.
    pub fn encode(&self, file: &FilePart, boundary: &str) -> Result<Vec<u8>, InvalidInput> {
        check_boundary(boundary)?;
        if self.contains(file, boundary) {
            return Err(InvalidInput::new(
                "boundary",
                "the boundary occurs in the content",
            ));
        }
        let head = self.encode_head(&file.file_name, &file.content_type, boundary)?;
        let tail = encode_tail(boundary);
        let mut body = Vec::with_capacity(head.len() + file.bytes.len() + tail.len());
        body.extend_from_slice(&head);
        body.extend_from_slice(&file.bytes);
        body.extend_from_slice(&tail);
        Ok(body)
    }

    /// What goes before the file's bytes: every field, then the file part's
    /// headers. With [`encode_tail`] after the bytes it makes the whole
    /// body, so a file can be streamed between the two without being held
    /// in memory. The boundary rules are those of [`Form::encode`]; the
    /// fields, file name and type must not hold the boundary (the bytes
    /// themselves cannot be checked: use a random boundary, see
    /// [`random_boundary`]).
    ///
    /// ```
    /// use cube_proto::multipart::{Form, encode_tail};
    /// let mut form = Form::new();
    /// form.field("key", "k1");
    /// let head = form.encode_head("a.txt", "text/plain", "XyZ")?;
    /// let mut body = head.clone();
    /// body.extend_from_slice(b"hello");
    /// body.extend_from_slice(&encode_tail("XyZ"));
    /// assert!(String::from_utf8(body).unwrap().ends_with(
    ///     "Content-Type: text/plain\r\n\r\nhello\r\n--XyZ--\r\n"));
    /// # Ok::<(), cube_proto::error::InvalidInput>(())
    /// ```
    pub fn encode_head(
        &self,
        file_name: &str,
        content_type: &str,
        boundary: &str,
    ) -> Result<Vec<u8>, InvalidInput> {
        check_boundary(boundary)?;
        let inside = |hay: &str| hay.contains(boundary);
        if self.fields.iter().any(|(n, v)| inside(n) || inside(v))
            || inside(file_name)
            || inside(content_type)
        {
            return Err(InvalidInput::new(
                "boundary",
                "the boundary occurs in the content",
            ));
        }
        if content_type.contains(['\r', '\n']) {
            return Err(InvalidInput::new(
                "content_type",
                "a content type cannot hold a line break",
            ));
        }
        let mut head = Vec::with_capacity(256 * (self.fields.len() + 1));
        for (name, value) in &self.fields {
            head.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            head.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{}\"\r\n\r\n",
                    escape(name)
                )
                .as_bytes(),
            );
            head.extend_from_slice(value.as_bytes());
            head.extend_from_slice(b"\r\n");
        }
        head.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        head.extend_from_slice(
            format!(
                "Content-Disposition: form-data; name=\"file\"; filename=\"{}\"\r\n\
                 Content-Type: {}\r\n\r\n",
                escape(file_name),
                content_type
            )
            .as_bytes(),
        );
        Ok(head)
    }
}

/// What goes after the file's bytes: the closing delimiter.
pub fn encode_tail(boundary: &str) -> Vec<u8> {
    format!("\r\n--{boundary}--\r\n").into_bytes()
}

/// A boundary made of 16 random bytes (the caller's randomness: this crate
/// has none): `cube-` and 32 hex digits. A file streamed from a reader
/// cannot be searched for its boundary before it is sent; 128 random bits
/// make a collision with its content as unlikely as guessing them, which is
/// what browsers and HTTP clients rely on too.
///
/// ```
/// let b = cube_proto::multipart::random_boundary([0xAB; 16]);
/// assert_eq!(b, format!("cube-{}", "ab".repeat(16)));
/// ```
pub fn random_boundary(random: [u8; 16]) -> String {
    let mut boundary = String::from("cube-");
    for byte in random {
        boundary.push_str(&format!("{byte:02x}"));
    }
    boundary
}

fn check_boundary(boundary: &str) -> Result<(), InvalidInput> {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || b"'()+_,-./:=?".contains(&b);
    if boundary.is_empty() || boundary.len() > MAX_BOUNDARY || !boundary.bytes().all(allowed) {
        return Err(InvalidInput::new(
            "boundary",
            "1 to 70 characters of A-Z a-z 0-9 '()+_,-./:=?",
        ));
    }
    Ok(())
}

/// Names in `Content-Disposition`, as browsers write them: `"` as `%22`, CR
/// as `%0D`, LF as `%0A`.
fn escape(name: &str) -> String {
    name.replace('"', "%22")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_boundaries_are_stable_and_absent_from_the_content() {
        let mut form = Form::new();
        form.field("a", "1");
        let file = FilePart::new("f", "text/plain", b"hello".to_vec());
        let b1 = form.derive_boundary(&file).unwrap();
        assert_eq!(b1, form.derive_boundary(&file).unwrap());
        assert_eq!(b1.len(), 45);
        // Content holding that very boundary gets another.
        let tricky = FilePart::new("f", "text/plain", b1.clone().into_bytes());
        let b2 = form.derive_boundary(&tricky).unwrap();
        assert!(!b2.is_empty() && !tricky.bytes.windows(b2.len()).any(|w| w == b2.as_bytes()));
    }

    #[test]
    fn bad_boundaries_and_names_are_handled() {
        let file = FilePart::new("a\"b\r\n.txt", "text/plain", b"x".to_vec());
        let form = Form::new();
        for bad in ["", "has space", &"x".repeat(71), "x"] {
            assert!(form.encode(&file, bad).is_err(), "{bad:?}");
        }
        let body = String::from_utf8(form.encode(&file, "B").unwrap()).unwrap();
        assert!(body.contains("filename=\"a%22b%0D%0A.txt\""));
        let evil = FilePart::new("f", "text/plain\r\nX: y", vec![]);
        assert!(form.encode(&evil, "B").is_err());
    }
}
