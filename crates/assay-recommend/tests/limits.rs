//! Sizes that do not fit: models over the memory budget are refused before they allocate,
//! grids are counted before they are expanded, saved ids must match their model, and
//! parameters that would overflow are refused.
//!
//! Every test here relies on the default memory limit (8 GiB); none changes it.

use assay_core::memory::{self, DEFAULT_LIMIT};
use assay_core::{Dataset, EventKind, Interactions, NO_POSITION, NO_QUERY, NO_SESSION};
use assay_recommend::eval::{evaluate, Protocol};
use assay_recommend::{EaseParams, Fit, ItemKnnParams, ModelSpec, RecommendError, MAX_GRID};

/// `n_items` items and `n_users` users, user `u`'s `k`-th of `per_user` clicks (at time `k`) on
/// item `item(u, k)`.
fn clicks(n_users: u32, n_items: u32, per_user: u32, item: impl Fn(u32, u32) -> u32) -> Dataset {
    let mut data = Dataset::default();
    for i in 0..n_items {
        data.items.intern(&format!("i{i}"));
    }
    for u in 0..n_users {
        let user = data.users.intern(&format!("u{u}"));
        for k in 0..per_user {
            data.events.push(
                user,
                item(u, k),
                EventKind::Click,
                f64::NAN,
                i64::from(k),
                NO_SESSION,
                NO_QUERY,
                NO_POSITION,
                f64::NAN,
                0,
            );
        }
    }
    data
}

/// `n_items` items, 20 users with 5 clicks each on the first 40 items.
fn wide_catalog(n_items: usize) -> Dataset {
    clicks(20, n_items as u32, 5, |u, k| (u * 3 + k * 7) % 40)
}

fn all_rows(data: &Dataset) -> Interactions {
    let rows: Vec<u32> = (0..data.events.len() as u32).collect();
    Interactions::from_events(data, &rows)
}

#[test]
fn ease_over_the_memory_budget_is_refused_before_it_allocates() {
    assert_eq!(memory::limit(), DEFAULT_LIMIT);
    let data = wide_catalog(100_000);
    let train = all_rows(&data);
    // Three 100,000 x 100,000 f32 matrices: 1.2e11 bytes, far over 8 GiB. Refused at once,
    // by the params' own fit and by the spec.
    let Err(RecommendError::TooLarge(refused)) = EaseParams::default().fit(&train, &data, None)
    else {
        panic!("EASE on 100,000 items was not refused");
    };
    assert_eq!(refused.bytes, 3 * 4 * 100_000u128 * 100_000);
    assert_eq!(refused.limit, DEFAULT_LIMIT);
    let text = refused.to_string();
    for words in [
        "ease on 20 users x 100,000 items",
        "three dense 100,000 x 100,000 matrices",
        "111.8 GiB",
        "over the memory limit of 8.0 GiB",
        "use itemknn, rp3beta or als instead",
    ] {
        assert!(text.contains(words), "`{words}` not in: {text}");
    }
    let spec = ModelSpec::parse("ease").unwrap();
    let fitted = spec.fit(&train, &data, None, &|_, _| {});
    assert!(matches!(fitted, Err(RecommendError::TooLarge(_))));
    // Side by side, the need is per fit times the fits.
    let Err(RecommendError::TooLarge(two)) = spec.check_memory(20, 100_000, 2) else {
        panic!("not refused");
    };
    assert_eq!(two.bytes, 2 * refused.bytes);
    assert!(two.what.contains("2 fits at once"), "{}", two.what);
    // A model whose memory grows with the interactions fits the same data.
    let knn = ItemKnnParams { k: 5, shrink: 0.0 }.fit(&train, &data, None);
    assert!(knn.is_ok());
    // A catalog EASE can afford passes: 1,000 items need 12 MB.
    assert!(spec.check_memory(20, 1_000, 2).is_ok());
}

