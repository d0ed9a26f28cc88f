//! Who a request comes from, decided before any operation runs. The router
//! says which step a route takes; this module says whether the caller
//! passes it:
//!
//! * **The ConnectyCube API**: the session `CB-Token` names ([`caller`]),
//!   with its application and user. No token is no session (each operation
//!   says whether it needs one); a token that names no live session is
//!   `401 Required session does not exist`, whatever the route.
//! * **The admin API** ([`admin`]): never a web page of another origin;
//!   with an admin token, whoever sends it; without one, a loopback peer
//!   naming a loopback host.
//!
//! Both are steps of their own rather than parts of the router because
//! they are rules, not HTTP plumbing: the file URLs take a session from
//! `?token=` by the same rule as `CB-Token` ([`session_of`]), and the web
//! UI's files take the admin rules while loading without the admin token.

use std::net::IpAddr;

use http::{HeaderMap, StatusCode};

use crate::crypto::{Secret, constant_time_eq};
use crate::error::{ApiError, UNAUTHORIZED, ensure};
use crate::state::sessions::Sessions;
use crate::store::sessions::SessionRow;

/// The caller of the ConnectyCube API: the token sent and the live
/// session it names (both `None` without a token).
#[derive(Debug, Clone, Default)]
pub(crate) struct Caller {
    /// `CB-Token`, when it named a live session.
    pub(crate) token: Option<String>,
    pub(crate) session: Option<SessionRow>,
}

impl Caller {
    /// The caller's session, or `401 Token is required`: a token that
    /// names no live session never gets this far ([`caller`] answers
    /// `Required session does not exist`), so none was sent.
    pub(crate) fn session(&self) -> Result<&SessionRow, ApiError> {
        self.session.as_ref().ok_or_else(ApiError::no_token)
    }

    /// The caller's user; an application session is `403 Forbidden. Need user.`.
    pub(crate) fn user_id(&self) -> Result<i64, ApiError> {
        self.session()?.user_id.ok_or_else(ApiError::need_user)
    }
}

/// The live session of `token` at `now` (its deadline re-armed), or `401
/// Required session does not exist`.
pub(crate) fn session_of(
    sessions: &Sessions,
    token: &str,
    now: i64,
) -> Result<SessionRow, ApiError> {
    sessions
        .authenticate(token, now)?
        .ok_or_else(ApiError::no_session)
}

/// The caller named by a request's `CB-Token`. With `ignore_token` (the
/// route makes a new session, or is the emulator's own) a token sent is
/// not looked at.
pub(crate) fn caller(
    sessions: &Sessions,
    headers: &HeaderMap,
    ignore_token: bool,
    now: i64,
) -> Result<Caller, ApiError> {
    let token = headers
        .get("cb-token")
        .and_then(|v| v.to_str().ok())
        .filter(|t| !t.is_empty() && !ignore_token)
        .map(str::to_owned);
    let Some(token) = token else {
        return Ok(Caller::default());
    };
    let session = session_of(sessions, &token, now)?;
    Ok(Caller {
        token: Some(token),
        session: Some(session),
    })
}

/// Who may use the admin API (`docs/EMULATOR.md`, "Admin API"): never a web page of another
/// origin (an `Origin` that is not `http://{Host}` is `403`, whatever
/// else the request carries); then, with an admin token, whoever sends
/// `Bearer <token>` (`401` otherwise); without one, a loopback peer that
/// names the emulator by a loopback name (`403` otherwise, which also
/// defeats DNS rebinding: the attacker's page would send its own name).
pub(crate) fn admin(
    admin_token: Option<&Secret>,
    headers: &HeaderMap,
    host: Option<&str>,
    peer: IpAddr,
) -> Result<(), ApiError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(origin) = headers.get(http::header::ORIGIN) {
        let own = host.is_some_and(|host| {
            origin
                .to_str()
                .is_ok_and(|o| o.eq_ignore_ascii_case(&format!("http://{host}")))
        });
        ensure(own, || {
            ApiError::forbidden("The admin API does not answer web pages of other origins")
        })?;
    }
    match admin_token {
        Some(expected) => {
            let given = header("authorization")
                .and_then(|h| h.strip_prefix("Bearer "))
                .unwrap_or_default();
            // The admin API is the emulator's own: its errors keep one
            // form (the object form), whatever ConnectyCube sends.
            ensure(
                constant_time_eq(given.as_bytes(), expected.expose().as_bytes()),
                || ApiError::new(StatusCode::UNAUTHORIZED, UNAUTHORIZED),
            )
        }
        None => ensure(
            peer.to_canonical().is_loopback() && host.is_some_and(is_loopback_host),
            || {
                ApiError::forbidden(
                    "The admin API answers loopback peers naming a loopback host only (or set an admin token)",
                )
            },
        ),
    }
}

/// `localhost`, `127.0.0.1` or `[::1]`, with or without a port.
fn is_loopback_host(host: &str) -> bool {
    let name = match host.rsplit_once(':') {
        Some((name, port)) if !name.ends_with(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            name
        }
        _ => host,
    };
    name.eq_ignore_ascii_case("localhost") || name == "127.0.0.1" || name == "[::1]"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        for host in [
            "localhost",
            "LocalHost:8080",
            "127.0.0.1",
            "127.0.0.1:1",
            "[::1]",
            "[::1]:8080",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "",
            "evil.example",
            "localhost.evil.example",
            "127.0.0.1.evil.example:80",
            "127.0.0.2",
            "[::2]:80",
            "::1",
            "localhost:80:80",
            "0.0.0.0:8080",
            "192.0.2.1",
            "localhost.",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }
}
