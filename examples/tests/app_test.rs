//! How an application tests its own session handling against the
//! emulator, in milliseconds instead of the two idle hours a token lives:
//! `cube_emulator::testing` starts an emulator in one line, seeds a user,
//! ends the app's session on purpose (or moves the clock), and shows what
//! the app sent. One test per adapter: the blocking client with
//! `TestEmulator`, the async client with `AsyncTestEmulator` in a
//! `#[tokio::test]`.

use cube_emulator::testing::{AsyncTestEmulator, SeedUser, TestEmulator};
use std::error::Error;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

const LOGIN: &str = "app_test_ann";
const PASSWORD: &str = "app-test-password";

#[test]
fn the_blocking_app_restores_its_session_when_it_expires() -> Result<(), Box<dyn Error>> {
    let emulator = TestEmulator::start()?;
    let ann = u64::try_from(emulator.seed_user(SeedUser::with_login(LOGIN, PASSWORD))?)?;

    // The app: a client whose restore callback signs Ann in again.
    let restores = Arc::new(AtomicUsize::new(0));
    let counter = restores.clone();
    let client =
        cube_blocking::Client::builder(u64::try_from(emulator.app_id())?, emulator.auth_key())
            .base_url(emulator.base_url())
            .restore(move || {
                counter.fetch_add(1, Ordering::SeqCst);
                Some(cube_blocking::Credentials::login(LOGIN, PASSWORD))
            })
            .build()?;
    client.create_session(cube_blocking::Credentials::login(LOGIN, PASSWORD))?;
    let first = client.session_info()?.id;

    // The session ends now, as two idle hours would end it.
    emulator.expire_session(i64::try_from(first)?)?;
    let seen = emulator.requests()?.first().map_or(0, |r| r.seq);
    let user = client.get_user(ann)?.ok_or("Ann is gone")?;
    assert_eq!(user.login.as_deref(), Some(LOGIN));
    assert_eq!(restores.load(Ordering::SeqCst), 1, "one restore");
    let second = client.session_info()?.id;
    assert_ne!(second, first, "a new session");

    // What the app sent, oldest first: the call refused with the old
    // session, the restore's new session, the call again.
    let sent: Vec<(String, u16)> = emulator
        .requests_since(seen)?
        .into_iter()
        .rev()
        .map(|r| (r.method, r.status))
        .collect();
    let expected: Vec<(String, u16)> = [("GET", 401), ("POST", 201), ("GET", 200), ("GET", 200)]
        .map(|(m, s)| (m.to_owned(), s))
        .to_vec();
    assert_eq!(sent, expected);

    // The clock does it too: two hours and a second later, one more.
    emulator.advance_clock(2 * 3600 + 1)?;
    client.get_user(ann)?.ok_or("Ann is gone")?;
    assert_eq!(restores.load(Ordering::SeqCst), 2);
    assert_eq!(emulator.sessions_of_user(i64::try_from(ann)?)?.len(), 1);
    Ok(())
}

#[tokio::test]
async fn the_async_app_restores_its_session_when_it_expires() -> Result<(), Box<dyn Error>> {
    let emulator = AsyncTestEmulator::start().await?;
    let ann = u64::try_from(
        emulator
            .seed_user(SeedUser::with_login(LOGIN, PASSWORD))
            .await?,
    )?;

    let restores = Arc::new(AtomicUsize::new(0));
    let counter = restores.clone();
    let client =
        cube_async::Client::builder(u64::try_from(emulator.app_id())?, emulator.auth_key())
            .base_url(emulator.base_url())
            .restore(move || {
                counter.fetch_add(1, Ordering::SeqCst);
                async { Some(cube_async::Credentials::login(LOGIN, PASSWORD)) }
            })
            .build()?;
    client
        .create_session(cube_async::Credentials::login(LOGIN, PASSWORD))
        .await?;

    // Every session of the application ends at once; two tasks find it
    // dead together and share one restore.
    assert_eq!(emulator.expire_all_sessions().await?, 1);
    let other = client.clone();
    let (one, two) = tokio::join!(client.get_user(ann), other.get_user(ann));
    assert!(one?.is_some() && two?.is_some());
    assert_eq!(restores.load(Ordering::SeqCst), 1);
    assert_eq!(emulator.sessions().await?.len(), 1);
    emulator.stop().await;
    Ok(())
}
