//! Sentence encoders for assay: text in, unit-length vectors out.
//!
//! The "large model" of assay is a pretrained sentence-transformers model (all-MiniLM-L6-v2 by
//! default) loaded from local files — `config.json`, `model.safetensors`, `tokenizer.json` — and
//! run with candle ([`BertEncoder`]). It reproduces sentence-transformers exactly: the tokenizer
//! pads each batch to its longest text (the model's `tokenizer.json` pads to a fixed 128 tokens,
//! which would cost ~9x on short product titles), truncates at the model's `max_seq_length`
//! (256), mean-pools the last hidden state over the attention mask and L2-normalises.
//!
//! **Key design decision:** every backend hides behind the object-safe [`Encoder`] trait, and
//! candle types never leave this crate. Callers (the search index, recommenders) see only
//! `Vec<Vec<f32>>`, so a second backend or a cache ([`CachedEncoder`], keyed by model id and a
//! SHA-256 of the text) composes without touching them. [`HashEncoder`] is a tiny, deterministic
//! bag-of-words encoder for tests and for machines without the model files.
//!
//! A second backend, [`OrtEncoder`] (cargo feature `ort`, on by default), runs any ONNX export
//! of such a model with ONNX Runtime — by default the int8 all-MiniLM-L6-v2 from
//! the `ort` packs — with the same tokenizer, pooling and normalisation. The `ort` crate
//! is built with `load-dynamic`: ONNX Runtime is not linked at build time but opened from the
//! fetched `libonnxruntime.so` when the first encoder is made, so the feature costs only the
//! compile time of a thin wrapper. It is the fast path: about 2x candle's throughput on CPU.
//! [`bert_onnx`] writes the fp32 ONNX graph of a BERT model folder from its safetensors, so a
//! pretrained or fine-tuned model runs on ONNX Runtime without PyTorch
//! ([`OrtEncoder::load_folder`]; `assay finetune` saves it beside the weights as `model.onnx`).
//!
//! No network access ever happens here: a model is a directory on disk.

#![warn(missing_docs)]

mod bert;
mod cache;
#[cfg(unix)]
mod e5;
mod finetune;
mod hash;
#[cfg(feature = "ort")]
mod onnx;
mod onnx_export;
mod recent;
mod spec;
mod words;

use std::path::PathBuf;

pub use bert::BertEncoder;
pub use cache::CachedEncoder;
#[cfg(unix)]
pub use e5::E5Encoder;
pub use finetune::{BiEncoderTrainer, FinetuneOptions, Freeze, StepStats, TRAINING_FILE};
pub use hash::HashEncoder;
#[cfg(feature = "ort")]
pub use onnx::OrtEncoder;
pub use onnx_export::{bert_onnx, bert_onnx_with, write_bert_onnx, Operators, ONNX_FILE};
pub use recent::RecentTexts;
pub use spec::{EncoderKind, EncoderSpec, SpecError, HASH_DIM};
pub use words::word_vectors;

/// Makes candle run each forward pass on the calling thread, so that assay's own threads
/// (one batch each, or rayon's pool in matrix products) use the cores. Call first thing in
/// `main`, before any thread starts; `CANDLE_NUM_THREADS` set by the user wins.
///
/// candle's element-wise operations otherwise share one process-wide pool whose callers take
/// turns behind a lock and spin while they wait: two batches encoded at once ran no faster than
/// one (on the 2-core box, 218 sentences/s with 2 threads against 193 with 1; 429 with this).
///
/// It also sets `RAYON_NUM_THREADS`, when unset, to the cores rayon would use anyway: candle
/// reads it before every matrix product, and without it counts the physical cores by parsing
/// `/proc/cpuinfo`, each time (a tenth of the time of encoding one short query).
pub fn use_cores_for_batches() {
    // Only candle and rayon read these variables; no other thread is running yet when `main`
    // calls this.
    if std::env::var_os("CANDLE_NUM_THREADS").is_none() {
        std::env::set_var("CANDLE_NUM_THREADS", "1");
    }
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        std::env::set_var("RAYON_NUM_THREADS", cores.to_string());
    }
}

/// How a model-backed encoder ([`BertEncoder`], [`OrtEncoder`]) runs.
#[derive(Debug, Clone)]
pub struct EncoderOptions {
    /// Texts per forward pass (default 32).
    pub batch_size: usize,
    /// Worker threads (for ONNX Runtime, intra-op threads, which also bound tokenization);
    /// 0 means one per available core.
    pub threads: usize,
    /// Longest input in tokens; `None` reads `sentence_bert_config.json` from the model's
    /// folder (256 for MiniLM), falling back to 256.
    pub max_seq_length: Option<usize>,
}

impl Default for EncoderOptions {
    fn default() -> Self {
        EncoderOptions {
            batch_size: 32,
            threads: 0,
            max_seq_length: None,
        }
    }
}

