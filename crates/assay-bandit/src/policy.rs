//! Slate bandit policies: each picks `len_list` distinct actions for a context, learns from
//! rewards (online, one round at a time, or in a batch from logged feedback), and outputs its
//! action distribution `pi(action, position | context)`.
//!
//! Context-free policies follow OBP's `obp.policy.contextfree` (uniform random, epsilon-greedy,
//! Bernoulli Thompson sampling); contextual ones follow `obp.policy.linear` and
//! `obp.policy.logistic` (LinUCB, linear TS, logistic UCB and TS), with one model per action over
//! the context vector. Randomness always comes from the caller's RNG.

use rand::seq::index::sample;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution, StandardNormal};

use crate::error::{BanditError, Result};
use crate::feedback::LoggedFeedback;
use crate::reward_model::{cholesky_solve, dot, sigmoid};

/// The prior file of Bernoulli TS is read by assay-import; the policy takes the plain prior.
pub use assay_import::BetaPrior;

/// A slate policy.
pub trait Policy {
    /// Number of actions.
    fn n_actions(&self) -> usize;
    /// Number of slots of a slate.
    fn len_list(&self) -> usize;
    /// Picks a slate of `len_list` distinct actions for `context`, best slot first.
    fn select(&self, context: &[f64], rng: &mut ChaCha8Rng) -> Vec<u32>;
    /// Learns from the reward of `action` shown for `context`.
    fn update(&mut self, context: &[f64], action: u32, reward: f64);
    /// `pi(action, position | context)` as `probs[position][action]`.
    ///
    /// Deterministic and closed-form policies give it exactly; sampling policies estimate it from
    /// `n_sim` simulated slates, as OBP's `compute_batch_action_dist`.
    fn action_dist(&self, context: &[f64], n_sim: usize, rng: &mut ChaCha8Rng) -> Vec<Vec<f64>> {
        monte_carlo_dist(self, context, n_sim, rng)
    }
    /// Learns from every round of logged feedback, in order.
    fn update_batch(&mut self, logs: &LoggedFeedback) {
        for i in 0..logs.n_rounds() {
            self.update(logs.context_row(i), logs.action()[i], logs.reward()[i]);
        }
    }
}

/// Counts how often each action lands in each slot over `n_sim` draws of `policy.select`.
pub fn monte_carlo_dist<P: Policy + ?Sized>(
    policy: &P,
    context: &[f64],
    n_sim: usize,
    rng: &mut ChaCha8Rng,
) -> Vec<Vec<f64>> {
    let mut counts = vec![vec![0.0; policy.n_actions()]; policy.len_list()];
    for _ in 0..n_sim {
        for (k, a) in policy.select(context, rng).into_iter().enumerate() {
            counts[k][a as usize] += 1.0;
        }
    }
    for row in &mut counts {
        row.iter_mut().for_each(|c| *c /= n_sim as f64);
    }
    counts
}

/// The indices of the `k` largest scores, largest first (ties: lower index first).
pub fn top_k(scores: &[f64], k: usize) -> Vec<u32> {
    let mut order: Vec<u32> = (0..scores.len() as u32).collect();
    order.sort_by(|&a, &b| {
        scores[b as usize]
            .total_cmp(&scores[a as usize])
            .then(a.cmp(&b))
    });
    order.truncate(k);
    order
}

fn check_slate(n_actions: usize, len_list: usize) -> Result<()> {
    if len_list == 0 || len_list > n_actions {
        return Err(BanditError::Invalid(format!(
            "a slate of {len_list} distinct actions needs 1 <= len_list <= n_actions = {n_actions}"
        )));
    }
    Ok(())
}

/// Uniformly random slates (OBP's `Random`): every action is equally likely in every slot.
#[derive(Debug, Clone)]
pub struct UniformRandom {
    n_actions: usize,
    len_list: usize,
}

impl UniformRandom {
    /// A uniform policy over `n_actions` with slates of `len_list`.
    pub fn new(n_actions: usize, len_list: usize) -> Result<UniformRandom> {
        check_slate(n_actions, len_list)?;
        Ok(UniformRandom {
            n_actions,
            len_list,
        })
    }
}

