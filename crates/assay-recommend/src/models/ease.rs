//! EASE (Steck 2019), closed form, as RecBole's `EASE`.
//!
//! With `X` the binary training matrix and `λ` the regularisation, `P = (XᵀX + λI)⁻¹` and
//! `B = I - P·diag(1/diag(P))`, i.e. `B[i][j] = -P[i][j] / P[j][j]` off the diagonal and 0 on it.
//! A user's scores are `x_u B`: the sum of the rows of `B` of their training items. The inverse
//! comes from a dense Cholesky factorisation (faer), in `f32` like RecBole's numpy code.
//!
//! `dropout = p > 0` adds Steck's (2020) emphasized-denoising regulariser: item `i` gets
//! `λ + p / (1 - p) · G[i][i]` on the diagonal instead of `λ` (EDLAE with the zero-diagonal
//! constraint), which shrinks popular items more; `p = 0` is plain EASE.
//!
//! `side = α > 0` adds the catalog as side information, as in Jeunen et al.'s collective EASE
//! (RecSys 2020): every item tag (each level of the category path, the brand, and each
//! single-token attribute value such as a release year) becomes a pseudo-user with weight `α`
//! who interacted with every item carrying the tag, i.e. `α²·FᵀF` is added to the Gram matrix.
//! Items that share tags then share weight even when few users link them. Scores still come
//! from the user's own items only.

use std::path::Path;

use assay_core::{Dataset, Interactions, ItemIdx, UserIdx};
use faer::{MatMut, Par};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{bad_param, expect_kind, load_f32, non_negative, positive};
use crate::store::{self, ModelFile, Tensors};
use crate::spec::{non_default, params_from};
use crate::{
    Capabilities, DenseMemory, Fit, FitSize, History, ModelKind, ModelSpec, RecommendError,
    Recommender, Result, Validate, Work,
};

/// Hyper-parameters of [`EaseModel`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EaseParams {
    /// L2 regularisation λ added to the Gram matrix's diagonal; RecBole's `reg_weight`, 250.
    pub reg: f32,
    /// Dropout probability `p` in `[0, 1)` of the denoising regulariser; 0 is plain EASE.
    #[serde(default)]
    pub dropout: f32,
    /// Weight `α` of the catalog's item tags as pseudo-users; 0 ignores the catalog.
    #[serde(default)]
    pub side: f32,
}

impl Default for EaseParams {
    fn default() -> EaseParams {
        EaseParams {
            reg: 250.0,
            dropout: 0.0,
            side: 0.0,
        }
    }
}

/// Fitted EASE: the dense item-item weight matrix `B`, row-major.
#[derive(Debug, Clone)]
pub struct EaseModel {
    params: EaseParams,
    history: History,
    weights: Vec<f32>,
    /// `diag(P)` of the fit, which with `B` gives back all of `P` (`P = (I - B) diag(P)`):
    /// what forgetting a user exactly needs. Saved with the model; a model saved before it
    /// was kept lacks it.
    p_diag: Option<Vec<f32>>,
}

impl Fit for EaseParams {
    type Model = EaseModel;

    fn fit(
        &self,
        train: &Interactions,
        data: &Dataset,
        _: Option<&Validate<'_>>,
    ) -> Result<EaseModel> {
        self.check()?;
        let n = train.n_items();
        if n == 0 {
            return Err(RecommendError::Data("no items".into()));
        }
        ModelSpec::new(*self).check_memory(train.n_users(), n, 1)?;
        let mut gram = gram_matrix(train, self.reg, self.dropout / (1.0 - self.dropout));
        if self.side > 0.0 {
            add_item_tags(&mut gram, n, data, self.side * self.side);
        }
        let (weights, p_diag) = solve_gram(gram, n)?;
        Ok(EaseModel {
            params: *self,
            history: History::of(train),
            weights,
            p_diag: Some(p_diag),
        })
    }
}

