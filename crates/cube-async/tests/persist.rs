//! Sessions that live as long as the app, through the async client: resumed
//! in another process, adopted, every change heard. The suite is shared with
//! cube-blocking; the hundred-tasks test is this adapter's own.

cube_test_support::persist_suite!(
    cube_async,
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async await
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_tasks_on_an_expired_session_hear_one_expiry_and_one_restore() {
    let h = Harness::start();
    client_for(&h)
        .build()
        .unwrap()
        .sign_up(NewUser::with_login(LOGIN, PASSWORD))
        .await
        .unwrap();
    let restores = Arc::new(AtomicUsize::new(0));
    let counter = restores.clone();
    let (events, listener) = recorder();
    let client = client_for(&h)
        .restore(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            restore_with(Credentials::login(LOGIN, PASSWORD))
        })
        .on_session_change(listener)
        .build()
        .unwrap();
    let first = client
        .create_session(Credentials::login(LOGIN, PASSWORD))
        .await
        .unwrap();
    let me = first.user_id.unwrap();
    assert_eq!(
        changes(&events),
        [SessionChange::Created(SessionKind::User)]
    );
    h.advance(2 * 3600 + 60);
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
    assert_eq!(
        changes(&events),
        [
            SessionChange::Expired(ExpiredBy::Clock),
            SessionChange::Restored
        ],
        "exactly one restored event for a hundred calls"
    );
    assert_eq!(
        next_session_id(&h).await,
        first.id + 2,
        "one restore session"
    );
}
