//! A session that outlives the process, with the blocking client: the first
//! launch signs in and saves the session; the next resumes it and reads the
//! signed-in user before any session request — no sign-in. Every change of
//! the session (a restore, a sign-out) is saved by the change listener.
//!
//! The snapshot file is `CUBE_SESSION_FILE` (default: `cube-session.json` in
//! the system's temporary directory). It holds the session token, so it is
//! written readable by its owner only. Run it twice against a server that
//! stays up (the four CUBE_* variables) to see the second launch resume.
//! Against the in-process emulator, which lives as long as the process, it
//! runs both launches itself.
//!
//! `--expire` (in-process emulator only) then moves the emulator's clock past
//! the session's deadline: the restore callback signs the user in again and
//! the listener saves the new snapshot.

use cube_blocking::{Client, Credentials, NewUser, ProtoError, SessionEvent, SessionSnapshot};
use cube_examples::{Target, step};
use std::error::Error;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};

/// The demo user; an app would keep these in the platform's keychain.
const LOGIN: &str = "persist_demo";
const PASSWORD: &str = "persist-demo-password";

/// What one launch of the app shares with its callbacks.
struct App {
    file: PathBuf,
    /// Seconds the emulator's clock was moved ahead: the client follows it,
    /// so that expiry and signatures agree.
    clock_offset: Arc<AtomicI64>,
    restores: Arc<AtomicUsize>,
    changes: Arc<AtomicUsize>,
}

fn main() -> Result<(), Box<dyn Error>> {
    let expire = std::env::args().skip(1).any(|a| a == "--expire");
    let target = Target::from_env()?;
    if expire && target.emulator.is_none() {
        return Err("--expire moves the in-process emulator's clock: unset CUBE_API_URL".into());
    }
    let file = std::env::var_os("CUBE_SESSION_FILE")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("cube-session.json"));
    let app = App {
        file,
        clock_offset: Arc::new(AtomicI64::new(0)),
        restores: Arc::new(AtomicUsize::new(0)),
        changes: Arc::new(AtomicUsize::new(0)),
    };

    let client = launch(&target, &app, 1)?;
    if target.emulator.is_some() {
        // The in-process emulator ends with this process: launch again now,
        // as the app would after a restart, from the saved file.
        drop(client);
        let client = launch(&target, &app, 2)?;
        if expire {
            show_expiry(&target, &app, &client)?;
        }
    }
    println!("session_persist finished");
    Ok(())
}

/// One launch of the app: resume the saved session, or sign in and save one.
fn launch(target: &Target, app: &App, n: u32) -> Result<Client, Box<dyn Error>> {
    let saved = read_snapshot(&app.file)?;
    let builder = builder(target, app);
    let Some(snapshot) = saved else {
        step(
            n,
            &format!("no saved session at {}: sign in", app.file.display()),
        );
        return sign_in(builder.build()?);
    };
    let (session_id, user) = (snapshot.session_id(), snapshot.user_id());
    let client = match builder.resume_session(snapshot).build() {
        Ok(client) => client,
        Err(e) if matches!(e.proto(), Some(ProtoError::ForeignSnapshot(_))) => {
            step(
                n,
                &format!("the saved session is not this server's ({e}): sign in"),
            );
            return sign_in(self::builder(target, app).build()?);
        }
        Err(e) => return Err(e.into()),
    };
    step(
        n,
        &format!("resumed the saved session from {}", app.file.display()),
    );
    let user = user.ok_or("the saved session has no user")?;
    let changes_before = app.changes.load(Ordering::SeqCst);
    let me = client.get_user(user)?.ok_or("the signed-in user is gone")?;
    let restored = app.changes.load(Ordering::SeqCst) != changes_before;
    if restored {
        println!(
            "    the saved session had expired: the restore callback signed {} in again",
            me.login.as_deref().unwrap_or("the user")
        );
    } else {
        println!(
            "    read user {} ({}) before any session request: no sign-in, still session {}",
            me.id,
            me.login.as_deref().unwrap_or("?"),
            session_id.map_or("?".into(), |id| id.to_string())
        );
    }
    Ok(client)
}

