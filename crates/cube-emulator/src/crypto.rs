//! Secrets: session and reset tokens, password hashes, request signatures.
//!
//! Tokens come from the OS CSPRNG and are stored only as SHA-256 hashes, so a
//! copy of the database cannot be replayed against the emulator. Passwords
//! are stored only as argon2id hashes whose parameters travel with the hash,
//! so a database written at one `--password-cost` still verifies at another.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use crate::config::PasswordCost;
use crate::limits::{HASH_MEMORY_MAX_KIB, HASH_PASSES_MAX, INLINE_HASH_COST};

/// SHA-256 of a token: the only form in which tokens are stored or cached.
pub(crate) type TokenHash = [u8; 32];

/// Why a secret could not be made: the emulator itself failed (an answer
/// says so with a `503`, see `crate::error`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Error {
    /// The operating system gave no random bytes.
    #[error("randomness unavailable")]
    Randomness,
    /// A password could not be hashed.
    #[error("password hashing failed")]
    Hashing,
    /// The hashing threads are closing: the emulator is stopping.
    #[error("the emulator is stopping")]
    Stopping,
}

/// Random bytes from the operating system.
pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], Error> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).map_err(|_| Error::Randomness)?;
    Ok(buf)
}

/// A new session or reset token: 160 random bits as 40 hex digits, the
/// shape of ConnectyCube's own tokens.
pub(crate) fn new_token() -> Result<String, Error> {
    Ok(hex(&random_bytes::<20>()?))
}

