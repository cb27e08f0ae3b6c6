//! Business utilities: `U(S)` = the click-through rate (or revenue per impression) that the
//! policy induced by a model fitted on the players in `S` would get, estimated off-policy
//! on held-out logged impressions.
//!
//! **The induced policy.** For a user `u`, the model's top-`k` list `L_u` (the user's own
//! training items left out, as in ranking) defines the epsilon-greedy policy
//! `π(i | u) = (1 − ε)·1[i ∈ L_u]/k + ε/n_items`: with probability `1 − ε` show one of the
//! model's `k` best items, else a uniform item. The `ε` part is what gives the policy support
//! on every item the logging policy showed; without it, importance weights of items outside
//! the list are 0 and the estimate would rest on the few impressions that hit a list. The
//! policy is the same at every slot, so it is compared with the logging policy slot by slot
//! at the logged positions (whose examination probability both share).
//!
//! **The estimator: self-normalised IPS** (assay-bandit's `snipw`, [`EstimatorKind::Snipw`]):
//! `V̂ = Σ_r w_r y_r / Σ_r w_r`, `w_r = π(a_r | u_r) / p_r` with `p_r` the logged propensity of
//! impression `r` and `y_r` its reward (1 for a click on it, or the revenue of purchases of
//! that item in that session). Why not DR: its direct-method term needs a reward model's
//! prediction for every one of the `n_items` actions in every round and an item-feature
//! model fitted on the logs, which would dominate every utility evaluation and add a model
//! whose errors are not the recommender's; SNIPS needs only `π` at the logged item, is bounded
//! by the largest reward, and is far less variable than plain IPS when the weights are large
//! (its bias is `O(1/n)`). Self-normalisation also handles the logging policy choosing from a
//! retrieved candidate set: the estimate is the reward of `π` restricted to items the logging
//! policy could show. Plain IPS ([`EstimatorKind::Ipw`]) is available for comparison.

use std::collections::HashMap;

use assay_bandit::{round_rewards, EstimatorKind, RoundTerms};
use assay_core::{Dataset, EventKind, ItemIdx, UserIdx, NO_SESSION};
use assay_recommend::ModelSpec;
use rayon::prelude::*;

use crate::recommend::Player;
use crate::{FirstFailure, Result, Utility, ValueError};

/// What the business utility measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BusinessMetric {
    /// Clicks per impression.
    Ctr,
    /// Revenue (purchase values) per impression.
    Gmv,
}

impl BusinessMetric {
    /// `ctr` or `gmv`.
    pub fn name(&self) -> &'static str {
        match self {
            BusinessMetric::Ctr => "ctr",
            BusinessMetric::Gmv => "gmv",
        }
    }
}

/// Settings of an [`OpeUtility`].
#[derive(Debug, Clone, PartialEq)]
pub struct OpeUtilityConfig {
    /// The model, refitted for every subset.
    pub model: ModelSpec,
    /// Clicks or revenue.
    pub metric: BusinessMetric,
    /// Length `k` of the model's list.
    pub k: usize,
    /// Exploration share `ε` in `(0, 1]`.
    pub epsilon: f64,
    /// [`EstimatorKind::Snipw`] (the default to use) or [`EstimatorKind::Ipw`].
    pub estimator: EstimatorKind,
}

/// One logged impression.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Round {
    user: UserIdx,
    item: ItemIdx,
    propensity: f64,
    reward: f64,
}

/// `U(S)` = the off-policy estimate of the business metric of the policy induced by the
/// model fitted on the base rows plus the rows of the players in `S`.
pub struct OpeUtility<'a> {
    data: &'a Dataset,
    config: OpeUtilityConfig,
    players: Vec<Player>,
    base_rows: Vec<u32>,
    rounds: Vec<Round>,
    /// Distinct users of the rounds, ascending.
    users: Vec<UserIdx>,
    /// The first failed fit of an evaluation.
    failure: FirstFailure,
}

