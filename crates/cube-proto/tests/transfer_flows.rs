//! The transfer flows, driven as an adapter drives them: transcripts of
//! what each sends (`create_blob`, `upload_stream`, `complete_blob`,
//! `delete_blob`, the download's locate and fetch) for each way an upload or
//! a download can go, and properties over every way: a failed or cancelled
//! stream always ends with the record deleted, a completed upload never
//! deletes, the token never reaches another origin, and the body of a
//! streamed upload is exactly head, file, tail or a length error before the
//! tail.

use cube_proto::model::Blob;
use cube_proto::ops::{
    Access, BlobLocation, CompleteBlob, CreateBlob, DeleteBlob, DownloadBlob, MAX_UPLOAD,
    Operation, StreamedUpload,
};
use cube_proto::transfer::{
    BlobCall, BodyStep, DownloadFlow, DownloadStep, FileBody, LengthMismatch, UploadBody,
    UploadFlow, UploadStep,
};
use cube_proto::wire::{Request, RequestContext};
use cube_proto::{Config, Error, Secret, error::InvalidInput};
use http::{HeaderMap, StatusCode, header};
use proptest::prelude::*;

/// The adapter's error in these tests: the protocol's, or a stream that
/// failed in transit (a reset, a stall) or was cancelled.
#[derive(Debug, PartialEq, Eq)]
enum Failure {
    Proto(String),
    Transit(&'static str),
    Cancelled,
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Proto(e.to_string())
    }
}

fn config() -> Config {
    Config::builder(1, "key")
        .base_url("https://api.example")
        .build()
        .unwrap()
}

fn created(id: u64, with_access: bool) -> Blob {
    let access = if with_access {
        r#", "blob_object_access": {"params": "https://up.example/up?key=k&policy=p"}"#
    } else {
        ""
    };
    serde_json::from_str(&format!(
        r#"{{"id": {id}, "uid": "u{id}x", "name": "f.bin", "content_type": "application/octet-stream"{access}}}"#
    ))
    .unwrap()
}

/// How each step of an upload turns out.
#[derive(Debug, Clone)]
enum Create {
    Ok,
    /// The record comes back without its upload permission.
    NoAccess,
    Refused,
}

#[derive(Debug, Clone)]
enum Stream {
    Ok,
    Refused,
    Broken,
    Cancelled,
}

#[derive(Debug, Clone, Copy)]
struct Outcomes {
    complete_ok: bool,
    delete_ok: bool,
}

/// Drives an upload to its end with the given outcomes; returns the steps
/// taken (names) and the result.
fn drive_upload(
    create: Create,
    stream: Stream,
    later: Outcomes,
) -> (Vec<String>, Result<Blob, Failure>) {
    let config = config();
    let blob = CreateBlob::new("application/octet-stream", "f.bin").unwrap();
    let mut flow = UploadFlow::<Failure>::new(blob, 5, [1; 16]).unwrap();
    let mut steps = Vec::new();
    for _ in 0..10 {
        assert!(!flow.is_done(), "done before Done was returned");
        match flow.poll(&config) {
            UploadStep::Call(call) => {
                assert_eq!(call.access(), Access::Write);
                steps.push(match &call {
                    BlobCall::Delete(_) => format!("{}:{:?}", call.name(), call),
                    _ => call.name().to_owned(),
                });
                let outcome = match call {
                    BlobCall::Create(_) => match create {
                        Create::Ok => Ok(Some(created(9, true))),
                        Create::NoAccess => Ok(Some(created(9, false))),
                        Create::Refused => Err(Failure::Transit("create refused")),
                    },
                    BlobCall::Complete(_) if later.complete_ok => Ok(None),
                    BlobCall::Complete(_) => Err(Failure::Transit("complete refused")),
                    BlobCall::Delete(_) if later.delete_ok => Ok(None),
                    BlobCall::Delete(_) => Err(Failure::Transit("delete refused")),
                };
                flow.handle_call(outcome).unwrap();
            }
            UploadStep::Stream(upload) => {
                steps.push(StreamedUpload::OPERATION.to_owned());
                assert_eq!(upload.file_len(), 5);
                assert!(upload.request().headers().get("CB-Token").is_none());
                let outcome = match stream {
                    Stream::Ok => Ok(()),
                    Stream::Refused => Err(Failure::Transit("403 policy")),
                    Stream::Broken => Err(Failure::Transit("connection reset")),
                    Stream::Cancelled => Err(Failure::Cancelled),
                };
                flow.handle_stream(outcome).unwrap();
            }
            UploadStep::Done(result) => {
                assert!(flow.is_done());
                return (steps, result);
            }
        }
    }
    panic!("the upload did not end in 10 steps: {steps:?}");
}

