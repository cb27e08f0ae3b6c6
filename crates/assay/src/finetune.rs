//! `assay finetune`: fine-tunes the sentence encoder on the shop's own judged queries and search
//! logs, and writes a model folder that `--encoder-model DIR` loads.

use std::path::PathBuf;

use anyhow::Context;
use assay_encoder::{FinetuneOptions, Freeze};
use assay_fetch::Pack;
use assay_search::{FinetuneConfig, FinetuneSummary, PairSource, PairWeights};
use assay_train::{AdamWConfig, Decay, TrainConfig};
use serde::Serialize;

use crate::cli::FinetuneArgs;
use crate::output::{count, print_json, Table};
use crate::BadInput;

/// The flags, checked before any loading.
struct Checked {
    config: FinetuneConfig,
    base: Option<PathBuf>,
}

fn check(args: &FinetuneArgs) -> anyhow::Result<Checked> {
    let freeze = Freeze::parse(&args.freeze).ok_or_else(|| {
        BadInput(format!(
            "--freeze {}: expected none, embeddings, bottom-N or all-but-head",
            args.freeze
        ))
    })?;
    let mut sources = Vec::new();
    for name in args.sources.split(',').filter(|s| !s.trim().is_empty()) {
        let source = PairSource::parse(name).ok_or_else(|| {
            BadInput(format!(
                "--sources: unknown source `{}` (expected judgments, clicks, carts, purchases)",
                name.trim()
            ))
        })?;
        if !sources.contains(&source) {
            sources.push(source);
        }
    }
    if sources.is_empty() {
        return Err(BadInput("--sources: name at least one source".into()).into());
    }
    if !(0.0..1.0).contains(&args.validation) {
        return Err(BadInput(format!(
            "--validation must lie in [0, 1), got {}",
            args.validation
        ))
        .into());
    }
    let train = TrainConfig {
        epochs: args.epochs,
        batch_size: args.batch,
        lr: args.lr,
        warmup_fraction: args.warmup,
        decay: Decay::Linear,
        adamw: AdamWConfig {
            weight_decay: args.weight_decay,
            ..AdamWConfig::default()
        },
        max_grad_norm: Some(1.0),
        patience: args.patience,
        min_delta: 0.0,
        max_seconds: args.max_seconds,
        seed: args.seed,
    };
    train.validate().map_err(|e| BadInput(e.to_string()))?;
    check_out(&args.out)?;
    if args.batch < 2 {
        return Err(BadInput(
            "--batch must be at least 2: the other pairs of a batch are the negatives".into(),
        )
        .into());
    }
    Ok(Checked {
        config: FinetuneConfig {
            sources,
            weights: PairWeights::default(),
            validation_fraction: args.validation,
            negative_depth: 30,
            pairs_per_query: (args.pairs_per_query > 0).then_some(args.pairs_per_query),
            max_corpus: 20_000,
            encoder: FinetuneOptions {
                freeze,
                scale: 20.0,
                max_seq_length: args.max_tokens,
                dropout: true,
                encode_batch_size: 64,
                train,
            },
        },
        base: args.base_model.clone(),
    })
}

/// `--out` is new, empty, or an earlier fine-tuned folder: never a folder of the user's other
/// files, which the model's files would land among.
fn check_out(out: &std::path::Path) -> anyhow::Result<()> {
    if !out.exists() {
        return Ok(());
    }
    if !out.is_dir() {
        return Err(BadInput(format!("--out {}: not a folder", out.display())).into());
    }
    let empty = std::fs::read_dir(out)
        .with_context(|| format!("reading --out {}", out.display()))?
        .next()
        .is_none();
    let ours = [assay_encoder::TRAINING_FILE, VALUE_FILE]
        .iter()
        .any(|name| out.join(name).is_file());
    if !empty && !ours {
        return Err(BadInput(format!(
            "--out {}: the folder has other files and is neither a fine-tuned model ({}) nor a valuation ({VALUE_FILE}); name a new or empty folder",
            out.display(),
            assay_encoder::TRAINING_FILE
        ))
        .into());
    }
    Ok(())
}

