//! The emulator's web UI in a real headless Chromium, next to the SDK:
//! a user signed up through the SDK appears in the UI (avatar included);
//! the full name edited in the UI is what the SDK reads; two hours added
//! to the clock in the UI make the SDK's next call restore its session,
//! and so does a session expired in the UI;
//! the reset mail the SDK asks for shows its link in the outbox view; the
//! SDK's session is in the sessions view with a live countdown, and
//! "expire" there makes the SDK's next call restore; the SDK's requests
//! appear in the requests view as they come; neither view shows a
//! secret; settings saved in the UI are the emulator's (the v1 list
//! switched off there answers 403); a fault rule set through the API is
//! listed in the faults view, one added there fails the request it
//! matches and shows in the requests view, and both are removed from the
//! page; screenshots of the views are written under `target/`.
//!
//! It runs Chromium and chromedriver (Debian: `chromium`,
//! `chromium-driver`). Without them it says so on stderr and ends as
//! SKIPPED — not ok — and with `CUBE_REQUIRE_BROWSER=1` (as `.ci/run`
//! sets) that is a failure. Its own harness: the outcome is one of ok,
//! FAILED and SKIPPED, printed like libtest's.

mod browser;

use browser::{Browser, Programs};
use cube_blocking::{Client, Credentials, NewUser};
use cube_emulator::{Emulator, EmulatorConfig};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const NAME: &str = "ui_in_chromium";
const ADMIN_TOKEN: &str = "ui-browser-admin-token";
const LOGIN: &str = "ada_lovelace";
const PASSWORD: &str = "analytical-engine";
const EMAIL: &str = "ada@example.com";
/// The whole test, browser start included, ends within this.
const BUDGET: Duration = Duration::from_secs(240);

fn main() -> ExitCode {
    if !selected() {
        println!(
            "\nrunning 0 tests\n\ntest result: ok. 0 passed; 0 failed; 0 ignored; 1 filtered out\n"
        );
        return ExitCode::SUCCESS;
    }
    println!("\nrunning 1 test");
    let required = std::env::var("CUBE_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
    let programs = match browser::find_programs() {
        Ok(programs) => programs,
        Err(missing) => {
            eprintln!(
                "\n*** {NAME}: NO BROWSER: {missing}\n\
                 *** The web UI was NOT tested. Install Debian's `chromium` and \
                 `chromium-driver`\n*** (`.ci/run` does), or set CUBE_CHROMIUM and \
                 CUBE_CHROMEDRIVER.\n"
            );
            if required {
                println!("test {NAME} ... FAILED (CUBE_REQUIRE_BROWSER=1 and no browser)");
                println!("\ntest result: FAILED. 0 passed; 1 failed; 0 ignored\n");
                return ExitCode::FAILURE;
            }
            println!("test {NAME} ... SKIPPED (no browser)");
            println!("\ntest result: SKIPPED. 0 passed; 0 failed; 1 skipped (no browser)\n");
            return ExitCode::SUCCESS;
        }
    };
    watchdog();
    let started = std::time::Instant::now();
    let outcome = std::panic::catch_unwind(|| ui_in_chromium(&programs))
        .unwrap_or_else(|panic| Err(format!("panicked: {panic:?}")));
    match outcome {
        Ok(screenshot) => {
            println!(
                "test {NAME} ... ok ({:.1} s; users view: {})",
                started.elapsed().as_secs_f64(),
                screenshot.display()
            );
            println!("\ntest result: ok. 1 passed; 0 failed; 0 ignored\n");
            ExitCode::SUCCESS
        }
        Err(why) => {
            println!("test {NAME} ... FAILED");
            eprintln!("\n---- {NAME} ----\n{why}\n");
            println!("\ntest result: FAILED. 0 passed; 1 failed; 0 ignored\n");
            ExitCode::FAILURE
        }
    }
}

/// Whether the command line's filters (as `cargo test NAME` passes them)
/// select this test; `--list` lists it.
fn selected() -> bool {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        println!("{NAME}: test");
        std::process::exit(0);
    }
    let mut filters = Vec::new();
    let mut skip_value = false;
    for arg in &args {
        if skip_value {
            skip_value = false;
        } else if [
            "--test-threads",
            "--skip",
            "--color",
            "--format",
            "--logfile",
            "-Z",
        ]
        .contains(&arg.as_str())
        {
            skip_value = true;
        } else if !arg.starts_with('-') {
            filters.push(arg.as_str());
        }
    }
    let exact = args.iter().any(|a| a == "--exact");
    filters.is_empty()
        || filters
            .iter()
            .any(|f| if exact { *f == NAME } else { NAME.contains(f) })
}

