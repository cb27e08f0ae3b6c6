/// Everything that can go wrong while valuing data.
#[derive(Debug, thiserror::Error)]
pub enum ValueError {
    /// A method or configuration parameter is out of its valid range.
    #[error("bad parameter {name} = {value}: {reason}")]
    Param {
        /// Parameter name.
        name: &'static str,
        /// Its value, as text.
        value: String,
        /// The valid range.
        reason: &'static str,
    },
    /// The game is too large for an exact method.
    #[error("{method} enumerates 2^n subsets and allows at most {max} players; this game has {n}")]
    TooManyPlayers {
        /// The method's name.
        method: &'static str,
        /// Players in the game.
        n: usize,
        /// The largest supported count.
        max: usize,
    },
    /// The game has no players, or the data has no rows.
    #[error("nothing to value: {0}")]
    Empty(String),
    /// A plain labelled table could not be read.
    #[error(transparent)]
    Import(#[from] assay_import::ImportError),
    /// Training or evaluating a recommender failed.
    #[error(transparent)]
    Recommend(#[from] assay_recommend::RecommendError),
}

/// `Result` with [`ValueError`].
pub type Result<T, E = ValueError> = std::result::Result<T, E>;

pub(crate) fn param<T>(
    name: &'static str,
    value: impl ToString,
    reason: &'static str,
) -> Result<T> {
    Err(ValueError::Param {
        name,
        value: value.to_string(),
        reason,
    })
}
