//! The ConnectyCube Auth & Users protocol, sans-IO.
//!
//! This crate decides everything about the wire and the session and does no
//! I/O: no sockets, no clock, no randomness, no async. Requests come out as
//! [`http::Request<Vec<u8>>`](http::Request) values, responses go in as
//! [`http::Response<Vec<u8>>`](http::Response), and the current time and a
//! random nonce are arguments. An adapter (`cube-blocking`, `cube-async`, or
//! your own; the first two share the client around the loop, `cube-shell`)
//! carries the bytes. The protocol itself, as this crate and the
//! emulator speak it, is described in the repository's `docs/PROTOCOL.md`.
//!
//! * [`Config`]: application id, auth key, optional auth secret, base URL.
//! * [`ops`]: one value per API call, each an [`Operation`](ops::Operation).
//! * [`Session`]: the session state machine (none, application, user, guest,
//!   expired), with expiry taken from `CB-Token-ExpirationDate`.
//! * [`Call`]: drives one operation through the session: creates or restores a
//!   session when needed, retries once after a lost session, never loops. A
//!   typed phase machine: polling a finished call is a [`Misuse`], never a
//!   resend. Its [`report`](Call::report) is what an adapter's span per
//!   call records: the operation's name, the retry, the session created or
//!   restored, the status, the requests, resends and waits.
//! * [`retry`]: transient failures (`429`, `502`, `503`, `504`, a refused or
//!   reset connection, a timeout before the answer) sent again under a
//!   [`RetryPolicy`](retry::RetryPolicy) — the call says how long to wait
//!   ([`Step::Wait`]), the adapter sleeps and reports what failed on the
//!   way ([`Call::handle_failure`]); a request the server may have acted on
//!   goes again only if it may be repeated.
//! * [`server_time`]: the server's clock from its answers' `Date`, kept by
//!   the session; a session request whose time the server refuses is
//!   signed once more on it, and the session keeps signing on it.
//! * [`SessionSnapshot`], [`IssuedToken`]: save a session and resume it, or
//!   adopt a token minted elsewhere; [`SessionEvent`]: every change of the
//!   session, as the state machine reports it.
//! * [`transfer`]: uploads and downloads as state machines driven like
//!   [`Call`]: create, stream, complete (or delete again); locate, follow
//!   the one storage redirect, count the bytes.
//!
//! The loop every adapter runs, here over a transport whose first try finds
//! the server restarting:
//!
//! ```
//! use cube_proto::retry::{AfterFailure, TransportFailure};
//! use cube_proto::{Call, Config, Credentials, Session, Step, ops::CreateSession};
//! use time::macros::datetime;
//!
//! let config = Config::builder(1, "29WfrNWdvkhmX6V").base_url("http://127.0.0.1:8080").build()?;
//! let mut session = Session::default();
//! let mut now = datetime!(2026-11-24 12:00 UTC); // the device's clock
//! let mut transport = [
//!     Err(TransportFailure::Refused),
//!     Ok(http::Response::builder()
//!         .status(201)
//!         .header("CB-Token-ExpirationDate", "2026-11-24 14:00:00 UTC")
//!         .header("Date", "Tue, 24 Nov 2026 12:00:01 GMT")
//!         .body(br#"{"session":{"id":1,"user_id":5,"token":"abc"}}"#.to_vec())?),
//! ]
//! .into_iter();
//! let mut call = Call::new(config, CreateSession::new(Credentials::login("john", "11111111")));
//! let info = loop {
//!     let random = 1 << 31; // a fresh random u32 at each poll, in real life
//!     match call.poll(&mut session, now, random) {
//!         Step::Send(request) => {
//!             assert_eq!(request.uri(), "http://127.0.0.1:8080/session");
//!             match transport.next().unwrap() {
//!                 Ok(response) => call.handle_response(&mut session, response)?,
//!                 Err(failure) => match call.handle_failure(failure)? {
//!                     AfterFailure::Retry => {}
//!                     AfterFailure::GiveUp => panic!("the transport's own error"),
//!                 },
//!             }
//!         }
//!         Step::Wait(pause) => now += pause, // sleep, in real life
//!         Step::TakeRestoreTurn | Step::ReleaseRestoreTurn => {} // the client's restore lock
//!         Step::AskRestore => call.provide_restore(&mut session, None::<Credentials>)?,
//!         Step::Done(result) => break result?,
//!     }
//! };
//! assert_eq!(info.user_id, Some(5));
//! assert!(session.is_valid(now));
//! let report = call.report();
//! assert_eq!((report.requests, report.resends), (2, 1));
//! assert_eq!(report.waited, std::time::Duration::from_millis(250));
//! // The answer's `Date` told the server's clock, should it refuse the device's.
//! assert!(session.server_clock().offset().is_some());
//! // The session reports the change, for an app to persist:
//! let event = session.poll_event().unwrap();
//! assert_eq!(event.change, cube_proto::SessionChange::Created(cube_proto::SessionKind::User));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod call;
mod clock;
pub mod config;
pub mod credentials;
pub mod error;
pub mod events;
pub mod expiry;
pub mod model;
pub mod multipart;
pub mod ops;
pub mod query;
mod restore;
pub mod retry;
pub mod search;
pub mod secret;
pub mod server_time;
pub mod session;
pub mod sign;
pub mod snapshot;
pub mod transfer;
pub mod wire;

pub use call::{Call, Step};
pub use clock::Clock;
pub use config::{Config, SignatureAlgorithm};
pub use credentials::{Credentials, SessionKind};
pub use error::{CallError, Error, Misuse};
pub use events::{ExpiredBy, SessionChange, SessionEvent, SessionListener};
pub use model::{SessionInfo, User};
pub use restore::RestoreAnswer;
pub use secret::Secret;
pub use session::{Session, SessionOptions, SessionStatus};
pub use snapshot::{IssuedToken, SessionSnapshot};

/// The `time` crate, whose types carry the session's deadlines and the
/// clock's readings.
pub use time;
