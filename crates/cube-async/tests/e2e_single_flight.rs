//! A hundred tasks on an expired session, against the emulator: exactly one
//! session is created, and every call succeeds.

use cube_async::{Client, Credentials, NewUser, SessionStatus};
use cube_test_support::harness::Harness;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_tasks_on_an_expired_session_make_one_session() {
    let h = Harness::start();
    let restores = Arc::new(AtomicUsize::new(0));
    let counter = restores.clone();
    let client = Client::builder(h.app_id(), h.auth_key())
        .auth_secret(h.auth_secret())
        .base_url(h.base_url())
        .clock(h.clock())
        .restore(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            async { Some(Credentials::login("ivy0001", "password-ivy")) }
        })
        .build()
        .unwrap();
    let me = client
        .sign_up(NewUser::with_login("ivy0001", "password-ivy"))
        .await
        .unwrap()
        .id;
    let first = client
        .create_session(Credentials::login("ivy0001", "password-ivy"))
        .await
        .unwrap();

    h.advance(2 * 3600 + 60);
    assert_eq!(client.session_status(), SessionStatus::Expired);
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.get_user(me).await })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap().unwrap().id, me);
    }
    assert_eq!(restores.load(Ordering::SeqCst), 1);
    // The emulator numbers sessions in order: the restored one is the next
    // after the first, and a session made now is the one after that — so
    // exactly one session was created for the hundred calls.
    let restored = client.session_info().await.unwrap();
    assert_eq!(restored.id, first.id + 1);
    let probe = Client::builder(h.app_id(), h.auth_key())
        .base_url(h.base_url())
        .build()
        .unwrap();
    assert_eq!(
        probe.create_application_session().await.unwrap().id,
        first.id + 2
    );
}
