//! Training pairs for fine-tuning the sentence encoder: (query, item) pairs from graded
//! judgments and from search logs, a validation split by query, and hard negatives mined with
//! BM25.
//!
//! A *pair* says "this item answers this query"; its *weight* says how strongly. Judgments give
//! `grade / max grade`. Search logs give a pair for every click, cart or purchase of an item
//! that follows a query in its session, weighted by kind ([`PairWeights`]). The same (query,
//! item) from several pieces of evidence becomes one pair with the largest weight. Queries are
//! compared after trimming, lower-casing and collapsing white space ([`query_key`]).

use std::collections::{BTreeMap, HashMap, HashSet};

use assay_core::{Dataset, EventKind, Judgment, NO_QUERY, NO_SESSION, NO_TIME};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::options::{Mode, SearchOptions};
use crate::{Result, SearchError, SearchIndex};

/// Where a training pair comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PairSource {
    /// Graded relevance judgments.
    Judgments,
    /// A click after a query.
    Clicks,
    /// A cart addition after a query.
    Carts,
    /// A purchase after a query.
    Purchases,
}

impl PairSource {
    /// Every source, strongest evidence first among the logs.
    pub const ALL: [PairSource; 4] = [
        PairSource::Judgments,
        PairSource::Clicks,
        PairSource::Carts,
        PairSource::Purchases,
    ];

    /// The name on the command line and in files.
    pub fn as_str(self) -> &'static str {
        match self {
            PairSource::Judgments => "judgments",
            PairSource::Clicks => "clicks",
            PairSource::Carts => "carts",
            PairSource::Purchases => "purchases",
        }
    }

    /// Parses a source name (singular or plural).
    pub fn parse(text: &str) -> Option<PairSource> {
        match text.trim().to_ascii_lowercase().as_str() {
            "judgments" | "judgment" | "judgements" => Some(PairSource::Judgments),
            "clicks" | "click" => Some(PairSource::Clicks),
            "carts" | "cart" => Some(PairSource::Carts),
            "purchases" | "purchase" => Some(PairSource::Purchases),
            _ => None,
        }
    }

    fn of_kind(kind: EventKind) -> Option<PairSource> {
        match kind {
            EventKind::Click => Some(PairSource::Clicks),
            EventKind::Cart => Some(PairSource::Carts),
            EventKind::Purchase => Some(PairSource::Purchases),
            _ => None,
        }
    }
}

/// Weights of pairs from search logs, by what the shopper did.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PairWeights {
    /// A click.
    pub click: f32,
    /// A cart addition.
    pub cart: f32,
    /// A purchase.
    pub purchase: f32,
}

impl Default for PairWeights {
    /// A purchase counts like a top-graded judgment, a cart two thirds, a click one third.
    fn default() -> Self {
        PairWeights {
            click: 1.0 / 3.0,
            cart: 2.0 / 3.0,
            purchase: 1.0,
        }
    }
}

/// One (query, item) training pair.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrainingPair {
    /// The query as typed (the first spelling seen).
    pub query: String,
    /// The item (dataset index).
    pub item: u32,
    /// How strongly the item answers the query, in (0, 1].
    pub weight: f32,
    /// The evidence with the largest weight.
    pub source: PairSource,
    /// A hard negative for the query (dataset index), once mined.
    pub negative: Option<u32>,
}

