//! Popularity: every user gets the items with the most training interactions.
//!
//! With `batch = 0` (the default) an item's score is its number of training users. RecBole 1.2.1's
//! `Pop` counts differently: `calculate_loss` runs `item_cnt[item] = item_cnt[item] + 1` on a
//! mini-batch, and an indexed assignment with repeated indices adds 1 once per batch, so an
//! item's count is the number of mini-batches that contain it. Every item popular enough to be
//! in nearly every batch ties at the top, and the tie order (item index) decides the ranking.
//! `batch > 0` reproduces that count over one seeded shuffle, to compare with RecBole's numbers.

use std::path::Path;

use assay_core::{Dataset, Interactions, UserIdx};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::{expect_kind, load_f32};
use crate::store::{self, ModelFile, Tensors};
use crate::{Fit, History, Recommender, Result, Validate};

/// Hyper-parameters of [`PopModel`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PopParams {
    /// 0: count training users. Otherwise count the shuffled mini-batches of this size that
    /// contain the item (RecBole's `Pop`).
    pub batch: usize,
    /// Seed of the shuffle when `batch > 0`.
    pub seed: u64,
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
        let mut counts = vec![0.0f32; train.n_items()];
        if self.batch == 0 {
            for &item in train.indices() {
                counts[item as usize] += 1.0;
            }
        } else {
            let mut items = train.indices().to_vec();
            items.shuffle(&mut ChaCha8Rng::seed_from_u64(self.seed));
            let mut last_batch = vec![usize::MAX; train.n_items()];
            for (b, chunk) in items.chunks(self.batch).enumerate() {
                for &item in chunk {
                    if last_batch[item as usize] != b {
                        last_batch[item as usize] = b;
                        counts[item as usize] += 1.0;
                    }
                }
            }
        }
        Ok(PopModel {
            params: *self,
            history: History::of(train),
            counts,
        })
    }
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

    fn save(&self, dir: &Path) -> Result<()> {
        let mut tensors = Tensors::default();
        self.history.save(&mut tensors);
        tensors.f32("counts", &[self.counts.len()], &self.counts);
        store::write(dir, "pop", &self.params, tensors)
    }
}
