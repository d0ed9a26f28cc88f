//! `/users`: sign-up, update and delete self, and single-user look-ups
//! (PROTOCOL.md sections 5 and 6). Lists and searches are in `search`.

use rusqlite::types::Value as Sql;
use serde_json::{Map, Value};

use super::{Ctx, Expiry, Outcome, Reply};
use crate::error::{ApiError, FieldErrors, ensure};
use crate::store::sessions;
use crate::store::users::{self, Key, UserRow};
use crate::wire::int_like;

const MAX_TAGS: usize = 5;
const MAX_FULL_NAME: usize = 200;
const MAX_CUSTOM_DATA: usize = 64 * 1024;
const ONLY_YOURSELF: &str = "You can change only yourself";

pub(crate) fn valid_login(login: &str) -> bool {
    (3..=70).contains(&login.chars().count())
}

pub(crate) fn valid_password(password: &str) -> bool {
    (8..=40).contains(&password.chars().count())
}

/// A pragmatic well-formedness check: `local@domain.tld`, no spaces.
pub(crate) fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && email.len() <= 254
        && !domain.contains('@')
        && !email.chars().any(char::is_whitespace)
        && domain
            .split_once('.')
            .is_some_and(|(host, tld)| !host.is_empty() && !tld.is_empty() && !tld.ends_with('.'))
}