#[derive(Serialize)]
struct Output<'a> {
    dataset: &'a str,
    out: &'a std::path::Path,
    base_model: &'a std::path::Path,
    freeze: String,
    #[serde(flatten)]
    summary: &'a FinetuneSummary,
}

pub fn run(args: FinetuneArgs) -> anyhow::Result<()> {
    let checked = check(&args)?;
    let base = match &checked.base {
        Some(dir) => {
            if !dir.join("model.safetensors").is_file() {
                return Err(BadInput(format!(
                    "--base-model {}: no model.safetensors there",
                    dir.display()
                ))
                .into());
            }
            dir.clone()
        }
        None => crate::data::pack_dir(Pack::Minilm)?,
    };
    let catalog = crate::catalog::load_catalog(&args.data)?;
    let judgments = match &args.judgments {
        Some(path) => {
            crate::eval_search::read_judgments_file(&catalog, path, args.data.unknown_refs)?
        }
        None => catalog.dataset.judgments.clone(),
    };
    let mut note = |line: &str| {
        if !args.json {
            eprintln!("{line}");
        }
    };
    if args.value {
        return value(
            &args,
            &checked.config,
            &base,
            &catalog,
            &judgments,
            &mut note,
        );
    }
    let summary = assay_search::finetune(
        &catalog.dataset,
        &judgments,
        &base,
        &args.out,
        &checked.config,
        &mut note,
    )
    .with_context(|| format!("fine-tuning {}", base.display()))?;
    let output = Output {
        dataset: &catalog.dataset.name,
        out: &args.out,
        base_model: &base,
        freeze: checked.config.encoder.freeze.to_string(),
        summary: &summary,
    };
    write_training_page(&output)?;
    if args.json {
        return print_json(&output);
    }
    let pairs: Vec<String> = summary
        .pairs
        .iter()
        .map(|(s, n)| format!("{} {}", count(*n), s.as_str()))
        .collect();
    println!(
        "{}: {} pairs ({}); training on {} pairs of {} queries ({} with a BM25 hard negative), validating on {} queries over {} items",
        catalog.dataset.name,
        count(summary.train_pairs + summary.validation_pairs),
        pairs.join(", "),
        count(summary.train_pairs),
        count(summary.train_queries),
        count(summary.hard_negatives),
        count(summary.validation_queries),
        count(summary.validation_corpus),
    );
    println!(
        "freeze {}: {} of {} parameters trained; {} epoch(s), {} steps, {} pairs in {:.0} s (stopped by {})",
        output.freeze,
        count(summary.trainable_parameters),
        count(summary.parameters),
        summary.epochs,
        count(summary.steps),
        count(summary.pairs_seen),
        summary.train_seconds,
        summary.stopped_by
    );
    let mut table = Table::new(&["validation", "nDCG@10", "MRR@10", "Recall@100"]);
    for (name, v) in [
        ("pretrained".to_owned(), &summary.pretrained),
        (
            format!("fine-tuned (epoch {})", summary.best_epoch),
            &summary.best,
        ),
    ] {
        table.row(vec![
            name,
            format!("{:.4}", v.ndcg_at_10),
            format!("{:.4}", v.mrr_at_10),
            format!("{:.4}", v.recall_at_100),
        ]);
    }
    table.print()?;
    match &summary.fusion {
        Some(f) => println!(
            "learned fusion {} on {} validation queries: nDCG@10 {:.4} (bm25 alone {:.4}, vector alone {:.4}); --mode hybrid uses it",
            f.label(),
            count(f.fit_queries),
            f.ndcg_at_10,
            f.bm25_ndcg_at_10,
            f.vector_ndcg_at_10
        ),
        None => println!("no fusion learned: no validation queries"),
    }
    println!(
        "saved to {} (curves.csv and report.html, training.json, fusion.json, queries.txt); use it with --encoder-model {}",
        args.out.display(),
        args.out.display()
    );
    Ok(())
}

