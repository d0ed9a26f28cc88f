//! `/_emulator/sessions`: the live sessions (all, an application's, a
//! user's) and ending one, as the clock would or as its own `DELETE
//! /session` would (`docs/EMULATOR.md`). Not part of ConnectyCube.
//!
//! A token is never shown: a session is named by its id and by its
//! token's [fingerprint](crate::fingerprint), which the request log shows
//! too.

use serde_json::{Value, json};

use super::admin::app_of;
use super::{Ctx, Outcome, Reply};
use crate::clock::format_iso;
use crate::error::{ApiError, ensure};
use crate::limits::{PAGE_MAX, SESSION_TTL, V2_LIMIT_DEFAULT};
use crate::store::sessions::{self, Filter, Listed};

fn parse_id(id: &str) -> Result<i64, ApiError> {
    id.parse().map_err(|_| ApiError::not_found())
}

/// A query value that must be a whole number in `range`.
fn number(
    key: &str,
    value: &str,
    range: std::ops::RangeFrom<i64>,
    what: &str,
) -> Result<i64, ApiError> {
    value
        .parse::<i64>()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| ApiError::invalid_field(key, format!("must be {what}")))
}

fn session_json(ctx: &Ctx, listed: &Listed) -> Value {
    let row = &listed.row;
    let kind = match (row.user_id, row.is_guest) {
        (None, _) => "application",
        (Some(_), true) => "guest",
        (Some(_), false) => "user",
    };
    // Every request moves a user or application session's deadline to two
    // hours after it, so the deadline tells when the last one came. A
    // guest's deadline never moves; its user's `last_request_at` is its
    // session's (a guest user has that one session).
    let last_request = if row.is_guest {
        listed
            .user_last_request
            .map_or(row.created_at, |at| at.max(row.created_at))
    } else {
        row.deadline - SESSION_TTL
    };
    json!({
        "id": row.id,
        "app_id": row.app_id,
        "user_id": row.user_id,
        "kind": kind,
        "fingerprint": ctx.state.fingerprints.of_hash(&listed.hash).to_string(),
        "signed": row.nonce.is_some(),
        "created_at": format_iso(row.created_at),
        "last_request_at": format_iso(last_request),
        "deadline": format_iso(row.deadline),
        "seconds_left": row.deadline - ctx.now,
    })
}

/// `GET /_emulator/sessions?app_id=&user_id=&offset=&limit=`: the live
/// sessions, newest first, with the deadlines that hold now.
pub(crate) async fn list(ctx: &Ctx) -> Outcome {
    let mut filter = Filter::default();
    let (mut offset, mut limit) = (0, V2_LIMIT_DEFAULT);
    for (key, value) in &ctx.query {
        match key.as_str() {
            "app_id" => filter.app_id = Some(app_of(ctx, value)?.id),
            "user_id" => filter.user_id = Some(number(key, value, 1.., "a user id")?),
            "offset" => offset = number(key, value, 0.., "a non-negative integer")?,
            "limit" => limit = number(key, value, 1.., "a positive integer")?.min(PAGE_MAX),
            _ => return Err(ApiError::invalid_field(key, "is not a known filter")),
        }
    }
    // Deadlines that requests pushed forward reach the disk up to a second
    // late: written first, so that what is shown is what holds.
    ctx.state.flush(false).await?;
    let now = ctx.now;
    let (listed, total) = ctx
        .state
        .store
        .read(|db| sessions::live(db, filter, now, offset, limit))?;
    let items: Vec<Value> = listed.iter().map(|l| session_json(ctx, l)).collect();
    Ok(Reply::ok(json!({
        "now": format_iso(now),
        "skip": offset,
        "limit": limit,
        "total_entries": total,
        "items": items,
    })))
}

/// `POST /_emulator/sessions/{id}/expire`: the session ends as its deadline
/// would: its token answers `401 Required session does not exist` from
/// now on (a guest's user keeps its own day). `404` when no live session
/// has this id.
pub(crate) async fn expire(ctx: &Ctx, id: &str) -> Outcome {
    let id = parse_id(id)?;
    let now = ctx.now;
    // What holds is what is in memory: a deadline refreshed in the last
    // second is written first, so a live session is found live.
    ctx.state.flush(false).await?;
    ctx.state
        .sessions
        .ending(move |db| sessions::end(db, id, now))
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(Reply::empty())
}

/// `DELETE /_emulator/sessions/{id}`: the session is destroyed as its own
/// `DELETE /session` would destroy it: a guest session takes its guest
/// user along. `404` when no live session has this id.
pub(crate) async fn destroy(ctx: &Ctx, id: &str) -> Outcome {
    let id = parse_id(id)?;
    let now = ctx.now;
    ctx.state.flush(false).await?;
    let hashes = ctx
        .state
        .sessions
        .ending(move |db| sessions::destroy(db, id, now))
        .await?;
    ensure(!hashes.is_empty(), ApiError::not_found)?;
    Ok(Reply::empty())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::harness::Harness;

    /// The order that can bring an ended session back: a request refreshes
    /// the session's deadline in memory, the session is ended before that
    /// refresh is written, and then the refresh is written. Ending it must
    /// hold all the same, in the cache and on disk.
    #[test]
    fn an_ended_session_stays_ended_whatever_refresh_was_pending() {
        let h = Harness::new();
        let token = h.session(Some("ended_one"));
        let state = h.state.clone();
        h.runtime.block_on(async move {
            let now = state.clock.now();
            let row = state
                .sessions
                .authenticate(&token, now)
                .unwrap()
                .expect("live");
            // A refresh of its deadline is now waiting to be written.
            state
                .sessions
                .ending(move |db| sessions::end(db, row.id, now))
                .await
                .unwrap()
                .expect("it was live");
            // The refresh is written after the end.
            state.flush(true).await.unwrap();
            assert!(state.sessions.authenticate(&token, now).unwrap().is_none());
            let listed = state
                .store
                .read(|db| sessions::live(db, Filter::default(), now, 0, 100))
                .unwrap();
            assert_eq!(listed.1, 0, "the session came back on disk");
        });
    }

    #[test]
    fn listing_takes_known_filters_only() {
        let h = Harness::new();
        h.session(Some("lister"));
        for (query, status) in [
            ("", 200),
            ("?app_id=1&user_id=1&offset=0&limit=1", 200),
            ("?app_id=2", 404),
            ("?app_id=x", 404),
            ("?user_id=0", 422),
            ("?user_id=x", 422),
            ("?offset=-1", 422),
            ("?limit=0", 422),
            ("?token=abc", 422),
        ] {
            let answer = h.json(
                "GET",
                &format!("/_emulator/sessions{query}"),
                None,
                &json!({}),
            );
            assert_eq!(answer.status, status, "{query}");
        }
        for path in [
            "/_emulator/sessions/x/expire",
            "/_emulator/sessions/999/expire",
        ] {
            assert_eq!(h.json("POST", path, None, &json!({})).status, 404, "{path}");
        }
        assert_eq!(
            h.json("DELETE", "/_emulator/sessions/999", None, &json!({}))
                .status,
            404
        );
    }
}
