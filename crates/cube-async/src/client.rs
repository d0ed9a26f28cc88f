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
    /// `existing`, `created`, `restored`), the last status, the tries
    /// (`attempts`), the requests on the wire, the time waited between
    /// tries (`waited_ms`), a signature made again on the server's clock
    /// (`resigned`), the last transport failure and the elapsed
    /// milliseconds. A transient failure is sent again as the client's
    /// retry policy says (see `ClientBuilder::retry_policy`).
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
                Step::Send(request) => match shell.transport().send(request).await {
                    Ok(response) => shell.handle_response(call, response)?,
                    Err(unanswered) => shell.handle_failure(call, unanswered)?,
                },
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
