// tidy: long file: each fused layer sits beside its forward, its backward and the tests that
// check both against the composed candle layers; splitting them would separate the pairs.
//! Fused CPU layers with their gradients: layer norm, softmax over the last dimension, GELU
//! (erf) and a bias add.
//!
//! Built from candle's primitive operations, each of these is five to ten tensors forward and
//! as many backward, and the gradients of a layer norm's scale and of every bias are sums over
//! the leading dimensions, which candle reduces one strided element at a time. One step of
//! fine-tuning MiniLM spent more time there than in its matrix products. Here each layer is one
//! pass over its rows forward and one backward, spread over rayon's threads.
//!
//! Every result has the same bits whatever the number of threads: rows are independent, and
//! sums over rows add fixed blocks of rows in block order.

use candle_core::backend::BackendStorage;
use candle_core::{
    CpuStorage, CustomOp1, CustomOp2, CustomOp3, DType, Layout, Shape, Storage, Tensor, WithDType,
};
use rayon::prelude::*;

type CResult<T> = candle_core::Result<T>;

/// Rows per block in sums over rows: the blocks' partial sums are added in block order.
const ROWS_PER_BLOCK: usize = 64;

/// The element types the fused layers run on.
pub(crate) trait Float: WithDType + Send + Sync {
    /// The elements of a CPU storage of this type, to write in place.
    fn storage_mut(storage: &mut CpuStorage) -> Option<&mut [Self]>;
}
impl Float for f32 {
    fn storage_mut(storage: &mut CpuStorage) -> Option<&mut [f32]> {
        match storage {
            CpuStorage::F32(v) => Some(v),
            _ => None,
        }
    }
}
impl Float for f64 {
    fn storage_mut(storage: &mut CpuStorage) -> Option<&mut [f64]> {
        match storage {
            CpuStorage::F64(v) => Some(v),
            _ => None,
        }
    }
}

/// The contiguous elements of a CPU storage under `layout`.
pub(crate) fn elements<'s, T: Float>(storage: &'s CpuStorage, layout: &Layout) -> CResult<&'s [T]> {
    let (start, end) = layout
        .contiguous_offsets()
        .ok_or_else(|| candle_core::Error::Msg("fused layer: input is not contiguous".into()))?;
    Ok(&storage.as_slice::<T>()?[start..end])
}

/// The contiguous elements of a CPU storage under `layout`, to write in place.
pub(crate) fn elements_mut<'s, T: Float>(
    storage: &'s mut CpuStorage,
    layout: &Layout,
) -> CResult<&'s mut [T]> {
    let (start, end) = layout
        .contiguous_offsets()
        .ok_or_else(|| candle_core::Error::Msg("in-place update: not contiguous".into()))?;
    let dtype = storage.dtype();
    T::storage_mut(storage)
        .map(|v| &mut v[start..end])
        .ok_or_else(|| candle_core::Error::Msg(format!("in-place update: {dtype:?} storage")))
}

/// Runs `f` on the contiguous elements of `t` (copied first when `t` is strided).
pub(crate) fn with_elements<T: Float, R>(
    t: &Tensor,
    f: impl FnOnce(&[T]) -> CResult<R>,
) -> CResult<R> {
    let t = t.contiguous()?;
    let (storage, layout) = t.storage_and_layout();
    match &*storage {
        Storage::Cpu(cpu) => f(elements::<T>(cpu, layout)?),
        _ => Err(candle_core::Error::Msg(
            "fused layers run on the CPU only".into(),
        )),
    }
}

fn last_dim(shape: &Shape) -> CResult<usize> {
    match shape.dims().last() {
        Some(&n) if n > 0 => Ok(n),
        _ => Err(candle_core::Error::Msg(format!(
            "fused layer: shape {shape:?} has no last dimension"
        ))),
    }
}

/// Sums of `per_row(row_index) -> n values` over all rows, in fixed blocks added in order.
fn sum_rows<T: Float>(rows: usize, n: usize, per_row: impl Fn(usize, &mut [f64]) + Sync) -> Vec<T> {
    let blocks: Vec<Vec<f64>> = (0..rows.div_ceil(ROWS_PER_BLOCK))
        .into_par_iter()
        .map(|b| {
            let mut acc = vec![0.0; n];
            for r in b * ROWS_PER_BLOCK..((b + 1) * ROWS_PER_BLOCK).min(rows) {
                per_row(r, &mut acc);
            }
            acc
        })
        .collect();
    let mut total = vec![0.0; n];
    for block in &blocks {
        for (t, v) in total.iter_mut().zip(block) {
            *t += v;
        }
    }
    total.into_iter().map(T::from_f64).collect()
}

fn storage_of<T: Float>(values: Vec<T>) -> CpuStorage {
    T::to_cpu_storage_owned(values)
}

fn tensor_like<T: Float>(values: Vec<T>, like: &Tensor) -> CResult<Tensor> {
    Tensor::from_vec(values, like.shape(), like.device())
}

