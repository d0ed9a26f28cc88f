//! The async half of configuring a [`Client`]: its restore callback.

use crate::client::ClientBuilder;
use proto::RestoreAnswer;
use std::future::Future;

impl ClientBuilder {
    /// The restore callback: called when the session is missing, expired, or
    /// rejected by the server. Its future answers with credentials to create
    /// a new session with, a ready session ([`proto::IssuedToken`], e.g. from
    /// the app's backend), or `None` / [`RestoreAnswer::Decline`] to give up.
    /// The failed call is retried once, and tasks waiting on the same
    /// expired session share one restore. See [`Client::builder`](crate::Client::builder).
    pub fn restore<F, Fut, R>(self, callback: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + Send + 'static,
        R: Into<RestoreAnswer>,
    {
        self.set_restore(Box::new(move || {
            let answer = callback();
            Box::pin(async move { answer.await.into() })
        }))
    }
}
