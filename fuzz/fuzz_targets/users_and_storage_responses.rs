//! Any body for every users and storage operation: a value or a typed error,
//! never a panic. The upload permission of a parsed blob always yields an
//! upload request or a typed refusal.
#![no_main]

use cube_proto::ops::{
    CreateBlob, GetBlob, GetUser, ListUsers, NewUser, Operation, SearchUsers, SignUp, Upload,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(response) = http::Response::builder().status(200).body(data.to_vec()) else {
        return;
    };
    let _ = GetUser::by_id(1).parse(&response);
    let _ = ListUsers::new().parse(&response);
    let _ = SignUp::new(NewUser::with_login("abc", "password")).parse(&response);
    let _ = GetBlob::new(1).parse(&response);
    if let Ok(search) = SearchUsers::by_ids([1, 2]) {
        if let Ok(page) = search.parse(&response) {
            // The paginator never asks for a page before the one it was given.
            if let Some(next) = search.next_page(&page) {
                assert!(next.current_offset() > search.current_offset());
            }
        }
    }
    if let Ok(create) = CreateBlob::new("image/png", "a.png") {
        if let Ok(blob) = create.parse(&response) {
            if let Ok(upload) = Upload::for_blob(&blob, b"bytes".to_vec()) {
                let _ = upload.into_request();
            }
        }
    }
});
