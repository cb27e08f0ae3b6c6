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
//!
//! **A/B test.** With [`BanditConfig::control_share`] above 0, that share of users (chosen by a
//! seeded hash of their id, so a user stays in one group) is the control group: served the
//! model's ranking unchanged, with propensity 1, and left out of the posteriors. The unit is
//! the user and the metric each user's share of served lists that got a click or a purchase;
//! [`Reranker::ab`] compares the groups with Welch's t-test (assay-experiment's).

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
    /// Share of users in an A/B test's control group, served the model's ranking unchanged;
    /// 0 runs no test.
    pub control_share: f64,
}

impl Default for BanditConfig {
    fn default() -> BanditConfig {
        BanditConfig {
            extra: 0.5,
            prior: (1.0, 1.0),
            draws: 1000,
            control_share: 0.0,
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

/// Users whose A/B tallies are kept; later users are served but not counted (see
/// [`AbSummary::untallied_lists`]).
const MAX_TALLIED_USERS: usize = 200_000;

/// The last list served to a user, while its rewards can still come back.
#[derive(Debug)]
struct Pending {
    /// The re-ranker's round; `None` for a control-group list.
    round: Option<u64>,
    /// Its items not rewarded yet.
    items: Vec<ItemIdx>,
    /// Whether any of its items was rewarded.
    rewarded: bool,
}

/// One user's lists in the A/B test.
#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    control: bool,
    lists: u64,
    rewarded: u64,
}

#[derive(Debug, Default)]
struct State {
    arms: HashMap<ItemIdx, Arm>,
    /// Per user: the last list served to them.
    pending: HashMap<String, Pending>,
    /// Per user in the A/B test: lists served and lists rewarded.
    tallies: HashMap<String, Tally>,
    untallied: u64,
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
        let round = state.first_round + state.rounds.len() as u64;
        self.remember(&mut state, user, Some(round), served);
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

    /// Whether `user` is in the A/B test's control group: a seeded hash of the id, below
    /// [`BanditConfig::control_share`].
    pub fn in_control(&self, user: &str) -> bool {
        if self.config.control_share <= 0.0 {
            return false;
        }
        let mut hash = mix(self.seed, 0x0ab0_0ab0);
        for chunk in user.as_bytes().chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            hash = mix(hash, u64::from_le_bytes(word));
        }
        // The top 53 bits as a uniform number in [0, 1).
        ((hash >> 11) as f64) / ((1u64 << 53) as f64) < self.config.control_share
    }

    /// Records a control-group list of `user`: the model's ranking, served unchanged.
    pub fn serve_control(&self, user: &str, served: Vec<ItemIdx>) {
        let mut state = self.lock();
        self.remember(&mut state, user, None, served);
    }

    /// Keeps `served` as `user`'s last list and counts it in their A/B tally.
    fn remember(&self, state: &mut State, user: &str, round: Option<u64>, served: Vec<ItemIdx>) {
        if state.pending.len() >= MAX_PENDING_USERS && !state.pending.contains_key(user) {
            state.pending.clear();
        }
        state.pending.insert(
            user.to_owned(),
            Pending {
                round,
                items: served,
                rewarded: false,
            },
        );
        if self.config.control_share <= 0.0 {
            return;
        }
        let known = state.tallies.contains_key(user);
        if !known && state.tallies.len() >= MAX_TALLIED_USERS {
            state.untallied += 1;
            return;
        }
        let tally = state.tallies.entry(user.to_owned()).or_default();
        tally.control = round.is_none();
        tally.lists += 1;
    }

    /// A click or purchase of `item` by `user`: a reward when the item is in the last list
    /// served to them and was not rewarded since. Returns whether it counted.
    pub fn reward(&self, user: &str, item: ItemIdx) -> bool {
        let mut guard = self.lock();
        let state = &mut *guard;
        let Some(pending) = state.pending.get_mut(user) else {
            return false;
        };
        let Some(at) = pending.items.iter().position(|&i| i == item) else {
            return false;
        };
        pending.items.swap_remove(at);
        if !pending.rewarded {
            pending.rewarded = true;
            if let Some(tally) = state.tallies.get_mut(user) {
                tally.rewarded += 1;
            }
        }
        let Some(round) = pending.round else {
            // A control-group list: the model's order, outside the posteriors.
            return true;
        };
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

/// One group of the A/B test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AbGroup {
    /// Users served at least one list.
    pub users: usize,
    /// Lists served.
    pub lists: u64,
    /// Lists with a click or purchase.
    pub rewarded_lists: u64,
    /// Mean over users of their share of rewarded lists.
    pub mean: f64,
}

/// The A/B test of the re-ranker against the model's own order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AbSummary {
    /// Share of users in the control group.
    pub control_share: f64,
    /// The randomized unit and the metric.
    pub metric: &'static str,
    /// Served the model's ranking unchanged.
    pub control: AbGroup,
    /// Served the Thompson-sampling re-ranker.
    pub treatment: AbGroup,
    /// Welch's t-test of treatment minus control at the 5% level; `None` until each group has
    /// two users and some spread.
    pub test: Option<assay_experiment::ab::TestResult>,
    /// Lists served to users beyond the tally's capacity, not counted.
    pub untallied_lists: u64,
}

impl Reranker {
    /// The A/B test so far; `None` when no test runs (`control_share` 0).
    pub fn ab(&self) -> Option<AbSummary> {
        if self.config.control_share <= 0.0 {
            return None;
        }
        let state = self.lock();
        // Users in id order, so that the sums are the same whatever the map's order.
        let mut users: Vec<(&String, &Tally)> = state.tallies.iter().collect();
        users.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let (mut control, mut treatment) = (Vec::new(), Vec::new());
        let mut groups = [(0u64, 0u64), (0u64, 0u64)];
        for (_, tally) in users {
            let share = tally.rewarded as f64 / tally.lists as f64;
            let g = usize::from(!tally.control);
            groups[g].0 += tally.lists;
            groups[g].1 += tally.rewarded;
            if tally.control {
                control.push(share);
            } else {
                treatment.push(share);
            }
        }
        let untallied_lists = state.untallied;
        drop(state);
        let group = |values: &[f64], (lists, rewarded_lists): (u64, u64)| AbGroup {
            users: values.len(),
            lists,
            rewarded_lists,
            mean: if values.is_empty() {
                0.0
            } else {
                values.iter().sum::<f64>() / values.len() as f64
            },
        };
        let test = (control.len() >= 2 && treatment.len() >= 2)
            .then(|| assay_experiment::ab::welch_t_test(&control, &treatment, 0.05))
            .filter(|t| t.std_error > 0.0 && t.p_value.is_finite());
        Some(AbSummary {
            control_share: self.config.control_share,
            metric: "per user: the share of served lists with a click or purchase",
            control: group(&control, groups[0]),
            treatment: group(&treatment, groups[1]),
            test,
            untallied_lists,
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
    fn the_control_group_is_a_stable_seeded_share_of_users() {
        let config = BanditConfig {
            control_share: 0.3,
            ..BanditConfig::default()
        };
        let bandit = Reranker::new(config, 5);
        let users: Vec<String> = (0..20_000).map(|i| format!("user-{i}")).collect();
        let control: Vec<bool> = users.iter().map(|u| bandit.in_control(u)).collect();
        let share = control.iter().filter(|&&c| c).count() as f64 / users.len() as f64;
        // Binomial(20000, 0.3): standard deviation 0.0032 of the share; 5 sigma.
        assert!((share - 0.3).abs() < 0.016, "{share}");
        // The same user, the same group; another seed, another split.
        assert!(users
            .iter()
            .zip(&control)
            .all(|(u, &c)| bandit.in_control(u) == c));
        let other = Reranker::new(config, 6);
        assert!(users
            .iter()
            .zip(&control)
            .any(|(u, &c)| other.in_control(u) != c));
        // Without a test nobody is in control, and there is no summary.
        let plain = Reranker::new(BanditConfig::default(), 5);
        assert!(users.iter().all(|u| !plain.in_control(u)));
        assert!(plain.ab().is_none());
    }

    #[test]
    fn the_ab_summary_counts_lists_and_rewards_per_user_as_by_hand() {
        let config = BanditConfig {
            control_share: 0.5,
            ..BanditConfig::default()
        };
        let bandit = Reranker::new(config, 9);
        let mut control = Vec::new();
        let mut treatment = Vec::new();
        for i in 0.. {
            let user = format!("u{i}");
            if bandit.in_control(&user) {
                control.push(user);
            } else {
                treatment.push(user);
            }
            if control.len() >= 2 && treatment.len() >= 2 {
                break;
            }
        }
        // Control: c0 two lists, one rewarded; c1 one list, none rewarded. Means 1/2 and 0.
        bandit.serve_control(&control[0], vec![1, 2]);
        assert!(bandit.reward(&control[0], 2));
        // A second item of the same list: a reward of that item, but the list counts once.
        assert!(bandit.reward(&control[0], 1));
        bandit.serve_control(&control[0], vec![1, 2]);
        bandit.serve_control(&control[1], vec![3, 4]);
        // A control reward leaves the posteriors alone.
        assert_eq!(bandit.posterior(2), (1.0, 1.0));
        // Treatment: t0 one list, rewarded; t1 two lists, both rewarded. Means 1 and 1.
        let first = |r: &Reranked, c: &[ItemIdx]| c[r.order[0]];
        let r = bandit.rerank(&treatment[0], &[5, 6, 7], 2);
        assert!(bandit.reward(&treatment[0], first(&r, &[5, 6, 7])));
        for _ in 0..2 {
            let r = bandit.rerank(&treatment[1], &[5, 6, 7], 2);
            assert!(bandit.reward(&treatment[1], first(&r, &[5, 6, 7])));
        }
        let ab = bandit.ab().unwrap();
        assert_eq!(
            (
                ab.control.users,
                ab.control.lists,
                ab.control.rewarded_lists
            ),
            (2, 3, 1)
        );
        assert_eq!(
            (
                ab.treatment.users,
                ab.treatment.lists,
                ab.treatment.rewarded_lists
            ),
            (2, 3, 3)
        );
        assert_eq!(ab.control.mean, 0.25);
        assert_eq!(ab.treatment.mean, 1.0);
        // Welch's test of (1, 1) against (0.5, 0): difference 0.75, standard error
        // sqrt(0.125 / 2 + 0 / 2) = 0.25, t = 3 with 1 degree of freedom.
        let test = ab.test.unwrap();
        assert!((test.difference - 0.75).abs() < 1e-12);
        assert!((test.std_error - 0.25).abs() < 1e-12);
        assert!((test.statistic - 3.0).abs() < 1e-12);
        assert!((test.df.unwrap() - 1.0).abs() < 1e-9);
        // Two-sided p of t = 3 on 1 df: 1 - 2 atan(3) / pi = 0.204833.
        assert!((test.p_value - 0.204_833).abs() < 1e-5, "{}", test.p_value);
    }

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
