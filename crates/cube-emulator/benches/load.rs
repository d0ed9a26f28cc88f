//! Load benchmark: `cargo bench -p cube-emulator --bench load`.
//!
//! For each user count (`CUBE_BENCH_USERS`, default `1000,100000`) it
//! starts an emulator in-process (durable storage, `dev` password cost),
//! seeds the users through the admin import (`POST /_emulator/apps/1/users`,
//! 5,000 a request), and drives it with 64 keep-alive hyper connections
//! from a second runtime, for a bounded time per scenario: the searches of
//! `GET /users/v2` (selective and broad), the exact look-ups, `GET
//! /users/{id}` and `POST /session` with a password; the broad searches
//! also from a single connection (what one costs, not the queue of 64).
//! Then it prints one table with a column per user count, and the
//! production password cost on a fresh database.
//!
//! The scenarios are measured in rounds (`CUBE_BENCH_ROUNDS`, default 3):
//! each round runs every scenario once, and a scenario's figures merge its
//! rounds. A slow spell of a shared machine then falls on every scenario
//! alike instead of on whichever ran during it, so the ratios between
//! scenarios (an exact search against `GET /users/{id}`) hold still.
//!
//! Users are `user{i:06}` / `user{i:06}@example.com` / `User {i:06}`, tagged
//! `g{i / 100}` (100 holders a tag) and `t{i % 10}` (a tenth of the users a
//! tag). `CUBE_BENCH_SECS` sets the measured seconds per scenario and
//! round (default 2, after 1 s of warm-up); `CUBE_BENCH_ONLY=a|b` runs
//! only the scenarios whose name contains `a` or `b`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use cube_emulator::{Emulator, EmulatorConfig, PasswordCost, RunningEmulator, Storage};
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

/// Keep-alive connections of every scenario.
const CONNECTIONS: usize = 64;
/// Users per import request (well under the 1 MiB body limit).
const SEED_BATCH: usize = 5_000;

/// One scenario's requests.
#[derive(Clone)]
struct Scenario {
    name: &'static str,
    /// Keep-alive connections sending them at once.
    connections: usize,
    method: Method,
    path: String,
    token: Option<String>,
    body: Option<String>,
    expect: StatusCode,
}

struct Outcome {
    errors: usize,
    elapsed: Duration,
    latencies_us: Vec<u32>,
}