pub(crate) fn hash_token(token: &str) -> TokenHash {
    Sha256::digest(token.as_bytes()).into()
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Compares without an early exit, so timing does not reveal a prefix match.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A string that never shows itself in `Debug` output or logs.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Secret(String);

impl Secret {
    pub(crate) fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// Hashes and checks passwords with argon2id at the configured cost.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Passwords {
    m_cost: u32,
    t_cost: u32,
}

impl Passwords {
    pub(crate) fn new(cost: PasswordCost) -> Self {
        match cost {
            // For test runs: the least memory that is still a real argon2id
            // hash (so the code path is the production one), as test set-ups
            // of other stacks use their hasher's least cost. It takes about
            // a quarter of the time of the 256 KiB of earlier releases,
            // whose hashes still verify: each hash carries its parameters.
            PasswordCost::Dev => Self {
                m_cost: 64,
                t_cost: 1,
            },
            // OWASP's recommendation for argon2id: 19 MiB, 2 passes.
            PasswordCost::Production => Self {
                m_cost: 19 * 1024,
                t_cost: 2,
            },
        }
    }

    /// `argon2id$m=..,t=..,p=1$SALT$HASH` (hex), parameters included.
    pub(crate) fn hash(&self, password: &str) -> Result<String, Error> {
        let salt = random_bytes::<16>()?;
        let out = derive(password, &salt, self.m_cost, self.t_cost).ok_or(Error::Hashing)?;
        Ok(format!(
            "argon2id$m={},t={},p=1${}${}",
            self.m_cost,
            self.t_cost,
            hex(&salt),
            hex(&out)
        ))
    }

    /// Whether hashing a new password is cheap enough to run on the
    /// request's own thread ([`INLINE_HASH_COST`]).
    pub(crate) fn hashes_inline(&self) -> bool {
        runs_inline(self.m_cost, self.t_cost)
    }
}

/// Whether an argon2 run of `m_cost` KiB and `t_cost` passes is cheap
/// enough for the request's own thread ([`INLINE_HASH_COST`]).
fn runs_inline(m_cost: u32, t_cost: u32) -> bool {
    u64::from(m_cost) * u64::from(t_cost) <= INLINE_HASH_COST
}

/// A stored password hash, `argon2id$m=..,t=..,p=1$SALT$HASH`, read and
/// checked: its cost is within [`HASH_MEMORY_MAX_KIB`] and
/// [`HASH_PASSES_MAX`], its salt 8 to 64 bytes and its hash 32 bytes.
pub(crate) struct StoredHash {
    m_cost: u32,
    t_cost: u32,
    salt: Vec<u8>,
    expected: Vec<u8>,
}

impl StoredHash {
    /// The hash in `stored`, or `None` when it is not one this emulator
    /// writes or it asks for more work than any cost of the emulator.
    pub(crate) fn parse(stored: &str) -> Option<Self> {
        let mut parts = stored.split('$');
        let (Some("argon2id"), Some(params), Some(salt), Some(expected), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        let mut m_cost = None;
        let mut t_cost = None;
        for kv in params.split(',') {
            match kv.split_once('=') {
                Some(("m", v)) => m_cost = v.parse().ok(),
                Some(("t", v)) => t_cost = v.parse().ok(),
                Some(("p", "1")) => {}
                _ => return None,
            }
        }
        let hash = Self {
            m_cost: m_cost.filter(|m| (8..=HASH_MEMORY_MAX_KIB).contains(m))?,
            t_cost: t_cost.filter(|t| (1..=HASH_PASSES_MAX).contains(t))?,
            salt: unhex(salt).filter(|s| (8..=64).contains(&s.len()))?,
            expected: unhex(expected).filter(|e| e.len() == 32)?,
        };
        Some(hash)
    }

    /// Whether checking a password against it is cheap enough to run on
    /// the request's own thread ([`INLINE_HASH_COST`]).
    pub(crate) fn checks_inline(&self) -> bool {
        runs_inline(self.m_cost, self.t_cost)
    }

    /// Whether `password` is the one hashed.
    pub(crate) fn matches(&self, password: &str) -> bool {
        derive(password, &self.salt, self.m_cost, self.t_cost)
            .is_some_and(|out| constant_time_eq(&out, &self.expected))
    }
}

/// The most argon2 working memory a thread keeps between hashes, in
/// 1 KiB blocks: the `dev` cost's 64 KiB (256 KiB before) fits (allocating
/// and zeroing it anew was about a tenth of a sign-in's CPU); the `production` cost's
/// 19 MiB is allocated per hash rather than kept by every blocking thread.
const KEPT_BLOCKS_MAX: usize = 1024;

thread_local! {
    static KEPT_BLOCKS: std::cell::RefCell<Vec<argon2::Block>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

fn derive(password: &str, salt: &[u8], m_cost: u32, t_cost: u32) -> Option<[u8; 32]> {
    let params = argon2::Params::new(m_cost, t_cost, 1, Some(32)).ok()?;
    let blocks = params.block_count();
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut out = [0u8; 32];
    if blocks > KEPT_BLOCKS_MAX {
        argon
            .hash_password_into(password.as_bytes(), salt, &mut out)
            .ok()?;
        return Some(out);
    }
    // Every block is written before it is read, so a reused buffer needs
    // no clearing.
    KEPT_BLOCKS.with_borrow_mut(|kept| {
        if kept.len() < blocks {
            kept.resize(blocks, argon2::Block::new());
        }
        argon
            .hash_password_into_with_memory(
                password.as_bytes(),
                salt,
                &mut out,
                &mut kept[..blocks],
            )
            .ok()
    })?;
    Some(out)
}

/// Checks a create-session signature: HMAC-SHA1 (40 hex digits) or
/// HMAC-SHA256 (64 hex digits) of `base`, keyed with the auth secret.
pub(crate) fn signature_matches(secret: &str, base: &str, signature: &str) -> bool {
    let Some(given) = unhex(&signature.to_ascii_lowercase()) else {
        return false;
    };
    let expected: Vec<u8> = match given.len() {
        20 => hmac_bytes::<sha1::Sha1>(secret, base),
        32 => hmac_bytes::<Sha256>(secret, base),
        _ => return false,
    };
    constant_time_eq(&expected, &given)
}

/// HMAC-SHA256 of `message` keyed with `key`, as lowercase hex.
pub(crate) fn hmac_sha256_hex(key: &str, message: &str) -> String {
    hex(&hmac_bytes::<Sha256>(key, message))
}

/// HMAC-SHA1 of `message` keyed with `key` (OAuth 1.0a signatures).
pub(crate) fn hmac_sha1(key: &str, message: &str) -> Vec<u8> {
    hmac_bytes::<sha1::Sha1>(key, message)
}

fn hmac_bytes<D>(secret: &str, base: &str) -> Vec<u8>
where
    D: hmac::EagerHash,
    Hmac<D>: KeyInit + Mac,
{
    // HMAC takes keys of any length, so this cannot fail.
    let Ok(mut mac) = <Hmac<D> as KeyInit>::new_from_slice(secret.as_bytes()) else {
        return Vec::new();
    };
    mac.update(base.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "EmulatorSecret42";

    #[test]
    fn protocol_test_vectors_verify() {
        let vectors = [
            (
                "application_id=1&auth_key=29WfrNWdvkhmX6V&nonce=33432&timestamp=1572434294",
                "7f5decc529cf02cd12fa092d712116f76f344673",
            ),
            (
                "application_id=1&auth_key=29WfrNWdvkhmX6V&nonce=4214611091&timestamp=1544010993&user[login]=john&user[password]=11111111",
                "58c8402415442692cd3a91fe45d7cf2b97bed9ee",
            ),
            (
                "application_id=1&auth_key=29WfrNWdvkhmX6V&nonce=4214611091&timestamp=1544010993&user[login]=john&user[password]=11111111",
                "1375fc7b7cb4e184d4e1e4a81eb396225c446f46764b2a43f92c3cc6c8a174dc",
            ),
            (
                "application_id=1&auth_key=29WfrNWdvkhmX6V&keys[secret]=sêcret&keys[token]=tok en&x&nonce=7&provider=twitter&timestamp=1572434294",
                "256c618c4a80f83bb7a01ee4eb97aba581f7ee85",
            ),
        ];
        for (base, sig) in vectors {
            assert!(signature_matches(SECRET, base, sig), "{sig}");
            assert!(!signature_matches("other", base, sig));
        }
        assert!(!signature_matches(SECRET, "x", "zz"));
        assert!(!signature_matches(SECRET, "x", "abcd"));
    }

    fn verify(password: &str, stored: &str) -> bool {
        StoredHash::parse(stored).is_some_and(|hash| hash.matches(password))
    }

    #[test]
    fn passwords_round_trip_and_carry_their_cost() {
        let dev = Passwords::new(PasswordCost::Dev);
        let hash = dev.hash("correct horse").unwrap();
        assert!(hash.starts_with("argon2id$m=64,t=1,p=1$"));
        assert!(verify("correct horse", &hash));
        assert!(!verify("wrong horse", &hash));
        assert!(!verify("correct horse", "garbage"));
    }

    #[test]
    fn the_dev_cost_runs_inline_and_the_production_cost_does_not() {
        let dev = Passwords::new(PasswordCost::Dev);
        let production = Passwords::new(PasswordCost::Production);
        assert!(dev.hashes_inline());
        assert!(!production.hashes_inline());
        let salt = "00".repeat(16);
        let out = "00".repeat(32);
        let stored =
            |m: u32, t: u32| StoredHash::parse(&format!("argon2id$m={m},t={t},p=1${salt}${out}"));
        assert!(stored(256, 1).unwrap().checks_inline());
        assert!(!stored(257, 1).unwrap().checks_inline());
        assert!(!stored(128, 3).unwrap().checks_inline());
        assert!(!stored(19 * 1024, 2).unwrap().checks_inline());
    }

    #[test]
    fn stored_hashes_name_a_bounded_cost_and_the_shapes_the_emulator_writes() {
        let salt = "ab".repeat(16);
        let out = "cd".repeat(32);
        let hash = |params: &str, salt: &str, out: &str| {
            StoredHash::parse(&format!("argon2id${params}${salt}${out}")).is_some()
        };
        let max_m = HASH_MEMORY_MAX_KIB;
        let max_t = HASH_PASSES_MAX;
        // At each limit, and one past it.
        assert!(hash(&format!("m={max_m},t=1,p=1"), &salt, &out));
        assert!(!hash(&format!("m={},t=1,p=1", max_m + 1), &salt, &out));
        assert!(hash(&format!("m=8,t={max_t},p=1"), &salt, &out));
        assert!(!hash(&format!("m=8,t={},p=1", max_t + 1), &salt, &out));
        assert!(hash("m=8,t=1,p=1", &salt, &out));
        assert!(!hash("m=7,t=1,p=1", &salt, &out));
        assert!(!hash("m=8,t=0,p=1", &salt, &out));
        assert!(!hash("m=4294967295,t=1,p=1", &salt, &out));
        // Only one lane, and nothing else among the parameters.
        assert!(!hash("m=256,t=1,p=2", &salt, &out));
        assert!(!hash("m=256,t=1,p=1,x=3", &salt, &out));
        assert!(!hash("m=256,p=1", &salt, &out));
        // Salts of 8 to 64 bytes; a 32-byte hash.
        assert!(hash("m=256,t=1,p=1", &"ab".repeat(8), &out));
        assert!(!hash("m=256,t=1,p=1", &"ab".repeat(7), &out));
        assert!(hash("m=256,t=1,p=1", &"ab".repeat(64), &out));
        assert!(!hash("m=256,t=1,p=1", &"ab".repeat(65), &out));
        assert!(!hash("m=256,t=1,p=1", &salt, &"cd".repeat(31)));
        assert!(!hash("m=256,t=1,p=1", &salt, &"cd".repeat(33)));
        assert!(!hash("m=256,t=1,p=1", "xyz", &out));
        assert!(StoredHash::parse("argon2i$m=256,t=1,p=1$ab$cd").is_none());
        assert!(StoredHash::parse(&format!("argon2id$m=256,t=1,p=1${salt}${out}$")).is_none());
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let a = new_token().unwrap();
        let b = new_token().unwrap();
        assert_eq!(a.len(), 40);
        assert_ne!(a, b);
        assert_ne!(hash_token(&a), hash_token(&b));
        assert_eq!(format!("{:?}", Secret::new("s3cr3t")), "Secret([redacted])");
    }

    #[test]
    fn a_reused_working_memory_derives_what_a_fresh_one_does() {
        let fresh = |password: &str, salt: &[u8], m: u32| {
            let params = argon2::Params::new(m, 1, 1, Some(32)).unwrap();
            let argon =
                argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
            let mut out = [0u8; 32];
            argon
                .hash_password_into(password.as_bytes(), salt, &mut out)
                .unwrap();
            out
        };
        // Larger then smaller then larger again, on one thread's buffer;
        // the last one is past what a thread keeps.
        for (password, m) in [("first pass", 256), ("second", 64), ("third one", 512)] {
            let salt = b"sixteen byte salt";
            assert_eq!(derive(password, salt, m, 1), Some(fresh(password, salt, m)));
        }
        let past = u32::try_from(KEPT_BLOCKS_MAX + 8).unwrap();
        assert_eq!(
            derive("big", b"sixteen byte salt", past, 1),
            Some(fresh("big", b"sixteen byte salt", past))
        );
    }
}
