//! `assay finetune`: fine-tunes the sentence encoder on the shop's own judged queries and search
//! logs, and writes a model folder that `--encoder-model DIR` loads.

use std::path::PathBuf;

use anyhow::Context;
use assay_encoder::{FinetuneOptions, Freeze};
use assay_fetch::{Home, Pack};
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
        None => {
            crate::data::ensure_packs(&[Pack::Minilm])?;
            Home::from_env()
                .locate(Pack::Minilm)
                .context("the minilm pack is missing after fetching it")?
        }
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
    println!(
        "saved to {} (curves.csv, training.json); use it with --encoder-model {}",
        args.out.display(),
        args.out.display()
    );
    Ok(())
}
