//! What a fine-tuned encoder folder carries for search besides the weights: the hybrid fusion
//! learned with it, and the queries it learned from (so that an evaluation never scores them).
//!
//! The fusion is learned on the fine-tuning run's validation queries: the encoder never took a
//! gradient step on them, so their vector scores are as good as on new queries. Fitted on the
//! training queries instead, the fusion would trust the (memorised) vector side too much.

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
}

impl LearnedFusion {
    /// The best of convex and reciprocal-rank fusion (constant 60) over semantic ratios 0, 0.05,
    /// ..., 1 by mean nDCG@10 on `queries` (queries with no relevant item do not count). The
    /// grid holds both single lists (ratio 0 ranks by BM25, ratio 1 by the vectors), so on the
    /// fit queries the choice is never worse than either alone. Ties go to the earlier grid
    /// point: convex before RRF, lower ratios first. `None` when no query has a relevant item.
    pub fn fit(queries: &[FitQuery], fit_on: &str) -> Option<LearnedFusion> {
        let mut grid: Vec<(Fusion, f32)> = Vec::new();
        for fusion in [Fusion::Convex, Fusion::Rrf { k: 60.0 }] {
            for step in 0..=RATIO_STEPS {
                grid.push((fusion, step as f32 / RATIO_STEPS as f32));
            }
        }
        let mut best: Option<(Fusion, f32, f64)> = None;
        for &(fusion, ratio) in &grid {
            let score = mean_ndcg(queries, |lexical, vector| {
                let mut cands = fusion::candidates(lexical, vector);
                fusion::fuse(&mut cands, lexical, vector, Mode::Hybrid, fusion, ratio);
                fusion::rank(&mut cands);
                cands.into_iter().map(|c| c.key).collect()
            })?;
            if best.is_none_or(|(_, _, b)| score > b) {
                best = Some((fusion, ratio, score));
            }
        }
        let (fusion, ratio, score) = best?;
        let keys = |list: &Ranked| list.iter().map(|(k, _)| *k).collect::<Vec<u64>>();
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
            bm25_ndcg_at_10: mean_ndcg(queries, |l, _| keys(l))?,
            vector_ndcg_at_10: mean_ndcg(queries, |_, v| keys(v))?,
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

/// Mean nDCG@10 of the rankings `rank` makes of each query's lists.
fn mean_ndcg(queries: &[FitQuery], rank: impl Fn(&Ranked, &Ranked) -> Vec<u64>) -> Option<f64> {
    let mut sum = 0.0;
    let mut n = 0usize;
    for q in queries {
        if let Some((ndcg, _, _)) = score_list(&rank(&q.lexical, &q.vector), &q.grades) {
            sum += ndcg;
            n += 1;
        }
    }
    (n > 0).then(|| sum / n as f64)
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
        // ranks it first under convex fusion, so the first grid point (ratio 0) wins.
        let queries = vec![query(&[1, 2], &[3, 4], &[1]), query(&[5, 6], &[7, 8], &[5])];
        let f = LearnedFusion::fit(&queries, "test").unwrap();
        assert_eq!((f.fusion.as_str(), f.semantic_ratio), ("convex", 0.0));
        assert_eq!(f.ndcg_at_10, 1.0);
        assert_eq!(f.bm25_ndcg_at_10, 1.0);
        assert_eq!(f.vector_ndcg_at_10, 0.0);
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
