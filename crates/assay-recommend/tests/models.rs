//! Behaviour of every model on small hand-made data, and model files round-tripping.

use assay_core::{Dataset, EventKind, Interactions, NO_POSITION, NO_QUERY, NO_SESSION};
use assay_recommend::eval::{evaluate_model, prepare, Protocol};
use assay_recommend::{
    load_model, AlsParams, BprParams, ContentParams, EaseParams, Fit, ItemKnnParams, ModelSpec,
    PopParams, Recommender,
};

fn matrix(n_users: usize, n_items: usize, rows: &[&[u32]]) -> Interactions {
    Interactions::from_triples(
        n_users,
        n_items,
        rows.iter()
            .enumerate()
            .flat_map(|(u, items)| items.iter().map(move |&i| (u as u32, i, 1.0))),
    )
}

fn scores(model: &dyn Recommender, user: u32) -> Vec<f32> {
    let mut s = vec![0.0; model.history().n_items()];
    model.score_user(user, &mut s);
    s
}

/// Two blocks: users 0..6 like items 0..6, users 6..12 like items 6..12; each user misses one
/// item of their block, which a good model should rank first.
fn blocks() -> Interactions {
    let mut rows: Vec<Vec<u32>> = Vec::new();
    for u in 0..12u32 {
        let base = if u < 6 { 0 } else { 6 };
        rows.push((base..base + 6).filter(|&i| i != base + u % 6).collect());
    }
    let refs: Vec<&[u32]> = rows.iter().map(Vec::as_slice).collect();
    matrix(12, 12, &refs)
}

fn empty_data(n_items: usize) -> Dataset {
    let mut data = Dataset::default();
    for i in 0..n_items {
        data.items.intern(&i.to_string());
    }
    data
}

#[test]
fn pop_counts_training_users() {
    let train = matrix(3, 4, &[&[0, 1], &[1], &[1, 3]]);
    let model = PopParams::default()
        .fit(&train, &empty_data(4), None)
        .unwrap();
    assert_eq!(scores(&model, 0), vec![1.0, 3.0, 0.0, 1.0]);
    // User 0 has items 0 and 1: next best are 3 (count 1) then 2 (count 0).
    assert_eq!(model.top_k(0, 10, &[]), vec![(3, 1.0), (2, 0.0)]);
    assert_eq!(model.top_k(0, 10, &[3]), vec![(2, 0.0)]);
}

#[test]
fn recbole_pop_counts_batches_with_their_negatives() {
    // One positive per batch (batch 2, one negative). User 0 has seen items 0 and 1 of 3, so
    // each negative must be item 2, whatever the seed: two batches, each {own item, 2}.
    let train = matrix(1, 3, &[&[0, 1]]);
    for seed in [1, 2, 3] {
        let params = PopParams {
            batch: 2,
            negatives: 1,
            seed,
        };
        let model = params.fit(&train, &empty_data(3), None).unwrap();
        assert_eq!(scores(&model, 0), vec![1.0, 1.0, 2.0]);
    }
    // Without negatives and one batch holding everything, every item present counts once.
    let train = matrix(3, 4, &[&[0, 1], &[1], &[1, 3]]);
    let params = PopParams {
        batch: 100,
        negatives: 0,
        seed: 9,
    };
    let model = params.fit(&train, &empty_data(4), None).unwrap();
    assert_eq!(scores(&model, 0), vec![1.0, 1.0, 0.0, 1.0]);
}