/// Writes `report.html` beside the model: the run's facts and its curves drawn.
fn write_training_page(output: &Output<'_>) -> anyhow::Result<()> {
    let s = output.summary;
    let curves_path = output.out.join("curves.csv");
    let curves = assay_import::read_training_curves(&curves_path)
        .with_context(|| format!("reading back {}", curves_path.display()))?;
    let validation = |v: &assay_search::Validation| {
        format!(
            "nDCG@10 {:.4}, MRR@10 {:.4}, Recall@100 {:.4}",
            v.ndcg_at_10, v.mrr_at_10, v.recall_at_100
        )
    };
    let mut facts = vec![
        ("data".to_owned(), output.dataset.to_owned()),
        ("base model".into(), output.base_model.display().to_string()),
        ("frozen".into(), output.freeze.clone()),
        (
            "training".into(),
            format!(
                "{} pairs of {} queries ({} with a BM25 hard negative)",
                count(s.train_pairs),
                count(s.train_queries),
                count(s.hard_negatives)
            ),
        ),
        (
            "validation".into(),
            format!(
                "{} queries over {} items",
                count(s.validation_queries),
                count(s.validation_corpus)
            ),
        ),
        (
            "run".into(),
            format!(
                "{} epoch(s), {} steps, {:.0} s of training, stopped by {}",
                s.epochs,
                count(s.steps),
                s.train_seconds,
                s.stopped_by
            ),
        ),
        ("pretrained".into(), validation(&s.pretrained)),
        (
            format!("kept (epoch {})", s.best_epoch),
            validation(&s.best),
        ),
    ];
    if let Some(f) = &s.fusion {
        facts.push((
            "learned fusion".into(),
            format!(
                "{}: nDCG@10 {:.4} on {} validation queries (bm25 alone {:.4}, vector alone {:.4})",
                f.label(),
                f.ndcg_at_10,
                count(f.fit_queries),
                f.bm25_ndcg_at_10,
                f.vector_ndcg_at_10
            ),
        ));
    }
    let title = format!("Fine-tuning the encoder on {}", output.dataset);
    let html = assay_report::render_training(&title, &facts, Some(&curves), None);
    let path = output.out.join("report.html");
    assay_fetch::write_atomically(&path, |w| w.write_all(html.as_bytes()))
        .with_context(|| format!("writing {}", path.display()))
}

/// The valuation's file in --out.
const VALUE_FILE: &str = "value.json";

#[derive(Serialize)]
struct SourceRow {
    source: String,
    shapley: f64,
    alone: f64,
    without: f64,
}

#[derive(Serialize)]
struct ValueOutput<'a> {
    dataset: &'a str,
    base_model: &'a std::path::Path,
    utility: &'static str,
    method: String,
    seconds: f64,
    values: Vec<SourceRow>,
    #[serde(flatten)]
    valuation: &'a assay_search::SourceValuation,
}

