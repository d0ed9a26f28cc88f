//! `/_emulator/*`: health, applications and settings, the clock, the
//! outbox and the data reset (`docs/EMULATOR.md`). Not part of ConnectyCube.

use std::net::IpAddr;
use std::path::PathBuf;

use http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use super::reset::mail_json;
use super::{Ctx, Outcome, Reply};
use crate::ExportError;
use crate::clock::format_iso;
use crate::crypto::{Secret, constant_time_eq};
use crate::error::{ApiError, ensure};
use crate::settings::AppSettings;
use crate::store::apps::{self, App};

use crate::limits::{ID_MAX, clock_offset_ok, id_ok};

/// Who may use the admin API (`docs/EMULATOR.md`, "Admin API"): never a web page of another
/// origin (an `Origin` that is not `http://{Host}` is `403`, whatever
/// else the request carries); then, with an admin token, whoever sends
/// `Bearer <token>` (`401` otherwise); without one, a loopback peer that
/// names the emulator by a loopback name (`403` otherwise, which also
/// defeats DNS rebinding: the attacker's page would send its own name).
pub(crate) fn authorize(
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
                || ApiError::new(StatusCode::UNAUTHORIZED, crate::error::UNAUTHORIZED),
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

/// [`authorize`] for the request in `ctx`.
pub(crate) fn authorize_request(ctx: &Ctx) -> Result<(), ApiError> {
    authorize(
        ctx.state.admin_token.as_ref(),
        &ctx.headers,
        ctx.host.as_deref(),
        ctx.remote.ip(),
    )
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
    let app = ctx
        .state
        .store
        .write(move |c| {
            let app = App {
                id: match id {
                    Some(id) => id,
                    None => apps::next_id(c)?,
                },
                auth_key,
                auth_secret: Secret::new(auth_secret),
                settings: AppSettings::default(),
            };
            apps::insert(c, &app)?;
            Ok(app)
        })
        .await?;
    ctx.state.put_app(app.clone());
    Ok(Reply::created(json!({ "app": app_json(ctx, &app) })))
}

pub(super) fn app_of(ctx: &Ctx, id: &str) -> Result<App, ApiError> {
    id.parse()
        .ok()
        .and_then(|id| ctx.state.app(id))
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
    let (app_id, settings) = (app.id, app.settings.clone());
    ctx.state
        .store
        .write(move |c| Ok(apps::save_settings(c, app_id, &settings)?))
        .await?;
    let body = json!({ "settings": app.settings.to_json(Some(&ctx.state.base_url)) });
    ctx.state.put_app(app);
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
        .write(move |c| Ok(apps::save_clock_offset(c, offset)?))
        .await?;
    ctx.state.clock.set_offset(offset);
    Ok(Reply::ok(now_json(ctx)))
}

/// `GET /_emulator/outbox`.
pub(crate) async fn outbox(ctx: &Ctx) -> Outcome {
    let mails = ctx.state.store.read(|c| Ok(apps::outbox(c)?))?;
    let items: Vec<Value> = mails.iter().map(mail_json).collect();
    Ok(Reply::ok(json!({ "items": items })))
}

/// `DELETE /_emulator/outbox`.
pub(crate) async fn clear_outbox(ctx: &Ctx) -> Outcome {
    ctx.state
        .store
        .write(|c| Ok(apps::clear_outbox(c)?))
        .await?;
    Ok(Reply::empty())
}

/// `DELETE /_emulator/data`: users, sessions, nonces, e-mails, files and
/// their records, registered provider tokens; keeps
/// applications, settings and the clock.
pub(crate) async fn reset_data(ctx: &Ctx) -> Outcome {
    ctx.state.store.write(|c| Ok(apps::reset_data(c)?)).await?;
    ctx.state.clear_caches();
    if let Err(err) = ctx.state.files.remove_all().await {
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
