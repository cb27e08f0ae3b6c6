//! What a fine-tuned encoder folder carries for search besides the weights: the hybrid fusion
//! learned with it, and the queries it learned from (so that an evaluation never scores them).
//!
//! The fusion is learned on the fine-tuning run's validation queries: the encoder never took a
//! gradient step on them, so their vector scores are as good as on new queries. Fitted on the
//! training queries instead, the fusion would trust the (memorised) vector side too much.
//!
//! A grid of 42 combinations scored on a few dozen queries overfits: the best point on the fit
//! queries is often a lucky one. So the grid's best replaces the default hybrid (RRF(60), ratio
//! 0.5) only when it beats it by more than one standard error of their per-query difference
//! (the one-standard-error rule of Breiman et al., *Classification and Regression Trees*, 1984),
//! or when the default falls below either list alone on the fit queries.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::eval::score_list;
use crate::fusion::{self, Ranked};
use crate::options::{Fusion, Mode, SearchOptions};
use crate::pairs::query_key;
use crate::{Result, SearchError};

/// The learned fusion's file in an encoder folder.
pub const FUSION_FILE: &str = "fusion.json";
/// The queries fine-tuning learned from, one normalised query per line.
pub const QUERIES_FILE: &str = "queries.txt";

/// Semantic ratios tried, in steps of 0.05 from 0 (BM25 alone) to 1 (vectors alone).
const RATIO_STEPS: usize = 20;

/// One judged query's two retrieved lists, the material a fusion is fitted on.
#[derive(Debug, Clone)]
pub struct FitQuery {
    /// BM25's list, best first.
    pub lexical: Ranked,
    /// The vector list, best first.
    pub vector: Ranked,
    /// Grades by document key.
    pub grades: HashMap<u64, f64>,
}

/// A hybrid combination chosen by mean nDCG@10 on judged queries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LearnedFusion {
    /// `convex` or `rrf`.
    pub fusion: String,
    /// The RRF constant, for `rrf`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rrf_k: Option<f32>,
    /// Weight of the vector side, in [0, 1].
    pub semantic_ratio: f32,
    /// Queries it was fitted on.
    pub fit_queries: usize,
    /// Which queries those were, for people.
    pub fit_on: String,
    /// Mean nDCG@10 of the chosen combination on the fit queries.
    pub ndcg_at_10: f64,
    /// Mean nDCG@10 of BM25 alone on the same queries.
    pub bm25_ndcg_at_10: f64,
    /// Mean nDCG@10 of the vectors alone on the same queries.
    pub vector_ndcg_at_10: f64,
    /// Mean nDCG@10 of the default hybrid (RRF(60), ratio 0.5) on the same queries (absent in
    /// files written before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_ndcg_at_10: Option<f64>,
}

