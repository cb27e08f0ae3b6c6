//! One optimisation step at a time: backward, clipping, schedule, update, curves, progress.

use std::path::Path;
use std::time::Instant;

use candle_core::{Tensor, Var};
use serde::{Deserialize, Serialize};

use crate::{
    clip_scale, grad_norm, no_decay, AdamW, AdamWConfig, Curves, Decay, EarlyStopping, Progress,
    Result, Schedule, TrainError, Verdict,
};

/// The model-independent settings of a run; written into a checkpoint's JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Passes over the training examples.
    pub epochs: usize,
    /// Examples per step.
    pub batch_size: usize,
    /// Peak learning rate.
    pub lr: f64,
    /// Share of the steps spent warming up (0.1 in sentence-transformers' examples).
    pub warmup_fraction: f64,
    /// Decay after the warm-up.
    pub decay: Decay,
    /// AdamW's moments, epsilon and weight decay.
    pub adamw: AdamWConfig,
    /// Clip the global gradient norm to this; `None` does not clip.
    pub max_grad_norm: Option<f64>,
    /// Validations without improvement before stopping.
    pub patience: usize,
    /// The smallest gain that counts as an improvement.
    pub min_delta: f64,
    /// Stop after this many seconds of training (the run ends with its best checkpoint).
    pub max_seconds: Option<f64>,
    /// Seeds batching and every other random choice of the run.
    pub seed: u64,
}

impl TrainConfig {
    /// Checks ranges; called by [`Trainer::new`].
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(TrainError::InvalidConfig(m));
        if self.epochs == 0 {
            return bad("epochs must be at least 1".into());
        }
        if self.batch_size == 0 {
            return bad("the batch size must be at least 1".into());
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad(format!("the learning rate must be > 0, got {}", self.lr));
        }
        if !(0.0..1.0).contains(&self.warmup_fraction) {
            return bad(format!(
                "the warm-up fraction must lie in [0, 1), got {}",
                self.warmup_fraction
            ));
        }
        if let Some(n) = self.max_grad_norm {
            if !(n.is_finite() && n > 0.0) {
                return bad(format!("the gradient-norm limit must be > 0, got {n}"));
            }
        }
        if let Some(s) = self.max_seconds {
            if !(s.is_finite() && s > 0.0) {
                return bad(format!("the time limit must be > 0 seconds, got {s}"));
            }
        }
        Ok(())
    }
}

/// What one step did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepStats {
    /// Steps taken so far, this one included.
    pub step: usize,
    /// The learning rate of this step.
    pub lr: f64,
    /// The batch loss.
    pub loss: f64,
    /// The global gradient norm before clipping.
    pub grad_norm: f64,
}

/// Drives the optimisation of a set of named variables; the caller owns the model, the data
/// and the loss (see the crate documentation).
#[derive(Debug)]
pub struct Trainer {
    vars: Vec<Var>,
    optimizer: AdamW,
    schedule: Schedule,
    max_grad_norm: Option<f64>,
    max_seconds: Option<f64>,
    early: EarlyStopping,
    curves: Option<Curves>,
    progress: Progress,
    started: Instant,
    step: usize,
    epoch: usize,
    smoothed_loss: Option<f64>,
}

impl Trainer {
    /// A trainer of `trainable` for `config.epochs` epochs of `steps_per_epoch` steps, writing
    /// `curves.csv` to `curves` with the named validation metrics when given (the first metric
    /// drives early stopping).
    pub fn new(
        trainable: &[(String, Var)],
        config: &TrainConfig,
        steps_per_epoch: usize,
        curves: Option<(&Path, &[&str])>,
        label: &str,
    ) -> Result<Trainer> {
        config.validate()?;
        if trainable.is_empty() {
            return Err(TrainError::InvalidConfig(
                "nothing to train: every parameter is frozen".into(),
            ));
        }
        let total_steps = (config.epochs * steps_per_epoch).max(1);
        let schedule = Schedule {
            peak: config.lr,
            warmup_steps: (config.warmup_fraction * total_steps as f64).ceil() as usize,
            total_steps,
            decay: config.decay,
        };
        let curves = match curves {
            Some((path, metrics)) => Some(Curves::create(path, metrics)?),
            None => None,
        };
        Ok(Trainer {
            vars: trainable.iter().map(|(_, v)| v.clone()).collect(),
            optimizer: AdamW::new(trainable, &config.adamw, no_decay)?,
            schedule,
            max_grad_norm: config.max_grad_norm,
            max_seconds: config.max_seconds,
            early: EarlyStopping::new(config.patience, config.min_delta),
            curves,
            progress: Progress::new(total_steps as u64, label),
            started: Instant::now(),
            step: 0,
            epoch: 1,
            smoothed_loss: None,
        })
    }

