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
