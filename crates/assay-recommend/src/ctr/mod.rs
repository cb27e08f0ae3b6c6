//! Click-through-rate models: logistic regression, DeepFM over categorical user, item and
//! context fields, and a text model (query and title tokens, embedding, GRU, dense, sigmoid),
//! trained on candle with assay-train.
//!
//! A [`CtrTable`] holds the examples (built by [`table_from_dataset`] from impressions and
//! clicks, or ratings with a threshold, or row by row with a [`TableBuilder`]); [`fit`] trains
//! one model kind on some of its rows with early stopping on another set of rows (validation
//! AUC or LogLoss), and [`CtrModel::predict`] gives click probabilities. Training minimises the
//! mean binary cross-entropy with Adam (AdamW without weight decay by default), shuffled
//! batches seeded per epoch, and keeps the weights of the best validation epoch.

mod net;
mod table;

use std::path::Path;
use std::time::Instant;

use assay_core::StepPoint;
use assay_train::{AdamWConfig, Decay, EarlyStopping, TrainConfig, Trainer, Verdict};
use candle_core::Tensor;
use serde::{Deserialize, Serialize};

pub use table::{
    pair_table, price_bands, random_split, table_from_dataset, words, Cell, CtrLabel, CtrTable,
    Field, Schema, TableBuilder, MAX_TEXT_TOKENS, PRICE_BANDS,
};

use crate::models::nn::{tensor_error, CResult};
use crate::store::{self, ModelFile, Tensors};
use crate::{EpochLog, RecommendError, Result, StopReason, TrainingLog};
use net::{Batch, CtrNet};

/// Rows scored in one forward pass when predicting.
const PREDICT_CHUNK: usize = 4096;

/// The click models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CtrKind {
    /// Logistic regression over the one-hot features.
    #[serde(rename = "lr")]
    Lr,
    /// DeepFM: linear + FM + MLP over shared field embeddings.
    #[serde(rename = "deepfm")]
    DeepFm,
    /// Text tokens, embedding, GRU, dense, sigmoid.
    #[serde(rename = "ctr-gru")]
    CtrGru,
}

impl CtrKind {
    /// Every kind, in the order they are listed.
    pub const ALL: [CtrKind; 3] = [CtrKind::Lr, CtrKind::DeepFm, CtrKind::CtrGru];

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            CtrKind::Lr => "lr",
            CtrKind::DeepFm => "deepfm",
            CtrKind::CtrGru => "ctr-gru",
        }
    }

    /// The kind called `name`.
    pub fn parse(name: &str) -> Option<CtrKind> {
        CtrKind::ALL
            .into_iter()
            .find(|k| k.name() == name.trim().to_ascii_lowercase())
    }
}

/// The validation metric that picks the best epoch and stops training.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ValidMetric {
    /// Larger is better.
    Auc,
    /// Smaller is better.
    LogLoss,
}

/// Hyper-parameters of a click model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CtrParams {
    /// Which model.
    pub kind: CtrKind,
    /// Embedding size (field embeddings for DeepFM, token embeddings for the text model).
    pub embedding: usize,
    /// DeepFM's MLP layer sizes; the text model's GRU hidden size is the first.
    pub hidden: Vec<usize>,
    /// Dropout after each MLP layer (DeepFM) or on the token embeddings (text model).
    pub dropout: f32,
    /// Adam's learning rate.
    pub lr: f64,
    /// Decoupled weight decay.
    pub weight_decay: f64,
    /// Rows per step.
    pub batch: usize,
    /// Most epochs.
    pub epochs: usize,
    /// Validations without improvement before stopping.
    pub patience: usize,
    /// What early stopping watches.
    pub metric: ValidMetric,
    /// Stop once this many seconds of training have passed (the epoch under way is cut short
    /// and validated).
    pub max_seconds: Option<f64>,
    /// Text tokens read per row.
    pub maxlen: usize,
    /// Seed of initialisation, batching and dropout.
    pub seed: u64,
    /// The text model's initial token embeddings (`None`: random); only the fit reads them,
    /// the saved model holds the trained ones.
    #[serde(skip)]
    pub token_init: Option<std::sync::Arc<TokenInit>>,
}

