//! What an iterative fit reports: its curve epoch by epoch and why it stopped.

use assay_core::StepPoint;
use serde::Serialize;

/// One epoch of an iterative fit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EpochLog {
    /// The epoch, from 1.
    pub epoch: usize,
    /// Mean training loss over the epoch, when the model reports it.
    pub loss: Option<f64>,
    /// The validation score after the epoch, when validated.
    pub valid: Option<f64>,
    /// Seconds the epoch took (training and validation), when measured.
    pub seconds: Option<f64>,
}

/// Why an iterative fit ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// Every allowed epoch ran.
    MaxEpochs,
    /// Early stopping fired: `patience` validations in a row without improvement.
    Patience,
    /// The time limit was reached.
    TimeLimit,
}

/// The training curve of one fit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrainingLog {
    /// Every epoch run, in order.
    pub epochs: Vec<EpochLog>,
    /// The epoch whose weights the model kept (the best validation score), when validated.
    pub best_epoch: Option<usize>,
    /// Why training ended; `None` when the model does not say.
    pub stop: Option<StopReason>,
    /// Every optimiser step (epoch, steps so far, learning rate, batch loss), when the model
    /// records them: what `curves.csv` holds. Left out of the JSON, which keeps one line per
    /// epoch.
    #[serde(skip)]
    pub steps: Vec<StepPoint>,
}

impl TrainingLog {
    /// Optimiser steps taken up to the end of `epoch` (0 when no step was recorded).
    pub fn steps_through(&self, epoch: usize) -> usize {
        self.steps
            .iter()
            .filter(|s| s.epoch <= epoch)
            .map(|s| s.step)
            .max()
            .unwrap_or(0)
    }
}