#[test]
fn evaluation_checks_every_model_before_the_first_fit() {
    let data = wide_catalog(100_000);
    let models = ModelSpec::parse_list("pop,ease").unwrap();
    let started = std::sync::atomic::AtomicUsize::new(0);
    let progress = |_: assay_recommend::eval::Progress<'_>| {
        started.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    };
    let result = evaluate(&data, &Protocol::recbole(), &models, &[1], &progress);
    assert!(matches!(result, Err(RecommendError::TooLarge(_))));
    assert_eq!(
        started.into_inner(),
        0,
        "a model was fitted before the refusal"
    );
    let search = assay_recommend::eval::search(
        &data,
        &Protocol::recbole(),
        &ModelSpec::grid("ease:reg=1|10").unwrap(),
        1,
        &|_| {},
    );
    assert!(matches!(search, Err(RecommendError::TooLarge(_))));
}

#[test]
fn factor_tables_and_hybrids_count_toward_the_budget() {
    // ALS keeps two (users + items) x factors tables: 2 x 100,020 x 10^6 x 4 bytes.
    let als = ModelSpec::parse("als:factors=1000000").unwrap();
    let need = als.dense_memory(20, 100_000).unwrap();
    assert_eq!(need.bytes, 2 * 100_020 * 1_000_000 * 4);
    let data = wide_catalog(100_000);
    let fitted = als.fit(&all_rows(&data), &data, None, &|_, _| {});
    let Err(RecommendError::TooLarge(refused)) = fitted else {
        panic!("ALS with a million factors was not refused");
    };
    assert!(refused.instead.contains("fewer factors"), "{refused}");
    // A hybrid keeps every part: its need is the sum of its parts'.
    let hybrid = ModelSpec::parse("hybrid:ease+pop+als").unwrap();
    let ease = ModelSpec::parse("ease")
        .unwrap()
        .dense_memory(7, 50)
        .unwrap();
    let als = ModelSpec::parse("als")
        .unwrap()
        .dense_memory(7, 50)
        .unwrap();
    let sum = hybrid.dense_memory(7, 50).unwrap();
    assert_eq!(sum.bytes, ease.bytes + als.bytes);
    assert!(sum.what.contains("for ease") && sum.what.contains("for als"));
    // Models without product-sized buffers report none.
    assert!(ModelSpec::parse("itemknn")
        .unwrap()
        .dense_memory(1 << 40, 1 << 40)
        .is_none());
}

#[test]
fn a_grid_is_counted_before_it_is_expanded() {
    // 10^4 combinations is the limit and is expanded; 10^5 is refused, naming the product.
    assert_eq!(MAX_GRID, 10_000);
    let values = "1|2|3|4|5|6|7|8|9|10";
    let four = format!("itemknn:k={values};shrink={values};k={values};shrink={values}");
    assert_eq!(ModelSpec::grid(&four).unwrap().len(), 10_000);
    let five = format!("{four};k={values}");
    let Err(RecommendError::Spec { reason, .. }) = ModelSpec::grid(&five) else {
        panic!("a grid of 100,000 combinations was expanded");
    };
    assert!(
        reason.contains("10 x 10 x 10 x 10 x 10 = 100000 combinations, over the limit of 10000"),
        "{reason}"
    );
    // A product beyond any integer is refused just the same, without overflowing.
    let huge: Vec<String> = (0..100).map(|_| "k=1|2|3".to_owned()).collect();
    let Err(RecommendError::Spec { reason, .. }) =
        ModelSpec::grid(&format!("itemknn:{}", huge.join(";")))
    else {
        panic!("a grid of 3^100 combinations was expanded");
    };
    assert!(reason.contains("more than 2^128 combinations"), "{reason}");
}