/// Initial token embeddings for the text model: row `t` for token id `t`, of `dim` values;
/// a token without a row keeps the random initialisation.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenInit {
    /// Values per token.
    pub dim: usize,
    /// One row per token id.
    pub rows: Vec<Option<Vec<f32>>>,
}

impl CtrParams {
    /// The defaults of `kind`: RecBole's for DeepFM (embedding 10, MLP 128-128-128, dropout
    /// 0.2, lr 0.001, batch 2048, 300 epochs, stopping step 10, validation AUC); logistic
    /// regression with lr 0.01 (a convex fit that only needs to converge); the text model with
    /// embedding 64, GRU 64, dropout 0.2, lr 0.001, batch 512.
    pub fn defaults(kind: CtrKind) -> CtrParams {
        let base = CtrParams {
            kind,
            embedding: 10,
            hidden: vec![128, 128, 128],
            dropout: 0.2,
            lr: 0.001,
            weight_decay: 0.0,
            batch: 2048,
            epochs: 300,
            patience: 10,
            metric: ValidMetric::Auc,
            max_seconds: None,
            maxlen: MAX_TEXT_TOKENS,
            seed: 0,
            token_init: None,
        };
        match kind {
            CtrKind::Lr => CtrParams {
                lr: 0.01,
                hidden: Vec::new(),
                dropout: 0.0,
                ..base
            },
            CtrKind::DeepFm => base,
            CtrKind::CtrGru => CtrParams {
                embedding: 64,
                hidden: vec![64],
                batch: 512,
                ..base
            },
        }
    }

    /// Checks ranges.
    pub fn check(&self) -> Result<()> {
        let bad = |name: &'static str, value: String, reason: &'static str| {
            Err(RecommendError::Param {
                name,
                value,
                reason,
            })
        };
        if self.embedding == 0 {
            return bad("embedding", "0".into(), "must be at least 1");
        }
        if self.hidden.contains(&0) || (self.kind == CtrKind::CtrGru && self.hidden.is_empty()) {
            return bad(
                "hidden",
                format!("{:?}", self.hidden),
                "layer sizes must be at least 1 (the text model needs one)",
            );
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad("dropout", self.dropout.to_string(), "must lie in [0, 1)");
        }
        if self.batch == 0 || self.epochs == 0 || self.maxlen == 0 {
            return bad(
                "batch/epochs/maxlen",
                format!("{}/{}/{}", self.batch, self.epochs, self.maxlen),
                "must be at least 1",
            );
        }
        if !(self.weight_decay >= 0.0 && self.weight_decay.is_finite()) {
            return bad(
                "weight_decay",
                self.weight_decay.to_string(),
                "must be >= 0",
            );
        }
        Ok(())
    }
}

/// A fitted click model.
#[derive(Debug)]
pub struct CtrModel {
    params: CtrParams,
    schema: Schema,
    net: Box<dyn CtrNet>,
    log: Option<TrainingLog>,
    train_seconds: f64,
}

/// Kind and shape of a saved model.
#[derive(Debug, Serialize, Deserialize)]
struct Saved {
    params: CtrParams,
    schema: Schema,
}

impl CtrModel {
    /// The hyper-parameters.
    pub fn params(&self) -> &CtrParams {
        &self.params
    }

    /// The table shape the model reads.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The training curve (absent for a loaded model).
    pub fn log(&self) -> Option<&TrainingLog> {
        self.log.as_ref()
    }

    /// Seconds spent training, validation included.
    pub fn train_seconds(&self) -> f64 {
        self.train_seconds
    }

    /// Click probabilities of `rows` of `table`, which must have the model's fields and no
    /// more features or tokens than it was built for.
    pub fn predict(&self, table: &CtrTable, rows: &[usize]) -> Result<Vec<f64>> {
        let s = table.schema();
        if s.fields != self.schema.fields
            || s.n_features > self.schema.n_features
            || s.n_tokens > self.schema.n_tokens
        {
            return Err(RecommendError::Data(format!(
                "the table ({} fields, {} features, {} tokens) is not the one the {} model was \
                 built for ({} fields, {} features, {} tokens)",
                s.fields.len(),
                s.n_features,
                s.n_tokens,
                self.params.kind.name(),
                self.schema.fields.len(),
                self.schema.n_features,
                self.schema.n_tokens
            )));
        }
        if let Some(&r) = rows.iter().find(|&&r| r >= table.len()) {
            return Err(RecommendError::Data(format!(
                "row {r} is outside the table of {} rows",
                table.len()
            )));
        }
        self.probabilities(table, rows).map_err(tensor_error)
    }

