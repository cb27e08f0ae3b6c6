//! What GRU4Rec and SASRec share: the fitted model (a network over item sequences plus each
//! user's time-ordered history), RecBole's training (cross-entropy of the next item over all
//! items, Adam, early stopping on validation), scoring, and the model file.
//!
//! A user's score for item `j` is the network's output at the last position of their (last
//! `maxlen`) training items, dotted with item `j`'s embedding. These representations are
//! computed once per fit, load or validation pass, in fixed chunks, so scoring a user is one
//! dot product per item and the same weights give the same bits.

use std::fmt;
use std::path::Path;
use std::time::Instant;

use assay_core::math::dot;
use assay_core::{Dataset, Interactions, ItemIdx, StepPoint, UserIdx};
use assay_train::{AdamW, AdamWConfig, EarlyStopping, Verdict};
use candle_core::{Device, Tensor};
use rand_chacha::ChaCha8Rng;

use super::expect_kind;
use super::nn::{tensor_error, token_tensor, CResult, Params};
use super::sequence::{self, Window};
use crate::store::{self, ModelFile, Tensors};
use crate::{
    EpochLog, History, ModelKind, RecommendError, Recommender, Result, StopReason, TrainingLog,
    Validate,
};

/// Users whose representations are computed in one forward pass.
const CHUNK: usize = 256;

/// A network over token sequences: the part of a sequential model that differs by kind.
pub(crate) trait SeqNet: Send + Sync + fmt::Debug {
    /// The hidden state at every position, `(batch, len, dim)`, for `(batch, len)` tokens
    /// padded on the right with 0. `rng` is given in training: it draws the dropout masks.
    /// The state at a position must depend only on the tokens up to it.
    fn forward(&self, tokens: &Tensor, rng: Option<&mut ChaCha8Rng>) -> CResult<Tensor>;

    /// The item embedding table, `(n_items + 1, dim)`, row 0 for padding.
    fn item_table(&self) -> &Tensor;

    /// The trainable parameters.
    fn params(&self) -> &Params;
}

/// The parameters of a sequential model kind: how it trains and the network it builds. Fitting
/// and loading are the same for every kind ([`fit_kind`], [`load_kind`]).
pub(crate) trait SequentialKind:
    ModelKind<Model = SequentialModel> + serde::Serialize + serde::de::DeserializeOwned
{
    /// The training schedule these parameters ask for.
    fn schedule(&self) -> Schedule;

    /// A freshly initialised network over `n_items` items.
    fn network(&self, n_items: usize) -> CResult<Box<dyn SeqNet>>;
}

/// Checks `params`, builds its network and trains it ([`fit`]).
pub(crate) fn fit_kind<K: SequentialKind>(
    params: &K,
    train: &Interactions,
    data: &Dataset,
    validate: Option<&Validate<'_>>,
    on_epoch: &(dyn Fn(usize, Option<f64>) + Sync),
) -> Result<SequentialModel> {
    params.check()?;
    let net = params.network(train.n_items()).map_err(tensor_error)?;
    let recorded =
        serde_json::to_value(params).map_err(|e| RecommendError::Training(e.to_string()))?;
    fit(
        K::NAME,
        recorded,
        net,
        params.schedule(),
        train,
        data,
        validate,
        on_epoch,
    )
}

/// Opens a model of kind `K` saved in `dir`: its parameters (checked), a network of their shape,
/// then the weights and histories.
pub(crate) fn load_kind<K: SequentialKind>(dir: &Path) -> Result<SequentialModel> {
    let file = ModelFile::read(dir)?;
    expect_kind(&file, K::NAME)?;
    let params: K = file.params()?;
    params.check()?;
    let n_items = file.u64("history.n_items")?.first().copied().unwrap_or(0) as usize;
    let net = params.network(n_items).map_err(tensor_error)?;
    SequentialModel::read(&file, K::NAME, params.schedule().maxlen, net)
}

/// How a sequential model trains.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Schedule {
    /// Most epochs.
    pub epochs: usize,
    /// Validations without improvement before stopping (RecBole's `stopping_step`).
    pub patience: usize,
    /// Adam's learning rate.
    pub lr: f64,
    /// Scored positions per step.
    pub batch: usize,
    /// Stop after the first epoch that ends past this many seconds; 0 for no limit.
    pub max_seconds: f64,
    /// Seed of batching and dropout.
    pub seed: u64,
    /// Positions per window and items of history scored.
    pub maxlen: usize,
}

