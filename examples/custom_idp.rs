//! The application's own identity provider (CIdP): the server asks the IdP
//! whether a token is good and signs the user in. Against the in-process
//! emulator this example runs a tiny IdP itself and points the application's
//! `cidp` setting at it; against a real server, configure CIdP in its admin
//! panel and set CUBE_CIDP_TOKEN.

use cube_blocking::Credentials;
use cube_examples::{Target, step};
use serde_json::json;
use std::error::Error;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;

/// A one-route IdP: `GET /verify?token=good-<uid>` answers that user.
fn start_idp() -> Result<String, Box<dyn Error>> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}/verify", listener.local_addr()?);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(&stream);
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let token = line
                .split_whitespace()
                .nth(1)
                .and_then(|p| p.split("token=").nth(1))
                .unwrap_or("");
            let answer = match token.strip_prefix("good-") {
                Some(uid) => (
                    200,
                    json!({"user": {"id": uid, "name": "From the IdP"}}).to_string(),
                ),
                None => (401, json!({"error": "unknown token"}).to_string()),
            };
            let mut stream = &stream;
            let _ = write!(
                stream,
                "HTTP/1.1 {} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
                answer.0,
                answer.1.len(),
                answer.1
            );
        }
    });
    Ok(url)
}

fn main() -> Result<(), Box<dyn Error>> {
    let target = Target::from_env()?;
    let token = target.env_or("CUBE_CIDP_TOKEN", |admin| {
        let url = start_idp()?;
        admin.settings(json!({"cidp": {
            "url": url,
            "request_params": {"token": "#{login}"},
            "response_params": {"uid": "#{user.id}"},
        }}))?;
        Ok(format!("good-{}", target.unique("ext")))
    })?;
    let client = target.blocking().build()?;

    step(1, "create a session with the external token as the login");
    let session = client.create_session(Credentials::custom_idp(token.clone()))?;
    let user = session.user.ok_or("no user in the session")?;
    println!(
        "    user {} with external_id {:?}",
        user.id, user.external_id
    );

    step(
        2,
        "upgrade an application session with the same token: the same user",
    );
    let other = target.blocking().build()?;
    other.create_application_session()?;
    let same = other.sign_in(Credentials::custom_idp(token))?;
    if same.id != user.id {
        return Err("the IdP's uid did not link the account".into());
    }
    println!("    same user: true");

    step(
        3,
        "a token the IdP rejects is refused: 422, bad credentials",
    );
    let err = target
        .blocking()
        .build()?
        .create_session(Credentials::custom_idp("bad-token"))
        .unwrap_err();
    println!(
        "    {:?}, bad credentials: {}",
        err.status(),
        err.is_bad_credentials()
    );
    if err.status().map(|s| s.as_u16()) != Some(422) || !err.is_bad_credentials() {
        return Err(format!("expected 422 with refused credentials, got {err}").into());
    }
    println!("custom_idp finished");
    Ok(())
}
