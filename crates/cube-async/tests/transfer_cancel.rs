//! The async ways to stop an upload: a cancel handle used from another
//! task, and dropping the future. Either way the storage keeps nothing.

use cube_async::{CancelHandle, Client, CreateBlob, Credentials, Error, NewUser, UploadOptions};
use cube_test_support::transfer::{self as tx, TempDir};
use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

const LEN: u64 = 32 << 20;

async fn setup(
    name: &str,
) -> (
    TempDir,
    cube_emulator::RunningEmulator,
    Client,
    tokio::fs::File,
) {
    let dir = TempDir::new(name);
    let e = tx::emulator_in(&dir.0);
    let c = Client::builder(u64::try_from(e.app_id()).unwrap(), e.auth_key())
        .auth_secret(e.auth_secret())
        .base_url(e.base_url())
        .build()
        .unwrap();
    c.sign_up(NewUser::with_login(name, "password-cancel"))
        .await
        .unwrap();
    c.create_session(Credentials::login(name, "password-cancel"))
        .await
        .unwrap();
    let path = dir.0.join("big.bin");
    tx::write_pattern_file(&path, LEN);
    let file = tokio::fs::File::open(&path).await.unwrap();
    (dir, e, c, file)
}

/// Progress into a counter another task can watch.
fn counted(sent: &Arc<AtomicU64>) -> impl FnMut(u64, u64) -> ControlFlow<()> + Send + 'static {
    let sent = sent.clone();
    move |done, _| {
        sent.store(done, Ordering::SeqCst);
        ControlFlow::Continue(())
    }
}

async fn until_half(sent: &AtomicU64) {
    while sent.load(Ordering::SeqCst) < LEN / 2 {
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_handle_used_by_another_task_stops_the_upload() {
    let (dir, _e, c, file) = setup("handle0001").await;
    let blob = c
        .create_blob(CreateBlob::new("application/octet-stream", "big.bin").unwrap())
        .await
        .unwrap();
    let sent = Arc::new(AtomicU64::new(0));
    let handle = CancelHandle::new();
    let canceller = {
        let (handle, sent) = (handle.clone(), sent.clone());
        tokio::spawn(async move {
            until_half(&sent).await;
            handle.cancel();
        })
    };
    let options = UploadOptions::new()
        .on_progress(counted(&sent))
        .cancel_handle(handle);
    let err = c
        .upload_stream(&blob, file, LEN, options)
        .await
        .unwrap_err();
    canceller.await.unwrap();
    assert!(matches!(err, Error::Cancelled), "{err}");
    let stopped = sent.load(Ordering::SeqCst);
    assert!((LEN / 2..LEN).contains(&stopped), "{stopped}");
    let (done, partial) = tx::settled_files(&dir.0);
    assert!(
        done.is_empty() && partial.is_empty(),
        "{done:?} {partial:?}"
    );
    assert_eq!(c.get_blob(blob.id).await.unwrap().size, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_future_stops_the_upload() {
    let (dir, _e, c, file) = setup("dropper001").await;
    let blob = c
        .create_blob(CreateBlob::new("application/octet-stream", "big.bin").unwrap())
        .await
        .unwrap();
    let sent = Arc::new(AtomicU64::new(0));
    let options = UploadOptions::new().on_progress(counted(&sent));
    tokio::select! {
        outcome = c.upload_stream(&blob, file, LEN, options) => panic!("finished: {outcome:?}"),
        () = until_half(&sent) => {}
    }
    let (done, partial) = tx::settled_files(&dir.0);
    assert!(
        done.is_empty() && partial.is_empty(),
        "{done:?} {partial:?}"
    );
    let stopped = sent.load(Ordering::SeqCst);
    assert!(stopped < LEN, "the body stopped being read: {stopped}");
    assert_eq!(c.get_blob(blob.id).await.unwrap().size, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_upload_from_a_path_deletes_its_record() {
    let (dir, _e, c, _file) = setup("recorder01").await;
    let marker = c
        .create_blob(CreateBlob::new("text/plain", "marker").unwrap())
        .await
        .unwrap();
    let handle = CancelHandle::new();
    let stop = handle.clone();
    let options = UploadOptions::new()
        .cancel_handle(handle)
        .on_progress(move |done, total| {
            if done >= total / 2 {
                stop.cancel();
            }
            ControlFlow::Continue(())
        });
    let err = c
        .upload_from_path(dir.0.join("big.bin"), options)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Cancelled), "{err}");
    let status = c.get_blob(marker.id + 1).await.unwrap_err().status();
    assert_eq!(
        status,
        Some(http::StatusCode::NOT_FOUND),
        "the record was deleted"
    );
    let (done, partial) = tx::settled_files(&dir.0);
    assert!(
        done.is_empty() && partial.is_empty(),
        "{done:?} {partial:?}"
    );
}
