//! Model files: a directory with `meta.json` (kind, format version, hyper-parameters and other
//! small values) and `tensors.safetensors` (every array, little-endian, by name). A model saved
//! for serving ([`save_with_ids`], [`open`]) also holds `ids.json`: the shop's user and item ids
//! and item titles behind the model's dense indices, so serving needs no dataset.
//!
//! A model is saved whole ([`save`]): its files are written into a fresh, uniquely named staging
//! folder beside the destination, synced with the folder itself, and the folder takes the
//! destination's place in one step (an exchange of the two on Linux), so a reader or a crash
//! sees the old model or the new one, never a mix. Only a folder that holds a saved model (or
//! nothing) is replaced.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use assay_core::{Dataset, UserIdx};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::{load_model, RecommendError, Recommender, Result};

/// Version written into `meta.json`; loading refuses other versions.
pub const FORMAT_VERSION: u32 = 1;
/// Name of the metadata file inside a model directory.
pub const META_FILE: &str = "meta.json";
/// Name of the tensor file inside a model directory.
pub const TENSOR_FILE: &str = "tensors.safetensors";
/// Name of the file, beside a model saved for serving, that maps its dense indices back to the
/// shop's ids.
pub const IDS_FILE: &str = "ids.json";

/// Arrays to write, collected by name.
#[derive(Debug, Default)]
pub struct Tensors {
    entries: Vec<(String, Dtype, Vec<usize>, Vec<u8>)>,
}

impl Tensors {
    /// Adds an `f32` array of the given shape.
    ///
    /// # Panics
    /// When the shape does not match the length (a bug in the model code).
    pub fn f32(&mut self, name: &str, shape: &[usize], values: &[f32]) {
        assert_eq!(shape.iter().product::<usize>(), values.len(), "{name}");
        let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.entries
            .push((name.to_owned(), Dtype::F32, shape.to_vec(), bytes));
    }

    /// Adds a one-dimensional `u32` array.
    pub fn u32(&mut self, name: &str, values: &[u32]) {
        let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.entries
            .push((name.to_owned(), Dtype::U32, vec![values.len()], bytes));
    }

    /// Adds a one-dimensional `u64` array.
    pub fn u64(&mut self, name: &str, values: &[u64]) {
        let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.entries
            .push((name.to_owned(), Dtype::U64, vec![values.len()], bytes));
    }
}

/// The small part of a model file.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Meta {
    /// Always "assay-model".
    pub format: String,
    /// [`FORMAT_VERSION`] when written.
    pub version: u32,
    /// The model kind ("ease"...).
    pub kind: String,
    /// Hyper-parameters and other small values, model-specific.
    pub params: serde_json::Value,
}

/// Writes the files of one model into `dir` (created if missing); see
/// [`crate::Recommender::write_files`].
pub fn write(dir: &Path, kind: &str, params: &impl Serialize, tensors: Tensors) -> Result<()> {
    fs::create_dir_all(dir).map_err(|source| io(dir, source))?;
    let meta = Meta {
        format: "assay-model".into(),
        version: FORMAT_VERSION,
        kind: kind.into(),
        params: serde_json::to_value(params).map_err(|e| file_error(dir, e.to_string()))?,
    };
    let json = serde_json::to_vec_pretty(&meta).map_err(|e| file_error(dir, e.to_string()))?;
    let mut views = Vec::with_capacity(tensors.entries.len());
    for (name, dtype, shape, bytes) in &tensors.entries {
        let view = TensorView::new(*dtype, shape.clone(), bytes)
            .map_err(|e| file_error(dir, format!("tensor {name}: {e}")))?;
        views.push((name.clone(), view));
    }
    let blob = safetensors::serialize(views, None::<HashMap<String, String>>)
        .map_err(|e| file_error(dir, e.to_string()))?;
    atomic_write(&dir.join(TENSOR_FILE), &blob)?;
    atomic_write(&dir.join(META_FILE), &json)
}

fn atomic_write(path: &Path, bytes: &[u8]) -> Result<()> {
    assay_fetch::write_atomically(path, |out| std::io::Write::write_all(out, bytes))
        .map_err(|source| io(path, source))
}