/// Validated sign-up or update fields.
#[derive(Default)]
pub(crate) struct UserInput {
    columns: Vec<(&'static str, Sql)>,
    password: Option<String>,
    old_password: Option<String>,
}

impl UserInput {
    fn sets(&self, column: &str) -> bool {
        self.columns
            .iter()
            .any(|(c, v)| *c == column && !matches!(v, Sql::Null))
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

/// Validates the user fields of a sign-up or update; unknown fields are
/// ignored, as the public service does.
pub(crate) fn user_input(fields: &Map<String, Value>) -> Result<UserInput, ApiError> {
    let mut input = UserInput::default();
    let mut errors = FieldErrors::default();
    for (field, value) in fields {
        let field = field.as_str();
        if value.is_null() {
            // `null` clears a field; login and password cannot be cleared.
            if let Some(column) = column(field).filter(|c| *c != "login") {
                input.columns.push((column, Sql::Null));
                if column == "email" {
                    input.columns.push(("email_key", Sql::Null));
                }
            }
            continue;
        }
        let Some(name) = column(field) else {
            // Not a stored field: the passwords, or unknown (ignored).
            match (field, value.as_str()) {
                ("password", Some(s)) if s.chars().count() < 8 => {
                    errors.add(field, "is too short (minimum is 8 characters)");
                }
                ("password", Some(s)) if s.chars().count() > 40 => {
                    errors.add(field, "is too long (maximum is 40 characters)");
                }
                ("password", Some(s)) => input.password = Some(s.to_owned()),
                ("password", None) => errors.add(field, "is invalid"),
                ("old_password", old) => input.old_password = old.map(str::to_owned),
                _ => {}
            }
            continue;
        };
        match field {
            "login" => match value.as_str() {
                Some(s) if s.chars().count() < 3 => {
                    errors.add(field, "is too short (minimum is 3 characters)");
                }
                Some(s) if s.chars().count() > 70 => {
                    errors.add(field, "is too long (maximum is 70 characters)");
                }
                Some(s) => input.columns.push(("login", Sql::Text(s.to_owned()))),
                None => errors.add(field, "is invalid"),
            },
            "email" => match value.as_str() {
                Some(s) if valid_email(s) => {
                    input.columns.push(("email", Sql::Text(s.to_owned())));
                    input
                        .columns
                        .push(("email_key", Sql::Text(s.to_lowercase())));
                }
                _ => errors.add(field, "is invalid"),
            },
            "full_name" => match value.as_str() {
                Some(s) if s.chars().count() > MAX_FULL_NAME => {
                    errors.add(field, "is too long (maximum is 200 characters)");
                }
                Some(s) => input.columns.push(("full_name", Sql::Text(s.to_owned()))),
                None => errors.add(field, "is invalid"),
            },
            "phone" | "website" | "avatar" => match value.as_str() {
                Some(s) => input.columns.push((name, Sql::Text(s.to_owned()))),
                None => errors.add(field, "is invalid"),
            },
            "external_id" | "facebook_id" | "twitter_id" | "external_user_id" => {
                match text_of(value) {
                    // An empty id means "none": it must not collide in the unique index.
                    Some(s) if s.is_empty() => input.columns.push((name, Sql::Null)),
                    Some(s) => input.columns.push((name, Sql::Text(s))),
                    None => errors.add(field, "is invalid"),
                }
            }
            "custom_data" => {
                let text = match value {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                if text.len() > MAX_CUSTOM_DATA {
                    errors.add(field, "is too long (maximum is 65536 bytes)");
                } else {
                    input.columns.push(("custom_data", Sql::Text(text)));
                }
            }
            "timezone" | "blob_id" => match int_like(value) {
                Some(n) => input.columns.push((name, Sql::Integer(n))),
                None => errors.add(field, "is not a number"),
            },
            "tag_list" | "user_tags" => match tags_of(value) {
                Some(tags) if tags.len() > MAX_TAGS => {
                    errors.add("tag_list", "is too long (maximum is 5 tags)");
                }
                Some(tags) if tags.is_empty() => input.columns.push(("user_tags", Sql::Null)),
                Some(tags) => input.columns.push(("user_tags", Sql::Text(tags.join(",")))),
                None => errors.add("tag_list", "is invalid"),
            },
            _ => {}
        }
    }
    errors.into_result()?;
    Ok(input)
}

/// The column a sign-up/update field is stored in.
fn column(field: &str) -> Option<&'static str> {
    Some(match field {
        "login" => "login",
        "email" => "email",
        "full_name" => "full_name",
        "phone" => "phone",
        "website" => "website",
        "avatar" => "avatar",
        "external_id" => "external_id",
        "facebook_id" => "facebook_id",
        "twitter_id" => "twitter_id",
        "external_user_id" => "external_user_id",
        "custom_data" => "custom_data",
        "timezone" => "timezone",
        "blob_id" => "blob_id",
        "tag_list" | "user_tags" => "user_tags",
        _ => return None,
    })
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
        (None, None) => return Err(ApiError::no_session()),
    };
    let mut input = user_input(user_fields(ctx)?)?;
    let mut errors = FieldErrors::default();
    if !input.sets("login") && !input.sets("email") {
        errors.add("base", "Login or email required");
    }
    if input.password.is_none() {
        errors.add("password", "can't be blank");
    }
    errors.into_result()?;
    if let Some(password) = input.password.take() {
        let hash = ctx.state.hash_password(password).await?;
        input.columns.push(("password_hash", Sql::Text(hash)));
    }
    let now = ctx.now;
    let user = ctx
        .state
        .store
        .write(move |c| {
            let id = users::insert(c, app_id, now, &input.columns)?;
            users::find(c, app_id, now, Key::Id, Sql::Integer(id))?.ok_or_else(ApiError::not_found)
        })
        .await?;
    Ok(Reply::created(users::wrap(&user)))
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
            .read(|c| Ok(users::find(c, app_id, ctx.now, Key::Id, Sql::Integer(me))?))?
            .ok_or_else(ApiError::not_found)?
            .password_hash;
        let old_ok = match (input.old_password.take(), current) {
            (Some(old), Some(hash)) => ctx.state.verify_password(old, hash).await,
            _ => false,
        };
        ensure(old_ok, || {
            ApiError::invalid_field("old_password", "is incorrect")
        })?;
        let hash = ctx.state.hash_password(password).await?;
        input.columns.push(("password_hash", Sql::Text(hash)));
    }
    let now = ctx.now;
    let user = ctx
        .state
        .store
        .write(move |c| {
            users::update(c, me, now, &input.columns)?;
            users::find(c, app_id, now, Key::Id, Sql::Integer(me))?.ok_or_else(ApiError::not_found)
        })
        .await?;
    Ok(Reply::ok(users::wrap(&ctx.state.overlay(user))))
}

/// Deletes `user_id` with all its sessions; the caller's token dies too.
async fn delete_user(ctx: &Ctx, user_id: i64) -> Outcome {
    let hashes = ctx
        .state
        .store
        .write(move |c| {
            let hashes = sessions::delete_all_of_user(c, user_id, None)?;
            users::delete(c, user_id)?;
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

fn find_external(ctx: &Ctx, app_id: i64, external: &str) -> Result<UserRow, ApiError> {
    ctx.state
        .store
        .read(|c| {
            let by = |key| users::find(c, app_id, ctx.now, key, Sql::Text(external.to_owned()));
            Ok(match by(Key::ExternalId)? {
                Some(user) => Some(user),
                None => by(Key::ExternalUserId)?,
            })
        })?
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
    Ok(Reply::ok(users::wrap(&ctx.state.overlay(user))))
}

/// `GET /users/{id}`.
pub(crate) async fn show(ctx: &Ctx, id: &str) -> Outcome {
    let app_id = ctx.session()?.app_id;
    let id = parse_id(id)?;
    let user = ctx
        .state
        .store
        .read(|c| Ok(users::find(c, app_id, ctx.now, Key::Id, Sql::Integer(id))?))?
        .ok_or_else(ApiError::not_found)?;
    Ok(Reply::ok(users::wrap(&ctx.state.overlay(user))))
}

/// `GET /users/by_login?login=` and its siblings.
pub(crate) async fn show_by(ctx: &Ctx, key: Key, param: &str) -> Outcome {
    let app_id = ctx.session()?.app_id;
    let value = ctx.required_query(param)?.to_owned();
    let user = ctx
        .state
        .store
        .read(|c| Ok(users::find(c, app_id, ctx.now, key, Sql::Text(value))?))?
        .ok_or_else(ApiError::not_found)?;
    Ok(Reply::ok(users::wrap(&ctx.state.overlay(user))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn emails() {
        assert!(valid_email("dacia_k@domain.com"));
        assert!(!valid_email("nope"));
        assert!(!valid_email("a@b"));
        assert!(!valid_email("a b@c.d"));
        assert!(!valid_email("@c.d"));
    }

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
    }
}