impl LearnedFusion {
    /// Convex or reciprocal-rank fusion (constant 60) at a semantic ratio 0, 0.05, ..., 1,
    /// chosen by nDCG@10 on `queries` (queries with no relevant item do not count): the grid's
    /// best when it beats the default hybrid by more than one standard error, or when the
    /// default is below BM25 or the vectors alone; the default otherwise (see the module docs).
    /// The grid holds both single lists (ratio 0 ranks by BM25, ratio 1 by the vectors), so on
    /// the fit queries the choice is never worse than either alone. Ties go to the earlier grid
    /// point: convex before RRF, lower ratios first. `None` when no query has a relevant item.
    pub fn fit(queries: &[FitQuery], fit_on: &str) -> Option<LearnedFusion> {
        let mut grid: Vec<(Fusion, f32)> = Vec::new();
        for fusion in [Fusion::Convex, Fusion::Rrf { k: 60.0 }] {
            for step in 0..=RATIO_STEPS {
                grid.push((fusion, step as f32 / RATIO_STEPS as f32));
            }
        }
        let scores = |fusion: Fusion, ratio: f32| {
            per_query_ndcg(queries, |lexical, vector| {
                let mut cands = fusion::candidates(lexical, vector);
                fusion::fuse(&mut cands, lexical, vector, Mode::Hybrid, fusion, ratio);
                fusion::rank(&mut cands);
                cands.into_iter().map(|c| c.key).collect()
            })
        };
        let mut best: Option<(Fusion, f32, Vec<f64>, f64)> = None;
        for &(fusion, ratio) in &grid {
            let per_query = scores(fusion, ratio);
            let score = mean(&per_query)?;
            if best.as_ref().is_none_or(|b| score > b.3) {
                best = Some((fusion, ratio, per_query, score));
            }
        }
        let (mut fusion, mut ratio, best_per_query, mut score) = best?;
        let keys = |list: &Ranked| list.iter().map(|(k, _)| *k).collect::<Vec<u64>>();
        let bm25 = mean_ndcg(queries, |l, _| keys(l))?;
        let vector = mean_ndcg(queries, |_, v| keys(v))?;
        let default = SearchOptions::default();
        let default_per_query = scores(default.fusion, default.semantic_ratio);
        let default_score = mean(&default_per_query)?;
        let gain: Vec<f64> = best_per_query
            .iter()
            .zip(&default_per_query)
            .map(|(b, d)| b - d)
            .collect();
        let clearly_better = mean(&gain)? > standard_error(&gain);
        if !clearly_better && default_score >= bm25.max(vector) {
            (fusion, ratio, score) = (default.fusion, default.semantic_ratio, default_score);
        }
        Some(LearnedFusion {
            fusion: match fusion {
                Fusion::Convex => "convex".into(),
                Fusion::Rrf { .. } => "rrf".into(),
            },
            rrf_k: match fusion {
                Fusion::Rrf { k } => Some(k),
                Fusion::Convex => None,
            },
            semantic_ratio: ratio,
            fit_queries: queries.iter().filter(|q| has_relevant(q)).count(),
            fit_on: fit_on.to_owned(),
            ndcg_at_10: score,
            bm25_ndcg_at_10: bm25,
            vector_ndcg_at_10: vector,
            default_ndcg_at_10: Some(default_score),
        })
    }

    /// The fusion as search options (hybrid mode, everything else at its default).
    pub fn options(&self) -> Result<SearchOptions> {
        let fusion = match (self.fusion.as_str(), self.rrf_k) {
            ("convex", _) => Fusion::Convex,
            ("rrf", Some(k)) => Fusion::Rrf { k },
            (other, _) => {
                return Err(SearchError::InvalidOption(format!(
                    "{FUSION_FILE}: unknown fusion `{other}` (expected convex, or rrf with rrf_k)"
                )))
            }
        };
        let options = SearchOptions {
            fusion,
            semantic_ratio: self.semantic_ratio,
            ..SearchOptions::mode(Mode::Hybrid)
        };
        options
            .validate()
            .map_err(|e| SearchError::InvalidOption(format!("{FUSION_FILE}: {e}")))?;
        Ok(options)
    }

    /// A short name for tables: `convex r=0.35`, `rrf(60) r=0.50`.
    pub fn label(&self) -> String {
        match self.rrf_k {
            Some(k) if self.fusion == "rrf" => format!("rrf({k}) r={:.2}", self.semantic_ratio),
            _ => format!("{} r={:.2}", self.fusion, self.semantic_ratio),
        }
    }

    /// Writes `dir/fusion.json`.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let path = dir.join(FUSION_FILE);
        let json = serde_json::to_vec_pretty(self)
            .map_err(|e| SearchError::InvalidOption(format!("{}: {e}", path.display())))?;
        assay_fetch::write_atomically(&path, |w| w.write_all(&json)).map_err(SearchError::io(&path))
    }

    /// Removes a fusion saved in `dir` by an earlier run, so that new weights never sit next
    /// to a fusion learned with old ones.
    pub(crate) fn forget(dir: &Path) -> Result<()> {
        let path = dir.join(FUSION_FILE);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(SearchError::io(&path)(e)),
            _ => Ok(()),
        }
    }

    /// The fusion saved in `dir`, if any.
    pub fn open(dir: &Path) -> Result<Option<LearnedFusion>> {
        let path = dir.join(FUSION_FILE);
        if !path.is_file() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&path).map_err(SearchError::io(&path))?;
        let fusion: LearnedFusion =
            serde_json::from_str(&text).map_err(|e| SearchError::Format {
                path: path.clone(),
                line: e.line() as u64,
                reason: format!("{e}; expected a fusion written by assay finetune"),
            })?;
        fusion.options()?;
        Ok(Some(fusion))
    }
}

