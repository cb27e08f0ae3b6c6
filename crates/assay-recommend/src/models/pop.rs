//! Popularity: every user gets the items with the most training interactions.
//!
//! With `batch = 0` (the default) an item's score is its number of training users. RecBole 1.2.1's
//! `Pop` counts differently: `calculate_loss` runs `item_cnt[item] = item_cnt[item] + 1` on a
//! mini-batch, and an indexed assignment with repeated indices adds 1 once per batch, so an
//! item's count is the number of mini-batches that contain it. Every item popular enough to be
//! in nearly every batch ties at the top, and the tie order (item index) decides the ranking.
//! `batch > 0` reproduces that count over one seeded shuffle, to compare with RecBole's numbers.
//! RecBole trains `Pop` point-wise with one uniform negative per positive by default: a batch of
//! `batch` rows holds `batch / (1 + negatives)` positives, each followed by `negatives` items the
//! user has no training interaction with, and the negatives are counted too (the loss never looks
//! at the label). `pop:batch=2048;negatives=1` is RecBole 1.2.1's default configuration; it lands
//! near RecBole's published Pop numbers on ml-100k, far below true popularity.

use std::path::Path;

use assay_core::{Dataset, Interactions, UserIdx};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::{bad_param, expect_kind, load_f32};
use crate::store::{self, ModelFile, Tensors};
use crate::spec::{non_default, params_from};
use crate::{Fit, History, ModelKind, Recommender, Result, Validate};

/// Hyper-parameters of [`PopModel`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PopParams {
    /// 0: count training users. Otherwise count the shuffled mini-batches of this size that
    /// contain the item (RecBole's `Pop`).
    pub batch: usize,
    /// Seed of the shuffle when `batch > 0`.
    pub seed: u64,
    /// Uniformly sampled negatives per positive in each batch when `batch > 0` (RecBole's
    /// point-wise training rows); they count like positives.
    #[serde(default)]
    pub negatives: usize,
}

/// Fitted popularity: the number of training users of each item.
#[derive(Debug, Clone)]
pub struct PopModel {
    params: PopParams,
    history: History,
    counts: Vec<f32>,
}

impl Fit for PopParams {
    type Model = PopModel;

    fn fit(&self, train: &Interactions, _: &Dataset, _: Option<&Validate<'_>>) -> Result<PopModel> {
        self.check()?;
        let mut counts = vec![0.0f32; train.n_items()];
        if self.batch == 0 {
            for &item in train.indices() {
                counts[item as usize] += 1.0;
            }
        } else {
            counts = batch_counts(train, self);
        }
        Ok(PopModel {
            params: *self,
            history: History::of(train),
            counts,
        })
    }
}

impl ModelKind for PopParams {
    const NAME: &'static str = "pop";
    const ALIASES: &'static [&'static str] = &["popularity", "mostpop"];

    fn parse(_: &str, params: &str) -> std::result::Result<PopParams, String> {
        params_from(params, &[])
    }

    fn params_text(&self) -> String {
        non_default(self)
    }

    fn load(dir: &Path) -> Result<PopModel> {
        PopModel::load(dir)
    }

    /// A batch holds `batch / (1 + negatives)` positives, so the negatives of one positive
    /// must fit in a batch (which also keeps `1 + negatives` from overflowing).
    fn check(&self) -> Result<()> {
        if self.batch > 0 && self.negatives >= self.batch {
            return bad_param(
                "negatives",
                self.negatives,
                "must be less than batch (a batch holds each positive with its negatives)",
            );
        }
        Ok(())
    }

    fn with_seed(&self, seed: u64) -> PopParams {
        PopParams { seed, ..*self }
    }
}

/// The number of shuffled mini-batches containing each item, as a positive or as a sampled
/// negative (RecBole's duplicate-index assignment adds 1 once per batch).
fn batch_counts(train: &Interactions, params: &PopParams) -> Vec<f32> {
    let n_items = train.n_items();
    let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
    let mut pairs: Vec<(UserIdx, u32)> = (0..train.n_users() as UserIdx)
        .flat_map(|u| train.items_of(u).iter().map(move |&i| (u, i)))
        .collect();
    pairs.shuffle(&mut rng);
    let positives_per_batch = (params.batch / (1 + params.negatives)).max(1);
    let mut counts = vec![0.0f32; n_items];
    let mut last_batch = vec![usize::MAX; n_items];
    for (b, chunk) in pairs.chunks(positives_per_batch).enumerate() {
        let mut mark = |item: u32| {
            if last_batch[item as usize] != b {
                last_batch[item as usize] = b;
                counts[item as usize] += 1.0;
            }
        };
        for &(user, item) in chunk {
            mark(item);
            let seen = train.items_of(user);
            if seen.len() >= n_items {
                continue;
            }
            for _ in 0..params.negatives {
                // Rejection sampling like RecBole's sampler: redraw items the user has seen.
                let negative = loop {
                    let candidate = rng.random_range(0..n_items as u32);
                    if seen.binary_search(&candidate).is_err() {
                        break candidate;
                    }
                };
                mark(negative);
            }
        }
    }
    counts
}

impl PopModel {
    /// Reads a model written by [`Recommender::save`].
    pub fn load(dir: &Path) -> Result<PopModel> {
        let file = ModelFile::read(dir)?;
        expect_kind(&file, "pop")?;
        let history = History::load(&file)?;
        let counts = load_f32(&file, "counts", &[history.n_items()])?;
        let params = file.params()?;
        Ok(PopModel {
            params,
            history,
            counts,
        })
    }

    /// Training interactions per item.
    pub fn counts(&self) -> &[f32] {
        &self.counts
    }
}

impl Recommender for PopModel {
    fn kind(&self) -> &'static str {
        "pop"
    }

    fn history(&self) -> &History {
        &self.history
    }

    fn score_user(&self, _: UserIdx, scores: &mut [f32]) {
        scores.copy_from_slice(&self.counts);
    }

    fn write_files(&self, dir: &Path) -> Result<()> {
        let mut tensors = Tensors::default();
        self.history.save(&mut tensors);
        tensors.f32("counts", &[self.counts.len()], &self.counts);
        store::write(dir, "pop", &self.params, tensors)
    }
}
