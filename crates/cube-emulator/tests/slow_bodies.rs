//! Slow and stalled request bodies against the real binary, run with the
//! file-descriptor limit at 256: hundreds of clients that send headers
//! and part of a body, then nothing, must neither lock everyone else out
//! nor make the emulator hold their bodies in memory.

use std::io::{ErrorKind, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The binary under `ulimit -n 256`, and its address.
fn spawn_with_256_fds() -> (Child, String) {
    let mut child = Command::new("sh")
        .args([
            "-c",
            r#"ulimit -n 256 && exec "$0" "$@""#,
            env!("CARGO_BIN_EXE_cube-emulator"),
            "--listen",
            "127.0.0.1:0",
            "--in-memory",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base_url = common::ready_url(&mut child);
    (child, base_url)
}

fn stop(mut child: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.wait();
}

/// A status line from `/proc/PID/status`, in KiB.
fn proc_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// An ordinary client: one `POST /session`, at most 10 s. Returns how
/// long the answer took, or why there was none.
fn normal_client(base_url: &str) -> Result<Duration, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .new_agent();
    let started = Instant::now();
    let resp = agent
        .post(&format!("{base_url}/session"))
        .header("Content-Type", "application/json")
        .send(r#"{"application_id": 1, "auth_key": "emulator-auth-key"}"#)
        .map_err(|e| format!("no answer after {:?}: {e}", started.elapsed()))?;
    if resp.status() != 201 {
        return Err(format!("status {}", resp.status()));
    }
    Ok(started.elapsed())
}

/// Opens `n` connections that announce a 1 MiB JSON body and send the
/// first `sent` bytes of it (as far as the emulator reads them within
/// `push_for`), then stall. The sockets stay open while they are held.
fn stalled_clients(addr: &str, n: usize, sent: usize, push_for: Duration) -> Vec<TcpStream> {
    let head = format!(
        "POST /session HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: 1048576\r\n\r\n"
    );
    let mut sockets: Vec<(TcpStream, usize)> = (0..n)
        .map(|_| {
            let mut socket = TcpStream::connect(addr).expect("connect");
            socket.write_all(head.as_bytes()).expect("headers");
            socket.set_nonblocking(true).unwrap();
            (socket, 0)
        })
        .collect();
    let chunk = vec![b' '; 64 * 1024];
    let deadline = Instant::now() + push_for;
    while Instant::now() < deadline && sockets.iter().any(|(_, done)| *done < sent) {
        let mut progress = false;
        for (socket, done) in &mut sockets {
            while *done < sent {
                match socket.write(&chunk[..(sent - *done).min(chunk.len())]) {
                    Ok(n) => {
                        *done += n;
                        progress = true;
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    // Closed by the emulator: nothing more to send.
                    Err(_) => {
                        *done = sent;
                        break;
                    }
                }
            }
        }
        if !progress {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    sockets.into_iter().map(|(socket, _)| socket).collect()
}

#[test]
fn three_hundred_stalled_bodies_do_not_lock_out_an_ordinary_client() {
    let (child, base_url) = spawn_with_256_fds();
    let addr = base_url.trim_start_matches("http://").to_owned();
    // Headers announcing 1 MiB, then 10 bytes, then nothing: more such
    // clients than the emulator has file descriptors.
    let held = stalled_clients(&addr, 300, 10, Duration::from_secs(2));
    let answered = normal_client(&base_url);
    eprintln!("ordinary client with 300 stalled ones: {answered:?}");
    drop(held);
    stop(child);
    let took = answered.unwrap();
    assert!(took < Duration::from_secs(10), "{took:?}");
}

#[test]
fn three_hundred_stalled_megabyte_bodies_neither_lock_out_nor_bloat_the_emulator() {
    let (child, base_url) = spawn_with_256_fds();
    let addr = base_url.trim_start_matches("http://").to_owned();
    let before = proc_kib(child.id(), "VmHWM:");
    // Each stalls 576 bytes short of its announced megabyte.
    let held = stalled_clients(&addr, 300, 1_048_000, Duration::from_secs(8));
    let answered = normal_client(&base_url);
    let rss = proc_kib(child.id(), "VmRSS:");
    let peak = proc_kib(child.id(), "VmHWM:");
    eprintln!(
        "300 stalled 1 MB bodies: ordinary client {answered:?}; emulator RSS {rss} KiB, \
         peak {peak} KiB (from {before} KiB)"
    );
    drop(held);
    stop(child);
    let took = answered.unwrap();
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert!(peak < 100 * 1024, "peak RSS {peak} KiB");
}

// ---- The rules one at a time, in process, with small limits ----

mod common;

use common::{Emu, TestServer, percent_decode};
use cube_emulator::{EmulatorConfig, Limits};
use serde_json::json;

/// An emulator whose bodies get `grace_ms` of grace, must then arrive at
/// `rate` bytes/s, and may pause at most `pause_ms`.
fn paced(rate: u32, grace_ms: u64, pause_ms: u64) -> Emu {
    let mut limits = Limits::default();
    limits.min_body_rate = rate;
    limits.body_grace = Duration::from_millis(grace_ms);
    limits.max_body_pause = Duration::from_millis(pause_ms);
    Emu::with(EmulatorConfig {
        limits,
        ..EmulatorConfig::default()
    })
}

fn addr(emu: &Emu) -> String {
    emu.running.addr().to_string()
}

/// Sends `head`, then each piece of `pieces` after `every`, then reads
/// the answer (status line and all) within `within`; with the time from
/// the first byte sent to the answer.
fn exchange(
    addr: &str,
    head: &str,
    pieces: &[Vec<u8>],
    every: Duration,
    within: Duration,
) -> (String, Duration) {
    use std::io::Read;
    let mut socket = TcpStream::connect(addr).unwrap();
    socket.set_read_timeout(Some(within)).unwrap();
    let started = Instant::now();
    socket.write_all(head.as_bytes()).unwrap();
    for piece in pieces {
        std::thread::sleep(every);
        if socket.write_all(piece).is_err() {
            break;
        }
    }
    let mut answer = Vec::new();
    let _ = socket.read_to_end(&mut answer);
    (
        String::from_utf8_lossy(&answer).into_owned(),
        started.elapsed(),
    )
}

fn session_head(addr: &str, length: usize) -> String {
    format!(
        "POST /session HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {length}\r\nConnection: close\r\n\r\n"
    )
}

/// A create-session body of exactly `len` bytes (padded with an unknown
/// field the emulator ignores).
fn session_body(len: usize) -> Vec<u8> {
    let base = r#"{"application_id": 1, "auth_key": "emulator-auth-key", "pad": ""}"#;
    let mut body = base[..base.len() - 2].to_owned();
    body.push_str(&"x".repeat(len - base.len()));
    body.push_str("\"}");
    body.into_bytes()
}

#[test]
fn a_body_that_stops_is_cut_with_408_after_the_grace_period() {
    let emu = paced(1000, 500, 1000);
    let addr = addr(&emu);
    let (answer, took) = exchange(
        &addr,
        &session_head(&addr, 1000),
        &[b"{\"applica".to_vec()],
        Duration::ZERO,
        Duration::from_secs(10),
    );
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains("The request body arrived too slowly"),
        "{answer}"
    );
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
    assert!(took >= Duration::from_millis(450), "{took:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
}

#[test]
fn a_burst_buys_at_most_the_longest_pause() {
    // 900 bytes at 100 bytes/s would be 9 s of credit: the longest pause
    // (1 s) caps it.
    let emu = paced(100, 500, 1000);
    let addr = addr(&emu);
    let body = session_body(1000);
    let (answer, took) = exchange(
        &addr,
        &session_head(&addr, body.len()),
        &[body[..900].to_vec()],
        Duration::ZERO,
        Duration::from_secs(15),
    );
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(took < Duration::from_secs(4), "{took:?}");
}

#[test]
fn bodies_that_keep_the_pace_are_never_cut() {
    let emu = paced(1000, 500, 1000);
    let addr = addr(&emu);
    // 5,000 bytes in 200-byte pieces every 100 ms: 2,000 bytes/s for
    // 2.5 s, well past the grace period and the longest pause.
    let body = session_body(5000);
    let pieces: Vec<Vec<u8>> = body.chunks(200).map(<[u8]>::to_vec).collect();
    let (answer, took) = exchange(
        &addr,
        &session_head(&addr, body.len()),
        &pieces,
        Duration::from_millis(100),
        Duration::from_secs(10),
    );
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    assert!(took >= Duration::from_millis(2400), "{took:?}");
    // Below the pace (500 bytes/s), the same body is cut.
    let pieces: Vec<Vec<u8>> = body.chunks(50).map(<[u8]>::to_vec).collect();
    let (answer, _) = exchange(
        &addr,
        &session_head(&addr, body.len()),
        &pieces,
        Duration::from_millis(100),
        Duration::from_secs(15),
    );
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
}

#[test]
fn an_upload_that_keeps_moving_is_never_cut() {
    let emu = paced(1000, 500, 1000);
    let addr = addr(&emu);
    let (token, _) = emu.user("slow-uploader");
    let resp = emu.post(
        "/blobs",
        Some(&token),
        json!({"blob": {"content_type": "application/octet-stream", "name": "slow.bin"}}),
    );
    resp.assert(201);
    let url = resp.body["blob"]["blob_object_access"]["params"]
        .as_str()
        .unwrap()
        .to_owned();
    let (target, query) = url.split_once('?').unwrap();
    let path = &target[target.find("/_storage").unwrap()..];
    let boundary = "slow-boundary";
    let mut form = Vec::new();
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap();
        let decode = |s: &str| percent_decode(s);
        form.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"\r\n\r\n{}\r\n",
                decode(k),
                decode(v)
            )
            .as_bytes(),
        );
    }
    form.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"s\"\r\n\r\n"
        )
        .as_bytes(),
    );
    let file: Vec<u8> = (0..4000u32).map(|i| (i % 251) as u8).collect();
    form.extend_from_slice(&file);
    form.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        form.len()
    );
    // About 2,400 bytes/s in 240-byte pieces, for over two seconds.
    let pieces: Vec<Vec<u8>> = form.chunks(240).map(<[u8]>::to_vec).collect();
    let (answer, took) = exchange(
        &addr,
        &head,
        &pieces,
        Duration::from_millis(100),
        Duration::from_secs(20),
    );
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    assert!(took >= Duration::from_secs(2), "{took:?}");
    let uid = resp.body["blob"]["uid"].as_str().unwrap();
    let stored = emu.get(&format!("/blobs/{uid}?token={token}"), None);
    stored.assert(200);
}

