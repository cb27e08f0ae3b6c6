//! What the search commands share: the catalog they read, the encoder they open, and the index
//! they reuse or build (with `assay index`, which saves one).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use assay_core::Dataset;
use assay_encoder::{Encoder, EncoderKind, EncoderSpec, SpecError};
use assay_fetch::Home;
use assay_search::{
    build_in_memory, build_saved, default_index_dir, open_saved, IndexConfig, IndexSource,
    SearchError, SearchIndex,
};
use serde::Serialize;

use crate::cli::{CatalogArgs, EncoderArg, IndexArgs};
use crate::data;
use crate::output::{count, print_json};
use crate::BadInput;

fn kind_of(arg: EncoderArg) -> EncoderKind {
    match arg {
        EncoderArg::Minilm => EncoderKind::Minilm,
        EncoderArg::Ort => EncoderKind::Ort,
        EncoderArg::OrtInt8 => EncoderKind::OrtInt8,
        EncoderArg::E5 => EncoderKind::E5,
        EncoderArg::Hash => EncoderKind::Hash,
    }
}

/// The encoder the catalog flags ask for.
pub fn encoder_spec(args: &CatalogArgs) -> EncoderSpec {
    EncoderSpec {
        onnx_model: args.onnx_model.clone(),
        model_dir: args.encoder_model.clone(),
        ..encoder_spec_of(args.encoder, args.threads)
    }
}

/// The fetched encoder of kind `arg`.
pub fn encoder_spec_of(arg: EncoderArg, threads: usize) -> EncoderSpec {
    EncoderSpec {
        kind: kind_of(arg),
        threads,
        onnx_model: None,
        model_dir: None,
    }
}

/// Opens `spec`'s encoder, fetching its packs first; what the user named is bad input.
pub fn open_encoder(spec: &EncoderSpec) -> anyhow::Result<Arc<dyn Encoder>> {
    spec.validate().map_err(|e| BadInput(flag_words(e)))?;
    data::ensure_packs(spec.packs())?;
    spec.open(&Home::from_env()).map_err(|e| match e {
        SpecError::UserModel { .. } | SpecError::OptionNeedsKind { .. } | SpecError::TwoModels => {
            BadInput(flag_words(e)).into()
        }
        SpecError::Encoder(e) => {
            anyhow::Error::new(e).context(format!("loading the {} encoder", spec.kind.name()))
        }
    })
}

/// An encoder error in the words of the flags that caused it.
fn flag_words(e: SpecError) -> String {
    match e {
        SpecError::OptionNeedsKind { needs, .. } => {
            // Each kind-specific option has one flag: the ONNX file is ort's, the folder minilm's.
            if needs == EncoderKind::Ort.name() {
                format!("--onnx-model needs --encoder {needs}")
            } else {
                "--encoder-model needs --encoder minilm, ort or ort-int8".into()
            }
        }
        SpecError::TwoModels => "--onnx-model and --encoder-model name two models; give one".into(),
        SpecError::UserModel { path, source } => format!("{}: {source}", path.display()),
        SpecError::Encoder(e) => e.to_string(),
    }
}

/// The encoder that embeds the catalog while building (with the embedding cache).
fn build_encoder(spec: &EncoderSpec, query: &Arc<dyn Encoder>) -> Arc<dyn Encoder> {
    let (encoder, cache_problem) = spec.for_indexing(query, &Home::from_env());
    if let Some(e) = cache_problem {
        eprintln!("note: embedding without a cache ({e})");
    }
    encoder
}

