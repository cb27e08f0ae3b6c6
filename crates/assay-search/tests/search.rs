//! End-to-end behaviour of the search index with the model-free `HashEncoder`.

use std::sync::Arc;
use std::time::Instant;

use assay_encoder::{Encoder, HashEncoder};
use assay_import::read_catalog;
use assay_search::{
    build_index, FaqIndex, FaqPair, Filters, Fusion, IndexConfig, ItemDoc, Mode, SearchError,
    SearchIndex, SearchOptions,
};

fn doc(id: &str, title: &str, category: &str, brand: &str, price: f64) -> ItemDoc {
    ItemDoc {
        id: id.into(),
        title: title.into(),
        category: category.into(),
        brand: brand.into(),
        price: Some(price),
        ..ItemDoc::default()
    }
}

fn encoder() -> Arc<dyn Encoder> {
    Arc::new(HashEncoder::new(64))
}

fn shop_docs() -> Vec<ItemDoc> {
    vec![
        doc("d1", "Red Maxi Dress", "Women/Dresses/Maxi", "Lunara", 40.0),
        doc("d2", "Blue Maxi Dress", "Women/Dresses/Maxi", "Acme", 80.0),
        doc(
            "s1",
            "Red Running Shoes",
            "Men/Shoes/Running",
            "Acme",
            120.0,
        ),
        doc(
            "s2",
            "Trail Running Shoes",
            "Men/Shoes/Running",
            "Stride",
            95.0,
        ),
        doc(
            "h1",
            "Leiting 无线蓝牙耳机",
            "Electronics/Audio/Headphones",
            "Leiting",
            59.0,
        ),
        doc(
            "h2",
            "Wireless Bluetooth Headphones",
            "Electronics/Audio/Headphones",
            "Leiting",
            79.0,
        ),
    ]
}

fn shop() -> SearchIndex {
    SearchIndex::from_docs(shop_docs(), encoder(), &IndexConfig::default()).unwrap()
}

fn ids(hits: &[assay_search::Hit]) -> Vec<&str> {
    hits.iter().map(|h| h.id.as_str()).collect()
}

/// BM25 on a 3-document corpus, computed by hand with Lucene's formula
/// idf = ln(1 + (N - n + 0.5) / (n + 0.5)), tf part = tf (k1 + 1) / (tf + k1 (1 - b + b dl / avgdl)),
/// k1 = 1.2, b = 0.75; title boost 3, every other field off.
#[test]
fn bm25_matches_hand_computation() {
    let docs = vec![
        doc("a", "red dress", "", "", 1.0),
        doc("b", "red red shoe", "", "", 1.0),
        doc("c", "blue shirt", "", "", 1.0),
    ];
    let config = IndexConfig {
        field_boosts: [3.0, 0.0, 0.0, 0.0, 0.0],
        ..IndexConfig::default()
    };
    let index = SearchIndex::from_docs(docs, encoder(), &config).unwrap();
    let bm25 = |tf: f64, dl: f64, n: f64| {
        let (k1, b, big_n, avgdl) = (1.2, 0.75, 3.0, 7.0 / 3.0);
        let idf = (1.0 + (big_n - n + 0.5) / (n + 0.5)).ln();
        idf * tf * (k1 + 1.0) / (tf + k1 * (1.0 - b + b * dl / avgdl))
    };
    let opts = SearchOptions {
        explain: true,
        ..SearchOptions::mode(Mode::Bm25)
    };
    let hits = index.search("red", &opts).unwrap();
    assert_eq!(ids(&hits), vec!["b", "a"]);
    assert!(
        (hits[0].score as f64 - 3.0 * bm25(2.0, 3.0, 2.0)).abs() < 1e-4,
        "{}",
        hits[0].score
    );
    assert!(
        (hits[1].score as f64 - 3.0 * bm25(1.0, 2.0, 2.0)).abs() < 1e-4,
        "{}",
        hits[1].score
    );
    let hits = index.search("Dresses!", &opts).unwrap();
    assert_eq!(ids(&hits), vec!["a"]);
    assert!((hits[0].score as f64 - 3.0 * bm25(1.0, 2.0, 1.0)).abs() < 1e-4);
    let e = hits[0].explanation.as_ref().unwrap();
    assert_eq!(e.matched_terms.len(), 1);
    assert_eq!(e.matched_terms[0].term, "dress");
    assert_eq!(e.matched_terms[0].fields, vec!["title"]);
    assert_eq!(e.bm25_rank, Some(1));
}