impl ModelKind for EaseParams {
    const NAME: &'static str = "ease";
    const CAPABILITIES: Capabilities = Capabilities::ITEM_ITEM;

    fn parse(_: &str, params: &str) -> std::result::Result<EaseParams, String> {
        params_from(params, &[("reg_weight", "reg"), ("lambda", "reg")])
    }

    fn params_text(&self) -> String {
        non_default(self)
    }

    fn check(&self) -> Result<()> {
        if !positive(self.reg) {
            return bad_param("reg", self.reg, "must be a positive number");
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad_param("dropout", self.dropout, "must be in [0, 1)");
        }
        if !non_negative(self.side) {
            return bad_param("side", self.side, "must be a non-negative number");
        }
        Ok(())
    }

    fn load(dir: &Path) -> Result<EaseModel> {
        EaseModel::load(dir)
    }

    /// Three dense `n x n` `f32` matrices at the peak of a fit (the Gram matrix, its inverse,
    /// the weights); the factorisation's scratch is small beside them.
    fn dense_memory(&self, _: usize, n_items: usize) -> Option<DenseMemory> {
        Some(DenseMemory {
            bytes: assay_core::memory::dense_bytes(&[3, n_items, n_items], 4),
            what: format!(
                "three dense {n} x {n} matrices",
                n = assay_core::memory::format_count(n_items as u64)
            ),
            instead: "use itemknn, rp3beta or als instead: their memory grows with the \
                      interactions, not with the square of the catalog",
        })
    }

    /// The Gram matrix (every pair of a user's items) and the inverse of an `n x n` matrix:
    /// about 0.02 ns of one thread per `n³` (one fit on 10,000 items took 8.6 s on two
    /// threads).
    fn work(&self, size: &FitSize) -> Work {
        let n = size.items as f64;
        Work {
            fit_ns: 2.0 * size.pairs as f64 + 0.02 * n * n * n,
            ..Work::default()
        }
    }
}

/// EASE's `B = I - P·diag(1/diag(P))`, `P = gram⁻¹`, from the regularised Gram matrix
/// (`n x n`, row-major, `XᵀX + diag(reg + emphasis·(XᵀX)ᵢᵢ)`), row-major.
///
/// An item that shares no user with any other item (no training data at all, or only users
/// who have nothing else) is a 1 x 1 block of the Gram matrix: its row and column of `B` are
/// 0, so it is left out of the `O(n³)` inverse. A split where a tenth of the catalog is cold
/// then costs about 0.7 of the full inverse.
///
/// Public so that data valuation can fit EASE from a Gram matrix it assembles itself (a sum
/// over subsets of users) and get bit-for-bit the weights [`Fit::fit`] would give.
pub fn weights_from_gram(gram: Vec<f32>, n: usize) -> Result<Vec<f32>> {
    solve_gram(gram, n).map(|(weights, _)| weights)
}

