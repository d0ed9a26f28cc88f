//! The admin API's view of the data, for the web UI and for tooling:
//! applications, users (search, show, edit, delete), a user's live
//! sessions and stored files' bytes (avatars)
//! (`docs/EMULATOR.md`). Not part of ConnectyCube.
//!
//! Editing and deleting a user go through the public operations, acting
//! as that user: the validation, the uniqueness rules and the answers are
//! exactly those of `PUT /users/{id}` and `DELETE /users/{id}`.

use serde_json::{Value, json};

use super::admin::{app_json, app_of};
use super::{Ctx, Outcome, Reply, render, users};
use crate::auth::Caller;
use crate::clock::format_iso;
use crate::error::ApiError;
use crate::limits::{PAGE_MAX, V2_LIMIT_DEFAULT};
use crate::store::search::{Column, Filter, UserQuery};
use crate::store::sessions::{self, SessionRow};
use crate::store::users::User;

/// Image types an avatar is served as; anything else is plain bytes, so
/// that no stored file is ever run by a browser (SVG can carry script).
const IMAGE_TYPES: [&str; 5] = [
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "image/avif",
];

/// `GET /_emulator/apps`: every application, by id.
pub(crate) async fn list_apps(ctx: &Ctx) -> Outcome {
    let mut apps = ctx.state.apps.list()?;
    apps.sort_by_key(|a| a.id);
    let items: Vec<Value> = apps.iter().map(|a| app_json(ctx, a)).collect();
    Ok(Reply::ok(json!({ "items": items })))
}

fn parse_id(id: &str) -> Result<i64, ApiError> {
    id.parse().map_err(|_| ApiError::not_found())
}

/// `GET /_emulator/apps/{id}/users?login=&email=&full_name=&tag=&offset=&limit=`:
/// a v2 page of the users matching every given filter, by id. Empty
/// filters are ignored; an unknown parameter is `422`.
pub(crate) async fn search_users(ctx: &Ctx, app: &str) -> Outcome {
    let app_id = app_of(ctx, app)?.id;
    let mut query = UserQuery {
        filters: Vec::new(),
        order: Column::Id,
        descending: false,
        limit: V2_LIMIT_DEFAULT,
        offset: 0,
    };
    for (key, value) in &ctx.query {
        if value.is_empty() && matches!(key.as_str(), "login" | "email" | "full_name" | "tag") {
            continue;
        }
        let text = value.clone();
        match key.as_str() {
            "login" => query.filters.push(Filter::Contains(Column::Login, text)),
            "email" => query.filters.push(Filter::Contains(Column::Email, text)),
            "full_name" => query.filters.push(Filter::NameContains(text)),
            "tag" => query.filters.push(Filter::TagsAny(vec![text])),
            // The same rules as `GET /users/v2`.
            "offset" => {
                query.offset = value
                    .parse::<i64>()
                    .ok()
                    .filter(|n| *n >= 0)
                    .ok_or_else(|| {
                        ApiError::invalid_field("offset", "must be a non-negative integer")
                    })?;
            }
            "limit" => {
                query.limit = value
                    .parse::<i64>()
                    .ok()
                    .filter(|n| *n >= 1)
                    .ok_or_else(|| ApiError::invalid_field("limit", "must be a positive integer"))?
                    .min(PAGE_MAX);
            }
            _ => return Err(ApiError::invalid_field(key, "is not a known filter")),
        }
    }
    let found = ctx.state.users.search(app_id, ctx.now, &query)?;
    Ok(Reply::ok_text(render::page(
        &[
            ("skip", query.offset),
            ("limit", query.limit),
            ("total_entries", found.total),
        ],
        &found.users,
        false,
    )))
}

/// The live user `user` of the application `app`, or `404`.
fn user_of(ctx: &Ctx, app: &str, user: &str) -> Result<(i64, User), ApiError> {
    let app_id = app_of(ctx, app)?.id;
    let user_id = parse_id(user)?;
    let row = ctx
        .state
        .users
        .by_id(app_id, ctx.now, user_id)?
        .ok_or_else(ApiError::not_found)?;
    Ok((app_id, row))
}

