//! Firebase phone and Firebase e-mail/Google: a Firebase ID token creates a
//! session, and the Firebase user id links later sign-ins. Against a real
//! server set CUBE_FIREBASE_PROJECT and CUBE_FIREBASE_PHONE_TOKEN /
//! CUBE_FIREBASE_EMAIL_TOKEN; against the in-process emulator the example
//! mints unsigned tokens of the Firebase Auth Emulator's shape.

use cube_blocking::Credentials;
use cube_examples::{Target, step, unsigned_firebase_token};
use serde_json::json;
use std::error::Error;

fn main() -> Result<(), Box<dyn Error>> {
    let target = Target::from_env()?;
    let project = std::env::var("CUBE_FIREBASE_PROJECT").unwrap_or_else(|_| "cube-demo".into());
    let phone = format!("+1555{}", &target.unique("")[..7]);
    let phone_token = target.env_or("CUBE_FIREBASE_PHONE_TOKEN", |_| {
        Ok(unsigned_firebase_token(
            &project,
            json!({"sub": target.unique("phone-uid-"), "phone_number": phone}),
        ))
    })?;
    let email = format!("{}@example.com", target.unique("fire"));
    let email_uid = target.unique("email-uid-");
    let email_token = target.env_or("CUBE_FIREBASE_EMAIL_TOKEN", |_| {
        Ok(unsigned_firebase_token(
            &project,
            json!({"sub": email_uid, "email": email, "email_verified": true}),
        ))
    })?;

    step(1, "create a session with a Firebase phone ID token");
    let client = target.blocking().build()?;
    let session = client.create_session(Credentials::firebase_phone(&project, phone_token))?;
    let user = session.user.ok_or("no user in the session")?;
    println!("    user {} with phone {:?}", user.id, user.phone);

    step(
        2,
        "sign an application session in with a Firebase e-mail/Google ID token",
    );
    let other = target.blocking().build()?;
    other.create_application_session()?;
    let email_user = other.sign_in(Credentials::firebase_email(&project, email_token.clone()))?;
    println!(
        "    user {} with e-mail {:?}",
        email_user.id, email_user.email
    );

    step(3, "the same Firebase user signs in again as the same user");
    let again = target.blocking().build()?;
    again.create_session(Credentials::firebase_email(&project, email_token))?;
    if again.current_user_id() != Some(email_user.id) {
        return Err("the Firebase user id did not link the account".into());
    }
    println!("    same user: true");

    step(4, "a token for another project is refused");
    let wrong = unsigned_firebase_token(
        "someone-else",
        json!({"sub": "x", "phone_number": "+15550000"}),
    );
    let err = target
        .blocking()
        .build()?
        .create_session(Credentials::firebase_phone(&project, wrong))
        .unwrap_err();
    println!("    {:?}", err.status());
    if err.status().map(|s| s.as_u16()) != Some(401) {
        return Err(format!("expected 401, got {err}").into());
    }
    println!("firebase_login finished");
    Ok(())
}
