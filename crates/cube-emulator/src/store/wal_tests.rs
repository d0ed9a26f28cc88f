//! The write-ahead log starts over, and so stays small, while writes never
//! pause (a load test signing users in for an hour must not fill the disk).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::apps;
use super::{CHECKPOINT_EVERY, Store, WAL_KEEP_BYTES};

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

    // How large the log grows between two restarts depends on how often
    // the checkpointer gets a core: on a busy machine it has reached 98 MB
    // in this test. What must hold whatever the load: once the writes let
    // it, the log is cut back to the size kept. A checkpoint round copies
    // what the writes left, the next write's batch copies the rest, and
    // the write after that starts the log over and truncates it.
    std::thread::sleep(CHECKPOINT_EVERY + CHECKPOINT_EVERY / 2);
    for nonce in ["after-1", "after-2"] {
        runtime
            .block_on(store.write(move |db| apps::use_nonce(db, 1, nonce, 0, 0, 1 << 40)))
            .expect("write");
    }
    let after = std::fs::metadata(&wal).map_or(0, |m| m.len());
    assert!(
        after <= WAL_KEEP_BYTES.unsigned_abs(),
        "the log is {after} bytes once writes allow a restart (largest {largest}); \
         it is kept at {WAL_KEEP_BYTES} at most"
    );
    assert!(
        restarts(&wal).expect("the WAL") != last,
        "the log did not start over after the writes stopped"
    );
}
