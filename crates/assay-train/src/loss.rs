//! Cross-entropy of a softmax over many classes as one fused CPU operation with its gradient.
//!
//! A next-item model scores every position against every item: thousands of rows of
//! thousands of logits. Composed from candle's operations (max, subtract, exp, sum, log,
//! gather, and as many backward), the loss passed over that matrix a dozen times and
//! allocated each intermediate; here the forward pass reads it once per row for the
//! log-sum-exp, and the backward pass writes `softmax - one_hot` once.
//!
//! Rows run in fixed blocks on rayon's threads and the loss adds the blocks' sums in block
//! order, so the result has the same bits whatever the number of threads.

use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp2, DType, Layout, Shape, Tensor};
use rayon::prelude::*;

use crate::ops::{by_dtype, elements, exp_of, with_elements, Float};

type CResult<T> = candle_core::Result<T>;

/// Rows per task: fixed, so a block's arithmetic does not depend on the thread count.
const ROWS_PER_BLOCK: usize = 64;

/// The mean over rows of `-log softmax(logits)[target]`: `logits` is `(rows, classes)` (f32 or
/// f64), `targets` holds one class index per row (u32). The same value as
/// `candle_nn::loss::cross_entropy`; the gradient flows to `logits` only.
pub fn cross_entropy(logits: &Tensor, targets: &Tensor) -> CResult<Tensor> {
    let (rows, classes) = logits.dims2()?;
    if targets.dims() != [rows] || targets.dtype() != DType::U32 {
        return Err(candle_core::Error::Msg(format!(
            "cross-entropy: {rows} rows of logits need {rows} u32 targets, got {:?} {:?}",
            targets.dims(),
            targets.dtype()
        )));
    }
    if rows == 0 {
        return Err(candle_core::Error::Msg("cross-entropy of no rows".into()));
    }
    let targets = targets.contiguous()?;
    let out_of_range = targets
        .to_vec1::<u32>()?
        .iter()
        .any(|&t| t as usize >= classes);
    if out_of_range {
        return Err(candle_core::Error::Msg(format!(
            "cross-entropy: a target is not one of the {classes} classes"
        )));
    }
    logits
        .contiguous()?
        .apply_op2(&targets, CrossEntropy::default())
}

/// The operation, holding each row's log-sum-exp from the forward pass for the backward one
/// (the graph keeps this instance between the two).
#[derive(Default)]
struct CrossEntropy {
    log_sum_exps: std::sync::Mutex<Vec<f64>>,
}

/// `log Σ exp(row)`, in a loop `pulp` compiles for the CPU's widest vectors: the maximum and
/// the sum run in eight lanes each (a single running sum would keep the loop to one element
/// at a time), combined in lane order.
struct LogSumExp<'a, T>(&'a [T]);

const LANES: usize = 8;

impl<T: Float> pulp::WithSimd for LogSumExp<'_, T> {
    type Output = f64;

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) -> f64 {
        let chunks = self.0.chunks_exact(LANES);
        let tail = chunks.remainder();
        let mut lanes = [f64::NEG_INFINITY; LANES];
        for chunk in chunks.clone() {
            for (m, v) in lanes.iter_mut().zip(chunk) {
                let v = v.to_f64();
                *m = if v > *m { v } else { *m };
            }
        }
        let max = lanes
            .into_iter()
            .chain(tail.iter().map(|v| v.to_f64()))
            .fold(f64::NEG_INFINITY, |m, v| if v > m { v } else { m });
        let mut sums = [0.0f64; LANES];
        for chunk in chunks {
            for (s, v) in sums.iter_mut().zip(chunk) {
                *s += exp_of::<T>(v.to_f64() - max);
            }
        }
        let tail_sum: f64 = tail.iter().map(|v| exp_of::<T>(v.to_f64() - max)).sum();
        max + (sums.iter().sum::<f64>() + tail_sum).ln()
    }
}

/// `scale * (softmax(row) - one_hot(target))` into `out`.
struct SoftmaxGradient<'a, T> {
    row: &'a [T],
    out: &'a mut [T],
    log_sum_exp: f64,
    scale: f64,
}

impl<T: Float> pulp::WithSimd for SoftmaxGradient<'_, T> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        for (o, v) in self.out.iter_mut().zip(self.row) {
            *o = T::from_f64(self.scale * exp_of::<T>(v.to_f64() - self.log_sum_exp));
        }
    }
}

