//! `assay index`, `assay search`, `assay eval-search`: product search over a catalog (a
//! dataset or a plain CSV/JSONL catalog file), with a saved index reused when it still matches.
//!
//! A saved index carries `assay-source.json` beside the library's files: the catalog's name, a
//! SHA-256 fingerprint of every searchable item field in order, and the encoder's model id. The
//! index is reused only when all three match the catalog and encoder at hand, because document
//! keys are item indices and judgments are resolved against those indices.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use assay_core::{Dataset, Judgment};
use assay_encoder::{Encoder, EncoderKind, EncoderSpec, SpecError};
use assay_fetch::Home;
use assay_import::{LoadOptions, UnknownRefs};
use assay_search::{
    build_in_memory, build_saved, check_query, default_index_dir, eval_search_modes, open_saved,
    EvalMode, Filters, Fusion, IndexConfig, IndexSource, IntentAccuracy, Mode, ModeScores,
    SearchError, SearchIndex, SearchOptions, SearchResults,
};
use serde::Serialize;

use crate::cli::{
    CatalogArgs, EncoderArg, EvalSearchArgs, FusionArg, IndexArgs, RankingArgs, SearchArgs,
    SearchModeArg, UnknownRefsArg,
};
use crate::data;
use crate::output::{count, print_json, Table};
use crate::BadInput;

fn kind_of(arg: EncoderArg) -> EncoderKind {
    match arg {
        EncoderArg::Minilm => EncoderKind::Minilm,
        EncoderArg::Ort => EncoderKind::Ort,
        EncoderArg::Hash => EncoderKind::Hash,
    }
}

/// The encoder the catalog flags ask for.
fn encoder_spec(args: &CatalogArgs) -> EncoderSpec {
    EncoderSpec {
        kind: kind_of(args.encoder),
        threads: args.threads,
        onnx_model: args.onnx_model.clone(),
        model_dir: args.encoder_model.clone(),
    }
}

