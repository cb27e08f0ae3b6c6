// tidy: long file: the trainable BERT (forward pass with dropout, loss, freezing, checkpoint)
// and the gradient, round-trip and seed tests that check it against inference.
//! Fine-tuning a BERT sentence encoder on (query, item text) pairs with the multiple negatives
//! ranking loss.
//!
//! The trainable model is built from the pretrained `model.safetensors`: every floating-point
//! tensor becomes a candle `Var`, and the forward pass is the one of [`crate::BertEncoder`]
//! (BERT, mean pooling over the attention mask, L2 normalisation) written out with
//! differentiable operations and with dropout active while training. candle-transformers' BERT
//! cannot be trained as it is: its dropout does nothing and its fused layer norm has no
//! gradient.
//!
//! **Loss.** For a batch of `B` pairs `(q_i, p_i)` and up to `B` hard negatives `n_j`, every
//! query is scored against every positive and every negative by `scale * cos(q_i, d)` (scale
//! 20, as sentence-transformers' `MultipleNegativesRankingLoss`), and the loss is the
//! cross-entropy of picking `p_i` among them: the other pairs' positives are in-batch negatives.
//! Each pair carries a weight (how strong its evidence is); the loss is the weighted mean.
//!
//! **Freezing** ([`Freeze`]) chooses which parameters train. Frozen parameters are read as
//! detached tensors, so no gradient is computed for them (less time and memory) and they stay
//! bit-identical. A checkpoint ([`BiEncoderTrainer::save`]) writes the full model in the layout
//! [`crate::BertEncoder::load`] reads, so a fine-tuned folder is used like the pretrained one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use assay_train::{ops, TrainConfig, Trainer, Verdict};
use candle_core::{DType, Device, Tensor, Var, D};
use candle_transformers::models::bert::{Config, HiddenAct};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokenizers::Tokenizer;

use crate::bert::{load_tokenizer, max_seq_length, model_err, read_json, required};
use crate::{EncoderError, Result};

pub use assay_train::StepStats;

/// The name of the training record written beside a fine-tuned model.
pub const TRAINING_FILE: &str = "training.json";

/// Which parameters stay fixed while fine-tuning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Freeze {
    /// Everything trains.
    None,
    /// The token, position and type embeddings stay fixed.
    Embeddings,
    /// The embeddings and the bottom `n` transformer layers stay fixed.
    Bottom(usize),
    /// Only the pooling head trains: the top layer's output projection and its layer norm,
    /// which write the token vectors that mean pooling averages. (A separate dense layer after
    /// the pooling would not fit the folder layout the encoder loads.)
    AllButHead,
}

impl Freeze {
    /// Parses `none`, `embeddings`, `bottom-N` (or `bottom:N`, `bottomN`) and `all-but-head`.
    pub fn parse(text: &str) -> Option<Freeze> {
        let text = text.trim().to_ascii_lowercase();
        match text.as_str() {
            "none" => return Some(Freeze::None),
            "embeddings" => return Some(Freeze::Embeddings),
            "all-but-head" | "all-but-pooling" | "head" => return Some(Freeze::AllButHead),
            _ => {}
        }
        let n = text.strip_prefix("bottom")?;
        let n = n.strip_prefix(['-', ':', '=']).unwrap_or(n);
        n.parse().ok().map(Freeze::Bottom)
    }

    /// Whether the parameter `name` (without a `bert.` prefix) trains, in a model of `layers`
    /// transformer layers.
    pub fn trains(&self, name: &str, layers: usize) -> bool {
        let layer = name
            .strip_prefix("encoder.layer.")
            .and_then(|rest| rest.split('.').next())
            .and_then(|n| n.parse::<usize>().ok());
        match *self {
            Freeze::None => true,
            Freeze::Embeddings => !name.starts_with("embeddings."),
            Freeze::Bottom(n) => layer.is_some_and(|l| l >= n),
            Freeze::AllButHead => {
                layer == Some(layers.saturating_sub(1))
                    && name.contains(".output.")
                    && !name.contains(".attention.")
            }
        }
    }
}

impl std::fmt::Display for Freeze {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Freeze::None => write!(f, "none"),
            Freeze::Embeddings => write!(f, "embeddings"),
            Freeze::Bottom(n) => write!(f, "bottom-{n}"),
            Freeze::AllButHead => write!(f, "all-but-head"),
        }
    }
}

/// How the bi-encoder is fine-tuned.
#[derive(Debug, Clone)]
pub struct FinetuneOptions {
    /// Which parameters stay fixed.
    pub freeze: Freeze,
    /// Multiplies cosine similarities before the softmax (20 in sentence-transformers).
    pub scale: f64,
    /// Longest input in tokens while training and encoding; `None` uses the model's
    /// `max_seq_length` (see [`crate::EncoderOptions`]).
    pub max_seq_length: Option<usize>,
    /// Apply the model's dropout (config `hidden_dropout_prob`, `attention_probs_dropout_prob`)
    /// while training.
    pub dropout: bool,
    /// Texts per forward pass when encoding for validation.
    pub encode_batch_size: usize,
    /// Optimiser, schedule, stopping and seed.
    pub train: TrainConfig,
}

/// A layer norm over the last dimension, from differentiable operations.
#[derive(Clone)]
struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
    eps: f64,
}

impl LayerNorm {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        ops::layer_norm(x, &self.weight, &self.bias, self.eps)
    }
}

/// A dense layer `x @ W^T + b` through the fused bias add, whose gradient is one pass over
/// rows. `W` is kept as the checkpoint has it, `(out, in)`, when it trains (the gradient is
/// the checkpoint's), or transposed to `(in, out)` for inference, where the product then reads
/// it without repacking ([`ops::linear_in_out`]).
#[derive(Clone)]
struct Dense {
    weight: Tensor,
    bias: Tensor,
    in_out: bool,
}

impl Dense {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        if self.in_out {
            ops::linear_in_out(x, &self.weight, Some(&self.bias))
        } else {
            ops::linear(x, &self.weight, Some(&self.bias))
        }
    }
}

#[derive(Clone)]
struct Layer {
    query: Dense,
    key: Dense,
    value: Dense,
    attention_out: Dense,
    attention_norm: LayerNorm,
    intermediate: Dense,
    output: Dense,
    output_norm: LayerNorm,
}

/// BERT with mean pooling and L2 normalisation, over tensors that are either trainable vars
/// or detached copies of them.
#[derive(Clone)]
pub(crate) struct Bert {
    word: Tensor,
    position: Tensor,
    token_type: Tensor,
    embedding_norm: LayerNorm,
    layers: Vec<Layer>,
    heads: usize,
    act: HiddenAct,
}