macro_rules! by_dtype {
    ($dtype:expr, $f:ident ( $($arg:expr),* )) => {
        match $dtype {
            DType::F32 => $f::<f32>($($arg),*),
            DType::F64 => $f::<f64>($($arg),*),
            other => Err(candle_core::Error::Msg(format!(
                "fused layers take f32 or f64, not {other:?}"
            ))),
        }
    };
}
pub(crate) use by_dtype;

// ---------------------------------------------------------------- layer norm

/// Layer normalisation over the last dimension: `(x - mean) / sqrt(var + eps) * weight + bias`,
/// with the biased variance, as BERT's `LayerNorm`.
pub fn layer_norm(x: &Tensor, weight: &Tensor, bias: &Tensor, eps: f64) -> CResult<Tensor> {
    x.contiguous()?.apply_op3(
        &weight.contiguous()?,
        &bias.contiguous()?,
        LayerNorm { eps },
    )
}

struct LayerNorm {
    eps: f64,
}

/// Mean and 1 / standard deviation of one row.
fn moments<T: Float>(row: &[T], eps: f64) -> (f64, f64) {
    let n = row.len() as f64;
    let mean = row.iter().map(|v| v.to_f64()).sum::<f64>() / n;
    let var = row
        .iter()
        .map(|v| {
            let d = v.to_f64() - mean;
            d * d
        })
        .sum::<f64>()
        / n;
    (mean, 1.0 / (var + eps).sqrt())
}

fn layer_norm_fwd<T: Float>(x: &[T], w: &[T], b: &[T], n: usize, eps: f64) -> CResult<Vec<T>> {
    if w.len() != n || b.len() != n {
        return Err(candle_core::Error::Msg(format!(
            "layer norm over {n} values got a weight of {} and a bias of {}",
            w.len(),
            b.len()
        )));
    }
    let mut out = vec![T::zero(); x.len()];
    out.par_chunks_mut(n)
        .zip(x.par_chunks(n))
        .for_each(|(o, row)| {
            let (mean, rstd) = moments(row, eps);
            for j in 0..n {
                let h = (row[j].to_f64() - mean) * rstd;
                o[j] = T::from_f64(h * w[j].to_f64() + b[j].to_f64());
            }
        });
    Ok(out)
}

/// Gradients of the input, the weight and the bias of a layer norm.
fn layer_norm_bwd<T: Float>(
    x: &[T],
    w: &[T],
    g: &[T],
    n: usize,
    eps: f64,
) -> CResult<(Vec<T>, Vec<T>, Vec<T>)> {
    let mut dx = vec![T::zero(); x.len()];
    dx.par_chunks_mut(n)
        .zip(x.par_chunks(n).zip(g.par_chunks(n)))
        .for_each(|(d, (row, grow))| {
            let (mean, rstd) = moments(row, eps);
            let mut mean_gw = 0.0;
            let mut mean_gwh = 0.0;
            for j in 0..n {
                let gw = grow[j].to_f64() * w[j].to_f64();
                mean_gw += gw;
                mean_gwh += gw * (row[j].to_f64() - mean) * rstd;
            }
            mean_gw /= n as f64;
            mean_gwh /= n as f64;
            for j in 0..n {
                let h = (row[j].to_f64() - mean) * rstd;
                let gw = grow[j].to_f64() * w[j].to_f64();
                d[j] = T::from_f64(rstd * (gw - mean_gw - h * mean_gwh));
            }
        });
    let rows = x.len() / n;
    // The weight's gradient sums g * x_hat over rows; recomputing x_hat per row is cheaper than
    // keeping it.
    let dw = sum_rows::<T>(rows, 2 * n, |r, acc| {
        let row = &x[r * n..(r + 1) * n];
        let grow = &g[r * n..(r + 1) * n];
        let (mean, rstd) = moments(row, eps);
        for j in 0..n {
            let gj = grow[j].to_f64();
            acc[j] += gj * (row[j].to_f64() - mean) * rstd;
            acc[n + j] += gj;
        }
    });
    let db = dw[n..].to_vec();
    let mut dw = dw;
    dw.truncate(n);
    Ok((dx, dw, db))
}

impl CustomOp3 for LayerNorm {
    fn name(&self) -> &'static str {
        "fused-layer-norm"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> CResult<(CpuStorage, Shape)> {
        fn run<T: Float>(
            op: &LayerNorm,
            s: [(&CpuStorage, &Layout); 3],
        ) -> CResult<(CpuStorage, Shape)> {
            let n = last_dim(s[0].1.shape())?;
            let out = layer_norm_fwd(
                elements::<T>(s[0].0, s[0].1)?,
                elements::<T>(s[1].0, s[1].1)?,
                elements::<T>(s[2].0, s[2].1)?,
                n,
                op.eps,
            )?;
            Ok((storage_of(out), s[0].1.shape().clone()))
        }
        by_dtype!(s1.dtype(), run(self, [(s1, l1), (s2, l2), (s3, l3)]))
    }

