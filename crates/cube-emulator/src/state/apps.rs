//! The applications, cached in memory (every request needs its
//! application) and written through: each change is stored first, then
//! cached, so the cache always holds what the database does.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard};

use crate::crypto::{Secret, constant_time_eq};
use crate::settings::AppSettings;
use crate::store::apps::{self, App};
use crate::store::{self, Store};

/// The applications.
pub(crate) struct Apps {
    store: Arc<Store>,
    cache: RwLock<HashMap<i64, App>>,
}

impl Apps {
    /// The applications `all`, as the store holds them.
    pub(crate) fn new(store: Arc<Store>, all: Vec<App>) -> Self {
        Self {
            store,
            cache: RwLock::new(all.into_iter().map(|a| (a.id, a)).collect()),
        }
    }

    fn cache(&self) -> RwLockReadGuard<'_, HashMap<i64, App>> {
        self.cache.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn put(&self, app: App) {
        self.cache
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(app.id, app);
    }

    pub(crate) fn get(&self, id: i64) -> Option<App> {
        self.cache().get(&id).cloned()
    }

    pub(crate) fn by_key(&self, auth_key: &str) -> Option<App> {
        self.cache()
            .values()
            .find(|a| constant_time_eq(a.auth_key.as_bytes(), auth_key.as_bytes()))
            .cloned()
    }

    /// Every application, as stored.
    pub(crate) fn list(&self) -> store::Result<Vec<App>> {
        self.store.read(apps::load_all)
    }

    /// Creates an application (`id`, or the next free one) with default
    /// settings.
    pub(crate) async fn create(
        &self,
        id: Option<i64>,
        auth_key: String,
        auth_secret: String,
    ) -> store::Result<App> {
        let app = self
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
        self.put(app.clone());
        Ok(app)
    }

    /// Stores `app`'s settings.
    pub(crate) async fn save_settings(&self, app: App) -> store::Result<()> {
        let (app_id, settings) = (app.id, app.settings.clone());
        self.store
            .write(move |c| apps::save_settings(c, app_id, &settings))
            .await?;
        self.put(app);
        Ok(())
    }

    /// Puts the settings of application `id` back to their defaults in
    /// memory only (the fuzz targets' reset between cases).
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn reset_settings(&self, id: i64) {
        if let Some(mut app) = self.get(id) {
            app.settings = AppSettings::default();
            self.put(app);
        }
    }

    /// The Twitter consumer secrets of the applications using `consumer_key`
    /// (the fake Twitter API checks a signature against each).
    pub(crate) fn twitter_consumer_secrets(&self, consumer_key: &str) -> Vec<Secret> {
        self.cache()
            .values()
            .filter(|a| a.settings.twitter_consumer_key == consumer_key)
            .map(|a| Secret::new(a.settings.twitter_consumer_secret.clone()))
            .collect()
    }

    /// How long a signed request's nonce must be remembered: the widest
    /// signature window of any application.
    pub(crate) fn nonce_horizon(&self) -> i64 {
        self.cache()
            .values()
            .map(|a| a.settings.signature_window_seconds)
            .max()
            .unwrap_or(3600)
    }
}
