//! A whole call answered by a hostile server: statuses, headers and bodies
//! taken from the input. The call always ends, never panics, and never
//! resends more than once.
#![no_main]

use cube_proto::ops::SignIn;
use cube_proto::session::SessionOptions;
use cube_proto::{Call, Config, Credentials, Session, Step};
use libfuzzer_sys::fuzz_target;
use time::{Duration, OffsetDateTime};

const BODIES: [&[u8]; 6] = [
    br#"{"session":{"id":1,"user_id":2,"token":"t"}}"#,
    br#"{"session":{"id":1,"user_id":0,"token":"t"}}"#,
    br#"{"errors":{"base":["Required session does not exist"]}}"#,
    br#"{"user":{"id":2}}"#,
    b"<html>",
    b"",
];

fuzz_target!(|data: &[u8]| {
    let config = Config::builder(1, "k").auth_secret("s").build().unwrap();
    let mut session = Session::new(SessionOptions {
        restore: data.first().is_some_and(|b| b & 1 == 1),
        ..Default::default()
    });
    let mut now = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
    let mut call = Call::new(config, SignIn::new(Credentials::login("a", "b")));
    let mut input = data.iter().copied();
    for step in 0..32u32 {
        match call.poll(&session, now, step) {
            Step::Send(_) => {
                let status =
                    [200u16, 201, 401, 403, 422, 500][usize::from(input.next().unwrap_or(0) % 6)];
                let body = BODIES[usize::from(input.next().unwrap_or(0) % 6)];
                let mut response = http::Response::builder().status(status);
                let header_choice = input.next().unwrap_or(0);
                if header_choice % 3 == 0 {
                    let at = now + Duration::seconds(i64::from(header_choice) * 60 - 3600);
                    response = response.header(
                        "CB-Token-ExpirationDate",
                        cube_proto::expiry::format_expiration(at),
                    );
                } else if header_choice % 3 == 1 {
                    response = response.header("CB-Token-ExpirationDate", "garbage");
                }
                call.handle_response(&mut session, response.body(body.to_vec()).unwrap());
                now += Duration::seconds(i64::from(input.next().unwrap_or(0)) * 60);
            }
            Step::NeedCredentials => {
                let give = input.next().unwrap_or(0) % 2 == 0;
                call.provide_credentials(give.then(|| Credentials::login("a", "b")));
            }
            Step::Done(_) => {
                assert!(call.retries() <= 1);
                return;
            }
        }
    }
    panic!("a call did not end within 32 steps");
});