impl Policy for UniformRandom {
    fn n_actions(&self) -> usize {
        self.n_actions
    }
    fn len_list(&self) -> usize {
        self.len_list
    }
    fn select(&self, _context: &[f64], rng: &mut ChaCha8Rng) -> Vec<u32> {
        sample(rng, self.n_actions, self.len_list)
            .into_iter()
            .map(|a| a as u32)
            .collect()
    }
    fn update(&mut self, _context: &[f64], _action: u32, _reward: f64) {}
    fn action_dist(&self, _context: &[f64], _n_sim: usize, _rng: &mut ChaCha8Rng) -> Vec<Vec<f64>> {
        vec![vec![1.0 / self.n_actions as f64; self.n_actions]; self.len_list]
    }
}

/// Context-free epsilon-greedy (OBP's `EpsilonGreedy`): with probability `epsilon` (or while some
/// action is untried) a uniformly random slate, else the actions with the best mean reward.
#[derive(Debug, Clone)]
pub struct EpsilonGreedy {
    epsilon: f64,
    len_list: usize,
    clicks: Vec<f64>,
    impressions: Vec<f64>,
}

impl EpsilonGreedy {
    /// A fresh policy; `epsilon` in [0, 1].
    pub fn new(n_actions: usize, len_list: usize, epsilon: f64) -> Result<EpsilonGreedy> {
        check_slate(n_actions, len_list)?;
        if !(0.0..=1.0).contains(&epsilon) {
            return Err(BanditError::Invalid(format!(
                "epsilon {epsilon} is not in [0, 1]"
            )));
        }
        Ok(EpsilonGreedy {
            epsilon,
            len_list,
            clicks: vec![0.0; n_actions],
            impressions: vec![0.0; n_actions],
        })
    }

    fn greedy(&self) -> Option<Vec<u32>> {
        if self.impressions.contains(&0.0) {
            return None;
        }
        let means: Vec<f64> = self
            .clicks
            .iter()
            .zip(&self.impressions)
            .map(|(c, n)| c / n)
            .collect();
        Some(top_k(&means, self.len_list))
    }
}

impl Policy for EpsilonGreedy {
    fn n_actions(&self) -> usize {
        self.clicks.len()
    }
    fn len_list(&self) -> usize {
        self.len_list
    }
    fn select(&self, _context: &[f64], rng: &mut ChaCha8Rng) -> Vec<u32> {
        match self.greedy() {
            Some(best) if rng.random::<f64>() >= self.epsilon => best,
            _ => sample(rng, self.n_actions(), self.len_list)
                .into_iter()
                .map(|a| a as u32)
                .collect(),
        }
    }
    fn update(&mut self, _context: &[f64], action: u32, reward: f64) {
        self.clicks[action as usize] += reward;
        self.impressions[action as usize] += 1.0;
    }
    fn action_dist(&self, _context: &[f64], _n_sim: usize, _rng: &mut ChaCha8Rng) -> Vec<Vec<f64>> {
        let n = self.n_actions();
        let explore = match self.greedy() {
            Some(_) => self.epsilon,
            None => 1.0,
        };
        let mut probs = vec![vec![explore / n as f64; n]; self.len_list];
        if let Some(best) = self.greedy() {
            for (k, a) in best.into_iter().enumerate() {
                probs[k][a as usize] += 1.0 - explore;
            }
        }
        probs
    }
}

/// Bernoulli Thompson sampling (OBP's `BernoulliTS`): per round, draw each action's click rate
/// from `Beta(alpha + clicks, beta + impressions - clicks)` and show the `len_list` largest draws.
#[derive(Debug, Clone)]
pub struct BernoulliTs {
    len_list: usize,
    prior: BetaPrior,
    clicks: Vec<f64>,
    impressions: Vec<f64>,
}

impl BernoulliTs {
    /// A fresh policy with the given prior (one alpha/beta per action).
    pub fn new(len_list: usize, prior: BetaPrior) -> Result<BernoulliTs> {
        let n = prior.alpha.len();
        check_slate(n, len_list)?;
        if prior.beta.len() != n {
            return Err(BanditError::Invalid("alpha and beta lengths differ".into()));
        }
        if prior
            .alpha
            .iter()
            .chain(&prior.beta)
            .any(|&v| !(v > 0.0 && v.is_finite()))
        {
            return Err(BanditError::Invalid(
                "Beta parameters must be positive".into(),
            ));
        }
        Ok(BernoulliTs {
            len_list,
            prior,
            clicks: vec![0.0; n],
            impressions: vec![0.0; n],
        })
    }

