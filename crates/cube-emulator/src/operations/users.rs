//! `/users`: sign-up, update and delete self, and single-user look-ups
//! (`docs/PROTOCOL.md`, "Users"); the admin import of many users. Lists
//! and searches are in `search`.

use serde_json::{Map, Value, json};

use super::render;
use super::{Ctx, Expiry, Outcome, Reply};
use crate::error::{ApiError, FieldErrors, ensure};
use crate::limits::{
    CUSTOM_DATA_MAX_BYTES, FULL_NAME_MAX_CHARS, IMPORT_USERS_MAX, LOGIN_CHARS, PASSWORD_CHARS,
    TAGS_MAX, email_ok,
};
use crate::store::sessions;
use crate::store::users::{self, Change, Key, NewUser, User, UserPatch};
use crate::wire::{external_user_id, int_like};

const ONLY_YOURSELF: &str = "You can change only yourself";

/// Validated sign-up or update fields: a patch (for a sign-up, `Some(None)`
/// and `None` both mean "not given") and the passwords.
#[derive(Default)]
pub(crate) struct UserInput {
    patch: UserPatch,
    password: Option<String>,
    old_password: Option<String>,
}

impl UserInput {
    /// The user a sign-up creates (`password_hash` is filled in later).
    fn into_new_user(self) -> NewUser {
        let p = self.patch;
        NewUser {
            login: p.login,
            email: p.email.flatten(),
            password_hash: None,
            full_name: p.full_name.flatten(),
            phone: p.phone.flatten(),
            website: p.website.flatten(),
            external_user_id: p.external_user_id.flatten(),
            external_id: p.external_id.flatten(),
            facebook_id: p.facebook_id.flatten(),
            twitter_id: p.twitter_id.flatten(),
            blob_id: p.blob_id.flatten(),
            custom_data: p.custom_data.flatten(),
            avatar: p.avatar.flatten(),
            tags: p.tags.unwrap_or_default(),
            timezone: p.timezone.flatten(),
            guest_until: None,
            last_request_at: None,
        }
    }
}

/// Text accepted from a string or a number (ids often arrive as numbers).
fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn too_short(min: usize) -> String {
    format!("is too short (minimum is {min} characters)")
}

fn too_long(max: usize) -> String {
    format!("is too long (maximum is {max} characters)")
}

/// A text field: `null` clears it, a string sets it.
fn text_change(value: &Value) -> Option<Change<String>> {
    match value {
        Value::Null => Some(Some(None)),
        Value::String(s) => Some(Some(Some(s.clone()))),
        _ => None,
    }
}

