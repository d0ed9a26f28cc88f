//! Property tests of the upload: any upload URL query becomes the same form
//! fields, in order, and the multipart body splits back into exactly those
//! fields and the file, whatever the bytes.

use cube_proto::model::BlobObjectAccess;
use cube_proto::ops::Upload;
use cube_proto::query;
use proptest::prelude::*;

fn text() -> impl Strategy<Value = String> {
    let ch = prop_oneof![
        4 => prop::char::range('a', 'z'),
        2 => prop::sample::select(vec![' ', '+', '&', '=', '#', '%', '?', '/', '"', '\r', '\n', '-', 'é', '🐱']),
        1 => any::<char>(),
    ];
    prop::collection::vec(ch, 0..10).prop_map(|cs| cs.into_iter().collect())
}

/// Splits a multipart body the way a server would, from the boundary alone.
fn split(body: &[u8], boundary: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    let delimiter = format!("\r\n--{boundary}");
    let mut rest = body
        .strip_prefix(format!("--{boundary}").as_bytes())
        .expect("opening delimiter")
        .to_vec();
    let mut parts = Vec::new();
    loop {
        if rest.starts_with(b"--\r\n") {
            assert_eq!(rest.len(), 4, "nothing after the closing delimiter");
            return parts;
        }
        rest = rest
            .strip_prefix(b"\r\n")
            .expect("CRLF after delimiter")
            .to_vec();
        let end = rest
            .windows(delimiter.len())
            .position(|w| w == delimiter.as_bytes())
            .expect("next delimiter");
        let part = &rest[..end];
        let split_at = part
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("headers end");
        parts.push((part[..split_at].to_vec(), part[split_at + 4..].to_vec()));
        rest = rest[end + delimiter.len()..].to_vec();
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn upload_fields_and_body_round_trip(
        fields in prop::collection::vec((text(), text()), 0..6),
        bytes in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        // The server writes the upload URL with every component encoded.
        let q: Vec<String> = fields
            .iter()
            .filter(|(k, _)| !k.is_empty())
            .map(|(k, v)| format!("{}={}", query::encode(k), query::encode(v)))
            .collect();
        let kept: Vec<(String, String)> =
            fields.iter().filter(|(k, _)| !k.is_empty()).cloned().collect();
        let url = format!("https://up.example/bucket?{}", q.join("&"));
        let upload = Upload::new(&BlobObjectAccess::new(url), "f.bin", "application/octet-stream", bytes.clone())
            .unwrap();
        prop_assert_eq!(upload.fields(), kept.as_slice());
        let request = upload.into_request().unwrap();
        prop_assert_eq!(request.uri(), "https://up.example/bucket");
        let content_type = request.headers()["content-type"].to_str().unwrap().to_owned();
        let boundary = content_type.strip_prefix("multipart/form-data; boundary=").unwrap();
        let parts = split(request.body(), boundary);
        prop_assert_eq!(parts.len(), kept.len() + 1);
        for ((headers, value), (name, want)) in parts.iter().zip(&kept) {
            let escaped = name.replace('"', "%22").replace('\r', "%0D").replace('\n', "%0A");
            let expected = format!("Content-Disposition: form-data; name=\"{escaped}\"");
            prop_assert_eq!(String::from_utf8_lossy(headers), expected);
            prop_assert_eq!(value, want.as_bytes());
        }
        let (headers, file) = parts.last().unwrap();
        prop_assert_eq!(
            String::from_utf8_lossy(headers),
            "Content-Disposition: form-data; name=\"file\"; filename=\"f.bin\"\r\nContent-Type: application/octet-stream"
        );
        prop_assert_eq!(file, &bytes);
    }
}