/// A fitted sequential model (GRU4Rec or SASRec).
pub struct SequentialModel {
    kind: &'static str,
    params: serde_json::Value,
    maxlen: usize,
    history: History,
    sequences: Vec<Vec<ItemIdx>>,
    net: Box<dyn SeqNet>,
    dim: usize,
    users: Vec<f32>,
    items: Vec<f32>,
    log: Option<TrainingLog>,
}

impl fmt::Debug for SequentialModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SequentialModel")
            .field("kind", &self.kind)
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

impl SequentialModel {
    /// Each user's training items, oldest first, as the model reads them.
    pub fn sequence_of(&self, user: UserIdx) -> &[ItemIdx] {
        &self.sequences[user as usize]
    }

    /// The network's output at every position of one history (oldest first), `len x dim`
    /// row-major, with dropout off: what tests of the causal structure look at.
    pub fn hidden_states(&self, history: &[ItemIdx]) -> Result<Vec<f32>> {
        let tokens: Vec<u32> = history.iter().map(|&i| i + 1).collect();
        let hidden = token_tensor(&[&tokens], tokens.len())
            .and_then(|t| self.net.forward(&t, None))
            .and_then(|h| h.flatten_all()?.to_vec1::<f32>())
            .map_err(tensor_error)?;
        Ok(hidden)
    }

    /// The representation (output at the last position) of each token row; zeros for an
    /// empty row.
    fn encode(&self, rows: &[Vec<u32>]) -> CResult<Vec<f32>> {
        let dim = self.dim;
        let mut out = vec![0.0f32; rows.len() * dim];
        for (c, chunk) in rows.chunks(CHUNK).enumerate() {
            let filled: Vec<usize> = (0..chunk.len()).filter(|&r| !chunk[r].is_empty()).collect();
            if filled.is_empty() {
                continue;
            }
            let refs: Vec<&[u32]> = filled.iter().map(|&r| chunk[r].as_slice()).collect();
            // Always `maxlen` wide, so a row's result does not depend on its chunk.
            let hidden = self.net.forward(&token_tensor(&refs, self.maxlen)?, None)?;
            let last: Vec<u32> = refs
                .iter()
                .enumerate()
                .map(|(r, row)| (r * self.maxlen + row.len() - 1) as u32)
                .collect();
            let picked = hidden
                .reshape((refs.len() * self.maxlen, dim))?
                .index_select(&Tensor::new(last.as_slice(), &Device::Cpu)?, 0)?
                .flatten_all()?
                .to_vec1::<f32>()?;
            for (k, &r) in filled.iter().enumerate() {
                let row = c * CHUNK + r;
                out[row * dim..(row + 1) * dim].copy_from_slice(&picked[k * dim..(k + 1) * dim]);
            }
        }
        Ok(out)
    }

    /// Recomputes the users' representations and the item table from the network.
    fn refresh(&mut self) -> CResult<()> {
        let rows: Vec<Vec<u32>> = self
            .sequences
            .iter()
            .map(|s| sequence::tail_tokens(s.iter().copied(), self.maxlen))
            .collect();
        self.users = self.encode(&rows)?;
        let n_items = self.history.n_items();
        self.items = self
            .net
            .item_table()
            .narrow(0, 1, n_items)?
            .flatten_all()?
            .to_vec1()?;
        Ok(())
    }

    fn score_with(&self, user: &[f32], scores: &mut [f32]) {
        for (s, item) in scores.iter_mut().zip(self.items.chunks_exact(self.dim)) {
            *s = dot(user, item);
        }
    }

    /// Writes the model files: the params, history, sequences and every network parameter.
    pub(crate) fn write(&self, dir: &Path) -> Result<()> {
        let mut tensors = Tensors::default();
        self.history.save(&mut tensors);
        let mut indptr = vec![0u64];
        let mut items = Vec::new();
        for s in &self.sequences {
            items.extend_from_slice(s);
            indptr.push(items.len() as u64);
        }
        tensors.u64("sequence.indptr", &indptr);
        tensors.u32("sequence.items", &items);
        for (name, shape, values) in self.net.params().values().map_err(tensor_error)? {
            tensors.f32(&format!("net.{name}"), &shape, &values);
        }
        store::write(dir, self.kind, &self.params, tensors)
    }

