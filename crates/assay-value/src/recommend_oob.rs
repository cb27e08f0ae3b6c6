//! Data-OOB for recommender data (after Kwon & Zou 2023): how well models that never saw a
//! piece of data predict it.
//!
//! Each of `n_bags` bags keeps a seeded random `in_bag_fraction` of the players (without
//! replacement: the models read a binary user-item matrix, so a bootstrap's repeats would
//! change nothing but the bag size) and fits a model on the in-bag players' rows plus the
//! rows of no player. Every out-of-bag player is scored on each of its (user, item) rows by
//! the *percentile rank* of the item among the user's candidate items under the bag's
//! model: the share of candidates that score strictly lower, ties counting one half (1 = the
//! top item, 0.5 = chance). A player's value is the mean over its out-of-bag bags of its
//! rows' mean percentile.
//!
//! Out-of-place data (a random item in a user's history, a bot's clicks) is ranked low by
//! models that did not see it, so it gets a low value. This is a *typicality* score, not a
//! marginal contribution to a utility: it needs no validation set and costs `n_bags` fits
//! whatever the number of players, which is what makes it usable for 100,000 interactions.
//!
//! Two shapes of players:
//! - [`interaction_oob`]: one player per training row; the user's history is their in-bag
//!   rows, so any model of [`ModelSpec`] works through [`Recommender::score_user`];
//! - [`user_oob`]: one player per user; an out-of-bag user has no row in the bag's model, so
//!   their history is scored with an item-item model ([`ItemItem`]: EASE's `x_h B` or
//!   ItemKNN's summed similarities; both ignore an item's own indicator, so each of the
//!   user's items is scored from their *other* items only).
//!
//! [`Recommender::score_user`]: assay_recommend::Recommender::score_user

use assay_core::{Dataset, Interactions, ItemIdx, UserIdx};
use assay_metrics::{AudienceUser, Metric};
use assay_recommend::{ModelSpec, Recommender};
use rand::seq::SliceRandom;
use rayon::prelude::*;

use crate::recommend::Player;
use crate::values::Welford;
use crate::{FirstFailure, PlayerValue, Result, Utility, ValueError, Values};

/// A fitted item-item model, which can score any history, including one it was not fitted
/// on: the score of item `j` is the sum over the history's items `i` of a weight `w(i, j)`,
/// with `w(i, i) = 0` (a model whose [`Capabilities::scores_any_history`] is set, such as
/// EASE's `B` or ItemKNN's similarities).
///
/// [`Capabilities::scores_any_history`]: assay_recommend::Capabilities::scores_any_history
pub struct ItemItem(Box<dyn Recommender>);

impl ItemItem {
    /// Whether `spec` is an item-item model ([`ItemItem::fit`] accepts it).
    pub fn supports(spec: &ModelSpec) -> bool {
        spec.capabilities().scores_any_history
    }

    /// Fits `spec` on `train`; a model that cannot score other histories is a parameter error.
    pub fn fit(spec: &ModelSpec, train: &Interactions, data: &Dataset) -> Result<ItemItem> {
        if !ItemItem::supports(spec) {
            return crate::error::param(
                "model",
                spec,
                "must be an item-item model (ease or itemknn) to score histories it was not fitted on",
            );
        }
        Ok(ItemItem(spec.fit(train, data, None, &|_, _| {})?))
    }

    /// Writes the score of every item for `history` into `scores` (one per item).
    pub fn score_history(&self, history: &[ItemIdx], scores: &mut [f32]) {
        // `fit` admits only models that score any history, so this cannot fail.
        let scored = self.0.score_history(history, scores);
        debug_assert!(scored.is_ok(), "{scored:?}");
    }
}

/// Parameters of the recommender Data-OOB.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RecOobConfig {
    /// Number of bags (model fits).
    pub n_bags: usize,
    /// Share of the players in each bag, in (0, 1).
    pub in_bag_fraction: f64,
    /// Seed: bag `b` draws from ChaCha8 stream `b`.
    pub seed: u64,
}

impl RecOobConfig {
    fn check(&self, n_players: usize) -> Result<()> {
        if n_players < 2 {
            return Err(ValueError::Empty(
                "Data-OOB needs at least two players".into(),
            ));
        }
        if self.n_bags == 0 {
            return crate::error::param("n_bags", self.n_bags, "must be at least 1");
        }
        if !(self.in_bag_fraction > 0.0 && self.in_bag_fraction < 1.0) {
            return crate::error::param(
                "in_bag_fraction",
                self.in_bag_fraction,
                "must be in (0, 1)",
            );
        }
        Ok(())
    }

