//! A headless Chromium driven through chromedriver's WebDriver protocol
//! (W3C, plain HTTP + JSON), with nothing left running afterwards.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The key W3C WebDriver names elements by.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// How long one wait may take before the test fails.
pub(crate) const WAIT: Duration = Duration::from_secs(15);

/// The programs a browser test needs.
#[derive(Debug, Clone)]
pub(crate) struct Programs {
    pub(crate) chromium: PathBuf,
    pub(crate) chromedriver: PathBuf,
}

/// Chromium and chromedriver: `CUBE_CHROMIUM` / `CUBE_CHROMEDRIVER`, else
/// the first of their usual names on `PATH`. `Err` says what is missing.
pub(crate) fn find_programs() -> Result<Programs, String> {
    let chromium = program(
        "CUBE_CHROMIUM",
        &["chromium", "chromium-browser", "google-chrome"],
    );
    let chromedriver = program("CUBE_CHROMEDRIVER", &["chromedriver"]);
    match (chromium, chromedriver) {
        (Some(chromium), Some(chromedriver)) => Ok(Programs {
            chromium,
            chromedriver,
        }),
        (chromium, chromedriver) => Err(format!(
            "{}{}",
            if chromium.is_none() {
                "no chromium (nor chromium-browser, google-chrome, $CUBE_CHROMIUM) "
            } else {
                ""
            },
            if chromedriver.is_none() {
                "no chromedriver (nor $CUBE_CHROMEDRIVER) "
            } else {
                ""
            }
        )),
    }
}

fn program(variable: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(variable).map(PathBuf::from) {
        return path.is_file().then_some(path);
    }
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    })
}

/// A running chromedriver with one browser session. Dropping it ends the
/// session, kills chromedriver's process group and any browser process
/// still using this run's profile, and removes the profile.
pub(crate) struct Browser {
    agent: ureq::Agent,
    driver: Child,
    base: String,
    session: Option<String>,
    profile: PathBuf,
}

