//! The hyper wiring: accept connections, serve HTTP/1.1 with keep-alive,
//! flush read refreshes every second, and stop gracefully.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::conns::{Connections, Tracked};
use crate::dataset::{self, ExportError};
use crate::router;
use crate::state::State;

use crate::limits::{CONNECTION_BUFFER, DRAIN_TIMEOUT, FLUSH_EVERY, SWEEP_EVERY_TICKS};

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
        tracing::warn!(error = %err, "final flush failed");
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
    let connections = Arc::new(Connections::new(state.intake.limits.connection_cap()));
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .keep_alive(true)
        .max_buf_size(CONNECTION_BUFFER);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, remote)) => {
                    // Full: the connection that has waited longest on its
                    // client makes room; if all are busy, this one is told so.
                    if !connections.make_room() {
                        refuse(&stream, state.clock.now());
                        continue;
                    }
                    // Small request/response pairs: don't wait for Nagle.
                    let _ = stream.set_nodelay(true);
                    let Ok(local) = stream.local_addr() else { continue };
                    let registration = connections.register();
                    let activity = registration.activity.clone();
                    let connection = router::Connection {
                        remote,
                        local,
                        activity: Some(activity.clone()),
                    };
                    let state = state.clone();
                    let service = service_fn(move |req| {
                        let (state, connection) = (state.clone(), connection.clone());
                        async move {
                            let activity = connection.activity.clone();
                            if let Some(activity) = &activity {
                                activity.handling(true);
                            }
                            let response = router::handle(state, req, connection).await;
                            if let Some(activity) = &activity {
                                activity.handling(false);
                            }
                            router::fault_hook::on_the_wire(response)
                        }
                    });
                    let io = TokioIo::new(Tracked::new(stream, activity));
                    let conn = graceful.watch(http.serve_connection(io, service));
                    tokio::spawn(async move {
                        tokio::select! {
                            result = conn => if let Err(err) = result {
                                tracing::debug!(error = %err, "connection ended with an error");
                            },
                            () = registration.activity.closed() => {
                                tracing::debug!("connection closed to make room for another");
                            }
                        }
                        drop(registration);
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
    // Requests a fault delays go on now, so the drain below can end.
    state.faults.stop_waiting();
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some connections did not finish in time");
    }
}

/// Tells a client the emulator is full (without waiting on it) and
/// closes its connection; `now` is the emulator clock's, for `Date`.
fn refuse(stream: &tokio::net::TcpStream, now: i64) {
    const BODY: &str = r#"{"errors":{"base":["Too many connections; try again shortly"]}}"#;
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json; charset=utf-8\r\n\
         date: {}\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{BODY}",
        crate::clock::format_http_date(now),
        BODY.len()
    );
    let _ = stream.try_write(answer.as_bytes());
    // Said once a second at most: under a flood this would be every line.
    static LAST_WARNED: AtomicU64 = AtomicU64::new(0);
    let second = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    if LAST_WARNED.swap(second, Ordering::Relaxed) != second {
        tracing::warn!("refusing connections: every connection is busy (see --max-connections)");
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
                    tracing::warn!(error = %err, "flush failed");
                }
            }
            () = &mut stop => break,
        }
    }
}