/// A model directory read back.
#[derive(Debug)]
pub struct ModelFile {
    dir: PathBuf,
    meta: Meta,
    blob: Vec<u8>,
}

impl ModelFile {
    /// Reads `meta.json` and `tensors.safetensors` from `dir` and checks the format version.
    pub fn read(dir: &Path) -> Result<ModelFile> {
        let meta_path = dir.join(META_FILE);
        let json = fs::read(&meta_path).map_err(|source| io(&meta_path, source))?;
        let meta: Meta = serde_json::from_slice(&json)
            .map_err(|e| file_error(&meta_path, format!("not a model description: {e}")))?;
        if meta.format != "assay-model" || meta.version != FORMAT_VERSION {
            return Err(file_error(
                &meta_path,
                format!(
                    "format {} version {}, expected assay-model version {FORMAT_VERSION}",
                    meta.format, meta.version
                ),
            ));
        }
        let tensor_path = dir.join(TENSOR_FILE);
        let blob = fs::read(&tensor_path).map_err(|source| io(&tensor_path, source))?;
        SafeTensors::deserialize(&blob).map_err(|e| file_error(&tensor_path, e.to_string()))?;
        Ok(ModelFile {
            dir: dir.to_owned(),
            meta,
            blob,
        })
    }

    /// The model kind.
    pub fn kind(&self) -> &str {
        &self.meta.kind
    }

    /// The directory read from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The parameters, as the model's own type.
    pub fn params<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_value(self.meta.params.clone())
            .map_err(|e| file_error(&self.dir.join(META_FILE), format!("bad params: {e}")))
    }

    fn raw(&self, name: &str, dtype: Dtype) -> Result<(Vec<usize>, &[u8])> {
        let path = self.dir.join(TENSOR_FILE);
        let tensors =
            SafeTensors::deserialize(&self.blob).map_err(|e| file_error(&path, e.to_string()))?;
        let view = tensors
            .tensor(name)
            .map_err(|e| file_error(&path, format!("tensor {name}: {e}")))?;
        if view.dtype() != dtype {
            return Err(file_error(
                &path,
                format!("tensor {name} is {:?}, expected {dtype:?}", view.dtype()),
            ));
        }
        Ok((view.shape().to_vec(), view.data()))
    }

    /// Whether the file holds a tensor `name` (files written before it existed do not).
    pub fn has(&self, name: &str) -> bool {
        SafeTensors::deserialize(&self.blob).is_ok_and(|t| t.names().contains(&name))
    }

    /// The `f32` array `name` and its shape.
    pub fn f32(&self, name: &str) -> Result<(Vec<usize>, Vec<f32>)> {
        let (shape, bytes) = self.raw(name, Dtype::F32)?;
        let values = bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        Ok((shape, values))
    }

    /// The `u32` array `name`.
    pub fn u32(&self, name: &str) -> Result<Vec<u32>> {
        let (_, bytes) = self.raw(name, Dtype::U32)?;
        Ok(bytes
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }

    /// The `u64` array `name`.
    pub fn u64(&self, name: &str) -> Result<Vec<u64>> {
        let (_, bytes) = self.raw(name, Dtype::U64)?;
        Ok(bytes
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .collect())
    }

    /// An error about this file.
    pub fn error(&self, reason: impl Into<String>) -> RecommendError {
        file_error(&self.dir, reason.into())
    }
}

/// The shop's ids and titles behind a model's dense user and item indices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelIds {
    /// The name of the dataset the model was fitted on.
    pub dataset: String,
    /// User ids by dense index.
    pub users: Vec<String>,
    /// Item ids by dense index.
    pub items: Vec<String>,
    /// Item titles by dense index.
    pub titles: Vec<String>,
}

impl ModelIds {
    /// The ids and titles of `data`.
    pub fn of(data: &Dataset) -> ModelIds {
        ModelIds {
            dataset: data.name.clone(),
            users: data.users.ids.names().to_vec(),
            items: data.items.ids.names().to_vec(),
            titles: data.items.title.clone(),
        }
    }

    /// The dense index of the user with id `user`.
    pub fn user_index(&self, user: &str) -> Option<UserIdx> {
        self.users
            .iter()
            .position(|u| u == user)
            .map(|index| index as UserIdx)
    }
}

