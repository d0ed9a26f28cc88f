//! What every call costs in the protocol core, with no I/O:
//! `cargo bench -p cube-proto --bench core` (`CUBE_BENCH_ROUNDS`, default 7).
//!
//! * build + sign a session request: a login `POST /session` with an auth
//!   secret, from credentials to the finished request (goal: ≤ 2 µs);
//! * parse a 100-user v2 page: the answer of `GET /users/v2`, every field of
//!   every user filled as the service sends them (goal: ≥ 300 MB/s).
//!
//! Each figure is the median of the rounds; each round runs for about
//! 200 ms after one warm-up round.

// A benchmark reads the clock and its settings; the crate itself never does.
#![allow(clippy::disallowed_methods)]

use cube_proto::ops::{CreateSession, Operation, SearchUsers};
use cube_proto::wire::RequestContext;
use cube_proto::{Config, Credentials};
use std::hint::black_box;
use std::time::{Duration, Instant};
use time::macros::datetime;

/// Runs `f` for about `budget`, returning the time per run.
fn per_run(budget: Duration, mut f: impl FnMut()) -> Duration {
    let mut runs = 0u32;
    let start = Instant::now();
    while start.elapsed() < budget {
        for _ in 0..64 {
            f();
        }
        runs += 64;
    }
    start.elapsed() / runs
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// One user as the service describes it, every field set.
fn user(id: u64) -> String {
    format!(
        r#"{{"id":{id},"login":"user_{id:05}","email":"user{id}@example.com","full_name":"User Number {id}","phone":"+61107977{id:02}","website":"https://example.com/u/{id}","created_at":"2018-12-06T09:16:26Z","updated_at":"2018-12-06T09:16:26Z","last_request_at":"2026-11-24T12:00:00Z","external_user_id":{id}7,"external_id":"ext-{id}","facebook_id":"9123440{id}","twitter_id":null,"blob_id":null,"custom_data":"{{\"level\":3}}","avatar":"a1b2c3d4e5f6{id}","user_tags":"vip,accountant","timezone":180,"is_guest":false}}"#
    )
}

fn main() {
    let rounds: usize = std::env::var("CUBE_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7)
        .max(5);
    let budget = Duration::from_millis(200);

    let config = Config::builder(1, "29WfrNWdvkhmX6V")
        .auth_secret("EmulatorSecret42")
        .base_url("http://127.0.0.1:8080")
        .build()
        .unwrap();
    let now = datetime!(2026-11-24 12:00 UTC);
    let mut nonce = 0u32;
    let mut sign = || {
        nonce = nonce.wrapping_add(1);
        let ctx = RequestContext {
            config: &config,
            token: None,
            now,
            nonce,
        };
        let op = CreateSession::new(Credentials::login("john_doe", "11111111"));
        black_box(op.build(black_box(&ctx)).unwrap());
    };

    let items: Vec<String> = (1..=100).map(user).collect();
    let body = format!(
        r#"{{"skip":0,"limit":100,"total_entries":100,"items":[{}]}}"#,
        items.join(",")
    );
    let response = http::Response::builder()
        .status(200)
        .body(body.into_bytes())
        .unwrap();
    let search = SearchUsers::by_ids(1..=100).unwrap();
    assert_eq!(search.parse(&response).unwrap().items.len(), 100);
    let bytes = response.body().len() as f64;
    let mut parse = || {
        black_box(search.parse(black_box(&response)).unwrap());
    };

    let mut sign_ns = Vec::new();
    let mut parse_mbs = Vec::new();
    for round in 0..=rounds {
        let signed = per_run(budget, &mut sign);
        let parsed = per_run(budget, &mut parse);
        if round > 0 {
            sign_ns.push(signed.as_secs_f64() * 1e9);
            parse_mbs.push(bytes / parsed.as_secs_f64() / 1e6);
        }
    }
    println!("cube-proto, median of {rounds} rounds of ~200 ms each");
    println!(
        "  build + sign a session request (login, HMAC-SHA1): {:.2} µs  (goal ≤ 2 µs)",
        median(sign_ns) / 1000.0
    );
    println!(
        "  parse a 100-user v2 page ({} KiB): {:.0} MB/s  (goal ≥ 300 MB/s)",
        response.body().len() / 1024,
        median(parse_mbs)
    );
}
