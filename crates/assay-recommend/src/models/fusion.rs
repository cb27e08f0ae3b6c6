// tidy: long file: one model kind whole (its names, inputs, network, training and file), as
// each model file in this folder is; its tests live in fusion_tests.rs.
//! Cross-modal item fusion: an item is what its text, its image and its behaviour say about
//! it, fused into one vector, and a user's score for it is their embedding dotted with that
//! vector.
//!
//! **Inputs**, fixed during training, one matrix per modality, each column standardised to
//! mean 0 and variance 1 over the catalog:
//! - *text*: a hashed bag of words of the title, category path, brand and description
//!   (`text_dim` buckets, FNV-1a of each lower-cased alphanumeric token, a ±1 sign from the
//!   hash, L2-normalised), or the dataset's text vectors when it carries them;
//! - *image*: the catalog's image vectors (`items.image` in `assay.toml`);
//! - *behaviour*: the item factors of ALS fitted on the same training interactions
//!   (`behaviour_factors` factors, the rest ALS's defaults, the same seed).
//!
//! **Network.** Each modality `m` is projected, `h_m = W_m x_m + b_m` (size `dim`), and the
//! projections are fused by `method`:
//! - `concat`: `z = W_2 relu(W_1 [h_1; ...; h_M] + b_1) + b_2`;
//! - `gate`: `g = sigmoid(W_g [h_1; ...; h_M] + b_g)` (one gate per modality),
//!   `z = sum_m g_m h_m`;
//! - `attn`: `a = softmax_m(q . tanh(h_m))` with a learned query `q`, `z = sum_m a_m h_m`.
//!
//! A user is a free embedding `u` (size `dim`); the score of item `i` is `u . z_i`. There is
//! no item bias, so a single-modality model knows an item only through that modality.
//!
//! **Training** (assay-train's AdamW, decoupled weight decay `weight_decay`): batches of
//! `batch` training pairs with distinct items, each pair's positive scored against the other
//! positives of its batch and `negatives` uniformly drawn items (sampled softmax,
//! cross-entropy; gradients clipped to global norm 5, gate logits to ±30); after each epoch
//! the validation score, when given, drives early stopping (`patience`) and the best epoch's
//! weights are kept. Every draw comes from `seed`: the same seed gives the same weights.
//!
//! **Kinds.** `fusion-concat`, `fusion-gate` and `fusion-attn` fuse every modality;
//! `fusion-text`, `fusion-image` and `fusion-behaviour` are the single-modality baselines
//! (the same tower with `concat` on one input). `modalities=text+image` fuses a subset: what
//! the modality values refit.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Instant;

use assay_core::math::dot;
use assay_core::{Dataset, Interactions, UserIdx};
use assay_train::{AdamW, AdamWConfig, EarlyStopping, Verdict};
use candle_core::{Device, Tensor};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::nn::{self, linear, sigmoid, tensor_error, CResult, Params};
use super::{bad_param, expect_kind, non_negative, positive};
use crate::spec::{params_from, parse_pairs};
use crate::store::{self, ModelFile, Tensors};
use crate::{
    AlsParams, Capabilities, DenseMemory, EpochLog, Fit, FitSize, History, ModelKind,
    RecommendError, Recommender, Result, StopReason, TrainingLog, Validate, Work,
};

/// Gradients are clipped to this global norm at every step.
const MAX_GRAD_NORM: f64 = 5.0;

/// Items whose fused vectors are computed in one forward pass when scoring.
const CHUNK: usize = 4096;

/// A source of what an item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Modality {
    /// The item's words.
    Text,
    /// The item's image vector.
    Image,
    /// The item's behavioural embedding (ALS item factors).
    Behaviour,
}

impl Modality {
    /// Every modality, in the order the network reads them.
    pub const ALL: [Modality; 3] = [Modality::Text, Modality::Image, Modality::Behaviour];