/// The form in which queries are compared: trimmed, lower-cased, white space collapsed.
pub fn query_key(query: &str) -> String {
    query
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Pairs from `judgments` with grade > 0, weight `grade / max grade`.
fn judgment_pairs(judgments: &[Judgment], out: &mut Vec<TrainingPair>) {
    let max = judgments.iter().map(|j| j.grade).fold(0.0f64, f64::max);
    if max <= 0.0 {
        return;
    }
    for j in judgments {
        if j.grade > 0.0 && j.grade.is_finite() && j.query.chars().any(char::is_alphanumeric) {
            out.push(TrainingPair {
                query: j.query.clone(),
                item: j.item,
                weight: (j.grade / max) as f32,
                source: PairSource::Judgments,
                negative: None,
            });
        }
    }
}

/// Pairs from the search log: every click, cart or purchase of a wanted kind, with the query it
/// carries or, when it carries none, the latest query before it in its session.
fn log_pairs(
    dataset: &Dataset,
    sources: &[PairSource],
    weights: &PairWeights,
    out: &mut Vec<TrainingPair>,
) {
    let events = &dataset.events;
    // The events of each session in time order (file order breaks ties and unknown times).
    let mut order: Vec<usize> = (0..events.len())
        .filter(|&e| events.session[e] != NO_SESSION || events.query[e] != NO_QUERY)
        .collect();
    order.sort_by_key(|&e| {
        let t = events.timestamp[e];
        (
            events.session[e],
            if t == NO_TIME { i64::MIN } else { t },
            e,
        )
    });
    let mut last_query: Option<(u32, u32)> = None; // (session, query)
    for e in order {
        let session = events.session[e];
        let query = if events.query[e] != NO_QUERY {
            if session != NO_SESSION {
                last_query = Some((session, events.query[e]));
            }
            Some(events.query[e])
        } else {
            last_query
                .filter(|(s, _)| *s == session && session != NO_SESSION)
                .map(|(_, q)| q)
        };
        let Some(query) = query else { continue };
        let Some(source) = PairSource::of_kind(events.kind[e]) else {
            continue;
        };
        if !sources.contains(&source) {
            continue;
        }
        let text = dataset.queries.name(query);
        if !text.chars().any(char::is_alphanumeric) {
            continue;
        }
        let weight = match source {
            PairSource::Clicks => weights.click,
            PairSource::Carts => weights.cart,
            PairSource::Purchases => weights.purchase,
            PairSource::Judgments => continue,
        };
        if weight > 0.0 {
            out.push(TrainingPair {
                query: text.to_owned(),
                item: events.item[e],
                weight,
                source,
                negative: None,
            });
        }
    }
}

/// The training pairs of `sources`: from `judgments` (the dataset's own or a file's) and from
/// the dataset's search log, one pair per (query, item) with the largest weight, in the order
/// of first appearance. Pairs whose item is outside the catalog are dropped.
pub fn build_pairs(
    dataset: &Dataset,
    judgments: &[Judgment],
    sources: &[PairSource],
    weights: &PairWeights,
) -> Vec<TrainingPair> {
    let mut raw = Vec::new();
    if sources.contains(&PairSource::Judgments) {
        judgment_pairs(judgments, &mut raw);
    }
    log_pairs(dataset, sources, weights, &mut raw);
    let n_items = dataset.items.len() as u32;
    let mut out: Vec<TrainingPair> = Vec::new();
    let mut at: HashMap<(String, u32), usize> = HashMap::new();
    for pair in raw {
        if pair.item >= n_items {
            continue;
        }
        let key = (query_key(&pair.query), pair.item);
        match at.get(&key) {
            Some(&i) => {
                if pair.weight > out[i].weight {
                    out[i].weight = pair.weight;
                    out[i].source = pair.source;
                }
            }
            None => {
                at.insert(key, out.len());
                out.push(pair);
            }
        }
    }
    out
}

/// Splits `pairs` by query: a seeded `fraction` of the distinct queries (at least one when
/// there are two or more) goes to validation with all its pairs; no query is on both sides.
/// Returns (training, validation).
pub fn split_by_query(
    pairs: Vec<TrainingPair>,
    fraction: f64,
    seed: u64,
) -> (Vec<TrainingPair>, Vec<TrainingPair>) {
    let keys: Vec<String> = pairs.iter().map(|p| query_key(&p.query)).collect();
    let mut distinct: Vec<&str> = keys.iter().map(String::as_str).collect();
    distinct.sort_unstable();
    distinct.dedup();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    distinct.shuffle(&mut rng);
    let wanted = (fraction.clamp(0.0, 1.0) * distinct.len() as f64).round() as usize;
    let n_valid = if fraction > 0.0 && distinct.len() >= 2 {
        wanted.clamp(1, distinct.len() - 1)
    } else {
        wanted.min(distinct.len())
    };
    let valid: HashSet<String> = distinct[..n_valid]
        .iter()
        .map(|q| (*q).to_owned())
        .collect();
    let mut train = Vec::new();
    let mut validation = Vec::new();
    for (pair, key) in pairs.into_iter().zip(keys) {
        if valid.contains(&key) {
            validation.push(pair);
        } else {
            train.push(pair);
        }
    }
    (train, validation)
}

/// Gives every pair a hard negative: an item that BM25 ranks high for the pair's query and that
/// answers it less well than the pair's item does: not an answer at all in `known`, or a
/// weaker one (a lower grade, or weaker evidence). So a top-graded pair learns to rank above
/// the query's lesser answers as well as above its lexical look-alikes, which is what nDCG
/// rewards; a pair never learns to push away an answer as good as its own. The pairs of one
/// query take their candidates in rank order, one each (wrapping around), so they get
/// different negatives. `index` is searched in BM25 mode to `depth` results; a pair with no
/// such item keeps `None`.
pub fn mine_hard_negatives(
    pairs: &mut [TrainingPair],
    known: &[&[TrainingPair]],
    index: &SearchIndex,
    depth: usize,
) -> Result<()> {
    // The strongest weight with which each item answers each query.
    let mut answers: HashMap<String, HashMap<u32, f32>> = HashMap::new();
    for p in known.iter().flat_map(|k| k.iter()) {
        let weight = answers
            .entry(query_key(&p.query))
            .or_default()
            .entry(p.item)
            .or_insert(0.0);
        *weight = weight.max(p.weight);
    }
    let mut by_query: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, p) in pairs.iter().enumerate() {
        by_query.entry(query_key(&p.query)).or_default().push(i);
    }
    let options = SearchOptions {
        k: depth.max(1),
        candidates: depth.max(1),
        ..SearchOptions::mode(Mode::Bm25)
    };
    for (key, members) in by_query {
        let query = pairs[members[0]].query.clone();
        let hits = match index.search(&query, &options) {
            Ok(hits) => hits,
            // A query with no searchable word has no lexical neighbours.
            Err(SearchError::EmptyQuery) => continue,
            Err(e) => return Err(e),
        };
        let answered = answers.get(&key);
        let ranked: Vec<(u32, f32)> = hits
            .iter()
            .filter_map(|h| index.key_of(&h.id))
            .map(|k| {
                let item = k as u32;
                let weight = answered.and_then(|a| a.get(&item)).copied().unwrap_or(0.0);
                (item, weight)
            })
            .collect();
        for (j, &i) in members.iter().enumerate() {
            // Weights are grades over the top grade: equal grades give equal weights.
            let own = pairs[i].weight - 1e-6;
            let candidates: Vec<u32> = ranked
                .iter()
                .filter(|&&(_, w)| w < own)
                .map(|&(item, _)| item)
                .collect();
            if !candidates.is_empty() {
                pairs[i].negative = Some(candidates[j % candidates.len()]);
            }
        }
    }
    Ok(())
}