/// [`weights_from_gram`], and `diag(P)` (for an uncoupled item, `1 / G[i][i]`).
fn solve_gram(gram: Vec<f32>, n: usize) -> Result<(Vec<f32>, Vec<f32>)> {
    let mut p_diag: Vec<f32> = (0..n).map(|i| 1.0 / gram[i * n + i]).collect();
    let mut coupled = Vec::with_capacity(n);
    for (i, row) in gram.chunks_exact(n.max(1)).enumerate().take(n) {
        if row.iter().enumerate().any(|(j, &g)| j != i && g != 0.0) {
            coupled.push(i);
        } else if !(row[i] > 0.0 && row[i].is_finite()) {
            // The factorisation would refuse this pivot; so does the shortcut.
            return Err(RecommendError::LinearAlgebra(
                "the Gram matrix is not positive definite".to_owned(),
            ));
        }
    }
    let m = coupled.len();
    let compact = if m == n {
        gram
    } else {
        let mut compact = Vec::with_capacity(m * m);
        for &i in &coupled {
            let row = &gram[i * n..(i + 1) * n];
            compact.extend(coupled.iter().map(|&j| row[j]));
        }
        // Three matrices at the peak, as `dense_memory` says, not four.
        drop(gram);
        compact
    };
    let mut weights = vec![0.0f32; n * n];
    if m == 0 {
        return Ok((weights, p_diag));
    }
    let inverse = inverse_lower(compact, m)?;
    // `inverse` holds the lower triangle of P, column-major: P[b][a] for b >= a at a * m + b.
    let p = |a: usize, b: usize| inverse[a.min(b) * m + a.max(b)];
    let diag: Vec<f32> = (0..m).map(|b| p(b, b)).collect();
    let mut slot = vec![usize::MAX; n];
    coupled.iter().enumerate().for_each(|(a, &i)| slot[i] = a);
    weights.par_chunks_mut(n).enumerate().for_each(|(i, row)| {
        let a = slot[i];
        if a == usize::MAX {
            return;
        }
        for (b, &j) in coupled.iter().enumerate() {
            row[j] = if a == b { 0.0 } else { -p(a, b) / diag[b] };
        }
    });
    for (b, &j) in coupled.iter().enumerate() {
        p_diag[j] = diag[b];
    }
    Ok((weights, p_diag))
}

/// The lower triangle of `A⁻¹` (column-major, `m x m`) for a symmetric positive definite `A`
/// given row-major (the same buffer, as `A` is symmetric), factorised in place.
///
/// Inside a rayon worker, data valuation is fitting other subsets on the other threads, so the
/// factorisation runs on this thread alone: on two cores, two 9,000-item fits side by side
/// took 13.2-15.1 s, against 14.4-17.6 s one after the other with both threads each (three
/// runs; the bits are the same). Outside a worker, it uses every thread.
fn inverse_lower(mut a: Vec<f32>, m: usize) -> Result<Vec<f32>> {
    use faer::dyn_stack::{MemBuffer, MemStack, StackReq};
    use faer::linalg::cholesky::llt::{factor, inverse};
    let par = match rayon::current_thread_index() {
        Some(_) => Par::Seq,
        None => Par::rayon(0),
    };
    let mut mem = MemBuffer::new(StackReq::any_of(&[
        factor::cholesky_in_place_scratch::<f32>(m, par, Default::default()),
        inverse::inverse_scratch::<f32>(m, par),
    ]));
    let mut factor_of = MatMut::from_column_major_slice_mut(&mut a, m, m);
    factor::cholesky_in_place(
        factor_of.as_mut(),
        Default::default(),
        par,
        MemStack::new(&mut mem),
        Default::default(),
    )
    .map_err(|e| RecommendError::LinearAlgebra(format!("{e:?}")))?;
    let mut out = vec![0.0f32; m * m];
    inverse::inverse(
        MatMut::from_column_major_slice_mut(&mut out, m, m),
        factor_of.as_ref(),
        par,
        MemStack::new(&mut mem),
    );
    Ok(out)
}

/// `XᵀX + diag(reg + emphasis·(XᵀX)ᵢᵢ)` for binary `X`, row-major, built row by row in
/// parallel from the item-user transpose so no two threads write the same row.
fn gram_matrix(train: &Interactions, reg: f32, emphasis: f32) -> Vec<f32> {
    let n = train.n_items();
    let by_item = train.transpose();
    let mut gram = vec![0.0f32; n * n];
    gram.par_chunks_mut(n).enumerate().for_each(|(i, row)| {
        for &u in by_item.items_of(i as u32) {
            for &j in train.items_of(u) {
                row[j as usize] += 1.0;
            }
        }
        row[i] += reg + emphasis * row[i];
    });
    gram
}

/// Adds `weight` to `gram[i][j]` for every tag items `i` and `j` share (`i == j` included).
fn add_item_tags(gram: &mut [f32], n: usize, data: &Dataset, weight: f32) {
    let tagged = item_tags(data, n);
    gram.par_chunks_mut(n).enumerate().for_each(|(i, row)| {
        for tag in &tagged.of_item[i] {
            for &j in &tagged.items[*tag] {
                row[j as usize] += weight;
            }
        }
    });
}