    fn bwd(
        &self,
        x: &Tensor,
        weight: &Tensor,
        _bias: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> CResult<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        fn run<T: Float>(
            eps: f64,
            x: &Tensor,
            weight: &Tensor,
            grad: &Tensor,
        ) -> CResult<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
            let n = last_dim(x.shape())?;
            let (dx, dw, db) = with_elements::<T, _>(x, |xs| {
                with_elements::<T, _>(weight, |ws| {
                    with_elements::<T, _>(grad, |gs| layer_norm_bwd(xs, ws, gs, n, eps))
                })
            })?;
            Ok((
                Some(tensor_like(dx, x)?),
                Some(tensor_like(dw, weight)?),
                Some(tensor_like(db, weight)?),
            ))
        }
        by_dtype!(x.dtype(), run(self.eps, x, weight, grad))
    }
}

/// The sum of the squares of `t`'s elements, in f64, added in element order: no tensor is
/// allocated (a gradient of a vocabulary's embeddings is tens of MB).
pub fn sum_of_squares(t: &Tensor) -> CResult<f64> {
    fn run<T: Float>(t: &Tensor) -> CResult<f64> {
        with_elements::<T, _>(t, |xs| {
            Ok(xs
                .iter()
                .map(|x| {
                    let x = x.to_f64();
                    x * x
                })
                .sum())
        })
    }
    by_dtype!(t.dtype(), run(t))
}

// ---------------------------------------------------------------- softmax

/// Softmax over the last dimension.
pub fn softmax_last_dim(x: &Tensor) -> CResult<Tensor> {
    x.contiguous()?.apply_op1(Softmax { scale: 1.0 })
}

/// Softmax over the last dimension of `scale * scores + bias`, the attention weights of a
/// transformer in one pass: `scores` is `(batch, ..., n)` and `bias` `(batch, n)`, added to every
/// row of its batch (0 where a token is attended, the most negative float where it is padding).
/// The bias takes no gradient. Composed from candle's operations this is three passes forward
/// and as many backward over the largest tensor of a layer.
pub fn scaled_masked_softmax(scores: &Tensor, bias: &Tensor, scale: f64) -> CResult<Tensor> {
    scores
        .contiguous()?
        .apply_op2(&bias.contiguous()?, Softmax { scale })
}

/// The softmax of `scale * x`, plus a bias per batch when applied to two tensors.
struct Softmax {
    scale: f64,
}

/// Softmax of each row of `n` values of `scale * x + bias`, where row `r` adds the bias row
/// `r / rows_per_bias` of `bias` (when given) elementwise.
fn softmax_rows<T: Float>(x: &[T], n: usize, scale: f64, bias: Option<(&[T], usize)>) -> Vec<T> {
    let mut out = vec![T::zero(); x.len()];
    out.par_chunks_mut(n)
        .zip(x.par_chunks(n))
        .enumerate()
        .for_each(|(r, (o, row))| {
            let bias_row = bias.map(|(b, per)| &b[(r / per) * n..(r / per + 1) * n]);
            let at = |j: usize| scale * row[j].to_f64() + bias_row.map_or(0.0, |b| b[j].to_f64());
            let max = (0..n).map(at).fold(f64::NEG_INFINITY, f64::max);
            let mut sum = 0.0;
            for (j, o) in o.iter_mut().enumerate() {
                let e = exp_of::<T>(at(j) - max);
                sum += e;
                *o = T::from_f64(e);
            }
            for o in o.iter_mut() {
                *o = T::from_f64(o.to_f64() / sum);
            }
        });
    out
}

/// `scale * y * (g - sum(g * y))` per row: the gradient of `x` for a softmax of `scale * x`
/// (plus any bias) whose output is `y`.
fn softmax_bwd<T: Float>(y: &[T], g: &[T], n: usize, scale: f64) -> Vec<T> {
    let mut out = vec![T::zero(); y.len()];
    out.par_chunks_mut(n)
        .zip(y.par_chunks(n).zip(g.par_chunks(n)))
        .for_each(|(o, (yr, gr))| {
            let dot: f64 = yr
                .iter()
                .zip(gr)
                .map(|(y, g)| y.to_f64() * g.to_f64())
                .sum();
            for j in 0..n {
                o[j] = T::from_f64(scale * yr[j].to_f64() * (gr[j].to_f64() - dot));
            }
        });
    out
}

/// Rows of `scores` per row of `bias`, checking that the shapes fit.
fn rows_per_bias(scores: &Shape, bias: &Shape) -> CResult<usize> {
    let n = last_dim(scores)?;
    let (batch, width) = bias.dims2()?;
    let rows = scores.elem_count() / n;
    if width != n || batch == 0 || scores.dims().first() != Some(&batch) {
        return Err(candle_core::Error::Msg(format!(
            "masked softmax: scores {scores:?} and bias {bias:?} do not fit"
        )));
    }
    Ok(rows / batch)
}