    fn probabilities(&self, table: &CtrTable, rows: &[usize]) -> CResult<Vec<f64>> {
        let with_text = self.params.kind == CtrKind::CtrGru;
        let mut out = Vec::with_capacity(rows.len());
        for chunk in rows.chunks(PREDICT_CHUNK) {
            let batch = Batch::of(table, chunk, with_text, self.params.maxlen)?;
            let logits: Vec<f32> = self.net.logits(&batch, None)?.to_vec1()?;
            out.extend(logits.iter().map(|&z| sigmoid(z as f64)));
        }
        Ok(out)
    }

    /// Writes the model into `dir`: parameters, table shape and every weight.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let mut tensors = Tensors::default();
        for (name, shape, values) in self.net.params().values().map_err(tensor_error)? {
            tensors.f32(&name, &shape, &values);
        }
        let saved = Saved {
            params: self.params.clone(),
            schema: self.schema.clone(),
        };
        store::write(dir, self.params.kind.name(), &saved, tensors)
    }

    /// Reads a model written by [`CtrModel::save`].
    pub fn load(dir: &Path) -> Result<CtrModel> {
        let file = ModelFile::read(dir)?;
        let saved: Saved = file.params()?;
        if file.kind() != saved.params.kind.name() {
            return Err(file.error(format!(
                "kind {} does not match its parameters ({})",
                file.kind(),
                saved.params.kind.name()
            )));
        }
        saved.params.check()?;
        let net = net::build(&saved.params, &saved.schema).map_err(tensor_error)?;
        for (name, var) in &net.params().vars {
            let (shape, values) = file.f32(name)?;
            if shape != var.dims() {
                return Err(file.error(format!(
                    "tensor {name} has shape {shape:?}, expected {:?}",
                    var.dims()
                )));
            }
            let tensor =
                Tensor::from_vec(values, shape, &candle_core::Device::Cpu).map_err(tensor_error)?;
            var.set(&tensor).map_err(tensor_error)?;
        }
        Ok(CtrModel {
            params: saved.params,
            schema: saved.schema,
            net,
            log: None,
            train_seconds: 0.0,
        })
    }
}

