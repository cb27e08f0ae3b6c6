//! Implicit alternating least squares (Hu, Koren, Volinsky 2008), solved with conjugate gradient
//! (Takács, Pilászy, Tikk 2011) as the `implicit` package does.
//!
//! Each observed pair has preference 1 and confidence `c = 1 + alpha·w` (w the training weight);
//! every other pair has preference 0 and confidence 1. A sweep fixes the item factors `Y` and
//! improves every user's `x_u` by `cg_steps` steps of conjugate gradient on
//! `(YᵀY + λI + Yᵀ(C_u - I)Y) x_u = Yᵀ C_u p_u`, warm-started from the current `x_u`; then the
//! same for items. `YᵀY` is computed once per sweep, so a user costs O(f² + nnz_u·f) per step.
//! Users (and items) are solved in parallel with rayon.

use std::path::Path;

use assay_core::{Dataset, Interactions, UserIdx};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{expect_kind, load_f32, non_negative};
use crate::store::{self, ModelFile, Tensors};
use crate::{Fit, History, RecommendError, Recommender, Result, Validate};

/// Hyper-parameters of [`AlsModel`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AlsParams {
    /// Latent dimension.
    pub factors: usize,
    /// L2 regularisation λ.
    pub reg: f32,
    /// Confidence slope: `c = 1 + alpha·w`.
    pub alpha: f32,
    /// Alternating sweeps (users then items).
    pub iterations: usize,
    /// Conjugate-gradient steps per user or item and sweep (implicit uses 3).
    pub cg_steps: usize,
    /// Seed of the initial factors (uniform in [0, 0.01), as implicit).
    pub seed: u64,
}

impl Default for AlsParams {
    fn default() -> AlsParams {
        AlsParams {
            factors: 64,
            reg: 0.01,
            alpha: 1.0,
            iterations: 15,
            cg_steps: 3,
            seed: 0,
        }
    }
}

/// Fitted ALS: user and item factors, row-major.
#[derive(Debug, Clone)]
pub struct AlsModel {
    params: AlsParams,
    history: History,
    user_factors: Vec<f32>,
    item_factors: Vec<f32>,
}

impl Fit for AlsParams {
    type Model = AlsModel;

    fn fit(
        &self,
        train: &Interactions,
        _: &Dataset,
        validate: Option<&Validate<'_>>,
    ) -> Result<AlsModel> {
        self.fit_with(train, validate, &|_, _| {})
    }
}

impl AlsParams {
    fn check(&self) -> Result<()> {
        let bad = |name, value: String, reason| {
            Err(RecommendError::Param {
                name,
                value,
                reason,
            })
        };
        if self.factors == 0 {
            return bad("factors", "0".into(), "must be at least 1");
        }
        if !non_negative(self.reg) {
            return bad("reg", self.reg.to_string(), "must be a non-negative number");
        }
        if !non_negative(self.alpha) {
            return bad(
                "alpha",
                self.alpha.to_string(),
                "must be a non-negative number",
            );
        }
        if self.cg_steps == 0 {
            return bad("cg_steps", "0".into(), "must be at least 1");
        }
        Ok(())
    }

    /// Fits, calling `on_iteration(iteration, validation score)` after every sweep. With
    /// `validate`, the factors of the best-scoring sweep are kept.
    pub fn fit_with(
        &self,
        train: &Interactions,
        validate: Option<&Validate<'_>>,
        on_iteration: &(dyn Fn(usize, Option<f64>) + Sync),
    ) -> Result<AlsModel> {
        self.check()?;
        let f = self.factors;
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let mut init =
            |n: usize| -> Vec<f32> { (0..n * f).map(|_| rng.random::<f32>() * 0.01).collect() };
        let mut model = AlsModel {
            params: *self,
            history: History::of(train),
            user_factors: init(train.n_users()),
            item_factors: init(train.n_items()),
        };
        let by_item = train.transpose();
        let mut best: Option<(f64, Vec<f32>, Vec<f32>)> = None;
        for iteration in 0..self.iterations {
            least_squares_cg(train, &mut model.user_factors, &model.item_factors, self);
            least_squares_cg(&by_item, &mut model.item_factors, &model.user_factors, self);
            let score = validate.map(|v| v(&model));
            if let Some(score) = score {
                if best.as_ref().is_none_or(|b| score > b.0) {
                    best = Some((
                        score,
                        model.user_factors.clone(),
                        model.item_factors.clone(),
                    ));
                }
            }
            on_iteration(iteration + 1, score);
        }
        if let Some((_, users, items)) = best {
            model.user_factors = users;
            model.item_factors = items;
        }
        Ok(model)
    }
}

