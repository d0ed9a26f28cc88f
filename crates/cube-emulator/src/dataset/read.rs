//! Reading a data set: each file streamed a line at a time within the
//! limits of `limits::datasets`, and each record checked by the rules the
//! API applies to what it stores (`user_fields::user_input` for a user's
//! fields, `AppSettings::apply` for settings, the file rules of
//! `POST /blobs`), against the records before it (references, values that
//! must be unique), and for the ranges that keep the emulator working
//! (ids, times, the clock offset) — all before anything is written. Each
//! problem names the file and line it is on.

use std::collections::{HashMap, HashSet};
use std::io::Read;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::lines::Lines;
use super::source::Source;
use super::{
    APPLICATIONS, Counts, FILE_RECORDS, FILES_DIR, FORMAT, LINKS, MANIFEST, Manifest, USERS,
    VERSION,
};
use crate::files::{Files, is_uid};
use crate::limits::{
    FIREBASE_SUB_MAX_BYTES, FREE_TEXT_MAX_BYTES, ID_MAX, LINE_MAX_BYTES, MANIFEST_MAX_BYTES,
    MAX_FILE, PASSWORD_HASH_MAX_BYTES, RECORDS_MAX_BYTES, TIMES, blob_name_ok, clock_offset_ok,
    content_type_ok, id_ok,
};
use crate::settings::AppSettings;
use crate::store::dataset::{AppRecord, FileRecord, LinkRecord, Snapshot, UserRecord};
use crate::store::users::email_key;
use crate::user_fields::user_input;

/// The providers a link may name.
const PROVIDERS: [&str; 4] = ["facebook", "twitter", "firebase", "cidp"];

/// Reads and checks the data set in `source`; a problem names the file
/// and line.
pub(crate) fn read(source: &dyn Source) -> Result<Snapshot, String> {
    let manifest = read_manifest(source)?;
    if !clock_offset_ok(manifest.clock_offset_seconds) {
        return Err(format!(
            "{MANIFEST}: clock_offset_seconds {} is more than 100 years",
            manifest.clock_offset_seconds
        ));
    }
    let mut snapshot = Snapshot {
        clock_offset: manifest.clock_offset_seconds,
        ..Snapshot::default()
    };
    let mut budget = RECORDS_MAX_BYTES;
    let counts = manifest.counts;
    let mut seen = Seen::default();
    each(
        source,
        APPLICATIONS,
        counts.applications,
        &mut budget,
        |app| check_app(app, &mut seen, &mut snapshot),
    )?;
    each(source, USERS, counts.users, &mut budget, |user| {
        check_user(user, &mut seen, &mut snapshot)
    })?;
    each(source, LINKS, counts.provider_links, &mut budget, |link| {
        check_link(link, &mut seen, &mut snapshot)
    })?;
    each(source, FILE_RECORDS, counts.files, &mut budget, |file| {
        check_file(file, source, &mut seen, &mut snapshot)
    })?;
    Ok(snapshot)
}

/// What `snapshot` holds.
pub(super) fn counts(snapshot: &Snapshot) -> Counts {
    Counts {
        applications: snapshot.apps.len() as u64,
        users: snapshot.users.len() as u64,
        provider_links: snapshot.links.len() as u64,
        files: snapshot.files.len() as u64,
    }
}

/// Copies the bytes of each file of `snapshot` from `source` into `files`.
pub(super) fn install_files(
    source: &dyn Source,
    snapshot: &Snapshot,
    files: &Files,
) -> Result<(), String> {
    for file in &snapshot.files {
        let Some(bytes) = file.bytes else { continue };
        let name = format!("{FILES_DIR}/{}", file.uid);
        let mut opened = source
            .open(&[FILES_DIR, &file.uid])
            .map_err(|e| format!("{name}: {e}"))?;
        files
            .install(&file.uid, &mut opened.reader, bytes)
            .map_err(|e| format!("{name}: cannot copy it: {e}"))?;
    }
    Ok(())
}

