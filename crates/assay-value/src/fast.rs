//! Fast exact paths for recommender utilities: the same `U(S)` as
//! [`RecommenderUtility`], computed without refitting from the event rows.
//! [`fast_utility`] picks [`FastEase`] for EASE, [`FastItemKnn`] (incremental co-occurrence
//! counts along permutations) for ItemKNN, and the refitting utility for other models.
//!
//! [`FastEase`] is EASE (`--model ease`) behind the [`Utility`] interface, two ways:
//!
//! - [`Utility::eval`] (exact enumeration, leave-one-out, MSR Banzhaf): the training
//!   matrix `X_S` of a subset is never materialised. Every (user, item) pair of the training
//!   data is stored once with the players that own a row of it (and whether a non-player row
//!   has it), so `G_S = X_Sᵀ X_S` is assembled straight from the pairs that are active in `S`,
//!   then solved by the very function EASE's fit uses
//!   ([`assay_recommend::ease_weights_from_gram`]) and scored like
//!   [`assay_recommend::Recommender::top_k`]. Every step is the same `f32` arithmetic in the
//!   same order as a refit, so the scores are bit-for-bit a refit's (tested).
//!
//!   Why not `G_S = Σ_{p∈S} G_p`, one Gram matrix per player: a user whose rows are spread over
//!   several players (a shopper who comes through the app and through the web) contributes
//!   `x_u x_uᵀ` with `x_u` the *union* of their items, which has cross terms between players
//!   and counts an item bought through two sources once. The sum of per-player Gram matrices
//!   is only right when every user's data lies in one player, so it is not used.
//!
//!   What this saves is the per-subset preparation (sorting event rows into a matrix, its
//!   transpose, the history copy); the `n x n` Cholesky inverse, `~n³` flops for `n` items,
//!   stays, and dominates from a few thousand items on: the item count, not the event count,
//!   sets the cost of exact group values.
//!
//! - [`Utility::eval_prefixes`] (TMC-Shapley, Beta Shapley): walking a permutation, `P = G⁻¹`
//!   is kept in `f64` and updated by Sherman-Morrison when a player joins. A player who adds
//!   items to `r` users changes `G` by `r` (or `2r`) rank-one terms, `x_newx_newᵀ − x_oldx_oldᵀ`
//!   per user (plus one diagonal term per new item under EDLAE dropout), each `O(n²)`; the
//!   scores are then `s_uj = −(P x_u)_j / P_jj` for the items a user has not seen (EASE's
//!   `x_u B` with the zero diagonal), `O(n·|x_u|)` per evaluated user. A step whose rank is
//!   over `n/4` (a large group) re-inverts in `f64` instead. So a permutation over users costs
//!   `O(n²)` per user instead of a refit's `O(n³)`. The value is the same function of `S`, up
//!   to rounding: `f64` scores instead of a refit's `f32`, so two items whose scores tie to
//!   within `f32` rounding may swap places in a top-K list (tested against refits).

use assay_core::{ItemIdx, UserIdx};
use assay_recommend::{ease_weights_from_gram, top_k_of, EaseParams, ItemKnnParams};
use faer::linalg::solvers::DenseSolveCore;
use faer::{MatRef, Side};
use rayon::prelude::*;

use crate::recommend::RecommenderUtility;
use crate::Utility;

/// Largest rank of a permutation step, as a fraction `1/RANK_DIVISOR` of the item count,
/// that is applied by rank-one updates (each `~2n²` flops) rather than a re-inversion
/// (`~n³`).
const RANK_DIVISOR: usize = 4;

/// Every distinct training (user, item) pair with who provides it.
struct Pairs {
    /// Users with at least one pair, ascending, and their ranges into the pair arrays.
    users: Vec<UserIdx>,
    user_ptr: Vec<usize>,
    /// Slot in `users` of each dataset user, `u32::MAX` for none.
    slot_of_user: Vec<u32>,
    /// Item of each pair; pairs of one user are sorted by item.
    item: Vec<ItemIdx>,
    /// The pair is in a non-player (always used) row.
    base: Vec<bool>,
    /// Pairs of each player, ascending (so grouped by user).
    by_player: Vec<Vec<u32>>,
}

