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

/// Users that no sign-up form made (a guest, provider sign-ins with
/// whatever profile the provider gave) import again: the API keeps only
/// what its own rules accept, whichever way a user came in.
#[test]
fn users_made_by_sign_ins_export_and_import_again() {
    let scratch = Scratch::new("sign-ins");
    let dir = scratch.join("set");
    {
        let emu = Emu::start();
        let long_name = "G".repeat(300);
        emu.create_session(json!({"user": {"guest": true, "full_name": long_name}}))
            .assert(201);
        emu.post(
            "/_emulator/providers/facebook/tokens",
            None,
            json!({"token": "odd", "id": "9".repeat(300), "name": " ", "email": "not an address"}),
        )
        .assert(201);
        emu.create_session(json!({"provider": "facebook", "keys": {"token": "odd"}}))
            .assert(201);
        firebase_sign_in(&emu, "firebase-uid");
        assert_eq!(export(&emu, &dir)["users"], 3);
    }
    let users = std::fs::read_to_string(dir.join("users.jsonl")).unwrap();
    assert!(!users.contains("not an address"), "{users}");
    let emu = Emu::with(config(Storage::InMemory, Some(dir.as_path())));
    assert_eq!(firebase_sign_in(&emu, "firebase-uid"), 3);
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
        // Made at start, to see it can be written; filled at the stop.
        assert_eq!(std::fs::read_dir(&target).unwrap().count(), 0);
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

/// A web app's folder: a `manifest.json` of its own, a page, icons.
fn web_app(dir: &Path) -> Vec<(String, Vec<u8>)> {
    std::fs::create_dir_all(dir.join("icons")).unwrap();
    std::fs::write(
        dir.join("manifest.json"),
        r#"{"name": "My App", "start_url": "/"}"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("index.html"),
        "<!doctype html><title>My App</title>",
    )
    .unwrap();
    std::fs::write(dir.join("icons/icon-192.png"), b"\x89PNG not really").unwrap();
    contents(dir)
}

#[test]
fn an_export_never_replaces_something_that_is_not_a_data_set() {
    let scratch = Scratch::new("refuse");
    let emu = Emu::start();
    emu.sign_up(json!({"login": "someone", "password": "password123"}));
    let refusal = |dir: &Path, expected: &str| {
        let resp = emu.post(
            "/_emulator/export",
            None,
            json!({"path": dir.to_str().unwrap()}),
        );
        resp.assert(422);
        assert!(resp.error("path").contains(expected), "{}", resp.text);
    };
    // A folder of notes, with no manifest.
    let notes = scratch.join("notes");
    std::fs::create_dir_all(&notes).unwrap();
    std::fs::write(notes.join("notes.txt"), "keep me").unwrap();
    refusal(&notes, "it holds other files and no data set");
    assert_eq!(
        contents(&notes),
        [("notes.txt".to_owned(), b"keep me".to_vec())]
    );
    // A web app, whose manifest.json is its own.
    let app = scratch.join("web-app");
    let before = web_app(&app);
    refusal(
        &app,
        "its manifest.json is not that of a data set of this emulator",
    );
    assert_eq!(contents(&app), before);
    // A data set of another version.
    let newer = scratch.join("newer");
    std::fs::create_dir_all(&newer).unwrap();
    let manifest = r#"{"format": "cube-emulator-data", "version": 2}"#;
    std::fs::write(newer.join("manifest.json"), manifest).unwrap();
    refusal(&newer, "a data set of version 2");
    assert_eq!(
        contents(&newer),
        [("manifest.json".to_owned(), manifest.as_bytes().to_vec())]
    );
    // A file, and a link to a folder.
    let file = scratch.join("a-file");
    std::fs::write(&file, "text").unwrap();
    refusal(&file, "it exists and is not a folder");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "text");
    let link = scratch.join("link");
    std::os::unix::fs::symlink(&notes, &link).unwrap();
    refusal(&link, "it is a symbolic link");
    assert_eq!(
        contents(&notes),
        [("notes.txt".to_owned(), b"keep me".to_vec())]
    );
    emu.post("/_emulator/export", None, json!({})).assert(422);
    emu.post("/_emulator/export", None, json!({"path": ""}))
        .assert(422);
    // An empty folder, and then the data set in it, may be replaced.
    let empty = scratch.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    export(&emu, &empty);
    emu.sign_up(json!({"login": "later", "password": "password123"}));
    assert_eq!(export(&emu, &empty)["users"], 2);
    let names: Vec<String> = contents(&empty).into_iter().map(|(name, _)| name).collect();
    assert_eq!(
        names,
        [
            "applications.jsonl",
            "files.jsonl",
            "manifest.json",
            "provider_links.jsonl",
            "users.jsonl"
        ]
    );
}

