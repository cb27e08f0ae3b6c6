//! AdamW with decoupled weight decay, and a group of parameters that are not decayed.

use candle_core::backprop::GradStore;
use candle_core::{DType, Var};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::ops::Float;
use crate::{Result, TrainError};

/// AdamW's settings (the learning rate itself comes from the [`crate::Schedule`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdamWConfig {
    /// Decay of the first-moment estimate.
    pub beta1: f64,
    /// Decay of the second-moment estimate.
    pub beta2: f64,
    /// Added to the root of the second moment.
    pub eps: f64,
    /// Decoupled weight decay, applied as `theta *= 1 - lr * weight_decay`.
    pub weight_decay: f64,
}

impl Default for AdamWConfig {
    /// PyTorch's defaults, with the weight decay of sentence-transformers' `fit` (0.01).
    fn default() -> Self {
        AdamWConfig {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.01,
        }
    }
}

/// The usual no-decay rule of BERT fine-tuning: biases and layer-norm parameters are not
/// decayed (decaying a norm's scale towards 0 fights the normalisation).
pub fn no_decay(name: &str) -> bool {
    name.ends_with("bias") || name.contains("LayerNorm") || name.contains("layer_norm")
}

/// AdamW (Loshchilov and Hutter, "Decoupled Weight Decay Regularization") as PyTorch defines
/// it. With gradient `g` at step `t`:
///
/// ```text
/// theta <- theta * (1 - lr * weight_decay)
/// m <- beta1 m + (1 - beta1) g        v <- beta2 v + (1 - beta2) g^2
/// theta <- theta - lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)
/// ```
///
/// The decay is decoupled: it shrinks the weights directly and never enters `m` or `v` (Adam
/// with L2 regularisation would add `weight_decay * theta` to `g`). `t` counts every step;
/// parameters without a gradient in a step (unused, or frozen) are not touched, moments
/// included. Each parameter is updated in place in one pass over its elements (candle-nn's
/// `AdamW` makes a dozen tensors of every parameter's size per step), in f64 arithmetic.
pub struct AdamW {
    slots: Vec<Slot>,
    beta1: f64,
    beta2: f64,
    eps: f64,
    lr: f64,
    t: i32,
}

/// One parameter, its weight decay and its moments.
struct Slot {
    name: String,
    var: Var,
    weight_decay: f64,
    moments: Moments,
}

/// The first and second moments, in the parameter's element type.
enum Moments {
    F32(Vec<f32>, Vec<f32>),
    F64(Vec<f64>, Vec<f64>),
}

impl std::fmt::Debug for AdamW {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.slots.iter().map(|s| s.name.as_str()).collect();
        f.debug_struct("AdamW")
            .field("params", &names)
            .field("lr", &self.lr)
            .field("t", &self.t)
            .finish()
    }
}

/// What one step of one parameter needs besides its elements.
#[derive(Clone, Copy)]
struct Coefficients {
    beta1: f64,
    beta2: f64,
    eps: f64,
    /// `1 / (1 - beta1^t)` and `1 / (1 - beta2^t)`.
    correct1: f64,
    correct2: f64,
    lr: f64,
    /// `1 - lr * weight_decay`.
    shrink: f64,
}

/// One step of `theta`, `m` and `v`, in place, with the gradient `g * grad_scale`.
fn update<T: Float>(
    theta: &mut [T],
    g: &[T],
    m: &mut [T],
    v: &mut [T],
    grad_scale: f64,
    c: Coefficients,
) {
    const CHUNK: usize = 1 << 14;
    theta
        .par_chunks_mut(CHUNK)
        .zip(m.par_chunks_mut(CHUNK).zip(v.par_chunks_mut(CHUNK)))
        .enumerate()
        .for_each(|(chunk, (theta, (m, v)))| {
            let at = chunk * CHUNK;
            for i in 0..theta.len() {
                let gi = g[at + i].to_f64() * grad_scale;
                let mi = c.beta1 * m[i].to_f64() + (1.0 - c.beta1) * gi;
                let vi = c.beta2 * v[i].to_f64() + (1.0 - c.beta2) * gi * gi;
                m[i] = T::from_f64(mi);
                v[i] = T::from_f64(vi);
                let direction = mi * c.correct1 / ((vi * c.correct2).sqrt() + c.eps);
                theta[i] = T::from_f64(theta[i].to_f64() * c.shrink - c.lr * direction);
            }
        });
}

/// The update of one parameter as candle's in-place operation on the parameter's storage with
/// its gradient: writing the new values into the parameter itself spares a fresh buffer of its
/// size (and a copy) per step, which for the word embeddings is tens of megabytes of page
/// faults each time.
struct InPlaceStep<'a> {
    moments: std::cell::RefCell<&'a mut Moments>,
    grad_scale: f64,
    coefficients: Coefficients,
}

