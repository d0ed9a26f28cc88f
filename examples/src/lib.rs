//! What every example shares: where the server is and who the app is.
//!
//! Each example reads `CUBE_API_URL`, `CUBE_APP_ID`, `CUBE_AUTH_KEY` and
//! `CUBE_AUTH_SECRET`. When `CUBE_API_URL` is unset it starts an emulator in
//! this process and says so, so every example runs with no account and no
//! network.
//!
//! ```
//! use cube_examples::{Target, step};
//!
//! let target = Target::from_env()?; // the in-process emulator unless CUBE_API_URL is set
//! let client = target.blocking().build()?;
//! step(1, "create an application session");
//! client.create_application_session()?;
//! assert!(client.is_session_valid());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use cube_emulator::{Emulator, EmulatorConfig, RunningEmulator};
use std::error::Error;

/// The server an example talks to.
pub struct Target {
    /// The API base URL.
    pub api_url: String,
    /// The application id.
    pub app_id: u64,
    /// The application's auth key.
    pub auth_key: String,
    /// The auth secret, when requests are to be signed.
    pub auth_secret: Option<String>,
    /// The in-process emulator, kept alive for the example's lifetime.
    pub emulator: Option<RunningEmulator>,
}

impl Target {
    /// Reads the environment, or starts an in-process emulator.
    pub fn from_env() -> Result<Self, Box<dyn Error>> {
        match std::env::var("CUBE_API_URL") {
            Ok(api_url) if !api_url.is_empty() => {
                let app_id = required("CUBE_APP_ID")?
                    .parse()
                    .map_err(|_| "CUBE_APP_ID must be a number")?;
                Ok(Self {
                    api_url,
                    app_id,
                    auth_key: required("CUBE_AUTH_KEY")?,
                    auth_secret: std::env::var("CUBE_AUTH_SECRET")
                        .ok()
                        .filter(|s| !s.is_empty()),
                    emulator: None,
                })
            }
            _ => {
                let emulator = Emulator::start_blocking(EmulatorConfig::default())?;
                println!(
                    "CUBE_API_URL is not set: started an in-process emulator at {}",
                    emulator.base_url()
                );
                Ok(Self {
                    api_url: emulator.base_url().to_owned(),
                    app_id: u64::try_from(emulator.app_id())?,
                    auth_key: emulator.auth_key().to_owned(),
                    auth_secret: Some(emulator.auth_secret().to_owned()),
                    emulator: Some(emulator),
                })
            }
        }
    }

    /// A blocking client builder for this target.
    pub fn blocking(&self) -> cube_blocking::ClientBuilder {
        let builder = cube_blocking::Client::builder(self.app_id, self.auth_key.clone())
            .base_url(self.api_url.clone());
        match &self.auth_secret {
            Some(secret) => builder.auth_secret(secret.clone()),
            None => builder,
        }
    }

    /// An async client builder for this target.
    pub fn asynchronous(&self) -> cube_async::ClientBuilder {
        let builder = cube_async::Client::builder(self.app_id, self.auth_key.clone())
            .base_url(self.api_url.clone());
        match &self.auth_secret {
            Some(secret) => builder.auth_secret(secret.clone()),
            None => builder,
        }
    }

    /// A name unique to this run, so examples can run twice against one server.
    pub fn unique(&self, prefix: &str) -> String {
        let nanos = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
        format!("{prefix}{}", nanos % 1_000_000_000_000)
    }
}

fn required(name: &str) -> Result<String, Box<dyn Error>> {
    std::env::var(name).map_err(|_| format!("{name} must be set when CUBE_API_URL is").into())
}

/// Prints one step of an example.
pub fn step(n: u32, what: &str) {
    println!("[{n}] {what}");
}

/// The emulator's admin API, for the examples that need fake provider
/// accounts. Only meaningful against an emulator.
pub struct Admin {
    base: String,
    app_id: u64,
}

impl Target {
    /// The admin API of the emulator this example runs against, if it runs
    /// against one it started (a real server has no admin API).
    pub fn admin(&self) -> Option<Admin> {
        self.emulator.as_ref().map(|_| Admin {
            base: format!("{}/_emulator", self.api_url),
            app_id: self.app_id,
        })
    }

    /// An environment variable, or — against the in-process emulator — a
    /// value the example sets up itself.
    pub fn env_or(
        &self,
        name: &str,
        emulated: impl FnOnce(&Admin) -> Result<String, Box<dyn Error>>,
    ) -> Result<String, Box<dyn Error>> {
        if let Ok(v) = std::env::var(name) {
            return Ok(v);
        }
        match self.admin() {
            Some(admin) => emulated(&admin),
            None => Err(format!("{name} must be set when CUBE_API_URL is").into()),
        }
    }
}

impl Admin {
    /// POSTs JSON to an admin route.
    pub fn post(&self, path: &str, body: serde_json::Value) -> Result<(), Box<dyn Error>> {
        ureq::post(&format!("{}{path}", self.base)).send_json(body)?;
        Ok(())
    }

    /// Changes the application's settings.
    pub fn settings(&self, settings: serde_json::Value) -> Result<(), Box<dyn Error>> {
        ureq::put(&format!("{}/apps/{}/settings", self.base, self.app_id)).send_json(settings)?;
        Ok(())
    }
}

/// An unsigned (`alg: none`) Firebase ID token of the shape the Firebase Auth
/// Emulator issues, which the cube emulator accepts by default. Never valid
/// against the real service.
pub fn unsigned_firebase_token(project_id: &str, claims: serde_json::Value) -> String {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut payload = serde_json::json!({
        "iss": format!("https://securetoken.google.com/{project_id}"),
        "aud": project_id,
        "iat": now - 10,
        "exp": now + 3600,
        "auth_time": now - 10,
    });
    if let (Some(p), Some(extra)) = (payload.as_object_mut(), claims.as_object()) {
        p.extend(extra.clone());
    }
    let header = serde_json::json!({"alg": "none", "typ": "JWT"});
    format!(
        "{}.{}.",
        base64url(header.to_string().as_bytes()),
        base64url(payload.to_string().as_bytes())
    )
}

fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
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
}