    /// The name in specs and reports.
    pub fn name(self) -> &'static str {
        match self {
            Modality::Text => "text",
            Modality::Image => "image",
            Modality::Behaviour => "behaviour",
        }
    }

    /// Parses a name (`behavior` too).
    pub fn parse(text: &str) -> Option<Modality> {
        match text.trim().to_ascii_lowercase().as_str() {
            "text" => Some(Modality::Text),
            "image" => Some(Modality::Image),
            "behaviour" | "behavior" => Some(Modality::Behaviour),
            _ => None,
        }
    }

    /// The modalities of a `+`-separated list, in [`Modality::ALL`] order.
    pub fn parse_set(text: &str) -> std::result::Result<Vec<Modality>, String> {
        let mut set = BTreeSet::new();
        for part in text.split('+').filter(|p| !p.trim().is_empty()) {
            let m = Modality::parse(part).ok_or_else(|| {
                format!("unknown modality `{part}`; known: text, image, behaviour")
            })?;
            set.insert(m);
        }
        if set.is_empty() {
            return Err("name at least one modality: text, image, behaviour".into());
        }
        Ok(set.into_iter().collect())
    }

    /// The `+`-separated list of `set`.
    pub fn join(set: &[Modality]) -> String {
        let names: Vec<&str> = set.iter().map(|m| m.name()).collect();
        names.join("+")
    }
}

/// How the modalities' projections become one item vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FusionMethod {
    /// Concatenation, then a two-layer MLP.
    Concat,
    /// A sigmoid gate per modality, from all of them; the gated sum.
    Gate,
    /// Softmax attention over the modalities with a learned query; the weighted sum.
    Attn,
}

/// Hyper-parameters of the fusion recommenders.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FusionParams {
    /// How the modalities are fused.
    pub method: FusionMethod,
    /// The modalities used, `+`-separated (`text+image+behaviour`).
    pub modalities: String,
    /// Size of the projections, the fused item vector and the user embedding.
    pub dim: usize,
    /// Buckets of the hashed bag of words (the text input's size).
    pub text_dim: usize,
    /// ALS factors of the behaviour input.
    pub behaviour_factors: usize,
    /// Uniformly drawn negatives shared by a batch.
    pub negatives: usize,
    /// AdamW's learning rate.
    pub lr: f32,
    /// AdamW's decoupled weight decay.
    pub weight_decay: f32,
    /// Training pairs per step.
    pub batch: usize,
    /// Most epochs.
    pub epochs: usize,
    /// Epochs without validation improvement before stopping.
    pub patience: usize,
    /// Seed of ALS, initialisation, batching and negatives.
    pub seed: u64,
}

impl Default for FusionParams {
    fn default() -> FusionParams {
        FusionParams {
            method: FusionMethod::Concat,
            modalities: "text+image+behaviour".into(),
            dim: 32,
            text_dim: 64,
            behaviour_factors: 32,
            negatives: 256,
            lr: 0.01,
            weight_decay: 0.01,
            batch: 512,
            epochs: 40,
            patience: 5,
            seed: 0,
        }
    }
}

impl FusionParams {
    /// The parameters a kind name stands for.
    fn for_name(name: &str) -> FusionParams {
        let base = FusionParams::default();
        let single = |m: &str| FusionParams {
            modalities: m.into(),
            ..FusionParams::default()
        };
        match name {
            "fusion-gate" => FusionParams {
                method: FusionMethod::Gate,
                ..base
            },
            "fusion-attn" => FusionParams {
                method: FusionMethod::Attn,
                ..base
            },
            "fusion-text" => single("text"),
            "fusion-image" => single("image"),
            "fusion-behaviour" | "fusion-behavior" => single("behaviour"),
            _ => base,
        }
    }

    /// The modalities, checked.
    pub fn modality_set(&self) -> Result<Vec<Modality>> {
        Modality::parse_set(&self.modalities).map_err(|_| RecommendError::Param {
            name: "modalities",
            value: self.modalities.clone(),
            reason: "must be a +-separated list of text, image, behaviour",
        })
    }
}

