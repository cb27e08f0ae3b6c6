//! Offline evaluation: protocols (how to split), full-ranking evaluation, hyper-parameter
//! search and multi-seed runs.
//!
//! Protocol `recbole` reproduces RecBole 1.2.1's defaults on an implicit dataset: every event is
//! a positive interaction, each user's events are shuffled and cut 80/10/10 (`RS`, `RO`), models
//! rank *all* items, validation masks the user's training items, test masks training and
//! validation items (RecBole's `history_item` at test time), K = 10, and the validation metric
//! is MRR@10. Only users with at least one held-out item are averaged.
//! `loo` cuts each user's last two events by time (validation, test); `temporal` cuts the
//! whole log at the 80% and 90% time quantiles. Impressions are left out unless the protocol
//! says otherwise ([`Impressions`]): they record exposure, not preference.

use std::time::Instant;

use assay_core::budget::{self, Estimate};
use assay_core::clean::{self, Impressions};
use assay_core::memory;
use assay_core::split::{self, Order, Split};
use assay_core::{Dataset, Interactions, UserIdx};
use assay_metrics::{AudienceUser, ExposureAccumulator, Metric, MetricValues, RankingAccumulator};
use serde::Serialize;

use std::sync::Mutex;

use crate::{
    mask, top_k_of, EpochLog, FitSize, ModelSpec, RecommendError, Recommender, Result, TrainingLog,
};

/// How data is split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SplitKind {
    /// Per-user random 80/10/10 (RecBole `RS` with `RO`).
    RecBole,
    /// Per-user leave-last-out by time.
    Loo,
    /// Global time split at the 80% and 90% quantiles.
    Temporal,
}

/// An evaluation protocol: split, cut-off and validation metric.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Protocol {
    /// How events are split.
    pub split: SplitKind,
    /// The cut-off K of all reported metrics.
    pub k: usize,
    /// The metric (at K) that selects models and stops training.
    pub valid_metric: Metric,
    /// Whether impressions count as interactions.
    pub impressions: Impressions,
}

impl Protocol {
    /// RecBole's defaults: RS 80/10/10 random order, full ranking, K = 10, MRR@10.
    pub fn recbole() -> Protocol {
        Protocol {
            split: SplitKind::RecBole,
            k: 10,
            valid_metric: Metric::Mrr,
            impressions: Impressions::Skip,
        }
    }

    /// Leave-last-out, K = 10, MRR@10.
    pub fn loo() -> Protocol {
        Protocol {
            split: SplitKind::Loo,
            ..Protocol::recbole()
        }
    }

    /// Global temporal 80/10/10, K = 10, MRR@10.
    pub fn temporal() -> Protocol {
        Protocol {
            split: SplitKind::Temporal,
            ..Protocol::recbole()
        }
    }

    /// `recbole`, `loo` or `temporal`.
    pub fn parse(name: &str) -> Result<Protocol> {
        match name.trim().to_ascii_lowercase().as_str() {
            "recbole" | "rs" => Ok(Protocol::recbole()),
            "loo" | "leave-last-out" => Ok(Protocol::loo()),
            "temporal" | "time" => Ok(Protocol::temporal()),
            other => Err(RecommendError::Spec {
                spec: other.to_owned(),
                reason: "unknown protocol; known: recbole, loo, temporal".into(),
            }),
        }
    }

    /// The protocol's name.
    pub fn name(&self) -> &'static str {
        match self.split {
            SplitKind::RecBole => "recbole",
            SplitKind::Loo => "loo",
            SplitKind::Temporal => "temporal",
        }
    }
}

/// The three interaction matrices of one split.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// What models fit on.
    pub train: Interactions,
    /// What validation scores.
    pub valid: Interactions,
    /// What the test scores.
    pub test: Interactions,
}

/// The rows of `data` a model learns from under `impressions`; an error when there are none.
pub fn learning_rows(data: &Dataset, impressions: Impressions) -> Result<Vec<u32>> {
    let rows = clean::learning_rows(data, impressions);
    if rows.is_empty() {
        return Err(RecommendError::Data(format!(
            "{}: every event is an impression, and impressions are left out \
             (--learn-from-impressions keeps them)",
            data.name
        )));
    }
    Ok(rows)
}

