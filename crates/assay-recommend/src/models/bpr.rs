//! BPR matrix factorisation (Rendle et al. 2009), trained as RecBole's `BPR`.
//!
//! Score `u·i`; loss `-ln σ(u·i - u·j)` averaged over mini-batches of (user, positive,
//! negative) triples, one uniformly sampled negative (an item outside the user's training
//! items) per training pair; hand-written Adam with PyTorch's update rule over the whole
//! embedding tables (dense moments, as `torch.optim.Adam` on `nn.Embedding`); Xavier-normal
//! initialisation. With a validation callback it evaluates after every epoch and stops after
//! `patience` epochs without improvement, keeping the best epoch's embeddings (RecBole's
//! `stopping_step`). Defaults follow RecBole (64 factors, lr 0.001, batch 2048, 300 epochs)
//! except patience: 40 instead of RecBole's 10, because validation MRR@10 is noisy from epoch to
//! epoch at this learning rate and short patience stops some ml-100k seeds early (5 seeds,
//! validation MRR@10 / test NDCG@10: patience 10 0.390 / 0.2775; 20 0.400 / 0.2818; 40 0.405 /
//! 0.2859; 80 gives the same epochs as 40).

use std::path::Path;

use assay_core::{Dataset, Interactions, StepPoint, UserIdx};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr_normal::standard_normal;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use assay_core::math::dot;

use super::factors::{self, FactorModel, Factors, Schedule, NS_PER_MAC};
use super::{bad_param, expect_kind, non_negative, positive};
use crate::spec::{non_default, params_from};
use crate::store::{self, ModelFile, Tensors};
use crate::{
    Capabilities, DenseMemory, Fit, FitSize, History, ModelKind, RecommendError, Recommender,
    Result, TrainingLog, Validate, Work,
};

/// Hyper-parameters of [`BprModel`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BprParams {
    /// Embedding dimension.
    pub factors: usize,
    /// Adam learning rate.
    pub lr: f32,
    /// L2 penalty added to the gradient of every parameter (Adam `weight_decay`).
    pub reg: f32,
    /// Training triples per Adam step.
    pub batch: usize,
    /// Maximum number of epochs.
    pub epochs: usize,
    /// Epochs without validation improvement before stopping.
    pub patience: usize,
    /// Seed of initialisation, shuffling and negative sampling.
    pub seed: u64,
}

impl Default for BprParams {
    fn default() -> BprParams {
        BprParams {
            factors: 64,
            lr: 0.001,
            reg: 0.0,
            batch: 2048,
            epochs: 300,
            patience: 40,
            seed: 0,
        }
    }
}

/// Fitted BPR: user and item embeddings.
#[derive(Debug, Clone)]
pub struct BprModel {
    params: BprParams,
    history: History,
    factors: Factors,
    epochs_run: usize,
    log: Option<TrainingLog>,
}

impl Fit for BprParams {
    type Model = BprModel;

    fn fit(
        &self,
        train: &Interactions,
        data: &Dataset,
        validate: Option<&Validate<'_>>,
    ) -> Result<BprModel> {
        self.fit_with(train, data, validate, &|_, _| {})
    }
}

/// Adam state of one parameter table.
struct Adam {
    m: Vec<f32>,
    v: Vec<f32>,
}

impl Adam {
    fn new(n: usize) -> Adam {
        Adam {
            m: vec![0.0; n],
            v: vec![0.0; n],
        }
    }

    /// PyTorch's Adam step number `t` (from 1) on `params` with gradient `grad`.
    fn step(&mut self, params: &mut [f32], grad: &[f32], t: i32, lr: f32, reg: f32) {
        const B1: f32 = 0.9;
        const B2: f32 = 0.999;
        const EPS: f32 = 1e-8;
        let step_size = lr / (1.0 - B1.powi(t));
        let bc2_sqrt = (1.0 - B2.powi(t)).sqrt();
        const CHUNK: usize = 8192;
        params
            .par_chunks_mut(CHUNK)
            .zip(grad.par_chunks(CHUNK))
            .zip(self.m.par_chunks_mut(CHUNK))
            .zip(self.v.par_chunks_mut(CHUNK))
            .for_each(|(((p, g), m), v)| {
                for k in 0..p.len() {
                    let gk = g[k] + reg * p[k];
                    m[k] = B1 * m[k] + (1.0 - B1) * gk;
                    v[k] = B2 * v[k] + (1.0 - B2) * gk * gk;
                    let denom = v[k].sqrt() / bc2_sqrt + EPS;
                    p[k] -= step_size * m[k] / denom;
                }
            });
    }
}