#[test]
fn an_export_over_a_data_set_replaces_only_its_own_files() {
    let scratch = Scratch::new("own-files");
    let dir = scratch.join("seed");
    let emu = Emu::start();
    let (alice, _) = emu.user("alice");
    let (_, first) = emu.stored_file(&alice, "image/png", "a.png", b"first file");
    let (second_id, second) = emu.stored_file(&alice, "image/png", "b.png", b"second file");
    export(&emu, &dir);
    // What a team keeps beside its seed data.
    std::fs::write(dir.join("README.md"), "# Seed data").unwrap();
    std::fs::write(dir.join(".gitattributes"), "*.jsonl text eol=lf\n").unwrap();
    std::fs::create_dir_all(dir.join("docs")).unwrap();
    std::fs::write(dir.join("docs/users.md"), "alice: a tester").unwrap();
    std::fs::write(dir.join("files/.gitkeep"), "").unwrap();
    let kept = |dir: &Path| {
        contents(dir)
            .into_iter()
            .filter(|(name, _)| {
                [
                    "README.md",
                    ".gitattributes",
                    "docs/users.md",
                    "files/.gitkeep",
                ]
                .contains(&name.as_str())
            })
            .count()
    };
    // The second file goes: the new data set does not have it.
    emu.delete(&format!("/blobs/{second_id}"), Some(&alice))
        .assert(200);
    assert_eq!(export(&emu, &dir)["files"], 1);
    assert_eq!(kept(&dir), 4);
    assert!(dir.join("files").join(&first).exists());
    assert!(!dir.join("files").join(&second).exists());
    assert!(!dir.join(".cube-emulator-export").exists());
    // A file of files/ that the data set does not list, under a name the
    // export would write: refused, and left alone.
    let (_, third) = emu.stored_file(&alice, "image/png", "c.png", b"third file");
    std::fs::write(dir.join("files").join(&third), "not the emulator's").unwrap();
    let resp = emu.post(
        "/_emulator/export",
        None,
        json!({"path": dir.to_str().unwrap()}),
    );
    resp.assert(422);
    assert!(
        resp.error("path")
            .contains("is not one of the data set's files"),
        "{}",
        resp.text
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("files").join(&third)).unwrap(),
        "not the emulator's"
    );
    assert_eq!(kept(&dir), 4);
    assert!(!dir.join(".cube-emulator-export").exists());
}

