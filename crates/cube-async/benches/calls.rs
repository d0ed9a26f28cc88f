//! What one call costs through the async SDK, against a raw hyper client
//! sending the same request to the same in-process emulator:
//! `cargo bench -p cube-async --bench calls`
//! (`CUBE_BENCH_ROUNDS`, default 7; `CUBE_BENCH_CALLS`, default 1000).
//!
//! `get_user(id)` (`GET /users/v2?id=`): sequential, the mean latency of a
//! round, the two clients taking turns call by call; 64 tasks at once, the
//! requests per second of a round, the two clients taking turns every 64 ×
//! 10 calls (ten turns each a round). Each figure is the median of the
//! rounds; a warm-up round is not counted. Taking turns this often lets
//! both meet the same machine: a shared machine drifts more in a second
//! than the two clients differ.

use bytes::Bytes;
use cube_async::{Client, Credentials, NewUser};
use cube_test_support::bench::Calls;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

const TASKS: usize = 64;
/// Calls of each task in one turn of the concurrent figure.
const CALLS_PER_TASK: usize = 10;
/// Turns of each client in a round of the concurrent figure.
const TURNS: usize = 10;

type Raw = HyperClient<HttpConnector, Full<Bytes>>;

fn main() {
    let bench = Calls::start();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(&bench));
}

/// One raw call: the request the SDK sends, the whole answer read.
async fn raw_call(raw: &Raw, request: &proto::wire::Request) {
    let request = request.clone().map(|b| Full::new(Bytes::from(b)));
    let response = raw.request(request).await.unwrap();
    assert_eq!(response.status(), 200);
    std::hint::black_box(response.into_body().collect().await.unwrap().to_bytes());
}

/// How long one call took, by the wall clock and on this thread's CPU
/// (the call's own work; the connections' tasks run on the runtime's
/// workers).
async fn timed<F: Future<Output = ()>>(call: F) -> (Duration, Duration) {
    let cpu = Calls::on_cpu();
    let start = Instant::now();
    call.await;
    let wall = start.elapsed();
    match (cpu, Calls::on_cpu()) {
        (Some(before), Some(after)) => (wall, after - before),
        _ => (wall, Duration::ZERO),
    }
}

fn add(sum: &mut (Duration, Duration), (wall, cpu): (Duration, Duration)) {
    sum.0 += wall;
    sum.1 += cpu;
}

/// How long `TASKS` tasks making `CALLS_PER_TASK` calls each took.
async fn concurrent<F>(call: &Arc<impl Fn() -> F + Send + Sync + 'static>) -> Duration
where
    F: Future<Output = ()> + Send + 'static,
{
    let start = Instant::now();
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let call = call.clone();
            tokio::spawn(async move {
                for _ in 0..CALLS_PER_TASK {
                    call().await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    start.elapsed()
}

async fn run(bench: &Calls) {
    let e = &bench.emulator;
    let client = Client::builder(u64::try_from(e.app_id()).unwrap(), e.auth_key())
        .auth_secret(e.auth_secret())
        .base_url(e.base_url())
        .build()
        .unwrap();
    let me = client
        .sign_up(NewUser::with_login("bencher01", "password-bench"))
        .await
        .unwrap();
    client
        .create_session(Credentials::login("bencher01", "password-bench"))
        .await
        .unwrap();
    let request = Arc::new(bench.get_user_request(me.id, &client.session_token().unwrap()));
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let raw: Raw = HyperClient::builder(TokioExecutor::new()).build(connector);
    let id = me.id;

    let sdk_call = {
        let client = client.clone();
        move || {
            let client = client.clone();
            async move {
                let user = client.get_user(id).await.unwrap();
                assert_eq!(user.map(|u| u.id), Some(id));
            }
        }
    };
    let raw_call = {
        let (raw, request) = (raw.clone(), request.clone());
        move || {
            let (raw, request) = (raw.clone(), request.clone());
            async move { raw_call(&raw, &request).await }
        }
    };

    let (sdk_call, raw_call) = (Arc::new(sdk_call), Arc::new(raw_call));
    let (mut seq_sdk, mut seq_raw, mut par_sdk, mut par_raw) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut cpu_sdk, mut cpu_raw) = (Vec::new(), Vec::new());
    for round in 0..=bench.rounds {
        let (mut s, mut r) = Default::default();
        for i in 0..bench.calls {
            if i % 2 == 0 {
                add(&mut s, timed(sdk_call()).await);
                add(&mut r, timed(raw_call()).await);
            } else {
                add(&mut r, timed(raw_call()).await);
                add(&mut s, timed(sdk_call()).await);
            }
        }
        let (mut ps, mut pr) = (Duration::ZERO, Duration::ZERO);
        for turn in 0..TURNS {
            if turn % 2 == 0 {
                ps += concurrent(&sdk_call).await;
                pr += concurrent(&raw_call).await;
            } else {
                pr += concurrent(&raw_call).await;
                ps += concurrent(&sdk_call).await;
            }
        }
        // Round 0 warms both up and is not counted.
        if round > 0 {
            let calls = bench.calls as f64;
            seq_sdk.push(s.0.as_secs_f64() * 1e6 / calls);
            seq_raw.push(r.0.as_secs_f64() * 1e6 / calls);
            cpu_sdk.push(s.1.as_secs_f64() * 1e6 / calls);
            cpu_raw.push(r.1.as_secs_f64() * 1e6 / calls);
            let requests = (TURNS * TASKS * CALLS_PER_TASK) as f64;
            par_sdk.push(requests / ps.as_secs_f64());
            par_raw.push(requests / pr.as_secs_f64());
        }
    }
    println!(
        "cube-async, GET /users/v2?id= to the in-process emulator, median of {} rounds",
        bench.rounds
    );
    bench.report(
        &format!("sequential mean latency ({} calls)", bench.calls),
        "hyper",
        "µs",
        seq_sdk,
        seq_raw,
    );
    bench.report(
        "the calling task's time on this thread's CPU per sequential call",
        "hyper",
        "µs",
        cpu_sdk,
        cpu_raw,
    );
    bench.report(
        &format!("{TASKS} concurrent tasks ({TURNS} turns of {TASKS} × {CALLS_PER_TASK} calls)"),
        "hyper",
        "req/s",
        par_sdk,
        par_raw,
    );
}
