//! `cube login`, `logout`, `whoami` and `session`.

use super::Invocation;
use crate::cli::{AccountArgs, LoginArgs, SessionArgs, SessionCommand};
use crate::config::profile_flag;
use crate::error::{Failure, Result};
use crate::output::{human_duration, human_time, rfc3339};
use crate::prompt::{self, Kind};
use crate::session::{Identity, Restore};
use cube_blocking::SessionStatus;
use serde_json::json;

pub(super) fn run(ctx: &Invocation, args: SessionArgs) -> Result<()> {
    match args.command {
        None => show(ctx),
        Some(SessionCommand::Destroy {
            id: None,
            others: false,
        }) => logout(ctx),
        Some(SessionCommand::Destroy { id: Some(id), .. }) => destroy_one(ctx, id),
        Some(SessionCommand::Destroy { others: true, .. }) => destroy_others(ctx),
    }
}

/// The login or e-mail given on the command line.
pub(super) fn identity(account: &AccountArgs) -> Result<Identity> {
    match (&account.login, &account.email) {
        (Some(login), None) => Ok(Identity::Login(login.clone())),
        (None, Some(email)) => Ok(Identity::Email(email.clone())),
        _ => Err(Failure::usage("give --login or --email")),
    }
}

pub(super) fn login(ctx: &Invocation, args: LoginArgs) -> Result<()> {
    let identity = identity(&args.account)?;
    let password = prompt::passwords(&args.password, &[("Password: ", Kind::Current)])?.remove(0);
    let conn = ctx.connect(Restore::Never)?;
    conn.set_identity(Some(identity.clone()));
    let info = conn
        .client
        .create_session(identity.credentials(password))
        .map_err(|e| refused_sign_in(&e, &identity).unwrap_or_else(|| conn.failure(e)))?;
    let user_id = info.user_id.or(conn.client.current_user_id());
    let expires = conn.client.session_expires_at();
    ctx.out.result(
        json!({
            "profile": conn.profile(),
            "session_id": info.id,
            "user_id": user_id,
            "expires_at": expires.map(rfc3339),
        }),
        &format!(
            "Signed in as {identity} (user {}) for profile '{}'; session {} kept until {}",
            user_id.map_or("?".to_owned(), |id| id.to_string()),
            conn.profile(),
            info.id,
            expires.map_or("its deadline".to_owned(), human_time),
        ),
    )
}

/// A sign-in the server refused, in the user's words: the SDK classifies
/// the answer by status and message, whichever form its body took.
fn refused_sign_in(error: &cube_blocking::Error, identity: &Identity) -> Option<Failure> {
    if error.is_bad_credentials() {
        Some(Failure::refused(format!("wrong password for {identity}")))
    } else if error.is_not_found() {
        Some(Failure::refused(format!("no such user: {identity}")))
    } else {
        None
    }
}

pub(super) fn logout(ctx: &Invocation) -> Result<()> {
    let conn = ctx.connect(Restore::Never)?;
    let status = conn.client.session_status();
    let result = json!({"profile": conn.profile(), "signed_out": true});
    match status {
        SessionStatus::None => {
            return Err(Failure::refused(format!(
                "not signed in: profile '{}' has no session to end",
                conn.profile()
            )));
        }
        // Dead already: nothing to tell the server.
        SessionStatus::Expired => conn.client.forget_session(),
        SessionStatus::Application | SessionStatus::User | SessionStatus::Guest => {
            match conn.client.destroy_session() {
                Ok(()) => {}
                Err(e) if e.is_session_expired() || e.is_not_found() => {
                    conn.client.forget_session()
                }
                Err(e) => return Err(conn.failure(e)),
            }
        }
    }
    conn.set_identity(None);
    ctx.out.result(
        result,
        &format!("Signed out of profile '{}'", conn.profile()),
    )
}

pub(super) fn whoami(ctx: &Invocation) -> Result<()> {
    let conn = ctx.connect(Restore::Ask)?;
    let id = conn.require_user()?;
    let user = conn.client.get_user(id).map_err(|e| conn.failure(e))?;
    let user =
        user.ok_or_else(|| Failure::refused(format!("the signed-in user {id} no longer exists")))?;
    ctx.out.user(&user)
}

