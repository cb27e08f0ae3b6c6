//! The fast EASE utility against refits of assay-recommend's EASE.

use assay_core::{Dataset, EventKind, Interactions, NO_POSITION, NO_QUERY, NO_SESSION};
use assay_metrics::Metric;
use assay_recommend::{EaseParams, Fit, ModelSpec, Recommender};
use assay_value::fast::{FastEase, FastItemKnn};
use assay_value::recommend::{players, Audience, Player, RecConfig, RecommenderUtility};
use assay_value::Utility;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Random clicks of `n_users` users on `n_items` items through 3 sources, each user with a
/// taste for one block of items so EASE has structure to learn; some (user, item) pairs are
/// logged through two sources, so per-source Gram matrices would not add up.
fn shop(n_users: usize, n_items: u32, n_rows: usize, seed: u64) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut data = Dataset::default();
    for i in 0..n_items {
        data.items.intern(&format!("i{i}"));
    }
    for s in ["app", "web", "feed"] {
        data.sources.intern(s);
    }
    for t in 0..n_rows {
        let u = rng.random_range(0..n_users);
        let block = (u % 4) as u32 * n_items / 4;
        let item = if rng.random::<f64>() < 0.7 {
            block + rng.random_range(0..n_items / 4)
        } else {
            rng.random_range(0..n_items)
        };
        let user = data.users.intern(&format!("u{u}"));
        let source = rng.random_range(0..3u16);
        data.events.push(
            user,
            item,
            EventKind::Click,
            f64::NAN,
            t as i64,
            NO_SESSION,
            NO_QUERY,
            NO_POSITION,
            f64::NAN,
            source,
        );
    }
    data
}

fn config(model: &str, audience: Audience) -> RecConfig {
    RecConfig {
        model: ModelSpec::parse(model).unwrap(),
        metric: Metric::Ndcg,
        k: 5,
        audience,
    }
}

fn split(data: &Dataset) -> (Vec<u32>, Vec<u32>) {
    (0..data.events.len() as u32).partition(|r| r % 5 != 0)
}

#[test]
fn group_path_gives_a_refits_scores_bit_for_bit() {
    let data = shop(40, 24, 600, 1);
    let (train, valid) = split(&data);
    for model in ["ease:reg=5", "ease:reg=2;dropout=0.3"] {
        let sources = players::by_source(&data, &train[40..]);
        assert_eq!(sources.len(), 3);
        let refit = RecommenderUtility::new(
            &data,
            &train,
            &valid,
            sources,
            config(model, Audience::Total),
        )
        .unwrap();
        let fast = FastEase::new(&refit).unwrap();
        let Some(&params) = ModelSpec::parse(model).unwrap().params::<EaseParams>() else {
            unreachable!()
        };
        for mask in 0..8usize {
            let subset: Vec<usize> = (0..3).filter(|p| mask >> p & 1 == 1).collect();
            assert_eq!(
                fast.eval(&subset),
                refit.eval(&subset),
                "{model} {subset:?}"
            );
            let rows = refit.rows_of(&subset);
            let model_fit = params
                .fit(&Interactions::from_events(&data, &rows), &data, None)
                .unwrap();
            let mut expected = vec![0.0f32; 24];
            for user in [0u32, 7, 13] {
                model_fit.score_user(user, &mut expected);
                let got = fast.scores(&subset, user).unwrap();
                let diff = got
                    .iter()
                    .zip(&expected)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0f32, f32::max);
                assert!(diff <= 1e-9, "{model} {subset:?} user {user}: {diff}");
                assert_eq!(got, expected);
            }
        }
    }
}

#[test]
fn non_ease_models_have_no_fast_path() {
    let data = shop(10, 8, 80, 2);
    let (train, valid) = split(&data);
    let refit = RecommenderUtility::new(
        &data,
        &train,
        &valid,
        players::by_source(&data, &train),
        config("pop", Audience::Total),
    )
    .unwrap();
    assert!(FastEase::new(&refit).is_none());
    assert!(assay_value::fast::FastItemKnn::new(&refit).is_none());
}

#[test]
fn permutation_updates_agree_with_refits() {
    // Half the users are players (valued), the other half are the audience.
    let data = shop(60, 32, 1500, 3);
    let (train, valid) = split(&data);
    for model in ["ease:reg=3", "ease:reg=3;dropout=0.2"] {
        let users: Vec<Player> = players::by_user(&data, &train)
            .into_iter()
            .enumerate()
            .filter(|(k, _)| k % 2 == 0)
            .map(|(_, p)| p)
            .collect();
        let n = users.len();
        let refit = RecommenderUtility::new(
            &data,
            &train,
            &valid,
            users,
            config(model, Audience::Others),
        )
        .unwrap();
        let fast = FastEase::new(&refit).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let mut order: Vec<usize> = (0..n).collect();
        for _ in 0..3 {
            rand::seq::SliceRandom::shuffle(&mut order[..], &mut rng);
            let mut prefixes = Vec::new();
            fast.eval_prefixes(&order, &|_| false, &mut prefixes);
            assert_eq!(prefixes.len(), n);
            for (end, &value) in prefixes.iter().enumerate() {
                let expected = refit.eval(&order[..=end]);
                assert!(
                    (value - expected).abs() < 1e-12,
                    "{model} prefix {}: incremental {value} refit {expected}",
                    end + 1
                );
            }
        }
        // Truncation stops right after the first value the rule accepts.
        let mut prefixes = Vec::new();
        fast.eval_prefixes(&order, &|_| true, &mut prefixes);
        assert_eq!(prefixes.len(), 1);
    }
}

#[test]
fn itemknn_permutation_counts_give_a_refits_values_exactly() {
    let data = shop(60, 32, 1500, 4);
    let (train, valid) = split(&data);
    for model in ["itemknn:k=5", "itemknn:k=100;shrink=3"] {
        let users: Vec<Player> = players::by_user(&data, &train)
            .into_iter()
            .step_by(2)
            .collect();
        let n = users.len();
        let refit = RecommenderUtility::new(
            &data,
            &train,
            &valid,
            users,
            config(model, Audience::Others),
        )
        .unwrap();
        let fast = FastItemKnn::new(&refit).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let mut order: Vec<usize> = (0..n).collect();
        for _ in 0..3 {
            rand::seq::SliceRandom::shuffle(&mut order[..], &mut rng);
            let mut prefixes = Vec::new();
            fast.eval_prefixes(&order, &|_| false, &mut prefixes);
            let expected: Vec<f64> = (1..=n).map(|end| refit.eval(&order[..end])).collect();
            assert_eq!(prefixes, expected, "{model}");
        }
    }
}

#[test]
fn fast_utility_keeps_players_and_values() {
    let data = shop(20, 16, 300, 5);
    let (train, valid) = split(&data);
    // Pop has no fast path (see above): `fast_utility` hands back the refit itself, so it is
    // not compared here.
    for model in ["ease:reg=4", "itemknn:k=3"] {
        let refit = RecommenderUtility::new(
            &data,
            &train,
            &valid,
            players::by_source(&data, &train),
            config(model, Audience::Total),
        )
        .unwrap();
        let fast = assay_value::fast::fast_utility(&refit);
        assert_eq!(fast.n_players(), 3);
        assert_eq!(fast.player_name(1), refit.player_name(1));
        let a = assay_value::exact_shapley(&*fast).unwrap().values();
        let b = assay_value::exact_shapley(&refit).unwrap().values();
        assert!(
            a.iter().any(|v| v.abs() > 1e-6),
            "{model}: all values near 0"
        );
        assert_eq!(a, b, "{model}");
    }
}
