//! Off-policy learning: an IPW-weighted policy learner, as Open Bandit Pipeline's `IPWLearner`.
//!
//! OBP reduces policy learning to weighted classification: for each position, a classifier
//! learns to predict the logged action from the context, each round weighted by
//! `reward / pscore`. Maximizing the weighted log-likelihood maximizes an IPW estimate of the
//! value of the classifier's policy (for a softmax policy, a lower bound on it by Jensen), so
//! actions that earned reward where the logging policy rarely chose them count the most.
//! Rounds without reward have weight 0 and drop out.
//!
//! The classifier here is multinomial logistic regression over `[context, 1]`, one per
//! position, minimizing `0.5 |W|^2 + C sum_i w_i (logsumexp(W x_i) - (W x_i)_{a_i})` (scikit-learn's
//! objective with `penalty="l2"`; intercepts are not penalized) by L-BFGS. The learned policy is
//! the classifier's argmax ([`LearnerOutput::Greedy`], OBP's `predict`) or its softmax with a
//! temperature ([`LearnerOutput::Softmax`], OBP's `predict_proba`-style stochastic policy).
//! Its [`ActionDist`] on the logged rounds goes straight into the estimators ([`crate::run_ope`]).

use serde::{Deserialize, Serialize};

use crate::action_dist::ActionDist;
use crate::error::{BanditError, Result};
use crate::feedback::LoggedFeedback;

/// How the fitted scores become a policy.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum LearnerOutput {
    /// Probability 1 on the best-scoring action (shared evenly between exact ties).
    Greedy,
    /// `softmax(scores / temperature)`.
    Softmax {
        /// Softmax temperature; 1 gives the classifier's own probabilities.
        temperature: f64,
    },
}

/// Settings of the IPW learner.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LearnerConfig {
    /// Inverse L2 strength, as scikit-learn's `C` (OBP's default classifier uses 1).
    pub c: f64,
    /// Most L-BFGS iterations per position.
    pub max_iter: usize,
    /// Greedy or softmax policy.
    pub output: LearnerOutput,
}

/// A fitted IPW learner: one multinomial logistic model per position.
#[derive(Debug, Clone, PartialEq)]
pub struct IpwLearner {
    n_actions: usize,
    len_list: usize,
    context_dim: usize,
    output: LearnerOutput,
    /// Per position, `n_actions x (context_dim + 1)` row-major; the last column is the intercept.
    weights: Vec<Vec<f64>>,
}

impl IpwLearner {
    /// Fits one weighted classifier per position on `logs` (see the module docs).
    ///
    /// Fails on a non-positive `c` or temperature, and on a negative reward (the weights
    /// `reward / pscore` must be non-negative), naming the round.
    pub fn fit(logs: &LoggedFeedback, config: &LearnerConfig) -> Result<IpwLearner> {
        if !(config.c > 0.0 && config.c.is_finite()) {
            return Err(BanditError::Invalid(format!(
                "learner C must be positive, got {}",
                config.c
            )));
        }
        if let LearnerOutput::Softmax { temperature } = config.output {
            if !(temperature > 0.0 && temperature.is_finite()) {
                return Err(BanditError::Invalid(format!(
                    "softmax temperature must be positive, got {temperature}"
                )));
            }
        }
        if let Some(i) = logs.reward().iter().position(|&r| r < 0.0) {
            return Err(BanditError::BadRound {
                what: "round",
                row: i,
                message: format!(
                    "reward {} is negative; the IPW learner's weights reward / pscore must be non-negative",
                    logs.reward()[i]
                ),
            });
        }
        let k = logs.n_actions();
        let p = logs.context_dim() + 1;
        let mut weights = Vec::with_capacity(logs.len_list());
        for position in 0..logs.len_list() {
            let mut x = Vec::new();
            let mut y = Vec::new();
            let mut w = Vec::new();
            for i in 0..logs.n_rounds() {
                let weight = logs.reward()[i] / logs.pscore()[i];
                if usize::from(logs.position()[i]) != position || weight == 0.0 {
                    continue;
                }
                x.extend_from_slice(logs.context_row(i));
                x.push(1.0);
                y.push(logs.action()[i] as usize);
                w.push(weight);
            }
            let problem = WeightedSoftmax {
                x: &x,
                y: &y,
                w: &w,
                n_classes: k,
                p,
                c: config.c,
            };
            let theta = if y.is_empty() {
                vec![0.0; k * p]
            } else {
                lbfgs(
                    vec![0.0; k * p],
                    |t, g| problem.value_and_grad(t, g),
                    config.max_iter,
                )
            };
            weights.push(theta);
        }
        Ok(IpwLearner {
            n_actions: k,
            len_list: logs.len_list(),
            context_dim: logs.context_dim(),
            output: config.output,
            weights,
        })
    }