impl Pairs {
    fn new(utility: &RecommenderUtility<'_>) -> Pairs {
        const BASE: u32 = u32::MAX;
        let events = &utility.data.events;
        let mut triples: Vec<(UserIdx, ItemIdx, u32)> = utility
            .base_rows
            .iter()
            .map(|&r| (events.user[r as usize], events.item[r as usize], BASE))
            .collect();
        for (p, player) in utility.players.iter().enumerate() {
            triples.extend(
                player
                    .rows
                    .iter()
                    .map(|&r| (events.user[r as usize], events.item[r as usize], p as u32)),
            );
        }
        triples.par_sort_unstable();
        triples.dedup();
        let mut pairs = Pairs {
            users: Vec::new(),
            user_ptr: vec![0],
            slot_of_user: vec![u32::MAX; utility.data.users.len()],
            item: Vec::new(),
            base: Vec::new(),
            by_player: vec![Vec::new(); utility.players.len()],
        };
        for (k, &(user, item, owner)) in triples.iter().enumerate() {
            let same_user = k > 0 && triples[k - 1].0 == user;
            let same_pair = same_user && triples[k - 1].1 == item;
            if !same_user {
                if !pairs.users.is_empty() {
                    pairs.user_ptr.push(pairs.item.len());
                }
                pairs.slot_of_user[user as usize] = pairs.users.len() as u32;
                pairs.users.push(user);
            }
            if !same_pair {
                pairs.item.push(item);
                pairs.base.push(false);
            }
            let pair = pairs.item.len() - 1;
            if owner == BASE {
                pairs.base[pair] = true;
            } else {
                pairs.by_player[owner as usize].push(pair as u32);
            }
        }
        if !pairs.users.is_empty() {
            pairs.user_ptr.push(pairs.item.len());
        }
        pairs
    }

    /// Which pairs the players flagged in `member` (plus the base rows) provide.
    fn active(&self, member: &[bool]) -> Vec<bool> {
        let mut active = self.base.clone();
        for (p, pairs) in self.by_player.iter().enumerate() {
            if member[p] {
                pairs.iter().for_each(|&k| active[k as usize] = true);
            }
        }
        active
    }

    /// The active items of dataset user `user`, ascending, into `out`.
    fn items_of(&self, user: UserIdx, active: &[bool], out: &mut Vec<ItemIdx>) {
        out.clear();
        let slot = self.slot_of_user[user as usize];
        if slot != u32::MAX {
            self.slot_items(slot as usize, active, out);
        }
    }

    fn slot_items(&self, slot: usize, active: &[bool], out: &mut Vec<ItemIdx>) {
        out.clear();
        let range = self.user_ptr[slot]..self.user_ptr[slot + 1];
        for (&item, _) in self.item[range.clone()]
            .iter()
            .zip(&active[range])
            .filter(|(_, &on)| on)
        {
            out.push(item);
        }
    }
}

/// Exact EASE utility without refits; see the [module documentation](self).
pub struct FastEase<'u, 'a> {
    inner: &'u RecommenderUtility<'a>,
    params: EaseParams,
    n_items: usize,
    pairs: Pairs,
}

impl<'u, 'a> FastEase<'u, 'a> {
    /// The fast path of `utility` when its model is EASE and its `f64` matrices, one set
    /// per thread, fit in the memory budget; `None` otherwise (other models, or refits).
    pub fn new(utility: &'u RecommenderUtility<'a>) -> Option<FastEase<'u, 'a>> {
        let params = *utility.config.model.params::<EaseParams>()?;
        // Catalog tags (`side`) add pseudo-users this path does not model: refit instead.
        if params.side != 0.0 {
            return None;
        }
        let n_items = utility.data.items.len();
        // Refits need three `f32` matrices per thread, which the utility checked against the
        // memory budget; permutations here keep `G` and `P` in `f64` and the factorisation
        // holds two more while re-inverting: when that is over the budget, refit instead.
        let per_thread = assay_core::memory::dense_bytes(&[n_items, n_items], 4 * 8);
        if !assay_core::memory::fits(
            per_thread.saturating_mul(rayon::current_num_threads() as u128),
        ) {
            return None;
        }
        Some(FastEase {
            inner: utility,
            params,
            n_items,
            pairs: Pairs::new(utility),
        })
    }

    fn emphasis(&self) -> f32 {
        self.params.dropout / (1.0 - self.params.dropout)
    }

    /// Whether a refit has anything to fit: the utility checked the parameters when it was
    /// built, so only an empty catalog says no (and a refit then scores 0).
    fn fits(&self) -> bool {
        self.n_items > 0
    }

