//! Many threads on a missing session cause one restore, not one each.

use cube_blocking::proto::ops::Access;
use cube_blocking::{Client, Credentials};
use cube_test_support::fake::{FakeServer, Probe, Reply};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};

#[test]
fn forty_threads_one_restore() {
    let sessions = Arc::new(AtomicUsize::new(0));
    let made = sessions.clone();
    let server = FakeServer::start(move |req| {
        if req.path == "/session" {
            let n = made.fetch_add(1, Ordering::SeqCst) + 1;
            // Slow enough that every thread arrives while the restore is on.
            std::thread::sleep(std::time::Duration::from_millis(50));
            Reply::new(
                201,
                &format!(r#"{{"session":{{"id":{n},"user_id":3,"token":"t{n}"}}}}"#),
            )
        } else {
            Reply::new(200, "")
        }
    });
    let restores = Arc::new(AtomicUsize::new(0));
    let counter = restores.clone();
    let client = Client::builder(1, "key")
        .base_url(server.url())
        .restore(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            Some(Credentials::login("user", "password1"))
        })
        .build()
        .unwrap();
    let barrier = Arc::new(Barrier::new(40));
    let handles: Vec<_> = (0..40)
        .map(|_| {
            let (client, barrier) = (client.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                client.execute(Probe(Access::Write))
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap().unwrap();
    }
    assert_eq!(sessions.load(Ordering::SeqCst), 1);
    assert_eq!(restores.load(Ordering::SeqCst), 1);
    let probes = server
        .requests()
        .into_iter()
        .filter(|r| r.path == "/probe")
        .collect::<Vec<_>>();
    assert_eq!(probes.len(), 40);
    assert!(probes.iter().all(|r| r.header("CB-Token") == Some("t1")));
}
