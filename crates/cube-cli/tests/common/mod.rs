//! What the command tests share: an in-process emulator, a private config
//! folder per test, and the built `cube` run as a separate process with
//! nothing of the real user's environment.

#![allow(dead_code, unreachable_pub)]

use cube_emulator::{Emulator, EmulatorConfig, RunningEmulator};
use serde_json::Value;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The auth secret of the test application: it must never be printed.
pub const AUTH_SECRET: &str = "cli-test-auth-secret-5e1c7";
/// How long any one `cube` run may take.
const RUN_LIMIT: Duration = Duration::from_secs(120);

/// A folder removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir =
            std::env::temp_dir().join(format!("cube-cli-{name}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One finished `cube` run.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts status 0 and returns the run.
    #[track_caller]
    pub fn ok(self) -> Self {
        assert_eq!(self.code, 0, "cube failed: {self:#?}");
        self
    }

    /// Asserts `code`, and that standard error is exactly one line
    /// starting with `cube: `.
    #[track_caller]
    pub fn fails(self, code: i32) -> Self {
        assert_eq!(self.code, code, "unexpected status: {self:#?}");
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one line of error: {self:#?}");
        assert!(lines[0].starts_with("cube: "), "{self:#?}");
        self
    }

    /// Standard output as one JSON document.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not one JSON document ({e}): {:?}", self.stdout))
    }

    /// Standard output as JSON lines.
    #[track_caller]
    pub fn json_lines(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
            .collect()
    }

    /// Everything it printed.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// An emulator and a config folder, with the default profile pointing at
/// the emulator.
pub struct World {
    pub emulator: RunningEmulator,
    pub dir: TempDir,
    /// Every output of every run, to look for secrets in.
    pub seen: Arc<Mutex<String>>,
}

impl World {
    pub fn new(name: &str) -> Self {
        let world = Self::bare(name);
        world.configure("default");
        world
    }

    /// An emulator and an empty config folder.
    pub fn bare(name: &str) -> Self {
        let emulator = Emulator::start_blocking(EmulatorConfig {
            auth_secret: AUTH_SECRET.to_owned(),
            ..EmulatorConfig::default()
        })
        .expect("the emulator starts");
        Self {
            emulator,
            dir: TempDir::new(name),
            seen: Arc::default(),
        }
    }

    /// Stores the emulator's application in `profile`.
    pub fn configure(&self, profile: &str) {
        let app_id = self.emulator.app_id().to_string();
        self.cube(&[
            "--profile",
            profile,
            "config",
            "set",
            "--app-id",
            &app_id,
            "--auth-key",
            self.emulator.auth_key(),
            "--endpoint",
            self.emulator.base_url(),
        ])
        .ok();
        self.cube_in(
            &["--profile", profile, "config", "set", "--auth-secret-stdin"],
            &format!("{AUTH_SECRET}\n"),
        )
        .ok();
    }

    pub fn config_dir(&self) -> PathBuf {
        self.dir.0.join("config")
    }

    pub fn session_file(&self, profile: &str) -> PathBuf {
        self.config_dir()
            .join("sessions")
            .join(format!("{profile}.json"))
    }

    /// The `cube` command with this world's environment and no other.
    pub fn command(&self) -> Command {
        self.program(env!("CARGO_BIN_EXE_cube"))
    }

    /// `program` with this world's environment and no other.
    pub fn program(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.0.join("home"))
            .env("CUBE_CONFIG_DIR", self.config_dir())
            .current_dir(&self.dir.0);
        command
    }

    /// Runs `cube ARGS` with no standard input.
    pub fn cube(&self, args: &[&str]) -> Run {
        self.cube_env(args, "", &[])
    }

    /// Runs `cube ARGS` with `stdin` as standard input.
    pub fn cube_in(&self, args: &[&str], stdin: &str) -> Run {
        self.cube_env(args, stdin, &[])
    }

    /// Runs `cube ARGS` with standard input and extra variables.
    pub fn cube_env(&self, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Run {
        let mut command = self.command();
        command.args(args);
        for (k, v) in env {
            command.env(k, v);
        }
        let run = run(command, stdin);
        self.seen.lock().unwrap().push_str(&run.all());
        run
    }

    /// Signs `login` up with `password` and signs in (default profile).
    pub fn signed_in(&self, login: &str, password: &str) -> u64 {
        let user = self
            .cube_in(
                &["--json", "signup", "--login", login, "--password-stdin"],
                &format!("{password}\n"),
            )
            .ok()
            .json();
        self.cube_in(
            &["login", "--login", login, "--password-stdin"],
            &format!("{password}\n"),
        )
        .ok();
        user["id"].as_u64().unwrap()
    }

    /// The emulator's admin API.
    pub fn admin_post(&self, path: &str, body: Value) -> Value {
        ureq::post(&format!("{}/_emulator{path}", self.emulator.base_url()))
            .send_json(body)
            .unwrap()
            .body_mut()
            .read_json()
            .unwrap()
    }

    pub fn admin_put(&self, path: &str, body: Value) -> Value {
        ureq::put(&format!("{}/_emulator{path}", self.emulator.base_url()))
            .send_json(body)
            .unwrap()
            .body_mut()
            .read_json()
            .unwrap()
    }

    pub fn admin_get(&self, path: &str) -> Value {
        ureq::get(&format!("{}/_emulator{path}", self.emulator.base_url()))
            .call()
            .unwrap()
            .body_mut()
            .read_json()
            .unwrap()
    }

    /// Moves the emulator's clock; signed session requests stay accepted
    /// (the command signs with the real clock).
    pub fn advance_clock(&self, seconds: i64) {
        let app = self.emulator.app_id();
        self.admin_put(
            &format!("/apps/{app}/settings"),
            serde_json::json!({"signature_window_seconds": seconds.abs() + 3600}),
        );
        self.admin_post("/clock/advance", serde_json::json!({ "seconds": seconds }));
    }

    /// Creates an application session straight on the emulator and returns
    /// its id: the next id shows how many sessions were made before it.
    pub fn next_session_id(&self) -> u64 {
        let body = serde_json::json!({
            "application_id": self.emulator.app_id(),
            "auth_key": self.emulator.auth_key(),
        });
        let session: Value = ureq::post(&format!("{}/session", self.emulator.base_url()))
            .send_json(body)
            .unwrap()
            .body_mut()
            .read_json()
            .unwrap();
        session["session"]["id"].as_u64().unwrap()
    }

    /// The token saved for `profile`.
    pub fn saved_token(&self, profile: &str) -> String {
        let text = std::fs::read_to_string(self.session_file(profile)).unwrap();
        let saved: Value = serde_json::from_str(&text).unwrap();
        saved["snapshot"]["token"].as_str().unwrap().to_owned()
    }
}

/// Runs a command to its end (bounded in time), feeding `stdin`.
pub fn run(mut command: Command, stdin: &str) -> Run {
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("cube starts");
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_owned();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(stdin.as_bytes());
    });
    let stdout = reader(child.stdout.take().unwrap());
    let stderr = reader(child.stderr.take().unwrap());
    let status = wait(&mut child, RUN_LIMIT);
    writer.join().unwrap();
    Run {
        code: status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

fn reader(mut from: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = from.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Waits for the child, killing it past `limit`.
pub fn wait(child: &mut std::process::Child, limit: Duration) -> i32 {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code().unwrap_or(-1);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("cube ran longer than {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A run under a pseudo-terminal (util-linux `script`), standard output and
/// error both going to it. `answers` are (what to wait for, what to type):
/// each is typed once its prompt has appeared.
pub fn in_terminal(world: &World, args: &[&str], answers: &[(&str, &str)]) -> Run {
    let line = std::iter::once(env!("CARGO_BIN_EXE_cube"))
        .chain(args.iter().copied())
        .map(shell_quote)
        .collect::<Vec<_>>()
        .join(" ");
    // `script -qec LINE /dev/null`: LINE under a new pseudo-terminal; the
    // exit status is its own (-e).
    let mut command = world.program("script");
    command
        .env("TERM", "xterm")
        .args(["-qec", &line, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("script starts (util-linux)");
    let mut input = child.stdin.take().unwrap();
    let screen = Arc::new(Mutex::new(Vec::<u8>::new()));
    let out = child.stdout.take().unwrap();
    let seen = screen.clone();
    let pump = std::thread::spawn(move || {
        let mut out = out;
        let mut buf = [0u8; 8192];
        loop {
            match out.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => seen.lock().unwrap().extend_from_slice(&buf[..n]),
            }
        }
    });
    let err = reader(child.stderr.take().unwrap());
    let deadline = Instant::now() + RUN_LIMIT;
    let mut from = 0;
    for (prompt, answer) in answers {
        loop {
            let text = String::from_utf8_lossy(&screen.lock().unwrap()).into_owned();
            if let Some(at) = text[from.min(text.len())..].find(prompt) {
                from += at + prompt.len();
                break;
            }
            assert!(
                Instant::now() < deadline && child.try_wait().unwrap().is_none(),
                "no prompt {prompt:?} in {text:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        // The prompt is written just before echo is turned off.
        std::thread::sleep(Duration::from_millis(300));
        input.write_all(format!("{answer}\n").as_bytes()).unwrap();
        input.flush().unwrap();
    }
    let code = wait(&mut child, RUN_LIMIT);
    drop(input);
    pump.join().unwrap();
    let stdout = String::from_utf8_lossy(&screen.lock().unwrap()).into_owned();
    let run = Run {
        code,
        stdout,
        stderr: err.join().unwrap(),
    };
    world.seen.lock().unwrap().push_str(&run.all());
    run
}

fn shell_quote(arg: &str) -> String {
    format!("'{}'", arg.replace('\'', r"'\''"))
}

/// The first bytes of every PNG file: what makes a file an image to
/// `cube avatar set`.
pub const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// Writes `len` bytes to `path`, a PNG signature and then zeros, without
/// using disk for the zeros (a sparse file).
pub fn sparse_image(path: &Path, len: u64) {
    let mut file = std::fs::File::create(path).unwrap();
    file.write_all(PNG_SIGNATURE).unwrap();
    file.set_len(len).unwrap();
}
