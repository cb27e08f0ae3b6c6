//! Customer-service answers: the same engine over question-answer pairs.

use std::sync::Arc;

use assay_encoder::Encoder;
use serde::{Deserialize, Serialize};

use crate::index::{IndexConfig, ItemDoc, SearchIndex};
use crate::options::{Mode, SearchOptions};
use crate::Result;

/// One FAQ entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaqPair {
    /// The question as the shop wrote it.
    pub question: String,
    /// The answer.
    pub answer: String,
}

/// An answer to a shopper's question.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FaqAnswer {
    /// The FAQ question that matched.
    pub question: String,
    /// Its answer.
    pub answer: String,
    /// Fused score (reciprocal-rank fusion of BM25 and cosine).
    pub score: f32,
    /// BM25 score, when the entry matched lexically.
    pub bm25: Option<f32>,
    /// Cosine similarity of the shopper's question to the entry.
    pub cosine: Option<f32>,
}

/// Hybrid search over question-answer pairs. The question is the title (boosted), the answer
/// the description; the embedding covers both.
pub struct FaqIndex {
    index: SearchIndex,
    pairs: Vec<FaqPair>,
}

impl std::fmt::Debug for FaqIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaqIndex")
            .field("pairs", &self.pairs.len())
            .finish()
    }
}

impl FaqIndex {
    /// Indexes `pairs` in RAM.
    pub fn build(pairs: Vec<FaqPair>, encoder: Arc<dyn Encoder>) -> Result<FaqIndex> {
        let docs = pairs
            .iter()
            .enumerate()
            .map(|(i, p)| ItemDoc {
                id: i.to_string(),
                title: p.question.clone(),
                description: p.answer.clone(),
                ..ItemDoc::default()
            })
            .collect();
        let index = SearchIndex::from_docs(docs, encoder, &IndexConfig::default())?;
        Ok(FaqIndex { index, pairs })
    }

    /// The `k` best answers to `question`, best first.
    pub fn answer(&self, question: &str, k: usize) -> Result<Vec<FaqAnswer>> {
        let options = SearchOptions {
            k,
            explain: true,
            ..SearchOptions::mode(Mode::Hybrid)
        };
        let hits = self.index.search(question, &options)?;
        Ok(hits
            .into_iter()
            .filter_map(|h| {
                let pair = self.pairs.get(h.id.parse::<usize>().ok()?)?;
                let e = h.explanation.unwrap_or_default();
                Some(FaqAnswer {
                    question: pair.question.clone(),
                    answer: pair.answer.clone(),
                    score: h.score,
                    bm25: e.bm25,
                    cosine: e.vector,
                })
            })
            .collect())
    }
}
