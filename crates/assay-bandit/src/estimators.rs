//! Off-policy estimators, with the definitions of Open Bandit Pipeline 0.4.1 (`obp.ope.estimators`).
//!
//! Notation, per logged round `i`: reward `r_i`, logged action `a_i` at logged position `k_i`,
//! logging propensity `p_i`, evaluation policy `pi(a, k | i)`, reward model `q(i, a, k)`.
//! Importance weight `w_i = pi(a_i, k_i | i) / p_i`; direct-method term
//! `dm_i = sum_a pi(a, k_i | i) q(i, a, k_i) / sum_a pi(a, k_i | i)` (numpy's weighted average);
//! factual prediction `qf_i = q(i, a_i, k_i)`. Each estimator is the mean of per-round values:
//!
//! | estimator | round value |
//! |---|---|
//! | Replay (`rm`) | `m_i r_i / mean(m)`, `m_i = [pi(a_i, k_i \| i) == 1]` |
//! | DM | `dm_i` |
//! | IPW | `w_i r_i` |
//! | SNIPW | `w_i r_i / mean(w)` |
//! | DR | `dm_i + w_i (r_i - qf_i)` |
//! | SNDR | `dm_i + w_i (r_i - qf_i) / mean(w)` |
//! | Switch-DR (`tau`) | `dm_i + [w_i <= tau] w_i (r_i - qf_i)` |
//! | DRos (`lambda`) | `dm_i + lambda w_i / (w_i^2 + lambda) (r_i - qf_i)` |
//!
//! Confidence intervals bootstrap the mean of these per-round values, as OBP's
//! `estimate_confidence_interval_by_bootstrap` does (the self-normalizing means are those of the
//! full sample, not recomputed per resample).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::action_dist::ActionDist;
use crate::error::{BanditError, Result};
use crate::feedback::LoggedFeedback;

/// An off-policy estimator and its hyperparameter.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum EstimatorKind {
    /// Replay method: the mean reward of rounds where the deterministic policy agrees with the log.
    Replay,
    /// Direct method: the reward model's prediction under the evaluation policy.
    Dm,
    /// Inverse probability weighting.
    Ipw,
    /// Self-normalized IPW.
    Snipw,
    /// Doubly robust.
    Dr,
    /// Self-normalized doubly robust.
    Sndr,
    /// Switch-DR: DR where `w <= tau`, DM elsewhere.
    SwitchDr {
        /// Largest importance weight that keeps its correction term.
        tau: f64,
    },
    /// DR with optimistic shrinkage of the weights, `lambda w / (w^2 + lambda)`.
    DrOs {
        /// Shrinkage strength; `f64::INFINITY` means plain DR, 0 means DM.
        lambda: f64,
    },
}

impl EstimatorKind {
    /// The estimators of OBP's OBD reference run: Replay, DM, IPW, SNIPW, DR, SNDR,
    /// Switch-DR (tau 100) and DRos (lambda 100).
    pub const REFERENCE_SET: [EstimatorKind; 8] = [
        EstimatorKind::Replay,
        EstimatorKind::Dm,
        EstimatorKind::Ipw,
        EstimatorKind::Snipw,
        EstimatorKind::Dr,
        EstimatorKind::Sndr,
        EstimatorKind::SwitchDr { tau: 100.0 },
        EstimatorKind::DrOs { lambda: 100.0 },
    ];

    /// OBP's `estimator_name`, with the hyperparameter: `ipw`, `switch-dr(tau=100)`...
    pub fn name(&self) -> String {
        match self {
            EstimatorKind::Replay => "rm".into(),
            EstimatorKind::Dm => "dm".into(),
            EstimatorKind::Ipw => "ipw".into(),
            EstimatorKind::Snipw => "snipw".into(),
            EstimatorKind::Dr => "dr".into(),
            EstimatorKind::Sndr => "sndr".into(),
            EstimatorKind::SwitchDr { tau } => format!("switch-dr(tau={tau})"),
            EstimatorKind::DrOs { lambda } => format!("dr-os(lambda={lambda})"),
        }
    }

