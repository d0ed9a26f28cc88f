//! Upload throughput of the async SDK against a raw hyper client sending
//! the same multipart body to the same emulator:
//! `cargo bench -p cube-async --bench upload`
//! (`CUBE_BENCH_MIB`, default 64; `CUBE_BENCH_ROUNDS`, default 5).

use bytes::Bytes;
use cube_async::proto::ops::{CreateBlob, NewUser, StreamedUpload};
use cube_async::{Client, Credentials, UploadOptions};
use hyper::body::{Body, Frame};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, ReadBuf};

/// Head, the file in 64 KiB chunks, tail: the plainest streamed body.
struct RawBody {
    head: Option<Bytes>,
    file: tokio::fs::File,
    tail: Option<Bytes>,
    file_done: bool,
}

impl Body for RawBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        let this = self.get_mut();
        if let Some(head) = this.head.take() {
            return Poll::Ready(Some(Ok(Frame::data(head))));
        }
        if !this.file_done {
            let mut chunk = vec![0u8; 64 * 1024];
            let mut buf = ReadBuf::new(&mut chunk);
            match Pin::new(&mut this.file).poll_read(cx, &mut buf) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(e)) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(Ok(())) => {
                    let n = buf.filled().len();
                    if n > 0 {
                        chunk.truncate(n);
                        return Poll::Ready(Some(Ok(Frame::data(Bytes::from(chunk)))));
                    }
                    this.file_done = true;
                }
            }
        }
        Poll::Ready(this.tail.take().map(|t| Ok(Frame::data(t))))
    }
}

fn main() {
    let bench = cube_test_support::bench::Bench::start();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (sdk, reference) = runtime.block_on(run(&bench));
    bench.report("cube-async", "hyper", &sdk, &reference);
}

async fn run(bench: &cube_test_support::bench::Bench) -> (Vec<Duration>, Vec<Duration>) {
    let e = &bench.emulator;
    let client = Client::builder(u64::try_from(e.app_id()).unwrap(), e.auth_key())
        .auth_secret(e.auth_secret())
        .base_url(e.base_url())
        .build()
        .unwrap();
    client
        .sign_up(NewUser::with_login("bencher01", "password-bench"))
        .await
        .unwrap();
    client
        .create_session(Credentials::login("bencher01", "password-bench"))
        .await
        .unwrap();
    let raw: HyperClient<_, RawBody> = HyperClient::builder(TokioExecutor::new()).build_http();
    let (mut sdk, mut reference) = (Vec::new(), Vec::new());
    for round in 0..=bench.rounds {
        let mut pair = [Duration::ZERO; 2];
        // Alternate which client goes first; round 0 warms up, uncounted.
        let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for which in order {
            let blob = client
                .create_blob(CreateBlob::new("application/octet-stream", "bench.bin").unwrap())
                .await
                .unwrap();
            let file = tokio::fs::File::open(&bench.file).await.unwrap();
            let start;
            if which == 0 {
                start = Instant::now();
                client
                    .upload_stream(&blob, file, bench.len, UploadOptions::new())
                    .await
                    .unwrap();
            } else {
                let upload =
                    StreamedUpload::for_blob(client.config(), &blob, bench.len, [round as u8; 16])
                        .unwrap();
                let (head, head_bytes, tail_bytes) = upload.into_parts();
                let body = RawBody {
                    head: Some(Bytes::from(head_bytes)),
                    file,
                    tail: Some(Bytes::from(tail_bytes)),
                    file_done: false,
                };
                start = Instant::now();
                let response = raw.request(head.map(|()| body)).await.unwrap();
                assert_eq!(response.status(), 201);
                use http_body_util::BodyExt;
                response.into_body().collect().await.unwrap();
            }
            pair[which] = start.elapsed();
            client.delete_blob(blob.id).await.unwrap();
        }
        if round > 0 {
            sdk.push(pair[0]);
            reference.push(pair[1]);
        }
    }
    (sdk, reference)
}