#[test]
fn vector_mode_ranks_by_exact_cosine() {
    let index = shop();
    let enc = HashEncoder::new(64);
    let hits = index
        .search(
            "red dress",
            &SearchOptions {
                k: 6,
                explain: true,
                ..SearchOptions::mode(Mode::Vector)
            },
        )
        .unwrap();
    let q = enc.vector("red dress");
    let mut want: Vec<(String, f32)> = ["d1", "d2", "s1", "s2", "h1", "h2"]
        .iter()
        .map(|id| {
            let d = index.get(id).unwrap();
            (
                id.to_string(),
                assay_encoder::cosine(&q, &enc.vector(&d.embedding_text())),
            )
        })
        .collect();
    want.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    assert_eq!(hits[0].id, want[0].0);
    for h in &hits {
        let w = want.iter().find(|w| w.0 == h.id).unwrap().1;
        assert!((h.score - w).abs() < 1e-5);
        assert_eq!(h.explanation.as_ref().unwrap().vector, Some(h.score));
    }
}

#[test]
fn rrf_and_convex_fusion_by_hand() {
    let index = shop();
    let r = 0.3f32;
    let opts = SearchOptions {
        k: 10,
        explain: true,
        semantic_ratio: r,
        ..SearchOptions::mode(Mode::Hybrid)
    };
    let hits = index.search("red running shoes", &opts).unwrap();
    assert_eq!(hits[0].id, "s1");
    for h in &hits {
        let e = h.explanation.as_ref().unwrap();
        let lex = e
            .bm25_rank
            .map_or(0.0, |rk| (1.0 - r) * 2.0 / (60.0 + rk as f32));
        let sem = e.vector_rank.map_or(0.0, |rk| r * 2.0 / (60.0 + rk as f32));
        assert!((e.lexical_contribution - lex).abs() < 1e-7);
        assert!((e.semantic_contribution - sem).abs() < 1e-7);
        assert!((h.score - lex - sem).abs() < 1e-6);
    }
    // s1 is first in both lists: 0.7 * 2/61 + 0.3 * 2/61 = 2/61.
    assert!((hits[0].score - 2.0 / 61.0).abs() < 1e-6);

    let convex = SearchOptions {
        fusion: Fusion::Convex,
        ..opts.clone()
    };
    let hits = index.search("red running shoes", &convex).unwrap();
    let e = hits[0].explanation.as_ref().unwrap();
    // The top of both lists normalises to 1 on each side.
    assert_eq!(hits[0].id, "s1");
    assert!((e.lexical_contribution - (1.0 - r)).abs() < 1e-6);
    assert!((e.semantic_contribution - r).abs() < 1e-6);
    // Ratio 0 is lexical only, ratio 1 vector only.
    let lex_only = index
        .search(
            "red",
            &SearchOptions {
                semantic_ratio: 0.0,
                ..convex.clone()
            },
        )
        .unwrap();
    assert!(lex_only
        .iter()
        .all(|h| h.explanation.as_ref().unwrap().semantic_contribution == 0.0));
}

#[test]
fn filters_and_facets() {
    let index = shop();
    let opts = |f: &str| SearchOptions {
        filters: Filters::parse(f).unwrap(),
        k: 10,
        ..SearchOptions::mode(Mode::Hybrid)
    };
    let hits = index.search("red", &opts("category=Women")).unwrap();
    assert_eq!(
        ids(&hits),
        vec!["d1"]
            .into_iter()
            .chain(hits.iter().skip(1).map(|h| h.id.as_str()))
            .collect::<Vec<_>>()
    );
    assert!(hits.iter().all(|h| h.category.starts_with("Women/")));
    assert_eq!(hits.len(), 2);
    let hits = index.search("shoes", &opts("brand=acme")).unwrap();
    assert!(hits.iter().all(|h| h.brand == "Acme"), "{hits:?}");
    let hits = index
        .search("dress shoes headphones", &opts("price=50..100"))
        .unwrap();
    let mut got = ids(&hits);
    got.sort();
    assert_eq!(got, vec!["d2", "h1", "h2", "s2"]);
    for mode in [Mode::Bm25, Mode::Vector] {
        let hits = index
            .search(
                "shoes",
                &SearchOptions {
                    mode,
                    ..opts("price=..100; category=Men/Shoes")
                },
            )
            .unwrap();
        assert_eq!(ids(&hits), vec!["s2"], "{mode:?}");
    }
    let all = index
        .search_full(
            "red shoes dress",
            &SearchOptions {
                k: 10,
                ..SearchOptions::mode(Mode::Bm25)
            },
        )
        .unwrap();
    // BM25 candidates: d1, d2 (dress), s1 (red, shoes), s2 (shoes).
    assert_eq!(all.candidates, 4);
    assert_eq!(
        all.facets.category,
        vec![("Men".to_string(), 2), ("Women".to_string(), 2)]
    );
    assert_eq!(all.facets.brand[0], ("Acme".to_string(), 2));
    assert_eq!(
        all.facets.price,
        vec![
            ("25-50".to_string(), 1),
            ("50-100".to_string(), 2),
            ("100-250".to_string(), 1)
        ]
    );
}

