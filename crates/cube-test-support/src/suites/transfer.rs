//! [`transfer_suite!`](crate::transfer_suite): streamed files and paged
//! look-ups.

/// Streamed uploads and downloads (progress, cancel, lengths, idle
/// timeouts, a 100 MiB file in a child process), the token's host rule and
/// the paged look-ups, through one adapter's client. Written once, expanded
/// in a test file of each adapter: `transfer_suite!(cube_blocking, #[test]);`
/// or `transfer_suite!(cube_async, #[tokio::test(flavor = "multi_thread")] async await);`.
#[macro_export]
macro_rules! transfer_suite {
    ($adapter:ident, #[$attr:meta] $($async:ident $await:ident)?) => {
        use $crate::transfer::{self as tx, TempDir};
        use $crate::http;
        use $adapter::{
            Client, CreateBlob, Credentials, DownloadOptions, Error, Field, NewUser, Paging,
            UploadOptions, UserUpdate, proto,
        };
        use std::ops::ControlFlow;
        use std::sync::{Arc, Mutex};

        fn client_for(e: &$crate::cube_emulator::RunningEmulator) -> Client {
            Client::builder(u64::try_from(e.app_id()).unwrap(), e.auth_key())
                .auth_secret(e.auth_secret())
                .base_url(e.base_url())
                .build()
                .unwrap()
        }

        $($async)? fn signed_in(e: &$crate::cube_emulator::RunningEmulator, login: &str) -> Client {
            let c = client_for(e);
            c.sign_up(NewUser::with_login(login, "password-transfer"))$(.$await)?.unwrap();
            c.create_session(Credentials::login(login, "password-transfer"))$(.$await)?.unwrap();
            c
        }

        fn recorder() -> (tx::Calls, impl FnMut(u64, u64) -> ControlFlow<()> + Send + 'static) {
            let calls: tx::Calls = Arc::new(Mutex::new(Vec::new()));
            let sink = calls.clone();
            (calls, move |done, total| {
                sink.lock().unwrap().push((done, total));
                ControlFlow::Continue(())
            })
        }

        #[$attr]
        $($async)? fn a_file_goes_up_from_disk_and_comes_back_through_the_sdk() {
            let dir = TempDir::new("round-trip");
            let e = tx::emulator_in(&dir.0);
            let owner = signed_in(&e, "uploader01")$(.$await)?;
            let path = dir.0.join("photo.png");
            let bytes = tx::pattern(3 * 1024 * 1024 + 17, 3);
            std::fs::write(&path, &bytes).unwrap();

            let (calls, progress) = recorder();
            let blob = owner
                .upload_from_path(&path, UploadOptions::new().on_progress(progress))$(.$await)?
                .unwrap();
            assert_eq!(blob.content_type.as_deref(), Some("image/png"), "guessed from the name");
            assert_eq!(blob.name.as_deref(), Some("photo.png"));
            assert_eq!(owner.get_blob(blob.id)$(.$await)?.unwrap().size, Some(bytes.len() as u64));
            let calls = calls.lock().unwrap().clone();
            assert!(calls.len() > 2, "{calls:?}");
            assert!(tx::monotonic_to_total(&calls, bytes.len() as u64), "{calls:?}");
            let uid = blob.uid.clone().unwrap();
            owner.update_user(UserUpdate::new().avatar(uid.clone()))$(.$await)?.unwrap();

            // Another user reads it with their own session, through the SDK.
            let viewer = signed_in(&e, "viewer0001")$(.$await)?;
            assert_eq!(viewer.download_blob(&uid)$(.$await)?.unwrap(), bytes);
            let received = Arc::new(Mutex::new(Vec::new()));
            let sink = received.clone();
            let mut out = Vec::new();
            let n = viewer
                .download_blob_to(
                    &uid,
                    &mut out,
                    DownloadOptions::new().on_progress(move |done, total| {
                        sink.lock().unwrap().push((done, total));
                        ControlFlow::Continue(())
                    }),
                )$(.$await)?
                .unwrap();
            assert_eq!((n, out == bytes), (bytes.len() as u64, true));
            let received = received.lock().unwrap().clone();
            assert!(received.windows(2).all(|w| w[0].0 < w[1].0), "{received:?}");
            assert_eq!(received.last(), Some(&(n, Some(n))));

            // A reader with a content type of its own, public, read back too.
            let text = b"plain words".to_vec();
            let public = owner
                .upload_from_reader(
                    std::io::Cursor::new(text.clone()),
                    text.len() as u64,
                    "notes",
                    UploadOptions::new().content_type("text/plain").public(true),
                )$(.$await)?
                .unwrap();
            assert_eq!(public.content_type.as_deref(), Some("text/plain"));
            assert_eq!(viewer.download_blob(public.uid.as_deref().unwrap())$(.$await)?.unwrap(), text);
            // An empty file is a file too.
            let empty = owner
                .upload_from_reader(std::io::Cursor::new(Vec::new()), 0, "empty.bin", UploadOptions::new())$(.$await)?
                .unwrap();
            assert_eq!(viewer.download_blob(empty.uid.as_deref().unwrap())$(.$await)?.unwrap(), b"");

            // Missing files and bad uids are typed errors.
            let missing = viewer.download_blob("f00dfacef00dfacef00dfacef00dface")$(.$await)?.unwrap_err();
            assert_eq!(missing.status(), Some(http::StatusCode::NOT_FOUND), "{missing}");
            assert!(matches!(viewer.download_blob("1234")$(.$await)?.unwrap_err().proto(),
                Some(proto::Error::InvalidInput(_))));
        }

        #[$attr]
        $($async)? fn a_reader_of_another_length_or_a_file_too_large_is_refused() {
            let dir = TempDir::new("lengths");
            let e = tx::emulator_in(&dir.0);
            let c = signed_in(&e, "lengths001")$(.$await)?;
            let marker = c.create_blob(CreateBlob::new("text/plain", "marker").unwrap())$(.$await)?.unwrap();

            let short = c
                .upload_from_reader(std::io::Cursor::new(vec![1u8; 10]), 11, "short.bin", UploadOptions::new())$(.$await)?
                .unwrap_err();
            assert!(matches!(short, Error::File(_)), "{short}");
            let long = c
                .upload_from_reader(std::io::Cursor::new(vec![1u8; 12]), 11, "long.bin", UploadOptions::new())$(.$await)?
                .unwrap_err();
            assert!(matches!(long, Error::File(_)), "{long}");
            // Neither left a record behind: the failed uploads' records were deleted.
            for id in [marker.id + 1, marker.id + 2] {
                assert_eq!(c.get_blob(id)$(.$await)?.unwrap_err().status(), Some(http::StatusCode::NOT_FOUND));
            }
            // Past the storage's limit: refused before a record is created.
            let huge = c
                .upload_from_reader(std::io::Cursor::new(Vec::new()), proto::ops::MAX_UPLOAD + 1, "huge.bin", UploadOptions::new())$(.$await)?
                .unwrap_err();
            assert!(matches!(huge.proto(), Some(proto::Error::InvalidInput(i)) if i.field == "file"), "{huge}");
            let next = c.create_blob(CreateBlob::new("text/plain", "next").unwrap())$(.$await)?.unwrap();
            assert_eq!(next.id, marker.id + 3, "no record was created for the refused file");
            let (done, partial) = tx::settled_files(&dir.0);
            assert!(done.is_empty() && partial.is_empty(), "{done:?} {partial:?}");
        }

        #[$attr]
        $($async)? fn a_cancel_from_the_callback_leaves_nothing_stored() {
            let dir = TempDir::new("cancel");
            let e = tx::emulator_in(&dir.0);
            let c = signed_in(&e, "canceler01")$(.$await)?;
            let len = 16u64 << 20;
            let path = dir.0.join("big.bin");
            tx::write_pattern_file(&path, len);
            let blob = c.create_blob(CreateBlob::new("application/octet-stream", "big.bin").unwrap())$(.$await)?.unwrap();
            let stop_at = Arc::new(Mutex::new(0));
            let seen = stop_at.clone();
            let options = UploadOptions::new().on_progress(move |sent, total| {
                if sent >= total / 2 {
                    *seen.lock().unwrap() = sent;
                    return ControlFlow::Break(());
                }
                ControlFlow::Continue(())
            });
            let file = std::fs::File::open(&path).unwrap();
            $(let file = tokio::fs::File::from_std(file); let _ = stringify!($async);)?
            let err = c.upload_stream(&blob, file, len, options)$(.$await)?.unwrap_err();
            assert!(matches!(err, Error::Cancelled), "{err}");
            let stopped = *stop_at.lock().unwrap();
            assert!(stopped >= len / 2 && stopped < len, "{stopped}");
            let (done, partial) = tx::settled_files(&dir.0);
            assert!(done.is_empty() && partial.is_empty(), "{done:?} {partial:?}");
            assert_eq!(c.get_blob(blob.id)$(.$await)?.unwrap().size, None, "not complete");
            let uid = blob.uid.unwrap();
            assert_eq!(c.download_blob(&uid)$(.$await)?.unwrap_err().status(), Some(http::StatusCode::NOT_FOUND));
        }

        #[$attr]
        $($async)? fn every_sdk_request_says_cb_sdk_and_the_token_stays_on_the_api_host() {
            use $crate::fake::{FakeServer, Reply};
            let files = FakeServer::start(|req| Reply::new(200, &format!("bytes of {}", req.path)));
            let files_url = files.url();
            let api_url = Arc::new(std::sync::OnceLock::<String>::new());
            let own = api_url.clone();
            let api = FakeServer::start(move |req| {
                let me = own.get().unwrap();
                let mut reply = match (req.method.as_str(), req.path.as_str()) {
                    ("POST", "/session") => Reply::new(201, r#"{"session":{"id":1,"user_id":5,"token":"tok-api"}}"#),
                    ("POST", "/blobs") => Reply::new(201, &format!(
                        r#"{{"blob":{{"id":9,"uid":"u9abc","content_type":"text/plain","name":"a.txt",
                        "blob_object_access":{{"params":"{me}/upload?key=u9abc&policy=p%2Bq"}}}}}}"#)),
                    ("POST", "/upload") => Reply::new(201, "<PostResponse/>"),
                    ("PUT", "/blobs/9/complete") => Reply::new(200, ""),
                    ("GET", "/blobs/u9abc/download") => {
                        let mut r = Reply::new(301, "");
                        r.headers.push(("Location".into(), format!("{files_url}/s3/u9abc?sig=1")));
                        r
                    }
                    ("GET", "/blobs/u8same/download") => {
                        let mut r = Reply::new(302, "");
                        r.headers.push(("Location".into(), "/files/u8same".into()));
                        r
                    }
                    ("GET", "/files/u8same") => Reply::new(200, "same-host bytes"),
                    _ => Reply::new(404, r#"{"errors":{"base":["Entity you are looking for was not found"]}}"#),
                };
                reply.headers.push(("CB-Token-ExpirationDate".into(), "2099-01-01 00:00:00 UTC".into()));
                reply
            });
            api_url.set(api.url()).unwrap();
            let c = Client::builder(1, "key").base_url(api.url()).build().unwrap();
            c.create_session(Credentials::login("user", "password1"))$(.$await)?.unwrap();
            let blob = c
                .upload_from_reader(std::io::Cursor::new(b"hello".to_vec()), 5, "a.txt", UploadOptions::new())$(.$await)?
                .unwrap();
            assert_eq!(blob.id, 9);
            assert_eq!(c.download_blob("u9abc")$(.$await)?.unwrap(), b"bytes of /s3/u9abc?sig=1");
            assert_eq!(c.download_blob("u8same")$(.$await)?.unwrap(), b"same-host bytes");

            let api_requests = api.requests();
            let file_requests = files.requests();
            let seen: Vec<String> = api_requests.iter().chain(&file_requests)
                .map(|r| format!("{} {}", r.method, r.path)).collect();
            assert_eq!(seen, ["POST /session", "POST /blobs", "POST /upload", "PUT /blobs/9/complete",
                "GET /blobs/u9abc/download", "GET /blobs/u8same/download", "GET /files/u8same",
                "GET /s3/u9abc?sig=1"]);
            for r in api_requests.iter().chain(&file_requests) {
                assert!(r.header("CB-SDK").unwrap().starts_with("Rust "), "{r:?}");
            }
            let token_of = |path: &str| api_requests.iter().chain(&file_requests)
                .find(|r| r.path == path).unwrap().header("CB-Token").map(str::to_owned);
            assert_eq!(token_of("/blobs/u9abc/download").as_deref(), Some("tok-api"));
            assert_eq!(token_of("/files/u8same").as_deref(), Some("tok-api"), "same host");
            assert_eq!(token_of("/s3/u9abc?sig=1"), None, "never to another host");
            assert_eq!(token_of("/upload"), None, "the upload needs no session");
            let upload = api_requests.iter().find(|r| r.path == "/upload").unwrap();
            let body = String::from_utf8(upload.body.clone()).unwrap();
            assert!(body.contains("name=\"policy\"\r\n\r\np+q\r\n"), "{body}");
            assert!(body.contains("filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nhello\r\n--cube-"), "{body}");
        }

        #[$attr]
        $($async)? fn two_hundred_fifty_ids_in_three_requests_in_the_order_asked() {
            use $crate::fake::{FakeServer, Reply};
            let server = FakeServer::start(|req| {
                if req.method == "POST" {
                    return Reply::new(201, r#"{"session":{"id":1,"user_id":null,"token":"t"}}"#);
                }
                let mut ids: Vec<u64> = req.path.split(['?', '&'])
                    .filter_map(|p| p.strip_prefix("id[in][]=")).map(|v| v.parse().unwrap()).collect();
                ids.sort();
                let items: Vec<String> = ids.iter().map(|id| format!(r#"{{"id":{id}}}"#)).collect();
                Reply::new(200, &format!(r#"{{"skip":0,"limit":100,"total_entries":{},"items":[{}]}}"#,
                    items.len(), items.join(",")))
            });
            let c = Client::builder(1, "key").base_url(server.url()).build().unwrap();
            let asked: Vec<u64> = (0..250u64).map(|i| (i * 7919) % 1000 + 1).collect();
            let users = c.get_users_by_ids(asked.clone())$(.$await)?.unwrap();
            assert_eq!(users.iter().map(|u| u.id).collect::<Vec<_>>(), asked);
            let searches: Vec<_> = server.requests().into_iter().filter(|r| r.method == "GET").collect();
            assert_eq!(searches.len(), 3);
            let per_request: Vec<usize> = searches.iter().map(|r| r.path.matches("id[in][]=").count()).collect();
            assert_eq!(per_request, [100, 100, 50]);
            assert!(searches.iter().all(|r| r.path.ends_with("&limit=100")));
        }

        #[$attr]
        $($async)? fn look_ups_page_and_sort_against_the_emulator() {
            let dir = TempDir::new("paging");
            let e = tx::emulator_in(&dir.0);
            let c = client_for(&e);
            let mut ids = Vec::new();
            for i in 0..260u32 {
                let mut user = NewUser::with_login(format!("pager{i:04}"), "password-pager");
                if i < 7 {
                    user = user.full_name(format!("Paging Person {i}")).phone("+15550100").tags(["pg"]);
                }
                ids.push(c.sign_up(user)$(.$await)?.unwrap().id);
            }
            // By ids: 250 of them, in a shuffled order, complete.
            let mut asked: Vec<u64> = ids[..250].to_vec();
            asked.reverse();
            asked.swap(3, 200);
            let got: Vec<u64> = c.get_users_by_ids(asked.clone())$(.$await)?.unwrap().iter().map(|u| u.id).collect();
            assert_eq!(got, asked);
            let page = c.get_users_by_ids_paged(ids[..10].to_vec(), &Paging::new().offset(2).limit(3).sort_desc(Field::Id))$(.$await)?.unwrap();
            assert_eq!(page.items.iter().map(|u| u.id).collect::<Vec<_>>(), [ids[7], ids[6], ids[5]]);
            assert_eq!(page.total_entries, 10);
            let too_many = c.get_users_by_ids_paged(ids[..101].to_vec(), &Paging::new())$(.$await)?.unwrap_err();
            assert!(matches!(too_many.proto(), Some(proto::Error::InvalidInput(i)) if i.field == "ids"));
            assert_eq!(c.get_users_by_ids_paged(ids[..100].to_vec(), &Paging::new())$(.$await)?.unwrap().items.len(), 100);

            // By tags, phone: offset, limit and sort.
            let tags = c.find_users_by_tags_paged(["pg"], &Paging::page(2, 3).sort_desc(Field::Id))$(.$await)?.unwrap();
            assert_eq!(tags.items.iter().map(|u| u.id).collect::<Vec<_>>(), [ids[3], ids[2], ids[1]]);
            assert_eq!(tags.total_entries, 7);
            let phone = c.find_users_by_phone_paged("+15550100", &Paging::new().offset(5).sort_asc(Field::Id))$(.$await)?.unwrap();
            assert_eq!(phone.items.iter().map(|u| u.id).collect::<Vec<_>>(), [ids[5], ids[6]]);
            let bad = c.find_users_by_phone_paged("+15550100", &Paging::new().limit(101))$(.$await)?.unwrap_err();
            assert!(matches!(bad.proto(), Some(proto::Error::InvalidInput(_))), "{bad}");

            // By full name: a prefix, as the Flutter SDK sends it; pages of 5.
            let first = c.find_users_by_full_name("Paging Pers")$(.$await)?.unwrap();
            assert_eq!((first.items.len(), first.total_entries), (5, 7));
            let rest = c.find_users_by_full_name_paged("Paging Pers", &Paging::new().offset(5).sort_asc(Field::Id))$(.$await)?.unwrap();
            assert_eq!(rest.items.iter().map(|u| u.id).collect::<Vec<_>>(), [ids[5], ids[6]]);
            let sorted = c.find_users_by_full_name_paged("Paging", &Paging::new().sort_desc(Field::Id))$(.$await)?.unwrap();
            assert_eq!(sorted.items[0].id, ids[6]);
            assert_eq!(c.find_users_by_full_name("Nobody Here")$(.$await)?.unwrap().total_entries, 0);
            // Under 4 characters: exact.
            assert_eq!(c.find_users_by_full_name("Pag")$(.$await)?.unwrap().total_entries, 0);
            c.sign_up(NewUser::with_login("shortname", "password-pager").full_name("Pag"))$(.$await)?.unwrap();
            assert_eq!(c.find_users_by_full_name("Pag")$(.$await)?.unwrap().total_entries, 1);
            // The page iterator walks a paged look-up too.
            let mut pages = c.search_users_pages(proto::ops::SearchUsers::by_full_name("Paging Person").unwrap());
            let mut walked = Vec::new();
            while let Some(page) = pages.next()$(.$await)? {
                walked.extend(page.unwrap().items.iter().map(|u| u.id));
            }
            walked.sort();
            assert_eq!(walked, ids[..7]);
        }

        #[$attr]
        $($async)? fn external_user_id_and_blob_id_are_written_on_sign_up_and_update() {
            let dir = TempDir::new("fields");
            let e = tx::emulator_in(&dir.0);
            let c = client_for(&e);
            let user = c.sign_up(NewUser::with_login("fields01", "password-fields").external_user_id(777).blob_id(41))$(.$await)?.unwrap();
            assert_eq!((user.external_user_id, user.blob_id), (Some(777), Some(41)));
            c.create_session(Credentials::login("fields01", "password-fields"))$(.$await)?.unwrap();
            let updated = c.update_user(UserUpdate::new().external_user_id(778).blob_id(42))$(.$await)?.unwrap();
            assert_eq!((updated.external_user_id, updated.blob_id), (Some(778), Some(42)));
            let again = c.get_user(user.id)$(.$await)?.unwrap().unwrap();
            assert_eq!((again.external_user_id, again.blob_id), (Some(778), Some(42)));
        }

        #[$attr]
        $($async)? fn a_stalled_transfer_fails_after_the_idle_timeout_a_slow_one_finishes() {
            use std::io::Write as _;
            use std::time::Duration;
            // An upload URL that accepts the connection and never reads.
            let hold = tx::raw_server(|_, _| std::thread::sleep(Duration::from_secs(20)));
            let c = Client::builder(1, "key").base_url(hold.clone()).build().unwrap();
            let blob: proto::model::Blob = $crate::serde_json::from_value($crate::serde_json::json!({"id": 1, "uid": "u1hold",
                "name": "f.bin", "content_type": "application/octet-stream",
                "blob_object_access": {"params": format!("{hold}/hold?key=u1hold")}})).unwrap();
            let big = vec![0u8; 48 << 20];
            let err = c
                .upload_stream(&blob, std::io::Cursor::new(big), 48 << 20,
                    UploadOptions::new().idle_timeout(Duration::from_millis(300)))$(.$await)?
                .unwrap_err();
            assert!(matches!(err, Error::Stalled(d) if d == Duration::from_millis(300)), "{err}");

            // A download that sends a little, then nothing.
            let api = tx::api_with_files(|_, stream| {
                let _ = write!(stream, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{}", "x".repeat(100));
                std::thread::sleep(Duration::from_secs(20));
            });
            let c = Client::builder(1, "key").base_url(api).build().unwrap();
            let mut out = Vec::new();
            let err = c.download_blob_to("u2stall", &mut out,
                DownloadOptions::new().idle_timeout(Duration::from_millis(300)))$(.$await)?.unwrap_err();
            assert!(matches!(err, Error::Stalled(_)), "{err}");

            // A download slower in total than the API timeout, but never idle long.
            let api = tx::api_with_files(|_, stream| {
                let _ = write!(stream, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
                for _ in 0..10 {
                    let _ = stream.write_all(&[b'y'; 100]);
                    let _ = stream.flush();
                    std::thread::sleep(Duration::from_millis(150));
                }
            });
            let c = Client::builder(1, "key").base_url(api).timeout(Duration::from_millis(700)).build().unwrap();
            let mut out = Vec::new();
            let n = c.download_blob_to("u3slow", &mut out,
                DownloadOptions::new().idle_timeout(Duration::from_millis(600)))$(.$await)?.unwrap();
            assert_eq!((n, out), (1000, vec![b'y'; 1000]));
        }

        /// Run by `a_100_mib_file_in_a_child_process`, which gives it the
        /// emulator and the file; alone it has nothing to do.
        #[$attr]
        #[ignore = "run by a_100_mib_file_in_a_child_process, in its own process"]
        $($async)? fn child_hundred_mib_transfer() {
            let var = |name: &str| std::env::var(name).expect("run by a_100_mib_file_in_a_child_process");
            let c = Client::builder(var("CUBE_CHILD_APP").parse().unwrap(), var("CUBE_CHILD_KEY"))
                .auth_secret(var("CUBE_CHILD_SECRET"))
                .base_url(var("CUBE_CHILD_URL"))
                .build()
                .unwrap();
            c.sign_up(NewUser::with_login("hundred01", "password-hundred"))$(.$await)?.unwrap();
            c.create_session(Credentials::login("hundred01", "password-hundred"))$(.$await)?.unwrap();
            let baseline = tx::own_peak_kib();
            let path = std::path::PathBuf::from(var("CUBE_CHILD_FILE"));
            // Progress kept as counts, not a list: the child measures its memory.
            let state = Arc::new(Mutex::new((0u64, None::<(u64, u64)>, None::<(u64, u64)>, true)));
            let sink = state.clone();
            let blob = c.upload_from_path(&path, UploadOptions::new().on_progress(move |done, total| {
                let mut s = sink.lock().unwrap();
                s.0 += 1;
                if s.1.is_none() { s.1 = Some((done, total)); }
                if let Some((last, last_total)) = s.2 { if done < last || total != last_total { s.3 = false; } }
                s.2 = Some((done, total));
                ControlFlow::Continue(())
            }))$(.$await)?.unwrap();
            let after_upload = tx::own_peak_kib();
            let out = std::fs::File::create(var("CUBE_CHILD_OUT")).unwrap();
            $(let out = tokio::fs::File::from_std(out); let _ = stringify!($async);)?
            #[allow(unused_mut)]
            let mut out = out;
            let downloaded = c.download_blob_to(blob.uid.as_deref().unwrap(), &mut out, DownloadOptions::new())$(.$await)?.unwrap();
            drop(out);
            let after_download = tx::own_peak_kib();
            // A cancel at about half, through the callback.
            let cancelled = c.create_blob(CreateBlob::new("application/octet-stream", "half.bin").unwrap())$(.$await)?.unwrap();
            let stopped_at = Arc::new(Mutex::new(0u64));
            let at = stopped_at.clone();
            let file = std::fs::File::open(&path).unwrap();
            $(let file = tokio::fs::File::from_std(file); let _ = stringify!($async);)?
            let len = std::fs::metadata(&path).unwrap().len();
            let err = c.upload_stream(&cancelled, file, len, UploadOptions::new().on_progress(move |done, total| {
                if done >= total / 2 { *at.lock().unwrap() = done; return ControlFlow::Break(()); }
                ControlFlow::Continue(())
            }))$(.$await)?.unwrap_err();
            let s = state.lock().unwrap();
            let report = $crate::serde_json::json!({
                "baseline_kib": baseline, "after_upload_kib": after_upload,
                "after_download_kib": after_download, "vmhwm_kib": tx::own_peak_kib(),
                "calls": s.0, "first": s.1, "last": s.2, "monotonic": s.3,
                "blob_id": blob.id, "downloaded": downloaded,
                "cancel_error": format!("{err:?}"), "cancelled_blob": cancelled.id,
                "stopped_at": *stopped_at.lock().unwrap(),
            });
            println!("{}{report}", tx::CHILD_REPORT);
        }

        #[$attr]
        $($async)? fn a_100_mib_file_in_a_child_process() {
            let dir = TempDir::new("hundred");
            let e = tx::emulator_in(&dir.0);
            let len: u64 = 100 << 20;
            let file = dir.0.join("hundred.bin");
            tx::write_pattern_file(&file, len);
            let back = dir.0.join("back.bin");
            let output = std::process::Command::new(std::env::current_exe().unwrap())
                .args(["--exact", "child_hundred_mib_transfer", "--include-ignored", "--nocapture", "--test-threads=1"])
                .env("CUBE_CHILD_URL", e.base_url())
                .env("CUBE_CHILD_APP", e.app_id().to_string())
                .env("CUBE_CHILD_KEY", e.auth_key())
                .env("CUBE_CHILD_SECRET", e.auth_secret())
                .env("CUBE_CHILD_FILE", &file)
                .env("CUBE_CHILD_OUT", &back)
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&output.stdout);
            let line = stdout.lines().find_map(|l| l.split_once(tx::CHILD_REPORT).map(|(_, r)| r))
                .unwrap_or_else(|| panic!("no report: {stdout}\n{}", String::from_utf8_lossy(&output.stderr)));
            let report: $crate::serde_json::Value = $crate::serde_json::from_str(line).unwrap();
            eprintln!("child report: {report}");
            let peak = ["baseline_kib", "after_upload_kib", "after_download_kib", "vmhwm_kib"]
                .iter().map(|k| report[k].as_u64().unwrap()).max().unwrap();
            assert!(peak < 32 * 1024, "the client process peaked at {peak} KiB");
            assert_eq!(report["first"], $crate::serde_json::json!([0, len]));
            assert_eq!(report["last"], $crate::serde_json::json!([len, len]));
            assert_eq!(report["monotonic"], true);
            assert!(report["calls"].as_u64().unwrap() > 100);
            assert_eq!(report["downloaded"], len);
            assert!(tx::same_file(&file, &back), "the bytes read back differ");
            assert_eq!(report["cancel_error"], "Cancelled");
            let stopped = report["stopped_at"].as_u64().unwrap();
            assert!(stopped >= len / 2 && stopped < len, "{stopped}");
            // The emulator keeps the one completed file, nothing of the cancelled one.
            let (done, partial) = tx::settled_files(&dir.0);
            assert_eq!((done.len(), partial.len()), (1, 0), "{done:?} {partial:?}");
            let c = client_for(&e);
            c.create_session(Credentials::login("hundred01", "password-hundred"))$(.$await)?.unwrap();
            let cancelled = report["cancelled_blob"].as_u64().unwrap();
            assert_eq!(c.get_blob(cancelled)$(.$await)?.unwrap().size, None, "the cancelled blob is not complete");
            assert_eq!(c.get_blob(report["blob_id"].as_u64().unwrap())$(.$await)?.unwrap().size, Some(len));
        }
    };
}
