//! Any body under any status for every session operation: parsing returns a
//! value or a typed error, never a panic.
#![no_main]

use cube_proto::Credentials;
use cube_proto::ops::{CreateSession, GetSession, Operation, SignIn};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&status, body)) = data.split_first() else {
        return;
    };
    let status = 200 + u16::from(status % 100);
    let Ok(response) = http::Response::builder().status(status).body(body.to_vec()) else {
        return;
    };
    let _ = CreateSession::application().parse(&response);
    let _ = CreateSession::new(Credentials::guest(None)).parse(&response);
    let _ = SignIn::new(Credentials::login("a", "b")).parse(&response);
    let _ = GetSession.parse(&response);
});
