//! The Thompson-sampling re-ranker of `/recommend`: the model proposes its top candidates, and
//! each request draws every candidate's click rate from its Beta posterior and shows the `k`
//! largest draws.
//!
//! Posteriors are per item: `Beta(prior + rewards, prior + shown - rewards)`, where `shown`
//! counts the times the re-ranker served the item and `rewards` the clicks and purchases that
//! came back (through `POST /events`) from the user it was served to, at most one per serving.
//! The policy is stochastic, so the logged propensity of an item at a position is the
//! probability that the policy puts it there: a Monte-Carlo estimate from [`BanditConfig::draws`]
//! fresh seeded draws plus the draw that was served.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use assay_core::ItemIdx;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution};
use serde::Serialize;

/// How the re-ranker explores.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BanditConfig {
    /// Candidates beyond `k` taken from the model's ranking, as a share of `k` (at least one
    /// more).
    pub extra: f64,
    /// Prior Beta(alpha, beta) of every item's click rate.
    pub prior: (f64, f64),
    /// Monte-Carlo draws behind each logged propensity.
    pub draws: usize,
}

impl Default for BanditConfig {
    fn default() -> BanditConfig {
        BanditConfig {
            extra: 0.5,
            prior: (1.0, 1.0),
            draws: 1000,
        }
    }
}

impl BanditConfig {
    /// How many model candidates a list of `k` is drawn from.
    pub fn pool(&self, k: usize) -> usize {
        k + ((k as f64 * self.extra).ceil() as usize).max(1)
    }
}

/// What the re-ranker knows about one item.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Arm {
    /// Times served.
    pub shown: u64,
    /// Clicks and purchases on those servings.
    pub rewards: u64,
}

/// Users whose last served lists are remembered for rewards; beyond this the memory starts over.
const MAX_PENDING_USERS: usize = 200_000;

/// Served rounds kept for off-policy evaluation; older ones are dropped.
const MAX_ROUNDS: usize = 100_000;

#[derive(Debug, Default)]
struct State {
    arms: HashMap<ItemIdx, Arm>,
    /// Per user: the round of the last list served to them and its items not rewarded yet.
    pending: HashMap<String, (u64, Vec<ItemIdx>)>,
    /// The latest served rounds, the first of them numbered `first_round`.
    rounds: VecDeque<Round>,
    first_round: u64,
}

/// One served list as off-policy evaluation reads it.
#[derive(Debug, Clone)]
struct Round {
    /// The model's candidates in its own order.
    candidates: Vec<ItemIdx>,
    /// Indices into `candidates`, in served order.
    served: Vec<usize>,
    /// Each served position's logged propensity, once the log writer has estimated it.
    propensities: Option<Vec<f64>>,
    /// Whether each served position got a click or a purchase.
    rewarded: Vec<bool>,
}

/// An estimate of what another policy would have earned on the served rounds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyEstimate {
    /// The candidate policy.
    pub policy: &'static str,
    /// Inverse propensity scoring: mean over shown positions of reward x pi / p.
    pub ips: f64,
    /// Self-normalized IPS; `None` when no logged position has weight.
    pub snips: Option<f64>,
    /// Mean importance weight (near 1 when the logs cover the policy).
    pub mean_weight: f64,
}

/// Off-policy evaluation of candidate policies on the re-ranker's own served lists.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpeSummary {
    /// Served lists with their propensities.
    pub rounds: usize,
    /// Shown positions (the estimators' rows).
    pub positions: usize,
    /// The live policy's mean reward per shown position (clicks and purchases).
    pub logged: f64,
    /// Each candidate's estimates, per shown position like `logged`.
    pub candidates: Vec<PolicyEstimate>,
}

/// One re-ranked list: what was served and what is needed to log its propensities.
#[derive(Debug, Clone, PartialEq)]
pub struct Reranked {
    /// Indices into the candidates, in served order.
    pub order: Vec<usize>,
    /// Every candidate's posterior (alpha, beta) when it was drawn.
    pub posteriors: Vec<(f64, f64)>,
    /// The seed of the propensity estimate's draws.
    pub seed: u64,
    /// The round's number, for [`Reranker::set_propensities`].
    pub round: u64,
}

/// The re-ranker: posteriors shared by every request.
#[derive(Debug)]
pub struct Reranker {
    config: BanditConfig,
    seed: u64,
    requests: AtomicU64,
    state: Mutex<State>,
}

impl Reranker {
    /// A re-ranker with every item at the prior.
    pub fn new(config: BanditConfig, seed: u64) -> Reranker {
        Reranker {
            config,
            seed,
            requests: AtomicU64::new(0),
            state: Mutex::new(State::default()),
        }
    }

