//! What the adapters' benchmarks share. [`Bench`]: the upload benchmarks'
//! emulator, test file and figures. [`Calls`]: the per-call benchmarks'
//! emulator, the request both clients send, rounds and medians.

use cube_emulator::{Emulator, EmulatorConfig, RunningEmulator};
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

/// An emulator and a test file of `len` bytes, removed when dropped.
#[derive(Debug)]
pub struct Bench {
    /// The emulator uploads go to.
    pub emulator: RunningEmulator,
    /// The file uploaded.
    pub file: PathBuf,
    /// Its size in bytes.
    pub len: u64,
    /// How many rounds each client uploads.
    pub rounds: usize,
}

impl Bench {
    /// `CUBE_BENCH_MIB` (default 64) MiB, `CUBE_BENCH_ROUNDS` (default 5)
    /// rounds of each client.
    pub fn start() -> Self {
        let env = |name: &str, default: u64| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(default)
        };
        let len = env("CUBE_BENCH_MIB", 64).min(100) << 20;
        let rounds = env("CUBE_BENCH_ROUNDS", 5) as usize;
        let emulator = Emulator::start_blocking(EmulatorConfig::default()).expect("emulator");
        let file =
            std::env::temp_dir().join(format!("cube-upload-bench-{}.bin", std::process::id()));
        let mut out = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
        let chunk: Vec<u8> = (0..1 << 20)
            .map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        for _ in 0..(len >> 20) {
            out.write_all(&chunk).unwrap();
        }
        out.flush().unwrap();
        Self {
            emulator,
            file,
            len,
            rounds,
        }
    }

    /// Prints the median throughput of each client and their ratio.
    pub fn report(&self, adapter: &str, raw: &str, sdk: &[Duration], reference: &[Duration]) {
        let mib = self.len as f64 / f64::from(1 << 20);
        let rate = |d: &[Duration]| {
            let mut v: Vec<f64> = d.iter().map(|d| mib / d.as_secs_f64()).collect();
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let (s, r) = (rate(sdk), rate(reference));
        println!(
            "upload of {mib} MiB to the in-process emulator, median of {} rounds each",
            self.rounds
        );
        println!("  {adapter} SDK (upload_stream from a file): {s:.1} MiB/s");
        println!("  raw {raw}, same multipart body from the same file: {r:.1} MiB/s");
        println!("  ratio SDK / raw: {:.3}", s / r);
    }
}

impl Drop for Bench {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.file);
    }
}

/// The per-call benchmarks: `GET /users/v2?id=` through the SDK and through
/// its raw HTTP client, against one in-process emulator, in alternating
/// order, round after round.
#[derive(Debug)]
pub struct Calls {
    /// The emulator both clients call.
    pub emulator: RunningEmulator,
    /// Counted rounds (`CUBE_BENCH_ROUNDS`, default 7, at least 5); one
    /// more warms up first.
    pub rounds: usize,
    /// Sequential calls per client and round (`CUBE_BENCH_CALLS`, default
    /// 1000).
    pub calls: usize,
}

impl Calls {
    /// Starts the emulator.
    pub fn start() -> Self {
        let env = |name: &str, default: usize| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(default)
        };
        Self {
            emulator: Emulator::start_blocking(EmulatorConfig::default()).expect("emulator"),
            rounds: env("CUBE_BENCH_ROUNDS", 7).max(5),
            calls: env("CUBE_BENCH_CALLS", 1000).max(1),
        }
    }

    /// The request the SDK sends for `get_user(id)` under `token`: the raw
    /// client sends exactly these bytes.
    pub fn get_user_request(&self, id: u64, token: &proto::Secret) -> proto::wire::Request {
        use proto::ops::Operation;
        let config = proto::Config::builder(
            u64::try_from(self.emulator.app_id()).unwrap(),
            self.emulator.auth_key(),
        )
        .base_url(self.emulator.base_url())
        .build()
        .unwrap();
        let ctx = proto::wire::RequestContext {
            config: &config,
            token: Some(token),
            now: time::OffsetDateTime::UNIX_EPOCH,
            nonce: 0,
        };
        proto::ops::GetUser::by_id(id).build(&ctx).unwrap()
    }

    /// The median over rounds of a per-round figure.
    pub fn median(mut figures: Vec<f64>) -> f64 {
        figures.sort_by(f64::total_cmp);
        figures[figures.len() / 2]
    }

    /// The time the calling thread has spent on a CPU (its CPU-time clock,
    /// `CLOCK_THREAD_CPUTIME_ID`); `None` where there is none. A call's
    /// time on the CPU counts its own work only, whatever else the machine
    /// runs. (Linux's `/proc/thread-self/schedstat` is no substitute: it
    /// is brought up to date only when the thread is switched out or the
    /// scheduler ticks, so its change across a short call is usually zero,
    /// and the work after a call's last wait is counted in the next call.)
    #[cfg(unix)]
    pub fn on_cpu() -> Option<Duration> {
        let now = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
        Some(Duration::new(
            u64::try_from(now.tv_sec).ok()?,
            u32::try_from(now.tv_nsec).ok()?,
        ))
    }

    /// See the Unix version: no CPU-time clock here.
    #[cfg(not(unix))]
    pub fn on_cpu() -> Option<Duration> {
        None
    }

    /// Runs `call`, returning how long it took by the wall clock and on
    /// the calling thread's CPU (zero where the system does not say).
    pub fn measure<T>(call: impl FnOnce() -> T) -> (Duration, Duration, T) {
        let cpu = Self::on_cpu();
        let start = std::time::Instant::now();
        let out = call();
        let wall = start.elapsed();
        let cpu = match (cpu, Self::on_cpu()) {
            (Some(before), Some(after)) => after - before,
            _ => Duration::ZERO,
        };
        (wall, cpu, out)
    }

    /// Prints one line: the SDK's and the raw client's medians and their
    /// ratio. `unit` follows the figures (`µs`, `req/s`).
    pub fn report(&self, what: &str, raw: &str, unit: &str, sdk: Vec<f64>, reference: Vec<f64>) {
        let (s, r) = (Self::median(sdk), Self::median(reference));
        println!(
            "  {what}: SDK {s:.1} {unit}, raw {raw} {r:.1} {unit}, ratio SDK / raw {:.3}",
            s / r
        );
    }
}