fn read_manifest(source: &dyn Source) -> Result<Manifest, String> {
    let fail = |problem: String| format!("{MANIFEST}: {problem}");
    let opened = source
        .open(&[MANIFEST])
        .map_err(|e| fail(format!("{e} (a data set is a folder an export wrote)")))?;
    let mut text = Vec::new();
    opened
        .reader
        .take(MANIFEST_MAX_BYTES + 1)
        .read_to_end(&mut text)
        .map_err(|e| fail(e.to_string()))?;
    if text.len() as u64 > MANIFEST_MAX_BYTES {
        return Err(fail(format!(
            "larger than {MANIFEST_MAX_BYTES} bytes: not a manifest"
        )));
    }
    let value: Value = serde_json::from_slice(&text).map_err(|e| fail(e.to_string()))?;
    if value.get("format").and_then(Value::as_str) != Some(FORMAT) {
        return Err(fail(format!("not a data set (format is not {FORMAT:?})")));
    }
    match value.get("version").and_then(Value::as_i64) {
        Some(VERSION) => {}
        Some(other) => {
            return Err(fail(format!(
                "version {other}; this emulator reads version {VERSION}"
            )));
        }
        None => return Err(fail("no version".into())),
    }
    serde_json::from_value(value).map_err(|e| fail(e.to_string()))
}

/// Parses each line of `name` and hands the record to `check`. A last
/// line without its newline, or fewer or more lines than the manifest
/// counts, is a truncated (or edited) file.
fn each<T: DeserializeOwned>(
    source: &dyn Source,
    name: &str,
    expected: u64,
    budget: &mut u64,
    mut check: impl FnMut(T) -> Result<(), String>,
) -> Result<(), String> {
    let opened = source.open(&[name]).map_err(|e| format!("{name}: {e}"))?;
    let mut lines = Lines::new(opened.reader, LINE_MAX_BYTES, budget);
    let mut found: u64 = 0;
    while let Some((number, line)) = lines.next_line().map_err(|e| format!("{name}: {e}"))? {
        if found == expected {
            return Err(format!(
                "{name}: line {number} is one more record than the manifest counts \
                 ({expected}): the file was edited"
            ));
        }
        let record =
            serde_json::from_slice(line).map_err(|e| format!("{name}: line {number}: {e}"))?;
        check(record).map_err(|e| format!("{name} line {number}: {e}"))?;
        found += 1;
    }
    if found != expected {
        return Err(format!(
            "{name}: {found} records where the manifest counts {expected}: the file is \
             truncated or was edited"
        ));
    }
    Ok(())
}

