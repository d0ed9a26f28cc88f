//! The ConnectyCube Auth & Users SDK, async (tokio).
//!
//! A thin adapter: it owns a clock, a CSPRNG for nonces, a pooled hyper
//! client with rustls, and one session shared by every clone and task, and
//! drives [`cube_proto`](proto) over them. When many tasks find the session
//! expired at once, one restores it and the others use the result.
//!
//! ```no_run
//! use cube_async::{Client, Credentials};
//!
//! # async fn run() -> Result<(), cube_async::Error> {
//! let client = Client::builder(1, "auth-key")
//!     .auth_secret("auth-secret")
//!     .base_url("http://127.0.0.1:8080")
//!     .restore(|| async { Some(Credentials::login("john", "11111111")) })
//!     .build()?;
//! let user = client.sign_in(Credentials::login("john", "11111111")).await?;
//! println!("signed in as {}", user.id);
//! # Ok(()) }
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
pub use transfer::{CancelHandle, DownloadOptions, UploadOptions};
pub use transport::Roots;

/// The protocol crate this adapter drives, for its operations and types.
pub use proto;
