//! The candle backend: a BERT sentence-transformers model from local files.

use std::io::Read;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use candle_transformers::models::bert::Config;
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

use crate::{Encoder, EncoderError, EncoderOptions, Result};

/// A BERT sentence encoder run with candle on the CPU: mean pooling over the attention mask,
/// then L2 normalisation — the recipe of sentence-transformers' all-MiniLM-L6-v2.
///
/// The forward pass is the fine-tuner's ([`crate::finetune`]), with its fused layer norm,
/// softmax and GELU, and with every dense weight stored transposed once at load, so that one
/// short query costs a few products rather than repacking every weight per call.
pub struct BertEncoder {
    model: crate::finetune::Bert,
    tokenizer: Tokenizer,
    device: Device,
    dim: usize,
    id: String,
    batch_size: usize,
    pool: rayon::ThreadPool,
}

impl std::fmt::Debug for BertEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BertEncoder")
            .field("id", &self.id)
            .field("dim", &self.dim)
            .field("batch_size", &self.batch_size)
            .field("threads", &self.pool.current_num_threads())
            .finish()
    }
}

/// The longest input in tokens: `explicit`, else `max_seq_length` from the model folder's
/// `sentence_bert_config.json` (256 for MiniLM), else 256 — what sentence-transformers uses.
pub(crate) fn max_seq_length(dir: &Path, explicit: Option<usize>) -> Result<usize> {
    if let Some(n) = explicit {
        return Ok(n);
    }
    let st = dir.join("sentence_bert_config.json");
    let from_file = if st.is_file() {
        read_json(&st)?
            .get("max_seq_length")
            .and_then(|v| v.as_u64())
            .map(|v| v as usize)
    } else {
        None
    };
    Ok(from_file.unwrap_or(256))
}

/// Loads `tokenizer.json` set up like sentence-transformers: each batch padded to its longest
/// text (the shipped file pads to a fixed length, which would cost ~9x on short titles) and
/// truncated at `max_len` tokens.
pub(crate) fn load_tokenizer(path: &Path, max_len: usize) -> Result<Tokenizer> {
    let mut tokenizer = Tokenizer::from_file(path)
        .map_err(|e| EncoderError::Tokenizer(format!("{}: {e}", path.display())))?;
    let mut padding = tokenizer.get_padding().cloned().unwrap_or_default();
    padding.strategy = PaddingStrategy::BatchLongest;
    padding.pad_to_multiple_of = None;
    tokenizer.with_padding(Some(PaddingParams { ..padding }));
    tokenizer
        .with_truncation(Some(TruncationParams {
            max_length: max_len,
            ..Default::default()
        }))
        .map_err(|e| EncoderError::Tokenizer(e.to_string()))?;
    Ok(tokenizer)
}

pub(crate) fn required(dir: &Path, name: &str) -> Result<PathBuf> {
    let path = dir.join(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(EncoderError::MissingFile { path })
    }
}

