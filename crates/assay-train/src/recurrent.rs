//! A GRU layer's recurrence as one fused CPU operation with its backward pass through time.
//!
//! Written with candle's primitive operations, each time step of a GRU is a dozen small
//! tensors forward and twice as many backward: at 50 steps a batch, a training step built and
//! freed thousands of tensors and spent most of its time there, not in arithmetic. Here the
//! forward pass is one loop over time per block of sequences (one matrix product and one pass
//! over the gates a step), and the backward pass recomputes the hidden side of every step in
//! one matrix product, runs the recurrence backwards (one product a step), and forms the weight
//! gradient in one product over all steps.
//!
//! Sequences are independent, so blocks of a fixed number of them run on rayon's threads; the
//! weight and bias gradients are sums of the blocks' parts added in block order, so every
//! result has the same bits whatever the number of threads.

use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp3, DType, Layout, Shape, Tensor};
use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};
use rayon::prelude::*;

use crate::ops::{by_dtype, elements, exp_of, with_elements, Float};

type CResult<T> = candle_core::Result<T>;

/// Sequences per block: fixed, so a block's arithmetic does not depend on the thread count.
const SEQUENCES_PER_BLOCK: usize = 16;

/// The element types the recurrence runs on.
pub(crate) trait Real: Float + faer::traits::RealField {}
impl Real for f32 {}
impl Real for f64 {}

/// The outputs `(batch, len, hidden)` of a GRU layer from a zero state, with PyTorch's
/// equations and gate order (reset, update, new), given its input side for every step.
///
/// `gx` is `(batch, len, 3 hidden)`: `x W_ihᵀ + b_ih` at every step (one product for the whole
/// sequence, made by the caller); `w_hh` is `(3 hidden, hidden)`, `b_hh` is `(3 hidden)`. With
/// `gh = h W_hhᵀ + b_hh` from the previous state `h`:
/// `r = σ(gx_r + gh_r)`, `z = σ(gx_z + gh_z)`, `n = tanh(gx_n + r ⊙ gh_n)`,
/// `h' = (1 - z) ⊙ n + z ⊙ h`.
pub fn gru(gx: &Tensor, w_hh: &Tensor, b_hh: &Tensor) -> CResult<Tensor> {
    gx.contiguous()?
        .apply_op3(&w_hh.contiguous()?, &b_hh.contiguous()?, Gru)
}

struct Gru;

/// `(batch, len, hidden)` of a GRU's arguments, checked against each other.
fn dims(gx: &Shape, w_hh: &Shape, b_hh: &Shape) -> CResult<(usize, usize, usize)> {
    let (batch, len, gates) = gx.dims3()?;
    let (rows, hidden) = w_hh.dims2()?;
    if rows != 3 * hidden || gates != rows || b_hh.dims() != [rows] {
        return Err(candle_core::Error::Msg(format!(
            "gru: input side {gx:?}, hidden weights {w_hh:?} and bias {b_hh:?} do not fit \
             (expected (batch, len, 3h), (3h, h), (3h))"
        )));
    }
    Ok((batch, len, hidden))
}

/// The logistic function; for `f32` layers with the call-free `exp` that is exact to `f32`.
#[inline(always)]
fn sigmoid<T: Real>(x: f64) -> f64 {
    1.0 / (1.0 + exp_of::<T>(-x))
}

/// `tanh`, as `1 - 2 / (e^{2x} + 1)` for `f32` layers (no call in the gate loop).
#[inline(always)]
fn tanh<T: Real>(x: f64) -> f64 {
    if T::DTYPE == DType::F64 {
        x.tanh()
    } else {
        1.0 - 2.0 / (exp_of::<T>(2.0 * x) + 1.0)
    }
}

/// `out = a bᵀ` for row-major `a` (`m x k`) and `b` (`n x k`), on this thread.
fn product_transposed<T: Real>(out: &mut [T], a: &[T], b: &[T], m: usize, n: usize, k: usize) {
    matmul(
        MatMut::from_row_major_slice_mut(out, m, n),
        Accum::Replace,
        MatRef::from_row_major_slice(a, m, k),
        MatRef::from_row_major_slice(b, n, k).transpose(),
        T::from_f64(1.0),
        Par::Seq,
    );
}