#[test]
fn itemknn_matches_hand_cosines_and_truncates_neighbourhoods() {
    // Users: u0 {0,1}, u1 {0,1,2}, u2 {2}. Item users: i0 {u0,u1}, i1 {u0,u1}, i2 {u1,u2}.
    // cos(0,1) = 2 / (√2·√2) = 1; cos(0,2) = cos(1,2) = 1 / (√2·√2) = 0.5 (denominator + 1e-6).
    let train = matrix(3, 3, &[&[0, 1], &[0, 1, 2], &[2]]);
    let data = empty_data(3);
    let full = ItemKnnParams {
        k: 100,
        shrink: 0.0,
    }
    .fit(&train, &data, None)
    .unwrap();
    let s = scores(&full, 2);
    assert!((s[0] - 1.0 / (2.0 + 1e-6)).abs() < 1e-6, "{s:?}");
    assert!((s[1] - 1.0 / (2.0 + 1e-6)).abs() < 1e-6);
    assert_eq!(s[2], 0.0, "an item is not its own neighbour");
    // With k = 1, item 0's only neighbour is item 1 (sim 1), so user 2's item 2 adds nothing.
    let one = ItemKnnParams { k: 1, shrink: 0.0 }
        .fit(&train, &data, None)
        .unwrap();
    assert_eq!(scores(&one, 2)[0], 0.0);
    // Shrink 2: cos(0,2) = 1 / (2 + 2 + 1e-6) = 0.25.
    let shrunk = ItemKnnParams {
        k: 100,
        shrink: 2.0,
    }
    .fit(&train, &data, None)
    .unwrap();
    assert!((scores(&shrunk, 2)[0] - 0.25).abs() < 1e-6);
}

/// Solves `(XᵀX + diag(λ + e·Gᵢᵢ)) P = I` by Gauss-Jordan in f64: an independent EASE reference.
fn ease_reference(train: &Interactions, reg: f64, emphasis: f64) -> Vec<Vec<f64>> {
    let n = train.n_items();
    let mut g = vec![vec![0.0f64; 2 * n]; n];
    for u in 0..train.n_users() as u32 {
        for &i in train.items_of(u) {
            for &j in train.items_of(u) {
                g[i as usize][j as usize] += 1.0;
            }
        }
    }
    for (i, row) in g.iter_mut().enumerate() {
        row[i] += reg + emphasis * row[i];
        row[n + i] = 1.0;
    }
    for c in 0..n {
        let pivot = g[c][c];
        g[c].iter_mut().for_each(|v| *v /= pivot);
        for r in 0..n {
            if r != c {
                let factor = g[r][c];
                let pivot_row = g[c].clone();
                g[r].iter_mut()
                    .zip(&pivot_row)
                    .for_each(|(v, p)| *v -= factor * p);
            }
        }
    }
    let p: Vec<Vec<f64>> = g.iter().map(|row| row[n..].to_vec()).collect();
    (0..n)
        .map(|i| {
            (0..n)
                .map(|j| if i == j { 0.0 } else { -p[i][j] / p[j][j] })
                .collect()
        })
        .collect()
}

/// Every user's scores equal the sums of the reference weights of their items, to 1e-5.
fn assert_scores_match_reference(model: &dyn Recommender, train: &Interactions, b: &[Vec<f64>]) {
    for u in 0..train.n_users() as u32 {
        let got = scores(model, u);
        for (j, g) in got.iter().enumerate() {
            let want: f64 = train.items_of(u).iter().map(|&i| b[i as usize][j]).sum();
            assert!(
                (*g as f64 - want).abs() < 1e-5,
                "user {u} item {j}: {g} vs {want}"
            );
        }
    }
}

#[test]
fn ease_matches_an_independent_inverse() {
    let train = matrix(
        5,
        6,
        &[&[0, 1, 2], &[1, 2, 3], &[0, 3, 4], &[4, 5], &[0, 1, 5]],
    );
    let model = EaseParams {
        reg: 2.0,
        ..EaseParams::default()
    }
    .fit(&train, &empty_data(6), None)
    .unwrap();
    // Dropout 0.2 emphasises the diagonal by 0.2 / 0.8 = 0.25 of each item's count.
    let denoised = EaseParams {
        reg: 2.0,
        dropout: 0.2,
        side: 0.0,
    }
    .fit(&train, &empty_data(6), None)
    .unwrap();
    for (model, b) in [
        (model, ease_reference(&train, 2.0, 0.0)),
        (denoised, ease_reference(&train, 2.0, 0.25)),
    ] {
        assert_scores_match_reference(&model, &train, &b);
    }
    assert!(EaseParams {
        reg: 0.0,
        ..EaseParams::default()
    }
    .fit(&train, &empty_data(6), None)
    .is_err());
}