/// A fitted model with the ids of the data it was fitted on, as [`open`] reads it.
pub struct SavedModel {
    /// The model.
    pub model: Box<dyn Recommender>,
    /// Its ids.
    pub ids: ModelIds,
}

/// Saves `model`, fitted on `data`, as `dir` with `data`'s ids ([`IDS_FILE`]), as [`save`] does.
pub fn save_with_ids(dir: &Path, model: &dyn Recommender, data: &Dataset) -> Result<()> {
    save(dir, |staging| {
        model.write_files(staging)?;
        let path = staging.join(IDS_FILE);
        let json = serde_json::to_vec(&ModelIds::of(data))
            .map_err(|e| file_error(&path, e.to_string()))?;
        atomic_write(&path, &json)
    })
}

/// Makes `dir` hold exactly what `fill` writes into a fresh staging folder, all at once: the
/// staging folder is synced and takes `dir`'s place in one step (see the module docs). A
/// failed `fill` leaves `dir` as it was.
///
/// # Errors
/// [`RecommendError::NotAModelDir`] when `dir` holds anything but a saved model (checked
/// before `fill` runs); `fill`'s error; IO errors.
pub fn save(dir: &Path, fill: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    if !is_replaceable(dir)? {
        return Err(RecommendError::NotAModelDir {
            path: dir.to_owned(),
        });
    }
    assay_fetch::replace_dir_atomically(dir, fill, io)
}

/// Whether `dir` may be replaced by a saved model: it is missing, empty, or a saved model
/// itself: a [`META_FILE`] of this format and nothing but a model's files beside it (its
/// [`TENSOR_FILE`], an [`IDS_FILE`], and `partN` folders that are saved models).
fn is_replaceable(dir: &Path) -> Result<bool> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(true),
        Err(error) => return Err(io(dir, error)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| io(dir, source))?;
        let kind = entry.file_type().map_err(|source| io(dir, source))?;
        names.push((entry.file_name().to_string_lossy().into_owned(), kind));
    }
    if names.is_empty() {
        return Ok(true);
    }
    is_saved_model(dir, &names)
}

fn is_saved_model(dir: &Path, names: &[(String, fs::FileType)]) -> Result<bool> {
    let meta_path = dir.join(META_FILE);
    let is_meta = match fs::read(&meta_path) {
        Ok(json) => serde_json::from_slice::<Meta>(&json).is_ok_and(|m| m.format == "assay-model"),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => false,
        Err(error) => return Err(io(&meta_path, error)),
    };
    if !is_meta {
        return Ok(false);
    }
    for (name, kind) in names {
        let part = name
            .strip_prefix("part")
            .is_some_and(|k| !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()));
        let ours = if part {
            kind.is_dir() && is_replaceable(&dir.join(name))?
        } else {
            kind.is_file() && [META_FILE, TENSOR_FILE, IDS_FILE].contains(&name.as_str())
        };
        if !ours {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Reads a model directory written by [`save_with_ids`] and checks that its ids fit the model.
pub fn open(dir: &Path) -> Result<SavedModel> {
    let path = dir.join(IDS_FILE);
    let text = fs::read_to_string(&path).map_err(|source| io(&path, source))?;
    let ids: ModelIds = serde_json::from_str(&text)
        .map_err(|e| file_error(&path, format!("not a valid ids file: {e}")))?;
    let model = load_model(dir)?;
    let history = model.history();
    // Every dense index the ids can produce must be one the model scores, or a lookup by id
    // would index past the model's arrays.
    for (what, in_ids, in_model) in [
        ("items", ids.items.len(), history.n_items()),
        ("users", ids.users.len(), history.n_users()),
    ] {
        if in_ids != in_model {
            return Err(file_error(
                &path,
                format!(
                    "the ids file does not match the model: it lists {in_ids} {what}, the \
                     model has {in_model}"
                ),
            ));
        }
    }
    Ok(SavedModel { model, ids })
}

fn io(path: &Path, source: std::io::Error) -> RecommendError {
    RecommendError::Io {
        path: path.to_owned(),
        source,
    }
}

fn file_error(path: &Path, reason: impl Into<String>) -> RecommendError {
    RecommendError::ModelFile {
        path: path.to_owned(),
        reason: reason.into(),
    }
}
