//! The body of a streamed upload, part by part, as a pump reads it out.

use crate::ops::StreamedUpload;

/// The file handed to an upload was not the length announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LengthMismatch {
    /// The file ended early.
    #[error("the reader ended after {read} of the {announced} bytes announced")]
    Short {
        /// The bytes read before it ended.
        read: u64,
        /// The length announced.
        announced: u64,
    },
    /// The file went on past the announced length.
    #[error("the reader holds more than the {announced} bytes announced")]
    Long {
        /// The length announced.
        announced: u64,
    },
}

/// What the pump does next; see [`UploadBody::poll`].
#[derive(Debug, PartialEq, Eq)]
pub enum BodyStep<'a> {
    /// Send these bytes (of the head or the tail), then say how many went
    /// with [`UploadBody::sent`].
    Bytes(&'a [u8]),
    /// Read at most this many bytes of the file and send them, then hand
    /// the count to [`UploadBody::file_read`] (0 when the file ended).
    ReadFile(usize),
    /// The announced length went out: read once more, the file must be at
    /// its end, and say whether it was with [`UploadBody::end_checked`].
    CheckEnd,
    /// The body is complete.
    End,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Head,
    File,
    CheckEnd,
    Tail,
    End,
}

/// The body of a [`StreamedUpload`] as a pump sends it: the head, exactly
/// the announced length of the file, a check that the file holds no more,
/// the tail. The pump reads the file and moves the bytes; this says what
/// comes next, counts the file's bytes for progress, and refuses a file of
/// another length ([`LengthMismatch`]) before the tail goes, so the
/// storage never completes a wrong file.
///
/// ```
/// use cube_proto::transfer::{BodyStep, LengthMismatch, UploadBody};
/// let mut body = UploadBody::new(b"HEAD".to_vec(), 3, b"TAIL".to_vec());
/// assert_eq!(body.poll(), BodyStep::Bytes(b"HEAD"));
/// body.sent(4);
/// assert_eq!(body.poll(), BodyStep::ReadFile(3));
/// body.file_read(2)?;
/// assert_eq!(body.poll(), BodyStep::ReadFile(1));
/// assert_eq!(body.file_read(0), Err(LengthMismatch::Short { read: 2, announced: 3 }));
/// # Ok::<(), LengthMismatch>(())
/// ```
#[derive(Debug, Clone)]
pub struct UploadBody {
    head: Vec<u8>,
    tail: Vec<u8>,
    file_len: u64,
    /// Bytes of the file read so far.
    read: u64,
    /// Bytes of the current head or tail sent so far.
    at: usize,
    part: Part,
}

impl UploadBody {
    /// The body of `head`, `file_len` bytes of the file, `tail`.
    pub fn new(head: Vec<u8>, file_len: u64, tail: Vec<u8>) -> Self {
        let mut body = Self {
            head,
            tail,
            file_len,
            read: 0,
            at: 0,
            part: Part::Head,
        };
        body.settle();
        body
    }

    /// The body of `upload`, and its request head.
    pub fn of(upload: StreamedUpload) -> (http::Request<()>, Self) {
        let file_len = upload.file_len();
        let (request, head, tail) = upload.into_parts();
        (request, Self::new(head, file_len, tail))
    }

    /// The file's bytes read so far and its announced length, for progress.
    pub fn progress(&self) -> (u64, u64) {
        (self.read, self.file_len)
    }

    /// How many bytes of the body are still to go (its `Content-Length`
    /// before the first byte).
    pub fn remaining(&self) -> u64 {
        let head = match self.part {
            Part::Head => (self.head.len() - self.at) as u64,
            _ => 0,
        };
        let tail = match self.part {
            Part::Tail => (self.tail.len() - self.at) as u64,
            Part::End => 0,
            _ => self.tail.len() as u64,
        };
        head + (self.file_len - self.read) + tail
    }

    /// What to send next.
    pub fn poll(&self) -> BodyStep<'_> {
        match self.part {
            Part::Head => BodyStep::Bytes(&self.head[self.at..]),
            Part::File => {
                let left = self.file_len - self.read;
                BodyStep::ReadFile(usize::try_from(left).unwrap_or(usize::MAX))
            }
            Part::CheckEnd => BodyStep::CheckEnd,
            Part::Tail => BodyStep::Bytes(&self.tail[self.at..]),
            Part::End => BodyStep::End,
        }
    }

    /// Moves past every part that has nothing left to send, so that `poll`
    /// never hands out an empty slice or a read of nothing. No loop: each
    /// part is passed at most once, in order. `at` may pass the end of the
    /// head or tail when a pump says it sent more than it was given.
    fn settle(&mut self) {
        if self.part == Part::Head && self.at >= self.head.len() {
            self.advance(Part::File);
        }
        // `read` never passes `file_len` (see `file_read`).
        if self.part == Part::File && self.read == self.file_len {
            self.advance(Part::CheckEnd);
        }
        if self.part == Part::Tail && self.at >= self.tail.len() {
            self.advance(Part::End);
        }
    }

    fn advance(&mut self, part: Part) {
        self.part = part;
        self.at = 0;
    }

    /// `n` bytes of what [`BodyStep::Bytes`] gave went out.
    pub fn sent(&mut self, n: usize) {
        // Counted whatever the part: only the head and the tail read `at`,
        // and moving to either starts it again from 0.
        self.at = self.at.saturating_add(n);
        self.settle();
    }

    /// `n` bytes of the file were read and go out; 0 means the file ended,
    /// which before the announced length is a [`LengthMismatch::Short`].
    pub fn file_read(&mut self, n: usize) -> Result<(), LengthMismatch> {
        if n == 0 && self.read < self.file_len {
            return Err(LengthMismatch::Short {
                read: self.read,
                announced: self.file_len,
            });
        }
        let n = n as u64;
        self.read = self.read.saturating_add(n).min(self.file_len);
        self.settle();
        Ok(())
    }

    /// Whether the read after the announced length found more: if it did,
    /// a [`LengthMismatch::Long`]; else the tail goes next.
    pub fn end_checked(&mut self, more: bool) -> Result<(), LengthMismatch> {
        if more {
            return Err(LengthMismatch::Long {
                announced: self.file_len,
            });
        }
        if self.part == Part::CheckEnd {
            self.advance(Part::Tail);
            self.settle();
        }
        Ok(())
    }
}
