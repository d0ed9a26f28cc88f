//! The ConnectyCube Auth & Users SDK, blocking.
//!
//! A thin adapter: it owns a clock, a CSPRNG for nonces, a pooled ureq agent
//! and the session, and drives [`cube_proto`](proto) over them. Every
//! decision about the wire and the session is `cube-proto`'s.
//!
//! ```no_run
//! use cube_blocking::{Client, Credentials};
//!
//! let client = Client::builder(1, "auth-key")
//!     .auth_secret("auth-secret")
//!     .base_url("http://127.0.0.1:8080")
//!     .build()?;
//! let user = client.sign_in(Credentials::login("john", "11111111"))?;
//! println!("signed in as {}", user.id);
//! assert!(client.is_session_valid());
//! # Ok::<(), cube_blocking::Error>(())
//! ```

mod builder;
mod calls;
mod client;
mod clock;
mod error;
mod transfer;
mod transport;

pub use builder::ClientBuilder;
pub use calls::UserPages;
pub use client::Client;
pub use clock::{Clock, SystemClock};
pub use error::Error;
pub use proto::{
    Credentials, Secret, SessionInfo, SessionKind, SessionStatus, SignatureAlgorithm, User,
};
pub use transfer::{DownloadOptions, UploadOptions};
pub use transport::Roots;

/// The protocol crate this adapter drives, for its operations and types.
pub use proto;
