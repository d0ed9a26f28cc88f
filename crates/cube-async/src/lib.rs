//! The ConnectyCube Auth & Users SDK, async (tokio).
//!
//! A thin adapter: a pooled hyper client with rustls, the loop that drives
//! [`cube_proto`](proto)'s calls over it, and the pumps that stream files.
//! One session is shared by every clone and task; when many tasks find it
//! expired at once, one restores it and the others use the result. What
//! every client holds — the session under its lock, its events, the clock,
//! the one [`Error`], the span of each call, the builder's settings and the
//! calls themselves — is `cube-shell`'s, shared with `cube-blocking`; every
//! decision about the wire and the session is `cube-proto`'s. The protocol
//! itself is described in the repository's `docs/PROTOCOL.md`.
//!
//! Everything an application names is at this crate's root: the [`Client`]
//! and its [`ClientBuilder`], [`Credentials`], the [`NewUser`] and
//! [`UserUpdate`] builders, the [`UserSearch`] builder with its [`Field`]s
//! and [`Direction`]s, files ([`Blob`], [`CreateBlob`]), pages ([`PageV2`],
//! [`PageV1`]), session types ([`SessionStatus`], [`SessionInfo`]) and one
//! [`Error`] whose helpers read the same as `cube-blocking`'s. The [`proto`]
//! re-export is there for custom operations.
//!
//! Here against an in-process `cube-emulator`; an application passes its own
//! id, key and secret, and leaves the base URL out for the production
//! service.
//!
//! ```
//! use cube_async::{Client, Credentials, NewUser, SessionStatus};
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let emulator = cube_emulator::Emulator::start(Default::default()).await?;
//! # let (app_id, auth_key) = (u64::try_from(emulator.app_id())?, emulator.auth_key());
//! # let (auth_secret, api_url) = (emulator.auth_secret(), emulator.base_url());
//!
//! // Whenever the session is missing or expired, the restore callback
//! // supplies credentials, and the call goes on.
//! let client = Client::builder(app_id, auth_key)
//!     .auth_secret(auth_secret)
//!     .base_url(api_url)
//!     .restore(|| async { Some(Credentials::login("jane_doe", "11111111")) })
//!     .build()?;
//! let jane = client.sign_up(NewUser::with_login("jane_doe", "11111111")).await?;
//!
//! // Clones share the session: two calls at once make one restore.
//! let other = client.clone();
//! let (by_id, by_login) = tokio::join!(
//!     client.get_user(jane.id),
//!     other.get_user_by_login("jane_doe"),
//! );
//! assert_eq!(by_id?.map(|u| u.id), by_login?.map(|u| u.id));
//! assert_eq!(client.session_status(), SessionStatus::User);
//!
//! // Failures are typed, and asked about the same way in both adapters.
//! let nobody = client.get_blob(987_654).await.unwrap_err();
//! assert!(nobody.is_not_found());
//! # Ok(()) }
//! ```

mod builder;
mod client;
mod deadlines;
mod surface;
mod transfer;
mod transport;

pub use client::{Client, ClientBuilder};
pub use surface::UserPages;
pub use transfer::{DownloadOptions, UploadOptions};
pub use transport::Transport;

// What an application names, at the root: credentials and session types,
// the user builders, the search builder, files, pages and errors.
pub use cube_shell::names::*;

/// The protocol crate this adapter drives: for custom operations
/// ([`Client::execute`] with any [`proto::ops::Operation`]) and its
/// lower-level types.
pub use proto;