/// `out += a b` for row-major `a` (`m x k`) and `b` (`k x n`), on this thread.
fn add_product<T: Real>(out: &mut [T], a: &[T], b: &[T], m: usize, n: usize, k: usize) {
    matmul(
        MatMut::from_row_major_slice_mut(out, m, n),
        Accum::Add,
        MatRef::from_row_major_slice(a, m, k),
        MatRef::from_row_major_slice(b, k, n),
        T::from_f64(1.0),
        Par::Seq,
    );
}

/// The gates of one position, `r`, `z` and `n`, from its input side `gx` and hidden side
/// `gh` (bias included), each `3 hidden` long. Plain loops over slices, compiled for the
/// widest vector registers the CPU has (chosen at run time), so the logistic and `tanh` of a
/// row run a vector at a time.
struct Gates {
    arch: pulp::Arch,
    r: Vec<f64>,
    z: Vec<f64>,
    n: Vec<f64>,
}

impl Gates {
    fn new(hidden: usize) -> Gates {
        Gates {
            arch: pulp::Arch::new(),
            r: vec![0.0; hidden],
            z: vec![0.0; hidden],
            n: vec![0.0; hidden],
        }
    }

    fn compute<T: Real>(&mut self, gx: &[T], gh: &[T]) {
        let Gates { arch, r, z, n } = self;
        arch.dispatch(GateLoops { gx, gh, r, z, n });
    }
}

/// The loops of [`Gates::compute`], in the form `pulp` compiles once per vector width.
struct GateLoops<'a, T> {
    gx: &'a [T],
    gh: &'a [T],
    r: &'a mut [f64],
    z: &'a mut [f64],
    n: &'a mut [f64],
}

impl<T: Real> pulp::WithSimd for GateLoops<'_, T> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        let hidden = self.r.len();
        let (gx_r, rest) = self.gx.split_at(hidden);
        let (gx_z, gx_n) = rest.split_at(hidden);
        let (gh_r, rest) = self.gh.split_at(hidden);
        let (gh_z, gh_n) = rest.split_at(hidden);
        for (((r, z), (a, b)), (c, d)) in self
            .r
            .iter_mut()
            .zip(self.z.iter_mut())
            .zip(gx_r.iter().zip(gh_r))
            .zip(gx_z.iter().zip(gh_z))
        {
            *r = sigmoid::<T>(a.to_f64() + b.to_f64());
            *z = sigmoid::<T>(c.to_f64() + d.to_f64());
        }
        for ((n, r), (a, b)) in self
            .n
            .iter_mut()
            .zip(self.r.iter())
            .zip(gx_n[..hidden].iter().zip(&gh_n[..hidden]))
        {
            *n = tanh::<T>(a.to_f64() + r * b.to_f64());
        }
    }
}

fn forward<T: Real>(gx: &[T], w: &[T], b: &[T], len: usize, hidden: usize) -> Vec<T> {
    let g = 3 * hidden;
    let batch = gx.len() / (len * g).max(1);
    let mut out = vec![T::zero(); batch * len * hidden];
    out.par_chunks_mut(SEQUENCES_PER_BLOCK * len * hidden)
        .zip(gx.par_chunks(SEQUENCES_PER_BLOCK * len * g))
        .for_each(|(out, gx)| {
            let rows = out.len() / (len * hidden);
            let mut h = vec![T::zero(); rows * hidden];
            let mut gh = vec![T::zero(); rows * g];
            let mut gates = Gates::new(hidden);
            for t in 0..len {
                if t == 0 {
                    // From the zero state the hidden side is the bias alone.
                    for row in gh.chunks_exact_mut(g) {
                        row.copy_from_slice(b);
                    }
                } else {
                    product_transposed(&mut gh, &h, w, rows, g, hidden);
                    for row in gh.chunks_exact_mut(g) {
                        for (v, &bias) in row.iter_mut().zip(b) {
                            *v += bias;
                        }
                    }
                }
                for r in 0..rows {
                    let at = r * len + t;
                    gates.compute(&gx[at * g..(at + 1) * g], &gh[r * g..(r + 1) * g]);
                    let state = &mut h[r * hidden..(r + 1) * hidden];
                    for ((s, z), n) in state.iter_mut().zip(&gates.z).zip(&gates.n) {
                        *s = T::from_f64(n + z * (s.to_f64() - n));
                    }
                    out[at * hidden..(at + 1) * hidden].copy_from_slice(state);
                }
            }
        });
    out
}

