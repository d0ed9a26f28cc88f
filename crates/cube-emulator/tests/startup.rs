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
fn an_application_id_that_leaves_no_room_after_it_is_refused_at_start() {
    let config = |app_id| cube_emulator::EmulatorConfig {
        app_id,
        ..cube_emulator::EmulatorConfig::default()
    };
    let err =
        cube_emulator::Emulator::start_blocking(config(1 << 53)).expect_err("an id past 2^53 - 1");
    assert!(
        err.to_string()
            .contains("the application id must be from 1 to 9007199254740991"),
        "{err}"
    );
    let running = cube_emulator::Emulator::start_blocking(config((1 << 53) - 1)).unwrap();
    assert_eq!(running.app_id(), (1 << 53) - 1);
}

/// An unsigned ID token of the Firebase Auth Emulator's shape for `sub`.
fn unsigned_firebase_token(sub: &str) -> String {
    use base64::Engine;
    let b64 = |json: serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json.to_string())
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let project = "cube-test-project";
    let claims = serde_json::json!({
        "iss": format!("https://securetoken.google.com/{project}"),
        "aud": project, "auth_time": now - 10, "iat": now - 10, "exp": now + 3600,
        "sub": sub, "user_id": sub, "phone_number": "+15550100",
    });
    format!(
        "{}.{}.",
        b64(serde_json::json!({"alg": "none", "typ": "JWT"})),
        b64(claims)
    )
}

#[test]
fn logs_are_plain_text_and_speak_of_unsigned_firebase_tokens_only_once_one_is_accepted() {
    let mut child = spawn(&["--listen", "127.0.0.1:0", "--in-memory"], &[]);
    let line = first_line(&mut child);
    let url = line
        .trim()
        .strip_prefix("cube-emulator listening on ")
        .unwrap_or_else(|| panic!("{line:?}"))
        .to_owned();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    // A second application, which nobody signs in to with Firebase, then
    // two sign-ins to the first. Statuses are checked once the process is
    // stopped, so that a failure never leaves it running.
    let status_of = |answer: Result<http::Response<ureq::Body>, ureq::Error>| {
        answer.map_or(0, |a| a.status().as_u16())
    };
    let mut statuses = vec![status_of(
        agent
            .post(&format!("{url}/_emulator/apps"))
            .send_json(serde_json::json!({"id": 7, "auth_key": "k7", "auth_secret": "s7"})),
    )];
    for sub in ["first", "second"] {
        statuses.push(status_of(agent.post(&format!("{url}/session")).send_json(
            serde_json::json!({
                "application_id": 1, "auth_key": "emulator-auth-key",
                "provider": "firebase_phone",
                "firebase_phone": {"project_id": "cube-test-project",
                                   "access_token": unsigned_firebase_token(sub)},
            }),
        )));
    }
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let (code, stderr) = finish(child);
    assert_eq!(statuses, [201, 201, 201], "{stderr}");
    assert_eq!(code, Some(0), "{stderr}");
    // Piped, not a terminal: no colour codes.
    assert!(stderr.contains("listening"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "{stderr:?}");
    // Nothing is said at start, and nothing is a warning; the application
    // that accepted unsigned tokens hears of it once, with the way out.
    assert!(!stderr.contains("WARN"), "{stderr}");
    let notices: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("unsigned Firebase ID token"))
        .collect();
    assert_eq!(notices.len(), 1, "{stderr}");
    assert!(notices[0].contains("INFO"), "{}", notices[0]);
    assert!(notices[0].contains("app_id=1"), "{}", notices[0]);
    assert!(
        notices[0].contains("firebase_accept_unsigned"),
        "{}",
        notices[0]
    );
    let listening = stderr
        .lines()
        .position(|l| l.contains("listening"))
        .unwrap();
    let noticed = stderr
        .lines()
        .position(|l| l.contains("unsigned Firebase"))
        .unwrap();
    assert!(noticed > listening, "{stderr}");
}

#[test]
fn an_export_target_that_cannot_be_used_stops_the_start_before_the_ready_line() {
    let dir =
        std::env::temp_dir().join(format!("cube-emulator-start-export-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // A web app's folder: its manifest.json is not a data set's.
    let manifest = r#"{"name": "My App", "start_url": "/"}"#;
    std::fs::write(dir.join("manifest.json"), manifest).unwrap();
    std::fs::write(dir.join("index.html"), "<!doctype html>").unwrap();
    let target = dir.to_str().unwrap();
    let mut child = spawn(
        &[
            "--listen",
            "127.0.0.1:0",
            "--in-memory",
            "--export-on-exit",
            target,
        ],
        &[],
    );
    let ready = first_line(&mut child);
    // Bounded: a process that serves anyway is killed.
    let (code, stderr) = finish(child);
    assert_eq!(ready, "", "no ready line");
    assert_eq!(code, Some(1), "{stderr}");
    let said = stderr.lines().last().unwrap_or_default();
    assert!(
        said.starts_with(&format!(
            "cube-emulator: cannot export to {target}: its manifest.json"
        )),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("manifest.json")).unwrap(),
        manifest
    );
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}
