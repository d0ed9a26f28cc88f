//! Load benchmark: `cargo bench -p cube-emulator --bench load`.
//!
//! Starts emulators in-process (each on its own runtime, like a separate
//! process) and drives them with keep-alive hyper connections from a second
//! runtime, for a bounded time per scenario:
//!
//! 1. authenticated `GET /users/{id}` at 64 connections;
//! 2. `POST /session` with login + password at the `dev` password cost;
//! 3. the same at the `production` cost.
//!
//! `CUBE_BENCH_SECS` sets the measured seconds per scenario (default 5).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use cube_emulator::{Emulator, EmulatorConfig, PasswordCost, RunningEmulator, Storage};
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

/// One scenario's requests.
#[derive(Clone)]
struct Scenario {
    method: Method,
    path: String,
    token: Option<String>,
    body: Option<String>,
    expect: StatusCode,
}

struct Outcome {
    requests: usize,
    errors: usize,
    elapsed: Duration,
    latencies_us: Vec<u32>,
}

async fn connection_loop(
    addr: SocketAddr,
    scenario: Scenario,
    until: Instant,
    warmup_end: Instant,
) -> (usize, Vec<u32>) {
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    let mut latencies = Vec::with_capacity(100_000);
    let mut errors = 0;
    while Instant::now() < until {
        let mut builder = Request::builder()
            .method(scenario.method.clone())
            .uri(&scenario.path)
            .header("host", addr.to_string());
        if let Some(token) = &scenario.token {
            builder = builder.header("cb-token", token);
        }
        let body = match &scenario.body {
            Some(body) => {
                builder = builder.header("content-type", "application/json");
                Full::new(Bytes::from(body.clone()))
            }
            None => Full::new(Bytes::new()),
        };
        let request = builder.body(body).expect("request");
        let started = Instant::now();
        if sender.ready().await.is_err() {
            break;
        }
        let ok = match sender.send_request(request).await {
            Ok(response) => {
                let status = response.status();
                response.into_body().collect().await.is_ok() && status == scenario.expect
            }
            Err(_) => false,
        };
        if started < warmup_end {
            continue;
        }
        if ok {
            latencies.push(u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX));
        } else {
            errors += 1;
        }
    }
    (errors, latencies)
}

fn run(
    addr: SocketAddr,
    scenario: &Scenario,
    connections: usize,
    warmup: Duration,
    measure: Duration,
) -> Outcome {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("client runtime");
    runtime.block_on(async {
        let warmup_end = Instant::now() + warmup;
        let until = warmup_end + measure;
        let tasks: Vec<_> = (0..connections)
            .map(|_| tokio::spawn(connection_loop(addr, scenario.clone(), until, warmup_end)))
            .collect();
        let mut outcome = Outcome {
            requests: 0,
            errors: 0,
            elapsed: measure,
            latencies_us: Vec::new(),
        };
        for task in tasks {
            let (errors, latencies) = task.await.expect("client task");
            outcome.errors += errors;
            outcome.latencies_us.extend(latencies);
        }
        outcome.requests = outcome.latencies_us.len();
        outcome
    })
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[rank]) / 1000.0
}

fn report(name: &str, connections: usize, mut outcome: Outcome) {
    outcome.latencies_us.sort_unstable();
    let rate = outcome.requests as f64 / outcome.elapsed.as_secs_f64();
    println!(
        "{name:<48} conns={connections:<3} requests={:<8} errors={:<4} {rate:>9.0} req/s  p50={:.2} ms  p99={:.2} ms  max={:.2} ms",
        outcome.requests,
        outcome.errors,
        percentile(&outcome.latencies_us, 0.50),
        percentile(&outcome.latencies_us, 0.99),
        percentile(&outcome.latencies_us, 1.0),
    );
}

/// A blocking JSON call used for setup.
fn call(
    emulator: &RunningEmulator,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Value,
) -> Value {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    let mut builder = Request::builder()
        .method(method)
        .uri(format!("{}{path}", emulator.base_url()))
        .header("content-type", "application/json");
    if let Some(token) = token {
        builder = builder.header("cb-token", token);
    }
    let mut response = agent
        .run(builder.body(body.to_string()).expect("request"))
        .expect("setup call");
    serde_json::from_str(&response.body_mut().read_to_string().expect("body"))
        .unwrap_or(Value::Null)
}

fn start(cost: PasswordCost, storage: Storage) -> RunningEmulator {
    Emulator::start_blocking(EmulatorConfig {
        password_cost: cost,
        storage,
        ..EmulatorConfig::default()
    })
    .expect("emulator starts")
}

fn login_scenario(emulator: &RunningEmulator, login: &str) -> Scenario {
    let user = json!({"login": login, "password": "bench-password"});
    let created = call(
        emulator,
        "POST",
        "/session",
        None,
        json!({"application_id": 1, "auth_key": emulator.auth_key(), "user": user}),
    );
    assert!(
        created["session"]["user_id"].as_i64().is_some(),
        "setup: {created}"
    );
    Scenario {
        method: Method::POST,
        path: "/session".into(),
        token: None,
        body: Some(
            json!({"application_id": 1, "auth_key": emulator.auth_key(), "user": user}).to_string(),
        ),
        expect: StatusCode::CREATED,
    }
}

fn main() {
    let secs = std::env::var("CUBE_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5u64);
    let measure = Duration::from_secs(secs);
    let warmup = Duration::from_secs(1);
    let data_dir = std::env::temp_dir().join(format!("cube-emulator-bench-{}", std::process::id()));
    println!(
        "cube-emulator load benchmark: {} cores, {secs} s per scenario (after 1 s warm-up)",
        std::thread::available_parallelism().map_or(0, usize::from)
    );

    // 1. Authenticated reads, durable storage.
    let emulator = start(PasswordCost::Dev, Storage::DataDir(data_dir.join("reads")));
    let session = call(
        &emulator,
        "POST",
        "/session",
        None,
        json!({"application_id": 1, "auth_key": emulator.auth_key(),
        "user": {"login": "reader", "password": "bench-password"}}),
    );
    let token = session["session"]["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let id = session["session"]["user_id"].as_i64().expect("user id");
    let reads = Scenario {
        method: Method::GET,
        path: format!("/users/{id}"),
        token: Some(token),
        body: None,
        expect: StatusCode::OK,
    };
    report(
        "GET /users/{id} (authenticated)",
        64,
        run(emulator.addr(), &reads, 64, warmup, measure),
    );
    drop(emulator);

    // 2. Password sign-ins at the dev cost, durable storage (each creates a session row).
    let emulator = start(PasswordCost::Dev, Storage::DataDir(data_dir.join("dev")));
    let scenario = login_scenario(&emulator, "signer");
    report(
        "POST /session login+password, dev cost",
        64,
        run(emulator.addr(), &scenario, 64, warmup, measure),
    );
    drop(emulator);

    // 3. The same at the production cost.
    let emulator = start(
        PasswordCost::Production,
        Storage::DataDir(data_dir.join("production")),
    );
    let scenario = login_scenario(&emulator, "signer");
    report(
        "POST /session login+password, production cost",
        64,
        run(emulator.addr(), &scenario, 64, warmup, measure),
    );
    drop(emulator);

    let _ = std::fs::remove_dir_all(&data_dir);
}
