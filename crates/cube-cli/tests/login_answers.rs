//! `cube login` reads the public service's sign-in refusals (array form,
//! from a scripted server): a wrong password and an unknown login each say
//! so, with status 1.

mod common;

use common::World;
use cube_test_support::errors;

#[test]
fn a_wrong_password_and_an_unknown_login_say_so() {
    let world = World::new("login-answers");
    let service = errors::scripted_server();
    world
        .cube(&[
            "--profile",
            "service",
            "config",
            "set",
            "--app-id",
            "1",
            "--auth-key",
            "service-auth-key",
            "--endpoint",
            &service.url(),
        ])
        .ok();
    let login = |login: &str, password: &str| {
        world.cube_in(
            &[
                "--profile",
                "service",
                "login",
                "--login",
                login,
                "--password-stdin",
            ],
            &format!("{password}\n"),
        )
    };

    let wrong = login(errors::LOGIN, errors::WRONG_PASSWORD).fails(1);
    assert!(
        wrong
            .stderr
            .contains(&format!("wrong password for {}", errors::LOGIN)),
        "{wrong:#?}"
    );
    let unknown = login(errors::UNKNOWN_LOGIN, errors::PASSWORD).fails(1);
    assert!(
        unknown
            .stderr
            .contains(&format!("no such user: {}", errors::UNKNOWN_LOGIN)),
        "{unknown:#?}"
    );
    for run in [&wrong, &unknown] {
        assert!(!run.all().contains(errors::WRONG_PASSWORD), "{run:#?}");
        assert!(!run.all().contains(errors::PASSWORD), "{run:#?}");
    }
    assert_eq!(service.requests().len(), 2, "one session request each");
}
