//! Streamed uploads, the download redirect, look-ups by many ids and
//! paging, as requests and answers.

use cube_proto::model::{BlobObjectAccess, PageV2};
use cube_proto::multipart::{FilePart, Form};
use cube_proto::ops::{
    BlobLocation, DownloadBlob, MAX_UPLOAD, Operation, StreamedUpload, guess_content_type,
};
use cube_proto::search::{Field, Paging, SearchUsers, UsersByIds};
use cube_proto::{Config, Error, Secret, wire::RequestContext};
use http::StatusCode;

fn config(base: &str) -> Config {
    Config::builder(1, "key").base_url(base).build().unwrap()
}

#[test]
fn the_streamed_body_is_the_buffered_one_with_the_same_boundary() {
    let config = config("https://api.example");
    let access = BlobObjectAccess::new("https://up.example/u?key=k1&policy=a%2Bb%3D&x=a+b");
    let file = b"\x00\xffbinary\r\n--not-a-boundary".to_vec();
    let upload = StreamedUpload::new(
        &config,
        &access,
        "c\"at.jpg",
        "image/jpeg",
        file.len() as u64,
        [9; 16],
    )
    .unwrap();
    let mut streamed = upload.head().to_vec();
    streamed.extend_from_slice(&file);
    streamed.extend_from_slice(upload.tail());
    assert_eq!(streamed.len() as u64, upload.content_length());
    let mut form = Form::new();
    for (k, v) in [("key", "k1"), ("policy", "a+b="), ("x", "a+b")] {
        form.field(k, v);
    }
    let boundary = format!("cube-{}", "09".repeat(16));
    let buffered = form
        .encode(&FilePart::new("c\"at.jpg", "image/jpeg", file), &boundary)
        .unwrap();
    assert_eq!(streamed, buffered);
    let headers = upload.request().headers();
    assert_eq!(
        headers["content-type"],
        format!("multipart/form-data; boundary={boundary}")
    );
    assert_eq!(
        headers["content-length"],
        upload.content_length().to_string()
    );
    assert_eq!(
        headers["cb-sdk"],
        concat!("Rust ", env!("CARGO_PKG_VERSION"), " - Client")
    );
    assert!(headers.get("cb-token").is_none());
    let debug = format!("{upload:?}");
    assert!(
        !debug.contains("a+b") && !debug.contains("97, 43"),
        "{debug}"
    );
}

