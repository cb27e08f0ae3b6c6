//! The reward model of DM and the DR family: L2-regularized logistic regression with K-fold
//! cross-fitting, as OBP's `RegressionModel(fitting_method="normal")` around scikit-learn's
//! `LogisticRegression(C)`.
//!
//! As in OBP, one model is fitted per position, on the concatenation `[context, action_context[action]]`
//! of the rounds logged at that position. With `n_folds > 1` the rounds are shuffled (seeded) into
//! folds and each fold's predictions come from the models fitted on the other folds.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{BanditError, Result};
use crate::estimators::RewardModel;
use crate::feedback::LoggedFeedback;

/// Settings of the reward model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RewardModelConfig {
    /// Inverse regularization strength, as scikit-learn's `C` (OBP's examples use 100).
    pub c: f64,
    /// Number of cross-fitting folds; 1 fits on all rounds and predicts on them.
    pub n_folds: usize,
    /// Seed of the fold shuffle.
    pub seed: u64,
    /// Most Newton iterations per fit.
    pub max_iter: usize,
}

impl RewardModelConfig {
    /// OBP's OBD example: `C = 100`, 3 folds.
    pub fn obp_example(seed: u64) -> RewardModelConfig {
        RewardModelConfig {
            c: 100.0,
            n_folds: 3,
            seed,
            max_iter: 100,
        }
    }
}

/// A fitted binary logistic regression, `P(y = 1 | x) = sigmoid(w . x + b)`.
#[derive(Debug, Clone, PartialEq)]
pub struct LogisticRegression {
    /// Coefficients `w`.
    pub weights: Vec<f64>,
    /// Intercept `b` (not regularized).
    pub intercept: f64,
}

impl LogisticRegression {
    /// Minimizes `0.5 |w|^2 + c * sum_i logloss(y_i, w . x_i + b)` (scikit-learn's objective with
    /// `penalty="l2"`) by Newton's method with a backtracking line search.
    ///
    /// `x` is row-major with `dim` columns; labels are 0 or 1 (fractions act as soft labels).
    pub fn fit(
        x: &[f64],
        dim: usize,
        y: &[f64],
        c: f64,
        max_iter: usize,
    ) -> Result<LogisticRegression> {
        let n = y.len();
        if x.len() != n * dim || n == 0 || c <= 0.0 {
            return Err(BanditError::Invalid(format!(
                "logistic regression needs rows: {} values for {n} labels x {dim} features, c = {c}",
                x.len()
            )));
        }
        let p = dim + 1;
        let mut theta = vec![0.0; p];
        let row = |i: usize| &x[i * dim..(i + 1) * dim];
        let objective = |theta: &[f64]| -> f64 {
            let mut loss = 0.0;
            for i in 0..n {
                let z = dot(&theta[..dim], row(i)) + theta[dim];
                // log(1 + e^z) - y z, computed stably.
                loss += softplus(z) - y[i] * z;
            }
            0.5 * dot(&theta[..dim], &theta[..dim]) + c * loss
        };
        let mut current = objective(&theta);
        for _ in 0..max_iter {
            let mut grad = vec![0.0; p];
            let mut hess = vec![0.0; p * p];
            let mut xi = vec![0.0; p];
            for i in 0..n {
                xi[..dim].copy_from_slice(row(i));
                xi[dim] = 1.0;
                let prob = sigmoid(dot(&theta, &xi));
                let s = c * prob * (1.0 - prob);
                let g = c * (prob - y[i]);
                for a in 0..p {
                    grad[a] += g * xi[a];
                    let sa = s * xi[a];
                    if sa != 0.0 {
                        for b in 0..=a {
                            hess[a * p + b] += sa * xi[b];
                        }
                    }
                }
            }
            for a in 0..dim {
                grad[a] += theta[a];
                hess[a * p + a] += 1.0;
            }
            for a in 0..p {
                for b in 0..a {
                    hess[b * p + a] = hess[a * p + b];
                }
            }
            // A tiny ridge on the intercept keeps the system solvable when all labels agree.
            hess[p * p - 1] += 1e-12;
            let step = cholesky_solve(&mut hess, &grad, p).ok_or_else(|| {
                BanditError::Invalid("logistic regression: singular Hessian".into())
            })?;
            let decrement: f64 = dot(&grad, &step);
            if decrement.abs() < 1e-12 * (1.0 + current.abs()) {
                // Within rounding of the optimum, where objective comparisons are noise: take
                // the full Newton step (quadratic convergence) and stop.
                for a in 0..p {
                    theta[a] -= step[a];
                }
                break;
            }
            let mut t = 1.0;
            let mut accepted = false;
            let mut trial = vec![0.0; p];
            for _ in 0..50 {
                for a in 0..p {
                    trial[a] = theta[a] - t * step[a];
                }
                let value = objective(&trial);
                if value <= current - 1e-4 * t * decrement {
                    theta.copy_from_slice(&trial);
                    current = value;
                    accepted = true;
                    break;
                }
                t *= 0.5;
            }
            let grad_norm = grad.iter().fold(0.0f64, |m, g| m.max(g.abs()));
            if !accepted || grad_norm < 1e-10 * (1.0 + c * n as f64) {
                break;
            }
        }
        Ok(LogisticRegression {
            weights: theta[..dim].to_vec(),
            intercept: theta[dim],
        })
    }

