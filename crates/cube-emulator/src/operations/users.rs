//! `/users`: sign-up, update and delete self, and single-user look-ups
//! (`docs/PROTOCOL.md`, "Users"); the admin import of many users. Lists
//! and searches are in `search`.

use serde_json::{Map, Value, json};

use super::render;
use super::{Ctx, Expiry, Outcome, Reply};
use crate::error::{ApiError, ensure};
use crate::limits::IMPORT_USERS_MAX;
use crate::store::sessions;
use crate::store::users::{self, Key, User};
use crate::user_fields::{UserInput, user_input};
use crate::validation::FieldErrors;

const ONLY_YOURSELF: &str = "You can change only yourself";

fn user_fields(ctx: &Ctx) -> Result<&Map<String, Value>, ApiError> {
    ctx.body()?
        .get("user")
        .and_then(Value::as_object)
        .ok_or_else(|| ApiError::invalid_field("user", "can't be blank"))
}

fn parse_id(id: &str) -> Result<i64, ApiError> {
    id.parse().map_err(|_| ApiError::not_found())
}

/// The sign-up rules beyond single fields: a login or an e-mail.
fn check_sign_up(input: &UserInput, password_required: bool) -> Result<(), ApiError> {
    let mut errors = FieldErrors::default();
    let p = &input.patch;
    if p.login.is_none() && !matches!(p.email, Some(Some(_))) {
        errors.add("base", "Login or email required");
    }
    if password_required && input.password.is_none() {
        errors.add("password", "can't be blank");
    }
    errors.into_result().map_err(ApiError::from)
}

/// `POST /users` with a session token or `CB-AuthKey`.
pub(crate) async fn sign_up(ctx: &Ctx) -> Outcome {
    let app_id = match (&ctx.caller.session, ctx.header("cb-authkey")) {
        (Some(session), _) => session.app_id,
        (None, Some(key)) => {
            ctx.state
                .apps
                .by_key(key)
                .ok_or_else(ApiError::unauthorized)?
                .id
        }
        (None, None) => return Err(ApiError::no_token()),
    };
    let mut input = user_input(user_fields(ctx)?)?;
    check_sign_up(&input, true)?;
    let password = input.password.take();
    let mut user = input.into_new_user();
    if let Some(password) = password {
        user.password_hash = Some(ctx.state.passwords.hash(password).await?);
    }
    let now = ctx.now;
    let user = ctx
        .state
        .store
        .write_checked(move |db| {
            let id = users::insert(db, app_id, now, &user)?;
            users::find_by_id(db, app_id, now, id)?.ok_or_else(ApiError::not_found)
        })
        .await?;
    Ok(Reply::json_text(
        http::StatusCode::CREATED,
        render::wrapped_user(&user),
    ))
}

/// `PUT /users/{id}`: only yourself; a new password needs the old one.
pub(crate) async fn update(ctx: &Ctx, id: &str) -> Outcome {
    let me = ctx.user_id()?;
    let app_id = ctx.session()?.app_id;
    let id = parse_id(id)?;
    ensure(id == me, || ApiError::forbidden(ONLY_YOURSELF))?;
    let mut input = user_input(user_fields(ctx)?)?;
    if let Some(password) = input.password.take() {
        let current = ctx
            .state
            .users
            .by_id(app_id, ctx.now, me)?
            .ok_or_else(ApiError::not_found)?
            .password_hash;
        let old_ok = match (input.old_password.take(), current) {
            (Some(old), Some(hash)) => ctx.state.passwords.verify(old, hash).await,
            _ => false,
        };
        ensure(old_ok, || {
            ApiError::invalid_field("old_password", "is incorrect")
        })?;
        input.patch.password_hash = Some(ctx.state.passwords.hash(password).await?);
    }
    let now = ctx.now;
    let patch = input.patch;
    let user = ctx
        .state
        .store
        .write_checked(move |db| {
            users::update(db, app_id, me, now, &patch)?;
            users::find_by_id(db, app_id, now, me)?.ok_or_else(ApiError::not_found)
        })
        .await?;
    Ok(Reply::ok_text(render::wrapped_user(
        &ctx.state.users.fresh(user),
    )))
}

/// Deletes `user_id` with all its sessions; the caller's token dies too.
async fn delete_user(ctx: &Ctx, user_id: i64) -> Outcome {
    ctx.state
        .sessions
        .ending(move |db| {
            let hashes = sessions::delete_all_of_user(db, user_id, None)?;
            users::delete(db, user_id)?;
            Ok(hashes)
        })
        .await?;
    Ok(Reply::empty().with_expiry(Expiry::Ended))
}

