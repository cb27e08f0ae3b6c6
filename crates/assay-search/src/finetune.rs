//! Fine-tuning the sentence encoder on a shop's own queries: pairs, split, hard negatives,
//! training with early stopping on validation nDCG@10, and the best checkpoint in a folder
//! that [`assay_encoder::BertEncoder::load`] reads.
//!
//! Validation ranks the catalog (or, for large catalogs, the validation queries' answers plus a
//! seeded sample of the rest, [`FinetuneConfig::max_corpus`] items in all) by exact cosine
//! similarity and scores nDCG@10, MRR@10 and Recall@100 as `eval-search` does, with the pair
//! weights as grades. The pretrained weights are scored first (epoch 0), so the folder written
//! is never worse on validation than the model it started from.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use assay_core::{Dataset, Judgment};
use assay_encoder::{BiEncoderTrainer, FinetuneOptions, HashEncoder};
use assay_train::{distinct_batches, epoch_rng, Verdict};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::eval::score_list;
use crate::fusion::Ranked;
use crate::index::{build_index, IndexConfig, ItemDoc, SearchIndex};
use crate::learned::{FitQuery, LearnedFusion, TrainedQueries};
use crate::pairs::{
    build_pairs, count_by_source, mine_hard_negatives, query_key, split_by_query, PairSource,
    PairWeights, TrainingPair,
};
use crate::vector::exact_top_k;
use crate::{Result, SearchError, UNREADABLE};

/// Metric columns of `curves.csv`, the first drives early stopping.
pub const VALIDATION_METRICS: [&str; 3] = ["ndcg@10", "mrr@10", "recall@100"];

/// What to learn from and how.
#[derive(Debug, Clone)]
pub struct FinetuneConfig {
    /// Which evidence becomes training pairs.
    pub sources: Vec<PairSource>,
    /// Weights of log pairs by kind.
    pub weights: PairWeights,
    /// Share of the queries held out for validation.
    pub validation_fraction: f64,
    /// BM25 results searched for a hard negative.
    pub negative_depth: usize,
    /// Pairs of one query per epoch at most, drawn by weight (all when `None`): keeps queries
    /// with many judged items from dominating and makes epochs short enough to validate often.
    pub pairs_per_query: Option<usize>,
    /// Items ranked in validation at most.
    pub max_corpus: usize,
    /// The encoder's fine-tuning settings (freezing, loss scale, optimiser, seed, time limit).
    pub encoder: FinetuneOptions,
}

/// The validation metrics of one set of weights.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Validation {
    /// Mean nDCG@10.
    pub ndcg_at_10: f64,
    /// Mean MRR@10.
    pub mrr_at_10: f64,
    /// Mean Recall@100.
    pub recall_at_100: f64,
}

/// What a fine-tuning run did.
#[derive(Debug, Clone, Serialize)]
pub struct FinetuneSummary {
    /// Pairs by source, before the split.
    pub pairs: Vec<(PairSource, usize)>,
    /// Training pairs and their distinct queries.
    pub train_pairs: usize,
    /// Distinct training queries.
    pub train_queries: usize,
    /// Validation pairs.
    pub validation_pairs: usize,
    /// Distinct validation queries.
    pub validation_queries: usize,
    /// Training pairs that got a BM25 hard negative.
    pub hard_negatives: usize,
    /// Items ranked in validation.
    pub validation_corpus: usize,
    /// Parameters that trained, of all.
    pub trainable_parameters: usize,
    /// All parameters.
    pub parameters: usize,
    /// Epochs started (the last may be cut short by the time limit).
    pub epochs: usize,
    /// Optimiser steps.
    pub steps: usize,
    /// Pairs seen in training (with repeats across epochs).
    pub pairs_seen: usize,
    /// Seconds of training (steps and validations), without loading and mining.
    pub train_seconds: f64,
    /// Seconds in all.
    pub seconds: f64,
    /// Validation of the pretrained weights.
    pub pretrained: Validation,
    /// Validation of the weights saved (the best epoch).
    pub best: Validation,
    /// The epoch saved (0 = the pretrained weights were best).
    pub best_epoch: usize,
    /// Why training ended: "epochs", "early stopping" or "time limit".
    pub stopped_by: String,
    /// Distinct queries the folder records as learned from (training and validation).
    pub trained_queries: usize,
    /// The hybrid fusion learned with the saved weights (none without validation queries).
    pub fusion: Option<LearnedFusion>,
}

