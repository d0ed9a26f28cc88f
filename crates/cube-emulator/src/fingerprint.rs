//! Short fingerprints of session tokens: what the sessions list and the
//! request log show instead of a token, so that a person can tell which
//! requests used which session without anything that works as, or leads
//! back to, the token.
//!
//! A fingerprint is the first 4 bytes (8 hex digits) of an HMAC-SHA256 of
//! the token's stored hash, under a key derived from the emulator's own
//! random upload key (kept in its database, never shown). So:
//! * it cannot be used: the API takes tokens, and a fingerprint is not one;
//! * it cannot be turned back into the token, nor checked against a
//!   guess offline: without the key, even a short made-up token sent by a
//!   client gives nothing to try guesses against;
//! * it stays the same for the same token across restarts of a durable
//!   emulator (the key is stored), and 32 bits tell sessions apart in any
//!   list a person reads.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::crypto::{Secret, TokenHash, hash_token};

/// What separates this key from every other use of the upload key.
const PURPOSE: &[u8] = b"cube-emulator session fingerprint v1";

/// Makes fingerprints; holds the key (never shown).
pub(crate) struct Fingerprints {
    key: Vec<u8>,
}

/// A token's fingerprint: 8 hex digits when shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Fingerprint([u8; 4]);

fn hmac(key: &[u8], message: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length, so this cannot fail.
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(key) else {
        return Vec::new();
    };
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

impl Fingerprints {
    /// Fingerprints keyed by `upload_key` (through a derivation of its own).
    pub(crate) fn new(upload_key: &Secret) -> Self {
        Self {
            key: hmac(upload_key.expose().as_bytes(), PURPOSE),
        }
    }

    /// The fingerprint of a stored token hash.
    pub(crate) fn of_hash(&self, hash: &TokenHash) -> Fingerprint {
        let mac = hmac(&self.key, hash);
        let mut short = [0u8; 4];
        for (to, from) in short.iter_mut().zip(&mac) {
            *to = *from;
        }
        Fingerprint(short)
    }

    /// The fingerprint of a token as a client sent it.
    pub(crate) fn of_token(&self, token: &str) -> Fingerprint {
        self.of_hash(&hash_token(token))
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::crypto::hex(&self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fingerprint_is_short_stable_keyed_and_not_the_hash() {
        let token = "0123456789abcdef0123456789abcdef01234567";
        let one = Fingerprints::new(&Secret::new("key one"));
        let shown = one.of_token(token).to_string();
        assert_eq!(shown.len(), 8);
        assert!(shown.bytes().all(|b| b.is_ascii_hexdigit()));
        // The same token, the same key: the same fingerprint (restarts).
        assert_eq!(
            Fingerprints::new(&Secret::new("key one")).of_token(token),
            one.of_token(token)
        );
        assert_eq!(one.of_hash(&hash_token(token)), one.of_token(token));
        // Another key (another emulator): another fingerprint.
        let two = Fingerprints::new(&Secret::new("key two"));
        assert_ne!(two.of_token(token), one.of_token(token));
        // Neither a part of the token nor of its plain hash.
        let plain = crate::crypto::hex(&hash_token(token));
        assert!(!plain.contains(&shown) && !token.contains(&shown));
        // Different tokens differ.
        assert_ne!(one.of_token("a"), one.of_token("b"));
    }
}
