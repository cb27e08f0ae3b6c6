//! Learning-rate schedules: linear warm-up to a peak, then constant, linear or cosine decay.

use serde::{Deserialize, Serialize};

/// What the learning rate does after the warm-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decay {
    /// Stays at the peak.
    Constant,
    /// Falls linearly to 0 at the last step.
    Linear,
    /// Falls along half a cosine to 0 at the last step.
    Cosine,
}

/// A learning rate per optimiser step. Steps count from 1; step `s` of `total_steps` gets:
///
/// - warm-up (`s <= warmup_steps`): `peak * s / warmup_steps`;
/// - then, with `p = (s - 1 - warmup_steps) / (total_steps - warmup_steps)`:
///   constant `peak`, linear `peak * (1 - p)`, cosine `peak * (1 + cos(pi * p)) / 2`.
///
/// After the warm-up this is Hugging Face's `get_linear_schedule_with_warmup` (and its cosine
/// sibling) exactly; the warm-up is shifted by one step, so the first update does not run at a
/// learning rate of 0. Steps past `total_steps` get the rate of the last step.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    /// The learning rate at the end of the warm-up.
    pub peak: f64,
    /// Steps of linear warm-up.
    pub warmup_steps: usize,
    /// Steps in the whole run.
    pub total_steps: usize,
    /// The shape after the warm-up.
    pub decay: Decay,
}

impl Schedule {
    /// The learning rate of step `step` (from 1).
    pub fn lr(&self, step: usize) -> f64 {
        let total = self.total_steps.max(1);
        let step = step.clamp(1, total);
        let warmup = self.warmup_steps.min(total);
        if step <= warmup {
            return self.peak * step as f64 / warmup as f64;
        }
        let progress = (step - 1 - warmup) as f64 / (total - warmup) as f64;
        match self.decay {
            Decay::Constant => self.peak,
            Decay::Linear => self.peak * (1.0 - progress),
            Decay::Cosine => self.peak * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} != {b}");
    }

    #[test]
    fn warmup_then_linear_by_hand() {
        // Peak 1.0, 2 warm-up steps, 6 steps: 0.5, 1.0, then 1 - (s - 3) / 4 for s = 3..6.
        let s = Schedule {
            peak: 1.0,
            warmup_steps: 2,
            total_steps: 6,
            decay: Decay::Linear,
        };
        let got: Vec<f64> = (1..=6).map(|i| s.lr(i)).collect();
        for (g, want) in got.iter().zip([0.5, 1.0, 1.0, 0.75, 0.5, 0.25]) {
            close(*g, want);
        }
        // Past the end: the last step's rate.
        close(s.lr(9), 0.25);
    }

    #[test]
    fn cosine_and_constant_by_hand() {
        // Peak 2.0, 1 warm-up step, 5 steps: p = 0, 1/4, 2/4, 3/4 after the warm-up.
        let s = Schedule {
            peak: 2.0,
            warmup_steps: 1,
            total_steps: 5,
            decay: Decay::Cosine,
        };
        let half_sqrt2 = std::f64::consts::FRAC_1_SQRT_2;
        let want = [2.0, 2.0, 1.0 + half_sqrt2, 1.0, 1.0 - half_sqrt2];
        for (i, w) in want.into_iter().enumerate() {
            close(s.lr(i + 1), w);
        }
        let c = Schedule {
            decay: Decay::Constant,
            warmup_steps: 4,
            ..s
        };
        close(c.lr(1), 0.5);
        close(c.lr(5), 2.0);
    }

    #[test]
    fn without_warmup_the_first_step_runs_at_the_peak() {
        let s = Schedule {
            peak: 0.1,
            warmup_steps: 0,
            total_steps: 2,
            decay: Decay::Linear,
        };
        close(s.lr(1), 0.1);
        close(s.lr(2), 0.05);
    }
}