const ALL_OK: Outcomes = Outcomes {
    complete_ok: true,
    delete_ok: true,
};

#[test]
fn an_upload_creates_streams_and_completes() {
    let (steps, result) = drive_upload(Create::Ok, Stream::Ok, ALL_OK);
    assert_eq!(steps, ["create_blob", "upload_stream", "complete_blob"]);
    assert_eq!(result.unwrap().id, 9);
}

#[test]
fn a_failed_stream_deletes_the_record_and_reports_the_stream_s_failure() {
    for (stream, failure) in [
        (Stream::Broken, Failure::Transit("connection reset")),
        (Stream::Refused, Failure::Transit("403 policy")),
        (Stream::Cancelled, Failure::Cancelled),
    ] {
        let (steps, result) = drive_upload(Create::Ok, stream, ALL_OK);
        assert_eq!(
            steps,
            [
                "create_blob",
                "upload_stream",
                "delete_blob:Delete(DeleteBlob { id: 9 })"
            ]
        );
        assert_eq!(result.unwrap_err(), failure);
    }
}

#[test]
fn a_failed_delete_does_not_hide_the_failure_that_caused_it() {
    let later = Outcomes {
        complete_ok: true,
        delete_ok: false,
    };
    let (_, result) = drive_upload(Create::Ok, Stream::Cancelled, later);
    assert_eq!(result.unwrap_err(), Failure::Cancelled);
}

#[test]
fn a_refused_completion_deletes_the_record_too() {
    let later = Outcomes {
        complete_ok: false,
        delete_ok: true,
    };
    let (steps, result) = drive_upload(Create::Ok, Stream::Ok, later);
    assert_eq!(
        steps,
        [
            "create_blob",
            "upload_stream",
            "complete_blob",
            "delete_blob:Delete(DeleteBlob { id: 9 })"
        ]
    );
    assert_eq!(result.unwrap_err(), Failure::Transit("complete refused"));
}

#[test]
fn a_refused_creation_has_nothing_to_delete() {
    let (steps, result) = drive_upload(Create::Refused, Stream::Ok, ALL_OK);
    assert_eq!(steps, ["create_blob"]);
    assert_eq!(result.unwrap_err(), Failure::Transit("create refused"));
}

#[test]
fn a_record_without_upload_permission_is_deleted_before_any_byte_goes() {
    let (steps, result) = drive_upload(Create::NoAccess, Stream::Ok, ALL_OK);
    assert_eq!(
        steps,
        ["create_blob", "delete_blob:Delete(DeleteBlob { id: 9 })"]
    );
    assert!(
        matches!(result, Err(Failure::Proto(ref why)) if why.contains("blob_object_access")),
        "{result:?}"
    );
}

#[test]
fn a_file_over_the_limit_is_refused_before_a_record_exists() {
    let blob = || CreateBlob::for_file("f.bin").unwrap();
    assert!(UploadFlow::<Error>::new(blob(), MAX_UPLOAD, [0; 16]).is_ok());
    let refused = UploadFlow::<Error>::new(blob(), MAX_UPLOAD + 1, [0; 16]).unwrap_err();
    assert_eq!(refused.field, "file");
}