fn has_relevant(q: &FitQuery) -> bool {
    q.grades.values().any(|&g| g > 0.0)
}

/// nDCG@10 of the ranking `rank` makes of each query's lists, for the queries that have a
/// relevant item, in query order.
fn per_query_ndcg(queries: &[FitQuery], rank: impl Fn(&Ranked, &Ranked) -> Vec<u64>) -> Vec<f64> {
    queries
        .iter()
        .filter_map(|q| score_list(&rank(&q.lexical, &q.vector), &q.grades).map(|s| s.0))
        .collect()
}

/// Mean nDCG@10 of the rankings `rank` makes of each query's lists.
fn mean_ndcg(queries: &[FitQuery], rank: impl Fn(&Ranked, &Ranked) -> Vec<u64>) -> Option<f64> {
    mean(&per_query_ndcg(queries, rank))
}

fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// The standard error of the mean of `values` (0 for fewer than two).
fn standard_error(values: &[f64]) -> f64 {
    let n = values.len();
    if n < 2 {
        return 0.0;
    }
    let m = values.iter().sum::<f64>() / n as f64;
    let var = values.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (n - 1) as f64;
    (var / n as f64).sqrt()
}

/// The queries a fine-tuned encoder learned from, normalised as training pairs are
/// (trimmed, lower-cased, inner whitespace collapsed).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrainedQueries {
    keys: HashSet<String>,
}

