//! What the matrix-factorisation models (ALS, BPR) share: user and item factor tables, how they
//! score, save and load, and the epoch loop that validates after every epoch and keeps the
//! best epoch's factors.

use std::cmp::Ordering;
use std::time::Instant;

use assay_core::math::dot;
use assay_core::UserIdx;

use super::load_f32;
use crate::store::{ModelFile, Tensors};
use crate::{EpochLog, History, Recommender, Result, StopReason, TrainingLog, Validate};

/// One thread's nanoseconds for one multiply-add of a factor model's scoring or training
/// (a dot product over factor rows read from memory), for time estimates.
pub(crate) const NS_PER_MAC: f64 = 0.5;

/// User and item factors, row-major `n_users x dim` and `n_items x dim`; a user's score for an
/// item is the dot product of their rows.
#[derive(Debug, Clone)]
pub(crate) struct Factors {
    /// Latent dimension.
    pub dim: usize,
    /// User rows.
    pub users: Vec<f32>,
    /// Item rows.
    pub items: Vec<f32>,
}

impl Factors {
    /// The row of `user`.
    pub fn user(&self, user: UserIdx) -> &[f32] {
        let u = user as usize;
        &self.users[u * self.dim..(u + 1) * self.dim]
    }

    /// `scores[j] = user · item_j` for every item.
    pub fn score_user(&self, user: UserIdx, scores: &mut [f32]) {
        let xu = self.user(user);
        for (s, yj) in scores.iter_mut().zip(self.items.chunks_exact(self.dim)) {
            *s = dot(xu, yj);
        }
    }

    /// Adds both tables to `tensors` (`user_factors`, `item_factors`).
    pub fn save(&self, history: &History, tensors: &mut Tensors) {
        let dim = self.dim;
        tensors.f32("user_factors", &[history.n_users(), dim], &self.users);
        tensors.f32("item_factors", &[history.n_items(), dim], &self.items);
    }

    /// Reads both tables and checks their shapes against `history`.
    pub fn load(file: &ModelFile, history: &History, dim: usize) -> Result<Factors> {
        Ok(Factors {
            dim,
            users: load_f32(file, "user_factors", &[history.n_users(), dim])?,
            items: load_f32(file, "item_factors", &[history.n_items(), dim])?,
        })
    }
}

/// A model trained epoch by epoch whose state is its [`Factors`].
pub(crate) trait FactorModel: Recommender {
    /// The factors being trained.
    fn factors_mut(&mut self) -> &mut Factors;
}

/// When to stop training.
pub(crate) struct Schedule {
    /// Most epochs to run.
    pub epochs: usize,
    /// With validation: epochs without improvement before stopping; `None` runs every epoch.
    pub patience: Option<usize>,
}

/// Runs `epoch(model, e)` (which returns the epoch's mean training loss, when it has one) for
/// `e` from 1 to `schedule.epochs`, calling `on_epoch(e, score)` after each. With `validate`,
/// every epoch is scored, the factors of the best-scoring epoch (the first of equals; a NaN
/// score never counts as better) are kept, and training stops after `schedule.patience` epochs
/// without improvement. Returns the curve: every epoch run, the epoch kept and why it stopped.
pub(crate) fn train<M: FactorModel>(
    model: &mut M,
    schedule: Schedule,
    validate: Option<&Validate<'_>>,
    on_epoch: &(dyn Fn(usize, Option<f64>) + Sync),
    mut epoch: impl FnMut(&mut M, usize) -> Option<f64>,
) -> TrainingLog {
    let mut best: Option<(f64, usize, Factors)> = None;
    let mut log = TrainingLog {
        epochs: Vec::new(),
        best_epoch: None,
        stop: Some(StopReason::MaxEpochs),
        steps: Vec::new(),
    };
    for e in 1..=schedule.epochs {
        let started = Instant::now();
        let loss = epoch(model, e);
        let score = validate.map(|v| v(&*model));
        on_epoch(e, score);
        log.epochs.push(EpochLog {
            epoch: e,
            loss,
            valid: score,
            seconds: Some(started.elapsed().as_secs_f64()),
        });
        let Some(score) = score else {
            continue;
        };
        match &best {
            Some((best_score, best_epoch, _))
                if score.partial_cmp(best_score) != Some(Ordering::Greater) =>
            {
                if schedule.patience.is_some_and(|p| e - best_epoch >= p) {
                    log.stop = Some(StopReason::Patience);
                    break;
                }
            }
            _ => best = Some((score, e, model.factors_mut().clone())),
        }
    }
    if let Some((_, e, factors)) = best {
        *model.factors_mut() = factors;
        log.best_epoch = Some(e);
    }
    log
}