/// What the records read so far hold: ids, and values that must be unique.
#[derive(Default)]
struct Seen {
    apps: HashSet<i64>,
    auth_keys: HashSet<String>,
    /// User id → its application.
    users: HashMap<i64, i64>,
    /// (application, field, value) → the user holding it.
    taken: HashMap<(i64, &'static str, String), i64>,
    links: HashSet<(i64, String, String)>,
    files: HashSet<i64>,
    uids: HashSet<String>,
}

fn not_an_id(what: &str, id: i64) -> String {
    format!("{what} {id} is not from 1 to {ID_MAX}")
}

fn within_times(fields: &[(&str, Option<i64>)]) -> Result<(), String> {
    for (field, time) in fields {
        if let Some(time) = time
            && !TIMES.contains(time)
        {
            return Err(format!(
                "{field} {time} is not a time from the year 0 to 9999"
            ));
        }
    }
    Ok(())
}

fn check_app(mut app: AppRecord, seen: &mut Seen, out: &mut Snapshot) -> Result<(), String> {
    if !id_ok(app.id) {
        return Err(not_an_id("application id", app.id));
    }
    if seen.apps.contains(&app.id) {
        return Err(format!("application {} appears twice", app.id));
    }
    // As `POST /_emulator/apps` takes them.
    if app.auth_key.is_empty() || app.auth_secret.is_empty() {
        return Err("auth_key and auth_secret must not be empty".into());
    }
    if app.auth_key.len().max(app.auth_secret.len()) > FREE_TEXT_MAX_BYTES {
        return Err(format!(
            "auth_key or auth_secret is longer than {FREE_TEXT_MAX_BYTES} bytes"
        ));
    }
    if !seen.auth_keys.insert(app.auth_key.clone()) {
        return Err(format!("auth_key {:?} appears twice", app.auth_key));
    }
    let mut settings = AppSettings::default();
    settings
        .apply(&app.settings)
        .map_err(|e| format!("settings: {}", describe(e.by_field(), &[])))?;
    if let Value::Object(map) = settings.to_json(None) {
        app.settings = map;
    }
    seen.apps.insert(app.id);
    out.apps.push(app);
    Ok(())
}

/// `field message, message; field message`, with the API's field names
/// turned into the record's.
fn describe(
    errors: &std::collections::BTreeMap<String, Vec<String>>,
    renamed: &[(&str, &str)],
) -> String {
    errors
        .iter()
        .map(|(field, why)| {
            let field = renamed
                .iter()
                .find(|(api, _)| api == field)
                .map_or(field.as_str(), |(_, record)| record);
            format!("{field} {}", why.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn check_user(user: UserRecord, seen: &mut Seen, out: &mut Snapshot) -> Result<(), String> {
    if !id_ok(user.id) {
        return Err(not_an_id("user id", user.id));
    }
    if seen.users.contains_key(&user.id) {
        return Err(format!("user {} appears twice", user.id));
    }
    if !seen.apps.contains(&user.app_id) {
        return Err(format!("application {} does not exist", user.app_id));
    }
    if let Some(hash) = &user.password_hash
        && (hash.len() > PASSWORD_HASH_MAX_BYTES
            || crate::crypto::StoredHash::parse(hash).is_none())
    {
        return Err(
            "password_hash is not an argon2id hash of this emulator (or it asks for more \
             memory or passes than the emulator's costs allow)"
                .into(),
        );
    }
    as_the_api_keeps_it(&user)?;
    within_times(&[
        ("created_at", Some(user.created_at)),
        ("updated_at", Some(user.updated_at)),
        ("last_request_at", user.last_request_at),
        ("guest_expires_at", user.guest_expires_at),
    ])?;
    let unique = [
        ("login", user.login.clone()),
        ("email", user.email.as_deref().map(email_key)),
        ("external_id", user.external_id.clone()),
        ("facebook_id", user.facebook_id.clone()),
        ("twitter_id", user.twitter_id.clone()),
    ];
    for (field, value) in unique {
        let Some(value) = value else { continue };
        if let Some(holder) = seen
            .taken
            .insert((user.app_id, field, value.clone()), user.id)
        {
            return Err(format!(
                "{field} {value:?} of user {} is already held by user {holder} of \
                 application {}",
                user.id, user.app_id
            ));
        }
    }
    seen.users.insert(user.id, user.app_id);
    out.users.push(user);
    Ok(())
}

/// The user's fields pass the API's checks (`user_input`, as a sign-up or
/// an update sends them) and are as the API keeps them: ids never empty
/// (an empty one is no id), tags trimmed, none empty, none twice. What
/// the API bounds only by a request's size is bounded by that size.
fn as_the_api_keeps_it(user: &UserRecord) -> Result<(), String> {
    let request = json!({
        "login": user.login,
        "email": user.email,
        "full_name": user.full_name,
        "phone": user.phone,
        "website": user.website,
        "avatar": user.avatar,
        "external_user_id": user.external_user_id,
        "external_id": user.external_id,
        "facebook_id": user.facebook_id,
        "twitter_id": user.twitter_id,
        "custom_data": user.custom_data,
        "timezone": user.timezone,
        "blob_id": user.blob_id,
        "tag_list": user.tags,
    });
    let fields = match request {
        Value::Object(fields) => fields,
        _ => Map::new(),
    };
    let kept = user_input(&fields)
        .map_err(|e| describe(&e.errors, &[("tag_list", "tags")]))?
        .into_new_user();
    let changed = [
        ("login", kept.login != user.login),
        ("email", kept.email != user.email),
        ("full_name", kept.full_name != user.full_name),
        ("phone", kept.phone != user.phone),
        ("website", kept.website != user.website),
        ("avatar", kept.avatar != user.avatar),
        (
            "external_user_id",
            kept.external_user_id != user.external_user_id,
        ),
        ("external_id", kept.external_id != user.external_id),
        ("facebook_id", kept.facebook_id != user.facebook_id),
        ("twitter_id", kept.twitter_id != user.twitter_id),
        ("custom_data", kept.custom_data != user.custom_data),
        ("timezone", kept.timezone != user.timezone),
        ("blob_id", kept.blob_id != user.blob_id),
        ("tags", kept.tags != user.tags),
    ];
    if let Some((field, _)) = changed.iter().find(|(_, changed)| *changed) {
        return Err(format!(
            "{field} is not as the API keeps it (an id is never empty; tags are trimmed, \
             none empty or twice)"
        ));
    }
    let free = [
        ("phone", &user.phone),
        ("website", &user.website),
        ("avatar", &user.avatar),
        ("external_id", &user.external_id),
        ("facebook_id", &user.facebook_id),
        ("twitter_id", &user.twitter_id),
    ];
    let tags = ("tags", user.tags.iter().map(String::len).sum::<usize>());
    let lengths = free
        .iter()
        .map(|(field, text)| (*field, text.as_deref().map_or(0, str::len)))
        .chain([tags]);
    for (field, len) in lengths {
        if len > FREE_TEXT_MAX_BYTES {
            return Err(format!(
                "{field} has {len} bytes, more than one request carries \
                 ({FREE_TEXT_MAX_BYTES})"
            ));
        }
    }
    Ok(())
}

fn check_link(link: LinkRecord, seen: &mut Seen, out: &mut Snapshot) -> Result<(), String> {
    if !PROVIDERS.contains(&link.provider.as_str()) {
        return Err(format!(
            "provider {:?} is not one of {}",
            link.provider,
            PROVIDERS.join(", ")
        ));
    }
    // A Firebase id is a token's `sub`, which sign-in bounds; the others
    // come from a provider's answer.
    let longest = if link.provider == "firebase" {
        FIREBASE_SUB_MAX_BYTES
    } else {
        FREE_TEXT_MAX_BYTES
    };
    if link.uid.is_empty() || link.uid.len() > longest {
        return Err(format!(
            "uid has {} bytes; a {} identity has 1 to {longest}",
            link.uid.len(),
            link.provider
        ));
    }
    if seen.users.get(&link.user_id) != Some(&link.app_id) {
        return Err(format!(
            "user {} of application {} does not exist",
            link.user_id, link.app_id
        ));
    }
    if !seen
        .links
        .insert((link.app_id, link.provider.clone(), link.uid.clone()))
    {
        return Err(format!(
            "{} identity {:?} is linked twice",
            link.provider, link.uid
        ));
    }
    out.links.push(link);
    Ok(())
}

fn check_file(
    file: FileRecord,
    source: &dyn Source,
    seen: &mut Seen,
    out: &mut Snapshot,
) -> Result<(), String> {
    // The uid names the file on disk: hex digits only, so no path.
    if !is_uid(&file.uid) {
        return Err(format!(
            "uid {:?} is not a file name (1 to 64 hex digits)",
            file.uid
        ));
    }
    if !id_ok(file.id) {
        return Err(not_an_id("file id", file.id));
    }
    if !seen.files.insert(file.id) || !seen.uids.insert(file.uid.clone()) {
        return Err(format!("file {} ({}) appears twice", file.id, file.uid));
    }
    if !seen.apps.contains(&file.app_id) {
        return Err(format!("application {} does not exist", file.app_id));
    }
    if !id_ok(file.owner_id) {
        return Err(not_an_id("owner_id", file.owner_id));
    }
    // The rules of `POST /blobs` and `PUT /blobs/{id}/complete`.
    if !content_type_ok(&file.content_type) {
        return Err(format!("content_type {:?} is invalid", file.content_type));
    }
    if !blob_name_ok(&file.name) {
        return Err("name is blank, has surrounding spaces or is too long".into());
    }
    if file.size.is_some_and(|size| size < 0) {
        return Err("size must be greater than or equal to 0".into());
    }
    within_times(&[
        ("created_at", Some(file.created_at)),
        ("updated_at", Some(file.updated_at)),
        ("completed_at", file.completed_at),
    ])?;
    if let Some(bytes) = file.bytes {
        let name = format!("{FILES_DIR}/{}", file.uid);
        if bytes > MAX_FILE {
            return Err(format!(
                "{name} has {bytes} bytes; a file holds at most {MAX_FILE}"
            ));
        }
        let opened = source
            .open(&[FILES_DIR, &file.uid])
            .map_err(|e| format!("{name}: {e}"))?;
        if opened.len != bytes {
            return Err(format!(
                "{name} has {} bytes where the record says {bytes}",
                opened.len
            ));
        }
    }
    out.files.push(file);
    Ok(())
}

#[cfg(test)]
mod tests {
    //! Each limit of a record, at the limit and one past it.

    use serde_json::json;

    use super::*;
    use crate::dataset::source::InMemory;
    use crate::limits::{CUSTOM_DATA_MAX_BYTES, MAX_CLOCK_OFFSET};

    /// A data set of these records, counted in its manifest.
    fn set(apps: &[Value], users: &[Value], links: &[Value], files: &[Value]) -> InMemory {
        let lines = |records: &[Value]| -> Vec<u8> {
            records
                .iter()
                .map(|r| format!("{r}\n"))
                .collect::<String>()
                .into_bytes()
        };
        let manifest = json!({
            "format": FORMAT, "version": VERSION, "exported_at": "x", "clock_offset_seconds": 0,
            "counts": {"applications": apps.len(), "users": users.len(),
                       "provider_links": links.len(), "files": files.len()},
        });
        let mut set = InMemory::default();
        set.files
            .insert(MANIFEST.into(), manifest.to_string().into_bytes());
        set.files.insert(APPLICATIONS.into(), lines(apps));
        set.files.insert(USERS.into(), lines(users));
        set.files.insert(LINKS.into(), lines(links));
        set.files.insert(FILE_RECORDS.into(), lines(files));
        set
    }

    fn app(id: i64) -> Value {
        json!({"id": id, "auth_key": format!("key-{id}"), "auth_secret": "s", "settings": {}})
    }

    fn user(change: impl FnOnce(&mut Value)) -> Value {
        let mut user = json!({"id": 1, "app_id": 1, "login": "alice", "created_at": 0,
                              "updated_at": 0});
        change(&mut user);
        user
    }

    fn file(change: impl FnOnce(&mut Value)) -> Value {
        let mut file = json!({"id": 1, "app_id": 1, "uid": "ab", "owner_id": 1,
                              "content_type": "image/png", "name": "a.png", "public": false,
                              "created_at": 0, "updated_at": 0});
        change(&mut file);
        file
    }

    /// `Ok` for the user `at`, and the refusal of the user `past`.
    fn user_limit(at: impl FnOnce(&mut Value), past: impl FnOnce(&mut Value)) -> String {
        let accepted = read(&set(&[app(1)], &[user(at)], &[], &[]));
        assert!(accepted.is_ok(), "{:?}", accepted.err());
        read(&set(&[app(1)], &[user(past)], &[], &[]))
            .err()
            .expect("refused")
    }

    #[test]
    fn a_manifest_at_its_limit_is_read_and_one_byte_more_is_refused() {
        let mut data = set(&[], &[], &[], &[]);
        let manifest = data.files.get_mut(MANIFEST).unwrap();
        let room = usize::try_from(MANIFEST_MAX_BYTES).unwrap() - manifest.len();
        manifest.extend(std::iter::repeat_n(b' ', room));
        assert!(read(&data).is_ok());
        data.files.get_mut(MANIFEST).unwrap().push(b' ');
        let err = read(&data).err().expect("refused");
        assert!(
            err.contains("manifest.json: larger than 65536 bytes"),
            "{err}"
        );
    }

    #[test]
    fn the_clock_offset_at_its_limit_and_past_it_either_way() {
        for (offset, ok) in [
            (MAX_CLOCK_OFFSET, true),
            (-MAX_CLOCK_OFFSET, true),
            (MAX_CLOCK_OFFSET + 1, false),
            (-MAX_CLOCK_OFFSET - 1, false),
            (i64::MIN, false),
        ] {
            let mut data = set(&[], &[], &[], &[]);
            let mut manifest: Value = serde_json::from_slice(&data.files[MANIFEST]).unwrap();
            manifest["clock_offset_seconds"] = json!(offset);
            data.files
                .insert(MANIFEST.into(), manifest.to_string().into_bytes());
            assert_eq!(read(&data).is_ok(), ok, "{offset}");
        }
    }

    #[test]
    fn ids_at_their_limit_and_past_it() {
        assert!(read(&set(&[app(ID_MAX)], &[], &[], &[])).is_ok());
        let err = read(&set(&[app(ID_MAX + 1)], &[], &[], &[]))
            .err()
            .expect("refused");
        assert!(
            err.contains("application id 9007199254740992 is not from 1"),
            "{err}"
        );
        let err = user_limit(|u| u["id"] = json!(ID_MAX), |u| u["id"] = json!(ID_MAX + 1));
        assert!(
            err.contains("user id 9007199254740992 is not from 1"),
            "{err}"
        );
        let err = read(&set(&[app(1)], &[], &[], &[file(|f| f["id"] = json!(0))]))
            .err()
            .expect("refused");
        assert!(err.contains("file id 0 is not from 1"), "{err}");
    }

    #[test]
    fn times_at_their_limits_and_past_them() {
        for (time, ok) in [
            (*TIMES.start(), true),
            (*TIMES.end(), true),
            (*TIMES.start() - 1, false),
            (*TIMES.end() + 1, false),
        ] {
            let result = read(&set(
                &[app(1)],
                &[user(|u| u["last_request_at"] = json!(time))],
                &[],
                &[],
            ));
            assert_eq!(
                result.is_ok(),
                ok,
                "{time}: {result:?}",
                result = result.err()
            );
        }
    }

    #[test]
    fn user_fields_at_the_api_limits_and_past_them() {
        let err = user_limit(
            |u| u["custom_data"] = json!("c".repeat(CUSTOM_DATA_MAX_BYTES)),
            |u| u["custom_data"] = json!("c".repeat(CUSTOM_DATA_MAX_BYTES + 1)),
        );
        assert!(
            err.contains("custom_data is too long (maximum is 65536 bytes)"),
            "{err}"
        );
        let err = user_limit(
            |u| u["phone"] = json!("5".repeat(FREE_TEXT_MAX_BYTES)),
            |u| u["phone"] = json!("5".repeat(FREE_TEXT_MAX_BYTES + 1)),
        );
        assert!(
            err.contains("phone has 1048577 bytes, more than one request carries"),
            "{err}"
        );
        let tag = "t".repeat(FREE_TEXT_MAX_BYTES / 4);
        let err = user_limit(
            |u| {
                u["tags"] = json!([
                    tag.clone() + "1",
                    tag.clone() + "2",
                    tag.clone() + "3",
                    tag[3..].to_owned()
                ])
            },
            |u| {
                u["tags"] = json!([
                    tag.clone() + "1",
                    tag.clone() + "2",
                    tag.clone() + "3",
                    tag[2..].to_owned()
                ])
            },
        );
        assert!(err.contains("tags has 1048577 bytes"), "{err}");
        let err = user_limit(
            |u| u["tags"] = json!(["1", "2", "3", "4", "5"]),
            |u| u["tags"] = json!(["1", "2", "3", "4", "5", "6"]),
        );
        assert!(
            err.contains("tags is too long (maximum is 5 tags)"),
            "{err}"
        );
        let err = user_limit(|u| u["login"] = json!("abc"), |u| u["login"] = json!("ab"));
        assert!(
            err.contains("login is too short (minimum is 3 characters)"),
            "{err}"
        );
    }

    #[test]
    fn a_password_hash_at_its_length_and_past_it() {
        let hash = |len: usize| {
            let tail = format!(",t=1,p=1${}${}", "00".repeat(16), "11".repeat(32));
            let digits = len - "argon2id$m=".len() - tail.len();
            format!("argon2id$m={:0>digits$}{tail}", 64)
        };
        assert!(crate::crypto::StoredHash::parse(&hash(PASSWORD_HASH_MAX_BYTES + 1)).is_some());
        let err = user_limit(
            |u| u["password_hash"] = json!(hash(PASSWORD_HASH_MAX_BYTES)),
            |u| u["password_hash"] = json!(hash(PASSWORD_HASH_MAX_BYTES + 1)),
        );
        assert!(
            err.contains("password_hash is not an argon2id hash"),
            "{err}"
        );
    }

    #[test]
    fn a_firebase_identity_at_its_length_and_past_it() {
        let link = |len: usize| json!({"app_id": 1, "provider": "firebase", "uid": "f".repeat(len), "user_id": 1});
        let users = [user(|_| {})];
        assert!(
            read(&set(
                &[app(1)],
                &users,
                &[link(FIREBASE_SUB_MAX_BYTES)],
                &[]
            ))
            .is_ok()
        );
        let err = read(&set(
            &[app(1)],
            &users,
            &[link(FIREBASE_SUB_MAX_BYTES + 1)],
            &[],
        ))
        .err()
        .expect("refused");
        assert!(
            err.contains("uid has 129 bytes; a firebase identity has 1 to 128"),
            "{err}"
        );
    }

    #[test]
    fn file_names_and_uids_at_their_limits_and_past_them() {
        use crate::limits::BLOB_NAME_MAX_CHARS;
        let ok = |f: Value| read(&set(&[app(1)], &[], &[], &[f]));
        assert!(ok(file(|f| f["uid"] = json!("a".repeat(64)))).is_ok());
        let err = ok(file(|f| f["uid"] = json!("a".repeat(65))))
            .err()
            .expect("refused");
        assert!(err.contains("is not a file name"), "{err}");
        assert!(ok(file(|f| f["name"] = json!("n".repeat(BLOB_NAME_MAX_CHARS)))).is_ok());
        let err = ok(file(|f| {
            f["name"] = json!("n".repeat(BLOB_NAME_MAX_CHARS + 1))
        }))
        .err()
        .expect("refused");
        assert!(
            err.contains("name is blank, has surrounding spaces or is too long"),
            "{err}"
        );
    }

    #[test]
    fn file_sizes_at_their_limit_and_past_it() {
        // Sparse files on disk: the largest size is accepted, one byte
        // more is not.
        let dir =
            std::env::temp_dir().join(format!("cube-emulator-read-sizes-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join(FILES_DIR)).unwrap();
        for (bytes, ok) in [(MAX_FILE, true), (MAX_FILE + 1, false)] {
            let data = set(&[app(1)], &[], &[], &[file(|f| f["bytes"] = json!(bytes))]);
            for (name, content) in &data.files {
                std::fs::write(dir.join(name), content).unwrap();
            }
            std::fs::File::create(dir.join(FILES_DIR).join("ab"))
                .unwrap()
                .set_len(bytes)
                .unwrap();
            let folder = crate::dataset::source::Folder::open(&dir).unwrap();
            let result = read(&folder);
            assert_eq!(result.is_ok(), ok, "{bytes}: {:?}", result.err());
            if !ok {
                assert!(
                    result
                        .err()
                        .expect("refused")
                        .contains("a file holds at most")
                );
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
