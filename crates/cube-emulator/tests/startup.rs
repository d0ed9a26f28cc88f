//! The binary's start: settings it refuses, and what its logs say (and
//! how: plain text when they do not go to a terminal).

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Starts the binary with stdout and stderr piped.
fn spawn(args: &[&str], env: &[(&str, &str)]) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cube-emulator"));
    command
        .args(args)
        .env_remove("CUBE_EMULATOR_ADMIN_TOKEN")
        .env_remove("NO_COLOR")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        command.env(k, v);
    }
    command.spawn().expect("the binary starts")
}

/// The first stdout line (empty if the process ends without one).
fn first_line(child: &mut Child) -> String {
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    line
}

/// Waits (bounded) for the exit; its code and everything on stderr.
fn finish(mut child: Child) -> (Option<i32>, String) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (status.code(), stderr)
}

#[test]
fn an_empty_admin_token_is_refused_at_start() {
    let base = ["--listen", "127.0.0.1:0", "--in-memory"];
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)]);
    let cases: [Case; 3] = [
        (&["--admin-token", ""], &[]),
        (&["--admin-token="], &[]),
        (&[], &[("CUBE_EMULATOR_ADMIN_TOKEN", "")]),
    ];
    for (flags, env) in cases {
        let args: Vec<&str> = base.iter().chain(flags).copied().collect();
        let mut child = spawn(&args, env);
        let line = first_line(&mut child);
        if !line.is_empty() {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{flags:?} {env:?}: started anyway ({line:?})");
        }
        let (code, stderr) = finish(child);
        assert_eq!(code, Some(2), "{flags:?} {env:?}: {stderr}");
        assert!(
            stderr.contains("admin token must not be empty"),
            "{flags:?} {env:?}: {stderr}"
        );
    }
    // The library refuses it too: "" would compare equal to "".
    let err = cube_emulator::Emulator::start_blocking(cube_emulator::EmulatorConfig {
        admin_token: Some(String::new()),
        ..cube_emulator::EmulatorConfig::default()
    })
    .expect_err("an empty admin token is refused");
    assert!(
        err.to_string().contains("admin token must not be empty"),
        "{err}"
    );
}

#[test]
fn logs_are_plain_text_and_say_when_unsigned_firebase_tokens_are_accepted() {
    let mut child = spawn(&["--listen", "127.0.0.1:0", "--in-memory"], &[]);
    let line = first_line(&mut child);
    assert!(
        line.starts_with("cube-emulator listening on http://127.0.0.1:"),
        "{line:?}"
    );
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let (code, stderr) = finish(child);
    assert_eq!(code, Some(0), "{stderr}");
    // Piped, not a terminal: no colour codes.
    assert!(stderr.contains("listening"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "{stderr:?}");
    // The deliberately unsafe default says so, with the way out.
    let warning = stderr
        .lines()
        .find(|l| l.contains("unsigned Firebase ID tokens"))
        .unwrap_or_else(|| panic!("no warning about unsigned tokens in {stderr}"));
    assert!(warning.contains("WARN"), "{warning}");
    assert!(warning.contains("app_id=1"), "{warning}");
    assert!(warning.contains("firebase_accept_unsigned"), "{warning}");
}