    fn posteriors(&self) -> Vec<Beta<f64>> {
        (0..self.clicks.len())
            .map(|a| {
                let alpha = self.prior.alpha[a] + self.clicks[a];
                let beta = self.prior.beta[a] + (self.impressions[a] - self.clicks[a]).max(0.0);
                Beta::new(alpha, beta).expect("parameters are positive and finite")
            })
            .collect()
    }

    /// OBP's `compute_batch_action_dist(n_sim)`: the share of `n_sim` simulated slates that put
    /// each action in each slot (the same for every round).
    pub fn batch_action_dist(&self, n_sim: usize, rng: &mut ChaCha8Rng) -> Vec<Vec<f64>> {
        let posteriors = self.posteriors();
        let n = posteriors.len();
        let mut counts = vec![vec![0u64; n]; self.len_list];
        let mut draws = vec![0.0; n];
        let mut order: Vec<usize> = (0..n).collect();
        for _ in 0..n_sim {
            for (d, p) in draws.iter_mut().zip(&posteriors) {
                *d = p.sample(rng);
            }
            // Partial selection of the top len_list, then sort those few.
            order.select_nth_unstable_by(self.len_list - 1, |&a, &b| draws[b].total_cmp(&draws[a]));
            let top = &mut order[..self.len_list];
            top.sort_by(|&a, &b| draws[b].total_cmp(&draws[a]));
            for (k, &a) in top.iter().enumerate() {
                counts[k][a] += 1;
            }
        }
        counts
            .into_iter()
            .map(|row| row.into_iter().map(|c| c as f64 / n_sim as f64).collect())
            .collect()
    }
}

impl Policy for BernoulliTs {
    fn n_actions(&self) -> usize {
        self.clicks.len()
    }
    fn len_list(&self) -> usize {
        self.len_list
    }
    fn select(&self, _context: &[f64], rng: &mut ChaCha8Rng) -> Vec<u32> {
        let draws: Vec<f64> = self.posteriors().iter().map(|p| p.sample(rng)).collect();
        top_k(&draws, self.len_list)
    }
    fn update(&mut self, _context: &[f64], action: u32, reward: f64) {
        self.clicks[action as usize] += reward;
        self.impressions[action as usize] += 1.0;
    }
    fn action_dist(&self, _context: &[f64], n_sim: usize, rng: &mut ChaCha8Rng) -> Vec<Vec<f64>> {
        self.batch_action_dist(n_sim, rng)
    }
}

/// How a linear or logistic policy turns its per-action posterior into a slate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Exploration {
    /// Upper confidence bound: mean + `alpha` * posterior standard deviation of the score.
    Ucb {
        /// Width multiplier.
        alpha: f64,
    },
    /// Thompson sampling: score with a draw from the posterior.
    Thompson,
}

/// Per-action ridge regression of reward on context: LinUCB and linear Thompson sampling
/// (OBP's `LinUCB`, `LinTS`), `A_a = lambda I + sum x x^T`, `b_a = sum r x`, mean `A_a^-1 b_a`.
#[derive(Debug, Clone)]
pub struct LinearPolicy {
    dim: usize,
    len_list: usize,
    exploration: Exploration,
    /// Per action: `A_a^-1`, row-major `dim x dim`.
    a_inv: Vec<Vec<f64>>,
    b: Vec<Vec<f64>>,
}

impl LinearPolicy {
    /// A fresh policy over `n_actions` with `dim`-dimensional contexts and ridge `lambda > 0`.
    pub fn new(
        n_actions: usize,
        len_list: usize,
        dim: usize,
        lambda: f64,
        exploration: Exploration,
    ) -> Result<LinearPolicy> {
        check_slate(n_actions, len_list)?;
        if lambda <= 0.0 {
            return Err(BanditError::Invalid("ridge lambda must be positive".into()));
        }
        let mut identity = vec![0.0; dim * dim];
        for j in 0..dim {
            identity[j * dim + j] = 1.0 / lambda;
        }
        Ok(LinearPolicy {
            dim,
            len_list,
            exploration,
            a_inv: vec![identity; n_actions],
            b: vec![vec![0.0; dim]; n_actions],
        })
    }