/// Item tags: for each tag the items carrying it, and for each item its tags.
struct Tags {
    items: Vec<Vec<u32>>,
    of_item: Vec<Vec<usize>>,
}

/// The tags of the first `n` catalog items: category path levels, brand, and attribute values
/// without whitespace (a multi-word value is free text or a joined token list, not a tag).
fn item_tags(data: &Dataset, n: usize) -> Tags {
    let catalog = &data.items;
    let mut ids: std::collections::HashMap<String, usize> = Default::default();
    let mut tags = Tags {
        items: Vec::new(),
        of_item: vec![Vec::new(); n],
    };
    let mut add = |item: usize, tag: String| {
        let next = ids.len();
        let id = *ids.entry(tag).or_insert(next);
        if id == tags.items.len() {
            tags.items.push(Vec::new());
        }
        if !tags.of_item[item].contains(&id) {
            tags.of_item[item].push(id);
            tags.items[id].push(item as u32);
        }
    };
    for item in 0..n.min(catalog.len()) {
        for level in catalog.category[item].split('/').filter(|l| !l.is_empty()) {
            add(item, format!("category={level}"));
        }
        if !catalog.brand[item].is_empty() {
            add(item, format!("brand={}", catalog.brand[item]));
        }
        for (name, values) in catalog
            .attributes
            .names
            .iter()
            .zip(&catalog.attributes.values)
        {
            let value = values[item].trim();
            if !value.is_empty() && !value.contains(char::is_whitespace) {
                add(item, format!("{name}={value}"));
            }
        }
    }
    tags
}

impl EaseModel {
    /// Reads a model written by [`Recommender::save`].
    pub fn load(dir: &Path) -> Result<EaseModel> {
        let file = ModelFile::read(dir)?;
        expect_kind(&file, "ease")?;
        let params: EaseParams = file.params()?;
        let history = History::load(&file)?;
        let n = history.n_items();
        let weights = load_f32(&file, "b", &[n, n])?;
        let p_diag = if file.has("p_diag") {
            Some(load_f32(&file, "p_diag", &[n])?)
        } else {
            None
        };
        Ok(EaseModel {
            params,
            history,
            weights,
            p_diag,
        })
    }

    /// The hyper-parameters fitted with.
    pub fn params(&self) -> &EaseParams {
        &self.params
    }

    /// `scores = x_h B`: the sum of the rows of `B` of the items of `history`.
    fn add_rows(&self, history: &[ItemIdx], scores: &mut [f32]) {
        scores.fill(0.0);
        for &i in history {
            for (s, w) in scores.iter_mut().zip(self.weights_row(i)) {
                *s += w;
            }
        }
    }