    /// Parses `rm`/`replay`, `dm`, `ipw`, `snipw`, `dr`, `sndr`, `switch-dr[:TAU]`, `dr-os[:LAMBDA]`.
    ///
    /// Without a value the hyperparameters take OBP's defaults: `tau = 1`, `lambda = 0`.
    pub fn parse(text: &str) -> Option<EstimatorKind> {
        let text = text.trim().to_ascii_lowercase();
        let (name, value) = match text.split_once(':') {
            Some((name, value)) => (name.to_owned(), Some(value.parse::<f64>().ok()?)),
            None => (text, None),
        };
        let kind = match (name.as_str(), value) {
            ("rm" | "replay", None) => EstimatorKind::Replay,
            ("dm", None) => EstimatorKind::Dm,
            ("ipw" | "ips", None) => EstimatorKind::Ipw,
            ("snipw" | "snips", None) => EstimatorKind::Snipw,
            ("dr", None) => EstimatorKind::Dr,
            ("sndr", None) => EstimatorKind::Sndr,
            ("switch-dr" | "switch", tau) => EstimatorKind::SwitchDr {
                tau: tau.unwrap_or(1.0),
            },
            ("dr-os" | "dros", lambda) => EstimatorKind::DrOs {
                lambda: lambda.unwrap_or(0.0),
            },
            _ => return None,
        };
        match kind {
            EstimatorKind::SwitchDr { tau } if tau.is_nan() || tau < 0.0 => None,
            EstimatorKind::DrOs { lambda } if lambda.is_nan() || lambda < 0.0 => None,
            kind => Some(kind),
        }
    }

    /// True when the estimator uses reward-model predictions.
    pub fn needs_reward_model(&self) -> bool {
        !matches!(
            self,
            EstimatorKind::Replay | EstimatorKind::Ipw | EstimatorKind::Snipw
        )
    }
}

/// Predicted rewards `q(round, action, position)` of a reward model (OBP's
/// `estimated_rewards_by_reg_model`), evaluated on demand.
pub trait RewardModel: Sync {
    /// Fills `out` (length `n_actions`) with `q(round, a, position)` for every action `a`.
    fn predict_at_position(&self, round: usize, position: usize, out: &mut [f64]);

    /// `q(round, action, position)`.
    fn predict(&self, round: usize, action: usize, position: usize) -> f64;
}

/// Reward-model predictions held in memory, in OBP's `(n_rounds, n_actions, len_list)` layout.
#[derive(Debug, Clone)]
pub struct DenseRewards {
    n_actions: usize,
    len_list: usize,
    values: Vec<f64>,
}

impl DenseRewards {
    /// Wraps `values[(round * n_actions + action) * len_list + position]`.
    pub fn new(
        n_rounds: usize,
        n_actions: usize,
        len_list: usize,
        values: Vec<f64>,
    ) -> Result<DenseRewards> {
        if values.len() != n_rounds * n_actions * len_list {
            return Err(BanditError::Invalid(format!(
                "reward predictions have {} values, expected {n_rounds} x {n_actions} x {len_list}",
                values.len()
            )));
        }
        Ok(DenseRewards {
            n_actions,
            len_list,
            values,
        })
    }
}

impl RewardModel for DenseRewards {
    fn predict_at_position(&self, round: usize, position: usize, out: &mut [f64]) {
        for (a, slot) in out.iter_mut().enumerate() {
            *slot = self.predict(round, a, position);
        }
    }

    fn predict(&self, round: usize, action: usize, position: usize) -> f64 {
        self.values[(round * self.n_actions + action) * self.len_list + position]
    }
}

/// The per-round quantities every estimator is built from.
#[derive(Debug, Clone)]
pub struct RoundTerms {
    /// `pi(a_i, k_i | i)`.
    pub pi_factual: Vec<f64>,
    /// Importance weight `pi(a_i, k_i | i) / p_i`.
    pub iw: Vec<f64>,
    /// `sum_a pi(a, k_i | i) q(i, a, k_i) / sum_a pi(a, k_i | i)`; empty without a reward model.
    pub dm: Vec<f64>,
    /// `q(i, a_i, k_i)`; empty without a reward model.
    pub q_factual: Vec<f64>,
}

