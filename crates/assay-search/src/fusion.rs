//! From retrieved lists to one ranking, in stages that compose:
//!
//! 1. a [`Retriever`] (BM25, vectors) returns its best documents for a [`RetrievalQuery`];
//! 2. [`candidates`] takes the union of the lists, remembering each document's score and rank
//!    in each;
//! 3. a fusion ([`rrf`], [`convex`], or one list alone through [`single`]) sets each candidate's
//!    lexical and semantic contributions;
//! 4. signals (query intent, a personal score) add to that through [`boost`], each scaled by
//!    the best fused score so their weight means the same on every query;
//! 5. [`rank`] orders by the total, ties to the lower key.
//!
//! Facets and explanations only read the ranked candidates.

use crate::options::{Filters, Fusion, Mode};
use crate::Result;

/// A retrieved list: (document key, score), best first.
pub type Ranked = Vec<(u64, f32)>;

/// What a retriever may use of a query.
pub struct RetrievalQuery<'q> {
    /// The analysed terms.
    pub terms: &'q [String],
    /// The query's embedding, when computed.
    pub vector: Option<&'q [f32]>,
    /// Conditions every document must meet.
    pub filters: &'q Filters,
    /// The same conditions as a test on a document key.
    pub keep: &'q (dyn Fn(u64) -> bool + Sync),
}

/// A source of candidates: the best `depth` documents for a query, best first.
pub trait Retriever {
    /// The list; empty when this retriever has nothing to go on (no terms, no vector).
    fn retrieve(&self, query: &RetrievalQuery<'_>, depth: usize) -> Result<Ranked>;
}

/// One candidate document and what each stage gave it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Candidate {
    /// The document key.
    pub key: u64,
    /// BM25 score and 1-based rank in the lexical list, when there.
    pub bm25: Option<(f32, usize)>,
    /// Cosine and 1-based rank in the vector list, when there.
    pub cosine: Option<(f32, usize)>,
    /// Contribution of the lexical list after fusion.
    pub lexical: f32,
    /// Contribution of the vector list after fusion.
    pub semantic: f32,
    /// Contribution of the query-intent boost.
    pub intent: f32,
    /// Contribution of the personal boost.
    pub personal: f32,
}

impl Candidate {
    /// The score the ranking uses.
    pub fn total(&self) -> f32 {
        self.lexical + self.semantic + self.intent + self.personal
    }
}

/// The union of both lists, one candidate per key, lexical list first.
pub fn candidates(lexical: &[(u64, f32)], vector: &[(u64, f32)]) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = Vec::with_capacity(lexical.len() + vector.len());
    let mut slot: std::collections::HashMap<u64, usize> = Default::default();
    let mut at = |key: u64, out: &mut Vec<Candidate>| {
        *slot.entry(key).or_insert_with(|| {
            out.push(Candidate {
                key,
                ..Candidate::default()
            });
            out.len() - 1
        })
    };
    for (rank, &(key, s)) in lexical.iter().enumerate() {
        let i = at(key, &mut out);
        out[i].bm25 = Some((s, rank + 1));
    }
    for (rank, &(key, s)) in vector.iter().enumerate() {
        let i = at(key, &mut out);
        out[i].cosine = Some((s, rank + 1));
    }
    out
}

/// One list alone: its raw score is the contribution (BM25 for [`Mode::Bm25`], cosine
/// otherwise).
pub fn single(cands: &mut [Candidate], mode: Mode) {
    for c in cands {
        match mode {
            Mode::Bm25 => c.lexical = c.bm25.map_or(0.0, |b| b.0),
            Mode::Vector | Mode::Hybrid => c.semantic = c.cosine.map_or(0.0, |v| v.0),
        }
    }
}

/// Reciprocal-rank fusion: `lexical_weight * 2 / (k + rank_bm25) + semantic_weight * 2 /
/// (k + rank_vector)`; a list the candidate is missing from adds 0.
pub fn rrf(cands: &mut [Candidate], k: f32, lexical_weight: f32, semantic_weight: f32) {
    for c in cands {
        c.lexical = c
            .bm25
            .map_or(0.0, |(_, rank)| lexical_weight * 2.0 / (k + rank as f32));
        c.semantic = c
            .cosine
            .map_or(0.0, |(_, rank)| semantic_weight * 2.0 / (k + rank as f32));
    }
}

