//! Which encoder to run, named as plain data, and the one place such a name becomes an
//! [`Encoder`]. Front ends (the CLI, the HTTP service) parse their flags into an
//! [`EncoderSpec`], make sure its [`EncoderSpec::packs`] are fetched, and call
//! [`EncoderSpec::open`]; they never construct a backend themselves.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use assay_fetch::{Home, Pack};

use crate::{BertEncoder, CachedEncoder, Encoder, EncoderError, EncoderOptions, HashEncoder};

/// Buckets of the hash encoder behind [`EncoderKind::Hash`].
pub const HASH_DIM: usize = 256;

/// A family of encoders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EncoderKind {
    /// all-MiniLM-L6-v2 (or a model folder of the same layout) run with candle.
    Minilm,
    /// An ONNX export run with ONNX Runtime: the int8 all-MiniLM-L6-v2 pack by default, or a
    /// model folder's fp32 graph.
    Ort,
    /// A model folder (all-MiniLM-L6-v2's by default) run with ONNX Runtime on the graph
    /// assay writes from its weights with 8-bit dense layers ([`crate::Operators::Int8`]):
    /// the fast path, at a small cost in agreement with the full-precision model.
    OrtInt8,
    /// multilingual-e5-small in 4 bits on its own C engine (the `e5` pack): reads Chinese.
    E5,
    /// The bag-of-words [`HashEncoder`]: no model files, for tests and tiny machines.
    Hash,
}

impl EncoderKind {
    /// The name users type (`minilm`, `ort`, `ort-int8`, `e5`, `hash`); also the folder name of a saved index.
    pub fn name(self) -> &'static str {
        match self {
            EncoderKind::Minilm => "minilm",
            EncoderKind::Ort => "ort",
            EncoderKind::OrtInt8 => "ort-int8",
            EncoderKind::E5 => "e5",
            EncoderKind::Hash => "hash",
        }
    }
}

/// An encoder to open: its kind and where its files come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncoderSpec {
    /// The family.
    pub kind: EncoderKind,
    /// Worker threads; 0 means one per available core.
    pub threads: usize,
    /// For [`EncoderKind::Ort`]: an ONNX file to run instead of the fetched int8 model.
    pub onnx_model: Option<PathBuf>,
    /// For [`EncoderKind::Minilm`]: a model folder (say, a fine-tuned one) to run instead of
    /// the fetched all-MiniLM-L6-v2. For [`EncoderKind::Ort`]: the same folder run by ONNX
    /// Runtime in fp32 (its `model.onnx`, or the graph written from its weights), instead of
    /// the int8 model.
    pub model_dir: Option<PathBuf>,
}

/// An [`EncoderSpec`] that cannot be opened because of what the user asked for, not because
/// of a missing or broken pack.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// An option that only one kind takes was given with another kind.
    #[error("{option} needs the {needs} encoder, not {kind}")]
    OptionNeedsKind {
        /// The option, as data ("onnx model", "model folder").
        option: &'static str,
        /// The kind that takes it.
        needs: &'static str,
        /// The kind given.
        kind: &'static str,
    },
    /// Both an ONNX file and a model folder were named: only one model can run.
    #[error("an ONNX model file and a model folder name two models; give one")]
    TwoModels,
    /// A model file or folder the user named could not be loaded.
    #[error("{path}: {source}")]
    UserModel {
        /// The file or folder the user named.
        path: PathBuf,
        /// Why it could not be loaded.
        source: EncoderError,
    },
    /// A pack or the files in it could not be loaded.
    #[error(transparent)]
    Encoder(#[from] EncoderError),
}

impl EncoderSpec {
    /// An encoder of `kind` from the fetched packs, on `threads` threads.
    pub fn new(kind: EncoderKind, threads: usize) -> EncoderSpec {
        EncoderSpec {
            kind,
            threads,
            onnx_model: None,
            model_dir: None,
        }
    }

