//! Small neural-network pieces on candle for the sequential models: named parameters with
//! seeded initialisation, and the layers written out as tensor operations (so every step has a
//! gradient and every random draw comes from the model's seed).

use candle_core::{Device, Tensor, Var};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::RecommendError;

/// A candle error in the words of this crate.
pub(crate) fn tensor_error(error: candle_core::Error) -> RecommendError {
    RecommendError::Training(error.to_string())
}

/// A named parameter's values: name, shape, values in row-major order.
pub(crate) type NamedValues = (String, Vec<usize>, Vec<f32>);

/// Shorthand for candle results.
pub(crate) type CResult<T> = candle_core::Result<T>;

/// A model's trainable parameters by name, in the order they were made.
#[derive(Debug, Clone, Default)]
pub(crate) struct Params {
    /// (name, variable).
    pub vars: Vec<(String, Var)>,
}

impl Params {
    /// A parameter of `shape` with the given values.
    pub fn add(&mut self, name: &str, shape: &[usize], values: Vec<f32>) -> CResult<Tensor> {
        let var = Var::from_tensor(&Tensor::from_vec(values, shape, &Device::Cpu)?)?;
        let tensor = var.as_tensor().clone();
        self.vars.push((name.to_owned(), var));
        Ok(tensor)
    }

    /// Copies of the current values, in order.
    pub fn snapshot(&self) -> CResult<Vec<Tensor>> {
        self.vars
            .iter()
            .map(|(_, v)| v.as_tensor().copy())
            .collect()
    }

    /// Sets every parameter to the values of a [`Params::snapshot`].
    pub fn restore(&self, values: &[Tensor]) -> CResult<()> {
        for ((_, var), value) in self.vars.iter().zip(values) {
            var.set(value)?;
        }
        Ok(())
    }

    /// Every parameter's name, shape and values.
    pub fn values(&self) -> CResult<Vec<NamedValues>> {
        self.vars
            .iter()
            .map(|(name, var)| {
                let t = var.as_tensor();
                Ok((name.clone(), t.dims().to_vec(), t.flatten_all()?.to_vec1()?))
            })
            .collect()
    }
}

/// `n` draws of a normal with mean 0 and standard deviation `std` (Box-Muller).
pub(crate) fn normal(rng: &mut ChaCha8Rng, n: usize, std: f64) -> Vec<f32> {
    (0..n)
        .map(|_| {
            let u1: f64 = 1.0 - rng.random::<f64>();
            let u2: f64 = rng.random::<f64>();
            ((-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos() * std) as f32
        })
        .collect()
}

/// `n` draws uniform on `[-bound, bound)`.
pub(crate) fn uniform(rng: &mut ChaCha8Rng, n: usize, bound: f64) -> Vec<f32> {
    (0..n)
        .map(|_| ((rng.random::<f64>() * 2.0 - 1.0) * bound) as f32)
        .collect()
}

/// `x W^T + b` over the last dimension, PyTorch's `nn.Linear` with `w` of shape (out, in).
pub(crate) fn linear(x: &Tensor, w: &Tensor, b: &Tensor) -> CResult<Tensor> {
    assay_train::ops::linear(x, w, Some(b))
}

/// Layer normalisation over the last dimension with scale `gamma` and shift `beta`.
pub(crate) fn layer_norm(x: &Tensor, gamma: &Tensor, beta: &Tensor, eps: f64) -> CResult<Tensor> {
    assay_train::ops::layer_norm(x, gamma, beta, eps)
}

/// The logistic function, written out so its gradient is candle's own.
pub(crate) fn sigmoid(x: &Tensor) -> CResult<Tensor> {
    (x.neg()?.exp()? + 1.0)?.recip()
}

/// Inverted dropout with a mask drawn from `rng`: each entry is zeroed with probability `p`
/// and the others scaled by `1 / (1 - p)`, as `nn.Dropout` in training mode. `None` (scoring)
/// or `p = 0` leaves `x` as it is.
pub(crate) fn dropout(x: &Tensor, p: f32, rng: Option<&mut ChaCha8Rng>) -> CResult<Tensor> {
    match rng {
        Some(rng) => assay_train::ops::dropout(x, f64::from(p), rng),
        None => Ok(x.clone()),
    }
}

/// Rows of `table` for the `(batch, len)` token ids: `(batch, len, dim)`.
pub(crate) fn embed(table: &Tensor, tokens: &Tensor) -> CResult<Tensor> {
    let (batch, len) = tokens.dims2()?;
    let dim = table.dim(1)?;
    table
        .index_select(&tokens.flatten_all()?, 0)?
        .reshape((batch, len, dim))
}

/// The `(batch, len)` token tensor of rows padded on the right with 0 to `len`.
pub(crate) fn token_tensor(rows: &[&[u32]], len: usize) -> CResult<Tensor> {
    let mut flat = vec![0u32; rows.len() * len];
    for (r, row) in rows.iter().enumerate() {
        flat[r * len..r * len + row.len()].copy_from_slice(row);
    }
    Tensor::from_vec(flat, (rows.len(), len), &Device::Cpu)
}

/// A `(len, len)` additive mask: 0 where a position may attend (itself and earlier ones),
/// -10000 after it, RecBole's causal mask.
pub(crate) fn causal_mask(len: usize) -> CResult<Tensor> {
    let values: Vec<f32> = (0..len * len)
        .map(|k| if k % len <= k / len { 0.0 } else { -10000.0 })
        .collect();
    Tensor::from_vec(values, (len, len), &Device::Cpu)
}