#[test]
fn saved_ids_listing_users_the_model_lacks_are_refused() {
    use assay_recommend::store::{self, ModelIds, IDS_FILE};
    let data = wide_catalog(40);
    let model = ItemKnnParams { k: 3, shrink: 0.0 }
        .fit(&all_rows(&data), &data, None)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    store::save_with_ids(dir.path(), &model, &data).unwrap();
    // An ids file with one more user than the model would hand out index 20, past the
    // model's 20 users.
    let mut ids = ModelIds::of(&data);
    ids.users.push("ghost".into());
    std::fs::write(dir.path().join(IDS_FILE), serde_json::to_vec(&ids).unwrap()).unwrap();
    let err = store::open(dir.path()).err().unwrap().to_string();
    assert!(err.contains("it lists 21 users, the model has 20"), "{err}");
}

#[test]
fn pop_negatives_must_fit_in_a_batch() {
    let refused = ModelSpec::parse(&format!("pop:batch=4;negatives={}", usize::MAX));
    let Err(RecommendError::Spec { reason, .. }) = refused else {
        panic!("negatives = usize::MAX was accepted");
    };
    assert!(reason.contains("must be less than batch"), "{reason}");
    assert!(ModelSpec::parse("pop:batch=4;negatives=3").is_ok());
    // Without batches the negatives are not drawn at all.
    assert!(ModelSpec::parse("pop:negatives=9").is_ok());
}

/// `n_users` users and `n_items` items; user u clicks items 2u and 2u + 1 (mod the catalog).
fn many_users(n_users: u32, n_items: u32) -> Dataset {
    clicks(n_users, n_items, 2, |u, k| (2 * u + k) % n_items)
}

#[test]
fn an_evaluation_past_the_time_budget_is_refused_before_the_first_fit() {
    use assay_core::budget;
    assert_eq!(budget::limit(), budget::DEFAULT_LIMIT);
    let data = many_users(100_000, 200_000);
    let models = ModelSpec::parse_list("pop,als").unwrap();
    let started = std::sync::atomic::AtomicUsize::new(0);
    let progress = |_: assay_recommend::eval::Progress<'_>| {
        started.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    };
    let result = evaluate(&data, &Protocol::recbole(), &models, &[1], &progress);
    let Err(RecommendError::TooSlow(refused)) = result else {
        panic!("als on 100,000 users x 200,000 items was not refused");
    };
    assert_eq!(
        started.into_inner(),
        0,
        "a model was fitted before the refusal"
    );
    // By hand, in one thread's nanoseconds: pop ranks 2 passes of 100,000 x 200,000 scores at
    // 1 ns; ALS (64 factors, 15 sweeps of 3 CG steps, 0.5 ns a multiply-add) ranks 15 + 2
    // passes at 1 + 64 x 0.5 ns a score, and its fit does 15 x 3 x (300,000 x 64^2 +
    // 4 x 160,000 training interactions x 64) multiply-adds.
    let scores = 1e5 * 2e5;
    let pop = 2.0 * scores;
    let als = 17.0 * scores * 33.0 + 15.0 * 3.0 * (3e5 * 4096.0 + 4.0 * 160_000.0 * 64.0) * 0.5;
    let want = (pop + als) / 1e9 / budget::threads() as f64;
    let got = refused.estimate.seconds;
    assert!((got - want).abs() <= 1e-9 * want, "{got} != {want}");
    assert_eq!(refused.limit, 3600.0);
    let text = refused.to_string();
    for words in [
        "eval of pop,als on 100,000 users x 200,000 items would take about",
        "pop: 2 ranking passes",
        "als: 17 ranking passes",
        "over the time limit of 1 h",
        "leave out als",
        "--time-limit none",
    ] {
        assert!(text.contains(words), "`{words}` not in: {text}");
    }
    // Pop alone is within the hour (2 x 2e10 ns on any number of threads is under 40 s).
    assert!(assay_recommend::eval::check_time(
        &data,
        &Protocol::recbole(),
        &ModelSpec::parse_list("pop").unwrap(),
        1
    )
    .is_ok());
}