/// What the session is: asked of the server when it is live here, so that
/// a session ended elsewhere shows as expired.
fn show(ctx: &Invocation) -> Result<()> {
    let conn = ctx.connect(Restore::Never)?;
    let mut status = conn.client.session_status();
    if matches!(
        status,
        SessionStatus::User | SessionStatus::Guest | SessionStatus::Application
    ) {
        match conn.client.session_info() {
            Ok(_) => status = conn.client.session_status(),
            Err(e) if e.is_session_expired() => status = SessionStatus::Expired,
            Err(e) => return Err(conn.failure(e)),
        }
    }
    let snapshot = conn.client.export_session();
    let kind = match status {
        SessionStatus::None => "none",
        SessionStatus::Application => "application",
        SessionStatus::User => "user",
        SessionStatus::Guest => "guest",
        SessionStatus::Expired => "expired",
    };
    let live = !matches!(status, SessionStatus::None | SessionStatus::Expired);
    let expires = conn.client.session_expires_at().filter(|_| live);
    let left = expires.map(|at| (at - conn.client.now()).whole_seconds().max(0));
    let session_id = snapshot.as_ref().and_then(|s| s.session_id());
    let user_id = snapshot.as_ref().and_then(|s| s.user_id());
    let identity = conn.identity().filter(|_| user_id.is_some());
    if ctx.out.is_json() {
        return ctx.out.document(&json!({
            "profile": conn.profile(),
            "kind": kind,
            "session_id": session_id,
            "user_id": user_id,
            "signed_in_as": identity.as_ref().map(ToString::to_string),
            "expires_at": expires.map(rfc3339),
            "seconds_left": left,
        }));
    }
    let mut rows = vec![
        ("profile", conn.profile().to_owned()),
        ("kind", kind.to_owned()),
    ];
    if let Some(id) = session_id {
        rows.push(("session", id.to_string()));
    }
    if let Some(id) = user_id {
        let who = identity.map_or(String::new(), |i| format!(" ({i})"));
        rows.push(("user", format!("{id}{who}")));
    }
    if let (Some(at), Some(left)) = (expires, left) {
        rows.push(("expires", human_time(at)));
        rows.push(("time left", human_duration(left)));
    }
    if status == SessionStatus::Expired {
        let flag = profile_flag(conn.profile());
        let next = match conn.identity() {
            Some(Identity::Login(login)) => format!(
                "sign in again with `cube{flag} login --login {login}` (a command on a terminal asks for the password)"
            ),
            Some(Identity::Email(email)) => format!(
                "sign in again with `cube{flag} login --email {email}` (a command on a terminal asks for the password)"
            ),
            None => format!("sign in again with `cube{flag} login`"),
        };
        rows.push(("next", next));
    }
    ctx.out.fields(&rows)
}

fn destroy_one(ctx: &Invocation, id: u64) -> Result<()> {
    let conn = ctx.connect(Restore::Ask)?;
    conn.require_user()?;
    if conn.client.export_session().and_then(|s| s.session_id()) == Some(id) {
        drop(conn);
        return logout(ctx);
    }
    conn.client.destroy_session_by_id(id).map_err(|e| {
        if e.is_not_found() {
            Failure::refused(format!(
                "no session {id} of yours to destroy: it has ended, or it is not yours"
            ))
        } else {
            conn.failure(e)
        }
    })?;
    ctx.out.result(
        json!({"profile": conn.profile(), "destroyed": [id]}),
        &format!("Destroyed session {id}"),
    )
}

fn destroy_others(ctx: &Invocation) -> Result<()> {
    let conn = ctx.connect(Restore::Ask)?;
    conn.require_user()?;
    conn.client
        .destroy_other_sessions()
        .map_err(|e| conn.failure(e))?;
    ctx.out.result(
        json!({"profile": conn.profile(), "destroyed": "others"}),
        "Destroyed every other session of this user",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use cube_blocking::{ApiError, Error, ProtoError};

    fn answer(status: u16, body: &str) -> Error {
        let status = http::StatusCode::from_u16(status).unwrap();
        Error::from(ProtoError::from(ApiError::from_parts(
            status,
            body.as_bytes(),
        )))
    }

    fn said(error: &Error) -> Option<String> {
        refused_sign_in(error, &Identity::Login("bob".into())).map(|f| f.line())
    }

    #[test]
    fn a_refused_sign_in_says_why_in_either_form() {
        for body in [
            r#"{"errors": ["Invalid password"]}"#,
            r#"{"errors": {"base": ["Invalid password"]}}"#,
            r#"{"errors": ["Unauthorized"]}"#,
            r#"{"errors": {"base": ["Unauthorized"]}}"#,
        ] {
            let failure = refused_sign_in(&answer(401, body), &Identity::Login("bob".into()));
            let failure = failure.expect(body);
            assert_eq!(failure.status, crate::error::Status::Refused);
            assert_eq!(failure.line(), "wrong password for bob", "{body}");
        }
        for body in [
            r#"{"errors": ["User not found"]}"#,
            r#"{"errors": {"base": ["User not found"]}}"#,
        ] {
            assert_eq!(
                said(&answer(404, body)).as_deref(),
                Some("no such user: bob")
            );
        }
        // Anything else is left to the general reading.
        let expired = answer(
            401,
            r#"{"errors": {"base": ["Required session does not exist"]}}"#,
        );
        assert_eq!(said(&expired), None);
        assert_eq!(
            said(&answer(
                422,
                r#"{"errors": {"password": ["cannot be blank"]}}"#
            )),
            None
        );
        assert_eq!(said(&answer(429, "")), None);
    }
}
