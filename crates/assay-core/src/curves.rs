//! The record of one training run: the loss of every optimiser step and the validation
//! metrics of every epoch, as a trainer writes them to `curves.csv` and a report draws them.

use serde::Serialize;

/// One optimiser step.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct StepPoint {
    /// The epoch, from 1.
    pub epoch: usize,
    /// Optimiser steps so far, this one included.
    pub step: usize,
    /// The learning rate of the step.
    pub lr: f64,
    /// The step's training loss.
    pub loss: f64,
}

/// The validation after one epoch (epoch 0: before training).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EpochPoint {
    /// The epoch, from 0.
    pub epoch: usize,
    /// Optimiser steps so far.
    pub step: usize,
    /// One value per metric of [`TrainingCurves::metrics`].
    pub values: Vec<f64>,
}

/// A training run's curves.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TrainingCurves {
    /// Names of the validation metrics; the first drives early stopping.
    pub metrics: Vec<String>,
    /// Every step, in order.
    pub steps: Vec<StepPoint>,
    /// Every validation, in order.
    pub epochs: Vec<EpochPoint>,
}
