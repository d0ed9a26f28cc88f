//! The exact request every session call produces: method, path, headers, body.

use cube_proto::ops::{
    CreateSession, DestroyOtherSessions, DestroySession, DestroySessionById, GetSession, Operation,
    SignIn, SignOut,
};
use cube_proto::wire::{Request, RequestContext};
use cube_proto::{Config, Credentials, Error, Secret, SignatureAlgorithm, sign};
use serde_json::{Value, json};
use time::OffsetDateTime;

const NOW: i64 = 1_572_434_294;
const NONCE: u32 = 33_432;

fn unsigned() -> Config {
    Config::builder(1, "29WfrNWdvkhmX6V")
        .base_url("http://127.0.0.1:9/api")
        .build()
        .unwrap()
}

fn signed(algorithm: SignatureAlgorithm) -> Config {
    Config::builder(1, "29WfrNWdvkhmX6V")
        .auth_secret("EmulatorSecret42")
        .signature_algorithm(algorithm)
        .base_url("http://127.0.0.1:9/api")
        .build()
        .unwrap()
}

fn build(config: &Config, token: Option<&Secret>, op: &impl Operation) -> Request {
    let ctx = RequestContext {
        config,
        token,
        now: OffsetDateTime::from_unix_timestamp(NOW).unwrap(),
        nonce: NONCE,
    };
    op.build(&ctx).unwrap()
}

fn body(req: &Request) -> Value {
    serde_json::from_slice(req.body()).unwrap()
}

fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers().get(name).map(|v| v.to_str().unwrap())
}

/// Asserts the parts every `POST /session` shares and returns the body.
fn assert_session_request(req: &Request) -> Value {
    assert_eq!(req.method(), "POST");
    assert_eq!(req.uri(), "http://127.0.0.1:9/api/session");
    assert_eq!(header(req, "content-type"), Some("application/json"));
    assert_eq!(
        header(req, "cb-sdk"),
        Some(concat!("Rust ", env!("CARGO_PKG_VERSION"), " - Client"))
    );
    assert_eq!(
        header(req, "cb-token"),
        None,
        "POST /session carries no token"
    );
    assert_eq!(req.headers().len(), 2, "only CB-SDK and Content-Type");
    body(req)
}

/// Every session kind and the exact unsigned body it produces.
fn kinds() -> Vec<(Credentials, Value)> {
    let base = |extra: Value| {
        let mut b = json!({"application_id": 1, "auth_key": "29WfrNWdvkhmX6V"});
        b.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        b
    };
    vec![
        (Credentials::Application, base(json!({}))),
        (
            Credentials::login("john", "11111111"),
            base(json!({"user": {"login": "john", "password": "11111111"}})),
        ),
        (
            Credentials::email("john@example.com", "11111111"),
            base(json!({"user": {"email": "john@example.com", "password": "11111111"}})),
        ),
        (
            Credentials::guest(None),
            base(json!({"user": {"guest": 1}})),
        ),
        (
            Credentials::guest(Some("Visitor Vera".into())),
            base(json!({"user": {"guest": 1, "full_name": "Visitor Vera"}})),
        ),
        (
            Credentials::facebook("EAAB-fb-token"),
            base(json!({"provider": "facebook", "keys": {"token": "EAAB-fb-token"}})),
        ),
        (
            Credentials::twitter("tw-token", "tw-secret"),
            base(
                json!({"provider": "twitter", "keys": {"token": "tw-token", "secret": "tw-secret"}}),
            ),
        ),
        (
            Credentials::firebase_phone("proj-1", "eyJ.phone.jwt"),
            base(json!({"provider": "firebase_phone",
                        "firebase_phone": {"project_id": "proj-1", "access_token": "eyJ.phone.jwt"}})),
        ),
        (
            Credentials::firebase_email("proj-1", "eyJ.email.jwt"),
            base(json!({"provider": "firebase_email",
                        "firebase_email": {"project_id": "proj-1", "access_token": "eyJ.email.jwt"}})),
        ),
        (
            Credentials::custom_idp("external-token-77"),
            base(
                json!({"user": {"login": "external-token-77", "password": "custom-identity-provider"}}),
            ),
        ),
    ]
}

#[test]
fn every_session_kind_unsigned() {
    for (credentials, expected) in kinds() {
        let req = build(&unsigned(), None, &CreateSession::new(credentials.clone()));
        assert_eq!(assert_session_request(&req), expected, "{credentials:?}");
    }
}

#[test]
fn every_session_kind_signed_sha1_and_sha256() {
    for algorithm in [SignatureAlgorithm::HmacSha1, SignatureAlgorithm::HmacSha256] {
        for (credentials, unsigned_body) in kinds() {
            let req = build(
                &signed(algorithm),
                None,
                &CreateSession::new(credentials.clone()),
            );
            let got = assert_session_request(&req);
            let mut expected = unsigned_body.as_object().unwrap().clone();
            expected.insert("nonce".into(), json!(NONCE));
            expected.insert("timestamp".into(), json!(NOW));
            let signature = sign::signature(algorithm, &Secret::new("EmulatorSecret42"), &expected);
            assert_eq!(
                signature.len(),
                if algorithm == SignatureAlgorithm::HmacSha1 {
                    40
                } else {
                    64
                }
            );
            expected.insert("signature".into(), json!(signature));
            assert_eq!(got, Value::Object(expected), "{credentials:?}");
        }
    }
}