    /// The model a fit on `train` would give, where `train` is the fitted matrix less one
    /// user's row, whose items were `gone`: `P = (G + Λ)⁻¹` is rebuilt from `B` and `diag(P)`,
    /// the user's part of the Gram matrix (their row's outer product, and with dropout its
    /// emphasis on their items' diagonal) is taken out by the Woodbury identity, a rank-`r`
    /// update (`r` = the user's items, plus one with dropout) in `O(n² r)` instead of the
    /// `O(n³)` inverse, computed in f64. Items that share no user with another item any more
    /// get zero rows and columns, as the fit gives them. `None` for a model saved without
    /// `diag(P)`, with item tags, or when the update is not positive definite (refit then).
    pub fn without_rows_of(&self, train: &Interactions, gone: &[ItemIdx]) -> Option<EaseModel> {
        let p_diag = self.p_diag.as_ref()?;
        if self.params.side > 0.0 {
            // Item tags couple items too; which ones stay coupled needs the catalog: refit.
            return None;
        }
        let n = self.history.n_items();
        if train.n_items() != n || gone.is_empty() {
            return None;
        }
        let emphasis = f64::from(self.params.dropout / (1.0 - self.params.dropout));
        // P[i][j] from B and diag(P): -B[i][j] diag(P)[j] off the diagonal.
        let p = |i: usize, j: usize| -> f64 {
            if i == j {
                f64::from(p_diag[j])
            } else {
                -f64::from(self.weights[i * n + j]) * f64::from(p_diag[j])
            }
        };
        // G' = G - V Vᵀ: V's columns are the user's row x and sqrt(emphasis) e_i per item.
        let mut columns: Vec<Vec<(usize, f64)>> =
            vec![gone.iter().map(|&i| (i as usize, 1.0)).collect()];
        if emphasis > 0.0 {
            columns.extend(gone.iter().map(|&i| vec![(i as usize, emphasis.sqrt())]));
        }
        let r = columns.len();
        // PV (n x r), then S = I - Vᵀ P V (r x r).
        let pv: Vec<Vec<f64>> = columns
            .par_iter()
            .map(|col| {
                (0..n)
                    .map(|i| col.iter().map(|&(j, v)| p(i, j) * v).sum())
                    .collect()
            })
            .collect();
        let mut s = vec![0.0f64; r * r];
        for a in 0..r {
            for b in 0..r {
                let vpv: f64 = columns[a].iter().map(|&(i, v)| v * pv[b][i]).sum();
                s[a * r + b] = f64::from(u8::from(a == b)) - vpv;
            }
        }
        let s_inv = invert_spd(s, r)?;
        // W = PV S⁻¹ (n x r); P' = P + W (PV)ᵀ, symmetric.
        let w: Vec<Vec<f64>> = (0..r)
            .map(|b| {
                (0..n)
                    .map(|i| (0..r).map(|a| pv[a][i] * s_inv[a * r + b]).sum())
                    .collect()
            })
            .collect();
        let updated = |i: usize, j: usize| -> f64 {
            p(i, j) + (0..r).map(|a| w[a][i] * pv[a][j]).sum::<f64>()
        };
        let new_diag: Vec<f64> = (0..n).map(|j| updated(j, j)).collect();
        if new_diag.iter().any(|d| !(d.is_finite() && *d > 0.0)) {
            return None;
        }
        let coupled = coupled_items(train);
        let mut weights = vec![0.0f32; n * n];
        weights.par_chunks_mut(n).enumerate().for_each(|(i, row)| {
            if !coupled[i] {
                return;
            }
            for j in 0..n {
                if j != i && coupled[j] {
                    row[j] = (-updated(i, j) / new_diag[j]) as f32;
                }
            }
        });
        Some(EaseModel {
            params: self.params,
            history: History::of(train),
            weights,
            p_diag: Some(new_diag.iter().map(|&d| d as f32).collect()),
        })
    }

    /// Row `i` of `B`: how much having item `i` adds to each item's score.
    pub fn weights_row(&self, item: u32) -> &[f32] {
        let n = self.history.n_items();
        &self.weights[item as usize * n..(item as usize + 1) * n]
    }
}

/// Whether each item shares a user with another item in `train` (the fit's coupled items).
fn coupled_items(train: &Interactions) -> Vec<bool> {
    let mut coupled = vec![false; train.n_items()];
    for u in 0..train.n_users() as u32 {
        let items = train.items_of(u);
        if items.len() >= 2 {
            for &i in items {
                coupled[i as usize] = true;
            }
        }
    }
    coupled
}