fn capped(max_connections: usize) -> Emu {
    let mut limits = Limits::default();
    limits.max_connections = Some(max_connections);
    Emu::with(EmulatorConfig {
        limits,
        ..EmulatorConfig::default()
    })
}

/// Whether the emulator closed `socket` (within two seconds).
fn closed(socket: &mut TcpStream) -> bool {
    use std::io::Read;
    socket
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let mut buf = [0u8; 256];
    match socket.read(&mut buf) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
    }
}

#[test]
fn a_full_emulator_closes_the_stalest_idle_connection_for_a_new_one() {
    let emu = capped(3);
    let addr = addr(&emu);
    // Three connections, at the cap, none of them sending anything.
    let mut idle: Vec<TcpStream> = (0..3)
        .map(|_| {
            let socket = TcpStream::connect(&addr).unwrap();
            std::thread::sleep(Duration::from_millis(20));
            socket
        })
        .collect();
    // A fourth client is served...
    emu.create_session(json!({})).assert(201);
    // ...because the stalest idle one was closed, and only that one.
    assert!(closed(&mut idle[0]), "the stalest one is closed");
    let mut newer = idle.split_off(1);
    for socket in &mut newer {
        socket
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut buf = [0u8; 1];
        let still_open = matches!(
            std::io::Read::read(socket, &mut buf),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
        );
        assert!(still_open);
    }
}