impl RoundTerms {
    /// Computes the terms in one parallel pass over the rounds.
    ///
    /// Only `pi` at the logged position is read, so a context-free `pi` costs nothing per round
    /// beyond the reward model's predictions at that position.
    pub fn compute(
        logs: &LoggedFeedback,
        pi: &ActionDist,
        reward_model: Option<&dyn RewardModel>,
    ) -> Result<RoundTerms> {
        check_shapes(logs, pi)?;
        let n = logs.n_rounds();
        let n_actions = logs.n_actions();
        let mut pi_factual = vec![0.0; n];
        let mut iw = vec![0.0; n];
        let (mut dm, mut q_factual) = match reward_model {
            Some(_) => (vec![0.0; n], vec![0.0; n]),
            None => (Vec::new(), Vec::new()),
        };
        const CHUNK: usize = 8192;
        let action = logs.action();
        let position = logs.position();
        let pscore = logs.pscore();
        pi_factual
            .par_chunks_mut(CHUNK)
            .zip(iw.par_chunks_mut(CHUNK))
            .enumerate()
            .for_each(|(c, (pf, w))| {
                for j in 0..pf.len() {
                    let i = c * CHUNK + j;
                    pf[j] = pi.prob(i, action[i] as usize, position[i] as usize);
                    w[j] = pf[j] / pscore[i];
                }
            });
        if let Some(model) = reward_model {
            dm.par_chunks_mut(CHUNK)
                .zip(q_factual.par_chunks_mut(CHUNK))
                .enumerate()
                .for_each(|(c, (d, qf))| {
                    let mut q = vec![0.0; n_actions];
                    for j in 0..d.len() {
                        let i = c * CHUNK + j;
                        let k = position[i] as usize;
                        model.predict_at_position(i, k, &mut q);
                        let probs = pi.at_position(i, k);
                        let mut num = 0.0;
                        let mut den = 0.0;
                        for (p, qa) in probs.iter().zip(&q) {
                            num += p * qa;
                            den += p;
                        }
                        d[j] = num / den;
                        qf[j] = q[action[i] as usize];
                    }
                });
        }
        Ok(RoundTerms {
            pi_factual,
            iw,
            dm,
            q_factual,
        })
    }
}

/// The per-round values whose mean is the estimate (OBP's `_estimate_round_rewards`).
///
/// Errors when the estimator needs a reward model and `terms` were computed without one.
pub fn round_rewards(kind: EstimatorKind, reward: &[f64], terms: &RoundTerms) -> Result<Vec<f64>> {
    let n = reward.len() as f64;
    if kind.needs_reward_model() && terms.dm.len() != reward.len() {
        return Err(BanditError::Invalid(format!(
            "{} needs reward-model predictions",
            kind.name()
        )));
    }
    let correction = |weight: &dyn Fn(f64) -> f64| -> Vec<f64> {
        (0..reward.len())
            .map(|i| terms.dm[i] + weight(terms.iw[i]) * (reward[i] - terms.q_factual[i]))
            .collect()
    };
    let mean_iw = || terms.iw.iter().sum::<f64>() / n;
    let values = match kind {
        EstimatorKind::Replay => {
            let matched: Vec<bool> = terms.pi_factual.iter().map(|&p| p == 1.0).collect();
            let n_matched = matched.iter().filter(|&&m| m).count();
            if n_matched == 0 {
                vec![0.0; reward.len()]
            } else {
                let share = n_matched as f64 / n;
                reward
                    .iter()
                    .zip(&matched)
                    .map(|(r, &m)| if m { r / share } else { 0.0 })
                    .collect()
            }
        }
        EstimatorKind::Dm => terms.dm.clone(),
        EstimatorKind::Ipw => reward.iter().zip(&terms.iw).map(|(r, w)| r * w).collect(),
        EstimatorKind::Snipw => {
            let mean = mean_iw();
            reward
                .iter()
                .zip(&terms.iw)
                .map(|(r, w)| r * w / mean)
                .collect()
        }
        EstimatorKind::Dr => correction(&|w| w),
        EstimatorKind::Sndr => {
            let mean = mean_iw();
            correction(&|w| w / mean)
        }
        EstimatorKind::SwitchDr { tau } => correction(&|w| if w <= tau { w } else { 0.0 }),
        EstimatorKind::DrOs { lambda } => {
            if lambda.is_infinite() {
                correction(&|w| w)
            } else if lambda == 0.0 {
                // The limit: DM. (OBP computes 0 / 0 = NaN for rounds with w = 0 here.)
                terms.dm.clone()
            } else {
                correction(&|w| lambda * w / (w * w + lambda))
            }
        }
    };
    Ok(values)
}

