//! A file's upload from start to end: create its record, stream its bytes,
//! complete it; delete the record again if anything after its creation
//! fails.

use crate::config::Config;
use crate::error::{DecodeError, Error, InvalidInput, Misuse};
use crate::model::Blob;
use crate::ops::{
    Access, CompleteBlob, CreateBlob, DeleteBlob, Operation, StreamedUpload, check_file_size,
};
use crate::wire::{Request, RequestContext, Response};
use std::mem;

/// A call an upload makes through the session: create the file's record,
/// complete it, or delete it again. Its output is the created record
/// (`None` for the other two).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlobCall {
    /// `POST /blobs`.
    Create(CreateBlob),
    /// `PUT /blobs/{id}/complete`.
    Complete(CompleteBlob),
    /// `DELETE /blobs/{id}`.
    Delete(DeleteBlob),
}

impl Operation for BlobCall {
    type Output = Option<Blob>;

    fn name(&self) -> &'static str {
        match self {
            BlobCall::Create(op) => op.name(),
            BlobCall::Complete(op) => op.name(),
            BlobCall::Delete(op) => op.name(),
        }
    }

    fn access(&self) -> Access {
        Access::Write
    }

    fn build(&self, ctx: &RequestContext<'_>) -> Result<Request, Error> {
        match self {
            BlobCall::Create(op) => op.build(ctx),
            BlobCall::Complete(op) => op.build(ctx),
            BlobCall::Delete(op) => op.build(ctx),
        }
    }

    fn parse(&self, response: &Response) -> Result<Option<Blob>, Error> {
        match self {
            BlobCall::Create(op) => op.parse(response).map(Some),
            BlobCall::Complete(_) | BlobCall::Delete(_) => Ok(None),
        }
    }
}

/// What the adapter must do next for an upload; see [`UploadFlow`].
#[derive(Debug)]
#[must_use]
pub enum UploadStep<E> {
    /// Run this call through the session (a [`Call`](crate::Call)) and
    /// hand its outcome to [`UploadFlow::handle_call`].
    Call(BlobCall),
    /// Stream the file: send this upload, its body the head, exactly
    /// [`file_len`](StreamedUpload::file_len) bytes of the file and the
    /// tail, and hand the outcome (the storage's answer read with
    /// [`file_answer`](crate::ops::file_answer), or why the stream failed
    /// or was cancelled) to [`UploadFlow::handle_stream`].
    Stream(StreamedUpload),
    /// The upload is over: the completed file's record, or why not. When
    /// it failed after the record was created, the record was deleted
    /// first (best effort: a failed delete is not reported over the
    /// failure that caused it).
    Done(Result<Blob, E>),
}

/// Where an upload is. The restore turn and sessions are the business of
/// each [`BlobCall`]'s own call; this machine only orders them around the
/// stream.
#[derive(Debug)]
enum Phase<E> {
    /// The next poll sends the create call.
    Start(CreateBlob),
    /// The create call is out.
    Creating,
    /// The record exists: the next poll streams the file.
    Created(Blob),
    /// The file is on its way.
    Streaming(Blob),
    /// The bytes are stored: the next poll completes the record.
    Streamed(Blob),
    /// The complete call is out.
    Completing(Blob),
    /// Something failed after the record was created: the next poll
    /// deletes it.
    Failed { id: u64, error: E },
    /// The delete call is out; the failure is reported once it is back.
    Deleting(E),
    /// The outcome is known: the next poll returns it.
    Finished(Result<Blob, E>),
    /// `Done` was returned.
    Spent,
}

/// An upload of a file of known length, as a state machine an adapter
/// drives like a [`Call`](crate::Call): create the record, stream the
/// bytes, complete the record; when the stream fails or is cancelled, or
/// completing fails, delete the record again before reporting the
/// failure, so the caller is never left with a record it does not know
/// of. `E` is the adapter's error, which carries the stream's failures.
///
/// ```
/// use cube_proto::transfer::{BlobCall, UploadFlow, UploadStep};
/// use cube_proto::{Config, Error, model::Blob, ops::CreateBlob};
///
/// let config = Config::builder(1, "key").build()?;
/// let mut flow = UploadFlow::<Error>::new(CreateBlob::for_file("cat.jpeg")?, 4, [7; 16])?;
/// let UploadStep::Call(BlobCall::Create(_)) = flow.poll(&config) else { unreachable!() };
/// let created: Blob = serde_json::from_str(r#"{"id": 9, "name": "cat.jpeg",
///     "content_type": "image/jpeg",
///     "blob_object_access": {"params": "https://up.example/?key=k9"}}"#)?;
/// flow.handle_call(Ok(Some(created)))?;
/// let UploadStep::Stream(upload) = flow.poll(&config) else { unreachable!() };
/// assert_eq!(upload.file_len(), 4);
/// // The stream fails (a lost connection, a cancel): the record goes again.
/// flow.handle_stream(Err(Error::Config("connection reset".into())))?;
/// let UploadStep::Call(BlobCall::Delete(delete)) = flow.poll(&config) else { unreachable!() };
/// assert_eq!(delete, cube_proto::ops::DeleteBlob::new(9));
/// flow.handle_call(Ok(None))?;
/// let UploadStep::Done(Err(Error::Config(why))) = flow.poll(&config) else { unreachable!() };
/// assert_eq!(why, "connection reset");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct UploadFlow<E> {
    file_len: u64,
    random: [u8; 16],
    phase: Phase<E>,
}