impl ModelKind for BprParams {
    const NAME: &'static str = "bpr";
    const ALIASES: &'static [&'static str] = &["bprmf"];
    const CAPABILITIES: Capabilities = Capabilities::ITERATIVE;

    fn parse(_: &str, params: &str) -> std::result::Result<BprParams, String> {
        params_from(
            params,
            &[("embedding_size", "factors"), ("learning_rate", "lr")],
        )
    }

    fn params_text(&self) -> String {
        non_default(self)
    }

    fn load(dir: &Path) -> Result<BprModel> {
        BprModel::load(dir)
    }

    /// Six (users + items) x `factors` tables (factors, the best epoch's copy, gradients, Adam's two moments), in `f32`.
    fn dense_memory(&self, n_users: usize, n_items: usize) -> Option<DenseMemory> {
        let rows = n_users.saturating_add(n_items);
        Some(DenseMemory {
            bytes: assay_core::memory::dense_bytes(&[6, rows, self.factors], 4),
            what: format!("six (users + items) x {} tables (factors, the best epoch's copy, gradients, Adam's two moments)", self.factors),
            instead: "use fewer factors, or itemknn",
        })
    }

    /// Validated after every epoch: at least `patience + 1` epochs (all `epochs` when fewer)
    /// plus validation and test, each score a dot product. An epoch's own work (a few
    /// multiply-adds per interaction and factor) is small beside a ranking pass.
    fn work(&self, size: &FitSize) -> Work {
        let f = self.factors as f64;
        let epochs = self.epochs.min(self.patience.saturating_add(1)) as u64;
        Work {
            fit_ns: epochs as f64 * 6.0 * size.interactions as f64 * f * NS_PER_MAC,
            passes: epochs + 2,
            ns_per_score: assay_core::budget::NS_PER_SCORE + f * NS_PER_MAC,
        }
    }

    fn with_seed(&self, seed: u64) -> BprParams {
        BprParams { seed, ..*self }
    }

    fn check(&self) -> Result<()> {
        if self.factors == 0 {
            return bad_param("factors", 0, "must be at least 1");
        }
        if !positive(self.lr) {
            return bad_param("lr", self.lr, "must be a positive number");
        }
        if !non_negative(self.reg) {
            return bad_param("reg", self.reg, "must be a non-negative number");
        }
        if self.batch == 0 {
            return bad_param("batch", 0, "must be at least 1");
        }
        Ok(())
    }

    /// Fits, calling `on_epoch(epoch, validation score)` after every epoch.
    fn fit_with(
        &self,
        train: &Interactions,
        _: &Dataset,
        validate: Option<&Validate<'_>>,
        on_epoch: &(dyn Fn(usize, Option<f64>) + Sync),
    ) -> Result<BprModel> {
        self.check()?;
        if train.nnz() == 0 {
            return Err(RecommendError::Data("no training interactions".into()));
        }
        let f = self.factors;
        let (n_users, n_items) = (train.n_users(), train.n_items());
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        // Xavier normal on an (n, f) table: std = sqrt(2 / (n + f)).
        let mut xavier = |n: usize| -> Vec<f32> {
            let std = (2.0 / (n + f) as f64).sqrt();
            (0..n * f)
                .map(|_| (standard_normal(&mut rng) * std) as f32)
                .collect()
        };
        let mut model = BprModel {
            params: *self,
            history: History::of(train),
            factors: Factors {
                dim: f,
                users: xavier(n_users),
                items: xavier(n_items),
            },
            epochs_run: 0,
            log: None,
        };
        let mut pairs: Vec<(u32, u32)> = (0..n_users as u32)
            .flat_map(|u| train.items_of(u).iter().map(move |&i| (u, i)))
            .collect();
        let mut user_adam = Adam::new(n_users * f);
        let mut item_adam = Adam::new(n_items * f);
        let mut user_grad = vec![0.0f32; n_users * f];
        let mut item_grad = vec![0.0f32; n_items * f];
        let mut diff = vec![0.0f32; f];
        let mut t = 0i32;
        let schedule = Schedule {
            epochs: self.epochs,
            patience: Some(self.patience),
        };
        let mut steps = Vec::new();
        let mut log = factors::train(&mut model, schedule, validate, on_epoch, |model, epoch| {
            pairs.shuffle(&mut rng);
            let Factors { users, items, .. } = &mut model.factors;
            let mut epoch_loss = 0.0f64;
            for batch in pairs.chunks(self.batch) {
                user_grad.fill(0.0);
                item_grad.fill(0.0);
                let scale = 1.0 / batch.len() as f32;
                let mut batch_loss = 0.0f64;
                for &(u, i) in batch {
                    let j = sample_negative(train, u, n_items, &mut rng);
                    let (u, i, j) = (u as usize, i as usize, j as usize);
                    let pu = &users[u * f..(u + 1) * f];
                    let qi = &items[i * f..(i + 1) * f];
                    let qj = &items[j * f..(j + 1) * f];
                    for k in 0..f {
                        diff[k] = qi[k] - qj[k];
                    }
                    let x = dot(pu, &diff);
                    batch_loss += softplus(-f64::from(x));
                    // d/dx of -ln σ(x) is -σ(-x).
                    let g = -scale / (1.0 + x.exp());
                    for k in 0..f {
                        user_grad[u * f + k] += g * diff[k];
                        item_grad[i * f + k] += g * pu[k];
                        item_grad[j * f + k] -= g * pu[k];
                    }
                }
                t += 1;
                user_adam.step(users, &user_grad, t, self.lr, self.reg);
                item_adam.step(items, &item_grad, t, self.lr, self.reg);
                epoch_loss += batch_loss;
                steps.push(StepPoint {
                    epoch,
                    step: t as usize,
                    lr: self.lr as f64,
                    loss: batch_loss / batch.len() as f64,
                });
            }
            model.epochs_run = epoch;
            Some(epoch_loss / pairs.len().max(1) as f64)
        });
        log.steps = steps;
        model.log = Some(log);
        Ok(model)
    }
}

