//! The ConnectyCube Auth & Users SDK, blocking.
//!
//! A thin adapter: a pooled ureq agent, the loop that drives
//! [`cube_proto`](proto)'s calls over it, and the pumps that stream files.
//! What every client holds — the session under its lock, its events, the
//! clock, the one [`Error`], the span of each call, the builder's settings
//! and the calls themselves — is `cube-shell`'s, shared with `cube-async`;
//! every decision about the wire and the session is `cube-proto`'s. The
//! protocol itself is described in the repository's `docs/PROTOCOL.md`.
//!
//! Everything an application names is at this crate's root: the [`Client`]
//! and its [`ClientBuilder`], [`Credentials`], the [`NewUser`] and
//! [`UserUpdate`] builders, the [`UserSearch`] builder with its [`Field`]s
//! and [`Direction`]s, files ([`Blob`], [`CreateBlob`]), pages ([`PageV2`],
//! [`PageV1`]), session types ([`SessionStatus`], [`SessionInfo`]) and one
//! [`Error`] whose helpers read the same as `cube-async`'s. The [`proto`]
//! re-export is there for custom operations.
//!
//! Here against an in-process `cube-emulator`; an application passes its own
//! id, key and secret, and leaves the base URL out for the production
//! service.
//!
//! ```
//! use cube_blocking::{Client, Credentials, Field, NewUser, UserSearch, UserUpdate};
//! # let emulator = cube_emulator::Emulator::start_blocking(Default::default())?;
//! # let (app_id, auth_key) = (u64::try_from(emulator.app_id())?, emulator.auth_key());
//! # let (auth_secret, api_url) = (emulator.auth_secret(), emulator.base_url());
//!
//! let client = Client::builder(app_id, auth_key)
//!     .auth_secret(auth_secret)
//!     .base_url(api_url)
//!     .build()?;
//!
//! // Sign a user up, then in: from here on the client tracks the session.
//! client.sign_up(NewUser::with_login("john_doe", "11111111"))?;
//! let john = client.sign_in(Credentials::login("john_doe", "11111111"))?;
//! assert!(client.is_session_valid());
//!
//! client.update_user(UserUpdate::new().full_name("John Doe").tags(["early"]))?;
//! let early = UserSearch::new().any_of(Field::UserTags, ["early"]).build()?;
//! assert_eq!(client.search_users(early)?.items[0].id, john.id);
//!
//! // Failures are typed, and asked about the same way in both adapters.
//! let taken = client.sign_up(NewUser::with_login("john_doe", "22222222")).unwrap_err();
//! assert!(taken.is_conflict());
//! assert_eq!(taken.field_errors(), [("login", "has already been taken")]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod builder;
mod client;
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