/// What one scenario measured.
#[derive(Clone, Copy)]
struct Figures {
    rate: f64,
    p50: f64,
    p99: f64,
    errors: usize,
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

fn run(addr: SocketAddr, scenario: &Scenario, warmup: Duration, measure: Duration) -> Outcome {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("client runtime");
    runtime.block_on(async {
        let warmup_end = Instant::now() + warmup;
        let until = warmup_end + measure;
        let tasks: Vec<_> = (0..scenario.connections)
            .map(|_| tokio::spawn(connection_loop(addr, scenario.clone(), until, warmup_end)))
            .collect();
        let mut outcome = Outcome {
            errors: 0,
            elapsed: measure,
            latencies_us: Vec::new(),
        };
        for task in tasks {
            let (errors, latencies) = task.await.expect("client task");
            outcome.errors += errors;
            outcome.latencies_us.extend(latencies);
        }
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

/// The figures of a scenario's rounds, merged.
fn summarize(scenario: &Scenario, rounds: Vec<Outcome>) -> Figures {
    let mut outcome = Outcome {
        errors: 0,
        elapsed: Duration::ZERO,
        latencies_us: Vec::new(),
    };
    for round in rounds {
        outcome.errors += round.errors;
        outcome.elapsed += round.elapsed;
        outcome.latencies_us.extend(round.latencies_us);
    }
    outcome.latencies_us.sort_unstable();
    let figures = Figures {
        rate: outcome.latencies_us.len() as f64 / outcome.elapsed.as_secs_f64(),
        p50: percentile(&outcome.latencies_us, 0.50),
        p99: percentile(&outcome.latencies_us, 0.99),
        errors: outcome.errors,
    };
    println!(
        "  {:<48} {:>8.0} req/s  p50 {:>8.2} ms  p99 {:>8.2} ms  errors {}",
        scenario.name, figures.rate, figures.p50, figures.p99, figures.errors
    );
    figures
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
    let body = if method == "GET" {
        String::new()
    } else {
        body.to_string()
    };
    let mut response = agent
        .run(builder.body(body).expect("request"))
        .expect("setup call");
    serde_json::from_str(&response.body_mut().read_to_string().expect("body"))
        .unwrap_or(Value::Null)
}

fn start(cost: PasswordCost, dir: std::path::PathBuf) -> RunningEmulator {
    Emulator::start_blocking(EmulatorConfig {
        password_cost: cost,
        storage: Storage::DataDir(dir),
        ..EmulatorConfig::default()
    })
    .expect("emulator starts")
}

/// Seeds `n` users through the admin import; returns their ids in order.
fn seed(emulator: &RunningEmulator, n: usize) -> Vec<i64> {
    let started = Instant::now();
    let mut ids = Vec::with_capacity(n);
    for first in (0..n).step_by(SEED_BATCH) {
        let users: Vec<Value> = (first..n.min(first + SEED_BATCH))
            .map(|i| {
                json!({"login": format!("user{i:06}"), "email": format!("user{i:06}@example.com"),
                       "full_name": format!("User {i:06}"),
                       "tag_list": format!("g{},t{}", i / 100, i % 10)})
            })
            .collect();
        let answer = call(
            emulator,
            "POST",
            "/_emulator/apps/1/users",
            None,
            json!({ "users": users }),
        );
        let batch = answer["ids"]
            .as_array()
            .unwrap_or_else(|| panic!("import: {answer}"));
        ids.extend(batch.iter().map(|id| id.as_i64().expect("id")));
    }
    println!(
        "  seeded {n} users in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    ids
}

/// A session (token, user id) for `login`, signed up on first use.
fn session(emulator: &RunningEmulator, login: &str) -> (String, i64) {
    let created = call(
        emulator,
        "POST",
        "/session",
        None,
        json!({"application_id": 1, "auth_key": emulator.auth_key(),
               "user": {"login": login, "password": "bench-password"}}),
    );
    let token = created["session"]["token"].as_str().expect("token");
    let id = created["session"]["user_id"].as_i64().expect("user id");
    (token.to_owned(), id)
}

fn get(name: &'static str, path: String, token: &str) -> Scenario {
    Scenario {
        name,
        connections: CONNECTIONS,
        method: Method::GET,
        path,
        token: Some(token.to_owned()),
        body: None,
        expect: StatusCode::OK,
    }
}

/// The scenarios at `n` users, each checked once for the matches it claims.
fn scenarios(emulator: &RunningEmulator, ids: &[i64], token: &str) -> Vec<Scenario> {
    let n = ids.len();
    let spread: Vec<String> = (0..100)
        .map(|k| format!("id[in][]={}", ids[k * n / 100]))
        .collect();
    let middle = n / 2;
    let searches = [
        ("v2 id[in][]= 100 ids", spread.join("&"), 100),
        (
            "v2 user_tags[in][]=g5 (100 holders)",
            "user_tags[in][]=g5".into(),
            100,
        ),
        (
            "v2 login[start_with]= (100 match)",
            "login[start_with]=user0000".into(),
            100,
        ),
        (
            "v2 full_name[start_with]= (10 match)",
            "full_name[start_with]=User%2000012".into(),
            10,
        ),
        (
            "v2 user_tags[in][]=t7 (10 % match)",
            "user_tags[in][]=t7".into(),
            n / 10,
        ),
        (
            "v2 login[start_with]= (every user)",
            "login[start_with]=user".into(),
            n,
        ),
        ("v2 exact id=", format!("id={}", ids[middle]), 1),
        ("v2 exact login=", format!("login=user{middle:06}"), 1),
        (
            "v2 exact email=",
            format!("email=user{middle:06}%40example.com"),
            1,
        ),
    ];
    let mut out = Vec::new();
    for (name, query, expected) in searches {
        let path = format!("/users/v2?{query}");
        let answer = call(emulator, "GET", &path, Some(token), Value::Null);
        let total = answer["total_entries"]
            .as_u64()
            .unwrap_or_else(|| panic!("{name}: {answer}"));
        assert_eq!(total, expected as u64, "{name}");
        out.push(get(name, path, token));
    }
    out.push(get(
        "GET /users/{id}",
        format!("/users/{}", ids[middle]),
        token,
    ));
    // What one search costs, without 63 others queued before it.
    for (name, broad) in [
        ("v2 id[in][]= 100 ids, 1 connection", "100 ids"),
        ("v2 user_tags[in][]=g5, 1 connection", "(100 holders)"),
        ("v2 user_tags[in][]=t7, 1 connection", "t7 (10 % match)"),
        (
            "v2 login[start_with]= every user, 1 connection",
            "(every user)",
        ),
    ] {
        let mut alone = out
            .iter()
            .find(|s| s.name.ends_with(broad))
            .cloned()
            .expect("scenario");
        alone.name = name;
        alone.connections = 1;
        out.push(alone);
    }
    out
}

fn sign_in(emulator: &RunningEmulator, name: &'static str) -> Scenario {
    session(emulator, "signer");
    Scenario {
        name,
        connections: CONNECTIONS,
        method: Method::POST,
        path: "/session".into(),
        token: None,
        body: Some(
            json!({"application_id": 1, "auth_key": emulator.auth_key(),
                   "user": {"login": "signer", "password": "bench-password"}})
            .to_string(),
        ),
        expect: StatusCode::CREATED,
    }
}

fn cell(f: &Figures) -> String {
    let errors = if f.errors > 0 {
        format!(", {} errors", f.errors)
    } else {
        String::new()
    };
    format!(
        "{:.0} req/s, p50 {:.1} ms, p99 {:.1} ms{errors}",
        f.rate, f.p50, f.p99
    )
}

fn main() {
    let secs = std::env::var("CUBE_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2u64);
    let rounds: usize = std::env::var("CUBE_BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3)
        .max(1);
    let scales: Vec<usize> = std::env::var("CUBE_BENCH_USERS")
        .unwrap_or_else(|_| "1000,100000".into())
        .split(',')
        .map(|n| n.trim().parse().expect("CUBE_BENCH_USERS: user counts"))
        .collect();
    let secs = Duration::from_secs(secs);
    let warmup = Duration::from_secs(1);
    let data_dir = std::env::temp_dir().join(format!("cube-emulator-bench-{}", std::process::id()));
    println!(
        "cube-emulator load benchmark: {} cores, {CONNECTIONS} connections, {rounds} rounds of {} s per scenario (each after 1 s warm-up)",
        std::thread::available_parallelism().map_or(0, usize::from),
        secs.as_secs()
    );

    let mut names: Vec<&'static str> = Vec::new();
    let mut columns: Vec<Vec<Figures>> = Vec::new();
    for &n in &scales {
        println!("{n} users:");
        let emulator = start(PasswordCost::Dev, data_dir.join(format!("users-{n}")));
        let ids = seed(&emulator, n);
        // The import's WAL is copied into the database in the background:
        // let that finish before measuring.
        std::thread::sleep(Duration::from_secs(5));
        let (token, _) = session(&emulator, "reader");
        let mut all = scenarios(&emulator, &ids, &token);
        all.push(sign_in(
            &emulator,
            "POST /session login+password (dev cost)",
        ));
        if let Ok(only) = std::env::var("CUBE_BENCH_ONLY") {
            all.retain(|s| only.split('|').any(|part| s.name.contains(part)));
        }
        names = all.iter().map(|s| s.name).collect();
        let mut measured: Vec<Vec<Outcome>> = all.iter().map(|_| Vec::new()).collect();
        for _ in 0..rounds {
            for (scenario, outcomes) in all.iter().zip(&mut measured) {
                outcomes.push(run(emulator.addr(), scenario, warmup, secs));
            }
        }
        columns.push(
            all.iter()
                .zip(measured)
                .map(|(s, outcomes)| summarize(s, outcomes))
                .collect(),
        );
        drop(emulator);
    }

    println!();
    let header: Vec<String> = scales.iter().map(|n| format!("{n} users")).collect();
    println!(
        "| scenario ({CONNECTIONS} connections) | {} |",
        header.join(" | ")
    );
    println!("|---|{}", "---|".repeat(scales.len()));
    for (row, name) in names.iter().enumerate() {
        let cells: Vec<String> = columns.iter().map(|c| cell(&c[row])).collect();
        println!("| {name} | {} |", cells.join(" | "));
    }

    if std::env::var("CUBE_BENCH_ONLY").is_err() {
        println!();
        let emulator = start(PasswordCost::Production, data_dir.join("production"));
        let scenario = sign_in(&emulator, "POST /session login+password (production cost)");
        let outcome = run(emulator.addr(), &scenario, warmup, secs * 3);
        summarize(&scenario, vec![outcome]);
        drop(emulator);
    }

    let _ = std::fs::remove_dir_all(&data_dir);
}
