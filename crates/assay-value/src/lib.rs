//! The data valuation engine of assay: what each player (a data source, a time window, a
//! user, an item, a training row) is worth to a model.
//!
//! Everything is phrased as a cooperative game. A [`Utility`] gives a number for every subset
//! of players (typically: train a model on the players' data, score it on a fixed validation
//! set). Valuation methods only ever call [`Utility::eval`], so they work for any model and any
//! metric:
//!
//! - exact: [`leave_one_out`], [`exact_semivalue`] (Shapley, Banzhaf, Beta Shapley by
//!   enumerating all `2^n` subsets, up to [`MAX_EXACT_PLAYERS`]);
//! - Monte-Carlo, seeded, with standard errors and a [`Convergence`] rule:
//!   [`permutation_semivalue`] (TMC-Shapley with truncation, Beta Shapley by importance-weighted
//!   permutations) and [`msr_banzhaf`] (Banzhaf with maximum sample reuse);
//! - model-specific closed forms that bypass the generic game: [`knn_shapley`] (exact
//!   KNN-Shapley in O(N log N) per test point) and [`data_oob`] (out-of-bag accuracy under
//!   bagging of a [`WeakLearner`]);
//! - recommender utilities in [`recommend`]: players are groups of event rows, the utility is a
//!   RecBole ranking metric of a model fitted on them.
//! - [`recommend_oob`]: Data-OOB for recommender data (interactions or users), the
//!   out-of-bag percentile rank of a player's items under bagged item-item models; no
//!   validation set, `n_bags` fits whatever the number of players.
//!
//! Every method returns a [`Values`] table (serde `Serialize`): value, standard error, sample
//! count and convergence flag per player. [`value_players`] values any utility;
//! [`plan::run`] is the one entry point a front end needs: it carries out a
//! [`plan::ValuationPlan`] (players, method, model, utility, audience) on a dataset or a
//! labelled table, including valuing users in two cross-fitted halves
//! ([`plan::value_in_halves`]). [`per_user`] values groups with standard errors over the
//! evaluation users, as the data-value report shows them.
//!
//! Key design decision: the utility is a plain `Fn(subset) -> f64`-like trait, and speed
//! comes from *outside* the methods: [`CachedUtility`] memoises subsets by bitset,
//! evaluation runs on rayon, and a utility whose model can be updated one player at a time
//! overrides [`Utility::eval_prefixes`], which permutation methods call for a whole
//! permutation at once. So methods stay short enough to check against the papers and against
//! exact enumeration, and fast paths never change what is computed. Every Monte-Carlo sample
//! `k` uses ChaCha8 stream `k` of the seed and results are merged in sample order, so the same
//! seed gives the same values whatever the thread count.
//!
//! [`recommend::RecommenderUtility`] refits the model for every subset; [`fast`] holds exact
//! implementations of the same utilities that do not (EASE from per-subset Gram matrices, and
//! Sherman-Morrison updates along permutations), and [`fast::fast_utility`] picks one;
//! [`business`] values data by the CTR or revenue, estimated off-policy on held-out logs,
//! of the policy a model fitted on it induces.

#![warn(missing_docs)]

mod error;
mod exact;
mod knn;
mod oob;
mod radix;
mod sampling;
mod utility;
mod values;

pub mod assess;
pub mod business;
pub mod curves;
pub mod fast;
pub mod influence;
pub mod modalities;
pub mod per_user;
pub mod plan;
pub mod recommend;
pub mod recommend_oob;

pub use assay_import::LabelledTable;
pub use error::{Result, ValueError};
pub use exact::{exact_semivalue, exact_shapley, leave_one_out, Semivalue, MAX_EXACT_PLAYERS};
pub use knn::{knn_shapley, knn_shapley_csv, KnnUtility};
pub use oob::{data_oob, KnnClassifier, LogisticClassifier, OobConfig, WeakLearner};
pub use sampling::{msr_banzhaf, permutation_semivalue, Convergence, Progress};
pub use utility::{CachedUtility, FirstFailure, FnUtility, Utility};
pub use values::{PlayerValue, Values};