/// Splits the events of `data` that models learn from by `protocol` (the seed matters for
/// `recbole` only).
pub fn prepare(data: &Dataset, protocol: &Protocol, seed: u64) -> Result<Prepared> {
    if data.events.is_empty() {
        return Err(RecommendError::Data(format!("{}: no events", data.name)));
    }
    let rows = learning_rows(data, protocol.impressions)?;
    let parts: Split = match protocol.split {
        SplitKind::RecBole => split::by_ratio(data, &rows, [0.8, 0.1, 0.1], Order::Random { seed }),
        SplitKind::Loo => split::leave_last_out(data, &rows),
        SplitKind::Temporal => split::by_time_ratio(data, &rows, [0.8, 0.1, 0.1]).0,
    };
    if parts.test.is_empty() {
        return Err(RecommendError::Data(format!(
            "{}: the {} split leaves no test events",
            data.name,
            protocol.name()
        )));
    }
    Ok(Prepared {
        train: Interactions::from_events(data, &parts.train),
        valid: Interactions::from_events(data, &parts.valid),
        test: Interactions::from_events(data, &parts.test),
    })
}

/// Ranking metrics and exposure of one evaluation pass.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// Ranking metrics at the requested cut-offs.
    pub ranking: RankingAccumulator,
    /// Exposure of the top-K lists (K = the largest cut-off).
    pub exposure: ExposureAccumulator,
}

/// Full-ranking evaluation: for every user with items in `target`, ranks all items except the
/// model's training history and the user's items in `also_mask`, and scores the top `max(ks)`
/// against `target`. The items in `also_mask` are the user's events after the training ones
/// (validation at test time): they are passed to [`Recommender::score_user_after`], so an
/// order-aware model reads them as RecBole's sequential models do. Users are processed in parallel, in fixed chunks merged in user order
/// (the same bits whatever the number of threads).
pub fn evaluate_model(
    model: &dyn Recommender,
    target: &Interactions,
    also_mask: Option<&Interactions>,
    ks: &[usize],
) -> Evaluation {
    let n_items = model.history().n_items();
    let audience: Vec<AudienceUser> = (0..target.n_users() as UserIdx)
        .filter(|&u| !target.items_of(u).is_empty() && (u as usize) < model.history().n_users())
        .map(|u| AudienceUser {
            user: u,
            relevant: target.items_of(u).to_vec(),
            exclude: Vec::new(),
        })
        .collect();
    let (ranking, exposure) = assay_metrics::evaluate_audience(
        &audience,
        ks,
        n_items,
        || vec![0.0f32; n_items],
        |scores, user, k| {
            match also_mask {
                // The masked items are the user's newer events: order-aware models read them.
                Some(extra) => model.score_user_after(user.user, extra.items_of(user.user), scores),
                None => model.score_user(user.user, scores),
            }
            mask(scores, model.history().items_of(user.user));
            if let Some(extra) = also_mask {
                mask(scores, extra.items_of(user.user));
            }
            top_k_of(scores, k).into_iter().map(|e| e.0).collect()
        },
    );
    Evaluation { ranking, exposure }
}

/// A validation callback for [`ModelSpec::fit`]: `protocol.valid_metric` at `protocol.k` on
/// `prepared.valid`, masking training items.
pub fn validator<'a>(
    prepared: &'a Prepared,
    protocol: &'a Protocol,
) -> impl Fn(&dyn Recommender) -> f64 + Sync + 'a {
    move |model: &dyn Recommender| {
        evaluate_model(model, &prepared.valid, None, &[protocol.k])
            .ranking
            .mean_of(protocol.valid_metric, protocol.k)
            .unwrap_or(0.0)
    }
}

/// What [`evaluate`] and [`search`] report while they work.
#[derive(Debug, Clone, Copy)]
pub enum Progress<'a> {
    /// A fit of `model` on seed `seed` starts; it is run `run` (from 1) of `runs`.
    Fitting {
        /// The model's spec as text.
        model: &'a str,
        /// The split seed.
        seed: u64,
        /// This run's number, from 1.
        run: usize,
        /// Total runs.
        runs: usize,
    },
    /// An iterative model finished an epoch.
    Epoch {
        /// The model's spec as text.
        model: &'a str,
        /// The epoch, from 1.
        epoch: usize,
        /// Its validation score, if validated.
        valid: Option<f64>,
    },
    /// A run finished.
    Finished {
        /// The model's spec as text.
        model: &'a str,
        /// This run's number, from 1.
        run: usize,
        /// Total runs.
        runs: usize,
        /// Its validation score.
        valid: f64,
    },
}

