//! Search quality on judged queries: nDCG@10 (gain = grade), MRR@10 and Recall@100 per mode.

use std::collections::HashMap;
use std::time::Instant;

use assay_core::Judgment;
use rayon::prelude::*;
use serde::Serialize;

use crate::options::{Fusion, Mode, SearchOptions};
use crate::{Result, SearchIndex};

/// A named configuration to evaluate.
#[derive(Debug, Clone)]
pub struct EvalMode {
    /// Name in the result table.
    pub name: String,
    /// Search options (`k` is raised to 100 for Recall@100).
    pub options: SearchOptions,
}

impl EvalMode {
    /// The default comparison: [`EvalMode::comparison`] at semantic ratio 0.5, RRF constant
    /// 60 and intent boost 0.3.
    pub fn defaults() -> Vec<EvalMode> {
        EvalMode::comparison(0.5, 60.0, 0.3).expect("the default knobs are valid")
    }

    /// The rows `eval-search` compares: bm25 and vector alone, hybrid by convex and by
    /// reciprocal-rank fusion at `semantic_ratio` (RRF constant `rrf_k`), and RRF with the
    /// query-intent boost. Checks the knobs before any index work.
    pub fn comparison(semantic_ratio: f32, rrf_k: f32, intent_boost: f32) -> Result<Vec<EvalMode>> {
        let hybrid = |fusion: Fusion, intent_boost: f32| SearchOptions {
            fusion,
            semantic_ratio,
            intent_boost,
            ..SearchOptions::mode(Mode::Hybrid)
        };
        let rrf = Fusion::Rrf { k: rrf_k };
        [
            ("bm25", SearchOptions::mode(Mode::Bm25)),
            ("vector", SearchOptions::mode(Mode::Vector)),
            ("hybrid-convex", hybrid(Fusion::Convex, 0.0)),
            ("hybrid-rrf", hybrid(rrf, 0.0)),
            ("hybrid-rrf+intent", hybrid(rrf, intent_boost)),
        ]
        .into_iter()
        .map(|(name, options)| {
            options.validate()?;
            Ok(EvalMode {
                name: name.to_owned(),
                options,
            })
        })
        .collect()
    }
}

/// Mean metrics of one mode over the judged queries.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModeScores {
    /// Mode name.
    pub mode: String,
    /// Queries with at least one relevant (grade > 0) judgment.
    pub queries: usize,
    /// Mean nDCG@10 with gain = grade and discount log2(rank + 1); the ideal list is the
    /// query's judged grades sorted; unjudged items count as grade 0.
    pub ndcg_at_10: f64,
    /// Mean reciprocal rank of the first item with grade > 0 within the top 10 (0 if none).
    pub mrr_at_10: f64,
    /// Mean share of the grade > 0 items found in the top 100.
    pub recall_at_100: f64,
    /// Mean search time per query in milliseconds, excluding the (batched) query embedding.
    pub mean_ms: f64,
}

/// Metrics of one ranked list against one query's judgments: (nDCG@10, MRR@10, Recall@100).
/// `None` when the query has no relevant judgment.
pub(crate) fn score_list(ranked: &[u64], grades: &HashMap<u64, f64>) -> Option<(f64, f64, f64)> {
    let relevant = grades.values().filter(|&&g| g > 0.0).count();
    if relevant == 0 {
        return None;
    }
    let gain = |key: &u64| grades.get(key).copied().unwrap_or(0.0).max(0.0);
    let gains: Vec<f64> = ranked.iter().take(10).map(gain).collect();
    let judged: Vec<f64> = grades.values().copied().collect();
    let ndcg = assay_metrics::graded_ndcg_at(&gains, &judged, 10);
    let mrr = ranked
        .iter()
        .take(10)
        .position(|k| gain(k) > 0.0)
        .map_or(0.0, |p| 1.0 / (p as f64 + 1.0));
    let found = ranked.iter().take(100).filter(|k| gain(k) > 0.0).count();
    Some((ndcg, mrr, found as f64 / relevant as f64))
}