/// `--value`: every coalition of sources and the learning curve, then exact Shapley values.
fn value(
    args: &FinetuneArgs,
    config: &FinetuneConfig,
    base: &std::path::Path,
    catalog: &crate::catalog::Catalog,
    judgments: &[assay_core::Judgment],
    note: &mut dyn FnMut(&str),
) -> anyhow::Result<()> {
    if config.sources.len() > assay_search::MAX_VALUED_SOURCES {
        return Err(BadInput(format!(
            "--value: at most {} sources",
            assay_search::MAX_VALUED_SOURCES
        ))
        .into());
    }
    if let Some(bad) = args.curve.iter().find(|f| !(**f > 0.0 && **f <= 1.0)) {
        return Err(BadInput(format!("--curve: shares lie in (0, 1], got {bad}")).into());
    }
    let started = std::time::Instant::now();
    let valuation =
        assay_search::value_sources(&catalog.dataset, judgments, base, config, &args.curve, note)
            .with_context(|| format!("valuing the fine-tuning data of {}", catalog.dataset.name))?;
    let n = valuation.sources.len();
    let utility = assay_value::FnUtility::new(
        "validation nDCG@10 of the fine-tuned encoder",
        n,
        |members: &[usize]| valuation.ndcg_of(members),
    );
    let shapley = assay_value::exact_shapley(&utility)?;
    let everyone: Vec<usize> = (0..n).collect();
    let rows: Vec<SourceRow> = valuation
        .sources
        .iter()
        .enumerate()
        .map(|(i, source)| {
            let others: Vec<usize> = everyone.iter().copied().filter(|&j| j != i).collect();
            SourceRow {
                source: source.as_str().to_owned(),
                shapley: shapley.players[i].value,
                alone: valuation.ndcg_of(&[i]),
                without: valuation.ndcg_of(&others),
            }
        })
        .collect();
    let output = ValueOutput {
        dataset: &catalog.dataset.name,
        base_model: base,
        utility: "validation nDCG@10 of the fine-tuned encoder",
        method: shapley.method.clone(),
        seconds: started.elapsed().as_secs_f64(),
        values: rows,
        valuation: &valuation,
    };
    let json = serde_json::to_vec_pretty(&output)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating --out {}", args.out.display()))?;
    let path = args.out.join(VALUE_FILE);
    assay_fetch::write_atomically(&path, |w| w.write_all(&json))
        .with_context(|| format!("writing {}", path.display()))?;
    let worth = assay_report::SourceWorth {
        metric: "validation nDCG@10".into(),
        values: output
            .values
            .iter()
            .map(|r| (r.source.clone(), r.shapley))
            .collect(),
        curve: valuation
            .learning_curve
            .iter()
            .map(|r| (r.train_pairs as f64, r.validation.ndcg_at_10))
            .collect(),
    };
    let facts = vec![
        ("data".to_owned(), catalog.dataset.name.clone()),
        ("base model".into(), base.display().to_string()),
        (
            "validation".into(),
            format!(
                "{} held-out judged queries, the same for every run",
                count(valuation.validation_queries)
            ),
        ),
        (
            "cost".into(),
            format!(
                "{} fine-tunes in {:.0} s",
                valuation.coalitions.len() - 1 + valuation.learning_curve.len() - 1,
                output.seconds
            ),
        ),
    ];
    let title = format!(
        "What the fine-tuning data of {} is worth",
        catalog.dataset.name
    );
    let html = assay_report::render_training(&title, &facts, None, Some(&worth));
    let page = args.out.join("value.html");
    assay_fetch::write_atomically(&page, |w| w.write_all(html.as_bytes()))
        .with_context(|| format!("writing {}", page.display()))?;
    if args.json {
        return print_json(&output);
    }
    let none = valuation.ndcg_of(&[]);
    let all = valuation.ndcg_of(&everyone);
    println!(
        "{}: what each source of fine-tuning data is worth to validation nDCG@10 on {} held-out judged queries",
        catalog.dataset.name,
        count(valuation.validation_queries)
    );
    let mut table = Table::new(&["source", "Shapley value", "alone", "all but it"]);
    for r in &output.values {
        table.row(vec![
            r.source.clone(),
            format!("{:+.4}", r.shapley),
            format!("{:.4}", r.alone),
            format!("{:.4}", r.without),
        ]);
    }
    table.print()?;
    println!(
        "pretrained {none:.4}, all sources {all:.4}: the values sum to {:+.4}; exact Shapley over {} fine-tunes in {:.0} s",
        all - none,
        valuation.coalitions.len() - 1,
        output.seconds
    );
    let mut curve = Table::new(&[
        "training pairs",
        "nDCG@10",
        "MRR@10",
        "Recall@100",
        "seconds",
    ]);
    for r in &valuation.learning_curve {
        curve.row(vec![
            count(r.train_pairs),
            format!("{:.4}", r.validation.ndcg_at_10),
            format!("{:.4}", r.validation.mrr_at_10),
            format!("{:.4}", r.validation.recall_at_100),
            format!("{:.0}", r.seconds),
        ]);
    }
    println!("\nlearning curve (all sources, growing by whole queries)");
    curve.print()?;
    println!("saved to {} and {}", path.display(), page.display());
    Ok(())
}
