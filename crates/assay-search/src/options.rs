//! What a search asks for and what it returns.

use std::collections::HashMap;

use serde::Serialize;

use crate::intent::Intent;
use crate::{Result, SearchError};

/// Which retrieval runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// BM25 over the text fields only.
    Bm25,
    /// Cosine similarity of sentence embeddings only.
    Vector,
    /// Both, fused by [`SearchOptions::fusion`].
    Hybrid,
}

impl Mode {
    /// Parses `bm25`, `vector` or `hybrid`.
    pub fn parse(text: &str) -> Result<Mode> {
        match text.trim().to_ascii_lowercase().as_str() {
            "bm25" | "lexical" | "keyword" => Ok(Mode::Bm25),
            "vector" | "semantic" | "dense" => Ok(Mode::Vector),
            "hybrid" => Ok(Mode::Hybrid),
            other => Err(SearchError::InvalidOption(format!(
                "unknown mode `{other}` (expected bm25, vector or hybrid)"
            ))),
        }
    }
}

/// How hybrid mode combines the lexical and the vector list.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Fusion {
    /// Reciprocal-rank fusion: `(1 - r) * 2 / (k + rank_bm25) + r * 2 / (k + rank_vector)`
    /// with `r` the semantic ratio (at `r = 0.5` this is plain RRF); ranks count from 1.
    Rrf {
        /// The RRF constant (60 in the original paper).
        k: f32,
    },
    /// Convex combination of min-max normalised scores:
    /// `(1 - r) * norm(bm25) + r * norm(cosine)`; a document absent from a list gets 0 there.
    Convex,
}

/// Restricts results; every present condition must hold.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Filters {
    /// Category path prefix, matched level by level ("Women" matches "Women/Dresses/Maxi").
    pub category: Option<String>,
    /// Allowed brands (case-insensitive); empty = any.
    pub brands: Vec<String>,
    /// Lowest price, inclusive.
    pub price_min: Option<f64>,
    /// Highest price, inclusive.
    pub price_max: Option<f64>,
}

impl Filters {
    /// True when no condition is set.
    pub fn is_empty(&self) -> bool {
        self.category.is_none()
            && self.brands.is_empty()
            && self.price_min.is_none()
            && self.price_max.is_none()
    }

    /// Parses `field=value` clauses separated by `;`: `category=Women/Dresses`,
    /// `brand=Acme` (repeat for any of several), `price=10..50`, `price=..50`, `price=10..`.
    pub fn parse(text: &str) -> Result<Filters> {
        let mut filters = Filters::default();
        for clause in text.split(';').map(str::trim).filter(|c| !c.is_empty()) {
            let bad = |reason: &str| SearchError::InvalidFilter {
                input: clause.to_owned(),
                reason: reason.to_owned(),
            };
            let (field, value) = clause
                .split_once('=')
                .ok_or_else(|| bad("expected field=value (fields: category, brand, price)"))?;
            let value = value.trim();
            if value.is_empty() {
                return Err(bad("empty value"));
            }
            match field.trim().to_ascii_lowercase().as_str() {
                "category" => {
                    let path = normalize_path(value);
                    if path.is_empty() {
                        return Err(bad("empty category path"));
                    }
                    filters.category = Some(path);
                }
                "brand" => filters.brands.push(value.to_owned()),
                "price" => {
                    let (lo, hi) = value
                        .split_once("..")
                        .ok_or_else(|| bad("expected a range like 10..50, ..50 or 10.."))?;
                    let num = |s: &str| -> Result<Option<f64>> {
                        let s = s.trim();
                        if s.is_empty() {
                            return Ok(None);
                        }
                        match s.parse::<f64>() {
                            Ok(v) if v.is_finite() => Ok(Some(v)),
                            _ => Err(bad(&format!("`{s}` is not a number"))),
                        }
                    };
                    filters.price_min = num(lo)?;
                    filters.price_max = num(hi)?;
                    if let (Some(a), Some(b)) = (filters.price_min, filters.price_max) {
                        if a > b {
                            return Err(bad("lower bound above upper bound"));
                        }
                    }
                }
                other => {
                    return Err(bad(&format!(
                        "unknown field `{other}` (fields: category, brand, price)"
                    )))
                }
            }
        }
        Ok(filters)
    }

