//! How long a refused sign-in takes, by reason, at the `production`
//! password cost: `cargo bench -p cube-emulator --bench login_timing`.
//!
//! The two refusals that answer alike (`401 Invalid password`) must take
//! alike: a wrong password costs an argon2id check, and so must a user who
//! has no password (made by a provider sign-in), or response times tell
//! which accounts have one. An unknown login answers `404 User not found`,
//! as the public service does: its status already says the login is free,
//! so it costs no hash and is expected to be fast. Prints the median and
//! the 10th–90th percentiles of each kind (one client, one request at a
//! time, `CUBE_BENCH_ROUNDS` of each, default 30).

use std::time::{Duration, Instant};

use cube_emulator::{Emulator, EmulatorConfig, PasswordCost};
use serde_json::{Value, json};

fn main() {
    let rounds: usize = std::env::var("CUBE_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let emulator = Emulator::start_blocking(EmulatorConfig {
        password_cost: PasswordCost::Production,
        ..EmulatorConfig::default()
    })
    .expect("the emulator starts");
    let base = emulator.base_url().to_owned();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    let post = |path: &str, token: Option<&str>, body: &Value| -> u16 {
        let mut request = agent
            .post(&format!("{base}{path}"))
            .header("Content-Type", "application/json");
        if let Some(token) = token {
            request = request.header("CB-Token", token);
        }
        request
            .send(body.to_string())
            .expect("an answer")
            .status()
            .as_u16()
    };
    let session =
        |user: Value| json!({"application_id": 1, "auth_key": "emulator-auth-key", "user": user});
    assert_eq!(
        post(
            "/session",
            None,
            &session(json!({"login": "known-user", "password": "password123"}))
        ),
        201
    );
    // A user without a password, as a provider sign-in makes them.
    assert_eq!(
        post(
            "/_emulator/apps/1/users",
            None,
            &json!({"users": [{"login": "no-password-user"}]})
        ),
        201
    );
    let mut app = agent
        .post(&format!("{base}/session"))
        .header("Content-Type", "application/json")
        .send(session(Value::Null).to_string())
        .expect("an application session");
    let app: Value = app.body_mut().read_json().expect("JSON");
    let app = app["session"]["token"]
        .as_str()
        .expect("a token")
        .to_owned();

    let cases: [(&str, u16, Value); 4] = [
        (
            "POST /login, wrong password",
            401,
            json!({"login": "known-user", "password": "wrong-password"}),
        ),
        (
            "POST /login, user without a password",
            401,
            json!({"login": "no-password-user", "password": "wrong-password"}),
        ),
        (
            "POST /login, unknown login",
            404,
            json!({"login": "nobody-here", "password": "wrong-password"}),
        ),
        (
            "POST /login, unknown, short password",
            404,
            json!({"login": "nobody-here", "password": "x"}),
        ),
    ];
    println!("refused sign-ins at the production cost, {rounds} rounds each:");
    for (name, status, body) in cases {
        let mut times: Vec<Duration> = (0..rounds)
            .map(|_| {
                let started = Instant::now();
                assert_eq!(post("/login", Some(&app), &body), status);
                started.elapsed()
            })
            .collect();
        times.sort();
        let at = |q: usize| times[(times.len() - 1) * q / 100].as_secs_f64() * 1000.0;
        println!(
            "  {name:<40} {status}  median {:>6.1} ms   p10 {:>6.1} ms   p90 {:>6.1} ms",
            at(50),
            at(10),
            at(90)
        );
    }
}
