use std::path::PathBuf;

/// What can go wrong while building, opening or querying a search index.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The query has no searchable text.
    #[error("empty query: type at least one word")]
    EmptyQuery,
    /// The query is longer than the limit.
    #[error("query too long: {len} bytes, at most {max} allowed")]
    QueryTooLong {
        /// Length of the query in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A filter expression could not be parsed.
    #[error("invalid filter `{input}`: {reason}")]
    InvalidFilter {
        /// The offending part of the filter expression.
        input: String,
        /// What was expected.
        reason: String,
    },
    /// An option is out of range.
    #[error("invalid option: {0}")]
    InvalidOption(String),
    /// No item with this id is in the index.
    #[error("unknown item id `{0}`")]
    UnknownItem(String),
    /// The embedding model failed.
    #[error("encoder: {0}")]
    Encoder(#[from] assay_encoder::EncoderError),
    /// The index was built with another embedding model.
    #[error("index at {dir} was built with model {built}, but the encoder is {given}")]
    ModelMismatch {
        /// The index directory.
        dir: PathBuf,
        /// Model id recorded in the index.
        built: String,
        /// Model id of the encoder given.
        given: String,
    },
    /// tantivy failed.
    #[error("lexical index: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A file has the wrong content.
    #[error("{path}:{line}: {reason}")]
    Format {
        /// The file.
        path: PathBuf,
        /// 1-based line number (0 when not known).
        line: u64,
        /// What was expected.
        reason: String,
    },
}

impl SearchError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> SearchError {
        let path = path.into();
        move |source| SearchError::Io { path, source }
    }
}