/// Dropout with a seeded stream: the same seed gives the same masks.
pub(crate) struct Dropout<'r> {
    rng: &'r mut ChaCha8Rng,
    hidden: f64,
    attention: f64,
}

impl Dropout<'_> {
    fn apply(&mut self, x: &Tensor, p: f64) -> candle_core::Result<Tensor> {
        ops::dropout(x, p, self.rng)
    }
}

impl Bert {
    /// Token vectors `(batch, len, hidden)` of `ids` under `mask` (both `(batch, len)`, u32).
    fn hidden(
        &self,
        ids: &Tensor,
        mask: &Tensor,
        dropout: Option<&mut Dropout>,
    ) -> candle_core::Result<Tensor> {
        let (batch, len) = ids.dims2()?;
        let hidden_size = self.word.dim(1)?;
        let words =
            self.word
                .index_select(&ids.flatten_all()?, 0)?
                .reshape((batch, len, hidden_size))?;
        self.hidden_of_words(&words, mask, dropout)
    }

    /// [`Bert::hidden`] from the word vectors `(batch, len, hidden)` of the tokens, looked up
    /// already.
    fn hidden_of_words(
        &self,
        words: &Tensor,
        mask: &Tensor,
        mut dropout: Option<&mut Dropout>,
    ) -> candle_core::Result<Tensor> {
        let (batch, len, hidden_size) = words.dims3()?;
        // Token types are all 0 for single sentences.
        let embeddings = words
            .broadcast_add(&self.position.narrow(0, 0, len)?)?
            .broadcast_add(&self.token_type.narrow(0, 0, 1)?)?;
        let mut x = self.embedding_norm.forward(&embeddings)?;
        if let Some(d) = dropout.as_deref_mut() {
            x = d.apply(&x, d.hidden)?;
        }
        // 0 where attended, the most negative float where padded (as candle-transformers).
        let dtype = x.dtype();
        let m = mask.to_dtype(dtype)?;
        let padding = (m.ones_like()? - &m)?.affine(f64::from(f32::MIN), 0.0)?;
        let head_dim = hidden_size / self.heads;
        let scale = 1.0 / (head_dim as f64).sqrt();
        let split = |t: Tensor| -> candle_core::Result<Tensor> {
            t.reshape((batch, len, self.heads, head_dim))?
                .transpose(1, 2)?
                .contiguous()
        };
        for layer in &self.layers {
            let q = split(layer.query.forward(&x)?)?;
            let k = split(layer.key.forward(&x)?)?;
            let v = split(layer.value.forward(&x)?)?;
            let mut probs = ops::scaled_masked_softmax(&q.matmul(&k.t()?)?, &padding, scale)?;
            if let Some(d) = dropout.as_deref_mut() {
                probs = d.apply(&probs, d.attention)?;
            }
            let context = probs.matmul(&v)?.transpose(1, 2)?.contiguous()?.reshape((
                batch,
                len,
                hidden_size,
            ))?;
            let mut attended = layer.attention_out.forward(&context)?;
            if let Some(d) = dropout.as_deref_mut() {
                attended = d.apply(&attended, d.hidden)?;
            }
            let attended = layer.attention_norm.forward(&(attended + &x)?)?;
            let inner = layer.intermediate.forward(&attended)?;
            let inner = match self.act {
                HiddenAct::Gelu => ops::gelu_erf(&inner)?,
                HiddenAct::GeluApproximate => inner.gelu()?,
                HiddenAct::Relu => inner.relu()?,
            };
            let mut out = layer.output.forward(&inner)?;
            if let Some(d) = dropout.as_deref_mut() {
                out = d.apply(&out, d.hidden)?;
            }
            x = layer.output_norm.forward(&(out + attended)?)?;
        }
        Ok(x)
    }

    /// Unit-length sentence vectors `(batch, hidden)`: mean of the token vectors over the mask.
    pub(crate) fn embed(
        &self,
        ids: &Tensor,
        mask: &Tensor,
        dropout: Option<&mut Dropout>,
    ) -> candle_core::Result<Tensor> {
        let hidden = self.hidden(ids, mask, dropout)?;
        Self::pool(&hidden, mask)
    }

    /// Mean of the token vectors `hidden` over `mask`, at unit length.
    fn pool(hidden: &Tensor, mask: &Tensor) -> candle_core::Result<Tensor> {
        let m = mask.to_dtype(hidden.dtype())?.unsqueeze(2)?;
        let summed = hidden.broadcast_mul(&m)?.sum(1)?;
        let counts = m.sum(1)?.clamp(1e-9, f64::MAX)?;
        let pooled = summed.broadcast_div(&counts)?;
        let norm = pooled
            .sqr()?
            .sum_keepdim(1)?
            .sqrt()?
            .clamp(1e-12, f64::MAX)?;
        pooled.broadcast_div(&norm)
    }
}

/// The multiple negatives ranking loss of `queries` `(B, d)` against `documents` `(N, d)`,
/// `N >= B`, whose first `B` rows are the queries' positives; all vectors unit length.
/// `weights` `(B)` weigh each query's cross-entropy; the loss is their weighted mean.
fn mnrl_loss(
    queries: &Tensor,
    documents: &Tensor,
    weights: &Tensor,
    scale: f64,
) -> candle_core::Result<Tensor> {
    let b = queries.dim(0)?;
    let n = documents.dim(0)?;
    let scores = (queries.matmul(&documents.t()?)? * scale)?;
    let log_probs = candle_nn::ops::log_softmax(&scores, D::Minus1)?;
    let mut one_hot = vec![0f32; b * n];
    for i in 0..b {
        one_hot[i * n + i] = 1.0;
    }
    let one_hot = Tensor::from_vec(one_hot, (b, n), queries.device())?.to_dtype(scores.dtype())?;
    let picked = (log_probs * one_hot)?.sum(1)?;
    let weighted = (picked * weights)?.sum_all()?;
    weighted.neg()?
        / weights
            .sum_all()?
            .to_dtype(DType::F64)?
            .to_scalar::<f64>()?
}

fn train_err(e: assay_train::TrainError) -> EncoderError {
    match e {
        assay_train::TrainError::InvalidConfig(m) => EncoderError::InvalidSetting(m),
        other => EncoderError::Model(other.to_string()),
    }
}

/// The model's weights by name (as in the file) and the tensors that are not floats (kept to be
/// written back unchanged).
struct Weights {
    vars: BTreeMap<String, Var>,
    others: Vec<(String, Tensor)>,
    /// `bert.` when the file's names carry it.
    prefix: String,
}