/// True for search errors caused by what the user typed or pointed at.
pub fn is_bad_search_input(cause: &(dyn std::error::Error + 'static)) -> bool {
    matches!(
        cause.downcast_ref::<SearchError>(),
        Some(
            SearchError::EmptyQuery
                | SearchError::QueryTooLong { .. }
                | SearchError::InvalidFilter { .. }
                | SearchError::InvalidOption(_)
                | SearchError::UnknownItem(_)
                | SearchError::Format { .. }
        )
    )
}

/// A catalog to search, and where it came from.
pub struct Catalog {
    /// The items (and, for datasets, everything else).
    pub dataset: Dataset,
    /// The resolved file or directory.
    pub path: PathBuf,
}

/// Loads DATASET: an existing regular file is a plain catalog file, anything else goes through
/// the dataset loader of the other commands.
pub fn load_catalog(args: &crate::cli::DatasetArgs) -> anyhow::Result<Catalog> {
    let path = Path::new(&args.dataset);
    if path.is_file() {
        let dataset = assay_import::read_catalog(path)?;
        if dataset.items.is_empty() {
            return Err(BadInput(format!("{}: the catalog has no items", path.display())).into());
        }
        return Ok(Catalog {
            dataset,
            path: path.to_owned(),
        });
    }
    let resolved = assay_fetch::resolve(&Home::from_env(), &args.dataset)?;
    let loaded = data::load(args)?;
    if loaded.dataset.items.is_empty() {
        return Err(BadInput(format!("{}: the dataset has no items", args.dataset)).into());
    }
    Ok(Catalog {
        dataset: loaded.dataset,
        path: resolved,
    })
}

/// The index folder: `--index`, else the default under `$ASSAY_HOME/index`.
fn index_dir(catalog: &Catalog, args: &CatalogArgs) -> PathBuf {
    args.index.clone().unwrap_or_else(|| {
        default_index_dir(
            &Home::from_env().root,
            &catalog.path,
            kind_of(args.encoder).name(),
        )
    })
}

fn threads(requested: usize) -> usize {
    if requested > 0 {
        requested
    } else {
        std::thread::available_parallelism().map_or(1, usize::from)
    }
}

fn index_config(args: &CatalogArgs) -> IndexConfig {
    IndexConfig {
        threads: threads(args.threads),
        ..IndexConfig::default()
    }
}

/// An index ready for queries and where it came from.
pub struct Ready {
    /// The index.
    pub index: SearchIndex,
    /// "saved index DIR" or "built in memory in N s".
    pub origin: String,
}

/// Opens the saved index when it matches the catalog and encoder, else builds one in memory
/// and says so on stderr.
pub fn open_or_build(
    catalog: &Catalog,
    args: &CatalogArgs,
    query_encoder: Arc<dyn Encoder>,
) -> anyhow::Result<Ready> {
    let dir = index_dir(catalog, args);
    let want = IndexSource::of(&catalog.dataset, query_encoder.as_ref())?;
    let problem = match open_saved(&dir, &want, query_encoder.clone(), &index_config(args)) {
        Ok(index) => {
            return Ok(Ready {
                index,
                origin: format!("saved index {}", dir.display()),
            })
        }
        Err(problem) => problem,
    };
    eprintln!(
        "note: {problem}; building the index in memory ({} items; `assay index` saves it)",
        count(want.items)
    );
    let started = Instant::now();
    let index = build_in_memory(
        &catalog.dataset,
        build_encoder(&encoder_spec(args), &query_encoder),
        query_encoder,
        &index_config(args),
    )?;
    Ok(Ready {
        index,
        origin: format!(
            "index built in memory in {:.1} s",
            started.elapsed().as_secs_f64()
        ),
    })
}

/// What `assay index` did.
#[derive(Serialize)]
pub struct IndexSummary {
    /// The catalog's name.
    pub dataset: String,
    /// The index directory.
    pub index: PathBuf,
    /// Documents indexed.
    pub items: usize,
    /// The `--encoder` value.
    pub encoder: String,
    /// The encoder's model id.
    pub model: String,
    /// Embedding dimension.
    pub dim: usize,
    /// Whether vector search goes through the HNSW graph (else an exact scan).
    pub hnsw_graph: bool,
    /// Build time in seconds.
    pub seconds: f64,
}

/// Builds the index of `catalog` into its directory, with the record that lets later commands
/// reuse it. The returned index embeds queries with `query_encoder`.
pub fn build_saved_index(
    catalog: &Catalog,
    args: &CatalogArgs,
    query_encoder: Arc<dyn Encoder>,
) -> anyhow::Result<(SearchIndex, IndexSummary)> {
    let dir = index_dir(catalog, args);
    let spec = encoder_spec(args);
    let started = Instant::now();
    let index = build_saved(
        &catalog.dataset,
        &dir,
        build_encoder(&spec, &query_encoder),
        query_encoder.clone(),
        &index_config(args),
    )
    .with_context(|| format!("building the index in {}", dir.display()))?;
    let summary = IndexSummary {
        dataset: catalog.dataset.name.clone(),
        index: dir,
        items: index.len(),
        encoder: spec.kind.name().to_owned(),
        model: query_encoder.model_id().to_owned(),
        dim: query_encoder.dim(),
        hnsw_graph: index.uses_graph(),
        seconds: started.elapsed().as_secs_f64(),
    };
    Ok((index, summary))
}

pub fn index(args: IndexArgs) -> anyhow::Result<()> {
    let catalog = load_catalog(&args.catalog.data)?;
    let query_encoder = open_encoder(&encoder_spec(&args.catalog))?;
    let (_, summary) = build_saved_index(&catalog, &args.catalog, query_encoder)?;
    if args.json {
        return print_json(&summary);
    }
    println!(
        "indexed {} items of {} with {} ({} dimensions, {}) in {:.1} s; saved to {}",
        count(summary.items),
        summary.dataset,
        summary.encoder,
        summary.dim,
        if summary.hnsw_graph {
            "HNSW graph"
        } else {
            "exact vector scan"
        },
        summary.seconds,
        summary.index.display()
    );
    Ok(())
}