    /// The in-bag flags of bag `b` over `n` players: exactly `round(fraction * n)` (at least
    /// 1, at most `n - 1`) players, drawn from stream `b`.
    fn bag(&self, b: u64, n: usize) -> Vec<bool> {
        let mut rng = crate::sampling::stream_rng(self.seed, b);
        let size = ((self.in_bag_fraction * n as f64).round() as usize).clamp(1, n - 1);
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut rng);
        let mut in_bag = vec![false; n];
        order[..size].iter().for_each(|&p| in_bag[p] = true);
        in_bag
    }
}

/// The percentile rank of `target` among the items that are neither `target` nor in
/// `history` (sorted): the share scoring strictly lower, ties counting one half. NaN when
/// there is no other candidate.
pub fn percentile_rank(scores: &[f32], target: ItemIdx, history: &[ItemIdx]) -> f64 {
    let s = scores[target as usize];
    let (mut below, mut ties, mut candidates) = (0.0, 0.0, 0.0);
    for (item, &score) in scores.iter().enumerate() {
        let item = item as ItemIdx;
        if item == target || history.binary_search(&item).is_ok() {
            continue;
        }
        candidates += 1.0;
        if score < s {
            below += 1.0;
        } else if score == s {
            ties += 1.0;
        }
    }
    if candidates == 0.0 {
        return f64::NAN;
    }
    (below + 0.5 * ties) / candidates
}

/// Values table from per-player running means.
fn table(
    method: &str,
    utility: String,
    names: Vec<String>,
    stats: &[Welford],
    bags: usize,
) -> Values {
    Values {
        method: method.into(),
        utility,
        players: stats
            .iter()
            .zip(names)
            .enumerate()
            .map(|(player, (w, name))| PlayerValue {
                player,
                name,
                // No out-of-bag score means no evidence either way: chance.
                value: if w.count > 0 { w.mean } else { 0.5 },
                std_error: w.std_error(),
                n_evals: w.count,
                converged: w.count > 0,
            })
            .collect(),
        utility_evals: bags as u64,
        sum_std_error: f64::NAN,
    }
}

/// Data-OOB with one player per row of `rows` (event rows of `data`, best as distinct
/// (user, item) pairs: a row whose item is in the user's in-bag history is not scored in
/// that bag). Rows in `base_rows` are in every bag and are not valued. Player `k` is
/// `rows[k]`, named `row=R`. A row that was never scored (in every bag, or its item always in
/// the user's in-bag history) gets the chance value 0.5, `n_evals` 0 and `converged = false`.
pub fn interaction_oob(
    data: &Dataset,
    base_rows: &[u32],
    rows: &[u32],
    model: &ModelSpec,
    config: &RecOobConfig,
) -> Result<Values> {
    config.check(rows.len())?;
    let n = rows.len();
    let per_bag: Vec<Vec<(usize, f64)>> = (0..config.n_bags as u64)
        .into_par_iter()
        .map(|b| -> Result<Vec<(usize, f64)>> {
            let in_bag = config.bag(b, n);
            let mut train: Vec<u32> = base_rows.to_vec();
            train.extend(rows.iter().zip(&in_bag).filter(|p| *p.1).map(|p| *p.0));
            let matrix = Interactions::from_events(data, &train);
            let fitted = model.fit(&matrix, data, None, &|_, _| {})?;
            // Out-of-bag rows grouped by user, so each user is scored once per bag.
            let mut out: Vec<(UserIdx, usize)> = (0..n)
                .filter(|&p| !in_bag[p])
                .map(|p| (data.events.user[rows[p] as usize], p))
                .collect();
            out.sort_unstable();
            let mut scores = vec![0.0f32; matrix.n_items()];
            let mut results = Vec::with_capacity(out.len());
            for group in out.chunk_by(|a, b| a.0 == b.0) {
                let user = group[0].0;
                fitted.score_user(user, &mut scores);
                let history = matrix.items_of(user);
                for &(_, p) in group {
                    let item = data.events.item[rows[p] as usize];
                    if history.binary_search(&item).is_ok() {
                        continue;
                    }
                    let rank = percentile_rank(&scores, item, history);
                    if rank.is_finite() {
                        results.push((p, rank));
                    }
                }
            }
            Ok(results)
        })
        .collect::<Result<_>>()?;
    let mut stats = vec![Welford::default(); n];
    for bag in per_bag {
        for (p, rank) in bag {
            stats[p].add(rank);
        }
    }
    let names = rows.iter().map(|r| format!("row={r}")).collect();
    Ok(table(
        "data-oob",
        format!("out-of-bag percentile rank under {model}"),
        names,
        &stats,
        config.n_bags,
    ))
}

