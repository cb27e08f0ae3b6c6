//! Evaluation metrics for assay's rankings, defined exactly as RecBole defines them.
//!
//! Three families:
//! - [`ranking`]: top-K metrics of one user's ranked list against that user's relevant items
//!   (Recall, Precision, NDCG, MRR, Hit, MAP), and [`RankingAccumulator`], which averages them
//!   over users.
//! - [`beyond`]: properties of the lists themselves (item coverage, Gini of exposure,
//!   intra-list diversity, novelty), with [`ExposureAccumulator`].
//! - [`pointwise`]: AUC and LogLoss for scores of single (user, item) pairs.
//! - [`audience`]: scoring any ranker over an audience of users with a metric at K
//!   ([`score_per_user`], [`score_mean`], [`evaluate_audience`]), in parallel with a fixed
//!   summation order.
//!
//! [`graded_ndcg_at`] is NDCG with graded gains (search judgments), next to the binary one.
//!
//! Key design decision: every per-user metric is a pure function of a *hit vector* (`hits[i]` is
//! true when the item at rank `i + 1` is relevant) and the number of relevant items. Computing
//! the hit vector once per user and deriving all metrics at all cut-offs from it is what RecBole
//! does (`pos_index`, `pos_len`), so the definitions line up one to one, and the accumulators
//! only hold sums and counts, so shards evaluated on different threads merge exactly (up to
//! floating-point summation order) with [`RankingAccumulator::merge`].
//!
//! Items are plain `u32` indices; this crate depends on nothing else in the workspace.

#![warn(missing_docs)]

pub mod audience;
pub mod beyond;
pub mod pointwise;
pub mod ranking;

pub use audience::{evaluate_audience, score_mean, score_per_user, AudienceUser};
pub use beyond::{gini_index, intra_list_diversity, item_coverage, novelty, ExposureAccumulator};
pub use pointwise::{auc, log_loss};
pub use ranking::{
    graded_ndcg_at, hit_vector, hits_at, map_at, mrr_at, ndcg_at, precision_at, recall_at, Metric,
    MetricValues, RankingAccumulator,
};
