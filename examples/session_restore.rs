//! Automatic session restore with the async client: a callback supplies the
//! credentials whenever the session is missing, expired or rejected, and the
//! failed call is retried once. Many tasks on a dead session share one
//! restore.

use cube_async::{Credentials, NewUser, SessionStatus};
use cube_examples::{Target, step};
use std::error::Error;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let target = Target::from_env()?;
    let login = target.unique("restore");
    let restores = Arc::new(AtomicUsize::new(0));

    step(1, "a client whose restore callback signs the user in again");
    let counter = restores.clone();
    let callback_login = login.clone();
    let client = target
        .asynchronous()
        .restore(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            let login = callback_login.clone();
            async move { Some(Credentials::login(login, "restore-password")) }
        })
        .build()?;
    let user = client
        .sign_up(NewUser::with_login(&login, "restore-password"))
        .await?;
    println!(
        "    user {} signed up; session: {:?}",
        user.id,
        client.session_status()
    );

    step(
        2,
        "the first read has no session: the callback provides one",
    );
    client.get_user(user.id).await?.ok_or("missing")?;
    println!(
        "    {:?} after {} restore(s)",
        client.session_status(),
        restores.load(Ordering::SeqCst)
    );

    step(3, "another device destroys every other session of the user");
    let other = target.asynchronous().build()?;
    other
        .create_session(Credentials::login(&login, "restore-password"))
        .await?;
    other.destroy_other_sessions().await?;
    println!(
        "    this client still believes its session is valid: {}",
        client.is_session_valid()
    );

    step(
        4,
        "ten tasks read at once: the server says 401, one restore serves them all",
    );
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.get_user(user.id).await })
        })
        .collect();
    for task in tasks {
        task.await??.ok_or("missing")?;
    }
    let total = restores.load(Ordering::SeqCst);
    println!("    all ten succeeded; restores so far: {total}");
    if total != 2 {
        return Err(format!("expected 2 restores, saw {total}").into());
    }
    assert_eq!(client.session_status(), SessionStatus::User);

    println!("session_restore finished");
    Ok(())
}