#[test]
fn chinese_text_is_segmented() {
    let index = shop();
    let hits = index
        .search("蓝牙耳机", &SearchOptions::mode(Mode::Bm25))
        .unwrap();
    assert_eq!(ids(&hits), vec!["h1"]);
}

#[test]
fn realtime_add_update_delete() {
    let mut index = shop();
    let bm25 = SearchOptions::mode(Mode::Bm25);
    let started = Instant::now();
    index
        .upsert(&[doc(
            "n1",
            "Velvet Armchair",
            "Home/Furniture/Chairs",
            "Casa",
            300.0,
        )])
        .unwrap();
    assert_eq!(ids(&index.search("armchair", &bm25).unwrap()), vec!["n1"]);
    assert_eq!(
        index
            .search("velvet armchair", &SearchOptions::mode(Mode::Vector))
            .unwrap()[0]
            .id,
        "n1"
    );
    assert!(
        started.elapsed().as_secs_f64() < 1.0,
        "{:?}",
        started.elapsed()
    );
    assert_eq!(index.len(), 7);

    index
        .upsert(&[doc(
            "n1",
            "Leather Sofa",
            "Home/Furniture/Sofas",
            "Casa",
            900.0,
        )])
        .unwrap();
    assert!(index.search("armchair", &bm25).unwrap().is_empty());
    assert_eq!(ids(&index.search("sofa", &bm25).unwrap()), vec!["n1"]);
    assert_eq!(index.len(), 7);

    assert!(index.delete("n1").unwrap());
    assert!(!index.delete("n1").unwrap());
    assert!(index.search("sofa", &bm25).unwrap().is_empty());
    let vec_hits = index
        .search(
            "leather sofa",
            &SearchOptions {
                k: 10,
                ..SearchOptions::mode(Mode::Vector)
            },
        )
        .unwrap();
    assert!(vec_hits.iter().all(|h| h.id != "n1"));
    assert!(index.delete("d1").unwrap());
    assert!(index
        .search("maxi", &bm25)
        .unwrap()
        .iter()
        .all(|h| h.id != "d1"));
}

#[test]
fn bad_queries_get_errors_not_panics() {
    let index = shop();
    let opts = SearchOptions::default();
    assert!(matches!(
        index.search("", &opts),
        Err(SearchError::EmptyQuery)
    ));
    assert!(matches!(
        index.search("  ?!  ", &opts),
        Err(SearchError::EmptyQuery)
    ));
    let long = "dress ".repeat(100_000 / 6);
    assert!(matches!(
        index.search(&long, &opts),
        Err(SearchError::QueryTooLong { .. })
    ));
    assert!(matches!(
        Filters::parse("price=10-20"),
        Err(SearchError::InvalidFilter { .. })
    ));
    assert!(matches!(
        Filters::parse("size=XL"),
        Err(SearchError::InvalidFilter { .. })
    ));
    let bad_ratio = SearchOptions {
        semantic_ratio: 1.5,
        ..SearchOptions::default()
    };
    assert!(matches!(
        index.search("dress", &bad_ratio),
        Err(SearchError::InvalidOption(_))
    ));
    let bad_k = SearchOptions {
        k: 0,
        ..SearchOptions::default()
    };
    assert!(matches!(
        index.search("dress", &bad_k),
        Err(SearchError::InvalidOption(_))
    ));
    assert!(Mode::parse("fuzzy").is_err());
    // Query syntax characters are plain text, never a parse error.
    assert!(index.search("title:(red AND \"dress", &opts).is_ok());
}

