//! What each kind of fine-tuning data is worth: the validation nDCG@10 of an encoder fine-tuned
//! on every coalition of sources (judgments, clicks, carts, purchases), for exact group
//! Shapley values, and a learning curve over the number of training pairs.
//!
//! Every run validates on the same held-out judged queries, with the judgments' grades, so
//! the utilities of different coalitions are comparable: a source is worth what it adds to
//! ranking the queries people judged, whatever evidence it trains on.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Instant;

use assay_core::{Dataset, Judgment};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::finetune::{FinetuneConfig, Validation, Workbench};
use crate::pairs::{build_pairs, query_key, split_by_query, PairSource, TrainingPair};
use crate::{Result, SearchError};

/// Sources valued exactly at most: 2^6 fine-tunes is already a long run on a CPU.
pub const MAX_VALUED_SOURCES: usize = 6;

/// One fine-tune of the valuation.
#[derive(Debug, Clone, Serialize)]
pub struct TrainingRun {
    /// The sources it learned from (empty: the pretrained weights).
    pub sources: Vec<PairSource>,
    /// Training pairs.
    pub train_pairs: usize,
    /// Validation of the best weights.
    pub validation: Validation,
    /// Seconds of the run.
    pub seconds: f64,
}

/// The utilities of every coalition and the learning curve.
#[derive(Debug, Clone, Serialize)]
pub struct SourceValuation {
    /// The sources valued, in the order of the coalition bits.
    pub sources: Vec<PairSource>,
    /// Judged queries every run validates on.
    pub validation_queries: usize,
    /// One run per coalition; coalition `m` holds source `i` when bit `i` of `m` is set.
    pub coalitions: Vec<TrainingRun>,
    /// Runs on growing shares of all the sources' training pairs (first: none).
    pub learning_curve: Vec<TrainingRun>,
}

impl SourceValuation {
    /// Validation nDCG@10 of the coalition `members` (source indices).
    pub fn ndcg_of(&self, members: &[usize]) -> f64 {
        let mask: usize = members.iter().map(|&i| 1 << i).sum();
        self.coalitions[mask].validation.ndcg_at_10
    }
}

/// Fine-tunes on every coalition of `config.sources` and on `curve` shares (in (0, 1]) of all
/// their pairs, validating each on the same `config.validation_fraction` of the judged
/// queries. Validation queries never train, in any run. `note` gets a line per run.
pub fn value_sources(
    dataset: &Dataset,
    judgments: &[Judgment],
    model_dir: &Path,
    config: &FinetuneConfig,
    curve: &[f64],
    note: &mut dyn FnMut(&str),
) -> Result<SourceValuation> {
    let sources = config.sources.clone();
    if sources.is_empty() || sources.len() > MAX_VALUED_SOURCES {
        return Err(SearchError::InvalidOption(format!(
            "value 1 to {MAX_VALUED_SOURCES} sources, got {}",
            sources.len()
        )));
    }
    if let Some(bad) = curve.iter().find(|f| !(**f > 0.0 && **f <= 1.0)) {
        return Err(SearchError::InvalidOption(format!(
            "learning-curve shares must lie in (0, 1], got {bad}"
        )));
    }
    let seed = config.encoder.train.seed;
    let judged = build_pairs(
        dataset,
        judgments,
        &[PairSource::Judgments],
        &config.weights,
    );
    let (_, validation) = split_by_query(judged, config.validation_fraction, seed);
    if validation.is_empty() {
        return Err(SearchError::InvalidOption(
            "valuing fine-tuning data needs judged queries to validate on (judgments with grade > 0 and a validation share above 0)".into(),
        ));
    }
    let held_out: HashSet<String> = validation.iter().map(|p| query_key(&p.query)).collect();
    let training = |members: &[PairSource]| -> Vec<TrainingPair> {
        build_pairs(dataset, judgments, members, &config.weights)
            .into_iter()
            .filter(|p| !held_out.contains(&query_key(&p.query)))
            .collect()
    };
    let bench = Workbench::new(dataset, &validation, config)?;
    let started = Instant::now();
    let pretrained = TrainingRun {
        sources: Vec::new(),
        train_pairs: 0,
        validation: bench.score_pretrained(model_dir, config)?,
        seconds: started.elapsed().as_secs_f64(),
    };
    let run = |members: Vec<PairSource>, pairs: Vec<TrainingPair>| -> Result<TrainingRun> {
        if pairs.is_empty() {
            return Ok(TrainingRun {
                sources: members,
                ..pretrained.clone()
            });
        }
        let started = Instant::now();
        let n = pairs.len();
        let summary = bench.train(pairs, model_dir, None, config, &mut |_| {})?;
        Ok(TrainingRun {
            sources: members,
            train_pairs: n,
            validation: summary.best,
            seconds: started.elapsed().as_secs_f64(),
        })
    };

    let mut coalitions = vec![pretrained.clone()];
    for mask in 1usize..(1 << sources.len()) {
        let members: Vec<PairSource> = (0..sources.len())
            .filter(|i| mask & (1 << i) != 0)
            .map(|i| sources[i])
            .collect();
        let pairs = training(&members);
        let r = run(members, pairs)?;
        note(&format!(
            "{}: {} pairs, validation nDCG@10 {:.4} ({:.0} s)",
            names(&r.sources),
            r.train_pairs,
            r.validation.ndcg_at_10,
            r.seconds
        ));
        coalitions.push(r);
    }

    // The curve grows by whole queries, in one seeded order, so each point holds the last.
    let all = training(&sources);
    let mut per_query: HashMap<String, usize> = HashMap::new();
    for p in &all {
        *per_query.entry(query_key(&p.query)).or_default() += 1;
    }
    let mut queries: Vec<&String> = per_query.keys().collect();
    queries.sort_unstable();
    queries.shuffle(&mut ChaCha8Rng::seed_from_u64(seed ^ 0x6375_7276));
    let mut learning_curve = vec![coalitions[0].clone()];
    for &share in curve {
        let wanted = (share * all.len() as f64).round() as usize;
        let mut taken: HashSet<&str> = HashSet::new();
        let mut count = 0usize;
        for q in &queries {
            if count >= wanted {
                break;
            }
            taken.insert(q.as_str());
            count += per_query[*q];
        }
        let pairs: Vec<TrainingPair> = all
            .iter()
            .filter(|p| taken.contains(query_key(&p.query).as_str()))
            .cloned()
            .collect();
        let r = run(sources.clone(), pairs)?;
        note(&format!(
            "learning curve {:.0}%: {} pairs, validation nDCG@10 {:.4} ({:.0} s)",
            share * 100.0,
            r.train_pairs,
            r.validation.ndcg_at_10,
            r.seconds
        ));
        learning_curve.push(r);
    }
    Ok(SourceValuation {
        sources,
        validation_queries: bench.validation_queries(),
        coalitions,
        learning_curve,
    })
}

fn names(sources: &[PairSource]) -> String {
    if sources.is_empty() {
        return "none".into();
    }
    sources
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join("+")
}
