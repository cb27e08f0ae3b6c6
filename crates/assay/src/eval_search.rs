//! `assay eval-search`: search quality per mode on judged queries; and the search stage of
//! the quickstart.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::Context;
use assay_core::Judgment;
use assay_import::{LoadOptions, UnknownRefs};
use assay_search::{
    eval_search_modes, evaluate_catalog, query_language, EvalMode, LearnedFusion, Mode, ModeScores,
    SearchError, SearchEval, SearchOptions, SearchResults, TrainedQueries,
};
use serde::Serialize;

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

/// What a fine-tuned encoder folder brings to an evaluation: the queries it learned from
/// (never scored) and the fusion learned with it (one more row).
#[derive(Default)]
struct Finetuned {
    dir: Option<PathBuf>,
    trained: Option<TrainedQueries>,
    fusion: Option<LearnedFusion>,
}

impl Finetuned {
    fn open(dir: Option<&Path>) -> anyhow::Result<Finetuned> {
        let Some(dir) = dir else {
            return Ok(Finetuned::default());
        };
        // A damaged record in the user's folder is bad input, not an internal failure.
        let bad = |e: SearchError| match e {
            SearchError::Format { .. } | SearchError::InvalidOption(_) => {
                anyhow::Error::new(BadInput(e.to_string()))
            }
            e => e.into(),
        };
        Ok(Finetuned {
            dir: Some(dir.to_owned()),
            trained: TrainedQueries::open(dir).map_err(bad)?,
            fusion: LearnedFusion::open(dir).map_err(bad)?,
        })
    }

    /// The judgments of queries the folder did not learn from, and how many queries went.
    fn unseen(&self, judgments: Vec<Judgment>) -> (Vec<Judgment>, usize) {
        let Some(trained) = &self.trained else {
            return (judgments, 0);
        };
        let mut dropped: HashSet<String> = HashSet::new();
        let kept = judgments
            .into_iter()
            .filter(|j| {
                let seen = trained.contains(&j.query);
                if seen {
                    dropped.insert(j.query_id.clone());
                }
                !seen
            })
            .collect();
        (kept, dropped.len())
    }

    /// The fixed rows plus the learned fusion's.
    fn modes(&self, mut modes: Vec<EvalMode>) -> anyhow::Result<Vec<EvalMode>> {
        if let Some(fusion) = &self.fusion {
            modes.push(EvalMode {
                name: "hybrid-learned".into(),
                options: fusion.options()?,
            });
        }
        Ok(modes)
    }
}

/// One language's rows.
#[derive(Serialize)]
struct LanguageEval {
    language: &'static str,
    modes: Vec<ModeScores>,
}

/// `eval-search --json`.
#[derive(Serialize)]
struct EvalOutput<'a> {
    #[serde(flatten)]
    eval: &'a SearchEval,
    #[serde(skip_serializing_if = "Option::is_none")]
    learned_fusion: Option<&'a LearnedFusion>,
    /// Judged queries left out because the fine-tuned folder learned from them.
    #[serde(skip_serializing_if = "Option::is_none")]
    excluded_trained_queries: Option<usize>,
    /// The same rows per query language, when the judged queries have more than one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    languages: Vec<LanguageEval>,
}

/// The rows again for each query language (English, Chinese), when both occur.
fn by_language(
    ready: &Ready,
    judgments: &[Judgment],
    modes: &[EvalMode],
) -> anyhow::Result<Vec<LanguageEval>> {
    let mut out = Vec::new();
    for language in ["en", "zh"] {
        let subset: Vec<Judgment> = judgments
            .iter()
            .filter(|j| query_language(&j.query) == language)
            .cloned()
            .collect();
        if subset.len() == judgments.len() {
            return Ok(Vec::new());
        }
        if !subset.is_empty() {
            out.push(LanguageEval {
                language,
                modes: eval_search_modes(&ready.index, &subset, modes)?,
            });
        }
    }
    Ok(out)
}

fn mode_table(modes: &[ModeScores]) -> anyhow::Result<()> {
    let mut table = Table::new(&["mode", "nDCG@10", "MRR@10", "Recall@100", "ms/query"]);
    for m in modes {
        table.row(vec![
            m.mode.clone(),
            format!("{:.4}", m.ndcg_at_10),
            format!("{:.4}", m.mrr_at_10),
            format!("{:.4}", m.recall_at_100),
            format!("{:.2}", m.mean_ms),
        ]);
    }
    Ok(table.print()?)
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
    mode_table(&eval.modes)?;
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
    let finetuned = Finetuned::open(args.catalog.encoder_model.as_deref())?;
    let modes = finetuned.modes(eval_modes(&args.ranking)?)?;
    let catalog = load_catalog(&args.catalog.data)?;
    let (judgments, excluded) = finetuned.unseen(judgments_of(&catalog, &args)?);
    if judgments.is_empty() && excluded > 0 {
        return Err(BadInput(format!(
            "fine-tuning learned from every judged query ({excluded}); evaluate on queries it did not see"
        ))
        .into());
    }
    let labels = intent_labels(&catalog, args.intent_labels.as_deref())?;
    let query_encoder = open_encoder(&encoder_spec(&args.catalog))?;
    let ready = open_or_build(&catalog, &args.catalog, query_encoder)?;
    let eval = evaluate(&catalog, &judgments, labels.as_deref(), &ready, &modes)?;
    if eval.modes.first().is_some_and(|m| m.queries == 0) {
        eprintln!("note: no judged query has an item with grade > 0; every metric is 0");
    }
    let languages = by_language(&ready, &judgments, &modes)?;
    if args.json {
        return print_json(&EvalOutput {
            eval: &eval,
            learned_fusion: finetuned.fusion.as_ref(),
            excluded_trained_queries: finetuned.trained.as_ref().map(|_| excluded),
            languages,
        });
    }
    print_eval(&eval)?;
    for language in &languages {
        let name = match language.language {
            "zh" => "Chinese",
            _ => "English",
        };
        let queries = language.modes.first().map_or(0, |m| m.queries);
        println!("\n{name} queries ({})", count(queries));
        mode_table(&language.modes)?;
    }
    if let Some(dir) = &finetuned.dir {
        match &finetuned.trained {
            Some(_) => println!(
                "not scored: {} judged quer{} that fine-tuning learned from ({})",
                count(excluded),
                if excluded == 1 { "y" } else { "ies" },
                dir.join(assay_search::QUERIES_FILE).display()
            ),
            None => println!(
                "note: {} records no training queries; if it learned from these judgments, the scores are optimistic",
                dir.display()
            ),
        }
        if let Some(fusion) = &finetuned.fusion {
            println!(
                "hybrid-learned: {}, learned on {} of {}",
                fusion.label(),
                count(fusion.fit_queries),
                fusion.fit_on
            );
        }
    }
    Ok(())
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
