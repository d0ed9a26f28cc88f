//! `GET /_emulator/ui/`: the web UI, three static files built into the
//! binary (`ui/` in this crate). The page drives the admin API from the
//! browser; it fetches nothing else and runs no inline script.

use http::StatusCode;

use super::{Ctx, Outcome, Reply};
use crate::error::ApiError;

const INDEX: &str = include_str!("../../ui/index.html");
const SCRIPT: &str = include_str!("../../ui/app.js");
const STYLE: &str = include_str!("../../ui/app.css");

/// The policy every UI file is served with: its own script and style only,
/// calls to its own origin only, images from its own origin or made by
/// the script (avatars fetched with the admin token), never framed.
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; form-action 'none'; \
     base-uri 'none'; frame-ancestors 'none'";

/// `GET /_emulator/ui/{file}`. The files follow the admin rules, with
/// one allowance: with an admin token, they load without it, since they
/// are the same bytes for everyone and carry no data, and the page must
/// load to ask for the token it then sends with every call.
pub(crate) fn asset(ctx: &Ctx, path: &[&str]) -> Outcome {
    match ctx.admin_gate() {
        Err(err) if err.status == StatusCode::UNAUTHORIZED => {}
        other => other?,
    }
    let (content_type, text) = match path {
        [] | ["index.html"] => ("text/html; charset=utf-8", INDEX),
        ["app.js"] => ("text/javascript; charset=utf-8", SCRIPT),
        ["app.css"] => ("text/css; charset=utf-8", STYLE),
        _ => return Err(ApiError::not_found()),
    };
    Ok(Reply::asset(content_type, text.as_bytes()))
}
