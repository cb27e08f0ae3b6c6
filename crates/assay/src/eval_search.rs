//! `assay eval-search`: search quality per mode on judged queries; and the search stage of
//! the quickstart.

use std::path::{Path, PathBuf};

use anyhow::Context;
use assay_core::Judgment;
use assay_import::{LoadOptions, UnknownRefs};
use assay_search::{evaluate_catalog, EvalMode, Mode, SearchEval, SearchOptions, SearchResults};

use crate::catalog::{
    build_saved_index, encoder_spec, load_catalog, open_encoder, open_or_build, Catalog,
    IndexSummary, Ready,
};
use crate::cli::{CatalogArgs, EncoderArg, EvalSearchArgs, RankingArgs, UnknownRefsArg};
use crate::output::{count, print_json, Table};
use crate::BadInput;

/// The rows of `assay eval-search`, with the ranking flags applied.
fn eval_modes(ranking: &RankingArgs) -> anyhow::Result<Vec<EvalMode>> {
    EvalMode::comparison(ranking.semantic_ratio, ranking.rrf_k, ranking.intent_boost)
        .map_err(|e| BadInput(format!("{e}")).into())
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

/// Evaluates `ready`'s index of `catalog` with `modes` and, when labels exist, intent.
fn evaluate(
    catalog: &Catalog,
    judgments: &[Judgment],
    labels: Option<&Path>,
    ready: &Ready,
    modes: &[EvalMode],
) -> anyhow::Result<SearchEval> {
    let labelled = match labels {
        Some(path) => Some((path, assay_import::read_intent_labels(path)?)),
        None => None,
    };
    let labelled = labelled.as_ref().map(|(p, l)| (*p, l.as_slice()));
    Ok(evaluate_catalog(
        &ready.index,
        &catalog.dataset,
        judgments,
        modes,
        labelled,
        &ready.origin,
    )?)
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
/// quickstart: builds the index with MiniLM into the shop's default index folder, where
/// `assay search` and `assay eval-search` find it.
pub fn quick_search(shop: &Path) -> anyhow::Result<QuickSearch> {
    let args = CatalogArgs {
        data: crate::cli::DatasetArgs {
            dataset: shop.display().to_string(),
            unknown_refs: None,
        },
        encoder: EncoderArg::Minilm,
        onnx_model: None,
        encoder_model: None,
        index: None,
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
