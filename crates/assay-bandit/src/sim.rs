//! A small synthetic contextual bandit whose truth is known: contexts, click probabilities, a
//! logging policy with known propensities and an evaluation policy with a known value.
//! It checks the estimators (bias, RMSE, interval coverage) and runs policies online (regret).
//!
//! Contexts are `x ~ N(0, I_dim)`; the click probability of action `a` is
//! `sigmoid(theta_a . x + b_a)`, with per-action `theta_a` (an interaction the logistic reward
//! model over `[x, one-hot(a)]` cannot represent, so DM is biased while IPW and DR are not).
//! The logging policy is `softmax(0.5 * u_a . x)` for random `u`; the evaluation policy is
//! `softmax(2 * logit(x, a))`, a good policy. One slot per round.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::Serialize;

use crate::action_dist::ActionDist;
use crate::error::Result;
use crate::estimators::{
    bootstrap_interval, round_rewards, EstimatorKind, RewardModel, RoundTerms,
};
use crate::feedback::{FeedbackParts, LoggedFeedback};
use crate::policy::Policy;
use crate::registry::PolicyName;
use crate::reward_model::{dot, sigmoid, CrossFittedRewards, RewardModelConfig};

/// The environment (see the module docs).
#[derive(Debug, Clone)]
pub struct SyntheticBandit {
    n_actions: usize,
    dim: usize,
    theta: Vec<f64>,
    bias: Vec<f64>,
    logging_weights: Vec<f64>,
}

impl SyntheticBandit {
    /// A random environment drawn from `seed`.
    pub fn new(n_actions: usize, dim: usize, seed: u64) -> SyntheticBandit {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut normal = |scale: f64, n: usize| -> Vec<f64> {
            (0..n)
                .map(|_| {
                    let z: f64 = StandardNormal.sample(&mut rng);
                    scale * z
                })
                .collect()
        };
        let theta = normal(0.5, n_actions * dim);
        let bias: Vec<f64> = normal(0.5, n_actions)
            .into_iter()
            .map(|b| b - 1.5)
            .collect();
        let logging_weights = normal(1.0, n_actions * dim);
        SyntheticBandit {
            n_actions,
            dim,
            theta,
            bias,
            logging_weights,
        }
    }

    /// Number of actions.
    pub fn n_actions(&self) -> usize {
        self.n_actions
    }

    /// Context width.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Draws a context.
    pub fn context(&self, rng: &mut ChaCha8Rng) -> Vec<f64> {
        (0..self.dim).map(|_| StandardNormal.sample(rng)).collect()
    }

    /// True click probability of `action` for `context`.
    pub fn click_prob(&self, context: &[f64], action: usize) -> f64 {
        sigmoid(self.logit(context, action))
    }

    fn logit(&self, context: &[f64], action: usize) -> f64 {
        dot(
            &self.theta[action * self.dim..(action + 1) * self.dim],
            context,
        ) + self.bias[action]
    }

    /// The logging policy's probabilities for `context`.
    pub fn logging_probs(&self, context: &[f64]) -> Vec<f64> {
        softmax((0..self.n_actions).map(|a| {
            0.5 * dot(
                &self.logging_weights[a * self.dim..(a + 1) * self.dim],
                context,
            )
        }))
    }

    /// The evaluation policy's probabilities for `context`.
    pub fn evaluation_probs(&self, context: &[f64]) -> Vec<f64> {
        softmax((0..self.n_actions).map(|a| 2.0 * self.logit(context, a)))
    }