impl Fit for FusionParams {
    type Model = FusionModel;

    fn fit(
        &self,
        train: &Interactions,
        data: &Dataset,
        validate: Option<&Validate<'_>>,
    ) -> Result<FusionModel> {
        self.fit_with(train, data, validate, &|_, _| {})
    }
}

impl ModelKind for FusionParams {
    const NAME: &'static str = "fusion-concat";
    const ALIASES: &'static [&'static str] = &[
        "fusion",
        "fusion-gate",
        "fusion-attn",
        "fusion-text",
        "fusion-image",
        "fusion-behaviour",
        "fusion-behavior",
    ];
    const CAPABILITIES: Capabilities = Capabilities::ITERATIVE;

    fn parse(name: &str, params: &str) -> std::result::Result<FusionParams, String> {
        // The name's settings, overridden by the keys the parameter text names.
        let given = serde_json::to_value(params_from::<FusionParams>(params, &[])?)
            .map_err(|e| e.to_string())?;
        let mut value = serde_json::to_value(FusionParams::for_name(&name.to_ascii_lowercase()))
            .map_err(|e| e.to_string())?;
        if let (Some(map), Some(given)) = (value.as_object_mut(), given.as_object()) {
            for (key, _) in parse_pairs(params)? {
                if let (Some(slot), Some(v)) = (map.get_mut(&key), given.get(&key)) {
                    *slot = v.clone();
                }
            }
        }
        serde_json::from_value(value).map_err(|e| e.to_string())
    }

    fn params_text(&self) -> String {
        let base = FusionParams::for_name(self.name());
        let (Ok(serde_json::Value::Object(now)), Ok(serde_json::Value::Object(base))) =
            (serde_json::to_value(self), serde_json::to_value(base))
        else {
            return String::new();
        };
        let pairs: Vec<String> = now
            .iter()
            .filter(|(k, v)| base.get(*k) != Some(v))
            .map(|(k, v)| match (v.as_str(), v.as_f64()) {
                (Some(s), _) => format!("{k}={s}"),
                (None, Some(x)) if !v.is_u64() => format!("{k}={}", x as f32),
                _ => format!("{k}={v}"),
            })
            .collect();
        pairs.join(";")
    }

    fn name(&self) -> &'static str {
        match self.modality_set().as_deref() {
            Ok([Modality::Text]) => "fusion-text",
            Ok([Modality::Image]) => "fusion-image",
            Ok([Modality::Behaviour]) => "fusion-behaviour",
            _ => match self.method {
                FusionMethod::Concat => "fusion-concat",
                FusionMethod::Gate => "fusion-gate",
                FusionMethod::Attn => "fusion-attn",
            },
        }
    }

    fn load(dir: &Path) -> Result<FusionModel> {
        FusionModel::load(dir)
    }

    fn check(&self) -> Result<()> {
        self.modality_set()?;
        for (name, value) in [
            ("dim", self.dim),
            ("text_dim", self.text_dim),
            ("behaviour_factors", self.behaviour_factors),
            ("batch", self.batch),
            ("epochs", self.epochs),
        ] {
            if value == 0 || value > 1 << 20 {
                return bad_param(name, value, "must be in 1..=1048576");
            }
        }
        if self.negatives > 1 << 20 {
            return bad_param("negatives", self.negatives, "must be at most 1048576");
        }
        if !positive(self.lr) {
            return bad_param("lr", self.lr, "must be a positive number");
        }
        if !non_negative(self.weight_decay) {
            return bad_param("weight_decay", self.weight_decay, "must be at least 0");
        }
        Ok(())
    }

    /// The user and item tables, their best epoch's copy, and the input matrices.
    fn dense_memory(&self, n_users: usize, n_items: usize) -> Option<DenseMemory> {
        let inputs = self.text_dim + 1024 + self.behaviour_factors;
        let rows = n_users.saturating_add(n_items);
        let bytes = assay_core::memory::dense_bytes(&[2, rows, self.dim], 4)
            .saturating_add(assay_core::memory::dense_bytes(&[n_items, inputs], 4));
        Some(DenseMemory {
            bytes,
            what: format!(
                "user and item tables of {} (twice) and the items' input matrices",
                self.dim
            ),
            instead: "use a smaller dim, or als",
        })
    }

    /// Each epoch runs every pair through a batch's forward and backward pass: the
    /// candidates' projections and fusion, and the batch x candidates logits.
    fn work(&self, size: &FitSize) -> Work {
        let d = self.dim as f64;
        let candidates = (self.batch + self.negatives) as f64;
        let inputs = (self.text_dim + 64 + self.behaviour_factors) as f64;
        let steps = (size.interactions as f64 / self.batch as f64).ceil();
        let per_step = 3.0 * (candidates * (inputs + 3.0 * d) * d + self.batch as f64 * candidates * d);
        Work {
            fit_ns: self.epochs as f64 * steps * per_step * 0.5,
            passes: self.epochs.min(self.patience + 1) as u64 + 2,
            ..Work::default()
        }
    }

    fn with_seed(&self, seed: u64) -> FusionParams {
        FusionParams {
            seed,
            ..self.clone()
        }
    }

    fn fit_with(
        &self,
        train: &Interactions,
        data: &Dataset,
        validate: Option<&Validate<'_>>,
        on_epoch: &(dyn Fn(usize, Option<f64>) + Sync),
    ) -> Result<FusionModel> {
        fit(self, train, data, validate, on_epoch)
    }
}

