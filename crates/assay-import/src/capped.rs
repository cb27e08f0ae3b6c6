//! Reading users' files in bounded memory: every line is at most [`MAX_LINE_BYTES`], and the
//! few files that are read whole (`assay.toml`, a Bernoulli TS prior) at most
//! [`MAX_WHOLE_FILE_BYTES`].
//!
//! Readers hold one row at a time, so a file's size costs nothing; a *line* is held whole,
//! though, and a file without line breaks (a JSON array saved as `.jsonl`, a binary file, a
//! CSV with an unclosed quote) would be one line as large as the file. [`CappedLines`] sits
//! under every reader and stops at the first line over the cap with an error naming the file,
//! the line and the cap.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use crate::ImportError;

/// The longest line a user's file may have: 16 MiB.
pub const MAX_LINE_BYTES: usize = 16 << 20;

/// The largest file read whole (configuration and prior files): 64 MiB.
pub const MAX_WHOLE_FILE_BYTES: u64 = 64 << 20;

/// A reader that fails with [`LineTooLong`] (inside an [`io::Error`]) as soon as a line grows
/// past its cap.
pub(crate) struct CappedLines<R> {
    inner: R,
    cap: usize,
    /// The 1-based line being read.
    line: u64,
    /// Bytes of the current line so far.
    run: usize,
}

impl<R: Read> CappedLines<R> {
    pub(crate) fn new(inner: R, cap: usize) -> CappedLines<R> {
        CappedLines {
            inner,
            cap,
            line: 1,
            run: 0,
        }
    }
}

impl<R: Read> Read for CappedLines<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut rest = &buf[..n];
        while let Some(end) = rest.iter().position(|&b| b == b'\n') {
            if self.run + end > self.cap {
                return Err(self.too_long());
            }
            self.line += 1;
            self.run = 0;
            rest = &rest[end + 1..];
        }
        self.run += rest.len();
        if self.run > self.cap {
            return Err(self.too_long());
        }
        Ok(n)
    }
}

impl<R> CappedLines<R> {
    fn too_long(&self) -> io::Error {
        io::Error::new(
            io::ErrorKind::InvalidData,
            LineTooLong {
                line: self.line,
                cap: self.cap,
            },
        )
    }
}

/// A line longer than the cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LineTooLong {
    /// The 1-based line.
    pub(crate) line: u64,
    /// The cap in bytes.
    pub(crate) cap: usize,
}

impl fmt::Display for LineTooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {} is longer than {}, the most a line may hold",
            self.line,
            assay_core::memory::format_bytes(self.cap as u128)
        )
    }
}

impl std::error::Error for LineTooLong {}

/// Opens a user's file for reading under the line cap.
pub(crate) fn open(path: &Path) -> Result<CappedLines<File>, ImportError> {
    let file = File::open(path).map_err(|e| ImportError::io(path, e))?;
    Ok(CappedLines::new(file, MAX_LINE_BYTES))
}

/// The error of a failed read of `path`: a line over the cap names its line; anything else is
/// an IO error.
pub(crate) fn io_error(path: &Path, error: io::Error) -> ImportError {
    match line_too_long(&error) {
        Some(long) => too_long_error(path, long),
        None => ImportError::io(path, error),
    }
}

/// The error of a failed CSV read of `path`, when it is a line over the cap.
pub(crate) fn csv_line_error(path: &Path, error: &csv::Error) -> Option<ImportError> {
    match error.kind() {
        csv::ErrorKind::Io(e) => line_too_long(e).map(|long| too_long_error(path, long)),
        _ => None,
    }
}

fn line_too_long(error: &io::Error) -> Option<LineTooLong> {
    error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<LineTooLong>())
        .copied()
}

fn too_long_error(path: &Path, long: LineTooLong) -> ImportError {
    ImportError::data(
        path,
        Some(long.line),
        None,
        format!(
            "the line is longer than {}, the most a line may hold; is the file \
             one record per line?",
            assay_core::memory::format_bytes(long.cap as u128)
        ),
    )
}

/// Reads a small file whole, as text: at most [`MAX_WHOLE_FILE_BYTES`], lines capped. Invalid
/// UTF-8 is the caller's to report, so the bytes are returned.
pub(crate) fn read_small(path: &Path) -> Result<Vec<u8>, ImportError> {
    let mut bytes = Vec::new();
    open(path)?
        .take(MAX_WHOLE_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io_error(path, e))?;
    if bytes.len() as u64 > MAX_WHOLE_FILE_BYTES {
        return Err(ImportError::data(
            path,
            None,
            None,
            format!(
                "the file is larger than {}, the most this kind of file may be",
                assay_core::memory::format_bytes(u128::from(MAX_WHOLE_FILE_BYTES))
            ),
        ));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads `text` through a cap of `cap` bytes in chunks of `chunk` bytes.
    fn read(text: &[u8], cap: usize, chunk: usize) -> Result<Vec<u8>, LineTooLong> {
        let mut reader = CappedLines::new(text, cap);
        let mut out = Vec::new();
        let mut buf = vec![0; chunk];
        loop {
            match reader.read(&mut buf) {
                Ok(0) => return Ok(out),
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) => return Err(line_too_long(&e).expect("a line too long")),
            }
        }
    }

    #[test]
    fn a_file_read_whole_may_hold_up_to_its_cap_and_not_a_byte_more() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("assay.toml");
        // Short lines, so that only the whole-file cap applies.
        let line = b"# a comment of thirty-one bytes\n";
        let mut text = line.repeat((MAX_WHOLE_FILE_BYTES as usize).div_ceil(line.len()));
        text.truncate(MAX_WHOLE_FILE_BYTES as usize);
        std::fs::write(&path, &text).unwrap();
        assert_eq!(
            read_small(&path).unwrap().len() as u64,
            MAX_WHOLE_FILE_BYTES
        );
        text.push(b'\n');
        std::fs::write(&path, &text).unwrap();
        let error = read_small(&path).unwrap_err().to_string();
        assert!(
            error.contains("assay.toml") && error.contains("larger than 64.0 MiB"),
            "{error}"
        );
    }

    #[test]
    fn lines_up_to_the_cap_pass_and_the_first_longer_one_is_named() {
        let text = b"abcd\nabcde\nab\n";
        for chunk in [1, 2, 3, 7, 64] {
            assert_eq!(read(text, 5, chunk).unwrap(), text);
            assert_eq!(read(text, 4, chunk), Err(LineTooLong { line: 2, cap: 4 }));
            // The last line need not end with a newline.
            assert_eq!(
                read(b"ab\nabcdef", 5, chunk),
                Err(LineTooLong { line: 2, cap: 5 })
            );
        }
        assert_eq!(
            LineTooLong {
                line: 3,
                cap: 16 << 20
            }
            .to_string(),
            "line 3 is longer than 16.0 MiB, the most a line may hold"
        );
    }
}
