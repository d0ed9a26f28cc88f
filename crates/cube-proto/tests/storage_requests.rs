//! Storage: the exact requests of every blob operation, the parsing of
//! their answers, the multipart upload built from the upload URL, and the
//! file URLs.

use cube_proto::model::{Blob, BlobObjectAccess};
use cube_proto::ops::{
    Access, CompleteBlob, CreateBlob, DeleteBlob, GetBlob, Operation, Transition, Upload,
    blob_private_url, blob_public_url,
};
use cube_proto::wire::{Request, RequestContext, Response};
use cube_proto::{Config, Error, Secret};
use serde_json::{Value, json};
use time::OffsetDateTime;

fn config() -> Config {
    Config::builder(1, "key")
        .base_url("http://127.0.0.1:9/api")
        .build()
        .unwrap()
}

fn build(op: &impl Operation) -> Request {
    let config = config();
    let token = Secret::new("tok-81");
    let ctx = RequestContext {
        config: &config,
        token: Some(&token),
        now: OffsetDateTime::UNIX_EPOCH,
        nonce: 0,
    };
    op.build(&ctx).unwrap()
}

fn headers(req: &Request) -> Vec<(String, String)> {
    let mut h: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_owned()))
        .collect();
    h.sort();
    h
}

fn api_headers(json: bool) -> Vec<(String, String)> {
    let mut h = vec![
        (
            "cb-sdk".to_owned(),
            concat!("Rust ", env!("CARGO_PKG_VERSION"), " - Client").to_owned(),
        ),
        ("cb-token".to_owned(), "tok-81".to_owned()),
    ];
    if json {
        h.push(("content-type".into(), "application/json".into()));
    }
    h.sort();
    h
}

fn body(req: &Request) -> Value {
    serde_json::from_slice(req.body()).unwrap()
}

fn response(status: u16, body: &str) -> Response {
    http::Response::builder()
        .status(status)
        .body(body.as_bytes().to_vec())
        .unwrap()
}

#[test]
fn create_blob() {
    let op = CreateBlob::new("image/jpeg", "cat.jpeg").unwrap();
    assert_eq!(op.access(), Access::Write);
    let req = build(&op);
    assert_eq!(req.method(), "POST");
    assert_eq!(req.uri(), "http://127.0.0.1:9/api/blobs");
    assert_eq!(headers(&req), api_headers(true));
    assert_eq!(
        body(&req),
        json!({"blob": {"content_type": "image/jpeg", "name": "cat.jpeg", "public": false}})
    );
    let public = build(
        &CreateBlob::new("image/png", "a b.png")
            .unwrap()
            .public(true),
    );
    assert_eq!(
        body(&public),
        json!({"blob": {"content_type": "image/png", "name": "a b.png", "public": true}})
    );
    assert_eq!(CreateBlob::new("", "x").unwrap_err().field, "content_type");
    assert_eq!(
        CreateBlob::new("a\r\nb", "x").unwrap_err().field,
        "content_type"
    );
    assert_eq!(CreateBlob::new("image/png", " ").unwrap_err().field, "name");
}

#[test]
fn complete_info_delete() {
    let op = CompleteBlob::new(7, 1_048_576);
    assert_eq!(op.access(), Access::Write);
    let req = build(&op);
    assert_eq!(
        (req.method().as_str(), req.uri().to_string()),
        ("PUT", "http://127.0.0.1:9/api/blobs/7/complete".to_owned())
    );
    assert_eq!(headers(&req), api_headers(true));
    assert_eq!(body(&req), json!({"blob": {"size": 1_048_576}}));
    assert_eq!(op.transition(&()), Transition::None);

    let op = GetBlob::new(7);
    assert_eq!(op.access(), Access::Read);
    let req = build(&op);
    assert_eq!(
        (req.method().as_str(), req.uri().to_string()),
        ("GET", "http://127.0.0.1:9/api/blobs/7".to_owned())
    );
    assert_eq!(headers(&req), api_headers(false));
    assert!(req.body().is_empty());

    let op = DeleteBlob::new(7);
    assert_eq!(op.access(), Access::Write);
    let req = build(&op);
    assert_eq!(
        (req.method().as_str(), req.uri().to_string()),
        ("DELETE", "http://127.0.0.1:9/api/blobs/7".to_owned())
    );
    assert_eq!(headers(&req), api_headers(false));
    assert!(req.body().is_empty());
}