/// Results of one model on one seed.
#[derive(Debug, Clone, Serialize)]
pub struct SeedRun {
    /// The split (and model) seed.
    pub seed: u64,
    /// Validation metrics at K.
    pub valid: MetricValues,
    /// Test metrics at K.
    pub test: MetricValues,
    /// Share of items in at least one test top-K list.
    pub test_coverage: f64,
    /// Gini index of test top-K exposure.
    pub test_gini: f64,
    /// Seconds to fit (including validation passes of iterative models).
    pub fit_seconds: f64,
    /// Seconds for the validation and test passes.
    pub eval_seconds: f64,
    /// An iterative model's curve: epochs run, the epoch kept and why it stopped.
    pub training: Option<TrainingLog>,
}

/// Mean and sample standard deviation (n - 1) over seeds; std is 0 for one seed.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Means.
    pub mean: MetricValues,
    /// Standard deviations.
    pub std: MetricValues,
}

/// One model's results over all seeds: what the CLI prints as a row.
#[derive(Debug, Clone, Serialize)]
pub struct EvalRow {
    /// The model's spec as text.
    pub model: String,
    /// The protocol's name.
    pub protocol: String,
    /// The seeds run.
    pub seeds: Vec<u64>,
    /// Validation metrics.
    pub valid: Summary,
    /// Test metrics.
    pub test: Summary,
    /// Mean test item coverage.
    pub test_coverage: f64,
    /// Mean test Gini of exposure.
    pub test_gini: f64,
    /// Mean fit seconds.
    pub fit_seconds: f64,
    /// Mean evaluation seconds.
    pub eval_seconds: f64,
    /// Per-seed results.
    pub runs: Vec<SeedRun>,
}

/// Fits and evaluates one model on one prepared split.
pub fn run_once(
    data: &Dataset,
    prepared: &Prepared,
    protocol: &Protocol,
    spec: &ModelSpec,
    seed: u64,
    on_epoch: &(dyn Fn(usize, Option<f64>) + Sync),
) -> Result<(Box<dyn Recommender>, SeedRun)> {
    let spec = spec.with_seed(seed);
    let validate = validator(prepared, protocol);
    let started = Instant::now();
    let seen: Mutex<Vec<(usize, Option<f64>)>> = Mutex::new(Vec::new());
    let record = |epoch: usize, valid: Option<f64>| {
        if let Ok(mut seen) = seen.lock() {
            seen.push((epoch, valid));
        }
        on_epoch(epoch, valid);
    };
    let model = if spec.capabilities().uses_validation() {
        spec.fit(&prepared.train, data, Some(&validate), &record)?
    } else {
        spec.fit(&prepared.train, data, None, &record)?
    };
    let fit_seconds = started.elapsed().as_secs_f64();
    let seen = seen.into_inner().unwrap_or_default();
    let training = match model.training_log() {
        Some(log) => Some(log.clone()),
        None if !seen.is_empty() => Some(log_of(&seen)),
        None => None,
    };
    let started = Instant::now();
    let ks = [protocol.k];
    let valid = evaluate_model(model.as_ref(), &prepared.valid, None, &ks);
    let test = evaluate_model(model.as_ref(), &prepared.test, Some(&prepared.valid), &ks);
    let eval_seconds = started.elapsed().as_secs_f64();
    let run = SeedRun {
        seed,
        valid: valid.ranking.mean()[0],
        test: test.ranking.mean()[0],
        test_coverage: test.exposure.coverage(),
        test_gini: test.exposure.gini(),
        fit_seconds,
        eval_seconds,
        training,
    };
    Ok((model, run))
}

/// The curve of a model that reports only its epochs' validation scores: the best epoch is
/// the first of the highest scores, and why it stopped is unknown.
fn log_of(seen: &[(usize, Option<f64>)]) -> TrainingLog {
    let mut best: Option<(usize, f64)> = None;
    for &(epoch, valid) in seen {
        if let Some(v) = valid {
            if best.is_none_or(|(_, b)| v > b) {
                best = Some((epoch, v));
            }
        }
    }
    TrainingLog {
        epochs: seen
            .iter()
            .map(|&(epoch, valid)| EpochLog {
                epoch,
                loss: None,
                valid,
                seconds: None,
            })
            .collect(),
        best_epoch: best.map(|(epoch, _)| epoch),
        stop: None,
        steps: Vec::new(),
    }
}

