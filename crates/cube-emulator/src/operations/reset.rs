//! Password reset: the API call that "e-mails" a one-time link into the
//! outbox, and the small HTML page behind that link.

use http::StatusCode;
use serde_json::Value;

use super::{Ctx, Outcome, Reply};
use crate::clock::format_iso;
use crate::crypto::{self, hash_token};
use crate::error::{ApiError, ensure};
use crate::limits::{PASSWORD_CHARS, RESET_TTL, password_ok};
use crate::store::apps::{self, Mail};
use crate::store::sessions;
use crate::store::users::{self, Key};

/// The path of a reset link, below the base URL.
pub(crate) const LINK_PATH: &str = "/users/password/reset/";

/// `GET /users/password/reset?email=` and `POST /users/password/reset
/// {"email"}`. Always `200`, so the answer does not reveal accounts.
pub(crate) async fn request(ctx: &Ctx) -> Outcome {
    let app_id = ctx.session()?.app_id;
    let email = match ctx.query("email") {
        Some(email) => email.to_owned(),
        None => ctx
            .body()?
            .get("email")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
    };
    ensure(!email.is_empty(), || {
        ApiError::invalid_field("email", "can't be blank")
    })?;
    let user = ctx
        .state
        .users
        .by_key(app_id, ctx.now, Key::Email, &email)?;
    let Some(user) = user else {
        return Ok(Reply::empty());
    };
    let Some(to) = user.email else {
        return Ok(Reply::empty());
    };
    let token = crypto::new_token()?;
    let hash = hash_token(&token);
    let link = format!("{}{LINK_PATH}{token}", ctx.base_url);
    let mail = Mail {
        subject: "Reset your password".into(),
        text: format!(
            "Someone asked to reset the password of {to}.\n\n\
             Open this link within one hour to choose a new one:\n{link}\n\n\
             If it was not you, ignore this e-mail."
        ),
        to,
        link,
        token,
        created_at: ctx.now,
    };
    let (user_id, expires) = (user.id, ctx.now + RESET_TTL);
    ctx.state
        .store
        .write(move |db| {
            apps::save_reset_token(db, &hash, user_id, expires)?;
            apps::send_mail(db, &mail)?;
            Ok(())
        })
        .await?;
    Ok(Reply::empty())
}

fn page(title: &str, content: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title></head>\n<body style=\"font-family: sans-serif; max-width: 28em; margin: 3em auto\">\
         <h1>{title}</h1>\n{content}\n</body></html>\n"
    )
}

fn form_page(error: Option<&str>) -> String {
    let error = error.map_or_else(String::new, |e| format!("<p role=\"alert\">{e}</p>\n"));
    let (min, max) = (PASSWORD_CHARS.start(), PASSWORD_CHARS.end());
    page(
        "Choose a new password",
        &format!(
            "{error}<form method=\"post\">\n\
             <label>New password ({min} to {max} characters)<br>\
             <input type=\"password\" name=\"password\" minlength=\"{min}\" maxlength=\"{max}\" required autofocus></label>\n\
             <p><button type=\"submit\">Set password</button></p>\n</form>"
        ),
    )
}

fn invalid_link() -> Reply {
    Reply::html(
        StatusCode::NOT_FOUND,
        page(
            "Link expired",
            "<p>This password-reset link is invalid, was already used, or has expired.</p>",
        ),
    )
}

fn token_user(ctx: &Ctx, token: &str) -> Result<Option<i64>, ApiError> {
    let hash = hash_token(token);
    ctx.state
        .store
        .read(|db| apps::reset_token_user(db, &hash, ctx.now))
        .map_err(ApiError::from)
}

/// `GET /users/password/reset/{token}`: the form.
pub(crate) async fn form(ctx: &Ctx, token: &str) -> Outcome {
    Ok(match token_user(ctx, token)? {
        Some(_) => Reply::html(StatusCode::OK, form_page(None)),
        None => invalid_link(),
    })
}

/// `POST /users/password/reset/{token}`: sets the password, uses up the
/// token and ends every session of the user.
pub(crate) async fn submit(ctx: &Ctx, token: &str) -> Outcome {
    if token_user(ctx, token)?.is_none() {
        return Ok(invalid_link());
    }
    let password = ctx
        .body()?
        .get("password")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if !password_ok(&password) {
        let message = format!(
            "The password must have {} to {} characters.",
            PASSWORD_CHARS.start(),
            PASSWORD_CHARS.end()
        );
        return Ok(Reply::html(
            StatusCode::UNPROCESSABLE_ENTITY,
            form_page(Some(&message)),
        ));
    }
    let hash = ctx.state.passwords.hash(password).await?;
    let token_hash = hash_token(token);
    let now = ctx.now;
    // The token is checked again inside the write: of two concurrent
    // submissions, exactly one uses it.
    let ended = ctx
        .state
        .sessions
        .ending(move |db| {
            let Some(user_id) = apps::reset_token_user(db, &token_hash, now)? else {
                return Ok(None);
            };
            users::set_password(db, user_id, now, &hash)?;
            apps::forget_reset_tokens(db, user_id)?;
            Ok(Some(sessions::delete_all_of_user(db, user_id, None)?))
        })
        .await?;
    if ended.is_none() {
        return Ok(invalid_link());
    }
    Ok(Reply::html(
        StatusCode::OK,
        page(
            "Password changed",
            "<p>Your password has been changed. Sign in again with the new one.</p>",
        ),
    ))
}

/// The outbox item of an e-mail, for the admin API.
pub(crate) fn mail_json(mail: &Mail) -> Value {
    serde_json::json!({
        "to": mail.to,
        "subject": mail.subject,
        "text": mail.text,
        "link": mail.link,
        "token": mail.token,
        "created_at": format_iso(mail.created_at),
    })
}