    /// The classifier's scores `W x` of every action for `context` at zero-based `position`.
    ///
    /// # Panics
    /// When `context` has the wrong width or `position` is out of range.
    pub fn scores(&self, context: &[f64], position: usize) -> Vec<f64> {
        assert_eq!(context.len(), self.context_dim, "context width");
        let p = self.context_dim + 1;
        let w = &self.weights[position];
        (0..self.n_actions)
            .map(|a| {
                let row = &w[a * p..(a + 1) * p];
                row[..self.context_dim]
                    .iter()
                    .zip(context)
                    .map(|(u, v)| u * v)
                    .sum::<f64>()
                    + row[self.context_dim]
            })
            .collect()
    }

    /// The policy's probabilities of every action for `context` at zero-based `position`.
    ///
    /// # Panics
    /// As [`IpwLearner::scores`].
    pub fn probs(&self, context: &[f64], position: usize) -> Vec<f64> {
        let scores = self.scores(context, position);
        match self.output {
            LearnerOutput::Greedy => {
                let best = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let ties = scores.iter().filter(|&&s| s == best).count() as f64;
                scores
                    .iter()
                    .map(|&s| if s == best { 1.0 / ties } else { 0.0 })
                    .collect()
            }
            LearnerOutput::Softmax { temperature } => {
                let scaled: Vec<f64> = scores.iter().map(|s| s / temperature).collect();
                softmax(&scaled)
            }
        }
    }

    /// The policy's action distribution on the rounds of `logs` (which must have this learner's
    /// numbers of actions, positions and context features).
    pub fn action_dist(&self, logs: &LoggedFeedback) -> Result<ActionDist> {
        if logs.n_actions() != self.n_actions
            || logs.len_list() != self.len_list
            || logs.context_dim() != self.context_dim
        {
            return Err(BanditError::Invalid(format!(
                "the learner was fitted on {} actions x {} positions x {} features, the logs have {} x {} x {}",
                self.n_actions,
                self.len_list,
                self.context_dim,
                logs.n_actions(),
                logs.len_list(),
                logs.context_dim()
            )));
        }
        let (n, k, l) = (logs.n_rounds(), self.n_actions, self.len_list);
        crate::action_dist::check_per_round("the learned policy", n, k, l, 2)?;
        let mut dist = vec![0.0; n * k * l];
        for i in 0..n {
            for position in 0..l {
                let probs = self.probs(logs.context_row(i), position);
                for (a, prob) in probs.into_iter().enumerate() {
                    dist[(i * k + a) * l + position] = prob;
                }
            }
        }
        ActionDist::from_obp_layout(n, k, l, &dist)
    }
}

/// Fits an [`IpwLearner`] on `logs` and returns its action distribution on the same rounds,
/// ready for the estimators. (Evaluating on the rounds it was fitted on flatters it; pass
/// held-out logs to [`IpwLearner::action_dist`] for an honest estimate.)
pub fn learn_ipw_policy(logs: &LoggedFeedback, config: &LearnerConfig) -> Result<ActionDist> {
    IpwLearner::fit(logs, config)?.action_dist(logs)
}

/// The weighted multinomial logistic objective of one position.
struct WeightedSoftmax<'a> {
    /// Rows of `[context, 1]`, row-major, `p` wide.
    x: &'a [f64],
    y: &'a [usize],
    w: &'a [f64],
    n_classes: usize,
    p: usize,
    c: f64,
}