/// One half-sweep: improves every row of `x` (rows of `matrix`) against the fixed `y`.
fn least_squares_cg(matrix: &Interactions, x: &mut [f32], y: &[f32], params: &AlsParams) {
    let f = params.factors;
    let yty = gram(y, f, params.reg);
    x.par_chunks_mut(f).enumerate().for_each_init(
        || vec![0.0f32; 3 * f],
        |buffers, (row, xu)| {
            let (r, rest) = buffers.split_at_mut(f);
            let (p, ap) = rest.split_at_mut(f);
            let items = matrix.items_of(row as u32);
            let weights = matrix.weights_of(row as u32);
            // r = b - A x, with b = Σ c_i y_i and A x = YᵀY x + Σ (c_i - 1)(y_i·x) y_i.
            symv(&yty, xu, r);
            r.iter_mut().for_each(|v| *v = -*v);
            for (&i, &w) in items.iter().zip(weights) {
                let yi = &y[i as usize * f..(i as usize + 1) * f];
                let c = 1.0 + params.alpha * w;
                axpy(c - (c - 1.0) * dot(yi, xu), yi, r);
            }
            p.copy_from_slice(r);
            let mut rs_old = dot(r, r);
            if rs_old < 1e-20 {
                return;
            }
            for _ in 0..params.cg_steps {
                symv(&yty, p, ap);
                for (&i, &w) in items.iter().zip(weights) {
                    let yi = &y[i as usize * f..(i as usize + 1) * f];
                    let c = 1.0 + params.alpha * w;
                    axpy((c - 1.0) * dot(yi, p), yi, ap);
                }
                let step = rs_old / dot(p, ap);
                axpy(step, p, xu);
                axpy(-step, ap, r);
                let rs_new = dot(r, r);
                if rs_new < 1e-20 {
                    break;
                }
                let beta = rs_new / rs_old;
                p.iter_mut()
                    .zip(r.iter())
                    .for_each(|(pv, &rv)| *pv = rv + beta * *pv);
                rs_old = rs_new;
            }
        },
    );
}

/// `YᵀY + reg·I` (f x f, row-major), summed over row chunks in parallel.
fn gram(y: &[f32], f: usize, reg: f32) -> Vec<f32> {
    let mut g = y
        .par_chunks(f * 256)
        .fold(
            || vec![0.0f32; f * f],
            |mut acc, chunk| {
                for row in chunk.chunks_exact(f) {
                    for (a, &ra) in row.iter().enumerate() {
                        axpy(ra, row, &mut acc[a * f..(a + 1) * f]);
                    }
                }
                acc
            },
        )
        .reduce(
            || vec![0.0f32; f * f],
            |mut a, b| {
                a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
                a
            },
        );
    for d in 0..f {
        g[d * f + d] += reg;
    }
    g
}

/// `out = M v` for square row-major `M`.
fn symv(m: &[f32], v: &[f32], out: &mut [f32]) {
    let f = v.len();
    for (o, row) in out.iter_mut().zip(m.chunks_exact(f)) {
        *o = dot(row, v);
    }
}

/// Dot product with eight independent accumulators so the compiler vectorises it.
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let chunks_a = a.chunks_exact(8);
    let chunks_b = b.chunks_exact(8);
    let tail: f32 = chunks_a
        .remainder()
        .iter()
        .zip(chunks_b.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (ca, cb) in chunks_a.zip(chunks_b) {
        for k in 0..8 {
            acc[k] += ca[k] * cb[k];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// `y += a x`.
pub(crate) fn axpy(a: f32, x: &[f32], y: &mut [f32]) {
    for (yv, &xv) in y.iter_mut().zip(x) {
        *yv += a * xv;
    }
}

/// Scores of every item for one user factor vector: `scores[j] = x · y_j`.
pub(crate) fn score_factors(xu: &[f32], items: &[f32], scores: &mut [f32]) {
    let f = xu.len();
    for (s, yj) in scores.iter_mut().zip(items.chunks_exact(f)) {
        *s = dot(xu, yj);
    }
}

impl AlsModel {
    /// Reads a model written by [`Recommender::save`].
    pub fn load(dir: &Path) -> Result<AlsModel> {
        let file = ModelFile::read(dir)?;
        expect_kind(&file, "als")?;
        let params: AlsParams = file.params()?;
        let history = History::load(&file)?;
        let f = params.factors;
        let user_factors = load_f32(&file, "user_factors", &[history.n_users(), f])?;
        let item_factors = load_f32(&file, "item_factors", &[history.n_items(), f])?;
        Ok(AlsModel {
            params,
            history,
            user_factors,
            item_factors,
        })
    }

    /// The hyper-parameters fitted with.
    pub fn params(&self) -> &AlsParams {
        &self.params
    }

    /// Item factors, row-major `n_items x factors`.
    pub fn item_factors(&self) -> &[f32] {
        &self.item_factors
    }
}

impl Recommender for AlsModel {
    fn kind(&self) -> &'static str {
        "als"
    }

    fn history(&self) -> &History {
        &self.history
    }

    fn score_user(&self, user: UserIdx, scores: &mut [f32]) {
        let f = self.params.factors;
        let xu = &self.user_factors[user as usize * f..(user as usize + 1) * f];
        score_factors(xu, &self.item_factors, scores);
    }

    fn save(&self, dir: &Path) -> Result<()> {
        let f = self.params.factors;
        let mut tensors = Tensors::default();
        self.history.save(&mut tensors);
        tensors.f32(
            "user_factors",
            &[self.history.n_users(), f],
            &self.user_factors,
        );
        tensors.f32(
            "item_factors",
            &[self.history.n_items(), f],
            &self.item_factors,
        );
        store::write(dir, "als", &self.params, tensors)
    }
}