/// Validates the user fields of a sign-up or update; unknown fields are
/// ignored, as the public service does.
pub(crate) fn user_input(fields: &Map<String, Value>) -> Result<UserInput, ApiError> {
    let mut input = UserInput::default();
    let mut errors = FieldErrors::default();
    let p = &mut input.patch;
    for (field, value) in fields {
        let field = field.as_str();
        match field {
            "login" => match value.as_str() {
                // A login cannot be cleared: `null` leaves it as it is.
                _ if value.is_null() => {}
                Some(s) if s.chars().count() < *LOGIN_CHARS.start() => {
                    errors.add(field, too_short(*LOGIN_CHARS.start()));
                }
                Some(s) if s.chars().count() > *LOGIN_CHARS.end() => {
                    errors.add(field, too_long(*LOGIN_CHARS.end()));
                }
                Some(s) => p.login = Some(s.to_owned()),
                None => errors.add(field, "is invalid"),
            },
            "password" => match value.as_str() {
                _ if value.is_null() => {}
                Some(s) if s.chars().count() < *PASSWORD_CHARS.start() => {
                    errors.add(field, too_short(*PASSWORD_CHARS.start()));
                }
                Some(s) if s.chars().count() > *PASSWORD_CHARS.end() => {
                    errors.add(field, too_long(*PASSWORD_CHARS.end()));
                }
                Some(s) => input.password = Some(s.to_owned()),
                None => errors.add(field, "is invalid"),
            },
            "old_password" => input.old_password = value.as_str().map(str::to_owned),
            "email" => match value {
                Value::Null => p.email = Some(None),
                Value::String(s) if email_ok(s) => p.email = Some(Some(s.clone())),
                _ => errors.add(field, "is invalid"),
            },
            "full_name" => match value.as_str() {
                Some(s) if s.chars().count() > FULL_NAME_MAX_CHARS => {
                    errors.add(field, too_long(FULL_NAME_MAX_CHARS));
                }
                _ => match text_change(value) {
                    Some(change) => p.full_name = change,
                    None => errors.add(field, "is invalid"),
                },
            },
            "phone" | "website" | "avatar" => match text_change(value) {
                Some(change) => match field {
                    "phone" => p.phone = change,
                    "website" => p.website = change,
                    _ => p.avatar = change,
                },
                None => errors.add(field, "is invalid"),
            },
            "external_user_id" => match value {
                Value::Null => p.external_user_id = Some(None),
                other => match external_user_id(other) {
                    Ok(n) => p.external_user_id = Some(Some(n)),
                    Err(why) => errors.add(field, why),
                },
            },
            "external_id" | "facebook_id" | "twitter_id" => {
                // An empty id means "none": it must not collide with others.
                let change = match value {
                    Value::Null => Some(None),
                    other => match text_of(other) {
                        Some(s) if s.is_empty() => Some(None),
                        Some(s) => Some(Some(s)),
                        None => {
                            errors.add(field, "is invalid");
                            continue;
                        }
                    },
                };
                match field {
                    "external_id" => p.external_id = change,
                    "facebook_id" => p.facebook_id = change,
                    _ => p.twitter_id = change,
                }
            }
            "custom_data" => {
                let text = match value {
                    Value::Null => {
                        p.custom_data = Some(None);
                        continue;
                    }
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                if text.len() > CUSTOM_DATA_MAX_BYTES {
                    errors.add(
                        field,
                        format!("is too long (maximum is {CUSTOM_DATA_MAX_BYTES} bytes)"),
                    );
                } else {
                    p.custom_data = Some(Some(text));
                }
            }
            "timezone" | "blob_id" => {
                let change = match value {
                    Value::Null => Some(None),
                    other => match int_like(other) {
                        Some(n) => Some(Some(n)),
                        None => {
                            errors.add(field, "is not a number");
                            continue;
                        }
                    },
                };
                if field == "timezone" {
                    p.timezone = change;
                } else {
                    p.blob_id = change;
                }
            }
            "tag_list" | "user_tags" => match value {
                Value::Null => p.tags = Some(Vec::new()),
                other => match tags_of(other) {
                    Some(tags) if tags.len() > TAGS_MAX => {
                        errors.add(
                            "tag_list",
                            format!("is too long (maximum is {TAGS_MAX} tags)"),
                        );
                    }
                    Some(tags) => p.tags = Some(tags),
                    None => errors.add("tag_list", "is invalid"),
                },
            },
            _ => {}
        }
    }
    errors.into_result()?;
    Ok(input)
}

/// Tags from `"a, b"` or `["a", "b"]`: trimmed, empty ones dropped, no
/// duplicates, order kept.
pub(crate) fn tags_of(value: &Value) -> Option<Vec<String>> {
    let raw: Vec<String> = match value {
        Value::String(s) => s.split(',').map(str::to_owned).collect(),
        Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()?,
        _ => return None,
    };
    let mut tags: Vec<String> = Vec::new();
    for tag in raw {
        let tag = tag.trim();
        if !tag.is_empty() && !tag.contains(',') && !tags.iter().any(|t| t == tag) {
            tags.push(tag.to_owned());
        }
    }
    Some(tags)
}

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
    errors.into_result()
}

