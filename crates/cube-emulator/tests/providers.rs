//! Identity providers over real HTTP (`docs/PROTOCOL.md`, "Identity providers"), each in
//! `POST /session` and in `POST /login`: Facebook and Twitter through the
//! emulator's fake APIs, Firebase ID tokens minted here with test RSA keys
//! and served as a JWKS by a test server (with a key rotation), and a
//! custom identity provider played by a test server.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Emu, TestServer, query_param};
use cube_emulator::EmulatorConfig;
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use serde_json::{Value, json};

const UNAUTHORIZED: &str = r#"{"errors":["Unauthorized"]}"#;

/// Signs in with `extra` both ways: a new session, and an application
/// session upgraded with `POST /login`. Returns the user ids.
fn sign_in_both_ways(emu: &Emu, extra: Value) -> (i64, i64) {
    let created = emu.create_session(extra.clone());
    created.assert(201);
    let by_session = created.body["session"]["user"]["id"].as_i64().unwrap();
    assert_eq!(created.body["session"]["user_id"], by_session);
    let token = emu.app_session();
    let upgraded = emu.post("/login", Some(&token), extra);
    upgraded.assert(200);
    let by_login = upgraded.body["user"]["id"].as_i64().unwrap();
    emu.get("/session", Some(&token)).assert(200);
    (by_session, by_login)
}

/// Both ways are refused with `401 {"errors": ["Unauthorized"]}`.
#[track_caller]
fn refused_both_ways(emu: &Emu, extra: Value) {
    let created = emu.create_session(extra.clone());
    created.assert(401);
    assert_eq!(created.text, UNAUTHORIZED);
    let token = emu.app_session();
    let upgraded = emu.post("/login", Some(&token), extra);
    upgraded.assert(401);
    assert_eq!(upgraded.text, UNAUTHORIZED);
}

fn settings(emu: &Emu, patch: Value) {
    emu.put("/_emulator/apps/1/settings", None, patch)
        .assert(200);
}

fn user(emu: &Emu, id: i64) -> Value {
    let token = emu.app_session();
    emu.get(&format!("/users/{id}"), Some(&token)).body["user"].clone()
}

// ---- Facebook ----

fn facebook(token: &str) -> Value {
    json!({"provider": "facebook", "keys": {"token": token}})
}

#[test]
fn facebook_sign_in_creates_then_finds_the_user() {
    let emu = Emu::start();
    emu.post(
        "/_emulator/providers/facebook/tokens",
        None,
        json!({"token": "fb-token-1", "id": "91234409", "name": "Dacia Kail", "email": "dacia@example.com"}),
    )
    .assert(201);
    let (first, again) = sign_in_both_ways(&emu, facebook("fb-token-1"));
    assert_eq!(first, again);
    let profile = user(&emu, first);
    assert_eq!(profile["facebook_id"], "91234409");
    assert_eq!(profile["full_name"], "Dacia Kail");
    assert_eq!(profile["email"], "dacia@example.com");
    assert_eq!(profile["login"], Value::Null);
    let by_id = emu.get(
        "/users/by_facebook_id?facebook_id=91234409",
        Some(&emu.app_session()),
    );
    assert_eq!(by_id.body["user"]["id"], first);

    // Another token of the same Facebook user finds the same account; an
    // e-mail already taken by someone else is left out of a new account.
    emu.sign_up(json!({"email": "taken@example.com", "password": "password123"}));
    emu.post(
        "/_emulator/providers/facebook/tokens",
        None,
        json!({"token": "fb-token-2", "id": 91234409}),
    )
    .assert(201);
    emu.post(
        "/_emulator/providers/facebook/tokens",
        None,
        json!({"token": "fb-token-3", "id": "555", "email": "taken@example.com"}),
    )
    .assert(201);
    assert_eq!(sign_in_both_ways(&emu, facebook("fb-token-2")).0, first);
    let (other, _) = sign_in_both_ways(&emu, facebook("fb-token-3"));
    assert_ne!(other, first);
    assert_eq!(user(&emu, other)["email"], Value::Null);
}

