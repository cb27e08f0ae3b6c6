//! `assay eval`, `assay tune`, `assay train`, `assay recommend`: recommenders on RecBole's
//! protocol, hyper-parameter search, model files and top-k lists.

use std::path::Path;

use anyhow::Context;
use assay_core::{Dataset, Interactions};
use assay_metrics::Metric;
use assay_recommend::eval::{self, Progress, Protocol};
use assay_recommend::store::{self, SavedModel, IDS_FILE};
use assay_recommend::{ModelSpec, RecommendError, StopReason};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::cli::{EvalArgs, LearnArgs, RecommendArgs, TrainArgs, TuneArgs};
use crate::curves;
use crate::data;
use crate::output::{print_json, Table};
use crate::BadInput;

fn protocol(name: &str, learn: LearnArgs) -> anyhow::Result<Protocol> {
    let protocol = Protocol::parse(name).map_err(|e| BadInput(format!("--protocol: {e}")))?;
    Ok(Protocol {
        impressions: learn.impressions(),
        ..protocol
    })
}

fn specs(text: &str) -> anyhow::Result<Vec<ModelSpec>> {
    ModelSpec::parse_list(text).map_err(|e| BadInput(format!("--models: {e}")).into())
}

/// A progress bar over fits, hidden when stderr is not a terminal.
fn fit_bar(total: usize) -> ProgressBar {
    let bar = ProgressBar::new(total as u64);
    let style = ProgressStyle::with_template("{bar:30} {pos}/{len} fits  {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}

fn on_progress(bar: &ProgressBar) -> impl Fn(Progress<'_>) + Sync + '_ {
    move |event| match event {
        Progress::Fitting { model, seed, .. } => bar.set_message(format!("{model} (seed {seed})")),
        Progress::Epoch {
            model,
            epoch,
            valid,
        } => {
            let score = valid.map(|v| format!(", valid {v:.4}")).unwrap_or_default();
            bar.set_message(format!("{model}: epoch {epoch}{score}"));
        }
        Progress::Finished { .. } => bar.inc(1),
    }
}

/// The model that takes the place of a default one over the memory budget: ItemKNN's memory
/// grows with the interactions, and data valuation has an exact fast path for it.
pub fn scalable_model() -> ModelSpec {
    ModelSpec::parse("itemknn").expect("itemknn is a registered model")
}

/// `spec` when a fit on `data` is within the memory budget. Otherwise, when the user did not
/// name the model (`defaulted`), the scalable model with a note on standard error; when they
/// did, the refusal.
fn within_memory(spec: ModelSpec, data: &Dataset, defaulted: bool) -> anyhow::Result<ModelSpec> {
    match spec.check_memory(data.users.len(), data.items.len(), 1) {
        Ok(()) => Ok(spec),
        Err(RecommendError::TooLarge(refused)) if defaulted => {
            let instead = scalable_model();
            eprintln!("note: {}; fitting {instead} instead", refused.need());
            Ok(instead)
        }
        Err(error) => Err(error.into()),
    }
}

/// `typed`: the ids of the flags given on the command line; a default list of models leaves
/// out, with a note, those over the memory budget.
pub fn eval(args: EvalArgs, typed: &[String]) -> anyhow::Result<()> {
    let protocol = protocol(&args.protocol, args.learn)?;
    let mut models = specs(&args.models)?;
    if args.seeds == 0 {
        return Err(BadInput("--seeds: expected at least 1".into()).into());
    }
    if let Some(dir) = &args.curves {
        curves::prepare(dir)?;
    }
    let loaded = data::load_to_learn(&args.data, &args.learn)?;
    if !typed.iter().any(|t| t == "models") {
        let data = &loaded.dataset;
        models.retain(
            |spec| match spec.check_memory(data.users.len(), data.items.len(), 1) {
                Ok(()) => true,
                Err(RecommendError::TooLarge(refused)) => {
                    eprintln!("note: {}; left out", refused.need());
                    false
                }
                Err(_) => true,
            },
        );
    }
    if models.is_empty() {
        return Err(BadInput(
            "--models: every model of the default list is over the memory limit; name smaller ones"
                .into(),
        )
        .into());
    }
    // Seeds are SEED, SEED + 1, ...: consecutive modulo 2^64, so any --seed is valid.
    let seeds: Vec<u64> = (0..args.seeds as u64)
        .map(|s| args.seed.wrapping_add(s))
        .collect();
    let bar = fit_bar(models.len() * seeds.len());
    let rows = eval::evaluate(
        &loaded.dataset,
        &protocol,
        &models,
        &seeds,
        &on_progress(&bar),
    )?;
    bar.finish_and_clear();
    if let Some(dir) = &args.curves {
        let page = write_eval_curves(dir, &rows, &protocol, &loaded.dataset.name, seeds.len())?;
        eprintln!("training curves: {}", page.display());
    }
    if args.json {
        return print_json(&rows);
    }
    let k = protocol.k;
    println!(
        "{} on protocol {} (K = {k}), {} seed(s) from {}; test metrics, mean ± std over seeds",
        loaded.dataset.name,
        protocol.name(),
        seeds.len(),
        args.seed
    );
    let titles = [
        "model".to_owned(),
        format!("recall@{k}"),
        format!("mrr@{k}"),
        format!("ndcg@{k}"),
        format!("hit@{k}"),
        format!("precision@{k}"),
        format!("valid {}@{k}", protocol.valid_metric.name()),
        "coverage".into(),
        "fit s".into(),
        "eval s".into(),
    ];
    let header: Vec<&str> = titles.iter().map(String::as_str).collect();
    let mut table = Table::new(&header);
    for row in &rows {
        let cell = |metric: Metric| {
            let mean = row.test.mean.get(metric);
            let std = row.test.std.get(metric);
            if seeds.len() > 1 {
                format!("{mean:.4}±{std:.4}")
            } else {
                format!("{mean:.4}")
            }
        };
        table.row(vec![
            row.model.clone(),
            cell(Metric::Recall),
            cell(Metric::Mrr),
            cell(Metric::Ndcg),
            cell(Metric::Hit),
            cell(Metric::Precision),
            format!("{:.4}", row.valid.mean.get(protocol.valid_metric)),
            format!("{:.3}", row.test_coverage),
            format!("{:.2}", row.fit_seconds),
            format!("{:.2}", row.eval_seconds),
        ]);
    }
    table.print()?;
    print_training(&rows, &protocol);
    Ok(())
}

/// `--curves DIR` of `assay eval`: every fit with a training log gets DIR/MODEL[-seedN]/
/// curves.csv (its steps and its validation metric per epoch), and DIR/training.html draws
/// them all.
fn write_eval_curves(
    dir: &Path,
    rows: &[eval::EvalRow],
    protocol: &Protocol,
    dataset: &str,
    seeds: usize,
) -> anyhow::Result<std::path::PathBuf> {
    let metric = format!("valid_{}@{}", protocol.valid_metric.name(), protocol.k);
    let mut taken = std::collections::HashSet::new();
    let mut fits = Vec::new();
    for row in rows {
        for run in &row.runs {
            let Some(log) = &run.training else {
                continue;
            };
            let folder =
                curves::folder_name(&row.model, (seeds > 1).then_some(run.seed), &mut taken);
            curves::write_log(dir, &folder, log, Some(&metric))?;
            fits.push(curves::Fit {
                name: format!("{}, seed {}", row.model, run.seed),
                folder,
                best_epoch: log.best_epoch,
                stop: log.stop,
                watched: None,
            });
        }
    }
    let facts = [
        ("data".to_owned(), dataset.to_owned()),
        ("protocol".to_owned(), protocol.name().to_owned()),
        ("validation metric".to_owned(), metric.clone()),
        (
            "models".to_owned(),
            rows.iter()
                .map(|r| r.model.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        ),
    ];
    curves::write_page(dir, &format!("Training curves: {dataset}"), &facts, &fits)
}

/// One line per fit of an iterative model: epochs run, the epoch kept, where early stopping
/// fired, and seconds per epoch when measured. The whole curve is in `--json`.
fn print_training(rows: &[eval::EvalRow], protocol: &Protocol) {
    let metric = format!("{}@{}", protocol.valid_metric.name(), protocol.k);
    for row in rows {
        for run in &row.runs {
            let Some(log) = &run.training else {
                continue;
            };
            let mut line = format!(
                "{} seed {}: {} epochs",
                row.model,
                run.seed,
                log.epochs.len()
            );
            if let Some(best) = log.best_epoch {
                let score = log
                    .epochs
                    .get(best - 1)
                    .and_then(|e| e.valid)
                    .unwrap_or(f64::NAN);
                line.push_str(&format!(", best epoch {best} (valid {metric} {score:.4})"));
            }
            let last = log.epochs.len();
            match log.stop {
                Some(StopReason::Patience) => line.push_str(&format!(
                    ", early stopping fired at epoch {last} ({} epochs without improvement)",
                    last - log.best_epoch.unwrap_or(0)
                )),
                Some(StopReason::TimeLimit) => {
                    line.push_str(&format!(", time limit reached at epoch {last}"))
                }
                Some(StopReason::MaxEpochs) => line.push_str(", every epoch ran"),
                None => {}
            }
            let seconds: Vec<f64> = log.epochs.iter().filter_map(|e| e.seconds).collect();
            if !seconds.is_empty() {
                let mean = seconds.iter().sum::<f64>() / seconds.len() as f64;
                line.push_str(&format!("; {mean:.2} s per epoch"));
            }
            println!("{line}");
        }
    }
}

pub fn tune(args: TuneArgs) -> anyhow::Result<()> {
    let protocol = protocol(&args.protocol, args.learn)?;
    let candidates = ModelSpec::grid(&args.grid).map_err(|e| BadInput(format!("--grid: {e}")))?;
    let loaded = data::load_to_learn(&args.data, &args.learn)?;
    let bar = fit_bar(candidates.len());
    let result = eval::search(
        &loaded.dataset,
        &protocol,
        &candidates,
        args.seed,
        &on_progress(&bar),
    )?;
    bar.finish_and_clear();
    if args.json {
        return print_json(&result);
    }
    let mut table = Table::new(&["candidate", "validation score", "best"]);
    for (i, (spec, score)) in result.tried.iter().enumerate() {
        let mark = if i == result.best { "*" } else { "" };
        table.row(vec![spec.clone(), format!("{score:.4}"), mark.into()]);
    }
    table.print()?;
    Ok(())
}

/// `typed`: the ids of the flags given on the command line; the default model gives way to a
/// scalable one, with a note, when it is over the memory budget.
pub fn train(args: TrainArgs, typed: &[String]) -> anyhow::Result<()> {
    let spec = ModelSpec::parse(&args.model).map_err(|e| BadInput(format!("--model: {e}")))?;
    if let Some(dir) = &args.curves {
        curves::prepare(dir)?;
    }
    let loaded = data::load_to_learn(&args.data, &args.learn)?;
    let data = &loaded.dataset;
    let spec = within_memory(spec, data, !typed.iter().any(|t| t == "model"))?;
    let rows = eval::learning_rows(data, args.learn.impressions())?;
    let interactions = Interactions::from_events(data, &rows);
    let spinner = ProgressBar::new_spinner();
    spinner.set_message(format!(
        "fitting {spec} on {} interactions",
        interactions.nnz()
    ));
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    let started = std::time::Instant::now();
    let model = spec
        .with_seed(args.seed)
        .fit(&interactions, data, None, &|_, _| {})?;
    spinner.finish_and_clear();
    let fit_seconds = started.elapsed().as_secs_f64();
    store::save_with_ids(&args.out, model.as_ref(), data)
        .with_context(|| format!("saving the model to {}", args.out.display()))?;
    if let Some(dir) = &args.curves {
        match model.training_log() {
            Some(log) => {
                let mut taken = std::collections::HashSet::new();
                let folder = curves::folder_name(&spec.to_string(), None, &mut taken);
                curves::write_log(dir, &folder, log, None)?;
                let fit = curves::Fit {
                    name: format!("{spec}, seed {}", args.seed),
                    folder,
                    best_epoch: log.best_epoch,
                    stop: log.stop,
                    watched: None,
                };
                let facts = [
                    ("data".to_owned(), data.name.clone()),
                    ("model".to_owned(), spec.to_string()),
                    (
                        "validation".to_owned(),
                        "none (assay train fits on all the data)".to_owned(),
                    ),
                ];
                let title = format!("Training curves: {}", data.name);
                let page = curves::write_page(dir, &title, &facts, &[fit])?;
                eprintln!("training curves: {}", page.display());
            }
            None => eprintln!("note: {spec} does not train in epochs; no curves to write"),
        }
    }
    if args.json {
        return print_json(&serde_json::json!({
            "model": spec.to_string(),
            "dir": args.out,
            "users": data.users.len(),
            "items": data.items.len(),
            "interactions": interactions.nnz(),
            "fit_seconds": fit_seconds,
        }));
    }
    println!(
        "fitted {spec} on {} interactions of {} users and {} items in {fit_seconds:.2} s; saved to {}",
        interactions.nnz(),
        data.users.len(),
        data.items.len(),
        args.out.display()
    );
    Ok(())
}

#[derive(Serialize)]
struct Recommendation {
    rank: usize,
    item: String,
    title: String,
    score: f32,
}

/// A model saved by `assay train` and the dense index of `user` in it.
fn open_model(dir: &Path, user: &str) -> anyhow::Result<(SavedModel, u32)> {
    let saved = store::open(dir).map_err(|e| match &e {
        RecommendError::Io { path, .. } if path.ends_with(IDS_FILE) => BadInput(format!(
            "{e}; expected a model directory written by `assay train`"
        )),
        _ => BadInput(e.to_string()),
    })?;
    let Some(index) = saved.ids.user_index(user) else {
        return Err(BadInput(format!(
            "--user: no user '{user}' in the model's data ({})",
            saved.ids.dataset
        ))
        .into());
    };
    Ok((saved, index))
}

/// Every item's score for `user` from a model saved by `assay train`, min-max scaled to
/// [0, 1] and keyed by item id: the personal term of `assay search --user`.
pub fn user_item_scores(
    model_dir: &Path,
    user: &str,
) -> anyhow::Result<std::collections::HashMap<String, f32>> {
    let (SavedModel { model, ids }, user) = open_model(model_dir, user)?;
    let mut scores = vec![0.0f32; ids.items.len()];
    model.score_user(user, &mut scores);
    let finite = scores.iter().copied().filter(|s| s.is_finite());
    let (lo, hi) = finite.fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), s| {
        (lo.min(s), hi.max(s))
    });
    Ok(ids
        .items
        .into_iter()
        .zip(scores)
        .filter(|(_, s)| s.is_finite())
        .map(|(id, s)| (id, if hi > lo { (s - lo) / (hi - lo) } else { 0.0 }))
        .collect())
}

pub fn recommend(args: RecommendArgs) -> anyhow::Result<()> {
    let (SavedModel { model, ids }, user) = open_model(&args.model, &args.user)?;
    let list: Vec<Recommendation> = model
        .top_k(user, args.k, &[])
        .into_iter()
        .enumerate()
        .map(|(rank, (item, score))| Recommendation {
            rank: rank + 1,
            item: ids.items[item as usize].clone(),
            title: ids.titles.get(item as usize).cloned().unwrap_or_default(),
            score,
        })
        .collect();
    if args.json {
        return print_json(&list);
    }
    let seen = model.history().items_of(user).len();
    println!(
        "top {} for user {} ({} items in their history left out)",
        args.k, args.user, seen
    );
    let mut table = Table::new(&["rank", "item", "title", "score"]);
    for r in &list {
        table.row(vec![
            r.rank.to_string(),
            r.item.clone(),
            r.title.clone(),
            format!("{:.4}", r.score),
        ]);
    }
    table.print()?;
    Ok(())
}

/// A shorthand used by quickstart: evaluate `models` on `dataset` with the RecBole protocol.
pub fn quick_eval(
    dataset: &Dataset,
    models: &str,
    seed: u64,
) -> anyhow::Result<Vec<eval::EvalRow>> {
    let protocol = Protocol::recbole();
    let specs = specs(models)?;
    let bar = fit_bar(specs.len());
    let rows = eval::evaluate(dataset, &protocol, &specs, &[seed], &on_progress(&bar))?;
    bar.finish_and_clear();
    Ok(rows)
}