/// Opens `spec`'s encoder, fetching its packs first; what the user named is bad input.
pub fn open_encoder(spec: &EncoderSpec) -> anyhow::Result<Arc<dyn Encoder>> {
    spec.validate().map_err(|e| BadInput(flag_words(e)))?;
    data::ensure_packs(spec.packs())?;
    spec.open(&Home::from_env()).map_err(|e| match e {
        SpecError::UserModel { .. } | SpecError::OptionNeedsKind { .. } => {
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
        SpecError::OptionNeedsKind { option, needs, .. } => {
            let flag = if option.contains("ONNX") {
                "--onnx-model"
            } else {
                "--encoder-model"
            };
            format!("{flag} needs --encoder {needs}")
        }
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
struct Ready {
    index: SearchIndex,
    /// "saved index DIR" or "built in memory in N s".
    origin: String,
}

/// Opens the saved index when it matches the catalog and encoder, else builds one in memory
/// and says so on stderr.
fn open_or_build(
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
fn build_saved_index(
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

fn mode_of(arg: SearchModeArg) -> Mode {
    match arg {
        SearchModeArg::Bm25 => Mode::Bm25,
        SearchModeArg::Vector => Mode::Vector,
        SearchModeArg::Hybrid => Mode::Hybrid,
    }
}

fn fusion_of(arg: FusionArg, ranking: &RankingArgs) -> Fusion {
    match arg {
        FusionArg::Rrf => Fusion::Rrf { k: ranking.rrf_k },
        FusionArg::Convex => Fusion::Convex,
    }
}

/// Options with the ranking flags applied, checked before any index work.
fn checked(options: SearchOptions) -> anyhow::Result<SearchOptions> {
    options.validate().map_err(|e| BadInput(format!("{e}")))?;
    Ok(options)
}

#[derive(Serialize)]
struct SearchOutput<'a> {
    query: &'a str,
    mode: Mode,
    fusion: Fusion,
    semantic_ratio: f32,
    index: &'a str,
    #[serde(flatten)]
    results: &'a SearchResults,
}

pub fn search(args: SearchArgs) -> anyhow::Result<()> {
    // Everything the user typed is checked before the (possibly slow) index work.
    let query = check_query(&args.query)?.to_owned();
    let filters = match &args.filter {
        Some(text) => Filters::parse(text).map_err(|e| BadInput(format!("--filter: {e}")))?,
        None => Filters::default(),
    };
    let mut options = checked(SearchOptions {
        mode: mode_of(args.mode),
        fusion: fusion_of(args.fusion, &args.ranking),
        semantic_ratio: args.ranking.semantic_ratio,
        k: args.k,
        candidates: args.k.max(100),
        filters,
        explain: args.explain,
        intent_boost: args.ranking.intent_boost,
        personal: None,
        personal_weight: args.personal_weight,
    })?;
    if let (Some(user), Some(model)) = (&args.user, &args.model) {
        options.personal = Some(crate::recommend::user_item_scores(model, user)?);
    }
    let catalog = load_catalog(&args.catalog.data)?;
    let query_encoder = open_encoder(&encoder_spec(&args.catalog))?;
    let ready = open_or_build(&catalog, &args.catalog, query_encoder)?;
    let started = Instant::now();
    let results = ready.index.search_full(&query, &options)?;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    if args.json {
        return print_json(&SearchOutput {
            query: &query,
            mode: options.mode,
            fusion: options.fusion,
            semantic_ratio: options.semantic_ratio,
            index: &ready.origin,
            results: &results,
        });
    }
    let how = match (options.mode, options.fusion) {
        (Mode::Bm25, _) => "bm25".to_owned(),
        (Mode::Vector, _) => "vector".to_owned(),
        (Mode::Hybrid, Fusion::Rrf { k }) => format!(
            "hybrid (RRF k = {k}, semantic ratio {})",
            options.semantic_ratio
        ),
        (Mode::Hybrid, Fusion::Convex) => {
            format!("hybrid (convex, semantic ratio {})", options.semantic_ratio)
        }
    };
    println!(
        "\"{query}\": {how}, {} hit(s) of {} candidate(s) in {ms:.1} ms ({})",
        results.hits.len(),
        results.candidates,
        ready.origin
    );
    if let Some(intent) = &results.intent {
        let others: Vec<String> = intent
            .alternatives
            .iter()
            .map(|(c, p)| format!("{c} {p:.2}"))
            .collect();
        println!(
            "intent: {} {:.2}{}",
            intent.category,
            intent.probability,
            if others.is_empty() {
                String::new()
            } else {
                format!(" (then {})", others.join(", "))
            }
        );
    }
    if results.hits.is_empty() {
        println!("no item matches");
        return Ok(());
    }
    let mut table = Table::new(&[
        "rank", "item", "title", "category", "brand", "price", "score",
    ]);
    for hit in &results.hits {
        table.row(vec![
            hit.rank.to_string(),
            hit.id.clone(),
            hit.title.clone(),
            hit.category.clone(),
            hit.brand.clone(),
            hit.price.map(|p| format!("{p:.2}")).unwrap_or_default(),
            format!("{:.4}", hit.score),
        ]);
    }
    table.print()?;
    if args.explain {
        println!();
        let mut table = Table::new(&[
            "rank",
            "matched",
            "bm25",
            "bm25 rank",
            "cosine",
            "vec rank",
            "lexical",
            "semantic",
            "intent",
            "personal",
        ]);
        let opt = |v: Option<f32>| v.map(|v| format!("{v:.4}")).unwrap_or_else(|| "-".into());
        let opt_rank = |v: Option<usize>| v.map(|v| v.to_string()).unwrap_or_else(|| "-".into());
        for hit in &results.hits {
            let Some(e) = &hit.explanation else { continue };
            let matched: Vec<String> = e
                .matched_terms
                .iter()
                .map(|t| format!("{}:{}", t.term, t.fields.join("+")))
                .collect();
            table.row(vec![
                hit.rank.to_string(),
                if matched.is_empty() {
                    "-".into()
                } else {
                    matched.join(" ")
                },
                opt(e.bm25),
                opt_rank(e.bm25_rank),
                opt(e.vector),
                opt_rank(e.vector_rank),
                format!("{:.4}", e.lexical_contribution),
                format!("{:.4}", e.semantic_contribution),
                format!("{:.4}", e.intent_contribution),
                format!("{:.4}", e.personal_contribution),
            ]);
        }
        table.print()?;
        println!("score = lexical + semantic + intent + personal");
    }
    if args.facets {
        println!();
        let show = |name: &str, values: &[(String, usize)]| {
            let parts: Vec<String> = values
                .iter()
                .take(8)
                .map(|(v, n)| format!("{v} {n}"))
                .collect();
            if !parts.is_empty() {
                println!("{name:<9} {}", parts.join(", "));
            }
        };
        show("category", &results.facets.category);
        show("leaf", &results.facets.leaf_category);
        show("brand", &results.facets.brand);
        show("price", &results.facets.price);
    }
    Ok(())
}

/// The rows of `assay eval-search`, with the ranking flags applied.
fn eval_modes(ranking: &RankingArgs) -> anyhow::Result<Vec<EvalMode>> {
    EvalMode::comparison(ranking.semantic_ratio, ranking.rrf_k, ranking.intent_boost)
        .map_err(|e| BadInput(format!("{e}")).into())
}

/// Reads (query, category path) pairs from a CSV with columns `query` and `intent_category`
/// (the simulator's truth/queries.csv) or `category`.
fn read_intent_labels(path: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let bad = |line: u64, reason: String| BadInput(format!("{}:{line}: {reason}", path.display()));
    let mut reader = csv::Reader::from_path(path).map_err(|e| bad(0, e.to_string()))?;
    let headers = reader.headers().map_err(|e| bad(1, e.to_string()))?.clone();
    let column = |names: &[&str]| headers.iter().position(|h| names.contains(&h.trim()));
    let (Some(query), Some(category)) =
        (column(&["query"]), column(&["intent_category", "category"]))
    else {
        return Err(bad(
            1,
            "expected columns `query` and `intent_category` (or `category`)".into(),
        )
        .into());
    };
    let mut labelled = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            bad(
                e.position().map_or(0, |p| p.line()),
                format!("unreadable row: {e}"),
            )
        })?;
        let line = record.position().map_or(0, |p| p.line());
        let (Some(q), Some(c)) = (record.get(query), record.get(category)) else {
            return Err(bad(line, "missing the query or category cell".into()).into());
        };
        if q.chars().any(char::is_alphanumeric) && !c.trim().is_empty() {
            labelled.push((q.trim().to_owned(), c.trim().to_owned()));
        }
    }
    Ok(labelled)
}

#[derive(Serialize)]
struct IntentReport {
    file: PathBuf,
    #[serde(flatten)]
    accuracy: IntentAccuracy,
    leaf_accuracy: f64,
    top_level_accuracy: f64,
}

/// Everything `assay eval-search` reports.
#[derive(Serialize)]
pub struct SearchEval {
    /// The catalog's name.
    pub dataset: String,
    /// Items in the catalog.
    pub items: usize,
    /// Judgment rows.
    pub judgments: usize,
    /// Where the index came from.
    pub index: String,
    /// One row per mode.
    pub modes: Vec<ModeScores>,
    #[serde(skip_serializing_if = "Option::is_none")]
    intent: Option<IntentReport>,
}

/// Reads a judgments file against the catalog's items; `--unknown-refs drop` drops rows
/// naming unknown items (with a note), anything else fails on them.
pub fn read_judgments_file(
    catalog: &Catalog,
    path: &Path,
    unknown_refs: Option<UnknownRefsArg>,
) -> anyhow::Result<Vec<Judgment>> {
    let options = match unknown_refs {
        Some(UnknownRefsArg::Drop) => LoadOptions::new(UnknownRefs::Drop),
        _ => LoadOptions::new(UnknownRefs::Fail),
    };
    let loaded = assay_import::read_judgments(path, &catalog.dataset.items, &options)?;
    for dropped in &loaded.dropped {
        eprintln!(
            "note: dropped {} judgment(s) of {} with an {} (first at {})",
            dropped.count,
            dropped.file.display(),
            dropped.reason,
            dropped.first
        );
    }
    Ok(loaded.judgments)
}

fn judgments_of(catalog: &Catalog, args: &EvalSearchArgs) -> anyhow::Result<Vec<Judgment>> {
    match &args.judgments {
        Some(path) => read_judgments_file(catalog, path, args.catalog.data.unknown_refs),
        None if !catalog.dataset.judgments.is_empty() => Ok(catalog.dataset.judgments.clone()),
        None => Err(BadInput(format!(
            "{} has no judgments; pass --judgments FILE (TSV with header query_id, query, item_id, grade)",
            catalog.dataset.name
        ))
        .into()),
    }
}

/// Evaluates `catalog` with every mode of [`eval_modes`] and, when labels exist, intent.
fn evaluate(
    catalog: &Catalog,
    judgments: &[Judgment],
    labels: Option<&Path>,
    ready: &Ready,
    modes: &[EvalMode],
) -> anyhow::Result<SearchEval> {
    let scores = eval_search_modes(&ready.index, judgments, modes)?;
    let intent = match labels {
        Some(path) => {
            let labelled = read_intent_labels(path)?;
            let accuracy = ready.index.intent_accuracy(&labelled)?;
            Some(IntentReport {
                file: path.to_owned(),
                leaf_accuracy: accuracy.accuracy(),
                top_level_accuracy: accuracy.top_level_accuracy(),
                accuracy,
            })
        }
        None => None,
    };
    Ok(SearchEval {
        dataset: catalog.dataset.name.clone(),
        items: catalog.dataset.items.len(),
        judgments: judgments.len(),
        index: ready.origin.clone(),
        modes: scores,
        intent,
    })
}

/// The intent labels to use: the flag, else a simulated shop's truth/queries.csv.
fn intent_labels(catalog: &Catalog, flag: Option<&Path>) -> anyhow::Result<Option<PathBuf>> {
    if let Some(path) = flag {
        if !path.is_file() {
            return Err(
                BadInput(format!("--intent-labels: {} is not a file", path.display())).into(),
            );
        }
        return Ok(Some(path.to_owned()));
    }
    let truth = catalog.path.join("truth").join("queries.csv");
    Ok(truth.is_file().then_some(truth))
}

fn print_eval(eval: &SearchEval) -> anyhow::Result<()> {
    let queries = eval.modes.first().map_or(0, |m| m.queries);
    println!(
        "{}: {} items, {} judged queries with a relevant item ({} judgments); {}",
        eval.dataset,
        count(eval.items),
        count(queries),
        count(eval.judgments),
        eval.index
    );
    let mut table = Table::new(&["mode", "nDCG@10", "MRR@10", "Recall@100", "ms/query"]);
    for m in &eval.modes {
        table.row(vec![
            m.mode.clone(),
            format!("{:.4}", m.ndcg_at_10),
            format!("{:.4}", m.mrr_at_10),
            format!("{:.4}", m.recall_at_100),
            format!("{:.2}", m.mean_ms),
        ]);
    }
    table.print()?;
    println!("nDCG@10 with gain = grade; ms/query excludes the batched query embedding");
    if let Some(intent) = &eval.intent {
        println!(
            "intent accuracy: {:.4} (leaf category), {:.4} (top level) on {} labelled queries of {}",
            intent.leaf_accuracy,
            intent.top_level_accuracy,
            count(intent.accuracy.queries),
            intent.file.display()
        );
    }
    Ok(())
}

pub fn eval_search(args: EvalSearchArgs) -> anyhow::Result<()> {
    let modes = eval_modes(&args.ranking)?;
    let catalog = load_catalog(&args.catalog.data)?;
    let judgments = judgments_of(&catalog, &args)?;
    let labels = intent_labels(&catalog, args.intent_labels.as_deref())?;
    let query_encoder = open_encoder(&encoder_spec(&args.catalog))?;
    let ready = open_or_build(&catalog, &args.catalog, query_encoder)?;
    let eval = evaluate(&catalog, &judgments, labels.as_deref(), &ready, &modes)?;
    if eval.modes.first().is_some_and(|m| m.queries == 0) {
        eprintln!("note: no judged query has an item with grade > 0; every metric is 0");
    }
    if args.json {
        return print_json(&eval);
    }
    print_eval(&eval)
}

/// What quickstart shows of search.
pub struct QuickSearch {
    /// Where the index went and how long it took.
    pub summary: IndexSummary,
    /// The evaluation, as `assay eval-search` prints it.
    pub eval: SearchEval,
    /// One judged query and its explained hits.
    pub example: (String, SearchResults),
}

/// `assay index` + `assay eval-search` + one explained `assay search` on a simulated shop, for
/// quickstart: builds the index with MiniLM into `index_dir`.
pub fn quick_search(shop: &Path, index_dir: &Path) -> anyhow::Result<QuickSearch> {
    let args = CatalogArgs {
        data: crate::cli::DatasetArgs {
            dataset: shop.display().to_string(),
            unknown_refs: None,
        },
        encoder: EncoderArg::Minilm,
        onnx_model: None,
        encoder_model: None,
        index: Some(index_dir.to_owned()),
        threads: 0,
    };
    let catalog = load_catalog(&args.data)?;
    let query_encoder = open_encoder(&encoder_spec(&args))?;
    let (index, summary) = build_saved_index(&catalog, &args, query_encoder)?;
    let ready = Ready {
        index,
        origin: format!("saved index {}", summary.index.display()),
    };
    let ranking = RankingArgs {
        semantic_ratio: 0.5,
        rrf_k: 60.0,
        intent_boost: 0.3,
    };
    let labels = intent_labels(&catalog, None)?;
    let eval = evaluate(
        &catalog,
        &catalog.dataset.judgments,
        labels.as_deref(),
        &ready,
        &eval_modes(&ranking)?,
    )?;
    let query = catalog
        .dataset
        .judgments
        .first()
        .map(|j| j.query.clone())
        .context("the simulated shop has no judged queries")?;
    let options = SearchOptions {
        k: 5,
        explain: true,
        intent_boost: ranking.intent_boost,
        ..SearchOptions::mode(Mode::Hybrid)
    };
    let results = ready.index.search_full(&query, &options)?;
    Ok(QuickSearch {
        summary,
        eval,
        example: (query, results),
    })
}

/// Prints an evaluation the way `assay eval-search` does, for quickstart.
pub fn print_quick_eval(eval: &SearchEval) -> anyhow::Result<()> {
    print_eval(eval)
}
