//! The calls every adapter offers, written once.
//!
//! `cube-blocking` and `cube-async` expand [`client_calls!`](crate::client_calls)
//! next to their `Client` and
//! [`client_builder_settings!`](crate::client_builder_settings) inside their
//! `ClientBuilder`, so both have the same methods, the same names and the
//! same docs. Each call is a one-liner over
//! [`Operation`]s: what it sends and what it means is
//! decided here, in `cube-proto`.
//!
//! What the macros need from an adapter is spelled out as traits, so a
//! client that lacks a hook fails to compile at its `impl`, not inside
//! expanded code:
//!
//! * [`ClientCore`]: the configuration, the time by the client's clock, a
//!   copy of the session, and the adapter's error type;
//! * [`Execute`] (blocking) or [`ExecuteAsync`]: running one operation
//!   through the session;
//! * [`BuilderCore`]: where a builder keeps the [`BuilderSettings`] every
//!   adapter shares.
//!
//! The smallest client the calls expand for: one that never sends (a real
//! adapter drives a [`Call`](crate::Call) over its transport in `execute`).
//!
//! ```
//! use cube_proto::ops::Operation;
//! use cube_proto::surface::{ClientCore, Execute};
//! use cube_proto::time::OffsetDateTime;
//! use cube_proto::{Config, Error, Session, SessionStatus};
//!
//! struct Offline {
//!     config: Config,
//!     session: Session,
//! }
//!
//! impl ClientCore for Offline {
//!     type Error = Error;
//!     fn config(&self) -> &Config {
//!         &self.config
//!     }
//!     fn now(&self) -> OffsetDateTime {
//!         OffsetDateTime::UNIX_EPOCH
//!     }
//!     fn session_snapshot(&self) -> Session {
//!         self.session.clone()
//!     }
//! }
//!
//! impl Execute for Offline {
//!     fn execute<O: Operation>(&self, _op: O) -> Result<O::Output, Error> {
//!         Err(Error::NoSession)
//!     }
//! }
//!
//! cube_proto::client_calls!(Offline, Error);
//!
//! let client = Offline { config: Config::builder(1, "key").build()?, session: Session::default() };
//! assert_eq!(client.session_status(), SessionStatus::None);
//! assert!(matches!(client.get_user(1), Err(Error::NoSession)));
//! assert!(client.blob_private_url("0123456789abcdef")?.is_none(), "no session, no URL");
//! # Ok::<(), Error>(())
//! ```
//!
//! Without its `Execute` the same client does not compile, and the error
//! names the missing trait at the macro's line:
//!
//! ```compile_fail
//! use cube_proto::surface::ClientCore;
//! use cube_proto::time::OffsetDateTime;
//! use cube_proto::{Config, Error, Session};
//!
//! struct Offline {
//!     config: Config,
//! }
//!
//! impl ClientCore for Offline {
//!     type Error = Error;
//!     fn config(&self) -> &Config {
//!         &self.config
//!     }
//!     fn now(&self) -> OffsetDateTime {
//!         OffsetDateTime::UNIX_EPOCH
//!     }
//!     fn session_snapshot(&self) -> Session {
//!         Session::default()
//!     }
//! }
//!
//! cube_proto::client_calls!(Offline, Error);
//! ```

mod builder;
mod calls;

pub use builder::{BuilderCore, BuilderSettings};

use crate::ops::Operation;
use crate::{Config, Session};
use std::future::Future;
use time::OffsetDateTime;

/// What every adapter's client gives the shared calls.
pub trait ClientCore {
    /// The adapter's error; a protocol error converts into it.
    type Error: From<crate::Error>;

    /// The client's configuration.
    fn config(&self) -> &Config;

    /// The current time by the client's clock.
    fn now(&self) -> OffsetDateTime;

    /// A copy of the client's session state machine.
    fn session_snapshot(&self) -> Session;
}

/// A blocking client: runs an operation to its end on the calling thread.
pub trait Execute: ClientCore {
    /// Runs `op` through the session; see [`Call`](crate::Call).
    fn execute<O: Operation>(&self, op: O) -> Result<O::Output, Self::Error>;
}

/// An async client: runs an operation to its end in a future that may move
/// between threads.
pub trait ExecuteAsync: ClientCore {
    /// Runs `op` through the session; see [`Call`](crate::Call).
    fn execute<O>(&self, op: O) -> impl Future<Output = Result<O::Output, Self::Error>> + Send
    where
        O: Operation + Send,
        O::Output: Send;
}
