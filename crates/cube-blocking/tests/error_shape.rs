//! The error helpers on real failures of the blocking client: the emulator's
//! answers, the public service's answers from a scripted server, a refusal
//! before sending, a server that never answers, a port nobody listens on.
//! The check itself is shared with cube-async.

use cube_blocking::{Client, ClientBuilder, Credentials, NewUser, UserUpdate};
use cube_emulator::{Emulator, EmulatorConfig};
use cube_test_support::errors::{self, Failures};
use cube_test_support::net::{SilentServer, refused_url};
use std::time::Duration;

#[test]
fn the_error_helpers_answer_for_real_failures() {
    let emulator = Emulator::start_blocking(EmulatorConfig::default()).unwrap();
    let builder = |url: &str| -> ClientBuilder {
        Client::builder(
            u64::try_from(emulator.app_id()).unwrap(),
            emulator.auth_key(),
        )
        .auth_secret(emulator.auth_secret())
        .base_url(url)
    };
    let client = || builder(emulator.base_url()).build().unwrap();

    let owner = client();
    owner
        .sign_up(NewUser::with_login(errors::LOGIN, errors::PASSWORD))
        .unwrap();
    owner
        .create_session(Credentials::login(errors::LOGIN, errors::PASSWORD))
        .unwrap();
    let not_found = owner.get_blob(errors::MISSING_BLOB).unwrap_err();
    let conflict = owner
        .sign_up(NewUser::with_login(errors::LOGIN, errors::PASSWORD))
        .unwrap_err();
    let rejected_field = client()
        .sign_up(NewUser::with_login(errors::SHORT_LOGIN, errors::PASSWORD))
        .unwrap_err();
    let refused_locally = client()
        .sign_up(NewUser::with_login(errors::LOGIN, errors::SHORT_PASSWORD))
        .unwrap_err();
    let bad_credentials = client()
        .create_session(Credentials::login(errors::LOGIN, errors::WRONG_PASSWORD))
        .unwrap_err();

    // Another device ends every other session of the user; the owner, who
    // has no restore callback, finds out on its next call.
    let other = client();
    other
        .create_session(Credentials::login(errors::LOGIN, errors::PASSWORD))
        .unwrap();
    other.destroy_other_sessions().unwrap();
    let session_expired = owner.get_user(1).unwrap_err();

    let silent = SilentServer::start().unwrap();
    let timeout = builder(&silent.url())
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap()
        .create_application_session()
        .unwrap_err();
    let transport = builder(&refused_url().unwrap())
        .build()
        .unwrap()
        .create_application_session()
        .unwrap_err();

    let no_session = client()
        .update_user(UserUpdate::new().full_name("Nobody"))
        .unwrap_err();

    // What the public service answers and the emulator does not (yet).
    let scripted = errors::scripted_server();
    let script = || builder(&scripted.url()).build().unwrap();
    let no_such_user = script()
        .create_session(Credentials::login(errors::UNKNOWN_LOGIN, errors::PASSWORD))
        .unwrap_err();
    let wrong_password = script()
        .create_session(Credentials::login(errors::LOGIN, errors::WRONG_PASSWORD))
        .unwrap_err();
    let token_required = script()
        .sign_up(NewUser::with_login(errors::LOGIN, errors::PASSWORD))
        .unwrap_err();
    let rate_limited = script().create_application_session().unwrap_err();
    let rate_limited_without_wait = script()
        .create_session(Credentials::email(
            errors::THROTTLED_EMAIL,
            errors::PASSWORD,
        ))
        .unwrap_err();

    errors::check_error_helpers(
        &Failures {
            not_found,
            session_expired,
            rejected_field,
            refused_locally,
            conflict,
            bad_credentials,
            timeout,
            transport,
            no_session,
            no_such_user,
            wrong_password,
            token_required,
            rate_limited,
            rate_limited_without_wait,
        },
        cube_test_support::own_answers!(cube_blocking::Error),
    );
}
