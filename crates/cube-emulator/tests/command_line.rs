//! The binary's command line as people meet it: `--help` names every flag
//! and its variable, `--version`, a bad flag is one reason and status 2,
//! and each variable is read (a flag wins over it).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

mod common;

const VARIABLES: [&str; 8] = [
    "CUBE_EMULATOR_LISTEN",
    "CUBE_EMULATOR_DATA_DIR",
    "CUBE_EMULATOR_PASSWORD_COST",
    "CUBE_EMULATOR_ADMIN_TOKEN",
    "CUBE_EMULATOR_PROVIDER_TIMEOUT",
    "CUBE_EMULATOR_IMPORT",
    "CUBE_EMULATOR_EXPORT_ON_EXIT",
    "CUBE_EMULATOR_REQUEST_LOG",
];

/// The binary with a clean environment (none of its variables) plus `env`.
fn command(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cube-emulator"));
    command.args(args);
    for name in VARIABLES {
        command.env_remove(name);
    }
    command.envs(env.iter().copied());
    command
}

/// Runs to the end; for runs that must not start a server.
fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut child = command(args, env)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{args:?} {env:?} did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// A server the binary started; stopped (SIGTERM, then killed) when dropped.
struct Server {
    child: Child,
    base_url: String,
}

impl Server {
    fn start(args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut child = command(args, env)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the binary starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let Some(base_url) = line.trim().strip_prefix("cube-emulator listening on ") else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{args:?} {env:?}: no ready line ({line:?})");
        };
        let base_url = base_url.to_owned();
        Self { child, base_url }
    }

    /// SIGTERM and wait (bounded): the clean stop.
    fn stop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.child.try_wait().unwrap().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn help_names_every_flag_and_its_variable() {
    for flag in ["--help", "-h"] {
        let out = run(&[flag], &[]);
        assert_eq!(out.status.code(), Some(0));
        let help = text(&out.stdout);
        for name in [
            "--listen <ADDR>",
            "--data-dir <DIR>",
            "--in-memory",
            "--app-id <N>",
            "--auth-key <KEY>",
            "--auth-secret <SECRET>",
            "--password-cost <COST>",
            "--admin-token <TOKEN>",
            "--provider-timeout <SECS>",
            "--import <DIR>",
            "--export-on-exit <DIR>",
            "--help",
            "--version",
        ] {
            assert!(help.contains(name), "{flag}: {name} missing from\n{help}");
        }
        for variable in VARIABLES {
            assert!(
                help.contains(&format!("[env: {variable}]")),
                "{flag}: {variable} missing from\n{help}"
            );
        }
    }
    // `--help` explains: the possible costs and the defaults.
    let help = text(&run(&["--help"], &[]).stdout);
    for explained in [
        "dev",
        "production",
        "[default: 127.0.0.1:8080]",
        "/_emulator/ui/",
    ] {
        assert!(help.contains(explained), "{explained} missing from\n{help}");
    }
}

#[test]
fn help_is_written_for_people() {
    for flag in ["--help", "-h"] {
        let help = text(&run(&[flag], &[]).stdout);
        let first = help.lines().next().unwrap_or_default();
        assert_eq!(
            first, "A local ConnectyCube Auth & Users server, for tests and for working offline.",
            "{flag}"
        );
        // No rustdoc or Markdown: no links to items, no code spans.
        assert!(
            !help.contains('`') && !help.contains("[`"),
            "{flag}:\n{help}"
        );
        assert!(!help.contains("flatten"), "{flag}:\n{help}");
    }
}

#[test]
fn help_never_shows_a_variable_s_value() {
    let out = run(
        &["--help"],
        &[("CUBE_EMULATOR_ADMIN_TOKEN", "do-not-print-me")],
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(!text(&out.stdout).contains("do-not-print-me"));
}

#[test]
fn version() {
    for flag in ["--version", "-V"] {
        let out = run(&[flag], &[]);
        assert_eq!(out.status.code(), Some(0));
        assert_eq!(
            text(&out.stdout).trim(),
            format!("cube-emulator {}", env!("CARGO_PKG_VERSION"))
        );
    }
}

/// The reason is the first line of stderr; what follows is the usage
/// line and a pointer to `--help`, never the whole help.
#[track_caller]
fn assert_refused(args: &[&str], env: &[(&str, &str)], reason: &str) {
    let out = run(args, env);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?} {env:?}: {stderr}");
    assert!(
        out.stdout.is_empty(),
        "{args:?}: started or printed to stdout"
    );
    let first = stderr.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("error: ") && first.contains(reason),
        "{args:?} {env:?}: first line {first:?} lacks {reason:?}"
    );
    assert!(
        stderr.lines().count() <= 7,
        "{args:?}: more than a reason and a usage line:\n{stderr}"
    );
    assert!(stderr.contains("try '--help'"), "{stderr}");
}