/// Item 6 has no data and item 7 only a user who has nothing else: both are left out of the
/// inverse, and the scores must still equal the full inverse's.
#[test]
fn ease_leaves_uncoupled_items_out_of_the_inverse_exactly() {
    let train = matrix(
        6,
        8,
        &[
            &[0, 1, 2],
            &[1, 2, 3],
            &[0, 3, 4],
            &[4, 5],
            &[0, 1, 5],
            &[7],
        ],
    );
    let model = EaseParams {
        reg: 2.0,
        ..EaseParams::default()
    }
    .fit(&train, &empty_data(8), None)
    .unwrap();
    let b = ease_reference(&train, 2.0, 0.0);
    assert_scores_match_reference(&model, &train, &b);
    for u in 0..6u32 {
        let got = scores(&model, u);
        assert_eq!((got[6], got[7]), (0.0, 0.0), "user {u}");
    }
    // Nothing couples: every weight is 0, and no factorisation is needed.
    let lonely = EaseParams::default()
        .fit(&matrix(2, 3, &[&[0], &[2]]), &empty_data(3), None)
        .unwrap();
    assert!(scores(&lonely, 0).iter().all(|&s| s == 0.0));
}

#[test]
fn ease_side_information_equals_tags_as_extra_users() {
    let rows: [&[u32]; 5] = [&[0, 1, 2], &[1, 2, 3], &[0, 3, 4], &[4, 5], &[0, 1, 5]];
    let train = matrix(5, 6, &rows);
    let mut data = empty_data(6);
    // Tags: category levels A {0, 2}, B and C {1, 3, 5}; year=1995 {0, 4}; "two words" is
    // not a tag; item 4 has no category.
    for (item, category) in ["A", "B/C", "A", "B/C", "", "B/C"].iter().enumerate() {
        data.items.category[item] = (*category).to_owned();
    }
    data.items.attributes.names = vec!["year".into(), "note".into()];
    data.items.attributes.values = vec![
        ["1995", "", "", "", "1995", ""].map(String::from).to_vec(),
        ["two words"; 6].map(String::from).to_vec(),
    ];
    let model = EaseParams {
        reg: 2.0,
        side: 1.0,
        ..EaseParams::default()
    }
    .fit(&train, &data, None)
    .unwrap();
    // The same fit by hand: plain EASE on the users plus one pseudo-user per tag.
    let mut with_tags: Vec<&[u32]> = rows.to_vec();
    with_tags.extend([&[0u32, 2][..], &[1, 3, 5], &[1, 3, 5], &[0, 4]]);
    let b = ease_reference(&matrix(9, 6, &with_tags), 2.0, 0.0);
    for u in 0..5u32 {
        for (j, g) in scores(&model, u).iter().enumerate() {
            let want: f64 = train.items_of(u).iter().map(|&i| b[i as usize][j]).sum();
            assert!(
                (*g as f64 - want).abs() < 1e-5,
                "user {u} item {j}: {g} vs {want}"
            );
        }
    }
}

#[test]
fn factor_models_and_itemknn_find_the_missing_block_item() {
    let train = blocks();
    let data = empty_data(12);
    let als = AlsParams {
        factors: 4,
        iterations: 10,
        reg: 0.1,
        alpha: 10.0,
        seed: 3,
        ..AlsParams::default()
    };
    let bpr = BprParams {
        factors: 8,
        lr: 0.05,
        batch: 16,
        epochs: 60,
        seed: 3,
        ..BprParams::default()
    };
    let models: Vec<Box<dyn Recommender>> = vec![
        Box::new(als.fit(&train, &data, None).unwrap()),
        Box::new(bpr.fit(&train, &data, None).unwrap()),
        Box::new(ItemKnnParams::default().fit(&train, &data, None).unwrap()),
        Box::new(
            EaseParams {
                reg: 1.0,
                ..EaseParams::default()
            }
            .fit(&train, &data, None)
            .unwrap(),
        ),
    ];
    for model in &models {
        for u in 0..12u32 {
            let base = if u < 6 { 0 } else { 6 };
            let top = model.top_k(u, 1, &[]);
            assert_eq!(top[0].0, base + u % 6, "{} user {u}", model.kind());
        }
    }
}

#[test]
fn factor_models_are_seeded() {
    let train = blocks();
    let data = empty_data(12);
    let als = AlsParams {
        factors: 4,
        iterations: 3,
        seed: 9,
        ..AlsParams::default()
    };
    let a = als.fit(&train, &data, None).unwrap();
    let b = als.fit(&train, &data, None).unwrap();
    assert_eq!(scores(&a, 1), scores(&b, 1));
    let bpr = BprParams {
        factors: 4,
        epochs: 3,
        batch: 8,
        seed: 9,
        ..BprParams::default()
    };
    let a = bpr.fit(&train, &data, None).unwrap();
    let b = bpr.fit(&train, &data, None).unwrap();
    assert_eq!(scores(&a, 1), scores(&b, 1));
}