#[test]
fn persisted_index_reopens_and_checks_model() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("items.csv");
    std::fs::write(
        &catalog,
        "id,title,category,brand,price\na,Red Dress,Women/Dresses,Lunara,10\nb,Blue Shoe,Men/Shoes,Acme,20\n",
    )
    .unwrap();
    let dataset = read_catalog(&catalog).unwrap();
    let config = IndexConfig {
        dir: Some(dir.path().join("index")),
        ..IndexConfig::default()
    };
    let mut index = build_index(&dataset, encoder(), &config).unwrap();
    index
        .upsert(&[doc("c", "Green Hat", "Men/Hats", "Acme", 5.0)])
        .unwrap();
    drop(index);
    // The update was committed lexically but the tables were not saved: reopening resyncs.
    let index = SearchIndex::open(&dir.path().join("index"), encoder(), &config).unwrap();
    assert_eq!(index.len(), 2);
    assert_eq!(
        ids(&index
            .search("dress", &SearchOptions::mode(Mode::Bm25))
            .unwrap()),
        vec!["a"]
    );
    assert!(index
        .search("hat", &SearchOptions::mode(Mode::Bm25))
        .unwrap()
        .is_empty());
    assert_eq!(index.key_of("b"), Some(1));
    let other: Arc<dyn Encoder> = Arc::new(HashEncoder::new(32));
    let err = SearchIndex::open(&dir.path().join("index"), other, &config).unwrap_err();
    assert!(matches!(err, SearchError::ModelMismatch { .. }), "{err}");
}

#[test]
fn a_rebuild_replaces_only_a_lexical_index_of_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("items.csv");
    std::fs::write(&catalog, "id,title\na,Red Dress\nb,Blue Shoe\n").unwrap();
    let dataset = read_catalog(&catalog).unwrap();
    let config_in = |name: &str| IndexConfig {
        dir: Some(dir.path().join(name)),
        ..IndexConfig::default()
    };
    let refused = |name: &str, kept: &str| {
        let err = build_index(&dataset, encoder(), &config_in(name)).unwrap_err();
        assert!(matches!(err, SearchError::InvalidOption(_)), "{err}");
        assert!(err.to_string().contains("not a search index"), "{err}");
        let kept = dir.path().join(name).join("lexical").join(kept);
        assert_eq!(std::fs::read_to_string(&kept).unwrap(), "keep me");
    };
    // Someone's folder that happens to be named `lexical` and to hold a meta.json.
    let theirs = dir.path().join("theirs").join("lexical");
    std::fs::create_dir_all(&theirs).unwrap();
    std::fs::write(theirs.join("meta.json"), "keep me").unwrap();
    std::fs::write(theirs.join("notes.txt"), "keep me").unwrap();
    refused("theirs", "notes.txt");
    // A lexical index of ours with a file of someone else's put into it.
    build_index(&dataset, encoder(), &config_in("ours")).unwrap();
    let ours = dir.path().join("ours").join("lexical");
    std::fs::write(ours.join("notes.txt"), "keep me").unwrap();
    refused("ours", "notes.txt");
    // Without the stranger, it is rebuilt.
    std::fs::remove_file(ours.join("notes.txt")).unwrap();
    let index = build_index(&dataset, encoder(), &config_in("ours")).unwrap();
    assert_eq!(index.len(), 2);
}

#[test]
fn faq_answers() {
    let pairs = vec![
        FaqPair {
            question: "How do I return an item?".into(),
            answer: "Returns are free within 30 days.".into(),
        },
        FaqPair {
            question: "When will my order ship?".into(),
            answer: "Orders ship within two business days.".into(),
        },
        FaqPair {
            question: "Do you ship abroad?".into(),
            answer: "We ship to 40 countries.".into(),
        },
    ];
    let faq = FaqIndex::build(pairs, encoder()).unwrap();
    let answers = faq.answer("how can I return my shoes", 2).unwrap();
    assert_eq!(answers[0].answer, "Returns are free within 30 days.");
    assert!(answers[0].bm25.is_some() && answers[0].cosine.is_some());
    assert!(answers.len() <= 2);
    assert!(faq.answer("", 2).is_err());
}

#[test]
fn intent_soft_boost_moves_scores() {
    let index = shop();
    let plain = SearchOptions {
        explain: true,
        k: 10,
        ..SearchOptions::mode(Mode::Hybrid)
    };
    let boosted = SearchOptions {
        intent_boost: 0.5,
        ..plain.clone()
    };
    let r = index.search_full("bluetooth headphones", &boosted).unwrap();
    let intent = r.intent.unwrap();
    assert_eq!(intent.category, "Electronics/Audio/Headphones");
    let top = &r.hits[0];
    let e = top.explanation.as_ref().unwrap();
    assert!(e.intent_contribution > 0.0);
    assert!(
        (top.score - (e.lexical_contribution + e.semantic_contribution + e.intent_contribution))
            .abs()
            < 1e-6
    );
    let p = index.search("bluetooth headphones", &plain).unwrap();
    assert!(p[0].explanation.as_ref().unwrap().intent_contribution == 0.0);
}

