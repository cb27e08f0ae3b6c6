//! Recommenders for assay, their model files, and offline evaluation on RecBole's protocol.
//!
//! The main trait is [`Recommender`]: a *fitted* model that scores every item for a user and
//! returns a top-K list without the user's training items. Hyper-parameters are plain structs
//! ([`PopParams`], [`ItemKnnParams`], [`EaseParams`], [`AlsParams`], [`BprParams`],
//! [`Gru4RecParams`], [`SasRecParams`], [`ContentParams`], [`HybridParams`]) whose [`Fit::fit`] turns training [`Interactions`] plus
//! the [`Dataset`] (for side information such as item text) into a model. [`ModelSpec`] names a
//! model and its parameters as text (`"itemknn:k=50"`), and [`eval::evaluate`] runs whole
//! protocols over seeds.
//!
//! Each model kind is described once, by its params struct implementing [`ModelKind`] (name,
//! parameter text, fit, load, [`Capabilities`]), and registered with one line in the models
//! module. Callers that need a model-specific path ask [`ModelSpec::capabilities`] or read the
//! typed parameters with [`ModelSpec::params`] instead of matching on kinds.
//!
//! Key design decision: every fitted model keeps the training history it was fitted on (a
//! [`History`]) and is scored through [`Recommender::score_user`] into a caller-owned buffer.
//! History-based models (ItemKNN, EASE, content) need the history to score at all, the
//! evaluator needs it to mask training items as RecBole does, and keeping it inside the model
//! means a model file is self-contained: `load(dir)` gives the same scores, bit for bit, with no
//! dataset at hand. Tensors are stored as safetensors, everything else as JSON (see [`store`]).
//!
//! [`Interactions`]: assay_core::Interactions
//! [`Dataset`]: assay_core::Dataset

#![warn(missing_docs)]

mod error;
mod history;
mod models;
mod spec;
mod training;

pub mod ctr;
pub mod eval;
pub mod store;

use std::path::Path;

use assay_core::{Dataset, Interactions, ItemIdx, UserIdx};

pub use assay_train::HugePageAlloc;
pub use error::{RecommendError, Result};
pub use history::History;
pub use models::als::{AlsModel, AlsParams};
pub use models::bpr::{BprModel, BprParams};
pub use models::content::{ContentModel, ContentParams};
pub use models::ease::{weights_from_gram as ease_weights_from_gram, EaseModel, EaseParams};
pub use models::fusion::{
    image_vectors, item_text, FusionMethod, FusionModel, FusionParams, Modality,
};
pub use models::gru4rec::Gru4RecParams;
pub use models::hybrid::{Fusion, HybridModel, HybridParams};
pub use models::itemknn::{ItemKnnModel, ItemKnnParams};
pub use models::pop::{PopModel, PopParams};
pub use models::rerank::{RerankModel, RerankParams};
pub use models::sasrec::SasRecParams;
pub use models::seqmodel::SequentialModel;
pub use spec::{
    load_model, Capabilities, DenseMemory, FitSize, ModelKind, ModelSpec, Work, MAX_GRID,
};
pub use training::{EpochLog, StopReason, TrainingLog};

/// A fitted model: scores items for users it was fitted on.
pub trait Recommender: Send + Sync {
    /// The model's kind as written in [`ModelSpec`] and model files ("ease", "itemknn"...).
    fn kind(&self) -> &'static str;

    /// The training items of every user, as fitted.
    fn history(&self) -> &History;

    /// Writes a score for every item into `scores` (length [`History::n_items`]); larger is
    /// better. Training items are scored too; [`Recommender::top_k`] removes them.
    ///
    /// # Panics
    /// When `user` is out of range or `scores` has the wrong length: a bug in the caller.
    fn score_user(&self, user: UserIdx, scores: &mut [f32]);