impl WeightedSoftmax<'_> {
    /// The objective at `theta` (`n_classes x p`), writing its gradient into `grad`.
    fn value_and_grad(&self, theta: &[f64], grad: &mut [f64]) -> f64 {
        let (k, p) = (self.n_classes, self.p);
        grad.fill(0.0);
        let mut value = 0.0;
        let mut scores = vec![0.0; k];
        for (i, (&label, &weight)) in self.y.iter().zip(self.w).enumerate() {
            let xi = &self.x[i * p..(i + 1) * p];
            for (a, s) in scores.iter_mut().enumerate() {
                *s = theta[a * p..(a + 1) * p]
                    .iter()
                    .zip(xi)
                    .map(|(u, v)| u * v)
                    .sum();
            }
            let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let sum: f64 = scores.iter().map(|s| (s - max).exp()).sum();
            let log_norm = max + sum.ln();
            value += self.c * weight * (log_norm - scores[label]);
            for a in 0..k {
                let prob = (scores[a] - log_norm).exp();
                let g = self.c * weight * (prob - f64::from(u8::from(a == label)));
                for (gj, xj) in grad[a * p..(a + 1) * p].iter_mut().zip(xi) {
                    *gj += g * xj;
                }
            }
        }
        for a in 0..k {
            for j in 0..p - 1 {
                let t = theta[a * p + j];
                value += 0.5 * t * t;
                grad[a * p + j] += t;
            }
        }
        value
    }
}

/// Minimizes a smooth function by L-BFGS (10 pairs, Armijo backtracking), from `x`.
///
/// `f` returns the value and writes the gradient. Stops after `max_iter` iterations, when the
/// largest gradient entry falls below `1e-8 (1 + |f|)`, or when the line search fails.
fn lbfgs(mut x: Vec<f64>, f: impl Fn(&[f64], &mut [f64]) -> f64, max_iter: usize) -> Vec<f64> {
    const MEMORY: usize = 10;
    let n = x.len();
    let mut grad = vec![0.0; n];
    let mut value = f(&x, &mut grad);
    let mut s_hist: Vec<Vec<f64>> = Vec::new();
    let mut y_hist: Vec<Vec<f64>> = Vec::new();
    let mut trial = vec![0.0; n];
    let mut trial_grad = vec![0.0; n];
    for _ in 0..max_iter {
        let grad_max = grad.iter().fold(0.0f64, |m, g| m.max(g.abs()));
        if grad_max < 1e-8 * (1.0 + value.abs()) {
            break;
        }
        // Two-loop recursion: direction = -H grad.
        let mut q = grad.clone();
        let mut alphas = Vec::with_capacity(s_hist.len());
        for (s, y) in s_hist.iter().zip(&y_hist).rev() {
            let rho = 1.0 / dot(y, s);
            let alpha = rho * dot(s, &q);
            for (qj, yj) in q.iter_mut().zip(y) {
                *qj -= alpha * yj;
            }
            alphas.push(alpha);
        }
        let gamma = match (s_hist.last(), y_hist.last()) {
            (Some(s), Some(y)) => dot(s, y) / dot(y, y),
            _ => 1.0 / grad_max.max(1.0),
        };
        q.iter_mut().for_each(|v| *v *= gamma);
        for ((s, y), alpha) in s_hist.iter().zip(&y_hist).zip(alphas.into_iter().rev()) {
            let rho = 1.0 / dot(y, s);
            let beta = rho * dot(y, &q);
            for (qj, sj) in q.iter_mut().zip(s) {
                *qj += (alpha - beta) * sj;
            }
        }
        let mut slope = -dot(&grad, &q);
        if slope >= 0.0 {
            // Not a descent direction (numerical trouble): restart from steepest descent.
            s_hist.clear();
            y_hist.clear();
            q.clone_from(&grad);
            slope = -dot(&grad, &q);
        }
        let mut step = 1.0;
        let mut accepted = false;
        for _ in 0..40 {
            for j in 0..n {
                trial[j] = x[j] - step * q[j];
            }
            let trial_value = f(&trial, &mut trial_grad);
            if trial_value <= value + 1e-4 * step * slope {
                let s: Vec<f64> = (0..n).map(|j| trial[j] - x[j]).collect();
                let y: Vec<f64> = (0..n).map(|j| trial_grad[j] - grad[j]).collect();
                if dot(&s, &y) > 1e-12 {
                    if s_hist.len() == MEMORY {
                        s_hist.remove(0);
                        y_hist.remove(0);
                    }
                    s_hist.push(s);
                    y_hist.push(y);
                }
                let decrease = value - trial_value;
                std::mem::swap(&mut x, &mut trial);
                std::mem::swap(&mut grad, &mut trial_grad);
                value = trial_value;
                accepted = true;
                if decrease <= 1e-14 * (1.0 + value.abs()) {
                    return x;
                }
                break;
            }
            step *= 0.5;
        }
        if !accepted {
            break;
        }
    }
    x
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(u, v)| u * v).sum()
}