impl TrainedQueries {
    /// The set of `queries`' normalised forms.
    pub fn new<'a>(queries: impl IntoIterator<Item = &'a str>) -> TrainedQueries {
        TrainedQueries {
            keys: queries.into_iter().map(query_key).collect(),
        }
    }

    /// Whether `query` (in any spelling that normalises the same) was learned from.
    pub fn contains(&self, query: &str) -> bool {
        self.keys.contains(&query_key(query))
    }

    /// Number of distinct queries.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when no query is recorded.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Writes `dir/queries.txt`, sorted, one per line.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let mut keys: Vec<&str> = self.keys.iter().map(String::as_str).collect();
        keys.sort_unstable();
        let mut text = keys.join("\n");
        text.push('\n');
        let path = dir.join(QUERIES_FILE);
        assay_fetch::write_atomically(&path, |w| w.write_all(text.as_bytes()))
            .map_err(SearchError::io(&path))
    }

    /// The queries recorded in `dir`, if the folder records any.
    pub fn open(dir: &Path) -> Result<Option<TrainedQueries>> {
        let path = dir.join(QUERIES_FILE);
        if !path.is_file() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&path).map_err(SearchError::io(&path))?;
        Ok(Some(TrainedQueries::new(
            text.lines().filter(|l| !l.trim().is_empty()),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(lexical: &[u64], vector: &[u64], relevant: &[u64]) -> FitQuery {
        let list = |keys: &[u64]| {
            keys.iter()
                .enumerate()
                .map(|(i, &k)| (k, 10.0 - i as f32))
                .collect()
        };
        FitQuery {
            lexical: list(lexical),
            vector: list(vector),
            grades: relevant.iter().map(|&k| (k, 1.0)).collect(),
        }
    }

    #[test]
    fn picks_bm25_when_only_bm25_finds_the_answers() {
        // The answer is first lexically and absent from the vector list: every ratio below 1
        // ranks it first under convex fusion, so the first grid point (ratio 0) wins. The
        // default (RRF, 0.5) ties the two firsts and puts the lower key, the vector's, first:
        // it loses on every query, so the grid's best replaces it.
        let queries = vec![query(&[5, 6], &[1, 2], &[5]), query(&[7, 8], &[3, 4], &[7])];
        let f = LearnedFusion::fit(&queries, "test").unwrap();
        assert_eq!((f.fusion.as_str(), f.semantic_ratio), ("convex", 0.0));
        assert_eq!(f.ndcg_at_10, 1.0);
        assert_eq!(f.bm25_ndcg_at_10, 1.0);
        assert_eq!(f.vector_ndcg_at_10, 0.0);
        let second = 1.0 / 3f64.log2();
        assert!((f.default_ndcg_at_10.unwrap() - second).abs() < 1e-12);
    }

    /// Three queries whose answer is second in both lists (RRF at any inner ratio puts it
    /// first; BM25 or the vectors alone, second), and `lucky` queries where only ratios below
    /// 0.5 rank the answer (key 2, BM25's first, the vectors' second) above key 1.
    fn mixed_and_lucky(lucky: usize) -> Vec<FitQuery> {
        let mut queries: Vec<FitQuery> = (0..3)
            .map(|i| {
                let (x, y, answer) = (100 + 3 * i, 101 + 3 * i, 102 + 3 * i);
                query(&[x, answer], &[y, answer], &[answer])
            })
            .collect();
        for i in 0..lucky as u64 {
            let (a, b) = (10 + 2 * i, 11 + 2 * i);
            // Answer `b` (the higher key): first lexically, second by vector.
            queries.push(query(&[b, a], &[a, b], &[b]));
        }
        queries
    }

    #[test]
    fn a_gain_on_one_query_does_not_replace_the_default() {
        // Gains over the default: 1 - 1/log2(3) on the lucky query, 0 on the other three: the
        // mean gain equals its standard error (g/4 each), so it is not clearly better.
        let f = LearnedFusion::fit(&mixed_and_lucky(1), "test").unwrap();
        assert_eq!((f.fusion.as_str(), f.semantic_ratio), ("rrf", 0.5));
        let second = 1.0 / 3f64.log2();
        assert!((f.ndcg_at_10 - (3.0 + second) / 4.0).abs() < 1e-12);
        // Never below either list alone: BM25 gets the lucky query right, nothing else.
        assert!((f.bm25_ndcg_at_10 - (1.0 + 3.0 * second) / 4.0).abs() < 1e-12);
        assert!(f.ndcg_at_10 >= f.bm25_ndcg_at_10.max(f.vector_ndcg_at_10));
    }

    #[test]
    fn a_gain_on_every_query_replaces_the_default() {
        // Four lucky queries and three mixed: the first inner RRF ratio (0.05) gets all seven
        // right; its gain over the default is 1 - 1/log2(3) on four queries and 0 on three, a
        // mean well above its standard error.
        let f = LearnedFusion::fit(&mixed_and_lucky(4), "test").unwrap();
        assert_eq!((f.fusion.as_str(), f.semantic_ratio), ("rrf", 0.05));
        assert_eq!(f.ndcg_at_10, 1.0);
        let second = 1.0 / 3f64.log2();
        assert!((f.default_ndcg_at_10.unwrap() - (3.0 + 4.0 * second) / 7.0).abs() < 1e-12);
    }

    #[test]
    fn never_below_either_list_alone_and_mixes_when_each_wins_half() {
        // Query 1's answer is BM25's second and the vectors' first; query 2's the reverse.
        // Alone each list gets 1/log2(3) on one query and 1 on the other; an even mix puts
        // both answers first.
        let queries = vec![
            query(&[2, 1, 3], &[1, 4, 5], &[1]),
            query(&[6, 7, 8], &[9, 6, 10], &[6]),
        ];
        let f = LearnedFusion::fit(&queries, "test").unwrap();
        let alone = (1.0 + 1.0 / 3f64.log2()) / 2.0;
        assert!((f.bm25_ndcg_at_10 - alone).abs() < 1e-12);
        assert!((f.vector_ndcg_at_10 - alone).abs() < 1e-12);
        assert_eq!(f.ndcg_at_10, 1.0);
        assert!(f.semantic_ratio > 0.0 && f.semantic_ratio < 1.0);
    }

    #[test]
    fn no_relevant_item_learns_nothing() {
        assert_eq!(LearnedFusion::fit(&[query(&[1], &[2], &[])], "t"), None);
    }

    #[test]
    fn trained_queries_match_any_spelling_and_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let trained = TrainedQueries::new(["Red  Dress ", "jigsaw"]);
        assert!(trained.contains("red dress"));
        assert!(!trained.contains("red dresses"));
        trained.save(dir.path()).unwrap();
        assert_eq!(TrainedQueries::open(dir.path()).unwrap(), Some(trained));
        let fusion = LearnedFusion::fit(&[query(&[1], &[2], &[2])], "v").unwrap();
        fusion.save(dir.path()).unwrap();
        assert_eq!(LearnedFusion::open(dir.path()).unwrap(), Some(fusion));
    }
}