    /// `XᵀX + diag(reg + emphasis·(XᵀX)ᵢᵢ)`, row-major, in the order EASE's fit adds it up
    /// (integer counts are exact in `f32`, so any order gives the same bits).
    fn gram(&self, active: &[bool]) -> Vec<f32> {
        let n = self.n_items;
        let mut gram = vec![0.0f32; n * n];
        let mut items = Vec::new();
        for slot in 0..self.pairs.users.len() {
            self.pairs.slot_items(slot, active, &mut items);
            for &i in &items {
                let row = &mut gram[i as usize * n..(i as usize + 1) * n];
                for &j in &items {
                    row[j as usize] += 1.0;
                }
            }
        }
        let (reg, emphasis) = (self.params.reg, self.emphasis());
        for i in 0..n {
            let row = &mut gram[i * n..(i + 1) * n];
            row[i] += reg + emphasis * row[i];
        }
        gram
    }

    fn metric(&self, active: &[bool], score: &(dyn Fn(&[ItemIdx], &mut [f32]) + Sync)) -> f64 {
        audience_metric(self.inner, &self.pairs, self.n_items, active, score)
    }

    /// The utility of the pairs flagged in `active`, exactly as a refit computes it.
    fn eval_active(&self, active: &[bool]) -> f64 {
        if !self.fits() {
            return 0.0;
        }
        let n = self.n_items;
        let weights = match ease_weights_from_gram(self.gram(active), n) {
            Ok(weights) => weights,
            Err(error) => return self.inner.failed(error),
        };
        self.metric(active, &|items, scores| {
            scores.fill(0.0);
            for &i in items {
                let row = &weights[i as usize * n..(i as usize + 1) * n];
                scores.iter_mut().zip(row).for_each(|(s, w)| *s += w);
            }
        })
    }

    /// The EASE scores `x_u B` of `user` under the model fitted on the players in `subset`
    /// (no items masked), as [`assay_recommend::Recommender::score_user`] of a refit gives
    /// them; `None` when the model cannot be fitted.
    pub fn scores(&self, subset: &[usize], user: UserIdx) -> Option<Vec<f32>> {
        if !self.fits() {
            return None;
        }
        let mut member = vec![false; self.n_players()];
        subset.iter().for_each(|&p| member[p] = true);
        let active = self.pairs.active(&member);
        let n = self.n_items;
        let weights = ease_weights_from_gram(self.gram(&active), n).ok()?;
        let mut items = Vec::new();
        self.pairs.items_of(user, &active, &mut items);
        let mut scores = vec![0.0f32; n];
        for &i in &items {
            let row = &weights[i as usize * n..(i as usize + 1) * n];
            scores.iter_mut().zip(row).for_each(|(s, w)| *s += w);
        }
        Some(scores)
    }

    /// The utility from `P = G⁻¹` in `f64`: `s_j = −(P x)_j / P_jj`.
    fn eval_inverse(&self, active: &[bool], inverse: &[f64]) -> f64 {
        let n = self.n_items;
        self.metric(active, &|items, scores| {
            let mut y = vec![0.0f64; n];
            for &i in items {
                let row = &inverse[i as usize * n..(i as usize + 1) * n];
                y.iter_mut().zip(row).for_each(|(y, p)| *y += p);
            }
            for (j, s) in scores.iter_mut().enumerate() {
                // `+ 0.0` turns -0.0 into 0.0, as a refit's sum of zero weights gives.
                *s = (-(y[j] / inverse[j * n + j]) + 0.0) as f32;
            }
        })
    }
}

/// The mean metric over the audience of `utility`, given each user's scores: `score(items,
/// scores)` fills `scores` from the user's active items; masking and ranking are those of
/// [`assay_recommend::Recommender::top_k`].
fn audience_metric(
    utility: &RecommenderUtility<'_>,
    pairs: &Pairs,
    n_items: usize,
    active: &[bool],
    score: &(dyn Fn(&[ItemIdx], &mut [f32]) + Sync),
) -> f64 {
    let config = &utility.config;
    assay_metrics::score_mean(
        &utility.audience,
        config.metric,
        config.k,
        || (Vec::new(), vec![0.0f32; n_items]),
        |(items, scores), user, k| {
            pairs.items_of(user.user, active, items);
            score(items, scores);
            assay_recommend::mask(scores, items);
            assay_recommend::mask(scores, &user.exclude);
            top_k_of(scores, k)
                .into_iter()
                .map(|(item, _)| item)
                .collect()
        },
    )
}