#[test]
fn the_file_size_limit_holds_at_100_mib() {
    let config = config("https://api.example");
    let access = BlobObjectAccess::new("https://up.example/u?key=k1");
    assert!(StreamedUpload::new(&config, &access, "f", "a/b", MAX_UPLOAD, [0; 16]).is_ok());
    let err =
        StreamedUpload::new(&config, &access, "f", "a/b", MAX_UPLOAD + 1, [0; 16]).unwrap_err();
    assert!(matches!(err, Error::InvalidInput(i) if i.field == "file"));
    let no_url: BlobObjectAccess = serde_json::from_str(r#"{"params": null}"#).unwrap();
    assert!(StreamedUpload::new(&config, &no_url, "f", "a/b", 1, [0; 16]).is_err());
}

#[test]
fn content_types_are_guessed_from_names() {
    for (name, ty) in [
        ("a.png", "image/png"),
        ("a.JPG", "image/jpeg"),
        ("dir/clip.mp4", "video/mp4"),
        ("doc.pdf", "application/pdf"),
        ("noext", "application/octet-stream"),
        ("weird.zzzz", "application/octet-stream"),
    ] {
        assert_eq!(guess_content_type(name), ty, "{name}");
    }
}

fn redirect(status: u16, location: Option<&str>) -> Result<BlobLocation, Error> {
    let mut answer = http::Response::builder().status(status);
    if let Some(l) = location {
        answer = answer.header("Location", l);
    }
    DownloadBlob::new("u1abc")
        .unwrap()
        .parse(&answer.body(Vec::new()).unwrap())
}

fn follow(base: &str, location: &str) -> Result<http::Request<Vec<u8>>, Error> {
    let BlobLocation::Redirect(r) = redirect(301, Some(location)).unwrap() else {
        panic!("not a redirect");
    };
    r.request(&config(base), Some(&Secret::new("tok")))
}

#[test]
fn the_download_asks_with_the_header_token_and_takes_one_redirect() {
    let config = config("https://api.example");
    let token = Secret::new("tok");
    let ctx = RequestContext {
        config: &config,
        token: Some(&token),
        now: time::OffsetDateTime::UNIX_EPOCH,
        nonce: 0,
    };
    let op = DownloadBlob::new("u1abc").unwrap();
    let request = op.build(&ctx).unwrap();
    assert_eq!(request.uri(), "https://api.example/blobs/u1abc/download");
    assert_eq!(request.uri().query(), None, "the token is not in the URL");
    assert_eq!(request.headers()["cb-token"], "tok");
    for status in [200, 301, 302, 303, 307, 308] {
        assert!(
            op.accepts(StatusCode::from_u16(status).unwrap()),
            "{status}"
        );
    }
    for status in [300, 304, 401, 404, 500] {
        assert!(
            !op.accepts(StatusCode::from_u16(status).unwrap()),
            "{status}"
        );
    }
    assert!(DownloadBlob::new("123").is_err(), "an id, not a uid");
    assert!(DownloadBlob::new("").is_err());
    // The bytes themselves, or a redirect without a Location.
    let here = http::Response::builder()
        .status(200)
        .body(b"abc".to_vec())
        .unwrap();
    assert_eq!(
        op.parse(&here).unwrap(),
        BlobLocation::Here(b"abc".to_vec())
    );
    assert!(matches!(redirect(302, None), Err(Error::Decode(_))));
    assert!(matches!(redirect(302, Some("  ")), Err(Error::Decode(_))));
}

#[test]
fn the_token_follows_only_to_the_same_origin() {
    let same = follow("https://api.example", "/blobs/u1abc?token=x").unwrap();
    assert_eq!(same.uri(), "https://api.example/blobs/u1abc?token=x");
    assert_eq!(same.headers()["cb-token"], "tok");
    assert_eq!(
        same.headers()["cb-sdk"],
        concat!("Rust ", env!("CARGO_PKG_VERSION"), " - Client")
    );
    for other in [
        "https://files.example/u1abc",
        "https://api.example:8443/u1abc",
        "https://api.example.evil/u1abc",
        "//cdn.example/u1abc",
    ] {
        let r = follow("https://api.example", other).unwrap();
        assert!(r.headers().get("cb-token").is_none(), "{other}");
        assert!(r.headers().contains_key("cb-sdk"), "{other}");
    }
    // Plain HTTP on both sides (the emulator) is the same origin.
    let local = follow(
        "http://127.0.0.1:8080",
        "http://127.0.0.1:8080/blobs/u1abc?token=x",
    )
    .unwrap();
    assert_eq!(local.headers()["cb-token"], "tok");
    // Never from HTTPS down to HTTP, never to another scheme.
    for bad in [
        "http://api.example/u1abc",
        "ftp://files.example/u",
        "javascript:alert(1)",
    ] {
        let err = follow("https://api.example", bad).unwrap_err();
        assert!(
            matches!(&err, Error::Decode(d) if d.status == StatusCode::MOVED_PERMANENTLY),
            "{bad}"
        );
        assert!(
            !err.to_string().contains("api.example"),
            "the URL stays out: {err}"
        );
    }
}

#[test]
fn ids_are_asked_once_in_requests_of_100() {
    assert!(UsersByIds::new([]).requests().unwrap().is_empty());
    let one = UsersByIds::new(1..=100).requests().unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].query().matches("id[in][]=").count(), 100);
    assert!(one[0].query().ends_with("&limit=100"));
    assert_eq!(UsersByIds::new(1..=101).requests().unwrap().len(), 2);
    let repeated = UsersByIds::new([5, 3, 5, 9, 3]);
    assert_eq!(repeated.ids(), [5, 3, 9]);
    let mut lookup = repeated;
    let page: PageV2 = serde_json::from_str(
        r#"{"skip":0,"limit":100,"total_entries":2,"items":[{"id":9},{"id":5},{"id":77}]}"#,
    )
    .unwrap();
    lookup.handle_page(page);
    let found: Vec<u64> = lookup.users().iter().map(|u| u.id).collect();
    assert_eq!(found, [5, 9], "asked order; 3 missing, 77 not asked");
}

#[test]
fn paging_applies_offset_limit_and_sort_and_is_checked() {
    let op = SearchUsers::by_phone("+1555")
        .unwrap()
        .with_paging(&Paging::page(3, 25).sort_asc(Field::FullName))
        .unwrap();
    assert_eq!(
        op.query(),
        "phone=%2B1555&sort_asc=full_name&offset=50&limit=25"
    );
    assert_eq!(Paging::page(0, 10), Paging::page(1, 10));
    assert!(
        SearchUsers::by_phone("x")
            .unwrap()
            .with_paging(&Paging::new().limit(0))
            .is_err()
    );
    assert!(
        SearchUsers::by_phone("x")
            .unwrap()
            .with_paging(&Paging::new().limit(100))
            .is_ok()
    );
    assert!(
        SearchUsers::by_phone("x")
            .unwrap()
            .with_paging(&Paging::new().limit(101))
            .is_err()
    );
    // A prefix search keeps the server's pages of 5.
    let prefix = SearchUsers::by_full_name("Dacia")
        .unwrap()
        .with_paging(&Paging::new().offset(5).limit(50))
        .unwrap();
    assert_eq!(
        prefix.query(),
        "full_name[start_with]=Dacia&offset=5&limit=5"
    );
    // Nothing set: the search as it was.
    let plain = SearchUsers::by_tags(["a"]).unwrap();
    assert_eq!(plain.clone().with_paging(&Paging::new()).unwrap(), plain);
}
