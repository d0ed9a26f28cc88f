//! The client shell: what every ConnectyCube client holds, whatever carries
//! its bytes, written once for `cube-blocking` and `cube-async`.
//!
//! An adapter is a transport, a short drive loop and byte pumps. The rest
//! of a client is here, and decides nothing about the wire or the session
//! (that is `cube-proto`'s); it only holds and moves state:
//!
//! * [`Shell`]: the configuration, the session under its lock (read without
//!   copying it), the listener told of each change after the lock is let go,
//!   the clock, the restore callback and its turn, and the adapter's
//!   transport; the steps of the drive loop ([`Shell::poll`],
//!   [`Shell::handle_response`], [`Shell::handle_failure`],
//!   [`Shell::provide_restore`]) with the nonce and the time they need.
//! * [`Error`]: the one error of both adapters, and its helpers.
//! * [`trace::CallSpan`]: the `cube_call` span of each call.
//! * [`builder`]: the builder's settings and the step from them to a shell.
//! * [`surface`]: the calls every client offers, as macros each adapter
//!   expands, and the traits they need.
//! * [`transfer`]: the options of uploads and downloads, their cancel
//!   handle and the count of bytes moved.
//! * [`names`]: what an application names, re-exported at the root of each
//!   adapter.
//!
//! The adapter's drive loop, the whole of what it decides being I/O:
//!
//! ```text
//! let mut call = shell.call(op);
//! loop {
//!     match shell.poll(&mut call)? {
//!         Step::Send(request) => match transport.send(request) {
//!             Ok(response) => shell.handle_response(&mut call, response)?,
//!             Err(unanswered) => shell.handle_failure(&mut call, unanswered)?,
//!         },
//!         Step::TakeRestoreTurn => turn = Some(shell.restore_turn().lock()),
//!         Step::AskRestore => shell.provide_restore(&mut call, shell.restore_callback().map(|r| r()))?,
//!         Step::ReleaseRestoreTurn => drop(turn.take()),
//!         Step::Wait(pause) => sleep(pause),
//!         Step::Done(result) => return Ok(result?),
//!     }
//! }
//! ```

pub mod builder;
mod clock;
pub mod error;
mod shell;
pub mod surface;
pub mod trace;
pub mod transfer;

pub use clock::SystemClock;
pub use error::Error;
pub use proto::Clock;
pub use shell::{Adapter, Roots, Shell, Unanswered, random_boundary};

/// The protocol crate the shell holds the state of.
pub use proto;

/// What an application names: re-exported at the root of each adapter
/// (`pub use cube_shell::names::*;`) — credentials and session types, the
/// user builders, the search builder, files, pages and errors.
pub mod names {
    pub use crate::transfer::CancelHandle;
    pub use crate::{Clock, Error, Roots, SystemClock};
    /// The protocol's error, which [`Error::Proto`] carries.
    pub use proto::Error as ProtoError;
    pub use proto::error::{ApiError, CallError, ErrorMessages, InvalidInput};
    pub use proto::model::{Blob, BlobObjectAccess, PageV1, PageV2};
    pub use proto::ops::{CreateBlob, NewUser, Upload, UserUpdate};
    pub use proto::retry::RetryPolicy;
    pub use proto::search::{
        Direction, Field, Filter, ListUsers, Operator, Paging, Rule, SearchError, SearchUsers,
        UserSearch, V1Filter, V1Operator, V1Type,
    };
    pub use proto::{
        Credentials, ExpiredBy, IssuedToken, Misuse, RestoreAnswer, Secret, SessionChange,
        SessionEvent, SessionInfo, SessionKind, SessionSnapshot, SessionStatus, SignatureAlgorithm,
        User,
    };
}
