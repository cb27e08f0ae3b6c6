//! RP3beta (Paudel et al. 2017, as evaluated by Dacrema et al. 2019): a three-step random walk
//! user → item → user → item on the bipartite training graph, with popular targets penalised.
//!
//! Over the binary training matrix, a walk from item `i` picks one of its users `u` with
//! probability `1 / |U(i)|` and then one of their items `j` with probability `1 / |I(u)|`; both
//! probabilities are raised to the power `alpha`. The walk's score is divided by the target's
//! popularity to the power `beta`:
//! `w(i, j) = |U(i)|^-alpha · Σ_{u ∈ U(i) ∩ U(j)} |I(u)|^-alpha · |U(j)|^-beta`, with
//! `w(i, i) = 0`. Each source item `i` keeps its `k` largest weights (ties to the lower item),
//! and with `normalize` its kept row is scaled to sum to 1. A user's score for `j` is the sum
//! of `w(i, j)` over their training items `i`.

use std::path::Path;

use assay_core::{Dataset, Interactions, ItemIdx, UserIdx};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::sparse::{keep_largest, ItemWeights};
use super::{bad_param, expect_kind, non_negative};
use crate::spec::{non_default, params_from};
use crate::store::{self, ModelFile, Tensors};
use crate::{
    Capabilities, Fit, History, ModelKind, Recommender, Result, Validate,
};

/// Hyper-parameters of [`Rp3BetaModel`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Rp3BetaParams {
    /// Neighbours kept per source item.
    pub k: usize,
    /// Exponent of the walk's transition probabilities.
    pub alpha: f32,
    /// Exponent of the popularity penalty of the target item.
    pub beta: f32,
    /// Scale each item's kept weights to sum to 1.
    pub normalize: bool,
}

impl Default for Rp3BetaParams {
    fn default() -> Rp3BetaParams {
        Rp3BetaParams {
            k: 100,
            alpha: 1.0,
            beta: 0.5,
            normalize: true,
        }
    }
}

/// Fitted RP3beta: the sparse item-item weights, stored by source item.
#[derive(Debug, Clone)]
pub struct Rp3BetaModel {
    params: Rp3BetaParams,
    history: History,
    weights: ItemWeights,
}

impl ModelKind for Rp3BetaParams {
    const NAME: &'static str = "rp3beta";
    const ALIASES: &'static [&'static str] = &["rp3b"];
    const CAPABILITIES: Capabilities = Capabilities::ITEM_ITEM;

    fn parse(_: &str, params: &str) -> std::result::Result<Rp3BetaParams, String> {
        params_from(params, &[("topk", "k")])
    }

    fn params_text(&self) -> String {
        non_default(self)
    }

    fn check(&self) -> Result<()> {
        if self.k == 0 {
            return bad_param("k", 0, "must be at least 1");
        }
        if !non_negative(self.alpha) {
            return bad_param("alpha", self.alpha, "must be a non-negative number");
        }
        if !non_negative(self.beta) {
            return bad_param("beta", self.beta, "must be a non-negative number");
        }
        Ok(())
    }

    fn load(dir: &Path) -> Result<Rp3BetaModel> {
        let file = ModelFile::read(dir)?;
        expect_kind(&file, Self::NAME)?;
        let history = History::load(&file)?;
        let weights = ItemWeights::load(&file, history.n_items(), "w.weights")?;
        Ok(Rp3BetaModel {
            params: file.params()?,
            history,
            weights,
        })
    }
}

impl Fit for Rp3BetaParams {
    type Model = Rp3BetaModel;

    fn fit(
        &self,
        train: &Interactions,
        _: &Dataset,
        _: Option<&Validate<'_>>,
    ) -> Result<Rp3BetaModel> {
        self.check()?;
        let n_items = train.n_items();
        let by_item = train.transpose();
        let step = |degree: usize| (degree as f32).powf(-self.alpha);
        let penalty: Vec<f32> = (0..n_items as u32)
            .map(|j| match by_item.items_of(j).len() {
                0 => 0.0,
                degree => (degree as f32).powf(-self.beta),
            })
            .collect();
        let rows: Vec<Vec<(ItemIdx, f32)>> = (0..n_items)
            .into_par_iter()
            .map_init(
                || vec![0.0f32; n_items],
                |walk, i| {
                    let users = by_item.items_of(i as u32);
                    if users.is_empty() {
                        return Vec::new();
                    }
                    let mut touched: Vec<ItemIdx> = Vec::new();
                    for &u in users {
                        let items = train.items_of(u);
                        let to_item = step(items.len());
                        for &j in items {
                            if walk[j as usize] == 0.0 {
                                touched.push(j);
                            }
                            walk[j as usize] += to_item;
                        }
                    }
                    let to_user = step(users.len());
                    let mut row: Vec<(ItemIdx, f32)> = Vec::with_capacity(touched.len());
                    for &j in &touched {
                        let sum = std::mem::take(&mut walk[j as usize]);
                        let weight = to_user * sum * penalty[j as usize];
                        if j as usize != i && weight != 0.0 {
                            row.push((j, weight));
                        }
                    }
                    keep_largest(&mut row, self.k);
                    row.sort_unstable_by_key(|&(j, _)| j);
                    if self.normalize {
                        let total: f32 = row.iter().map(|&(_, w)| w).sum();
                        row.iter_mut().for_each(|(_, w)| *w /= total);
                    }
                    row
                },
            )
            .collect();
        Ok(Rp3BetaModel {
            params: *self,
            history: History::of(train),
            weights: ItemWeights::from_rows(rows),
        })
    }
}