    /// `P(y = 1 | x)`.
    pub fn predict_proba(&self, x: &[f64]) -> f64 {
        sigmoid(dot(&self.weights, x) + self.intercept)
    }
}

/// Cross-fitted logistic reward model: one model per (fold, position), evaluated on demand.
#[derive(Debug, Clone)]
pub struct CrossFittedRewards {
    n_actions: usize,
    len_list: usize,
    context_dim: usize,
    context: Vec<f64>,
    fold_of_round: Vec<u32>,
    /// Per (fold, position): the context coefficients.
    context_weights: Vec<Vec<f64>>,
    /// Per (fold, position): `w_action . action_context[a] + b` for every action.
    action_logits: Vec<Vec<f64>>,
    /// Per (fold, position): `exp(-action_logit)`, so a round's predictions cost one `exp`.
    action_exp: Vec<Vec<f64>>,
}

impl CrossFittedRewards {
    /// Fits the models on `logs` (see the module docs).
    ///
    /// Errors when a position of some training fold has no rounds.
    pub fn fit(logs: &LoggedFeedback, config: &RewardModelConfig) -> Result<CrossFittedRewards> {
        let n = logs.n_rounds();
        if config.n_folds == 0 || config.n_folds > n {
            return Err(BanditError::Invalid(format!(
                "n_folds must be in 1..={n}, got {}",
                config.n_folds
            )));
        }
        let mut fold_of_round = vec![0u32; n];
        if config.n_folds > 1 {
            // scikit-learn's KFold(shuffle=True): shuffle, then the first n % k folds get one extra round.
            let mut order: Vec<usize> = (0..n).collect();
            order.shuffle(&mut ChaCha8Rng::seed_from_u64(config.seed));
            let k = config.n_folds;
            let mut start = 0;
            for f in 0..k {
                let size = n / k + usize::from(f < n % k);
                for &i in &order[start..start + size] {
                    fold_of_round[i] = f as u32;
                }
                start += size;
            }
        }
        let len_list = logs.len_list();
        let cd = logs.context_dim();
        let ad = logs.action_context_dim();
        let jobs: Vec<(usize, usize)> = (0..config.n_folds)
            .flat_map(|f| (0..len_list).map(move |k| (f, k)))
            .collect();
        let models: Vec<Result<LogisticRegression>> = jobs
            .par_iter()
            .map(|&(f, k)| {
                let rows: Vec<usize> = (0..n)
                    .filter(|&i| {
                        logs.position()[i] as usize == k
                            && (config.n_folds == 1 || fold_of_round[i] as usize != f)
                    })
                    .collect();
                if rows.is_empty() {
                    return Err(BanditError::Invalid(format!(
                        "no training rounds at position {} for fold {f}",
                        k + 1
                    )));
                }
                let mut x = Vec::with_capacity(rows.len() * (cd + ad));
                for &i in &rows {
                    x.extend_from_slice(logs.context_row(i));
                    x.extend_from_slice(logs.action_context_row(logs.action()[i] as usize));
                }
                let y: Vec<f64> = rows.iter().map(|&i| logs.reward()[i]).collect();
                LogisticRegression::fit(&x, cd + ad, &y, config.c, config.max_iter)
            })
            .collect();
        let mut context_weights = Vec::with_capacity(jobs.len());
        let mut action_logits = Vec::with_capacity(jobs.len());
        for model in models {
            let model = model?;
            context_weights.push(model.weights[..cd].to_vec());
            action_logits.push(
                (0..logs.n_actions())
                    .map(|a| {
                        dot(&model.weights[cd..], logs.action_context_row(a)) + model.intercept
                    })
                    .collect(),
            );
        }
        let action_exp = action_logits
            .iter()
            .map(|row: &Vec<f64>| row.iter().map(|l| (-l).exp()).collect())
            .collect();
        Ok(CrossFittedRewards {
            action_exp,
            n_actions: logs.n_actions(),
            len_list,
            context_dim: cd,
            context: logs.context().to_vec(),
            fold_of_round,
            context_weights,
            action_logits,
        })
    }

