//! The ONNX Runtime backend: any BERT-family sentence model exported to ONNX, run by the
//! ONNX Runtime shared library of the `ort` pack, from the cache.
//!
//! The `ort` crate is built with `load-dynamic`: nothing links against ONNX Runtime at build
//! time, the library is opened with `dlopen` when the first [`OrtEncoder`] is made. Tokenization,
//! truncation, padding, mean pooling and L2 normalisation are the same code as
//! [`crate::BertEncoder`]'s, so the two backends differ only in the network they run.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use assay_fetch::{Home, Pack};
use ort::environment::Environment;
use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use ort::value::{Tensor, TensorElementType, ValueType};
use tokenizers::Tokenizer;

use crate::bert::{fingerprint, load_tokenizer, max_seq_length, required};
use crate::{l2_normalize, Encoder, EncoderError, EncoderOptions, Result};

/// What the model's output holds.
#[derive(Debug)]
enum Output {
    /// Per-token vectors `[batch, sequence, dim]` (e.g. `last_hidden_state`): mean-pool them.
    Tokens(String),
    /// Sentence vectors `[batch, dim]` already pooled in the graph (`sentence_embedding`).
    Pooled(String),
}

/// Where a session's graph comes from.
enum Graph<'a> {
    /// An ONNX file.
    File(&'a Path),
    /// A graph written in memory from the weights file named second (for messages).
    Bytes(&'a [u8], &'a Path),
}

impl Graph<'_> {
    /// The file to name in messages.
    fn path(&self) -> &Path {
        match self {
            Graph::File(path) | Graph::Bytes(_, path) => path,
        }
    }
}

/// A sentence encoder run by ONNX Runtime on the CPU: mean pooling over the attention mask
/// (unless the graph pools itself), then L2 normalisation.
pub struct OrtEncoder {
    // `Session::run` takes `&mut self`; ONNX Runtime parallelises inside one run (intra-op
    // threads), so callers take turns.
    session: Mutex<Session>,
    tokenizer: Tokenizer,
    output: Output,
    token_types: bool,
    dim: usize,
    id: String,
    batch_size: usize,
    pool: rayon::ThreadPool,
}

impl std::fmt::Debug for OrtEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrtEncoder")
            .field("id", &self.id)
            .field("dim", &self.dim)
            .field("output", &self.output)
            .field("batch_size", &self.batch_size)
            .field("threads", &self.pool.current_num_threads())
            .finish()
    }
}

fn runtime_err(context: &str) -> impl Fn(ort::Error) -> EncoderError + '_ {
    move |e| EncoderError::Runtime(format!("{context}: {e}"))
}

/// The one ONNX Runtime environment of this process and the library it came from: ONNX
/// Runtime allows one environment per process, and a library once loaded stays loaded.
static RUNTIME: Mutex<Option<(PathBuf, Environment)>> = Mutex::new(None);

/// Loads ONNX Runtime from `library` (once per process) and returns its environment.
fn environment(library: &Path) -> Result<Environment> {
    if !library.is_file() {
        return Err(EncoderError::NotFound {
            path: library.to_owned(),
            pack: Pack::OnnxRuntime.name(),
        });
    }
    let library = library.canonicalize().map_err(|source| EncoderError::Io {
        path: library.to_owned(),
        source,
    })?;
    let mut slot = RUNTIME.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((loaded, env)) = slot.as_ref() {
        if *loaded == library {
            return Ok(env.clone());
        }
        return Err(EncoderError::Runtime(format!(
            "this process already loaded ONNX Runtime from {}; cannot also load {}",
            loaded.display(),
            library.display()
        )));
    }
    let builder = ort::init_from(&library).map_err(|e| {
        EncoderError::Runtime(format!(
            "{}: not a usable ONNX Runtime library: {e}",
            library.display()
        ))
    })?;
    let env = builder
        .with_name("assay")
        .build()
        .map_err(runtime_err("creating the environment"))?;
    *slot = Some((library, env.clone()));
    Ok(env)
}

