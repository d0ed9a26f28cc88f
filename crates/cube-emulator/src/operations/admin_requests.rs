//! `GET /_emulator/requests`: the request log (`crate::requests`), newest
//! first, with a cursor to poll for what came since (`docs/EMULATOR.md`).
//! Not part of ConnectyCube.

use serde_json::{Value, json};

use super::{Ctx, Outcome, Reply};
use crate::error::ApiError;
use crate::limits::{REQUESTS_PAGE_DEFAULT, REQUESTS_PAGE_MAX};

fn count(key: &str, value: &str, least: u64) -> Result<u64, ApiError> {
    value
        .parse::<u64>()
        .ok()
        .filter(|n| *n >= least)
        .ok_or_else(|| {
            ApiError::invalid_field(key, format!("must be a whole number, at least {least}"))
        })
}

/// `GET /_emulator/requests?since=&before=&limit=`: the logged requests
/// with `since < seq < before`, newest first, at most `limit` (default
/// 100, at most 1,000), and `last`, the newest `seq` given so far: the
/// next poll's `since`.
pub(crate) async fn list(ctx: &Ctx) -> Outcome {
    let (mut since, mut before, mut limit) = (0, None, REQUESTS_PAGE_DEFAULT);
    for (key, value) in &ctx.query {
        match key.as_str() {
            "since" => since = count(key, value, 0)?,
            "before" => before = Some(count(key, value, 1)?),
            "limit" => {
                limit = usize::try_from(count(key, value, 1)?)
                    .unwrap_or(usize::MAX)
                    .min(REQUESTS_PAGE_MAX);
            }
            _ => return Err(ApiError::invalid_field(key, "is not a known filter")),
        }
    }
    let log = &ctx.state.requests;
    let page = log.page(since, before, limit);
    let items: Vec<Value> = page.items.iter().map(|e| e.to_json()).collect();
    Ok(Reply::ok(json!({
        "last": page.last,
        "capacity": log.capacity(),
        "items": items,
    })))
}
