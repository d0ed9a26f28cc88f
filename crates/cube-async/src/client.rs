//! The client and its one loop: poll the call, send, hand the answer back,
//! awaiting only the transport, the restore turn and the callback.

use crate::transport::Transport;
use cube_shell::surface::ExecuteAsync;
use cube_shell::trace::CallSpan;
use cube_shell::{Error, Shell};
use proto::ops::Operation;
use proto::{Call, Step};
use std::future::Future;
use std::sync::Arc;
use tracing::Instrument;

/// A ConnectyCube client: cheap to clone, shared by any number of tasks.
/// Clones share one session; when many tasks find it expired at once, one
/// restores it and the others use the result.
#[derive(Clone, Debug)]
pub struct Client {
    shell: Arc<Shell<Transport>>,
}

cube_shell::client_calls!(cube_async, Client, ClientBuilder, Transport, async);
cube_shell::client_builder!(ClientBuilder, Client, Transport);

impl Client {
    /// Runs any operation of [`proto::ops`] through the shared session, in
    /// a `cube_call` span at debug level: the operation's name, the attempt
    /// (`first` or `retry`), what the call did to the session (`none`,
    /// `existing`, `created`, `restored`), the last status and the elapsed
    /// milliseconds.
    pub async fn execute<O>(&self, op: O) -> Result<O::Output, Error>
    where
        O: Operation + Send,
        O::Output: Send,
    {
        let mut call = self.shell.call(op);
        let span = CallSpan::open(call.operation().name());
        let outcome = self.drive(&mut call).instrument(span.span().clone()).await;
        span.record(&call.report());
        span.close();
        outcome
    }

    /// Polls the call, sends, hands the answers back, until it is done.
    async fn drive<O>(&self, call: &mut Call<O>) -> Result<O::Output, Error>
    where
        O: Operation + Send,
        O::Output: Send,
    {
        let shell = &*self.shell;
        let mut turn = None;
        loop {
            match shell.poll(call)? {
                Step::Send(request) => {
                    let response = shell.transport().send(request).await?;
                    shell.handle_response(call, response)?;
                }
                Step::TakeRestoreTurn => turn = Some(shell.restore_turn().lock().await),
                Step::AskRestore => {
                    let answer = match shell.restore_callback() {
                        Some(restore) => Some(restore().await),
                        None => None,
                    };
                    shell.provide_restore(call, answer)?;
                }
                Step::ReleaseRestoreTurn => drop(turn.take()),
                Step::Wait(pause) => tokio::time::sleep(pause).await,
                Step::Done(result) => return Ok(result?),
            }
        }
    }
}

impl ExecuteAsync for Client {
    fn execute<O>(&self, op: O) -> impl Future<Output = Result<O::Output, Error>> + Send
    where
        O: Operation + Send,
        O::Output: Send,
    {
        Client::execute(self, op)
    }
}
