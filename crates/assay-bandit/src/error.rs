/// Everything that can go wrong in this crate.
///
/// Errors about input data name the row (a round of logged feedback, an event of a dataset);
/// errors about files come from assay-import and name the file, line and field.
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
    /// No registered policy has this name.
    #[error("unknown policy '{given}': expected {expected}")]
    UnknownPolicy {
        /// The name given.
        given: String,
        /// The accepted names.
        expected: String,
    },
    /// The policy has no action distribution without an online run.
    #[error(
        "policy '{policy}' cannot be evaluated off-policy from logs alone: expected {expected}"
    )]
    NotOffPolicy {
        /// The policy's name.
        policy: &'static str,
        /// The policies that can be.
        expected: String,
    },
    /// The Bernoulli TS prior does not cover the logs' actions.
    #[error("the prior has {prior} items, the logs have {actions} actions")]
    PriorMismatch {
        /// Actions in the prior.
        prior: usize,
        /// Actions in the logs.
        actions: usize,
    },
    /// No estimator has this name.
    #[error(
        "unknown estimator '{given}': expected a comma-separated list of replay, dm, ipw, snipw, \
         dr, sndr, switch-dr:TAU, dr-os:LAMBDA, or 'all'"
    )]
    UnknownEstimator {
        /// The name given.
        given: String,
    },
    /// A step would need more memory than the budget allows ([`assay_core::memory`]);
    /// checked before anything is allocated.
    #[error(transparent)]
    TooLarge(#[from] assay_core::TooLarge),
    /// A file could not be read (assay-import's error, which names file, line and field).
    #[error(transparent)]
    Import(#[from] assay_import::ImportError),
    /// Shapes or parameters do not fit together (a programming or configuration mistake).
    #[error("invalid input: {0}")]
    Invalid(String),
}

/// This crate's result type.
pub type Result<T, E = BanditError> = std::result::Result<T, E>;