/// This request, made as `user_id` of `app_id` would make it with a
/// session of their own (which exists nowhere: no token, no deadline).
fn acting_as(ctx: &Ctx, app_id: i64, user_id: i64) -> Ctx {
    let mut acting = ctx.clone();
    acting.caller = Caller {
        token: None,
        session: Some(SessionRow {
            id: 0,
            app_id,
            user_id: Some(user_id),
            is_guest: false,
            nonce: None,
            ts: None,
            created_at: ctx.now,
            updated_at: ctx.now,
            deadline: ctx.now,
        }),
    };
    acting
}

/// `GET /_emulator/apps/{id}/users/{user_id}`: `{"user": {...}}`.
pub(crate) async fn show_user(ctx: &Ctx, app: &str, user: &str) -> Outcome {
    let (_, row) = user_of(ctx, app, user)?;
    Ok(Reply::ok_text(render::wrapped_user(&row)))
}

/// `PUT /_emulator/apps/{id}/users/{user_id} {"user": {...}}`: the rules
/// of `PUT /users/{id}`.
pub(crate) async fn update_user(ctx: &Ctx, app: &str, user: &str) -> Outcome {
    let (app_id, row) = user_of(ctx, app, user)?;
    users::update(&acting_as(ctx, app_id, row.id), user).await
}

/// `DELETE /_emulator/apps/{id}/users/{user_id}`: the user and every
/// session of theirs, as `DELETE /users/{id}`.
pub(crate) async fn delete_user(ctx: &Ctx, app: &str, user: &str) -> Outcome {
    let (app_id, row) = user_of(ctx, app, user)?;
    users::delete(&acting_as(ctx, app_id, row.id), user).await?;
    Ok(Reply::empty())
}

fn session_json(row: &SessionRow) -> Value {
    json!({
        "id": row.id,
        "user_id": row.user_id,
        "kind": if row.is_guest { "guest" } else { "user" },
        "signed": row.nonce.is_some(),
        "created_at": format_iso(row.created_at),
        "updated_at": format_iso(row.updated_at),
        "deadline": format_iso(row.deadline),
    })
}

/// `GET /_emulator/apps/{id}/users/{user_id}/sessions`: the user's live
/// sessions, oldest first, with their deadlines as of this request.
pub(crate) async fn user_sessions(ctx: &Ctx, app: &str, user: &str) -> Outcome {
    let (_, row) = user_of(ctx, app, user)?;
    // Deadlines that requests pushed forward reach the disk up to a second
    // late: write them first, so that what is shown is what holds.
    ctx.state.flush(false).await?;
    let rows = ctx
        .state
        .store
        .read(|db| sessions::live_of_user(db, row.id, ctx.now))?;
    let items: Vec<Value> = rows.iter().map(session_json).collect();
    Ok(Reply::ok(json!({ "items": items })))
}

/// `GET /_emulator/blobs/{uid}`: a stored file's bytes, whatever its
/// application or visibility. Images keep their type (the UI shows
/// avatars); anything else is `application/octet-stream`.
pub(crate) async fn blob_bytes(ctx: &Ctx, uid: &str) -> Outcome {
    let blob = ctx
        .state
        .uploads
        .by_uid(uid)?
        .ok_or_else(ApiError::not_found)?;
    let (file, len) = ctx
        .state
        .uploads
        .files
        .open_file(&blob.uid)
        .await
        .ok_or_else(ApiError::not_found)?;
    let content_type = if IMAGE_TYPES.contains(&blob.content_type.to_ascii_lowercase().as_str()) {
        blob.content_type.to_ascii_lowercase()
    } else {
        "application/octet-stream".to_owned()
    };
    let disposition = super::blobs::disposition(&content_type, &blob.name);
    Ok(Reply::file(file, len, content_type, disposition))
}
