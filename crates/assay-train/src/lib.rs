//! A small training library on candle, shared by assay's neural models (the fine-tuned sentence
//! encoder today, deep recommenders next).
//!
//! It provides the pieces of a training loop, not a model: seeded, shuffled batching
//! ([`shuffled_batches`], [`distinct_batches`]), AdamW with decoupled weight decay and a
//! no-decay group for biases and norms ([`AdamW`]), learning-rate schedules with linear warm-up
//! then constant, linear or cosine decay ([`Schedule`]), gradient clipping by global norm
//! ([`clip_scale`], applied by [`AdamW::step_scaled`]), early stopping on a validation metric
//! with patience ([`EarlyStopping`]), layer freezing by parameter name ([`select_vars`]), checkpoints as
//! safetensors plus a JSON config ([`save_safetensors`], [`write_json`]), training curves
//! ([`Curves`], `curves.csv`) and a progress bar that hides itself off a terminal
//! ([`Progress`]). [`Trainer`] ties them together for one optimisation step at a time: the
//! caller computes a loss tensor for a batch, the trainer does backward, clipping, the learning
//! rate and the update, and logs. Fused CPU layers with their gradients ([`ops`],
//! [`recurrent::gru`], [`loss::cross_entropy`]) stand in for long chains of small tensors.
//!
//! **Key design decision:** a model is a set of named candle `Var`s and a loss function the
//! caller writes; the trainer never sees the model's structure. Freezing is choosing which
//! names go to the optimiser, so frozen weights are never touched (bit-identical after
//! training), and a model may build its frozen parts from detached tensors to skip their
//! gradients altogether. Every random choice here takes a seed (ChaCha8), so the same seed
//! gives the same batches and, on the same machine, the same weights.

#![warn(missing_docs)]

mod alloc;
mod batch;
mod checkpoint;
mod clip;
mod curves;
mod early;
mod freeze;
pub mod loss;
pub mod ops;
mod optim;
mod progress;
pub mod recurrent;
mod schedule;
mod trainer;

use std::path::PathBuf;

pub use alloc::HugePageAlloc;
pub use batch::{distinct_batches, epoch_rng, shuffled_batches};
pub use checkpoint::{save_safetensors, write_json};
pub use clip::{clip_scale, grad_norm};
pub use curves::Curves;
pub use early::{EarlyStopping, Verdict};
pub use freeze::{select_vars, sorted_vars};
pub use optim::{no_decay, AdamW, AdamWConfig};
pub use progress::Progress;
pub use schedule::{Decay, Schedule};
pub use trainer::{StepStats, TrainConfig, Trainer};

/// What can go wrong while training.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A tensor operation failed (shapes, dtypes, a missing gradient).
    #[error("tensor: {0}")]
    Tensor(#[from] candle_core::Error),
    /// A file could not be written or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A JSON file could not be written.
    #[error("{path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: serde_json::Error,
    },
    /// A training setting is out of range.
    #[error("invalid training setting: {0}")]
    InvalidConfig(String),
}

/// Shorthand for results of this crate.
pub type Result<T> = std::result::Result<T, TrainError>;

pub(crate) fn io_error(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> TrainError {
    let path = path.to_owned();
    move |source| TrainError::Io { path, source }
}