/// The forward pass of [`Softmax`] with scale `scale`, with a bias when given.
fn softmax_forward<T: Float>(
    scale: f64,
    s: &CpuStorage,
    l: &Layout,
    bias: Option<(&CpuStorage, &Layout)>,
) -> CResult<(CpuStorage, Shape)> {
    let n = last_dim(l.shape())?;
    let bias = match bias {
        Some((b, bl)) => Some((elements::<T>(b, bl)?, rows_per_bias(l.shape(), bl.shape())?)),
        None => None,
    };
    let y = softmax_rows(elements::<T>(s, l)?, n, scale, bias);
    Ok((storage_of(y), l.shape().clone()))
}

/// The gradient of [`Softmax`]'s input, from its output `res` and the output's gradient.
fn softmax_backward<T: Float>(scale: f64, res: &Tensor, grad: &Tensor) -> CResult<Tensor> {
    let n = last_dim(res.shape())?;
    let dx = with_elements::<T, _>(res, |ys| {
        with_elements::<T, _>(grad, |gs| Ok(softmax_bwd(ys, gs, n, scale)))
    })?;
    tensor_like(dx, res)
}

impl CustomOp1 for Softmax {
    fn name(&self) -> &'static str {
        "fused-softmax"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> CResult<(CpuStorage, Shape)> {
        by_dtype!(s.dtype(), softmax_forward(self.scale, s, l, None))
    }

    fn bwd(&self, _x: &Tensor, res: &Tensor, grad: &Tensor) -> CResult<Option<Tensor>> {
        Ok(Some(by_dtype!(
            res.dtype(),
            softmax_backward(self.scale, res, grad)
        )?))
    }
}

impl CustomOp2 for Softmax {
    fn name(&self) -> &'static str {
        "fused-masked-softmax"
    }

    fn cpu_fwd(
        &self,
        s: &CpuStorage,
        l: &Layout,
        b: &CpuStorage,
        bl: &Layout,
    ) -> CResult<(CpuStorage, Shape)> {
        by_dtype!(s.dtype(), softmax_forward(self.scale, s, l, Some((b, bl))))
    }

    fn bwd(
        &self,
        _scores: &Tensor,
        _bias: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> CResult<(Option<Tensor>, Option<Tensor>)> {
        let dx = by_dtype!(res.dtype(), softmax_backward(self.scale, res, grad))?;
        Ok((Some(dx), None))
    }
}

// ---------------------------------------------------------------- GELU

/// GELU with the exact normal CDF, `x * Phi(x)`, as BERT's `gelu`.
pub fn gelu_erf(x: &Tensor) -> CResult<Tensor> {
    x.contiguous()?.apply_op1(Gelu)
}

struct Gelu;

/// Elements per task in the element-wise loops: long enough for the inner loop to run in
/// vector registers, short enough to spread over the threads.
const ELEMENTS_PER_TASK: usize = 4096;

/// `e^x` for the f32 layers, in f64: `2^n e^r` with `|r| <= ln 2 / 2` and `e^r` by its Taylor
/// series to degree 9 (relative error below 1e-10, far under f32's 6e-8), and no call, so
/// that loops over it run in vector registers. libm's `exp` is a call per element, and the
/// GELUs of one forward pass evaluate it millions of times. Below -708 it is 0, as `exp`.
#[inline(always)]
fn exp_for_f32(x: f64) -> f64 {
    // Adding 1.5 * 2^52 rounds to an integer in the low mantissa bits, with plain additions:
    // `round`, `floor` and `mul_add` are calls on baseline x86-64, which would stop the loops
    // from running in vector registers.
    const SHIFTER: f64 = 6_755_399_441_055_744.0;
    let clamped = x.clamp(-708.0, 709.0);
    let shifted = clamped * std::f64::consts::LOG2_E + SHIFTER;
    let n = shifted - SHIFTER;
    let r = clamped - n * std::f64::consts::LN_2;
    let mut p: f64 = 1.0 / 362_880.0;
    for c in [
        1.0 / 40_320.0,
        1.0 / 5_040.0,
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
        1.0,
    ] {
        p = p * r + c;
    }
    // 2^n in the exponent bits; n is in [-1022, 1023] after the clamp.
    let n_bits = shifted.to_bits().wrapping_sub(SHIFTER.to_bits());
    let scale = f64::from_bits(n_bits.wrapping_add(1023) << 52);
    if x < -708.0 {
        0.0
    } else {
        p * scale
    }
}