/// The inverse of a small symmetric positive definite `r x r` matrix (row-major), by
/// Gauss-Jordan elimination in f64; `None` when a pivot is not positive.
fn invert_spd(mut a: Vec<f64>, r: usize) -> Option<Vec<f64>> {
    let mut inv = vec![0.0f64; r * r];
    for i in 0..r {
        inv[i * r + i] = 1.0;
    }
    for c in 0..r {
        let pivot = a[c * r + c];
        if !(pivot.is_finite() && pivot > 0.0) {
            return None;
        }
        for k in 0..r {
            a[c * r + k] /= pivot;
            inv[c * r + k] /= pivot;
        }
        for row in 0..r {
            if row != c {
                let f = a[row * r + c];
                if f != 0.0 {
                    for k in 0..r {
                        a[row * r + k] -= f * a[c * r + k];
                        inv[row * r + k] -= f * inv[c * r + k];
                    }
                }
            }
        }
    }
    Some(inv)
}

impl Recommender for EaseModel {
    fn kind(&self) -> &'static str {
        "ease"
    }

    fn history(&self) -> &History {
        &self.history
    }

    fn score_user(&self, user: UserIdx, scores: &mut [f32]) {
        self.add_rows(self.history.items_of(user), scores);
    }

    fn score_history(&self, history: &[ItemIdx], scores: &mut [f32]) -> Result<()> {
        self.add_rows(history, scores);
        Ok(())
    }

    fn forget_user(&self, train: &Interactions, gone: &[ItemIdx]) -> Option<Box<dyn Recommender>> {
        self.without_rows_of(train, gone)
            .map(|m| Box::new(m) as Box<dyn Recommender>)
    }

    fn write_files(&self, dir: &Path) -> Result<()> {
        let n = self.history.n_items();
        let mut tensors = Tensors::default();
        self.history.save(&mut tensors);
        tensors.f32("b", &[n, n], &self.weights);
        if let Some(p_diag) = &self.p_diag {
            tensors.f32("p_diag", &[n], p_diag);
        }
        store::write(dir, "ease", &self.params, tensors)
    }
}

#[cfg(test)]
mod tests {
    use super::super::random_triples;
    use super::*;

    #[test]
    fn forgetting_a_user_gives_the_refits_weights_and_rankings() {
        let (users, items) = (50, 30);
        for seed in 0..10u64 {
            let triples = random_triples(seed, users, items, 8);
            let train = Interactions::from_triples(users, items, triples.iter().copied());
            let gone_user = (seed as u32 * 11) % users as u32;
            let gone = train.items_of(gone_user).to_vec();
            let without = Interactions::from_triples(
                users,
                items,
                triples.iter().copied().filter(|t| t.0 != gone_user),
            );
            for dropout in [0.0, 0.3] {
                let params = EaseParams {
                    reg: 5.0,
                    dropout,
                    side: 0.0,
                };
                let data = Dataset::default();
                let model = params.fit(&train, &data, None).unwrap();
                let refit = params.fit(&without, &data, None).unwrap();
                let forgot = model.without_rows_of(&without, &gone).unwrap();
                // A saved and loaded model keeps diag(P): it forgets the same way.
                if seed == 0 {
                    let dir = tempfile::tempdir().unwrap();
                    model.save(&dir.path().join("m")).unwrap();
                    let loaded = EaseModel::load(&dir.path().join("m")).unwrap();
                    let again = loaded.without_rows_of(&without, &gone).unwrap();
                    assert_eq!(again.weights, forgot.weights);
                }
                let scale = refit.weights.iter().fold(0.0f32, |m, w| m.max(w.abs()));
                for (a, b) in forgot.weights.iter().zip(&refit.weights) {
                    assert!(
                        (a - b).abs() <= 1e-4 * scale,
                        "seed {seed}, dropout {dropout}: {a} vs {b}"
                    );
                    // Zero exactly where the fit's are (items no user couples any more).
                    assert_eq!(*a == 0.0, *b == 0.0, "seed {seed}");
                }
                for u in 0..users as u32 {
                    let ids = |m: &EaseModel| -> Vec<ItemIdx> {
                        m.top_k(u, 5, &[]).into_iter().map(|(i, _)| i).collect()
                    };
                    assert_eq!(ids(&forgot), ids(&refit), "seed {seed}, user {u}");
                }
            }
        }
    }
}