/// A validation set: the queries, their graded answers, and the items to rank.
struct ValidationSet {
    queries: Vec<String>,
    grades: Vec<HashMap<u64, f64>>,
    /// Dataset indices of the items ranked.
    corpus: Vec<u32>,
    texts: Vec<String>,
}

impl ValidationSet {
    fn new(
        pairs: &[TrainingPair],
        item_text: &dyn Fn(u32) -> String,
        n_items: usize,
        max_corpus: usize,
        seed: u64,
    ) -> ValidationSet {
        let mut at: HashMap<String, usize> = HashMap::new();
        let mut queries = Vec::new();
        let mut grades: Vec<HashMap<u64, f64>> = Vec::new();
        for p in pairs {
            let slot = *at.entry(query_key(&p.query)).or_insert_with(|| {
                queries.push(p.query.trim().to_owned());
                grades.push(HashMap::new());
                queries.len() - 1
            });
            grades[slot].insert(u64::from(p.item), f64::from(p.weight));
        }
        let corpus: Vec<u32> = if n_items <= max_corpus {
            (0..n_items as u32).collect()
        } else {
            let relevant: HashSet<u32> = pairs.iter().map(|p| p.item).collect();
            let mut rest: Vec<u32> = (0..n_items as u32)
                .filter(|i| !relevant.contains(i))
                .collect();
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(2);
            rest.shuffle(&mut rng);
            let mut corpus: Vec<u32> = relevant.into_iter().collect();
            let room = max_corpus.saturating_sub(corpus.len());
            corpus.extend(rest.into_iter().take(room));
            corpus.sort_unstable();
            corpus
        };
        let texts = corpus.iter().map(|&i| item_text(i)).collect();
        ValidationSet {
            queries,
            grades,
            corpus,
            texts,
        }
    }

    /// The metrics of `trainer`'s weights, and each query's vector list (dataset indices,
    /// best first, 100 deep).
    fn score(&self, trainer: &BiEncoderTrainer) -> Result<(Validation, Vec<Ranked>)> {
        if self.queries.is_empty() {
            let nan = Validation {
                ndcg_at_10: f64::NAN,
                mrr_at_10: f64::NAN,
                recall_at_100: f64::NAN,
            };
            return Ok((nan, Vec::new()));
        }
        let texts: Vec<&str> = self.texts.iter().map(String::as_str).collect();
        let items = trainer.encode(&texts)?;
        let dim = items.first().map_or(0, Vec::len);
        let flat: Vec<f32> = items.into_iter().flatten().collect();
        let queries: Vec<&str> = self.queries.iter().map(String::as_str).collect();
        let vectors = trainer.encode(&queries)?;
        let mut sums = (0.0, 0.0, 0.0);
        let mut n = 0usize;
        let mut lists = Vec::with_capacity(vectors.len());
        for (v, grades) in vectors.iter().zip(&self.grades) {
            let list: Ranked = exact_top_k(&flat, dim, v, 100, &|_| true)
                .into_iter()
                .map(|(row, cosine)| (u64::from(self.corpus[row]), cosine))
                .collect();
            let ranked: Vec<u64> = list.iter().map(|(key, _)| *key).collect();
            if let Some((ndcg, mrr, recall)) = score_list(&ranked, grades) {
                sums = (sums.0 + ndcg, sums.1 + mrr, sums.2 + recall);
                n += 1;
            }
            lists.push(list);
        }
        let n = n.max(1) as f64;
        let validation = Validation {
            ndcg_at_10: sums.0 / n,
            mrr_at_10: sums.1 / n,
            recall_at_100: sums.2 / n,
        };
        Ok((validation, lists))
    }