/// Convex fusion of min-max normalised scores (over each whole list; a list of equal scores
/// normalises to 1): `lexical_weight * norm(bm25) + semantic_weight * norm(cosine)`.
pub fn convex(
    cands: &mut [Candidate],
    lexical: &[(u64, f32)],
    vector: &[(u64, f32)],
    lexical_weight: f32,
    semantic_weight: f32,
) {
    let norm_lex = min_max(lexical);
    let norm_sem = min_max(vector);
    for c in cands {
        c.lexical = c.bm25.map_or(0.0, |(s, _)| lexical_weight * norm_lex(s));
        c.semantic = c.cosine.map_or(0.0, |(s, _)| semantic_weight * norm_sem(s));
    }
}

fn min_max(list: &[(u64, f32)]) -> impl Fn(f32) -> f32 {
    let max = list.iter().map(|x| x.1).fold(f32::NEG_INFINITY, f32::max);
    let min = list.iter().map(|x| x.1).fold(f32::INFINITY, f32::min);
    move |s: f32| {
        if max > min {
            (s - min) / (max - min)
        } else {
            1.0
        }
    }
}

/// Sets the lexical and semantic contributions as `mode` and `fusion` say, with semantic
/// ratio `ratio` for hybrid mode.
pub fn fuse(
    cands: &mut [Candidate],
    lexical: &[(u64, f32)],
    vector: &[(u64, f32)],
    mode: Mode,
    fusion: Fusion,
    ratio: f32,
) {
    match (mode, fusion) {
        (Mode::Bm25 | Mode::Vector, _) => single(cands, mode),
        (Mode::Hybrid, Fusion::Rrf { k }) => rrf(cands, k, 1.0 - ratio, ratio),
        (Mode::Hybrid, Fusion::Convex) => convex(cands, lexical, vector, 1.0 - ratio, ratio),
    }
}

/// The best fused (lexical + semantic) score, at least 0: the scale of every boost.
pub fn best_fused(cands: &[Candidate]) -> f32 {
    cands
        .iter()
        .map(|c| c.lexical + c.semantic)
        .fold(0.0f32, f32::max)
}

/// Adds an additive signal: `weight * scale * signal(key)` into the slot `into` picks, for
/// every candidate whose signal is known.
pub fn boost(
    cands: &mut [Candidate],
    weight: f32,
    scale: f32,
    signal: impl Fn(u64) -> Option<f32>,
    into: fn(&mut Candidate) -> &mut f32,
) {
    if weight == 0.0 {
        return;
    }
    for c in cands {
        if let Some(s) = signal(c.key) {
            *into(c) = weight * scale * s;
        }
    }
}

/// Orders by total score, best first; ties go to the lower key.
pub fn rank(cands: &mut [Candidate]) {
    cands.sort_by(|a, b| b.total().total_cmp(&a.total()).then(a.key.cmp(&b.key)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rrf_by_hand() {
        // Key 7 is first in both lists, key 3 second lexically only, key 9 second by vector.
        let lexical = [(7, 10.0), (3, 5.0)];
        let vector = [(7, 0.9), (9, 0.8)];
        let mut c = candidates(&lexical, &vector);
        rrf(&mut c, 60.0, 0.5, 0.5);
        rank(&mut c);
        let keys: Vec<u64> = c.iter().map(|c| c.key).collect();
        assert_eq!(keys, vec![7, 3, 9]);
        assert!((c[0].total() - (1.0 / 61.0 + 1.0 / 61.0)).abs() < 1e-7);
        assert!((c[1].total() - 1.0 / 62.0).abs() < 1e-7);
        assert_eq!(
            c[1].total(),
            c[2].total(),
            "3 and 9 tie; the lower key wins"
        );
    }

    #[test]
    fn convex_by_hand_and_boosts_scale_with_the_best() {
        let lexical = [(1, 4.0), (2, 2.0)];
        let vector = [(2, 0.5), (3, 0.3)];
        let mut c = candidates(&lexical, &vector);
        convex(&mut c, &lexical, &vector, 0.25, 0.75);
        // norm(bm25): 1 -> 1, 2 -> 0; norm(cosine): 2 -> 1, 3 -> 0.
        let total = |c: &[Candidate], k: u64| c.iter().find(|c| c.key == k).unwrap().total();
        assert_eq!(total(&c, 1), 0.25);
        assert_eq!(total(&c, 2), 0.75);
        assert_eq!(total(&c, 3), 0.0);
        let best = best_fused(&c);
        assert_eq!(best, 0.75);
        boost(
            &mut c,
            2.0,
            best,
            |k| (k == 3).then_some(1.0),
            |c| &mut c.intent,
        );
        rank(&mut c);
        assert_eq!(c[0].key, 3);
        assert_eq!(c[0].intent, 1.5);
    }
}