    /// The packs [`EncoderSpec::open`] reads; a front end fetches them first.
    pub fn packs(&self) -> &'static [Pack] {
        match (self.kind, &self.model_dir) {
            (EncoderKind::Minilm, None) => &[Pack::Minilm],
            (EncoderKind::Minilm, Some(_)) | (EncoderKind::Hash, _) => &[],
            (EncoderKind::Ort, Some(_)) => &[Pack::OnnxRuntime],
            (EncoderKind::Ort, None) => &Pack::ORT,
            (EncoderKind::OrtInt8, Some(_)) => &[Pack::OnnxRuntime],
            (EncoderKind::OrtInt8, None) => &[Pack::Minilm, Pack::OnnxRuntime],
            (EncoderKind::E5, _) => &[Pack::E5],
        }
    }

    /// Checks what the user asked for without touching any file.
    pub fn validate(&self) -> std::result::Result<(), SpecError> {
        let misplaced = |option, needs: EncoderKind| SpecError::OptionNeedsKind {
            option,
            needs: needs.name(),
            kind: self.kind.name(),
        };
        if self.onnx_model.is_some() && self.kind != EncoderKind::Ort {
            return Err(misplaced("an ONNX model file", EncoderKind::Ort));
        }
        if self.model_dir.is_some() && matches!(self.kind, EncoderKind::Hash | EncoderKind::E5) {
            return Err(misplaced("a model folder", EncoderKind::Minilm));
        }
        if self.model_dir.is_some() && self.onnx_model.is_some() {
            return Err(SpecError::TwoModels);
        }
        Ok(())
    }

    /// Opens the encoder from `home`'s packs (or the user's model files). Downloads nothing.
    pub fn open(&self, home: &Home) -> std::result::Result<Arc<dyn Encoder>, SpecError> {
        self.validate()?;
        let options = EncoderOptions {
            threads: self.threads,
            ..EncoderOptions::default()
        };
        let user_model = |path: &Path| {
            let path = path.to_owned();
            move |source| SpecError::UserModel { path, source }
        };
        Ok(match self.kind {
            EncoderKind::Minilm => match &self.model_dir {
                Some(dir) => Arc::new(BertEncoder::load(dir, &options).map_err(user_model(dir))?),
                None => {
                    let dir = located(home, Pack::Minilm, "all-MiniLM-L6-v2")?;
                    Arc::new(BertEncoder::load(&dir, &options)?)
                }
            },
            EncoderKind::Ort => match &self.model_dir {
                Some(dir) => open_ort_folder(home, dir, crate::Operators::Standard, &options)?,
                None => open_ort(home, self.onnx_model.as_deref(), self.threads)?,
            },
            EncoderKind::OrtInt8 => match &self.model_dir {
                Some(dir) => open_ort_folder(home, dir, crate::Operators::Int8, &options)?,
                None => {
                    let dir = located(home, Pack::Minilm, "all-MiniLM-L6-v2")?;
                    open_ort_folder(home, &dir, crate::Operators::Int8, &options)?
                }
            },
            EncoderKind::E5 => open_e5(home, &options)?,
            EncoderKind::Hash => Arc::new(HashEncoder::new(HASH_DIM)),
        })
    }

    /// The encoder that embeds a catalog while an index is built: `query` itself, wrapped in
    /// the on-disk embedding cache under `home` for models slow enough for it to pay, so a
    /// rebuild after a small catalog change embeds only the changed items. A cache that
    /// cannot be opened is not an error: the reason comes back beside the uncached encoder.
    pub fn for_indexing(
        &self,
        query: &Arc<dyn Encoder>,
        home: &Home,
    ) -> (Arc<dyn Encoder>, Option<EncoderError>) {
        if self.kind == EncoderKind::Hash {
            return (query.clone(), None);
        }
        match CachedEncoder::open(query.clone(), &home.root.join("embeddings")) {
            Ok(cached) => (Arc::new(cached), None),
            Err(e) => (query.clone(), Some(e)),
        }
    }
}

/// The directory of `pack` (holding `what`), or the error that says it is not fetched.
fn located(home: &Home, pack: Pack, what: &'static str) -> crate::Result<PathBuf> {
    home.locate(pack).ok_or(EncoderError::NotFetched {
        what,
        pack: pack.name(),
    })
}

#[cfg(feature = "ort")]
fn open_ort(
    home: &Home,
    model: Option<&Path>,
    threads: usize,
) -> std::result::Result<Arc<dyn Encoder>, SpecError> {
    crate::OrtEncoder::from_packs_with_model(home, model, threads)
        .map(|e| Arc::new(e) as Arc<dyn Encoder>)
        .map_err(|source| match model {
            // A file the user named is bad input; a broken pack is not.
            Some(path) => SpecError::UserModel {
                path: path.to_owned(),
                source,
            },
            None => SpecError::Encoder(source),
        })
}

#[cfg(feature = "ort")]
fn open_ort_folder(
    home: &Home,
    dir: &Path,
    operators: crate::Operators,
    options: &EncoderOptions,
) -> std::result::Result<Arc<dyn Encoder>, SpecError> {
    let library = assay_fetch::onnxruntime_library(home).ok_or(EncoderError::NotFetched {
        what: "the ONNX Runtime library",
        pack: Pack::OnnxRuntime.name(),
    })?;
    // A missing or broken runtime is not the folder's fault: load it first.
    crate::onnx::load_runtime(&library)?;
    crate::OrtEncoder::load_folder_with(&library, dir, operators, options)
        .map(|e| Arc::new(e) as Arc<dyn Encoder>)
        .map_err(|source| SpecError::UserModel {
            path: dir.to_owned(),
            source,
        })
}

