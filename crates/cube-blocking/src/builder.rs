//! The blocking half of configuring a [`Client`]: its restore callback.

use crate::client::ClientBuilder;
use proto::RestoreAnswer;

impl ClientBuilder {
    /// The restore callback: called when the session is missing, expired, or
    /// rejected by the server. It answers with credentials to create a new
    /// session with, a ready session ([`proto::IssuedToken`], e.g. from the
    /// app's backend), or `None` / [`RestoreAnswer::Decline`] to give up.
    /// The failed call is retried once; threads waiting on the same expired
    /// session share one restore. See [`Client::builder`](crate::Client::builder).
    pub fn restore<F, R>(self, callback: F) -> Self
    where
        F: Fn() -> R + Send + Sync + 'static,
        R: Into<RestoreAnswer>,
    {
        self.set_restore(Box::new(move || callback().into()))
    }
}
