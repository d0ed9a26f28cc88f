//! Upload throughput of the blocking SDK against raw ureq sending the same
//! multipart body to the same emulator:
//! `cargo bench -p cube-blocking --bench upload`
//! (`CUBE_BENCH_MIB`, default 64; `CUBE_BENCH_ROUNDS`, default 5).

use cube_blocking::proto::ops::{CreateBlob, NewUser, StreamedUpload};
use cube_blocking::{Client, Credentials, UploadOptions};
use std::io::Read;
use std::time::{Duration, Instant};

fn main() {
    let bench = cube_test_support::bench::Bench::start();
    let e = &bench.emulator;
    let client = Client::builder(u64::try_from(e.app_id()).unwrap(), e.auth_key())
        .auth_secret(e.auth_secret())
        .base_url(e.base_url())
        .build()
        .unwrap();
    client
        .sign_up(NewUser::with_login("bencher01", "password-bench"))
        .unwrap();
    client
        .create_session(Credentials::login("bencher01", "password-bench"))
        .unwrap();
    let raw = ureq::Agent::new_with_defaults();
    let new_blob = || {
        client
            .create_blob(CreateBlob::new("application/octet-stream", "bench.bin").unwrap())
            .unwrap()
    };
    let (mut sdk, mut reference) = (Vec::new(), Vec::new());
    for round in 0..=bench.rounds {
        // Round 0 warms both paths up and is not counted.
        let timed = |sdk_first: bool| -> (Duration, Duration) {
            let run_sdk = || {
                let blob = new_blob();
                let file = std::fs::File::open(&bench.file).unwrap();
                let start = Instant::now();
                client
                    .upload_stream(&blob, file, bench.len, UploadOptions::new())
                    .unwrap();
                let took = start.elapsed();
                client.delete_blob(blob.id).unwrap();
                took
            };
            let run_raw = || {
                let blob = new_blob();
                let upload =
                    StreamedUpload::for_blob(client.config(), &blob, bench.len, [round as u8; 16])
                        .unwrap();
                let (head, head_bytes, tail_bytes) = upload.into_parts();
                let file = std::fs::File::open(&bench.file).unwrap();
                let body = std::io::Cursor::new(head_bytes)
                    .chain(file)
                    .chain(std::io::Cursor::new(tail_bytes));
                let request = head.map(|()| ureq::SendBody::from_owned_reader(body));
                let start = Instant::now();
                let response = raw.run(request).unwrap();
                let took = start.elapsed();
                assert_eq!(response.status(), 201);
                client.delete_blob(blob.id).unwrap();
                took
            };
            if sdk_first {
                let s = run_sdk();
                (s, run_raw())
            } else {
                let r = run_raw();
                (run_sdk(), r)
            }
        };
        let (s, r) = timed(round % 2 == 0);
        if round > 0 {
            sdk.push(s);
            reference.push(r);
        }
    }
    bench.report("cube-blocking", "ureq", &sdk, &reference);
}