#[test]
fn facebook_bad_tokens_are_unauthorized() {
    let emu = Emu::start();
    emu.post(
        "/_emulator/providers/facebook/tokens",
        None,
        json!({"token": "good", "id": "1"}),
    )
    .assert(201);
    // Unknown, empty or missing token.
    refused_both_ways(&emu, facebook("unknown"));
    refused_both_ways(&emu, facebook(""));
    refused_both_ways(&emu, json!({"provider": "facebook"}));
    // A Graph API that is not there; one that does not speak TLS on an
    // https URL; a URL that is not HTTP at all.
    settings(&emu, json!({"facebook_graph_url": "http://127.0.0.1:1"}));
    refused_both_ways(&emu, facebook("good"));
    let https = emu.running.base_url().replace("http://", "https://");
    settings(&emu, json!({"facebook_graph_url": https}));
    refused_both_ways(&emu, facebook("good"));
    settings(&emu, json!({"facebook_graph_url": "ftp://127.0.0.1/graph"}));
    refused_both_ways(&emu, facebook("good"));
    // Back to the built-in one.
    settings(&emu, json!({"facebook_graph_url": null}));
    sign_in_both_ways(&emu, facebook("good"));
    // Registration is validated; unknown providers are 422.
    emu.post(
        "/_emulator/providers/facebook/tokens",
        None,
        json!({"id": "1"}),
    )
    .assert(422);
    emu.post(
        "/_emulator/providers/facebook/tokens",
        None,
        json!({"token": "t"}),
    )
    .assert(422);
    let unknown = emu.create_session(json!({"provider": "myspace", "keys": {"token": "x"}}));
    unknown.assert(422);
    assert_eq!(unknown.error("provider"), "myspace is not supported");
    // The fake Graph API speaks Graph's error shape.
    let graph = emu.get("/_emulator/fake/facebook/me?access_token=nope", None);
    graph.assert(400);
    assert_eq!(graph.body["error"]["code"], 190);
    let me = emu.get(
        "/_emulator/fake/facebook/v19.0/me?access_token=good&fields=id",
        None,
    );
    assert_eq!(me.body, json!({"id": "1"}));
}

// ---- Twitter ----

fn twitter(token: &str, secret: &str) -> Value {
    json!({"provider": "twitter", "keys": {"token": token, "secret": secret}})
}

#[test]
fn twitter_sign_in_with_a_signed_credentials_check() {
    let emu = Emu::start();
    emu.post(
        "/_emulator/providers/twitter/tokens",
        None,
        json!({"token": "tw-token", "secret": "tw s3cret+/=", "id": "783214", "name": "Twitter User"}),
    )
    .assert(201);
    let (first, again) = sign_in_both_ways(&emu, twitter("tw-token", "tw s3cret+/="));
    assert_eq!(first, again);
    let profile = user(&emu, first);
    assert_eq!(profile["twitter_id"], "783214");
    assert_eq!(profile["full_name"], "Twitter User");
    // Other consumer credentials of the application still sign correctly.
    settings(
        &emu,
        json!({"twitter_consumer_key": "my key", "twitter_consumer_secret": "my+secret"}),
    );
    assert_eq!(
        sign_in_both_ways(&emu, twitter("tw-token", "tw s3cret+/=")).0,
        first
    );
}

#[test]
fn twitter_bad_pairs_are_unauthorized() {
    let emu = Emu::start();
    emu.post(
        "/_emulator/providers/twitter/tokens",
        None,
        json!({"token": "tw-token", "secret": "right", "id": "1"}),
    )
    .assert(201);
    // A wrong token secret makes a wrong signature.
    refused_both_ways(&emu, twitter("tw-token", "wrong"));
    // Unknown token; missing secret.
    refused_both_ways(&emu, twitter("unknown", "right"));
    refused_both_ways(
        &emu,
        json!({"provider": "twitter", "keys": {"token": "tw-token"}}),
    );
    // An API that answers something else.
    settings(
        &emu,
        json!({"twitter_api_url": format!("{}/nowhere", emu.running.base_url())}),
    );
    refused_both_ways(&emu, twitter("tw-token", "right"));
    // The fake API itself refuses unsigned or forged requests.
    let path = "/_emulator/fake/twitter/1.1/account/verify_credentials.json";
    emu.get(path, None).assert(401);
    let forged = emu.send(
        "GET",
        path,
        &[(
            "Authorization",
            "OAuth oauth_consumer_key=\"emulator-twitter-consumer-key\", oauth_nonce=\"n\", \
             oauth_signature=\"AAAA\", oauth_signature_method=\"HMAC-SHA1\", \
             oauth_timestamp=\"1\", oauth_token=\"tw-token\", oauth_version=\"1.0\"",
        )],
        None,
        "",
    );
    forged.assert(401);
    assert_eq!(forged.body["errors"][0]["code"], 32);
}