#[test]
fn signed_application_session_matches_the_published_vector() {
    let req = build(
        &signed(SignatureAlgorithm::HmacSha1),
        None,
        &CreateSession::application(),
    );
    assert_eq!(
        assert_session_request(&req)["signature"],
        "7f5decc529cf02cd12fa092d712116f76f344673"
    );
}

#[test]
fn session_request_never_carries_a_token() {
    let token = Secret::new("old-token");
    let req = build(&unsigned(), Some(&token), &CreateSession::application());
    assert_eq!(header(&req, "cb-token"), None);
}

#[test]
fn empty_credentials_are_refused_before_a_request_exists() {
    let ctx_config = unsigned();
    let ctx = RequestContext {
        config: &ctx_config,
        token: None,
        now: OffsetDateTime::UNIX_EPOCH,
        nonce: 1,
    };
    for c in [
        Credentials::login("", "pw"),
        Credentials::login("john", ""),
        Credentials::email("  ", "pw"),
        Credentials::facebook(""),
        Credentials::twitter("t", ""),
        Credentials::firebase_phone("", "jwt"),
        Credentials::firebase_email("p", ""),
        Credentials::custom_idp(""),
    ] {
        let err = CreateSession::new(c.clone()).build(&ctx).unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{c:?}");
        let err = SignIn::new(c.clone()).build(&ctx).unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{c:?}");
    }
}

#[test]
fn sign_in_bodies_have_credentials_at_the_top_level() {
    let token = Secret::new("app-token");
    let cases = vec![
        (
            Credentials::login("john", "11111111"),
            json!({"login": "john", "password": "11111111"}),
        ),
        (
            Credentials::email("john@example.com", "11111111"),
            json!({"email": "john@example.com", "password": "11111111"}),
        ),
        (
            Credentials::facebook("fb"),
            json!({"provider": "facebook", "keys": {"token": "fb"}}),
        ),
        (
            Credentials::twitter("t", "s"),
            json!({"provider": "twitter", "keys": {"token": "t", "secret": "s"}}),
        ),
        (
            Credentials::firebase_phone("p", "jwt1"),
            json!({"provider": "firebase_phone", "firebase_phone": {"project_id": "p", "access_token": "jwt1"}}),
        ),
        (
            Credentials::firebase_email("p", "jwt2"),
            json!({"provider": "firebase_email", "firebase_email": {"project_id": "p", "access_token": "jwt2"}}),
        ),
        (
            Credentials::custom_idp("ext"),
            json!({"login": "ext", "password": "custom-identity-provider"}),
        ),
    ];
    for (credentials, expected) in cases {
        let req = build(
            &signed(SignatureAlgorithm::HmacSha1),
            Some(&token),
            &SignIn::new(credentials),
        );
        assert_eq!(req.method(), "POST");
        assert_eq!(req.uri(), "http://127.0.0.1:9/api/login");
        assert_eq!(header(&req, "cb-token"), Some("app-token"));
        assert_eq!(header(&req, "content-type"), Some("application/json"));
        assert_eq!(
            header(&req, "cb-sdk"),
            Some(concat!("Rust ", env!("CARGO_PKG_VERSION"), " - Client"))
        );
        assert_eq!(body(&req), expected, "no signature, no app id in a sign-in");
    }
}

#[test]
fn application_and_guest_cannot_sign_in() {
    let config = unsigned();
    let ctx = RequestContext {
        config: &config,
        token: None,
        now: OffsetDateTime::UNIX_EPOCH,
        nonce: 1,
    };
    for c in [Credentials::Application, Credentials::guest(None)] {
        let err = SignIn::new(c).build(&ctx).unwrap_err();
        assert!(
            matches!(err, Error::InvalidInput(ref e) if e.field == "credentials"),
            "{err}"
        );
    }
}

#[test]
fn calls_on_the_current_session() {
    let token = Secret::new("tok-1");
    let config = unsigned();
    let cases: Vec<(Request, &str, &str)> = vec![
        (build(&config, Some(&token), &SignOut), "DELETE", "/login"),
        (build(&config, Some(&token), &GetSession), "GET", "/session"),
        (
            build(&config, Some(&token), &DestroySession),
            "DELETE",
            "/session",
        ),
        (
            build(&config, Some(&token), &DestroySessionById::new(42)),
            "DELETE",
            "/session/42",
        ),
        (
            build(&config, Some(&token), &DestroyOtherSessions),
            "DELETE",
            "/session/list",
        ),
    ];
    for (req, method, path) in cases {
        assert_eq!(req.method(), method);
        assert_eq!(req.uri(), &*format!("http://127.0.0.1:9/api{path}"));
        assert_eq!(header(&req, "cb-token"), Some("tok-1"));
        assert_eq!(
            header(&req, "cb-sdk"),
            Some(concat!("Rust ", env!("CARGO_PKG_VERSION"), " - Client"))
        );
        assert_eq!(header(&req, "content-type"), None);
        assert!(req.body().is_empty());
    }
}

#[test]
fn nothing_secret_in_debug() {
    for (credentials, _) in kinds() {
        let op = CreateSession::new(credentials);
        let shown = format!("{op:?}");
        for secret in [
            "11111111",
            "EAAB-fb-token",
            "tw-secret",
            "eyJ.phone.jwt",
            "external-token-77",
        ] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }
}