impl<'a> OpeUtility<'a> {
    /// A utility over `players` (rows among `train_rows`; training rows in no player are
    /// always used), evaluated on the impressions among `logged_rows` and the clicks and
    /// purchases there that follow them (same user, item and session; without a session,
    /// same user, item and timestamp).
    ///
    /// Errors: a bad `k` or `ε`, model parameters out of range, an estimator other than SNIPW
    /// or IPW, no impression, an impression without a propensity in `(0, 1]`.
    pub fn new(
        data: &'a Dataset,
        train_rows: &[u32],
        logged_rows: &[u32],
        players: Vec<Player>,
        config: OpeUtilityConfig,
    ) -> Result<OpeUtility<'a>> {
        if config.k == 0 {
            return crate::error::param("k", config.k, "must be at least 1");
        }
        if !(config.epsilon > 0.0 && config.epsilon <= 1.0) {
            return crate::error::param("epsilon", config.epsilon, "must be in (0, 1]");
        }
        config.model.check()?;
        crate::recommend::check_memory(&config.model, data)?;
        if !matches!(config.estimator, EstimatorKind::Snipw | EstimatorKind::Ipw) {
            return crate::error::param(
                "estimator",
                config.estimator.name(),
                "must be snipw or ipw (the others need a reward model)",
            );
        }
        let events = &data.events;
        let n_events = events.len();
        let mut owned = vec![false; n_events];
        for player in &players {
            for &row in &player.rows {
                if row as usize >= n_events {
                    return crate::error::param("player row", row, "must index an event");
                }
                owned[row as usize] = true;
            }
        }
        let base_rows = train_rows
            .iter()
            .copied()
            .filter(|&r| (r as usize) < n_events && !owned[r as usize])
            .collect();
        let key = |e: usize| {
            let session = events.session[e];
            let time = if session == NO_SESSION {
                events.timestamp[e]
            } else {
                0
            };
            (session, events.user[e], events.item[e], time)
        };
        let mut rewards: HashMap<(u32, u32, u32, i64), f64> = HashMap::new();
        for &e in logged_rows {
            let e = e as usize;
            if e >= n_events {
                return crate::error::param("logged row", e, "must index an event");
            }
            let gain = match (config.metric, events.kind[e]) {
                (BusinessMetric::Ctr, EventKind::Click) => 1.0,
                (BusinessMetric::Gmv, EventKind::Purchase) => {
                    let value = events.value[e];
                    if value.is_finite() {
                        value
                    } else {
                        // A purchase without an amount counts the item's list price.
                        let price = data.items.price[events.item[e] as usize];
                        if price.is_finite() {
                            price
                        } else {
                            0.0
                        }
                    }
                }
                _ => continue,
            };
            let reward = rewards.entry(key(e)).or_insert(0.0);
            // Several clicks on one impression are one click.
            *reward = match config.metric {
                BusinessMetric::Ctr => 1.0,
                BusinessMetric::Gmv => *reward + gain,
            };
        }
        let mut rounds = Vec::new();
        for &e in logged_rows {
            let e = e as usize;
            if events.kind[e] != EventKind::Impression {
                continue;
            }
            let p = events.propensity[e];
            if !(p > 0.0 && p <= 1.0) {
                return crate::error::param(
                    "impression propensity",
                    format!("{p} (event row {e})"),
                    "must be in (0, 1]: missing or zero propensities cannot be reweighted",
                );
            }
            rounds.push(Round {
                user: events.user[e],
                item: events.item[e],
                propensity: p,
                reward: rewards.get(&key(e)).copied().unwrap_or(0.0),
            });
        }
        if rounds.is_empty() {
            return Err(ValueError::Empty(
                "no logged impression to evaluate the policy on".into(),
            ));
        }
        let mut users: Vec<UserIdx> = rounds.iter().map(|r| r.user).collect();
        users.sort_unstable();
        users.dedup();
        Ok(OpeUtility {
            data,
            config,
            players,
            base_rows,
            rounds,
            users,
            failure: FirstFailure::default(),
        })
    }

    /// Number of logged impressions.
    pub fn n_rounds(&self) -> usize {
        self.rounds.len()
    }

    /// The logging policy's own value: the mean reward per impression.
    pub fn logged_value(&self) -> f64 {
        self.rounds.iter().map(|r| r.reward).sum::<f64>() / self.rounds.len() as f64
    }

    /// The training rows of `subset`: base rows plus the players' rows.
    pub fn rows_of(&self, subset: &[usize]) -> Vec<u32> {
        crate::recommend::rows_of_subset(&self.base_rows, &self.players, subset)
    }

    /// The estimate for a model fitted on `rows`; rows with nothing to learn from give the
    /// uniform policy (`π = 1/n_items`, what `ε = 1` gives).
    ///
    /// # Errors
    /// A failed fit ([`crate::recommend::fit_on_rows`]).
    pub fn score_rows(&self, rows: &[u32]) -> Result<f64> {
        let n_items = self.data.items.len().max(1);
        let model = crate::recommend::fit_on_rows(self.data, &self.config.model, rows)?;
        let lists: HashMap<UserIdx, Vec<ItemIdx>> = match &model {
            Some(model) => self
                .users
                .par_iter()
                .map(|&u| {
                    let mut list: Vec<ItemIdx> = model
                        .top_k(u, self.config.k, &[])
                        .into_iter()
                        .map(|(item, _)| item)
                        .collect();
                    list.sort_unstable();
                    (u, list)
                })
                .collect(),
            None => HashMap::new(),
        };
        let (k, epsilon) = (self.config.k as f64, self.config.epsilon);
        let explore = epsilon / n_items as f64;
        let exploit = if model.is_some() {
            (1.0 - epsilon) / k
        } else {
            0.0
        };
        let uniform = if model.is_some() {
            explore
        } else {
            1.0 / n_items as f64
        };
        let pi_factual: Vec<f64> = self
            .rounds
            .iter()
            .map(|r| {
                let listed = lists
                    .get(&r.user)
                    .is_some_and(|l| l.binary_search(&r.item).is_ok());
                if listed {
                    exploit + explore
                } else {
                    uniform
                }
            })
            .collect();
        let iw = pi_factual
            .iter()
            .zip(&self.rounds)
            .map(|(p, r)| p / r.propensity)
            .collect();
        let terms = RoundTerms {
            pi_factual,
            iw,
            dm: Vec::new(),
            q_factual: Vec::new(),
        };
        let reward: Vec<f64> = self.rounds.iter().map(|r| r.reward).collect();
        Ok(
            match round_rewards(self.config.estimator, &reward, &terms) {
                Ok(values) => values.iter().sum::<f64>() / values.len() as f64,
                // Unreachable: SNIPW and IPW need no reward model (checked in `new`).
                Err(_) => f64::NAN,
            },
        )
    }
}

impl Utility for OpeUtility<'_> {
    fn name(&self) -> String {
        format!(
            "{} {}-ope ({}, top-{} epsilon-greedy, eps={})",
            self.config.model,
            self.config.metric.name(),
            self.config.estimator.name(),
            self.config.k,
            self.config.epsilon
        )
    }

    fn n_players(&self) -> usize {
        self.players.len()
    }

    fn player_name(&self, player: usize) -> String {
        self.players[player].name.clone()
    }

    fn eval(&self, subset: &[usize]) -> f64 {
        self.score_rows(&self.rows_of(subset))
            .unwrap_or_else(|error| {
                self.failure.record(error);
                f64::NAN
            })
    }

    fn take_failure(&self) -> Option<ValueError> {
        self.failure.take()
    }
}
