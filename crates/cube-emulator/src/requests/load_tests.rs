//! The request log under load, over real connections: however many
//! requests come, and however long their paths, it holds at most its
//! capacity and its memory stays under its ceiling. Bounded in requests
//! and in time.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::RequestLog;
use crate::limits::LOGGED_PATH_MAX_BYTES;
use crate::{Emulator, EmulatorConfig};

const CAPACITY: usize = 300;
const CLIENTS: usize = 8;
/// At most this many requests are sent…
const REQUESTS_MAX: usize = 20_000;
/// …and for at most this long.
const TIME_MAX: Duration = Duration::from_secs(20);
const SECRET: &str = "f00dfacef00dfacef00dfacef00dfacef00dface";

#[test]
fn the_log_stays_bounded_under_load() {
    let emulator = Emulator::start_blocking(EmulatorConfig {
        request_log: CAPACITY,
        ..EmulatorConfig::default()
    })
    .unwrap();
    let base = emulator.base_url().to_owned();
    let state = emulator.state.clone();
    let sent = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let filler = "x".repeat(2 * LOGGED_PATH_MAX_BYTES);
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (base, sent, filler) = (base.clone(), sent.clone(), filler.clone());
            std::thread::spawn(move || {
                let agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .build()
                    .new_agent();
                loop {
                    let i = sent.fetch_add(1, Ordering::SeqCst);
                    if i >= REQUESTS_MAX || started.elapsed() > TIME_MAX {
                        sent.fetch_sub(1, Ordering::SeqCst);
                        return;
                    }
                    let url = format!("{base}/blobs/{i}?token={SECRET}&filler={filler}");
                    let status = agent.get(&url).call().map(|r| r.status().as_u16());
                    assert_eq!(status.ok(), Some(401), "request {i}");
                }
            })
        })
        .collect();
    // The most memory the log held while the load went on.
    let sampler = {
        let (state, done) = (state.clone(), done.clone());
        std::thread::spawn(move || {
            let mut most = 0;
            while !done.load(Ordering::SeqCst) {
                most = most.max(state.requests.memory_bytes());
                std::thread::sleep(Duration::from_millis(20));
            }
            most.max(state.requests.memory_bytes())
        })
    };
    for client in clients {
        client.join().unwrap();
    }
    done.store(true, Ordering::SeqCst);
    let most = sampler.join().unwrap();
    let total = sent.load(Ordering::SeqCst);
    assert!(
        total > 10 * CAPACITY,
        "only {total} requests in {TIME_MAX:?}"
    );

    let log = &state.requests;
    assert_eq!(log.len(), CAPACITY);
    let ceiling = RequestLog::memory_ceiling(CAPACITY);
    assert!(most <= ceiling, "the log held {most} bytes, over {ceiling}");
    let page = log.page(0, None, CAPACITY);
    // Every request was logged; the newest are kept, in order.
    assert_eq!(page.last, u64::try_from(total).unwrap());
    let seqs: Vec<u64> = page.items.iter().map(|e| e.seq).collect();
    let expected: Vec<u64> = (page.last + 1 - CAPACITY as u64..=page.last)
        .rev()
        .collect();
    assert_eq!(seqs, expected);
    for entry in &page.items {
        assert!(entry.path.len() <= LOGGED_PATH_MAX_BYTES, "{}", entry.path);
        assert!(entry.path.contains("token=[redacted]"), "{}", entry.path);
        assert!(!entry.path.contains(SECRET));
        assert_eq!(entry.status, 401);
        assert!(entry.session.is_some());
    }
    println!(
        "{total} requests in {:.1} s; the log held at most {most} bytes (ceiling {ceiling})",
        started.elapsed().as_secs_f64()
    );
}
