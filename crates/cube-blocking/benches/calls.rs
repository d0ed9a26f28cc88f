//! What one call costs through the blocking SDK, against raw ureq sending
//! the same request to the same in-process emulator:
//! `cargo bench -p cube-blocking --bench calls`
//! (`CUBE_BENCH_ROUNDS`, default 7; `CUBE_BENCH_CALLS`, default 1000).
//!
//! Sequential `get_user(id)` (`GET /users/v2?id=`): the mean latency of a
//! round, the median of the rounds. The two clients take turns call by
//! call; a warm-up round is not counted.

use cube_blocking::{Client, Credentials, NewUser};
use cube_test_support::bench::Calls;
use std::time::Duration;

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

    // One call of each client in turn, whichever went second going first
    // the next time, so that both meet the same machine: a shared machine
    // drifts more in a second than the two clients differ.
    let sdk_call = || {
        let (wall, cpu, user) = Calls::measure(|| client.get_user(me.id).unwrap());
        assert_eq!(user.map(|u| u.id), Some(me.id));
        (wall, cpu)
    };
    let raw_call = || {
        let (wall, cpu, (status, body)) = Calls::measure(|| {
            let mut response = raw.run(request.clone()).unwrap();
            (
                response.status(),
                response.body_mut().read_to_vec().unwrap(),
            )
        });
        assert_eq!(status, 200);
        std::hint::black_box(body);
        (wall, cpu)
    };
    let add = |sum: &mut (Duration, Duration), (wall, cpu): (Duration, Duration)| {
        sum.0 += wall;
        sum.1 += cpu;
    };
    let per_call = |d: Duration| d.as_secs_f64() * 1e6 / bench.calls as f64;
    let (mut sdk, mut reference, mut sdk_cpu, mut raw_cpu) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 0..=bench.rounds {
        let (mut s, mut r) = Default::default();
        for i in 0..bench.calls {
            if i % 2 == 0 {
                add(&mut s, sdk_call());
                add(&mut r, raw_call());
            } else {
                add(&mut r, raw_call());
                add(&mut s, sdk_call());
            }
        }
        // Round 0 warms both up and is not counted.
        if round > 0 {
            sdk.push(per_call(s.0));
            reference.push(per_call(r.0));
            sdk_cpu.push(per_call(s.1));
            raw_cpu.push(per_call(r.1));
        }
    }
    println!(
        "cube-blocking, GET /users/v2?id= to the in-process emulator, median of {} rounds of {} calls",
        bench.rounds, bench.calls
    );
    bench.report("sequential mean latency", "ureq", "µs", sdk, reference);
    bench.report(
        "the calling thread's time on a CPU per call",
        "ureq",
        "µs",
        sdk_cpu,
        raw_cpu,
    );
}