    /// True when an item with these values passes every condition.
    pub(crate) fn accepts(&self, category: &str, brand: &str, price: Option<f64>) -> bool {
        if let Some(prefix) = &self.category {
            let cat = normalize_path(category);
            let inside = cat == *prefix
                || (cat.len() > prefix.len()
                    && cat.starts_with(prefix.as_str())
                    && cat.as_bytes()[prefix.len()] == b'/');
            if !inside {
                return false;
            }
        }
        if !self.brands.is_empty() && !self.brands.iter().any(|b| b.eq_ignore_ascii_case(brand)) {
            return false;
        }
        if self.price_min.is_some() || self.price_max.is_some() {
            let Some(p) = price else { return false };
            if self.price_min.is_some_and(|lo| p < lo) || self.price_max.is_some_and(|hi| p > hi) {
                return false;
            }
        }
        true
    }
}

/// `" Women / Dresses/ "` -> `"Women/Dresses"`.
pub(crate) fn normalize_path(path: &str) -> String {
    path.split('/')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("/")
}

/// Everything a search can be asked to do.
#[derive(Debug, Clone)]
pub struct SearchOptions {
    /// Which retrieval runs.
    pub mode: Mode,
    /// How hybrid mode fuses.
    pub fusion: Fusion,
    /// Weight of the vector side in hybrid mode, in [0, 1].
    pub semantic_ratio: f32,
    /// Number of hits returned.
    pub k: usize,
    /// Depth of each ranked list before fusion (at least `k`).
    pub candidates: usize,
    /// Conditions every hit satisfies.
    pub filters: Filters,
    /// Attach an [`Explanation`] to every hit.
    pub explain: bool,
    /// Weight of the query-intent boost, relative to the best fused score (0 = off). Applied
    /// only in modes that embed the query (vector, hybrid).
    pub intent_boost: f32,
    /// Optional personal scores by item id (e.g. a recommender's scores for this user, in
    /// [0, 1]); added as `personal_weight * score * best fused score`.
    pub personal: Option<HashMap<String, f32>>,
    /// Weight of [`SearchOptions::personal`].
    pub personal_weight: f32,
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions {
            mode: Mode::Hybrid,
            fusion: Fusion::Rrf { k: 60.0 },
            semantic_ratio: 0.5,
            k: 10,
            candidates: 100,
            filters: Filters::default(),
            explain: false,
            intent_boost: 0.0,
            personal: None,
            personal_weight: 0.0,
        }
    }
}

impl SearchOptions {
    /// Options for `mode` with everything else at its default.
    pub fn mode(mode: Mode) -> SearchOptions {
        SearchOptions {
            mode,
            ..SearchOptions::default()
        }
    }

    /// Checks every option's range; searches run this themselves, callers use it to reject
    /// bad options before building an index.
    pub fn validate(&self) -> Result<()> {
        if !(0.0..=1.0).contains(&self.semantic_ratio) {
            return Err(SearchError::InvalidOption(format!(
                "semantic_ratio must be in [0, 1], got {}",
                self.semantic_ratio
            )));
        }
        if self.k == 0 || self.k > 10_000 {
            return Err(SearchError::InvalidOption(format!(
                "k must be in 1..=10000, got {}",
                self.k
            )));
        }
        if let Fusion::Rrf { k } = self.fusion {
            if !(k.is_finite() && k >= 0.0) {
                return Err(SearchError::InvalidOption(format!(
                    "RRF constant must be finite and >= 0, got {k}"
                )));
            }
        }
        if !self.intent_boost.is_finite() || !self.personal_weight.is_finite() {
            return Err(SearchError::InvalidOption(
                "boost weights must be finite".into(),
            ));
        }
        Ok(())
    }
}

/// A query term found in a document, and where.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MatchedTerm {
    /// The analysed term (lower-cased, stemmed).
    pub term: String,
    /// The fields it occurs in.
    pub fields: Vec<String>,
}

