/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    /// Columns that must have one entry per unit have different lengths.
    #[error("mismatched lengths: {field} has {found} entries, expected {expected} (one per unit)")]
    LengthMismatch {
        /// The column with the wrong length.
        field: &'static str,
        /// Its length.
        found: usize,
        /// The number of units.
        expected: usize,
    },
    /// A file could not be read (assay-import's error, which names file, line and field).
    #[error(transparent)]
    Import(#[from] assay_import::ImportError),
    /// Data or settings do not fit together.
    #[error("invalid input: {0}")]
    Invalid(String),
}

/// This crate's result type.
pub type Result<T, E = ExperimentError> = std::result::Result<T, E>;