impl Weights {
    fn load(path: &Path, dtype: DType) -> Result<Weights> {
        let tensors = candle_core::safetensors::load(path, &Device::Cpu).map_err(|e| {
            EncoderError::BadModel {
                path: path.to_owned(),
                reason: e.to_string(),
            }
        })?;
        let mut vars = BTreeMap::new();
        let mut others = Vec::new();
        for (name, tensor) in tensors {
            if tensor.dtype().is_float() {
                let var = Var::from_tensor(&tensor.to_dtype(dtype).map_err(model_err)?)
                    .map_err(model_err)?;
                vars.insert(name, var);
            } else {
                others.push((name, tensor));
            }
        }
        others.sort_by(|a, b| a.0.cmp(&b.0));
        let prefix = if vars.keys().any(|k| k.starts_with("bert.embeddings.")) {
            "bert."
        } else {
            ""
        };
        Ok(Weights {
            vars,
            others,
            prefix: prefix.to_owned(),
        })
    }

    /// The tensor `name` (without prefix): tracked when `trainable`, detached otherwise.
    fn get(&self, name: &str, trainable: bool, path: &Path) -> Result<Tensor> {
        let full = format!("{}{name}", self.prefix);
        let var = self.vars.get(&full).ok_or_else(|| EncoderError::BadModel {
            path: path.to_owned(),
            reason: format!("no tensor `{full}`"),
        })?;
        Ok(if trainable {
            var.as_tensor().clone()
        } else {
            var.as_tensor().detach()
        })
    }

    fn short<'n>(&self, full: &'n str) -> &'n str {
        full.strip_prefix(self.prefix.as_str()).unwrap_or(full)
    }
}

