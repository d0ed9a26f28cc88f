//! Saved data sets: export (on demand and on exit), import, and the
//! refusal of bad data sets, busy or non-empty data directories.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::{Emu, FROZEN_AT, FrozenTime};
use cube_emulator::{Emulator, EmulatorConfig, StartError, Storage};
use serde_json::{Value, json};

/// A directory under the system's temporary one, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "cube-emulator-data-{name}-{}-{:?}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn config(storage: Storage, import: Option<&Path>) -> EmulatorConfig {
    EmulatorConfig {
        storage,
        import: import.map(Path::to_path_buf),
        time_source: Arc::new(FrozenTime(FROZEN_AT)),
        ..EmulatorConfig::default()
    }
}

fn export(emu: &Emu, dir: &Path) -> Value {
    let resp = emu.post(
        "/_emulator/export",
        None,
        json!({ "path": dir.to_str().unwrap() }),
    );
    resp.assert(200);
    resp.body["counts"].clone()
}

/// Every file of a data set, by path relative to it, with its bytes.
fn contents(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(next) = stack.pop() {
        for entry in std::fs::read_dir(&next).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let name = path.strip_prefix(dir).unwrap().display().to_string();
                out.push((name, std::fs::read(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

fn file_bytes(emu: &Emu, uid: &str) -> Vec<u8> {
    let mut response = emu
        .agent
        .get(emu.url(&format!("/_emulator/blobs/{uid}")))
        .call()
        .unwrap();
    assert_eq!(response.status(), 200);
    response.body_mut().read_to_vec().unwrap()
}

fn facebook_token(emu: &Emu) {
    emu.post(
        "/_emulator/providers/facebook/tokens",
        None,
        json!({"token": "fb-token", "id": "770001", "name": "Fay Book"}),
    )
    .assert(201);
}

fn facebook_sign_in(emu: &Emu) -> i64 {
    let resp = emu.create_session(json!({"provider": "facebook", "keys": {"token": "fb-token"}}));
    resp.assert(201);
    resp.body["session"]["user_id"].as_i64().unwrap()
}

/// An unsigned Firebase Auth Emulator token for `sub` (accepted by default).
fn firebase_sign_in(emu: &Emu, sub: &str) -> i64 {
    let b64 = |bytes: &[u8]| {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
            for i in 0..=chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            }
        }
        out
    };
    let now = emu.now();
    let project = "cube-test-project";
    let claims = json!({
        "iss": format!("https://securetoken.google.com/{project}"),
        "aud": project, "auth_time": now - 10, "iat": now - 10, "exp": now + 3600,
        "sub": sub, "user_id": sub, "phone_number": "+15550100",
    });
    let token = format!(
        "{}.{}.",
        b64(json!({"alg": "none", "typ": "JWT"}).to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let resp = emu.create_session(json!({
        "provider": "firebase_phone",
        "firebase_phone": {"project_id": project, "access_token": token},
    }));
    resp.assert(201);
    resp.body["session"]["user_id"].as_i64().unwrap()
}

/// What the round trip checks: the ids and the avatar.
struct Seeded {
    alice: i64,
    facebook: i64,
    firebase: i64,
    avatar_uid: String,
    avatar: Vec<u8>,
    now: i64,
}

fn seed(emu: &Emu) -> Seeded {
    emu.put(
        "/_emulator/apps/1/settings",
        None,
        json!({"list_users": false, "signature_window_seconds": 600}),
    )
    .assert(200);
    emu.post(
        "/_emulator/apps",
        None,
        json!({"id": 7, "auth_key": "second-key", "auth_secret": "second-secret"}),
    )
    .assert(201);
    let alice = emu.sign_up(json!({
        "login": "alice", "password": "alice-password", "email": "Alice@Example.com",
        "full_name": "Alice Liddell", "tag_list": "reader,tester",
    }));
    let alice = alice["id"].as_i64().unwrap();
    let (token, _) = emu.login("alice", "alice-password");
    let avatar: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let (blob_id, avatar_uid) = emu.stored_file(&token, "image/png", "avatar.png", &avatar);
    emu.put(
        &format!("/users/{alice}"),
        Some(&token),
        json!({"user": {"blob_id": blob_id}}),
    )
    .assert(200);
    facebook_token(emu);
    let facebook = facebook_sign_in(emu);
    let firebase = firebase_sign_in(emu, "firebase-uid-1");
    emu.advance(5400);
    Seeded {
        alice,
        facebook,
        firebase,
        avatar_uid,
        avatar,
        now: emu.now(),
    }
}

#[test]
fn export_then_import_keeps_users_passwords_links_files_settings_and_the_clock() {
    let scratch = Scratch::new("round-trip");
    let first = scratch.join("first");
    let second = scratch.join("second");
    let seeded = {
        let emu = Emu::with(config(Storage::DataDir(scratch.join("a")), None));
        let seeded = seed(&emu);
        let counts = export(&emu, &first);
        assert_eq!(
            counts,
            json!({"applications": 2, "users": 3, "provider_links": 2, "files": 1})
        );
        seeded
    };

    // Into a fresh data directory: exported again at once, the data set is
    // the same, byte for byte.
    let emu = Emu::with(config(
        Storage::DataDir(scratch.join("b")),
        Some(first.as_path()),
    ));
    export(&emu, &second);
    assert_eq!(contents(&first), contents(&second));
    assert!(contents(&first).iter().any(|(name, bytes)| {
        name == &format!("files/{}", seeded.avatar_uid) && bytes == &seeded.avatar
    }));

    assert_eq!(emu.now(), seeded.now, "the clock offset survives");
    // The password still signs in, to the same user, with the same profile.
    let (token, id) = emu.login("alice", "alice-password");
    assert_eq!(id, seeded.alice);
    let alice = emu.get(&format!("/users/{id}"), Some(&token));
    assert_eq!(alice.body["user"]["full_name"], "Alice Liddell");
    assert_eq!(alice.body["user"]["email"], "Alice@Example.com");
    assert_eq!(alice.body["user"]["user_tags"], "reader,tester");
    let found = emu.get("/users/by_email?email=alice@example.com", Some(&token));
    assert_eq!(found.body["user"]["id"], id, "the folded e-mail is indexed");
    emu.create_session(json!({"user": {"login": "alice", "password": "wrong-password"}}))
        .assert(401);
    // The same identities sign in to the same accounts.
    facebook_token(&emu);
    assert_eq!(facebook_sign_in(&emu), seeded.facebook);
    assert_eq!(firebase_sign_in(&emu, "firebase-uid-1"), seeded.firebase);
    assert_ne!(firebase_sign_in(&emu, "firebase-uid-2"), seeded.firebase);
    // The avatar has the same bytes; settings and the second application
    // are there.
    assert_eq!(file_bytes(&emu, &seeded.avatar_uid), seeded.avatar);
    let settings = emu.get("/_emulator/apps/1/settings", None);
    assert_eq!(settings.body["settings"]["list_users"], false);
    assert_eq!(settings.body["settings"]["signature_window_seconds"], 600);
    let second_app = emu.post(
        "/session",
        None,
        json!({"application_id": 7, "auth_key": "second-key"}),
    );
    second_app.assert(201);
    // New records get new ids, after the imported ones.
    let bob = emu.sign_up(json!({"login": "bob-new", "password": "password123"}));
    assert!(bob["id"].as_i64().unwrap() > seeded.firebase);
    let search = emu.get("/_emulator/apps/1/users?full_name=Liddell", None);
    search.assert(200);
    assert!(search.text.contains("alice"), "{}", search.text);
}

#[test]
fn export_on_exit_is_written_when_the_emulator_stops() {
    let scratch = Scratch::new("on-exit");
    let target = scratch.join("saved");
    {
        let emu = Emu::with(EmulatorConfig {
            export_on_exit: Some(target.clone()),
            ..EmulatorConfig::default()
        });
        emu.sign_up(json!({"login": "leaving", "password": "password123"}));
        assert!(!target.exists(), "nothing is written before the stop");
    }
    let users = std::fs::read_to_string(target.join("users.jsonl")).unwrap();
    assert!(users.contains("\"login\":\"leaving\""), "{users}");
    // It loads back, and the same path is replaced by the next exit.
    {
        let emu = Emu::with(EmulatorConfig {
            import: Some(target.clone()),
            export_on_exit: Some(target.clone()),
            ..EmulatorConfig::default()
        });
        emu.login("leaving", "password123");
        emu.sign_up(json!({"login": "arriving", "password": "password123"}));
    }
    let users = std::fs::read_to_string(target.join("users.jsonl")).unwrap();
    assert_eq!(users.lines().count(), 2, "{users}");
    let leftovers: Vec<_> = std::fs::read_dir(&scratch.0)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, ["saved"], "no temporary directory is left");
}

#[test]
fn an_export_never_replaces_something_that_is_not_a_data_set() {
    let scratch = Scratch::new("refuse");
    let emu = Emu::start();
    let precious = scratch.join("precious");
    std::fs::create_dir_all(&precious).unwrap();
    std::fs::write(precious.join("notes.txt"), "keep me").unwrap();
    let resp = emu.post(
        "/_emulator/export",
        None,
        json!({"path": precious.to_str().unwrap()}),
    );
    resp.assert(422);
    assert!(
        resp.error("path").contains("other than a data set"),
        "{}",
        resp.text
    );
    assert_eq!(
        std::fs::read_to_string(precious.join("notes.txt")).unwrap(),
        "keep me"
    );
    emu.post("/_emulator/export", None, json!({})).assert(422);
    emu.post("/_emulator/export", None, json!({"path": ""}))
        .assert(422);
    // An empty directory, and then the data set in it, may be replaced.
    let empty = scratch.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    export(&emu, &empty);
    emu.sign_up(json!({"login": "later", "password": "password123"}));
    assert_eq!(export(&emu, &empty)["users"], 1);
}

/// A good data set (one user with a file) in `scratch/good`.
fn good_data_set(scratch: &Scratch) -> (PathBuf, String) {
    let good = scratch.join("good");
    let emu = Emu::start();
    let (token, _) = emu.user("alice");
    let (_, uid) = emu.stored_file(&token, "image/png", "avatar.png", b"avatar bytes");
    export(&emu, &good);
    (good, uid)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.join("files")).unwrap();
    for (name, bytes) in contents(from) {
        std::fs::write(to.join(name), bytes).unwrap();
    }
}

fn import_error(data_dir: &Path, data_set: &Path) -> String {
    match Emulator::start_blocking(config(Storage::DataDir(data_dir.into()), Some(data_set))) {
        Ok(_) => panic!("the data set {} was accepted", data_set.display()),
        Err(err) => err.to_string(),
    }
}

fn edit(path: &Path, change: impl FnOnce(String) -> String) {
    let text = std::fs::read_to_string(path).unwrap();
    std::fs::write(path, change(text)).unwrap();
}

#[test]
fn bad_data_sets_are_refused_naming_the_item_and_nothing_is_written() {
    let scratch = Scratch::new("bad");
    let (good, uid) = good_data_set(&scratch);
    let data_dir = scratch.join("data");
    type Break = Box<dyn Fn(&Path)>;
    let cases: Vec<(&str, Break, String)> = vec![
        (
            "truncated mid-line",
            Box::new(|d: &Path| edit(&d.join("users.jsonl"), |t| t[..t.len() / 2].to_owned())),
            "users.jsonl: line 1 has no end: the file is truncated".into(),
        ),
        (
            "truncated at a line end",
            Box::new(|d: &Path| std::fs::write(d.join("users.jsonl"), "").unwrap()),
            "users.jsonl: 0 records where the manifest counts 1".into(),
        ),
        (
            "wrong version",
            Box::new(|d: &Path| {
                edit(&d.join("manifest.json"), |t| {
                    t.replace("\"version\": 1", "\"version\": 2")
                })
            }),
            "manifest.json: version 2; this emulator reads version 1".into(),
        ),
        (
            "duplicate login",
            Box::new(|d: &Path| {
                edit(&d.join("users.jsonl"), |t| {
                    let copy = t.replace("\"id\":1,", "\"id\":2,");
                    format!("{t}{copy}")
                });
                edit(&d.join("manifest.json"), |t| {
                    t.replace("\"users\": 1", "\"users\": 2")
                });
            }),
            "users.jsonl line 2: login \"alice\" of user 2 is already held by user 1".into(),
        ),
        (
            "missing file",
            Box::new({
                let uid = uid.clone();
                move |d: &Path| std::fs::remove_file(d.join("files").join(&uid)).unwrap()
            }),
            format!("files.jsonl line 1: files/{uid}: No such file"),
        ),
        (
            "path traversal",
            Box::new({
                let uid = uid.clone();
                move |d: &Path| edit(&d.join("files.jsonl"), |t| t.replace(&uid, "../../escape"))
            }),
            "files.jsonl line 1: uid \"../../escape\" is not a file name".into(),
        ),
        (
            "unknown field",
            Box::new(|d: &Path| {
                edit(&d.join("users.jsonl"), |t| {
                    t.replacen('{', "{\"admin\":true,", 1)
                })
            }),
            "users.jsonl: line 1: unknown field `admin`".into(),
        ),
        (
            "password hash asking for terabytes",
            Box::new(|d: &Path| {
                edit(&d.join("users.jsonl"), |t| {
                    let at = t.find("argon2id$m=").expect("a password hash") + 11;
                    let digits = t[at..].find(',').expect("more parameters");
                    format!("{}4000000000{}", &t[..at], &t[at + digits..])
                })
            }),
            "users.jsonl line 1: password_hash is not an argon2id hash of this emulator".into(),
        ),
        (
            "no manifest",
            Box::new(|d: &Path| std::fs::remove_file(d.join("manifest.json")).unwrap()),
            "manifest.json: ".into(),
        ),
    ];
    for (name, break_it, expected) in cases {
        let broken = scratch.join(&format!("broken-{}", name.replace(' ', "-")));
        copy_dir(&good, &broken);
        break_it(&broken);
        let err = import_error(&data_dir, &broken);
        assert!(
            err.contains(&expected) && err.contains("cannot import the data set"),
            "{name}: {err}"
        );
    }
    // Nothing was written by any of them: the data directory takes the
    // good data set, which it would refuse if it held data.
    let emu = Emu::with(config(Storage::DataDir(data_dir), Some(good.as_path())));
    emu.login("alice", "password123");
}

#[test]
fn import_is_refused_into_a_busy_or_non_empty_data_directory() {
    let scratch = Scratch::new("busy");
    let (good, _) = good_data_set(&scratch);
    let data_dir = scratch.join("data");
    let running = Emu::with(config(Storage::DataDir(data_dir.clone()), None));
    // A running emulator holds its data directory: no import into it.
    let busy = Emulator::start_blocking(config(Storage::DataDir(data_dir.clone()), Some(&good)));
    match busy {
        Err(StartError::Store(err)) => assert!(err.to_string().contains("in use"), "{err}"),
        other => panic!("expected the data directory to be in use: {other:?}"),
    }
    drop(running);
    // Stopped, it still holds data (its application): refused too.
    let err = import_error(&data_dir, &good);
    assert!(err.contains("already holds data"), "{err}");
}

#[test]
fn exports_taken_while_users_sign_in_are_each_one_consistent_snapshot() {
    let scratch = Scratch::new("snapshot");
    let emu = Arc::new(Emu::with(config(
        Storage::DataDir(scratch.join("data")),
        None,
    )));
    // Each Firebase sign-in writes a user and its link in one transaction.
    let writer = {
        let emu = emu.clone();
        std::thread::spawn(move || {
            for n in 0..150 {
                firebase_sign_in(&emu, &format!("firebase-{n}"));
            }
        })
    };
    let mut exports = Vec::new();
    while !writer.is_finished() && exports.len() < 20 {
        let dir = scratch.join(&format!("export-{}", exports.len()));
        export(&emu, &dir);
        exports.push(dir);
    }
    writer.join().unwrap();
    assert!(
        exports.len() > 1,
        "the exports did not overlap the sign-ins"
    );
    for dir in &exports {
        let count = |name: &str| {
            std::fs::read_to_string(dir.join(name))
                .unwrap()
                .lines()
                .count()
        };
        // Users and links read at different moments would disagree.
        assert_eq!(count("users.jsonl"), count("provider_links.jsonl"));
        let imported = Emu::with(config(Storage::InMemory, Some(dir.as_path())));
        drop(imported);
    }
}

#[test]
fn a_failed_export_on_exit_is_reported_by_shutdown_and_touches_nothing() {
    let scratch = Scratch::new("exit-fails");
    let precious = scratch.join("precious");
    std::fs::create_dir_all(&precious).unwrap();
    std::fs::write(precious.join("notes.txt"), "keep me").unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let err = runtime.block_on(async {
        let running = Emulator::start(EmulatorConfig {
            export_on_exit: Some(precious.clone()),
            ..EmulatorConfig::default()
        })
        .await
        .unwrap();
        running.shutdown().await.unwrap_err()
    });
    assert!(
        matches!(err, cube_emulator::ExportError::Refused { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("other than a data set"), "{err}");
    let left: Vec<_> = std::fs::read_dir(&scratch.0)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["precious"]);
    assert_eq!(
        std::fs::read_to_string(precious.join("notes.txt")).unwrap(),
        "keep me"
    );
}

/// `external_user_id` is written as a number; a data set that holds it as
/// a digit string (as data sets did before it was a number) still reads,
/// and anything else is refused naming it.
#[test]
fn external_user_id_travels_as_a_number() {
    let scratch = Scratch::new("external-user-id");
    let saved = scratch.join("saved");
    {
        let emu = Emu::start();
        emu.sign_up(json!({"login": "numbered", "password": "password123",
            "external_user_id": 42}));
        export(&emu, &saved);
    }
    let users = std::fs::read_to_string(saved.join("users.jsonl")).unwrap();
    assert!(users.contains("\"external_user_id\":42"), "{users}");

    let older = scratch.join("older");
    copy_dir(&saved, &older);
    edit(&older.join("users.jsonl"), |t| {
        t.replace("\"external_user_id\":42", "\"external_user_id\":\"42\"")
    });
    let emu = Emu::with(config(
        Storage::DataDir(scratch.join("data")),
        Some(older.as_path()),
    ));
    let app = emu.app_session();
    let user = emu.get("/users/by_login?login=numbered", Some(&app));
    assert_eq!(user.body["user"]["external_user_id"], json!(42));
    drop(emu);

    let worded = scratch.join("worded");
    copy_dir(&saved, &worded);
    edit(&worded.join("users.jsonl"), |t| {
        t.replace("\"external_user_id\":42", "\"external_user_id\":\"ext-1\"")
    });
    let err = import_error(&scratch.join("data-2"), &worded);
    assert!(
        err.contains("users.jsonl: line 1: external_user_id \"ext-1\" is not a number"),
        "{err}"
    );
}
