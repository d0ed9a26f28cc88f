//! What one call costs through the async SDK, against a raw hyper client
//! sending the same request to the same in-process emulator:
//! `cargo bench -p cube-async --bench calls`
//! (`CUBE_BENCH_ROUNDS`, default 7; `CUBE_BENCH_CALLS`, default 1000).
//!
//! `get_user(id)` (`GET /users/v2?id=`): sequential, the mean latency of a
//! round; 64 tasks at once, the requests per second of a round (64 × 100
//! calls). Each figure is the median of the rounds; the two clients
//! alternate which goes first, and a warm-up round is not counted.

use bytes::Bytes;
use cube_async::{Client, Credentials, NewUser};
use cube_test_support::bench::Calls;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

const TASKS: usize = 64;
const CALLS_PER_TASK: usize = 100;

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

/// The mean latency of `calls` calls, one after the other, in µs.
async fn sequential<F: Future<Output = ()>>(calls: usize, call: impl Fn() -> F) -> f64 {
    let start = Instant::now();
    for _ in 0..calls {
        call().await;
    }
    start.elapsed().as_secs_f64() * 1e6 / calls as f64
}

/// Requests per second of `TASKS` tasks making `CALLS_PER_TASK` calls each.
async fn concurrent<F>(call: impl Fn() -> F + Send + Sync + 'static) -> f64
where
    F: Future<Output = ()> + Send + 'static,
{
    let call = Arc::new(call);
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
    (TASKS * CALLS_PER_TASK) as f64 / start.elapsed().as_secs_f64()
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

    let (mut seq_sdk, mut seq_raw, mut par_sdk, mut par_raw) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 0..=bench.rounds {
        let (s, r, ps, pr);
        if round % 2 == 0 {
            s = sequential(bench.calls, &sdk_call).await;
            r = sequential(bench.calls, &raw_call).await;
            ps = concurrent(sdk_call.clone()).await;
            pr = concurrent(raw_call.clone()).await;
        } else {
            r = sequential(bench.calls, &raw_call).await;
            s = sequential(bench.calls, &sdk_call).await;
            pr = concurrent(raw_call.clone()).await;
            ps = concurrent(sdk_call.clone()).await;
        }
        if round > 0 {
            seq_sdk.push(s);
            seq_raw.push(r);
            par_sdk.push(ps);
            par_raw.push(pr);
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
        &format!("{TASKS} concurrent tasks ({TASKS} × {CALLS_PER_TASK} calls)"),
        "hyper",
        "req/s",
        par_sdk,
        par_raw,
    );
}