/// Data-OOB with one player per user: the players must each own exactly one user (as
/// [`crate::recommend::players::by_user`] builds them). Rows in `base_rows` that belong to no
/// player are in every bag. An out-of-bag user's value in a bag is the mean, over their
/// distinct items, of the item's percentile rank when scored by the bag's item-item model
/// (`model`: EASE or ItemKNN, see [`ItemItem`]) from the user's other items. A user with
/// fewer than two distinct items, or never out of bag, gets the chance value 0.5, `n_evals` 0
/// and `converged = false`.
pub fn user_oob(
    data: &Dataset,
    base_rows: &[u32],
    players: &[Player],
    model: &ModelSpec,
    config: &RecOobConfig,
) -> Result<Values> {
    if !ItemItem::supports(model) {
        return crate::error::param("model", model, "must be ease or itemknn");
    }
    config.check(players.len())?;
    if let Some(p) = players.iter().find(|p| p.users.len() != 1) {
        return Err(ValueError::Empty(format!(
            "user Data-OOB needs one user per player; {} has {}",
            p.name,
            p.users.len()
        )));
    }
    let n = players.len();
    // Each player's distinct items, sorted.
    let items: Vec<Vec<ItemIdx>> = players
        .iter()
        .map(|p| {
            let mut items: Vec<ItemIdx> = p
                .rows
                .iter()
                .map(|&r| data.events.item[r as usize])
                .collect();
            items.sort_unstable();
            items.dedup();
            items
        })
        .collect();
    let per_bag: Vec<Vec<(usize, f64)>> = (0..config.n_bags as u64)
        .into_par_iter()
        .map(|b| -> Result<Vec<(usize, f64)>> {
            let in_bag = config.bag(b, n);
            let mut train: Vec<u32> = base_rows.to_vec();
            for (p, player) in players.iter().enumerate() {
                if in_bag[p] {
                    train.extend_from_slice(&player.rows);
                }
            }
            let matrix = Interactions::from_events(data, &train);
            let fitted = ItemItem::fit(model, &matrix, data)?;
            let n_items = matrix.n_items();
            let mut scores = vec![0.0f32; n_items];
            let mut results = Vec::new();
            for (p, history) in items.iter().enumerate() {
                if in_bag[p] || history.len() < 2 {
                    continue;
                }
                fitted.score_history(history, &mut scores);
                // w(i, i) = 0: item i's score comes from the user's other items.
                let total: f64 = history
                    .iter()
                    .map(|&i| percentile_rank(&scores, i, history))
                    .filter(|r| r.is_finite())
                    .sum();
                results.push((p, total / history.len() as f64));
            }
            Ok(results)
        })
        .collect::<Result<_>>()?;
    let mut stats = vec![Welford::default(); n];
    for bag in per_bag {
        for (p, value) in bag {
            stats[p].add(value);
        }
    }
    let names = players.iter().map(|p| p.name.clone()).collect();
    Ok(table(
        "data-oob",
        format!("out-of-bag percentile rank of own items under {model}"),
        names,
        &stats,
        config.n_bags,
    ))
}

/// `U(S)` = mean `metric@k`, over a fixed audience, of an item-item model ([`ItemItem`]:
/// EASE or ItemKNN) fitted on the rows of the players in `S` **alone**; each audience user is
/// scored from their own training history, which the model is never fitted on.
///
/// This is the cross-fitted "value to others" of user data: value one group of users with the
/// other group as the audience (and the other way round), and a user's data can only count
/// through the recommendations it gives *other* people. A click farm cannot vouch for itself,
/// and its co-clicks lower the audience's quality, so its members get low values without any
/// bot labels.
pub struct HistoryUtility<'a> {
    data: &'a Dataset,
    model: ModelSpec,
    metric: Metric,
    k: usize,
    players: Vec<Player>,
    /// Users with relevant validation items, their training history excluded.
    audience: Vec<AudienceUser>,
    /// The first failed fit of an evaluation.
    failure: FirstFailure,
}