/// Loads ONNX Runtime from `library` (once per process), so that a later failure to load a
/// model is the model's.
pub(crate) fn load_runtime(library: &Path) -> Result<()> {
    environment(library).map(|_| ())
}

/// Checks the graph's inputs: `input_ids` and `attention_mask` (int64), optionally
/// `token_type_ids`, nothing else. Returns whether `token_type_ids` is wanted.
fn check_inputs(session: &Session, model: &Path) -> Result<bool> {
    let bad = |reason: String| EncoderError::BadModel {
        path: model.to_owned(),
        reason,
    };
    let mut seen = [false; 3];
    for input in session.inputs() {
        let slot = match input.name() {
            "input_ids" => 0,
            "attention_mask" => 1,
            "token_type_ids" => 2,
            other => {
                return Err(bad(format!(
                    "unexpected input '{other}'; a BERT sentence model takes input_ids, \
                     attention_mask and optionally token_type_ids"
                )))
            }
        };
        match input.dtype() {
            ValueType::Tensor {
                ty: TensorElementType::Int64,
                shape,
                ..
            } if shape.len() == 2 => seen[slot] = true,
            other => {
                return Err(bad(format!(
                    "input '{}' is {other}; expected a [batch, sequence] int64 tensor",
                    input.name()
                )))
            }
        }
    }
    if !(seen[0] && seen[1]) {
        return Err(bad(
            "the graph lacks input_ids or attention_mask; not a BERT sentence model".into(),
        ));
    }
    Ok(seen[2])
}

/// Picks the output to read: `sentence_embedding` `[batch, dim]` if the graph pools, else
/// per-token vectors `[batch, sequence, dim]` (`last_hidden_state` or `token_embeddings`
/// preferred). Returns it with its dimension when the graph states it (> 0).
fn pick_output(session: &Session, model: &Path) -> Result<(Output, i64)> {
    let float_rank = |dtype: &ValueType| match dtype {
        ValueType::Tensor {
            ty: TensorElementType::Float32,
            shape,
            ..
        } => Some((shape.len(), shape.last().copied().unwrap_or(-1))),
        _ => None,
    };
    let outputs = session.outputs();
    if let Some(o) = outputs.iter().find(|o| o.name() == "sentence_embedding") {
        if let Some((2, dim)) = float_rank(o.dtype()) {
            return Ok((Output::Pooled(o.name().to_owned()), dim));
        }
    }
    let tokens = outputs
        .iter()
        .filter(|o| matches!(float_rank(o.dtype()), Some((3, _))))
        .min_by_key(|o| match o.name() {
            "last_hidden_state" | "token_embeddings" => 0,
            _ => 1,
        });
    match tokens {
        Some(o) => {
            let dim = float_rank(o.dtype()).map_or(-1, |(_, d)| d);
            Ok((Output::Tokens(o.name().to_owned()), dim))
        }
        None => {
            let listed: Vec<String> = outputs
                .iter()
                .map(|o| format!("{} ({})", o.name(), o.dtype()))
                .collect();
            Err(EncoderError::BadModel {
                path: model.to_owned(),
                reason: format!(
                    "outputs {}; expected last_hidden_state [batch, sequence, dim] or \
                     sentence_embedding [batch, dim] as float32",
                    listed.join(", ")
                ),
            })
        }
    }
}

impl OrtEncoder {
    /// Loads ONNX Runtime from `library` (the first call in a process decides which library;
    /// a later call with another one is an error), the ONNX `model`, and `tokenizer.json`
    /// (plus `sentence_bert_config.json`, when present) from `tokenizer_dir`.
    pub fn load(
        library: &Path,
        model: &Path,
        tokenizer_dir: &Path,
        options: &EncoderOptions,
    ) -> Result<OrtEncoder> {
        let tokenizer_path = required(tokenizer_dir, "tokenizer.json")?;
        if !model.is_file() {
            return Err(EncoderError::NotFound {
                path: model.to_owned(),
                pack: Pack::MinilmInt8.name(),
            });
        }
        let name = model
            .parent()
            .and_then(|d| d.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "onnx".into());
        let id = format!("onnx:{name}@{}", fingerprint(&[&tokenizer_path], model)?);
        OrtEncoder::open(library, Graph::File(model), tokenizer_dir, id, options)
    }