    /// The evaluation policy's value `E_x sum_a pi(a | x) P(click | x, a)`, by Monte Carlo over
    /// `n_contexts` contexts (exact expectations given each context).
    pub fn true_value(&self, n_contexts: usize, seed: u64) -> f64 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut sum = 0.0;
        for _ in 0..n_contexts {
            let x = self.context(&mut rng);
            let pi = self.evaluation_probs(&x);
            sum += (0..self.n_actions)
                .map(|a| pi[a] * self.click_prob(&x, a))
                .sum::<f64>();
        }
        sum / n_contexts as f64
    }

    /// Logs `n_rounds` rounds of the logging policy, with the evaluation policy's per-round
    /// distribution. Action features are one-hot, so the reward model sees `[x, one-hot(a)]`.
    pub fn sample_logs(
        &self,
        n_rounds: usize,
        rng: &mut ChaCha8Rng,
    ) -> Result<(LoggedFeedback, ActionDist)> {
        let a_n = self.n_actions;
        crate::action_dist::check_per_round("the evaluation policy", n_rounds, a_n, 1, 2)?;
        assay_core::memory::check(
            assay_core::memory::dense_bytes(&[a_n, a_n], 8)
                .saturating_add(assay_core::memory::dense_bytes(&[n_rounds, self.dim], 8)),
            || {
                format!(
                    "one-hot action contexts of {a_n} actions and contexts of {n_rounds} rounds"
                )
            },
            "use fewer actions or rounds",
        )?;
        let mut context = Vec::with_capacity(n_rounds * self.dim);
        let mut action = Vec::with_capacity(n_rounds);
        let mut reward = Vec::with_capacity(n_rounds);
        let mut pscore = Vec::with_capacity(n_rounds);
        let mut pi = Vec::with_capacity(n_rounds * a_n);
        for _ in 0..n_rounds {
            let x = self.context(rng);
            let probs = self.logging_probs(&x);
            let a = sample_index(&probs, rng);
            let clicked = rng.random::<f64>() < self.click_prob(&x, a);
            action.push(a as u32);
            pscore.push(probs[a]);
            reward.push(f64::from(u8::from(clicked)));
            pi.extend(self.evaluation_probs(&x));
            context.extend(x);
        }
        let mut action_context = vec![0.0; a_n * a_n];
        for a in 0..a_n {
            action_context[a * a_n + a] = 1.0;
        }
        let logs = LoggedFeedback::new(FeedbackParts {
            n_actions: a_n,
            len_list: 1,
            context_dim: self.dim,
            context,
            action,
            position: vec![0; n_rounds],
            reward,
            pscore,
            action_context_dim: a_n,
            action_context,
        })?;
        let pi = ActionDist::from_obp_layout(n_rounds, a_n, 1, &pi)?;
        Ok((logs, pi))
    }

    /// Runs `policy` online for `n_rounds` (one slot) and returns the cumulative expected regret
    /// after each round: `sum_t max_a P(click | x_t, a) - P(click | x_t, a_t)`.
    pub fn regret_curve<P: Policy + ?Sized>(
        &self,
        policy: &mut P,
        n_rounds: usize,
        rng: &mut ChaCha8Rng,
    ) -> Vec<f64> {
        let mut total = 0.0;
        let mut curve = Vec::with_capacity(n_rounds);
        for _ in 0..n_rounds {
            let x = self.context(rng);
            let best = (0..self.n_actions)
                .map(|a| self.click_prob(&x, a))
                .fold(0.0, f64::max);
            let a = policy.select(&x, rng)[0] as usize;
            let p = self.click_prob(&x, a);
            let reward = f64::from(u8::from(rng.random::<f64>() < p));
            policy.update(&x, a as u32, reward);
            total += best - p;
            curve.push(total);
        }
        curve
    }

    /// Runs each registered policy online for `n_rounds` from a fresh start and returns its
    /// cumulative expected regret after each round (see [`SyntheticBandit::regret_curve`]).
    /// Every policy sees the same stream of contexts and click draws, seeded by `seed`.
    ///
    /// # Errors
    /// A run over the memory budget ([`check_online_run`]), or a policy that cannot be built.
    pub fn compare_policies(
        &self,
        policies: &[PolicyName],
        n_rounds: usize,
        seed: u64,
    ) -> Result<Vec<Vec<f64>>> {
        check_online_run(policies, self.n_actions, self.dim, n_rounds)?;
        policies
            .iter()
            .map(|name| {
                let mut policy = name.online(self.n_actions, self.dim)?;
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                Ok(self.regret_curve(policy.as_mut(), n_rounds, &mut rng))
            })
            .collect()
    }
}