fn builder(target: &Target, app: &App) -> cube_blocking::ClientBuilder {
    let offset = app.clock_offset.clone();
    let (restores, changes, file) = (app.restores.clone(), app.changes.clone(), app.file.clone());
    target
        .blocking()
        .clock(move || {
            time::OffsetDateTime::now_utc() + time::Duration::seconds(offset.load(Ordering::SeqCst))
        })
        .restore(move || {
            restores.fetch_add(1, Ordering::SeqCst);
            Some(Credentials::login(LOGIN, PASSWORD))
        })
        .on_session_change(move |event: &SessionEvent| {
            changes.fetch_add(1, Ordering::SeqCst);
            let saved = match &event.snapshot {
                Some(snapshot) => write_snapshot(&file, snapshot),
                None => remove_snapshot(&file),
            };
            match saved {
                Ok(()) => println!(
                    "    listener: {:?}; saved to {}",
                    event.change,
                    file.display()
                ),
                Err(e) => eprintln!("    listener: {:?}; could not save: {e}", event.change),
            }
        })
}

fn sign_in(client: Client) -> Result<Client, Box<dyn Error>> {
    // The demo user may exist already (a second run against the same
    // server): its login is then taken, 422.
    match client.sign_up(NewUser::with_login(LOGIN, PASSWORD)) {
        Ok(_) => {}
        Err(e) if e.status().map(|s| s.as_u16()) == Some(422) => {}
        Err(e) => return Err(e.into()),
    }
    let info = client.create_session(Credentials::login(LOGIN, PASSWORD))?;
    println!(
        "    signed in as user {} in session {}; the listener saved the snapshot",
        info.user_id.unwrap_or_default(),
        info.id
    );
    Ok(client)
}

/// `--expire`: the emulator's clock (and the client's with it) passes the
/// deadline; the next call restores and the listener saves the new session.
fn show_expiry(target: &Target, app: &App, client: &Client) -> Result<(), Box<dyn Error>> {
    let admin = target
        .admin()
        .ok_or("--expire needs the in-process emulator")?;
    let deadline = client.session_expires_at().ok_or("no deadline")?;
    let ahead = (deadline - client.now()).whole_seconds() + 60;
    step(
        3,
        &format!("move the emulator's clock {ahead} s ahead, past the deadline"),
    );
    admin.post("/clock/advance", serde_json::json!({ "seconds": ahead }))?;
    app.clock_offset.fetch_add(ahead, Ordering::SeqCst);
    println!("    the session is now {:?}", client.session_status());
    let restores = app.restores.load(Ordering::SeqCst);
    let user = client.current_user_id().or_else(|| {
        read_snapshot(&app.file)
            .ok()
            .flatten()
            .and_then(|s| s.user_id())
    });
    let user = user.ok_or("no user id")?;
    client.get_user(user)?.ok_or("the user is gone")?;
    let ran = app.restores.load(Ordering::SeqCst) - restores;
    let saved = read_snapshot(&app.file)?.ok_or("nothing saved")?;
    println!(
        "    the restore callback ran {ran} time(s); the saved snapshot is now session {}",
        saved.session_id().map_or("?".into(), |id| id.to_string())
    );
    if ran != 1 || saved.session_id() != client.export_session().and_then(|s| s.session_id()) {
        return Err("the restore did not run once, or its session was not saved".into());
    }
    Ok(())
}

fn read_snapshot(file: &Path) -> Result<Option<SessionSnapshot>, Box<dyn Error>> {
    match std::fs::read_to_string(file) {
        Ok(text) => Ok(Some(serde_json::from_str(&text)?)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Writes the snapshot readable by its owner only: it holds the token.
fn write_snapshot(file: &Path, snapshot: &SessionSnapshot) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut out = options.open(file)?;
    out.write_all(serde_json::to_string_pretty(snapshot)?.as_bytes())
}

fn remove_snapshot(file: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(file) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}
