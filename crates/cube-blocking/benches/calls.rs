//! What one call costs through the blocking SDK, against raw ureq sending
//! the same request to the same in-process emulator:
//! `cargo bench -p cube-blocking --bench calls`
//! (`CUBE_BENCH_ROUNDS`, default 7; `CUBE_BENCH_CALLS`, default 1000).
//!
//! Sequential `get_user(id)` (`GET /users/v2?id=`): the mean latency of a
//! round, the median of the rounds. The two clients alternate which goes
//! first; a warm-up round is not counted.

use cube_blocking::{Client, Credentials, NewUser};
use cube_test_support::bench::Calls;
use std::time::Instant;

fn main() {
    let bench = Calls::start();
    let e = &bench.emulator;
    let client = Client::builder(u64::try_from(e.app_id()).unwrap(), e.auth_key())
        .auth_secret(e.auth_secret())
        .base_url(e.base_url())
        .build()
        .unwrap();
    let me = client
        .sign_up(NewUser::with_login("bencher01", "password-bench"))
        .unwrap();
    client
        .create_session(Credentials::login("bencher01", "password-bench"))
        .unwrap();
    let request = bench.get_user_request(me.id, &client.session_token().unwrap());
    let raw = ureq::Agent::new_with_defaults();

    let sdk_round = || {
        let start = Instant::now();
        for _ in 0..bench.calls {
            let user = client.get_user(me.id).unwrap();
            assert_eq!(user.map(|u| u.id), Some(me.id));
        }
        start.elapsed().as_secs_f64() * 1e6 / bench.calls as f64
    };
    let raw_round = || {
        let start = Instant::now();
        for _ in 0..bench.calls {
            let mut response = raw.run(request.clone()).unwrap();
            assert_eq!(response.status(), 200);
            std::hint::black_box(response.body_mut().read_to_vec().unwrap());
        }
        start.elapsed().as_secs_f64() * 1e6 / bench.calls as f64
    };
    let (mut sdk, mut reference) = (Vec::new(), Vec::new());
    for round in 0..=bench.rounds {
        let (s, r) = if round % 2 == 0 {
            let s = sdk_round();
            (s, raw_round())
        } else {
            let r = raw_round();
            (sdk_round(), r)
        };
        if round > 0 {
            sdk.push(s);
            reference.push(r);
        }
    }
    println!(
        "cube-blocking, GET /users/v2?id= to the in-process emulator, median of {} rounds of {} calls",
        bench.rounds, bench.calls
    );
    bench.report("sequential mean latency", "ureq", "µs", sdk, reference);
}