    /// The BERT model folder `dir` (a fine-tuned one, or all-MiniLM-L6-v2's) run by ONNX
    /// Runtime in fp32: its `model.onnx` when there is one, else the graph written from its
    /// `config.json` and `model.safetensors` in memory ([`crate::bert_onnx`]); its own
    /// tokenizer either way.
    pub fn load_folder(library: &Path, dir: &Path, options: &EncoderOptions) -> Result<OrtEncoder> {
        OrtEncoder::load_folder_with(library, dir, crate::Operators::Standard, options)
    }

    /// [`OrtEncoder::load_folder`] made of `operators`: the folder's `model.onnx` serves
    /// [`crate::Operators::Standard`] only; the other variants are always written from the
    /// weights. The 8-bit graph's vectors differ from the full-precision ones, so its model id
    /// (which keys cached embeddings and saved indexes) differs too.
    pub fn load_folder_with(
        library: &Path,
        dir: &Path,
        operators: crate::Operators,
        options: &EncoderOptions,
    ) -> Result<OrtEncoder> {
        let tokenizer_path = required(dir, "tokenizer.json")?;
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "bert".into());
        let file = dir.join(crate::ONNX_FILE);
        if file.is_file() && operators == crate::Operators::Standard {
            let id = format!("onnx:{name}@{}", fingerprint(&[&tokenizer_path], &file)?);
            return OrtEncoder::open(library, Graph::File(&file), dir, id, options);
        }
        let config_path = required(dir, "config.json")?;
        let weights_path = required(dir, "model.safetensors")?;
        let bytes = crate::bert_onnx_with(dir, operators)?;
        // As the candle encoder's id, over the files the graph was written from.
        let training = dir.join(crate::TRAINING_FILE);
        let mut whole = vec![config_path.as_path(), tokenizer_path.as_path()];
        if training.is_file() {
            whole.push(&training);
        }
        let kind = if operators == crate::Operators::Int8 {
            "onnx-int8"
        } else {
            "onnx"
        };
        let id = format!("{kind}:{name}@{}", fingerprint(&whole, &weights_path)?);
        OrtEncoder::open(
            library,
            Graph::Bytes(&bytes, &weights_path),
            dir,
            id,
            options,
        )
    }

    fn open(
        library: &Path,
        graph: Graph<'_>,
        tokenizer_dir: &Path,
        id: String,
        options: &EncoderOptions,
    ) -> Result<OrtEncoder> {
        let tokenizer_path = required(tokenizer_dir, "tokenizer.json")?;
        let env = environment(library)?;
        let threads = if options.threads == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            options.threads
        };
        let model = graph.path();
        let what = format!("loading {}", model.display());
        let mut builder = Session::builder(&env)
            .map_err(runtime_err(&what))?
            .with_optimization_level(GraphOptimizationLevel::All)
            .map_err(|e| EncoderError::Runtime(format!("{what}: {e}")))?
            .with_intra_threads(threads)
            .map_err(|e| EncoderError::Runtime(format!("{what}: {e}")))?
            .with_inter_threads(1)
            .map_err(|e| EncoderError::Runtime(format!("{what}: {e}")))?;
        let session = match graph {
            Graph::File(path) => builder.commit_from_file(path),
            Graph::Bytes(bytes, _) => builder.commit_from_memory(bytes),
        }
        .map_err(runtime_err(&what))?;
        let token_types = check_inputs(&session, model)?;
        let (output, stated_dim) = pick_output(&session, model)?;

        let max_len = max_seq_length(tokenizer_dir, options.max_seq_length)?.max(2);
        let tokenizer = load_tokenizer(&tokenizer_path, max_len)?;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| EncoderError::Model(format!("thread pool: {e}")))?;
        let mut encoder = OrtEncoder {
            session: Mutex::new(session),
            tokenizer,
            output,
            token_types,
            dim: usize::try_from(stated_dim).unwrap_or(0),
            id,
            batch_size: options.batch_size.max(1),
            pool,
        };
        if encoder.dim == 0 {
            // The graph leaves the width symbolic: run it once to learn it.
            let probe = encoder.encode_batch(&["a"])?;
            encoder.dim = probe.first().map_or(0, Vec::len);
        }
        Ok(encoder)
    }

    /// The int8 all-MiniLM-L6-v2 with ONNX Runtime, from the `ort` packs
    /// (found in `home`'s cache or shared copy), on `threads` threads (0 = all cores), with
    /// the default batch size. Does not download anything.
    pub fn from_packs(home: &Home, threads: usize) -> Result<OrtEncoder> {
        OrtEncoder::from_packs_with_model(home, None, threads)
    }

    /// As [`OrtEncoder::from_packs`], but running `model` (say, an fp32 export of the same
    /// model) instead of the fetched int8 one when given; the library and the MiniLM
    /// tokenizer still come from the packs.
    pub fn from_packs_with_model(
        home: &Home,
        model: Option<&Path>,
        threads: usize,
    ) -> Result<OrtEncoder> {
        let library = assay_fetch::onnxruntime_library(home).ok_or(EncoderError::NotFetched {
            what: "the ONNX Runtime library",
            pack: "ort",
        })?;
        let model = match model {
            Some(model) => model.to_owned(),
            None => assay_fetch::minilm_int8_model(home).ok_or(EncoderError::NotFetched {
                what: "the int8 ONNX all-MiniLM-L6-v2",
                pack: "ort",
            })?,
        };
        let tokenizer_dir = home.locate(Pack::Minilm).ok_or(EncoderError::NotFetched {
            what: "the all-MiniLM-L6-v2 tokenizer",
            pack: "ort",
        })?;
        let options = EncoderOptions {
            threads,
            ..EncoderOptions::default()
        };
        OrtEncoder::load(&library, &model, &tokenizer_dir, &options)
    }

    fn encode_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let encodings = self
            .pool
            .install(|| self.tokenizer.encode_batch(texts.to_vec(), true))
            .map_err(|e| EncoderError::Tokenizer(e.to_string()))?;
        let rows = encodings.len();
        let len = encodings.first().map_or(0, |e| e.get_ids().len());
        let mut ids = Vec::with_capacity(rows * len);
        let mut mask = Vec::with_capacity(rows * len);
        for e in &encodings {
            ids.extend(e.get_ids().iter().map(|&x| i64::from(x)));
            mask.extend(e.get_attention_mask().iter().map(|&x| i64::from(x)));
        }
        let shape = [rows, len];
        let tensor = |data: Vec<i64>| {
            Tensor::from_array((shape, data)).map_err(runtime_err("building an input tensor"))
        };
        let mut inputs = ort::inputs! {
            "input_ids" => tensor(ids)?,
            "attention_mask" => tensor(mask.clone())?,
        };
        if self.token_types {
            inputs.push(("token_type_ids".into(), tensor(vec![0; rows * len])?.into()));
        }
        let mut session = self.session.lock().unwrap_or_else(|e| e.into_inner());
        let outputs = session
            .run(inputs)
            .map_err(runtime_err("running the model"))?;
        let (name, pooled) = match &self.output {
            Output::Tokens(name) => (name, false),
            Output::Pooled(name) => (name, true),
        };
        let value = outputs
            .get(name)
            .ok_or_else(|| EncoderError::Runtime(format!("the model returned no '{name}'")))?;
        let (got, data) = value
            .try_extract_tensor::<f32>()
            .map_err(runtime_err("reading the output"))?;
        let dims: Vec<usize> = got.iter().map(|&d| d.max(0) as usize).collect();
        let mut out = if pooled {
            match dims[..] {
                [r, d] if r == rows => data.chunks(d.max(1)).map(<[f32]>::to_vec).collect(),
                _ => Vec::new(),
            }
        } else {
            match dims[..] {
                [r, s, d] if r == rows && s == len => mean_pool(data, &mask, rows, len, d),
                _ => Vec::new(),
            }
        };
        if out.len() != rows {
            return Err(EncoderError::Runtime(format!(
                "'{name}' has shape {dims:?}; expected [{rows}, {len}, dim] or [{rows}, dim]"
            )));
        }
        for v in &mut out {
            l2_normalize(v);
        }
        Ok(out)
    }
}