/// The mean loss and each row's log-sum-exp.
fn forward<T: Float>(logits: &[T], targets: &[u32], classes: usize) -> (f64, Vec<f64>) {
    let arch = pulp::Arch::new();
    let mut log_sum_exps = vec![0.0; targets.len()];
    let sums: Vec<f64> = log_sum_exps
        .par_chunks_mut(ROWS_PER_BLOCK)
        .zip(logits.par_chunks(ROWS_PER_BLOCK * classes))
        .zip(targets.par_chunks(ROWS_PER_BLOCK))
        .map(|((lse, block), targets)| {
            let mut sum = 0.0;
            for ((lse, row), &t) in lse.iter_mut().zip(block.chunks_exact(classes)).zip(targets) {
                *lse = arch.dispatch(LogSumExp(row));
                sum += *lse - row[t as usize].to_f64();
            }
            sum
        })
        .collect();
    (
        sums.iter().sum::<f64>() / targets.len() as f64,
        log_sum_exps,
    )
}

fn backward<T: Float>(
    logits: &[T],
    targets: &[u32],
    log_sum_exps: &[f64],
    classes: usize,
    grad: f64,
) -> Vec<T> {
    let arch = pulp::Arch::new();
    let scale = grad / targets.len() as f64;
    let mut out = vec![T::zero(); logits.len()];
    out.par_chunks_mut(ROWS_PER_BLOCK * classes)
        .zip(logits.par_chunks(ROWS_PER_BLOCK * classes))
        .zip(
            targets
                .par_chunks(ROWS_PER_BLOCK)
                .zip(log_sum_exps.par_chunks(ROWS_PER_BLOCK)),
        )
        .for_each(|((out, block), (targets, lse))| {
            for (((out, row), &t), &log_sum_exp) in out
                .chunks_exact_mut(classes)
                .zip(block.chunks_exact(classes))
                .zip(targets)
                .zip(lse)
            {
                arch.dispatch(SoftmaxGradient {
                    row,
                    out: &mut *out,
                    log_sum_exp,
                    scale,
                });
                let at = t as usize;
                out[at] = T::from_f64(out[at].to_f64() - scale);
            }
        });
    out
}

impl CustomOp2 for CrossEntropy {
    fn name(&self) -> &'static str {
        "fused-cross-entropy"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> CResult<(CpuStorage, Shape)> {
        let (_, classes) = l1.shape().dims2()?;
        let (start, end) = l2
            .contiguous_offsets()
            .ok_or_else(|| candle_core::Error::Msg("cross-entropy: strided targets".into()))?;
        let targets = &s2.as_slice::<u32>()?[start..end];
        fn run<T: Float>(
            s: &CpuStorage,
            l: &Layout,
            targets: &[u32],
            classes: usize,
        ) -> CResult<(CpuStorage, Vec<f64>)> {
            let (loss, lse) = forward(elements::<T>(s, l)?, targets, classes);
            Ok((T::to_cpu_storage_owned(vec![T::from_f64(loss)]), lse))
        }
        let (storage, log_sum_exps) = by_dtype!(s1.dtype(), run(s1, l1, targets, classes))?;
        *self.log_sum_exps.lock().unwrap_or_else(|e| e.into_inner()) = log_sum_exps;
        Ok((storage, Shape::from(())))
    }