    /// Like [`Recommender::score_user`] for a user whose history went on, after the fit, with
    /// `newer` (sorted ascending), such as the validation item when the test item is scored.
    /// Order-aware models read them; the others score as fitted, the default.
    ///
    /// # Panics
    /// As [`Recommender::score_user`].
    fn score_user_after(&self, user: UserIdx, newer: &[ItemIdx], scores: &mut [f32]) {
        let _ = newer;
        self.score_user(user, scores);
    }

    /// What the last fit did epoch by epoch, for models that train in epochs and keep it;
    /// `None` otherwise and for a loaded model.
    fn training_log(&self) -> Option<&TrainingLog> {
        None
    }

    /// Writes into `scores` (length [`History::n_items`]) the score of every item for a user
    /// whose training items are `history` (sorted ascending), fitted on or not. Only models
    /// whose [`Capabilities::scores_any_history`] is set can; the others return
    /// [`RecommendError::Unsupported`].
    fn score_history(&self, history: &[ItemIdx], scores: &mut [f32]) -> Result<()> {
        let _ = (history, scores);
        Err(RecommendError::Unsupported {
            kind: self.kind(),
            what: "score a history they were not fitted on",
        })
    }

    /// The model a fit on `train` would give, when `train` is the fitted matrix less one
    /// user's row (their items were `gone`), computed without a full refit where the model's
    /// maths allows an exact update; `None` when it does not (refit instead). Used to remove
    /// a deleted customer's influence.
    fn forget_user(&self, train: &Interactions, gone: &[ItemIdx]) -> Option<Box<dyn Recommender>> {
        let _ = (train, gone);
        None
    }

    /// Writes the model's files (`meta.json`, `tensors.safetensors`, and folders of its own
    /// such as a hybrid's parts) into `dir`, a new directory that is created if missing. Call
    /// [`Recommender::save`], which stages these files and moves them into place whole.
    fn write_files(&self, dir: &Path) -> Result<()>;

    /// Saves the model as directory `dir` with [`store::save`]: all of it or nothing, replacing
    /// only a model folder (or an empty one); a folder holding anything else is refused with
    /// [`RecommendError::NotAModelDir`].
    fn save(&self, dir: &Path) -> Result<()> {
        store::save(dir, |staging| self.write_files(staging))
    }

    /// The `k` best items for `user` with their scores, best first, leaving out the user's
    /// training items and the items in `exclude` (any order). Ties go to the lower item index.
    fn top_k(&self, user: UserIdx, k: usize, exclude: &[ItemIdx]) -> Vec<(ItemIdx, f32)> {
        let mut scores = vec![0.0; self.history().n_items()];
        self.score_user(user, &mut scores);
        mask(&mut scores, self.history().items_of(user));
        mask(&mut scores, exclude);
        top_k_of(&scores, k)
    }
}

/// Turns hyper-parameters into a fitted model.
pub trait Fit {
    /// The fitted model.
    type Model: Recommender + 'static;

    /// Fits on the training matrix `train` (users x items), with `data` for side information.
    ///
    /// `validate`, when given, scores a candidate model on held-out data (larger is better);
    /// iterative models use it for early stopping and keep their best state.
    fn fit(
        &self,
        train: &Interactions,
        data: &Dataset,
        validate: Option<&Validate<'_>>,
    ) -> Result<Self::Model>;
}

/// A validation callback for early stopping: the score of a candidate model.
pub type Validate<'a> = dyn Fn(&dyn Recommender) -> f64 + Sync + 'a;

/// Sets `scores[i]` to negative infinity for every `i` in `items`.
pub fn mask(scores: &mut [f32], items: &[ItemIdx]) {
    for &item in items {
        scores[item as usize] = f32::NEG_INFINITY;
    }
}

