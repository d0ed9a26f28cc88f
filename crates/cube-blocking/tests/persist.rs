//! Sessions that live as long as the app, through the blocking client:
//! resumed in another process, adopted, every change heard. The suite is
//! shared with cube-async; the many-threads test is this adapter's own.

cube_test_support::persist_suite!(cube_blocking, #[test]);

#[test]
fn forty_threads_on_an_expired_session_hear_one_expiry_and_one_restore() {
    let h = Harness::start();
    client_for(&h)
        .build()
        .unwrap()
        .sign_up(NewUser::with_login(LOGIN, PASSWORD))
        .unwrap();
    let (events, listener) = recorder();
    let client = client_for(&h)
        .restore(|| restore_with(Credentials::login(LOGIN, PASSWORD)))
        .on_session_change(listener)
        .build()
        .unwrap();
    let me = client
        .create_session(Credentials::login(LOGIN, PASSWORD))
        .unwrap()
        .user_id
        .unwrap();
    assert_eq!(
        changes(&events),
        [SessionChange::Created(SessionKind::User)]
    );
    h.advance(2 * 3600 + 60);
    let barrier = Arc::new(std::sync::Barrier::new(40));
    let threads: Vec<_> = (0..40)
        .map(|_| {
            let (client, barrier) = (client.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                client.get_user(me)
            })
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap().unwrap().unwrap().id, me);
    }
    assert_eq!(
        changes(&events),
        [
            SessionChange::Expired(ExpiredBy::Clock),
            SessionChange::Restored
        ]
    );
}