    fn bwd(
        &self,
        logits: &Tensor,
        targets: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> CResult<(Option<Tensor>, Option<Tensor>)> {
        fn run<T: Float>(
            logits: &Tensor,
            targets: &[u32],
            lse: &[f64],
            grad: f64,
        ) -> CResult<Tensor> {
            let (_, classes) = logits.dims2()?;
            let out =
                with_elements::<T, _>(logits, |l| Ok(backward(l, targets, lse, classes, grad)))?;
            Tensor::from_vec(out, logits.shape(), logits.device())
        }
        let grad = grad.to_dtype(DType::F64)?.to_scalar::<f64>()?;
        let targets = targets.to_vec1::<u32>()?;
        let lse = self.log_sum_exps.lock().unwrap_or_else(|e| e.into_inner());
        if lse.len() != targets.len() {
            return Err(candle_core::Error::Msg(
                "cross-entropy: backward pass without its forward pass".into(),
            ));
        }
        let dlogits = by_dtype!(logits.dtype(), run(logits, &targets, &lse, grad))?;
        Ok((Some(dlogits), None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::tests::max_diff;
    use candle_core::{Device, Var};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn two_rows_by_hand() {
        // Row 1: logits (0, ln 3), target 1: -log(3 / 4). Row 2: (ln 2, ln 2), target 0:
        // -log(1 / 2). Mean: (ln(4 / 3) + ln 2) / 2.
        let logits =
            Tensor::new(&[[0.0f64, 3f64.ln()], [2f64.ln(), 2f64.ln()]], &Device::Cpu).unwrap();
        let targets = Tensor::new(&[1u32, 0], &Device::Cpu).unwrap();
        let loss: f64 = cross_entropy(&logits, &targets)
            .unwrap()
            .to_scalar()
            .unwrap();
        let expected = ((4.0f64 / 3.0).ln() + 2f64.ln()) / 2.0;
        assert!((loss - expected).abs() < 1e-15, "{loss} vs {expected}");
    }

    #[test]
    fn value_and_gradient_equal_candles_composed_loss() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let (rows, classes) = (ROWS_PER_BLOCK + 7, 13);
        let values: Vec<f64> = (0..rows * classes)
            .map(|_| rng.random::<f64>() * 8.0 - 4.0)
            .collect();
        let logits =
            Var::from_tensor(&Tensor::from_vec(values, (rows, classes), &Device::Cpu).unwrap())
                .unwrap();
        let t: Vec<u32> = (0..rows)
            .map(|_| rng.random_range(0..classes as u32))
            .collect();
        let targets = Tensor::new(t.as_slice(), &Device::Cpu).unwrap();
        let fused = cross_entropy(logits.as_tensor(), &targets).unwrap();
        let composed = candle_nn::loss::cross_entropy(logits.as_tensor(), &targets).unwrap();
        let (a, b): (f64, f64) = (fused.to_scalar().unwrap(), composed.to_scalar().unwrap());
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        // Scaled, so the incoming gradient is not 1.
        let g1 = (fused * 3.0).unwrap().backward().unwrap();
        let g2 = (composed * 3.0).unwrap().backward().unwrap();
        let diff = max_diff(g1.get(&logits).unwrap(), g2.get(&logits).unwrap());
        assert!(diff < 1e-14, "{diff}");
    }

    #[test]
    fn each_gradient_row_sums_to_zero_in_f32() {
        // softmax sums to 1 and the one-hot to 1: every row of the gradient sums to 0.
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let (rows, classes) = (5, 300);
        let values: Vec<f32> = (0..rows * classes)
            .map(|_| rng.random::<f32>() * 20.0 - 10.0)
            .collect();
        let logits =
            Var::from_tensor(&Tensor::from_vec(values, (rows, classes), &Device::Cpu).unwrap())
                .unwrap();
        let targets = Tensor::new(&[0u32, 299, 7, 150, 3], &Device::Cpu).unwrap();
        let loss = cross_entropy(logits.as_tensor(), &targets).unwrap();
        let composed: f32 = candle_nn::loss::cross_entropy(logits.as_tensor(), &targets)
            .unwrap()
            .to_scalar()
            .unwrap();
        assert!((loss.to_scalar::<f32>().unwrap() - composed).abs() < 1e-5);
        let grads = loss.backward().unwrap();
        let g: Vec<Vec<f32>> = grads.get(&logits).unwrap().to_vec2().unwrap();
        for row in g {
            assert!(row.iter().map(|&v| v as f64).sum::<f64>().abs() < 1e-7);
        }
    }

    #[test]
    fn targets_out_of_range_or_of_the_wrong_length_are_errors() {
        let logits = Tensor::zeros((2, 3), DType::F32, &Device::Cpu).unwrap();
        let bad = Tensor::new(&[0u32, 3], &Device::Cpu).unwrap();
        assert!(cross_entropy(&logits, &bad)
            .unwrap_err()
            .to_string()
            .contains("not one of the 3"));
        let short = Tensor::new(&[0u32], &Device::Cpu).unwrap();
        assert!(cross_entropy(&logits, &short).is_err());
    }
}
