//! `cube login`, `logout`, `whoami`, `session`: the session kept per
//! profile between processes, and an expired one restored or refused.

mod common;

use common::{World, in_terminal};

const PASSWORD: &str = "session-pass-31";

#[test]
fn login_whoami_session_and_logout_in_both_output_modes() {
    let world = World::new("login");
    let id = world.signed_in("alice", PASSWORD);

    let table = world.cube(&["whoami"]).ok();
    assert!(table.stdout.contains("login         alice"), "{table:#?}");
    let me = world.cube(&["whoami", "--json"]).ok().json();
    assert_eq!(
        (me["id"].as_u64(), me["login"].as_str()),
        (Some(id), Some("alice"))
    );

    let table = world.cube(&["session"]).ok();
    for row in [
        "kind       user",
        "user       ",
        "(alice)",
        "time left  1h 59m",
    ] {
        assert!(table.stdout.contains(row), "{row:?} in {table:#?}");
    }
    let session = world.cube(&["session", "--json"]).ok().json();
    assert_eq!(session["kind"], "user");
    assert_eq!(session["user_id"].as_u64(), Some(id));
    let left = session["seconds_left"].as_i64().unwrap();
    assert!((7000..=7200).contains(&left), "{session}");

    let out = world.cube(&["logout", "--json"]).ok().json();
    assert_eq!(out["signed_out"], true);
    assert!(!world.session_file("default").exists());
    let none = world.cube(&["session", "--json"]).ok().json();
    assert_eq!(none["kind"], "none");
    let whoami = world.cube(&["whoami"]).fails(1);
    assert!(whoami.stderr.contains("cube login"), "{whoami:#?}");
    world.cube(&["logout"]).fails(1);
}

#[test]
fn login_by_email_and_with_a_wrong_password() {
    let world = World::new("email");
    world
        .cube_in(
            &["signup", "--email", "bob@example.com", "--password-stdin"],
            &format!("{PASSWORD}\n"),
        )
        .ok();
    let login = world
        .cube_in(
            &[
                "--json",
                "login",
                "--email",
                "bob@example.com",
                "--password-stdin",
            ],
            &format!("{PASSWORD}\n"),
        )
        .ok()
        .json();
    assert!(login["session_id"].as_u64().is_some(), "{login}");
    let wrong = world
        .cube_in(
            &["login", "--email", "bob@example.com", "--password-stdin"],
            "not-the-password\n",
        )
        .fails(1);
    assert!(
        wrong.stderr.contains("wrong password for bob@example.com"),
        "{wrong:#?}"
    );
}

#[test]
fn a_password_is_never_read_from_a_pipe_unasked() {
    let world = World::new("nopipe");
    let run = world.cube_in(&["login", "--login", "x"], "pass\n").fails(2);
    assert!(run.stderr.contains("--password-stdin"), "{run:#?}");
    let none = world
        .cube_in(&["login", "--login", "x", "--password-stdin"], "")
        .fails(2);
    assert!(none.stderr.contains("standard input is empty"), "{none:#?}");
}

/// A message says what happened: an empty password line is called empty,
/// and a missing second line is named.
#[test]
fn an_empty_or_missing_password_line_is_named() {
    let world = World::new("emptyline");
    world.signed_in("mona", PASSWORD);
    let empty = world
        .cube_in(&["login", "--login", "mona", "--password-stdin"], "\n")
        .fails(2);
    assert!(
        empty
            .stderr
            .contains("the password on line 1 of standard input is empty"),
        "{empty:#?}"
    );
    let second = world
        .cube_in(&["passwd", "--password-stdin"], &format!("{PASSWORD}\n\n"))
        .fails(2);
    assert!(
        second
            .stderr
            .contains("the new password on line 2 of standard input is empty"),
        "{second:#?}"
    );
    let ended = world
        .cube_in(&["passwd", "--password-stdin"], &format!("{PASSWORD}\n"))
        .fails(2);
    assert!(
        ended
            .stderr
            .contains("standard input ended after line 1: the new password"),
        "{ended:#?}"
    );
    let secret = world
        .cube(&["config", "set", "--auth-secret-stdin"])
        .fails(2);
    assert!(secret.stderr.contains("auth secret"), "{secret:#?}");
}

