//! Users valued by their first-order influence on other people's recommendations under
//! ItemKNN: how much a user's rows move each scorer's list towards the scorer's held-out items
//! and away from the items that crowd its top.
//!
//! The players' rows are fitted once with ItemKNN, whose similarities
//! `S_ij = C_ij / (sqrt(n_i n_j) + shrink)` are sums over users (`C_ij` counts the users with
//! both items, `n_i` those with item `i`). Give user `u` a weight `w_u` (1 in the data); each
//! similarity is then a smooth function of `w_u`, and its derivative is exact:
//!
//! `dS_ij/dw_u = c_i c_j / D_ij - S_ij / D_ij * (c_i n_j + n_i c_j) / (2 sqrt(n_i n_j))`
//!
//! with `c` the indicator of `u`'s items and `D_ij` the denominator. The neighbour lists
//! (each target's `k` most similar items) are held fixed.
//!
//! A scorer `s` (a user outside the players, scored from their own training history, whose
//! items are left out of their list) wants its held-out items ranked high. Its direction `g_s`
//! raises the held-out items and lowers the top-`top` other items, each weighted by the DCG
//! discount `1 / log2(rank + 2)` of its rank and each side normalised to a total of 1: a
//! LambdaRank-style gradient of NDCG (Burges 2010), which, unlike NDCG itself, does not
//! saturate once an item is in or out of the top 10. The user's influence on the scorer is the
//! derivative of the scores along that direction, `phi_s(u) = sum_{i in h(s)} sum_j g_s[j]
//! dS_ij/dw_u`, and the user's value is its mean over the scorers, with the standard error
//! of that mean ("which scorers happened to be drawn").
//!
//! Why not a semivalue of NDCG@10: on a sparse shop a click farm's accounts are redundant: with
//! a dozen of them in every sampled coalition the promoted items are in the humans' top 10
//! anyway, so one more account changes NDCG@10 by nothing, and MSR Banzhaf found the bots
//! of the quickstart's shop with AUC 0.70-0.78 whatever its budget. The influence measures
//! the push each account adds, however many others push the same items (BENCHMARKS.md).
//! One fit per half, and one pass over each scorer's list: seconds where MSR Banzhaf took a
//! minute.

use assay_core::{Dataset, Interactions, ItemIdx, UserIdx};
use assay_recommend::{Fit, ItemKnnParams, Recommender};
use rayon::prelude::*;

use crate::recommend::Player;
use crate::{PlayerValue, Result, ValueError, Values};

/// Competitors of a scorer's held-out items that its direction lowers: the top 50 of its list.
pub const DEFAULT_TOP: usize = 50;

/// Scorers per unit of parallel work.
const SCORER_CHUNK: usize = 64;

/// How a scorer's direction is chosen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InfluenceConfig {
    /// The model (ItemKNN).
    pub knn: ItemKnnParams,
    /// The top items of a scorer's list, other than its held-out items, that the direction
    /// lowers.
    pub top: usize,
}

