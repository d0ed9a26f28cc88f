//! Header lines as they arrive on the socket: a request that names its
//! host twice (or not at all), or that repeats a header the emulator reads
//! as one value, is `400` (RFC 9112, section 3.2), before anything is
//! served. A body whose length is given two ways is hyper's to refuse or
//! to end the connection after (section 6.3).

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::Emu;

/// Sends `head` (the request line and header lines, without the blank
/// line) and an empty body; returns the status of the answer.
fn status_of(emu: &Emu, head: &str) -> u16 {
    let mut socket = TcpStream::connect(emu.running.addr()).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let request = format!("{head}\r\nConnection: close\r\n\r\n");
    socket.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    let _ = socket.read_to_string(&mut answer);
    let status = answer
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| answer.strip_prefix("HTTP/1.0 "))
        .and_then(|rest| rest.get(..3))
        .unwrap_or_else(|| panic!("no status line in {answer:?}"));
    status.parse().unwrap()
}

#[test]
fn two_host_lines_are_a_bad_request_whichever_comes_first() {
    let emu = Emu::start();
    let addr = emu.running.addr();
    // The admin API would answer the first (loopback) host alone.
    let get = "GET /_emulator/health HTTP/1.1";
    assert_eq!(status_of(&emu, &format!("{get}\r\nHost: {addr}")), 200);
    for hosts in [
        format!("Host: {addr}\r\nHost: evil.example"),
        format!("Host: evil.example\r\nHost: {addr}"),
        format!("Host: {addr}\r\nHost: {addr}"),
    ] {
        assert_eq!(
            status_of(&emu, &format!("{get}\r\n{hosts}")),
            400,
            "{hosts}"
        );
    }
    // The ConnectyCube routes too.
    let session = "POST /session HTTP/1.1\r\nContent-Length: 0";
    assert_eq!(
        status_of(&emu, &format!("{session}\r\nHost: {addr}\r\nHost: {addr}")),
        400
    );
    // So is a preflight.
    assert_eq!(
        status_of(
            &emu,
            &format!(
                "OPTIONS /session HTTP/1.1\r\nHost: {addr}\r\nHost: x\r\nOrigin: http://a.example"
            )
        ),
        400
    );
}

#[test]
fn an_http_1_1_request_without_a_host_is_a_bad_request_and_1_0_may_omit_it() {
    let emu = Emu::start();
    assert_eq!(status_of(&emu, "GET /users/v2 HTTP/1.1"), 400);
    // Served: the route's own answer to a request without a session.
    assert_eq!(status_of(&emu, "GET /users/v2 HTTP/1.0"), 401);
    assert_eq!(
        status_of(&emu, "GET /_emulator/health HTTP/1.1\r\nHost: a b"),
        400,
        "a host that is not one"
    );
}

#[test]
fn headers_read_as_one_value_may_come_once() {
    let emu = Emu::start();
    let addr = emu.running.addr();
    let head = format!("POST /session HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0");
    for (twice, line) in [
        ("CB-Token", "CB-Token: a"),
        ("CB-AuthKey", "CB-AuthKey: k"),
        ("Content-Type", "Content-Type: application/json"),
        ("Authorization", "Authorization: Bearer t"),
        ("Origin", &format!("Origin: http://{addr}")),
    ] {
        assert_eq!(
            status_of(&emu, &format!("{head}\r\n{line}\r\n{line}")),
            400,
            "{twice} twice"
        );
    }
    // Headers that are lists may repeat.
    assert_ne!(
        status_of(&emu, &format!("{head}\r\nAccept: a/b\r\nAccept: c/d")),
        400
    );
}

#[test]
fn a_body_length_given_two_ways_is_refused_or_ends_the_connection() {
    let emu = Emu::start();
    let addr = emu.running.addr();
    let head = format!("POST /session HTTP/1.1\r\nHost: {addr}");
    assert_eq!(
        status_of(
            &emu,
            &format!("{head}\r\nContent-Length: 0\r\nContent-Length: 5")
        ),
        400
    );
    // A length and chunks: the chunks end the body, and the connection
    // ends with the answer, so what the length would have covered (here a
    // second request) is never read as a request.
    let smuggled = format!("GET /_emulator/health HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    let body = format!("0\r\n\r\n{smuggled}");
    let mut socket = TcpStream::connect(addr).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let request = format!(
        "{head}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Transfer-Encoding: chunked\r\n\r\n{body}",
        body.len()
    );
    socket.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    socket.read_to_string(&mut answer).unwrap();
    assert_eq!(answer.matches("HTTP/1.1 ").count(), 1, "{answer}");
    assert!(!answer.contains("\"status\""), "{answer}");
}