    /// Each query's BM25 list over the items this set ranks, 100 deep.
    fn lexical_lists(&self, index: &SearchIndex, n_items: usize) -> Result<Vec<Ranked>> {
        let in_corpus: HashSet<u64> = self.corpus.iter().map(|&i| u64::from(i)).collect();
        // Deep enough that about 100 of the list are in a sampled corpus.
        let depth = (100 * n_items)
            .div_ceil(self.corpus.len().max(1))
            .min(5_000);
        self.queries
            .iter()
            .map(|q| {
                let mut list = index.lexical_list(q, depth)?;
                list.retain(|(key, _)| in_corpus.contains(key));
                list.truncate(100);
                Ok(list)
            })
            .collect()
    }

    /// The fusion that ranks these queries best from their two lists.
    fn learn_fusion(&self, lexical: Vec<Ranked>, vector: Vec<Ranked>) -> Option<LearnedFusion> {
        let queries: Vec<FitQuery> = lexical
            .into_iter()
            .zip(vector)
            .zip(&self.grades)
            .map(|((lexical, vector), grades)| FitQuery {
                lexical,
                vector,
                grades: grades.clone(),
            })
            .collect();
        LearnedFusion::fit(
            &queries,
            "the validation queries (held out from the training steps)",
        )
    }
}

/// Up to `k` indices of `members` drawn without replacement with probability proportional to
/// their weights (Efraimidis-Spirakis keys `u^(1/w)`).
fn weighted_sample(
    members: &[usize],
    weight: &dyn Fn(usize) -> f32,
    k: usize,
    rng: &mut ChaCha8Rng,
) -> Vec<usize> {
    if members.len() <= k {
        return members.to_vec();
    }
    let mut keyed: Vec<(f64, usize)> = members
        .iter()
        .map(|&m| {
            let u: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
            (u.powf(1.0 / f64::from(weight(m).max(1e-6))), m)
        })
        .collect();
    keyed.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    keyed.into_iter().take(k).map(|(_, m)| m).collect()
}

/// The examples of one epoch, in batches with no query and no item twice.
fn epoch_batches(
    train: &[TrainingPair],
    by_query: &[Vec<usize>],
    query_of: &[usize],
    pairs_per_query: Option<usize>,
    batch_size: usize,
    seed: u64,
    epoch: usize,
) -> Vec<Vec<usize>> {
    let mut rng = epoch_rng(seed, epoch);
    let mut chosen: Vec<usize> = match pairs_per_query {
        None => (0..train.len()).collect(),
        Some(k) => by_query
            .iter()
            .flat_map(|members| weighted_sample(members, &|i| train[i].weight, k, &mut rng))
            .collect(),
    };
    chosen.shuffle(&mut rng);
    distinct_batches(&chosen, batch_size, |i| {
        let p = &train[i];
        let mut keys = vec![(0u8, query_of[i] as u64), (1u8, u64::from(p.item))];
        if let Some(n) = p.negative {
            keys.push((1, u64::from(n)));
        }
        keys
    })
}

