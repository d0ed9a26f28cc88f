//! Facebook and Twitter: create a session with a provider token, and sign an
//! application session in with one. Against a real server, set
//! CUBE_FACEBOOK_TOKEN, CUBE_TWITTER_TOKEN and CUBE_TWITTER_SECRET; against the
//! in-process emulator, fake accounts are registered first.

use cube_blocking::{Credentials, SessionStatus};
use cube_examples::{Target, step};
use serde_json::json;
use std::error::Error;

fn main() -> Result<(), Box<dyn Error>> {
    let target = Target::from_env()?;
    let fb_token = target.env_or("CUBE_FACEBOOK_TOKEN", |admin| {
        let token = target.unique("fb-token-");
        admin.post(
            "/providers/facebook/tokens",
            json!({"token": token, "id": target.unique("1000"), "name": "Faye Book"}),
        )?;
        Ok(token)
    })?;
    let (tw_token, tw_secret) = match (
        std::env::var("CUBE_TWITTER_TOKEN"),
        std::env::var("CUBE_TWITTER_SECRET"),
    ) {
        (Ok(t), Ok(s)) => (t, s),
        _ => {
            let admin = target
                .admin()
                .ok_or("CUBE_TWITTER_TOKEN and CUBE_TWITTER_SECRET must be set")?;
            let (t, s) = (target.unique("tw-token-"), target.unique("tw-secret-"));
            admin.post(
                "/providers/twitter/tokens",
                json!({"token": t, "secret": s, "id": target.unique("2000"), "name": "Tweety"}),
            )?;
            (t, s)
        }
    };
    let client = target.blocking().build()?;

    step(
        1,
        "create a user session with a Facebook token (the first one signs the user up)",
    );
    let session = client.create_session(Credentials::facebook(fb_token.clone()))?;
    let user = session.user.ok_or("no user in the session")?;
    println!(
        "    user {} with facebook_id {:?}",
        user.id, user.facebook_id
    );

    step(2, "the same token later finds the same user");
    let again = target.blocking().build()?;
    again.create_session(Credentials::facebook(fb_token))?;
    println!(
        "    same user: {}",
        again.current_user_id() == Some(user.id)
    );

    step(3, "sign an application session in with Twitter");
    let tw = target.blocking().build()?;
    tw.create_application_session()?;
    let tw_user = tw.sign_in(Credentials::twitter(tw_token, tw_secret))?;
    assert_eq!(tw.session_status(), SessionStatus::User);
    println!(
        "    user {} with twitter_id {:?}",
        tw_user.id, tw_user.twitter_id
    );

    step(4, "an unknown token is refused with 401");
    let err = target
        .blocking()
        .build()?
        .create_session(Credentials::facebook("not-a-real-token"))
        .unwrap_err();
    println!("    {:?}", err.status());
    if err.status().map(|s| s.as_u16()) != Some(401) {
        return Err(format!("expected 401, got {err}").into());
    }
    println!("social_login finished");
    Ok(())
}
