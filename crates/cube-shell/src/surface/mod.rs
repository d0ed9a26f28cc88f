//! The calls every adapter offers, written once.
//!
//! `cube-blocking` and `cube-async` expand [`client_calls!`](crate::client_calls)
//! next to their `Client` and [`client_builder!`](crate::client_builder)
//! for its `ClientBuilder`, so both have the same methods, the same names
//! and the same docs. Each call is a one-liner over `cube-proto`'s
//! [`Operation`]s: what it sends and what it means is decided there.
//!
//! What the macros need from an adapter is spelled out as traits, so a
//! client that lacks a hook fails to compile at its `impl`, not inside
//! expanded code:
//!
//! * [`ClientCore`]: where the client keeps its [`Shell`] (a field
//!   `shell: Arc<Shell<A>>`, which the macro implements it over);
//! * [`Execute`] (blocking) or [`ExecuteAsync`]: running one operation
//!   through the session, the adapter's drive loop.
//!
//! The smallest client the calls expand for: one that never sends (a real
//! adapter drives a [`Call`](proto::Call) over its transport in `execute`).
//!
//! ```
//! use cube_shell::proto::{ops::Operation, Error as ProtoError, RestoreAnswer, SessionStatus};
//! use cube_shell::{Adapter, Error, Roots, Shell, surface::Execute};
//! use std::sync::Arc;
//!
//! /// A transport that carries no bytes.
//! pub struct Offline;
//!
//! impl Adapter for Offline {
//!     type Restore = dyn Fn() -> RestoreAnswer + Send + Sync;
//!     type Turn = ();
//!     fn build(_: std::time::Duration, _: &Roots, _: &[Vec<u8>]) -> Result<Self, Error> {
//!         Ok(Offline)
//!     }
//! }
//!
//! #[derive(Debug)]
//! pub struct Client {
//!     shell: Arc<Shell<Offline>>,
//! }
//!
//! impl Execute for Client {
//!     fn execute<O: Operation>(&self, _op: O) -> Result<O::Output, Error> {
//!         Err(ProtoError::NoSession.into())
//!     }
//! }
//!
//! cube_shell::client_calls!(cube_shell, Client, ClientBuilder, Offline);
//! cube_shell::client_builder!(ClientBuilder, Client, Offline);
//!
//! let client = Client::builder(1, "key").build()?;
//! assert_eq!(client.session_status(), SessionStatus::None);
//! assert!(matches!(client.get_user(1).unwrap_err().proto(), Some(ProtoError::NoSession)));
//! assert!(client.blob_private_url("0123456789abcdef")?.is_none(), "no session, no URL");
//! # Ok::<(), Error>(())
//! ```
//!
//! Without its `Execute` the same client does not compile, and the error
//! names the missing trait at the macro's line:
//!
//! ```compile_fail
//! use cube_shell::proto::RestoreAnswer;
//! use cube_shell::{Adapter, Error, Roots, Shell};
//! use std::sync::Arc;
//!
//! pub struct Offline;
//!
//! impl Adapter for Offline {
//!     type Restore = dyn Fn() -> RestoreAnswer + Send + Sync;
//!     type Turn = ();
//!     fn build(_: std::time::Duration, _: &Roots, _: &[Vec<u8>]) -> Result<Self, Error> {
//!         Ok(Offline)
//!     }
//! }
//!
//! pub struct Client {
//!     shell: Arc<Shell<Offline>>,
//! }
//!
//! cube_shell::client_calls!(cube_shell, Client, ClientBuilder, Offline);
//! cube_shell::client_builder!(ClientBuilder, Client, Offline);
//! ```

mod calls;
mod pages;

pub use pages::Pages;

use crate::error::Error;
use crate::shell::{Adapter, Shell};
use proto::ops::Operation;
use std::future::Future;

/// Where a client keeps its shell. [`client_calls!`](crate::client_calls)
/// implements it for the adapter's `Client`.
pub trait ClientCore {
    /// The adapter the client is made with.
    type Adapter: Adapter;

    /// The client's shell.
    fn shell(&self) -> &Shell<Self::Adapter>;
}

/// A blocking client: runs an operation to its end on the calling thread.
pub trait Execute: ClientCore {
    /// Runs `op` through the session; see [`Call`](proto::Call).
    fn execute<O: Operation>(&self, op: O) -> Result<O::Output, Error>;
}

/// An async client: runs an operation to its end in a future that may move
/// between threads.
pub trait ExecuteAsync: ClientCore {
    /// Runs `op` through the session; see [`Call`](proto::Call).
    fn execute<O>(&self, op: O) -> impl Future<Output = Result<O::Output, Error>> + Send
    where
        O: Operation + Send,
        O::Output: Send;
}
