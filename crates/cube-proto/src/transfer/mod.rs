//! Uploads and downloads as state machines, driven like a
//! [`Call`](crate::Call): the flow says what to send and what the answers
//! mean, the adapter moves the bytes.
//!
//! * [`UploadFlow`]: create the file's record, stream its bytes, complete
//!   it; the record is deleted again when anything after its creation
//!   fails or is cancelled.
//! * [`UploadBody`]: the streamed body, part by part, with the file held to
//!   its announced length.
//! * [`DownloadFlow`]: `GET /blobs/{uid}/download` under the session, its
//!   one storage redirect (the token only on the API's origin), the bytes
//!   counted against a limit.
//!
//! An adapter's upload, the whole of what it decides being I/O:
//!
//! ```text
//! let mut flow = UploadFlow::new(create_blob, len, random)?;
//! loop {
//!     match flow.poll(&config) {
//!         UploadStep::Call(call) => flow.handle_call(execute(call))?,
//!         UploadStep::Stream(upload) => flow.handle_stream(pump(upload, &mut reader))?,
//!         UploadStep::Done(result) => return result,
//!     }
//! }
//! ```

mod body;
mod download;
mod upload;

pub use body::{BodyStep, LengthMismatch, UploadBody};
pub use download::{DownloadFlow, DownloadStep, ERROR_BODY_LIMIT, FileBody};
pub use upload::{BlobCall, UploadFlow, UploadStep};
