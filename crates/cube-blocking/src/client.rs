//! The client and its one loop: poll the call, send, hand the answer back.

use crate::transport::Transport;
use cube_shell::surface::Execute;
use cube_shell::trace::CallSpan;
use cube_shell::{Error, Shell};
use proto::ops::Operation;
use proto::{Call, Step};
use std::sync::{Arc, PoisonError};

/// A ConnectyCube client: cheap to clone, safe to share between threads.
/// Clones share one session.
#[derive(Clone, Debug)]
pub struct Client {
    shell: Arc<Shell<Transport>>,
}

cube_shell::client_calls!(cube_blocking, Client, ClientBuilder, Transport);
cube_shell::client_builder!(ClientBuilder, Client, Transport);

impl Client {
    /// Runs any operation of [`proto::ops`] through the session, in a
    /// `cube_call` span at debug level: the operation's name, the attempt
    /// (`first` or `retry`), what the call did to the session (`none`,
    /// `existing`, `created`, `restored`), the last status, the tries
    /// (`attempts`), the requests on the wire, the time waited between
    /// tries (`waited_ms`), a signature made again on the server's clock
    /// (`resigned`), the last transport failure and the elapsed
    /// milliseconds. A transient failure is sent again as the client's
    /// retry policy says (see `ClientBuilder::retry_policy`).
    pub fn execute<O: Operation>(&self, op: O) -> Result<O::Output, Error> {
        let mut call = self.shell.call(op);
        let span = CallSpan::open(call.operation().name());
        let outcome = span.span().in_scope(|| self.drive(&mut call));
        span.record(&call.report());
        span.close();
        outcome
    }

    /// Polls the call, sends, hands the answers back, until it is done.
    fn drive<O: Operation>(&self, call: &mut Call<O>) -> Result<O::Output, Error> {
        let shell = &*self.shell;
        let mut turn = None;
        loop {
            match shell.poll(call)? {
                Step::Send(request) => match shell.transport().send(request) {
                    Ok(response) => shell.handle_response(call, response)?,
                    Err(unanswered) => shell.handle_failure(call, unanswered)?,
                },
                Step::TakeRestoreTurn => {
                    let lock = shell.restore_turn().lock();
                    turn = Some(lock.unwrap_or_else(PoisonError::into_inner));
                }
                Step::AskRestore => {
                    let answer = shell.restore_callback().map(|restore| restore());
                    shell.provide_restore(call, answer)?;
                }
                Step::ReleaseRestoreTurn => drop(turn.take()),
                Step::Wait(pause) => std::thread::sleep(pause),
                Step::Done(result) => return Ok(result?),
            }
        }
    }
}

impl Execute for Client {
    fn execute<O: Operation>(&self, op: O) -> Result<O::Output, Error> {
        Client::execute(self, op)
    }
}
