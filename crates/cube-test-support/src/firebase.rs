//! RS256 Firebase ID tokens signed with the emulator's checked-in test keys,
//! and the JWK a test serves for them.

use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use rustls::pki_types::PrivatePkcs8KeyDer;
use rustls::pki_types::pem::PemObject;
use serde_json::{Value, json};

/// The emulator's checked-in RSA test key, as a Firebase signing key.
pub struct SigningKey {
    kid: &'static str,
    pair: RsaKeyPair,
}

impl SigningKey {
    /// `cube-emulator/testdata/firebase-test-key-1.pem`.
    pub fn test_key() -> Self {
        let pem = include_bytes!("../../cube-emulator/testdata/firebase-test-key-1.pem");
        let der = PrivatePkcs8KeyDer::from_pem_slice(pem).unwrap();
        Self {
            kid: "sdk-test-key",
            pair: RsaKeyPair::from_pkcs8(der.secret_pkcs8_der()).unwrap(),
        }
    }

    /// The key set (JWKS) with the public half, as a test serves it.
    pub fn jwks(&self) -> Value {
        let public = ring::rsa::PublicKeyComponents::<Vec<u8>>::from(self.pair.public());
        json!({"keys": [{"kty": "RSA", "alg": "RS256", "use": "sig", "kid": self.kid,
                         "n": base64url(&public.n), "e": base64url(&public.e)}]})
    }

    /// A token for `project` whose other claims are `extra` (`sub`, …).
    pub fn token(&self, project: &str, extra: Value) -> String {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let mut claims = json!({"iss": format!("https://securetoken.google.com/{project}"),
                                "aud": project, "iat": now - 10, "auth_time": now - 10, "exp": now + 3600});
        claims
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": self.kid});
        let input = format!(
            "{}.{}",
            base64url(header.to_string().as_bytes()),
            base64url(claims.to_string().as_bytes())
        );
        let mut signature = vec![0; self.pair.public().modulus_len()];
        self.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &ring::rand::SystemRandom::new(),
                input.as_bytes(),
                &mut signature,
            )
            .unwrap();
        format!("{input}.{}", base64url(&signature))
    }
}

fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}