/// The influence of every player (one user's training rows each) on the scorers (users for
/// whom `scorer` is true, with training items in `train_rows` and held-out items in
/// `valid_rows` outside them), for ItemKNN fitted on the players' rows alone. Player `p`'s
/// row in the table is `p`; a player whose rows the fit has no scorer to affect gets 0.
pub fn user_influence(
    data: &Dataset,
    train_rows: &[u32],
    valid_rows: &[u32],
    players: &[Player],
    scorer: impl Fn(UserIdx) -> bool,
    config: &InfluenceConfig,
) -> Result<Values> {
    if config.top == 0 {
        return crate::error::param("top", 0, "must be at least 1");
    }
    if let Some(p) = players.iter().find(|p| p.users.len() != 1) {
        return crate::error::param(
            "players",
            &p.name,
            "must each hold the rows of exactly one user",
        );
    }
    let audience = crate::recommend::audience_of(data, train_rows, valid_rows, scorer);
    let audience: Vec<_> = audience
        .into_iter()
        .filter(|a| !a.exclude.is_empty())
        .collect();
    if audience.is_empty() {
        return Err(ValueError::Empty(
            "no scorer has both training and held-out items".into(),
        ));
    }
    let rows: Vec<u32> = players
        .iter()
        .flat_map(|p| p.rows.iter().copied())
        .collect();
    let fitted = Interactions::from_events(data, &rows);
    let model = config.knn.fit(&fitted, data, None)?;
    let n = fitted.n_items();
    // Each player's distinct items, and the players holding each item.
    let items_of: Vec<Vec<ItemIdx>> = players
        .iter()
        .map(|p| fitted.items_of(p.users[0]).to_vec())
        .collect();
    let mut holders: Vec<Vec<u32>> = vec![Vec::new(); n];
    for (p, items) in items_of.iter().enumerate() {
        for &i in items {
            holders[i as usize].push(p as u32);
        }
    }
    // n_i, the fit's count of users with item i (the players hold every fitted row).
    let count: Vec<f64> = holders.iter().map(|h| h.len() as f64).collect();
    let root: Vec<f64> = count.iter().map(|c| c.sqrt()).collect();
    let shrink = f64::from(config.knn.shrink);
    let denominator = |i: usize, j: usize| root[i] * root[j] + shrink + 1e-6;
    let n_players = players.len();
    // Fixed chunks of scorers, summed in order: the same bits on any number of threads.
    let partial: Vec<(Vec<f64>, Vec<f64>)> = audience
        .par_chunks(SCORER_CHUNK)
        .map(|chunk| {
            let mut scratch = Scratch::new(n, n_players);
            for scorer in chunk {
                scratch.add_scorer(
                    &model,
                    scorer,
                    config.top,
                    &items_of,
                    &holders,
                    &count,
                    &root,
                    &denominator,
                );
            }
            (scratch.sum, scratch.sum_sq)
        })
        .collect();
    let mut sum = vec![0.0; n_players];
    let mut sum_sq = vec![0.0; n_players];
    for (a, b) in &partial {
        sum.iter_mut().zip(a).for_each(|(x, y)| *x += y);
        sum_sq.iter_mut().zip(b).for_each(|(x, y)| *x += y);
    }
    let m = audience.len() as f64;
    let values = players
        .iter()
        .enumerate()
        .map(|(p, player)| {
            let mean = sum[p] / m;
            let var = if m > 1.0 {
                ((sum_sq[p] - m * mean * mean) / (m - 1.0)).max(0.0)
            } else {
                f64::NAN
            };
            PlayerValue {
                player: p,
                name: player.name.clone(),
                value: mean,
                std_error: (var / m).sqrt(),
                n_evals: audience.len() as u64,
                converged: true,
            }
        })
        .collect();
    Ok(Values {
        method: "influence".into(),
        utility: format!(
            "LambdaRank direction of NDCG over the top {} of the scorers' lists",
            config.top
        ),
        players: values,
        utility_evals: 1,
        sum_std_error: f64::NAN,
    })
}

/// One worker's buffers and running sums.
struct Scratch {
    scores: Vec<f32>,
    /// The direction, dense (0 off its support).
    g: Vec<f64>,
    /// `1 / D_ij` of the kept pairs of one source row `i`, dense.
    inv_d: Vec<f64>,
    /// `B_j` of the support of the direction, dense.
    b: Vec<f64>,
    /// This scorer's influence of each player, and the players it touched.
    phi: Vec<f64>,
    marked: Vec<bool>,
    touched: Vec<u32>,
    sum: Vec<f64>,
    sum_sq: Vec<f64>,
}

impl Scratch {
    fn new(n_items: usize, n_players: usize) -> Scratch {
        Scratch {
            scores: vec![0.0; n_items],
            g: vec![0.0; n_items],
            inv_d: vec![0.0; n_items],
            b: vec![0.0; n_items],
            phi: vec![0.0; n_players],
            marked: vec![false; n_players],
            touched: Vec::new(),
            sum: vec![0.0; n_players],
            sum_sq: vec![0.0; n_players],
        }
    }

    fn touch(&mut self, p: u32, x: f64) {
        if !self.marked[p as usize] {
            self.marked[p as usize] = true;
            self.touched.push(p);
        }
        self.phi[p as usize] += x;
    }