/// One user's change when a player joins: items before, items after, items added.
type UserStep = (Vec<ItemIdx>, Vec<ItemIdx>, Vec<ItemIdx>);

/// Activates the pairs of `player` and returns, per user who gains items, the change.
fn join(pairs: &Pairs, player: usize, active: &mut [bool]) -> Vec<UserStep> {
    let mut steps = Vec::new();
    let (mut old, mut added) = (Vec::new(), Vec::new());
    let owned = &pairs.by_player[player];
    let mut k = 0;
    while k < owned.len() {
        let slot = pairs.user_ptr.partition_point(|&p| p <= owned[k] as usize) - 1;
        let end = pairs.user_ptr[slot + 1];
        pairs.slot_items(slot, active, &mut old);
        added.clear();
        while k < owned.len() && (owned[k] as usize) < end {
            let pair = owned[k] as usize;
            if !active[pair] {
                active[pair] = true;
                added.push(pairs.item[pair]);
            }
            k += 1;
        }
        if added.is_empty() {
            continue;
        }
        let mut new = Vec::new();
        pairs.slot_items(slot, active, &mut new);
        steps.push((old.clone(), new, added.clone()));
    }
    steps
}

/// `G⁻¹` in `f64`, row-major (symmetric), `None` if `G` is not positive definite.
fn inverse_f64(gram: &[f64], n: usize) -> Option<Vec<f64>> {
    let inverse = MatRef::from_row_major_slice(gram, n, n)
        .llt(Side::Lower)
        .ok()?
        .inverse();
    let mut out = vec![0.0; n * n];
    for (j, column) in out.chunks_mut(n).enumerate() {
        column.copy_from_slice(inverse.col_as_slice(j));
    }
    Some(out)
}

/// `P ← (G + s·u uᵀ)⁻¹` from `P = G⁻¹` (Sherman-Morrison), `u` the 0/1 vector of `items`
/// scaled by `scale`. `false` when the update is numerically unsafe (the caller re-inverts).
fn rank_one(inverse: &mut [f64], n: usize, items: &[ItemIdx], sign: f64, scale: f64) -> bool {
    let mut v = vec![0.0f64; n];
    for &i in items {
        let row = &inverse[i as usize * n..(i as usize + 1) * n];
        v.iter_mut().zip(row).for_each(|(v, p)| *v += scale * p);
    }
    let utv: f64 = items.iter().map(|&i| scale * v[i as usize]).sum();
    let denominator = 1.0 + sign * utv;
    if !(denominator.is_finite() && denominator.abs() > 1e-12) {
        return false;
    }
    let factor = sign / denominator;
    inverse
        .par_chunks_mut(n)
        .zip(v.par_iter())
        .for_each(|(row, &vi)| {
            let a = factor * vi;
            row.iter_mut().zip(&v).for_each(|(p, &vj)| *p -= a * vj);
        });
    true
}

impl Utility for FastEase<'_, '_> {
    fn name(&self) -> String {
        self.inner.name()
    }

    fn n_players(&self) -> usize {
        self.inner.n_players()
    }

    fn player_name(&self, player: usize) -> String {
        self.inner.player_name(player)
    }

    fn take_failure(&self) -> Option<crate::ValueError> {
        self.inner.take_failure()
    }

    fn eval(&self, subset: &[usize]) -> f64 {
        let mut member = vec![false; self.n_players()];
        subset.iter().for_each(|&p| member[p] = true);
        self.eval_active(&self.pairs.active(&member))
    }

