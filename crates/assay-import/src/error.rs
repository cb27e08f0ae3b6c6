use std::fmt;
use std::io;
use std::path::PathBuf;

/// Why an import failed. The `Display` text is the whole message for the user: it names the file,
/// the line (1-based, the header is line 1) or the `assay.toml` key, the field, and what was expected.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// A file or directory could not be opened or read.
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The path is not a dataset assay recognizes.
    #[error("{}: {message}", path.display())]
    Unrecognized {
        /// The path given to [`crate::load`].
        path: PathBuf,
        /// What was looked for and what was found.
        message: String,
    },
    /// `assay.toml` is malformed.
    #[error("{}: {message}", path.display())]
    Config {
        /// The `assay.toml` file.
        path: PathBuf,
        /// The offending key, dotted (`items.id`, `events[0].kind`), when one is to blame.
        key: Option<String>,
        /// What is wrong; names the key when there is one.
        message: String,
    },
    /// A file read on its own (a catalog, A/B test, action distribution, prior, labelled table
    /// or label file) breaks a rule.
    #[error("{}:{line}: field `{field}`: {message}", path.display())]
    Field {
        /// The file.
        path: PathBuf,
        /// 1-based line (the header is line 1); 0 when the problem concerns the whole file.
        line: u64,
        /// The field, column or key at fault.
        field: String,
        /// What was expected and what was found.
        message: String,
    },
    /// A file asks for more memory than the budget allows ([`assay_core::memory`]), e.g. a
    /// per-round action distribution of millions of rounds and thousands of actions.
    #[error(transparent)]
    TooLarge(#[from] assay_core::TooLarge),
    /// A data file breaks a rule.
    #[error("{}", DataLocation { file, line: *line, field: field.as_deref(), message })]
    Data {
        /// The data file.
        file: PathBuf,
        /// 1-based line of the row (the header is line 1), when the problem is in one row.
        line: Option<u64>,
        /// The column, when the problem is in one field.
        field: Option<String>,
        /// What was expected and what was found.
        message: String,
    },
}

/// Renders `file:line: field 'name': message`, leaving out the parts that are unknown.
struct DataLocation<'a> {
    file: &'a PathBuf,
    line: Option<u64>,
    field: Option<&'a str>,
    message: &'a str,
}

impl fmt::Display for DataLocation<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(field) = self.field {
            write!(f, ": field '{field}'")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl ImportError {
    pub(crate) fn data(
        file: impl Into<PathBuf>,
        line: Option<u64>,
        field: Option<&str>,
        message: impl Into<String>,
    ) -> ImportError {
        ImportError::Data {
            file: file.into(),
            line,
            field: field.map(str::to_owned),
            message: message.into(),
        }
    }

    pub(crate) fn field(
        path: &std::path::Path,
        line: u64,
        field: &str,
        message: impl Into<String>,
    ) -> ImportError {
        ImportError::Field {
            path: path.to_path_buf(),
            line,
            field: field.to_owned(),
            message: message.into(),
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> ImportError {
        ImportError::Io {
            path: path.into(),
            source,
        }
    }
}