/// The standard normal CDF. f64 layers use libm's erf; f32 layers use Abramowitz and Stegun's
/// 7.1.26 (absolute error below 1.5e-7, about f32's resolution near 1) with [`exp_for_f32`],
/// several times faster: the GELUs of one fine-tuning step evaluate it tens of millions of
/// times.
#[inline(always)]
fn phi<T: Float>(x: f64) -> f64 {
    let z = x * std::f64::consts::FRAC_1_SQRT_2;
    let erf = if T::DTYPE == DType::F64 {
        libm::erf(z)
    } else {
        let a = z.abs();
        let t = 1.0 / (1.0 + 0.327_591_1 * a);
        let poly = t
            * (0.254_829_592
                + t * (-0.284_496_736
                    + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
        (1.0 - poly * exp_for_f32(-a * a)).copysign(z)
    };
    0.5 * (1.0 + erf)
}

/// `e^x` at the precision the layer's type needs: libm for f64, [`exp_for_f32`] for f32.
#[inline(always)]
pub(crate) fn exp_of<T: Float>(x: f64) -> f64 {
    if T::DTYPE == DType::F64 {
        x.exp()
    } else {
        exp_for_f32(x)
    }
}

fn gelu_fwd<T: Float>(x: &[T]) -> Vec<T> {
    let mut out = vec![T::zero(); x.len()];
    out.par_chunks_mut(ELEMENTS_PER_TASK)
        .zip(x.par_chunks(ELEMENTS_PER_TASK))
        .for_each(|(o, xs)| {
            for (o, v) in o.iter_mut().zip(xs) {
                let v = v.to_f64();
                *o = T::from_f64(v * phi::<T>(v));
            }
        });
    out
}

/// `g * (Phi(x) + x * pdf(x))`.
fn gelu_bwd<T: Float>(x: &[T], g: &[T]) -> Vec<T> {
    const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;
    let mut out = vec![T::zero(); x.len()];
    out.par_chunks_mut(ELEMENTS_PER_TASK)
        .zip(
            x.par_chunks(ELEMENTS_PER_TASK)
                .zip(g.par_chunks(ELEMENTS_PER_TASK)),
        )
        .for_each(|(o, (xs, gs))| {
            for ((o, v), g) in o.iter_mut().zip(xs).zip(gs) {
                let v = v.to_f64();
                let pdf = INV_SQRT_2PI * exp_of::<T>(-0.5 * v * v);
                *o = T::from_f64(g.to_f64() * (phi::<T>(v) + v * pdf));
            }
        });
    out
}

impl CustomOp1 for Gelu {
    fn name(&self) -> &'static str {
        "fused-gelu-erf"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> CResult<(CpuStorage, Shape)> {
        fn run<T: Float>(s: &CpuStorage, l: &Layout) -> CResult<(CpuStorage, Shape)> {
            Ok((
                storage_of(gelu_fwd(elements::<T>(s, l)?)),
                l.shape().clone(),
            ))
        }
        by_dtype!(s.dtype(), run(s, l))
    }

    fn bwd(&self, x: &Tensor, _res: &Tensor, grad: &Tensor) -> CResult<Option<Tensor>> {
        fn run<T: Float>(x: &Tensor, grad: &Tensor) -> CResult<Option<Tensor>> {
            let dx = with_elements::<T, _>(x, |xs| {
                with_elements::<T, _>(grad, |gs| Ok(gelu_bwd(xs, gs)))
            })?;
            Ok(Some(tensor_like(dx, x)?))
        }
        by_dtype!(x.dtype(), run(x, grad))
    }
}

// ---------------------------------------------------------------- bias

/// `x + bias`, the bias broadcast over every leading dimension of `x`.
pub fn add_bias(x: &Tensor, bias: &Tensor) -> CResult<Tensor> {
    x.contiguous()?.apply_op2(&bias.contiguous()?, AddBias)
}

/// A linear layer `x @ weight^T + bias` on the fused bias add (`weight` is `(out, in)`, as in
/// PyTorch and safetensors checkpoints).
pub fn linear(x: &Tensor, weight: &Tensor, bias: Option<&Tensor>) -> CResult<Tensor> {
    rows_times(x, &weight.t()?, bias)
}

/// [`linear`] with the weight stored transposed, `(in, out)` and contiguous: the layout a
/// matrix product reads without repacking. Through `weight^T` the product repacks the whole
/// weight, element by element, on every call, which costs more than the product itself when
/// `x` has few rows (one short query: 3 to 13 times the time); an inference model stores its
/// weights this way once.
pub fn linear_in_out(x: &Tensor, weight_in_out: &Tensor, bias: Option<&Tensor>) -> CResult<Tensor> {
    rows_times(x, weight_in_out, bias)
}

/// `x` as rows `(.., in)` times `rhs` `(in, out)`, plus `bias`, in `x`'s leading shape.
fn rows_times(x: &Tensor, rhs: &Tensor, bias: Option<&Tensor>) -> CResult<Tensor> {
    let dims = x.dims();
    let inner = *dims
        .last()
        .ok_or_else(|| candle_core::Error::Msg("linear: a scalar input".into()))?;
    let rows = x.elem_count() / inner.max(1);
    let y = x.contiguous()?.reshape((rows, inner))?.matmul(rhs)?;
    let y = match bias {
        Some(b) => add_bias(&y, b)?,
        None => y,
    };
    let mut out_dims = dims.to_vec();
    if let Some(last) = out_dims.last_mut() {
        *last = rhs.dim(1)?;
    }
    y.reshape(out_dims)
}

struct AddBias;

impl CustomOp2 for AddBias {
    fn name(&self) -> &'static str {
        "fused-add-bias"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> CResult<(CpuStorage, Shape)> {
        fn run<T: Float>(
            s1: &CpuStorage,
            l1: &Layout,
            s2: &CpuStorage,
            l2: &Layout,
        ) -> CResult<(CpuStorage, Shape)> {
            let n = last_dim(l1.shape())?;
            let x = elements::<T>(s1, l1)?;
            let b = elements::<T>(s2, l2)?;
            if b.len() != n {
                return Err(candle_core::Error::Msg(format!(
                    "a bias of {} for rows of {n}",
                    b.len()
                )));
            }
            let mut out = x.to_vec();
            out.par_chunks_mut(n).for_each(|row| {
                for (v, b) in row.iter_mut().zip(b) {
                    *v += *b;
                }
            });
            Ok((storage_of(out), l1.shape().clone()))
        }
        by_dtype!(s1.dtype(), run(s1, l1, s2, l2))
    }

    fn bwd(
        &self,
        _x: &Tensor,
        bias: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> CResult<(Option<Tensor>, Option<Tensor>)> {
        fn run<T: Float>(bias: &Tensor, grad: &Tensor) -> CResult<Tensor> {
            let n = bias.elem_count();
            let db = with_elements::<T, _>(grad, |gs| {
                Ok(sum_rows::<T>(gs.len() / n.max(1), n, |r, acc| {
                    for (a, g) in acc.iter_mut().zip(&gs[r * n..(r + 1) * n]) {
                        *a += g.to_f64();
                    }
                }))
            })?;
            tensor_like(db, bias)
        }
        let db = by_dtype!(grad.dtype(), run(bias, grad))?;
        Ok((Some(grad.clone()), Some(db)))
    }
}

// ---------------------------------------------------------------- dropout

/// Inverted dropout: each element of `x` is kept with probability `1 - p` and scaled by
/// `1 / (1 - p)`, or zeroed. The mask comes from `rng` in one bulk draw of 32-bit words (a
/// float per element, drawn one at a time, took a tenth of a fine-tuning step); the same
/// stream gives the same mask.
pub fn dropout(x: &Tensor, p: f64, rng: &mut rand_chacha::ChaCha8Rng) -> CResult<Tensor> {
    if p <= 0.0 {
        return Ok(x.clone());
    }
    if p >= 1.0 || p.is_nan() {
        return Err(candle_core::Error::Msg(format!(
            "a dropout probability must lie in [0, 1), got {p}"
        )));
    }
    let mut words = vec![0u32; x.elem_count()];
    rand::Rng::fill(rng, &mut words[..]);
    // Drop when the word falls below p * 2^32.
    let cut = (p * 4_294_967_296.0) as u64;
    let scale = (1.0 / (1.0 - p)) as f32;
    let mask: Vec<f32> = words
        .into_iter()
        .map(|w| if u64::from(w) < cut { 0.0 } else { scale })
        .collect();
    let mask = Tensor::from_vec(mask, x.shape(), x.device())?.to_dtype(x.dtype())?;
    x.mul(&mask)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use candle_core::{Device, Var, D};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn random(shape: &[usize], seed: u64) -> Tensor {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let n: usize = shape.iter().product();
        let v: Vec<f64> = (0..n).map(|_| rng.random_range(-2.0..2.0)).collect();
        Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
    }

    /// The largest absolute difference of two f64 tensors of one shape (the fused layers'
    /// tests compare with it).
    pub(crate) fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
        (a - b)
            .unwrap()
            .abs()
            .unwrap()
            .flatten_all()
            .unwrap()
            .max(0)
            .unwrap()
            .to_scalar::<f64>()
            .unwrap()
    }

    // Reference layers from candle's primitive operations, whose gradients candle derives.
    fn layer_norm_ref(x: &Tensor, w: &Tensor, b: &Tensor, eps: f64) -> Tensor {
        let mean = x.mean_keepdim(D::Minus1).unwrap();
        let c = x.broadcast_sub(&mean).unwrap();
        let var = c.sqr().unwrap().mean_keepdim(D::Minus1).unwrap();
        let normed = c
            .broadcast_div(&(var + eps).unwrap().sqrt().unwrap())
            .unwrap();
        normed.broadcast_mul(w).unwrap().broadcast_add(b).unwrap()
    }

    /// Gradients of `sum(layer(inputs) * probe)` for each input, fused and by reference.
    fn grads_of(
        inputs: &[Tensor],
        layer: impl Fn(&[Tensor]) -> Tensor,
        probe_seed: u64,
    ) -> Vec<Tensor> {
        let vars: Vec<Var> = inputs
            .iter()
            .map(|t| Var::from_tensor(t).unwrap())
            .collect();
        let ts: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().clone()).collect();
        let y = layer(&ts);
        let probe = random(y.dims(), probe_seed).to_dtype(y.dtype()).unwrap();
        let loss = (y * probe).unwrap().sum_all().unwrap();
        let grads = loss.backward().unwrap();
        ts.iter().map(|t| grads.get(t).unwrap().clone()).collect()
    }

    fn assert_all_close(fused: &[Tensor], reference: &[Tensor], tol: f64) {
        for (i, (f, r)) in fused.iter().zip(reference).enumerate() {
            assert_eq!(f.dims(), r.dims(), "input {i}");
            let d = max_diff(f, r);
            assert!(d < tol, "input {i}: max difference {d}");
        }
    }

    #[test]
    fn layer_norm_and_its_gradients_equal_the_composed_layer() {
        let x = random(&[3, 5, 8], 1);
        let w = random(&[8], 2);
        let b = random(&[8], 3);
        let inputs = [x, w, b];
        let fused = layer_norm(&inputs[0], &inputs[1], &inputs[2], 1e-12).unwrap();
        let reference = layer_norm_ref(&inputs[0], &inputs[1], &inputs[2], 1e-12);
        assert!(max_diff(&fused, &reference) < 1e-12);
        let g_fused = grads_of(
            &inputs,
            |t| layer_norm(&t[0], &t[1], &t[2], 1e-12).unwrap(),
            9,
        );
        let g_ref = grads_of(&inputs, |t| layer_norm_ref(&t[0], &t[1], &t[2], 1e-12), 9);
        assert_all_close(&g_fused, &g_ref, 1e-10);
    }

    #[test]
    fn softmax_and_its_gradient_equal_the_composed_layer() {
        let x = random(&[2, 3, 7], 4);
        let reference = |t: &Tensor| {
            let e = t.exp().unwrap();
            e.broadcast_div(&e.sum_keepdim(D::Minus1).unwrap()).unwrap()
        };
        let fused = softmax_last_dim(&x).unwrap();
        assert!(max_diff(&fused, &reference(&x)) < 1e-14);
        // Each row sums to 1.
        let sums = fused.sum(D::Minus1).unwrap().flatten_all().unwrap();
        for s in sums.to_vec1::<f64>().unwrap() {
            assert!((s - 1.0).abs() < 1e-14);
        }
        let g_fused = grads_of(
            std::slice::from_ref(&x),
            |t| softmax_last_dim(&t[0]).unwrap(),
            5,
        );
        let g_ref = grads_of(&[x], |t| reference(&t[0]), 5);
        assert_all_close(&g_fused, &g_ref, 1e-12);
    }

    #[test]
    fn masked_softmax_and_its_gradient_equal_the_composed_layer() {
        // (batch 2, heads 3, queries 4, keys 5); the second text's last two keys are padding.
        let scores = random(&[2, 3, 4, 5], 11);
        let mask = Tensor::new(
            &[[1.0f64, 1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 0.0, 0.0]],
            &Device::Cpu,
        )
        .unwrap();
        let bias = ((1.0 - &mask).unwrap() * f64::from(f32::MIN)).unwrap();
        let scale = 1.0 / 8f64.sqrt();
        let reference = |s: &Tensor| {
            let b = bias.unsqueeze(1).unwrap().unsqueeze(1).unwrap();
            let x = (s * scale).unwrap().broadcast_add(&b).unwrap();
            softmax_last_dim(&x).unwrap()
        };
        let fused = scaled_masked_softmax(&scores, &bias, scale).unwrap();
        assert!(max_diff(&fused, &reference(&scores)) < 1e-14);
        // Padding gets no weight.
        let padded = fused.narrow(0, 1, 1).unwrap().narrow(3, 3, 2).unwrap();
        assert_eq!(
            padded
                .abs()
                .unwrap()
                .sum_all()
                .unwrap()
                .to_scalar::<f64>()
                .unwrap(),
            0.0
        );
        let g_fused = grads_of(
            std::slice::from_ref(&scores),
            |t| scaled_masked_softmax(&t[0], &bias, scale).unwrap(),
            12,
        );
        let g_ref = grads_of(&[scores], |t| reference(&t[0]), 12);
        assert_all_close(&g_fused, &g_ref, 1e-12);
        // Shapes that do not fit are an error, not a panic.
        assert!(scaled_masked_softmax(&random(&[3, 2, 5], 1), &bias, 1.0).is_err());
    }

    #[test]
    fn gelu_and_its_gradient_equal_finite_differences() {
        let x = random(&[4, 6], 6);
        let fused = gelu_erf(&x).unwrap();
        assert!(max_diff(&fused, &x.gelu_erf().unwrap()) < 1e-12);
        // Worked values: gelu(0) = 0, gelu(1) = Phi(1) = 0.8413447460685429.
        let points = Tensor::new(&[0.0f64, 1.0], &Device::Cpu).unwrap();
        let at = gelu_erf(&points).unwrap().to_vec1::<f64>().unwrap();
        assert_eq!(at[0], 0.0);
        assert!((at[1] - 0.841_344_746_068_542_9).abs() < 1e-12);
        let g = grads_of(std::slice::from_ref(&x), |t| gelu_erf(&t[0]).unwrap(), 7);
        let probe = random(x.dims(), 7)
            .flatten_all()
            .unwrap()
            .to_vec1::<f64>()
            .unwrap();
        let xs = x.flatten_all().unwrap().to_vec1::<f64>().unwrap();
        let gs = g[0].flatten_all().unwrap().to_vec1::<f64>().unwrap();
        let h = 1e-6;
        for i in 0..xs.len() {
            let f = |v: f64| v * phi::<f64>(v);
            let numeric = probe[i] * (f(xs[i] + h) - f(xs[i] - h)) / (2.0 * h);
            assert!(
                (numeric - gs[i]).abs() < 1e-7,
                "{i}: {numeric} vs {}",
                gs[i]
            );
        }
    }

    #[test]
    fn the_f32_layers_exp_is_within_its_stated_error() {
        // Down to -708, below which it is 0 (e^-708 is 3e-308, at f64's smallest normal).
        for i in -7_080..=7_000 {
            let x = f64::from(i) / 10.0;
            let (fast, exact) = (exp_for_f32(x), x.exp());
            assert!(
                (fast - exact).abs() <= 1e-10 * exact,
                "{x}: {fast} vs {exact}"
            );
        }
        assert_eq!(exp_for_f32(0.0), 1.0);
        assert_eq!(exp_for_f32(-1e30), 0.0);
        assert_eq!(exp_for_f32(f64::from(f32::MIN)), 0.0);
    }

    #[test]
    fn the_f32_normal_cdf_is_within_its_stated_error() {
        for i in -800..=800 {
            let x = f64::from(i) / 100.0;
            let (fast, exact) = (phi::<f32>(x), phi::<f64>(x));
            // Half of erf's bound of 1.5e-7.
            assert!((fast - exact).abs() < 0.75e-7, "{x}: {fast} vs {exact}");
        }
    }

    #[test]
    fn linear_and_its_gradients_equal_candle_nn() {
        let x = random(&[2, 5, 4], 8);
        let w = random(&[3, 4], 9);
        let b = random(&[3], 10);
        let inputs = [x, w, b];
        let reference = |t: &[Tensor]| {
            candle_nn::Module::forward(
                &candle_nn::Linear::new(t[1].clone(), Some(t[2].clone())),
                &t[0],
            )
            .unwrap()
        };
        let fused = linear(&inputs[0], &inputs[1], Some(&inputs[2])).unwrap();
        assert_eq!(fused.dims(), &[2, 5, 3]);
        assert!(max_diff(&fused, &reference(&inputs)) < 1e-12);
        let g_fused = grads_of(&inputs, |t| linear(&t[0], &t[1], Some(&t[2])).unwrap(), 11);
        let g_ref = grads_of(&inputs, reference, 11);
        assert_all_close(&g_fused, &g_ref, 1e-12);
        // The same layer from the transposed weight (the product may add in another order).
        let w_in_out = inputs[1].t().unwrap().contiguous().unwrap();
        let from_in_out = linear_in_out(&inputs[0], &w_in_out, Some(&inputs[2])).unwrap();
        assert_eq!(from_in_out.dims(), &[2, 5, 3]);
        assert!(max_diff(&from_in_out, &fused) < 1e-12);
    }

    #[test]
    fn dropout_keeps_the_stated_share_and_scales_it() {
        let x = Tensor::ones(20_000, DType::F32, &Device::Cpu).unwrap();
        let draw = |seed: u64| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            dropout(&x, 0.1, &mut rng)
                .unwrap()
                .to_vec1::<f32>()
                .unwrap()
        };
        let a = draw(3);
        let kept = a.iter().filter(|&&v| v != 0.0).count() as f64 / a.len() as f64;
        // Binomial(20000, 0.9): standard deviation 0.0021 of the share; 5 sigma.
        assert!((kept - 0.9).abs() < 0.011, "kept {kept}");
        assert!(a.iter().all(|&v| v == 0.0 || (v - 1.0 / 0.9).abs() < 1e-6));
        // The mean is kept in expectation.
        let mean = a.iter().map(|&v| f64::from(v)).sum::<f64>() / a.len() as f64;
        assert!((mean - 1.0).abs() < 0.013, "mean {mean}");
        assert_eq!(a, draw(3));
        assert_ne!(a, draw(4));
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        assert!(dropout(&x, 1.0, &mut rng).is_err());
    }

    #[test]
    fn results_do_not_depend_on_the_thread_count() {
        // More rows than one block, so that sums over rows add several blocks.
        let x = random(&[300, 16], 12).to_dtype(DType::F32).unwrap();
        let w = random(&[16], 13).to_dtype(DType::F32).unwrap();
        let b = random(&[16], 14).to_dtype(DType::F32).unwrap();
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let g = grads_of(
                    &[x.clone(), w.clone(), b.clone()],
                    |t| {
                        let h = layer_norm(&t[0], &t[1], &t[2], 1e-5).unwrap();
                        softmax_last_dim(&gelu_erf(&add_bias(&h, &t[2]).unwrap()).unwrap()).unwrap()
                    },
                    15,
                );
                g.iter()
                    .flat_map(|t| t.flatten_all().unwrap().to_vec1::<f32>().unwrap())
                    .map(f32::to_bits)
                    .collect::<Vec<u32>>()
            })
        };
        let one = run(1);
        assert_eq!(one, run(2));
        assert_eq!(one, run(5));
    }
}