    fn eval_prefixes(&self, order: &[usize], stop: &dyn Fn(f64) -> bool, out: &mut Vec<f64>) {
        let n = self.n_items;
        let fallback = |out: &mut Vec<f64>| {
            for end in out.len() + 1..=order.len() {
                let value = self.eval(&order[..end]);
                out.push(value);
                if stop(value) {
                    return;
                }
            }
        };
        if !self.fits() {
            return fallback(out);
        }
        let mut active = self.pairs.base.clone();
        let gram32 = self.gram(&active);
        let mut gram: Vec<f64> = gram32.iter().map(|&g| g as f64).collect();
        drop(gram32);
        let Some(mut inverse) = inverse_f64(&gram, n) else {
            return fallback(out);
        };
        let emphasis = self.emphasis() as f64;
        for &player in order {
            let steps = join(&self.pairs, player, &mut active);
            let rank: usize = steps
                .iter()
                .map(|(old, _, added)| {
                    1 + usize::from(!old.is_empty()) + if emphasis > 0.0 { added.len() } else { 0 }
                })
                .sum();
            // Keep G exact (integer counts plus the regulariser) for re-inversions.
            for (old, new, added) in &steps {
                for (list, sign) in [(new, 1.0), (old, -1.0)] {
                    for &i in list {
                        for &j in list {
                            gram[i as usize * n + j as usize] += sign;
                        }
                    }
                }
                for &i in added {
                    gram[i as usize * (n + 1)] += emphasis;
                }
            }
            let mut updated = rank * RANK_DIVISOR <= n;
            if updated {
                'steps: for (old, new, added) in &steps {
                    // Add before removing, so every intermediate matrix stays positive
                    // definite.
                    let mut ok = rank_one(&mut inverse, n, new, 1.0, 1.0);
                    if !old.is_empty() {
                        ok &= rank_one(&mut inverse, n, old, -1.0, 1.0);
                    }
                    if emphasis > 0.0 {
                        for &i in added {
                            ok &= rank_one(&mut inverse, n, &[i], 1.0, emphasis.sqrt());
                        }
                    }
                    if !ok {
                        updated = false;
                        break 'steps;
                    }
                }
            }
            if !updated {
                match inverse_f64(&gram, n) {
                    Some(fresh) => inverse = fresh,
                    None => return fallback(out),
                }
            }
            let value = self.eval_inverse(&active, &inverse);
            out.push(value);
            if stop(value) {
                return;
            }
        }
    }
}

/// Most items for which [`FastItemKnn`] keeps a dense co-occurrence matrix (`n²` `f32`s,
/// 64 MiB here, one per thread, within the memory budget of [`assay_core::memory`] too);
/// above it permutations refit.
pub const MAX_DENSE_KNN_ITEMS: usize = 4096;

/// ItemKNN (`--model itemknn`) with incremental co-occurrence counts along permutations.
///
/// [`Utility::eval`] refits. [`Utility::eval_prefixes`] keeps the item-item co-occurrence
/// counts `C = XᵀX` and the per-item user counts of the current prefix, and when a player
/// joins adds `x_newx_newᵀ − x_oldx_oldᵀ` for each user it changes (`O(|x_u|²)`). Only the
/// target items whose neighbour list can have changed are re-selected: those whose column
/// of `C` changed (the items of a changed user) and those that co-occur with an item whose
/// user count changed (its norm is in their similarities). Every similarity, selection and
/// score is the same `f32` expression in the same order as
/// [`assay_recommend::ItemKnnModel`]'s fit and scoring, so the values are a refit's exactly
/// (tested). Needs at most [`MAX_DENSE_KNN_ITEMS`] items.
pub struct FastItemKnn<'u, 'a> {
    inner: &'u RecommenderUtility<'a>,
    params: ItemKnnParams,
    n_items: usize,
    pairs: Pairs,
}

impl<'u, 'a> FastItemKnn<'u, 'a> {
    /// The fast path of `utility` when its model is ItemKNN with valid parameters, at most
    /// [`MAX_DENSE_KNN_ITEMS`] items and a co-occurrence matrix per thread within the memory
    /// budget, `None` otherwise.
    pub fn new(utility: &'u RecommenderUtility<'a>) -> Option<FastItemKnn<'u, 'a>> {
        let params = *utility.config.model.params::<ItemKnnParams>()?;
        let n_items = utility.data.items.len();
        let valid = params.k > 0 && params.shrink.is_finite() && params.shrink >= 0.0;
        if !valid || n_items == 0 || n_items > MAX_DENSE_KNN_ITEMS {
            return None;
        }
        let per_thread = assay_core::memory::dense_bytes(&[n_items, n_items], 4);
        if !assay_core::memory::fits(
            per_thread.saturating_mul(rayon::current_num_threads() as u128),
        ) {
            return None;
        }
        Some(FastItemKnn {
            inner: utility,
            params,
            n_items,
            pairs: Pairs::new(utility),
        })
    }

