use std::path::PathBuf;

/// Everything that can go wrong in this crate.
///
/// Errors about input data name the row (a round of logged feedback, an event of a dataset)
/// or the file, line and field, so that a user can find and fix the record.
#[derive(Debug, thiserror::Error)]
pub enum BanditError {
    /// A logged round (or the dataset event it came from) is not usable.
    #[error("bad logged feedback at {what} {row}: {message}")]
    BadRound {
        /// "round" or "event".
        what: &'static str,
        /// Zero-based index of the round or event.
        row: usize,
        /// What is wrong and what was expected.
        message: String,
    },
    /// Columns that must have one entry per round have different lengths.
    #[error(
        "mismatched lengths: {field} has {found} entries, expected {expected} (one per round)"
    )]
    LengthMismatch {
        /// The column with the wrong length.
        field: &'static str,
        /// Its length.
        found: usize,
        /// The number of rounds.
        expected: usize,
    },
    /// A value in a file is malformed.
    #[error("{}:{line}: field `{field}`: {message}", path.display())]
    BadFile {
        /// The file.
        path: PathBuf,
        /// One-based line number (0 when the problem concerns the whole file).
        line: u64,
        /// The field or column.
        field: String,
        /// What is wrong and what was expected.
        message: String,
    },
    /// Reading a file failed.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Shapes or parameters do not fit together (a programming or configuration mistake).
    #[error("invalid input: {0}")]
    Invalid(String),
}

/// This crate's result type.
pub type Result<T, E = BanditError> = std::result::Result<T, E>;

pub(crate) fn bad_file(
    path: &std::path::Path,
    line: u64,
    field: &str,
    message: impl Into<String>,
) -> BanditError {
    BanditError::BadFile {
        path: path.to_path_buf(),
        line,
        field: field.to_owned(),
        message: message.into(),
    }
}