#[test]
fn the_same_folder_imported_and_exported_on_exit_keeps_its_other_files() {
    let scratch = Scratch::new("same-folder");
    let seed = scratch.join("seed");
    {
        let emu = Emu::start();
        emu.sign_up(json!({"login": "first", "password": "password123"}));
        export(&emu, &seed);
    }
    std::fs::write(seed.join("README.md"), "# Seed data").unwrap();
    std::fs::write(seed.join(".gitattributes"), "*.jsonl text eol=lf\n").unwrap();
    for round in ["second", "third"] {
        let emu = Emu::with(EmulatorConfig {
            import: Some(seed.clone()),
            export_on_exit: Some(seed.clone()),
            ..EmulatorConfig::default()
        });
        emu.login("first", "password123");
        emu.sign_up(json!({"login": round, "password": "password123"}));
    }
    let users = std::fs::read_to_string(seed.join("users.jsonl")).unwrap();
    assert_eq!(users.lines().count(), 3, "{users}");
    assert_eq!(
        std::fs::read_to_string(seed.join("README.md")).unwrap(),
        "# Seed data"
    );
    assert_eq!(
        std::fs::read_to_string(seed.join(".gitattributes")).unwrap(),
        "*.jsonl text eol=lf\n"
    );
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

/// Changes the first record of the record file `name` of the data set `dir`.
fn edit_record(dir: &Path, name: &str, change: impl FnOnce(&mut Value)) {
    edit(&dir.join(name), |text| {
        let (first, rest) = text.split_once('\n').unwrap();
        let mut record: Value = serde_json::from_str(first).unwrap();
        change(&mut record);
        format!("{record}\n{rest}")
    });
}

/// Appends `record` to the record file `name` of `dir`, and counts it.
fn add_record(dir: &Path, name: &str, count: &str, record: Value) {
    edit(&dir.join(name), |text| format!("{text}{record}\n"));
    let manifest = dir.join("manifest.json");
    let mut value: Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    let counted = value["counts"][count].as_u64().unwrap();
    value["counts"][count] = json!(counted + 1);
    std::fs::write(manifest, value.to_string()).unwrap();
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
            format!("files.jsonl line 1: files/{uid}: does not exist"),
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
            "manifest.json: does not exist".into(),
        ),
        // The rules of the API, and the ranges that keep the emulator working.
        (
            "a clock offset of -2^63",
            Box::new(|d: &Path| {
                edit(&d.join("manifest.json"), |t| {
                    t.replace(
                        "\"clock_offset_seconds\": 0",
                        "\"clock_offset_seconds\": -9223372036854775808",
                    )
                })
            }),
            "manifest.json: clock_offset_seconds -9223372036854775808 is more than 100 years"
                .into(),
        ),
        (
            "a user id of 2^63 - 1",
            Box::new(|d: &Path| edit_record(d, "users.jsonl", |u| u["id"] = json!(i64::MAX))),
            "users.jsonl line 1: user id 9223372036854775807 is not from 1 to 9007199254740991"
                .into(),
        ),
        (
            "an application id of 2^63 - 1",
            Box::new(|d: &Path| {
                edit_record(d, "applications.jsonl", |a| a["id"] = json!(i64::MAX))
            }),
            "applications.jsonl line 1: application id 9223372036854775807 is not from 1".into(),
        ),
        (
            "16 MiB of custom_data",
            Box::new(|d: &Path| {
                edit_record(d, "users.jsonl", |u| {
                    u["custom_data"] = json!("x".repeat(16 << 20))
                })
            }),
            "users.jsonl line 1: custom_data is too long (maximum is 65536 bytes)".into(),
        ),
        (
            "a one-letter login",
            Box::new(|d: &Path| edit_record(d, "users.jsonl", |u| u["login"] = json!("a"))),
            "users.jsonl line 1: login is too short (minimum is 3 characters)".into(),
        ),
        (
            "seven tags",
            Box::new(|d: &Path| {
                edit_record(d, "users.jsonl", |u| {
                    u["tags"] = json!(["a", "b", "c", "d", "e", "f", "g"])
                })
            }),
            "users.jsonl line 1: tags is too long (maximum is 5 tags)".into(),
        ),
        (
            "a tag the API would have trimmed",
            Box::new(|d: &Path| edit_record(d, "users.jsonl", |u| u["tags"] = json!([" a"]))),
            "users.jsonl line 1: tags is not as the API keeps it".into(),
        ),
        (
            "an empty external id",
            Box::new(|d: &Path| edit_record(d, "users.jsonl", |u| u["external_id"] = json!(""))),
            "users.jsonl line 1: external_id is not as the API keeps it".into(),
        ),
        (
            "a malformed e-mail address",
            Box::new(|d: &Path| {
                edit_record(d, "users.jsonl", |u| u["email"] = json!("alice at example"))
            }),
            "users.jsonl line 1: email is invalid".into(),
        ),
        (
            "a full name over 200 characters",
            Box::new(|d: &Path| {
                edit_record(d, "users.jsonl", |u| {
                    u["full_name"] = json!("n".repeat(201))
                })
            }),
            "users.jsonl line 1: full_name is too long (maximum is 200 characters)".into(),
        ),
        (
            "a time after the year 9999",
            Box::new(|d: &Path| {
                edit_record(d, "users.jsonl", |u| {
                    u["created_at"] = json!(253_402_300_800_i64)
                })
            }),
            "users.jsonl line 1: created_at 253402300800 is not a time from the year 0 to 9999"
                .into(),
        ),
        (
            "a Firebase identity longer than a token's sub",
            Box::new(|d: &Path| {
                add_record(
                    d,
                    "provider_links.jsonl",
                    "provider_links",
                    json!({"app_id": 1, "provider": "firebase", "uid": "u".repeat(129), "user_id": 1}),
                )
            }),
            "provider_links.jsonl line 1: uid has 129 bytes; a firebase identity has 1 to 128"
                .into(),
        ),
        (
            "a content type that splits a header",
            Box::new(|d: &Path| {
                edit_record(d, "files.jsonl", |f| {
                    f["content_type"] = json!("image/png\r\nSet-Cookie: a=b")
                })
            }),
            "files.jsonl line 1: content_type \"image/png\\r\\nSet-Cookie: a=b\" is invalid".into(),
        ),
        (
            "a negative size",
            Box::new(|d: &Path| edit_record(d, "files.jsonl", |f| f["size"] = json!(-1))),
            "files.jsonl line 1: size must be greater than or equal to 0".into(),
        ),
        (
            "a record past the manifest's count",
            Box::new(|d: &Path| edit(&d.join("users.jsonl"), |t| format!("{t}{t}"))),
            "users.jsonl: line 2 is one more record than the manifest counts (1)".into(),
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

/// A data set whose entry `name` is replaced by a link to `to`.
fn linked(scratch: &Scratch, good: &Path, case: &str, name: &str, to: &Path) -> PathBuf {
    let dir = scratch.join(case);
    copy_dir(good, &dir);
    let entry = dir.join(name);
    if entry.is_dir() {
        std::fs::remove_dir_all(&entry).unwrap();
    } else {
        std::fs::remove_file(&entry).unwrap();
    }
    std::os::unix::fs::symlink(to, &entry).unwrap();
    dir
}

#[test]
fn links_and_special_files_in_a_data_set_are_refused_without_being_read() {
    let scratch = Scratch::new("links");
    let (good, uid) = good_data_set(&scratch);
    let data_dir = scratch.join("data");
    // Outside the data set: a folder holding a file of the right name and
    // length, and a manifest that would be read.
    let outside = scratch.join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::copy(good.join("files").join(&uid), outside.join(&uid)).unwrap();
    std::fs::copy(good.join("manifest.json"), outside.join("manifest.json")).unwrap();
    let cases = [
        (
            linked(&scratch, &good, "files-out", "files", &outside),
            "files/ is a symbolic link; a data set holds only its own files and folders".to_owned(),
        ),
        (
            linked(
                &scratch,
                &good,
                "file-out",
                &format!("files/{uid}"),
                &outside.join(&uid),
            ),
            format!("files.jsonl line 1: files/{uid}: is a symbolic link"),
        ),
        (
            linked(
                &scratch,
                &good,
                "manifest-out",
                "manifest.json",
                &outside.join("manifest.json"),
            ),
            "manifest.json: is a symbolic link".to_owned(),
        ),
        (
            linked(
                &scratch,
                &good,
                "dev-zero",
                "users.jsonl",
                Path::new("/dev/zero"),
            ),
            "users.jsonl: is a symbolic link".to_owned(),
        ),
    ];
    for (dir, expected) in &cases {
        let err = import_error(&data_dir, dir);
        assert!(err.contains(expected), "{}: {err}", dir.display());
    }
    // The data set's folder itself, named through a link.
    let link = scratch.join("link-to-good");
    std::os::unix::fs::symlink(&good, &link).unwrap();
    let err = import_error(&data_dir, &link);
    assert!(
        err.contains("is a symbolic link; name the data set's folder itself"),
        "{err}"
    );
    // A pipe where a record file belongs: never opened (which would wait
    // for a writer forever).
    let piped = scratch.join("piped");
    copy_dir(&good, &piped);
    std::fs::remove_file(piped.join("users.jsonl")).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(piped.join("users.jsonl"))
        .status()
        .unwrap();
    assert!(made.success());
    let err = import_error(&data_dir, &piped);
    assert!(
        err.contains("users.jsonl: is not a regular file (a device, pipe or socket)"),
        "{err}"
    );
    // A record file of 256 MiB without a line end: refused once the line
    // is longer than a line may be, not read whole.
    let long = scratch.join("long-line");
    copy_dir(&good, &long);
    std::fs::File::create(long.join("users.jsonl"))
        .unwrap()
        .set_len(256 << 20)
        .unwrap();
    let err = import_error(&data_dir, &long);
    assert!(
        err.contains("users.jsonl: line 1 is longer than 67108864 bytes"),
        "{err}"
    );
    // None of them wrote anything.
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
fn an_export_target_that_cannot_be_used_is_refused_at_start_and_touched_by_nothing() {
    let scratch = Scratch::new("exit-refused");
    let app = scratch.join("web-app");
    let before = web_app(&app);
    let notes = scratch.join("notes.txt");
    std::fs::write(&notes, "keep me").unwrap();
    for (target, expected) in [
        (
            &app,
            "its manifest.json is not that of a data set of this emulator",
        ),
        (&notes, "it exists and is not a folder"),
    ] {
        let err = Emulator::start_blocking(EmulatorConfig {
            export_on_exit: Some(target.clone()),
            ..EmulatorConfig::default()
        })
        .expect_err("an unusable export target");
        assert!(matches!(&err, StartError::ExportTarget(_)), "{err:?}");
        assert!(err.to_string().contains(expected), "{err}");
    }
    assert_eq!(contents(&app), before);
    assert_eq!(std::fs::read_to_string(&notes).unwrap(), "keep me");
    let left: Vec<_> = std::fs::read_dir(&scratch.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(left, ["notes.txt", "web-app"]);
}

#[test]
fn a_failed_export_on_exit_is_reported_by_shutdown() {
    let scratch = Scratch::new("exit-fails");
    let target = scratch.join("saved");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let err = runtime.block_on(async {
        let running = Emulator::start(EmulatorConfig {
            export_on_exit: Some(target.clone()),
            ..EmulatorConfig::default()
        })
        .await
        .unwrap();
        // Usable at start; by the stop, something else took the folder.
        std::fs::write(target.join("notes.txt"), "keep me").unwrap();
        running.shutdown().await.unwrap_err()
    });
    assert!(
        matches!(err, cube_emulator::ExportError::Refused { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("no data set"), "{err}");
    assert_eq!(
        contents(&target),
        [("notes.txt".to_owned(), b"keep me".to_vec())]
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
