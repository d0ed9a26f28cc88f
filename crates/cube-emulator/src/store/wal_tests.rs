//! The write-ahead log starts over, and so stays small, while writes never
//! pause (a load test signing users in for an hour must not fill the disk).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::Store;
use super::apps;

/// Unbroken writing, long enough for several checkpoint rounds.
const WRITING: Duration = Duration::from_secs(3);
/// Writers queueing at once, so the writer thread never waits for work.
const WRITERS: usize = 8;

struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The WAL header's checkpoint sequence number (bytes 12..16, big-endian):
/// SQLite raises it each time the log starts over from its first frame.
fn restarts(wal: &Path) -> Option<u32> {
    let bytes = std::fs::read(wal).ok()?;
    Some(u32::from_be_bytes(bytes.get(12..16)?.try_into().ok()?))
}

#[test]
fn the_log_starts_over_while_writes_never_pause() {
    let dir = Dir(std::env::temp_dir().join(format!(
        "cube-emulator-wal-{}-{}",
        std::process::id(),
        crate::crypto::hex(&crate::crypto::random_bytes::<4>().unwrap())
    )));
    let store = Arc::new(Store::open(Some(&dir.0)).unwrap());
    let wal = dir.0.join("emulator.sqlite3-wal");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));

    // A reader that never stops either, as in a real load.
    let reader = {
        let (store, stop) = (Arc::clone(&store), Arc::clone(&stop));
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                store
                    .read(|db| Ok(apps::load_all(db)?.len()))
                    .expect("read");
            }
        })
    };
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (store, stop) = (Arc::clone(&store), Arc::clone(&stop));
            runtime.spawn(async move {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let nonce = format!("{w}-{n}");
                    store
                        .write(move |db| apps::use_nonce(db, 1, &nonce, 0, 0, 1 << 40))
                        .await
                        .expect("write");
                    n += 1;
                }
                n
            })
        })
        .collect();

    std::thread::sleep(Duration::from_millis(200));
    let first = restarts(&wal).expect("a WAL once writing has begun");
    let mut largest = 0;
    let started = Instant::now();
    while started.elapsed() < WRITING {
        largest = largest.max(std::fs::metadata(&wal).map_or(0, |m| m.len()));
        std::thread::sleep(Duration::from_millis(20));
    }
    let last = restarts(&wal).expect("the WAL");
    stop.store(true, Ordering::Relaxed);
    let written: u64 = writers
        .into_iter()
        .map(|w| runtime.block_on(w).unwrap())
        .sum();
    reader.join().unwrap();

    assert!(
        written > 1000,
        "only {written} writes: the test proves nothing"
    );
    eprintln!(
        "{written} writes; the log started over {} times and was at most {largest} bytes",
        last.wrapping_sub(first)
    );
    assert!(
        last.wrapping_sub(first) >= 2,
        "the log started over {} times in {WRITING:?} of {written} writes (largest {largest} bytes)",
        last.wrapping_sub(first)
    );
    assert!(
        largest < 64 << 20,
        "the log grew to {largest} bytes for {written} writes"
    );
}
