//! What the transfer tests share: scratch directories, an emulator whose
//! stored files a test can see, files of pattern bytes, peak memory, and
//! servers that stall or redirect on purpose. The suite itself is
//! [`transfer_suite!`](crate::transfer_suite).

use cube_emulator::{Emulator, EmulatorConfig, RunningEmulator, Storage};
use std::io::Write;
use std::path::{Path, PathBuf};

/// A directory removed when dropped.
#[derive(Debug)]
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// A new directory under the system's temporary one, named after
    /// `name`, the process and the time.
    pub fn new(name: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir = std::env::temp_dir().join(format!(
            "cube-transfer-{name}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An emulator keeping its files under `dir/data/blobs`, so a test can
/// see what it stored.
pub fn emulator_in(dir: &Path) -> RunningEmulator {
    Emulator::start_blocking(EmulatorConfig {
        storage: Storage::DataDir(dir.join("data")),
        ..EmulatorConfig::default()
    })
    .expect("emulator starts")
}

/// The files the emulator holds: (complete, partial).
pub fn stored_files(dir: &Path) -> (Vec<String>, Vec<String>) {
    let mut done = Vec::new();
    let mut partial = Vec::new();
    for entry in std::fs::read_dir(dir.join("data").join("blobs"))
        .unwrap()
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(".partial-") {
            partial.push(name);
        } else {
            done.push(name);
        }
    }
    (done, partial)
}

/// Waits (up to 10 s) until the emulator has noticed every dropped upload.
pub fn settled_files(dir: &Path) -> (Vec<String>, Vec<String>) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let files = stored_files(dir);
        if files.1.is_empty() || std::time::Instant::now() > deadline {
            return files;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// `len` bytes that differ from position to position (xorshift).
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// Writes `len` pattern bytes to `path`, 1 MiB at a time.
pub fn write_pattern_file(path: &Path, len: u64) {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let chunk = pattern(1 << 20, 7);
    let mut left = len;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        file.write_all(&chunk[..n]).unwrap();
        left -= n as u64;
    }
    file.flush().unwrap();
}

/// Whether two files hold the same bytes (read 1 MiB at a time).
pub fn same_file(a: &Path, b: &Path) -> bool {
    use std::io::Read;
    let (mut a, mut b) = (
        std::fs::File::open(a).unwrap(),
        std::fs::File::open(b).unwrap(),
    );
    let (mut x, mut y) = (vec![0; 1 << 20], vec![0; 1 << 20]);
    loop {
        let n = read_full(&mut a, &mut x);
        let m = read_full(&mut b, &mut y);
        if n != m || x[..n] != y[..m] {
            return false;
        }
        if n == 0 {
            return true;
        }
    }
    fn read_full(f: &mut std::fs::File, buf: &mut [u8]) -> usize {
        let mut at = 0;
        while at < buf.len() {
            match f.read(&mut buf[at..]).unwrap() {
                0 => break,
                n => at += n,
            }
        }
        at
    }
}

/// `VmHWM` (peak resident memory) of this process, in KiB.
pub fn own_peak_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Progress calls as recorded: (done, total).
pub type Calls = std::sync::Arc<std::sync::Mutex<Vec<(u64, u64)>>>;

/// Whether progress never went back and ended at the total.
pub fn monotonic_to_total(calls: &[(u64, u64)], total: u64) -> bool {
    calls.windows(2).all(|w| w[0].0 <= w[1].0)
        && calls.iter().all(|c| c.1 == total)
        && calls.first() == Some(&(0, total))
        && calls.last() == Some(&(total, total))
}

/// A server whose handler writes raw answers (with pauses, half bodies):
/// it gets "METHOD PATH" and the connection, after the request was read.
pub fn raw_server(
    handler: impl Fn(&str, &mut std::net::TcpStream) + Send + Sync + 'static,
) -> String {
    use std::io::{BufRead, BufReader, Read};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handler = std::sync::Arc::new(handler);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let handler = handler.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                let mut length = 0u64;
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) == 0 {
                        return;
                    }
                    let lower = h.trim_end().to_ascii_lowercase();
                    if lower.is_empty() {
                        break;
                    }
                    if let Some(v) = lower.strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
                let request: Vec<&str> = line.split_whitespace().take(2).collect();
                let request = request.join(" ");
                // Uploads to /hold are never read: the client stalls.
                if !request.ends_with("/hold") {
                    let _ = std::io::copy(&mut (&mut reader).take(length), &mut std::io::sink());
                }
                handler(&request, &mut stream);
            });
        }
    });
    url
}

/// A scripted API: sessions, and `/blobs/{uid}/download` redirecting to
/// `/files/{uid}`, whose answer `files` writes.
pub fn api_with_files(
    files: impl Fn(&str, &mut std::net::TcpStream) + Send + Sync + 'static,
) -> String {
    raw_server(move |request, stream| {
        let answer = |stream: &mut std::net::TcpStream, head: &str, body: &str| {
            let _ = write!(
                stream,
                "HTTP/1.1 {head}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        };
        if request == "POST /session" {
            answer(
                stream,
                "201 Created",
                r#"{"session":{"id":1,"token":"tok"}}"#,
            );
        } else if let Some(uid) = request
            .strip_prefix("GET /blobs/")
            .and_then(|r| r.strip_suffix("/download"))
        {
            answer(stream, &format!("301 Moved\r\nLocation: /files/{uid}"), "");
        } else if request.starts_with("GET /files/") {
            files(request, stream);
        } else {
            answer(stream, "404 Not Found", "{}");
        }
    })
}

/// The peak memory figure and progress checks a child process reports.
pub const CHILD_REPORT: &str = "CHILD-REPORT ";