    fn scores(&self, context: &[f64], rng: Option<&mut ChaCha8Rng>) -> Vec<f64> {
        let d = self.dim;
        let mut rng = rng;
        (0..self.a_inv.len())
            .map(|a| {
                let a_inv = &self.a_inv[a];
                let theta: Vec<f64> = (0..d)
                    .map(|i| dot(&a_inv[i * d..(i + 1) * d], &self.b[a]))
                    .collect();
                match (self.exploration, rng.as_deref_mut()) {
                    (Exploration::Thompson, Some(rng)) => {
                        let draw = gaussian_draw(&theta, a_inv, d, rng);
                        dot(&draw, context)
                    }
                    (Exploration::Ucb { alpha }, _) => {
                        let ax: Vec<f64> = (0..d)
                            .map(|i| dot(&a_inv[i * d..(i + 1) * d], context))
                            .collect();
                        dot(&theta, context) + alpha * dot(context, &ax).max(0.0).sqrt()
                    }
                    (Exploration::Thompson, None) => dot(&theta, context),
                }
            })
            .collect()
    }
}

/// A draw from `N(mean, cov)` through the Cholesky factor of `cov`.
fn gaussian_draw(mean: &[f64], cov: &[f64], d: usize, rng: &mut ChaCha8Rng) -> Vec<f64> {
    let mut l = cov.to_vec();
    for j in 0..d {
        l[j * d + j] += 1e-12;
    }
    // Factor in place (lower triangle); fall back to the diagonal if not positive definite.
    let factored = cholesky_solve(&mut l, &vec![0.0; d], d).is_some();
    let z: Vec<f64> = (0..d).map(|_| StandardNormal.sample(rng)).collect();
    (0..d)
        .map(|i| {
            if factored {
                mean[i] + (0..=i).map(|k| l[i * d + k] * z[k]).sum::<f64>()
            } else {
                mean[i] + cov[i * d + i].max(0.0).sqrt() * z[i]
            }
        })
        .collect()
}

impl Policy for LinearPolicy {
    fn n_actions(&self) -> usize {
        self.a_inv.len()
    }
    fn len_list(&self) -> usize {
        self.len_list
    }
    fn select(&self, context: &[f64], rng: &mut ChaCha8Rng) -> Vec<u32> {
        top_k(&self.scores(context, Some(rng)), self.len_list)
    }
    fn update(&mut self, context: &[f64], action: u32, reward: f64) {
        // Sherman-Morrison: (A + x x^T)^-1 = A^-1 - A^-1 x x^T A^-1 / (1 + x^T A^-1 x).
        let d = self.dim;
        let a = action as usize;
        let a_inv = &mut self.a_inv[a];
        let ax: Vec<f64> = (0..d)
            .map(|i| dot(&a_inv[i * d..(i + 1) * d], context))
            .collect();
        let denom = 1.0 + dot(context, &ax);
        for i in 0..d {
            for j in 0..d {
                a_inv[i * d + j] -= ax[i] * ax[j] / denom;
            }
        }
        for (bi, xi) in self.b[a].iter_mut().zip(context) {
            *bi += reward * xi;
        }
    }
    fn action_dist(&self, context: &[f64], n_sim: usize, rng: &mut ChaCha8Rng) -> Vec<Vec<f64>> {
        match self.exploration {
            Exploration::Ucb { .. } => {
                deterministic_dist(&self.scores(context, None), self.len_list)
            }
            Exploration::Thompson => monte_carlo_dist(self, context, n_sim, rng),
        }
    }
}

fn deterministic_dist(scores: &[f64], len_list: usize) -> Vec<Vec<f64>> {
    let mut probs = vec![vec![0.0; scores.len()]; len_list];
    for (k, a) in top_k(scores, len_list).into_iter().enumerate() {
        probs[k][a as usize] = 1.0;
    }
    probs
}

/// Per-action logistic regression of click on context with a Gaussian (Laplace) posterior:
/// logistic UCB and TS (OBP's `LogisticUCB`, `LogisticTS`). Each action's model is refitted on its
/// own history (MAP with prior `N(0, I / lambda)`) every `batch_size` of its updates.
#[derive(Debug, Clone)]
pub struct LogisticPolicy {
    dim: usize,
    len_list: usize,
    lambda: f64,
    batch_size: usize,
    exploration: Exploration,
    history: Vec<(Vec<f64>, Vec<f64>)>,
    pending: Vec<usize>,
    mean: Vec<Vec<f64>>,
    /// Per action: posterior covariance (inverse Hessian at the MAP), row-major.
    cov: Vec<Vec<f64>>,
}