// ---------------------------------------------------------------------------------------------
// Inputs

/// FNV-1a, 64 bits.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The hashed bag of words of one text, L2-normalised (zeros for a text without words).
pub(crate) fn hashed_words(text: &str, dim: usize) -> Vec<f32> {
    let mut v = vec![0.0f32; dim];
    let lower = text.to_lowercase();
    for token in lower.split(|c: char| !c.is_alphanumeric()).filter(|t| !t.is_empty()) {
        let h = fnv1a(token.as_bytes());
        let sign = if h >> 63 == 0 { 1.0 } else { -1.0 };
        v[(h % dim as u64) as usize] += sign;
    }
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

/// The catalog's image vectors, which the image modality needs.
///
/// # Errors
/// The catalog has none, with how to declare them.
pub fn image_vectors(items: &assay_core::Items) -> Result<&assay_core::ItemVectors> {
    items.image.as_ref().ok_or_else(|| {
        RecommendError::Data(
            "the image modality needs image vectors: declare items.image in assay.toml".into(),
        )
    })
}

/// The words an item's text modality reads: title, category path, brand and description.
pub fn item_text(items: &assay_core::Items, i: usize) -> String {
    format!(
        "{} {} {} {}",
        items.title[i], items.category[i], items.brand[i], items.description[i]
    )
}

/// Standardises every column of a row-major `rows x dim` matrix to mean 0 and variance 1
/// (a constant column becomes 0).
fn standardise(data: &mut [f32], dim: usize) {
    let rows = data.len() / dim.max(1);
    if rows == 0 {
        return;
    }
    for k in 0..dim {
        let mean = (0..rows).map(|r| f64::from(data[r * dim + k])).sum::<f64>() / rows as f64;
        let var = (0..rows)
            .map(|r| (f64::from(data[r * dim + k]) - mean).powi(2))
            .sum::<f64>()
            / rows as f64;
        let scale = if var > 1e-12 { 1.0 / var.sqrt() } else { 0.0 };
        for r in 0..rows {
            let x = &mut data[r * dim + k];
            *x = ((f64::from(*x) - mean) * scale) as f32;
        }
    }
}

/// Each chosen modality's input matrix, `n_items x width`, standardised.
fn inputs(
    params: &FusionParams,
    modalities: &[Modality],
    train: &Interactions,
    data: &Dataset,
) -> Result<Vec<(usize, Vec<f32>)>> {
    let n_items = train.n_items();
    let items = &data.items;
    let mut out = Vec::new();
    for &m in modalities {
        let (width, mut values) = match m {
            Modality::Text => {
                if items.len() != n_items {
                    return Err(RecommendError::Data(format!(
                        "catalog has {} items, training matrix {n_items}",
                        items.len()
                    )));
                }
                match &items.text {
                    Some(text) if text.len() == n_items && text.dim > 0 => {
                        (text.dim, text.data.clone())
                    }
                    Some(text) => {
                        return Err(RecommendError::Data(format!(
                            "{} text vectors of length {} for {n_items} items",
                            text.len(),
                            text.dim
                        )))
                    }
                    None => {
                        let dim = params.text_dim;
                        let mut values = Vec::with_capacity(n_items * dim);
                        for i in 0..n_items {
                            values.extend(hashed_words(&item_text(items, i), dim));
                        }
                        (dim, values)
                    }
                }
            }
            Modality::Image => {
                let image = image_vectors(items)?;
                if image.len() != n_items {
                    return Err(RecommendError::Data(format!(
                        "{} image vectors for {n_items} items",
                        image.len()
                    )));
                }
                (image.dim, image.data.clone())
            }
            Modality::Behaviour => {
                let als = AlsParams {
                    factors: params.behaviour_factors,
                    seed: params.seed,
                    ..AlsParams::default()
                };
                let model = als.fit(train, data, None)?;
                (params.behaviour_factors, model.item_factors().to_vec())
            }
        };
        standardise(&mut values, width);
        out.push((width, values));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Network

/// The fusion network's weights.
#[derive(Debug)]
struct Net {
    params: Params,
    method: FusionMethod,
    /// (weight, bias) of each modality's projection.
    proj: Vec<(Tensor, Tensor)>,
    /// `concat`: the MLP's two layers; `gate`: the gate layer; `attn`: the query (as weight).
    fuse: Vec<(Tensor, Option<Tensor>)>,
    users: Tensor,
}

impl Net {
    fn new(p: &FusionParams, widths: &[usize], n_users: usize) -> CResult<Net> {
        let mut rng = ChaCha8Rng::seed_from_u64(p.seed ^ 0x6675_7369_6f6e);
        let mut params = Params::default();
        let d = p.dim;
        let m = widths.len();
        let mut proj = Vec::new();
        for (k, &w) in widths.iter().enumerate() {
            let bound = 1.0 / (w as f64).sqrt();
            let weight = params.add(&format!("proj{k}.weight"), &[d, w], nn::uniform(&mut rng, d * w, bound))?;
            let bias = params.add(&format!("proj{k}.bias"), &[d], nn::uniform(&mut rng, d, bound))?;
            proj.push((weight, bias));
        }
        let mut fuse = Vec::new();
        match p.method {
            FusionMethod::Concat => {
                let b1 = 1.0 / ((m * d) as f64).sqrt();
                let w1 = params.add("mlp1.weight", &[d, m * d], nn::uniform(&mut rng, d * m * d, b1))?;
                let c1 = params.add("mlp1.bias", &[d], nn::uniform(&mut rng, d, b1))?;
                let b2 = 1.0 / (d as f64).sqrt();
                let w2 = params.add("mlp2.weight", &[d, d], nn::uniform(&mut rng, d * d, b2))?;
                let c2 = params.add("mlp2.bias", &[d], nn::uniform(&mut rng, d, b2))?;
                fuse.push((w1, Some(c1)));
                fuse.push((w2, Some(c2)));
            }
            FusionMethod::Gate => {
                let b = 1.0 / ((m * d) as f64).sqrt();
                let w = params.add("gate.weight", &[m, m * d], nn::uniform(&mut rng, m * m * d, b))?;
                let c = params.add("gate.bias", &[m], nn::uniform(&mut rng, m, b))?;
                fuse.push((w, Some(c)));
            }
            FusionMethod::Attn => {
                let b = 1.0 / (d as f64).sqrt();
                let q = params.add("attn.query", &[d], nn::uniform(&mut rng, d, b))?;
                fuse.push((q, None));
            }
        }
        let users = params.add("user_embedding", &[n_users, d], nn::normal(&mut rng, n_users * d, 0.1))?;
        Ok(Net {
            params,
            method: p.method,
            proj,
            fuse,
            users,
        })
    }

    /// The fused vectors `(n, dim)` of items whose inputs are `xs` (one `(n, width)` per
    /// modality).
    fn items(&self, xs: &[Tensor]) -> CResult<Tensor> {
        let hs: Vec<Tensor> = xs
            .iter()
            .zip(&self.proj)
            .map(|(x, (w, b))| linear(x, w, b))
            .collect::<CResult<_>>()?;
        Ok(fuse(self.method, &hs, &self.fuse)?.0)
    }
}

/// Fuses the projections `hs` (one `(n, d)` per modality) with `method` and its weights (see
/// the module docs): the fused `(n, d)` and, for `gate` and `attn`, the `(n, M)` modality
/// weights.
pub(crate) fn fuse(
    method: FusionMethod,
    hs: &[Tensor],
    weights: &[(Tensor, Option<Tensor>)],
) -> CResult<(Tensor, Option<Tensor>)> {
    let bias = |k: usize| -> CResult<Tensor> {
        weights[k]
            .1
            .clone()
            .ok_or_else(|| candle_core::Error::Msg("missing bias".into()))
    };
    match method {
        FusionMethod::Concat => {
            let x = Tensor::cat(hs, 1)?;
            let hidden = linear(&x, &weights[0].0, &bias(0)?)?.relu()?;
            Ok((linear(&hidden, &weights[1].0, &bias(1)?)?, None))
        }
        FusionMethod::Gate => {
            let x = Tensor::cat(hs, 1)?;
            // Clamped, so that exp() in the sigmoid and its gradient stay finite.
            let g = sigmoid(&linear(&x, &weights[0].0, &bias(0)?)?.clamp(-30f32, 30f32)?)?;
            let stacked = Tensor::stack(hs, 1)?; // (n, M, d)
            let z = stacked.broadcast_mul(&g.unsqueeze(2)?)?.sum(1)?;
            Ok((z, Some(g)))
        }
        FusionMethod::Attn => {
            let stacked = Tensor::stack(hs, 1)?; // (n, M, d)
            let (n, m, d) = stacked.dims3()?;
            let q = weights[0].0.reshape((d, 1))?;
            let s = stacked
                .tanh()?
                .reshape((n * m, d))?
                .matmul(&q)?
                .reshape((n, m))?;
            let a = assay_train::ops::softmax_last_dim(&s)?;
            let z = stacked.broadcast_mul(&a.unsqueeze(2)?)?.sum(1)?;
            Ok((z, Some(a)))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Model

/// A fitted fusion model: user embeddings and fused item vectors.
#[derive(Debug, Clone)]
pub struct FusionModel {
    params: FusionParams,
    history: History,
    dim: usize,
    users: Vec<f32>,
    items: Vec<f32>,
    log: Option<TrainingLog>,
}

impl FusionModel {
    /// Reads a model written by [`Recommender::save`].
    pub fn load(dir: &Path) -> Result<FusionModel> {
        let file = ModelFile::read(dir)?;
        let params: FusionParams = file.params()?;
        expect_kind(&file, params.name())?;
        params.check()?;
        let history = History::load(&file)?;
        let dim = params.dim;
        let users = super::load_f32(&file, "user_embedding", &[history.n_users(), dim])?;
        let items = super::load_f32(&file, "item_vectors", &[history.n_items(), dim])?;
        Ok(FusionModel {
            params,
            history,
            dim,
            users,
            items,
            log: None,
        })
    }

    /// The fused vector of every item, row-major `n_items x dim`.
    pub fn item_vectors(&self) -> &[f32] {
        &self.items
    }
}

impl Recommender for FusionModel {
    fn kind(&self) -> &'static str {
        self.params.name()
    }

    fn history(&self) -> &History {
        &self.history
    }

    fn score_user(&self, user: UserIdx, scores: &mut [f32]) {
        let u = user as usize;
        let row = &self.users[u * self.dim..(u + 1) * self.dim];
        for (s, item) in scores.iter_mut().zip(self.items.chunks_exact(self.dim)) {
            *s = dot(row, item);
        }
    }

    fn training_log(&self) -> Option<&TrainingLog> {
        self.log.as_ref()
    }

    fn write_files(&self, dir: &Path) -> Result<()> {
        let mut tensors = Tensors::default();
        self.history.save(&mut tensors);
        tensors.f32("user_embedding", &[self.history.n_users(), self.dim], &self.users);
        tensors.f32("item_vectors", &[self.history.n_items(), self.dim], &self.items);
        store::write(dir, self.params.name(), &self.params, tensors)
    }
}

/// The training state: the network, its inputs as tensors, the model it scores with.
struct Training {
    net: Net,
    xs: Vec<Tensor>,
    model: FusionModel,
}

impl Training {
    /// Recomputes the model's user and item tables from the network.
    fn refresh(&mut self) -> CResult<()> {
        let n_items = self.model.history.n_items();
        let mut items = Vec::with_capacity(n_items * self.model.dim);
        let mut start = 0;
        while start < n_items {
            let len = CHUNK.min(n_items - start);
            let xs: Vec<Tensor> = self
                .xs
                .iter()
                .map(|x| x.narrow(0, start, len))
                .collect::<CResult<_>>()?;
            items.extend(self.net.items(&xs)?.flatten_all()?.to_vec1::<f32>()?);
            start += len;
        }
        self.model.items = items;
        self.model.users = self.net.users.flatten_all()?.to_vec1()?;
        Ok(())
    }
}

fn fit(
    params: &FusionParams,
    train: &Interactions,
    data: &Dataset,
    validate: Option<&Validate<'_>>,
    on_epoch: &(dyn Fn(usize, Option<f64>) + Sync),
) -> Result<FusionModel> {
    params.check()?;
    if train.nnz() == 0 {
        return Err(RecommendError::Data("no training interactions".into()));
    }
    let modalities = params.modality_set()?;
    let inputs = inputs(params, &modalities, train, data)?;
    let n_items = train.n_items();
    let widths: Vec<usize> = inputs.iter().map(|(w, _)| *w).collect();
    let xs: Vec<Tensor> = inputs
        .into_iter()
        .map(|(w, v)| Tensor::from_vec(v, (n_items, w), &Device::Cpu))
        .collect::<CResult<_>>()
        .map_err(tensor_error)?;
    let net = Net::new(params, &widths, train.n_users()).map_err(tensor_error)?;
    let mut state = Training {
        net,
        xs,
        model: FusionModel {
            params: params.clone(),
            history: History::of(train),
            dim: params.dim,
            users: Vec::new(),
            items: Vec::new(),
            log: None,
        },
    };
    // Every training pair, user by user.
    let mut pairs: Vec<(u32, u32)> = Vec::with_capacity(train.nnz());
    for u in 0..train.n_users() {
        pairs.extend(train.items_of(u as UserIdx).iter().map(|&i| (u as u32, i)));
    }
    let config = AdamWConfig {
        weight_decay: f64::from(params.weight_decay),
        ..AdamWConfig::default()
    };
    let mut optimizer = AdamW::new(&state.net.params.vars, &config, assay_train::no_decay)
        .map_err(|e| RecommendError::Training(e.to_string()))?;
    optimizer.set_lr(f64::from(params.lr));
    let mut early = EarlyStopping::new(params.patience, 0.0);
    let mut best = None;
    // Per-epoch losses only: no optimiser step is recorded.
    let mut log = TrainingLog {
        epochs: Vec::new(),
        best_epoch: None,
        stop: Some(StopReason::MaxEpochs),
        steps: Vec::new(),
    };
    for epoch in 1..=params.epochs {
        let started = Instant::now();
        let loss = train_epoch(&state, &pairs, params, epoch, &mut optimizer)?;
        state.refresh().map_err(tensor_error)?;
        let valid = validate.map(|v| v(&state.model));
        on_epoch(epoch, valid);
        log.epochs.push(EpochLog {
            epoch,
            loss: Some(loss),
            valid,
            seconds: Some(started.elapsed().as_secs_f64()),
        });
        if let Some(score) = valid {
            match early.observe(epoch, score) {
                Verdict::Improved => {
                    best = Some(state.net.params.snapshot().map_err(tensor_error)?);
                    log.best_epoch = Some(epoch);
                }
                Verdict::Stop => {
                    log.stop = Some(StopReason::Patience);
                    break;
                }
                Verdict::NoImprovement { .. } => {}
            }
        }
    }
    if let Some(values) = best {
        state.net.params.restore(&values).map_err(tensor_error)?;
        state.refresh().map_err(tensor_error)?;
    }
    state.model.log = Some(log);
    Ok(state.model)
}

/// One pass over the pairs in batches of distinct items; the mean loss per pair.
fn train_epoch(
    state: &Training,
    pairs: &[(u32, u32)],
    params: &FusionParams,
    epoch: usize,
    optimizer: &mut AdamW,
) -> Result<f64> {
    let mut rng = assay_train::epoch_rng(params.seed, epoch);
    let order = {
        let mut order: Vec<usize> = (0..pairs.len()).collect();
        rand::seq::SliceRandom::shuffle(order.as_mut_slice(), &mut rng);
        order
    };
    let batches = assay_train::distinct_batches(&order, params.batch, |k| vec![pairs[k].1]);
    let n_items = state.model.history.n_items() as u32;
    let vars: Vec<candle_core::Var> = state.net.params.vars.iter().map(|(_, v)| v.clone()).collect();
    let (mut total, mut count) = (0.0f64, 0usize);
    for batch in batches {
        let users: Vec<u32> = batch.iter().map(|&k| pairs[k].0).collect();
        let mut candidates: Vec<u32> = batch.iter().map(|&k| pairs[k].1).collect();
        candidates.extend((0..params.negatives).map(|_| rng.random_range(0..n_items)));
        let loss = batch_loss(state, &users, &candidates).map_err(tensor_error)?;
        let value = f64::from(loss.to_scalar::<f32>().map_err(tensor_error)?);
        if !value.is_finite() {
            return Err(RecommendError::Training(format!(
                "the loss became {value} in epoch {epoch}; lower lr"
            )));
        }
        let grads = loss.backward().map_err(tensor_error)?;
        let norm = assay_train::grad_norm(&grads, &vars)
            .map_err(|e| RecommendError::Training(e.to_string()))?;
        optimizer
            .step_scaled(&grads, assay_train::clip_scale(norm, MAX_GRAD_NORM))
            .map_err(|e| RecommendError::Training(e.to_string()))?;
        total += value * users.len() as f64;
        count += users.len();
    }
    Ok(total / count.max(1) as f64)
}

/// Sampled softmax: row `r` of the batch (user `users[r]`) has its positive at candidate `r`.
fn batch_loss(state: &Training, users: &[u32], candidates: &[u32]) -> CResult<Tensor> {
    let index = Tensor::new(candidates, &Device::Cpu)?;
    let xs: Vec<Tensor> = state
        .xs
        .iter()
        .map(|x| x.index_select(&index, 0))
        .collect::<CResult<_>>()?;
    let z = state.net.items(&xs)?;
    let u = state
        .net
        .users
        .index_select(&Tensor::new(users, &Device::Cpu)?, 0)?;
    let logits = u.matmul(&z.t()?)?;
    let targets: Vec<u32> = (0..users.len() as u32).collect();
    assay_train::loss::cross_entropy(&logits, &Tensor::new(targets.as_slice(), &Device::Cpu)?)
}

#[cfg(test)]
#[path = "fusion_tests.rs"]
mod tests;