impl Recommender for Rp3BetaModel {
    fn kind(&self) -> &'static str {
        Rp3BetaParams::NAME
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
        self.weights.save(&mut tensors, "w.weights");
        store::write(dir, Rp3BetaParams::NAME, &self.params, tensors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{load_model, ModelSpec};

    /// Users 0: {0, 1}, 1: {1, 2}, 2: {1}. Item degrees 1, 3, 1; user degrees 2, 2, 1.
    fn train() -> Interactions {
        let pairs = [(0, 0), (0, 1), (1, 1), (1, 2), (2, 1)];
        Interactions::from_triples(3, 3, pairs.map(|(u, i)| (u, i, 1.0)))
    }

    fn scores(model: &dyn Recommender, user: UserIdx) -> Vec<f32> {
        let mut scores = vec![0.0; 3];
        model.score_user(user, &mut scores);
        scores
    }

    #[track_caller]
    fn assert_close(got: &[f32], want: &[f64]) {
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert!((*g as f64 - w).abs() < 1e-6, "{got:?} vs {want:?}");
        }
    }

    #[test]
    fn weights_match_a_hand_computed_walk() {
        // alpha = 1, beta = 0.5, by hand:
        // w(0, 1) = 1/1 · (1/2) · 3^-0.5;
        // w(1, 0) = 1/3 · (1/2) · 1 = 1/6, and w(1, 2) = 1/3 · (1/2) · 1 = 1/6;
        // w(2, 1) = 1/1 · (1/2) · 3^-0.5; every other weight is 0.
        let w01 = 0.5 / 3f64.sqrt();
        let raw = Rp3BetaParams {
            normalize: false,
            ..Rp3BetaParams::default()
        };
        let model = raw.fit(&train(), &Dataset::default(), None).unwrap();
        // User 0 holds items 0 and 1: rows 0 + 1.
        assert_close(&scores(&model, 0), &[1.0 / 6.0, w01, 1.0 / 6.0]);
        // User 1 holds items 1 and 2: rows 1 + 2.
        assert_close(&scores(&model, 1), &[1.0 / 6.0, w01, 1.0 / 6.0]);
        // User 2 holds item 1 only.
        assert_close(&scores(&model, 2), &[1.0 / 6.0, 0.0, 1.0 / 6.0]);

        // Rows scaled to sum to 1: row 0 = (0, 1, 0), row 1 = (1/2, 0, 1/2).
        let model = Rp3BetaParams::default()
            .fit(&train(), &Dataset::default(), None)
            .unwrap();
        assert_close(&scores(&model, 0), &[0.5, 1.0, 0.5]);

        // k = 1 keeps item 0 of row 1's tie between items 0 and 2.
        let top1 = Rp3BetaParams { k: 1, ..raw };
        let model = top1.fit(&train(), &Dataset::default(), None).unwrap();
        assert_close(&scores(&model, 2), &[1.0 / 6.0, 0.0, 0.0]);

        // alpha = 2: w(1, 0) = (1/3)² · (1/2)² · 1 = 1/36.
        let squared = Rp3BetaParams { alpha: 2.0, ..raw };
        let model = squared.fit(&train(), &Dataset::default(), None).unwrap();
        assert_close(&scores(&model, 2), &[1.0 / 36.0, 0.0, 1.0 / 36.0]);
        let mut history_scores = vec![0.0; 3];
        model.score_history(&[1], &mut history_scores).unwrap();
        assert_close(&history_scores, &[1.0 / 36.0, 0.0, 1.0 / 36.0]);
    }

    #[test]
    fn parses_by_name_and_reloads_with_the_same_scores() {
        let spec = ModelSpec::parse("rp3beta:topk=2;beta=0").unwrap();
        assert_eq!(spec.to_string(), "rp3beta:beta=0;k=2");
        assert!(spec.capabilities().scores_any_history);
        assert!(ModelSpec::parse("rp3beta:gamma=1")
            .unwrap_err()
            .to_string()
            .contains("alpha, beta, k, normalize"));
        let model = spec
            .fit(&train(), &Dataset::default(), None, &|_, _| {})
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        model.save(dir.path()).unwrap();
        let loaded = load_model(dir.path()).unwrap();
        assert_eq!(loaded.kind(), "rp3beta");
        for user in 0..3 {
            assert_eq!(scores(loaded.as_ref(), user), scores(model.as_ref(), user));
        }
    }
}
