//! The ConnectyCube Auth & Users SDK, async (tokio).
//!
//! A thin adapter: it owns a clock, a CSPRNG for nonces, a pooled hyper
//! client with rustls, and one session shared by every clone and task, and
//! drives [`cube_proto`](proto) over them. When many tasks find the session
//! expired at once, one restores it and the others use the result. The
//! protocol itself is described in the repository's `docs/PROTOCOL.md`.
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
mod clock;
mod error;
mod surface;
mod trace;
mod transfer;
mod transport;

pub use builder::ClientBuilder;
pub use client::Client;
pub use clock::{Clock, SystemClock};
pub use error::Error;
pub use surface::UserPages;
pub use transport::Roots;

// What an application names, at the root: credentials and session types,
// the user builders, the search builder, files, pages and errors.
/// The protocol's error, which [`Error::Proto`] carries.
pub use proto::Error as ProtoError;
pub use proto::error::{ApiError, CallError, ErrorMessages, InvalidInput};
pub use proto::model::{Blob, BlobObjectAccess, PageV1, PageV2};
pub use proto::ops::{
    CreateBlob, ListUsers, NewUser, Upload, UserUpdate, V1Filter, V1Operator, V1Type,
};
pub use proto::search::{
    Direction, Field, Filter, Operator, Paging, Rule, SearchError, SearchUsers, UserSearch,
};
pub use proto::{
    Credentials, ExpiredBy, IssuedToken, Misuse, RestoreAnswer, Secret, SessionChange,
    SessionEvent, SessionInfo, SessionKind, SessionSnapshot, SessionStatus, SignatureAlgorithm,
    User,
};
pub use transfer::{CancelHandle, DownloadOptions, UploadOptions};

/// The protocol crate this adapter drives: for custom operations
/// ([`Client::execute`] with any [`proto::ops::Operation`]) and its
/// lower-level types.
pub use proto;
