//! Reading a data set: every file parsed and every record checked (its
//! references and the values that must be unique) before anything is
//! written. Each problem names the file and line it is on.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{
    APPLICATIONS, Counts, FILE_RECORDS, FILES_DIR, FORMAT, ImportError, LINKS, MANIFEST, Manifest,
    USERS, VERSION,
};
use crate::files::{Files, is_uid};
use crate::limits::{MANIFEST_MAX_BYTES, MAX_CLOCK_OFFSET, MAX_FILE};
use crate::settings::AppSettings;
use crate::store::dataset::{AppRecord, FileRecord, LinkRecord, Snapshot, UserRecord};
use crate::store::users::email_key;

/// The providers a link may name.
const PROVIDERS: [&str; 4] = ["facebook", "twitter", "firebase", "cidp"];

/// Reads and checks the data set in `dir`.
pub(super) fn read(dir: &Path) -> Result<Snapshot, ImportError> {
    let fail = |problem: String| ImportError::new(dir, problem);
    if !dir.is_dir() {
        return Err(fail("it is not a directory".into()));
    }
    let manifest = read_manifest(dir)?;
    if manifest.clock_offset_seconds.abs() > MAX_CLOCK_OFFSET {
        return Err(fail(format!(
            "{MANIFEST}: clock_offset_seconds is more than 100 years"
        )));
    }
    let apps: Vec<(usize, AppRecord)> =
        read_lines(dir, APPLICATIONS, manifest.counts.applications)?;
    let users: Vec<(usize, UserRecord)> = read_lines(dir, USERS, manifest.counts.users)?;
    let links: Vec<(usize, LinkRecord)> = read_lines(dir, LINKS, manifest.counts.provider_links)?;
    let files: Vec<(usize, FileRecord)> = read_lines(dir, FILE_RECORDS, manifest.counts.files)?;
    let mut snapshot = Snapshot {
        clock_offset: manifest.clock_offset_seconds,
        ..Snapshot::default()
    };
    check_apps(dir, apps, &mut snapshot)?;
    check_users(dir, users, &mut snapshot)?;
    check_links(dir, links, &mut snapshot)?;
    check_files(dir, files, &mut snapshot)?;
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

/// Copies the bytes of each file of `snapshot` from `dir` into `files`.
pub(super) fn install_files(
    dir: &Path,
    snapshot: &Snapshot,
    files: &Files,
) -> Result<(), ImportError> {
    for file in snapshot.files.iter().filter(|f| f.bytes.is_some()) {
        let from = dir.join(FILES_DIR).join(&file.uid);
        files.install(&file.uid, &from).map_err(|e| {
            ImportError::new(
                dir,
                format!("{FILES_DIR}/{}: cannot copy it: {e}", file.uid),
            )
        })?;
    }
    Ok(())
}

fn read_manifest(dir: &Path) -> Result<Manifest, ImportError> {
    let fail = |problem: String| ImportError::new(dir, format!("{MANIFEST}: {problem}"));
    let file = std::fs::File::open(dir.join(MANIFEST)).map_err(|e| {
        fail(format!(
            "{e} (a data set is a directory written by an export)"
        ))
    })?;
    let mut text = String::new();
    file.take(MANIFEST_MAX_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| fail(e.to_string()))?;
    if text.len() as u64 > MANIFEST_MAX_BYTES {
        return Err(fail(format!(
            "larger than {MANIFEST_MAX_BYTES} bytes: not a manifest"
        )));
    }
    let value: Value = serde_json::from_str(&text).map_err(|e| fail(e.to_string()))?;
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

/// Parses `name` as JSON lines: each record with its line number. A last
/// line without its newline, or fewer or more lines than the manifest
/// counts, is a truncated (or edited) file.
fn read_lines<T: DeserializeOwned>(
    dir: &Path,
    name: &str,
    expected: u64,
) -> Result<Vec<(usize, T)>, ImportError> {
    let fail = |problem: String| ImportError::new(dir, format!("{name}: {problem}"));
    let file = std::fs::File::open(dir.join(name)).map_err(|e| fail(e.to_string()))?;
    let mut reader = BufReader::new(file);
    let mut records = Vec::new();
    let mut line = String::new();
    for number in 1.. {
        line.clear();
        let read = reader
            .read_line(&mut line)
            .map_err(|e| fail(format!("line {number}: {e}")))?;
        if read == 0 {
            break;
        }
        if !line.ends_with('\n') {
            return Err(fail(format!(
                "line {number} has no end: the file is truncated"
            )));
        }
        let record =
            serde_json::from_str(&line).map_err(|e| fail(format!("line {number}: {e}")))?;
        records.push((number, record));
    }
    if records.len() as u64 != expected {
        return Err(fail(format!(
            "{} records where the manifest counts {expected}: the file is truncated or was edited",
            records.len()
        )));
    }
    Ok(records)
}

fn check_apps(
    dir: &Path,
    apps: Vec<(usize, AppRecord)>,
    out: &mut Snapshot,
) -> Result<(), ImportError> {
    let mut ids = HashSet::new();
    let mut keys = HashSet::new();
    for (line, mut app) in apps {
        let fail = |problem: String| {
            ImportError::new(dir, format!("{APPLICATIONS} line {line}: {problem}"))
        };
        if app.id < 1 {
            return Err(fail(format!("id {} is not a positive integer", app.id)));
        }
        if !ids.insert(app.id) {
            return Err(fail(format!("application {} appears twice", app.id)));
        }
        if app.auth_key.is_empty() || app.auth_secret.is_empty() {
            return Err(fail("auth_key and auth_secret must not be empty".into()));
        }
        if !keys.insert(app.auth_key.clone()) {
            return Err(fail(format!("auth_key {:?} appears twice", app.auth_key)));
        }
        let mut settings = AppSettings::default();
        settings.apply(&app.settings).map_err(|e| {
            let fields: Vec<String> = e
                .errors
                .iter()
                .map(|(field, why)| format!("{field} {}", why.join(", ")))
                .collect();
            fail(format!("settings: {}", fields.join("; ")))
        })?;
        if let Value::Object(map) = settings.to_json(None) {
            app.settings = map;
        }
        out.apps.push(app);
    }
    Ok(())
}

fn check_users(
    dir: &Path,
    users: Vec<(usize, UserRecord)>,
    out: &mut Snapshot,
) -> Result<(), ImportError> {
    let apps: HashSet<i64> = out.apps.iter().map(|a| a.id).collect();
    let mut ids = HashSet::new();
    // (application, field, value) → the user holding it.
    let mut taken: HashMap<(i64, &'static str, String), i64> = HashMap::new();
    for (line, user) in users {
        let fail =
            |problem: String| ImportError::new(dir, format!("{USERS} line {line}: {problem}"));
        if user.id < 1 || !ids.insert(user.id) {
            return Err(fail(format!("user id {} is not new and positive", user.id)));
        }
        if !apps.contains(&user.app_id) {
            return Err(fail(format!("application {} does not exist", user.app_id)));
        }
        if user.login.as_deref() == Some("") || user.email.as_deref() == Some("") {
            return Err(fail("login and email must not be empty".into()));
        }
        if let Some(hash) = &user.password_hash
            && crate::crypto::StoredHash::parse(hash).is_none()
        {
            return Err(fail(
                "password_hash is not an argon2id hash of this emulator (or it asks for more \
                 memory or passes than the emulator's costs allow)"
                    .into(),
            ));
        }
        if user.tags.iter().any(|t| t.is_empty() || t.contains(',')) {
            return Err(fail("a tag is empty or holds a comma".into()));
        }
        let unique = [
            ("login", user.login.clone()),
            ("email", user.email.as_deref().map(email_key)),
            ("external_id", user.external_id.clone()),
            ("facebook_id", user.facebook_id.clone()),
            ("twitter_id", user.twitter_id.clone()),
        ];
        for (field, value) in unique {
            let Some(value) = value else { continue };
            if let Some(holder) = taken.insert((user.app_id, field, value.clone()), user.id) {
                return Err(fail(format!(
                    "{field} {value:?} of user {} is already held by user {holder} of \
                     application {}",
                    user.id, user.app_id
                )));
            }
        }
        out.users.push(user);
    }
    Ok(())
}

/// `argon2id$m=..,t=..,p=1$salt$hash`, as `crypto::Passwords` writes.
fn check_links(
    dir: &Path,
    links: Vec<(usize, LinkRecord)>,
    out: &mut Snapshot,
) -> Result<(), ImportError> {
    let owners: HashMap<i64, i64> = out.users.iter().map(|u| (u.id, u.app_id)).collect();
    let mut seen = HashSet::new();
    for (line, link) in links {
        let fail =
            |problem: String| ImportError::new(dir, format!("{LINKS} line {line}: {problem}"));
        if !PROVIDERS.contains(&link.provider.as_str()) {
            return Err(fail(format!(
                "provider {:?} is not one of {}",
                link.provider,
                PROVIDERS.join(", ")
            )));
        }
        if link.uid.is_empty() {
            return Err(fail("uid must not be empty".into()));
        }
        if owners.get(&link.user_id) != Some(&link.app_id) {
            return Err(fail(format!(
                "user {} of application {} does not exist",
                link.user_id, link.app_id
            )));
        }
        if !seen.insert((link.app_id, link.provider.clone(), link.uid.clone())) {
            return Err(fail(format!(
                "{} identity {:?} is linked twice",
                link.provider, link.uid
            )));
        }
        out.links.push(link);
    }
    Ok(())
}

fn check_files(
    dir: &Path,
    files: Vec<(usize, FileRecord)>,
    out: &mut Snapshot,
) -> Result<(), ImportError> {
    let apps: HashSet<i64> = out.apps.iter().map(|a| a.id).collect();
    let mut ids = HashSet::new();
    let mut uids = HashSet::new();
    for (line, file) in files {
        let fail = |problem: String| {
            ImportError::new(dir, format!("{FILE_RECORDS} line {line}: {problem}"))
        };
        // The uid names the file on disk: hex digits only, so no path.
        if !is_uid(&file.uid) {
            return Err(fail(format!(
                "uid {:?} is not a file name (1 to 64 hex digits)",
                file.uid
            )));
        }
        if file.id < 1 || !ids.insert(file.id) || !uids.insert(file.uid.clone()) {
            return Err(fail(format!(
                "file {} ({}) appears twice or has no positive id",
                file.id, file.uid
            )));
        }
        if !apps.contains(&file.app_id) {
            return Err(fail(format!("application {} does not exist", file.app_id)));
        }
        if let Some(bytes) = file.bytes {
            let path = dir.join(FILES_DIR).join(&file.uid);
            let name = format!("{FILES_DIR}/{}", file.uid);
            let meta =
                std::fs::symlink_metadata(&path).map_err(|e| fail(format!("{name}: {e}")))?;
            if !meta.is_file() {
                return Err(fail(format!("{name} is not a regular file")));
            }
            if bytes > MAX_FILE {
                return Err(fail(format!(
                    "{name} has {bytes} bytes; a file holds at most {MAX_FILE}"
                )));
            }
            if meta.len() != bytes {
                return Err(fail(format!(
                    "{name} has {} bytes where the record says {bytes}",
                    meta.len()
                )));
            }
        }
        out.files.push(file);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A data set with one application and the given file records.
    fn data_set(dir: &Path, manifest_padding: usize, files: &[Value]) {
        std::fs::create_dir_all(dir.join(FILES_DIR)).unwrap();
        let app = json!({"id": 1, "auth_key": "k", "auth_secret": "s", "settings": {}});
        std::fs::write(dir.join(APPLICATIONS), format!("{app}\n")).unwrap();
        std::fs::write(dir.join(USERS), "").unwrap();
        std::fs::write(dir.join(LINKS), "").unwrap();
        let lines: String = files.iter().map(|f| format!("{f}\n")).collect();
        std::fs::write(dir.join(FILE_RECORDS), lines).unwrap();
        let manifest = json!({
            "format": FORMAT, "version": VERSION, "exported_at": "x",
            "clock_offset_seconds": 0,
            "counts": {"applications": 1, "users": 0, "provider_links": 0, "files": files.len()},
        })
        .to_string();
        // Whitespace after the object pads it to the size asked for.
        let padded = manifest + &" ".repeat(manifest_padding);
        std::fs::write(dir.join(MANIFEST), padded).unwrap();
    }

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("cube-emulator-read-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn manifest_len(dir: &Path) -> u64 {
        std::fs::metadata(dir.join(MANIFEST)).unwrap().len()
    }

    #[test]
    fn a_manifest_at_its_limit_is_read_and_one_byte_more_is_refused() {
        let dir = scratch("manifest");
        data_set(&dir, 0, &[]);
        let room = usize::try_from(MANIFEST_MAX_BYTES - manifest_len(&dir)).unwrap();
        data_set(&dir, room, &[]);
        assert_eq!(manifest_len(&dir), MANIFEST_MAX_BYTES);
        assert!(read(&dir).is_ok());
        data_set(&dir, room + 1, &[]);
        let err = read(&dir).err().unwrap().to_string();
        assert!(
            err.contains("manifest.json: larger than 65536 bytes"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn file(uid: &str, bytes: u64) -> Value {
        json!({"id": 1, "app_id": 1, "uid": uid, "owner_id": 1, "content_type": "x",
               "name": "n", "public": false, "created_at": 0, "updated_at": 0, "bytes": bytes})
    }

    #[test]
    fn file_names_and_sizes_at_their_limits() {
        let dir = scratch("files");
        let longest = "a".repeat(64);
        data_set(&dir, 0, &[file(&longest, 0)]);
        std::fs::write(dir.join(FILES_DIR).join(&longest), b"").unwrap();
        assert!(read(&dir).is_ok());
        let too_long = "a".repeat(65);
        data_set(&dir, 0, &[file(&too_long, 0)]);
        let err = read(&dir).err().unwrap().to_string();
        assert!(err.contains("is not a file name"), "{err}");

        // A sparse file of the largest size is accepted; one byte more is not.
        let uid = "b".repeat(8);
        let path = dir.join(FILES_DIR).join(&uid);
        data_set(&dir, 0, &[file(&uid, MAX_FILE)]);
        std::fs::File::create(&path)
            .unwrap()
            .set_len(MAX_FILE)
            .unwrap();
        assert!(read(&dir).is_ok());
        data_set(&dir, 0, &[file(&uid, MAX_FILE + 1)]);
        std::fs::File::create(&path)
            .unwrap()
            .set_len(MAX_FILE + 1)
            .unwrap();
        let err = read(&dir).err().unwrap().to_string();
        assert!(err.contains("a file holds at most"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
