//! A hundred tasks on an expired session: one restore, all succeed.

use cube_async::proto::ops::Access;
use cube_async::{Client, Credentials};
use cube_test_support::fake::{FakeServer, Probe, Reply};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_tasks_one_restore() {
    let sessions = Arc::new(AtomicUsize::new(0));
    let made = sessions.clone();
    let server = FakeServer::start(move |req| {
        if req.path == "/session" {
            let n = made.fetch_add(1, Ordering::SeqCst) + 1;
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
    // The client's clock runs three hours ahead once `later` is set.
    let later = Arc::new(AtomicBool::new(false));
    let ahead = later.clone();
    let client = Client::builder(1, "key")
        .base_url(server.url())
        .clock(move || {
            let now = time::OffsetDateTime::now_utc();
            if ahead.load(Ordering::SeqCst) {
                now + time::Duration::hours(3)
            } else {
                now
            }
        })
        .restore(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            async { Some(Credentials::login("user", "password1")) }
        })
        .build()
        .unwrap();
    client
        .create_session(Credentials::login("user", "password1"))
        .await
        .unwrap();
    later.store(true, Ordering::SeqCst);
    assert_eq!(client.session_status(), cube_async::SessionStatus::Expired);
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.execute(Probe(Access::Write)).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(
        sessions.load(Ordering::SeqCst),
        2,
        "the first session and one restore"
    );
    assert_eq!(restores.load(Ordering::SeqCst), 1, "one restore callback");
    let probes: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.path == "/probe")
        .collect();
    assert_eq!(probes.len(), 100);
    assert!(probes.iter().all(|r| r.header("CB-Token") == Some("t2")));
}