/// Each call an upload makes sends what its operation sends, and reads its
/// answer the same way: the created record from `create_blob`, nothing
/// from the other two.
#[test]
fn a_blob_call_builds_and_parses_as_its_operation() {
    let config = config();
    let token = Secret::new("t0k");
    let ctx = RequestContext {
        config: &config,
        token: Some(&token),
        now: time::OffsetDateTime::UNIX_EPOCH,
        nonce: 7,
    };
    let sent = |request: Request| {
        (
            request.method().clone(),
            request.uri().to_string(),
            request.headers().clone(),
            request.into_body(),
        )
    };
    let create = CreateBlob::for_file("f.bin").unwrap();
    let (complete, delete) = (CompleteBlob::new(9, 5), DeleteBlob::new(9));
    assert_eq!(
        sent(BlobCall::Create(create.clone()).build(&ctx).unwrap()),
        sent(create.build(&ctx).unwrap())
    );
    assert_eq!(
        sent(BlobCall::Complete(complete).build(&ctx).unwrap()),
        sent(complete.build(&ctx).unwrap())
    );
    assert_eq!(
        sent(BlobCall::Delete(delete).build(&ctx).unwrap()),
        sent(delete.build(&ctx).unwrap())
    );

    let record = br#"{"blob": {"id": 9, "uid": "u9x", "name": "f.bin", "content_type": "application/octet-stream"}}"#;
    let answer = http::Response::builder()
        .status(201)
        .body(record.to_vec())
        .unwrap();
    let parsed = BlobCall::Create(create).parse(&answer).unwrap();
    assert_eq!(parsed.map(|blob| blob.id), Some(9));
    assert_eq!(BlobCall::Complete(complete).parse(&answer).unwrap(), None);
    assert_eq!(BlobCall::Delete(delete).parse(&answer).unwrap(), None);
}

#[test]
fn an_upload_driven_out_of_order_says_so_and_sends_nothing_more() {
    let config = config();
    let mut flow =
        UploadFlow::<Error>::new(CreateBlob::for_file("f.bin").unwrap(), 1, [0; 16]).unwrap();
    assert!(flow.handle_stream(Ok(())).is_err(), "nothing was streamed");
    let UploadStep::Call(BlobCall::Create(_)) = flow.poll(&config) else {
        panic!("create first")
    };
    // Polled while the create call is out: a misuse, and the call is still due.
    let UploadStep::Done(Err(Error::Misuse(_))) = flow.poll(&config) else {
        panic!("a misuse")
    };
    flow.handle_call(Ok(Some(created(3, true)))).unwrap();
    let UploadStep::Stream(_) = flow.poll(&config) else {
        panic!("the stream")
    };
    flow.handle_stream(Ok(())).unwrap();
    let UploadStep::Call(BlobCall::Complete(_)) = flow.poll(&config) else {
        panic!("complete")
    };
    flow.handle_call(Ok(None)).unwrap();
    let UploadStep::Done(Ok(blob)) = flow.poll(&config) else {
        panic!("done")
    };
    assert_eq!(blob.id, 3);
    let UploadStep::Done(Err(Error::Misuse(_))) = flow.poll(&config) else {
        panic!("a finished upload never sends again")
    };
}

fn create() -> impl Strategy<Value = Create> {
    prop_oneof![
        Just(Create::Ok),
        Just(Create::NoAccess),
        Just(Create::Refused)
    ]
}

