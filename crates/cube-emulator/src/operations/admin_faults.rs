//! `/_emulator/faults`: the fault rules (`crate::faults`) — list them,
//! add one (JSON, or the text form of `--fault`), remove one or all
//! (`docs/EMULATOR.md`, "Faults"). Not part of ConnectyCube; like every
//! admin route, never faulted itself.

use http::StatusCode;
use serde_json::json;

use super::{Ctx, Outcome, Reply};
use crate::error::ApiError;
use crate::faults::{self, RuleError, TableFull};

// The answers of refused rules are converted here, not in `error.rs`: the
// rules read paths with `wire`'s decoder, and `wire` answers with
// `ApiError`, so `error` naming `faults` would close a cycle.

/// A refused rule: `422` naming its field.
fn refused(err: RuleError) -> ApiError {
    ApiError::invalid_field(err.field, err.message)
}

/// A full table: `422`.
fn full(full: TableFull) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, full.to_string())
}

/// `GET /_emulator/faults`: every rule, oldest first, with how many
/// requests it matched and how many it acted on.
pub(crate) async fn list(ctx: &Ctx) -> Outcome {
    Ok(Reply::ok(json!({ "items": ctx.state.faults.list() })))
}

/// `POST /_emulator/faults`: adds a rule, written in JSON or as
/// `{"text": "GET /users/* status=503"}`; `201 {"fault": {…}}`. A bad
/// rule is `422` naming its field; a full table is `422` too.
pub(crate) async fn add(ctx: &Ctx) -> Outcome {
    let rule = faults::parse_json(ctx.body()?).map_err(refused)?;
    let listed = ctx.state.faults.add(rule).map_err(full)?;
    Ok(Reply::created(json!({ "fault": listed })))
}

/// `DELETE /_emulator/faults`: removes every rule; `{"removed": N}`.
pub(crate) async fn clear(ctx: &Ctx) -> Outcome {
    Ok(Reply::ok(json!({ "removed": ctx.state.faults.clear() })))
}

/// `DELETE /_emulator/faults/{id}`: removes one rule; `404` when there is
/// none with this id.
pub(crate) async fn remove(ctx: &Ctx, id: &str) -> Outcome {
    let id: u64 = id.parse().map_err(|_| ApiError::not_found())?;
    if ctx.state.faults.remove(id) {
        Ok(Reply::ok(json!({})))
    } else {
        Err(ApiError::not_found())
    }
}