/// Why a hit is where it is.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Explanation {
    /// Query terms found in the document.
    pub matched_terms: Vec<MatchedTerm>,
    /// BM25 score (sum of boosted field scores), when the document is in the lexical list.
    pub bm25: Option<f32>,
    /// Rank in the lexical list, from 1.
    pub bm25_rank: Option<usize>,
    /// Cosine similarity to the query, when the document is in the vector list.
    pub vector: Option<f32>,
    /// Rank in the vector list, from 1.
    pub vector_rank: Option<usize>,
    /// Part of the score from the lexical side.
    pub lexical_contribution: f32,
    /// Part of the score from the vector side.
    pub semantic_contribution: f32,
    /// Part of the score from the query-intent boost.
    pub intent_contribution: f32,
    /// Part of the score from the personal term.
    pub personal_contribution: f32,
}

/// One result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    /// External item id.
    pub id: String,
    /// Rank, from 1.
    pub rank: usize,
    /// Final score (the sum of the explanation's contributions).
    pub score: f32,
    /// Title of the item.
    pub title: String,
    /// Category path.
    pub category: String,
    /// Brand.
    pub brand: String,
    /// Price, when known.
    pub price: Option<f64>,
    /// Present when [`SearchOptions::explain`] is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explanation: Option<Explanation>,
}

/// Counts over the filtered candidate set, most frequent first.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Facets {
    /// Top-level category -> count.
    pub category: Vec<(String, usize)>,
    /// Full category path -> count.
    pub leaf_category: Vec<(String, usize)>,
    /// Brand -> count.
    pub brand: Vec<(String, usize)>,
    /// Price band ("0-25", "25-50", ..., "1000+") -> count, in band order.
    pub price: Vec<(String, usize)>,
}

/// Hits with facet counts and the predicted intent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchResults {
    /// The ranked hits.
    pub hits: Vec<Hit>,
    /// Facet counts over all filtered candidates (not only the returned `k`).
    pub facets: Facets,
    /// The predicted category of the query, when the query was embedded.
    pub intent: Option<Intent>,
    /// Number of distinct candidates that were fused.
    pub candidates: usize,
    /// In hybrid mode, when the vector side was left out because the encoder cannot read the
    /// query: the share of the query's tokens unknown to it (see [`UNREADABLE`]).
    pub unread_by_encoder: Option<f32>,
}

/// In hybrid mode a query whose tokens are more than this share unknown to the encoder (its
/// `[UNK]`) is ranked by BM25 alone: the encoder gives every such query nearly the same
/// vector, so the vector list is noise (all-MiniLM-L6-v2 reads most Chinese characters as
/// `[UNK]`). Vector mode, asked for by name, still uses the vector.
pub const UNREADABLE: f32 = 0.5;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_grammar() {
        let f = Filters::parse("category= Women/Dresses/ ; brand=Acme; brand=Lunara; price=10..50")
            .unwrap();
        assert_eq!(f.category.as_deref(), Some("Women/Dresses"));
        assert_eq!(f.brands, vec!["Acme", "Lunara"]);
        assert_eq!((f.price_min, f.price_max), (Some(10.0), Some(50.0)));
        assert!(f.accepts("Women/Dresses/Maxi", "acme", Some(10.0)));
        assert!(!f.accepts("Women/DressesX", "acme", Some(10.0)));
        assert!(!f.accepts("Women/Dresses", "other", Some(20.0)));
        assert!(!f.accepts("Women/Dresses", "acme", Some(50.01)));
        assert!(!f.accepts("Women/Dresses", "acme", None));
        let open = Filters::parse("price=..5").unwrap();
        assert_eq!((open.price_min, open.price_max), (None, Some(5.0)));
        assert!(Filters::parse("").unwrap().is_empty());
        for bad in [
            "colour=red",
            "price=cheap",
            "price=5",
            "brand",
            "price=9..1",
            "category=/",
        ] {
            let err = Filters::parse(bad).unwrap_err();
            assert!(
                matches!(err, SearchError::InvalidFilter { .. }),
                "{bad}: {err}"
            );
        }
        assert!(Filters::parse("colour=red")
            .unwrap_err()
            .to_string()
            .contains("unknown field"));
    }
}
