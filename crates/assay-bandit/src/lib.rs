//! Bandits and off-policy evaluation for assay.
//!
//! Logged bandit feedback ([`LoggedFeedback`]: context, action, position, reward, propensity per
//! round) comes from an assay [`assay_core::Dataset`] (OBD logs, simulator logs). Policies output
//! their action distribution `pi(action, position | round)` ([`ActionDist`]), and the off-policy
//! estimators ([`EstimatorKind`]: Replay, DM, IPW, SNIPW, DR, SNDR, Switch-DR, DRos) tell from the
//! logs alone what that policy would earn, with the definitions of Open Bandit Pipeline 0.4.1.
//!
//! Key design decision: estimators never materialize OBP's dense `(rounds, actions, positions)`
//! arrays. Every estimator is a mean of per-round values built from three numbers per round
//! ([`RoundTerms`]: the policy's probability of the logged action, the reward model's expectation
//! under the policy at the logged slot, and its prediction for the logged action), which are
//! computed in one parallel pass. A context-free policy is stored once ([`ActionDist`]) and the
//! reward model is evaluated on demand ([`RewardModel`]), so a million rounds with 80 actions and
//! 3 slots need tens of megabytes instead of the 1.9 GB a dense array would take.
//!
//! Beyond OPE: [`learner`] learns a policy from the logs (OBP's IPW learner) whose
//! [`ActionDist`] the estimators evaluate. A/B tests and business metrics are not here; they are
//! assay-experiment's.

#![warn(missing_docs)]
// Numeric kernels index several parallel arrays by one loop variable; that reads best as a range loop.
#![allow(clippy::needless_range_loop)]

mod action_dist;
mod error;
mod estimators;
mod feedback;
pub mod learner;
mod ope;
pub mod policy;
mod registry;
mod reward_model;
pub mod sim;

pub use action_dist::{ActionDist, SUM_TOLERANCE};
pub use error::{BanditError, Result};
pub use estimators::{
    bootstrap_interval, percentile_sorted, round_rewards, BootstrapInterval, DenseRewards,
    EstimatorKind, RewardModel, RoundTerms,
};
pub use feedback::{FeedbackParts, LoggedFeedback};
pub use learner::{learn_ipw_policy, IpwLearner, LearnerConfig, LearnerOutput};
pub use ope::{
    bts_action_dist, obd_benchmark, relative_error, run_ope, run_ope_with_model, Estimate,
    ObdBenchmark, ObdBenchmarkConfig, OpeConfig, RelativeErrorSummary,
};
pub use registry::{
    evaluate_policy, parse_estimators, EvaluationPolicy, PolicyEntry, PolicyName, PolicySettings,
    REGISTRY,
};
pub use reward_model::{sigmoid, CrossFittedRewards, LogisticRegression, RewardModelConfig};