/// Checks that [`SyntheticBandit::new`] and [`SyntheticBandit::compare_policies`] of
/// `policies` over `n_actions` actions, `dim`-dimensional contexts and `n_rounds` rounds stay
/// within the memory budget ([`assay_core::memory`]): the environment's two `n_actions x dim`
/// tables, the largest policy's state (policies run one after another) and every regret curve.
/// Call it before building the environment.
pub fn check_online_run(
    policies: &[PolicyName],
    n_actions: usize,
    dim: usize,
    n_rounds: usize,
) -> Result<()> {
    use assay_core::memory::{self, dense_bytes, format_count};
    let largest = policies
        .iter()
        .map(|p| (p.online_bytes(n_actions, dim, n_rounds), p.name()))
        .max();
    let environment = dense_bytes(&[3, n_actions, dim.saturating_add(1)], 8);
    let curves = dense_bytes(&[policies.len(), n_rounds], 8);
    let bytes = largest
        .map_or(0, |(b, _)| b)
        .saturating_add(environment)
        .saturating_add(curves);
    memory::check(
        bytes,
        || {
            let policy = largest.map_or(String::new(), |(_, name)| format!(" and {name}'s state"));
            format!(
                "an online run of {} rounds over {} actions with {}-dimensional contexts needs \
                 the environment, every regret curve{policy}",
                format_count(n_rounds as u64),
                format_count(n_actions as u64),
                format_count(dim as u64)
            )
        },
        "use fewer actions, a smaller --dim or fewer rounds (linucb, lints, logucb and logts \
         keep a dim x dim matrix per action)",
    )?;
    Ok(())
}

fn softmax(logits: impl Iterator<Item = f64>) -> Vec<f64> {
    let logits: Vec<f64> = logits.collect();
    let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exp: Vec<f64> = logits.iter().map(|l| (l - max).exp()).collect();
    let sum: f64 = exp.iter().sum();
    exp.into_iter().map(|e| e / sum).collect()
}

fn sample_index(probs: &[f64], rng: &mut ChaCha8Rng) -> usize {
    let u: f64 = rng.random();
    let mut acc = 0.0;
    for (a, p) in probs.iter().enumerate() {
        acc += p;
        if u < acc {
            return a;
        }
    }
    probs.len() - 1
}

/// Settings of [`coverage_study`].
#[derive(Debug, Clone, PartialEq)]
pub struct CoverageConfig {
    /// Estimators to assess.
    pub estimators: Vec<EstimatorKind>,
    /// Logged rounds per seed.
    pub n_rounds: usize,
    /// Number of independent logs (seeds `0..n_seeds`).
    pub n_seeds: usize,
    /// Bootstrap resamples per interval.
    pub n_bootstrap: usize,
    /// Interval level: `1 - alpha`.
    pub alpha: f64,
    /// Reward model (its seed is offset per log).
    pub reward_model: RewardModelConfig,
}

/// Bias, RMSE and interval coverage of one estimator over many logs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoverageRow {
    /// Estimator name.
    pub estimator: String,
    /// Mean of `estimate - truth`.
    pub bias: f64,
    /// Root mean squared error.
    pub rmse: f64,
    /// Share of logs whose bootstrap interval contains the truth.
    pub coverage: f64,
}

/// Draws `n_seeds` independent logs from `env`, estimates the evaluation policy's value with each
/// estimator and a bootstrap interval, and compares with `truth`.
pub fn coverage_study(
    env: &SyntheticBandit,
    truth: f64,
    config: &CoverageConfig,
) -> Result<Vec<CoverageRow>> {
    coverage_study_with(env, truth, config, &|logs, seed| {
        let mut model_config = config.reward_model;
        model_config.seed = model_config.seed.wrapping_add(seed);
        let model = CrossFittedRewards::fit(logs, &model_config)?;
        Ok(Box::new(model) as Box<dyn RewardModel>)
    })
}

/// A reward model fitted to one log (with a seed for that log), as [`coverage_study_with`]
/// takes it.
pub type FitRewards<'a> = dyn Fn(&LoggedFeedback, u64) -> Result<Box<dyn RewardModel>> + 'a;