    /// The schedule in use.
    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }

    /// Shortens (or lengthens) the run to `total_steps`, e.g. once the time limit shows how many
    /// steps fit; the warm-up keeps its share.
    pub fn set_total_steps(&mut self, total_steps: usize) {
        let total_steps = total_steps.max(1);
        let share = self.schedule.warmup_steps as f64 / self.schedule.total_steps as f64;
        self.schedule.warmup_steps = (share * total_steps as f64).ceil() as usize;
        self.schedule.total_steps = total_steps;
        self.progress.set_total(total_steps as u64);
    }

    /// One step on the loss of a batch: gradients, clipping, learning rate, AdamW update, a row
    /// of `curves.csv` and the progress bar.
    pub fn step(&mut self, loss: &Tensor) -> Result<StepStats> {
        let loss_value = loss.to_dtype(candle_core::DType::F64)?.to_scalar::<f64>()?;
        if !loss_value.is_finite() {
            return Err(TrainError::InvalidConfig(format!(
                "the loss became {loss_value} at step {}; lower the learning rate",
                self.step + 1
            )));
        }
        let grads = loss.backward()?;
        let norm = grad_norm(&grads, &self.vars)?;
        let grad_scale = self
            .max_grad_norm
            .map_or(1.0, |limit| clip_scale(norm, limit));
        self.step += 1;
        let lr = self.schedule.lr(self.step);
        self.optimizer.set_lr(lr);
        self.optimizer.step_scaled(&grads, grad_scale)?;
        if let Some(c) = &mut self.curves {
            c.step(self.epoch, self.step, lr, loss_value)?;
        }
        let smoothed = match self.smoothed_loss {
            None => loss_value,
            Some(s) => 0.9 * s + 0.1 * loss_value,
        };
        self.smoothed_loss = Some(smoothed);
        self.progress.update(self.step as u64, smoothed, lr);
        Ok(StepStats {
            step: self.step,
            lr,
            loss: loss_value,
            grad_norm: norm,
        })
    }

    /// Records the validation metrics at the end of the current epoch (or, before any step, of
    /// the starting weights as epoch 0) and says whether to keep the weights or stop.
    pub fn end_epoch(&mut self, metrics: &[f64]) -> Result<Verdict> {
        let epoch = if self.step == 0 { 0 } else { self.epoch };
        if let Some(c) = &mut self.curves {
            c.epoch(epoch, self.step, metrics)?;
        }
        let first = metrics.first().copied().unwrap_or(f64::NAN);
        let verdict = self.early.observe(epoch, first);
        if self.step > 0 {
            self.epoch += 1;
        }
        Ok(verdict)
    }

    /// The best validation so far: (epoch, value of the first metric).
    pub fn best(&self) -> Option<(usize, f64)> {
        self.early.best()
    }

    /// Steps taken.
    pub fn steps(&self) -> usize {
        self.step
    }

    /// Seconds since the trainer was made.
    pub fn elapsed(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// True once the time limit is spent.
    pub fn out_of_time(&self) -> bool {
        self.max_seconds.is_some_and(|s| self.elapsed() >= s)
    }

    /// The progress bar, to print above it.
    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    /// Flushes the curves and removes the progress bar.
    pub fn finish(&mut self) -> Result<()> {
        self.progress.finish();
        if let Some(c) = &mut self.curves {
            c.flush()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{epoch_rng, shuffled_batches};
    use candle_core::{DType, Device};

    /// Least squares y = 2 x0 - x1 + 0.5 over 16 fixed points, trained for a few epochs.
    fn train(seed: u64) -> (Vec<f32>, Vec<f32>, f64) {
        let dev = Device::Cpu;
        let xs: Vec<f32> = (0..32).map(|i| ((i * 7 % 11) as f32 - 5.0) / 5.0).collect();
        let x = Tensor::from_vec(xs.clone(), (16, 2), &dev).unwrap();
        let ys: Vec<f32> = xs.chunks(2).map(|p| 2.0 * p[0] - p[1] + 0.5).collect();
        let y = Tensor::from_vec(ys, (16, 1), &dev).unwrap();
        let w = Var::zeros((2, 1), DType::F32, &dev).unwrap();
        let b = Var::zeros(1, DType::F32, &dev).unwrap();
        let vars = vec![
            ("w".to_owned(), w.clone()),
            ("b.bias".to_owned(), b.clone()),
        ];
        let config = TrainConfig {
            epochs: 5,
            batch_size: 4,
            lr: 0.05,
            warmup_fraction: 0.1,
            decay: Decay::Linear,
            adamw: AdamWConfig::default(),
            max_grad_norm: Some(1.0),
            patience: 5,
            min_delta: 0.0,
            max_seconds: None,
            seed,
        };
        let mut trainer = Trainer::new(&vars, &config, 4, None, "test").unwrap();
        let mut last = 0.0;
        for epoch in 0..config.epochs {
            for batch in shuffled_batches(16, 4, &mut epoch_rng(seed, epoch)) {
                let idx: Vec<u32> = batch.iter().map(|&i| i as u32).collect();
                let idx = Tensor::new(idx.as_slice(), &dev).unwrap();
                let xb = x.index_select(&idx, 0).unwrap();
                let yb = y.index_select(&idx, 0).unwrap();
                let pred = xb
                    .matmul(w.as_tensor())
                    .unwrap()
                    .broadcast_add(b.as_tensor())
                    .unwrap();
                let loss = (pred - yb).unwrap().sqr().unwrap().mean_all().unwrap();
                last = trainer.step(&loss).unwrap().loss;
            }
        }
        assert_eq!(trainer.steps(), 20);
        let w = w.as_tensor().flatten_all().unwrap().to_vec1().unwrap();
        let b = b.as_tensor().to_vec1().unwrap();
        (w, b, last)
    }

    #[test]
    fn same_seed_same_weights() {
        let (w1, b1, _) = train(3);
        let (w2, b2, _) = train(3);
        assert_eq!((&w1, &b1), (&w2, &b2));
        let (w3, _, _) = train(4);
        assert_ne!(w1, w3, "another seed visits the batches in another order");
    }

    #[test]
    fn training_moves_towards_the_solution() {
        let (w, b, _) = train(1);
        // From 0: both weights move towards (2, -1) and the bias towards 0.5.
        assert!(w[0] > 0.5 && w[1] < -0.2 && b[0] > 0.1, "{w:?} {b:?}");
    }

    /// Constant learning rate 0.1, batch 1, no clipping, no patience.
    fn plain_config(epochs: usize) -> TrainConfig {
        TrainConfig {
            epochs,
            batch_size: 1,
            lr: 0.1,
            warmup_fraction: 0.0,
            decay: Decay::Constant,
            adamw: AdamWConfig::default(),
            max_grad_norm: None,
            patience: 0,
            min_delta: 0.0,
            max_seconds: None,
            seed: 0,
        }
    }

    #[test]
    fn epoch_zero_and_early_stopping() {
        let v = Var::zeros(1, DType::F32, &Device::Cpu).unwrap();
        let config = plain_config(3);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("curves.csv");
        let mut t = Trainer::new(
            &[("v".into(), v.clone())],
            &config,
            1,
            Some((&path, &["ndcg@10"])),
            "t",
        )
        .unwrap();
        assert_eq!(t.end_epoch(&[0.5]).unwrap(), Verdict::Improved);
        let loss = v.as_tensor().sum_all().unwrap();
        let stats = t.step(&loss).unwrap();
        assert_eq!((stats.step, stats.lr, stats.grad_norm), (1, 0.1, 1.0));
        assert_eq!(t.end_epoch(&[0.4]).unwrap(), Verdict::Stop);
        assert_eq!(t.best(), Some((0, 0.5)));
        t.finish().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "kind,epoch,step,lr,loss,ndcg@10\nepoch,0,0,,,0.5\nstep,1,1,1e-1,0,\nepoch,1,1,,,0.4\n"
        );
    }

    #[test]
    fn rejects_bad_settings_and_nothing_to_train() {
        let v = Var::zeros(1, DType::F32, &Device::Cpu).unwrap();
        let good = plain_config(1);
        assert!(Trainer::new(&[], &good, 1, None, "t").is_err());
        for bad in [
            TrainConfig {
                lr: 0.0,
                ..good.clone()
            },
            TrainConfig {
                epochs: 0,
                ..good.clone()
            },
            TrainConfig {
                warmup_fraction: 1.0,
                ..good.clone()
            },
            TrainConfig {
                max_grad_norm: Some(-1.0),
                ..good.clone()
            },
        ] {
            assert!(Trainer::new(&[("v".into(), v.clone())], &bad, 1, None, "t").is_err());
        }
    }
}