    /// Reads a model written by [`SequentialModel::write`] into `net`, a network of the
    /// file's shape.
    pub(crate) fn read(
        file: &ModelFile,
        kind: &'static str,
        maxlen: usize,
        net: Box<dyn SeqNet>,
    ) -> Result<SequentialModel> {
        let history = History::load(file)?;
        let indptr = file.u64("sequence.indptr")?;
        let items = file.u32("sequence.items")?;
        let consistent = indptr.len() == history.n_users() + 1
            && indptr.first() == Some(&0)
            && indptr.windows(2).all(|w| w[0] <= w[1])
            && indptr.last() == Some(&(items.len() as u64))
            && items.iter().all(|&i| (i as usize) < history.n_items());
        if !consistent {
            return Err(file.error("sequence arrays are inconsistent"));
        }
        let sequences = indptr
            .windows(2)
            .map(|w| items[w[0] as usize..w[1] as usize].to_vec())
            .collect();
        for (name, var) in &net.params().vars {
            let shape = var.dims().to_vec();
            let values = super::load_f32(file, &format!("net.{name}"), &shape)?;
            let tensor = Tensor::from_vec(values, shape, &Device::Cpu).map_err(tensor_error)?;
            var.set(&tensor).map_err(tensor_error)?;
        }
        let mut model =
            SequentialModel::new(kind, file.params()?, maxlen, history, sequences, net)?;
        model.refresh().map_err(tensor_error)?;
        Ok(model)
    }

    fn new(
        kind: &'static str,
        params: serde_json::Value,
        maxlen: usize,
        history: History,
        sequences: Vec<Vec<ItemIdx>>,
        net: Box<dyn SeqNet>,
    ) -> Result<SequentialModel> {
        let (rows, dim) = net.item_table().dims2().map_err(tensor_error)?;
        if rows != history.n_items() + 1 {
            return Err(RecommendError::Training(format!(
                "item table has {rows} rows for {} items",
                history.n_items()
            )));
        }
        Ok(SequentialModel {
            kind,
            params,
            maxlen,
            history,
            sequences,
            net,
            dim,
            users: Vec::new(),
            items: Vec::new(),
            log: None,
        })
    }
}

impl Recommender for SequentialModel {
    fn kind(&self) -> &'static str {
        self.kind
    }

    fn history(&self) -> &History {
        &self.history
    }

    fn score_user(&self, user: UserIdx, scores: &mut [f32]) {
        let u = user as usize;
        self.score_with(&self.users[u * self.dim..(u + 1) * self.dim], scores);
    }

    /// The history continued with `newer` (the validation item at test time, as RecBole's
    /// leave-one-out test input includes it).
    fn score_user_after(&self, user: UserIdx, newer: &[ItemIdx], scores: &mut [f32]) {
        if newer.is_empty() {
            return self.score_user(user, scores);
        }
        let sequence = &self.sequences[user as usize];
        let tokens = sequence::tail_tokens(sequence.iter().chain(newer).copied(), self.maxlen);
        match self.encode(&[tokens]) {
            Ok(representation) => self.score_with(&representation, scores),
            // A forward pass that worked at fit time fails only on a bug; score as fitted.
            Err(_) => self.score_user(user, scores),
        }
    }

    fn training_log(&self) -> Option<&TrainingLog> {
        self.log.as_ref()
    }

    fn write_files(&self, dir: &Path) -> Result<()> {
        self.write(dir)
    }
}