/// What can go wrong while loading a model or encoding text.
#[derive(Debug, thiserror::Error)]
pub enum EncoderError {
    /// A model file is missing from the model directory.
    #[error("model file {path} not found")]
    MissingFile {
        /// The file that was looked for.
        path: PathBuf,
    },
    /// A file of a fetchable pack is missing at the given path.
    #[error("{path} not found (it comes with the `{pack}` pack)")]
    NotFound {
        /// The file that was looked for.
        path: PathBuf,
        /// The pack that provides it.
        pack: &'static str,
    },
    /// A pack the encoder needs is neither in the cache nor in a shared copy.
    #[error("{what} is not downloaded (the `{pack}` pack)")]
    NotFetched {
        /// What is missing, for people.
        what: &'static str,
        /// The name to fetch.
        pack: &'static str,
    },
    /// The model file is readable but is not a model this crate can run.
    #[error("{path}: {reason}")]
    BadModel {
        /// The model file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// ONNX Runtime failed: loading its library or the model, or running it.
    #[error("ONNX Runtime: {0}")]
    Runtime(String),
    /// The multilingual encoder's engine failed.
    #[error("e5 engine: {0}")]
    Engine(String),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A JSON model file could not be parsed.
    #[error("{path}: invalid JSON: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: serde_json::Error,
    },
    /// The tokenizer failed to load or to encode.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// The tensor backend failed.
    #[error("model: {0}")]
    Model(String),
    /// A fine-tuning setting or batch is out of range.
    #[error("{0}")]
    InvalidSetting(String),
    /// A cache file exists but belongs to another model or dimension.
    #[error("embedding cache {path}: {reason}")]
    Cache {
        /// The cache file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

/// Shorthand for results of this crate.
pub type Result<T> = std::result::Result<T, EncoderError>;

/// A sentence encoder: maps each text to a vector of [`Encoder::dim`] floats.
///
/// Implementations return unit-length vectors (cosine = dot product) in input order, and are
/// safe to share between threads.
pub trait Encoder: Send + Sync {
    /// A stable identifier of the model and its weights; two encoders with the same id return
    /// the same vectors. Used as the cache key.
    fn model_id(&self) -> &str;

    /// Length of every vector.
    fn dim(&self) -> usize;

    /// Encodes `texts`, one vector per text, in order.
    fn encode(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>>;

    /// Encodes one text.
    fn encode_one(&self, text: &str) -> Result<Vec<f32>> {
        let mut out = self.encode(&[text])?;
        out.pop()
            .ok_or_else(|| EncoderError::Model("encoder returned no vector".into()))
    }

    /// The share of `text`'s tokens that the model's vocabulary has no entry for (its
    /// unknown token), when it has a vocabulary; `None` otherwise, or for a text with no
    /// token. A text made mostly of them is one the model cannot read: all-MiniLM-L6-v2 reads
    /// most Chinese characters as `[UNK]`, so every such query gets nearly the same vector.
    fn unknown_share(&self, _text: &str) -> Option<f32> {
        None
    }
}

/// [`Encoder::unknown_share`] by `tokenizer`'s `[UNK]` token (a tokenizer from
/// `bert::load_tokenizer`).
pub(crate) fn unknown_share_of(tokenizer: &tokenizers::Tokenizer, text: &str) -> Option<f32> {
    let unknown = tokenizer.token_to_id("[UNK]")?;
    // The encoders' tokenizers pad a batch to its longest text, so one text alone has no
    // padding.
    let encoding = tokenizer.encode(text, false).ok()?;
    let ids = encoding.get_ids();
    (!ids.is_empty())
        .then(|| ids.iter().filter(|&&id| id == unknown).count() as f32 / ids.len() as f32)
}

impl<E: Encoder + ?Sized> Encoder for std::sync::Arc<E> {
    fn model_id(&self) -> &str {
        (**self).model_id()
    }
    fn dim(&self) -> usize {
        (**self).dim()
    }
    fn encode(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        (**self).encode(texts)
    }
    fn unknown_share(&self, text: &str) -> Option<f32> {
        (**self).unknown_share(text)
    }
}

impl<E: Encoder + ?Sized> Encoder for &E {
    fn model_id(&self) -> &str {
        (**self).model_id()
    }
    fn dim(&self) -> usize {
        (**self).dim()
    }
    fn encode(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        (**self).encode(texts)
    }
    fn unknown_share(&self, text: &str) -> Option<f32> {
        (**self).unknown_share(text)
    }
}

/// The texts longest first, so a batch of neighbours pads little, with each sorted text's index
/// in the input; [`restore_order`] undoes it.
pub(crate) fn longest_first<'t>(texts: &[&'t str]) -> (Vec<usize>, Vec<&'t str>) {
    let mut order: Vec<usize> = (0..texts.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(texts[i].len()));
    let sorted = order.iter().map(|&i| texts[i]).collect();
    (order, sorted)
}

/// Puts vectors computed for the texts in `order` back in input order.
pub(crate) fn restore_order(
    order: Vec<usize>,
    vectors: impl IntoIterator<Item = Vec<f32>>,
) -> Vec<Vec<f32>> {
    let mut out = vec![Vec::new(); order.len()];
    for (slot, v) in order.into_iter().zip(vectors) {
        out[slot] = v;
    }
    out
}

/// Scales `v` to unit Euclidean length in place; a zero vector stays zero.
pub fn l2_normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        for x in v {
            *x /= norm;
        }
    }
}

/// Cosine similarity of two vectors of equal length (0 when either is zero).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_and_cosine_by_hand() {
        let mut v = vec![3.0, 4.0];
        l2_normalize(&mut v);
        assert_eq!(v, vec![0.6, 0.8]);
        assert!((cosine(&[1.0, 0.0], &[1.0, 1.0]) - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-6);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 1.0]), 0.0);
        let mut z = vec![0.0, 0.0];
        l2_normalize(&mut z);
        assert_eq!(z, vec![0.0, 0.0]);
    }
}