#[cfg(not(feature = "ort"))]
fn open_ort_folder(
    home: &Home,
    _dir: &Path,
    _operators: crate::Operators,
    _options: &EncoderOptions,
) -> std::result::Result<Arc<dyn Encoder>, SpecError> {
    open_ort(home, None, 0)
}

#[cfg(not(feature = "ort"))]
fn open_ort(
    _home: &Home,
    _model: Option<&Path>,
    _threads: usize,
) -> std::result::Result<Arc<dyn Encoder>, SpecError> {
    Err(SpecError::Encoder(EncoderError::Runtime(
        "this build has no ONNX Runtime backend (cargo feature `ort`)".into(),
    )))
}

#[cfg(unix)]
fn open_e5(
    home: &Home,
    options: &EncoderOptions,
) -> std::result::Result<Arc<dyn Encoder>, SpecError> {
    let dir = located(home, Pack::E5, "multilingual-e5-small")?;
    Ok(Arc::new(crate::E5Encoder::load(&dir, options)?))
}

#[cfg(not(unix))]
fn open_e5(
    _home: &Home,
    _options: &EncoderOptions,
) -> std::result::Result<Arc<dyn Encoder>, SpecError> {
    Err(SpecError::Encoder(EncoderError::Engine(
        "the e5 engine runs on Linux x86_64 only".into(),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_of_another_kind_are_refused_before_any_file_is_read() {
        let mut spec = EncoderSpec::new(EncoderKind::Hash, 1);
        spec.onnx_model = Some("model.onnx".into());
        let err = spec.validate().unwrap_err().to_string();
        assert_eq!(err, "an ONNX model file needs the ort encoder, not hash");
        let mut spec = EncoderSpec::new(EncoderKind::Hash, 1);
        spec.model_dir = Some("enc".into());
        let err = spec.validate().unwrap_err().to_string();
        assert_eq!(err, "a model folder needs the minilm encoder, not hash");
        // ONNX Runtime runs a model folder too, but not beside another ONNX file.
        let mut spec = EncoderSpec::new(EncoderKind::Ort, 1);
        spec.model_dir = Some("enc".into());
        assert!(spec.validate().is_ok());
        assert_eq!(spec.packs(), &[Pack::OnnxRuntime]);
        spec.onnx_model = Some("model.onnx".into());
        let err = spec.validate().unwrap_err().to_string();
        assert_eq!(
            err,
            "an ONNX model file and a model folder name two models; give one"
        );
    }

    #[test]
    fn the_8_bit_kind_writes_its_graph_from_a_folder() {
        let mut spec = EncoderSpec::new(EncoderKind::OrtInt8, 1);
        assert_eq!(spec.kind.name(), "ort-int8");
        // all-MiniLM-L6-v2's weights and the runtime; with a folder, the runtime only.
        assert_eq!(spec.packs(), &[Pack::Minilm, Pack::OnnxRuntime]);
        spec.model_dir = Some("enc".into());
        assert!(spec.validate().is_ok());
        assert_eq!(spec.packs(), &[Pack::OnnxRuntime]);
        // The e5 engine runs its own pack's model only.
        let mut e5 = EncoderSpec::new(EncoderKind::E5, 1);
        assert_eq!(e5.packs(), &[Pack::E5]);
        e5.model_dir = Some("enc".into());
        assert_eq!(
            e5.validate().unwrap_err().to_string(),
            "a model folder needs the minilm encoder, not e5"
        );
        // A ready-made ONNX file has no weights to quantize.
        let mut spec = EncoderSpec::new(EncoderKind::OrtInt8, 1);
        spec.onnx_model = Some("model.onnx".into());
        let err = spec.validate().unwrap_err().to_string();
        assert_eq!(
            err,
            "an ONNX model file needs the ort encoder, not ort-int8"
        );
    }

    #[test]
    fn a_model_folder_needs_no_pack_and_hash_opens_without_files() {
        let mut spec = EncoderSpec::new(EncoderKind::Minilm, 1);
        assert_eq!(spec.packs(), &[Pack::Minilm]);
        spec.model_dir = Some("enc".into());
        assert!(spec.packs().is_empty());
        let home = Home {
            root: std::env::temp_dir().join("assay-encoder-spec-test"),
            shared: None,
        };
        let hash = EncoderSpec::new(EncoderKind::Hash, 1).open(&home).unwrap();
        assert_eq!(hash.dim(), HASH_DIM);
    }
}