/// The model over `weights`: the tensors for which `trains` holds are tracked for gradients,
/// the others detached. `inference` stores the dense layers' weights transposed (copies, so
/// later updates of the vars do not reach them): for a model that only encodes.
fn build_bert(
    weights: &Weights,
    config: &Config,
    path: &Path,
    trains: &dyn Fn(&str) -> bool,
    inference: bool,
) -> Result<Bert> {
    let get = |name: &str| weights.get(name, trains(name), path);
    let linear = |name: &str| -> Result<Dense> {
        let weight = get(&format!("{name}.weight"))?;
        let weight = if inference {
            weight.t().and_then(|w| w.contiguous()).map_err(model_err)?
        } else {
            weight
        };
        Ok(Dense {
            weight,
            bias: get(&format!("{name}.bias"))?,
            in_out: inference,
        })
    };
    let norm = |name: &str| -> Result<LayerNorm> {
        Ok(LayerNorm {
            weight: get(&format!("{name}.weight"))?,
            bias: get(&format!("{name}.bias"))?,
            eps: config.layer_norm_eps,
        })
    };
    let layers = (0..config.num_hidden_layers)
        .map(|i| {
            let p = format!("encoder.layer.{i}");
            Ok(Layer {
                query: linear(&format!("{p}.attention.self.query"))?,
                key: linear(&format!("{p}.attention.self.key"))?,
                value: linear(&format!("{p}.attention.self.value"))?,
                attention_out: linear(&format!("{p}.attention.output.dense"))?,
                attention_norm: norm(&format!("{p}.attention.output.LayerNorm"))?,
                intermediate: linear(&format!("{p}.intermediate.dense"))?,
                output: linear(&format!("{p}.output.dense"))?,
                output_norm: norm(&format!("{p}.output.LayerNorm"))?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    if config.num_attention_heads == 0
        || !config
            .hidden_size
            .is_multiple_of(config.num_attention_heads)
    {
        return Err(EncoderError::BadModel {
            path: path.to_owned(),
            reason: format!(
                "hidden size {} is not a multiple of {} attention heads",
                config.hidden_size, config.num_attention_heads
            ),
        });
    }
    Ok(Bert {
        word: get("embeddings.word_embeddings.weight")?,
        position: get("embeddings.position_embeddings.weight")?,
        token_type: get("embeddings.token_type_embeddings.weight")?,
        embedding_norm: norm("embeddings.LayerNorm")?,
        layers,
        heads: config.num_attention_heads,
        act: config.hidden_act,
    })
}

/// The model in `path` (a `model.safetensors`) for encoding only: f32, nothing tracked, the
/// dense layers' weights transposed once.
pub(crate) fn inference_model(path: &Path, config: &Config) -> Result<Bert> {
    let weights = Weights::load(path, DType::F32)?;
    build_bert(&weights, config, path, &|_| false, true)
}

/// Texts per forward pass in training (see [`BiEncoderTrainer::embed_in_groups`]).
const TRAIN_GROUP: usize = 16;

/// A BERT bi-encoder being fine-tuned: the model, its tokenizer and a [`Trainer`].
pub struct BiEncoderTrainer {
    source: PathBuf,
    weights: Weights,
    train_model: Bert,
    eval_model: Bert,
    tokenizer: Tokenizer,
    trainer: Trainer,
    rng: ChaCha8Rng,
    hidden_dropout: f64,
    attention_dropout: f64,
    scale: f64,
    encode_batch_size: usize,
    trainable: Vec<String>,
    trainable_parameters: usize,
    parameters: usize,
    device: Device,
    dtype: DType,
}

impl std::fmt::Debug for BiEncoderTrainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BiEncoderTrainer")
            .field("source", &self.source)
            .field("trainable", &self.trainable.len())
            .field("trainable_parameters", &self.trainable_parameters)
            .finish()
    }
}

impl BiEncoderTrainer {
    /// Loads the pretrained model in `dir` (config.json, model.safetensors, tokenizer.json) for
    /// `steps_per_epoch` steps per epoch, writing curves to `curves` when given.
    pub fn load(
        dir: &Path,
        options: &FinetuneOptions,
        steps_per_epoch: usize,
        curves: Option<(&Path, &[&str])>,
    ) -> Result<BiEncoderTrainer> {
        Self::load_as(dir, options, steps_per_epoch, curves, DType::F32)
    }

    fn load_as(
        dir: &Path,
        options: &FinetuneOptions,
        steps_per_epoch: usize,
        curves: Option<(&Path, &[&str])>,
        dtype: DType,
    ) -> Result<BiEncoderTrainer> {
        options.train.validate().map_err(train_err)?;
        if !(options.scale.is_finite() && options.scale > 0.0) {
            return Err(EncoderError::InvalidSetting(format!(
                "the similarity scale must be > 0, got {}",
                options.scale
            )));
        }
        let config_path = required(dir, "config.json")?;
        let weights_path = required(dir, "model.safetensors")?;
        let tokenizer_path = required(dir, "tokenizer.json")?;
        let raw = read_json(&config_path)?;
        let config: Config =
            serde_json::from_value(raw.clone()).map_err(|source| EncoderError::Json {
                path: config_path.clone(),
                source,
            })?;
        if let Freeze::Bottom(n) = options.freeze {
            if n >= config.num_hidden_layers {
                return Err(EncoderError::InvalidSetting(format!(
                    "--freeze bottom-{n} leaves nothing to train: the model has {} layers",
                    config.num_hidden_layers
                )));
            }
        }
        let max_len =
            max_seq_length(dir, options.max_seq_length)?.clamp(2, config.max_position_embeddings);
        let tokenizer = load_tokenizer(&tokenizer_path, max_len)?;
        let weights = Weights::load(&weights_path, dtype)?;
        let layers = config.num_hidden_layers;
        let freeze = options.freeze;
        let trains = move |name: &str| freeze.trains(name, layers);
        let train_model = build_bert(&weights, &config, &weights_path, &trains, false)?;
        let eval_model = build_bert(&weights, &config, &weights_path, &|_| false, false)?;
        // Only the tensors the forward pass reads can learn (the pooler, for one, is unused).
        let used = |short: &str| {
            short.starts_with("embeddings.") && !short.ends_with("position_ids")
                || short.starts_with("encoder.layer.")
        };
        let trainable: Vec<(String, Var)> = weights
            .vars
            .iter()
            .filter(|(name, _)| {
                let short = weights.short(name);
                used(short) && trains(short)
            })
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect();
        let count = |vars: &mut dyn Iterator<Item = &Var>| -> usize {
            vars.map(|v| v.as_tensor().elem_count()).sum()
        };
        let trainable_parameters = count(&mut trainable.iter().map(|(_, v)| v));
        let parameters = count(&mut weights.vars.values());
        let trainer = Trainer::new(
            &trainable,
            &options.train,
            steps_per_epoch,
            curves,
            "fine-tuning",
        )
        .map_err(train_err)?;
        let prob = |key: &str, fallback: f64| {
            if options.dropout {
                raw.get(key).and_then(|v| v.as_f64()).unwrap_or(fallback)
            } else {
                0.0
            }
        };
        let hidden_dropout = prob("hidden_dropout_prob", config.hidden_dropout_prob);
        let attention_dropout = prob("attention_probs_dropout_prob", hidden_dropout);
        let mut rng = ChaCha8Rng::seed_from_u64(options.train.seed);
        // Dropout draws from its own stream, apart from the batching streams.
        rng.set_stream(u64::MAX);
        Ok(BiEncoderTrainer {
            source: dir.to_owned(),
            trainable: trainable.into_iter().map(|(n, _)| n).collect(),
            weights,
            train_model,
            eval_model,
            tokenizer,
            trainer,
            rng,
            hidden_dropout,
            attention_dropout,
            scale: options.scale,
            encode_batch_size: options.encode_batch_size.max(1),
            trainable_parameters,
            parameters,
            device: Device::Cpu,
            dtype,
        })
    }

    /// Parameters that train.
    pub fn trainable_parameters(&self) -> usize {
        self.trainable_parameters
    }

    /// All parameters of the model.
    pub fn parameters(&self) -> usize {
        self.parameters
    }

    /// The trainer (steps, time, best validation, progress bar).
    pub fn trainer(&self) -> &Trainer {
        &self.trainer
    }

    /// The trainer, to shorten the schedule once the time limit shows how many steps fit.
    pub fn trainer_mut(&mut self) -> &mut Trainer {
        &mut self.trainer
    }

    /// Token ids and attention mask of `texts`, padded to the longest.
    fn tokenize(&self, texts: &[&str]) -> Result<(Tensor, Tensor)> {
        crate::bert::tokenize(&self.tokenizer, texts, &self.device)
    }

    /// Vectors `(texts, hidden)` of `texts` in input order, on the graph of the training
    /// model: encoded longest first in groups of [`TRAIN_GROUP`], each padded to its own
    /// longest text. One group of everything would pad every short text to the longest one
    /// (most of a batch's work, on item descriptions) and allocate attention scores too large
    /// for the allocator to reuse, so that each step faulted in fresh pages.
    fn embed_in_groups(&mut self, texts: &[&str], dropout: bool) -> Result<Tensor> {
        let (order, sorted) = crate::longest_first(texts);
        let tokens = sorted
            .chunks(TRAIN_GROUP)
            .map(|group| self.tokenize(group))
            .collect::<Result<Vec<_>>>()?;
        // The word vectors of every group in one lookup: each lookup's gradient is a matrix
        // the size of the vocabulary's embeddings, so one per group would cost a copy each.
        let flat = tokens
            .iter()
            .map(|(ids, _)| ids.flatten_all())
            .collect::<candle_core::Result<Vec<_>>>()
            .and_then(|ids| Tensor::cat(&ids, 0))
            .map_err(model_err)?;
        let all_words = self
            .train_model
            .word
            .index_select(&flat, 0)
            .map_err(model_err)?;
        let hidden_size = all_words.dim(1).map_err(model_err)?;
        let mut groups = Vec::with_capacity(tokens.len());
        let mut offset = 0;
        for (ids, mask) in &tokens {
            let (rows, len) = ids.dims2().map_err(model_err)?;
            let words = all_words
                .narrow(0, offset, rows * len)
                .and_then(|w| w.reshape((rows, len, hidden_size)))
                .map_err(model_err)?;
            offset += rows * len;
            let mut drop = Dropout {
                rng: &mut self.rng,
                hidden: self.hidden_dropout,
                attention: self.attention_dropout,
            };
            let v = self
                .train_model
                .hidden_of_words(&words, mask, dropout.then_some(&mut drop))
                .and_then(|h| Bert::pool(&h, mask))
                .map_err(model_err)?;
            groups.push(v);
        }
        // Row j of the groups is text order[j]: gather each text's row back into place.
        let mut position = vec![0u32; order.len()];
        for (row, &text) in order.iter().enumerate() {
            position[text] = row as u32;
        }
        let index = Tensor::from_vec(position, order.len(), &self.device).map_err(model_err)?;
        Tensor::cat(&groups, 0)
            .and_then(|all| all.index_select(&index, 0))
            .map_err(model_err)
    }

    /// The loss of one batch in training mode (dropout on), as a tensor to differentiate.
    fn batch_loss(
        &mut self,
        queries: &[&str],
        positives: &[&str],
        negatives: &[&str],
        weights: &[f32],
        dropout: bool,
    ) -> Result<Tensor> {
        let b = queries.len();
        if b == 0 || positives.len() != b || weights.len() != b {
            return Err(EncoderError::InvalidSetting(format!(
                "a batch needs as many positives and weights as queries ({b}), got {} and {}",
                positives.len(),
                weights.len()
            )));
        }
        if weights.iter().any(|w| !(w.is_finite() && *w >= 0.0))
            || weights.iter().sum::<f32>() <= 0.0
        {
            return Err(EncoderError::InvalidSetting(
                "pair weights must be finite, >= 0 and not all 0".into(),
            ));
        }
        let documents: Vec<&str> = positives.iter().chain(negatives).copied().collect();
        let use_dropout = dropout && (self.hidden_dropout > 0.0 || self.attention_dropout > 0.0);
        let q = self.embed_in_groups(queries, use_dropout)?;
        let d = self.embed_in_groups(&documents, use_dropout)?;
        let w = Tensor::from_slice(weights, b, &self.device)
            .and_then(|w| w.to_dtype(self.dtype))
            .map_err(model_err)?;
        mnrl_loss(&q, &d, &w, self.scale).map_err(model_err)
    }

    /// One optimisation step on a batch: `queries[i]` should match `positives[i]`; every other
    /// positive and every text of `negatives` is a negative for it. `weights[i]` weighs pair
    /// `i` in the loss.
    pub fn step(
        &mut self,
        queries: &[&str],
        positives: &[&str],
        negatives: &[&str],
        weights: &[f32],
    ) -> Result<StepStats> {
        let loss = self.batch_loss(queries, positives, negatives, weights, true)?;
        self.trainer.step(&loss).map_err(train_err)
    }

    /// The loss of a batch without dropout and without updating anything.
    pub fn loss(
        &mut self,
        queries: &[&str],
        positives: &[&str],
        negatives: &[&str],
        weights: &[f32],
    ) -> Result<f64> {
        let loss = self.batch_loss(queries, positives, negatives, weights, false)?;
        loss.to_dtype(DType::F64)
            .and_then(|l| l.to_scalar::<f64>())
            .map_err(model_err)
    }

    /// [`crate::Encoder::unknown_share`] by this model's tokenizer.
    pub fn unknown_share(&self, text: &str) -> Option<f32> {
        crate::unknown_share_of(&self.tokenizer, text)
    }

    /// Unit-length vectors of `texts` with the current weights, as the encoder computes them
    /// (no dropout).
    pub fn encode(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let (order, sorted) = crate::longest_first(texts);
        let mut out = Vec::with_capacity(texts.len());
        for chunk in sorted.chunks(self.encode_batch_size) {
            let (ids, mask) = self.tokenize(chunk)?;
            let v = self
                .eval_model
                .embed(&ids, &mask, None)
                .and_then(|v| v.to_dtype(DType::F32))
                .and_then(|v| v.to_vec2::<f32>())
                .map_err(model_err)?;
            out.extend(v);
        }
        Ok(crate::restore_order(order, out))
    }

    /// Records the validation metrics of the current weights (the first drives early stopping).
    pub fn end_epoch(&mut self, metrics: &[f64]) -> Result<Verdict> {
        self.trainer.end_epoch(metrics).map_err(train_err)
    }

    /// Writes the model to `out`: `model.safetensors` with every tensor of the pretrained file
    /// (current values), its ONNX graph `model.onnx` (for ONNX Runtime, [`crate::bert_onnx`]),
    /// the other files of the pretrained folder copied (config, tokenizer,
    /// sentence-transformers metadata), and `training.json` = `record` plus the SHA-256 of the
    /// weights, which also makes the folder's model id differ from the pretrained one.
    pub fn save(&self, out: &Path, record: &serde_json::Value) -> Result<()> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| EncoderError::Io { path, source }
        };
        std::fs::create_dir_all(out).map_err(io(out))?;
        copy_folder(
            &self.source,
            out,
            &[
                "model.safetensors",
                crate::ONNX_FILE,
                TRAINING_FILE,
                "curves.csv",
            ],
        )?;

        let mut tensors: Vec<(String, Tensor)> = Vec::with_capacity(self.weights.vars.len());
        for (name, var) in &self.weights.vars {
            let t = var.as_tensor().to_dtype(DType::F32).map_err(model_err)?;
            tensors.push((name.clone(), t));
        }
        tensors.extend(self.weights.others.iter().cloned());
        let weights_path = out.join("model.safetensors");
        assay_train::save_safetensors(&weights_path, &tensors).map_err(train_err)?;
        crate::write_bert_onnx(out, &out.join(crate::ONNX_FILE))?;
        let bytes = std::fs::read(&weights_path).map_err(io(&weights_path))?;
        let digest = Sha256::digest(&bytes);
        let mut record = match record {
            serde_json::Value::Object(map) => map.clone(),
            other => {
                let mut map = serde_json::Map::new();
                map.insert("record".into(), other.clone());
                map
            }
        };
        record.insert(
            "weights_sha256".into(),
            digest
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
                .into(),
        );
        record.insert(
            "base_model".into(),
            self.source.display().to_string().into(),
        );
        assay_train::write_json(&out.join(TRAINING_FILE), &record).map_err(train_err)
    }

    /// Flushes the curves and removes the progress bar.
    pub fn finish(&mut self) -> Result<()> {
        self.trainer.finish().map_err(train_err)
    }
}

