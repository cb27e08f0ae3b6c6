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
        let weights = weights_from_gram(gram, n)?;
        Ok(EaseModel {
            params: *self,
            history: History::of(train),
            weights,
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
        return Ok(weights);
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
    Ok(weights)
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
        Ok(EaseModel {
            params,
            history,
            weights,
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

    /// Row `i` of `B`: how much having item `i` adds to each item's score.
    pub fn weights_row(&self, item: u32) -> &[f32] {
        let n = self.history.n_items();
        &self.weights[item as usize * n..(item as usize + 1) * n]
    }
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

    fn write_files(&self, dir: &Path) -> Result<()> {
        let n = self.history.n_items();
        let mut tensors = Tensors::default();
        self.history.save(&mut tensors);
        tensors.f32("b", &[n, n], &self.weights);
        store::write(dir, "ease", &self.params, tensors)
    }
}
