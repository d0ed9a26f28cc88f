//! Base64 (RFC 4648) through the `base64` crate, in the two forms the
//! emulator reads and writes: the standard alphabet, padded when written
//! and padding optional when read (upload policies, OAuth signatures), and
//! the URL-safe alphabet without padding (JWT segments). Both refuse
//! non-canonical input (stray bits after the last byte).

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD_PAD_INDIFFERENT, URL_SAFE_NO_PAD_INDIFFERENT};

/// Standard alphabet, padded.
pub(crate) fn encode(bytes: &[u8]) -> String {
    STANDARD_PAD_INDIFFERENT.encode(bytes)
}

/// URL-safe alphabet, unpadded (JWT segments).
#[cfg(test)]
pub(crate) fn encode_url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD_INDIFFERENT.encode(bytes)
}

/// Standard alphabet, padding optional.
pub(crate) fn decode(text: &str) -> Option<Vec<u8>> {
    STANDARD_PAD_INDIFFERENT.decode(text).ok()
}

/// URL-safe alphabet, padding optional.
pub(crate) fn decode_url(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD_INDIFFERENT.decode(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4648_vectors() {
        let vectors = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in vectors {
            assert_eq!(encode(plain.as_bytes()), encoded);
            assert_eq!(decode(encoded).unwrap(), plain.as_bytes());
            assert_eq!(
                decode(encoded.trim_end_matches('=')).unwrap(),
                plain.as_bytes()
            );
        }
        assert_eq!(encode_url(&[0xfb, 0xff]), "-_8");
        assert_eq!(decode_url("-_8").unwrap(), vec![0xfb, 0xff]);
        assert_eq!(decode_url("-_8=").unwrap(), vec![0xfb, 0xff]);
        assert!(decode_url("+/8").is_none());
        assert!(decode("Zm9v!").is_none());
        assert!(decode("Z").is_none());
        // Non-canonical: the last digit carries bits past the last byte.
        assert!(decode("Zh==").is_none());
        assert!(decode("Zm9=").is_none());
    }
}