#[test]
fn a_bad_flag_is_one_reason_and_status_2() {
    assert_refused(&["--bogus"], &[], "unexpected argument '--bogus'");
    assert_refused(&["--listn", "127.0.0.1:0"], &[], "'--listn'");
    assert_refused(&["--listen"], &[], "'--listen <ADDR>'");
    assert_refused(&["--listen", "localhost:80"], &[], "expected IP:PORT");
    assert_refused(&["--password-cost", "cheap"], &[], "'cheap'");
    assert_refused(&["--app-id", "0"], &[], "'0'");
    assert_refused(&["--provider-timeout", "601"], &[], "at most 600");
    assert_refused(&["stray"], &[], "'stray'");
    // Suggestions people know.
    let stderr = text(&run(&["--listn", "127.0.0.1:0"], &[]).stderr);
    assert!(stderr.contains("'--listen'"), "{stderr}");
}

#[test]
fn an_empty_admin_token_is_refused_at_start() {
    let reason = "the admin token must not be empty";
    assert_refused(&["--in-memory", "--admin-token", ""], &[], reason);
    assert_refused(&["--in-memory", "--admin-token="], &[], reason);
    assert_refused(
        &["--in-memory"],
        &[("CUBE_EMULATOR_ADMIN_TOKEN", "")],
        reason,
    );
}

#[test]
fn bad_variables_are_refused_like_flags() {
    assert_refused(
        &["--in-memory"],
        &[("CUBE_EMULATOR_PASSWORD_COST", "cheap")],
        "'cheap'",
    );
    assert_refused(
        &["--in-memory"],
        &[("CUBE_EMULATOR_PROVIDER_TIMEOUT", "0")],
        "more than 0",
    );
    assert_refused(
        &["--in-memory"],
        &[("CUBE_EMULATOR_LISTEN", "nowhere")],
        "expected IP:PORT",
    );
}