/// Fine-tunes the encoder in `model_dir` on `dataset`'s pairs and writes the best weights to
/// `out` (with `training.json`, `curves.csv`, the learned fusion and the queries learned
/// from). `judgments` are the graded judgments to learn from (the dataset's own or a file's);
/// `note` receives one line per epoch.
pub fn finetune(
    dataset: &Dataset,
    judgments: &[Judgment],
    model_dir: &Path,
    out: &Path,
    config: &FinetuneConfig,
    note: &mut dyn FnMut(&str),
) -> Result<FinetuneSummary> {
    let started = Instant::now();
    let pairs = build_pairs(dataset, judgments, &config.sources, &config.weights);
    if pairs.is_empty() {
        let names: Vec<&str> = config.sources.iter().map(|s| s.as_str()).collect();
        return Err(SearchError::InvalidOption(format!(
            "no training pairs from {} in {} (judged items with grade > 0, or clicks, carts and purchases that follow a query)",
            names.join(", "),
            dataset.name
        )));
    }
    let pair_counts = count_by_source(&pairs);
    let (train, validation) =
        split_by_query(pairs, config.validation_fraction, config.encoder.train.seed);
    if train.is_empty() {
        return Err(SearchError::InvalidOption(
            "every query went to validation: lower the validation share".into(),
        ));
    }
    let bench = Workbench::new(dataset, &validation, config)?;
    let mut summary = bench.train(train, model_dir, Some(out), config, note)?;
    summary.pairs = pair_counts;
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// What every training run on one dataset shares: BM25 over the catalog (for hard negatives
/// and the fusion), the items' texts, and a fixed validation set.
pub(crate) struct Workbench<'d> {
    dataset: &'d Dataset,
    index: SearchIndex,
    item_texts: Vec<String>,
    validation: Vec<TrainingPair>,
    valid_set: ValidationSet,
}