/// The sizes that [`estimate`] reads: users, items and the learning events of `data` under
/// `impressions`, scaled to the 80% a split trains on.
pub fn fit_size(data: &Dataset, impressions: Impressions) -> (FitSize, usize) {
    let rows = clean::learning_rows(data, impressions);
    let mut per_user = vec![0u64; data.users.len()];
    for &r in &rows {
        per_user[data.events.user[r as usize] as usize] += 1;
    }
    let train = |n: u64| (n as f64 * 0.8).ceil() as u64;
    let size = FitSize {
        users: data.users.len(),
        items: data.items.len(),
        interactions: train(rows.len() as u64),
        pairs: per_user
            .iter()
            .map(|&n| u128::from(train(n)) * u128::from(train(n)))
            .sum(),
    };
    // Every user with a learning event may hold validation and test items.
    let ranked = per_user.iter().filter(|&&n| n > 0).count();
    (size, ranked)
}

/// The time of [`evaluate`]: for every model and seed, its fit ([`ModelSpec::work`]) and its
/// full-ranking passes over `ranked` users x `size.items` items.
pub fn estimate(
    size: &FitSize,
    ranked: usize,
    models: &[ModelSpec],
    seeds: usize,
) -> (Estimate, Vec<f64>) {
    let scores = ranked as f64 * size.items as f64;
    let per_model: Vec<(f64, u64)> = models
        .iter()
        .map(|spec| {
            let work = spec.work(size);
            let ns = work.fit_ns + work.passes as f64 * scores * work.ns_per_score;
            (budget::seconds_of(ns) * seeds as f64, work.passes)
        })
        .collect();
    let parts: Vec<String> = models
        .iter()
        .zip(&per_model)
        .map(|(spec, (seconds, passes))| {
            format!(
                "{spec}: {} ranking passes, {}",
                passes,
                budget::format_duration(*seconds)
            )
        })
        .collect();
    let estimate = Estimate {
        seconds: per_model.iter().map(|p| p.0).sum(),
        what: format!(
            "{} over {} users x {} items, {} seed{}",
            parts.join("; "),
            memory::format_count(ranked as u64),
            memory::format_count(size.items as u64),
            seeds,
            if seeds == 1 { "" } else { "s" }
        ),
    };
    (estimate, per_model.into_iter().map(|p| p.0).collect())
}

/// Checks, before any work, that [`evaluate`] of `models` on `data` over `seeds` seeds fits in
/// the time budget ([`assay_core::budget`]).
///
/// # Errors
/// [`RecommendError::TooSlow`]: the models, the sizes, the estimate per model, the limit and
/// what to leave out.
pub fn check_time(
    data: &Dataset,
    protocol: &Protocol,
    models: &[ModelSpec],
    seeds: usize,
) -> Result<()> {
    let (size, ranked) = fit_size(data, protocol.impressions);
    let (estimate, per_model) = estimate(&size, ranked, models, seeds);
    let names: Vec<String> = models.iter().map(ModelSpec::to_string).collect();
    budget::check(
        &estimate,
        || {
            format!(
                "eval of {} on {} users x {} items",
                names.join(","),
                memory::format_count(ranked as u64),
                memory::format_count(size.items as u64)
            )
        },
        || {
            let slowest = per_model
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map_or(0, |(m, _)| m);
            let rest: f64 = estimate.seconds - per_model[slowest];
            if models.len() > 1 {
                format!(
                    "leave out {} (the rest: about {}) or run fewer seeds",
                    names[slowest],
                    budget::format_duration(rest)
                )
            } else {
                "evaluate a cheaper model (itemknn, pop) or a sample of the users".to_owned()
            }
        },
    )?;
    Ok(())
}

