//! `/_emulator/*`: health, applications and settings, the clock, the
//! outbox and the data reset (`docs/EMULATOR.md`). Not part of ConnectyCube.

use std::path::PathBuf;

use http::StatusCode;
use serde_json::{Value, json};

use super::reset::mail_json;
use super::{Ctx, Outcome, Reply};
use crate::clock::format_iso;
use crate::dataset::ExportError;
use crate::error::ApiError;
use crate::store::apps::{self, App};

use crate::limits::{ID_MAX, clock_offset_ok, id_ok};

/// `GET /_emulator/health`.
pub(crate) async fn health(_ctx: &Ctx) -> Outcome {
    Ok(Reply::ok(json!({ "status": "ok" })))
}

pub(super) fn app_json(ctx: &Ctx, app: &App) -> Value {
    json!({ "id": app.id, "auth_key": app.auth_key, "settings": app.settings.to_json(Some(&ctx.state.base_url)) })
}

/// `POST /_emulator/apps {"id"?, "auth_key", "auth_secret"}`.
pub(crate) async fn create_app(ctx: &Ctx) -> Outcome {
    let body = ctx.body()?;
    let text = |k: &str| {
        body.get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| ApiError::invalid_field(k, "can't be blank"))
    };
    let auth_key = text("auth_key")?;
    let auth_secret = text("auth_secret")?;
    let id = match body.get("id") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_i64().filter(|n| id_ok(*n)).ok_or_else(|| {
            ApiError::invalid_field("id", format!("must be an integer from 1 to {ID_MAX}"))
        })?),
    };
    let app = ctx.state.apps.create(id, auth_key, auth_secret).await?;
    Ok(Reply::created(json!({ "app": app_json(ctx, &app) })))
}

pub(super) fn app_of(ctx: &Ctx, id: &str) -> Result<App, ApiError> {
    id.parse()
        .ok()
        .and_then(|id| ctx.state.apps.get(id))
        .ok_or_else(ApiError::not_found)
}

/// `GET /_emulator/apps/{id}/settings`.
pub(crate) async fn show_settings(ctx: &Ctx, id: &str) -> Outcome {
    let app = app_of(ctx, id)?;
    Ok(Reply::ok(
        json!({ "settings": app.settings.to_json(Some(&ctx.state.base_url)) }),
    ))
}

/// `PUT /_emulator/apps/{id}/settings`: any subset; all or nothing.
pub(crate) async fn update_settings(ctx: &Ctx, id: &str) -> Outcome {
    let mut app = app_of(ctx, id)?;
    app.settings.apply(ctx.body()?)?;
    let body = json!({ "settings": app.settings.to_json(Some(&ctx.state.base_url)) });
    ctx.state.apps.save_settings(app).await?;
    Ok(Reply::ok(body))
}

fn now_json(ctx: &Ctx) -> Value {
    json!({ "now": format_iso(ctx.state.clock.now()) })
}

/// `GET /_emulator/clock`.
pub(crate) async fn clock(ctx: &Ctx) -> Outcome {
    Ok(Reply::ok(now_json(ctx)))
}

/// `POST /_emulator/clock/advance {"seconds": N}`.
pub(crate) async fn advance_clock(ctx: &Ctx) -> Outcome {
    let seconds = ctx
        .body()?
        .get("seconds")
        .and_then(Value::as_i64)
        .ok_or_else(|| ApiError::invalid_field("seconds", "must be an integer"))?;
    // Keep every date the emulator computes representable: checked
    // arithmetic, no wrap-around (i64::MIN has no absolute value).
    let offset = ctx
        .state
        .clock
        .offset()
        .checked_add(seconds)
        .filter(|offset| clock_offset_ok(*offset))
        .ok_or_else(|| ApiError::invalid_field("seconds", "moves the clock more than 100 years"))?;
    ctx.state
        .store
        .write(move |c| apps::save_clock_offset(c, offset))
        .await?;
    ctx.state.clock.set_offset(offset);
    Ok(Reply::ok(now_json(ctx)))
}

/// `GET /_emulator/outbox`.
pub(crate) async fn outbox(ctx: &Ctx) -> Outcome {
    let mails = ctx.state.store.read(apps::outbox)?;
    let items: Vec<Value> = mails.iter().map(mail_json).collect();
    Ok(Reply::ok(json!({ "items": items })))
}

/// `DELETE /_emulator/outbox`.
pub(crate) async fn clear_outbox(ctx: &Ctx) -> Outcome {
    ctx.state.store.write(apps::clear_outbox).await?;
    Ok(Reply::empty())
}

/// `DELETE /_emulator/data`: users, sessions, nonces, e-mails, files and
/// their records, registered provider tokens; keeps
/// applications, settings and the clock.
pub(crate) async fn reset_data(ctx: &Ctx) -> Outcome {
    ctx.state.store.write(apps::reset_data).await?;
    ctx.state.sessions.clear();
    if let Err(err) = ctx.state.uploads.files.remove_all().await {
        tracing::warn!(error = %err, "cannot remove uploaded files");
    }
    Ok(Reply::json(StatusCode::OK, json!({})))
}

/// `POST /_emulator/export {"path": DIR}`: saves a data set now (a path
/// relative to the emulator's working directory). A data set an export
/// wrote at `DIR` is replaced, the files beside it kept; a folder that
/// holds anything else is refused (`422`) and left alone.
pub(crate) async fn export(ctx: &Ctx) -> Outcome {
    let path = ctx
        .body()?
        .get("path")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::invalid_field("path", "can't be blank"))?
        .to_owned();
    let counts = crate::dataset::export(&ctx.state, PathBuf::from(&path))
        .await
        .map_err(|err| match err {
            ExportError::Refused { .. } => ApiError::invalid_field("path", err.to_string()),
            _ => {
                tracing::error!(error = %err, "export failed");
                ApiError::unavailable(err.to_string())
            }
        })?;
    Ok(Reply::ok(json!({ "path": path, "counts": counts })))
}
