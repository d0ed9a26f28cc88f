//! What every example shares: where the server is and who the app is.
//!
//! Each example reads `CUBE_API_URL`, `CUBE_APP_ID`, `CUBE_AUTH_KEY` and
//! `CUBE_AUTH_SECRET`. When `CUBE_API_URL` is unset it starts an emulator in
//! this process and says so, so every example runs with no account and no
//! network.

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