pub(crate) fn read_json(path: &Path) -> Result<serde_json::Value> {
    let text = std::fs::read_to_string(path).map_err(|source| EncoderError::Io {
        path: path.to_owned(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| EncoderError::Json {
        path: path.to_owned(),
        source,
    })
}

pub(crate) fn model_err(e: candle_core::Error) -> EncoderError {
    EncoderError::Model(e.to_string())
}

/// A fingerprint of the model: the small files (config, tokenizer) in full, the weights by size
/// and by their first MiB (the file's header and the start of the data).
pub(crate) fn fingerprint(whole: &[&Path], weights: &Path) -> Result<String> {
    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> EncoderError {
        let path = path.to_owned();
        move |source| EncoderError::Io { path, source }
    }
    let mut h = Sha256::new();
    for path in whole {
        h.update(std::fs::read(path).map_err(io(path))?);
    }
    let file = std::fs::File::open(weights).map_err(io(weights))?;
    let len = file.metadata().map_err(io(weights))?.len();
    h.update(len.to_le_bytes());
    let mut head = Vec::with_capacity(1 << 20);
    file.take(1 << 20)
        .read_to_end(&mut head)
        .map_err(io(weights))?;
    h.update(&head);
    let digest = h.finalize();
    Ok(digest[..8].iter().map(|b| format!("{b:02x}")).collect())
}

impl BertEncoder {
    /// Loads the model in `dir` (config.json, model.safetensors, tokenizer.json).
    pub fn load(dir: &Path, options: &EncoderOptions) -> Result<BertEncoder> {
        let config_path = required(dir, "config.json")?;
        let weights_path = required(dir, "model.safetensors")?;
        let tokenizer_path = required(dir, "tokenizer.json")?;
        let config: Config =
            serde_json::from_value(read_json(&config_path)?).map_err(|source| {
                EncoderError::Json {
                    path: config_path.clone(),
                    source,
                }
            })?;
        let max_len =
            max_seq_length(dir, options.max_seq_length)?.clamp(2, config.max_position_embeddings);
        let tokenizer = load_tokenizer(&tokenizer_path, max_len)?;

        let device = Device::Cpu;
        let model = crate::finetune::inference_model(&weights_path, &config)?;
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "bert".into());
        // A fine-tuned folder's training record holds the SHA-256 of all its weights: two
        // fine-tunes that differ only past the first MiB (frozen embeddings) get other ids.
        let training = dir.join(crate::TRAINING_FILE);
        let mut whole = vec![config_path.as_path(), tokenizer_path.as_path()];
        if training.is_file() {
            whole.push(&training);
        }
        let id = format!("{name}@{}", fingerprint(&whole, &weights_path)?);
        let threads = if options.threads == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            options.threads
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| EncoderError::Model(format!("thread pool: {e}")))?;
        Ok(BertEncoder {
            model,
            tokenizer,
            device,
            dim: config.hidden_size,
            id,
            batch_size: options.batch_size.max(1),
            pool,
        })
    }

    fn encode_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let (ids, mask) = tokenize(&self.tokenizer, texts, &self.device)?;
        // Mean over the real tokens, then unit length (in the model's `embed`).
        self.model
            .embed(&ids, &mask, None)
            .and_then(|v| v.to_vec2())
            .map_err(model_err)
    }
}

/// Token ids and attention masks of `texts`, padded to the longest, as `[texts, tokens]`
/// tensors.
pub(crate) fn tokenize(
    tokenizer: &Tokenizer,
    texts: &[&str],
    device: &Device,
) -> Result<(Tensor, Tensor)> {
    let encodings = tokenizer
        .encode_batch(texts.to_vec(), true)
        .map_err(|e| EncoderError::Tokenizer(e.to_string()))?;
    let rows = encodings.len();
    let len = encodings.first().map_or(0, |e| e.get_ids().len());
    let mut ids = Vec::with_capacity(rows * len);
    let mut mask = Vec::with_capacity(rows * len);
    for e in &encodings {
        ids.extend_from_slice(e.get_ids());
        mask.extend_from_slice(e.get_attention_mask());
    }
    let ids = Tensor::from_vec(ids, (rows, len), device).map_err(model_err)?;
    let mask = Tensor::from_vec(mask, (rows, len), device).map_err(model_err)?;
    Ok((ids, mask))
}

impl Encoder for BertEncoder {
    fn model_id(&self) -> &str {
        &self.id
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn unknown_share(&self, text: &str) -> Option<f32> {
        crate::unknown_share_of(&self.tokenizer, text)
    }

    fn encode(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let (order, sorted) = crate::longest_first(texts);
        let batches: Vec<&[&str]> = sorted.chunks(self.batch_size).collect();
        let encoded: Vec<Vec<Vec<f32>>> = if batches.len() == 1 {
            vec![self.pool.install(|| self.encode_batch(batches[0]))?]
        } else {
            self.pool.install(|| {
                batches
                    .par_iter()
                    .map(|b| self.encode_batch(b))
                    .collect::<Result<_>>()
            })?
        };
        Ok(crate::restore_order(order, encoded.into_iter().flatten()))
    }
}