impl LogisticPolicy {
    /// A fresh policy; `lambda > 0` is the prior precision, `batch_size >= 1` the refit period.
    pub fn new(
        n_actions: usize,
        len_list: usize,
        dim: usize,
        lambda: f64,
        batch_size: usize,
        exploration: Exploration,
    ) -> Result<LogisticPolicy> {
        check_slate(n_actions, len_list)?;
        if lambda <= 0.0 || batch_size == 0 {
            return Err(BanditError::Invalid(
                "lambda must be positive and batch_size at least 1".into(),
            ));
        }
        let mut cov = vec![0.0; dim * dim];
        for j in 0..dim {
            cov[j * dim + j] = 1.0 / lambda;
        }
        Ok(LogisticPolicy {
            dim,
            len_list,
            lambda,
            batch_size,
            exploration,
            history: vec![(Vec::new(), Vec::new()); n_actions],
            pending: vec![0; n_actions],
            mean: vec![vec![0.0; dim]; n_actions],
            cov: vec![cov; n_actions],
        })
    }

    fn refit(&mut self, a: usize) -> Result<()> {
        let d = self.dim;
        let (x, y) = &self.history[a];
        // MAP under the prior N(0, I / lambda); add a constant feature for an intercept.
        let w = logistic_map_no_intercept(x, d, y, self.lambda);
        let mut hess = vec![0.0; d * d];
        for j in 0..d {
            hess[j * d + j] = self.lambda;
        }
        for row in x.chunks(d) {
            let p = sigmoid(dot(&w, row));
            let s = p * (1.0 - p);
            for i in 0..d {
                for j in 0..d {
                    hess[i * d + j] += s * row[i] * row[j];
                }
            }
        }
        self.cov[a] = invert_spd(&hess, d)
            .ok_or_else(|| BanditError::Invalid("logistic posterior: singular Hessian".into()))?;
        self.mean[a] = w;
        Ok(())
    }

    fn scores(&self, context: &[f64], rng: Option<&mut ChaCha8Rng>) -> Vec<f64> {
        let d = self.dim;
        let mut rng = rng;
        (0..self.mean.len())
            .map(|a| match (self.exploration, rng.as_deref_mut()) {
                (Exploration::Thompson, Some(rng)) => sigmoid(dot(
                    &gaussian_draw(&self.mean[a], &self.cov[a], d, rng),
                    context,
                )),
                (Exploration::Ucb { alpha }, _) => {
                    let cx: Vec<f64> = (0..d)
                        .map(|i| dot(&self.cov[a][i * d..(i + 1) * d], context))
                        .collect();
                    sigmoid(dot(&self.mean[a], context) + alpha * dot(context, &cx).max(0.0).sqrt())
                }
                (Exploration::Thompson, None) => sigmoid(dot(&self.mean[a], context)),
            })
            .collect()
    }
}

/// MAP of `0.5 lambda |w|^2 + sum logloss(y, w . x)` without intercept, by Newton.
fn logistic_map_no_intercept(x: &[f64], d: usize, y: &[f64], lambda: f64) -> Vec<f64> {
    let mut w = vec![0.0; d];
    for _ in 0..50 {
        let mut grad: Vec<f64> = w.iter().map(|wi| lambda * wi).collect();
        let mut hess = vec![0.0; d * d];
        for j in 0..d {
            hess[j * d + j] = lambda;
        }
        for (row, &yi) in x.chunks(d).zip(y) {
            let p = sigmoid(dot(&w, row));
            for i in 0..d {
                grad[i] += (p - yi) * row[i];
                for j in 0..d {
                    hess[i * d + j] += p * (1.0 - p) * row[i] * row[j];
                }
            }
        }
        let Some(step) = cholesky_solve(&mut hess, &grad, d) else {
            break;
        };
        w.iter_mut().zip(&step).for_each(|(wi, s)| *wi -= s);
        if step.iter().all(|s| s.abs() < 1e-10) {
            break;
        }
    }
    w
}

fn invert_spd(m: &[f64], d: usize) -> Option<Vec<f64>> {
    let mut inv = vec![0.0; d * d];
    for j in 0..d {
        let mut e = vec![0.0; d];
        e[j] = 1.0;
        let mut copy = m.to_vec();
        let col = cholesky_solve(&mut copy, &e, d)?;
        for i in 0..d {
            inv[i * d + j] = col[i];
        }
    }
    Some(inv)
}

