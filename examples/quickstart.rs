//! The main flow of the SDK, step by step, with the blocking client:
//! application session → sign up → sign in → profile update → password
//! change → avatar → look-ups → sign out → destroy.
//!
//! `cargo run -p cube-examples --example quickstart` runs it against an
//! in-process emulator; set CUBE_API_URL, CUBE_APP_ID, CUBE_AUTH_KEY and
//! CUBE_AUTH_SECRET to run it against another server.

use cube_blocking::{Credentials, NewUser, SessionStatus, UserUpdate};
use cube_examples::{Target, step};
use std::error::Error;

fn main() -> Result<(), Box<dyn Error>> {
    let target = Target::from_env()?;
    let client = target.blocking().build()?;
    let login = target.unique("quick");
    let email = format!("{login}@example.com");

    step(1, "create an application session (read-only)");
    let app = client.create_application_session()?;
    println!("    session {} ({:?})", app.id, client.session_status());

    step(2, "sign up a user");
    let user = client.sign_up(NewUser::with_login(&login, "first-password").email(&email))?;
    println!("    user {} signed up as {login}", user.id);

    step(3, "sign in: the application session becomes a user session");
    client.sign_in(Credentials::login(&login, "first-password"))?;
    assert_eq!(client.session_status(), SessionStatus::User);
    println!(
        "    signed in; the session is valid until {:?}",
        client.session_expires_at()
    );

    step(4, "update the profile");
    let user = client.update_user(
        UserUpdate::new()
            .full_name("Quinn Start")
            .phone("+15550100")
            .tags(["quickstart"]),
    )?;
    println!(
        "    {:?}, {:?}, tags {:?}",
        user.full_name, user.phone, user.user_tags
    );

    step(5, "change the password (the old one is required)");
    client.change_password("first-password", "second-password")?;
    println!(
        "    password changed; the session stays valid: {}",
        client.is_session_valid()
    );

    step(
        6,
        "set an avatar: upload, complete, link to the user, build its URL",
    );
    let png = b"\x89PNG\r\n\x1a\n (a tiny stand-in image)".to_vec();
    let (blob, user) = client.set_avatar("image/png", "avatar.png", png)?;
    let uid = blob.uid.as_deref().unwrap_or_default();
    println!(
        "    avatar {uid} is the user's: {}",
        user.avatar.as_deref() == Some(uid)
    );
    client
        .blob_private_url(uid)?
        .ok_or("the session is not valid: no private URL")?;
    println!("    private URL built (it carries the token, so it is not printed)");

    step(7, "look users up");
    let by_id = client
        .get_user(user.id)?
        .ok_or("the user was not found by id")?;
    let by_login = client
        .get_user_by_login(&login)?
        .ok_or("not found by login")?;
    let by_email = client
        .get_user_by_email(&email)?
        .ok_or("not found by e-mail")?;
    let by_name = client.find_users_by_full_name("Quinn Start")?;
    let by_tag = client.find_users_by_tags(["quickstart"])?;
    println!(
        "    by id {}, by login {}, by e-mail {}, {} by full name, {} tagged",
        by_id.id, by_login.id, by_email.id, by_name.total_entries, by_tag.total_entries
    );

    step(8, "sign out: back to an application session");
    client.sign_out()?;
    println!("    {:?}", client.session_status());

    step(9, "destroy the session");
    client.destroy_session()?;
    println!("    {:?}", client.session_status());

    println!("quickstart finished");
    Ok(())
}
