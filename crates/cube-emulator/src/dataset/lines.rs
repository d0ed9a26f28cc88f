//! The lines of a record file, read one at a time: a line longer than the
//! limit is refused after reading that much of it (never read whole), and
//! all the files of a data set share one budget of bytes, so an import's
//! memory is bounded whatever the files hold.

use std::io::{BufRead, BufReader, Read};

/// Reads lines of at most `line_max` bytes (newline included), taking
/// each from a shared `budget`.
pub(super) struct Lines<'b, R> {
    reader: BufReader<R>,
    line: Vec<u8>,
    number: usize,
    line_max: usize,
    budget: &'b mut u64,
}

impl<'b, R: Read> Lines<'b, R> {
    pub(super) fn new(reader: R, line_max: usize, budget: &'b mut u64) -> Self {
        Self {
            reader: BufReader::with_capacity(64 * 1024, reader),
            line: Vec::new(),
            number: 0,
            line_max,
            budget,
        }
    }

    /// The next line, without its newline, and its number (from 1);
    /// `None` at the end. A problem names the line.
    pub(super) fn next_line(&mut self) -> Result<Option<(usize, &[u8])>, String> {
        self.line.clear();
        self.number += 1;
        let number = self.number;
        loop {
            let chunk = self
                .reader
                .fill_buf()
                .map_err(|e| format!("line {number}: {e}"))?;
            if chunk.is_empty() {
                if self.line.is_empty() {
                    return Ok(None);
                }
                return Err(format!("line {number} has no end: the file is truncated"));
            }
            let (take, ends) = match memchr::memchr(b'\n', chunk) {
                Some(at) => (at + 1, true),
                None => (chunk.len(), false),
            };
            let room = self.line_max - self.line.len();
            if take > room {
                return Err(format!(
                    "line {number} is longer than {} bytes",
                    self.line_max
                ));
            }
            let taken = take as u64;
            if taken > *self.budget {
                return Err(format!(
                    "line {number}: the record files hold more than a data set may ({} bytes \
                     in all)",
                    crate::limits::RECORDS_MAX_BYTES
                ));
            }
            *self.budget -= taken;
            self.line.extend_from_slice(&chunk[..take]);
            self.reader.consume(take);
            if ends {
                self.line.pop();
                return Ok(Some((number, &self.line)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::{LINE_MAX_BYTES, RECORDS_MAX_BYTES};

    fn all(bytes: &[u8], line_max: usize, budget: &mut u64) -> Result<Vec<Vec<u8>>, String> {
        let mut lines = Lines::new(bytes, line_max, budget);
        let mut out = Vec::new();
        while let Some((_, line)) = lines.next_line()? {
            out.push(line.to_vec());
        }
        Ok(out)
    }

    #[test]
    fn lines_numbers_and_a_truncated_end() {
        let mut budget = u64::MAX;
        assert_eq!(
            all(b"a\n\nbc\n", 10, &mut budget).unwrap(),
            [&b"a"[..], b"", b"bc"]
        );
        let err = all(b"a\nb", 10, &mut budget).unwrap_err();
        assert_eq!(err, "line 2 has no end: the file is truncated");
    }

    #[test]
    fn a_line_at_the_limit_is_read_and_one_byte_more_is_refused_unread() {
        let at_limit = [vec![b'x'; LINE_MAX_BYTES - 1], vec![b'\n']].concat();
        let mut budget = u64::MAX;
        assert_eq!(
            all(&at_limit, LINE_MAX_BYTES, &mut budget).unwrap().len(),
            1
        );
        // A line far longer than the limit, never ending: only the limit
        // and one buffer past it are read.
        let endless = std::io::repeat(b'x');
        let mut counted = Counted(endless, 0);
        let mut budget = u64::MAX;
        let mut lines = Lines::new(&mut counted, LINE_MAX_BYTES, &mut budget);
        let err = lines.next_line().unwrap_err();
        assert_eq!(err, format!("line 1 is longer than {LINE_MAX_BYTES} bytes"));
        drop(lines);
        assert!(counted.1 <= LINE_MAX_BYTES + 64 * 1024, "{}", counted.1);
    }

    #[test]
    fn the_files_of_a_set_share_a_budget_at_its_limit_and_one_byte_past() {
        let line = [vec![b'x'; (1 << 20) - 1], vec![b'\n']].concat();
        let lines_in_budget = usize::try_from(RECORDS_MAX_BYTES >> 20).unwrap();
        let mut budget = RECORDS_MAX_BYTES;
        // Two files of half the budget each use it all.
        for _ in 0..2 {
            let file = Repeated {
                line: &line,
                at: 0,
                times: lines_in_budget / 2,
            };
            let mut lines = Lines::new(file, LINE_MAX_BYTES, &mut budget);
            let mut n = 0;
            while lines.next_line().unwrap().is_some() {
                n += 1;
            }
            assert_eq!(n, lines_in_budget / 2);
        }
        assert_eq!(budget, 0);
        let err = all(b"\n", LINE_MAX_BYTES, &mut budget).unwrap_err();
        assert!(err.contains("more than a data set may"), "{err}");
    }

    /// A reader that counts what is read from it.
    struct Counted<R>(R, usize);

    impl<R: Read> Read for Counted<R> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.0.read(buf)?;
            self.1 += n;
            Ok(n)
        }
    }

    /// `line`, `times` times, without holding the copies.
    struct Repeated<'a> {
        line: &'a [u8],
        at: usize,
        times: usize,
    }

    impl Read for Repeated<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.times == 0 {
                return Ok(0);
            }
            let rest = &self.line[self.at..];
            let n = buf.len().min(rest.len());
            buf[..n].copy_from_slice(&rest[..n]);
            self.at += n;
            if self.at == self.line.len() {
                self.at = 0;
                self.times -= 1;
            }
            Ok(n)
        }
    }
}