#[test]
fn variables_are_read_and_flags_win_over_them() {
    // The variable alone.
    let server = Server::start(
        &["--in-memory"],
        &[
            ("CUBE_EMULATOR_LISTEN", "127.0.0.1:0"),
            ("CUBE_EMULATOR_ADMIN_TOKEN", "from-env"),
            ("CUBE_EMULATOR_PASSWORD_COST", "production"),
            ("CUBE_EMULATOR_PROVIDER_TIMEOUT", "2.5"),
        ],
    );
    assert!(server.base_url.starts_with("http://127.0.0.1:"));
    let agent = common::agent();
    let health = format!("{}/_emulator/health", server.base_url);
    let status = |token: Option<&str>| {
        let mut request = agent.get(&health);
        if let Some(token) = token {
            request = request.header("Authorization", &format!("Bearer {token}"));
        }
        request.call().unwrap().status().as_u16()
    };
    assert_eq!(status(None), 401);
    assert_eq!(status(Some("from-env")), 200);
    drop(server);

    // The flag wins: the variable's value is not even read.
    let server = Server::start(
        &[
            "--in-memory",
            "--listen",
            "127.0.0.1:0",
            "--admin-token",
            "from-flag",
        ],
        &[
            ("CUBE_EMULATOR_LISTEN", "not an address"),
            ("CUBE_EMULATOR_ADMIN_TOKEN", "from-env"),
        ],
    );
    let health = format!("{}/_emulator/health", server.base_url);
    let call = |token: &str| {
        agent
            .get(&health)
            .header("Authorization", &format!("Bearer {token}"))
            .call()
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(call("from-env"), 401);
    assert_eq!(call("from-flag"), 200);
}

#[test]
fn the_data_directory_comes_from_its_variable_unless_in_memory() {
    let dir = std::env::temp_dir().join(format!("cube-emulator-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let dir_text = dir.to_str().unwrap().to_owned();
    let env = [
        ("CUBE_EMULATOR_LISTEN", "127.0.0.1:0"),
        ("CUBE_EMULATOR_DATA_DIR", dir_text.as_str()),
    ];
    let mut server = Server::start(&[], &env);
    server.stop();
    let database: PathBuf = dir.join("emulator.sqlite3");
    assert!(database.exists(), "{} missing", database.display());
    std::fs::remove_dir_all(&dir).unwrap();

    // `--in-memory` wins over the directory.
    let mut server = Server::start(&["--in-memory"], &env);
    server.stop();
    assert!(!dir.exists(), "--in-memory wrote to {}", dir.display());
}

#[test]
fn sigterm_exports_and_the_next_start_imports_and_a_bad_data_set_is_status_1() {
    let dir = std::env::temp_dir().join(format!("cube-emulator-cli-data-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let saved = dir.join("saved");
    let saved_text = saved.to_str().unwrap().to_owned();
    let agent = common::agent();
    let sign_up = |base_url: &str, login: &str| {
        agent
            .post(format!("{base_url}/users"))
            .header("CB-AuthKey", cube_emulator::DEFAULT_AUTH_KEY)
            .send(
                serde_json::json!({"user": {"login": login, "password": "password123"}})
                    .to_string(),
            )
            .unwrap()
            .status()
            .as_u16()
    };
    let listen = ["--listen", "127.0.0.1:0", "--in-memory"];
    let mut server = Server::start(
        &[&listen[..], &["--export-on-exit", &saved_text]].concat(),
        &[],
    );
    assert_eq!(sign_up(&server.base_url, "kept-user"), 201);
    server.stop();
    let users = std::fs::read_to_string(saved.join("users.jsonl")).unwrap();
    assert!(users.contains("kept-user"), "{users}");

    // Imported (from the variable): the login is taken again.
    let server = Server::start(&listen, &[("CUBE_EMULATOR_IMPORT", saved_text.as_str())]);
    assert_eq!(sign_up(&server.base_url, "kept-user"), 422);
    drop(server);

    // A data set of another version stops the start: status 1, one line.
    let manifest = saved.join("manifest.json");
    let text_of = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        text_of.replace("\"version\": 1", "\"version\": 9"),
    )
    .unwrap();
    let out = run(&[&listen[..], &["--import", &saved_text]].concat(), &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(out.stdout.is_empty(), "it served");
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("cube-emulator: cannot import the data set")
            && last.contains("version 9; this emulator reads version 1"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The signal handlers are in place before the ready line is printed: a
/// SIGINT sent the moment it is read is a clean stop (status 0), not the
/// signal's default action.
#[test]
fn a_signal_right_after_the_ready_line_is_a_clean_stop() {
    for _ in 0..30 {
        let mut child = command(&["--listen", "127.0.0.1:0", "--in-memory"], &[])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the binary starts");
        common::ready_url(&mut child);
        let _ = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        assert_eq!(status.and_then(|s| s.code()), Some(0), "{status:?}");
    }
}

#[test]
fn an_export_on_exit_that_cannot_be_written_is_status_1() {
    let dir = std::env::temp_dir().join(format!("cube-emulator-cli-exit-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let target = dir.to_str().unwrap().to_owned();
    let mut child = command(
        &[
            "--listen",
            "127.0.0.1:0",
            "--in-memory",
            "--export-on-exit",
            &target,
        ],
        &[],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("the binary starts");
    common::ready_url(&mut child);
    // Usable at start (and made then); by the stop, other files are there.
    let written = std::fs::write(dir.join("notes.txt"), "keep me");
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("no stop after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    written.unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("cube-emulator: cannot export to") && last.contains("left alone"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("notes.txt")).unwrap(),
        "keep me"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_request_log_size_comes_from_its_flag_or_variable_within_its_limit() {
    let capacity = |server: &Server| {
        let mut answer = common::agent()
            .get(&format!("{}/_emulator/requests", server.base_url))
            .call()
            .unwrap();
        let body: serde_json::Value = answer.body_mut().read_json().unwrap();
        body["capacity"].as_u64()
    };
    let listen = ("CUBE_EMULATOR_LISTEN", "127.0.0.1:0");
    let server = Server::start(&["--in-memory"], &[listen]);
    assert_eq!(capacity(&server), Some(1000));
    drop(server);
    let server = Server::start(
        &["--in-memory"],
        &[listen, ("CUBE_EMULATOR_REQUEST_LOG", "100000")],
    );
    assert_eq!(capacity(&server), Some(100_000));
    drop(server);
    let server = Server::start(
        &["--in-memory", "--request-log", "0"],
        &[listen, ("CUBE_EMULATOR_REQUEST_LOG", "7")],
    );
    assert_eq!(capacity(&server), Some(0));
    drop(server);
    let reason = "at most 100000";
    assert_refused(&["--in-memory", "--request-log", "100001"], &[], reason);
    assert_refused(
        &["--in-memory"],
        &[("CUBE_EMULATOR_REQUEST_LOG", "100001")],
        reason,
    );
}