impl<'d> Workbench<'d> {
    /// Indexes `dataset` and sets `validation` aside.
    pub(crate) fn new(
        dataset: &'d Dataset,
        validation: &[TrainingPair],
        config: &FinetuneConfig,
    ) -> Result<Workbench<'d>> {
        // BM25 over the catalog (a cheap hashing encoder fills the vector side, which mining
        // and the fusion's lexical lists never read).
        let index = build_index(
            dataset,
            Arc::new(HashEncoder::new(16)),
            &IndexConfig {
                threads: std::thread::available_parallelism().map_or(1, usize::from),
                ..IndexConfig::default()
            },
        )?;
        let item_texts: Vec<String> = (0..dataset.items.len())
            .map(|i| ItemDoc::from_items(&dataset.items, i).embedding_text())
            .collect();
        let valid_set = ValidationSet::new(
            validation,
            &|i| item_texts[i as usize].clone(),
            dataset.items.len(),
            config.max_corpus,
            config.encoder.train.seed,
        );
        Ok(Workbench {
            dataset,
            index,
            item_texts,
            validation: validation.to_vec(),
            valid_set,
        })
    }

    /// Distinct validation queries.
    pub(crate) fn validation_queries(&self) -> usize {
        self.valid_set.queries.len()
    }

    /// Validation of the weights in `model_dir` as they are.
    pub(crate) fn score_pretrained(
        &self,
        model_dir: &Path,
        config: &FinetuneConfig,
    ) -> Result<Validation> {
        let trainer = BiEncoderTrainer::load(model_dir, &config.encoder, 1, None)?;
        Ok(self.valid_set.score(&trainer)?.0)
    }

    /// Trains on `train` (validation queries must not be among them), keeping the weights
    /// that validate best. With `out`, writes them there with the curves, the learned fusion
    /// and the queries learned from; without, only measures.
    pub(crate) fn train(
        &self,
        mut train: Vec<TrainingPair>,
        model_dir: &Path,
        out: Option<&Path>,
        config: &FinetuneConfig,
        note: &mut dyn FnMut(&str),
    ) -> Result<FinetuneSummary> {
        let started = Instant::now();
        let train_config = &config.encoder.train;
        // A negative is never an answer of its own query (validation queries are other queries).
        let known: Vec<TrainingPair> = train.clone();
        mine_hard_negatives(&mut train, &[&known], &self.index, config.negative_depth)?;
        let hard_negatives = train.iter().filter(|p| p.negative.is_some()).count();

        let mut query_index: HashMap<String, usize> = HashMap::new();
        let mut by_query: Vec<Vec<usize>> = Vec::new();
        let mut query_of = Vec::with_capacity(train.len());
        for (i, p) in train.iter().enumerate() {
            let next = by_query.len();
            let q = *query_index.entry(query_key(&p.query)).or_insert(next);
            if q == next {
                by_query.push(Vec::new());
            }
            by_query[q].push(i);
            query_of.push(q);
        }
        let batches_of = |epoch: usize| {
            epoch_batches(
                &train,
                &by_query,
                &query_of,
                config.pairs_per_query,
                train_config.batch_size,
                train_config.seed,
                epoch,
            )
        };
        let first_epoch = batches_of(0);
        let trained = TrainedQueries::new(
            train
                .iter()
                .chain(&self.validation)
                .map(|p| p.query.as_str()),
        );
        let curves_path = out.map(|out| out.join("curves.csv"));
        if let Some(out) = out {
            std::fs::create_dir_all(out).map_err(SearchError::io(out))?;
            trained.save(out)?;
            LearnedFusion::forget(out)?;
        }
        let mut trainer = BiEncoderTrainer::load(
            model_dir,
            &config.encoder,
            first_epoch.len(),
            curves_path
                .as_deref()
                .map(|path| (path, &VALIDATION_METRICS[..])),
        )?;
        let valid_set = &self.valid_set;
        let record = serde_json::json!({
            "sources": config.sources,
            "pair_weights": config.weights,
            "validation_fraction": config.validation_fraction,
            "negative_depth": config.negative_depth,
            "pairs_per_query": config.pairs_per_query,
            "freeze": config.encoder.freeze,
            "scale": config.encoder.scale,
            "dropout": config.encoder.dropout,
            "train": train_config,
            "train_pairs": train.len(),
            "train_queries": by_query.len(),
            "validation_queries": valid_set.queries.len(),
        });
        let save = |trainer: &BiEncoderTrainer| match out {
            Some(out) => trainer.save(out, &record),
            None => Ok(()),
        };

        let train_started = Instant::now();
        let as_row = |v: &Validation| [v.ndcg_at_10, v.mrr_at_10, v.recall_at_100];
        let (pretrained, mut best_lists) = valid_set.score(&trainer)?;
        let validation_seconds = train_started.elapsed().as_secs_f64();
        trainer.end_epoch(&as_row(&pretrained))?;
        save(&trainer)?;
        note(&format!(
            "epoch 0 (pretrained): validation nDCG@10 {:.4} on {} queries, {} items ({:.1} s)",
            pretrained.ndcg_at_10,
            valid_set.queries.len(),
            valid_set.corpus.len(),
            validation_seconds
        ));
        let mut best = pretrained;
        let mut best_epoch = 0;
        let mut stopped_by = "epochs";
        let mut pairs_seen = 0usize;
        let mut epochs = 0usize;
        let mut calibrated = false;
        'epochs: for epoch in 0..train_config.epochs {
            let batches = if epoch == 0 {
                first_epoch.clone()
            } else {
                batches_of(epoch)
            };
            epochs += 1;
            let mut loss_sum = 0.0;
            let mut steps = 0usize;
            let mut out_of_time = false;
            for batch in &batches {
                let queries: Vec<&str> = batch.iter().map(|&i| train[i].query.trim()).collect();
                let positives: Vec<&str> = batch
                    .iter()
                    .map(|&i| self.item_texts[train[i].item as usize].as_str())
                    .collect();
                let negatives: Vec<&str> = batch
                    .iter()
                    .filter_map(|&i| train[i].negative)
                    .map(|n| self.item_texts[n as usize].as_str())
                    .collect();
                let weights: Vec<f32> = batch.iter().map(|&i| train[i].weight).collect();
                let stats = trainer.step(&queries, &positives, &negatives, &weights)?;
                loss_sum += stats.loss;
                steps += 1;
                pairs_seen += batch.len();
                // After a few steps the time per step is known: fit the schedule to the time
                // limit (the validations after each epoch take their share).
                if !calibrated && steps == 5 {
                    calibrated = true;
                    if let Some(limit) = train_config.max_seconds {
                        let t = trainer.trainer();
                        let per_step = (t.elapsed() - validation_seconds) / t.steps() as f64;
                        let for_steps = (limit
                            - validation_seconds * (train_config.epochs as f64 + 1.0))
                            .max(0.5 * limit);
                        let fit = (for_steps / per_step.max(1e-9)) as usize;
                        let planned = t.schedule().total_steps;
                        let done = t.steps();
                        if fit < planned {
                            trainer.trainer_mut().set_total_steps(fit.max(done + 1));
                        }
                    }
                }
                if trainer.trainer().out_of_time() {
                    out_of_time = true;
                    break;
                }
            }
            let (v, lists) = valid_set.score(&trainer)?;
            let mut verdict = trainer.end_epoch(&as_row(&v))?;
            if valid_set.queries.is_empty() {
                // Nothing to validate on: every epoch's weights are kept.
                verdict = Verdict::Improved;
            }
            let mean_loss = loss_sum / steps.max(1) as f64;
            let mark = match verdict {
                Verdict::Improved => " (best, saved)",
                Verdict::NoImprovement { .. } => "",
                Verdict::Stop => " (no improvement: stopping)",
            };
            let line = format!(
                "epoch {}: {} steps, mean loss {:.4}, validation nDCG@10 {:.4}, {:.0} s{}",
                epoch + 1,
                steps,
                mean_loss,
                v.ndcg_at_10,
                trainer.trainer().elapsed(),
                mark
            );
            trainer.trainer().progress().println(&line);
            note(&line);
            if verdict == Verdict::Improved {
                best = v;
                best_lists = lists;
                best_epoch = epoch + 1;
                save(&trainer)?;
            }
            if out_of_time || trainer.trainer().out_of_time() {
                stopped_by = "time limit";
                break 'epochs;
            }
            if verdict == Verdict::Stop {
                stopped_by = "early stopping";
                break 'epochs;
            }
        }
        trainer.finish()?;
        let fusion = match out {
            Some(out) if !valid_set.queries.is_empty() => {
                let lexical = valid_set.lexical_lists(&self.index, self.dataset.items.len())?;
                // Search ranks a query the encoder cannot read by BM25 alone, whatever the
                // fusion: fitted with BM25's list on both sides, such a query ranks as BM25 at
                // every grid point, as it will in search.
                let best_lists = valid_set
                    .queries
                    .iter()
                    .zip(&lexical)
                    .zip(best_lists)
                    .map(|((q, lexical), list)| {
                        if trainer.unknown_share(q).is_some_and(|s| s > UNREADABLE) {
                            lexical.clone()
                        } else {
                            list
                        }
                    })
                    .collect();
                let fusion = valid_set.learn_fusion(lexical, best_lists);
                if let Some(fusion) = &fusion {
                    fusion.save(out)?;
                }
                fusion
            }
            _ => None,
        };
        Ok(FinetuneSummary {
            pairs: count_by_source(&train),
            train_pairs: train.len(),
            train_queries: by_query.len(),
            validation_pairs: self.validation.len(),
            validation_queries: valid_set.queries.len(),
            hard_negatives,
            validation_corpus: valid_set.corpus.len(),
            trainable_parameters: trainer.trainable_parameters(),
            parameters: trainer.parameters(),
            epochs,
            steps: trainer.trainer().steps(),
            pairs_seen,
            train_seconds: train_started.elapsed().as_secs_f64(),
            seconds: started.elapsed().as_secs_f64(),
            pretrained,
            best,
            best_epoch,
            stopped_by: stopped_by.to_owned(),
            trained_queries: trained.len(),
            fusion,
        })
    }
}
