//! Users as a request sees them: read from the store with the
//! `last_request_at` refreshes that are not written yet applied, so no
//! answer shows a user older than the requests they made.

use std::sync::Arc;

use super::refreshes::Refreshes;
use crate::store::search::{self, Page, UserQuery};
use crate::store::users::{self, Key, User};
use crate::store::{self, Store};

/// Reads users, up to date.
pub(crate) struct Users {
    store: Arc<Store>,
    refreshes: Arc<Refreshes>,
}

impl Users {
    pub(crate) fn new(store: Arc<Store>, refreshes: Arc<Refreshes>) -> Self {
        Self { store, refreshes }
    }

    /// The user `id` of application `app_id`.
    pub(crate) fn by_id(&self, app_id: i64, now: i64, id: i64) -> store::Result<Option<User>> {
        let user = self
            .store
            .read(|db| users::find_by_id(db, app_id, now, id))?;
        Ok(user.map(|u| self.refreshes.overlay(u)))
    }

    /// The user whose `key` is `value`.
    pub(crate) fn by_key(
        &self,
        app_id: i64,
        now: i64,
        key: Key,
        value: &str,
    ) -> store::Result<Option<User>> {
        let user = self
            .store
            .read(|db| users::find(db, app_id, now, key, value))?;
        Ok(user.map(|u| self.refreshes.overlay(u)))
    }

    /// The user of an external id (`external_id`, then `external_user_id`).
    pub(crate) fn by_external(
        &self,
        app_id: i64,
        now: i64,
        external: &str,
    ) -> store::Result<Option<User>> {
        let user = self
            .store
            .read(|db| users::find_external(db, app_id, now, external))?;
        Ok(user.map(|u| self.refreshes.overlay(u)))
    }

    /// A page of a search, with its total.
    pub(crate) fn search(&self, app_id: i64, now: i64, query: &UserQuery) -> store::Result<Page> {
        let mut page = self.store.read(|db| search::run(db, app_id, now, query))?;
        self.refreshes.overlay_all(&mut page.users);
        Ok(page)
    }

    /// `user`, read inside a write, brought up to date.
    pub(crate) fn fresh(&self, user: User) -> User {
        self.refreshes.overlay(user)
    }

    /// Marks `user_id` as seen at `now` (a sign-in).
    pub(crate) fn seen(&self, user_id: i64, now: i64) {
        self.refreshes.seen(user_id, now);
    }
}