/// [`coverage_study`] with another reward model: `fit_rewards(logs, seed)` for each log
/// (`config.reward_model` is not used).
pub fn coverage_study_with(
    env: &SyntheticBandit,
    truth: f64,
    config: &CoverageConfig,
    fit_rewards: &FitRewards<'_>,
) -> Result<Vec<CoverageRow>> {
    let k = config.estimators.len();
    let mut errors = vec![Vec::with_capacity(config.n_seeds); k];
    let mut covered = vec![0usize; k];
    for seed in 0..config.n_seeds as u64 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (logs, pi) = env.sample_logs(config.n_rounds, &mut rng)?;
        let model = fit_rewards(&logs, seed)?;
        let terms = RoundTerms::compute(&logs, &pi, Some(model.as_ref()))?;
        for (e, &kind) in config.estimators.iter().enumerate() {
            let values = round_rewards(kind, logs.reward(), &terms)?;
            let estimate = values.iter().sum::<f64>() / values.len() as f64;
            errors[e].push(estimate - truth);
            let ci = bootstrap_interval(&values, config.alpha, config.n_bootstrap, seed)?;
            if ci.low <= truth && truth <= ci.high {
                covered[e] += 1;
            }
        }
    }
    Ok(config
        .estimators
        .iter()
        .zip(errors)
        .zip(covered)
        .map(|((kind, errors), covered)| {
            let n = errors.len() as f64;
            CoverageRow {
                estimator: kind.name(),
                bias: errors.iter().sum::<f64>() / n,
                rmse: (errors.iter().map(|e| e * e).sum::<f64>() / n).sqrt(),
                coverage: covered as f64 / n,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{EpsilonGreedy, Exploration, LinearPolicy, UniformRandom};

    #[test]
    fn logs_carry_true_propensities_and_ipw_is_unbiased() {
        let env = SyntheticBandit::new(5, 3, 1);
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let (logs, pi) = env.sample_logs(20_000, &mut rng).unwrap();
        let x = logs.context_row(7);
        let a = logs.action()[7] as usize;
        assert_eq!(logs.pscore()[7], env.logging_probs(x)[a]);
        assert_eq!(pi.at_position(7, 0), env.evaluation_probs(x).as_slice());
        let truth = env.true_value(50_000, 9);
        let terms = RoundTerms::compute(&logs, &pi, None).unwrap();
        let ipw = round_rewards(EstimatorKind::Ipw, logs.reward(), &terms).unwrap();
        let ci = bootstrap_interval(&ipw, 0.01, 300, 0).unwrap();
        assert!(ci.low <= truth && truth <= ci.high, "{truth} not in {ci:?}");
    }

    #[test]
    fn learning_policies_have_less_regret_than_random() {
        let env = SyntheticBandit::new(4, 3, 4);
        let n = 3000;
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let random = env.regret_curve(&mut UniformRandom::new(4, 1).unwrap(), n, &mut rng)[n - 1];
        let mut lin = LinearPolicy::new(4, 1, 3, 1.0, Exploration::Ucb { alpha: 0.3 }).unwrap();
        let lin = env.regret_curve(&mut lin, n, &mut rng)[n - 1];
        let mut eg = EpsilonGreedy::new(4, 1, 0.1).unwrap();
        let eg = env.regret_curve(&mut eg, n, &mut rng)[n - 1];
        assert!(
            lin < random && eg < random,
            "linucb {lin}, eps-greedy {eg}, random {random}"
        );
    }

    /// A small version of the coverage study (`tests/coverage.rs` runs 100 seeds when
    /// `ASSAY_SLOW_TESTS` is set).
    #[test]
    fn dr_intervals_cover_the_truth() {
        let env = SyntheticBandit::new(5, 3, 11);
        let truth = env.true_value(100_000, 99);
        let config = CoverageConfig {
            estimators: vec![EstimatorKind::Dm, EstimatorKind::Ipw, EstimatorKind::Dr],
            n_rounds: 1000,
            n_seeds: 12,
            n_bootstrap: 200,
            alpha: 0.05,
            reward_model: RewardModelConfig {
                c: 100.0,
                n_folds: 3,
                seed: 0,
                max_iter: 100,
            },
        };
        let rows = coverage_study(&env, truth, &config).unwrap();
        let dr = &rows[2];
        assert!(dr.coverage >= 10.0 / 12.0, "{rows:?}");
        assert!(dr.bias.abs() < 0.02, "{rows:?}");
    }
}
