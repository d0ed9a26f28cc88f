//! The hyper wiring: accept connections, serve HTTP/1.1 with keep-alive,
//! flush read refreshes every second, and stop gracefully.

use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::dataset::{self, ExportError};
use crate::router;
use crate::state::State;

use crate::limits::{DRAIN_TIMEOUT, FLUSH_EVERY, SWEEP_EVERY_TICKS};

/// Serves until `stop` turns true, then drains connections, writes the
/// pending refreshes, saves the data set `export_on_exit` asks for and
/// closes the database. Returns the export's failure, if any.
pub(crate) async fn run(
    listener: TcpListener,
    state: Arc<State>,
    stop: watch::Receiver<bool>,
    export_on_exit: Option<PathBuf>,
) -> Result<(), ExportError> {
    let flusher = tokio::spawn(flush_every_second(state.clone(), stop.clone()));
    accept_loop(listener, state.clone(), stop).await;
    let _ = flusher.await;
    if let Err(err) = state.flush(false).await {
        tracing::warn!(error = ?err.errors, "final flush failed");
    }
    let mut result = Ok(());
    if let Some(dir) = export_on_exit {
        result = dataset::export(&state, dir.clone()).await.map(|counts| {
            tracing::info!(dir = %dir.display(), ?counts, "exported on exit");
        });
        if let Err(err) = &result {
            tracing::error!(error = %err, "export on exit failed");
        }
    }
    let _ = tokio::task::spawn_blocking(move || state.store.close()).await;
    tracing::info!("stopped");
    result
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
                Ok((stream, peer)) => {
                    // Small request/response pairs: don't wait for Nagle.
                    let _ = stream.set_nodelay(true);
                    let state = state.clone();
                    let service = service_fn(move |req| {
                        let state = state.clone();
                        async move { Ok::<_, Infallible>(router::handle(state, req, peer).await) }
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
    let mut tick = tokio::time::interval(FLUSH_EVERY);
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