/// Mean of the token vectors `hidden` (`[rows, len, dim]`, row-major) over the tokens whose
/// `mask` is 1 — sentence-transformers' pooling. A row with no real token stays zero.
fn mean_pool(hidden: &[f32], mask: &[i64], rows: usize, len: usize, dim: usize) -> Vec<Vec<f32>> {
    (0..rows)
        .map(|r| {
            let mut sum = vec![0.0f32; dim];
            let mut count = 0.0f32;
            for t in 0..len {
                if mask[r * len + t] != 0 {
                    let start = (r * len + t) * dim;
                    for (s, h) in sum.iter_mut().zip(&hidden[start..start + dim]) {
                        *s += h;
                    }
                    count += 1.0;
                }
            }
            let count = count.max(1e-9);
            sum.iter_mut().for_each(|s| *s /= count);
            sum
        })
        .collect()
}

impl Encoder for OrtEncoder {
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
        let mut vectors = Vec::with_capacity(texts.len());
        for batch in sorted.chunks(self.batch_size) {
            vectors.extend(self.encode_batch(batch)?);
        }
        Ok(crate::restore_order(order, vectors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_pool_by_hand() {
        // Two rows, three tokens, two dims; the second row's last token is padding.
        let hidden = [
            1.0, 2.0, 3.0, 4.0, 5.0, 6.0, //
            1.0, 1.0, 3.0, 3.0, 100.0, 100.0,
        ];
        let mask = [1, 1, 1, 1, 1, 0];
        let pooled = mean_pool(&hidden, &mask, 2, 3, 2);
        assert_eq!(pooled, vec![vec![3.0, 4.0], vec![2.0, 2.0]]);
        // A row without real tokens stays zero instead of dividing by zero.
        assert_eq!(mean_pool(&[7.0, 7.0], &[0], 1, 1, 2), vec![vec![0.0, 0.0]]);
    }

    #[test]
    fn a_missing_library_or_model_names_the_pack() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path();
        std::fs::write(dir.join("tokenizer.json"), b"{}").expect("write");
        let err = OrtEncoder::load(
            &dir.join("libonnxruntime.so"),
            &dir.join("missing.onnx"),
            dir,
            &EncoderOptions::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.ends_with("missing.onnx not found (it comes with the `minilm-int8` pack)"),
            "{err}"
        );
        std::fs::write(dir.join("model.onnx"), b"").expect("write");
        let err = OrtEncoder::load(
            &dir.join("libonnxruntime.so"),
            &dir.join("model.onnx"),
            dir,
            &EncoderOptions::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.ends_with("libonnxruntime.so not found (it comes with the `onnxruntime` pack)"),
            "{err}"
        );
        // A file that is not a shared library is refused by dlopen, not a crash.
        std::fs::write(dir.join("libfake.so"), b"not a library").expect("write");
        let err = OrtEncoder::load(
            &dir.join("libfake.so"),
            &dir.join("model.onnx"),
            dir,
            &EncoderOptions::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("libfake.so: not a usable ONNX Runtime library"),
            "{err}"
        );
        let home = Home {
            root: dir.join("cache"),
            shared: None,
        };
        let err = OrtEncoder::from_packs(&home, 1).unwrap_err().to_string();
        assert_eq!(
            err,
            "the ONNX Runtime library is not downloaded (the `ort` pack)"
        );
    }
}