/// Past the budget the process ends as FAILED; the browser's processes
/// are in chromedriver's group or name the profile, and are killed by
/// the guard's drop on every other path.
fn watchdog() {
    std::thread::spawn(|| {
        std::thread::sleep(BUDGET);
        eprintln!("\n---- {NAME} ----\ntimed out after {} s", BUDGET.as_secs());
        println!("test {NAME} ... FAILED (timed out)");
        let profiles = std::env::temp_dir();
        if let Ok(entries) = std::fs::read_dir(&profiles) {
            let mine = format!("cube-ui-browser-{}-", std::process::id());
            for entry in entries.flatten() {
                if entry.file_name().to_string_lossy().starts_with(&mine) {
                    browser::kill_users_of(&entry.path());
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
        std::process::exit(1);
    });
}

/// Where the screenshot goes: `target/tmp/ui-browser/` of this build.
fn artifact(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ui-browser");
    let _ = std::fs::create_dir_all(&dir);
    dir.join(name)
}

fn check(condition: bool, what: impl FnOnce() -> String) -> Result<(), String> {
    if condition { Ok(()) } else { Err(what()) }
}

fn ui_in_chromium(programs: &Programs) -> Result<PathBuf, String> {
    let emulator = Emulator::start_blocking(EmulatorConfig {
        admin_token: Some(ADMIN_TOKEN.into()),
        ..EmulatorConfig::default()
    })
    .map_err(|e| format!("emulator: {e}"))?;
    let base = emulator.base_url().to_owned();

    // The SDK side: a user with an avatar, signed in, who restores their
    // session when the server says it is gone.
    let restores = Arc::new(AtomicUsize::new(0));
    let counter = restores.clone();
    let client = Client::builder(
        u64::try_from(emulator.app_id()).map_err(|e| e.to_string())?,
        emulator.auth_key(),
    )
    .base_url(&base)
    .restore(move || {
        counter.fetch_add(1, Ordering::SeqCst);
        Some(Credentials::login(LOGIN, PASSWORD))
    })
    .build()
    .map_err(|e| format!("client: {e}"))?;
    let sdk = |e: cube_blocking::Error| format!("SDK: {e}");
    client
        .sign_up(
            NewUser::with_login(LOGIN, PASSWORD)
                .email(EMAIL)
                .full_name("Ada Before")
                .tags(["pioneer"]),
        )
        .map_err(sdk)?;
    let session = client
        .create_session(Credentials::login(LOGIN, PASSWORD))
        .map_err(sdk)?;
    let me = client.current_user_id().ok_or("no user after sign-in")?;
    let avatar = png(40, 40);
    client
        .set_avatar("image/png", "ada.png", avatar)
        .map_err(sdk)?;
    // Someone else, so the list is a list.
    let other = Client::builder(
        u64::try_from(emulator.app_id()).unwrap_or(1),
        emulator.auth_key(),
    )
    .base_url(&base)
    .build()
    .map_err(|e| format!("client: {e}"))?;
    other
        .sign_up(
            NewUser::with_login("charles_babbage", "difference-engine")
                .full_name("Charles Babbage"),
        )
        .map_err(sdk)?;

    let browser = Browser::start(programs, 1280, 860)?;
    let ui = format!("{base}/_emulator/ui/#/users");
    browser.goto(&ui)?;

    // With an admin token, the page asks for it once.
    browser.wait_for(
        "the admin token prompt",
        "return !document.querySelector('#view-token').hidden;",
        json!([]),
    )?;
    browser.type_into("#token-input", ADMIN_TOKEN)?;
    browser.click("#token-submit")?;

    // 1. The SDK's user is in the users view, avatar shown as an image.
    let rows = browser.wait_for(
        "both users in the users view",
        "const rows = [...document.querySelectorAll('#users-table tbody tr[data-user-id]')]; \
         return rows.length === 2 ? rows.map(r => r.textContent) : null;",
        json!([]),
    )?;
    let first = rows[0].as_str().unwrap_or_default();
    check(
        first.contains(LOGIN) && first.contains("Ada Before") && first.contains(EMAIL),
        || format!("the SDK's user is not shown as signed up: {rows}"),
    )?;
    let size = browser.wait_for(
        "the avatar image to load",
        "const img = document.querySelector(`#users-table tr[data-user-id='${arguments[0]}'] img.avatar`); \
         return img && img.dataset.loaded === 'true' && img.complete \
             ? [img.naturalWidth, img.naturalHeight] : null;",
        json!([me]),
    )?;
    check(size == json!([40, 40]), || {
        format!("avatar decoded as {size}")
    })?;
    no_error_shown(&browser)?;
    let path = save_screenshot(&browser, "users-view.png")?;

    // The search narrows the list.
    browser.type_into("#user-search input[name=full_name]", "BABB")?;
    browser.click("#user-search-submit")?;
    browser.wait_for(
        "the search by full name",
        "const rows = [...document.querySelectorAll('#users-table tbody tr[data-user-id]')]; \
         return rows.length === 1 && rows[0].textContent.includes('charles_babbage');",
        json!([]),
    )?;
    browser.type_into("#user-search input[name=full_name]", "")?;
    browser.type_into("#user-search input[name=tag]", "pioneer")?;
    browser.click("#user-search-submit")?;
    browser.wait_for(
        "the search by tag",
        "const rows = [...document.querySelectorAll('#users-table tbody tr[data-user-id]')]; \
         return rows.length === 1 && rows[0].dataset.userId === String(arguments[0]);",
        json!([me]),
    )?;

    // 2. The full name edited in the UI is what the SDK reads.
    browser.click(&format!("#users-table tr[data-user-id='{me}']"))?;
    browser.wait_for(
        "the user's page",
        "const input = document.querySelector('#user-full_name'); \
         return !document.querySelector('#view-user').hidden && input && input.value === 'Ada Before';",
        json!([]),
    )?;
    // Their live session is listed, with its kind.
    browser.wait_for(
        "the SDK's session in the user's sessions",
        "const row = document.querySelector(`#sessions-table tr[data-session-id='${arguments[0]}']`); \
         return row && row.textContent.includes('user');",
        json!([session.id]),
    )?;
    browser.type_into("#user-full_name", "Ada, Countess of Lovelace")?;
    browser.click("#user-save")?;
    browser.wait_for(
        "the profile to be saved",
        "const s = document.querySelector('#status'); \
         return !s.hidden && s.className === 'ok' && s.textContent.includes('Saved user');",
        json!([]),
    )?;
    save_screenshot(&browser, "user-view.png")?;
    let seen = client
        .get_user(me)
        .map_err(sdk)?
        .ok_or("the SDK no longer finds the user")?;
    check(
        seen.full_name.as_deref() == Some("Ada, Countess of Lovelace"),
        || format!("the SDK reads full name {:?}", seen.full_name),
    )?;
    check(restores.load(Ordering::SeqCst) == 0, || {
        "the SDK restored before the clock moved".to_owned()
    })?;

    // 3. Two hours on the UI's clock: the SDK's next call restores.
    browser.click("#nav a[data-view=clock]")?;
    browser.wait_for(
        "the clock view",
        "return !document.querySelector('#view-clock').hidden \
             && document.querySelector('#clock-now').textContent.endsWith('Z');",
        json!([]),
    )?;
    browser.click("button[data-advance='7200']")?;
    browser.wait_for(
        "the clock to move two hours",
        "const s = document.querySelector('#status'); \
         return !s.hidden && s.className === 'ok' && s.textContent.includes('Clock moved by 2 h') \
             && document.querySelector('#clock-offset').textContent.startsWith('2 h');",
        json!([]),
    )?;
    let before = client.session_token().map(|t| t.expose().to_owned());
    let again = client
        .get_user(me)
        .map_err(sdk)?
        .ok_or("the user is gone after the clock moved")?;
    check(again.id == me, || "another user came back".to_owned())?;
    check(restores.load(Ordering::SeqCst) == 1, || {
        format!(
            "expected one restore after two hours, saw {}",
            restores.load(Ordering::SeqCst)
        )
    })?;
    let after = client.session_token().map(|t| t.expose().to_owned());
    check(after.is_some() && after != before, || {
        "the session token did not change with the restore".to_owned()
    })?;

    // A session expired in the UI is restored by the SDK's next call too.
    let current = client.session_info().map_err(sdk)?.id;
    browser.goto(&format!("{base}/_emulator/ui/#/users/{me}"))?;
    browser.wait_for(
        "the restored session in the user's sessions",
        "return document.querySelector(`#sessions-table tr[data-session-id='${arguments[0]}']`) !== null;",
        json!([current]),
    )?;
    browser.click(&format!(
        "#sessions-table tr[data-session-id='{current}'] button"
    ))?;
    browser.wait_for(
        "the session to be expired",
        "const s = document.querySelector('#status'); \
         return !s.hidden && s.className === 'ok' && s.textContent === `Session ${arguments[0]} expired.` \
             && document.querySelector(`#sessions-table tr[data-session-id='${arguments[0]}']`) === null;",
        json!([current]),
    )?;
    client.get_user(me).map_err(sdk)?;
    check(restores.load(Ordering::SeqCst) == 2, || {
        format!(
            "expected a second restore after the UI expired the session, saw {}",
            restores.load(Ordering::SeqCst)
        )
    })?;

    // 4. The reset mail's link is in the outbox view.
    client.reset_password(EMAIL).map_err(sdk)?;
    let outbox = admin_get(&base, "/_emulator/outbox")?;
    let link = outbox["items"][0]["link"]
        .as_str()
        .ok_or_else(|| format!("no mail in the outbox: {outbox}"))?
        .to_owned();
    check(
        link.starts_with(&format!("{base}/users/password/reset/")),
        || format!("unexpected reset link {link}"),
    )?;
    browser.click("#nav a[data-view=outbox]")?;
    browser.wait_for(
        "the reset link in the outbox view",
        "const a = document.querySelector('#outbox-table a.reset-link'); \
         return a && a.getAttribute('href') === arguments[0] && a.textContent === arguments[0] \
             && a.closest('tr').textContent.includes(arguments[1]);",
        json!([link, EMAIL]),
    )?;

    save_screenshot(&browser, "outbox-view.png")?;

    // The token was kept for the tab: a reload does not ask again.
    browser.reload()?;
    browser.wait_for(
        "the outbox view after a reload, without the token prompt",
        "return document.querySelector('#view-token').hidden \
             && !document.querySelector('#view-outbox').hidden \
             && document.querySelector('#outbox-table a.reset-link') !== null;",
        json!([]),
    )?;

    // 5. The sessions and requests views.
    sessions_and_requests(&browser, &base, &client, me, &restores, &link)?;

    // An application setting changed in the UI is the emulator's. The v1
    // list is shown on (the emulator's default) and switched off here.
    // (An application session made first: unsigned, before the UI
    // requires signatures.)
    let app_token = application_session(&base, emulator.auth_key())?;
    check(v1_list(&base, &app_token)?.0 == 200, || {
        "the v1 list does not answer before it is switched off".to_owned()
    })?;
    browser.click("#nav a[data-view=apps]")?;
    browser.wait_for(
        "the settings of application 1",
        "const box = document.querySelector('#setting-require_signature'); \
         const v1 = document.querySelector('#setting-list_users_v1'); \
         return !document.querySelector('#view-apps').hidden && box && box.checked === false \
             && v1 && v1.checked === true;",
        json!([]),
    )?;
    browser.click("#setting-require_signature")?;
    browser.type_into("#setting-signature_window_seconds", "600")?;
    browser.click("#setting-list_users_v1")?;
    browser.click("#settings-save")?;
    browser.wait_for(
        "the settings to be saved",
        "const s = document.querySelector('#status'); \
         return !s.hidden && s.className === 'ok' && s.textContent.startsWith('Saved');",
        json!([]),
    )?;
    let settings = admin_get(&base, "/_emulator/apps/1/settings")?;
    check(
        settings["settings"]["require_signature"] == json!(true)
            && settings["settings"]["signature_window_seconds"] == json!(600)
            && settings["settings"]["list_users_v1"] == json!(false),
        || format!("the settings were not saved: {settings}"),
    )?;
    let (status, body) = v1_list(&base, &app_token)?;
    check(
        status == 403
            && body == r#"{"errors":{"base":["Forbidden. List users API v1 is disabled"]}}"#,
        || format!("the v1 list switched off answered {status} {body}"),
    )?;
    save_screenshot(&browser, "settings-view.png")?;

    // 6. Fault rules: one set through the API is listed, one added in the
    // UI fails a request as it says, the requests view shows what was done.
    faults_view(&browser, &base, me)?;

    // Wiping asks for confirmation, then the users are gone.
    browser.click("#nav a[data-view=data]")?;
    browser.click("#wipe-start")?;
    let disabled = browser.run(
        "return document.querySelector('#wipe-confirm-button').disabled;",
        json!([]),
    )?;
    check(disabled == json!(true), || {
        "wiping is possible without typing WIPE".to_owned()
    })?;
    browser.type_into("#wipe-text", "WIPE")?;
    browser.click("#wipe-confirm-button")?;
    browser.wait_for(
        "the wipe",
        "const s = document.querySelector('#status'); \
         return !s.hidden && s.className === 'ok' && s.textContent.includes('gone');",
        json!([]),
    )?;
    let left = admin_get(&base, "/_emulator/apps/1/users")?;
    check(left["total_entries"] == json!(0), || {
        format!("users left after the wipe: {left}")
    })?;
    no_error_shown(&browser)?;
    drop(browser);
    Ok(path)
}

/// The SDK's session in `#/sessions` with its countdown; "expire" there
/// makes the SDK's next call restore; its requests in `#/requests` as they
/// come; no secret in either view.
fn sessions_and_requests(
    browser: &Browser,
    base: &str,
    client: &Client,
    me: u64,
    restores: &AtomicUsize,
    reset_link: &str,
) -> Result<(), String> {
    let sdk = |e: cube_blocking::Error| format!("SDK: {e}");
    let session = client.session_info().map_err(sdk)?.id;
    let token = client
        .session_token()
        .map(|t| t.expose().to_owned())
        .ok_or("the SDK has no token")?;
    let listed = admin_get(base, "/_emulator/sessions?app_id=1")?;
    let fingerprint = listed["items"]
        .as_array()
        .and_then(|items| items.iter().find(|s| s["id"] == json!(session)))
        .and_then(|s| s["fingerprint"].as_str())
        .ok_or_else(|| format!("session {session} is not listed: {listed}"))?
        .to_owned();
    let reset_token = reset_link.rsplit('/').next().unwrap_or_default();

    // Secrets sent where a careless client might put them: the token in
    // a file URL's query, a reset link opened.
    let user = admin_get(base, &format!("/_emulator/apps/1/users/{me}"))?;
    let avatar = user["user"]["avatar"]
        .as_str()
        .ok_or("no avatar")?
        .to_owned();
    let status = |url: &str| {
        ureq::get(url)
            .config()
            .http_status_as_error(false)
            .build()
            .call()
            .map(|r| r.status().as_u16())
            .map_err(|e| format!("{url}: {e}"))
    };
    check(
        status(&format!("{base}/blobs/{avatar}?token={token}"))? == 200,
        || "the avatar is not readable with ?token=".to_owned(),
    )?;
    check(status(reset_link)? == 200, || {
        "the reset link does not open".to_owned()
    })?;

    // The session, with a countdown that runs.
    browser.click("#nav a[data-view=sessions]")?;
    let row = format!("#all-sessions-table tr[data-session-id='{session}']");
    let first = browser.wait_for(
        "the SDK's session in the sessions view, counting down from two hours",
        "const row = document.querySelector(arguments[0]); \
         const left = row && row.querySelector('td.countdown').textContent; \
         return left && /^(1:59:[0-5][0-9]|2:00:00)$/.test(left) \
             && row.textContent.includes(arguments[1]) && row.textContent.includes('user') \
             ? left : null;",
        json!([row, fingerprint]),
    )?;
    browser.wait_for(
        "the countdown to move",
        "const cell = document.querySelector(arguments[0] + ' td.countdown'); \
         return cell && cell.textContent !== arguments[1];",
        json!([row, first]),
    )?;
    save_screenshot(browser, "sessions-view.png")?;
    no_secret_in(browser, "#view-sessions", &[&token, reset_token])?;

    // "Expire": the SDK's next call restores.
    let before = restores.load(Ordering::SeqCst);
    browser.click(&format!("{row} button"))?;
    browser.wait_for(
        "the session to be expired from the sessions view",
        "const s = document.querySelector('#status'); \
         return !s.hidden && s.className === 'ok' \
             && s.textContent === `Session ${arguments[0]} expired.` \
             && document.querySelector(arguments[1]) === null;",
        json!([session, row]),
    )?;
    client.get_user(me).map_err(sdk)?;
    check(restores.load(Ordering::SeqCst) == before + 1, || {
        format!(
            "expected a restore after the sessions view expired the session, saw {} then {}",
            before,
            restores.load(Ordering::SeqCst)
        )
    })?;
    let restored = client
        .session_token()
        .map(|t| t.expose().to_owned())
        .ok_or("no token after the restore")?;

    // The requests, newest first: the call refused with the expired
    // session's token (no user any more), the restore's new session, and
    // the same call again with it.
    browser.click("#nav a[data-view=requests]")?;
    browser
        .wait_for(
            "the refused call, the restore and the call again in the requests view",
            "const rows = [...document.querySelectorAll('#requests-table tbody tr')] \
                 .map(r => [...r.cells].map(c => c.textContent)); \
             const me = String(arguments[0]); \
             const refused = rows.findIndex(c => c[2] === 'GET' && c[4] === '401' \
                 && c[8] === arguments[1] && c[7] === '—'); \
             if (refused < 0) return false; \
             const created = rows.findIndex(c => c[2] === 'POST' && c[3] === '/session' \
                 && c[4] === '201' && c[7] === me && c[8] !== arguments[1]); \
             if (created < 0) return false; \
             const again = rows.findIndex(c => c[2] === 'GET' && c[3] === rows[refused][3] \
                 && c[4] === '200' && c[7] === me && c[8] === rows[created][8]); \
             return again >= 0 && again < created && created < refused;",
            json!([me, fingerprint]),
        )
        .map_err(|e| {
            let rows = browser
                .run(
                    "return [...document.querySelectorAll('#requests-table tbody tr')] \
                         .slice(0, 12).map(r => [...r.cells].map(c => c.textContent).join(' | '));",
                    json!([]),
                )
                .unwrap_or_default();
            format!("{e}; the newest rows: {rows}")
        })?;
    // Followed live: a new call shows up without a click.
    let shown = browser.run(
        "return document.querySelectorAll('#requests-table tbody tr').length;",
        json!([]),
    )?;
    client.get_user(me).map_err(sdk)?;
    browser.wait_for(
        "a new request to appear by itself",
        "return document.querySelectorAll('#requests-table tbody tr').length > arguments[0];",
        json!([shown]),
    )?;
    browser.wait_for(
        "the redacted token and reset link in the requests view",
        "const text = document.querySelector('#requests-table').textContent; \
         return text.includes('?token=[redacted]') \
             && text.includes('/users/password/reset/[redacted]');",
        json!([]),
    )?;
    save_screenshot(browser, "requests-view.png")?;
    for view in ["#view-requests", "#view-sessions"] {
        no_secret_in(browser, view, &[&token, &restored, reset_token])?;
    }
    no_error_shown(browser)
}

/// A rule set through the API shows in `#/faults`; one typed there is the
/// emulator's (a bad one is refused at the field); a request it matches
/// gets its answer and shows in `#/requests` with the rule's effect; the
/// rules are removed from the page, one and then all.
fn faults_view(browser: &Browser, base: &str, me: u64) -> Result<(), String> {
    let set = admin_post(
        base,
        "/_emulator/faults",
        &json!({"text": "PUT /users/* latency=2s"}),
    )?;
    let api_rule = set["fault"]["id"]
        .as_u64()
        .ok_or("no id of the API's rule")?;
    browser.click("#nav a[data-view=faults]")?;
    browser.wait_for(
        "the API's rule in the faults view",
        "const row = document.querySelector(`#faults-table tr[data-fault-id='${arguments[0]}']`); \
         return row && row.textContent.includes('PUT /users/* latency=2000ms') \
             && row.textContent.includes('active');",
        json!([api_rule]),
    )?;
    // A bad rule is refused, with the reason at the field.
    browser.type_into("#fault-text", "GET /users/* status=700")?;
    browser.click("#fault-add")?;
    browser.wait_for(
        "the refused rule's reason",
        "const e = document.querySelector('#fault-error'); \
         return !e.hidden && e.textContent.includes('status must be a number from 200 to 599');",
        json!([]),
    )?;
    browser.type_into(
        "#fault-text",
        "GET /users/* status=503 header=Retry-After:1 body=\"down on purpose\"",
    )?;
    browser.click("#fault-add")?;
    browser.wait_for(
        "the rule added in the UI",
        "const s = document.querySelector('#status'); \
         return !s.hidden && s.className === 'ok' && s.textContent.startsWith('Added fault rule') \
             && document.querySelector('#fault-error').hidden \
             && document.querySelectorAll('#faults-table tr[data-fault-id]').length === 2;",
        json!([]),
    )?;
    let listed = admin_get(base, "/_emulator/faults")?;
    let ui_rule = listed["items"][1]["id"]
        .as_u64()
        .ok_or("no id of the UI's rule")?;
    check(
        listed["items"][1]["text"]
            == json!(r#"GET /users/* status=503 header=retry-after:1 body="down on purpose""#),
        || format!("the UI's rule is not the emulator's: {listed}"),
    )?;

    // A request it matches gets its answer, once.
    let get = |path: &str| {
        ureq::get(&format!("{base}{path}"))
            .config()
            .http_status_as_error(false)
            .build()
            .call()
            .map_err(|e| format!("{path}: {e}"))
    };
    let mut answer = get(&format!("/users/{me}"))?;
    let body = answer
        .body_mut()
        .read_to_string()
        .map_err(|e| e.to_string())?;
    check(
        answer.status() == 503
            && answer
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                == Some("1")
            && body == "down on purpose",
        || format!("the faulted answer: {} {body}", answer.status()),
    )?;
    let again = get(&format!("/users/{me}"))?.status();
    check(again == 401, || format!("the rule fired twice ({again})"))?;
    browser.click("#faults-refresh")?;
    browser.wait_for(
        "the UI's rule fired once, spent",
        "const row = document.querySelector(`#faults-table tr[data-fault-id='${arguments[0]}']`); \
         return row && row.querySelector('td.matched').textContent === '2' \
             && row.querySelector('td.fired').textContent === '1' \
             && row.textContent.includes('spent');",
        json!([ui_rule]),
    )?;
    save_screenshot(browser, "faults-view.png")?;

    // The requests view says what the rule did.
    browser.click("#nav a[data-view=requests]")?;
    browser.wait_for(
        "the faulted request in the requests view",
        "return [...document.querySelectorAll('#requests-table tbody tr')] \
             .map(r => [...r.cells].map(c => c.textContent)) \
             .some(c => c[2] === 'GET' && c[4] === '503' && c[9] === `#${arguments[0]} status=503`);",
        json!([ui_rule]),
    )?;

    // Removed from the page: one, then every one.
    browser.click("#nav a[data-view=faults]")?;
    browser.click(&format!(
        "#faults-table tr[data-fault-id='{api_rule}'] button"
    ))?;
    browser.wait_for(
        "the API's rule removed",
        "return document.querySelector(`#faults-table tr[data-fault-id='${arguments[0]}']`) === null \
             && document.querySelectorAll('#faults-table tr[data-fault-id]').length === 1;",
        json!([api_rule]),
    )?;
    browser.click("#faults-clear")?;
    browser.wait_for(
        "every rule removed",
        "const s = document.querySelector('#status'); \
         return s.textContent.startsWith('Removed 1 fault rule') \
             && document.querySelectorAll('#faults-table tr[data-fault-id]').length === 0;",
        json!([]),
    )?;
    let left = admin_get(base, "/_emulator/faults")?;
    check(left["items"] == json!([]), || {
        format!("rules left after removing every one: {left}")
    })?;
    no_error_shown(browser)
}

/// Neither the view's text nor the whole page's shows a secret: the given
/// ones, the password, the auth secret; nor (in the view) the auth key.
fn no_secret_in(browser: &Browser, view: &str, secrets: &[&str]) -> Result<(), String> {
    let text = browser.run(
        "return [document.querySelector(arguments[0]).innerText, document.body.innerText];",
        json!([view]),
    )?;
    let (view_text, page_text) = (
        text[0].as_str().unwrap_or_default(),
        text[1].as_str().unwrap_or_default(),
    );
    let mut all: Vec<&str> = secrets.to_vec();
    all.extend([PASSWORD, cube_emulator::DEFAULT_AUTH_SECRET]);
    for secret in all.iter().filter(|s| s.len() >= 8) {
        check(!page_text.contains(secret), || {
            format!(
                "the page shows a secret ({} characters) with {view}",
                secret.len()
            )
        })?;
    }
    check(!view_text.contains(cube_emulator::DEFAULT_AUTH_KEY), || {
        format!("{view} shows the auth key")
    })
}

/// Saves a screenshot of the page as it is now under `target/`.
fn save_screenshot(browser: &Browser, name: &str) -> Result<PathBuf, String> {
    let png = browser.screenshot()?;
    check(png.starts_with(b"\x89PNG\r\n\x1a\n"), || {
        format!("{name}: the screenshot is not a PNG")
    })?;
    let path = artifact(name);
    std::fs::write(&path, &png).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

/// The status line shows no error (a failed call or a blocked resource).
fn no_error_shown(browser: &Browser) -> Result<(), String> {
    let status = browser.run(
        "const s = document.querySelector('#status'); \
         return s.className === 'error' ? s.textContent : null;",
        json!([]),
    )?;
    check(status.is_null(), || {
        format!("the page shows an error: {status}")
    })
}

/// An admin call, as a script would make it.
fn admin_get(base: &str, path: &str) -> Result<Value, String> {
    ureq::get(&format!("{base}{path}"))
        .header("Authorization", &format!("Bearer {ADMIN_TOKEN}"))
        .call()
        .map_err(|e| format!("{path}: {e}"))?
        .body_mut()
        .read_json()
        .map_err(|e| format!("{path}: {e}"))
}

/// A new application session's token, as a script would make it.
fn application_session(base: &str, auth_key: &str) -> Result<String, String> {
    let session: Value = ureq::post(&format!("{base}/session"))
        .send_json(json!({"application_id": 1, "auth_key": auth_key}))
        .map_err(|e| format!("POST /session: {e}"))?
        .body_mut()
        .read_json()
        .map_err(|e| format!("POST /session: {e}"))?;
    session["session"]["token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("no session: {session}"))
}

/// What `GET /users` (the v1 list) answers `token`: status and body.
fn v1_list(base: &str, token: &str) -> Result<(u16, String), String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    let mut answer = agent
        .get(&format!("{base}/users"))
        .header("CB-Token", token)
        .call()
        .map_err(|e| format!("GET /users: {e}"))?;
    let status = answer.status().as_u16();
    let body = answer
        .body_mut()
        .read_to_string()
        .map_err(|e| format!("GET /users: {e}"))?;
    Ok((status, body))
}

/// An admin call with a JSON body, as a script would make it.
fn admin_post(base: &str, path: &str, body: &Value) -> Result<Value, String> {
    ureq::post(&format!("{base}{path}"))
        .header("Authorization", &format!("Bearer {ADMIN_TOKEN}"))
        .send_json(body)
        .map_err(|e| format!("{path}: {e}"))?
        .body_mut()
        .read_json()
        .map_err(|e| format!("{path}: {e}"))
}

/// A `width` × `height` RGB PNG (a gradient), stored without compression.
fn png(width: u32, height: u32) -> Vec<u8> {
    let mut raw = Vec::new();
    for y in 0..height {
        raw.push(0); // filter: none
        for x in 0..width {
            raw.extend_from_slice(&[(x * 255 / width) as u8, 96, (y * 255 / height) as u8]);
        }
    }
    // zlib: one stored deflate block, then Adler-32.
    let mut zlib = vec![0x78, 0x01, 0x01];
    let len = u16::try_from(raw.len()).expect("a small image");
    zlib.extend_from_slice(&len.to_le_bytes());
    zlib.extend_from_slice(&(!len).to_le_bytes());
    zlib.extend_from_slice(&raw);
    let (mut a, mut b) = (1u32, 0u32);
    for byte in &raw {
        a = (a + u32::from(*byte)) % 65521;
        b = (b + a) % 65521;
    }
    zlib.extend_from_slice(&(b << 16 | a).to_be_bytes());

    let mut header = Vec::new();
    header.extend_from_slice(&width.to_be_bytes());
    header.extend_from_slice(&height.to_be_bytes());
    header.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    for (kind, data) in [(b"IHDR", header), (b"IDAT", zlib), (b"IEND", Vec::new())] {
        png.extend_from_slice(&u32::try_from(data.len()).unwrap_or(0).to_be_bytes());
        let mut chunk = kind.to_vec();
        chunk.extend_from_slice(&data);
        png.extend_from_slice(&chunk);
        png.extend_from_slice(&crc32(&chunk).to_be_bytes());
    }
    png
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for byte in bytes {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                crc >> 1 ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
