//! What the SDK adapters' tests share, written once and run against each
//! adapter (`publish = false`).
//!
//! * [`errors`]: one generic check of the error helpers
//!   ([`CallError`](proto::error::CallError)), fed with real failures each
//!   adapter produced against the in-process emulator and the servers of
//!   [`net`].
//! * [`net`]: servers that fail on purpose: one that never answers, and an
//!   address where nobody listens.
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

pub mod errors;
pub mod net;