    fn model_index(&self, round: usize, position: usize) -> usize {
        self.fold_of_round[round] as usize * self.len_list + position
    }

    fn context_logit(&self, round: usize, model: usize) -> f64 {
        let row = &self.context[round * self.context_dim..(round + 1) * self.context_dim];
        dot(&self.context_weights[model], row)
    }

    /// The fold each round was predicted from.
    pub fn fold_of_round(&self) -> &[u32] {
        &self.fold_of_round
    }

    /// Number of actions.
    pub fn n_actions(&self) -> usize {
        self.n_actions
    }
}

impl RewardModel for CrossFittedRewards {
    fn predict_at_position(&self, round: usize, position: usize, out: &mut [f64]) {
        let model = self.model_index(round, position);
        // sigmoid(base + l) = 1 / (1 + exp(-base) exp(-l)).
        let e = (-self.context_logit(round, model)).exp();
        for (slot, em) in out.iter_mut().zip(&self.action_exp[model]) {
            *slot = 1.0 / (1.0 + e * em);
        }
    }

    fn predict(&self, round: usize, action: usize, position: usize) -> f64 {
        let model = self.model_index(round, position);
        sigmoid(self.context_logit(round, model) + self.action_logits[model][action])
    }
}

/// The logistic function.
#[inline]
pub fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

fn softplus(z: f64) -> f64 {
    if z > 0.0 {
        z + (-z).exp().ln_1p()
    } else {
        z.exp().ln_1p()
    }
}