/// Fits `net` as RecBole trains its sequential models with `loss_type = CE`: every target of
/// every training sequence (see [`sequence::windows`]) is scored against all items with a
/// softmax; Adam (no weight decay) at `schedule.lr`; after each epoch, with `validate`, the
/// validation score drives early stopping and the best epoch's weights are kept.
#[allow(clippy::too_many_arguments)]
pub(crate) fn fit(
    kind: &'static str,
    params: serde_json::Value,
    net: Box<dyn SeqNet>,
    schedule: Schedule,
    train: &Interactions,
    data: &Dataset,
    validate: Option<&Validate<'_>>,
    on_epoch: &(dyn Fn(usize, Option<f64>) + Sync),
) -> Result<SequentialModel> {
    if train.nnz() == 0 {
        return Err(RecommendError::Data("no training interactions".into()));
    }
    let sequences = sequence::time_ordered(train, data);
    let windows = sequence::windows(&sequences, schedule.maxlen);
    if windows.is_empty() {
        return Err(RecommendError::Data(format!(
            "{kind} learns from sequences, and no user has two training items"
        )));
    }
    let maxlen = schedule.maxlen;
    let mut model = SequentialModel::new(kind, params, maxlen, History::of(train), sequences, net)?;
    let config = AdamWConfig {
        weight_decay: 0.0,
        ..AdamWConfig::default()
    };
    let mut optimizer = AdamW::new(&model.net.params().vars, &config, |_| true)
        .map_err(|e| RecommendError::Training(e.to_string()))?;
    optimizer.set_lr(schedule.lr);
    let mut early = EarlyStopping::new(schedule.patience, 0.0);
    let mut best = None;
    let mut log = TrainingLog {
        epochs: Vec::new(),
        best_epoch: None,
        stop: Some(StopReason::MaxEpochs),
        steps: Vec::new(),
    };
    let started = Instant::now();
    for epoch in 1..=schedule.epochs {
        let epoch_started = Instant::now();
        let loss = train_epoch(
            &model,
            &windows,
            &schedule,
            epoch,
            &mut optimizer,
            &mut log.steps,
        )?;
        model.refresh().map_err(tensor_error)?;
        let valid = validate.map(|v| v(&model));
        on_epoch(epoch, valid);
        log.epochs.push(EpochLog {
            epoch,
            loss: Some(loss),
            valid,
            seconds: Some(epoch_started.elapsed().as_secs_f64()),
        });
        if let Some(score) = valid {
            match early.observe(epoch, score) {
                Verdict::Improved => {
                    best = Some(model.net.params().snapshot().map_err(tensor_error)?);
                    log.best_epoch = Some(epoch);
                }
                Verdict::Stop => {
                    log.stop = Some(StopReason::Patience);
                    break;
                }
                Verdict::NoImprovement { .. } => {}
            }
        }
        if schedule.max_seconds > 0.0 && started.elapsed().as_secs_f64() >= schedule.max_seconds {
            if epoch < schedule.epochs {
                log.stop = Some(StopReason::TimeLimit);
            }
            break;
        }
    }
    if let Some(values) = best {
        model.net.params().restore(&values).map_err(tensor_error)?;
        model.refresh().map_err(tensor_error)?;
    }
    model.log = Some(log);
    Ok(model)
}

/// One pass over the windows, recording each step in `steps`; returns the mean loss per scored
/// position.
fn train_epoch(
    model: &SequentialModel,
    windows: &[Window],
    schedule: &Schedule,
    epoch: usize,
    optimizer: &mut AdamW,
    steps: &mut Vec<StepPoint>,
) -> Result<f64> {
    let mut rng = assay_train::epoch_rng(schedule.seed, epoch);
    let batches = sequence::batches(windows, schedule.batch, &mut rng);
    let (mut total, mut count) = (0.0f64, 0usize);
    for batch in batches {
        let (loss, scored) = batch_loss(model, windows, &batch, &mut rng).map_err(tensor_error)?;
        let value = loss.to_scalar::<f32>().map_err(tensor_error)? as f64;
        if !value.is_finite() {
            return Err(RecommendError::Training(format!(
                "the loss became {value} in epoch {epoch}; lower lr"
            )));
        }
        let grads = loss.backward().map_err(tensor_error)?;
        optimizer
            .step(&grads)
            .map_err(|e| RecommendError::Training(e.to_string()))?;
        steps.push(StepPoint {
            epoch,
            step: steps.len() + 1,
            lr: schedule.lr,
            loss: value,
        });
        total += value * scored as f64;
        count += scored;
    }
    Ok(total / count.max(1) as f64)
}

/// The mean cross-entropy of the scored positions of `batch` over all items, and their count.
pub(crate) fn batch_loss(
    model: &SequentialModel,
    windows: &[Window],
    batch: &[usize],
    rng: &mut ChaCha8Rng,
) -> CResult<(Tensor, usize)> {
    let maxlen = model.maxlen;
    let rows: Vec<&[u32]> = batch
        .iter()
        .map(|&w| windows[w].tokens.as_slice())
        .collect();
    let mut positions = Vec::new();
    let mut targets = Vec::new();
    for (r, &w) in batch.iter().enumerate() {
        let window = &windows[w];
        for p in window.first..window.tokens.len() {
            positions.push((r * maxlen + p) as u32);
            targets.push(window.targets[p]);
        }
    }
    let hidden = model
        .net
        .forward(&token_tensor(&rows, maxlen)?, Some(rng))?;
    let scored = positions.len();
    let states = hidden
        .reshape((rows.len() * maxlen, model.dim))?
        .index_select(&Tensor::new(positions.as_slice(), &Device::Cpu)?, 0)?;
    // Padding (row 0) is never a target, so it is left out of the softmax.
    let items = model
        .net
        .item_table()
        .narrow(0, 1, model.history.n_items())?;
    let logits = states.matmul(&items.t()?)?;
    let targets = Tensor::new(targets.as_slice(), &Device::Cpu)?;
    Ok((assay_train::loss::cross_entropy(&logits, &targets)?, scored))
}