/// Copies the regular files (and one level of sub-folders, such as `1_Pooling`) of `from` into
/// `to`, except the names in `skip`.
fn copy_folder(from: &Path, to: &Path, skip: &[&str]) -> Result<()> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| EncoderError::Io { path, source }
    };
    if std::fs::canonicalize(from).ok() == std::fs::canonicalize(to).ok() {
        return Ok(());
    }
    for entry in std::fs::read_dir(from).map_err(io(from))? {
        let entry = entry.map_err(io(from))?;
        let name = entry.file_name();
        if skip.iter().any(|s| name == *s) {
            continue;
        }
        let src = entry.path();
        let dst = to.join(&name);
        if src.is_file() {
            copy_file(&src, &dst).map_err(io(&dst))?;
        } else if src.is_dir() {
            std::fs::create_dir_all(&dst).map_err(io(&dst))?;
            for inner in std::fs::read_dir(&src).map_err(io(&src))? {
                let inner = inner.map_err(io(&src))?.path();
                if inner.is_file() {
                    if let Some(n) = inner.file_name() {
                        copy_file(&inner, &dst.join(n)).map_err(io(&dst))?;
                    }
                }
            }
        }
    }
    Ok(())
}

/// Copies one file through the one atomic writer.
fn copy_file(from: &Path, to: &Path) -> std::io::Result<()> {
    let mut source = std::fs::File::open(from)?;
    assay_fetch::write_atomically(to, |w| std::io::copy(&mut source, w).map(|_| ()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BertEncoder, Encoder, EncoderOptions};
    use assay_train::{AdamWConfig, Decay};
    use rand::Rng;

    const WORDS: [&str; 20] = [
        "red", "blue", "green", "dress", "shirt", "shoes", "cotton", "silk", "summer", "winter",
        "jigsaw", "puzzle", "kids", "women", "men", "long", "short", "warm", "light", "sale",
    ];
    const HIDDEN: usize = 8;
    const LAYERS: usize = 2;

    /// A tiny random BERT (2 layers, 8 wide, 2 heads) with a word-level tokenizer, written to a
    /// temporary folder in the layout of a sentence-transformers model.
    fn tiny_model() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let vocab_size = WORDS.len() + 4;
        let config = serde_json::json!({
            "vocab_size": vocab_size, "hidden_size": HIDDEN, "num_hidden_layers": LAYERS,
            "num_attention_heads": 2, "intermediate_size": 16, "hidden_act": "gelu",
            "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
            "max_position_embeddings": 32, "type_vocab_size": 2, "initializer_range": 0.02,
            "layer_norm_eps": 1e-12, "pad_token_id": 0, "model_type": "bert"
        });
        std::fs::write(dir.path().join("config.json"), config.to_string()).unwrap();
        let mut vocab = serde_json::Map::new();
        for (i, t) in ["[PAD]", "[UNK]", "[CLS]", "[SEP]"].iter().enumerate() {
            vocab.insert((*t).into(), i.into());
        }
        for (i, w) in WORDS.iter().enumerate() {
            vocab.insert((*w).into(), (i + 4).into());
        }
        let tokenizer = serde_json::json!({
            "version": "1.0", "truncation": null, "padding": null, "added_tokens": [],
            "normalizer": {"type": "Lowercase"},
            "pre_tokenizer": {"type": "Whitespace"},
            "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]},
            "decoder": null,
            "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "[UNK]"}
        });
        std::fs::write(dir.path().join("tokenizer.json"), tokenizer.to_string()).unwrap();
        std::fs::write(
            dir.path().join("sentence_bert_config.json"),
            r#"{"max_seq_length": 16}"#,
        )
        .unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(42);
        let mut uniform = |shape: &[usize], center: f32, spread: f32| {
            let n: usize = shape.iter().product();
            let data: Vec<f32> = (0..n)
                .map(|_| center + spread * (2.0 * rng.random::<f32>() - 1.0))
                .collect();
            Tensor::from_vec(data, shape, &Device::Cpu).unwrap()
        };
        let mut tensors: Vec<(String, Tensor)> = vec![
            (
                "embeddings.word_embeddings.weight".into(),
                uniform(&[vocab_size, HIDDEN], 0.0, 1.0),
            ),
            (
                "embeddings.position_embeddings.weight".into(),
                uniform(&[32, HIDDEN], 0.0, 0.3),
            ),
            (
                "embeddings.token_type_embeddings.weight".into(),
                uniform(&[2, HIDDEN], 0.0, 0.3),
            ),
            (
                "embeddings.LayerNorm.weight".into(),
                uniform(&[HIDDEN], 1.0, 0.1),
            ),
            (
                "embeddings.LayerNorm.bias".into(),
                uniform(&[HIDDEN], 0.0, 0.1),
            ),
            (
                "pooler.dense.weight".into(),
                uniform(&[HIDDEN, HIDDEN], 0.0, 0.3),
            ),
            ("pooler.dense.bias".into(), uniform(&[HIDDEN], 0.0, 0.1)),
        ];
        let ids: Vec<i64> = (0..32).collect();
        tensors.push((
            "embeddings.position_ids".into(),
            Tensor::from_vec(ids, (1, 32), &Device::Cpu).unwrap(),
        ));
        for l in 0..LAYERS {
            let p = format!("encoder.layer.{l}");
            for (name, rows, cols) in [
                ("attention.self.query", HIDDEN, HIDDEN),
                ("attention.self.key", HIDDEN, HIDDEN),
                ("attention.self.value", HIDDEN, HIDDEN),
                ("attention.output.dense", HIDDEN, HIDDEN),
                ("intermediate.dense", 16, HIDDEN),
                ("output.dense", HIDDEN, 16),
            ] {
                tensors.push((
                    format!("{p}.{name}.weight"),
                    uniform(&[rows, cols], 0.0, 0.5),
                ));
                tensors.push((format!("{p}.{name}.bias"), uniform(&[rows], 0.0, 0.1)));
            }
            for norm in ["attention.output.LayerNorm", "output.LayerNorm"] {
                tensors.push((format!("{p}.{norm}.weight"), uniform(&[HIDDEN], 1.0, 0.1)));
                tensors.push((format!("{p}.{norm}.bias"), uniform(&[HIDDEN], 0.0, 0.1)));
            }
        }
        assay_train::save_safetensors(&dir.path().join("model.safetensors"), &tensors).unwrap();
        dir
    }

    fn options(freeze: Freeze, seed: u64, dropout: bool) -> FinetuneOptions {
        FinetuneOptions {
            freeze,
            scale: 20.0,
            max_seq_length: None,
            dropout,
            encode_batch_size: 3,
            train: TrainConfig {
                epochs: 1,
                batch_size: 3,
                lr: 1e-2,
                warmup_fraction: 0.0,
                decay: Decay::Constant,
                adamw: AdamWConfig::default(),
                max_grad_norm: Some(1.0),
                patience: 1,
                min_delta: 0.0,
                max_seconds: None,
                seed,
            },
        }
    }

    const QUERIES: [&str; 3] = ["red dress", "kids puzzle", "warm winter shoes"];
    const POSITIVES: [&str; 3] = [
        "red silk summer dress women",
        "jigsaw puzzle kids",
        "warm winter shoes men",
    ];
    const NEGATIVES: [&str; 2] = ["red jigsaw puzzle", "light summer shoes"];
    const WEIGHTS: [f32; 3] = [1.0, 0.5, 2.0];

    fn snapshot(t: &BiEncoderTrainer) -> BTreeMap<String, Vec<f32>> {
        t.weights
            .vars
            .iter()
            .map(|(n, v)| {
                let data = v
                    .as_tensor()
                    .to_dtype(DType::F32)
                    .unwrap()
                    .flatten_all()
                    .unwrap()
                    .to_vec1::<f32>()
                    .unwrap();
                (n.clone(), data)
            })
            .collect()
    }

    #[test]
    fn freeze_parses_and_selects_by_name() {
        assert_eq!(Freeze::parse("bottom-3"), Some(Freeze::Bottom(3)));
        assert_eq!(Freeze::parse("bottom:2"), Some(Freeze::Bottom(2)));
        assert_eq!(Freeze::parse("All-But-Head"), Some(Freeze::AllButHead));
        assert_eq!(Freeze::parse("bottom-x"), None);
        assert_eq!(Freeze::Bottom(3).to_string(), "bottom-3");
        let emb = "embeddings.word_embeddings.weight";
        let l0 = "encoder.layer.0.attention.self.query.weight";
        let l5_out = "encoder.layer.5.output.dense.weight";
        let l5_attn_out = "encoder.layer.5.attention.output.dense.weight";
        assert!(Freeze::None.trains(emb, 6));
        assert!(!Freeze::Embeddings.trains(emb, 6) && Freeze::Embeddings.trains(l0, 6));
        assert!(!Freeze::Bottom(1).trains(l0, 6) && Freeze::Bottom(1).trains(l5_out, 6));
        assert!(!Freeze::Bottom(1).trains(emb, 6));
        assert!(Freeze::AllButHead.trains(l5_out, 6));
        assert!(!Freeze::AllButHead.trains(l5_attn_out, 6) && !Freeze::AllButHead.trains(l0, 6));
    }

    #[test]
    fn loss_gradient_equals_finite_differences() {
        let dir = tiny_model();
        let mut t = BiEncoderTrainer::load_as(
            dir.path(),
            &options(Freeze::None, 1, false),
            1,
            None,
            DType::F64,
        )
        .unwrap();
        let loss = t
            .batch_loss(&QUERIES, &POSITIVES, &NEGATIVES, &WEIGHTS, false)
            .unwrap();
        let grads = loss.backward().unwrap();
        // One entry of each kind of parameter: embeddings, attention, feed-forward, norms. (Not
        // the key bias: softmax ignores a shift shared by all keys, so its gradient is 0.)
        let probes = [
            ("embeddings.word_embeddings.weight", 4 * HIDDEN + 2), // "red"
            ("embeddings.position_embeddings.weight", HIDDEN + 1),
            ("embeddings.LayerNorm.weight", 3),
            ("encoder.layer.0.attention.self.query.weight", 5),
            ("encoder.layer.0.attention.self.value.bias", 1),
            ("encoder.layer.0.attention.self.key.weight", 9),
            ("encoder.layer.1.intermediate.dense.weight", 17),
            ("encoder.layer.1.output.LayerNorm.bias", 6),
        ];
        for (name, index) in probes {
            let var = t.weights.vars[name].clone();
            let shape = var.as_tensor().shape().clone();
            let base: Vec<f64> = var.as_tensor().flatten_all().unwrap().to_vec1().unwrap();
            let analytic: f64 = grads
                .get(&var)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f64>()
                .unwrap()[index];
            let h = 1e-6;
            let mut at = |delta: f64| {
                let mut data = base.clone();
                data[index] += delta;
                var.set(&Tensor::from_vec(data, &shape, &Device::Cpu).unwrap())
                    .unwrap();
                t.loss(&QUERIES, &POSITIVES, &NEGATIVES, &WEIGHTS).unwrap()
            };
            let numeric = (at(h) - at(-h)) / (2.0 * h);
            at(0.0);
            assert!(
                (numeric - analytic).abs() <= 1e-6 + 1e-4 * analytic.abs(),
                "{name}[{index}]: finite differences {numeric}, gradient {analytic}"
            );
            assert!(
                analytic.abs() > 1e-8,
                "{name}[{index}]: a zero gradient tests nothing"
            );
        }
    }

    #[test]
    fn a_few_steps_on_a_fixed_batch_lower_the_loss() {
        let dir = tiny_model();
        let mut t =
            BiEncoderTrainer::load(dir.path(), &options(Freeze::None, 1, true), 10, None).unwrap();
        let before = t.loss(&QUERIES, &POSITIVES, &NEGATIVES, &WEIGHTS).unwrap();
        for _ in 0..10 {
            t.step(&QUERIES, &POSITIVES, &NEGATIVES, &WEIGHTS).unwrap();
        }
        let after = t.loss(&QUERIES, &POSITIVES, &NEGATIVES, &WEIGHTS).unwrap();
        assert!(after < 0.8 * before, "loss {before} -> {after}");
    }

    #[test]
    fn frozen_weights_stay_bit_identical() {
        let dir = tiny_model();
        for freeze in [Freeze::Embeddings, Freeze::Bottom(1), Freeze::AllButHead] {
            let mut t =
                BiEncoderTrainer::load(dir.path(), &options(freeze, 1, true), 3, None).unwrap();
            let before = snapshot(&t);
            for _ in 0..3 {
                t.step(&QUERIES, &POSITIVES, &NEGATIVES, &WEIGHTS).unwrap();
            }
            let after = snapshot(&t);
            let mut changed = 0;
            for (name, old) in &before {
                let short = name.as_str();
                let trains = freeze.trains(short, LAYERS) && !short.starts_with("pooler.");
                let same = old
                    .iter()
                    .zip(&after[name])
                    .all(|(a, b)| a.to_bits() == b.to_bits());
                assert_eq!(same, !trains, "{freeze}: {name} trains = {trains}");
                changed += usize::from(!same);
            }
            assert_eq!(changed, t.trainable.len(), "{freeze}");
            let expected = match freeze {
                Freeze::AllButHead => 4,
                _ => t.trainable.len(),
            };
            assert_eq!(t.trainable.len(), expected);
        }
    }

    /// The graph saved beside a checkpoint, read back with the same protobuf messages: opset
    /// 17 of the default domain only, the three int64 inputs and `last_hidden_state`, every
    /// node's inputs defined before it, and the trained weights as initializers (dense weights
    /// transposed to `(in, out)`).
    #[test]
    fn saved_graph_is_well_formed_and_holds_the_trained_weights() {
        use crate::onnx_export::proto;
        use prost::Message;
        let dir = tiny_model();
        let out = tempfile::tempdir().unwrap();
        let mut t =
            BiEncoderTrainer::load(dir.path(), &options(Freeze::None, 1, true), 3, None).unwrap();
        t.step(&QUERIES, &POSITIVES, &NEGATIVES, &WEIGHTS).unwrap();
        t.save(out.path(), &serde_json::json!({})).unwrap();
        let bytes = std::fs::read(out.path().join(crate::ONNX_FILE)).unwrap();
        let model = proto::Model::decode(bytes.as_slice()).unwrap();
        assert_eq!(model.ir_version, 8);
        assert_eq!(model.opset_import.len(), 1);
        assert_eq!(model.opset_import[0].domain, "");
        assert_eq!(model.opset_import[0].version, 17);
        let graph = model.graph.unwrap();
        let names = |v: &[proto::ValueInfo]| v.iter().map(|i| i.name.clone()).collect::<Vec<_>>();
        assert_eq!(
            names(&graph.input),
            ["input_ids", "attention_mask", "token_type_ids"]
        );
        assert_eq!(names(&graph.output), ["last_hidden_state"]);
        let output_type = graph.output[0].r#type.clone().unwrap().tensor_type.unwrap();
        assert_eq!(output_type.elem_type, 1);
        let dims: Vec<_> = output_type
            .shape
            .unwrap()
            .dim
            .into_iter()
            .map(|d| d.value)
            .collect();
        assert_eq!(
            dims,
            [
                Some(proto::DimensionValue::Param("batch".into())),
                Some(proto::DimensionValue::Param("sequence".into())),
                Some(proto::DimensionValue::Value(HIDDEN as i64)),
            ]
        );
        // Topologically sorted, each value written once.
        let mut defined: std::collections::HashSet<String> = graph
            .input
            .iter()
            .map(|i| i.name.clone())
            .chain(graph.initializer.iter().map(|t| t.name.clone()))
            .collect();
        assert_eq!(
            defined.len(),
            3 + graph.initializer.len(),
            "duplicate names"
        );
        for node in &graph.node {
            assert_eq!(node.domain, "");
            for input in &node.input {
                assert!(
                    defined.contains(input),
                    "{} reads {input} before it exists",
                    node.op_type
                );
            }
            for output in &node.output {
                assert!(defined.insert(output.clone()), "{output} written twice");
            }
        }
        assert!(defined.contains("last_hidden_state"));
        let per_layer = |op: &str| graph.node.iter().filter(|n| n.op_type == op).count();
        assert_eq!(per_layer("LayerNormalization"), 1 + 2 * LAYERS);
        assert_eq!(per_layer("Softmax"), LAYERS);
        assert_eq!(per_layer("Erf"), LAYERS);
        // The weights are the trained ones.
        let trained = snapshot(&t);
        let floats = |name: &str| -> Vec<f32> {
            let init = graph.initializer.iter().find(|i| i.name == name).unwrap();
            assert_eq!(init.data_type, 1);
            init.raw_data
                .chunks(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect()
        };
        assert_eq!(
            floats("word_embeddings"),
            trained["embeddings.word_embeddings.weight"]
        );
        let before = snapshot(
            &BiEncoderTrainer::load(dir.path(), &options(Freeze::None, 1, true), 3, None).unwrap(),
        );
        assert_ne!(
            before["embeddings.word_embeddings.weight"],
            trained["embeddings.word_embeddings.weight"]
        );
        let w = &trained["encoder.layer.1.intermediate.dense.weight"]; // (16, HIDDEN)
        let w_in_out = floats("encoder.layer.1.intermediate.dense.weight_in_out"); // (HIDDEN, 16)
        for o in 0..16 {
            for i in 0..HIDDEN {
                assert_eq!(w_in_out[i * 16 + o], w[o * HIDDEN + i]);
            }
        }
    }

    #[test]
    fn checkpoint_round_trips_to_identical_embeddings() {
        let dir = tiny_model();
        let out = tempfile::tempdir().unwrap();
        let mut t =
            BiEncoderTrainer::load(dir.path(), &options(Freeze::None, 1, true), 3, None).unwrap();
        for _ in 0..3 {
            t.step(&QUERIES, &POSITIVES, &NEGATIVES, &WEIGHTS).unwrap();
        }
        let texts = [
            "red dress",
            "warm winter shoes men",
            "unknown words here",
            "kids",
        ];
        let trained = t.encode(&texts).unwrap();
        t.save(out.path(), &serde_json::json!({"freeze": "none"}))
            .unwrap();
        for name in [
            "config.json",
            "tokenizer.json",
            "sentence_bert_config.json",
            crate::ONNX_FILE,
            TRAINING_FILE,
        ] {
            assert!(out.path().join(name).is_file(), "{name} missing");
        }
        // The same trainer code on the saved folder: bit for bit.
        let again =
            BiEncoderTrainer::load(out.path(), &options(Freeze::None, 1, true), 3, None).unwrap();
        assert_eq!(again.encode(&texts).unwrap(), trained);
        // The saved folder is an ordinary encoder (candle-transformers' BERT): same vectors up
        // to float rounding, and another model id than the pretrained folder.
        let encoder = BertEncoder::load(out.path(), &EncoderOptions::default()).unwrap();
        let loaded = encoder.encode(&texts).unwrap();
        for (a, b) in trained.iter().zip(&loaded) {
            for (x, y) in a.iter().zip(b) {
                assert!((x - y).abs() < 1e-5, "{a:?} vs {b:?}");
            }
        }
        let pretrained = BertEncoder::load(dir.path(), &EncoderOptions::default()).unwrap();
        assert_ne!(encoder.model_id(), pretrained.model_id());
        let before = pretrained.encode(&texts).unwrap();
        assert_ne!(before, loaded, "training changed the vectors");
    }

    #[test]
    fn pretrained_vectors_match_the_encoder() {
        let dir = tiny_model();
        let t =
            BiEncoderTrainer::load(dir.path(), &options(Freeze::None, 1, true), 1, None).unwrap();
        let texts = ["red dress", "silk", "long warm winter dress for women"];
        let ours = t.encode(&texts).unwrap();
        let theirs = BertEncoder::load(dir.path(), &EncoderOptions::default())
            .unwrap()
            .encode(&texts)
            .unwrap();
        for (a, b) in ours.iter().zip(&theirs) {
            for (x, y) in a.iter().zip(b) {
                assert!((x - y).abs() < 1e-5, "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn same_seed_same_weights() {
        let dir = tiny_model();
        let run = |seed: u64| {
            let mut t =
                BiEncoderTrainer::load(dir.path(), &options(Freeze::None, seed, true), 3, None)
                    .unwrap();
            for _ in 0..3 {
                t.step(&QUERIES, &POSITIVES, &NEGATIVES, &WEIGHTS).unwrap();
            }
            snapshot(&t)
        };
        let a = run(5);
        assert_eq!(a, run(5));
        assert_ne!(a, run(6), "another seed draws other dropout masks");
    }

    #[test]
    fn bad_settings_are_errors() {
        let dir = tiny_model();
        let err = BiEncoderTrainer::load(dir.path(), &options(Freeze::Bottom(2), 1, true), 1, None)
            .unwrap_err();
        assert!(err.to_string().contains("nothing to train"), "{err}");
        let mut t =
            BiEncoderTrainer::load(dir.path(), &options(Freeze::None, 1, true), 1, None).unwrap();
        assert!(t.step(&QUERIES, &POSITIVES[..2], &[], &WEIGHTS).is_err());
        assert!(t.step(&QUERIES, &POSITIVES, &[], &[0.0, 0.0, 0.0]).is_err());
    }
}