/// `DELETE /users/{id}`: only yourself.
pub(crate) async fn delete(ctx: &Ctx, id: &str) -> Outcome {
    let me = ctx.user_id()?;
    let id = parse_id(id)?;
    ensure(id == me, || ApiError::forbidden(ONLY_YOURSELF))?;
    delete_user(ctx, me).await
}

fn find_external(ctx: &Ctx, app_id: i64, external: &str) -> Result<User, ApiError> {
    ctx.state
        .users
        .by_external(app_id, ctx.now, external)?
        .ok_or_else(ApiError::not_found)
}

/// `DELETE /users/external/{external_id}`: only yourself.
pub(crate) async fn delete_external(ctx: &Ctx, external: &str) -> Outcome {
    let me = ctx.user_id()?;
    let user = find_external(ctx, ctx.session()?.app_id, external)?;
    ensure(user.id == me, || ApiError::forbidden(ONLY_YOURSELF))?;
    delete_user(ctx, me).await
}

/// `GET /users/external/{id}`: `external_id` first, then `external_user_id`.
pub(crate) async fn show_external(ctx: &Ctx, external: &str) -> Outcome {
    let user = find_external(ctx, ctx.session()?.app_id, external)?;
    Ok(Reply::ok_text(render::wrapped_user(&user)))
}

/// `GET /users/{id}`.
pub(crate) async fn show(ctx: &Ctx, id: &str) -> Outcome {
    let app_id = ctx.session()?.app_id;
    let id = parse_id(id)?;
    let user = ctx
        .state
        .users
        .by_id(app_id, ctx.now, id)?
        .ok_or_else(ApiError::not_found)?;
    Ok(Reply::ok_text(render::wrapped_user(&user)))
}

/// `GET /users/by_login?login=` and its siblings.
pub(crate) async fn show_by(ctx: &Ctx, key: Key, param: &str) -> Outcome {
    let app_id = ctx.session()?.app_id;
    let value = ctx.required_query(param)?;
    let user = ctx
        .state
        .users
        .by_key(app_id, ctx.now, key, value)?
        .ok_or_else(ApiError::not_found)?;
    Ok(Reply::ok_text(render::wrapped_user(&user)))
}

/// `POST /_emulator/apps/{id}/users {"users": [...]}`: creates many users
/// at once, for loading a realistic user base. Each item takes the
/// sign-up fields; `password` is optional (a user without one cannot sign
/// in with a password). All or nothing, in one transaction: a failing item
/// is `422` with its errors under `users[i].field`.
pub(crate) async fn import(ctx: &Ctx, app: &str) -> Outcome {
    let app_id = app
        .parse::<i64>()
        .ok()
        .filter(|id| ctx.state.apps.get(*id).is_some())
        .ok_or_else(ApiError::not_found)?;
    let items = ctx
        .body()?
        .get("users")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::invalid_field("users", "must be a list of users"))?;
    ensure(items.len() <= IMPORT_USERS_MAX, || {
        ApiError::invalid_field(
            "users",
            format!("has too many items (maximum is {IMPORT_USERS_MAX})"),
        )
    })?;
    let at = |i: usize, err: ApiError| ApiError {
        status: err.status,
        form: err.form,
        errors: err
            .errors
            .into_iter()
            .map(|(field, messages)| (format!("users[{i}].{field}"), messages))
            .collect(),
    };
    let mut new_users = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let fields = item
            .as_object()
            .ok_or_else(|| ApiError::invalid_field(&format!("users[{i}]"), "is invalid"))?;
        let mut input = user_input(fields).map_err(|e| at(i, e))?;
        check_sign_up(&input, false).map_err(|e| at(i, e))?;
        let password = input.password.take();
        let mut user = input.into_new_user();
        if let Some(password) = password {
            user.password_hash = Some(ctx.state.passwords.hash(password).await?);
        }
        new_users.push(user);
    }
    let now = ctx.now;
    let ids = ctx
        .state
        .store
        .write_checked(move |db| {
            new_users
                .iter()
                .enumerate()
                .map(|(i, user)| users::insert(db, app_id, now, user).map_err(|e| at(i, e.into())))
                .collect::<Result<Vec<i64>, ApiError>>()
        })
        .await?;
    Ok(Reply::created(json!({ "ids": ids })))
}