/// Must-show 2: a second process resumes the saved session and sends no
/// session request. The emulator numbers sessions in order, so the next
/// session made straight on it tells how many were made in between.
#[test]
fn a_second_process_resumes_the_session_without_a_session_request() {
    let world = World::new("resume");
    let id = world.signed_in("carol", PASSWORD);
    let first = world.cube(&["--json", "session"]).ok().json();
    let session_id = first["session_id"].as_u64().unwrap();

    let me = world.cube(&["--json", "whoami"]).ok().json();
    assert_eq!(me["id"].as_u64(), Some(id));
    world.cube(&["users", "get", &id.to_string()]).ok();
    world
        .cube(&["--json", "users", "find", "--ids", &id.to_string()])
        .ok();
    let again = world.cube(&["--json", "session"]).ok().json();
    assert_eq!(again["session_id"].as_u64(), Some(session_id));

    assert_eq!(
        world.next_session_id(),
        session_id + 1,
        "the later processes created no session"
    );
}

#[test]
fn reads_without_sign_in_keep_one_application_session() {
    let world = World::new("app");
    world.signed_in("dave", PASSWORD);
    world.cube(&["logout"]).ok();
    world.cube(&["users", "get", "--login", "dave"]).ok();
    let app = world.cube(&["--json", "session"]).ok().json();
    assert_eq!(app["kind"], "application");
    let session_id = app["session_id"].as_u64().unwrap();
    world.cube(&["users", "get", "--login", "dave"]).ok();
    assert_eq!(world.next_session_id(), session_id + 1);
}

#[test]
fn an_expired_session_without_a_terminal_fails_with_the_way_back() {
    let world = World::new("expired");
    world.signed_in("erin", PASSWORD);
    world.advance_clock(3 * 3600);
    let run = world.cube(&["whoami"]).fails(1);
    assert!(
        run.stderr.contains("expired") && run.stderr.contains("cube login"),
        "{run:#?}"
    );
    let session = world.cube(&["--json", "session"]).ok().json();
    assert_eq!(session["kind"], "expired");
    // Signing in again works, and the session is kept again.
    world
        .cube_in(
            &["login", "--login", "erin", "--password-stdin"],
            &format!("{PASSWORD}\n"),
        )
        .ok();
    world.cube(&["whoami"]).ok();
}

