//! An in-process emulator for end-to-end tests, and a client clock that
//! follows the emulator's movable clock (signatures and expiry must agree).

use cube_emulator::{Emulator, EmulatorConfig, RunningEmulator};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use time::OffsetDateTime;

/// An emulator on a free port of 127.0.0.1, and how far its clock was moved.
#[derive(Debug)]
pub struct Harness {
    /// The emulator; it stops when the harness is dropped.
    pub emulator: RunningEmulator,
    /// Seconds the emulator's clock runs ahead of the system clock.
    offset: Arc<AtomicI64>,
}

impl Harness {
    /// Starts an emulator with the default configuration.
    pub fn start() -> Self {
        let emulator =
            Emulator::start_blocking(EmulatorConfig::default()).expect("emulator starts");
        Self {
            emulator,
            offset: Arc::new(AtomicI64::new(0)),
        }
    }

    /// The emulator's API URL.
    pub fn base_url(&self) -> String {
        self.emulator.base_url().to_owned()
    }

    /// The application the emulator serves.
    pub fn app_id(&self) -> u64 {
        u64::try_from(self.emulator.app_id()).unwrap()
    }

    /// Its auth key.
    pub fn auth_key(&self) -> String {
        self.emulator.auth_key().to_owned()
    }

    /// Its auth secret.
    pub fn auth_secret(&self) -> String {
        self.emulator.auth_secret().to_owned()
    }

    /// A clock that reads the system clock plus the emulator's offset.
    pub fn clock(&self) -> impl Fn() -> OffsetDateTime + Send + Sync + 'static {
        let offset = self.offset.clone();
        move || OffsetDateTime::now_utc() + time::Duration::seconds(offset.load(Ordering::SeqCst))
    }

    fn admin(&self, path: &str) -> String {
        format!("{}/_emulator{path}", self.emulator.base_url())
    }

    /// Moves the emulator's clock, and the client clock with it.
    pub fn advance(&self, seconds: i64) {
        let mut response = ureq::post(&self.admin("/clock/advance"))
            .send_json(serde_json::json!({ "seconds": seconds }))
            .expect("clock advance");
        let body: serde_json::Value = response.body_mut().read_json().unwrap();
        let now = OffsetDateTime::parse(
            body["now"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
        let ahead = (now - OffsetDateTime::now_utc()).whole_seconds();
        // Round to the advanced amount: the two clocks read a few ms apart.
        let total = self.offset.load(Ordering::SeqCst) + seconds;
        assert!(
            (ahead - total).abs() <= 2,
            "emulator clock {ahead}s ahead, expected {total}s"
        );
        self.offset.store(total, Ordering::SeqCst);
    }

    /// The e-mails the emulator "sent".
    pub fn outbox(&self) -> serde_json::Value {
        ureq::get(&self.admin("/outbox"))
            .call()
            .unwrap()
            .body_mut()
            .read_json()
            .unwrap()
    }

    /// POSTs to an admin route (fake provider accounts).
    pub fn admin_post(&self, path: &str, body: serde_json::Value) {
        ureq::post(&self.admin(path))
            .send_json(body)
            .expect("admin call");
    }

    /// Changes application settings.
    pub fn settings(&self, settings: serde_json::Value) {
        let url = self.admin(&format!("/apps/{}/settings", self.app_id()));
        ureq::put(&url).send_json(settings).expect("settings");
    }
}