/// [`eval_search_modes`] with [`EvalMode::defaults`].
pub fn eval_search(index: &SearchIndex, judgments: &[Judgment]) -> Result<Vec<ModeScores>> {
    eval_search_modes(index, judgments, &EvalMode::defaults())
}

/// Runs every judged query (grouped by query id) through each mode and averages the metrics.
/// Judgments refer to items by dataset index, i.e. the document keys of [`crate::build_index`].
pub fn eval_search_modes(
    index: &SearchIndex,
    judgments: &[Judgment],
    modes: &[EvalMode],
) -> Result<Vec<ModeScores>> {
    let mut order: Vec<&str> = Vec::new();
    let mut by_query: HashMap<&str, (&str, HashMap<u64, f64>)> = HashMap::new();
    for j in judgments {
        let entry = by_query.entry(j.query_id.as_str()).or_insert_with(|| {
            order.push(j.query_id.as_str());
            (j.query.as_str(), HashMap::new())
        });
        entry.1.insert(u64::from(j.item), j.grade);
    }
    let queries: Vec<(&str, &HashMap<u64, f64>)> = order
        .iter()
        .filter_map(|id| by_query.get(id).map(|(q, g)| (*q, g)))
        .filter(|(q, _)| q.chars().any(char::is_alphanumeric))
        .collect();
    let needs_vectors = modes.iter().any(|m| m.options.mode != Mode::Bm25);
    let vectors: Vec<Option<Vec<f32>>> = if needs_vectors {
        let texts: Vec<&str> = queries.iter().map(|(q, _)| q.trim()).collect();
        index
            .encoder()
            .encode(&texts)?
            .into_iter()
            .map(Some)
            .collect()
    } else {
        vec![None; queries.len()]
    };
    let mut out = Vec::with_capacity(modes.len());
    for mode in modes {
        let mut options = mode.options.clone();
        options.k = options.k.max(100);
        options.candidates = options.candidates.max(options.k);
        options.explain = false;
        let started = Instant::now();
        let per_query: Vec<Option<(f64, f64, f64)>> = queries
            .par_iter()
            .zip(&vectors)
            .map(|((q, grades), v)| {
                let v = if options.mode == Mode::Bm25 {
                    None
                } else {
                    v.as_deref()
                };
                let hits = index.search_with_vector(q, v, &options)?;
                let ranked: Vec<u64> = hits
                    .hits
                    .iter()
                    .filter_map(|h| index.key_of(&h.id))
                    .collect();
                Ok(score_list(&ranked, grades))
            })
            .collect::<Result<_>>()?;
        let elapsed = started.elapsed().as_secs_f64() * 1000.0;
        let scored: Vec<(f64, f64, f64)> = per_query.into_iter().flatten().collect();
        let n = scored.len().max(1) as f64;
        out.push(ModeScores {
            mode: mode.name.clone(),
            queries: scored.len(),
            ndcg_at_10: scored.iter().map(|s| s.0).sum::<f64>() / n,
            mrr_at_10: scored.iter().map(|s| s.1).sum::<f64>() / n,
            recall_at_100: scored.iter().map(|s| s.2).sum::<f64>() / n,
            mean_ms: elapsed * rayon::current_num_threads() as f64 / queries.len().max(1) as f64,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_by_hand() {
        // Judged: a=3, b=1, c=0. Ranked: x (unjudged), b, a.
        let grades: HashMap<u64, f64> = [(1, 3.0), (2, 1.0), (3, 0.0)].into_iter().collect();
        let (ndcg, mrr, recall) = score_list(&[9, 2, 1], &grades).unwrap();
        let dcg = 1.0 / 3f64.log2() + 3.0 / 4f64.log2();
        let idcg = 3.0 + 1.0 / 3f64.log2();
        assert!((ndcg - dcg / idcg).abs() < 1e-12);
        assert!((mrr - 0.5).abs() < 1e-12);
        assert!((recall - 1.0).abs() < 1e-12);
        let (_, mrr, recall) = score_list(&[3], &grades).unwrap();
        assert_eq!((mrr, recall), (0.0, 0.0));
        let none: HashMap<u64, f64> = [(1, 0.0)].into_iter().collect();
        assert!(score_list(&[1], &none).is_none());
    }
}