    /// The neighbours of target `j` as the fit selects them (any order).
    fn neighbours(&self, j: usize, co: &[f32], users_of: &[u32], out: &mut Vec<(ItemIdx, f32)>) {
        out.clear();
        if users_of[j] == 0 {
            return;
        }
        let n = self.n_items;
        let norm_j = (users_of[j] as f32).sqrt();
        // C is symmetric: column j is row j.
        for (i, &count) in co[j * n..(j + 1) * n].iter().enumerate() {
            if count == 0.0 || i == j {
                continue;
            }
            let norm_i = (users_of[i] as f32).sqrt();
            let sim = count / (norm_i * norm_j + self.params.shrink + 1e-6);
            if sim != 0.0 {
                out.push((i as ItemIdx, sim));
            }
        }
        let better =
            |a: &(ItemIdx, f32), b: &(ItemIdx, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        let k = self.params.k;
        if out.len() > k {
            out.select_nth_unstable_by(k - 1, better);
            out.truncate(k);
        }
    }
}

impl Utility for FastItemKnn<'_, '_> {
    fn name(&self) -> String {
        self.inner.name()
    }

    fn n_players(&self) -> usize {
        self.inner.n_players()
    }

    fn player_name(&self, player: usize) -> String {
        self.inner.player_name(player)
    }

    fn eval(&self, subset: &[usize]) -> f64 {
        self.inner.eval(subset)
    }

    fn take_failure(&self) -> Option<crate::ValueError> {
        self.inner.take_failure()
    }

    fn eval_prefixes(&self, order: &[usize], stop: &dyn Fn(f64) -> bool, out: &mut Vec<f64>) {
        let n = self.n_items;
        let mut active = self.pairs.base.clone();
        let mut co = vec![0.0f32; n * n];
        let mut users_of = vec![0u32; n];
        let add = |co: &mut [f32], items: &[ItemIdx], delta: f32| {
            for &i in items {
                let row = &mut co[i as usize * n..(i as usize + 1) * n];
                for &j in items {
                    row[j as usize] += delta;
                }
            }
        };
        let mut items = Vec::new();
        for slot in 0..self.pairs.users.len() {
            self.pairs.slot_items(slot, &active, &mut items);
            add(&mut co, &items, 1.0);
            items.iter().for_each(|&i| users_of[i as usize] += 1);
        }
        let mut lists: Vec<Vec<(ItemIdx, f32)>> = vec![Vec::new(); n];
        lists
            .par_iter_mut()
            .enumerate()
            .for_each(|(j, list)| self.neighbours(j, &co, &users_of, list));
        let mut dirty = vec![false; n];
        for &player in order {
            for (old, new, added) in join(&self.pairs, player, &mut active) {
                add(&mut co, &new, 1.0);
                add(&mut co, &old, -1.0);
                for &i in &added {
                    users_of[i as usize] += 1;
                }
                new.iter().for_each(|&j| dirty[j as usize] = true);
                for &i in &added {
                    let row = &co[i as usize * n..(i as usize + 1) * n];
                    for (j, &count) in row.iter().enumerate() {
                        if count != 0.0 {
                            dirty[j] = true;
                        }
                    }
                }
            }
            lists
                .par_iter_mut()
                .zip(dirty.par_iter_mut())
                .enumerate()
                .for_each(|(j, (list, flag))| {
                    if std::mem::take(flag) {
                        self.neighbours(j, &co, &users_of, list);
                    }
                });
            // By source item, targets ascending: the fit's layout, so scores add up in the
            // same order.
            let mut rows: Vec<Vec<(ItemIdx, f32)>> = vec![Vec::new(); n];
            for (j, list) in lists.iter().enumerate() {
                for &(i, sim) in list {
                    rows[i as usize].push((j as ItemIdx, sim));
                }
            }
            let value = audience_metric(self.inner, &self.pairs, n, &active, &|items, scores| {
                scores.fill(0.0);
                for &i in items {
                    for &(j, sim) in &rows[i as usize] {
                        scores[j as usize] += sim;
                    }
                }
            });
            out.push(value);
            if stop(value) {
                return;
            }
        }
    }
}

/// The fastest exact implementation of `utility`: [`FastEase`] for EASE, [`FastItemKnn`]
/// for ItemKNN, the refitting utility itself otherwise. Same players, names and values.
pub fn fast_utility<'u, 'a>(utility: &'u RecommenderUtility<'a>) -> Box<dyn Utility + 'u> {
    if let Some(fast) = FastEase::new(utility) {
        return Box::new(fast);
    }
    match FastItemKnn::new(utility) {
        Some(fast) => Box::new(fast),
        None => Box::new(utility),
    }
}