/// Gradients of the input side, the hidden weights and the hidden bias, given the outputs
/// `res` of the forward pass and the gradient `grad` of the outputs.
fn backward<T: Real>(
    gx: &[T],
    w: &[T],
    b: &[T],
    res: &[T],
    grad: &[T],
    len: usize,
    hidden: usize,
) -> (Vec<T>, Vec<T>, Vec<T>) {
    let g = 3 * hidden;
    let mut dgx = vec![T::zero(); gx.len()];
    let block_out = SEQUENCES_PER_BLOCK * len * hidden;
    let parts: Vec<(Vec<T>, Vec<f64>)> = dgx
        .par_chunks_mut(SEQUENCES_PER_BLOCK * len * g)
        .zip(gx.par_chunks(SEQUENCES_PER_BLOCK * len * g))
        .zip(res.par_chunks(block_out).zip(grad.par_chunks(block_out)))
        .map(|((dgx, gx), (res, grad))| {
            let rows = res.len() / (len * hidden);
            let positions = rows * len;
            // The state each position starts from: zero at the first step, else the output
            // of the step before.
            let mut previous = vec![T::zero(); positions * hidden];
            for r in 0..rows {
                for t in 1..len {
                    let (to, from) = ((r * len + t) * hidden, (r * len + t - 1) * hidden);
                    previous[to..to + hidden].copy_from_slice(&res[from..from + hidden]);
                }
            }
            // The hidden side of every step at once.
            let mut gh = vec![T::zero(); positions * g];
            product_transposed(&mut gh, &previous, w, positions, g, hidden);
            for row in gh.chunks_exact_mut(g) {
                for (v, &bias) in row.iter_mut().zip(b) {
                    *v += bias;
                }
            }
            let mut dgh = vec![T::zero(); positions * g];
            // The gradient reaching each sequence's state from the steps after it.
            let mut carried = vec![T::zero(); rows * hidden];
            let mut step_dgh = vec![T::zero(); rows * g];
            let mut gates = Gates::new(hidden);
            for t in (0..len).rev() {
                for r in 0..rows {
                    let at = r * len + t;
                    let gh_at = &gh[at * g..(at + 1) * g];
                    gates.compute(&gx[at * g..(at + 1) * g], gh_at);
                    let grad_at = &grad[at * hidden..(at + 1) * hidden];
                    let h_before = &previous[at * hidden..(at + 1) * hidden];
                    let carried = &mut carried[r * hidden..(r + 1) * hidden];
                    let row = &mut step_dgh[r * g..(r + 1) * g];
                    let (row_r, rest) = row.split_at_mut(hidden);
                    let (row_z, row_n) = rest.split_at_mut(hidden);
                    let dgx_at = &mut dgx[at * g..(at + 1) * g];
                    for j in 0..hidden {
                        let dh = grad_at[j].to_f64() + carried[j].to_f64();
                        let (rg, z, n) = (gates.r[j], gates.z[j], gates.n[j]);
                        // h' = n + z (h - n).
                        let dn = dh * (1.0 - z);
                        let dz = dh * (h_before[j].to_f64() - n);
                        let d_pre_n = dn * (1.0 - n * n);
                        let dr = d_pre_n * gh_at[2 * hidden + j].to_f64();
                        row_r[j] = T::from_f64(dr * rg * (1.0 - rg));
                        row_z[j] = T::from_f64(dz * z * (1.0 - z));
                        row_n[j] = T::from_f64(d_pre_n * rg);
                        dgx_at[2 * hidden + j] = T::from_f64(d_pre_n);
                        carried[j] = T::from_f64(dh * z);
                    }
                    // The input side's reset and update gradients are the hidden side's.
                    dgx_at[..2 * hidden].copy_from_slice(&row[..2 * hidden]);
                    dgh[at * g..(at + 1) * g].copy_from_slice(row);
                }
                if t > 0 {
                    // Through the hidden side to the state before: dgh W_hh.
                    add_product(&mut carried, &step_dgh, w, rows, hidden, g);
                }
            }
            // This block's part of dW_hh = Σ dghᵀ h_before and of db_hh = Σ dgh.
            let mut dw = vec![T::zero(); g * hidden];
            matmul(
                MatMut::from_row_major_slice_mut(&mut dw, g, hidden),
                Accum::Replace,
                MatRef::from_row_major_slice(&dgh, positions, g).transpose(),
                MatRef::from_row_major_slice(&previous, positions, hidden),
                T::from_f64(1.0),
                Par::Seq,
            );
            let mut db = vec![0.0f64; g];
            for row in dgh.chunks_exact(g) {
                for (s, v) in db.iter_mut().zip(row) {
                    *s += v.to_f64();
                }
            }
            (dw, db)
        })
        .collect();
    let mut dw = vec![T::zero(); g * hidden];
    let mut db = vec![0.0f64; g];
    for (part_w, part_b) in &parts {
        for (s, &v) in dw.iter_mut().zip(part_w) {
            *s += v;
        }
        for (s, v) in db.iter_mut().zip(part_b) {
            *s += v;
        }
    }
    (dgx, dw, db.into_iter().map(T::from_f64).collect())
}

