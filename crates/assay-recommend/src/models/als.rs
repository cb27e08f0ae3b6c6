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

use assay_core::math::dot;

use super::factors::{self, FactorModel, Factors, Schedule, NS_PER_MAC};
use super::{bad_param, expect_kind, non_negative};
use crate::spec::{non_default, params_from};
use crate::store::{self, ModelFile, Tensors};
use crate::{
    Capabilities, DenseMemory, Fit, FitSize, History, ModelKind, Recommender, Result, TrainingLog, Validate,
    Work,
};

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

/// Fitted ALS: user and item factors.
#[derive(Debug, Clone)]
pub struct AlsModel {
    params: AlsParams,
    history: History,
    factors: Factors,
    log: Option<TrainingLog>,
}

impl Fit for AlsParams {
    type Model = AlsModel;

    fn fit(
        &self,
        train: &Interactions,
        data: &Dataset,
        validate: Option<&Validate<'_>>,
    ) -> Result<AlsModel> {
        self.fit_with(train, data, validate, &|_, _| {})
    }
}

impl ModelKind for AlsParams {
    const NAME: &'static str = "als";
    const ALIASES: &'static [&'static str] = &["ials"];
    const CAPABILITIES: Capabilities = Capabilities::ITERATIVE;

    fn parse(_: &str, params: &str) -> std::result::Result<AlsParams, String> {
        params_from(
            params,
            &[("regularization", "reg"), ("embedding_size", "factors")],
        )
    }

    fn params_text(&self) -> String {
        non_default(self)
    }

    fn load(dir: &Path) -> Result<AlsModel> {
        AlsModel::load(dir)
    }

    /// Two (users + items) x `factors` factor tables (the model and the best sweep's copy), in `f32`.
    fn dense_memory(&self, n_users: usize, n_items: usize) -> Option<DenseMemory> {
        let rows = n_users.saturating_add(n_items);
        Some(DenseMemory {
            bytes: assay_core::memory::dense_bytes(&[2, rows, self.factors], 4),
            what: format!("two (users + items) x {} factor tables (the model and the best sweep's copy)", self.factors),
            instead: "use fewer factors, or itemknn",
        })
    }

    /// Each sweep runs `cg_steps` conjugate-gradient steps for every user and item (a
    /// `factors`-square product, and two dot products per interaction), and is validated:
    /// `iterations` passes plus validation and test, each score a dot product.
    fn work(&self, size: &FitSize) -> Work {
        let f = self.factors as f64;
        let rows = (size.users + size.items) as f64;
        let sweep = self.cg_steps as f64 * (rows * f * f + 4.0 * size.interactions as f64 * f);
        Work {
            fit_ns: self.iterations as f64 * sweep * NS_PER_MAC,
            passes: self.iterations as u64 + 2,
            ns_per_score: assay_core::budget::NS_PER_SCORE + f * NS_PER_MAC,
        }
    }

    fn with_seed(&self, seed: u64) -> AlsParams {
        AlsParams { seed, ..*self }
    }

    fn check(&self) -> Result<()> {
        if self.factors == 0 {
            return bad_param("factors", 0, "must be at least 1");
        }
        if !non_negative(self.reg) {
            return bad_param("reg", self.reg, "must be a non-negative number");
        }
        if !non_negative(self.alpha) {
            return bad_param("alpha", self.alpha, "must be a non-negative number");
        }
        if self.cg_steps == 0 {
            return bad_param("cg_steps", 0, "must be at least 1");
        }
        Ok(())
    }

    /// Fits, calling `on_epoch(sweep, validation score)` after every sweep. With `validate`,
    /// the factors of the best-scoring sweep are kept.
    fn fit_with(
        &self,
        train: &Interactions,
        _: &Dataset,
        validate: Option<&Validate<'_>>,
        on_epoch: &(dyn Fn(usize, Option<f64>) + Sync),
    ) -> Result<AlsModel> {
        self.check()?;
        let f = self.factors;
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let mut init =
            |n: usize| -> Vec<f32> { (0..n * f).map(|_| rng.random::<f32>() * 0.01).collect() };
        let mut model = AlsModel {
            params: *self,
            history: History::of(train),
            factors: Factors {
                dim: f,
                users: init(train.n_users()),
                items: init(train.n_items()),
            },
            log: None,
        };
        let by_item = train.transpose();
        let schedule = Schedule {
            epochs: self.iterations,
            patience: None,
        };
        // The weighted squared error is not computed: it would cost a share of every sweep.
        let log = factors::train(&mut model, schedule, validate, on_epoch, |model, _| {
            let Factors { users, items, .. } = &mut model.factors;
            least_squares_cg(train, users, items, self);
            least_squares_cg(&by_item, items, users, self);
            None
        });
        model.log = Some(log);
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

/// `YᵀY + reg·I` (f x f, row-major). Blocks of rows are summed in parallel and the block sums
/// added in block order: the blocks do not depend on the thread count, so neither do the bits.
fn gram(y: &[f32], f: usize, reg: f32) -> Vec<f32> {
    const BLOCK_ROWS: usize = 4096;
    let blocks: Vec<Vec<f32>> = y
        .par_chunks(f * BLOCK_ROWS)
        .map(|block| {
            let mut acc = vec![0.0f32; f * f];
            for row in block.chunks_exact(f) {
                for (a, &ra) in row.iter().enumerate() {
                    axpy(ra, row, &mut acc[a * f..(a + 1) * f]);
                }
            }
            acc
        })
        .collect();
    let mut g = vec![0.0f32; f * f];
    for block in blocks {
        g.iter_mut().zip(&block).for_each(|(x, y)| *x += y);
    }
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

/// `y += a x`.
fn axpy(a: f32, x: &[f32], y: &mut [f32]) {
    for (yv, &xv) in y.iter_mut().zip(x) {
        *yv += a * xv;
    }
}

impl AlsModel {
    /// Reads a model written by [`Recommender::save`].
    pub fn load(dir: &Path) -> Result<AlsModel> {
        let file = ModelFile::read(dir)?;
        expect_kind(&file, "als")?;
        let params: AlsParams = file.params()?;
        let history = History::load(&file)?;
        let factors = Factors::load(&file, &history, params.factors)?;
        Ok(AlsModel {
            params,
            history,
            factors,
            log: None,
        })
    }

    /// The hyper-parameters fitted with.
    pub fn params(&self) -> &AlsParams {
        &self.params
    }

    /// Item factors, row-major `n_items x factors`.
    pub fn item_factors(&self) -> &[f32] {
        &self.factors.items
    }
}

impl FactorModel for AlsModel {
    fn factors_mut(&mut self) -> &mut Factors {
        &mut self.factors
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
        self.factors.score_user(user, scores);
    }

    fn training_log(&self) -> Option<&TrainingLog> {
        self.log.as_ref()
    }

    fn write_files(&self, dir: &Path) -> Result<()> {
        let mut tensors = Tensors::default();
        self.history.save(&mut tensors);
        self.factors.save(&self.history, &mut tensors);
        store::write(dir, "als", &self.params, tensors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Gram matrix has the same bits whatever the number of threads that sums it.
    #[test]
    fn gram_bits_do_not_depend_on_the_thread_count() {
        let f = 8;
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let y: Vec<f32> = (0..30_000 * f).map(|_| rng.random::<f32>() - 0.5).collect();
        let with_threads = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| gram(&y, f, 0.1))
        };
        let one = with_threads(1);
        // Symmetric, and the diagonal holds the regularisation on top of a sum of squares.
        for a in 0..f {
            assert!(one[a * f + a] > 0.1);
            for b in 0..f {
                assert_eq!(one[a * f + b].to_bits(), one[b * f + a].to_bits());
            }
        }
        for threads in [2, 3, 7] {
            let bits = |g: &[f32]| g.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&with_threads(threads)), bits(&one), "{threads} threads");
        }
    }
}
