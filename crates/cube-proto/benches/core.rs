//! What every call costs in the protocol core, with no I/O:
//! `cargo bench -p cube-proto --bench core` (`CUBE_BENCH_ROUNDS`, default 7).
//!
//! * build + sign a session request: a login `POST /session` with an auth
//!   secret, from credentials to the finished request (goal: ≤ 2 µs);
//! * parse a 100-user v2 page: the answer of `GET /users/v2`, every field of
//!   every user filled as the service sends them (goal: ≥ 300 MB/s);
//! * one `get_user` call through the session state machine, from `Call::new`
//!   to `Done`, its answer canned: what the protocol costs an adapter per
//!   call, with no I/O (no goal of its own; it is part of the adapters'
//!   per-call figures).
//!
//! Each figure is the median of the rounds; each round runs for about
//! 200 ms after one warm-up round. Times are the thread's own time on a
//! CPU (Linux's `/proc/thread-self/schedstat`), so that other work on a
//! shared machine does not count; the wall-clock figure follows in
//! brackets (the two agree on a quiet machine).

// A benchmark reads the clock and its settings; the crate itself never does.
#![allow(clippy::disallowed_methods)]

use cube_proto::ops::{CreateSession, GetUser, Operation, SearchUsers};
use cube_proto::wire::RequestContext;
use cube_proto::{Call, Config, Credentials, IssuedToken, Session, SessionOptions, Step};
use std::hint::black_box;
use std::time::{Duration, Instant};
use time::macros::datetime;

/// The time this thread has spent on a CPU, when the system says.
fn on_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos = stat.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

/// Runs `f` for about `budget`: the time per run on a CPU (the wall clock
/// where the system does not say) and by the wall clock.
fn per_run(budget: Duration, mut f: impl FnMut()) -> (Duration, Duration) {
    let mut runs = 0u32;
    let (start, cpu) = (Instant::now(), on_cpu());
    while start.elapsed() < budget {
        for _ in 0..64 {
            f();
        }
        runs += 64;
    }
    let wall = start.elapsed() / runs;
    let cpu = match (cpu, on_cpu()) {
        (Some(before), Some(after)) => (after - before) / runs,
        _ => wall,
    };
    (cpu, wall)
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

    let mut session = Session::adopted(
        &config,
        SessionOptions::default(),
        IssuedToken::new("69f30a4d9d3ffd92b5aadd1b56d64b3999102fd8").user(1),
    )
    .unwrap();
    let one_user = http::Response::builder()
        .status(200)
        .header("CB-Token-ExpirationDate", "2026-11-24 14:00:00 UTC")
        .body(
            format!(
                r#"{{"skip":0,"limit":1,"total_entries":1,"items":[{}]}}"#,
                user(1)
            )
            .into_bytes(),
        )
        .unwrap();
    let mut get_user = || {
        let mut call = Call::new(config.clone(), GetUser::by_id(1));
        let Step::Send(request) = call.poll(&mut session, now, 1) else {
            unreachable!("a live session sends at once")
        };
        black_box(request);
        call.handle_response(&mut session, one_user.clone())
            .unwrap();
        let Step::Done(user) = call.poll(&mut session, now, 2) else {
            unreachable!("one answer ends the call")
        };
        black_box(user.unwrap());
    };

    let (mut sign_ns, mut sign_wall) = (Vec::new(), Vec::new());
    let (mut parse_mbs, mut parse_wall) = (Vec::new(), Vec::new());
    let (mut call_ns, mut call_wall) = (Vec::new(), Vec::new());
    for round in 0..=rounds {
        let signed = per_run(budget, &mut sign);
        let parsed = per_run(budget, &mut parse);
        let called = per_run(budget, &mut get_user);
        if round > 0 {
            sign_ns.push(signed.0.as_secs_f64() * 1e6);
            sign_wall.push(signed.1.as_secs_f64() * 1e6);
            parse_mbs.push(bytes / parsed.0.as_secs_f64() / 1e6);
            parse_wall.push(bytes / parsed.1.as_secs_f64() / 1e6);
            call_ns.push(called.0.as_secs_f64() * 1e6);
            call_wall.push(called.1.as_secs_f64() * 1e6);
        }
    }
    println!("cube-proto, median of {rounds} rounds of ~200 ms each");
    println!(
        "  build + sign a session request (login, HMAC-SHA1): {:.2} µs [{:.2}]  (goal ≤ 2 µs)",
        median(sign_ns),
        median(sign_wall)
    );
    println!(
        "  parse a 100-user v2 page ({} KiB): {:.0} MB/s [{:.0}]  (goal ≥ 300 MB/s)",
        response.body().len() / 1024,
        median(parse_mbs),
        median(parse_wall)
    );
    println!(
        "  one get_user call through the state machine, no I/O: {:.2} µs [{:.2}]",
        median(call_ns),
        median(call_wall)
    );
}
