//! Item-based k-nearest neighbours with cosine similarity, as RecBole's `ItemKNN`.
//!
//! `sim(i, j) = |U(i) ∩ U(j)| / (sqrt|U(i)| sqrt|U(j)| + shrink + 1e-6)` over the binary
//! training matrix; each target item `j` keeps its `k` most similar items as neighbours, and
//! `score(u, j) = sum of sim(i, j) over the user's items i among j's neighbours`.

use std::path::Path;

use assay_core::{Dataset, Interactions, ItemIdx, UserIdx};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::sparse::{keep_largest, ItemWeights};
use super::{bad_param, expect_kind, non_negative};
use crate::store::{self, ModelFile, Tensors};
use crate::spec::{non_default, params_from};
use crate::{
    Capabilities, Fit, FitSize, History, ModelKind, Recommender, Result, Validate, Work,
};

/// Hyper-parameters of [`ItemKnnModel`]; RecBole's defaults are `k = 100`, `shrink = 0`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ItemKnnParams {
    /// Neighbours kept per item.
    pub k: usize,
    /// Added to the cosine denominator; damps similarities backed by few users.
    pub shrink: f32,
}

impl Default for ItemKnnParams {
    fn default() -> ItemKnnParams {
        ItemKnnParams {
            k: 100,
            shrink: 0.0,
        }
    }
}

/// Fitted ItemKNN: the sparse similarity matrix, stored by source item.
#[derive(Debug, Clone)]
pub struct ItemKnnModel {
    params: ItemKnnParams,
    history: History,
    /// Row `i` lists the targets `j` that have `i` among their neighbours.
    weights: ItemWeights,
}

impl Fit for ItemKnnParams {
    type Model = ItemKnnModel;

    fn fit(
        &self,
        train: &Interactions,
        _: &Dataset,
        _: Option<&Validate<'_>>,
    ) -> Result<ItemKnnModel> {
        self.check()?;
        let n_items = train.n_items();
        let by_item = train.transpose();
        let norms: Vec<f32> = (0..n_items)
            .map(|i| (by_item.items_of(i as u32).len() as f32).sqrt())
            .collect();
        // Neighbours of each target item j, computed independently per j.
        let neighbours: Vec<Vec<(ItemIdx, f32)>> = (0..n_items)
            .into_par_iter()
            .map_init(
                || vec![0.0f32; n_items],
                |co, j| {
                    let users = by_item.items_of(j as u32);
                    if users.is_empty() {
                        return Vec::new();
                    }
                    let mut touched: Vec<ItemIdx> = Vec::new();
                    for &u in users {
                        for &i in train.items_of(u) {
                            if co[i as usize] == 0.0 {
                                touched.push(i);
                            }
                            co[i as usize] += 1.0;
                        }
                    }
                    let mut cands: Vec<(ItemIdx, f32)> = Vec::with_capacity(touched.len());
                    for &i in &touched {
                        let count = std::mem::take(&mut co[i as usize]);
                        if i as usize == j {
                            continue;
                        }
                        let sim = count / (norms[i as usize] * norms[j] + self.shrink + 1e-6);
                        if sim != 0.0 {
                            cands.push((i, sim));
                        }
                    }
                    keep_largest(&mut cands, self.k);
                    cands
                },
            )
            .collect();
        Ok(ItemKnnModel {
            params: *self,
            history: History::of(train),
            weights: ItemWeights::from_columns(&neighbours),
        })
    }
}

impl ModelKind for ItemKnnParams {
    const NAME: &'static str = "itemknn";
    const ALIASES: &'static [&'static str] = &["knn"];
    const CAPABILITIES: Capabilities = Capabilities::ITEM_ITEM;

    fn parse(_: &str, params: &str) -> std::result::Result<ItemKnnParams, String> {
        params_from(params, &[("topk", "k")])
    }

    fn params_text(&self) -> String {
        non_default(self)
    }

    /// Counting co-occurrences visits every pair of a user's items once per item: the sum
    /// of the users' interactions squared, at about 2 ns a pair (measured on 200,000 items).
    fn work(&self, size: &FitSize) -> Work {
        Work {
            fit_ns: 2.0 * size.pairs as f64,
            ..Work::default()
        }
    }

    fn check(&self) -> Result<()> {
        if self.k == 0 {
            return bad_param("k", 0, "must be at least 1");
        }
        if !non_negative(self.shrink) {
            return bad_param("shrink", self.shrink, "must be a non-negative number");
        }
        Ok(())
    }

    fn load(dir: &Path) -> Result<ItemKnnModel> {
        ItemKnnModel::load(dir)
    }
}

impl ItemKnnModel {
    /// Reads a model written by [`Recommender::save`].
    pub fn load(dir: &Path) -> Result<ItemKnnModel> {
        let file = ModelFile::read(dir)?;
        expect_kind(&file, "itemknn")?;
        let params: ItemKnnParams = file.params()?;
        let history = History::load(&file)?;
        let weights = ItemWeights::load(&file, history.n_items(), "w.sims")?;
        Ok(ItemKnnModel {
            params,
            history,
            weights,
        })
    }

    /// The hyper-parameters fitted with.
    pub fn params(&self) -> &ItemKnnParams {
        &self.params
    }

    /// The items that have `item` among their neighbours, and the similarities: having
    /// `item` in a history adds `sims[k]` to the score of `targets[k]`.
    pub fn neighbours_of(&self, item: ItemIdx) -> (&[u32], &[f32]) {
        self.weights.row(item)
    }
}

impl Recommender for ItemKnnModel {
    fn kind(&self) -> &'static str {
        ItemKnnParams::NAME
    }

    fn history(&self) -> &History {
        &self.history
    }

    fn score_user(&self, user: UserIdx, scores: &mut [f32]) {
        self.weights.score(self.history.items_of(user), scores);
    }

    fn score_history(&self, history: &[ItemIdx], scores: &mut [f32]) -> Result<()> {
        self.weights.score(history, scores);
        Ok(())
    }

    fn write_files(&self, dir: &Path) -> Result<()> {
        let mut tensors = Tensors::default();
        self.history.save(&mut tensors);
        self.weights.save(&mut tensors, "w.sims");
        store::write(dir, ItemKnnParams::NAME, &self.params, tensors)
    }
}