/// Counts of pairs by source, in [`PairSource::ALL`] order, sources without pairs left out.
pub fn count_by_source(pairs: &[TrainingPair]) -> Vec<(PairSource, usize)> {
    PairSource::ALL
        .iter()
        .map(|&s| (s, pairs.iter().filter(|p| p.source == s).count()))
        .filter(|(_, n)| *n > 0)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use assay_core::{Events, IdMap};

    fn judgment(query_id: &str, query: &str, item: u32, grade: f64) -> Judgment {
        Judgment {
            query_id: query_id.into(),
            query: query.into(),
            item,
            grade,
        }
    }

    /// Items i0..i3; one session s0 with a search for "red dress", a click on 1 (no query on
    /// the row) and a purchase of 2; a click on 3 outside any session and query.
    fn shop() -> Dataset {
        let mut d = Dataset::default();
        for i in 0..4 {
            d.items.intern(&format!("i{i}"));
        }
        let u = d.users.intern("u0");
        let s = d.sessions.intern("s0");
        let q = d.queries.intern("red dress");
        let mut e = Events::default();
        let nan = f64::NAN;
        let src = 0;
        e.push(u, 0, EventKind::Impression, nan, 10, s, q, 1, nan, src);
        e.push(u, 1, EventKind::Click, nan, 11, s, NO_QUERY, 0, nan, src);
        e.push(u, 2, EventKind::Purchase, 9.0, 12, s, NO_QUERY, 0, nan, src);
        e.push(
            u,
            3,
            EventKind::Click,
            nan,
            13,
            NO_SESSION,
            NO_QUERY,
            0,
            nan,
            src,
        );
        d.events = e;
        d.sources = IdMap::default();
        d
    }

    #[test]
    fn pairs_from_judgments_and_logs() {
        let d = shop();
        let judgments = vec![
            judgment("q1", "Red  Dress", 2, 1.0),
            judgment("q1", "Red  Dress", 0, 3.0),
            judgment("q1", "Red  Dress", 3, 0.0),
        ];
        let pairs = build_pairs(&d, &judgments, &PairSource::ALL, &PairWeights::default());
        let got: Vec<(u32, f32, PairSource)> =
            pairs.iter().map(|p| (p.item, p.weight, p.source)).collect();
        // Judged 2 (grade 1 of 3) is also bought (weight 1): one pair, the purchase's weight.
        // Judged 0 (grade 3); grade 0 is no pair; the click on 1 follows the query in the
        // session; the click on 3 follows no query.
        assert_eq!(
            got,
            vec![
                (2, 1.0, PairSource::Purchases),
                (0, 1.0, PairSource::Judgments),
                (1, 1.0 / 3.0, PairSource::Clicks),
            ]
        );
        // Sources can be switched off.
        let only_clicks = build_pairs(
            &d,
            &judgments,
            &[PairSource::Clicks],
            &PairWeights::default(),
        );
        assert_eq!(only_clicks.len(), 1);
        assert_eq!(only_clicks[0].query, "red dress");
    }

    #[test]
    fn no_query_lands_on_both_sides_of_the_split() {
        let mut pairs = Vec::new();
        for q in 0..40 {
            for item in 0..(q % 5 + 1) {
                // Spellings differ by case and spaces only: one query.
                let text = if item % 2 == 0 {
                    format!("query {q}")
                } else {
                    format!(" Query  {q} ")
                };
                pairs.push(TrainingPair {
                    query: text,
                    item,
                    weight: 1.0,
                    source: PairSource::Judgments,
                    negative: None,
                });
            }
        }
        let total = pairs.len();
        let (train, valid) = split_by_query(pairs.clone(), 0.25, 3);
        assert_eq!(train.len() + valid.len(), total);
        let train_q: HashSet<String> = train.iter().map(|p| query_key(&p.query)).collect();
        let valid_q: HashSet<String> = valid.iter().map(|p| query_key(&p.query)).collect();
        assert!(train_q.is_disjoint(&valid_q));
        assert_eq!(valid_q.len(), 10);
        assert_eq!(train_q.len(), 30);
        // Seeded: the same seed, the same split; another seed, another split.
        let (_, again) = split_by_query(pairs.clone(), 0.25, 3);
        assert_eq!(again, valid);
        let (_, other) = split_by_query(pairs, 0.25, 4);
        assert_ne!(other, valid);
    }

    #[test]
    fn tiny_splits_keep_both_sides() {
        let pair = |q: &str| TrainingPair {
            query: q.into(),
            item: 0,
            weight: 1.0,
            source: PairSource::Judgments,
            negative: None,
        };
        let (train, valid) = split_by_query(vec![pair("a"), pair("b")], 0.1, 0);
        assert_eq!((train.len(), valid.len()), (1, 1));
        let (train, valid) = split_by_query(vec![pair("a")], 0.1, 0);
        assert_eq!((train.len(), valid.len()), (1, 0));
        let (train, valid) = split_by_query(vec![pair("a"), pair("b")], 0.0, 0);
        assert_eq!((train.len(), valid.len()), (2, 0));
    }

    #[test]
    fn source_names() {
        for s in PairSource::ALL {
            assert_eq!(PairSource::parse(s.as_str()), Some(s));
        }
        assert_eq!(PairSource::parse("Purchase"), Some(PairSource::Purchases));
        assert_eq!(PairSource::parse("views"), None);
    }
}
