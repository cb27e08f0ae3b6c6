//! Data valuation within the memory budget: a utility refuses a model whose fits, one per
//! thread, would be over it, and the fast paths step aside for refits when their own dense
//! matrices would be.
//!
//! One test in this binary: it changes the process-wide limit.

use assay_core::memory::{self, DEFAULT_LIMIT};
use assay_core::{Dataset, EventKind, NO_POSITION, NO_QUERY, NO_SESSION};
use assay_metrics::Metric;
use assay_recommend::{ModelSpec, RecommendError};
use assay_value::fast::{fast_utility, FastEase, FastItemKnn};
use assay_value::recommend::{players, Audience, RecConfig, RecommenderUtility};
use assay_value::{Utility, ValueError};

/// 100 items, 40 users with 15 clicks each through 3 sources.
fn shop() -> Dataset {
    let mut data = Dataset::default();
    for i in 0..100 {
        data.items.intern(&format!("i{i}"));
    }
    for s in ["app", "web", "feed"] {
        data.sources.intern(s);
    }
    for u in 0..40u32 {
        let user = data.users.intern(&format!("u{u}"));
        for k in 0..15u32 {
            data.events.push(
                user,
                (u % 4) * 25 + (u * 7 + k * 3) % 25,
                EventKind::Click,
                f64::NAN,
                i64::from(k),
                NO_SESSION,
                NO_QUERY,
                NO_POSITION,
                f64::NAN,
                (k % 3) as u16,
            );
        }
    }
    data
}

fn utility<'a>(data: &'a Dataset, model: &str) -> Result<RecommenderUtility<'a>, ValueError> {
    let (train, valid): (Vec<u32>, Vec<u32>) =
        (0..data.events.len() as u32).partition(|r| r % 5 != 0);
    let sources = players::by_source(data, &train);
    let config = RecConfig {
        model: ModelSpec::parse(model).unwrap(),
        metric: Metric::Ndcg,
        k: 5,
        audience: Audience::Total,
    };
    RecommenderUtility::new(data, &train, &valid, sources, config)
}

#[test]
fn utilities_and_fast_paths_respect_the_memory_budget() {
    let data = shop();
    let threads = rayon::current_num_threads() as u128;
    let square = 100u128 * 100;
    let fast_ease_value = {
        let refit = utility(&data, "ease:reg=5").unwrap();
        let fast = FastEase::new(&refit).expect("the default limit allows the fast path");
        fast.eval(&[0, 2])
    };

    // EASE refits hold three n x n f32 matrices per thread; the fast path four f64 ones.
    memory::set_limit((12 * square * threads) as u64);
    let refit = utility(&data, "ease:reg=5").unwrap();
    assert!(FastEase::new(&refit).is_none());
    // The utility still values exactly, by refits.
    assert_eq!(fast_utility(&refit).eval(&[0, 2]), fast_ease_value);
    assert_eq!(refit.eval(&[0, 2]), fast_ease_value);
    let knn = utility(&data, "itemknn:k=5").unwrap();
    assert!(FastItemKnn::new(&knn).is_some());

    // Below one co-occurrence matrix per thread, ItemKNN refits too; EASE is refused, before
    // any fit, with the model, the sizes and the threads.
    memory::set_limit((4 * square * threads - 1) as u64);
    assert!(FastItemKnn::new(&knn).is_none());
    let refused = utility(&data, "ease:reg=5").err().unwrap();
    let ValueError::Recommend(RecommendError::TooLarge(refused)) = refused else {
        panic!("EASE over the budget was not refused: {refused}");
    };
    assert_eq!(refused.bytes, 12 * square * threads);
    assert!(
        refused.what.contains("three dense 100 x 100 matrices"),
        "{refused}"
    );
    if threads > 1 {
        assert!(
            refused.what.contains("fits at once (one per thread)"),
            "{refused}"
        );
    }
    // A model without product-sized buffers is not affected.
    assert!(utility(&data, "pop").is_ok());

    memory::set_limit((32 * square * threads) as u64);
    let refit = utility(&data, "ease:reg=5").unwrap();
    assert!(FastEase::new(&refit).is_some());
    memory::set_limit(DEFAULT_LIMIT);
}