    /// Its settings.
    pub fn config(&self) -> &BanditConfig {
        &self.config
    }

    /// An item's posterior (alpha, beta).
    pub fn posterior(&self, item: ItemIdx) -> (f64, f64) {
        let arm = self.lock().arms.get(&item).copied().unwrap_or_default();
        self.posterior_of(arm)
    }

    fn posterior_of(&self, arm: Arm) -> (f64, f64) {
        let (a, b) = self.config.prior;
        (
            a + arm.rewards as f64,
            b + arm.shown.saturating_sub(arm.rewards) as f64,
        )
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Draws every candidate's click rate and keeps the `k` largest; counts them as shown to
    /// `user`. Each request has its own seed (the service's seed and the request's number).
    pub fn rerank(&self, user: &str, candidates: &[ItemIdx], k: usize) -> Reranked {
        let n = self.requests.fetch_add(1, Ordering::Relaxed);
        let seed = mix(self.seed, n);
        let mut state = self.lock();
        let posteriors: Vec<(f64, f64)> = candidates
            .iter()
            .map(|i| self.posterior_of(state.arms.get(i).copied().unwrap_or_default()))
            .collect();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let order = draw_order(&posteriors, k, &mut rng);
        let served: Vec<ItemIdx> = order.iter().map(|&c| candidates[c]).collect();
        for item in &served {
            state.arms.entry(*item).or_default().shown += 1;
        }
        if state.pending.len() >= MAX_PENDING_USERS && !state.pending.contains_key(user) {
            state.pending.clear();
        }
        let round = state.first_round + state.rounds.len() as u64;
        state.pending.insert(user.to_owned(), (round, served));
        state.rounds.push_back(Round {
            candidates: candidates.to_vec(),
            served: order.clone(),
            propensities: None,
            rewarded: vec![false; order.len()],
        });
        if state.rounds.len() > MAX_ROUNDS {
            state.rounds.pop_front();
            state.first_round += 1;
        }
        Reranked {
            order,
            posteriors,
            // The estimate's draws are independent of the served one.
            seed: mix(seed, u64::MAX),
            round,
        }
    }

    /// A click or purchase of `item` by `user`: a reward when the item is in the last list
    /// served to them and was not rewarded since. Returns whether it counted.
    pub fn reward(&self, user: &str, item: ItemIdx) -> bool {
        let mut state = self.lock();
        let Some((round, pending)) = state.pending.get_mut(user) else {
            return false;
        };
        let round = *round;
        let Some(at) = pending.iter().position(|&i| i == item) else {
            return false;
        };
        pending.swap_remove(at);
        state.arms.entry(item).or_default().rewards += 1;
        if let Some(r) = round
            .checked_sub(state.first_round)
            .and_then(|i| state.rounds.get_mut(i as usize))
        {
            if let Some(position) = r.served.iter().position(|&c| r.candidates[c] == item) {
                r.rewarded[position] = true;
            }
        }
        true
    }

    /// Records the logged propensity of each served position of `round`.
    pub fn set_propensities(&self, round: u64, propensities: Vec<f64>) {
        let mut state = self.lock();
        let first = state.first_round;
        if let Some(r) = round
            .checked_sub(first)
            .and_then(|i| state.rounds.get_mut(i as usize))
        {
            r.propensities = Some(propensities);
        }
    }

    /// IPS and SNIPS (assay-bandit's IPW and SNIPW) of two candidate policies on the served
    /// rounds whose propensities are logged, one row per shown position: `model order` shows
    /// the model's own top `k` (probability 1 for its item at each position) and `uniform`
    /// a uniformly random arrangement of the candidates (1 / candidates for each item at each
    /// position). `None` before any round is logged.
    pub fn ope(&self) -> Option<OpeSummary> {
        let state = self.lock();
        let mut reward = Vec::new();
        let mut logged_p = Vec::new();
        let mut model_pi = Vec::new();
        let mut uniform_pi = Vec::new();
        let mut rounds = 0;
        for round in &state.rounds {
            let Some(propensities) = &round.propensities else {
                continue;
            };
            rounds += 1;
            for (position, (&c, &p)) in round.served.iter().zip(propensities).enumerate() {
                reward.push(if round.rewarded[position] { 1.0 } else { 0.0 });
                logged_p.push(p);
                model_pi.push(if c == position { 1.0 } else { 0.0 });
                uniform_pi.push(1.0 / round.candidates.len() as f64);
            }
        }
        drop(state);
        if reward.is_empty() {
            return None;
        }
        let logged = reward.iter().sum::<f64>() / reward.len() as f64;
        let candidates = [("model order", model_pi), ("uniform", uniform_pi)]
            .into_iter()
            .map(|(policy, pi)| estimate(policy, &reward, &logged_p, pi))
            .collect();
        Some(OpeSummary {
            rounds,
            positions: reward.len(),
            logged,
            candidates,
        })
    }
}

fn estimate(policy: &'static str, reward: &[f64], logged: &[f64], pi: Vec<f64>) -> PolicyEstimate {
    use assay_bandit::{round_rewards, EstimatorKind, RoundTerms};
    let iw: Vec<f64> = pi.iter().zip(logged).map(|(pi, p)| pi / p).collect();
    let mean_weight = iw.iter().sum::<f64>() / iw.len() as f64;
    let terms = RoundTerms {
        pi_factual: pi,
        iw,
        dm: Vec::new(),
        q_factual: Vec::new(),
    };
    let mean = |kind| {
        round_rewards(kind, reward, &terms)
            .ok()
            .map(|v| v.iter().sum::<f64>() / v.len() as f64)
            .filter(|v| v.is_finite())
    };
    PolicyEstimate {
        policy,
        ips: mean(EstimatorKind::Ipw).unwrap_or(0.0),
        snips: if mean_weight > 0.0 {
            mean(EstimatorKind::Snipw)
        } else {
            None
        },
        mean_weight,
    }
}

/// SplitMix64 of `a` and `b`: distinct, well-spread seeds per request.
fn mix(a: u64, b: u64) -> u64 {
    let mut z = a ^ b.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// One draw of the policy: the candidates of the `k` largest sampled rates, largest first
/// (ties by lower index).
pub fn draw_order(posteriors: &[(f64, f64)], k: usize, rng: &mut ChaCha8Rng) -> Vec<usize> {
    let draws: Vec<f64> = posteriors
        .iter()
        .map(|&(a, b)| Beta::new(a, b).map_or(0.0, |beta| beta.sample(rng)))
        .collect();
    let mut order: Vec<usize> = (0..posteriors.len()).collect();
    order.sort_by(|&x, &y| draws[y].total_cmp(&draws[x]).then(x.cmp(&y)));
    order.truncate(k);
    order
}

/// `P[position][candidate]`: the share of draws that put each candidate at each of the first
/// `k` positions, over `draws` fresh draws seeded by `seed` and, when given, the list that was
/// served (it is one draw of the same policy). Each position's shares sum to 1 when there are
/// at least `k` candidates.
pub fn propensities(
    posteriors: &[(f64, f64)],
    k: usize,
    draws: usize,
    seed: u64,
    served: Option<&[usize]>,
) -> Vec<Vec<f64>> {
    let k = k.min(posteriors.len());
    let mut counts = vec![vec![0u64; posteriors.len()]; k];
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut total = 0u64;
    for _ in 0..draws {
        for (position, c) in draw_order(posteriors, k, &mut rng).into_iter().enumerate() {
            counts[position][c] += 1;
        }
        total += 1;
    }
    if let Some(served) = served {
        for (position, &c) in served.iter().enumerate().take(k) {
            counts[position][c] += 1;
        }
        total += 1;
    }
    counts
        .into_iter()
        .map(|row| {
            row.into_iter()
                .map(|c| c as f64 / total.max(1) as f64)
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serving_and_rewards_move_the_posterior_as_counted_by_hand() {
        let bandit = Reranker::new(BanditConfig::default(), 3);
        let served = bandit.rerank("ann", &[7, 8, 9], 2);
        let shown: Vec<ItemIdx> = served.order.iter().map(|&c| [7, 8, 9][c]).collect();
        assert_eq!(shown.len(), 2);
        let left_out = [7, 8, 9].into_iter().find(|i| !shown.contains(i)).unwrap();
        // Served once, no reward: Beta(1, 1 + 1).
        assert_eq!(bandit.posterior(shown[0]), (1.0, 2.0));
        assert_eq!(bandit.posterior(left_out), (1.0, 1.0));
        // A click on a served item: Beta(1 + 1, 1 + 1 - 1).
        assert!(bandit.reward("ann", shown[0]));
        assert_eq!(bandit.posterior(shown[0]), (2.0, 1.0));
        // Once per serving; other users and unserved items do not count.
        assert!(!bandit.reward("ann", shown[0]));
        assert!(!bandit.reward("bob", shown[1]));
        assert!(!bandit.reward("ann", left_out));
        assert_eq!(bandit.posterior(shown[0]), (2.0, 1.0));
        assert_eq!(bandit.posterior(shown[1]), (1.0, 2.0));
        assert_eq!(bandit.posterior(left_out), (1.0, 1.0));
    }

    #[test]
    fn two_items_follow_the_exact_beta_order_probability() {
        // Item 0 ~ Beta(2, 1) (density 2x), item 1 ~ Beta(1, 1): P(x0 > x1) = E[x0] = 2/3.
        let p = propensities(&[(2.0, 1.0), (1.0, 1.0)], 2, 20_000, 11, None);
        // Standard error sqrt(2/9 / 20000) = 0.0033; four of them.
        assert!((p[0][0] - 2.0 / 3.0).abs() < 0.014, "{p:?}");
        assert!((p[1][1] - 2.0 / 3.0).abs() < 0.014, "{p:?}");
        assert!((p[0][1] - 1.0 / 3.0).abs() < 0.014, "{p:?}");
    }

    #[test]
    fn propensities_sum_to_at_most_one_per_position_and_match_served_frequencies() {
        let posteriors = [(3.0, 1.0), (1.0, 1.0), (1.0, 3.0), (2.0, 2.0), (5.0, 9.0)];
        let k = 3;
        let p = propensities(&posteriors, k, 4000, 5, Some(&[0, 1, 2]));
        for row in &p {
            let sum: f64 = row.iter().sum();
            assert!(sum <= 1.0 + 1e-12, "{sum}");
            assert!(
                (sum - 1.0).abs() < 1e-9,
                "5 candidates fill every position: {sum}"
            );
        }
        // The lists a re-ranker actually serves, counted: the same shares within 4 standard
        // errors (at most sqrt(0.25 / 4000) = 0.0079 for the served count, 0.0079 for the
        // estimate).
        let mut rng = ChaCha8Rng::seed_from_u64(99);
        let mut counts = vec![vec![0u32; posteriors.len()]; k];
        let n = 4000;
        for _ in 0..n {
            for (position, c) in draw_order(&posteriors, k, &mut rng).into_iter().enumerate() {
                counts[position][c] += 1;
            }
        }
        for position in 0..k {
            for c in 0..posteriors.len() {
                let seen = f64::from(counts[position][c]) / f64::from(n);
                assert!(
                    (seen - p[position][c]).abs() < 0.045,
                    "position {position} candidate {c}: served {seen}, estimated {}",
                    p[position][c]
                );
            }
        }
    }

    #[test]
    fn ips_and_snips_of_the_model_order_and_of_uniform_match_a_hand_count() {
        let bandit = Reranker::new(BanditConfig::default(), 8);
        // Three users, two candidates (model order 1 then 2), one shown each, logged
        // propensity 0.5 each; users a and b click what they were shown, c does not.
        let mut shown = Vec::new();
        for user in ["a", "b", "c"] {
            let r = bandit.rerank(user, &[1, 2], 1);
            bandit.set_propensities(r.round, vec![0.5]);
            shown.push([1, 2][r.order[0]]);
        }
        assert!(bandit.reward("a", shown[0]));
        assert!(bandit.reward("b", shown[1]));
        let ope = bandit.ope().expect("three rounds");
        assert_eq!((ope.rounds, ope.positions), (3, 3));
        assert!((ope.logged - 2.0 / 3.0).abs() < 1e-12);
        // Model order: weight 1 / 0.5 = 2 where item 1 was shown, else 0.
        let w: Vec<f64> = shown
            .iter()
            .map(|&i| if i == 1 { 2.0 } else { 0.0 })
            .collect();
        let r = [1.0, 1.0, 0.0];
        let ips = (w[0] * r[0] + w[1] * r[1] + w[2] * r[2]) / 3.0;
        let model = &ope.candidates[0];
        assert_eq!(model.policy, "model order");
        assert!((model.ips - ips).abs() < 1e-12, "{model:?} {shown:?}");
        let weight: f64 = w.iter().sum();
        match model.snips {
            Some(snips) => assert!((snips - 3.0 * ips / weight).abs() < 1e-12),
            None => assert_eq!(weight, 0.0),
        }
        // Uniform over two candidates: weight (1/2) / 0.5 = 1 everywhere, so both estimates
        // are the logged mean.
        let uniform = &ope.candidates[1];
        assert!((uniform.ips - 2.0 / 3.0).abs() < 1e-12);
        assert!((uniform.snips.expect("weights") - 2.0 / 3.0).abs() < 1e-12);
        assert!((uniform.mean_weight - 1.0).abs() < 1e-12);
    }

    #[test]
    fn a_request_is_reproducible_from_the_seed() {
        let a = Reranker::new(BanditConfig::default(), 42);
        let b = Reranker::new(BanditConfig::default(), 42);
        let candidates: Vec<ItemIdx> = (0..30).collect();
        for _ in 0..5 {
            assert_eq!(
                a.rerank("u", &candidates, 10),
                b.rerank("u", &candidates, 10)
            );
        }
        assert_eq!(BanditConfig::default().pool(10), 15);
        assert_eq!(BanditConfig::default().pool(1), 2);
    }
}