    #[allow(clippy::too_many_arguments)]
    fn add_scorer(
        &mut self,
        model: &assay_recommend::ItemKnnModel,
        scorer: &assay_metrics::AudienceUser,
        top: usize,
        items_of: &[Vec<ItemIdx>],
        holders: &[Vec<u32>],
        count: &[f64],
        root: &[f64],
        denominator: &impl Fn(usize, usize) -> f64,
    ) {
        let history = &scorer.exclude;
        let support = direction(model, history, &scorer.relevant, top, &mut self.scores);
        for &(j, w) in &support {
            self.g[j as usize] = w;
        }
        // Source rows: the scorer's items i, with A_i (for players holding i) and term 1.
        for &i in history {
            let iu = i as usize;
            let (targets, sims) = model.neighbours_of(i);
            let mut a = 0.0;
            for (&j, &s) in targets.iter().zip(sims) {
                let ju = j as usize;
                let d = denominator(iu, ju);
                self.inv_d[ju] = 1.0 / d;
                let common = f64::from(s) / d / (2.0 * root[iu] * root[ju]);
                if self.g[ju] != 0.0 {
                    a += self.g[ju] * common * count[ju];
                    self.b[ju] += common * count[iu];
                }
            }
            for &p in &holders[iu] {
                let mut x = -a;
                for &j in &items_of[p as usize] {
                    x += self.g[j as usize] * self.inv_d[j as usize];
                }
                self.touch(p, x);
            }
            for &j in targets {
                self.inv_d[j as usize] = 0.0;
            }
        }
        // Term 3: players holding a target j of the direction, through n_j.
        for &(j, w) in &support {
            let bj = std::mem::take(&mut self.b[j as usize]);
            if bj != 0.0 {
                for &p in &holders[j as usize] {
                    self.touch(p, -w * bj);
                }
            }
            self.g[j as usize] = 0.0;
        }
        for &p in &self.touched {
            let x = std::mem::take(&mut self.phi[p as usize]);
            self.marked[p as usize] = false;
            self.sum[p as usize] += x;
            self.sum_sq[p as usize] += x * x;
        }
        self.touched.clear();
    }
}

/// The scorer's direction: `(item, weight)` with the held-out items raised and the top `top`
/// other items lowered, each weighted by `1 / log2(rank + 2)` (rank from 0 in the list that
/// leaves out `history`) and each side summing to 1 in absolute value. Empty when nothing
/// can be ranked.
fn direction(
    model: &assay_recommend::ItemKnnModel,
    history: &[ItemIdx],
    relevant: &[ItemIdx],
    top: usize,
    scores: &mut [f32],
) -> Vec<(ItemIdx, f64)> {
    scores.iter_mut().for_each(|s| *s = 0.0);
    if model.score_history(history, scores).is_err() {
        return Vec::new();
    }
    for &i in history {
        scores[i as usize] = f32::NEG_INFINITY;
    }
    // Ties broken by item index, so the ranks are deterministic.
    let before = |a: usize, b: usize| scores[a] > scores[b] || (scores[a] == scores[b] && a < b);
    let discount = |rank: usize| 1.0 / ((rank + 2) as f64).log2();
    let mut out = Vec::new();
    let mut total = 0.0;
    for &v in relevant {
        let rank = (0..scores.len())
            .filter(|&j| scores[j] != f32::NEG_INFINITY && before(j, v as usize))
            .count();
        out.push((v, discount(rank)));
        total += discount(rank);
    }
    out.iter_mut().for_each(|(_, w)| *w /= total);
    let mut order: Vec<usize> = (0..scores.len())
        .filter(|&j| scores[j] != f32::NEG_INFINITY)
        .collect();
    let keep = (top + relevant.len()).min(order.len());
    if keep < order.len() && keep > 0 {
        order.select_nth_unstable_by(keep - 1, |&a, &b| {
            if before(a, b) {
                std::cmp::Ordering::Less
            } else {
                std::cmp::Ordering::Greater
            }
        });
        order.truncate(keep);
    }
    order.sort_unstable_by(|&a, &b| {
        if before(a, b) {
            std::cmp::Ordering::Less
        } else if before(b, a) {
            std::cmp::Ordering::Greater
        } else {
            std::cmp::Ordering::Equal
        }
    });
    let competitors: Vec<(usize, f64)> = order
        .iter()
        .enumerate()
        .filter(|(_, &j)| relevant.binary_search(&(j as ItemIdx)).is_err())
        .take(top)
        .map(|(rank, &j)| (j, discount(rank)))
        .collect();
    let total: f64 = competitors.iter().map(|c| c.1).sum();
    if total > 0.0 {
        out.extend(
            competitors
                .into_iter()
                .map(|(j, w)| (j as ItemIdx, -w / total)),
        );
    }
    out
}