#[inline]
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Solves `A x = b` for symmetric positive definite `A` (overwritten by its Cholesky factor).
pub(crate) fn cholesky_solve(a: &mut [f64], b: &[f64], p: usize) -> Option<Vec<f64>> {
    for j in 0..p {
        let mut d = a[j * p + j];
        for k in 0..j {
            d -= a[j * p + k] * a[j * p + k];
        }
        if d <= 0.0 || !d.is_finite() {
            return None;
        }
        let d = d.sqrt();
        a[j * p + j] = d;
        for i in j + 1..p {
            let mut s = a[i * p + j];
            for k in 0..j {
                s -= a[i * p + k] * a[j * p + k];
            }
            a[i * p + j] = s / d;
        }
    }
    let mut z = b.to_vec();
    for i in 0..p {
        for k in 0..i {
            z[i] -= a[i * p + k] * z[k];
        }
        z[i] /= a[i * p + i];
    }
    for i in (0..p).rev() {
        for k in i + 1..p {
            z[i] -= a[k * p + i] * z[k];
        }
        z[i] /= a[i * p + i];
    }
    Some(z)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feedback::FeedbackParts;

    #[test]
    fn intercept_only_model_is_the_log_odds() {
        // No features: the unpenalized intercept solves sum(p - y) = 0, so p = mean(y) = 0.3.
        let y: Vec<f64> = (0..10).map(|i| if i < 3 { 1.0 } else { 0.0 }).collect();
        let model = LogisticRegression::fit(&[], 0, &y, 1.0, 100).unwrap();
        assert!(
            (model.intercept - (0.3f64 / 0.7).ln()).abs() < 1e-9,
            "{model:?}"
        );
    }

    #[test]
    fn optimality_conditions_hold() {
        // One binary feature: group x=0 has 2 clicks in 8, group x=1 has 5 in 6.
        // At the optimum of 0.5 w^2 + C sum logloss:
        //   d/db: C [8 (p0 - 2/8) + 6 (p1 - 5/6)] = 0, d/dw: C * 6 (p1 - 5/6) + w = 0,
        // with p0 = sigmoid(b), p1 = sigmoid(b + w).
        let mut x = Vec::new();
        let mut y = Vec::new();
        for i in 0..8 {
            x.push(0.0);
            y.push(if i < 2 { 1.0 } else { 0.0 });
        }
        for i in 0..6 {
            x.push(1.0);
            y.push(if i < 5 { 1.0 } else { 0.0 });
        }
        let c = 0.7;
        let m = LogisticRegression::fit(&x, 1, &y, c, 100).unwrap();
        let (w, b) = (m.weights[0], m.intercept);
        let p0 = sigmoid(b);
        let p1 = sigmoid(b + w);
        assert!((8.0 * (p0 - 0.25) + 6.0 * (p1 - 5.0 / 6.0)).abs() < 1e-9);
        assert!((c * 6.0 * (p1 - 5.0 / 6.0) + w).abs() < 1e-9);
        // Regularization pulls the group-1 rate below its raw 5/6.
        assert!(p1 < 5.0 / 6.0 && w > 0.0);
    }

    #[test]
    fn cross_fitting_predicts_each_round_from_other_folds() {
        // Two actions with click rates 0.8 and 0.2, one position, no context.
        let n = 300;
        let action: Vec<u32> = (0..n).map(|i| (i % 2) as u32).collect();
        let reward: Vec<f64> = (0..n)
            .map(|i| {
                let clicked = if i % 2 == 0 { i % 10 < 8 } else { i % 10 < 2 };
                f64::from(u8::from(clicked))
            })
            .collect();
        let logs = LoggedFeedback::new(FeedbackParts {
            n_actions: 2,
            len_list: 1,
            context_dim: 0,
            context: vec![],
            action,
            position: vec![0; n],
            reward,
            pscore: vec![0.5; n],
            action_context_dim: 1,
            action_context: vec![0.0, 1.0],
        })
        .unwrap();
        let config = RewardModelConfig {
            c: 100.0,
            n_folds: 3,
            seed: 1,
            max_iter: 100,
        };
        let model = CrossFittedRewards::fit(&logs, &config).unwrap();
        let mut counts = [0; 3];
        for &f in model.fold_of_round() {
            counts[f as usize] += 1;
        }
        assert_eq!(counts, [100, 100, 100]);
        let mut q = [0.0; 2];
        model.predict_at_position(0, 0, &mut q);
        assert!(
            (q[0] - 0.8).abs() < 0.06 && (q[1] - 0.2).abs() < 0.06,
            "{q:?}"
        );
        assert!((model.predict(0, 1, 0) - q[1]).abs() < 1e-15);
    }
}