/// Evaluates every model on every seed: one split per seed (shared by the models), fit on
/// train (iterative models stop early on validation), then validation and test passes.
pub fn evaluate(
    data: &Dataset,
    protocol: &Protocol,
    models: &[ModelSpec],
    seeds: &[u64],
    progress: &(dyn Fn(Progress<'_>) + Sync),
) -> Result<Vec<EvalRow>> {
    if seeds.is_empty() {
        return Err(RecommendError::Data("no seeds given".into()));
    }
    // A model too large for the catalog, or models that would run past the time budget, are
    // refused before any split or fit.
    for spec in models {
        spec.check_memory(data.users.len(), data.items.len(), 1)?;
    }
    check_time(data, protocol, models, seeds.len())?;
    let names: Vec<String> = models.iter().map(ModelSpec::to_string).collect();
    let mut runs: Vec<Vec<SeedRun>> = vec![Vec::new(); models.len()];
    let total = models.len() * seeds.len();
    let mut done = 0;
    for &seed in seeds {
        let prepared = prepare(data, protocol, seed)?;
        for (m, spec) in models.iter().enumerate() {
            done += 1;
            let name = names[m].as_str();
            progress(Progress::Fitting {
                model: name,
                seed,
                run: done,
                runs: total,
            });
            let on_epoch = |epoch, valid| {
                progress(Progress::Epoch {
                    model: name,
                    epoch,
                    valid,
                })
            };
            let (_, run) = run_once(data, &prepared, protocol, spec, seed, &on_epoch)?;
            progress(Progress::Finished {
                model: name,
                run: done,
                runs: total,
                valid: run.valid.get(protocol.valid_metric),
            });
            runs[m].push(run);
        }
    }
    Ok(names
        .into_iter()
        .zip(runs)
        .map(|(model, runs)| EvalRow {
            model,
            protocol: protocol.name().to_owned(),
            seeds: seeds.to_vec(),
            valid: summarize(runs.iter().map(|r| r.valid), protocol.k),
            test: summarize(runs.iter().map(|r| r.test), protocol.k),
            test_coverage: mean(runs.iter().map(|r| r.test_coverage)),
            test_gini: mean(runs.iter().map(|r| r.test_gini)),
            fit_seconds: mean(runs.iter().map(|r| r.fit_seconds)),
            eval_seconds: mean(runs.iter().map(|r| r.eval_seconds)),
            runs,
        })
        .collect())
}

/// The outcome of a hyper-parameter search.
#[derive(Debug, Clone, Serialize)]
pub struct SearchResult {
    /// Every candidate as text with its validation score, in the order tried.
    pub tried: Vec<(String, f64)>,
    /// Index into `tried` of the best candidate.
    pub best: usize,
}

/// Fits every candidate on one split and picks the best by `protocol.valid_metric` on the
/// validation set (iterative candidates stop early on it). Ties keep the earlier candidate.
pub fn search(
    data: &Dataset,
    protocol: &Protocol,
    candidates: &[ModelSpec],
    seed: u64,
    progress: &(dyn Fn(Progress<'_>) + Sync),
) -> Result<SearchResult> {
    if candidates.is_empty() {
        return Err(RecommendError::Data("no candidates to search".into()));
    }
    for spec in candidates {
        spec.check_memory(data.users.len(), data.items.len(), 1)?;
    }
    check_time(data, protocol, candidates, 1)?;
    let prepared = prepare(data, protocol, seed)?;
    let validate = validator(&prepared, protocol);
    let mut tried = Vec::with_capacity(candidates.len());
    let mut best = 0;
    for (c, spec) in candidates.iter().enumerate() {
        let name = spec.to_string();
        progress(Progress::Fitting {
            model: &name,
            seed,
            run: c + 1,
            runs: candidates.len(),
        });
        let on_epoch = |epoch, valid| {
            progress(Progress::Epoch {
                model: &name,
                epoch,
                valid,
            })
        };
        let spec = spec.with_seed(seed);
        let model = spec.fit(&prepared.train, data, Some(&validate), &on_epoch)?;
        let score = validate(model.as_ref());
        progress(Progress::Finished {
            model: &name,
            run: c + 1,
            runs: candidates.len(),
            valid: score,
        });
        if score
            > tried
                .get(best)
                .map_or(f64::NEG_INFINITY, |t: &(String, f64)| t.1)
        {
            best = c;
        }
        tried.push((name, score));
    }
    Ok(SearchResult { tried, best })
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    sum / n.max(1) as f64
}

fn summarize(values: impl Iterator<Item = MetricValues> + Clone, k: usize) -> Summary {
    let get = |m: Metric| values.clone().map(move |v| v.get(m));
    let stat = |m: Metric| {
        let mu = mean(get(m));
        let n = get(m).count();
        let var = if n > 1 {
            get(m).map(|v| (v - mu) * (v - mu)).sum::<f64>() / (n - 1) as f64
        } else {
            0.0
        };
        (mu, var.sqrt())
    };
    let [r, p, nd, mr, h, ma] = Metric::ALL.map(stat);
    Summary {
        mean: MetricValues {
            k,
            recall: r.0,
            precision: p.0,
            ndcg: nd.0,
            mrr: mr.0,
            hit: h.0,
            map: ma.0,
        },
        std: MetricValues {
            k,
            recall: r.1,
            precision: p.1,
            ndcg: nd.1,
            mrr: mr.1,
            hit: h.1,
            map: ma.1,
        },
    }
}