/// The result of a bootstrap: OBP's `{"mean", "95.0% CI (lower)", "95.0% CI (upper)"}`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BootstrapInterval {
    /// Mean of the bootstrap means.
    pub mean: f64,
    /// The `alpha / 2` percentile of the bootstrap means.
    pub low: f64,
    /// The `1 - alpha / 2` percentile of the bootstrap means.
    pub high: f64,
}

/// Nonparametric bootstrap of the mean of `samples` (OBP's `estimate_confidence_interval_by_bootstrap`).
///
/// Draws `n_bootstrap` resamples of `samples.len()` values with replacement from a ChaCha8 stream
/// seeded by `seed`, and takes numpy's linearly interpolated percentiles of their means.
/// Resamples run in parallel, each with its own stream, so the result does not depend on threads.
pub fn bootstrap_interval(
    samples: &[f64],
    alpha: f64,
    n_bootstrap: usize,
    seed: u64,
) -> Result<BootstrapInterval> {
    if samples.is_empty() || n_bootstrap == 0 || !(alpha > 0.0 && alpha < 1.0) {
        return Err(BanditError::Invalid(format!(
            "bootstrap needs samples, n_bootstrap >= 1 and alpha in (0, 1); got {} samples, {n_bootstrap}, {alpha}",
            samples.len()
        )));
    }
    let n = samples.len();
    let mut means: Vec<f64> = (0..n_bootstrap)
        .into_par_iter()
        .map(|b| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(b as u64);
            let mut sum = 0.0;
            for _ in 0..n {
                sum += samples[rng.random_range(0..n)];
            }
            sum / n as f64
        })
        .collect();
    let mean = means.iter().sum::<f64>() / n_bootstrap as f64;
    means.sort_by(f64::total_cmp);
    Ok(BootstrapInterval {
        mean,
        low: percentile_sorted(&means, 100.0 * alpha / 2.0),
        high: percentile_sorted(&means, 100.0 * (1.0 - alpha / 2.0)),
    })
}

/// numpy's default (`linear`) percentile of sorted values, `q` in [0, 100].
///
/// # Panics
/// When `sorted` is empty.
pub fn percentile_sorted(sorted: &[f64], q: f64) -> f64 {
    let rank = q / 100.0 * (sorted.len() - 1) as f64;
    let lo = rank.floor() as usize;
    let hi = rank.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo as f64)
}

