//! Gradient clipping by global norm: the norm, and the factor [`crate::AdamW::step_scaled`]
//! applies to every gradient.

use candle_core::backprop::GradStore;
use candle_core::Var;

use crate::Result;

/// The global L2 norm of the gradients of `vars`: the square root of the sum of every squared
/// gradient entry (vars without a gradient count as zero).
pub fn grad_norm(grads: &GradStore, vars: &[Var]) -> Result<f64> {
    let mut sum = 0.0f64;
    for var in vars {
        if let Some(g) = grads.get(var) {
            sum += crate::ops::sum_of_squares(g)?;
        }
    }
    Ok(sum.sqrt())
}

/// The factor that brings gradients of global norm `norm` to at most `max_norm`, as PyTorch's
/// `clip_grad_norm_` computes it: `max_norm / (norm + 1e-6)` when that is below 1, else 1.
pub fn clip_scale(norm: f64, max_norm: f64) -> f64 {
    let scale = max_norm / (norm + 1e-6);
    if norm.is_finite() && scale < 1.0 {
        scale
    } else {
        1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Tensor};

    fn grads_of(a: &Var, b: &Var) -> GradStore {
        // loss = 3 a0 + 4 b0 + 0 b1: gradients (3) and (4, 0), global norm 5.
        let w = Tensor::new(&[4.0f32, 0.0], &Device::Cpu).unwrap();
        let loss = ((a.as_tensor() * 3.0).unwrap().sum_all().unwrap()
            + b.as_tensor().mul(&w).unwrap().sum_all().unwrap())
        .unwrap();
        loss.backward().unwrap()
    }

    #[test]
    fn clipping_scales_to_the_norm() {
        let a = Var::new(&[1.0f32], &Device::Cpu).unwrap();
        let b = Var::new(&[1.0f32, 2.0], &Device::Cpu).unwrap();
        let vars = [a.clone(), b.clone()];
        let grads = grads_of(&a, &b);
        let norm = grad_norm(&grads, &vars).unwrap();
        assert!((norm - 5.0).abs() < 1e-9);
        let scale = clip_scale(norm, 1.0);
        let ga = (grads.get(&a).unwrap() * scale)
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        let gb = (grads.get(&b).unwrap() * scale)
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        // Scaled by 1 / 5: (0.6) and (0.8, 0), global norm 1.
        assert!((ga[0] - 0.6).abs() < 1e-6, "{ga:?}");
        assert!((gb[0] - 0.8).abs() < 1e-6 && gb[1] == 0.0, "{gb:?}");
        let n: f32 = ga.iter().chain(&gb).map(|g| g * g).sum::<f32>().sqrt();
        assert!((f64::from(n) - 1.0).abs() < 1e-6);
    }

    #[test]
    fn gradients_under_the_limit_are_untouched() {
        let a = Var::new(&[1.0f32], &Device::Cpu).unwrap();
        let b = Var::new(&[1.0f32, 2.0], &Device::Cpu).unwrap();
        let grads = grads_of(&a, &b);
        let norm = grad_norm(&grads, &[a, b]).unwrap();
        assert!((norm - 5.0).abs() < 1e-9);
        assert_eq!(clip_scale(norm, 10.0), 1.0);
        // A norm that is not finite is not clipped (the loss check stops such a step).
        assert_eq!(clip_scale(f64::NAN, 1.0), 1.0);
    }
}