impl candle_core::InplaceOp2 for InPlaceStep<'_> {
    fn name(&self) -> &'static str {
        "adamw-step"
    }

    fn cpu_fwd(
        &self,
        theta: &mut candle_core::CpuStorage,
        theta_layout: &candle_core::Layout,
        g: &candle_core::CpuStorage,
        g_layout: &candle_core::Layout,
    ) -> candle_core::Result<()> {
        fn parts<'s, T: Float>(
            theta: &'s mut candle_core::CpuStorage,
            theta_layout: &candle_core::Layout,
            g: &'s candle_core::CpuStorage,
            g_layout: &candle_core::Layout,
        ) -> candle_core::Result<(&'s mut [T], &'s [T])> {
            let g = crate::ops::elements::<T>(g, g_layout)?;
            let theta = crate::ops::elements_mut::<T>(theta, theta_layout)?;
            if theta.len() != g.len() {
                return Err(candle_core::Error::Msg(format!(
                    "AdamW: {} parameter values, {} gradient values",
                    theta.len(),
                    g.len()
                )));
            }
            Ok((theta, g))
        }
        let mut moments = self.moments.borrow_mut();
        match &mut **moments {
            Moments::F32(m, v) => {
                let (theta, g) = parts::<f32>(theta, theta_layout, g, g_layout)?;
                update(theta, g, m, v, self.grad_scale, self.coefficients);
            }
            Moments::F64(m, v) => {
                let (theta, g) = parts::<f64>(theta, theta_layout, g, g_layout)?;
                update(theta, g, m, v, self.grad_scale, self.coefficients);
            }
        }
        Ok(())
    }
}