fn check_shapes(logs: &LoggedFeedback, pi: &ActionDist) -> Result<()> {
    if pi.n_actions() != logs.n_actions() || pi.len_list() != logs.len_list() {
        return Err(BanditError::Invalid(format!(
            "the action distribution has {} actions x {} positions, the logs {} x {}",
            pi.n_actions(),
            pi.len_list(),
            logs.n_actions(),
            logs.len_list()
        )));
    }
    if let Some(n) = pi.n_rounds() {
        if n != logs.n_rounds() {
            return Err(BanditError::LengthMismatch {
                field: "action distribution rounds",
                found: n,
                expected: logs.n_rounds(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feedback::FeedbackParts;

    /// Five rounds, three actions, two positions (zero-based here).
    ///
    /// | round | action | position | reward | pscore |
    /// |---|---|---|---|---|
    /// | 0 | 0 | 0 | 1 | 0.5 |
    /// | 1 | 1 | 0 | 0 | 0.25 |
    /// | 2 | 2 | 1 | 1 | 0.5 |
    /// | 3 | 1 | 1 | 1 | 0.125 |
    /// | 4 | 0 | 1 | 0 | 0.2 |
    fn five_rounds() -> LoggedFeedback {
        LoggedFeedback::new(FeedbackParts {
            n_actions: 3,
            len_list: 2,
            context_dim: 0,
            context: vec![],
            action: vec![0, 1, 2, 1, 0],
            position: vec![0, 0, 1, 1, 1],
            reward: vec![1.0, 0.0, 1.0, 1.0, 0.0],
            pscore: vec![0.5, 0.25, 0.5, 0.125, 0.2],
            action_context_dim: 0,
            action_context: vec![],
        })
        .unwrap()
    }

    /// `q(i, a, k) = 0.1 (a + 1) + 0.1 k + 0.05 i`.
    fn q_hat() -> DenseRewards {
        let mut values = Vec::new();
        for i in 0..5 {
            for a in 0..3 {
                for k in 0..2 {
                    values.push(0.1 * (a + 1) as f64 + 0.1 * k as f64 + 0.05 * i as f64);
                }
            }
        }
        DenseRewards::new(5, 3, 2, values).unwrap()
    }

    #[track_caller]
    fn check(kind: EstimatorKind, pi: &ActionDist, expected: f64) {
        let logs = five_rounds();
        let q = q_hat();
        let terms = RoundTerms::compute(&logs, pi, Some(&q)).unwrap();
        let values = round_rewards(kind, logs.reward(), &terms).unwrap();
        let estimate = values.iter().sum::<f64>() / values.len() as f64;
        assert!(
            (estimate - expected).abs() < 1e-12,
            "{}: {estimate} != {expected}",
            kind.name()
        );
    }

    #[test]
    fn five_round_log_by_hand() {
        // pi at position 0: [0.5, 0.25, 0.25]; at position 1: [0, 0.5, 0.5].
        let pi = ActionDist::context_free(&[vec![0.5, 0.25, 0.25], vec![0.0, 0.5, 0.5]]).unwrap();
        // pi(a_i, k_i): 0.5, 0.25, 0.5, 0.5, 0 -> w = 0.5/0.5, 0.25/0.25, 0.5/0.5, 0.5/0.125, 0/0.2
        //   = 1, 1, 1, 4, 0; mean(w) = 7/5 = 1.4.
        // IPW: mean(w r) = (1 + 0 + 1 + 4 + 0) / 5 = 1.2.
        check(EstimatorKind::Ipw, &pi, 1.2);
        // SNIPW: 1.2 / 1.4.
        check(EstimatorKind::Snipw, &pi, 1.2 / 1.4);
        // DM term at position 0: 0.5 (0.1 + 0.05 i) + 0.25 (0.2 + 0.05 i) + 0.25 (0.3 + 0.05 i)
        //   = 0.175 + 0.05 i; at position 1: 0.5 (0.3 + 0.05 i) + 0.5 (0.4 + 0.05 i) = 0.35 + 0.05 i.
        // Rounds: 0.175 (i0,k0), 0.225 (i1,k0), 0.45 (i2,k1), 0.5 (i3,k1), 0.55 (i4,k1); sum 1.9.
        // DM = 1.9 / 5 = 0.38.
        check(EstimatorKind::Dm, &pi, 0.38);
        // q(i, a_i, k_i) = 0.1, 0.25, 0.5, 0.45, 0.4; r - q = 0.9, -0.25, 0.5, 0.55, -0.4.
        // w (r - q) = 0.9, -0.25, 0.5, 2.2, 0; sum 3.35. DR = (1.9 + 3.35) / 5 = 1.05.
        check(EstimatorKind::Dr, &pi, 1.05);
        // SNDR = (1.9 + 3.35 / 1.4) / 5.
        check(EstimatorKind::Sndr, &pi, (1.9 + 3.35 / 1.4) / 5.0);
        // Switch-DR, tau = 2: round 3 (w = 4) drops its correction: (1.9 + 0.9 - 0.25 + 0.5) / 5 = 0.61.
        check(EstimatorKind::SwitchDr { tau: 2.0 }, &pi, 0.61);
        // DRos, lambda = 4: shrunk weight 4 w / (w^2 + 4) = 0.8 for w = 1 and for w = 4, 0 for w = 0.
        // Corrections 0.72, -0.2, 0.4, 0.44, 0; sum 1.36. DRos = (1.9 + 1.36) / 5 = 0.652.
        check(EstimatorKind::DrOs { lambda: 4.0 }, &pi, 0.652);
        // lambda = 0 is DM; lambda = infinity is DR; tau = infinity is DR.
        check(EstimatorKind::DrOs { lambda: 0.0 }, &pi, 0.38);
        check(
            EstimatorKind::DrOs {
                lambda: f64::INFINITY,
            },
            &pi,
            1.05,
        );
        check(EstimatorKind::SwitchDr { tau: f64::INFINITY }, &pi, 1.05);
        // The stochastic policy never puts probability 1 on a logged action: Replay gives 0.
        check(EstimatorKind::Replay, &pi, 0.0);

        // Deterministic policy: action 1 at position 0, action 2 at position 1.
        // Matches: round 1 (a1,k0, r0) and round 2 (a2,k1, r1); Replay = (0 + 1) / 2 = 0.5.
        let det = ActionDist::context_free(&[vec![0.0, 1.0, 0.0], vec![0.0, 0.0, 1.0]]).unwrap();
        check(EstimatorKind::Replay, &det, 0.5);
        // IPW with it: w = 0, 1/0.25, 1/0.5, 0, 0 -> (0 + 0 + 2 + 0 + 0) / 5 = 0.4.
        check(EstimatorKind::Ipw, &det, 0.4);
    }

    #[test]
    fn missing_reward_model_and_bad_shapes_are_errors() {
        let logs = five_rounds();
        let pi = ActionDist::context_free(&[vec![1.0, 0.0, 0.0], vec![1.0, 0.0, 0.0]]).unwrap();
        let terms = RoundTerms::compute(&logs, &pi, None).unwrap();
        assert!(round_rewards(EstimatorKind::Dr, logs.reward(), &terms).is_err());
        assert!(round_rewards(EstimatorKind::Ipw, logs.reward(), &terms).is_ok());
        let wrong = ActionDist::context_free(&[vec![0.5, 0.5]]).unwrap();
        assert!(RoundTerms::compute(&logs, &wrong, None).is_err());
    }

    #[test]
    fn names_parse_back() {
        for kind in EstimatorKind::REFERENCE_SET {
            let text = kind
                .name()
                .replace("(tau=", ":")
                .replace("(lambda=", ":")
                .replace(')', "");
            assert_eq!(EstimatorKind::parse(&text), Some(kind), "{text}");
        }
        assert_eq!(
            EstimatorKind::parse("switch-dr"),
            Some(EstimatorKind::SwitchDr { tau: 1.0 })
        );
        assert_eq!(EstimatorKind::parse("dr-os:-1"), None);
        assert_eq!(EstimatorKind::parse("magic"), None);
    }

    #[test]
    fn percentiles_match_numpy() {
        // np.percentile([1, 2, 3, 4], 2.5) = 1.075; np.percentile([1, 2, 3, 4], 97.5) = 3.925.
        assert!((percentile_sorted(&[1.0, 2.0, 3.0, 4.0], 2.5) - 1.075).abs() < 1e-12);
        assert!((percentile_sorted(&[1.0, 2.0, 3.0, 4.0], 97.5) - 3.925).abs() < 1e-12);
        assert_eq!(percentile_sorted(&[7.0], 50.0), 7.0);
    }

    #[test]
    fn bootstrap_is_seeded_and_sensible() {
        let constant = vec![0.3; 50];
        let ci = bootstrap_interval(&constant, 0.05, 200, 1).unwrap();
        assert!((ci.low - 0.3).abs() < 1e-15 && (ci.high - 0.3).abs() < 1e-15);
        // 0/1 samples with mean 0.5: the standard error of the mean is 0.5 / sqrt(400) = 0.025,
        // so the 95% interval is about 0.5 +- 0.049.
        let coin: Vec<f64> = (0..400).map(|i| (i % 2) as f64).collect();
        let a = bootstrap_interval(&coin, 0.05, 2000, 7).unwrap();
        let b = bootstrap_interval(&coin, 0.05, 2000, 7).unwrap();
        assert_eq!(a, b);
        assert!((a.mean - 0.5).abs() < 0.005, "{a:?}");
        assert!((a.high - a.low - 2.0 * 1.96 * 0.025).abs() < 0.012, "{a:?}");
        assert!(bootstrap_interval(&[], 0.05, 10, 0).is_err());
    }
}