fn softmax(scores: &[f64]) -> Vec<f64> {
    let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exp: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
    let sum: f64 = exp.iter().sum();
    exp.into_iter().map(|e| e / sum).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estimators::EstimatorKind;
    use crate::feedback::FeedbackParts;
    use crate::ope::{run_ope, OpeConfig};
    use crate::reward_model::RewardModelConfig;
    use crate::sim::SyntheticBandit;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn config(output: LearnerOutput) -> LearnerConfig {
        LearnerConfig {
            c: 1.0,
            max_iter: 200,
            output,
        }
    }

    /// No context features, so each position's model is just its (unpenalized) intercepts and
    /// the softmax policy is the IPW-weighted action frequency. Position 0 logs action 0 with
    /// reward 1 and pscore 0.5 three times (weight 6), action 1 with reward 1 and pscore 0.25
    /// once (weight 4) and once without reward (weight 0): pi = (0.6, 0.4). Position 1 has no
    /// reward at all: pi is uniform.
    fn tiny_logs() -> LoggedFeedback {
        LoggedFeedback::new(FeedbackParts {
            n_actions: 2,
            len_list: 2,
            context_dim: 0,
            context: vec![],
            action: vec![0, 0, 0, 1, 1, 0],
            position: vec![0, 0, 0, 0, 0, 1],
            reward: vec![1.0, 1.0, 1.0, 1.0, 0.0, 0.0],
            pscore: vec![0.5, 0.5, 0.5, 0.25, 0.5, 0.5],
            action_context_dim: 0,
            action_context: vec![],
        })
        .unwrap()
    }

    #[test]
    fn weighted_frequencies_by_hand() {
        let logs = tiny_logs();
        let pi =
            learn_ipw_policy(&logs, &config(LearnerOutput::Softmax { temperature: 1.0 })).unwrap();
        assert_eq!(pi.n_rounds(), Some(6));
        let p = pi.at_position(3, 0);
        assert!(
            (p[0] - 0.6).abs() < 1e-6 && (p[1] - 0.4).abs() < 1e-6,
            "{p:?}"
        );
        assert_eq!(pi.at_position(3, 1), &[0.5, 0.5]);
        let greedy = learn_ipw_policy(&logs, &config(LearnerOutput::Greedy)).unwrap();
        assert_eq!(greedy.at_position(0, 0), &[1.0, 0.0]);
        assert_eq!(greedy.at_position(0, 1), &[0.5, 0.5]);
    }

    #[test]
    fn bad_settings_are_errors() {
        let logs = tiny_logs();
        let mut cfg = config(LearnerOutput::Greedy);
        cfg.c = 0.0;
        assert!(IpwLearner::fit(&logs, &cfg).is_err());
        let cfg = config(LearnerOutput::Softmax { temperature: 0.0 });
        assert!(IpwLearner::fit(&logs, &cfg).is_err());
        let mut parts = FeedbackParts {
            n_actions: 2,
            len_list: 1,
            context_dim: 0,
            context: vec![],
            action: vec![0, 1],
            position: vec![0, 0],
            reward: vec![1.0, -1.0],
            pscore: vec![0.5, 0.5],
            action_context_dim: 0,
            action_context: vec![],
        };
        let err = IpwLearner::fit(
            &LoggedFeedback::new(parts.clone()).unwrap(),
            &config(LearnerOutput::Greedy),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("round 1") && err.contains("negative"), "{err}");
        parts.reward[1] = 0.0;
        let fitted = IpwLearner::fit(
            &LoggedFeedback::new(parts).unwrap(),
            &config(LearnerOutput::Greedy),
        )
        .unwrap();
        assert!(fitted.action_dist(&tiny_logs()).is_err());
    }

    /// Logs of the uniform random policy on the synthetic bandit (one slot, pscore 1/K).
    fn uniform_logs(env: &SyntheticBandit, n: usize, rng: &mut ChaCha8Rng) -> LoggedFeedback {
        let k = env.n_actions();
        let (mut context, mut action, mut reward) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..n {
            let x = env.context(rng);
            let a = rng.random_range(0..k);
            let clicked = rng.random::<f64>() < env.click_prob(&x, a);
            action.push(a as u32);
            reward.push(f64::from(u8::from(clicked)));
            context.extend(x);
        }
        let mut action_context = vec![0.0; k * k];
        for a in 0..k {
            action_context[a * k + a] = 1.0;
        }
        LoggedFeedback::new(FeedbackParts {
            n_actions: k,
            len_list: 1,
            context_dim: env.dim(),
            context,
            action,
            position: vec![0; n],
            reward,
            pscore: vec![1.0 / k as f64; n],
            action_context_dim: k,
            action_context,
        })
        .unwrap()
    }

    /// `E_x sum_a pi(a | x) P(click | x, a)` over fresh contexts.
    fn true_value(env: &SyntheticBandit, policy: impl Fn(&[f64]) -> Vec<f64>) -> f64 {
        let mut rng = ChaCha8Rng::seed_from_u64(99);
        let n = 4000;
        let mut sum = 0.0;
        for _ in 0..n {
            let x = env.context(&mut rng);
            let pi = policy(&x);
            sum += (0..env.n_actions())
                .map(|a| pi[a] * env.click_prob(&x, a))
                .sum::<f64>();
        }
        sum / n as f64
    }

    #[test]
    fn learned_policy_beats_uniform_logging_and_ipw_sees_it() {
        let env = SyntheticBandit::new(5, 4, 3);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let train = uniform_logs(&env, 5000, &mut rng);
        let learner = IpwLearner::fit(&train, &config(LearnerOutput::Greedy)).unwrap();
        let learned = true_value(&env, |x| learner.probs(x, 0));
        let uniform = true_value(&env, |_| vec![0.2; 5]);
        let best = true_value(&env, |x| {
            let p: Vec<f64> = (0..5).map(|a| env.click_prob(x, a)).collect();
            let top = (0..5).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap();
            (0..5).map(|a| f64::from(u8::from(a == top))).collect()
        });
        assert!(
            learned > uniform + 0.5 * (best - uniform),
            "learned {learned}, uniform {uniform}, best {best}"
        );

        // On fresh logs of the uniform policy, IPW and SNIPW estimate the learned policy's value.
        let test = uniform_logs(&env, 20_000, &mut rng);
        let pi = learner.action_dist(&test).unwrap();
        let ope = OpeConfig {
            alpha: 0.05,
            n_bootstrap: 0,
            seed: 0,
            ground_truth: Some(learned),
            reward_model: RewardModelConfig::obp_example(0),
        };
        let estimates = run_ope(
            &test,
            &pi,
            &[EstimatorKind::Ipw, EstimatorKind::Snipw],
            &ope,
        )
        .unwrap();
        for e in &estimates {
            assert!(
                (e.value - learned).abs() < 0.03 && e.value > test.mean_reward(),
                "{e:?} vs truth {learned}, logged {}",
                test.mean_reward()
            );
        }
    }

    #[test]
    fn softmax_learner_beats_the_simulator_logging_policy() {
        let env = SyntheticBandit::new(4, 3, 8);
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let (logs, _) = env.sample_logs(4000, &mut rng).unwrap();
        let learner =
            IpwLearner::fit(&logs, &config(LearnerOutput::Softmax { temperature: 0.2 })).unwrap();
        let learned = true_value(&env, |x| learner.probs(x, 0));
        let logging = true_value(&env, |x| env.logging_probs(x));
        assert!(
            learned > logging + 0.02,
            "learned {learned}, logging {logging}"
        );
    }
}