fn stream() -> impl Strategy<Value = Stream> {
    prop_oneof![
        Just(Stream::Ok),
        Just(Stream::Refused),
        Just(Stream::Broken),
        Just(Stream::Cancelled)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// A failed or cancelled stream always ends with the record deleted,
    /// exactly once and last; a completed upload never deletes; nothing is
    /// completed after a failed stream.
    #[test]
    fn an_upload_either_completes_or_leaves_no_record(
        create in create(),
        stream in stream(),
        complete_ok in any::<bool>(),
        delete_ok in any::<bool>(),
    ) {
        let later = Outcomes { complete_ok, delete_ok };
        let (steps, result) = drive_upload(create.clone(), stream.clone(), later);
        let deletes = steps.iter().filter(|s| s.starts_with("delete_blob")).count();
        let created = !matches!(create, Create::Refused);
        match &result {
            Ok(blob) => {
                prop_assert_eq!(blob.id, 9);
                prop_assert_eq!(&steps, &["create_blob", "upload_stream", "complete_blob"]);
            }
            Err(_) if created => {
                prop_assert_eq!(deletes, 1, "{:?}", steps);
                prop_assert!(steps.last().unwrap().starts_with("delete_blob"), "{:?}", steps);
            }
            Err(_) => prop_assert_eq!(&steps, &["create_blob"]),
        }
        if !matches!(stream, Stream::Ok) && steps.iter().any(|s| s == "upload_stream") {
            prop_assert!(result.is_err());
            prop_assert!(!steps.iter().any(|s| s == "complete_blob"), "{:?}", steps);
            prop_assert_eq!(deletes, 1);
        }
        if matches!(stream, Stream::Cancelled) && steps.iter().any(|s| s == "upload_stream") {
            prop_assert_eq!(result.unwrap_err(), Failure::Cancelled);
        }
    }
}

// Downloads.

/// A download located at `answer` (a 2xx with bytes, or a redirect to
/// `Location`), under `config` with token `t0k`.
fn locate(
    config: &Config,
    flow: &mut DownloadFlow,
    status: u16,
    location: Option<&str>,
    body: &[u8],
) -> Result<(), Error> {
    let DownloadStep::Locate(op) = flow.poll() else {
        panic!("locate first")
    };
    let mut answer = http::Response::builder().status(status);
    if let Some(location) = location {
        answer = answer.header(header::LOCATION, location);
    }
    let answer = answer.body(body.to_vec()).unwrap();
    assert!(op.accepts(answer.status()));
    let location: BlobLocation = op.parse(&answer)?;
    flow.handle_location(location, config, Some(&Secret::new("t0k")))
}

fn length(n: u64) -> HeaderMap {
    HeaderMap::from_iter([(header::CONTENT_LENGTH, n.to_string().parse().unwrap())])
}

#[test]
fn a_download_follows_one_redirect_and_counts_what_arrives() {
    let config = config();
    let mut flow = DownloadFlow::new("a1b2", 10).unwrap();
    locate(&config, &mut flow, 302, Some("/files/a1b2?sig=1"), b"").unwrap();
    let DownloadStep::Fetch(request) = flow.poll() else {
        panic!("fetch")
    };
    assert_eq!(request.uri(), "https://api.example/files/a1b2?sig=1");
    assert_eq!(request.headers()["CB-Token"], "t0k", "the API's own origin");
    assert_eq!(
        flow.handle_head(StatusCode::OK, &length(6)).unwrap(),
        FileBody::File
    );
    assert_eq!(flow.received(4).unwrap(), (4, Some(6)));
    assert_eq!(flow.received(2).unwrap(), (6, Some(6)));
    flow.handle_end().unwrap();
    assert!(!flow.is_done(), "Done not yet returned");
    let DownloadStep::Done(Ok(6)) = flow.poll() else {
        panic!("done")
    };
    assert!(flow.is_done());
    let DownloadStep::Done(Err(Error::Misuse(_))) = flow.poll() else {
        panic!("a finished download never fetches again")
    };
}

#[test]
fn bytes_the_api_sends_itself_are_written_once_and_counted() {
    let config = config();
    let mut flow = DownloadFlow::new("a1b2", 10).unwrap();
    locate(&config, &mut flow, 200, None, b"hello").unwrap();
    let DownloadStep::Write(bytes) = flow.poll() else {
        panic!("write")
    };
    assert_eq!(bytes, b"hello");
    assert_eq!(flow.progress(), (5, Some(5)));
    let DownloadStep::Done(Ok(5)) = flow.poll() else {
        panic!("done")
    };
}

#[test]
fn a_storage_error_is_read_from_the_first_bytes_of_its_answer() {
    let config = config();
    let mut flow = DownloadFlow::new("a1b2", u64::MAX).unwrap();
    locate(
        &config,
        &mut flow,
        301,
        Some("https://files.example/x"),
        b"",
    )
    .unwrap();
    let DownloadStep::Fetch(request) = flow.poll() else {
        panic!("fetch")
    };
    assert!(request.headers().get("CB-Token").is_none(), "another host");
    let FileBody::Error(limit) = flow
        .handle_head(StatusCode::NOT_FOUND, &HeaderMap::new())
        .unwrap()
    else {
        panic!("an error body")
    };
    assert_eq!(limit, cube_proto::transfer::ERROR_BODY_LIMIT);
    assert_eq!(limit, 64 * 1024, "an error answer's first 64 KiB are read");
    let error = flow.handle_error_body(br#"{"errors":["Not found"]}"#);
    assert!(error.is_not_found(), "{error}");
}

#[test]
fn the_limit_holds_at_its_edge_and_refuses_past_it() {
    let config = config();
    // Bytes the API sent itself.
    let mut at = DownloadFlow::new("a1b2", 5).unwrap();
    locate(&config, &mut at, 200, None, b"12345").unwrap();
    let mut past = DownloadFlow::new("a1b2", 5).unwrap();
    let refused = locate(&config, &mut past, 200, None, b"123456").unwrap_err();
    assert!(matches!(
        refused,
        Error::InvalidInput(InvalidInput { field: "file", .. })
    ));

    // A storage answer: its announced length, then what arrives.
    let fetching = |limit| {
        let mut flow = DownloadFlow::new("a1b2", limit).unwrap();
        locate(&config, &mut flow, 302, Some("/f"), b"").unwrap();
        let DownloadStep::Fetch(_) = flow.poll() else {
            panic!("fetch")
        };
        flow
    };
    assert!(fetching(5).handle_head(StatusCode::OK, &length(5)).is_ok());
    assert!(fetching(5).handle_head(StatusCode::OK, &length(6)).is_err());
    let mut unannounced = fetching(5);
    assert_eq!(
        unannounced
            .handle_head(StatusCode::OK, &HeaderMap::new())
            .unwrap(),
        FileBody::File
    );
    assert_eq!(unannounced.received(5).unwrap(), (5, None));
    assert!(unannounced.received(1).is_err(), "one byte past the limit");
}

/// An answer handed in when the flow waits for another is a misuse that
/// changes nothing: the download goes on from where it was.
#[test]
fn a_download_driven_out_of_order_says_so_and_goes_on() {
    fn misuse<T>(outcome: Result<T, Error>) -> bool {
        matches!(outcome, Err(Error::Misuse(_)))
    }
    let config = config();
    let mut flow = DownloadFlow::new("a1b2", 10).unwrap();
    assert!(
        misuse(flow.handle_head(StatusCode::OK, &length(1))),
        "nothing fetched"
    );
    assert!(misuse(flow.received(1)), "nothing fetched");
    assert!(misuse(flow.handle_end()), "nothing fetched");
    assert!(matches!(flow.handle_error_body(b"{}"), Error::Misuse(_)));
    locate(&config, &mut flow, 302, Some("/f"), b"").unwrap();
    let here = BlobLocation::Here(b"xyz".to_vec());
    assert!(
        misuse(flow.handle_location(here, &config, None)),
        "located already"
    );
    let DownloadStep::Fetch(_) = flow.poll() else {
        panic!("fetch")
    };
    assert!(misuse(flow.received(1)), "no answer yet");
    assert!(misuse(flow.handle_end()), "no answer yet");
    assert_eq!(
        flow.handle_head(StatusCode::OK, &length(3)).unwrap(),
        FileBody::File
    );
    assert!(
        misuse(flow.handle_head(StatusCode::OK, &length(3))),
        "answered already"
    );
    assert_eq!(flow.received(3).unwrap(), (3, Some(3)));
    flow.handle_end().unwrap();
    let DownloadStep::Done(Ok(3)) = flow.poll() else {
        panic!("done")
    };
}

#[test]
fn a_redirect_from_https_to_plain_http_is_not_followed() {
    let config = config();
    let mut flow = DownloadFlow::new("a1b2", u64::MAX).unwrap();
    let refused = locate(&config, &mut flow, 302, Some("http://files.example/x"), b"").unwrap_err();
    assert!(matches!(refused, Error::Decode(_)), "{refused}");
}

/// The origin of a URI as a browser compares them: scheme, lowercase host,
/// effective port.
fn origin(uri: &http::Uri) -> (String, String, u16) {
    let scheme = uri.scheme_str().unwrap().to_owned();
    let port = uri
        .port_u16()
        .unwrap_or(if scheme == "https" { 443 } else { 80 });
    (scheme, uri.host().unwrap().to_ascii_lowercase(), port)
}

fn host() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "api.example",
        "API.example",
        "files.example",
        "api.example.evil",
        "127.0.0.1",
    ])
    .prop_map(str::to_owned)
}