#[test]
fn content_prefers_items_sharing_words() {
    let mut data = empty_data(0);
    for (id, title) in [
        ("a", "red summer dress"),
        ("b", "red summer skirt"),
        ("c", "blue car"),
    ] {
        let i = data.items.intern(id) as usize;
        data.items.title[i] = title.into();
    }
    let train = matrix(1, 3, &[&[0]]);
    let model = ContentParams::default().fit(&train, &data, None).unwrap();
    let s = scores(&model, 0);
    assert!(s[1] > 0.0 && s[2] == 0.0, "{s:?}");
    assert!(
        (s[0] - 1.0).abs() < 1e-6,
        "an item is its own perfect match: {s:?}"
    );
    assert_eq!(model.top_k(0, 5, &[]), vec![(1, s[1]), (2, 0.0)]);
}

#[test]
fn hybrids_blend_parts() {
    let train = matrix(3, 4, &[&[0, 1], &[1], &[1, 3]]);
    let data = empty_data(4);
    // One part: min-max normalised Pop. For user 1 the candidates 0, 2, 3 have counts 1, 0, 1:
    // normalised 1, 0, 1.
    let pop_only = ModelSpec::parse("hybrid:pop*1").unwrap();
    let model = pop_only.fit(&train, &data, None, &|_, _| {}).unwrap();
    assert_eq!(scores(model.as_ref(), 1), vec![1.0, 0.0, 0.0, 1.0]);
    // Rank fusion of pop with weight 2: ranks among candidates (ties by index) 0 -> 1, 3 -> 2,
    // 2 -> 3; scores 2/61, 2/63, 2/62.
    let rrf = ModelSpec::parse("rrf:pop*2").unwrap();
    let model = rrf.fit(&train, &data, None, &|_, _| {}).unwrap();
    let s = scores(model.as_ref(), 1);
    assert!((s[0] - 2.0 / 61.0).abs() < 1e-7 && (s[2] - 2.0 / 63.0).abs() < 1e-7);
    assert!((s[3] - 2.0 / 62.0).abs() < 1e-7);
}

#[test]
fn saved_models_reload_with_identical_scores_and_top_lists() {
    let train = blocks();
    let mut data = empty_data(12);
    for i in 0..12 {
        data.items.title[i] = format!("item group{} word{}", i / 6, i % 3);
    }
    let dir = tempfile::tempdir().unwrap();
    for spec in [
        "pop",
        "itemknn:k=3",
        "ease:reg=5",
        "als:factors=4;iterations=2",
        "bpr:factors=4;epochs=2;batch=8",
        "content",
        "hybrid:ease(reg=5)*0.6+itemknn*0.4",
        "rrf:pop+content",
    ] {
        let spec = ModelSpec::parse(spec).unwrap();
        let model = spec.fit(&train, &data, None, &|_, _| {}).unwrap();
        let path = dir.path().join(spec.kind());
        model.save(&path).unwrap();
        let loaded = load_model(&path).unwrap();
        assert_eq!(loaded.kind(), model.kind());
        for u in 0..12u32 {
            let (a, b) = (scores(model.as_ref(), u), scores(loaded.as_ref(), u));
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&a), bits(&b), "{spec} user {u}");
            assert_eq!(model.top_k(u, 10, &[]), loaded.top_k(u, 10, &[]), "{spec}");
        }
    }
    // A damaged file is an error, not a panic.
    std::fs::write(dir.path().join("ease").join("tensors.safetensors"), b"junk").unwrap();
    assert!(load_model(&dir.path().join("ease")).is_err());
    assert!(load_model(&dir.path().join("missing")).is_err());
}