impl<E: From<Error>> UploadFlow<E> {
    /// The upload of `file_len` bytes as the file `create` describes;
    /// `random` makes the multipart boundary. A file over the storage's
    /// limit is refused here, before any record exists.
    pub fn new(create: CreateBlob, file_len: u64, random: [u8; 16]) -> Result<Self, InvalidInput> {
        check_file_size(file_len)?;
        Ok(Self {
            file_len,
            random,
            phase: Phase::Start(create),
        })
    }

    /// Whether [`UploadStep::Done`] has been returned.
    pub fn is_done(&self) -> bool {
        matches!(self.phase, Phase::Spent)
    }

    /// The next step. Polling while a call or the stream is out, or after
    /// `Done`, is a [`Misuse`] and changes nothing.
    pub fn poll(&mut self, config: &Config) -> UploadStep<E> {
        match mem::replace(&mut self.phase, Phase::Spent) {
            Phase::Start(create) => {
                self.phase = Phase::Creating;
                UploadStep::Call(BlobCall::Create(create))
            }
            Phase::Created(blob) => {
                match StreamedUpload::for_blob(config, &blob, self.file_len, self.random) {
                    Ok(upload) => {
                        self.phase = Phase::Streaming(blob);
                        UploadStep::Stream(upload)
                    }
                    Err(e) => self.delete(blob.id, e.into()),
                }
            }
            Phase::Streamed(blob) => {
                let complete = CompleteBlob::new(blob.id, self.file_len);
                self.phase = Phase::Completing(blob);
                UploadStep::Call(BlobCall::Complete(complete))
            }
            Phase::Failed { id, error } => self.delete(id, error),
            Phase::Finished(outcome) => UploadStep::Done(outcome),
            Phase::Spent => UploadStep::Done(Err(Error::from(Misuse::PolledAfterDone).into())),
            out @ (Phase::Creating
            | Phase::Streaming(_)
            | Phase::Completing(_)
            | Phase::Deleting(_)) => {
                self.phase = out;
                UploadStep::Done(Err(Error::from(Misuse::PolledWhileInFlight).into()))
            }
        }
    }

    fn delete(&mut self, id: u64, error: E) -> UploadStep<E> {
        self.phase = Phase::Deleting(error);
        UploadStep::Call(BlobCall::Delete(DeleteBlob::new(id)))
    }

    /// The outcome of the last [`UploadStep::Call`]. Handing one in when
    /// no call is out is a [`Misuse`] and changes nothing.
    pub fn handle_call(&mut self, outcome: Result<Option<Blob>, E>) -> Result<(), Error> {
        self.phase = match (mem::replace(&mut self.phase, Phase::Spent), outcome) {
            (Phase::Creating, Ok(Some(blob))) => Phase::Created(blob),
            (Phase::Creating, Ok(None)) => {
                let why = DecodeError::new(
                    http::StatusCode::OK,
                    "the file record was not returned",
                    b"",
                );
                Phase::Finished(Err(Error::from(why).into()))
            }
            // No record exists: nothing to delete.
            (Phase::Creating, Err(error)) => Phase::Finished(Err(error)),
            (Phase::Completing(blob), Ok(_)) => Phase::Finished(Ok(blob)),
            (Phase::Completing(blob), Err(error)) => Phase::Failed { id: blob.id, error },
            // Whether or not the delete went through, the failure that
            // caused it is what the caller hears.
            (Phase::Deleting(error), _) => Phase::Finished(Err(error)),
            (other, _) => {
                self.phase = other;
                return Err(Misuse::ResponseWithoutRequest.into());
            }
        };
        Ok(())
    }

    /// The outcome of the last [`UploadStep::Stream`]: `Ok` when the
    /// storage kept the bytes, else the failure (a refusal, a broken
    /// connection, a stall, a cancel).
    pub fn handle_stream(&mut self, outcome: Result<(), E>) -> Result<(), Error> {
        self.phase = match (mem::replace(&mut self.phase, Phase::Spent), outcome) {
            (Phase::Streaming(blob), Ok(())) => Phase::Streamed(blob),
            (Phase::Streaming(blob), Err(error)) => Phase::Failed { id: blob.id, error },
            (other, _) => {
                self.phase = other;
                return Err(Misuse::ResponseWithoutRequest.into());
            }
        };
        Ok(())
    }
}
