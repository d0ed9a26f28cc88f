//! The binary: the ready line, a clean stop on SIGTERM/SIGINT, and
//! acknowledged writes surviving `kill -9`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Emu, Resp, agent};
use serde_json::{Value, json};

/// A started binary and its base URL.
struct Process {
    child: Child,
    base_url: String,
}

fn spawn(args: &[&str]) -> Process {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cube-emulator"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let base_url = common::ready_url(&mut child);
    assert!(base_url.starts_with("http://127.0.0.1:"), "{base_url}");
    assert!(!base_url.ends_with(":0"));
    Process { child, base_url }
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([format!("-{name}"), child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Waits (bounded) for the process to exit; returns whether it exited 0.
fn wait_exit(child: &mut Child, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.success();
        }
        assert!(
            Instant::now() < deadline,
            "the emulator did not stop in time"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Talks to a process through the same helpers as the in-process tests.
fn client(base_url: &str) -> Client {
    Client {
        base_url: base_url.to_owned(),
        agent: agent(),
    }
}

struct Client {
    base_url: String,
    agent: ureq::Agent,
}

impl Client {
    fn send(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> Resp {
        let mut builder = http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base_url));
        if let Some(token) = token {
            builder = builder.header("CB-Token", token);
        }
        let result = match body {
            Some(body) => self.agent.run(
                builder
                    .header("Content-Type", "application/json")
                    .body(body.to_string())
                    .unwrap(),
            ),
            None => self.agent.run(builder.body(()).unwrap()),
        };
        Resp::read(result.unwrap())
    }

    fn session(&self, user: Value) -> Resp {
        let mut body = json!({"application_id": 1, "auth_key": "emulator-auth-key"});
        if !user.is_null() {
            body["user"] = user;
        }
        self.send("POST", "/session", None, Some(body))
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    std::env::temp_dir().join(format!(
        "cube-emulator-{name}-{}-{nanos}",
        std::process::id()
    ))
}

fn dir_arg(dir: &Path) -> &str {
    dir.to_str().unwrap()
}

#[test]
fn the_ready_line_names_a_serving_emulator_and_sigint_stops_it_cleanly() {
    // How soon the line comes is a start-up cost, not a rule: not timed here.
    let mut process = spawn(&["--listen", "127.0.0.1:0", "--in-memory"]);
    let c = client(&process.base_url);
    c.send("GET", "/_emulator/health", None, None).assert(200);
    signal(&process.child, "INT");
    assert!(wait_exit(&mut process.child, Duration::from_secs(10)));
}

#[test]
fn acknowledged_writes_survive_kill_9() {
    let dir = temp_dir("durability");
    let args = ["--listen", "127.0.0.1:0", "--data-dir", dir_arg(&dir)];
    let mut first = spawn(&args);
    let c = client(&first.base_url);

    // Acknowledged writes: sign-ups, a profile update, a password change,
    // settings, the clock, an e-mail.
    let mut ids = Vec::new();
    for i in 0..20 {
        let resp = c.send("POST", "/users", None, None);
        assert_eq!(resp.status, 401);
        let app = common::token_of(&c.session(Value::Null));
        let resp = c.send(
            "POST",
            "/users",
            Some(&app),
            Some(json!({"user": {"login": format!("durable{i}"), "email": format!("d{i}@example.com"), "password": "password123"}})),
        );
        resp.assert(201);
        ids.push(resp.body["user"]["id"].as_i64().unwrap());
    }
    let session = c.session(json!({"login": "durable0", "password": "password123"}));
    session.assert(201);
    let token = common::token_of(&session);
    let path = format!("/users/{}", ids[0]);
    c.send(
        "PUT",
        &path,
        Some(&token),
        Some(json!({"user": {"full_name": "Still Here", "tag_list": "kept"}})),
    )
    .assert(200);
    c.send(
        "PUT",
        &path,
        Some(&token),
        Some(json!({"user": {"password": "changed-pass", "old_password": "password123"}})),
    )
    .assert(200);
    let app = common::token_of(&c.session(Value::Null));
    c.send(
        "PUT",
        "/_emulator/apps/1/settings",
        None,
        Some(json!({"list_users_v1": false})),
    )
    .assert(200);
    c.send(
        "POST",
        "/_emulator/clock/advance",
        None,
        Some(json!({"seconds": 600})),
    )
    .assert(200);
    c.send(
        "GET",
        "/users/password/reset?email=d1%40example.com",
        Some(&app),
        None,
    )
    .assert(200);

    first.child.kill().unwrap(); // SIGKILL
    first.child.wait().unwrap();

    let mut second = spawn(&args);
    let c = client(&second.base_url);
    // Sessions created before are still valid, with their users.
    let resp = c.send("GET", "/session", Some(&token), None);
    resp.assert(200);
    assert_eq!(resp.body["session"]["user_id"], ids[0]);
    let resp = c.send("GET", &path, Some(&app), None);
    resp.assert(200);
    assert_eq!(resp.body["user"]["full_name"], "Still Here");
    assert_eq!(resp.body["user"]["user_tags"], "kept");
    for (i, id) in ids.iter().enumerate() {
        let resp = c.send(
            "GET",
            &format!("/users/by_login?login=durable{i}"),
            Some(&app),
            None,
        );
        assert_eq!(resp.body["user"]["id"], *id);
    }
    c.session(json!({"login": "durable0", "password": "changed-pass"}))
        .assert(201);
    c.session(json!({"login": "durable0", "password": "password123"}))
        .assert(401);
    c.send("GET", "/users", Some(&app), None).assert(403);
    let outbox = c.send("GET", "/_emulator/outbox", None, None);
    assert_eq!(outbox.body["items"].as_array().map(Vec::len), Some(1));
    let now = c.send("GET", "/_emulator/clock", None, None).body["now"].clone();
    assert!(common::parse_iso(now.as_str().unwrap()) >= common::unix_now() + 590);

    // SIGTERM stops it cleanly.
    signal(&second.child, "TERM");
    assert!(wait_exit(&mut second.child, Duration::from_secs(10)));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn acknowledged_writes_survive_kill_9_in_the_middle_of_a_burst() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};

    let dir = temp_dir("burst");
    let args = ["--listen", "127.0.0.1:0", "--data-dir", dir_arg(&dir)];
    let mut first = spawn(&args);
    // Writers sign users up as fast as they can and note every sign-up
    // the emulator acknowledged (201) with the id it gave.
    let acked: Arc<Mutex<Vec<(String, i64)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (acked, stop, base_url) = (acked.clone(), stop.clone(), first.base_url.clone());
            std::thread::spawn(move || {
                let agent = agent();
                for i in 0.. {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let login = format!("burst-{w}-{i}");
                    let body = json!({"user": {"login": login, "password": "password123"}});
                    let Ok(mut resp) = agent
                        .post(&format!("{base_url}/users"))
                        .header("CB-AuthKey", "emulator-auth-key")
                        .header("Content-Type", "application/json")
                        .send(body.to_string())
                    else {
                        return; // the emulator is gone
                    };
                    if resp.status() == 201 {
                        let text = resp.body_mut().read_to_string().unwrap_or_default();
                        let user: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                        if let Some(id) = user["user"]["id"].as_i64() {
                            acked.lock().unwrap().push((login, id));
                        }
                    }
                }
            })
        })
        .collect();
    // Kill it while the writers are busy (after a few hundred sign-ups).
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.lock().unwrap().len() < 300 {
        assert!(Instant::now() < deadline, "the burst did not get going");
        std::thread::sleep(Duration::from_millis(5));
    }
    first.child.kill().unwrap(); // SIGKILL, writes in flight
    first.child.wait().unwrap();
    stop.store(true, Ordering::SeqCst);
    for writer in writers {
        writer.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 300);

    let mut second = spawn(&args);
    let c = client(&second.base_url);
    let app = common::token_of(&c.session(Value::Null));
    for (login, id) in &acked {
        let resp = c.send(
            "GET",
            &format!("/users/by_login?login={login}"),
            Some(&app),
            None,
        );
        resp.assert(200);
        assert_eq!(resp.body["user"]["id"], *id, "{login}");
    }
    // The last one acknowledged signs in with its password.
    let (login, id) = &acked[acked.len() - 1];
    let resp = c.session(json!({"login": login, "password": "password123"}));
    resp.assert(201);
    assert_eq!(resp.body["session"]["user_id"], *id);
    signal(&second.child, "TERM");
    assert!(wait_exit(&mut second.child, Duration::from_secs(10)));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn in_process_restart_on_the_same_directory() {
    let dir = temp_dir("restart");
    let config = || cube_emulator::EmulatorConfig {
        storage: cube_emulator::Storage::DataDir(dir.clone()),
        ..cube_emulator::EmulatorConfig::default()
    };
    let emu = Emu::with(config());
    let (token, _) = emu.user("persistent");
    drop(emu);
    let emu = Emu::with(config());
    emu.get("/session", Some(&token)).assert(200);
    // One emulator per data directory.
    let err = cube_emulator::Emulator::start_blocking(config()).unwrap_err();
    assert!(err.to_string().contains("in use"), "{err}");
    drop(emu);
    drop(Emu::with(config()));
    let _ = std::fs::remove_dir_all(&dir);
}
