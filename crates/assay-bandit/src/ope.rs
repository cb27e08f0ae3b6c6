//! The entry points a command line calls: run a set of estimators with confidence intervals,
//! and the Open Bandit Dataset benchmark (OBP's `examples/obd`).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::action_dist::ActionDist;
use crate::error::{BanditError, Result};
use crate::estimators::{
    bootstrap_interval, round_rewards, EstimatorKind, RewardModel, RoundTerms,
};
use crate::feedback::LoggedFeedback;
use crate::policy::{BernoulliTs, BetaPrior};
use crate::reward_model::{CrossFittedRewards, RewardModelConfig};

/// Settings of an off-policy evaluation run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OpeConfig {
    /// Significance level of the intervals (0.05 for 95%).
    pub alpha: f64,
    /// Bootstrap resamples per interval; 0 skips the intervals.
    pub n_bootstrap: usize,
    /// Seed of the bootstrap.
    pub seed: u64,
    /// The true policy value, when known; fills [`Estimate::relative_error`].
    pub ground_truth: Option<f64>,
    /// The reward model fitted for DM and the DR family.
    pub reward_model: RewardModelConfig,
}

/// One row of an OPE result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    /// OBP's estimator name, with its hyperparameter.
    pub estimator: String,
    /// The estimated policy value.
    pub value: f64,
    /// Lower end of the bootstrap interval.
    pub ci_low: Option<f64>,
    /// Upper end of the bootstrap interval.
    pub ci_high: Option<f64>,
    /// `|value - truth| / truth` when the truth is known.
    pub relative_error: Option<f64>,
}

/// Evaluates `pi` on `logs` with each estimator, fitting the configured reward model when an
/// estimator needs one.
pub fn run_ope(
    logs: &LoggedFeedback,
    pi: &ActionDist,
    estimators: &[EstimatorKind],
    config: &OpeConfig,
) -> Result<Vec<Estimate>> {
    let model = if estimators.iter().any(EstimatorKind::needs_reward_model) {
        Some(CrossFittedRewards::fit(logs, &config.reward_model)?)
    } else {
        None
    };
    run_ope_with_model(
        logs,
        pi,
        model.as_ref().map(|m| m as &dyn RewardModel),
        estimators,
        config,
    )
}

/// Evaluates `pi` on `logs` with given reward-model predictions (ignores `config.reward_model`).
pub fn run_ope_with_model(
    logs: &LoggedFeedback,
    pi: &ActionDist,
    reward_model: Option<&dyn RewardModel>,
    estimators: &[EstimatorKind],
    config: &OpeConfig,
) -> Result<Vec<Estimate>> {
    let terms = RoundTerms::compute(logs, pi, reward_model)?;
    let mut out = Vec::with_capacity(estimators.len());
    for (e, &kind) in estimators.iter().enumerate() {
        let values = round_rewards(kind, logs.reward(), &terms)?;
        let value = values.iter().sum::<f64>() / values.len() as f64;
        let (ci_low, ci_high) = if config.n_bootstrap > 0 {
            let ci = bootstrap_interval(
                &values,
                config.alpha,
                config.n_bootstrap,
                config.seed.wrapping_add(e as u64),
            )?;
            (Some(ci.low), Some(ci.high))
        } else {
            (None, None)
        };
        out.push(Estimate {
            estimator: kind.name(),
            value,
            ci_low,
            ci_high,
            relative_error: config.ground_truth.map(|t| relative_error(value, t)),
        });
    }
    Ok(out)
}

/// `|estimate - truth| / truth`, OBP's `relative-ee`.
pub fn relative_error(estimate: f64, truth: f64) -> f64 {
    (estimate - truth).abs() / truth
}

/// OBP's Bernoulli TS batch action distribution (`compute_batch_action_dist(n_sim)` of a policy
/// with the given prior and no updates), context-free.
pub fn bts_action_dist(
    prior: &BetaPrior,
    len_list: usize,
    n_sim: usize,
    seed: u64,
) -> Result<ActionDist> {
    let policy = BernoulliTs::new(len_list, prior.clone())?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    ActionDist::context_free(&policy.batch_action_dist(n_sim, &mut rng))
}

