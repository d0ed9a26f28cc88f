//! What the SDK adapters' tests share, written once and run against each
//! adapter (`publish = false`).
//!
//! * The suites, as macros a test file of each adapter expands with the
//!   adapter's crate name and its test attribute:
//!   [`e2e_suite!`] (every mission call against the emulator),
//!   [`persist_suite!`] (sessions that outlive the process),
//!   [`transfer_suite!`] (streamed files and paged look-ups),
//!   [`logs_suite!`] (no secret in any log line or span field),
//!   [`spans_suite!`] (the span of each call says what the call did),
//!   [`retry_suite!`] (transient failures sent again, signatures on the
//!   server's clock) and [`retry_faults_suite!`] (the same policy against
//!   the emulator's fault rules).
//! * [`errors`]: one generic check of the error helpers
//!   ([`CallError`](proto::error::CallError)), fed with real failures each
//!   adapter produced against the in-process emulator, the
//!   [`scripted_server`](errors::scripted_server) that answers as the public
//!   service does, and the servers of [`net`].
//! * [`capture`]: a `tracing` layer that keeps every field of every span
//!   and event.
//! * What the tests stand on: the emulator [`harness`], [`fake`] servers
//!   scripted by the test, [`net`] servers that fail on purpose, [`firebase`]
//!   tokens, the [`transfer`] helpers, and what the upload and per-call
//!   [`bench`](mod@bench)es share.
//!
//! A suite for the blocking adapter, in its `tests/e2e.rs`, is one line,
//! `cube_test_support::e2e_suite!(cube_blocking, #[test]);`, and for the
//! async one `cube_test_support::e2e_suite!(cube_async, #[tokio::test] async await);`.
//!
//! Each adapter's `tests/error_shape.rs` gathers one failure of each kind
//! through its own client and hands them to
//! [`errors::check_error_helpers`]. The smallest of those failures:
//!
//! ```
//! use cube_blocking::Client;
//! use cube_test_support::net::SilentServer;
//! use std::time::Duration;
//!
//! let silent = SilentServer::start()?;
//! let client = Client::builder(1, "auth-key")
//!     .base_url(silent.url())
//!     .timeout(Duration::from_millis(200))
//!     .build()?;
//! let error = client.create_application_session().unwrap_err();
//! assert!(error.is_timeout() && error.status().is_none());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod bench;
pub mod capture;
pub mod errors;
pub mod fake;
pub mod firebase;
pub mod harness;
pub mod net;
mod suites;
pub mod transfer;

// The crates the suites name, so that a test file needs none of them.
#[doc(hidden)]
pub use {cube_emulator, http, serde_json, time, tracing, tracing_subscriber, ureq};