/// The indices and values of the `k` largest finite-or-infinite scores other than negative
/// infinity, best first; ties broken by lower index (scores compared by `f32::total_cmp`, so
/// `0.0` ranks above `-0.0`). NaN scores are skipped.
///
/// One pass over `scores` that keeps at most `2k` candidates: once `k` are held, a score no
/// better than the `k`-th best so far (all of lower index) cannot enter and costs one
/// comparison. At 200,000 items this is what ranking every user costs, so it must not copy the
/// scores: the list it returns holds only its `k` entries. Measured on 200,000 scores with
/// k = 10 (2 shared cores, load average 12): 0.8 ns an item, against 13 ns for copying every
/// score into a candidate list and selecting from it.
pub fn top_k_of(scores: &[f32], k: usize) -> Vec<(ItemIdx, f32)> {
    if k == 0 {
        return Vec::new();
    }
    let better = |a: &(ItemIdx, f32), b: &(ItemIdx, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    let room = k.saturating_mul(2).min(scores.len());
    let mut kept: Vec<(ItemIdx, f32)> = Vec::with_capacity(room);
    // The k-th best score once `kept` has been cut to k; before that, anything enters.
    let mut threshold = f32::NEG_INFINITY;
    for (i, &s) in scores.iter().enumerate() {
        // Negative infinity (masked) and NaN never enter; an item no better than the
        // threshold loses to k items of lower index.
        if s.is_nan() || s.total_cmp(&threshold).is_le() {
            continue;
        }
        kept.push((i as ItemIdx, s));
        if kept.len() >= room && kept.len() > k {
            kept.select_nth_unstable_by(k - 1, better);
            kept.truncate(k);
            threshold = kept[k - 1].1;
        }
    }
    if kept.len() > k {
        kept.select_nth_unstable_by(k - 1, better);
        kept.truncate(k);
    }
    kept.sort_unstable_by(better);
    kept.shrink_to_fit();
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_orders_by_score_then_index_and_skips_masked() {
        let mut scores = [0.5, 2.0, 0.5, -1.0, 3.0];
        mask(&mut scores, &[4]);
        assert_eq!(top_k_of(&scores, 3), vec![(1, 2.0), (0, 0.5), (2, 0.5)]);
        assert_eq!(top_k_of(&scores, 10).len(), 4);
        assert!(top_k_of(&scores, 0).is_empty());
        // Only the kept entries are held, not room for every item.
        let many = vec![1.0f32; 100_000];
        assert!(top_k_of(&many, 10).capacity() < 100);
    }

    /// The list a full sort gives: every score but NaN and negative infinity, by
    /// `total_cmp` descending, then index ascending, cut to `k`.
    fn sorted_top_k(scores: &[f32], k: usize) -> Vec<(ItemIdx, f32)> {
        let mut all: Vec<(ItemIdx, f32)> = scores
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.is_nan() && **s != f32::NEG_INFINITY)
            .map(|(i, &s)| (i as ItemIdx, s))
            .collect();
        all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        all.truncate(k);
        all
    }

    #[test]
    fn top_k_agrees_with_a_full_sort_on_ties_zeros_and_masks() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        // Few distinct values, so ties are everywhere; signed zeros, infinities and NaN.
        let values = [
            0.0f32,
            -0.0,
            1.0,
            2.5,
            -3.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
        ];
        for round in 0..400 {
            let n = rng.random_range(0..300);
            let scores: Vec<f32> = (0..n)
                .map(|_| {
                    if round % 2 == 0 {
                        values[rng.random_range(0..values.len())]
                    } else {
                        rng.random_range(-5.0f32..5.0)
                    }
                })
                .collect();
            for k in [1, 2, 3, 10, 64, 299, 1000] {
                let got = top_k_of(&scores, k);
                let want = sorted_top_k(&scores, k);
                assert_eq!(got.len(), want.len(), "round {round}, k {k}");
                for (g, w) in got.iter().zip(&want) {
                    assert!(
                        g.0 == w.0 && g.1.to_bits() == w.1.to_bits(),
                        "round {round}, k {k}: {got:?} != {want:?}"
                    );
                }
            }
        }
    }
}