/// A valuation method over a generic [`Utility`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Method {
    /// `U(N) − U(N \ {i})`.
    LeaveOneOut,
    /// Shapley values by enumeration (at most [`MAX_EXACT_PLAYERS`] players).
    ExactShapley,
    /// Banzhaf values by enumeration.
    ExactBanzhaf,
    /// Truncated Monte-Carlo Shapley (Ghorbani & Zou 2019); `truncation` is the relative
    /// tolerance (0 disables truncation; 0.01 is a common choice).
    TmcShapley {
        /// Stop a permutation when `|U(N) − U(prefix)| < truncation · |U(N)|`.
        truncation: f64,
    },
    /// Banzhaf by maximum sample reuse (Wang & Jia 2023).
    MsrBanzhaf,
    /// Beta Shapley (Kwon & Zou 2022) by importance-weighted permutations, exact when the
    /// game has at most [`MAX_EXACT_PLAYERS`] players and `exact` is set.
    BetaShapley {
        /// α (16 in the paper's recommended Beta(16, 1)).
        alpha: f64,
        /// β.
        beta: f64,
        /// Enumerate instead of sampling.
        exact: bool,
    },
    /// Data-OOB (Kwon & Zou 2023): out-of-bag scores under `bags` bagged models. Not a
    /// semivalue of a [`Utility`]: the [`plan`] runs it on recommender data
    /// ([`recommend_oob`]), [`data_oob`] on a labelled table.
    DataOob {
        /// Number of bags (model fits).
        bags: usize,
    },
    /// Users' first-order influence on other users' ItemKNN recommendations
    /// ([`influence`]): not a semivalue of a [`Utility`]; the [`plan`] runs it on
    /// recommender data. `top` competitors of each scorer's held-out items.
    Influence {
        /// Top items of a scorer's list that the direction lowers.
        top: usize,
    },
    /// Exact KNN-Shapley (Jia et al. 2019) of the rows of a labelled table, with `k`
    /// neighbours: a closed form, not a semivalue of a [`Utility`] ([`knn_shapley`]).
    KnnShapley {
        /// Neighbours.
        k: usize,
    },
}

impl Method {
    /// Parses a command-line name: `loo`, `shapley`, `banzhaf-exact`, `tmc`, `banzhaf`, `beta`
    /// (Beta(16, 1), sampled), `beta-exact`, `oob` (100 bags), `knn-shapley` (5 neighbours),
    /// `influence` (the top 50 competitors).
    pub fn parse(name: &str) -> Option<Method> {
        Some(match name {
            "loo" => Method::LeaveOneOut,
            "shapley" | "exact-shapley" => Method::ExactShapley,
            "banzhaf-exact" | "exact-banzhaf" => Method::ExactBanzhaf,
            "tmc" | "tmc-shapley" => Method::TmcShapley { truncation: 0.01 },
            "banzhaf" | "msr" | "msr-banzhaf" => Method::MsrBanzhaf,
            "beta" | "beta-shapley" => Method::BetaShapley {
                alpha: 16.0,
                beta: 1.0,
                exact: false,
            },
            "beta-exact" => Method::BetaShapley {
                alpha: 16.0,
                beta: 1.0,
                exact: true,
            },
            "oob" | "data-oob" => Method::DataOob { bags: 100 },
            "knn-shapley" => Method::KnnShapley { k: 5 },
            "influence" => Method::Influence {
                top: influence::DEFAULT_TOP,
            },
            _ => return None,
        })
    }
}

/// Settings shared by the Monte-Carlo methods.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ValueConfig {
    /// Seed of every random draw.
    pub seed: u64,
    /// When sampling stops.
    pub convergence: Convergence,
}

/// Values the players of `utility` with `method`. `progress(done, total)` is called after
/// each batch of samples (Monte-Carlo methods only). Data-OOB and KNN-Shapley do not value
/// a generic utility: they are a parameter error here (see [`plan::run`]). An evaluation that
/// failed ([`Utility::take_failure`]) is this function's error: no values are returned.
pub fn value_players(
    utility: &dyn Utility,
    method: &Method,
    config: &ValueConfig,
    progress: Progress<'_>,
) -> Result<Values> {
    let values = run_method(utility, method, config, progress);
    match utility.take_failure() {
        Some(failure) => Err(failure),
        None => values,
    }
}

fn run_method(
    utility: &dyn Utility,
    method: &Method,
    config: &ValueConfig,
    progress: Progress<'_>,
) -> Result<Values> {
    match *method {
        Method::LeaveOneOut => leave_one_out(utility),
        Method::ExactShapley => exact_semivalue(utility, Semivalue::Shapley),
        Method::ExactBanzhaf => exact_semivalue(utility, Semivalue::Banzhaf),
        Method::TmcShapley { truncation } => permutation_semivalue(
            utility,
            Semivalue::Shapley,
            (truncation > 0.0).then_some(truncation),
            &config.convergence,
            config.seed,
            progress,
        ),
        Method::MsrBanzhaf => msr_banzhaf(utility, &config.convergence, config.seed, progress),
        Method::BetaShapley { alpha, beta, exact } => {
            let semivalue = Semivalue::Beta { alpha, beta };
            if exact {
                exact_semivalue(utility, semivalue)
            } else {
                permutation_semivalue(
                    utility,
                    semivalue,
                    None,
                    &config.convergence,
                    config.seed,
                    progress,
                )
            }
        }
        Method::DataOob { .. } => error::param(
            "method",
            "data-oob",
            "is not a semivalue of a utility: it values recommender data or a labelled table",
        ),
        Method::Influence { .. } => error::param(
            "method",
            "influence",
            "is not a semivalue of a utility: it values the users of recommender data",
        ),
        Method::KnnShapley { .. } => error::param(
            "method",
            "knn-shapley",
            "is not a semivalue of a utility: it values the rows of a labelled table",
        ),
    }
}
