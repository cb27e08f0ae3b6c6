//! Saved indexes: where one lives, what it was built from, and when it may be reused.
//!
//! A saved index carries `assay-source.json` beside the index's own files: the catalog's name,
//! a SHA-256 fingerprint of every searchable item field in order, and the encoder's model id.
//! An index is reused only when all three match the catalog and encoder at hand, because
//! document keys are item indices and judgments are resolved against those indices. The
//! record is written last and removed first on a rebuild, so a half-built index is never
//! reused.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use assay_core::Dataset;
use assay_encoder::Encoder;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::index::write_atomic;
use crate::{build_index, IndexConfig, ItemDoc, Result, SearchError, SearchIndex};

/// The record of what a saved index was built from.
pub const SOURCE_FILE: &str = "assay-source.json";

/// What an index was built from: the identity a saved index must match to be reused.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct IndexSource {
    /// The catalog's name.
    pub dataset: String,
    /// Items in the catalog.
    pub items: usize,
    /// SHA-256 (first 16 bytes, hex) over every item's searchable fields, in item order.
    pub fingerprint: String,
    /// The encoder's model id.
    pub model: String,
}

impl IndexSource {
    /// The source of an index of `dataset`'s items embedded by `encoder`.
    pub fn of(dataset: &Dataset, encoder: &dyn Encoder) -> Result<IndexSource> {
        let mut hasher = Sha256::new();
        for i in 0..dataset.items.len() {
            let doc = ItemDoc::from_items(&dataset.items, i);
            let json = serde_json::to_vec(&doc)
                .map_err(|e| SearchError::InvalidOption(format!("serialising a document: {e}")))?;
            hasher.update(json);
            hasher.update(b"\n");
        }
        Ok(IndexSource {
            dataset: dataset.name.clone(),
            items: dataset.items.len(),
            fingerprint: hex(&hasher.finalize()[..16]),
            model: encoder.model_id().to_owned(),
        })
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The default folder of a saved index: `ROOT/index/NAME-HASH/ENCODER`, where NAME is the
/// catalog's file or folder name (characters outside `[A-Za-z0-9.-]` become `_`) and HASH
/// the first 6 bytes of the SHA-256 of its canonical path, so two catalogs of the same name
/// in different folders get different indexes.
pub fn default_index_dir(root: &Path, catalog: &Path, encoder: &str) -> PathBuf {
    let full = std::fs::canonicalize(catalog).unwrap_or_else(|_| catalog.to_owned());
    let name: String = full
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "catalog".to_owned())
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let digest = Sha256::digest(full.to_string_lossy().as_bytes());
    root.join("index")
        .join(format!("{name}-{}", hex(&digest[..6])))
        .join(encoder)
}

/// Why the saved index at `dir` cannot serve `want`, or `None` when its record matches.
pub fn saved_index_problem(dir: &Path, want: &IndexSource) -> Option<String> {
    let path = dir.join(SOURCE_FILE);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Some(format!("no saved index at {}", dir.display()));
    };
    let Ok(saved) = serde_json::from_str::<IndexSource>(&text) else {
        return Some(format!("{} is not a valid index record", path.display()));
    };
    if saved.model != want.model {
        return Some(format!(
            "the index at {} was built with encoder {}, not {}",
            dir.display(),
            saved.model,
            want.model
        ));
    }
    if saved.fingerprint != want.fingerprint || saved.items != want.items {
        return Some(format!(
            "the index at {} was built from other items ({} then, {} now, or changed text)",
            dir.display(),
            saved.items,
            want.items
        ));
    }
    None
}

/// Opens the saved index at `dir` when its record matches `want`; otherwise, or when it cannot
/// be opened, says why (every such reason means "build another one", never a failure).
pub fn open_saved(
    dir: &Path,
    want: &IndexSource,
    query_encoder: Arc<dyn Encoder>,
    config: &IndexConfig,
) -> std::result::Result<SearchIndex, String> {
    if let Some(problem) = saved_index_problem(dir, want) {
        return Err(problem);
    }
    SearchIndex::open(dir, query_encoder, config)
        .map_err(|e| format!("the index at {} could not be opened ({e})", dir.display()))
}