impl Browser {
    /// Starts chromedriver on a free port and opens a headless browser
    /// with a fresh profile and a `width` × `height` window.
    pub(crate) fn start(programs: &Programs, width: u32, height: u32) -> Result<Self, String> {
        let profile = std::env::temp_dir().join(format!(
            "cube-ui-browser-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        std::fs::create_dir_all(&profile).map_err(|e| format!("profile dir: {e}"))?;
        let mut command = Command::new(&programs.chromedriver);
        command
            .arg("--port=0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        // Its own process group, so that the browsers it starts can be
        // ended with it whatever happens to chromedriver itself.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut driver = command
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", programs.chromedriver.display()))?;
        let port = match read_port(&mut driver) {
            Ok(port) => port,
            Err(err) => {
                let _ = driver.kill();
                let _ = driver.wait();
                let _ = std::fs::remove_dir_all(&profile);
                return Err(err);
            }
        };
        let mut browser = Self {
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(Duration::from_secs(60)))
                .build()
                .new_agent(),
            driver,
            base: format!("http://127.0.0.1:{port}"),
            session: None,
            profile,
        };
        let args = [
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-crash-reporter".to_owned(),
            "--disable-breakpad".to_owned(),
            format!("--user-data-dir={}", browser.profile.display()),
            format!("--window-size={width},{height}"),
        ];
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": programs.chromium.display().to_string(),
                "args": args,
            },
        }}});
        let created = browser.call("POST", "/session", Some(capabilities))?;
        let id = created["sessionId"]
            .as_str()
            .ok_or_else(|| format!("no session id in {created}"))?;
        browser.session = Some(id.to_owned());
        Ok(browser)
    }

    /// One WebDriver command; its `value`, or the driver's error.
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let url = format!("{}{path}", self.base);
        let request = ureq::http::Request::builder().method(method).uri(&url);
        let response = match body {
            Some(body) => self.agent.run(
                request
                    .header("Content-Type", "application/json")
                    .body(body.to_string())
                    .map_err(|e| e.to_string())?,
            ),
            None => self.agent.run(request.body(()).map_err(|e| e.to_string())?),
        };
        let mut response = response.map_err(|e| format!("{method} {path}: {e}"))?;
        let status = response.status().as_u16();
        let value: Value = response
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_json()
            .map_err(|e| format!("{method} {path}: {e}"))?;
        let value = value.get("value").cloned().unwrap_or(Value::Null);
        if status != 200 {
            return Err(format!(
                "{method} {path}: {status} {} {}",
                value["error"].as_str().unwrap_or_default(),
                value["message"].as_str().unwrap_or_default()
            ));
        }
        Ok(value)
    }

    fn session_path(&self, rest: &str) -> Result<String, String> {
        let id = self.session.as_deref().ok_or("no browser session")?;
        Ok(format!("/session/{id}{rest}"))
    }

    /// Opens `url` and waits for the page to load.
    pub(crate) fn goto(&self, url: &str) -> Result<(), String> {
        self.call(
            "POST",
            &self.session_path("/url")?,
            Some(json!({ "url": url })),
        )?;
        Ok(())
    }

    /// Reloads the page, as the browser's reload button does.
    pub(crate) fn reload(&self) -> Result<(), String> {
        self.call("POST", &self.session_path("/refresh")?, Some(json!({})))?;
        Ok(())
    }

    /// Runs `script` (a function body; `arguments` holds `args`) in the page.
    pub(crate) fn run(&self, script: &str, args: Value) -> Result<Value, String> {
        self.call(
            "POST",
            &self.session_path("/execute/sync")?,
            Some(json!({ "script": script, "args": args })),
        )
    }

    /// The first element matching `css`.
    fn find(&self, css: &str) -> Result<String, String> {
        let found = self.call(
            "POST",
            &self.session_path("/element")?,
            Some(json!({"using": "css selector", "value": css})),
        )?;
        found[ELEMENT]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("no element id for {css}"))
    }

    /// Runs `act` on the element `css` names. The views that follow live
    /// data (requests, sessions, faults) redraw their rows while a test
    /// acts on them; an element redrawn between the look-up and the act is
    /// looked up again, as a user's second look would find it, for at most
    /// [`WAIT`]. Any other failure ends at once.
    fn on_element(
        &self,
        css: &str,
        act: impl Fn(&str) -> Result<(), String>,
    ) -> Result<(), String> {
        let deadline = Instant::now() + WAIT;
        loop {
            match self.find(css).and_then(|id| act(&id)) {
                Err(err) if err.contains("stale element") && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                done => return done,
            }
        }
    }

    /// Clicks the element `css` names, as a user would.
    pub(crate) fn click(&self, css: &str) -> Result<(), String> {
        self.on_element(css, |id| {
            self.call(
                "POST",
                &self.session_path(&format!("/element/{id}/click"))?,
                Some(json!({})),
            )
            .map(drop)
        })
    }

    /// Replaces the text of the input `css` names, typing `text`.
    pub(crate) fn type_into(&self, css: &str, text: &str) -> Result<(), String> {
        self.on_element(css, |id| {
            self.call(
                "POST",
                &self.session_path(&format!("/element/{id}/clear"))?,
                Some(json!({})),
            )?;
            self.call(
                "POST",
                &self.session_path(&format!("/element/{id}/value"))?,
                Some(json!({ "text": text })),
            )
            .map(drop)
        })
    }

    /// Polls `script` until it returns something other than `null` or
    /// `false`, for at most [`WAIT`]; `what` names the wait in errors.
    pub(crate) fn wait_for(&self, what: &str, script: &str, args: Value) -> Result<Value, String> {
        let deadline = Instant::now() + WAIT;
        let mut last = Value::Null;
        loop {
            match self.run(script, args.clone()) {
                Ok(Value::Null | Value::Bool(false)) => {}
                Ok(value) => return Ok(value),
                Err(err) => last = Value::String(err),
            }
            if Instant::now() > deadline {
                let status = self
                    .run(
                        "const s = document.querySelector('#status'); \
                         return s && !s.hidden ? s.textContent : '';",
                        json!([]),
                    )
                    .unwrap_or_default();
                return Err(format!(
                    "timed out waiting for {what} (last error: {last}; status line: {status})"
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    /// A PNG of the viewport.
    pub(crate) fn screenshot(&self) -> Result<Vec<u8>, String> {
        let encoded = self.call("GET", &self.session_path("/screenshot")?, None)?;
        let text = encoded.as_str().ok_or("the screenshot is not text")?;
        base64_decode(text).ok_or_else(|| "the screenshot is not base64".to_owned())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Closing the session lets the browser end (and reap) its own
        // processes; then chromedriver is stopped, and whatever is left
        // of its process group or names this run's profile is killed.
        if let Some(id) = self.session.take() {
            let _ = self.call("DELETE", &format!("/session/{id}"), None);
        }
        let group = self.driver.id();
        let _ = Command::new("kill")
            .args(["-TERM", &group.to_string()])
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while matches!(self.driver.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{group}")])
            .stderr(Stdio::null())
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        kill_users_of(&self.profile);
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Kills every process whose command line names `profile` (a browser that
/// left chromedriver's process group), by its id.
pub(crate) fn kill_users_of(profile: &Path) {
    let needle = profile.display().to_string();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        if String::from_utf8_lossy(&cmdline).contains(&needle) {
            let _ = Command::new("kill")
                .args(["-KILL", pid])
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// Reads "... started successfully on port N." from chromedriver's stdout
/// (bounded: 20 s).
fn read_port(driver: &mut Child) -> Result<u16, String> {
    let stdout = driver.stdout.take().ok_or("chromedriver has no stdout")?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
            // "Starting ChromeDriver ... on port 0" comes first: wait for
            // "ChromeDriver was started successfully on port N."
            if let Some(port) = line
                .split("started successfully on port ")
                .nth(1)
                .and_then(|rest| rest.trim().trim_end_matches('.').parse::<u16>().ok())
            {
                let _ = tx.send(port);
                break;
            }
            line.clear();
        }
        // Keep draining, so chromedriver never blocks on a full pipe.
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
    });
    rx.recv_timeout(Duration::from_secs(20))
        .map_err(|_| "chromedriver did not say which port it listens on".to_owned())
}

/// Standard base64 with padding (what WebDriver sends screenshots in).
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let clean: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if !clean.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(clean.len() / 4 * 3);
    for chunk in clean.chunks(4) {
        let pad = chunk.iter().rev().take_while(|&&b| b == b'=').count();
        let mut n = 0u32;
        for &c in &chunk[..4 - pad] {
            n = n << 6 | value(c)?;
        }
        n <<= 6 * pad as u32;
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    Some(out)
}