/// `ln(1 + e^x)` without overflow: BPR's loss `-ln σ(x)` is `softplus(-x)`.
fn softplus(x: f64) -> f64 {
    if x > 0.0 {
        x + (-x).exp().ln_1p()
    } else {
        x.exp().ln_1p()
    }
}

/// A uniformly random item outside `user`'s training items (any item when the user has them
/// all).
fn sample_negative(train: &Interactions, user: u32, n_items: usize, rng: &mut ChaCha8Rng) -> u32 {
    let seen = train.items_of(user);
    if seen.len() >= n_items {
        return rng.random_range(0..n_items as u32);
    }
    loop {
        let j = rng.random_range(0..n_items as u32);
        if seen.binary_search(&j).is_err() {
            return j;
        }
    }
}

mod rand_distr_normal {
    use rand::Rng;

    /// A standard normal draw by Box-Muller (one of the pair; simple and seeded).
    pub fn standard_normal(rng: &mut impl Rng) -> f64 {
        let u1: f64 = 1.0 - rng.random::<f64>();
        let u2: f64 = rng.random::<f64>();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

impl BprModel {
    /// Reads a model written by [`Recommender::save`].
    pub fn load(dir: &Path) -> Result<BprModel> {
        let file = ModelFile::read(dir)?;
        expect_kind(&file, "bpr")?;
        let params: BprParams = file.params()?;
        let history = History::load(&file)?;
        let factors = Factors::load(&file, &history, params.factors)?;
        Ok(BprModel {
            params,
            history,
            factors,
            epochs_run: 0,
            log: None,
        })
    }

    /// The hyper-parameters fitted with.
    pub fn params(&self) -> &BprParams {
        &self.params
    }

    /// Epochs trained (0 for a loaded model).
    pub fn epochs_run(&self) -> usize {
        self.epochs_run
    }
}

impl FactorModel for BprModel {
    fn factors_mut(&mut self) -> &mut Factors {
        &mut self.factors
    }
}

impl Recommender for BprModel {
    fn kind(&self) -> &'static str {
        "bpr"
    }

    fn history(&self) -> &History {
        &self.history
    }

    fn score_user(&self, user: UserIdx, scores: &mut [f32]) {
        self.factors.score_user(user, scores);
    }

    fn training_log(&self) -> Option<&TrainingLog> {
        self.log.as_ref()
    }

    fn write_files(&self, dir: &Path) -> Result<()> {
        let mut tensors = Tensors::default();
        self.history.save(&mut tensors);
        self.factors.save(&self.history, &mut tensors);
        store::write(dir, "bpr", &self.params, tensors)
    }
}
