//! Gradient clipping by global norm.

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

/// Scales the gradients of `vars` in place so their global norm is at most `max_norm`, as
/// PyTorch's `clip_grad_norm_`: when the norm exceeds `max_norm`, every gradient is multiplied
/// by `max_norm / (norm + 1e-6)`. Returns the norm before clipping.
pub fn clip_grad_norm(grads: &mut GradStore, vars: &[Var], max_norm: f64) -> Result<f64> {
    let norm = grad_norm(grads, vars)?;
    let scale = clip_scale(norm, max_norm);
    if scale < 1.0 {
        for var in vars {
            if let Some(g) = grads.remove(var) {
                grads.insert(var, (g * scale)?);
            }
        }
    }
    Ok(norm)
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
        let mut grads = grads_of(&a, &b);
        let norm = clip_grad_norm(&mut grads, &vars, 1.0).unwrap();
        assert!((norm - 5.0).abs() < 1e-9);
        let ga = grads.get(&a).unwrap().to_vec1::<f32>().unwrap();
        let gb = grads.get(&b).unwrap().to_vec1::<f32>().unwrap();
        // Scaled by 1 / 5: (0.6) and (0.8, 0), global norm 1.
        assert!((ga[0] - 0.6).abs() < 1e-6, "{ga:?}");
        assert!((gb[0] - 0.8).abs() < 1e-6 && gb[1] == 0.0, "{gb:?}");
        assert!((grad_norm(&grads, &vars).unwrap() - 1.0).abs() < 1e-6);
    }

    #[test]
    fn gradients_under_the_limit_are_untouched() {
        let a = Var::new(&[1.0f32], &Device::Cpu).unwrap();
        let b = Var::new(&[1.0f32, 2.0], &Device::Cpu).unwrap();
        let vars = [a.clone(), b.clone()];
        let mut grads = grads_of(&a, &b);
        assert!((clip_grad_norm(&mut grads, &vars, 10.0).unwrap() - 5.0).abs() < 1e-9);
        assert_eq!(grads.get(&a).unwrap().to_vec1::<f32>().unwrap(), vec![3.0]);
        assert_eq!(
            grads.get(&b).unwrap().to_vec1::<f32>().unwrap(),
            vec![4.0, 0.0]
        );
    }
}