/// Every file under `dir`, by relative path.
fn files_under(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(next) = stack.pop() {
        for entry in std::fs::read_dir(&next).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let name = path.strip_prefix(dir).unwrap().to_string_lossy();
                out.push(name.into_owned());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_model_folder_is_replaced_whole_and_only_when_it_is_a_model() {
    let train = blocks();
    let data = empty_data(12);
    let fit = |text: &str| {
        let spec = ModelSpec::parse(text).unwrap();
        spec.fit(&train, &data, None, &|_, _| {}).unwrap()
    };
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("model");
    // A hybrid (two part folders) with ids, then a plain EASE over it: nothing of the first
    // model is left, not even its ids file.
    assay_recommend::store::save_with_ids(&dir, fit("hybrid:pop+itemknn").as_ref(), &data).unwrap();
    assert!(files_under(&dir).contains(&"part1/meta.json".to_owned()));
    fit("ease:reg=5").save(&dir).unwrap();
    assert_eq!(files_under(&dir), ["meta.json", "tensors.safetensors"]);
    assert_eq!(load_model(&dir).unwrap().kind(), "ease");
    // No staging folder is left beside it.
    let beside: Vec<String> = std::fs::read_dir(root.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(beside, ["model"]);
    // A failed write leaves the old model as it was.
    let failed = assay_recommend::store::save(&dir, |staging| {
        std::fs::write(staging.join("meta.json"), "half").unwrap();
        Err(assay_recommend::RecommendError::Data("interrupted".into()))
    });
    assert!(failed.is_err());
    assert_eq!(load_model(&dir).unwrap().kind(), "ease");
    // A folder with anything but a model in it is refused and left alone.
    let theirs = root.path().join("theirs");
    std::fs::create_dir(&theirs).unwrap();
    std::fs::write(theirs.join("notes.txt"), "keep me").unwrap();
    let err = fit("pop").save(&theirs).unwrap_err();
    assert!(
        matches!(err, assay_recommend::RecommendError::NotAModelDir { .. }),
        "{err}"
    );
    assert_eq!(files_under(&theirs), ["notes.txt"]);
    std::fs::write(dir.join("notes.txt"), "keep me").unwrap();
    assert!(fit("pop").save(&dir).is_err());
    assert_eq!(load_model(&dir).unwrap().kind(), "ease");
}

#[test]
fn full_ranking_evaluation_by_hand() {
    // Pop on 4 items; train counts: item 0: 2, item 1: 1, items 2, 3: 0.
    // User 2 (train {0}) has test item {1}; valid mask {}: ranking [1, 2, 3] -> hit at rank 1.
    // User 1 (train {0, 1}) has test item {3}; ranking [2, 3] (tie by index) -> hit at rank 2.
    let train = matrix(3, 4, &[&[1], &[0, 1], &[0]]);
    let test = matrix(3, 4, &[&[], &[3], &[1]]);
    let model = PopParams::default()
        .fit(&train, &empty_data(4), None)
        .unwrap();
    let eval = evaluate_model(&model, &test, None, &[1, 2]);
    assert_eq!(eval.ranking.users(), 2);
    let at = eval.ranking.mean();
    // K = 1: user 2 hits, user 1 does not: recall (1 + 0) / 2, ndcg 0.5, mrr 0.5.
    assert_eq!((at[0].recall, at[0].ndcg, at[0].mrr), (0.5, 0.5, 0.5));
    // K = 2: both hit; user 1's NDCG = (1/log2 3) / 1 = 0.6309; MRR (1 + 0.5) / 2.
    assert!((at[1].ndcg - (1.0 + 1.0 / 3f64.log2()) / 2.0).abs() < 1e-12);
    assert_eq!(at[1].mrr, 0.75);
    // Masking item 2 for user 1 moves item 3 to rank 1.
    let extra = matrix(3, 4, &[&[], &[2], &[]]);
    let masked = evaluate_model(&model, &test, Some(&extra), &[1]);
    assert_eq!(masked.ranking.mean()[0].recall, 1.0);
}

#[test]
fn protocols_split_all_events() {
    let mut data = empty_data(5);
    for u in 0..4 {
        let user = data.users.intern(&u.to_string());
        for i in 0..5u32 {
            data.events.push(
                user,
                i,
                EventKind::Click,
                f64::NAN,
                (u * 10 + i) as i64,
                NO_SESSION,
                NO_QUERY,
                NO_POSITION,
                f64::NAN,
                0,
            );
        }
    }
    for protocol in [Protocol::recbole(), Protocol::loo(), Protocol::temporal()] {
        let p = prepare(&data, &protocol, 1).unwrap();
        assert_eq!(
            p.train.nnz() + p.valid.nnz() + p.test.nnz(),
            20,
            "{}",
            protocol.name()
        );
    }
    // Leave-last-out: each user's item 4 (latest) is test, item 3 validation.
    let p = prepare(&data, &Protocol::loo(), 0).unwrap();
    assert_eq!(p.test.items_of(2), &[4]);
    assert_eq!(p.valid.items_of(2), &[3]);
}

/// 30 users in three taste groups of 10 items each, every user with 8 of their group's items.
fn grouped_dataset() -> Dataset {
    let mut data = empty_data(30);
    for u in 0..30u32 {
        let user = data.users.intern(&format!("u{u}"));
        let base = (u % 3) * 10;
        for k in 0..8u32 {
            let item = base + (u + k) % 10;
            data.events.push(
                user,
                item,
                EventKind::Click,
                f64::NAN,
                k as i64,
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

#[test]
fn evaluate_reports_every_model_and_seed_and_search_picks_the_best_validation_score() {
    use assay_recommend::eval::{evaluate, search, Progress};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let data = grouped_dataset();
    let models = ModelSpec::parse_list("pop,ease:reg=1,bpr:factors=4;epochs=3;batch=16").unwrap();
    let finished = AtomicUsize::new(0);
    let progress = |p: Progress<'_>| {
        if let Progress::Finished { .. } = p {
            finished.fetch_add(1, Ordering::Relaxed);
        }
    };
    let rows = evaluate(&data, &Protocol::recbole(), &models, &[1, 2], &progress).unwrap();
    assert_eq!(finished.load(Ordering::Relaxed), 6);
    assert_eq!(rows.len(), 3);
    for row in &rows {
        assert_eq!(row.runs.len(), 2);
        let mean = (row.runs[0].test.ndcg + row.runs[1].test.ndcg) / 2.0;
        assert!((row.test.mean.ndcg - mean).abs() < 1e-12);
        let sd = (row.runs[0].test.ndcg - row.runs[1].test.ndcg).abs() / 2f64.sqrt();
        assert!((row.test.std.ndcg - sd).abs() < 1e-12);
    }
    // Within-group structure: EASE must beat popularity on test NDCG@10.
    assert!(rows[1].test.mean.ndcg > rows[0].test.mean.ndcg);
    let candidates = ModelSpec::grid("ease:reg=0.5|5|500").unwrap();
    let result = search(&data, &Protocol::recbole(), &candidates, 1, &|_| {}).unwrap();
    assert_eq!(result.tried.len(), 3);
    let best = result.tried[result.best].1;
    assert!(result.tried.iter().all(|t| t.1 <= best));
    assert!(serde_json::to_string(&rows).unwrap().contains("\"ndcg\""));
}

#[test]
fn a_model_saved_with_ids_opens_with_them_and_refuses_ids_of_another_catalog() {
    use assay_recommend::store::{self, ModelIds, IDS_FILE};
    use assay_recommend::RecommendError;
    let data = grouped_dataset();
    let rows: Vec<u32> = (0..data.events.len() as u32).collect();
    let train = Interactions::from_events(&data, &rows);
    let model = ItemKnnParams { k: 3, shrink: 0.0 }
        .fit(&train, &data, None)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    store::save_with_ids(dir.path(), &model, &data).unwrap();
    let saved = store::open(dir.path()).unwrap();
    assert_eq!(saved.ids.items.len(), 30);
    assert_eq!(saved.ids.user_index("u7"), Some(7));
    assert_eq!(saved.ids.user_index("nobody"), None);
    assert_eq!(scores(saved.model.as_ref(), 7), scores(&model, 7));
    // Ids of a catalog with one item fewer do not fit the model.
    let mut other = ModelIds::of(&data);
    other.items.pop();
    std::fs::write(
        dir.path().join(IDS_FILE),
        serde_json::to_vec(&other).unwrap(),
    )
    .unwrap();
    let err = store::open(dir.path()).err().unwrap().to_string();
    assert!(err.contains("does not match the model"), "{err}");
    std::fs::remove_file(dir.path().join(IDS_FILE)).unwrap();
    assert!(matches!(
        store::open(dir.path()),
        Err(RecommendError::Io { .. })
    ));
}