impl Policy for LogisticPolicy {
    fn n_actions(&self) -> usize {
        self.mean.len()
    }
    fn len_list(&self) -> usize {
        self.len_list
    }
    fn select(&self, context: &[f64], rng: &mut ChaCha8Rng) -> Vec<u32> {
        top_k(&self.scores(context, Some(rng)), self.len_list)
    }
    fn update(&mut self, context: &[f64], action: u32, reward: f64) {
        let a = action as usize;
        self.history[a].0.extend_from_slice(context);
        self.history[a].1.push(reward);
        self.pending[a] += 1;
        if self.pending[a] >= self.batch_size {
            self.pending[a] = 0;
            // A failed refit keeps the previous posterior: the policy stays usable.
            let _ = self.refit(a);
        }
    }
    fn action_dist(&self, context: &[f64], n_sim: usize, rng: &mut ChaCha8Rng) -> Vec<Vec<f64>> {
        match self.exploration {
            Exploration::Ucb { .. } => {
                deterministic_dist(&self.scores(context, None), self.len_list)
            }
            Exploration::Thompson => monte_carlo_dist(self, context, n_sim, rng),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn bts_batch_distribution_matches_two_arm_probability() {
        // Two arms, one slot: P(Beta(2,1) draw > Beta(1,1) draw) = integral of 2x * x dx = 2/3.
        let prior = BetaPrior {
            alpha: vec![2.0, 1.0],
            beta: vec![1.0, 1.0],
        };
        let policy = BernoulliTs::new(1, prior).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let dist = policy.batch_action_dist(60_000, &mut rng);
        assert!((dist[0][0] - 2.0 / 3.0).abs() < 0.01, "{dist:?}");
        assert!((dist[0][0] + dist[0][1] - 1.0).abs() < 1e-12);
    }

    #[test]
    fn uniform_and_epsilon_greedy_distributions_are_exact() {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let uniform = UniformRandom::new(4, 2).unwrap();
        assert_eq!(
            uniform.action_dist(&[], 0, &mut rng),
            vec![vec![0.25; 4]; 2]
        );
        let slate = uniform.select(&[], &mut rng);
        assert_eq!(slate.len(), 2);
        assert_ne!(slate[0], slate[1]);

        let mut eg = EpsilonGreedy::new(4, 2, 0.2).unwrap();
        for (a, r) in [(0, 0.0), (1, 1.0), (2, 0.5), (3, 0.0)] {
            eg.update(&[], a, r);
        }
        // Best: action 1 (1.0), then action 2 (0.5). Slot 0: 0.2/4 + 0.8 on action 1.
        let dist = eg.action_dist(&[], 0, &mut rng);
        let close = |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12);
        assert!(close(&dist[0], &[0.05, 0.85, 0.05, 0.05]), "{dist:?}");
        assert!(close(&dist[1], &[0.05, 0.05, 0.85, 0.05]), "{dist:?}");
        let mc = monte_carlo_dist(&eg, &[], 40_000, &mut rng);
        assert!((mc[0][1] - 0.85).abs() < 0.01, "{mc:?}");
    }

    #[test]
    fn contextual_policies_learn_the_better_action_per_context() {
        // Two contexts (one-hot) and two actions: action 0 pays in context 0, action 1 in context 1.
        let contexts = [[1.0, 0.0], [0.0, 1.0]];
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut policies: Vec<Box<dyn Policy>> = vec![
            Box::new(LinearPolicy::new(2, 1, 2, 1.0, Exploration::Ucb { alpha: 0.5 }).unwrap()),
            Box::new(LinearPolicy::new(2, 1, 2, 1.0, Exploration::Thompson).unwrap()),
            Box::new(
                LogisticPolicy::new(2, 1, 2, 1.0, 10, Exploration::Ucb { alpha: 0.5 }).unwrap(),
            ),
            Box::new(LogisticPolicy::new(2, 1, 2, 1.0, 10, Exploration::Thompson).unwrap()),
        ];
        for policy in &mut policies {
            for t in 0..400 {
                let c = t % 2;
                let a = policy.select(&contexts[c], &mut rng)[0];
                let p_click = if a as usize == c { 0.8 } else { 0.2 };
                let r = f64::from(u8::from(rng.random::<f64>() < p_click));
                policy.update(&contexts[c], a, r);
            }
            for (c, context) in contexts.iter().enumerate() {
                let dist = policy.action_dist(context, 2000, &mut rng);
                assert!(dist[0][c] > 0.9, "context {c}: {dist:?}");
            }
        }
    }
}