/// `POST /users` with a session token or `CB-AuthKey`.
pub(crate) async fn sign_up(ctx: &Ctx) -> Outcome {
    let app_id = match (&ctx.session, ctx.header("cb-authkey")) {
        (Some(session), _) => session.app_id,
        (None, Some(key)) => {
            ctx.state
                .app_by_key(key)
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
        user.password_hash = Some(ctx.state.hash_password(password).await?);
    }
    let now = ctx.now;
    let user = ctx
        .state
        .store
        .write(move |db| {
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
            .store
            .read(|db| Ok(users::find_by_id(db, app_id, ctx.now, me)?))?
            .ok_or_else(ApiError::not_found)?
            .password_hash;
        let old_ok = match (input.old_password.take(), current) {
            (Some(old), Some(hash)) => ctx.state.verify_password(old, hash).await,
            _ => false,
        };
        ensure(old_ok, || {
            ApiError::invalid_field("old_password", "is incorrect")
        })?;
        input.patch.password_hash = Some(ctx.state.hash_password(password).await?);
    }
    let now = ctx.now;
    let patch = input.patch;
    let user = ctx
        .state
        .store
        .write(move |db| {
            users::update(db, app_id, me, now, &patch)?;
            users::find_by_id(db, app_id, now, me)?.ok_or_else(ApiError::not_found)
        })
        .await?;
    Ok(Reply::ok_text(render::wrapped_user(
        &ctx.state.overlay(user),
    )))
}

/// Deletes `user_id` with all its sessions; the caller's token dies too.
async fn delete_user(ctx: &Ctx, user_id: i64) -> Outcome {
    let hashes = ctx
        .state
        .store
        .write(move |db| {
            let hashes = sessions::delete_all_of_user(db, user_id, None)?;
            users::delete(db, user_id)?;
            Ok(hashes)
        })
        .await?;
    ctx.state.forget_sessions(&hashes);
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
        .store
        .read(|db| Ok(users::find_external(db, app_id, ctx.now, external)?))?
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
    Ok(Reply::ok_text(render::wrapped_user(
        &ctx.state.overlay(user),
    )))
}

/// `GET /users/{id}`.
pub(crate) async fn show(ctx: &Ctx, id: &str) -> Outcome {
    let app_id = ctx.session()?.app_id;
    let id = parse_id(id)?;
    let user = ctx
        .state
        .store
        .read(|db| Ok(users::find_by_id(db, app_id, ctx.now, id)?))?
        .ok_or_else(ApiError::not_found)?;
    Ok(Reply::ok_text(render::wrapped_user(
        &ctx.state.overlay(user),
    )))
}

/// `GET /users/by_login?login=` and its siblings.
pub(crate) async fn show_by(ctx: &Ctx, key: Key, param: &str) -> Outcome {
    let app_id = ctx.session()?.app_id;
    let value = ctx.required_query(param)?;
    let user = ctx
        .state
        .store
        .read(|db| Ok(users::find(db, app_id, ctx.now, key, value)?))?
        .ok_or_else(ApiError::not_found)?;
    Ok(Reply::ok_text(render::wrapped_user(
        &ctx.state.overlay(user),
    )))
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
        .filter(|id| ctx.state.app(*id).is_some())
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
            user.password_hash = Some(ctx.state.hash_password(password).await?);
        }
        new_users.push(user);
    }
    let now = ctx.now;
    let ids = ctx
        .state
        .store
        .write(move |db| {
            new_users
                .iter()
                .enumerate()
                .map(|(i, user)| users::insert(db, app_id, now, user).map_err(|e| at(i, e.into())))
                .collect::<Result<Vec<i64>, ApiError>>()
        })
        .await?;
    Ok(Reply::created(json!({ "ids": ids })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tags_normalise() {
        assert_eq!(tags_of(&json!(" a,b ,,a")).unwrap(), vec!["a", "b"]);
        assert_eq!(tags_of(&json!(["x", "y"])).unwrap(), vec!["x", "y"]);
        assert!(tags_of(&json!(3)).is_none());
    }

    #[test]
    fn validation_collects_field_errors() {
        let err = user_input(
            json!({"login": "ab", "email": "bad", "password": "short", "tag_list": "1,2,3,4,5,6"})
                .as_object()
                .unwrap(),
        )
        .err()
        .unwrap();
        assert_eq!(err.errors.len(), 4);
        assert_eq!(
            err.errors["login"],
            vec!["is too short (minimum is 3 characters)"]
        );
        assert_eq!(
            err.errors["tag_list"],
            vec!["is too long (maximum is 5 tags)"]
        );
    }
}
