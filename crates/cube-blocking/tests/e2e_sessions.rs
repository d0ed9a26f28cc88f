//! Every session call against the in-process emulator.

mod support;

use cube_blocking::{Client, Credentials, Error, SessionStatus, proto};
use support::e2e::Harness;

fn client(h: &Harness) -> Client {
    Client::builder(h.app_id(), h.auth_key())
        .auth_secret(h.auth_secret())
        .base_url(h.base_url())
        .clock(h.clock())
        .build()
        .unwrap()
}

fn is_expired(e: &Error) -> bool {
    matches!(e, Error::Proto(proto::Error::SessionExpired))
}

#[test]
fn application_user_guest_sign_in_sign_out() {
    let h = Harness::start();
    let c = client(&h);
    let app = c.create_application_session().unwrap();
    assert_eq!(app.user_id, None);
    assert_eq!(c.session_status(), SessionStatus::Application);

    // A login + password session signs the user up on the fly.
    let alice = c
        .create_session(Credentials::login("alice01", "password-alice"))
        .unwrap();
    let alice_id = alice.user_id.unwrap();
    assert_eq!(c.session_status(), SessionStatus::User);
    assert_eq!(c.current_user_id(), Some(alice_id));

    // Sign out keeps the token and drops the user; sign in brings it back.
    let token = c.session_token().unwrap();
    c.sign_out().unwrap();
    assert_eq!(c.session_status(), SessionStatus::Application);
    let user = c
        .sign_in(Credentials::login("alice01", "password-alice"))
        .unwrap();
    assert_eq!(user.id, alice_id);
    assert_eq!(c.session_token().unwrap(), token);
    assert_eq!(c.session_info().unwrap().user_id, Some(alice_id));

    // A wrong password is the server's 401 Unauthorized, typed.
    let err = c
        .sign_in(Credentials::login("alice01", "wrong-password"))
        .unwrap_err();
    assert_eq!(err.status(), Some(http::StatusCode::UNAUTHORIZED));

    // A guest session.
    let g = client(&h);
    let guest = g
        .create_session(Credentials::guest(Some("Visitor Vera".into())))
        .unwrap();
    assert_eq!(g.session_status(), SessionStatus::Guest);
    assert_eq!(
        guest.user.unwrap().full_name.as_deref(),
        Some("Visitor Vera")
    );
    let lifetime = g.session_expires_at().unwrap() - g.now();
    assert!(
        (lifetime - time::Duration::days(1)).abs() < time::Duration::seconds(5),
        "{lifetime}"
    );
}

#[test]
fn unsigned_and_sha256_signed_sessions() {
    let h = Harness::start();
    let unsigned = Client::builder(h.app_id(), h.auth_key())
        .base_url(h.base_url())
        .build()
        .unwrap();
    unsigned.create_application_session().unwrap();
    let sha256 = Client::builder(h.app_id(), h.auth_key())
        .auth_secret(h.auth_secret())
        .signature_algorithm(cube_blocking::SignatureAlgorithm::HmacSha256)
        .base_url(h.base_url())
        .clock(h.clock())
        .build()
        .unwrap();
    sha256
        .create_session(Credentials::login("bob0001", "password-bob"))
        .unwrap();
    let wrong = Client::builder(h.app_id(), h.auth_key())
        .auth_secret("not-the-secret")
        .base_url(h.base_url())
        .build()
        .unwrap();
    let err = wrong.create_application_session().unwrap_err();
    assert_eq!(err.status(), Some(http::StatusCode::UNPROCESSABLE_ENTITY));
    assert_eq!(
        err.proto().unwrap().api().unwrap().messages.base,
        ["Unexpected signature"]
    );
}

#[test]
fn destroy_current_by_id_and_all_others() {
    let h = Harness::start();
    let login = || Credentials::login("carol01", "password-carol");
    let (a, b, c) = (client(&h), client(&h), client(&h));
    a.create_session(login()).unwrap();
    let b_session = b.create_session(login()).unwrap();
    c.create_session(login()).unwrap();

    // By id: b's session dies, a and c live.
    a.destroy_session_by_id(b_session.id).unwrap();
    assert!(is_expired(&b.session_info().unwrap_err()));
    assert_eq!(b.session_status(), SessionStatus::Expired);
    c.session_info().unwrap();

    // All but current: c dies, a lives.
    a.destroy_other_sessions().unwrap();
    assert!(is_expired(&c.session_info().unwrap_err()));
    a.session_info().unwrap();

    // Current: a's token is dead on the server and forgotten locally.
    let token = a.session_token().unwrap();
    a.destroy_session().unwrap();
    assert_eq!(a.session_status(), SessionStatus::None);
    let status = ureq::get(&format!("{}/session", h.base_url()))
        .header("CB-Token", token.expose())
        .config()
        .http_status_as_error(false)
        .build()
        .call()
        .unwrap()
        .status();
    assert_eq!(status, 401);
}

#[test]
fn expiry_follows_the_emulator_clock() {
    let h = Harness::start();
    let c = client(&h);
    c.create_session(Credentials::login("dave001", "password-dave"))
        .unwrap();
    // 1 h 59 min idle: still alive, and the request re-arms two hours.
    h.advance(119 * 60);
    assert!(c.is_session_valid());
    c.session_info().unwrap();
    // 2 h 1 min idle: dead locally, so nothing is sent.
    h.advance(121 * 60);
    assert_eq!(c.session_status(), SessionStatus::Expired);
    assert!(!c.is_session_valid());
    assert!(is_expired(&c.session_info().unwrap_err()));
    // A new session works at the new time (its signature uses the moved clock).
    c.create_session(Credentials::login("dave001", "password-dave"))
        .unwrap();
    assert!(c.is_session_valid());
}