/// The test's own OAuth 1.0a signer (RFC 5849), independent of the
/// emulator's: an `Authorization` header for the fake credentials check.
fn oauth_header(
    base_url: &str,
    query: &[(&str, &str)],
    token: &str,
    token_secret: &str,
    nonce: &str,
    now: i64,
) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    fn enc(s: &str) -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    }
    let timestamp = now.to_string();
    let oauth = [
        ("oauth_consumer_key", "emulator-twitter-consumer-key"),
        ("oauth_nonce", nonce),
        ("oauth_signature_method", "HMAC-SHA1"),
        ("oauth_timestamp", timestamp.as_str()),
        ("oauth_token", token),
        ("oauth_version", "1.0"),
    ];
    let mut pairs: Vec<(String, String)> = query
        .iter()
        .chain(oauth.iter())
        .map(|(k, v)| (enc(k), enc(v)))
        .collect();
    pairs.sort();
    let params = pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let base = format!("GET&{}&{}", enc(base_url), enc(&params));
    let key = format!(
        "{}&{}",
        enc("emulator-twitter-consumer-secret"),
        enc(token_secret)
    );
    let mut mac = <Hmac<sha1::Sha1> as KeyInit>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(base.as_bytes());
    let digest = mac.finalize().into_bytes();
    // Standard base64 with padding.
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut signature = String::new();
    for chunk in digest.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            signature.push(if i <= chunk.len() {
                A[((n >> (18 - 6 * i)) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    let mut header: Vec<String> = oauth
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", enc(v)))
        .collect();
    header.push(format!("oauth_signature=\"{}\"", enc(&signature)));
    format!("OAuth {}", header.join(", "))
}

#[test]
fn the_fake_twitter_api_checks_signatures_nonces_and_timestamps() {
    let emu = Emu::frozen();
    emu.post(
        "/_emulator/providers/twitter/tokens",
        None,
        json!({"token": "tw-token", "secret": "right", "id": "77", "name": "T"}),
    )
    .assert(201);
    let path = "/_emulator/fake/twitter/1.1/account/verify_credentials.json";
    let base = emu.url(path);
    let call = |header: String, query: &str| {
        emu.send(
            "GET",
            &format!("{path}{query}"),
            &[("Authorization", header.as_str())],
            None,
            "",
        )
    };
    let now = emu.now();
    // Signed by an independent implementation: accepted.
    let good = oauth_header(
        &base,
        &[("skip_status", "true")],
        "tw-token",
        "right",
        "nonce-1",
        now,
    );
    let answer = call(good.clone(), "?skip_status=true");
    answer.assert(200);
    assert_eq!(answer.body["id_str"], "77");
    assert_eq!(answer.body["id"], 77);
    // The same nonce again: a replay.
    call(good, "?skip_status=true").assert(401);
    // The query is signed too.
    let header = oauth_header(
        &base,
        &[("skip_status", "true")],
        "tw-token",
        "right",
        "nonce-2",
        now,
    );
    call(header, "?skip_status=false").assert(401);
    // Wrong token secret; stale timestamp.
    call(
        oauth_header(&base, &[], "tw-token", "wrong", "nonce-3", now),
        "",
    )
    .assert(401);
    call(
        oauth_header(&base, &[], "tw-token", "right", "nonce-4", now - 301),
        "",
    )
    .assert(401);
    call(
        oauth_header(&base, &[], "tw-token", "right", "nonce-5", now - 299),
        "",
    )
    .assert(200);
}

// ---- Firebase ----

fn b64url(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..=chunk.len() {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

fn pem_der(pem: &str) -> Vec<u8> {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let text: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in text.bytes().filter(|c| *c != b'=') {
        acc = ((acc << 6) | A.iter().position(|a| *a == c).unwrap() as u32) & 0xff_ffff;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// A test signing key (checked in under testdata/) and its `kid`.
struct TestKey {
    kid: &'static str,
    pair: RsaKeyPair,
}

impl TestKey {
    fn load(kid: &'static str, pem: &str) -> Self {
        Self {
            kid,
            pair: RsaKeyPair::from_pkcs8(&pem_der(pem)).unwrap(),
        }
    }

    fn jwk(&self) -> Value {
        let public = ring::rsa::PublicKeyComponents::<Vec<u8>>::from(self.pair.public());
        json!({"kty": "RSA", "alg": "RS256", "use": "sig", "kid": self.kid,
               "n": b64url(&public.n), "e": b64url(&public.e)})
    }

    /// An RS256 JWT of `claims`, with this key's `kid` (or `kid`).
    fn sign(&self, claims: &Value, kid: Option<&str>) -> String {
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": kid.unwrap_or(self.kid)});
        let input = format!(
            "{}.{}",
            b64url(header.to_string().as_bytes()),
            b64url(claims.to_string().as_bytes())
        );
        let mut signature = vec![0; self.pair.public().modulus_len()];
        self.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                input.as_bytes(),
                &mut signature,
            )
            .unwrap();
        format!("{input}.{}", b64url(&signature))
    }
}

fn keys() -> (TestKey, TestKey) {
    (
        TestKey::load("key-1", include_str!("../testdata/firebase-test-key-1.pem")),
        TestKey::load("key-2", include_str!("../testdata/firebase-test-key-2.pem")),
    )
}

const PROJECT: &str = "cube-test-project";

fn claims(emu: &Emu, sub: &str, extra: Value) -> Value {
    let now = emu.now();
    let mut claims = json!({
        "iss": format!("https://securetoken.google.com/{PROJECT}"),
        "aud": PROJECT,
        "auth_time": now - 10,
        "iat": now - 10,
        "exp": now + 3600,
        "sub": sub,
        "user_id": sub,
    });
    if let (Some(map), Value::Object(extra)) = (claims.as_object_mut(), extra) {
        map.extend(extra);
    }
    claims
}

fn firebase(kind: &str, token: &str) -> Value {
    json!({"provider": kind, kind: {"project_id": PROJECT, "access_token": token}})
}

/// A JWKS endpoint whose key set the test can replace; counts fetches.
struct Jwks {
    server: TestServer,
    set: Arc<Mutex<Value>>,
    fetches: Arc<Mutex<u32>>,
}

fn jwks(initial: Value) -> Jwks {
    let set = Arc::new(Mutex::new(initial));
    let fetches = Arc::new(Mutex::new(0));
    let (served, counted) = (set.clone(), fetches.clone());
    let server = TestServer::start(move |_| {
        *counted.lock().unwrap() += 1;
        (200, served.lock().unwrap().to_string(), Duration::ZERO)
    });
    Jwks {
        server,
        set,
        fetches,
    }
}

#[test]
fn firebase_rs256_tokens_through_a_served_jwks_with_rotation() {
    let emu = Emu::frozen();
    let (key1, key2) = keys();
    let endpoint = jwks(json!({"keys": [key1.jwk()]}));
    settings(
        &emu,
        json!({"firebase_jwks_url": format!("{}/jwks", endpoint.server.base_url),
               "firebase_accept_unsigned": false}),
    );
    // Phone: phone_number → phone; sub links later sign-ins.
    let phone = key1.sign(
        &claims(&emu, "fb-uid-phone", json!({"phone_number": "+6110797757"})),
        None,
    );
    let (first, again) = sign_in_both_ways(&emu, firebase("firebase_phone", &phone));
    assert_eq!(first, again);
    assert_eq!(user(&emu, first)["phone"], "+6110797757");
    // One fetch served both sign-ins (the set is cached).
    assert_eq!(*endpoint.fetches.lock().unwrap(), 1);

    // E-mail / Google: email → email.
    let email = key1.sign(
        &claims(
            &emu,
            "fb-uid-mail",
            json!({"email": "Fire@Example.com", "name": "Fire Base"}),
        ),
        None,
    );
    let (mail_user, _) = sign_in_both_ways(&emu, firebase("firebase_email", &email));
    assert_ne!(mail_user, first);
    assert_eq!(user(&emu, mail_user)["email"], "Fire@Example.com");

    // Rotation: the provider now publishes key-2 only. A token with the
    // new kid makes the emulator fetch the set again (a URL is fetched at
    // most once per 30 s, so the clock moves past that first).
    *endpoint.set.lock().unwrap() = json!({"keys": [key2.jwk()]});
    emu.advance(30);
    let rotated = key2.sign(
        &claims(&emu, "fb-uid-phone", json!({"phone_number": "+100"})),
        None,
    );
    assert_eq!(
        sign_in_both_ways(&emu, firebase("firebase_phone", &rotated)).0,
        first
    );
    assert_eq!(*endpoint.fetches.lock().unwrap(), 2);
    // The retired key no longer verifies.
    refused_both_ways(&emu, firebase("firebase_phone", &phone));
}

#[test]
fn firebase_key_sets_are_fetched_again_when_stale() {
    let emu = Emu::frozen();
    let (key1, key2) = keys();
    let set = Arc::new(Mutex::new(json!({"keys": [key1.jwk()]})));
    let max_age = Arc::new(Mutex::new("max-age=3600".to_owned()));
    let fetches = Arc::new(Mutex::new(0));
    let (served, age, counted) = (set.clone(), max_age.clone(), fetches.clone());
    let server = TestServer::with_headers(move |_| {
        *counted.lock().unwrap() += 1;
        let headers = vec![("Cache-Control".to_owned(), age.lock().unwrap().clone())];
        (
            200,
            served.lock().unwrap().to_string(),
            Duration::ZERO,
            headers,
        )
    });
    settings(
        &emu,
        json!({"firebase_jwks_url": format!("{}/jwks", server.base_url)}),
    );
    let token = key1.sign(&claims(&emu, "cached", json!({})), None);
    emu.create_session(firebase("firebase_email", &token))
        .assert(201);
    // Fresh for an hour: the provider dropping key-1 is not seen yet.
    *set.lock().unwrap() = json!({"keys": [key2.jwk()]});
    emu.create_session(firebase("firebase_email", &token))
        .assert(201);
    assert_eq!(*fetches.lock().unwrap(), 1);
    // A set that must not be cached is fetched at every use, but at most
    // once per 30 s.
    *set.lock().unwrap() = json!({"keys": [key1.jwk()]});
    *max_age.lock().unwrap() = "no-cache".to_owned();
    let other = key2.sign(&claims(&emu, "cached", json!({})), None);
    emu.advance(30);
    emu.create_session(firebase("firebase_email", &other))
        .assert(401);
    assert_eq!(*fetches.lock().unwrap(), 2);
    *set.lock().unwrap() = json!({"keys": [key2.jwk()]});
    emu.create_session(firebase("firebase_email", &token))
        .assert(201);
    assert_eq!(*fetches.lock().unwrap(), 2, "within 30 s of the last fetch");
    emu.advance(30);
    emu.create_session(firebase("firebase_email", &token))
        .assert(401);
    assert_eq!(*fetches.lock().unwrap(), 3);
    emu.create_session(firebase("firebase_email", &other))
        .assert(201);
}

#[test]
fn firebase_bad_tokens_are_unauthorized() {
    let emu = Emu::frozen();
    let (key1, key2) = keys();
    // Inline key set this time.
    settings(&emu, json!({"firebase_jwks": {"keys": [key1.jwk()]}}));
    let good = claims(&emu, "sub-1", json!({"phone_number": "+1"}));
    sign_in_both_ways(&emu, firebase("firebase_phone", &key1.sign(&good, None)));

    let altered = |change: Value| {
        let mut c = good.clone();
        for (k, v) in change.as_object().unwrap() {
            c[k] = v.clone();
        }
        key1.sign(&c, None)
    };
    let now = emu.now();
    let bad = [
        // Wrong audience, wrong issuer.
        altered(json!({"aud": "another-project"})),
        altered(json!({"iss": "https://securetoken.google.com/another-project"})),
        // Expired, issued in the future, no subject.
        altered(json!({"exp": now - 1})),
        altered(json!({"iat": now + 60})),
        altered(json!({"sub": ""})),
        // Signed by another key under key-1's kid; an unknown kid.
        key2.sign(&good, Some("key-1")),
        key2.sign(&good, None),
        // Not a JWT at all.
        "not.a.jwt".to_owned(),
    ];
    for (i, token) in bad.iter().enumerate() {
        let created = emu.create_session(firebase("firebase_phone", token));
        assert_eq!(created.status, 401, "case {i}: {}", created.text);
        assert_eq!(created.text, UNAUTHORIZED);
    }
    refused_both_ways(&emu, firebase("firebase_email", &bad[0]));
    refused_both_ways(&emu, firebase("firebase_phone", &bad[2]));
    // The project id must be the token's.
    let mut other_project = firebase("firebase_phone", &key1.sign(&good, None));
    other_project["firebase_phone"]["project_id"] = json!("another-project");
    refused_both_ways(&emu, other_project);
    // The clock moves past the expiry: the once good token is refused.
    let token = key1.sign(&good, None);
    emu.advance(3600);
    refused_both_ways(&emu, firebase("firebase_phone", &token));
}

#[test]
fn firebase_unsigned_emulator_tokens_when_accepted() {
    let emu = Emu::frozen();
    let unsigned = |claims: &Value| {
        format!(
            "{}.{}.",
            b64url(json!({"alg": "none", "typ": "JWT"}).to_string().as_bytes()),
            b64url(claims.to_string().as_bytes())
        )
    };
    let good = claims(&emu, "emu-sub", json!({"email": "emu@example.com"}));
    // Accepted by default; every claim still checked.
    let (first, again) = sign_in_both_ways(&emu, firebase("firebase_email", &unsigned(&good)));
    assert_eq!(first, again);
    let mut wrong_aud = good.clone();
    wrong_aud["aud"] = json!("other");
    refused_both_ways(&emu, firebase("firebase_email", &unsigned(&wrong_aud)));
    // An alg-none token with a signature is not an emulator token.
    refused_both_ways(
        &emu,
        firebase("firebase_email", &format!("{}c2ln", unsigned(&good))),
    );
    // Refused once the application says so.
    settings(&emu, json!({"firebase_accept_unsigned": false}));
    refused_both_ways(&emu, firebase("firebase_email", &unsigned(&good)));
}

#[test]
fn unsigned_firebase_tokens_are_refused_once_a_key_set_is_configured() {
    let emu = Emu::frozen();
    let (key1, _) = keys();
    let unsigned = |claims: &Value| {
        format!(
            "{}.{}.",
            b64url(json!({"alg": "none", "typ": "JWT"}).to_string().as_bytes()),
            b64url(claims.to_string().as_bytes())
        )
    };
    // Anyone could mint this one: any sub, any e-mail.
    let forged = unsigned(&claims(
        &emu,
        "victim-sub",
        json!({"email": "victim@example.com"}),
    ));
    let signed = key1.sign(&claims(&emu, "real-sub", json!({})), None);
    // An inline key set: signed tokens work, unsigned ones no longer do,
    // even with firebase_accept_unsigned left (or set) true.
    settings(
        &emu,
        json!({"firebase_jwks": {"keys": [key1.jwk()]}, "firebase_accept_unsigned": true}),
    );
    sign_in_both_ways(&emu, firebase("firebase_email", &signed));
    refused_both_ways(&emu, firebase("firebase_email", &forged));
    // A key-set URL does the same.
    let endpoint = jwks(json!({"keys": [key1.jwk()]}));
    settings(
        &emu,
        json!({"firebase_jwks": null,
               "firebase_jwks_url": format!("{}/jwks", endpoint.server.base_url)}),
    );
    sign_in_both_ways(&emu, firebase("firebase_phone", &signed));
    refused_both_ways(&emu, firebase("firebase_email", &forged));
    // Without any key set, the Firebase Auth Emulator's tokens work again.
    settings(&emu, json!({"firebase_jwks_url": null}));
    sign_in_both_ways(&emu, firebase("firebase_email", &forged));
}

// ---- Custom identity provider ----

/// An IdP that answers by token: `uid-N` → `{"user": {"id": N}}`, `str-X`
/// → a string id, `fail` → 500, `nouid` → no id, `html` → not JSON,
/// `slow` → answers after 2 s, `echo-X` → 403 repeating the token, `gone`
/// → 404 with no body; any other → 401 `{}`.
fn idp() -> TestServer {
    TestServer::start(|target| {
        let token = query_param(target, "token").unwrap_or_default().to_owned();
        let ok = |body: Value| (200, body.to_string(), Duration::ZERO);
        match token.as_str() {
            t if t.starts_with("uid-") => {
                ok(json!({"user": {"id": t[4..].parse::<i64>().unwrap(), "name": "Ext"}}))
            }
            t if t.starts_with("str-") => ok(json!({"user": {"id": &t[4..]}})),
            "fail" => (500, json!({"error": "boom"}).to_string(), Duration::ZERO),
            "gone" => (404, String::new(), Duration::ZERO),
            t if t.starts_with("echo-") => (
                403,
                json!({"error": format!("token {t} is revoked")}).to_string(),
                Duration::ZERO,
            ),
            "nouid" => ok(json!({"user": {}})),
            "html" => (200, "<html>".to_owned(), Duration::ZERO),
            "slow" => (
                200,
                json!({"user": {"id": 1}}).to_string(),
                Duration::from_secs(2),
            ),
            _ => (401, "{}".to_owned(), Duration::ZERO),
        }
    })
}

fn cidp_login(login: &str) -> Value {
    json!({"user": {"login": login, "password": "whatever"}})
}

fn login_body(login: &str) -> Value {
    json!({"login": login, "password": "whatever"})
}

fn cidp_both_ways(emu: &Emu, login: &str) -> (i64, i64) {
    let created = emu.create_session(cidp_login(login));
    created.assert(201);
    let token = emu.app_session();
    let upgraded = emu.post("/login", Some(&token), login_body(login));
    upgraded.assert(200);
    (
        created.body["session"]["user_id"].as_i64().unwrap(),
        upgraded.body["user"]["id"].as_i64().unwrap(),
    )
}

/// Both ways are refused with `422` and exactly `body`.
#[track_caller]
fn cidp_refused(emu: &Emu, login: &str, body: &str) {
    let created = emu.create_session(cidp_login(login));
    created.assert(422);
    assert_eq!(created.text, body);
    let token = emu.app_session();
    let upgraded = emu.post("/login", Some(&token), login_body(login));
    upgraded.assert(422);
    assert_eq!(upgraded.text, body);
}

/// The array-form refusal for the IdP's `status`, then what follows it
/// (`With empty response`, `Response "<body>"`, or nothing without an
/// answer).
fn remote_refusal(status: u16, rest: &str) -> String {
    json!({"errors": [format!(
        "Bad Authentication data. Unauthorized on remote side. Status: {status}.{rest}"
    )]})
    .to_string()
}

const UID_REQUIRED: &str = r#"{"errors":{"base":["Custom Identity Provider uid is required"]}}"#;

fn with_idp(emu: &Emu, idp: &TestServer) {
    settings(
        emu,
        json!({"cidp": {"url": format!("{}/user/verify", idp.base_url),
                        "request_params": {"token": "#{login}"},
                        "response_params": {"uid": "#{user.id}"}}}),
    );
}

#[test]
fn custom_identity_provider_signs_in_and_creates_users() {
    let emu = Emu::start();
    // A local account made before the IdP was configured.
    emu.sign_up(json!({"email": "local@example.com", "password": "password123"}));
    let server = idp();
    with_idp(&emu, &server);
    let (first, again) = cidp_both_ways(&emu, "uid-42");
    assert_eq!(first, again);
    let profile = user(&emu, first);
    assert_eq!(profile["external_id"], "42");
    assert_eq!(profile["login"], Value::Null);
    // The password is never checked: any password signs in.
    let other_password = emu.create_session(json!({"user": {"login": "uid-42", "password": "x"}}));
    assert_eq!(other_password.body["session"]["user_id"], first);
    // A string uid. The test IdP echoes the token as it arrived in the
    // query: a space as %20 and a plus as %2B.
    let (text_uid, _) = cidp_both_ways(&emu, "str-ab c+d");
    assert_eq!(user(&emu, text_uid)["external_id"], "ab%20c%2Bd");
    // E-mail + password stays local.
    emu.create_session(json!({"user": {"email": "local@example.com", "password": "password123"}}))
        .assert(201);
    emu.create_session(
        json!({"user": {"email": "local@example.com", "password": "wrong-password"}}),
    )
    .assert(401);
}

#[test]
fn custom_identity_provider_failures_are_422() {
    let emu = Emu::with(EmulatorConfig {
        provider_timeout: Duration::from_millis(400),
        ..EmulatorConfig::default()
    });
    let server = idp();
    with_idp(&emu, &server);
    // A refusal names the IdP's status and repeats its answer...
    cidp_refused(
        &emu,
        "fail",
        &remote_refusal(500, r#"Response "{\"error\":\"boom\"}""#),
    );
    cidp_refused(&emu, "denied", &remote_refusal(401, r#"Response "{}""#));
    cidp_refused(&emu, "gone", &remote_refusal(404, "With empty response"));
    // ... without the token the client sent.
    cidp_refused(
        &emu,
        "echo-s3cret",
        &remote_refusal(
            403,
            r#"Response "{\"error\":\"token [FILTERED] is revoked\"}""#,
        ),
    );
    // A 2xx answer without the uid, or not JSON at all.
    cidp_refused(&emu, "nouid", UID_REQUIRED);
    cidp_refused(&emu, "html", UID_REQUIRED);
    // The password is never checked, but it must be there.
    let blank = emu.create_session(json!({"user": {"login": "uid-5", "password": ""}}));
    blank.assert(422);
    assert_eq!(blank.text, r#"{"errors":{"password":["cannot be blank"]}}"#);
    // A timeout is status 0, soon after the configured limit.
    let started = std::time::Instant::now();
    let slow = emu.create_session(cidp_login("slow"));
    slow.assert(422);
    assert_eq!(slow.text, remote_refusal(0, ""));
    assert!(
        started.elapsed() < Duration::from_millis(1900),
        "{:?}",
        started.elapsed()
    );
    // An IdP that is not there.
    settings(&emu, json!({"cidp": {"url": "http://127.0.0.1:1/verify"}}));
    cidp_refused(&emu, "uid-1", &remote_refusal(0, ""));
    // Settings are validated.
    emu.put(
        "/_emulator/apps/1/settings",
        None,
        json!({"cidp": {"url": "ftp://x"}}),
    )
    .assert(422);
    emu.put(
        "/_emulator/apps/1/settings",
        None,
        json!({"cidp": {"url": "http://x", "response_params": {"uid": 1}}}),
    )
    .assert(422);
    // Without a CIdP, logins are local again.
    settings(&emu, json!({"cidp": null}));
    emu.create_session(json!({"user": {"login": "plain-user", "password": "password123"}}))
        .assert(201);
}

// ---- Identities users set on themselves never sign anyone in ----

/// A local user who set `field` to `value` on themselves; returns their id.
fn squatter(emu: &Emu, email: &str, field: &str, value: &str) -> i64 {
    emu.sign_up(json!({"email": email, "password": "password123"}));
    let session = emu.create_session(json!({"user": {"email": email, "password": "password123"}}));
    session.assert(201);
    let token = common::token_of(&session);
    let id = session.body["session"]["user_id"].as_i64().unwrap();
    let updated = emu.put(
        &format!("/users/{id}"),
        Some(&token),
        json!({"user": {field: value}}),
    );
    updated.assert(200);
    assert_eq!(updated.body["user"][field], value);
    id
}

#[test]
fn a_facebook_id_set_by_hand_does_not_claim_the_facebook_sign_in() {
    let emu = Emu::start();
    let squatter = squatter(&emu, "squat@example.com", "facebook_id", "777001");
    emu.post(
        "/_emulator/providers/facebook/tokens",
        None,
        json!({"token": "victim-fb", "id": "777001", "name": "Victim"}),
    )
    .assert(201);
    let (victim, again) = sign_in_both_ways(&emu, facebook("victim-fb"));
    assert_ne!(
        victim, squatter,
        "the sign-in returned the squatter's account"
    );
    assert_eq!(victim, again, "later sign-ins find the same user");
    assert_eq!(user(&emu, victim)["full_name"], "Victim");
    // The look-up by the field still answers what the field holds.
    let found = emu.get(
        "/users/by_facebook_id?facebook_id=777001",
        Some(&emu.app_session()),
    );
    assert_eq!(found.body["user"]["id"], squatter);
}

#[test]
fn a_twitter_id_set_by_hand_does_not_claim_the_twitter_sign_in() {
    let emu = Emu::start();
    let squatter = squatter(&emu, "squat@example.com", "twitter_id", "888002");
    emu.post(
        "/_emulator/providers/twitter/tokens",
        None,
        json!({"token": "victim-tw", "secret": "s3cret", "id": "888002"}),
    )
    .assert(201);
    let (victim, again) = sign_in_both_ways(&emu, twitter("victim-tw", "s3cret"));
    assert_ne!(
        victim, squatter,
        "the sign-in returned the squatter's account"
    );
    assert_eq!(victim, again);
}

#[test]
fn an_external_id_set_by_hand_does_not_claim_the_custom_provider_sign_in() {
    let emu = Emu::start();
    let idp = idp();
    let squatter = squatter(&emu, "squat@example.com", "external_id", "victim-uid");
    with_idp(&emu, &idp);
    let (victim, again) = cidp_both_ways(&emu, "str-victim-uid");
    assert_ne!(
        victim, squatter,
        "the sign-in returned the squatter's account"
    );
    assert_eq!(victim, again);
    let found = emu.get("/users/external/victim-uid", Some(&emu.app_session()));
    assert_eq!(found.body["user"]["id"], squatter);
}

// ---- The key set is fetched for the emulator, not for whoever sends tokens ----

/// A token signed by `key` that names a `kid` no key set holds.
fn forged(emu: &Emu, key: &TestKey, kid: &str) -> String {
    key.sign(&claims(emu, "forger", json!({})), Some(kid))
}

#[test]
fn forged_kids_do_not_make_the_emulator_fetch_the_key_set_again() {
    let emu = Emu::frozen();
    let (key1, _) = keys();
    let endpoint = jwks(json!({"keys": [key1.jwk()]}));
    settings(
        &emu,
        json!({"firebase_jwks_url": format!("{}/jwks", endpoint.server.base_url)}),
    );
    for i in 0..40 {
        let token = forged(&emu, &key1, &format!("forged-{i}"));
        emu.create_session(firebase("firebase_email", &token))
            .assert(401);
    }
    assert_eq!(*endpoint.fetches.lock().unwrap(), 1);
    // Genuine tokens still sign in from the set fetched once.
    let genuine = key1.sign(&claims(&emu, "real", json!({})), None);
    emu.create_session(firebase("firebase_email", &genuine))
        .assert(201);
    assert_eq!(*endpoint.fetches.lock().unwrap(), 1);
    // The next fetch comes 30 s after the last one, not before.
    emu.advance(29);
    let token = forged(&emu, &key1, "forged-late");
    emu.create_session(firebase("firebase_email", &token))
        .assert(401);
    assert_eq!(*endpoint.fetches.lock().unwrap(), 1);
    emu.advance(1);
    emu.create_session(firebase("firebase_email", &token))
        .assert(401);
    assert_eq!(*endpoint.fetches.lock().unwrap(), 2);
}

#[test]
fn concurrent_sign_ins_wait_for_one_slow_key_set_fetch() {
    let emu = Emu::frozen();
    let (key1, _) = keys();
    let fetches = Arc::new(Mutex::new(0));
    let counted = fetches.clone();
    let set = json!({"keys": [key1.jwk()]}).to_string();
    let server = TestServer::start(move |_| {
        *counted.lock().unwrap() += 1;
        (200, set.clone(), Duration::from_secs(2))
    });
    settings(
        &emu,
        json!({"firebase_jwks_url": format!("{}/jwks", server.base_url)}),
    );
    let url = emu.url("/session");
    let started = std::time::Instant::now();
    let barrier = Arc::new(std::sync::Barrier::new(5));
    let threads: Vec<_> = (0..5)
        .map(|i| {
            let body = emu.session_body(firebase(
                "firebase_email",
                &forged(&emu, &key1, &format!("unknown-{i}")),
            ));
            let (url, barrier) = (url.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let response = common::agent().post(&url).send_json(&body).unwrap();
                (response.status().as_u16(), started.elapsed())
            })
        })
        .collect();
    let answers: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(
        answers.iter().all(|(status, _)| *status == 401),
        "{answers:?}"
    );
    assert_eq!(*fetches.lock().unwrap(), 1, "one fetch shared by all");
    // One after the other they would take 5 × 2 s.
    let slowest = answers.iter().map(|(_, took)| *took).max().unwrap();
    assert!(slowest < Duration::from_secs(6), "{answers:?}");
}