/// The logistic function.
pub fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// Trains a `params.kind` model on rows `train` of `table`, validating on rows `valid` after
/// every epoch (and before the first) and keeping the best epoch's weights; `curves`, when
/// given, is where `curves.csv` goes.
pub fn fit(
    params: &CtrParams,
    table: &CtrTable,
    train: &[usize],
    valid: &[usize],
    curves: Option<&Path>,
) -> Result<CtrModel> {
    params.check()?;
    if train.is_empty() || valid.is_empty() {
        return Err(RecommendError::Data(format!(
            "a click model needs training and validation rows (got {} and {})",
            train.len(),
            valid.len()
        )));
    }
    if let Some(&r) = train.iter().chain(valid).find(|&&r| r >= table.len()) {
        return Err(RecommendError::Data(format!(
            "row {r} is outside the table of {} rows",
            table.len()
        )));
    }
    let started = Instant::now();
    let net = net::build(params, table.schema()).map_err(tensor_error)?;
    let mut model = CtrModel {
        params: params.clone(),
        schema: table.schema().clone(),
        net,
        log: None,
        train_seconds: 0.0,
    };
    let config = TrainConfig {
        epochs: params.epochs,
        batch_size: params.batch,
        lr: params.lr,
        warmup_fraction: 0.0,
        decay: Decay::Constant,
        adamw: AdamWConfig {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: params.weight_decay,
        },
        max_grad_norm: None,
        patience: params.patience,
        min_delta: 0.0,
        max_seconds: params.max_seconds,
        seed: params.seed,
    };
    let steps_per_epoch = train.len().div_ceil(params.batch);
    let train_error = |e: assay_train::TrainError| RecommendError::Training(e.to_string());
    let curves_path = curves.map(|dir| dir.join("curves.csv"));
    let mut trainer = Trainer::new(
        &model.net.params().vars,
        &config,
        steps_per_epoch,
        curves_path
            .as_deref()
            .map(|p| (p, &["valid_auc", "valid_logloss"][..])),
        params.kind.name(),
    )
    .map_err(train_error)?;
    let mut log = TrainingLog {
        epochs: Vec::new(),
        best_epoch: None,
        stop: Some(StopReason::MaxEpochs),
        steps: Vec::new(),
    };
    // The trainer writes the curves; early stopping watches the chosen metric (AUC, or minus
    // LogLoss) with assay-train's rule.
    let mut early = EarlyStopping::new(params.patience, 0.0);
    let (auc, logloss) = validate(&model, table, valid)?;
    trainer.end_epoch(&[auc, logloss]).map_err(train_error)?;
    early.observe(0, watched(params.metric, auc, logloss));
    let mut best_weights = model.net.params().snapshot().map_err(tensor_error)?;
    let with_text = params.kind == CtrKind::CtrGru;
    for epoch in 1..=params.epochs {
        let epoch_started = Instant::now();
        let mut rng = assay_train::epoch_rng(params.seed, epoch);
        let batches = assay_train::shuffled_batches(train.len(), params.batch, &mut rng);
        let (mut total, mut count) = (0.0f64, 0usize);
        let mut cut_short = false;
        for batch in batches {
            let rows: Vec<usize> = batch.iter().map(|&i| train[i]).collect();
            let loss = batch_loss(
                model.net.as_ref(),
                table,
                &rows,
                with_text,
                params.maxlen,
                &mut rng,
            )
            .map_err(tensor_error)?;
            let stats = trainer.step(&loss).map_err(train_error)?;
            log.steps.push(StepPoint {
                epoch,
                step: stats.step,
                lr: stats.lr,
                loss: stats.loss,
            });
            total += stats.loss * rows.len() as f64;
            count += rows.len();
            if trainer.out_of_time() {
                cut_short = true;
                break;
            }
        }
        let (auc, logloss) = validate(&model, table, valid)?;
        let value = watched(params.metric, auc, logloss);
        trainer.end_epoch(&[auc, logloss]).map_err(train_error)?;
        log.epochs.push(EpochLog {
            epoch,
            loss: Some(total / count.max(1) as f64),
            valid: Some(value.abs()),
            seconds: Some(epoch_started.elapsed().as_secs_f64()),
        });
        match early.observe(epoch, value) {
            Verdict::Improved => {
                best_weights = model.net.params().snapshot().map_err(tensor_error)?;
            }
            Verdict::NoImprovement { .. } => {}
            Verdict::Stop => {
                log.stop = Some(StopReason::Patience);
                break;
            }
        }
        if cut_short || trainer.out_of_time() {
            log.stop = Some(if epoch < params.epochs {
                StopReason::TimeLimit
            } else {
                StopReason::MaxEpochs
            });
            break;
        }
    }
    trainer.finish().map_err(train_error)?;
    model
        .net
        .params()
        .restore(&best_weights)
        .map_err(tensor_error)?;
    log.best_epoch = early.best().map(|(epoch, _)| epoch);
    model.log = Some(log);
    model.train_seconds = started.elapsed().as_secs_f64();
    Ok(model)
}

