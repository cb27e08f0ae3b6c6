use std::path::PathBuf;

/// Everything that can go wrong while fitting, saving, loading or evaluating a model.
#[derive(Debug, thiserror::Error)]
pub enum RecommendError {
    /// A model specification could not be parsed.
    #[error("bad model spec `{spec}`: {reason}")]
    Spec {
        /// The text as given.
        spec: String,
        /// What was expected.
        reason: String,
    },
    /// A hyper-parameter is out of its valid range.
    #[error("bad parameter {name} = {value}: {reason}")]
    Param {
        /// Parameter name.
        name: &'static str,
        /// Its value, as text.
        value: String,
        /// The valid range.
        reason: &'static str,
    },
    /// A linear solve failed (the Gram matrix was not positive definite).
    #[error("linear algebra failed: {0}")]
    LinearAlgebra(String),
    /// A fit would need more memory than the budget allows ([`assay_core::memory`]); checked
    /// before anything is allocated.
    #[error(transparent)]
    TooLarge(#[from] assay_core::TooLarge),
    /// A step whose estimated time is over the time budget ([`assay_core::budget`]), refused
    /// before any work.
    #[error(transparent)]
    TooSlow(#[from] assay_core::TooSlow),
    /// Training a neural model failed (a tensor operation, or a loss that is not finite).
    #[error("training failed: {0}")]
    Training(String),
    /// The data cannot be used for this step (no users, no items, an empty split...).
    #[error("unusable data: {0}")]
    Data(String),
    /// The model cannot do what was asked (see [`crate::Capabilities`]).
    #[error("{kind} models cannot {what}")]
    Unsupported {
        /// The model kind.
        kind: &'static str,
        /// What was asked.
        what: &'static str,
    },
    /// Reading or writing a model file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A folder to save a model as holds something other than a saved model, which saving
    /// would delete.
    #[error(
        "{path}: holds files that are not a saved model; choose another folder or empty this one"
    )]
    NotAModelDir {
        /// The folder.
        path: PathBuf,
    },
    /// A model file is not what this version writes.
    #[error("{path}: {reason}")]
    ModelFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

/// `Result` with [`RecommendError`].
pub type Result<T, E = RecommendError> = std::result::Result<T, E>;