impl AdamW {
    /// An optimiser over `vars`; those whose name `no_decay` accepts get no weight decay.
    pub fn new(
        vars: &[(String, Var)],
        config: &AdamWConfig,
        no_decay: impl Fn(&str) -> bool,
    ) -> Result<AdamW> {
        let ok = |x: f64, lo: f64, hi: f64| x.is_finite() && x >= lo && x < hi;
        if !ok(config.beta1, 0.0, 1.0) || !ok(config.beta2, 0.0, 1.0) {
            return Err(TrainError::InvalidConfig(format!(
                "AdamW betas must lie in [0, 1), got {} and {}",
                config.beta1, config.beta2
            )));
        }
        if !ok(config.eps, f64::MIN_POSITIVE, f64::INFINITY)
            || !ok(config.weight_decay, 0.0, f64::INFINITY)
        {
            return Err(TrainError::InvalidConfig(format!(
                "AdamW needs eps > 0 and weight decay >= 0, got {} and {}",
                config.eps, config.weight_decay
            )));
        }
        let slots = vars
            .iter()
            .map(|(name, var)| {
                let n = var.elem_count();
                let moments = match var.dtype() {
                    DType::F32 => Moments::F32(vec![0.0; n], vec![0.0; n]),
                    DType::F64 => Moments::F64(vec![0.0; n], vec![0.0; n]),
                    other => {
                        return Err(TrainError::InvalidConfig(format!(
                            "AdamW trains f32 or f64 parameters; {name} is {other:?}"
                        )))
                    }
                };
                let weight_decay = if no_decay(name) {
                    0.0
                } else {
                    config.weight_decay
                };
                Ok(Slot {
                    name: name.clone(),
                    var: var.clone(),
                    weight_decay,
                    moments,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(AdamW {
            slots,
            beta1: config.beta1,
            beta2: config.beta2,
            eps: config.eps,
            lr: 0.0,
            t: 0,
        })
    }

    /// Sets the learning rate of the next steps.
    pub fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }

    /// The current learning rate.
    pub fn lr(&self) -> f64 {
        self.lr
    }

    /// One update of every parameter that has a gradient in `grads`.
    pub fn step(&mut self, grads: &GradStore) -> Result<()> {
        self.step_scaled(grads, 1.0)
    }

    /// [`AdamW::step`] with every gradient multiplied by `grad_scale` first: clipping by global
    /// norm ([`crate::clip_scale`]) without writing scaled copies of the gradients.
    pub fn step_scaled(&mut self, grads: &GradStore, grad_scale: f64) -> Result<()> {
        self.t = self.t.saturating_add(1);
        for slot in &mut self.slots {
            let Some(g) = grads.get(slot.var.as_tensor()) else {
                continue;
            };
            let coefficients = Coefficients {
                beta1: self.beta1,
                beta2: self.beta2,
                eps: self.eps,
                correct1: 1.0 / (1.0 - self.beta1.powi(self.t)),
                correct2: 1.0 / (1.0 - self.beta2.powi(self.t)),
                lr: self.lr,
                shrink: 1.0 - self.lr * slot.weight_decay,
            };
            let g = g.contiguous()?;
            let op = InPlaceStep {
                moments: std::cell::RefCell::new(&mut slot.moments),
                grad_scale,
                coefficients,
            };
            slot.var.as_tensor().inplace_op2(&g, &op)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Tensor};

    /// Gradients of `sum(w * theta)` are `w`.
    fn grads(vars: &[&Var], weights: &[&[f32]]) -> GradStore {
        let mut loss = Tensor::new(0.0f32, &Device::Cpu).unwrap();
        for (v, w) in vars.iter().zip(weights) {
            let w = Tensor::new(*w, &Device::Cpu).unwrap();
            loss = (loss + v.as_tensor().mul(&w).unwrap().sum_all().unwrap()).unwrap();
        }
        loss.backward().unwrap()
    }

    fn close(got: &[f32], want: &[f64]) {
        for (g, w) in got.iter().zip(want) {
            assert!((f64::from(*g) - w).abs() < 1e-6, "{got:?} != {want:?}");
        }
    }

    #[test]
    fn two_steps_equal_the_hand_computed_steps() {
        // lr 0.1, weight decay 0.01, betas 0.9 / 0.999, eps 1e-8.
        let weight = Var::new(&[1.0f32, -2.0], &Device::Cpu).unwrap();
        let bias = Var::new(&[1.0f32], &Device::Cpu).unwrap();
        let vars = vec![
            ("dense.weight".to_owned(), weight.clone()),
            ("dense.bias".to_owned(), bias.clone()),
        ];
        let mut opt = AdamW::new(&vars, &AdamWConfig::default(), no_decay).unwrap();
        opt.set_lr(0.1);

        // Step 1, g = (0.5, 0.1): m = (0.05, 0.01), v = (0.00025, 0.00001); bias-corrected
        // m^ = g, v^ = g^2, so the Adam direction is g / (|g| + 1e-8) ~ (1, 1).
        // weight: (1, -2) * (1 - 0.1 * 0.01) - 0.1 * (0.99999998, 0.9999999)
        //       = (0.999 - 0.099999998, -1.998 - 0.09999999) = (0.899000002, -2.09799999).
        // bias (g = 0.5, no decay): 1 - 0.1 * 0.99999998 = 0.900000002.
        opt.step(&grads(&[&weight, &bias], &[&[0.5, 0.1], &[0.5]]))
            .unwrap();
        close(
            &weight.as_tensor().to_vec1::<f32>().unwrap(),
            &[0.899000002, -2.09799999],
        );
        close(&bias.as_tensor().to_vec1::<f32>().unwrap(), &[0.900000002]);

        // Step 2, g = (-0.5, 0.3):
        // m = 0.9 * (0.05, 0.01) + 0.1 * (-0.5, 0.3) = (-0.005, 0.039);
        // v = 0.999 * (0.00025, 0.00001) + 0.001 * (0.25, 0.09) = (0.00049975, 0.00009999);
        // m^ = m / (1 - 0.81) = (-0.0263157895, 0.2052631579);
        // v^ = v / (1 - 0.998001) = (0.25, 0.0500200100), sqrt = (0.5, 0.2236515370);
        // weight = (0.899000002, -2.09799999) * 0.999 - 0.1 * (-0.0526315789, 0.9177810)
        //        = (0.898101002 + 0.0052631579, -2.09590199 - 0.09177810)
        //        = (0.9033641599, -2.18768009).
        opt.step(&grads(&[&weight], &[&[-0.5, 0.3]])).unwrap();
        close(
            &weight.as_tensor().to_vec1::<f32>().unwrap(),
            &[0.9033641599, -2.18768009],
        );
        // No gradient for the bias in step 2: untouched, not even decayed.
        close(&bias.as_tensor().to_vec1::<f32>().unwrap(), &[0.900000002]);
    }

    #[test]
    fn a_scaled_step_equals_a_step_on_scaled_gradients() {
        let run = |g: &[f32], scale: f64| {
            let w = Var::new(&[0.5f32, -1.5, 2.0], &Device::Cpu).unwrap();
            let vars = vec![("w".to_owned(), w.clone())];
            let mut opt = AdamW::new(&vars, &AdamWConfig::default(), no_decay).unwrap();
            opt.set_lr(0.01);
            for _ in 0..3 {
                opt.step_scaled(&grads(&[&w], &[g]), scale).unwrap();
            }
            w.as_tensor().to_vec1::<f32>().unwrap()
        };
        // Gradients near eps, so that the step's size depends on their scale (Adam's direction
        // m / (sqrt(v) + eps) is otherwise nearly scale-free); a power-of-two scale is exact,
        // so both paths see the same gradient.
        let scaled = run(&[4e-8, -8e-8, 2e-8], 0.25);
        let pre_scaled = run(&[1e-8, -2e-8, 5e-9], 1.0);
        assert_eq!(scaled, pre_scaled);
        assert_ne!(scaled, run(&[4e-8, -8e-8, 2e-8], 1.0));
    }

    #[test]
    fn rejects_bad_settings() {
        let bad = AdamWConfig {
            beta1: 1.0,
            ..AdamWConfig::default()
        };
        assert!(AdamW::new(&[], &bad, no_decay).is_err());
        let bad = AdamWConfig {
            weight_decay: -0.1,
            ..AdamWConfig::default()
        };
        assert!(AdamW::new(&[], &bad, no_decay).is_err());
    }

    #[test]
    fn no_decay_names() {
        assert!(no_decay("encoder.layer.0.output.dense.bias"));
        assert!(no_decay("embeddings.LayerNorm.weight"));
        assert!(!no_decay("encoder.layer.0.output.dense.weight"));
    }
}
