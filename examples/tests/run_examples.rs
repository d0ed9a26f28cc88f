//! The examples run as a newcomer runs them: with no configuration against
//! an in-process emulator, and with the four CUBE_* variables against the
//! server they name. `cargo test` builds the example binaries next to this
//! test's.

use cube_emulator::{Emulator, EmulatorConfig};
use std::path::PathBuf;
use std::process::{Command, Output};

fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let path = dir.join("examples").join(name);
    assert!(
        path.exists(),
        "{} is not built: run `cargo test -p cube-examples` (which builds the examples)",
        path.display()
    );
    path
}

fn run(name: &str, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(example(name));
    for var in [
        "CUBE_API_URL",
        "CUBE_APP_ID",
        "CUBE_AUTH_KEY",
        "CUBE_AUTH_SECRET",
    ] {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied());
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{name} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn every_example_runs_with_no_configuration() {
    for name in [
        "quickstart",
        "user_search",
        "session_restore",
        "avatar",
        "social_login",
        "firebase_login",
        "custom_idp",
        "session_persist",
    ] {
        let out = run(name, &[]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("started an in-process emulator"),
            "{name}: {stdout}"
        );
        assert!(
            stdout.contains(&format!("{name} finished")),
            "{name}: {stdout}"
        );
    }
}

#[test]
fn the_quickstart_talks_to_the_server_the_environment_names() {
    let config = EmulatorConfig {
        app_id: 4242,
        auth_key: "env-auth-key".into(),
        auth_secret: "env-auth-secret".into(),
        ..EmulatorConfig::default()
    };
    let server = Emulator::start_blocking(config).unwrap();
    let out = run(
        "quickstart",
        &[
            ("CUBE_API_URL", server.base_url()),
            ("CUBE_APP_ID", "4242"),
            ("CUBE_AUTH_KEY", "env-auth-key"),
            ("CUBE_AUTH_SECRET", "env-auth-secret"),
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("in-process emulator"), "{stdout}");
    assert!(stdout.contains("quickstart finished"), "{stdout}");
    // The user it signed up lives on that server.
    let client = cube_blocking::Client::builder(4242, "env-auth-key")
        .auth_secret("env-auth-secret")
        .base_url(server.base_url())
        .build()
        .unwrap();
    let tagged = client.find_users_by_tags(["quickstart"]).unwrap();
    assert_eq!(tagged.total_entries, 1);
    // A wrong key is a failure with a non-zero exit, not a silent success.
    let mut cmd = Command::new(example("quickstart"));
    cmd.env("CUBE_API_URL", server.base_url())
        .env("CUBE_APP_ID", "4242")
        .env("CUBE_AUTH_KEY", "wrong-key")
        .env_remove("CUBE_AUTH_SECRET");
    assert!(!cmd.output().unwrap().status.success());
}

/// A session file unique to this test run.
fn session_file(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!("cube-examples-{tag}-{}.json", std::process::id()))
}

#[test]
fn session_persist_resumes_in_a_second_run_without_a_session_request() {
    let server = Emulator::start_blocking(EmulatorConfig::default()).unwrap();
    let file = session_file("persist");
    let _ = std::fs::remove_file(&file);
    let app_id = server.app_id().to_string();
    let env = [
        ("CUBE_API_URL", server.base_url()),
        ("CUBE_APP_ID", app_id.as_str()),
        ("CUBE_AUTH_KEY", server.auth_key()),
        ("CUBE_AUTH_SECRET", server.auth_secret()),
        ("CUBE_SESSION_FILE", file.to_str().unwrap()),
    ];
    // The id of a session made now: the emulator numbers them in order.
    let next_session = || {
        cube_blocking::Client::builder(u64::try_from(server.app_id()).unwrap(), server.auth_key())
            .auth_secret(server.auth_secret())
            .base_url(server.base_url())
            .build()
            .unwrap()
            .create_application_session()
            .unwrap()
            .id
    };
    let first = String::from_utf8(run("session_persist", &env).stdout).unwrap();
    assert!(first.contains("no saved session"), "{first}");
    assert!(first.contains("listener: Created(User); saved"), "{first}");
    assert!(file.exists(), "the snapshot was saved");
    let before = next_session();
    let second = String::from_utf8(run("session_persist", &env).stdout).unwrap();
    assert!(
        second.contains("read user") && second.contains("before any session request: no sign-in"),
        "{second}"
    );
    assert!(!second.contains("listener:"), "nothing changed: {second}");
    assert_eq!(next_session(), before + 1, "the second run made no session");
    // --expire needs the in-process emulator: a clear failure here.
    let mut cmd = Command::new(example("session_persist"));
    cmd.envs(env.iter().copied()).arg("--expire");
    assert!(!cmd.output().unwrap().status.success());
    std::fs::remove_file(&file).unwrap();
}

#[test]
fn session_persist_expire_shows_the_restore_and_the_saved_snapshot() {
    let file = session_file("expire");
    let _ = std::fs::remove_file(&file);
    let mut cmd = Command::new(example("session_persist"));
    for var in [
        "CUBE_API_URL",
        "CUBE_APP_ID",
        "CUBE_AUTH_KEY",
        "CUBE_AUTH_SECRET",
    ] {
        cmd.env_remove(var);
    }
    let out = cmd
        .env("CUBE_SESSION_FILE", &file)
        .arg("--expire")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for line in [
        "before any session request: no sign-in",
        "listener: Expired(Clock); saved",
        "listener: Restored; saved",
        "the restore callback ran 1 time(s); the saved snapshot is now session 2",
        "session_persist finished",
    ] {
        assert!(stdout.contains(line), "{line:?} missing:\n{stdout}");
    }
    let saved = std::fs::read_to_string(&file).unwrap();
    assert!(saved.contains("\"session_id\": 2"), "{saved}");
    std::fs::remove_file(&file).unwrap();
}
