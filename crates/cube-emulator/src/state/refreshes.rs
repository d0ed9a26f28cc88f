//! The refreshes reads make and that are written a little later: each
//! request re-arms its session's sliding deadline and moves its user's
//! `last_request_at` in memory only; [`super::sessions::Sessions::flush`]
//! writes them at least once a second (`docs/EMULATOR.md` allows them to
//! reach the disk up to 1 s late). Until then, a user read from disk is
//! shown with the refresh applied ([`Refreshes::overlay`]).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::store::sessions::SessionRow;
use crate::store::users::User;

/// What waits to be written.
#[derive(Default)]
pub(crate) struct Pending {
    /// session id → refreshed deadline
    pub(crate) deadlines: HashMap<i64, i64>,
    /// user id → last request time
    pub(crate) seen: HashMap<i64, i64>,
}

/// The refreshes not yet written.
#[derive(Default)]
pub(crate) struct Refreshes {
    pending: Mutex<Pending>,
}

impl Refreshes {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A request of `row` was served at `now`: its deadline (not a
    /// guest's, which is fixed) and its user's last request move.
    pub(crate) fn used(&self, row: &SessionRow, now: i64) {
        let mut pending = self.lock();
        if !row.is_guest {
            pending.deadlines.insert(row.id, row.deadline);
        }
        if let Some(user_id) = row.user_id {
            pending.seen.insert(user_id, now);
        }
    }

    /// Marks `user_id` as seen at `now` (after a sign-in).
    pub(crate) fn seen(&self, user_id: i64, now: i64) {
        self.lock().seen.insert(user_id, now);
    }

    /// Applies a not-yet-written `last_request_at` to a row read from disk.
    pub(crate) fn overlay(&self, mut user: User) -> User {
        if let Some(&at) = self.lock().seen.get(&user.id) {
            user.last_request_at = Some(user.last_request_at.map_or(at, |db| db.max(at)));
        }
        user
    }

    /// [`Refreshes::overlay`] for a page of users, taking the lock once.
    pub(crate) fn overlay_all(&self, users: &mut [User]) {
        let pending = self.lock();
        for user in users {
            if let Some(&at) = pending.seen.get(&user.id) {
                user.last_request_at = Some(user.last_request_at.map_or(at, |db| db.max(at)));
            }
        }
    }

    /// Everything waiting, handed over to be written.
    pub(crate) fn take(&self) -> Pending {
        std::mem::take(&mut *self.lock())
    }

    /// Forgets everything waiting (data reset).
    pub(crate) fn clear(&self) {
        *self.lock() = Pending::default();
    }
}