#[test]
fn a_full_emulator_whose_connections_are_all_busy_answers_503() {
    // Two sign-ins held by a slow identity provider keep both places busy
    // on the emulator's side: a third connection is told to come back.
    let asked = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = asked.clone();
    let idp = TestServer::start(move |_| {
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        (200, r#"{"uid": "slow"}"#.to_owned(), Duration::from_secs(3))
    });
    let emu = capped(2);
    emu.put(
        "/_emulator/apps/1/settings",
        None,
        json!({"cidp": {"url": format!("{}/verify", idp.base_url)}}),
    )
    .assert(200);
    let base = emu.running.base_url().to_owned();
    let slow: Vec<_> = (0..2)
        .map(|i| {
            let base = base.clone();
            std::thread::spawn(move || {
                common::agent()
                    .post(&format!("{base}/session"))
                    .header("Content-Type", "application/json")
                    .send(
                        json!({"application_id": 1, "auth_key": "emulator-auth-key",
                               "user": {"login": format!("idp-{i}"), "password": "x"}})
                        .to_string(),
                    )
                    .map(|r| r.status().as_u16())
            })
        })
        .collect();
    // Both sign-ins are waiting on the provider.
    let deadline = Instant::now() + Duration::from_secs(10);
    while asked.load(std::sync::atomic::Ordering::SeqCst) < 2 {
        assert!(
            Instant::now() < deadline,
            "the sign-ins never reached the provider"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let addr = addr(&emu);
    let (answer, _) = exchange(
        &addr,
        &format!("GET /_emulator/health HTTP/1.1\r\nHost: {addr}\r\n\r\n"),
        &[],
        Duration::ZERO,
        Duration::from_secs(5),
    );
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("Too many connections"), "{answer}");
    for handle in slow {
        assert_eq!(handle.join().unwrap().unwrap(), 201);
    }
    emu.get("/_emulator/health", None).assert(200);
}

/// An emulator whose bodies share `bytes` of memory.
fn budgeted(bytes: usize) -> Emu {
    let mut limits = Limits::default();
    limits.body_memory = bytes;
    Emu::with(EmulatorConfig {
        limits,
        ..EmulatorConfig::default()
    })
}

#[test]
fn bodies_wait_for_memory_instead_of_failing_or_buffering() {
    // 512 KiB for all bodies: four 200 KB bodies (each holding about its
    // size, then about its size parsed) cannot all be in memory at once,
    // so some wait; all are answered.
    let emu = budgeted(512 << 10);
    let base = emu.running.base_url().to_owned();
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let base = base.clone();
            std::thread::spawn(move || {
                common::agent()
                    .post(&format!("{base}/session"))
                    .header("Content-Type", "application/json")
                    .send(session_body(200_000))
                    .map(|r| r.status().as_u16())
            })
        })
        .collect();
    for client in clients {
        assert_eq!(client.join().unwrap().unwrap(), 201);
    }
    // A body that needs more than the whole budget can never be read: 413.
    let resp = emu.send_raw(
        "POST",
        "/session",
        &[],
        session_body(600_000),
        "application/json",
    );
    resp.assert(413);
    // Just within it, alone, is fine.
    emu.send_raw(
        "POST",
        "/session",
        &[],
        session_body(250_000),
        "application/json",
    )
    .assert(201);
}
