//! Product search for assay: BM25, sentence embeddings, and the fusion of both.
//!
//! A [`SearchIndex`] holds one document per catalog item in three structures kept in step:
//! a tantivy inverted index (fields title, description, category, brand, attributes; BM25 with
//! per-field boosts; English stemming and jieba segmentation chosen per run of characters), a
//! vector index of unit-length item embeddings from an [`assay_encoder::Encoder`] (exact SIMD
//! scan below a size threshold, HNSW above it), and an in-memory document table used for
//! filters, facets and explanations. A query runs in one of three [`Mode`]s: `Bm25`, `Vector`
//! or `Hybrid`, where hybrid fuses both ranked lists by reciprocal rank ([`Fusion::Rrf`]) or by
//! a convex combination of min-max normalised scores ([`Fusion::Convex`]) with a
//! `semantic_ratio` (0 = lexical only, 1 = vector only). A soft query-intent boost (nearest
//! category centroid of the query embedding) and an optional personal score are added on top.
//!
//! **Key design decision:** tantivy and candle types never cross this crate's API. Documents
//! are addressed by a stable `u64` key (the dataset's item index for built indexes, fresh keys
//! for items added later), so judgments, recommenders and the CLI speak in item ids while the
//! engines underneath can be swapped or rebuilt. Queries are built from analysed terms, never
//! parsed as query syntax, so no shopper input can produce a syntax error; filters have their
//! own small grammar ([`Filters::parse`]) with located errors.
//!
//! Real-time updates ([`SearchIndex::upsert`], [`SearchIndex::delete`]) commit the lexical
//! index and insert into the vector index without a rebuild; they are searchable on return.

#![warn(missing_docs)]

mod analysis;
mod error;
mod eval;
mod faq;
mod finetune;
pub mod fusion;
mod index;
mod intent;
mod learned;
mod lexical;
mod options;
mod pairs;
mod source_value;
mod store;
mod vector;

pub use analysis::query_language;
pub use error::SearchError;
pub use eval::{
    eval_search, eval_search_modes, evaluate_catalog, EvalMode, IntentReport, ModeScores,
    SearchEval,
};
pub use faq::{FaqAnswer, FaqIndex, FaqPair};
pub use finetune::{finetune, FinetuneConfig, FinetuneSummary, Validation, VALIDATION_METRICS};
pub use fusion::{Candidate, Ranked, RetrievalQuery, Retriever};
pub use index::{build_index, check_query, IndexConfig, ItemDoc, SearchIndex, MAX_QUERY_BYTES};
pub use intent::{Intent, IntentAccuracy};
pub use learned::{FitQuery, LearnedFusion, TrainedQueries, FUSION_FILE, QUERIES_FILE};
pub use options::{
    Explanation, Facets, Filters, Fusion, Hit, MatchedTerm, Mode, SearchOptions, SearchResults,
    UNREADABLE,
};
pub use pairs::{
    build_pairs, count_by_source, mine_hard_negatives, query_key, split_by_query, PairSource,
    PairWeights, TrainingPair,
};
pub use source_value::{value_sources, SourceValuation, TrainingRun, MAX_VALUED_SOURCES};
pub use store::{
    build_in_memory, build_saved, default_index_dir, open_saved, saved_index_problem, IndexSource,
    SOURCE_FILE,
};
pub use vector::{exact_top_k, HnswParams, VectorIndex};

/// Shorthand for results of this crate.
pub type Result<T> = std::result::Result<T, SearchError>;