/// Cross-fitted click probabilities for off-policy evaluation.
///
/// The first `n_rounds` rows of `table` are the logged rounds (labelled); after them come
/// `per_round` candidate rows for each round, round by round (labels unused). Rounds are
/// shuffled (seeded) into `n_folds` folds; for each fold a model is fitted on the other folds'
/// logged rows (a tenth of them held out for early stopping) and predicts the candidate rows
/// of the fold's rounds, so no round is scored by a model that saw it. Returns the
/// `n_rounds * per_round` probabilities in row order. With one fold the model is fitted on
/// every round (a tenth held out) and predicts them all.
pub fn cross_fit(
    params: &CtrParams,
    table: &CtrTable,
    n_rounds: usize,
    per_round: usize,
    n_folds: usize,
) -> Result<Vec<f64>> {
    if n_folds == 0 || table.len() != n_rounds * (1 + per_round) {
        return Err(RecommendError::Data(format!(
            "cross-fitting needs at least one fold and {n_rounds} logged rows plus {per_round} \
             candidates per round; got {} folds and {} rows",
            n_folds,
            table.len()
        )));
    }
    let [mut order, rest_valid, rest_test] = random_split(n_rounds, [1.0, 0.0, 0.0], params.seed);
    order.extend(rest_valid);
    order.extend(rest_test);
    let mut fold_of = vec![0usize; n_rounds];
    for (k, &r) in order.iter().enumerate() {
        fold_of[r] = k % n_folds;
    }
    let mut out = vec![0.0; n_rounds * per_round];
    for fold in 0..n_folds {
        let mut fit_rows: Vec<usize> = (0..n_rounds)
            .filter(|&r| n_folds == 1 || fold_of[r] != fold)
            .collect();
        // A seeded tenth of the fitting rounds validates.
        let [a, b, c] = random_split(fit_rows.len(), [0.9, 0.1, 0.0], params.seed ^ fold as u64);
        let valid: Vec<usize> = b.iter().chain(&c).map(|&i| fit_rows[i]).collect();
        fit_rows = a.iter().map(|&i| fit_rows[i]).collect();
        let model = fit(params, table, &fit_rows, &valid, None)?;
        let rounds: Vec<usize> = (0..n_rounds).filter(|&r| fold_of[r] == fold).collect();
        let candidates: Vec<usize> = rounds
            .iter()
            .flat_map(|&r| (0..per_round).map(move |k| n_rounds + r * per_round + k))
            .collect();
        let p = model.predict(table, &candidates)?;
        for (row, value) in candidates.iter().zip(p) {
            out[row - n_rounds] = value;
        }
    }
    Ok(out)
}

/// The value early stopping maximises: AUC, or minus LogLoss.
fn watched(metric: ValidMetric, auc: f64, logloss: f64) -> f64 {
    match metric {
        ValidMetric::Auc => auc,
        ValidMetric::LogLoss => -logloss,
    }
}

/// AUC (0.5 when one class is missing) and LogLoss of `rows`.
fn validate(model: &CtrModel, table: &CtrTable, rows: &[usize]) -> Result<(f64, f64)> {
    let p = model.probabilities(table, rows).map_err(tensor_error)?;
    let labels: Vec<bool> = rows.iter().map(|&r| table.labels()[r]).collect();
    let auc = assay_metrics::auc(&p, &labels).unwrap_or(0.5);
    let logloss = assay_metrics::log_loss(&p, &labels).unwrap_or(f64::NAN);
    Ok((auc, logloss))
}

/// Mean binary cross-entropy of the logits of `rows`, written stably:
/// `max(z, 0) - z y + ln(1 + e^{-|z|})`.
fn batch_loss(
    net: &dyn CtrNet,
    table: &CtrTable,
    rows: &[usize],
    with_text: bool,
    maxlen: usize,
    rng: &mut rand_chacha::ChaCha8Rng,
) -> CResult<Tensor> {
    let batch = Batch::of(table, rows, with_text, maxlen)?;
    let z = net.logits(&batch, Some(rng))?;
    let y: Vec<f32> = rows
        .iter()
        .map(|&r| if table.labels()[r] { 1.0 } else { 0.0 })
        .collect();
    let y = Tensor::from_vec(y, rows.len(), &candle_core::Device::Cpu)?;
    bce_with_logits(&z, &y)
}

/// Mean binary cross-entropy of logits `z` against 0/1 targets `y`.
pub(crate) fn bce_with_logits(z: &Tensor, y: &Tensor) -> CResult<Tensor> {
    let softplus = (z.abs()?.neg()?.exp()? + 1.0)?.log()?;
    ((z.relu()? - (z * y)?)? + softplus)?.mean_all()
}

#[cfg(test)]
mod tests;