impl<'a> HistoryUtility<'a> {
    /// A utility over `players` (rows among `train_rows`) whose audience is every user for
    /// whom `keep` holds with validation items (`valid_rows`) outside their training
    /// history; `model` must be EASE or ItemKNN.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        data: &'a Dataset,
        train_rows: &[u32],
        valid_rows: &[u32],
        players: Vec<Player>,
        model: ModelSpec,
        metric: Metric,
        k: usize,
        keep: impl Fn(UserIdx) -> bool,
    ) -> Result<HistoryUtility<'a>> {
        if !ItemItem::supports(&model) {
            return crate::error::param("model", model, "must be ease or itemknn");
        }
        if k == 0 {
            return crate::error::param("k", k, "must be at least 1");
        }
        model.check()?;
        crate::recommend::check_memory(&model, data)?;
        // Every audience user is scored from a non-empty history.
        let mut audience = crate::recommend::audience_of(data, train_rows, valid_rows, keep);
        audience.retain(|user| !user.exclude.is_empty());
        if audience.is_empty() {
            return Err(ValueError::Empty(
                "no audience user has both training and validation items".into(),
            ));
        }
        Ok(HistoryUtility {
            data,
            model,
            metric,
            k,
            players,
            audience,
            failure: FirstFailure::default(),
        })
    }

    /// The number of audience users.
    pub fn audience_len(&self) -> usize {
        self.audience.len()
    }
}

impl Utility for HistoryUtility<'_> {
    fn name(&self) -> String {
        format!(
            "{} {}@{} [fitted on the players only, scored on a held-out audience]",
            self.model,
            self.metric.name(),
            self.k
        )
    }

    fn n_players(&self) -> usize {
        self.players.len()
    }

    fn player_name(&self, player: usize) -> String {
        self.players[player].name.clone()
    }

    fn eval(&self, subset: &[usize]) -> f64 {
        let rows: Vec<u32> = subset
            .iter()
            .flat_map(|&p| self.players[p].rows.iter().copied())
            .collect();
        // No data, no model: it recommends nothing (an all-zero model would still rank
        // items by index).
        if rows.is_empty() {
            return 0.0;
        }
        let matrix = Interactions::from_events(self.data, &rows);
        let model = match ItemItem::fit(&self.model, &matrix, self.data) {
            Ok(model) => model,
            Err(error) => {
                self.failure.record(error);
                return f64::NAN;
            }
        };
        let n_items = matrix.n_items();
        assay_metrics::score_mean(
            &self.audience,
            self.metric,
            self.k,
            || vec![0.0f32; n_items],
            |scores, user, k| {
                model.score_history(&user.exclude, scores);
                assay_recommend::mask(scores, &user.exclude);
                assay_recommend::top_k_of(scores, k)
                    .into_iter()
                    .map(|(item, _)| item)
                    .collect()
            },
        )
    }

    fn take_failure(&self) -> Option<ValueError> {
        self.failure.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_rank_by_hand() {
        // Items 0..5, history {1}; target 2 scores 0.5. Candidates 0, 3, 4 score 0.1, 0.5,
        // 0.9: one below, one tie -> (1 + 0.5) / 3.
        let scores = [0.1, 9.0, 0.5, 0.5, 0.9];
        assert!((percentile_rank(&scores, 2, &[1]) - 0.5).abs() < 1e-12);
        // Target 4 beats all three other candidates.
        assert_eq!(percentile_rank(&scores, 4, &[1]), 1.0);
        // No other candidate.
        assert!(percentile_rank(&[1.0, 2.0], 0, &[1]).is_nan());
    }

    #[test]
    fn bags_have_the_asked_size_and_differ() {
        let config = RecOobConfig {
            n_bags: 2,
            in_bag_fraction: 0.8,
            seed: 3,
        };
        let a = config.bag(0, 10);
        let b = config.bag(1, 10);
        assert_eq!(a.iter().filter(|&&x| x).count(), 8);
        assert_eq!(b.iter().filter(|&&x| x).count(), 8);
        assert_ne!(a, b);
        assert_eq!(a, config.bag(0, 10));
    }
}