const CREATED: &str = r#"{"blob": {"id": 7, "uid": "9a1bc2d3e4f5", "content_type": "image/jpeg",
    "name": "cat.jpeg", "size": null, "public": false,
    "created_at": "2026-11-24T10:00:00Z", "updated_at": "2026-11-24T10:00:00Z",
    "set_completed_at": null, "blob_status": null,
    "blob_object_access": {"id": 7, "blob_id": 7, "expires": "2026-11-24T11:00:00Z",
        "object_access_type": "Write",
        "params": "https://cb-shared-s3.s3.amazonaws.com/?Content-Type=image%2Fjpeg&Expires=Tue%2C%2024%20Nov%202026%2011%3A00%3A00%20GMT&acl=authenticated-read&key=9a1bc2d3e4f5&policy=eyJleHBp%2BcmF0%3D%3D&success_action_status=201&x-amz-algorithm=AWS4-HMAC-SHA256&x-amz-credential=AKIA%2F20261124%2Fus-east-1%2Fs3%2Faws4_request&x-amz-date=20261124T100000Z&x-amz-signature=abc123&note=a+b"}}}"#;

#[test]
fn parse_blob_answers() {
    let blob = CreateBlob::new("image/jpeg", "cat.jpeg")
        .unwrap()
        .parse(&response(201, CREATED))
        .unwrap();
    assert_eq!(blob.id, 7);
    assert_eq!(blob.uid.as_deref(), Some("9a1bc2d3e4f5"));
    assert_eq!(blob.size, None);
    assert_eq!(blob.public, Some(false));
    assert_eq!(blob.created_at.unwrap().unix_timestamp(), 1_795_514_400);
    let access = blob.blob_object_access.as_ref().unwrap();
    assert_eq!(access.object_access_type.as_deref(), Some("Write"));
    assert_eq!(access.expires.unwrap().unix_timestamp(), 1_795_518_000);
    assert!(
        access
            .upload_url()
            .unwrap()
            .starts_with("https://cb-shared-s3")
    );
    // The upload URL holds a signed policy: Debug does not show it.
    assert!(!format!("{blob:?}").contains("x-amz-signature"));

    // Info after completion: sparse, ids as strings, no access object.
    let info = GetBlob::new(7)
        .parse(&response(
            200,
            r#"{"blob": {"id": "7", "uid": "9a1bc2d3e4f5", "size": "1024", "public": null,
                "name": null, "blob_object_access": null}}"#,
        ))
        .unwrap();
    assert_eq!(
        (info.id, info.size, info.public, info.name),
        (7, Some(1024), None, None)
    );
    assert!(info.blob_object_access.is_none());
    // Bare object too; a blob without an id is a decode error.
    assert_eq!(
        GetBlob::new(7)
            .parse(&response(200, r#"{"id": 7}"#))
            .unwrap()
            .id,
        7
    );
    assert!(matches!(
        GetBlob::new(7).parse(&response(200, r#"{"blob": {"uid": "x"}}"#)),
        Err(Error::Decode(_))
    ));
    for body in ["", "{}", "<xml/>"] {
        CompleteBlob::new(7, 1).parse(&response(200, body)).unwrap();
        DeleteBlob::new(7).parse(&response(200, body)).unwrap();
    }
}

fn created_blob() -> Blob {
    CreateBlob::new("image/jpeg", "cat.jpeg")
        .unwrap()
        .parse(&response(201, CREATED))
        .unwrap()
}

#[test]
fn the_upload_turns_the_url_query_into_fields_then_the_file() {
    let blob = created_blob();
    let upload = Upload::for_blob(&blob, b"\x00\xFFJPEG\r\n--data".to_vec()).unwrap();
    let names: Vec<&str> = upload.fields().iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "Content-Type",
            "Expires",
            "acl",
            "key",
            "policy",
            "success_action_status",
            "x-amz-algorithm",
            "x-amz-credential",
            "x-amz-date",
            "x-amz-signature",
            "note"
        ]
    );
    let req = upload
        .boundary("----cubeBoundary42")
        .into_request()
        .unwrap();
    assert_eq!(req.method(), "POST");
    assert_eq!(req.uri(), "https://cb-shared-s3.s3.amazonaws.com/");
    assert_eq!(req.uri().query(), None);
    assert_eq!(
        headers(&req),
        [(
            "content-type".to_owned(),
            "multipart/form-data; boundary=----cubeBoundary42".to_owned()
        )],
        "no CB-Token, no CB-SDK: the upload needs no session"
    );
    let mut expected = Vec::new();
    for (name, value) in [
        ("Content-Type", "image/jpeg"),
        ("Expires", "Tue, 24 Nov 2026 11:00:00 GMT"),
        ("acl", "authenticated-read"),
        ("key", "9a1bc2d3e4f5"),
        ("policy", "eyJleHBp+cmF0=="),
        ("success_action_status", "201"),
        ("x-amz-algorithm", "AWS4-HMAC-SHA256"),
        (
            "x-amz-credential",
            "AKIA/20261124/us-east-1/s3/aws4_request",
        ),
        ("x-amz-date", "20261124T100000Z"),
        ("x-amz-signature", "abc123"),
        // A raw `+` in the URL is a literal plus, not a space.
        ("note", "a+b"),
    ] {
        expected.extend_from_slice(
            format!(
                "------cubeBoundary42\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    expected.extend_from_slice(
        b"------cubeBoundary42\r\nContent-Disposition: form-data; name=\"file\"; \
          filename=\"cat.jpeg\"\r\nContent-Type: image/jpeg\r\n\r\n\x00\xFFJPEG\r\n--data\r\n\
          ------cubeBoundary42--\r\n",
    );
    assert_eq!(
        String::from_utf8_lossy(req.body()),
        String::from_utf8_lossy(&expected)
    );
    assert_eq!(req.body(), &expected);
}

#[test]
fn an_upload_does_not_show_its_signed_url_or_bytes_in_debug() {
    let upload = Upload::for_blob(&created_blob(), b"secret-bytes".to_vec()).unwrap();
    let shown = format!("{upload:?}");
    assert!(!shown.contains("abc123"), "{shown}");
    assert!(!shown.contains("eyJleHBp"), "{shown}");
    assert!(!shown.contains("secret-bytes"), "{shown}");
    assert!(
        shown.contains("x-amz-signature"),
        "field names are shown: {shown}"
    );
}

#[test]
fn storage_calls_through_the_driver() {
    use cube_proto::call::{Call, Step};
    use cube_proto::{Session, SessionKind};
    let t0 = time::macros::datetime!(2026-11-24 10:00 UTC);
    let session_of = |kind| {
        let mut s = Session::default();
        s.apply(
            Transition::Established {
                token: Secret::new("tok"),
                kind,
                session_id: 1,
                user_id: (kind == SessionKind::User).then_some(81),
            },
            t0,
            Some(t0 + time::Duration::hours(2)),
        );
        s
    };
    // An application session cannot create a file: refused before sending.
    let mut app = session_of(SessionKind::Application);
    let mut call = Call::new(config(), CreateBlob::new("image/png", "a.png").unwrap());
    assert!(matches!(
        call.poll(&mut app, t0, 1),
        Step::Done(Err(Error::NeedUser))
    ));
    // It can read one.
    let mut call = Call::new(config(), GetBlob::new(7));
    assert!(matches!(call.poll(&mut app, t0, 1), Step::Send(_)));
    // A 422 keeps its field names.
    let mut user = session_of(SessionKind::User);
    let mut call = Call::new(config(), CreateBlob::new("image/png", "a.png").unwrap());
    let Step::Send(_) = call.poll(&mut user, t0, 1) else {
        panic!()
    };
    call.handle_response(
        &mut user,
        response(422, r#"{"errors": {"content_type": ["is not allowed"]}}"#),
    )
    .unwrap();
    match call.poll(&mut user, t0, 2) {
        Step::Done(Err(Error::Api(e))) => {
            assert_eq!(e.messages.fields["content_type"], ["is not allowed"])
        }
        _ => panic!("expected the API error"),
    }
}

#[test]
fn the_derived_boundary_is_deterministic_and_valid() {
    let blob = created_blob();
    let a = Upload::for_blob(&blob, vec![1, 2, 3])
        .unwrap()
        .into_request()
        .unwrap();
    let b = Upload::for_blob(&blob, vec![1, 2, 3])
        .unwrap()
        .into_request()
        .unwrap();
    assert_eq!(a.body(), b.body());
    let ct = a.headers()["content-type"].to_str().unwrap();
    let boundary = ct.strip_prefix("multipart/form-data; boundary=").unwrap();
    assert!(boundary.len() <= 70);
    let body = a.body();
    assert!(body.starts_with(format!("--{boundary}\r\n").as_bytes()));
    assert!(body.ends_with(format!("\r\n--{boundary}--\r\n").as_bytes()));
    let other = Upload::for_blob(&blob, vec![9])
        .unwrap()
        .into_request()
        .unwrap();
    assert_ne!(a.headers()["content-type"], other.headers()["content-type"]);
}

#[test]
fn uploads_refuse_what_cannot_be_sent() {
    let mut blob = created_blob();
    // A boundary that occurs in the bytes is refused, not sent broken.
    let err = Upload::for_blob(&blob, b"xx--B--xx".to_vec())
        .unwrap()
        .boundary("B")
        .into_request()
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(ref e) if e.field == "boundary"));
    for url in ["not a url", "ftp://h/x?a=b", "/relative?a=b"] {
        let access = BlobObjectAccess::new(url);
        let err = Upload::new(&access, "f", "text/plain", vec![]).unwrap_err();
        assert_eq!(err.field, "blob_object_access", "{url}");
    }
    let access = BlobObjectAccess::new("https://up.example/?a=%FF");
    assert!(Upload::new(&access, "f", "text/plain", vec![]).is_err());
    blob.blob_object_access = None;
    assert_eq!(
        Upload::for_blob(&blob, vec![]).unwrap_err().field,
        "blob_object_access"
    );
    // No query at all: just the file; a fragment is dropped.
    let access = BlobObjectAccess::new("http://127.0.0.1:9/upload#frag");
    let req = Upload::new(&access, "f.txt", "text/plain", b"hi".to_vec())
        .unwrap()
        .boundary("B")
        .into_request()
        .unwrap();
    assert_eq!(req.uri(), "http://127.0.0.1:9/upload");
    assert_eq!(
        req.body(),
        b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f.txt\"\r\n\
          Content-Type: text/plain\r\n\r\nhi\r\n--B--\r\n"
    );
}

#[test]
fn file_urls() {
    let config = config();
    assert_eq!(
        blob_private_url(&config, "9a1bc2d3e4f5", &Secret::new("tok+/=81")).unwrap(),
        "http://127.0.0.1:9/api/blobs/9a1bc2d3e4f5?token=tok%2B%2F%3D81"
    );
    assert_eq!(
        blob_public_url(&config, "9a1b/c d").unwrap(),
        "http://127.0.0.1:9/api/blobs/9a1b%2Fc%20d"
    );
    for bad in ["", "12345"] {
        assert!(blob_public_url(&config, bad).is_err());
        assert!(blob_private_url(&config, bad, &Secret::new("t")).is_err());
    }
}