impl CustomOp3 for Gru {
    fn name(&self) -> &'static str {
        "fused-gru"
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
        fn run<T: Real>(s: [(&CpuStorage, &Layout); 3]) -> CResult<(CpuStorage, Shape)> {
            let (batch, len, hidden) = dims(s[0].1.shape(), s[1].1.shape(), s[2].1.shape())?;
            let out = forward(
                elements::<T>(s[0].0, s[0].1)?,
                elements::<T>(s[1].0, s[1].1)?,
                elements::<T>(s[2].0, s[2].1)?,
                len,
                hidden,
            );
            Ok((
                T::to_cpu_storage_owned(out),
                Shape::from((batch, len, hidden)),
            ))
        }
        by_dtype!(s1.dtype(), run([(s1, l1), (s2, l2), (s3, l3)]))
    }

    fn bwd(
        &self,
        gx: &Tensor,
        w_hh: &Tensor,
        b_hh: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> CResult<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        fn run<T: Real>(
            gx: &Tensor,
            w_hh: &Tensor,
            b_hh: &Tensor,
            res: &Tensor,
            grad: &Tensor,
        ) -> CResult<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
            let (_, len, hidden) = dims(gx.shape(), w_hh.shape(), b_hh.shape())?;
            let (dgx, dw, db) = with_elements::<T, _>(gx, |gx| {
                with_elements::<T, _>(w_hh, |w| {
                    with_elements::<T, _>(b_hh, |b| {
                        with_elements::<T, _>(res, |res| {
                            with_elements::<T, _>(grad, |grad| {
                                Ok(backward(gx, w, b, res, grad, len, hidden))
                            })
                        })
                    })
                })
            })?;
            Ok((
                Some(Tensor::from_vec(dgx, gx.shape(), gx.device())?),
                Some(Tensor::from_vec(dw, w_hh.shape(), w_hh.device())?),
                Some(Tensor::from_vec(db, b_hh.shape(), b_hh.device())?),
            ))
        }
        by_dtype!(gx.dtype(), run(gx, w_hh, b_hh, res, grad))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::tests::max_diff;
    use candle_core::{Device, Var};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// The same layer from candle's primitive operations, step by step: the reference.
    fn composed(gx: &Tensor, w_hh: &Tensor, b_hh: &Tensor) -> CResult<Tensor> {
        let (batch, len, _) = gx.dims3()?;
        let hidden = w_hh.dim(1)?;
        let sig = |x: &Tensor| (x.neg()?.exp()? + 1.0)?.recip();
        let mut h = Tensor::zeros((batch, hidden), gx.dtype(), gx.device())?;
        let mut outputs = Vec::with_capacity(len);
        for t in 0..len {
            let gxt = gx.narrow(1, t, 1)?.squeeze(1)?;
            let gh = h.matmul(&w_hh.t()?)?.broadcast_add(b_hh)?;
            let r = sig(&(gxt.narrow(1, 0, hidden)? + gh.narrow(1, 0, hidden)?)?)?;
            let z = sig(&(gxt.narrow(1, hidden, hidden)? + gh.narrow(1, hidden, hidden)?)?)?;
            let n = (gxt.narrow(1, 2 * hidden, hidden)?
                + (r * gh.narrow(1, 2 * hidden, hidden)?)?)?
            .tanh()?;
            h = (&n + (z * (h - &n)?)?)?;
            outputs.push(h.clone());
        }
        Tensor::stack(&outputs, 1)
    }

    fn random(rng: &mut ChaCha8Rng, shape: &[usize], scale: f64) -> Var {
        let n = shape.iter().product();
        let values: Vec<f64> = (0..n)
            .map(|_| (rng.random::<f64>() * 2.0 - 1.0) * scale)
            .collect();
        Var::from_tensor(&Tensor::from_vec(values, shape, &Device::Cpu).unwrap()).unwrap()
    }

    #[test]
    fn one_step_from_zero_is_the_gate_equations_by_hand() {
        // Hidden size 1, one step: gh = b_hh; r = σ(0.6 + 0), z = σ(-0.5 + 0.2),
        // n = tanh(1.0 - 0.1 + r · 0.05) and h = (1 - z) n = 0.420294...
        let t = |v: &[f64], shape: &[usize]| Tensor::from_vec(v.to_vec(), shape, &Device::Cpu);
        let gx = t(&[0.6, -0.5, 0.9], &[1, 1, 3]).unwrap();
        let w = t(&[0.3, 0.2, -0.4], &[3, 1]).unwrap();
        let b = t(&[0.0, 0.2, 0.05], &[3]).unwrap();
        let h: Vec<f64> = gru(&gx, &w, &b)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let r = 1.0 / (1.0 + (-0.6f64).exp());
        let z = 1.0 / (1.0 + 0.3f64.exp());
        let n = (0.9 + r * 0.05f64).tanh();
        assert!((h[0] - (1.0 - z) * n).abs() < 1e-12, "{h:?}");
        assert!((h[0] - 0.420_294_57).abs() < 1e-7);
    }

    #[test]
    fn outputs_and_gradients_equal_the_composed_layer() {
        // More sequences than a block, an uneven last block, and a loss that weighs every
        // output differently, so each gradient path is exercised.
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let (batch, len, hidden) = (SEQUENCES_PER_BLOCK + 3, 6, 5);
        let gx = random(&mut rng, &[batch, len, 3 * hidden], 1.5);
        let w = random(&mut rng, &[3 * hidden, hidden], 0.8);
        let b = random(&mut rng, &[3 * hidden], 0.5);
        let weights = random(&mut rng, &[batch, len, hidden], 1.0);
        let loss = |out: Tensor| (out * weights.as_tensor()).unwrap().sum_all().unwrap();
        let fused = gru(gx.as_tensor(), w.as_tensor(), b.as_tensor()).unwrap();
        let reference = composed(gx.as_tensor(), w.as_tensor(), b.as_tensor()).unwrap();
        assert!(max_diff(&fused, &reference) < 1e-12);
        let g1 = loss(fused).backward().unwrap();
        let g2 = loss(reference).backward().unwrap();
        for var in [&gx, &w, &b] {
            let (a, e) = (g1.get(var).unwrap(), g2.get(var).unwrap());
            assert!(max_diff(a, e) < 1e-10, "{}", max_diff(a, e));
        }
    }

    #[test]
    fn the_f32_layer_agrees_with_the_f64_one_to_f32_precision() {
        // The f32 gates use the call-free exp; the f64 ones libm's.
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let (batch, len, hidden) = (4, 12, 6);
        let gx = random(&mut rng, &[batch, len, 3 * hidden], 3.0);
        let w = random(&mut rng, &[3 * hidden, hidden], 1.0);
        let b = random(&mut rng, &[3 * hidden], 1.0);
        let exact = gru(gx.as_tensor(), w.as_tensor(), b.as_tensor()).unwrap();
        let f32s = |v: &Var| v.as_tensor().to_dtype(DType::F32).unwrap();
        let fast = gru(&f32s(&gx), &f32s(&w), &f32s(&b))
            .unwrap()
            .to_dtype(DType::F64)
            .unwrap();
        assert!(max_diff(&exact, &fast) < 1e-5);
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let (batch, len, hidden) = (2, 4, 3);
        let gx = random(&mut rng, &[batch, len, 3 * hidden], 1.0);
        let w = random(&mut rng, &[3 * hidden, hidden], 0.7);
        let b = random(&mut rng, &[3 * hidden], 0.3);
        let total = |w: &Tensor| -> f64 {
            gru(gx.as_tensor(), w, b.as_tensor())
                .unwrap()
                .sqr()
                .unwrap()
                .sum_all()
                .unwrap()
                .to_scalar()
                .unwrap()
        };
        let out = gru(gx.as_tensor(), w.as_tensor(), b.as_tensor()).unwrap();
        let grads = out.sqr().unwrap().sum_all().unwrap().backward().unwrap();
        let analytic: Vec<f64> = grads
            .get(&w)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let values: Vec<f64> = w.as_tensor().flatten_all().unwrap().to_vec1().unwrap();
        let eps = 1e-6;
        for k in 0..values.len() {
            let at = |delta: f64| {
                let mut v = values.clone();
                v[k] += delta;
                total(&Tensor::from_vec(v, (3 * hidden, hidden), &Device::Cpu).unwrap())
            };
            let numeric = (at(eps) - at(-eps)) / (2.0 * eps);
            assert!(
                (numeric - analytic[k]).abs() < 1e-7,
                "{k}: {numeric} vs {}",
                analytic[k]
            );
        }
    }

    #[test]
    fn the_bits_do_not_depend_on_the_thread_count() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let (batch, len, hidden) = (3 * SEQUENCES_PER_BLOCK + 1, 5, 8);
        let to_f32 = |v: Var| v.as_tensor().to_dtype(DType::F32).unwrap();
        let gx =
            Var::from_tensor(&to_f32(random(&mut rng, &[batch, len, 3 * hidden], 1.0))).unwrap();
        let w = Var::from_tensor(&to_f32(random(&mut rng, &[3 * hidden, hidden], 0.5))).unwrap();
        let b = Var::from_tensor(&to_f32(random(&mut rng, &[3 * hidden], 0.5))).unwrap();
        let run = |threads: usize| -> Vec<Vec<f32>> {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let out = gru(gx.as_tensor(), w.as_tensor(), b.as_tensor()).unwrap();
                let grads = out.sum_all().unwrap().backward().unwrap();
                let mut all = vec![out.flatten_all().unwrap().to_vec1().unwrap()];
                for var in [&gx, &w, &b] {
                    all.push(
                        grads
                            .get(var)
                            .unwrap()
                            .flatten_all()
                            .unwrap()
                            .to_vec1()
                            .unwrap(),
                    );
                }
                all
            })
        };
        assert_eq!(run(1), run(3));
    }

    #[test]
    fn mismatched_shapes_are_an_error() {
        let gx = Tensor::zeros((2, 3, 9), DType::F32, &Device::Cpu).unwrap();
        let w = Tensor::zeros((6, 2), DType::F32, &Device::Cpu).unwrap();
        let b = Tensor::zeros(6, DType::F32, &Device::Cpu).unwrap();
        let error = gru(&gx, &w, &b).unwrap_err().to_string();
        assert!(error.contains("do not fit"), "{error}");
    }
}
