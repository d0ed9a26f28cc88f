//! The hyper wiring: accept connections, serve HTTP/1.1 with keep-alive,
//! flush read refreshes every second, and stop gracefully.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::router;
use crate::state::State;

/// How long in-flight requests may take to finish once a stop is asked.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// Garbage collection runs every this many flushes (seconds).
const SWEEP_EVERY_TICKS: u64 = 10;

/// Serves until `stop` turns true, then drains connections, writes the
/// pending refreshes and closes the database.
pub(crate) async fn run(listener: TcpListener, state: Arc<State>, stop: watch::Receiver<bool>) {
    let flusher = tokio::spawn(flush_every_second(state.clone(), stop.clone()));
    accept_loop(listener, state.clone(), stop).await;
    let _ = flusher.await;
    if let Err(err) = state.flush(false).await {
        tracing::warn!(error = ?err.errors, "final flush failed");
    }
    let _ = tokio::task::spawn_blocking(move || state.store.close()).await;
    tracing::info!("stopped");
}

/// Resolves once a stop is asked (or the handle that could ask is gone).
async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

async fn accept_loop(listener: TcpListener, state: Arc<State>, stop: watch::Receiver<bool>) {
    let stop = stopped(stop);
    tokio::pin!(stop);
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new()).keep_alive(true);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, remote)) => {
                    // Small request/response pairs: don't wait for Nagle.
                    let _ = stream.set_nodelay(true);
                    let Ok(local) = stream.local_addr() else { continue };
                    let connection = router::Connection { remote, local };
                    let state = state.clone();
                    let service = service_fn(move |req| {
                        let state = state.clone();
                        async move {
                            Ok::<_, Infallible>(router::handle(state, req, connection).await)
                        }
                    });
                    let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
                    tokio::spawn(async move {
                        if let Err(err) = conn.await {
                            tracing::debug!(error = %err, "connection ended with an error");
                        }
                    });
                }
                Err(err) => {
                    // Usually out of file descriptors: back off, keep serving.
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            () = &mut stop => break,
        }
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some connections did not finish in time");
    }
}

async fn flush_every_second(state: Arc<State>, stop: watch::Receiver<bool>) {
    let stop = stopped(stop);
    tokio::pin!(stop);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut ticks: u64 = 0;
    loop {
        tokio::select! {
            _ = tick.tick() => {
                ticks += 1;
                if let Err(err) = state.flush(ticks.is_multiple_of(SWEEP_EVERY_TICKS)).await {
                    tracing::warn!(error = ?err.errors, "flush failed");
                }
            }
            () = &mut stop => break,
        }
    }
}