/// A hard negative answers its query less well than the pair's own item: a top-graded pair may
/// take a lesser answer (the ordering nDCG rewards), a lesser pair only a non-answer.
#[test]
fn hard_negatives_answer_less_well_than_the_pair() {
    let docs = vec![
        doc("a", "red dress long", "", "", 1.0),
        doc("b", "red dress", "", "", 1.0),
        doc("c", "red dress short", "", "", 1.0),
        doc("d", "blue shirt", "", "", 1.0),
    ];
    let index = SearchIndex::from_docs(docs, encoder(), &IndexConfig::default()).unwrap();
    let pair = |item: u32, weight: f32| assay_search::TrainingPair {
        query: "red dress".into(),
        item,
        weight,
        source: assay_search::PairSource::Judgments,
        negative: None,
    };
    // a: grade 3 of 3; b: grade 1 of 3; c is judged nowhere, d does not match.
    let mut pairs = vec![pair(0, 1.0), pair(1, 1.0 / 3.0)];
    let known = pairs.clone();
    assay_search::mine_hard_negatives(&mut pairs, &[&known], &index, 10).unwrap();
    // BM25 ranks the shortest title, b, first: a's hardest lesser answer.
    assert_eq!(pairs[0].negative, Some(1));
    // b's only candidate weaker than itself is the unjudged c.
    assert_eq!(pairs[1].negative, Some(2));
}

/// Equal BM25 scores are ordered by item key, whatever segment each document sits in:
/// indexing threads spread equal documents over segments, and segments come in random order.
#[test]
fn equal_bm25_scores_are_ordered_by_key_across_segments() {
    let docs: Vec<ItemDoc> = (0..3000)
        .map(|i| doc(&format!("t{i}"), "oak table", "", "", 1.0))
        .collect();
    let config = IndexConfig {
        threads: 4,
        ..IndexConfig::default()
    };
    let options = SearchOptions {
        k: 3,
        ..SearchOptions::mode(Mode::Bm25)
    };
    for _ in 0..4 {
        let index = SearchIndex::from_docs(docs.clone(), encoder(), &config).unwrap();
        let hits = index.search("oak table", &options).unwrap();
        assert_eq!(ids(&hits), ["t0", "t1", "t2"]);
    }
}

/// The hash encoder, told to report CJK characters as unknown to it, as all-MiniLM-L6-v2's
/// vocabulary does with most of them.
struct NoCjk(HashEncoder);

impl Encoder for NoCjk {
    fn model_id(&self) -> &str {
        self.0.model_id()
    }
    fn dim(&self) -> usize {
        self.0.dim()
    }
    fn encode(&self, texts: &[&str]) -> assay_encoder::Result<Vec<Vec<f32>>> {
        self.0.encode(texts)
    }
    fn unknown_share(&self, text: &str) -> Option<f32> {
        let chars: Vec<char> = text.chars().filter(|c| !c.is_whitespace()).collect();
        let cjk = chars
            .iter()
            .filter(|c| ('\u{4e00}'..='\u{9fff}').contains(c))
            .count();
        (!chars.is_empty()).then(|| cjk as f32 / chars.len() as f32)
    }
}

#[test]
fn hybrid_ranks_a_query_the_encoder_cannot_read_by_bm25_alone() {
    let index = SearchIndex::from_docs(
        shop_docs(),
        Arc::new(NoCjk(HashEncoder::new(64))),
        &IndexConfig::default(),
    )
    .unwrap();
    let hybrid = SearchOptions::mode(Mode::Hybrid);
    // All CJK: the hybrid gives BM25's list, scores included, and says why.
    let unread = index.search_full("蓝牙耳机", &hybrid).unwrap();
    let bm25 = index
        .search_full("蓝牙耳机", &SearchOptions::mode(Mode::Bm25))
        .unwrap();
    assert_eq!(unread.unread_by_encoder, Some(1.0));
    assert_eq!(ids(&unread.hits), ids(&bm25.hits));
    let scores =
        |r: &assay_search::SearchResults| r.hits.iter().map(|h| h.score).collect::<Vec<_>>();
    assert_eq!(scores(&unread), scores(&bm25));
    // A readable query keeps the vector side: the hybrid differs from BM25 alone.
    let read = index.search_full("wireless headphones", &hybrid).unwrap();
    assert_eq!(read.unread_by_encoder, None);
    let lexical = index
        .search_full("wireless headphones", &SearchOptions::mode(Mode::Bm25))
        .unwrap();
    assert_ne!(scores(&read), scores(&lexical));
    // Vector mode, asked for by name, still uses the vector.
    let vector = index
        .search_full("蓝牙耳机", &SearchOptions::mode(Mode::Vector))
        .unwrap();
    assert_eq!(vector.unread_by_encoder, None);
    assert!(!vector.hits.is_empty());
}
