//! Must-show 4: no password, auth secret or session token in anything the
//! command prints — results, tables, JSON, errors, prompts — over a run of
//! every kind of command, successful and failed.

mod common;

use common::{AUTH_SECRET, World, in_terminal};

const PASSWORD: &str = "pw-never-shown-9931";
const NEW_PASSWORD: &str = "pw-new-never-shown-7";

#[test]
fn no_secret_appears_in_any_output() {
    let world = World::new("secrets");
    let stdin = |p: &str| format!("{p}\n");
    world.signed_in("secret_keeper", PASSWORD);
    let token = world.saved_token("default");
    assert!(token.len() >= 16);

    // Successes, in both modes.
    for json in [false, true] {
        let mode: &[&str] = if json { &["--json"] } else { &[] };
        for args in [
            &["config", "show"][..],
            &["session"],
            &["whoami"],
            &["users", "get", "--login", "secret_keeper"],
            &["users", "find", "--tags", "none"],
            &["users", "search", "--where", "login start_with secret"],
            &["users", "update", "--full-name", "Keeper"],
        ] {
            world.cube(&[mode, args].concat()).ok();
        }
    }
    world
        .cube_in(
            &["passwd", "--password-stdin"],
            &format!("{PASSWORD}\n{NEW_PASSWORD}\n"),
        )
        .ok();
    world
        .cube_in(
            &["passwd", "--password-stdin"],
            &format!("{NEW_PASSWORD}\n{PASSWORD}\n"),
        )
        .ok();

    // Failures: a wrong password, a taken login, bad input, no server.
    world
        .cube_in(
            &["login", "--login", "secret_keeper", "--password-stdin"],
            &stdin(NEW_PASSWORD),
        )
        .fails(1);
    world
        .cube_in(
            &["signup", "--login", "secret_keeper", "--password-stdin"],
            &stdin(PASSWORD),
        )
        .fails(1);
    world
        .cube_in(
            &["passwd", "--password-stdin"],
            &format!("{NEW_PASSWORD}\nshort\n"),
        )
        .fails(2);
    world
        .cube_env(
            &["--profile", "down", "users", "get", "1"],
            "",
            &[
                ("CUBE_APP_ID", "1"),
                ("CUBE_AUTH_KEY", "key"),
                ("CUBE_AUTH_SECRET", AUTH_SECRET),
                ("CUBE_API_URL", "http://127.0.0.1:1"),
            ],
        )
        .fails(3);

    // The terminal: a prompt for an expired session, answered.
    world.advance_clock(3 * 3600);
    let run = in_terminal(
        &world,
        &["whoami"],
        &[("Password for secret_keeper: ", PASSWORD)],
    );
    assert_eq!(run.code, 0, "{run:#?}");
    let new_token = world.saved_token("default");
    world.cube(&["--json", "session"]).ok();
    world.cube(&["logout"]).ok();

    let seen = world.seen.lock().unwrap().clone();
    assert!(
        seen.len() > 2000,
        "the runs printed something: {}",
        seen.len()
    );
    for (what, secret) in [
        ("password", PASSWORD),
        ("new password", NEW_PASSWORD),
        ("auth secret", AUTH_SECRET),
        ("session token", token.as_str()),
        ("restored token", new_token.as_str()),
    ] {
        assert!(!seen.contains(secret), "the {what} was printed");
    }
}