fn port() -> impl Strategy<Value = Option<u16>> {
    prop::option::of(prop::sample::select(vec![80u16, 443, 8080]))
}

fn url(scheme: &str, host: &str, port: Option<u16>) -> String {
    match port {
        Some(port) => format!("{scheme}://{host}:{port}"),
        None => format!("{scheme}://{host}"),
    }
}

fn location() -> impl Strategy<Value = String> {
    let scheme = prop::sample::select(vec!["http", "https", "ftp", "HTTPS"]);
    prop_oneof![
        (scheme, host(), port()).prop_map(|(s, h, p)| format!("{}/f?sig=1", url(s, &h, p))),
        (host(), port())
            .prop_map(|(h, p)| format!("//{}/f", url("x", &h, p).trim_start_matches("x://"))),
        Just("/files/f?token=t".to_owned()),
        Just("file".to_owned()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// Wherever the storage redirect points, the request for the bytes
    /// carries the session token exactly when it stays on the API's origin.
    #[test]
    fn the_token_never_reaches_another_origin(
        https in any::<bool>(),
        api_host in host(),
        api_port in port(),
        location in location(),
    ) {
        let base = url(if https { "https" } else { "http" }, &api_host, api_port);
        let config = Config::builder(1, "key").base_url(base.clone()).build().unwrap();
        let mut flow = DownloadFlow::new("a1b2", u64::MAX).unwrap();
        if locate(&config, &mut flow, 302, Some(&location), b"").is_err() {
            // Refused: nothing is fetched at all.
            prop_assert!(matches!(flow.poll(), DownloadStep::Done(Err(_))));
            return Ok(());
        }
        let DownloadStep::Fetch(request) = flow.poll() else {
            panic!("fetch")
        };
        let api: http::Uri = base.parse().unwrap();
        let same = origin(request.uri()) == origin(&api);
        prop_assert_eq!(request.headers().contains_key("CB-Token"), same, "{} -> {}", base, request.uri());
        prop_assert!(request.headers().contains_key("CB-SDK"));
    }

    /// The body of a streamed upload is the head, exactly the announced
    /// length of the file and the tail; a file of another length fails
    /// before any byte of the tail goes.
    #[test]
    fn an_upload_body_is_head_file_tail_or_a_length_error(
        head in prop::collection::vec(any::<u8>(), 0..40),
        tail in prop::collection::vec(any::<u8>(), 0..40),
        announced in 0u64..200,
        // Half the files are of the announced length (only those reach the
        // tail), the others shorter or longer by any amount.
        off_by in prop_oneof![Just(0i64), -200i64..200],
        chunk in 1usize..64,
    ) {
        let actual = (announced as i64 + off_by).max(0) as u64;
        let file: Vec<u8> = (0..actual).map(|i| i as u8).collect();
        let total = head.len() as u64 + announced + tail.len() as u64;
        let mut body = UploadBody::new(head.clone(), announced, tail.clone());
        prop_assert_eq!(body.remaining(), total);
        let mut out = Vec::new();
        let mut at = 0usize;
        // Every step but the end check moves at least one byte: a body
        // that stops moving fails here instead of spinning.
        let most_steps = total as usize + file.len() + 3;
        let mut outcome = None;
        for _ in 0..most_steps {
            match body.poll() {
                BodyStep::Bytes(part) => {
                    prop_assert!(!part.is_empty(), "an empty part to send");
                    let n = part.len().min(chunk);
                    out.extend_from_slice(&part[..n]);
                    body.sent(n);
                }
                BodyStep::ReadFile(want) => {
                    prop_assert!(want > 0, "a read of nothing");
                    let n = want.min(chunk).min(file.len() - at);
                    out.extend_from_slice(&file[at..at + n]);
                    at += n;
                    if let Err(e) = body.file_read(n) {
                        outcome = Some(Err(e));
                        break;
                    }
                    prop_assert_eq!(body.progress(), (at as u64, announced));
                }
                BodyStep::CheckEnd => {
                    if let Err(e) = body.end_checked(at < file.len()) {
                        outcome = Some(Err(e));
                        break;
                    }
                }
                BodyStep::End => {
                    outcome = Some(Ok(()));
                    break;
                }
            }
            prop_assert_eq!(body.remaining(), total - out.len() as u64, "after {} bytes", out.len());
        }
        let Some(outcome) = outcome else {
            return Err(TestCaseError::fail(format!("the body did not end in {most_steps} steps")));
        };
        match outcome {
            Ok(()) => {
                prop_assert_eq!(actual, announced);
                let mut whole = head.clone();
                whole.extend_from_slice(&file);
                whole.extend_from_slice(&tail);
                prop_assert_eq!(out, whole);
                prop_assert_eq!(body.remaining(), 0);
            }
            Err(LengthMismatch::Short { read, announced: a }) => {
                prop_assert!(actual < announced);
                prop_assert_eq!((read, a), (actual, announced));
                prop_assert_eq!(out.len(), head.len() + actual as usize, "no tail");
            }
            Err(LengthMismatch::Long { announced: a }) => {
                prop_assert!(actual > announced);
                prop_assert_eq!(a, announced);
                prop_assert_eq!(out.len(), head.len() + announced as usize, "no tail");
            }
        }
    }
}

#[test]
fn a_download_of_a_bad_uid_is_refused_before_anything_is_sent() {
    assert!(DownloadFlow::new("1234", 1).is_err());
    assert!(DownloadBlob::new("").is_err());
}

/// A pump that says it sent more than it was given moves on to what comes
/// next (no panic, no byte sent twice), and a read of nothing once the
/// announced length is in is no short file.
#[test]
fn an_upload_body_takes_a_pump_s_overcount_and_a_late_empty_read() {
    let mut body = UploadBody::new(b"HEAD".to_vec(), 2, b"TAIL".to_vec());
    body.sent(10);
    assert_eq!(body.poll(), BodyStep::ReadFile(2));
    assert_eq!(body.remaining(), 6);
    body.file_read(2).unwrap();
    assert_eq!(body.file_read(0), Ok(()));
    assert_eq!(body.poll(), BodyStep::CheckEnd);
    body.end_checked(false).unwrap();
    assert_eq!(body.poll(), BodyStep::Bytes(b"TAIL"));
    body.sent(2);
    assert_eq!(body.poll(), BodyStep::Bytes(b"IL"));
    body.sent(7);
    assert_eq!(body.poll(), BodyStep::End);
    assert_eq!(body.remaining(), 0);
}