/// Builds an index of `dataset` in memory: items embedded by `build_encoder` (say, a cached
/// wrapper of the query encoder), queries by `query_encoder`.
pub fn build_in_memory(
    dataset: &Dataset,
    build_encoder: Arc<dyn Encoder>,
    query_encoder: Arc<dyn Encoder>,
    config: &IndexConfig,
) -> Result<SearchIndex> {
    let mut config = config.clone();
    config.dir = None;
    let mut index = build_index(dataset, build_encoder, &config)?;
    index.set_encoder(query_encoder)?;
    Ok(index)
}

/// Builds the index of `dataset` into `dir` and writes the record that lets later commands
/// reuse it. An interrupted rebuild leaves no record, so it is never taken for a valid index.
pub fn build_saved(
    dataset: &Dataset,
    dir: &Path,
    build_encoder: Arc<dyn Encoder>,
    query_encoder: Arc<dyn Encoder>,
    config: &IndexConfig,
) -> Result<SearchIndex> {
    let source = IndexSource::of(dataset, query_encoder.as_ref())?;
    let record = dir.join(SOURCE_FILE);
    if record.exists() {
        std::fs::remove_file(&record).map_err(SearchError::io(&record))?;
    }
    let mut config = config.clone();
    config.dir = Some(dir.to_owned());
    let mut index = build_index(dataset, build_encoder, &config)?;
    let mut json = serde_json::to_vec_pretty(&source)
        .map_err(|e| SearchError::InvalidOption(format!("serialising the index record: {e}")))?;
    json.push(b'\n');
    write_atomic(&record, &json)?;
    index.set_encoder(query_encoder)?;
    Ok(index)
}

#[cfg(test)]
mod tests {
    use super::*;
    use assay_encoder::HashEncoder;

    fn shop(titles: &[&str]) -> Dataset {
        let mut dataset = Dataset {
            name: "shop".into(),
            ..Dataset::default()
        };
        for (i, title) in titles.iter().enumerate() {
            let idx = dataset.items.intern(&format!("i{i}")) as usize;
            dataset.items.title[idx] = (*title).to_owned();
        }
        dataset
    }

    #[test]
    fn a_saved_index_is_reused_only_for_the_same_items_and_model() {
        let dir = tempfile::tempdir().unwrap();
        let encoder: Arc<dyn Encoder> = Arc::new(HashEncoder::new(32));
        let dataset = shop(&["red dress", "blue shirt"]);
        let want = IndexSource::of(&dataset, encoder.as_ref()).unwrap();
        assert_eq!(
            saved_index_problem(dir.path(), &want),
            Some(format!("no saved index at {}", dir.path().display()))
        );
        build_saved(
            &dataset,
            dir.path(),
            encoder.clone(),
            encoder.clone(),
            &IndexConfig::default(),
        )
        .unwrap();
        let index = open_saved(dir.path(), &want, encoder.clone(), &IndexConfig::default())
            .expect("the record matches");
        assert_eq!(index.len(), 2);
        let changed =
            IndexSource::of(&shop(&["red dress", "green shirt"]), encoder.as_ref()).unwrap();
        assert!(saved_index_problem(dir.path(), &changed)
            .unwrap()
            .contains("built from other items"));
        let other_model: Arc<dyn Encoder> = Arc::new(HashEncoder::new(16));
        let other = IndexSource::of(&dataset, other_model.as_ref()).unwrap();
        assert!(saved_index_problem(dir.path(), &other)
            .unwrap()
            .contains("was built with encoder"));
    }

    #[test]
    fn default_dirs_differ_by_folder_and_encoder() {
        let a = default_index_dir(Path::new("/r"), Path::new("/x/shop"), "minilm");
        let b = default_index_dir(Path::new("/r"), Path::new("/y/shop"), "minilm");
        let c = default_index_dir(Path::new("/r"), Path::new("/x/shop"), "hash");
        assert_ne!(a, b);
        assert_eq!(a.parent(), c.parent());
        assert!(a.starts_with("/r/index"));
        assert!(a
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("shop-"));
    }
}