#[test]
fn an_expired_session_on_a_terminal_asks_for_the_password_again() {
    let world = World::new("reask");
    let id = world.signed_in("frank", PASSWORD);
    let before = world.cube(&["--json", "session"]).ok().json();
    world.advance_clock(3 * 3600);

    let run = in_terminal(&world, &["whoami"], &[("Password for frank: ", PASSWORD)]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(run.stdout.contains("has expired"), "{run:#?}");
    assert!(
        run.stdout.contains(&format!("id            {id}")),
        "{run:#?}"
    );
    assert!(
        !run.all().contains(PASSWORD),
        "the password was echoed: {run:#?}"
    );

    // The restored session was saved: the next command needs no password.
    let after = world.cube(&["--json", "session"]).ok().json();
    assert_eq!(after["kind"], "user");
    assert_ne!(after["session_id"], before["session_id"]);
    world.cube(&["whoami"]).ok();
}

#[test]
fn login_on_a_terminal_asks_without_echo() {
    let world = World::new("prompt");
    world
        .cube_in(
            &["signup", "--login", "gina", "--password-stdin"],
            &format!("{PASSWORD}\n"),
        )
        .ok();
    let run = in_terminal(
        &world,
        &["login", "--login", "gina"],
        &[("Password: ", PASSWORD)],
    );
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(run.stdout.contains("Signed in as gina"), "{run:#?}");
    assert!(
        !run.all().contains(PASSWORD),
        "the password was echoed: {run:#?}"
    );
}

#[test]
fn session_destroy_by_id_and_the_others() {
    let world = World::new("destroy");
    world.signed_in("hank", PASSWORD);
    world.configure("phone");
    world.configure("tablet");
    for profile in ["phone", "tablet"] {
        world
            .cube_in(
                &[
                    "--profile",
                    profile,
                    "login",
                    "--login",
                    "hank",
                    "--password-stdin",
                ],
                &format!("{PASSWORD}\n"),
            )
            .ok();
    }
    let phone = world
        .cube(&["--profile", "phone", "--json", "session"])
        .ok()
        .json();
    let phone_id = phone["session_id"].as_u64().unwrap().to_string();

    let by_id = world
        .cube(&["--json", "session", "destroy", "--id", &phone_id])
        .ok()
        .json();
    assert_eq!(
        by_id["destroyed"][0].as_u64().unwrap().to_string(),
        phone_id
    );
    world.cube(&["--profile", "phone", "whoami"]).fails(1);
    world.cube(&["--profile", "tablet", "whoami"]).ok();

    let others = world.cube(&["session", "destroy", "--others"]).ok();
    assert!(others.stdout.contains("every other session"), "{others:#?}");
    let tablet = world.cube(&["--profile", "tablet", "whoami"]).fails(1);
    assert!(
        tablet.stderr.contains("--profile tablet login"),
        "{tablet:#?}"
    );
    world.cube(&["whoami"]).ok();

    // Without a flag it ends the current session, as logout does.
    world.cube(&["session", "destroy"]).ok();
    world.cube(&["whoami"]).fails(1);
    world
        .cube(&["session", "destroy", "--id", "1", "--others"])
        .fails(2);
}

#[test]
fn a_session_of_another_endpoint_is_ignored() {
    let world = World::new("foreign");
    world.signed_in("ivan", PASSWORD);
    let other = World::bare("foreign-2");
    // The same saved session, read with another endpoint in the variable.
    let run = world.cube_env(
        &["--json", "session"],
        "",
        &[("CUBE_API_URL", other.emulator.base_url())],
    );
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(run.json()["kind"], "none");
    assert!(
        run.stderr.contains("another application or endpoint"),
        "{run:#?}"
    );
    // The profile's own endpoint still has its session.
    world.cube(&["whoami"]).ok();
}

#[test]
fn an_unreadable_session_file_is_ignored_with_a_warning() {
    let world = World::new("garbled");
    world.signed_in("jane", PASSWORD);
    std::fs::write(world.session_file("default"), "{ not json").unwrap();
    let run = world.cube(&["--json", "session"]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(run.json()["kind"], "none");
    assert!(run.stderr.contains("unreadable session file"), "{run:#?}");
}

/// The README's promise holds after a script met the expired session
/// first: a script's next run says the session expired (not "not signed
/// in"), and the next run on a terminal asks for the password again for
/// the same login — still after a wrong password typed there.
#[test]
fn after_a_script_met_the_expired_session_a_terminal_still_asks() {
    let world = World::new("reask-after-script");
    let id = world.signed_in("kate", PASSWORD);
    world.advance_clock(3 * 3600);
    for _ in 0..2 {
        let script = world.cube(&["whoami"]).fails(1);
        assert!(
            script.stderr.contains("has expired") && script.stderr.contains("cube login"),
            "{script:#?}"
        );
    }

    let wrong = in_terminal(
        &world,
        &["whoami"],
        &[("Password for kate: ", "not-the-password-1")],
    );
    assert_eq!(wrong.code, 1, "{wrong:#?}");
    let run = in_terminal(&world, &["whoami"], &[("Password for kate: ", PASSWORD)]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(run.stdout.contains("has expired"), "{run:#?}");
    assert!(
        run.stdout.contains(&format!("id            {id}")),
        "{run:#?}"
    );
    assert!(!run.all().contains(PASSWORD), "{run:#?}");
    // Signed in again as kate, and kept.
    let session = world.cube(&["--json", "session"]).ok().json();
    assert_eq!(session["kind"], "user");
    assert_eq!(session["signed_in_as"], "kate");
    world.cube(&["whoami"]).ok();
}

/// A wrong password typed when the expired session is restored fails the
/// command, and keeps the login: the next run on a terminal asks again.
#[test]
fn a_wrong_password_at_the_restore_prompt_keeps_the_login() {
    let world = World::new("reask-wrong");
    world.signed_in("liam", PASSWORD);
    world.advance_clock(3 * 3600);
    let wrong = in_terminal(
        &world,
        &["users", "get", "--login", "liam"],
        &[("Password for liam: ", "not-the-password-1")],
    );
    assert_eq!(wrong.code, 1, "{wrong:#?}");
    let run = in_terminal(&world, &["whoami"], &[("Password for liam: ", PASSWORD)]);
    assert_eq!(run.code, 0, "{run:#?}");
    world.cube(&["whoami"]).ok();
}

/// Messages say what happened and what to do next.
#[test]
fn session_messages_say_what_happened() {
    let world = World::new("messages");
    world.signed_in("nora", PASSWORD);
    let unknown = world
        .cube(&["session", "destroy", "--id", "999999"])
        .fails(1);
    assert!(
        unknown
            .stderr
            .contains("no session 999999 of yours to destroy"),
        "{unknown:#?}"
    );
    world.advance_clock(3 * 3600);
    world.cube(&["whoami"]).fails(1);
    let shown = world.cube(&["session"]).ok();
    assert!(
        shown
            .stdout
            .contains("sign in again with `cube login --login nora`"),
        "{shown:#?}"
    );
    world.cube(&["logout"]).ok();
    let again = world.cube(&["logout"]).fails(1);
    assert!(
        again
            .stderr
            .contains("not signed in: profile 'default' has no session to end"),
        "{again:#?}"
    );
}