/// Settings of [`obd_benchmark`].
#[derive(Debug, Clone, PartialEq)]
pub struct ObdBenchmarkConfig {
    /// The estimators to compare.
    pub estimators: Vec<EstimatorKind>,
    /// Reward model for DM and the DR family.
    pub reward_model: RewardModelConfig,
    /// Bootstrap resamples of the logs for the relative-error distribution (OBP's `n_runs`).
    pub n_runs: usize,
    /// Resamples of the per-run errors for their interval (OBP's `n_bootstrap_samples`).
    pub n_bootstrap: usize,
    /// Seed of the resampling.
    pub seed: u64,
}

/// The distribution of one estimator's relative error over bootstrap resamples of the logs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RelativeErrorSummary {
    /// Estimator name.
    pub estimator: String,
    /// Mean relative error over the runs.
    pub mean: f64,
    /// Lower end of the 95% bootstrap interval of the mean.
    pub ci_low: f64,
    /// Upper end.
    pub ci_high: f64,
    /// Relative error in each run.
    pub runs: Vec<f64>,
}

/// The result of [`obd_benchmark`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObdBenchmark {
    /// On-policy value of the evaluation policy (mean reward of its own logs).
    pub ground_truth: f64,
    /// On-policy value of the logging policy.
    pub logging_policy_value: f64,
    /// Each estimator on the full logs, with its relative error.
    pub estimates: Vec<Estimate>,
    /// Relative-error distributions over resamples (empty when `n_runs` is 0).
    pub relative_errors: Vec<RelativeErrorSummary>,
}

/// OBP's `examples/obd` experiment: estimate the value of `pi` (e.g. Bernoulli TS) from the
/// `logging` policy's logs (e.g. the random policy's), and compare with the on-policy value in the
/// evaluation policy's own logs (`evaluation`).
///
/// First every estimator runs on the full logs; then, for each of `n_runs` resamples of the
/// logging rounds with replacement, the reward model is refitted and the relative error of every
/// estimator recorded; their mean gets a bootstrap interval.
pub fn obd_benchmark(
    logging: &LoggedFeedback,
    evaluation: &LoggedFeedback,
    pi: &ActionDist,
    config: &ObdBenchmarkConfig,
) -> Result<ObdBenchmark> {
    let ground_truth = evaluation.mean_reward();
    if ground_truth <= 0.0 {
        return Err(BanditError::Invalid(
            "the evaluation policy's logs have no reward: relative errors are undefined".into(),
        ));
    }
    let ope_config = OpeConfig {
        alpha: 0.05,
        n_bootstrap: 0,
        seed: config.seed,
        ground_truth: Some(ground_truth),
        reward_model: config.reward_model,
    };
    let estimates = run_ope(logging, pi, &config.estimators, &ope_config)?;
    let mut runs = vec![Vec::with_capacity(config.n_runs); config.estimators.len()];
    for b in 0..config.n_runs {
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        rng.set_stream(b as u64 + 1);
        let n = logging.n_rounds();
        let rounds: Vec<usize> = (0..n).map(|_| rng.random_range(0..n)).collect();
        let sample = logging.select(&rounds);
        let mut run_config = ope_config;
        run_config.reward_model.seed = config.reward_model.seed.wrapping_add(b as u64);
        for (e, estimate) in run_ope(&sample, pi, &config.estimators, &run_config)?
            .into_iter()
            .enumerate()
        {
            runs[e].push(relative_error(estimate.value, ground_truth));
        }
    }
    let mut relative_errors = Vec::new();
    if config.n_runs > 0 {
        for (kind, runs) in config.estimators.iter().zip(runs) {
            let ci = bootstrap_interval(&runs, 0.05, config.n_bootstrap.max(1), config.seed)?;
            relative_errors.push(RelativeErrorSummary {
                estimator: kind.name(),
                mean: runs.iter().sum::<f64>() / runs.len() as f64,
                ci_low: ci.low,
                ci_high: ci.high,
                runs,
            });
        }
    }
    Ok(ObdBenchmark {
        ground_truth,
        logging_policy_value: logging.mean_reward(),
        estimates,
        relative_errors,
    })
}
